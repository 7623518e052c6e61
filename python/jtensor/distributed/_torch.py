"""The bridge to torch.distributed: importing it (torch is optional), and jt tensors as torch
tensors over the same memory (DLPack, no copy).

torch.distributed is the engine behind `jt.distributed`: its process groups, backends (gloo on
CPUs) and launcher are used as they are. A jt tensor crosses as a torch tensor that views the
same memory (``torch.from_dlpack``, about 10 µs), so a collective writes its result straight into
the jt tensor, strided views included. The one exception is a view with negative strides (``x.flip``
results are copies, but ``x[::-1]``-style views exist): DLPack cannot carry negative strides, so such
a tensor is copied once into a contiguous buffer, and results are copied back into it when the
operation completes (docs/distributed.md).
"""
from .._tensor import Tensor

INSTALL_HINT = ("jt.distributed runs on PyTorch's torch.distributed (process groups, gloo, torchrun), "
                "which is not installed: pip install torch  (the CPU build is enough: "
                "pip install torch --index-url https://download.pytorch.org/whl/cpu)")

_modules = []


def torch_modules():
    """(torch, torch.distributed), imported on first use; ModuleNotFoundError naming what to install."""
    if not _modules:
        try:
            import torch
            import torch.distributed as dist
        except ImportError as e:
            raise ModuleNotFoundError(INSTALL_HINT, name="torch") from e
        if not dist.is_available():
            raise ModuleNotFoundError("jt.distributed: this PyTorch build has no torch.distributed "
                                      "(torch.distributed.is_available() is False); " + INSTALL_HINT.split(": ", 1)[1],
                                      name="torch.distributed")
        _modules.extend((torch, dist))
    return _modules[0], _modules[1]


def torch_available():
    """True when torch.distributed can be imported (without raising)."""
    try:
        torch_modules()
    except ModuleNotFoundError:
        return False
    return True


def _is_torch_tensor(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


class Crossing:
    """Where the results of one operation must still go: the jt tensors it wrote into (their
    version counters advance, as after any in-place op) and the copies to write back (tensors that
    could not cross without a copy). `finish()` runs once, after the operation completed."""

    __slots__ = ("written", "copies")

    def __init__(self):
        self.written = []
        self.copies = []

    def finish(self):
        for dst, src in self.copies:
            dst.copy_(src)
        self.copies = []
        for t in self.written:
            t._bump()
        self.written = []


def as_torch(t, crossing, opname, writes):
    """`t` (a jt tensor, or a torch tensor, passed through) as a torch tensor over its memory.

    `writes`: the operation stores into `t`; it is then checked writable and recorded in
    `crossing`. A view with negative strides crosses as a contiguous copy (copied back into `t`
    by `crossing.finish()` when `writes`)."""
    if not isinstance(t, Tensor):
        if _is_torch_tensor(t):
            return t
        raise TypeError(f"jt.distributed.{opname}: expected a jtensor Tensor, got {type(t).__name__}")
    torch, _ = torch_modules()
    if writes:
        t._check_writable(f"jt.distributed.{opname}")
        crossing.written.append(t)
    if any(s < 0 and n > 1 for n, s in zip(t.shape, t._strides)):
        c = t.contiguous()
        if writes:
            crossing.copies.append((t, c))
        t = c
    return torch.from_dlpack(t)
