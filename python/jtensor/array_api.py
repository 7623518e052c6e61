"""The Array API standard namespace (version 2024.12, with the linalg and fft extensions) for
jtensor tensors.

``x.__array_namespace__()`` returns this module, so array-API-generic code (SciPy, scikit-learn,
array_api_compat users...) runs on jtensor tensors:

    xp = x.__array_namespace__()
    y = xp.sum(xp.exp(x), axis=-1, keepdims=True)

Every function here is a thin adaptation of jtensor's registry ops (``jt.ops.<name>``) or of
Tensor views: the standard's names (``acos``, ``bitwise_invert``, ``permute_dims``...), argument
names (``axis``, ``keepdims``), positional-only and keyword-only parameters, defaults
(``std(correction=0.0)``, ``argsort(stable=True)``) and result types (tuples, named tuples).
Nothing is computed in Python; values come from Julia.

Implementation-defined choices:

- Default dtypes: float32 (real floating), complex64 (complex floating), int64 (integral and
  indexing), as PyTorch; see ``__array_namespace_info__().default_dtypes()``.
- Data types: bool, int8, int16, int32, int64, uint8, float32, float64, complex64, complex128.
  jtensor has no uint16, uint32 or uint64; sums and cumulative sums of uint8 give int64.
- Promotion across kinds (integer with floating point), which the standard leaves unspecified,
  follows PyTorch: int32 + float32 -> float32, integer division and integer inputs to
  transcendental functions give float32. Python scalars are weak, as the standard requires.
- Devices: ``"cpu"``, and ``"meta"`` (shapes and dtypes, no data). No maximum number of dims (``capabilities()["max dimensions"]`` is None).
- Negative slice steps (``x[::-1]``) give views with negative strides, as NumPy's.
- Additions the standard allows (gh-870), for code written against NumPy: ``where(condition)``
  is ``nonzero(condition)``, and ``diff`` also takes n and axis by position (scikit-learn calls
  both). Complex special values follow the standard's tables (C11's), not Julia's DomainErrors.
"""
import builtins
import collections
import math
import sys as _sys

import numpy as _np  # only for dtype metadata in finfo/iinfo (never array values)

from . import devices as _devices
from . import dtypes as _D
from ._tensor import Tensor as _Tensor
from .registry import REGISTRY as _REGISTRY
from .schema import norm_dim as _norm_dim
from . import _tensor as _tensor_mod, creation as _creation, dlpack as _dlpack

__array_api_version__ = "2024.12"

#: the revisions ``x.__array_namespace__(api_version=...)`` accepts (this namespace serves them all)
_API_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")

#: ``capabilities()["max dimensions"]``: None, the standard's "no maximum" (tensors may have any
#: number of dims; no plan or buffer has a fixed number of slots)
_MAX_DIMENSIONS = None

# ---- constants -----------------------------------------------------------------------------------
e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

# ---- data types ----------------------------------------------------------------------------------
bool = _D.bool_
int8 = _D.int8
int16 = _D.int16
int32 = _D.int32
int64 = _D.int64
uint8 = _D.uint8
float32 = _D.float32
float64 = _D.float64
complex64 = _D.complex64
complex128 = _D.complex128

_DTYPES = (bool, int8, int16, int32, int64, uint8, float32, float64, complex64, complex128)


def _default_dtypes():
    return {"real floating": _D.default_float, "complex floating": _D.default_float.to_complex(),
            "integral": _D.default_int, "indexing": _D.int64}


# ---- helpers ---------------------------------------------------------------------------------------

def _op(name):
    """The current Python function of registry op `name` ("linalg.inv" for namespaced ones)."""
    op = _REGISTRY.ops.get(name)
    if op is None:
        _REGISTRY.sync()
        op = _REGISTRY.ops.get(name)
        if op is None:
            raise AttributeError(f"jtensor has no op {name!r} (needed by jtensor.array_api)")
    return op.fn


def _check_device(device):
    """The device an array is made on (`jt.device`: cpu or meta, None: the default); a device that
    this build has not (CUDA) raises ValueError, as the standard asks."""
    return _devices.for_new_tensor(device)


def _dtype(dtype):
    return None if dtype is None else _D.as_dtype(dtype)


def _arr(x):
    return x if isinstance(x, _Tensor) else _tensor_mod.asarray(x)


def _axis_tuple(axis, ndim, name):
    """A non-negative, duplicate-free tuple of dims from an int or a tuple of ints."""
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out = tuple(_norm_dim(a, ndim, name) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axes}")
    return out


def _named(name, fn, doc):
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = doc
    return fn


# ---- creation functions --------------------------------------------------------------------------------

