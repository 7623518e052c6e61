"""Dispatch modes and wrapper subclasses: the Python side of ``__jtensor_dispatch__``, as
``torch.utils._python_dispatch``.

A mode sees every primitive (registry op, view, detach) that runs while it is active, after
autograd and the public functions have decomposed the program, forward and backward alike:

    class Count(JTensorDispatchMode):
        def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
            self.n = getattr(self, "n", 0) + 1
            return func(*args, **(kwargs or {}))    # run it (below autograd)

    with Count() as c:
        ...

A wrapper subclass (`make_wrapper_subclass`) is a Tensor with a shape, dtype and device but no data
of its own: its ``__jtensor_dispatch__`` unwraps the inner tensors it holds, runs `func` on them and
wraps the results (see tests/test_dispatch_modes.py and docs/extending.md for a FakeTensor).
The machinery is in jtensor/_dispatch.py.
"""
import contextlib

from .. import _dispatch
from .. import devices as _dev
from .._tensor import Tensor, _contig_strides, _numel

__all__ = ["JTensorDispatchMode", "LoggingMode", "make_wrapper_subclass", "_push_mode", "_pop_mode",
           "_get_current_dispatch_mode", "_get_current_dispatch_mode_stack", "_disable_current_modes"]


class JTensorDispatchMode:
    """Base class of dispatch modes (``TorchDispatchMode``). Subclasses define
    ``__jtensor_dispatch__(self, func, types, args=(), kwargs=None)``; entering the mode (``with``)
    pushes it on the stack, leaving pops it. While its handler runs the mode is off the stack, so
    ``func(*args, **kwargs)`` inside it runs the primitive (or reaches the modes below)."""

    def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        _dispatch.push_mode(self)
        return self

    def __exit__(self, *exc):
        mode = _dispatch.pop_mode()
        if mode is not self:
            raise RuntimeError("dispatch modes left in another order than they were entered")
        return False

    @classmethod
    def push(cls, *args, **kwargs):
        """Make a mode and enter it as a context manager (``with LoggingMode.push(): ...``)."""
        return cls(*args, **kwargs)


def _push_mode(mode):
    return _dispatch.push_mode(mode)


def _pop_mode():
    return _dispatch.pop_mode()


def _get_current_dispatch_mode():
    stack = _dispatch.mode_stack()
    return stack[-1] if stack else None


def _get_current_dispatch_mode_stack():
    return _dispatch.mode_stack()


@contextlib.contextmanager
def _disable_current_modes():
    """Take every mode off the stack for the duration (they come back in order)."""
    modes = []
    while _dispatch.mode_stack():
        modes.append(_dispatch.pop_mode())
    try:
        yield modes
    finally:
        for m in reversed(modes):
            _dispatch.push_mode(m)


def _describe(v):
    if isinstance(v, Tensor):
        return f"{v.dtype.name}{list(v.shape)}"
    if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
        inner = ", ".join(_describe(x) for x in v)
        return f"[{inner}]" if isinstance(v, list) else f"({inner}{',' if len(v) == 1 else ''})"
    return repr(v)


class LoggingMode(JTensorDispatchMode):
    """Records every primitive that runs as one line, ``jt.ops.add(float32[2, 3], 1) -> float32[2, 3]``,
    in `log` (and prints it when `verbose`)."""

    def __init__(self, verbose=False):
        self.log = []
        self.verbose = verbose

    def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
        line = f"{func.name()}({', '.join(parts)}) -> {_describe(out)}"
        self.log.append(line)
        if self.verbose:
            print(line)
        return out


class WrapperStorage(_dev.MetaStorage):
    """The storage of a wrapper subclass instance: no data (its handler holds the real tensor), on
    the device it reports."""

    __slots__ = ("jt_device",)

    def __init__(self, nbytes, device):
        super().__init__(nbytes)
        self.jt_device = device


def make_wrapper_subclass(cls, size, dtype, device=None, strides=None, storage_offset=0, requires_grad=False):
    """A `cls` instance (a Tensor subclass defining ``__jtensor_dispatch__``) with this shape,
    dtype, device and strides and no data: ``Tensor._make_wrapper_subclass``. Every op on it reaches
    ``cls.__jtensor_dispatch__``, which computes with the tensor the instance wraps."""
    size = tuple(size)
    strides = tuple(strides) if strides is not None else _contig_strides(size)
    dev = _dev.device(device) if device is not None else _dev.CPU
    t = Tensor._make.__func__(cls, WrapperStorage(_numel(size) * dtype.itemsize, dev), 0, storage_offset,
                              size, strides, dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


Tensor._make_wrapper_subclass = staticmethod(make_wrapper_subclass)   # called as in torch, with cls first
