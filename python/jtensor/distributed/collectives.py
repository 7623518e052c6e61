"""Collectives and point-to-point messages on jt tensors, with torch.distributed's names,
signatures and semantics.

Each function hands torch.distributed torch tensors that view the jt tensors' memory (see
`_torch.as_torch`), so results land in the jt tensors without a copy, and returns what torch
returns: None, or with ``async_op=True`` a `Work` handle whose ``wait()`` blocks until the result
is in place. At world size 1 every collective returns at once (copying input to output where the
two differ), without calling torch. An error (a peer that died or timed out, a dtype the backend
cannot reduce) is torch's exception, of torch's type, with the operation, the tensors and this
rank named in front of torch's message.
"""
import contextlib

from ._torch import Crossing, as_torch, torch_modules
from .process_group import get_world_size

__all__ = ["Work", "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "reduce_scatter_tensor",
           "reduce", "gather", "scatter", "barrier", "send", "recv", "isend", "irecv", "all_gather_object",
           "broadcast_object_list"]


def _describe(x):
    if isinstance(x, (list, tuple)):
        return f"[{', '.join(_describe(t) for t in x)}]" if len(x) <= 4 else f"[{len(x)} tensors]"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{tuple(x.shape)} {str(x.dtype).split('.')[-1]}"
    return repr(x)


def _error(opname, args, e):
    """torch's exception `e`, of its own type, with the call and this rank in front of its message."""
    where = ""
    try:
        dist = torch_modules()[1]
        if dist.is_initialized():
            where = f" on rank {dist.get_rank()} of {dist.get_world_size()} ({dist.get_backend()})"
    except Exception:   # noqa: BLE001  (the group itself may be what failed)
        pass
    msg = f"jt.distributed.{opname}({', '.join(_describe(a) for a in args)}){where} failed: {e}"
    try:
        new = type(e)(msg)
    except Exception:   # noqa: BLE001  (an exception type that takes other arguments)
        new = RuntimeError(msg)
    return new


@contextlib.contextmanager
def _reporting(opname, args):
    try:
        yield
    except Exception as e:
        raise _error(opname, args, e) from e


class Work:
    """A pending operation (``async_op=True``), as torch's ``Work``: ``wait()`` blocks until the
    result is in the jt tensors (copying back those that crossed as copies) and returns True;
    a failure (a peer gone, the timeout) raises there. ``is_completed()`` does not block."""

    __slots__ = ("_work", "_crossing", "_opname", "_args", "_waited")

    def __init__(self, work, crossing, opname, args):
        self._work, self._crossing, self._opname, self._args = work, crossing, opname, args
        self._waited = work is None

    def wait(self, timeout=None):
        if not self._waited:
            with _reporting(self._opname, self._args):
                if timeout is None:
                    self._work.wait()
                else:
                    self._work.wait(timeout)
            self._waited = True
            self._crossing.finish()
        return True

    def is_completed(self):
        return self._work is None or self._work.is_completed()

    def is_success(self):
        return self.is_completed() and (self._work is None or self._work.exception() is None)

    def __repr__(self):
        return f"<jt.distributed.Work {self._opname}{' done' if self._waited else ''}>"


_DONE = Work(None, None, "no-op", ())


def _run(opname, args, async_op, crossing, call):
    """Run torch's operation `call()`; the Work for async_op, else finish at once."""
    with _reporting(opname, args):
        work = call()
    if async_op:
        return Work(work, crossing, opname, args)
    crossing.finish()
    return None


def _noop(async_op):
    return _DONE if async_op else None


def _sum(op):
    return torch_modules()[1].ReduceOp.SUM if op is None else op


def all_reduce(tensor, op=None, group=None, async_op=False):
    """Reduce `tensor` across the group in place: every rank ends with the result. `op`: a
    ``ReduceOp`` (SUM by default, AVG, PRODUCT, MIN, MAX; BAND/BOR/BXOR on integers)."""
    if get_world_size(group) == 1:
        return _noop(async_op)
    c = Crossing()
    tt = as_torch(tensor, c, "all_reduce", True)
    dist = torch_modules()[1]
    return _run("all_reduce", (tensor,), async_op, c, lambda: dist.all_reduce(tt, _sum(op), group, async_op))


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy `tensor` of rank `src` into `tensor` on every other rank."""
    if get_world_size(group) == 1:
        return _noop(async_op)
    c = Crossing()
    dist = torch_modules()[1]
    tt = as_torch(tensor, c, "broadcast", True)
    return _run("broadcast", (tensor,), async_op, c,
                lambda: dist.broadcast(tt, src, group, async_op, group_src=group_src))


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's `tensor` into `tensor_list` (one tensor per rank, in rank order)."""
    if get_world_size(group) == 1:
        tensor_list[0].copy_(tensor)
        return _noop(async_op)
    c = Crossing()
    dist = torch_modules()[1]
    outs = [as_torch(t, c, "all_gather", True) for t in tensor_list]
    tt = as_torch(tensor, c, "all_gather", False)
    return _run("all_gather", (tensor_list, tensor), async_op, c, lambda: dist.all_gather(outs, tt, group, async_op))


def _single(dist, name, legacy):
    """torch's function `name` (the newer spelling), or `legacy` on a torch that lacks it."""
    return getattr(dist, name, None) or getattr(dist, legacy)