def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    """Values in [start, stop) spaced by step (start defaults to 0 when only one bound is given)."""
    return _creation.arange(start, stop, step, dtype=_dtype(dtype), device=_check_device(device))


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """Convert obj (a tensor, a NumPy array, a DLPack producer, nested sequences or a Python scalar)
    to a tensor; ``copy=None`` shares memory when possible, ``copy=False`` raises when it cannot."""
    return _tensor_mod.asarray(obj, dtype=_dtype(dtype), copy=copy,
                               device=None if device is None else _check_device(device))


def empty(shape, *, dtype=None, device=None):
    """An uninitialised tensor of the given shape."""
    return _tensor_mod.empty(shape, dtype=_dtype(dtype), device=_check_device(device))


def empty_like(x, /, *, dtype=None, device=None):
    return _tensor_mod.empty(x.shape, dtype=_dtype(dtype) or x.dtype, device=_check_device(device or x.device))


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    """An (n_rows, n_cols) tensor with ones on the k-th diagonal and zeros elsewhere."""
    dev = _check_device(device)
    dt = _dtype(dtype) or _D.default_float
    m = n_rows if n_cols is None else n_cols
    if k == 0:
        return _creation.eye(n_rows, m, dtype=dt, device=dev)
    out = _creation.zeros((n_rows, m), dtype=dt, device=dev)
    if -n_rows < k < m and not out.is_meta:
        out.diagonal(k).fill_(1)
    return out


def from_dlpack(x, /, *, device=None, copy=None):
    """A tensor sharing the memory of a DLPack producer (``copy=True``: an independent copy)."""
    return _dlpack.from_dlpack(x, device=device, copy=copy)


def full(shape, fill_value, *, dtype=None, device=None):
    """A tensor filled with fill_value; its dtype follows fill_value's kind when not given."""
    return _creation.full(shape, fill_value, dtype=_dtype(dtype), device=_check_device(device))


def full_like(x, /, fill_value, *, dtype=None, device=None):
    return _creation.full(x.shape, fill_value, dtype=_dtype(dtype) or x.dtype, device=_check_device(device or x.device))


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    """num evenly spaced values from start to stop (stop excluded when endpoint=False)."""
    dev = _check_device(device)
    dt = _dtype(dtype)
    if endpoint:
        return _creation.linspace(start, stop, num, dtype=dt, device=dev)
    return _creation.linspace(start, stop, num + 1, dtype=dt, device=dev)[:num]


def meshgrid(*arrays, indexing="xy"):
    """Coordinate matrices from 1-d coordinate arrays (``indexing="xy"``: Cartesian, the first two
    output axes swapped; ``"ij"``: matrix indexing). Returns a list of new tensors."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    arrays = [_arr(a) for a in arrays]
    for a in arrays:
        if a.ndim != 1:
            raise ValueError(f"meshgrid: expected 1-d arrays, got shape {a.shape}")
    n = len(arrays)
    shape = [a.shape[0] for a in arrays]
    pos = list(range(n))
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
        pos[0], pos[1] = 1, 0
    out = []
    for a, p in zip(arrays, pos):
        view_shape = [1] * n
        view_shape[p] = a.shape[0]
        out.append(a.reshape(view_shape).expand(shape).clone())
    return out


def ones(shape, *, dtype=None, device=None):
    return _creation.ones(shape, dtype=_dtype(dtype), device=_check_device(device))


def ones_like(x, /, *, dtype=None, device=None):
    return _creation.full(x.shape, 1, dtype=_dtype(dtype) or x.dtype, device=_check_device(device or x.device))


def zeros(shape, *, dtype=None, device=None):
    return _creation.zeros(shape, dtype=_dtype(dtype), device=_check_device(device))


def zeros_like(x, /, *, dtype=None, device=None):
    return _creation.full(x.shape, 0, dtype=_dtype(dtype) or x.dtype, device=_check_device(device or x.device))


def tril(x, /, *, k=0):
    """The lower triangle (col - row <= k) of the matrices in the last two axes, zeros elsewhere."""
    return _op("tril")(x, k)


def triu(x, /, *, k=0):
    """The upper triangle (col - row >= k) of the matrices in the last two axes, zeros elsewhere."""
    return _op("triu")(x, k)


# ---- data type functions ----------------------------------------------------------------------------

def astype(x, dtype, /, *, copy=True, device=None):
    """x converted to dtype; with ``copy=False`` x itself is returned when it already has dtype."""
    dt = _D.as_dtype(dtype)
    if device is not None and _check_device(device) != x.device:
        return x.to(device=device, dtype=dt)
    if dt is x.dtype:
        return x.clone() if copy else x
    return x.astype(dt)


def _as_dtype_arg(x):
    return x.dtype if isinstance(x, _Tensor) else _D.as_dtype(x)


def can_cast(from_, to, /):
    """Whether from_ (a dtype or an array) can be cast to `to` by the type promotion rules, i.e.
    ``result_type(from_, to) == to``."""
    src, dst = _as_dtype_arg(from_), _D.as_dtype(to)
    return src is dst or _D.promote_types(src, dst) is dst


class finfo_object(collections.namedtuple("finfo_object", "bits eps max min smallest_normal dtype")):
    """Machine limits of a floating-point dtype (``finfo``)."""


class iinfo_object(collections.namedtuple("iinfo_object", "bits max min dtype")):
    """Machine limits of an integer dtype (``iinfo``)."""


_BF16 = dict(bits=16, eps=2.0 ** -7, max=float.fromhex("0x1.fep127"), min=-float.fromhex("0x1.fep127"),
             smallest_normal=2.0 ** -126)


def finfo(type, /):
    """Machine limits (bits, eps, max, min, smallest_normal, dtype) of a floating-point dtype or
    array's dtype; for complex dtypes, those of their real components."""
    dt = _as_dtype_arg(type)
    if dt.kind not in "fc":
        raise TypeError(f"finfo: {dt.name} is not a floating-point dtype")
    real = dt.to_real()
    if real is _D.bfloat16:
        return finfo_object(dtype=real, **_BF16)
    fi = _np.finfo(real.np_dtype)
    return finfo_object(int(fi.bits), builtins.float(fi.eps), builtins.float(fi.max), builtins.float(fi.min),
                        builtins.float(fi.smallest_normal), real)


