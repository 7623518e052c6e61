"""Creation functions (`zeros`, `arange`, `rand`, ...): Python argument handling in front of Julia ops.

Values are always computed by Julia ops (`fill_`, `_arange`, `_rand`, ...); this module only decides
dtypes and shapes the way PyTorch does. Every function takes ``device=`` (default: the default
device, see ``jt.device``); on the meta device only the shape and dtype are computed.
"""
import math

from . import devices as _dev
from . import dtypes as D
from .registry import REGISTRY
from ._tensor import Tensor, _shape_arg, empty, _meta_tensor
from .random import stream_key


def _op(name):
    return REGISTRY.ops[name].fn


def _on_meta(device):
    """True when a creation call makes a meta tensor (a CUDA device raises, as without CUDA)."""
    if device is None and _dev._DEFAULT[0] is _dev.CPU:
        return False
    return _dev.for_new_tensor(device).type == "meta"


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of shape `size` filled with `fill_value` (dtype inferred from it when not given)."""
    dt = D.as_dtype(dtype) if dtype is not None else D.dtype_of_scalar(fill_value)
    t = empty(_shape_arg((size,)), dtype=dt, device=device)
    if not t.is_meta:
        t.fill_(fill_value)
    return _finish(t, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return full(_shape_arg(size), 0, dtype=dtype or D.default_float, device=device, requires_grad=requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return full(_shape_arg(size), 1, dtype=dtype or D.default_float, device=device, requires_grad=requires_grad)


def empty_like(x, *, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of x's shape, dtype and device (unless given)."""
    return _finish(empty(x.shape, dtype=dtype or x.dtype, device=device or x.device), requires_grad)


def zeros_like(x, *, dtype=None, device=None, requires_grad=False):
    return full(x.shape, 0, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def ones_like(x, *, dtype=None, device=None, requires_grad=False):
    return full(x.shape, 1, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def full_like(x, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=device or x.device, requires_grad=requires_grad)


def _num(x):
    return x.item() if isinstance(x, Tensor) else x


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) up to end, excluding it, spaced by step."""
    if end is None:
        start, end = 0, start
    start, end, step = _num(start), _num(end), _num(step)
    if dtype is None:
        dtype = D.int64 if all(isinstance(v, int) for v in (start, end, step)) else D.default_float
    if _on_meta(device):
        if step == 0 or (end - start) * step < 0:
            raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                               f"(start={start}, end={end}, step={step})")
        return _finish(_meta_tensor((max(0, math.ceil((end - start) / step)),), D.as_dtype(dtype)), requires_grad)
    return _finish(_op("_arange")(start, end, step, D.as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """`steps` evenly spaced values from start to end, both included."""
    dt = D.as_dtype(dtype) if dtype is not None else (
        D.as_dtype(complex) if any(isinstance(_num(v), complex) for v in (start, end)) else D.default_float)
    if _on_meta(device):
        if int(steps) < 0:
            raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
        return _finish(_meta_tensor((int(steps),), dt), requires_grad)
    return _finish(_op("_linspace")(_num(start), _num(end), int(steps), dt), requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The n×m identity matrix (m defaults to n)."""
    if _on_meta(device):
        return _finish(_meta_tensor((int(n), int(n if m is None else m)), D.as_dtype(dtype or D.default_float)),
                       requires_grad)
    return _finish(_op("_eye")(int(n), int(n if m is None else m), D.as_dtype(dtype or D.default_float)), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1), from `generator` (default: jt.random.default_generator)."""
    if _on_meta(device):
        return _finish(_meta_tensor(_shape_arg(size), D.as_dtype(dtype or D.default_float)), requires_grad)
    return _finish(_op("_rand")(_shape_arg(size), D.as_dtype(dtype or D.default_float), stream_key(generator)),
                   requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples, from `generator` (default: jt.random.default_generator)."""
    if _on_meta(device):
        return _finish(_meta_tensor(_shape_arg(size), D.as_dtype(dtype or D.default_float)), requires_grad)
    return _finish(_op("_randn")(_shape_arg(size), D.as_dtype(dtype or D.default_float), stream_key(generator)),
                   requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform integers in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() needs a size, e.g. randint(10, (3,)) or randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if _on_meta(device):
        return _finish(_meta_tensor(_shape_arg((size,)), D.as_dtype(dtype or D.int64)), requires_grad)
    return _finish(_op("_randint")(int(low), int(high), _shape_arg((size,)), D.as_dtype(dtype or D.int64),
                                   stream_key(generator)), requires_grad)


def rand_like(x, *, generator=None, dtype=None, device=None, requires_grad=False):
    return rand(x.shape, generator=generator, dtype=dtype or x.dtype, device=device or x.device,
                requires_grad=requires_grad)


def randn_like(x, *, generator=None, dtype=None, device=None, requires_grad=False):
    return randn(x.shape, generator=generator, dtype=dtype or x.dtype, device=device or x.device,
                 requires_grad=requires_grad)


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t
