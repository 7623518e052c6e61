"""Creation functions (`zeros`, `arange`, `rand`, ...): Python argument handling in front of Julia ops.

Values are always computed by Julia ops (`fill_`, `_arange`, `_rand`, ...); this module only decides
dtypes and shapes the way PyTorch does.
"""
from . import dtypes as D
from .registry import REGISTRY
from ._tensor import Tensor, _shape_arg, empty


def _op(name):
    return REGISTRY.ops[name].fn


def _check_device(device):
    if device is not None and str(device) != "cpu":
        raise ValueError(f"unsupported device {device!r} (jtensor runs on the CPU)")


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of shape `size` filled with `fill_value` (dtype inferred from it when not given)."""
    _check_device(device)
    dt = D.as_dtype(dtype) if dtype is not None else D.dtype_of_scalar(fill_value)
    t = empty(_shape_arg((size,)), dtype=dt)
    t.fill_(fill_value)
    return _finish(t, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return full(_shape_arg(size), 0, dtype=dtype or D.default_float, device=device, requires_grad=requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return full(_shape_arg(size), 1, dtype=dtype or D.default_float, device=device, requires_grad=requires_grad)


def empty_like(x, *, dtype=None, device=None, requires_grad=False):
    return _finish(empty(x.shape, dtype=dtype or x.dtype), requires_grad)


def zeros_like(x, *, dtype=None, device=None, requires_grad=False):
    return full(x.shape, 0, dtype=dtype or x.dtype, device=device, requires_grad=requires_grad)


def ones_like(x, *, dtype=None, device=None, requires_grad=False):
    return full(x.shape, 1, dtype=dtype or x.dtype, device=device, requires_grad=requires_grad)


def full_like(x, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device, requires_grad=requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) up to end, excluding it, spaced by step."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    start, end, step = _num(start), _num(end), _num(step)
    if dtype is None:
        dtype = D.int64 if all(isinstance(v, int) for v in (start, end, step)) else D.default_float
    return _finish(_op("_arange")(start, end, step, D.as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end, both included."""
    _check_device(device)
    dt = D.as_dtype(dtype) if dtype is not None else (
        D.as_dtype(complex) if any(isinstance(_num(v), complex) for v in (start, end)) else D.default_float)
    return _finish(_op("_linspace")(_num(start), _num(end), int(steps), dt), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The n×m identity matrix (m defaults to n)."""
    _check_device(device)
    return _finish(_op("_eye")(int(n), int(n if m is None else m), D.as_dtype(dtype or D.default_float)), requires_grad)


def manual_seed(seed):
    """Seed jtensor's random number generator (rand, randn, randint, dropout)."""
    _op("manual_seed")(int(seed))


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform samples in [0, 1)."""
    _check_device(device)
    return _finish(_op("_rand")(_shape_arg(size), D.as_dtype(dtype or D.default_float)), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    """Standard normal samples."""
    _check_device(device)
    return _finish(_op("_randn")(_shape_arg(size), D.as_dtype(dtype or D.default_float)), requires_grad)


def randint(low=0, high=None, size=None, *, dtype=None, device=None, requires_grad=False, generator=None):
    """Uniform integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    _check_device(device)
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() needs a size, e.g. randint(10, (3,)) or randint(0, 10, (3,))")
        low, high, size = 0, low, high
    return _finish(_op("_randint")(int(low), int(high), _shape_arg((size,)), D.as_dtype(dtype or D.int64)), requires_grad)


def rand_like(x, *, dtype=None, device=None, requires_grad=False):
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, *, dtype=None, device=None, requires_grad=False):
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t