def iinfo(type, /):
    """Machine limits (bits, max, min, dtype) of an integer dtype or array's dtype."""
    dt = _as_dtype_arg(type)
    if dt.kind not in "iu":
        raise TypeError(f"iinfo: {dt.name} is not an integer dtype")
    ii = _np.iinfo(dt.np_dtype)
    return iinfo_object(int(ii.bits), int(ii.max), int(ii.min), dt)


_KINDS = {
    "bool": lambda d: d.kind == "b",
    "signed integer": lambda d: d.kind == "i",
    "unsigned integer": lambda d: d.kind == "u",
    "integral": lambda d: d.kind in "iu",
    "real floating": lambda d: d.kind == "f",
    "complex floating": lambda d: d.kind == "c",
    "numeric": lambda d: d.kind in "iufc",
}


def isdtype(dtype, kind):
    """Whether dtype is of kind: a dtype, one of the names 'bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric', or a tuple of
    those (any match)."""
    if not isinstance(dtype, _D.dtype):
        raise TypeError(f"isdtype: expected a dtype, got {type(dtype).__name__}")
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, _D.dtype):
        return dtype is kind
    if isinstance(kind, str):
        test = _KINDS.get(kind)
        if test is None:
            raise ValueError(f"isdtype: unknown kind {kind!r} (expected one of {', '.join(map(repr, _KINDS))})")
        return test(dtype)
    raise TypeError(f"isdtype: kind must be a dtype, a kind name or a tuple, got {type(kind).__name__}")


def result_type(*arrays_and_dtypes):
    """The dtype that the type promotion rules give for these arrays and dtypes (Python scalars
    are accepted too, as weak operands)."""
    if not arrays_and_dtypes:
        raise ValueError("result_type: at least one array or dtype is required")
    tensors, scalars = [], []
    for a in arrays_and_dtypes:
        if isinstance(a, _Tensor):
            tensors.append(a.dtype)
        elif isinstance(a, (builtins.bool, int, builtins.float, builtins.complex)):
            scalars.append(a)
        else:
            tensors.append(_D.as_dtype(a))
    return _D.result_type(tensors, scalars)


# ---- element-wise functions ---------------------------------------------------------------------------

def _unary(name, opname, doc):
    def fn(x, /):
        return _op(opname)(x)
    return _named(name, fn, f"{doc}\n\nArray API ``{name}``: jtensor op ``{opname}``.")


def _binary(name, opname, doc):
    def fn(x1, x2, /):
        return _op(opname)(*_standard_operands(x1, x2))
    return _named(name, fn, f"{doc}\n\nArray API ``{name}``: jtensor op ``{opname}``.")


def _standard_operands(x1, x2):
    """The operands cast to their common dtype where a 0-d array meets an array of another dtype:
    the standard promotes by dtype alone, while jtensor's ops (as PyTorch's) let a 0-d tensor
    change only the other operand's category (dtypes.result_type)."""
    if (isinstance(x1, _Tensor) and isinstance(x2, _Tensor) and x1.dtype is not x2.dtype
            and (x1.ndim == 0) != (x2.ndim == 0)):
        common = _D.result_type([x1.dtype, x2.dtype])
        return x1.to(common), x2.to(common)
    return x1, x2


