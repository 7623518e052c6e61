"""`jt.Size`, `jt.finfo`, `jt.iinfo`, the thread-count functions and set_flush_denormal: PyTorch's
small descriptive types and settings, which hold no tensor data.
"""
import operator
import warnings

import numpy as np

from . import dtypes as D


try:   # the C base: slices stay Sizes, and `shape[i]` costs what a tuple's does
    from ._fastpath import SizeBase as _SizeBase
except ImportError:   # the C extension is not built
    class _SizeBase(tuple):
        __slots__ = ()

        def __getitem__(self, key):
            r = super().__getitem__(key)
            return type(self)(r) if isinstance(key, slice) else r


class Size(_SizeBase):
    """A tensor's shape, as `torch.Size`: a tuple of ints (slices and `+` stay Sizes) with `numel()`.
    Every Tensor's `.shape` is one (`Tensor._make` and the C fast path make them)."""
    __slots__ = ()

    def __new__(cls, sizes=()):
        try:
            return super().__new__(cls, (s if type(s) is int else operator.index(s) for s in sizes))
        except TypeError:
            raise TypeError(f"torch.Size() takes an iterable of 'int' (got {sizes!r})") from None

    def numel(self):
        """The number of elements of a tensor of this shape."""
        n = 1
        for s in self:
            n *= s
        return n

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + tuple(other))

    def __repr__(self):
        return f"jtensor.Size({list(self)})"

    def __reduce__(self):
        return (Size, (tuple(self),))


# bfloat16 has no NumPy type: its limits, as torch.finfo(torch.bfloat16) gives them
_BFLOAT16 = dict(bits=16, eps=0.0078125, max=3.3895313892515355e38, min=-3.3895313892515355e38,
                 tiny=1.1754943508222875e-38, smallest_normal=1.1754943508222875e-38, resolution=0.01)


class finfo:
    """Machine limits of a floating point dtype (the real part's for a complex one), as
    `torch.finfo`: bits, eps, max, min, tiny (= smallest_normal), resolution and dtype (its name).
    With no argument, the default dtype's."""

    def __init__(self, type=None):
        dt = D.default_float if type is None else D.as_dtype(type)
        if dt.kind not in "fc":
            raise TypeError(f"torch.finfo() requires a floating point input type, got {dt.name}. "
                            "Use torch.iinfo to handle 'torch.finfo'")
        dt = dt.to_real() if dt.kind == "c" else dt
        if dt.name == "bfloat16":
            info = _BFLOAT16
        else:
            f = np.finfo(dt.np_dtype)
            info = dict(bits=f.bits, eps=float(f.eps), max=float(f.max), min=float(f.min),
                        tiny=float(f.smallest_normal), smallest_normal=float(f.smallest_normal),
                        resolution=10.0 ** -f.precision)   # PyTorch's (NumPy's float16 one is rounded)
        for k, v in info.items():
            setattr(self, k, v)
        self.dtype = dt.name

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as `torch.iinfo`: bits, min, max and dtype (its name)."""

    def __init__(self, type):
        dt = D.as_dtype(type)
        if dt.kind not in "iu":
            raise TypeError(f"{dt.name} is not supported by torch.iinfo")
        i = np.iinfo(dt.np_dtype)
        self.bits, self.min, self.max, self.dtype = i.bits, int(i.min), int(i.max), dt.name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


# ---- threads -------------------------------------------------------------------------------------------
# jtensor's kernels run on Julia's threads, whose number Julia fixes when it starts (from the
# JTENSOR_NUM_THREADS environment variable, default: the CPU count; python/jtensor/_locate.py) and
# cannot change afterwards. There is no per-kernel cap to set instead, so `set_num_threads` keeps
# the count and says so.

def get_num_threads():
    """The number of threads jtensor's kernels use: Julia's thread count, fixed at start."""
    from . import julia
    return int(julia.eval("Threads.nthreads()"))


def set_num_threads(n):
    """PyTorch's intra-op thread setting. jtensor's kernels run on Julia's threads, fixed when Julia
    starts: set JTENSOR_NUM_THREADS before `import jtensor` to choose them. A positive `n` other than
    the current count warns (a RuntimeWarning) and changes nothing; `n < 1` is a RuntimeError."""
    n = operator.index(n)
    if n < 1:
        raise RuntimeError(f"set_num_threads: Expected a positive number of threads, got {n}")
    have = get_num_threads()
    if n != have:
        warnings.warn(f"jtensor: set_num_threads({n}) has no effect: jtensor runs on Julia's {have} threads, "
                      "fixed when Julia starts; set JTENSOR_NUM_THREADS before importing jtensor",
                      RuntimeWarning, stacklevel=2)


def get_num_interop_threads():
    """PyTorch's inter-op pool size (threads running independent ops at once). jtensor runs one op
    at a time, each on Julia's threads, so there is one."""
    return 1


def set_num_interop_threads(n):
    """PyTorch's inter-op thread setting: jtensor has no inter-op pool, so a positive `n` other than
    1 warns (a RuntimeWarning) and changes nothing; `n < 1` is a RuntimeError, as PyTorch's."""
    n = operator.index(n)
    if n < 1:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    if n != 1:
        warnings.warn(f"jtensor: set_num_interop_threads({n}) has no effect: jtensor runs one op at a time (each "
                      "on Julia's threads)", RuntimeWarning, stacklevel=2)


def set_flush_denormal(mode):
    """Flush subnormal floats to zero (FTZ/DAZ) in jtensor's kernels when `mode`, or stop; True when
    the CPU supports it (x86 with SSE3, as PyTorch's check), False and nothing done otherwise.
    It is set on every Julia thread the kernels run on, the calling thread among them (so NumPy
    code run from it sees it too, as with PyTorch's)."""
    from . import julia
    flag = "true" if mode else "false"
    # @threads' static schedule runs iteration i on thread i: one call per thread
    return bool(julia.eval(f"begin ok = fill(false, Threads.nthreads()); Threads.@threads for i in "
                           f"1:Threads.nthreads(); ok[Threads.threadid()] = set_zero_subnormals({flag}); end; "
                           f"all(ok) end"))
