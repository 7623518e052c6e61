"""`jt.nn.parallel.DistributedDataParallel`: data-parallel training over jt.distributed, as
PyTorch's DDP does it.

At construction the parameters and buffers of rank 0 are broadcast to every rank, and each
parameter gets a post-accumulate-grad hook. During backward, a parameter's hook writes its
gradient divided by the world size into its bucket's slot (one pass: the copy and the division
are one `mul` into the slot, as PyTorch's reducer does); when every parameter of a bucket has
reported, the bucket is all-reduced asynchronously (gloo works on its own thread) while backward
goes on with the rest of the graph. Buckets are launched in index order on every rank, so the
ranks' collectives always match. The hook of the parameter that completes the last bucket waits
for all of them and writes the averaged gradients back: into the ``.grad`` tensors themselves (a
copy, no new tensors, as PyTorch's default), or, with ``gradient_as_bucket_view=True``, by making
each ``.grad`` its slot of the bucket (no copy at all). When ``loss.backward()`` returns the
gradients are the same on every rank: their mean over the ranks, which equals the gradient of the
mean loss over the combined batch.
"""
import contextlib

import numpy as np

from ... import autograd
from ... import distributed as dist
from ... import dtypes as D
from ..._tensor import tensor
from ...ops import ops as _ops
from ..module import Module
from .buckets import Bucket, assign_buckets, broadcast_coalesced, plain_memory

_NOT_FINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error "
    "indicates that your module has parameters that were not used in producing loss. You can enable unused "
    "parameter detection by passing the keyword argument `find_unused_parameters=True` to "
    "`jt.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs participate "
    "in calculating loss. Parameters that did not receive a gradient on rank {rank}: {names}")


def _tensors_in(obj, out):
    """The tensors inside a forward's output (nested tuples, lists and dicts)."""
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors_in(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, out)
    elif hasattr(obj, "grad_fn"):
        out.append(obj)
    return out


def _reachable_leaves(outputs):
    """ids of the leaf tensors the autograd graph of `outputs` reaches."""
    leaves, seen = set(), set()
    stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
    leaves.update(id(t) for t in outputs if t.grad_fn is None)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for _, inp in node.inputs:
            if inp is None:
                continue
            fn = getattr(inp, "grad_fn", None)
            if fn is None:
                leaves.add(id(inp))
            elif id(fn) not in seen:
                stack.append(fn)
    return leaves