_UNARY = [
    ("abs", "abs", "Absolute value (the modulus, real-valued, for complex input)."),
    ("acos", "acos", "Inverse cosine."),
    ("acosh", "acosh", "Inverse hyperbolic cosine."),
    ("asin", "asin", "Inverse sine."),
    ("asinh", "asinh", "Inverse hyperbolic sine."),
    ("atan", "atan", "Inverse tangent."),
    ("atanh", "atanh", "Inverse hyperbolic tangent."),
    ("bitwise_invert", "bitwise_not", "Bitwise NOT of integers; logical NOT of bools."),
    ("ceil", "ceil", "Smallest integer-valued number not less than x (integers are returned unchanged)."),
    ("conj", "conj", "Complex conjugate."),
    ("cos", "cos", "Cosine."),
    ("cosh", "cosh", "Hyperbolic cosine."),
    ("exp", "exp", "Exponential."),
    ("expm1", "expm1", "exp(x) - 1, accurate near 0."),
    ("floor", "floor", "Largest integer-valued number not greater than x."),
    ("imag", "imag", "Imaginary part (real-valued)."),
    ("isfinite", "isfinite", "True where x is finite."),
    ("isinf", "isinf", "True where x is infinite."),
    ("isnan", "isnan", "True where x is NaN."),
    ("log", "log", "Natural logarithm."),
    ("log1p", "log1p", "log(1 + x), accurate near 0."),
    ("log2", "log2", "Base-2 logarithm."),
    ("log10", "log10", "Base-10 logarithm."),
    ("logical_not", "logical_not", "Logical NOT."),
    ("negative", "neg", "Numerical negative."),
    ("real", "real", "Real part (real-valued)."),
    ("reciprocal", "reciprocal", "1 / x (integer inputs give float32)."),
    ("sign", "sign", "Sign: -1, 0 or 1 for real input (NaN stays NaN), x / |x| for complex."),
    ("sin", "sin", "Sine."),
    ("sinh", "sinh", "Hyperbolic sine."),
    ("square", "square", "x * x."),
    ("sqrt", "sqrt", "Principal square root."),
    ("tan", "tan", "Tangent."),
    ("tanh", "tanh", "Hyperbolic tangent."),
    ("trunc", "trunc", "Round toward zero to an integer-valued number."),
]
_BINARY = [
    ("add", "add", "Sum x1 + x2."),
    ("atan2", "atan2", "Inverse tangent of x1 / x2, using the signs of both for the quadrant."),
    ("bitwise_and", "bitwise_and", "Bitwise AND."),
    ("bitwise_left_shift", "bitwise_left_shift", "Shift the bits of x1 left by x2."),
    ("bitwise_or", "bitwise_or", "Bitwise OR."),
    ("bitwise_right_shift", "bitwise_right_shift", "Shift the bits of x1 right by x2 (arithmetic)."),
    ("bitwise_xor", "bitwise_xor", "Bitwise XOR."),
    ("divide", "div", "True division x1 / x2."),
    ("equal", "eq", "x1 == x2."),
    ("floor_divide", "floor_divide", "Floor division x1 // x2 (rounding toward -inf)."),
    ("greater", "gt", "x1 > x2."),
    ("greater_equal", "ge", "x1 >= x2."),
    ("less", "lt", "x1 < x2."),
    ("less_equal", "le", "x1 <= x2."),
    ("logaddexp", "logaddexp", "log(exp(x1) + exp(x2)) without overflow."),
    ("logical_and", "logical_and", "Logical AND."),
    ("logical_or", "logical_or", "Logical OR."),
    ("logical_xor", "logical_xor", "Logical XOR."),
    ("maximum", "maximum", "Element-wise maximum (NaN propagates)."),
    ("minimum", "minimum", "Element-wise minimum (NaN propagates)."),
    ("multiply", "mul", "Product x1 * x2."),
    ("not_equal", "ne", "x1 != x2."),
    ("pow", "pow", "x1 raised to the power x2."),
    ("remainder", "remainder", "Remainder of floor division; the result has the sign of x2."),
    ("subtract", "sub", "Difference x1 - x2."),
    ("hypot", "hypot", "sqrt(x1**2 + x2**2) without undue overflow or underflow."),
]

for _name, _opname, _doc in _UNARY:
    globals()[_name] = _unary(_name, _opname, _doc)
for _name, _opname, _doc in _BINARY:
    globals()[_name] = _binary(_name, _opname, _doc)
del _name, _opname, _doc


def _real_floating_only(name, *xs):
    for x in xs:
        if isinstance(x, _Tensor) and x.dtype.kind == "c":
            raise TypeError(f"{name}: complex input ({x.dtype.name}) is not supported")


def copysign(x1, x2, /):
    """x1's magnitude with x2's sign bit (real floating point)."""
    _real_floating_only("copysign", x1, x2)
    return _op("copysign")(x1, x2)


def signbit(x, /):
    """True where x's sign bit is set (negative values, -0.0, NaNs with the sign bit)."""
    _real_floating_only("signbit", x)
    return _op("signbit")(x)