def _concatenated(big, part):
    """The world-size tensor `big` in its concatenated form: a stacked one, of shape
    (world_size, *part.shape), viewed as (world_size * part.shape[0], ...)."""
    if big.ndim == part.ndim + 1:
        return big.view((-1,) + tuple(big.shape[2:]))
    return big


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Every rank's `input_tensor` concatenated (or stacked) into `output_tensor`, in rank order."""
    if get_world_size(group) == 1:
        output_tensor.copy_(input_tensor.reshape(output_tensor.shape))
        return _noop(async_op)
    c = Crossing()
    dist = torch_modules()[1]
    out = _concatenated(as_torch(output_tensor, c, "all_gather_into_tensor", True), input_tensor)
    inp = as_torch(input_tensor, c, "all_gather_into_tensor", False)
    f = _single(dist, "all_gather_single", "all_gather_into_tensor")
    return _run("all_gather_into_tensor", (output_tensor, input_tensor), async_op, c,
                lambda: f(out, inp, group=group, async_op=async_op))


def reduce_scatter_tensor(output, input, op=None, group=None, async_op=False):
    """Reduce `input` (world_size chunks along dim 0) across ranks; rank r gets chunk r in `output`."""
    if get_world_size(group) == 1:
        output.copy_(input.reshape(output.shape))
        return _noop(async_op)
    c = Crossing()
    dist = torch_modules()[1]
    out = as_torch(output, c, "reduce_scatter_tensor", True)
    inp = _concatenated(as_torch(input, c, "reduce_scatter_tensor", False), output)
    f = _single(dist, "reduce_scatter_single", "reduce_scatter_tensor")
    return _run("reduce_scatter_tensor", (output, input), async_op, c,
                lambda: f(out, inp, op=_sum(op), group=group, async_op=async_op))


def reduce(tensor, dst=None, op=None, group=None, async_op=False, group_dst=None):
    """Reduce `tensor` across ranks into `tensor` on rank `dst` (others' tensors are left as they were
    or used as scratch, as in torch)."""
    if get_world_size(group) == 1:
        return _noop(async_op)
    c = Crossing()
    dist = torch_modules()[1]
    tt = as_torch(tensor, c, "reduce", True)
    return _run("reduce", (tensor,), async_op, c,
                lambda: dist.reduce(tt, dst, _sum(op), group, async_op, group_dst=group_dst))


def _rooted(opname, tensor, tensor_list, into_tensor):
    """(Crossing, torch tensor, torch list or None) for gather/scatter: the list lives on the root
    rank only; `into_tensor`: data flows from the list into `tensor` (scatter), else out of it."""
    c = Crossing()
    tt = as_torch(tensor, c, opname, into_tensor)
    many = None if tensor_list is None else [as_torch(t, c, opname, not into_tensor) for t in tensor_list]
    return c, tt, many


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Every rank's `tensor` into `gather_list` on rank `dst` (None on the other ranks)."""
    if get_world_size(group) == 1:
        if gather_list:
            gather_list[0].copy_(tensor)
        return _noop(async_op)
    c, tt, outs = _rooted("gather", tensor, gather_list, False)
    return _run("gather", (tensor,), async_op, c,
                lambda: torch_modules()[1].gather(tt, outs, dst, group, async_op, group_dst=group_dst))


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank `src`'s ``scatter_list[r]`` into `tensor` on rank r."""
    if get_world_size(group) == 1:
        if scatter_list:
            tensor.copy_(scatter_list[0])
        return _noop(async_op)
    c, tt, ins = _rooted("scatter", tensor, scatter_list, True)
    return _run("scatter", (tensor,), async_op, c,
                lambda: torch_modules()[1].scatter(tt, ins, src, group, async_op, group_src=group_src))


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank of the group has reached this call."""
    if get_world_size(group) == 1:
        return _noop(async_op)
    dist = torch_modules()[1]
    return _run("barrier", (), async_op, Crossing(), lambda: dist.barrier(group, async_op, device_ids))


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Send `tensor` to rank `dst` (blocks until it is sent)."""
    c = Crossing()
    dist = torch_modules()[1]
    tt = as_torch(tensor, c, "send", False)
    _run("send", (tensor,), False, c, lambda: dist.send(tt, dst, group, tag, group_dst=group_dst))


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receive into `tensor` from rank `src` (None: any rank); returns the sender's rank."""
    c = Crossing()
    dist = torch_modules()[1]
    tt = as_torch(tensor, c, "recv", True)
    sender = []
    _run("recv", (tensor,), False, c, lambda: sender.append(dist.recv(tt, src, group, tag, group_src=group_src)))
    return sender[0]


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Start sending `tensor` to rank `dst`; returns a `Work`."""
    c = Crossing()
    dist = torch_modules()[1]
    tt = as_torch(tensor, c, "isend", False)
    return _run("isend", (tensor,), True, c, lambda: dist.isend(tt, dst, group, tag, group_dst=group_dst))


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Start receiving into `tensor` from rank `src`; returns a `Work`."""
    c = Crossing()
    dist = torch_modules()[1]
    tt = as_torch(tensor, c, "irecv", True)
    return _run("irecv", (tensor,), True, c, lambda: dist.irecv(tt, src, group, tag, group_src=group_src))


def all_gather_object(object_list, obj, group=None):
    """Every rank's picklable `obj` into `object_list` (jt tensors pickle as they are)."""
    if get_world_size(group) == 1:
        object_list[0] = obj
        return
    with _reporting("all_gather_object", ()):
        torch_modules()[1].all_gather_object(object_list, obj, group)


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Rank `src`'s picklable objects into `object_list` on every rank."""
    if get_world_size(group) == 1:
        return
    with _reporting("broadcast_object_list", ()):
        torch_modules()[1].broadcast_object_list(object_list, src, group, device, group_src=group_src)