class DistributedDataParallel(Module):
    """Wraps `module` for data-parallel training: run one process per replica (torchrun), give
    each its share of every batch (DistributedSampler), and backward averages the gradients.

    - `broadcast_buffers`: rank 0's buffers (BatchNorm statistics) are broadcast at every forward.
    - `bucket_cap_mb`: bucket size (default 25 MiB; the first bucket 1 MiB).
    - `find_unused_parameters`: each forward finds the parameters its output does not depend on,
      so their buckets do not wait for them; a parameter unused on every rank keeps its ``.grad``.
      Without it, a parameter that gets no gradient makes the next forward raise.
    - `gradient_as_bucket_view`: ``.grad`` of each parameter is a view of its bucket after
      backward (no copy back: the cheaper path; default False, as in PyTorch, where the averaged
      gradients are copied back into the ``.grad`` tensors autograd made).
    - `process_group`: the group to average over (default: the world).
    - `init_sync`: broadcast rank 0's parameters and buffers at construction (default True).
    `device_ids` and `output_device` must be None (jtensor runs on the CPU); `dim` is accepted for
    torch's signature (inputs are not scattered: each process passes its own batch).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, init_sync=True):
        super().__init__()
        if device_ids or output_device is not None:
            raise ValueError("DistributedDataParallel: device_ids and output_device must be None for CPU modules "
                             f"(jtensor runs on the CPU), got device_ids={device_ids}, output_device={output_device}")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.process_group = process_group
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._world = dist.get_world_size(process_group)
        self._scale = 1.0 / self._world    # each rank's share of the mean (PyTorch's 1 / div_factor)
        self._rank = dist.get_rank(process_group)
        self._params = params
        self._names = {id(p): n for n, p in module.named_parameters()}
        if self._world > 1 and init_sync:
            state = list(module.parameters()) + list(module.buffers())
            broadcast_coalesced(state, 0, process_group, dist.broadcast)
        self._buckets = []
        self._slot = {}              # id(param) -> (bucket, index in bucket)
        self._expect_sync = False    # this forward's backward all-reduces
        self._hooks_fired = False    # a hook ran since the last finished reduction
        self._finished = True
        if self._world > 1:
            torch_mod, _ = dist._torch_modules()
            for group in assign_buckets(params, self.bucket_bytes_cap):
                b = Bucket(group, torch_mod)
                for i, p in enumerate(group):
                    self._slot[id(p)] = (b, i)
                self._buckets.append(b)
            self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for p in params]
        self._next_bucket = 0
        self._ready = set()
        self._unused = []
        self._used_work = None
        self._used = None

    # -- forward ---------------------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        sync = self._world > 1 and self.require_backward_grad_sync and autograd.is_grad_enabled()
        if self._world > 1:
            if self._hooks_fired and not self._finished:
                missing = [self._names.get(id(p), "?") for p in self._params if id(p) not in self._ready]
                raise RuntimeError(_NOT_FINISHED.format(rank=self._rank, names=", ".join(missing)))
            if self.broadcast_buffers and self.require_forward_param_sync:
                buffers = list(self.module.buffers())
                if buffers:
                    broadcast_coalesced(buffers, 0, self.process_group, dist.broadcast)
        out = self.module(*inputs, **kwargs)
        if sync:
            self._prepare_for_backward(out)
        self._expect_sync = sync
        return out

    def _prepare_for_backward(self, out):
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None
        self._next_bucket = 0
        self._ready = set()
        self._hooks_fired = False
        self._finished = False
        self._unused = []
        if self.find_unused_parameters:
            reached = _reachable_leaves(_tensors_in(out, []))
            self._unused = [p for p in self._params if id(p) not in reached]

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally without communicating; the first
        backward after it all-reduces the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # -- backward: the hooks --------------------------------------------------------------------------
    def _grad_ready(self, p):
        if not self._expect_sync:
            return
        if not self._hooks_fired:
            self._hooks_fired = True
            self._mark_unused()
        self._mark_ready(p, p.grad)

    def _mark_unused(self):
        """Parameters this forward did not use are ready at once (zero slots); the ranks then share
        which parameters each used, to leave the globally unused ones' gradients alone."""
        if not self.find_unused_parameters:
            return
        unused = {id(p) for p in self._unused}
        self._used = tensor([0 if id(p) in unused else 1 for p in self._params], dtype=D.BY_NAME["int32"])
        self._used_work = dist.all_reduce(self._used, group=self.process_group, async_op=True)
        for p in self._unused:
            self._mark_ready(p, None)

    def _mark_ready(self, p, grad):
        if id(p) in self._ready:
            raise RuntimeError(f"DistributedDataParallel: expected to mark parameter {self._names.get(id(p), '?')} "
                               "ready only once in a backward pass (backward through the same forward twice, or "
                               "a parameter used in a reentrant backward)")
        self._ready.add(id(p))
        b, i = self._slot[id(p)]
        view = b.views[i]
        if grad is None:
            view.zero_()
        elif grad is view:                 # already in the bucket (gradient_as_bucket_view)
            view.mul_(self._scale)
        else:                              # copy and average in one pass
            dst, src = b.plain[i], plain_memory(grad)
            if dst is not None and src is not None and src.dtype == dst.dtype:
                np.multiply(src, self._scale, out=dst)
                view._bump()
            else:
                _ops.mul(grad, self._scale, out=view)
        b.pending -= 1
        if b.pending == 0:
            self._launch_ready_buckets()

    def _launch_ready_buckets(self):
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            b = self._buckets[self._next_bucket]
            b.work = dist.all_reduce(b.torch_flat, group=self.process_group, async_op=True)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finish()

    def _finish(self):
        """Wait for every bucket and write the averaged gradients into ``.grad``."""
        for b in self._buckets:
            b.work.wait()
        globally_used = None
        if self._used_work is not None:
            self._used_work.wait()
            globally_used = self._used.tolist()
            self._used_work = None
        index = {id(p): k for k, p in enumerate(self._params)} if globally_used is not None else None
        for b in self._buckets:
            for p, view, src in zip(b.params, b.views, b.plain):
                if globally_used is not None and not globally_used[index[id(p)]]:
                    continue
                grad = p.grad
                if self.gradient_as_bucket_view:
                    p.grad = view
                elif grad is None or grad is view or grad.requires_grad or grad.shape != view.shape:
                    p.grad = view.clone()      # no gradient of its own here (unused on this rank)
                else:                          # into the tensor autograd made: no new memory
                    dst = plain_memory(grad) if src is not None else None
                    if dst is not None and dst.dtype == src.dtype:
                        np.copyto(dst, src)
                        grad._bump()
                    else:
                        grad.copy_(view)
        self._finished = True
        self._expect_sync = False