def nextafter(x1, x2, /):
    """The next representable floating-point value after x1 toward x2 (float32 and float64)."""
    for x in (x1, x2):
        if isinstance(x, _Tensor) and x.dtype in (_D.float16, _D.bfloat16):
            raise TypeError(f"nextafter: {x.dtype.name} is not supported (float32 and float64 are)")
    _real_floating_only("nextafter", x1, x2)
    return _op("nextafter")(x1, x2)


def positive(x, /):
    """+x: a copy of x."""
    return _arr(x).clone()


def round(x, /):
    """Round to the nearest integer-valued number, halves to even; complex numbers round their
    real and imaginary parts independently."""
    x = _arr(x)
    if x.dtype.kind == "c":
        return _op("_round_complex")(x)
    return _op("round")(x)


def _int_bound(b, dt):
    """A Python int bound clamped into an integer dtype's range (so it is not wrapped)."""
    if isinstance(b, int) and not isinstance(b, builtins.bool) and dt.kind in "iu":
        ii = iinfo(dt)
        return builtins.min(builtins.max(b, ii.min), ii.max)
    return b


def clip(x, /, min=None, max=None):
    """x limited to [min, max] (either may be None); the result has x's dtype for scalar bounds."""
    x = _arr(x)
    return _op("clamp")(x, _int_bound(min, x.dtype), _int_bound(max, x.dtype))


# ---- linear algebra functions (main namespace) ---------------------------------------------------------

def matmul(x1, x2, /):
    """Matrix product (1-d operands are vectors; leading dims broadcast as batches)."""
    return _op("matmul")(x1, x2)


def matrix_transpose(x, /):
    """x with its last two axes swapped (a view)."""
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: expected at least 2 dimensions, got shape {x.shape}")
    return x.mT


def tensordot(x1, x2, /, *, axes=2):
    """Sum of products over axes: an int N contracts the last N axes of x1 with the first N of x2;
    a pair of sequences contracts x1's axes[0][i] with x2's axes[1][i]."""
    if isinstance(axes, int):
        return _op("tensordot")(x1, x2, axes)
    a, b = axes
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise ValueError(f"tensordot: axes {axes} must name the same number of axes of x1 and x2")
    return _op("tensordot")(x1, x2, _tensor_mod.asarray([a, b], dtype=_D.int64))


def vecdot(x1, x2, /, *, axis=-1):
    """Dot products sum(conj(x1) * x2) along axis. The other axes broadcast; the contracted axis
    must have the same size in x1 and x2 (it is never stretched from size 1 or created by
    broadcasting). A non-negative axis counts in the broadcast shape."""
    x1, x2 = _arr(x1), _arr(x2)
    from .drivers import broadcast_shapes
    nd = len(broadcast_shapes(x1.shape, x2.shape))
    k = _norm_dim(axis, nd, "vecdot") - nd         # the axis counted from the end
    for x in (x1, x2):
        if x.ndim < -k:
            raise ValueError(f"vecdot: axis {axis} is not an axis of both operands (shapes {x1.shape} and "
                             f"{x2.shape}): the contracted axis must not be created by broadcasting")
    if x1.shape[k] != x2.shape[k]:
        raise ValueError(f"vecdot: the contracted axis {axis} has size {x1.shape[k]} in x1 (shape {x1.shape}) "
                         f"and {x2.shape[k]} in x2 (shape {x2.shape}); they must be equal")
    return _op("vecdot")(x1, x2, dim=k)


# ---- manipulation functions --------------------------------------------------------------------------

def broadcast_arrays(*arrays):
    """The arrays broadcast against each other, as views (list)."""
    arrays = [_arr(a) for a in arrays]
    from .drivers import broadcast_shapes
    shape = broadcast_shapes(*[a.shape for a in arrays])
    return [a.expand(shape) for a in arrays]


def broadcast_to(x, /, shape):
    """x broadcast to shape, as a view."""
    return _arr(x).expand(tuple(shape))


def concat(arrays, /, *, axis=0):
    """Join arrays along an existing axis (axis=None: flatten them first); dtypes promote."""
    arrays = [_arr(a) for a in arrays]
    if axis is None:
        return _op("cat")([a.reshape(-1) for a in arrays], 0)
    return _op("cat")(arrays, axis)


def expand_dims(x, /, axis=0):
    """x with a new axis of size 1 at position axis (a view); axis is in [-x.ndim - 1, x.ndim]
    and may be passed by position (2024.12)."""
    return x.unsqueeze(axis)


def flip(x, /, *, axis=None):
    """x with the order of elements reversed along axis (all axes when None)."""
    dims = tuple(range(x.ndim)) if axis is None else _axis_tuple(axis, x.ndim, "flip")
    return _op("flip")(x, dims)


def moveaxis(x, source, destination, /):
    """x with axes moved from source to destination positions (a view)."""
    return x.movedim(source, destination)


def permute_dims(x, /, axes):
    """x with its axes permuted (a view)."""
    return x.permute(tuple(axes))


