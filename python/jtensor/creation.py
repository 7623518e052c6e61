"""Creation functions (`zeros`, `arange`, `rand`, ...): Python argument handling in front of Julia ops.

Values are always computed by Julia ops (`fill_`, `_arange`, `_rand`, ...); this module only decides
dtypes and shapes the way PyTorch does. Every function takes ``device=`` (default: the default
device, see ``jt.device``); on the meta device only the shape and dtype are computed.

(`range` here is torch.range; the builtin is `builtins.range`.)
"""
import builtins
import math
import operator
import warnings

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


def range(start, end, step=1, *, dtype=None, device=None, requires_grad=False, out=None):
    """torch.range (deprecated for arange): start, start + step, ... up to and INCLUDING end, in the
    default float dtype unless `dtype` is given, whatever the arguments' types."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=3)
    start, end, step = _num(start), _num(end), _num(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    dt = D.default_float if dtype is None else D.as_dtype(dtype)
    # start + i * step in float64 (PyTorch's accumulate type), then cast, as ATen's range kernel
    r = (arange(n, dtype=D.float64, device=device) * step + start).to(dt)
    r = _finish(r, requires_grad)
    return r if out is None else out.copy_(r)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None, requires_grad=False,
                   pin_memory=False):
    """An uninitialized tensor of logical shape `size` laid out in memory in the order of
    physical_layout (its first dim outermost): empty_permuted((2, 3, 4), (2, 0, 1)) has strides
    (3, 1, 6), as empty((4, 2, 3)).permute(1, 2, 0)."""
    size = tuple(_shape_arg((size,)))
    order = [operator.index(d) for d in physical_layout]
    if len(order) != len(size):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; "
                           f"i.e. len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}")
    if len(set(order)) != len(order):
        raise RuntimeError("Duplicate dim not allowed")
    if sorted(order) != list(builtins.range(len(size))):
        raise IndexError(f"Dimension out of range in physical_layout {order} for {len(size)} dims")
    physical = empty(tuple(size[d] for d in order), dtype=dtype, device=device)
    t = physical.permute(*[order.index(d) for d in builtins.range(len(size))])
    return _finish(t, requires_grad)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-d tensor sharing memory with a Python buffer (bytes, bytearray, memoryview, array...):
    `count` elements of `dtype` (-1: all) from byte `offset`. A read-only buffer (bytes) gives a
    read-only tensor (PyTorch makes it writable, with a warning)."""
    import numpy as np
    from ._tensor import _addr
    dt = D.as_dtype(dtype)
    nbytes = memoryview(buffer).nbytes
    if nbytes == 0 or count == 0:
        raise ValueError(f"both buffer length ({nbytes}) and count ({count}) must not be 0")
    if offset < 0 or offset >= nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({nbytes} bytes) minus 1")
    if count < 0:
        if (nbytes - offset) % dt.itemsize:
            raise ValueError(f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be a "
                             f"multiple of element size ({dt.itemsize})")
        count = (nbytes - offset) // dt.itemsize
    elif offset + count * dt.itemsize > nbytes:
        raise ValueError(f"requested buffer length ({count} * {dt.itemsize} bytes) after offset ({offset} bytes) "
                         f"must not be greater than actual buffer length ({nbytes} bytes)")
    # the buffer's bytes as the dtype's storage elements (bfloat16: uint16), shared, not copied
    arr = np.frombuffer(buffer, dtype=dt.np_storage, count=count, offset=offset)
    t = Tensor._make(arr, _addr(arr), 0, (count,), (1,), dt)
    return _finish(t, requires_grad)


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
