"""Gradient buckets and coalesced broadcasts for DistributedDataParallel.

A bucket is one flat jt tensor holding the gradients of several parameters of one dtype, each
parameter's slot a view of it, and the torch tensor over the same memory (made once, so an
all-reduce per step costs no conversion). Parameters are assigned in reverse registration order,
roughly the order backward produces their gradients, as PyTorch's DDP does: the first bucket is
capped at 1 MiB or `bucket_cap_mb` if smaller (so that communication starts early in backward), the
others at `bucket_cap_mb`.
"""
from ... import autograd
from ..._tensor import Tensor
from ...creation import zeros

FIRST_BUCKET_BYTES = 1024 * 1024


def plain_memory(t):
    """`t`'s elements as a NumPy array over its memory, for DDP's copies into and out of the
    buckets: a NumPy ufunc there costs about 2.5 µs against 9 µs for a jt op with ``out=``, and a
    step makes two per parameter (about 1.3 ms per step for a 100-parameter model). None where
    NumPy cannot stand for `t` (off the CPU, bfloat16 or a user dtype, a wrapper subclass, a
    tensor that requires grad, read-only memory): the jt op does that copy."""
    if (type(t) is not Tensor or t.requires_grad or t.dtype.np_dtype is None or t.dtype.is_user
            or t.device_code != 0):
        return None
    a = t.numpy()
    return a if a.flags.writeable else None


class Bucket:
    """Flat gradient storage for `params` (one dtype): `flat`, a view per parameter, the same
    slots as NumPy arrays (`plain`, for DDP's copies; None each where NumPy cannot hold the
    dtype), the torch alias `torch_flat`, and the per-step state (parameters still to report, the
    pending Work)."""

    __slots__ = ("params", "flat", "views", "plain", "offsets", "torch_flat", "pending", "work")

    def __init__(self, params, torch_mod):
        self.params = params
        n = sum(p.numel() for p in params)
        self.flat = zeros(n, dtype=params[0].dtype)
        self.views, self.offsets = [], []
        off = 0
        for p in params:
            self.offsets.append(off)
            self.views.append(self.flat[off:off + p.numel()].view(p.shape))
            off += p.numel()
        self.plain = [plain_memory(v) for v in self.views]
        self.torch_flat = torch_mod.from_dlpack(self.flat)
        self.pending = len(params)
        self.work = None


def assign_buckets(params, cap_bytes, first_cap_bytes=FIRST_BUCKET_BYTES):
    """Lists of parameters (reverse order, one dtype per list), each list's bytes at most its cap
    (the first list's `first_cap_bytes`), unless a single parameter exceeds it."""
    buckets, open_by_dtype = [], {}
    for p in reversed(params):
        cur = open_by_dtype.get(p.dtype)
        size = p.numel() * p.dtype.itemsize
        if cur is None or (cur[0] and cur[1] + size > cur[2]):
            cur = open_by_dtype[p.dtype] = [[], 0, min(first_cap_bytes, cap_bytes) if not buckets else cap_bytes]
            buckets.append(cur[0])
        cur[0].append(p)
        cur[1] += size
    return buckets


def broadcast_coalesced(tensors, src, group, broadcast):
    """Broadcast `tensors` from rank `src` in one message per dtype: flattened into one buffer,
    sent, and copied back into each tensor (parameters at construction, buffers each step)."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    with autograd.no_grad():
        for dtype, ts in by_dtype.items():
            flat = zeros(sum(t.numel() for t in ts), dtype=dtype)
            off = 0
            for t in ts:
                flat[off:off + t.numel()].copy_(t.reshape(-1))
                off += t.numel()
            broadcast(flat, src=src, group=group)
            off = 0
            for t in ts:
                t.copy_(flat[off:off + t.numel()].view(t.shape))
                off += t.numel()