def repeat(x, repeats, /, *, axis=None):
    """Repeat each element of x (along axis, or of the flattened x when axis is None) repeats
    times; repeats is an int or a 1-d integer array with one count per element."""
    x = _arr(x)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    d = _norm_dim(axis, x.ndim, "repeat")
    if isinstance(repeats, _Tensor):
        if repeats.dtype.kind not in "iu":
            raise TypeError(f"repeat: repeats must be integers, got {repeats.dtype.name}")
        if repeats.ndim > 1:
            raise ValueError(f"repeat: repeats must be an int or a 1-d array, got shape {repeats.shape}")
        if repeats.numel() == 1:
            repeats = repeats.reshape(()).item()
    if not isinstance(repeats, _Tensor):
        r = int(repeats)
        if r < 0:
            raise ValueError(f"repeat: repeats must be non-negative, got {r}")
        shape = x.shape[:d + 1] + (r,) + x.shape[d + 1:]
        out = x.unsqueeze(d + 1).expand(shape)
        return out.reshape(x.shape[:d] + (x.shape[d] * r,) + x.shape[d + 1:])
    n = x.shape[d]
    if repeats.shape[0] != n:
        raise ValueError(f"repeat: {repeats.shape[0]} repeats for an axis of size {n}")
    if n and builtins.bool(_op("any")(_op("lt")(repeats, 0))):
        raise ValueError("repeat: repeats must be non-negative")
    # output position p comes from input index #{i : cumsum(repeats)[i] <= p}
    ends = _op("cumsum")(repeats, 0)
    total = int(ends[-1].item()) if n else 0
    positions = _creation.arange(total, dtype=_D.int64)
    index = _op("searchsorted")(ends, positions, side="right")
    return _op("index_select")(x, d, index)


def reshape(x, /, shape, *, copy=None):
    """x with a new shape (one size may be -1). copy=None: a view when possible, else a copy;
    copy=True: always a copy; copy=False: a view or ValueError."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if copy:
        return x.clone().reshape(shape)
    if copy is False:
        try:
            return x.view(shape)
        except RuntimeError as err:
            if "not compatible" in str(err):
                raise ValueError(f"reshape(copy=False): {err}") from None
            raise
    return x.reshape(shape)


def roll(x, /, shift, *, axis=None):
    """Shift elements circularly along axis (the flattened x when None); shift and axis may be
    tuples of equal length, or an int shift applied to every listed axis."""
    if axis is None:
        if not isinstance(shift, int):
            raise ValueError("roll: with axis=None, shift must be an int")
        return _op("roll")(x, (shift,))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    shifts = (shift,) * len(axes) if isinstance(shift, int) else tuple(shift)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift} and axis {axis} must have the same length")
    return _op("roll")(x, shifts, axes)


def squeeze(x, /, axis):
    """x without the given axes, which must have size 1 (a view)."""
    dims = _axis_tuple(axis, x.ndim, "squeeze")
    for d in dims:
        if x.shape[d] != 1:
            raise ValueError(f"squeeze: axis {d} of shape {x.shape} has size {x.shape[d]}, not 1")
    return x.squeeze(dims)


def stack(arrays, /, *, axis=0):
    """Join arrays of one shape along a new axis; dtypes promote."""
    return _op("stack")([_arr(a) for a in arrays], axis)


def tile(x, repetitions, /):
    """x repeated along each axis (repetitions longer than ndim add leading axes)."""
    return _op("tile")(x, tuple(repetitions))


def unstack(x, /, *, axis=0):
    """The slices of x along axis, as a tuple of views."""
    return x.unbind(axis)


# ---- searching functions -------------------------------------------------------------------------------

def argmax(x, /, *, axis=None, keepdims=False):
    """Index of the first maximum (of the flattened x when axis is None)."""
    return _op("argmax")(x, axis, keepdims)


def argmin(x, /, *, axis=None, keepdims=False):
    """Index of the first minimum (of the flattened x when axis is None)."""
    return _op("argmin")(x, axis, keepdims)


def nonzero(x, /):
    """The indices of the nonzero elements, one int64 array per axis (row-major order)."""
    if x.ndim == 0:
        raise ValueError("nonzero: 0-d arrays are not supported")
    idx = _op("nonzero")(x)
    return tuple(idx[:, i] for i in range(x.ndim))


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Insertion positions of x2's values into the sorted 1-d x1 (side='right': after equal values);
    sorter, when given, holds the indices that sort x1."""
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    if x1.ndim != 1:
        raise ValueError(f"searchsorted: x1 must be 1-d, got shape {x1.shape}")
    if sorter is not None:
        x1 = _op("index_select")(x1, 0, sorter)
    return _op("searchsorted")(x1, x2, side=side)


_NOTHING = object()


def where(condition, x1=_NOTHING, x2=_NOTHING, /):
    """Elements of x1 where condition is True, else of x2 (broadcast; either may be a Python
    scalar, 2024.12). ``where(condition)`` alone is ``nonzero(condition)``, as in NumPy and
    PyTorch (outside the standard; scikit-learn's roc_curve calls it)."""
    if x1 is _NOTHING and x2 is _NOTHING:
        return nonzero(_arr(condition))
    if x1 is _NOTHING or x2 is _NOTHING:
        raise TypeError("where: expected where(condition, x1, x2) or where(condition)")
    return _op("where")(condition, x1, x2)


# ---- set functions -----------------------------------------------------------------------------------------
UniqueAllResult = collections.namedtuple("UniqueAllResult", "values indices inverse_indices counts")
UniqueCountsResult = collections.namedtuple("UniqueCountsResult", "values counts")
UniqueInverseResult = collections.namedtuple("UniqueInverseResult", "values inverse_indices")


def unique_all(x, /):
    """Sorted unique values, the index of each one's first occurrence (in the flattened x), the
    inverse indices (x's shape) and the counts. NaNs are all distinct."""
    values, inverse, counts = _op("unique")(x, True, True, True)
    # Stably sorting the flat inverse indices groups each value's positions in increasing order;
    # each group starts at the running total of the counts before it.
    order = _op("argsort")(inverse.reshape(-1), 0, False, True)
    starts = _op("sub")(_op("cumsum")(counts, 0), counts)
    indices = _op("index_select")(order, 0, starts)
    return UniqueAllResult(values, indices, inverse, counts)


def unique_counts(x, /):
    """Sorted unique values and how often each occurs."""
    values, counts = _op("unique")(x, True, False, True)
    return UniqueCountsResult(values, counts)


def unique_inverse(x, /):
    """Sorted unique values and, for each element of x (x's shape), the index of its value."""
    values, inverse = _op("unique")(x, True, True, False)
    return UniqueInverseResult(values, inverse)


def unique_values(x, /):
    """Sorted unique values (1-d)."""
    return _op("unique")(x)


# ---- sorting functions -------------------------------------------------------------------------------------

def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """Indices that sort x along axis (stable: equal elements keep their order, also descending)."""
    return _op("argsort")(x, axis, descending, stable)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """x sorted along axis (NaNs last when ascending)."""
    return _op("sort")(x, axis, descending, stable).values


# ---- statistical functions -------------------------------------------------------------------------------

def _dims(axis):
    return None if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else axis)


def _cumulative(name, scan, initial, x, axis, dtype, include_initial):
    """A running `scan` (cumsum or cumprod) along axis, required unless x is 1-d; include_initial
    prepends the identity `initial`."""
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"{name}: axis is required for a {x.ndim}-d array")
        axis = 0
    d = _norm_dim(axis, x.ndim, name)
    out = _op(scan)(x, d, dtype=_dtype(dtype))
    if include_initial:
        first = _creation.full(x.shape[:d] + (1,) + x.shape[d + 1:], initial, dtype=out.dtype)
        out = _op("cat")([first, out], d)
    return out


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running sums along axis (required unless x is 1-d); include_initial prepends a zero. Integer
    and bool inputs sum in the default integer dtype."""
    return _cumulative("cumulative_sum", "cumsum", 0, x, axis, dtype, include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Running products along axis (required unless x is 1-d); include_initial prepends a one.
    Integer and bool inputs multiply in the default integer dtype."""
    return _cumulative("cumulative_prod", "cumprod", 1, x, axis, dtype, include_initial)


def max(x, /, *, axis=None, keepdims=False):
    """Maximum over axis (all axes when None); NaN propagates."""
    return _op("amax")(x, _dims(axis), keepdims)


def min(x, /, *, axis=None, keepdims=False):
    """Minimum over axis (all axes when None); NaN propagates."""
    return _op("amin")(x, _dims(axis), keepdims)


def mean(x, /, *, axis=None, keepdims=False):
    """Arithmetic mean over axis (floating-point and complex input)."""
    return _op("mean")(x, _dims(axis), keepdims)


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    """Product over axis; integer and bool inputs multiply in the default integer dtype."""
    return _op("prod")(x, _dims(axis), keepdims, dtype=_dtype(dtype))


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Standard deviation over axis with `correction` degrees of freedom removed (default 0)."""
    return _op("std")(x, _dims(axis), correction=correction, keepdim=keepdims)


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    """Sum over axis; integer and bool inputs sum in the default integer dtype."""
    return _op("sum")(x, _dims(axis), keepdims, dtype=_dtype(dtype))


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance over axis with `correction` degrees of freedom removed (default 0)."""
    return _op("var")(x, _dims(axis), correction=correction, keepdim=keepdims)


# ---- utility functions -------------------------------------------------------------------------------------

def _logical_reduce(opname, x, axis, keepdims):
    out = _op(opname)(x, _dims(axis), keepdims)
    return out if out.dtype is _D.bool_ else out.astype(_D.bool_)  # axis=() returns x unreduced


def all(x, /, *, axis=None, keepdims=False):
    """True where every element over axis is nonzero (True for empty reductions)."""
    return _logical_reduce("all", x, axis, keepdims)


def any(x, /, *, axis=None, keepdims=False):
    """True where some element over axis is nonzero (False for empty reductions)."""
    return _logical_reduce("any", x, axis, keepdims)


def diff(x, /, n=1, axis=-1, prepend=None, append=None):
    """The n-th forward difference out[i] = x[i + 1] - x[i] along axis (applied n times), of x
    with prepend and append (arrays of x's shape except along axis) joined first. Bool input
    gives x[i + 1] != x[i], as NumPy. The standard makes n, axis, prepend and append keyword-only;
    they may also be passed by position in NumPy's order, as scikit-learn does (``diff(x, 2)``)."""
    x = _arr(x)
    if x.ndim == 0:
        raise ValueError("diff: expected an array with at least one dimension, got a 0-d array")
    if not isinstance(n, int) or isinstance(n, builtins.bool) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    d = _norm_dim(axis, x.ndim, "diff")
    parts = [_arr(p) for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        for p in parts:
            if p.ndim != x.ndim or p.shape[:d] + p.shape[d + 1:] != x.shape[:d] + x.shape[d + 1:]:
                raise ValueError(f"diff: prepend/append of shape {p.shape} do not match x of shape {x.shape} "
                                 f"except along axis {axis}")
        x = _op("cat")(parts, d)
    sub = _op("ne") if x.dtype is _D.bool_ else _op("sub")
    for _ in range(n):
        m = x.shape[d]
        if m == 0:
            break
        hi = x.narrow(d, 1, m - 1)
        lo = x.narrow(d, 0, m - 1)
        x = sub(hi, lo)
    return x if n else x.clone()


def count_nonzero(x, /, *, axis=None, keepdims=False):
    """How many elements over axis (all axes when None) are nonzero (NaN counts), as int64."""
    x = _arr(x)
    return _op("sum")(_op("ne")(x, 0), _dims(axis), keepdims, dtype=_D.int64)


# ---- indexing functions ------------------------------------------------------------------------------------

def take(x, indices, /, *, axis=None):
    """The elements of x at indices (1-d, negative ones counting from the end) along axis, which
    may be omitted only for 1-d x."""
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"take: axis is required for a {x.ndim}-d array")
        axis = 0
    d = _norm_dim(axis, x.ndim, "take")
    indices = _arr(indices)
    if indices.dtype.kind == "i":
        indices = _op("where")(_op("lt")(indices, 0), _op("add")(indices, x.shape[d]), indices)
    return _op("index_select")(x, d, indices)


def take_along_axis(x, indices, /, *, axis=-1):
    """out[..., j, ...] = x[..., indices[..., j, ...], ...] along axis: indices has x's number of
    dims and broadcasts against x on the other axes; negative indices count from the end."""
    x, indices = _arr(x), _arr(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {indices.dtype.name}")
    if indices.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices (shape {indices.shape}) must have as many dims as x "
                         f"(shape {x.shape})")
    d = _norm_dim(axis, x.ndim, "take_along_axis")
    if indices.dtype.kind == "i":
        indices = _op("where")(_op("lt")(indices, 0), _op("add")(indices, x.shape[d]), indices)
    return _op("take_along_dim")(x, indices, d)


# ---- inspection -----------------------------------------------------------------------------------------------

class _Info:
    """The namespace's capabilities, devices and dtypes (``__array_namespace_info__()``)."""

    __module__ = __name__

    def capabilities(self):
        return {"boolean indexing": True, "data-dependent shapes": True, "max dimensions": _MAX_DIMENSIONS}

    def default_device(self):
        return _devices.get_default_device()

    def devices(self):
        return [_devices.CPU, _devices.META]

    def default_dtypes(self, *, device=None):
        _check_device(device)
        return _default_dtypes()

    def dtypes(self, *, device=None, kind=None):
        _check_device(device)
        return {d.name: d for d in _DTYPES if kind is None or isdtype(d, kind)}


def __array_namespace_info__():
    """Inspection utilities: capabilities(), default_device(), devices(), default_dtypes(), dtypes()."""
    return _Info()


from . import array_api_linalg as linalg  # noqa: E402  (the linalg extension)
from . import array_api_fft as fft  # noqa: E402  (the fft extension)

_sys.modules[__name__ + ".linalg"] = linalg   # `import jtensor.array_api.linalg` works too
_sys.modules[__name__ + ".fft"] = fft

__all__ = sorted(n for n in globals() if not n.startswith("_") and n not in ("builtins", "collections", "math"))
__all__ += ["__array_api_version__", "__array_namespace_info__"]
