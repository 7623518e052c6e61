"""The op table: one declarative row per registry op, driving the generic tests (tests/test_ops.py,
tests/test_hypothesis_ops.py).

A row says how to test an op, not how the op works: its registry name, a reference function
(NumPy; PyTorch where NumPy lacks the op or disagrees with PyTorch), the dtypes to test, a sample
generator (shapes, value domains, kwargs cases), tolerances, and whether it broadcasts. Adding
an op = adding one row (and, if it is not tested here at all, an entry in TESTED_ELSEWHERE).

References receive NumPy arrays already converted to the precision they are computed in:
floating inputs widened to float64/complex128, integer inputs either kept (integer arithmetic
wraps as in jtensor and PyTorch), widened to float64 (ops whose integer inputs compute in float)
or to int64 (sums and products accumulate in int64). The test casts the reference result to the
result dtype jtensor returned (which is itself checked against PyTorch's) before comparing.

Compile time: Julia compiles every op once per dtype combination (0.3-1 s each), so a row lists
a sample of the dtypes its op supports: float32 and float64 almost always, and the half,
complex, integer and bool dtypes rotated over a family of similar ops (`_half(i)`, `_cplx(i)`,
`_ints(i)`), so that the family covers all of them. add/mul/div/abs/sum run every dtype. Full
kwargs sweeps run on the `primary` dtypes only. Unsupported dtypes are tested for refusal in
test_ops.py.
"""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import jtensor as jt
from jtensor import dtypes as D
from jtensor.optim.optimizer import FUSED_STEPS
from jtensor.registry import REGISTRY

# ---- dtypes ---------------------------------------------------------------------------------------
BOOL = ("bool",)
INTS = ("int8", "int16", "int32", "int64", "uint8")
FLOATS = ("float16", "bfloat16", "float32", "float64")
COMPLEX = ("complex64", "complex128")
HALF = ("float16", "bfloat16")
REAL = BOOL + INTS + FLOATS
ALL = REAL + COMPLEX

KIND = {"bool": "b", "int8": "i", "int16": "i", "int32": "i", "int64": "i", "uint8": "u",
        "float16": "f", "bfloat16": "f", "float32": "f", "float64": "f", "complex64": "c", "complex128": "c"}

# (rtol, atol) per result dtype: PyTorch's assert_close defaults (bfloat16 compared in float32).
TOL = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
       "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}


def _ints(i, n=1):
    """n integer dtypes, rotated by i, so a family of similar ops covers every integer dtype."""
    return tuple(INTS[(i + k) % len(INTS)] for k in range(n))


def np_storage(dtype):
    """The NumPy dtype that holds the values of `dtype` (bfloat16 values are held as float32)."""
    return np.dtype("float32") if dtype == "bfloat16" else np.dtype(dtype if dtype != "bool" else np.bool_)


def round_to(values, dtype):
    """`values` rounded to `dtype` (bfloat16: round to nearest even, kept as float32)."""
    a = np.asarray(values)
    if dtype == "bfloat16":
        t = torch.from_numpy(np.array(a, dtype=np.float32, order="C")).to(torch.bfloat16)   # keeps 0-d
        return t.to(torch.float32).numpy()
    with np.errstate(all="ignore"):
        return a.astype(np_storage(dtype))


def widen(a, policy):
    """The precision a reference computes in (see the module docstring)."""
    a = np.asarray(a)
    k = a.dtype.kind
    if policy == "none":
        return a
    if k == "c":
        return a.astype(np.complex128)
    if k == "f":
        return a.astype(np.float64)
    if policy == "float":
        return a.astype(np.float64)
    if policy == "acc":
        return a.astype(np.int64)
    return a


# ---- sample inputs ----------------------------------------------------------------------------------
class A:
    """A tensor argument of a sample: values (NumPy, in `np_storage(dtype)`) and its dtype name."""
    __slots__ = ("values", "dtype")

    def __init__(self, values, dtype):
        self.values = round_to(values, dtype)
        self.dtype = dtype

    @property
    def shape(self):
        return self.values.shape

    def __repr__(self):
        return f"A({list(self.shape)}, {self.dtype})"


class Sample:
    """Positional args (A, Python scalars or None) and keyword args of one call."""
    __slots__ = ("args", "kwargs", "note")

    def __init__(self, args, kwargs=None, note=""):
        self.args, self.kwargs, self.note = list(args), dict(kwargs or {}), note

    def __repr__(self):
        return f"Sample({self.args}, {self.kwargs}{', ' + self.note if self.note else ''})"


SPECIALS = (0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0, 0.5, -0.5, 2.5, -2.5, 1e-30)


def values(rng, shape, dtype, domain=(-3.0, 3.0), int_domain=None, grid=None, nonzero=False):
    """Random values for `dtype`: floats uniform in `domain`, integers in `int_domain` ("full" =
    the whole range; default: `domain` rounded), complex with both parts in `domain`. `grid`
    snaps floats to multiples of it (ties for comparisons, halves for round). `nonzero` replaces
    zeros by one (divisors)."""
    k = KIND[dtype]
    if k == "b":
        v = rng.random(shape) < 0.5
        return np.ones(shape, bool) if nonzero else v
    if k in "iu":
        info = np.iinfo(dtype)
        if int_domain == "full":
            lo, hi = info.min, info.max
        else:
            lo, hi = int_domain if int_domain is not None else (math.ceil(domain[0]), math.floor(domain[1]))
            lo, hi = max(lo, info.min), min(hi, info.max)
        v = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64).astype(dtype)
        if nonzero:
            v[v == 0] = 1
        return v
    lo, hi = domain
    if k == "c":
        v = rng.uniform(lo, hi, shape) + 1j * rng.uniform(lo, hi, shape)
    else:
        v = rng.uniform(lo, hi, shape)
    v = np.asarray(v)   # shape () gives a NumPy scalar, which refuses item assignment
    if grid:
        v = np.round(v / grid) * grid
    if nonzero:
        v[v == 0] = 1
    if k == "c":
        return v.astype(dtype)
    return round_to(v, dtype)


def with_specials(v, dtype, rng, specials=SPECIALS):
    """Scatter special values (signed zeros, infinities, NaN, ...) into a float array."""
    if KIND[dtype] != "f" or v.size < len(specials):
        return v
    v = v.copy()
    flat = v.reshape(-1)
    idx = rng.choice(flat.size, size=len(specials), replace=False)
    flat[idx] = specials
    return round_to(v, dtype)


# ---- the row ------------------------------------------------------------------------------------------
class OpInfo:
    """How to test one registry op.

    name        registry name (jt.<name>, Tensor.<name>)
    ref         reference: NumPy arrays (widened, see `compute`) and kwargs -> array (or tuple)
    kind        "unary", "binary", "ternary", "reduction", "scan", "sort" (selects the default
                sample generator and which generic tests apply)
    dtypes      dtypes whose values are compared with the reference
    primary     dtypes on which kwargs sweeps and layout tests (broadcast, strides, 0-d, empty,
                scalars, out=, in-place) run
    domain      float value domain (lo, hi); int_domain: integer domain, "full" or (lo, hi);
                other_domain / other_int_domain: the same for the other tensor arguments
    grid        snap float inputs to multiples of this (ties, exact halves)
    nonzero     indices of tensor arguments that must not be zero (integer divisors)
    specials    scatter signed zeros / inf / NaN into float inputs (True: SPECIALS, or a tuple)
    compute     how integer inputs are widened for `ref`: "keep", "float" (ints compute in
                float) or "acc" (int64 accumulation); "none" keeps every input in its promoted
                dtype (exact ops such as nextafter); map ops default from the registry's rule
    kwargs      kwargs cases (each a dict), run on the primary dtypes; other dtypes run the
                first case only
    torch_fn    PyTorch function for the dtype check (default torch.<name>; None: no check)
    tol         {dtype: (rtol, atol)} overrides
    broadcasts  the tensor arguments broadcast against each other
    inplace     the op has `Tensor.<name>_` and out= (elementwise ops)
    sample      custom generator (op, rng, dtype, primary) -> [Sample]; default from kind
    arg_dtypes  per tensor argument, a fixed dtype (e.g. where's bool condition) or None
    scalar_positions  tensor-position arguments that may be Python scalars (scalar tests)
    dtype_exceptions  {dtype: (result dtype, reason)} where jtensor deliberately differs from
                PyTorch's result dtype
    """

    def __init__(self, name, ref, kind, dtypes, *, primary=None, domain=(-3.0, 3.0), int_domain=None,
                 grid=None, nonzero=(), specials=False, compute=None, kwargs=None, torch_fn="default",
                 tol=None, broadcasts=None, inplace=None, sample=None, other_domain=None,
                 other_int_domain=None, dtype_exceptions=None, arg_dtypes=None, scalar_positions=None):
        self.name, self.ref, self.kind = name, ref, kind
        self.dtypes = tuple(dtypes)
        self.primary = tuple(primary) if primary is not None else tuple(
            d for d in ("float32", "int64") if d in self.dtypes) or self.dtypes[:1]
        self.domain, self.int_domain, self.grid = domain, int_domain, grid
        self.other_domain = other_domain if other_domain is not None else domain
        self.other_int_domain = other_int_domain if other_int_domain is not None else int_domain
        self.nonzero, self.specials = tuple(nonzero), specials
        self.compute = compute
        self.kwargs = list(kwargs) if kwargs else [{}]
        self.torch_fn = getattr(torch, name) if torch_fn == "default" else torch_fn
        self.tol = dict(tol or {})
        elementwise = kind in ("unary", "binary", "ternary")
        self.broadcasts = elementwise and kind != "unary" if broadcasts is None else broadcasts
        self.inplace = elementwise if inplace is None else inplace
        self._sample = sample
        self.dtype_exceptions = dict(dtype_exceptions or {})
        self.arg_dtypes = tuple(arg_dtypes) if arg_dtypes else (None,) * self.n_tensor_args()
        self.scalar_positions = tuple(scalar_positions) if scalar_positions is not None else (
            (0, 1) if kind == "binary" else ())

    def __repr__(self):
        return f"OpInfo({self.name})"

    def tolerance(self, dtype):
        return self.tol.get(dtype, TOL.get(dtype, (0, 0)))

    def n_tensor_args(self):
        return {"unary": 1, "binary": 2, "ternary": 3}.get(self.kind, 1)

    def arg_values(self, rng, shape, dtype, i):
        """Random values for tensor argument i (its domain, nonzero rule and specials)."""
        dtype = self.arg_dtypes[i] if i < len(self.arg_dtypes) and self.arg_dtypes[i] else dtype
        dom = self.domain if i == 0 else self.other_domain
        idom = self.int_domain if i == 0 else self.other_int_domain
        v = values(rng, shape, dtype, dom, idom, self.grid, nonzero=i in self.nonzero)
        if self.specials:
            v = with_specials(v, dtype, rng, SPECIALS if self.specials is True else self.specials)
        return v

    def arg(self, rng, shape, dtype, i):
        """Tensor argument i of the op as an `A` of `shape` (fixed dtypes honoured)."""
        fixed = self.arg_dtypes[i] if i < len(self.arg_dtypes) else None
        return A(self.arg_values(rng, shape, dtype, i), fixed or dtype)

    def samples(self, rng, dtype, primary):
        """The value samples for `dtype`; `primary` adds every kwargs case."""
        if self._sample is not None:
            return self._sample(self, rng, dtype, primary)
        if self.kind in ("reduction", "scan"):
            return _reduction_samples(self, rng, dtype, primary)
        args = [self.arg(rng, (4, 6), dtype, i) for i in range(self.n_tensor_args())]
        cases = self.kwargs if primary else self.kwargs[:1]
        return [Sample(args, kw) for kw in cases]


# ---- references --------------------------------------------------------------------------------------
def _t(x):
    return torch.from_numpy(np.array(x, order="C"))   # (ascontiguousarray would make 0-d arrays 1-d)


def torch_ref(fn):
    """A reference computed by PyTorch in float64/complex128 (inputs are already widened)."""
    def ref(*xs, **kw):
        r = fn(*[_t(x) if isinstance(x, np.ndarray) else x for x in xs], **kw)
        if isinstance(r, tuple):
            return tuple(v.numpy() for v in r)
        return r.numpy()
    ref.__name__ = getattr(fn, "__name__", "torch_ref")
    return ref


def _complex_or_torch(tfn, cfn):
    """PyTorch for real inputs, a NumPy formula for complex inputs (PyTorch lacks them)."""
    tr = torch_ref(tfn)

    def ref(x):
        return cfn(x) if x.dtype.kind == "c" else tr(x)
    return ref


def _sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


def _erf(x):
    return torch_ref(torch.erf)(x)


def _identity_for_ints(fn):
    """Rounding ops: integers and bools are returned unchanged (NumPy would make them float)."""
    def ref(x):
        return x if x.dtype.kind in "biu" else fn(x)
    return ref


def _sign(x):
    if x.dtype.kind == "b":
        return x
    if x.dtype.kind == "c":
        a = np.abs(x)
        return np.where(a == 0, x, x / np.where(a == 0, 1, a))
    return np.sign(x)


def _abs(x):
    return x if x.dtype.kind == "b" else np.abs(x)


def _neg(x):
    return -x


def _square(x):
    return x & x if x.dtype.kind == "b" else x * x


def _relu(x):
    return x if x.dtype.kind == "b" else np.maximum(x, np.zeros((), x.dtype))


def _invert(x):
    return np.invert(x)


def _int_alpha(x, alpha):
    if x.dtype.kind in "iu" and isinstance(alpha, float):
        raise TypeError("for integer inputs, alpha must not be a floating point number (as PyTorch)")


def _add(x, y, alpha=1):
    _int_alpha(x, alpha)
    if x.dtype.kind == "b" and y.dtype.kind == "b":
        return x | (y & bool(alpha))
    return x + np.asarray(alpha).astype(y.dtype) * y if alpha != 1 else x + y


def _sub(x, y, alpha=1):
    _int_alpha(x, alpha)
    return x - np.asarray(alpha).astype(y.dtype) * y if alpha != 1 else x - y


def _mul(x, y):
    return x & y if x.dtype.kind == "b" and y.dtype.kind == "b" else x * y


def _pow(x, y):
    if x.dtype.kind == "b" and y.dtype.kind == "b":
        return x | ~y
    return np.power(x, y)


def _isclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    return np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _allclose(x, y, rtol=1e-05, atol=1e-08, equal_nan=False):
    return np.asarray(bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def _where(c, x, y):
    return np.where(c, x, y)


def _clamp(x, min=None, max=None):
    r = x
    if min is not None:
        r = np.where(np.isnan(r) if r.dtype.kind == "f" else False, r, np.maximum(r, min))
    if max is not None:
        r = np.where(np.isnan(r) if r.dtype.kind == "f" else False, r, np.minimum(r, max))
    return r


def _lerp(a, b, w):
    return a + w * (b - a)


def _axis(dim):
    return tuple(dim) if isinstance(dim, (list, tuple)) else dim


def _sum(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = widen(x.astype(np_storage(dtype)), "acc")
    return np.sum(x, axis=_axis(dim), keepdims=keepdim)


def _mean(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = widen(round_to(x, dtype), "float")
    return np.mean(x, axis=_axis(dim), keepdims=keepdim)


def _prod(x, dim=None, keepdim=False, dtype=None):
    if dtype is not None:
        x = widen(x.astype(np_storage(dtype)), "acc")
    return np.prod(x, axis=_axis(dim), keepdims=keepdim)


def _amax(x, dim=None, keepdim=False):
    return np.max(x, axis=_axis(dim), keepdims=keepdim)


def _amin(x, dim=None, keepdim=False):
    return np.min(x, axis=_axis(dim), keepdims=keepdim)


def _argmax(x, dim=None, keepdim=False):
    return np.argmax(x, axis=dim, keepdims=keepdim).astype(np.int64)


def _argmin(x, dim=None, keepdim=False):
    return np.argmin(x, axis=dim, keepdims=keepdim).astype(np.int64)


def _max(x, dim=None, keepdim=False):
    if dim is None:
        return np.max(x)
    return np.max(x, axis=dim, keepdims=keepdim), _argmax(x, dim, keepdim)


def _min(x, dim=None, keepdim=False):
    if dim is None:
        return np.min(x)
    return np.min(x, axis=dim, keepdims=keepdim), _argmin(x, dim, keepdim)


def _var(x, dim=None, correction=1, keepdim=False):
    ax = _axis(dim)
    n = x.size if ax is None else int(np.prod([x.shape[d] for d in np.atleast_1d(ax)]))
    m = np.mean(x, axis=ax, keepdims=True)
    s = np.sum(np.abs(x - m) ** 2, axis=ax, keepdims=keepdim)
    with np.errstate(all="ignore"):
        return s / max(0, n - correction)


def _std(x, dim=None, correction=1, keepdim=False):
    return np.sqrt(_var(x, dim, correction, keepdim))


def _norm(x, p=2, dim=None, keepdim=False):
    ax = _axis(dim)
    a = np.abs(x)
    if p == np.inf:
        return np.max(a, axis=ax, keepdims=keepdim)
    if p == -np.inf:
        return np.min(a, axis=ax, keepdims=keepdim)
    if p == 0:
        return np.sum(a != 0, axis=ax, keepdims=keepdim).astype(np.float64)
    return np.sum(a ** p, axis=ax, keepdims=keepdim) ** (1 / p)


def _logsumexp(x, dim, keepdim=False):
    ax = _axis(dim)
    m = np.max(x, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(all="ignore"):
        r = np.log(np.sum(np.exp(x - m), axis=ax, keepdims=True)) + m
    return r if keepdim else np.squeeze(r, axis=ax)


def _all(x, dim=None, keepdim=False):
    return np.all(x != 0, axis=_axis(dim), keepdims=keepdim)


def _any(x, dim=None, keepdim=False):
    return np.any(x != 0, axis=_axis(dim), keepdims=keepdim)


def _cumsum(x, dim, dtype=None):
    if dtype is not None:
        x = widen(x.astype(np_storage(dtype)), "acc")
    return np.cumsum(x, axis=dim)


def _cumprod(x, dim, dtype=None):
    if dtype is not None:
        x = widen(x.astype(np_storage(dtype)), "acc")
    return np.cumprod(x, axis=dim)


def _sort(x, dim=-1, descending=False, stable=False):
    r = torch.sort(_t(x), dim=dim, descending=descending, stable=True)
    return r.values.numpy(), r.indices.numpy()


def _argsort(x, dim=-1, descending=False, stable=False):
    return _sort(x, dim, descending)[1]


def _topk(x, k, dim=-1, largest=True, sorted=True):
    r = torch.topk(_t(x), k, dim=dim, largest=largest, sorted=True)
    return r.values.numpy(), r.indices.numpy()


# ---- PyTorch counterparts for the dtype check ----------------------------------------------------------
def _torch_sum(x, dim=None, keepdim=False, dtype=None):
    return torch.sum(x, dim=dim, keepdim=keepdim, dtype=dtype) if dim is not None else torch.sum(x, dtype=dtype)


def _torch_red(fn):
    def f(x, dim=None, keepdim=False, **kw):
        if dim is None:
            return fn(x, **kw) if not keepdim else fn(x, dim=tuple(range(x.ndim)), keepdim=True, **kw)
        return fn(x, dim=dim, keepdim=keepdim, **kw)
    return f


def _torch_norm(x, p=2, dim=None, keepdim=False):
    return torch.linalg.vector_norm(x, ord=p, dim=dim, keepdim=keepdim)


def _torch_max(x, dim=None, keepdim=False):
    return torch.max(x) if dim is None else torch.max(x, dim=dim, keepdim=keepdim)


def _torch_min(x, dim=None, keepdim=False):
    return torch.min(x) if dim is None else torch.min(x, dim=dim, keepdim=keepdim)


def _torch_argmax(x, dim=None, keepdim=False):
    return torch.argmax(x, dim=dim, keepdim=keepdim)


def _torch_argmin(x, dim=None, keepdim=False):
    return torch.argmin(x, dim=dim, keepdim=keepdim)


# ---- custom sample generators --------------------------------------------------------------------------
def _where_samples(op, rng, dtype, primary):
    c = A(rng.random((4, 6)) < 0.5, "bool")
    x = A(values(rng, (4, 6), dtype), dtype)
    y = A(values(rng, (4, 6), dtype), dtype)
    out = [Sample([c, x, y])]
    if primary:
        out.append(Sample([A(rng.random((4, 1)) < 0.5, "bool"), x, A(values(rng, (6,), dtype), dtype)], note="broadcast"))
    return out


def _clamp_samples(op, rng, dtype, primary):
    x = A(with_specials(values(rng, (4, 6), dtype, (-4, 4)), dtype, rng, (np.nan, np.inf, -np.inf, 0.0)), dtype)
    lo = A(values(rng, (4, 6), dtype, (-3, 0)), dtype)
    hi = A(values(rng, (4, 6), dtype, (0, 3)), dtype)
    out = [Sample([x, lo, hi])]
    if primary:
        out += [Sample([x, lo, None], note="min only"), Sample([x, None, hi], note="max only"),
                Sample([x, hi, lo], note="min > max gives max"),
                Sample([x, A(values(rng, (6,), dtype, (-3, 0)), dtype), None], note="broadcast min"),
                Sample([x], {"min": -1, "max": 2}, note="scalar bounds")]
    return out


def _lerp_samples(op, rng, dtype, primary):
    a = A(values(rng, (4, 6), dtype), dtype)
    b = A(values(rng, (4, 6), dtype), dtype)
    w = A(values(rng, (4, 6), dtype, (0, 1)), dtype)
    out = [Sample([a, b, w])]
    if primary:
        out.append(Sample([a, b, 0.25], note="scalar weight"))
    return out


def _isclose_samples(op, rng, dtype, primary):
    a = values(rng, (4, 6), dtype, (-3, 3), int_domain="full")
    k = KIND[dtype]
    if k in "fc":
        factor = rng.choice([1.0, 1.0 + 1e-7, 1.0 + 1e-2, -1.0], size=a.shape)
        b = round_to(a * factor, dtype) if k == "f" else (a * factor).astype(dtype)
        if k == "f":
            a = with_specials(a, dtype, rng, (np.nan, np.inf, -np.inf))
            b = b.copy()
            b.reshape(-1)[:3] = (np.nan, np.inf, np.inf)
    else:
        b = values(rng, (4, 6), dtype, int_domain="full")
        b.reshape(-1)[::3] = a.reshape(-1)[::3]
    x, y = A(a, dtype), A(b, dtype)
    cases = [{}, {"rtol": 0.0, "atol": 0.5}, {"equal_nan": True}, {"rtol": 1e-2, "atol": 0.0}]
    return [Sample([x, y], kw) for kw in (cases if primary else cases[:1])]


def _compare_samples(op, rng, dtype, primary):
    """Values on a coarse grid so that ties occur; NaN/inf in float inputs."""
    a = values(rng, (4, 6), dtype, (-3, 3), int_domain=(-3, 3), grid=1.0)
    b = values(rng, (4, 6), dtype, (-3, 3), int_domain=(-3, 3), grid=1.0)
    if KIND[dtype] == "f":
        a = with_specials(a, dtype, rng, (np.nan, np.inf, -np.inf, 0.0, -0.0))
        b = with_specials(b, dtype, rng, (np.nan, np.inf, -0.0, 0.0, 1.0))
    out = [Sample([A(a, dtype), A(b, dtype)])]
    if primary and KIND[dtype] in "iu":
        info = np.iinfo(dtype)
        big = np.array([info.min, info.max, info.min, 0, -1 if info.min else 1, info.max], dtype=dtype)
        out.append(Sample([A(big, dtype), A(big[::-1].copy(), dtype)], note="extremes"))
    return out


def _reduction_samples(op, rng, dtype, primary):
    x = op.arg(rng, (3, 4, 5), dtype, 0)
    cases = op.kwargs if primary else op.kwargs[:2]
    return [Sample([x], kw) for kw in cases]


def _sort_samples(op, rng, dtype, primary):
    # a coarse grid gives ties (stability) and, for floats, NaN/inf sort positions
    v = values(rng, (3, 4, 6), dtype, (-3, 3), int_domain=(-3, 3) if dtype != "uint8" else (0, 5), grid=0.5)
    if KIND[dtype] == "f":
        v = with_specials(v, dtype, rng, (np.nan, np.inf, -np.inf, np.nan, -0.0))
    x = A(v, dtype)
    cases = op.kwargs if primary else op.kwargs[:2]
    return [Sample([x], kw) for kw in cases]


def _divmod_samples(op, rng, dtype, primary):
    """Divisors of both signs, never zero for integers; Python semantics at the signs' edges."""
    k = KIND[dtype]
    x = values(rng, (4, 6), dtype, (-20, 20), int_domain="full" if k in "iu" else None)
    y = values(rng, (4, 6), dtype, (-6, 6), int_domain=(-7, 7), nonzero=True)
    out = [Sample([A(x, dtype), A(y, dtype)])]
    if primary and k == "f":
        xs = np.array([5.0, -5.0, 5.0, -5.0, 0.0, -0.0, 7.5, -7.5, np.inf, 3.0, np.nan, 4.0])
        ys = np.array([3.0, 3.0, -3.0, -3.0, 2.0, 2.0, 2.5, 2.5, 2.0, np.inf, 1.0, 0.0])
        out.append(Sample([A(xs, dtype), A(ys, dtype)], note="signs and specials"))
    return out


def _pow_samples(op, rng, dtype, primary):
    k = KIND[dtype]
    if k in "iu":
        x = values(rng, (4, 6), dtype, int_domain=(-4, 4) if k == "i" else (0, 6))
        y = values(rng, (4, 6), dtype, int_domain=(0, 5))
    elif k == "b":
        x, y = values(rng, (4, 6), dtype), values(rng, (4, 6), dtype)
    else:
        x = values(rng, (4, 6), dtype, (0.25, 3.0))
        y = values(rng, (4, 6), dtype, (-2.0, 2.0))
    out = [Sample([A(x, dtype), A(y, dtype)])]
    if primary and k == "f":
        xs = np.array([-2.0, -2.0, 0.0, 0.0, -0.0, np.inf, np.nan, 1.0, -1.0, 2.0])
        ys = np.array([2.0, 3.0, 0.0, -1.0, -1.0, -1.0, 0.0, np.nan, np.inf, 0.5])
        out.append(Sample([A(xs, dtype), A(ys, dtype)], note="specials"))
    return out


def _shift_samples(op, rng, dtype, primary):
    x = values(rng, (4, 6), dtype, int_domain="full")
    bits = 8 * np.dtype(dtype).itemsize
    y = values(rng, (4, 6), dtype, int_domain=(0, bits - 1))
    return [Sample([A(x, dtype), A(y, dtype)])]


def _topk_samples(op, rng, dtype, primary):
    # distinct values (exact in every dtype), so the chosen indices are unique
    n = 3 * 4 * 6
    v = rng.permutation(n) - (0 if KIND[dtype] == "u" else n // 2)
    if KIND[dtype] == "f":
        v = v * 0.5
    x = A(v.reshape(3, 4, 6).astype(np_storage(dtype)), dtype)
    cases = op.kwargs if primary else op.kwargs[:2]
    return [Sample([x], kw) for kw in cases]


# ---- the table -----------------------------------------------------------------------------------------
OPS = []


def _row(*a, **k):
    OPS.append(OpInfo(*a, **k))


def _half(i):
    return HALF[i % 2]


def _cplx(i):
    return COMPLEX[i % 2]


def _bool_or_int(i):
    """bool for every third op of a family, else a rotated integer dtype."""
    return BOOL if i % 3 == 0 else _ints(i)


# Unary ops whose integer inputs compute in float32: name, reference, domain, complex supported.
# gelu and silu at -inf: PyTorch computes -inf * 0 = NaN, jtensor returns the limit 0 (and
# gelu(inf) = inf); test_ops.py::test_activation_limits checks those, so the specials here omit
# infinities for them.
_FLOAT_UNARY = [
    ("exp", np.exp, (-5, 5), True),
    ("expm1", np.expm1, (-5, 5), True),
    ("log", np.log, (0.05, 20), True),
    ("log1p", np.log1p, (-0.9, 20), True),
    ("log2", np.log2, (0.05, 20), True),
    ("log10", np.log10, (0.05, 20), True),
    ("sqrt", np.sqrt, (0.0, 20), True),
    ("rsqrt", lambda x: 1 / np.sqrt(x), (0.05, 20), True),
    ("sin", np.sin, (-10, 10), True),
    ("cos", np.cos, (-10, 10), True),
    ("tan", np.tan, (-1.4, 1.4), True),
    ("asin", np.arcsin, (-1, 1), True),
    ("acos", np.arccos, (-1, 1), True),
    ("atan", np.arctan, (-10, 10), True),
    ("sinh", np.sinh, (-5, 5), True),
    ("cosh", np.cosh, (-5, 5), True),
    ("tanh", np.tanh, (-5, 5), True),
    ("sigmoid", _complex_or_torch(torch.sigmoid, _sigmoid_np), (-10, 10), True),
    ("erf", _erf, (-3, 3), False),
    ("gelu", torch_ref(F.gelu), (-5, 5), False),
    ("silu", _complex_or_torch(F.silu, lambda x: x * _sigmoid_np(x)), (-10, 10), True),
    ("softplus", _complex_or_torch(F.softplus, lambda x: np.log1p(np.exp(x))), (-10, 10), True),
    ("reciprocal", lambda x: 1 / x, (0.1, 5), True),
]
_TORCH_NN = {"gelu": F.gelu, "silu": F.silu, "softplus": F.softplus}
_FINITE_SPECIALS = tuple(v for v in SPECIALS if np.isnan(v) or np.isfinite(v))

for i, (name, ref, dom, cplx) in enumerate(_FLOAT_UNARY):
    _row(name, ref, "unary", ("float32", "float64", _half(i)) + ((_cplx(i),) if cplx else ()) + _bool_or_int(i),
         domain=dom, specials=_FINITE_SPECIALS if name in ("gelu", "silu") else True,
         torch_fn=_TORCH_NN.get(name, "default"))

_row("neg", _neg, "unary", ("int8", "int64", "float16", "float32", "complex128"), int_domain="full", specials=True)
_row("square", _square, "unary", BOOL + ("int16", "bfloat16", "float32", "complex64"), specials=True,
     dtype_exceptions={"bool": ("bool", "NumPy's square of bool (and); PyTorch promotes to int64")})
_row("relu", _relu, "unary", BOOL + ("int32", "uint8", "float16", "bfloat16", "float32", "float64"), specials=True)
_row("abs", _abs, "unary", ALL, int_domain="full", specials=True)
_row("sign", _sign, "unary", BOOL + ("int8", "uint8", "float16", "float32", "float64", "complex64"), specials=True)
for i, (name, fn) in enumerate((("floor", np.floor), ("ceil", np.ceil), ("round", np.round), ("trunc", np.trunc))):
    _row(name, _identity_for_ints(fn), "unary", ("float32", "float64", _half(i)) + _bool_or_int(i + 1),
         grid=0.25, specials=True)
_row("conj", np.conj, "unary", ("int32", "float32") + COMPLEX, torch_fn=torch.conj_physical)
_row("real", np.real, "unary", ("int16", "float32") + COMPLEX)
_row("imag", np.imag, "unary", ("float32",) + COMPLEX,
     torch_fn=lambda x: torch.imag(x) if x.is_complex() else torch.zeros_like(x))
for i, (name, fn) in enumerate((("isnan", np.isnan), ("isinf", np.isinf), ("isfinite", np.isfinite))):
    _row(name, fn, "unary", ("float32", "float64", _half(i), _cplx(i)) + _bool_or_int(i + 1), specials=True)
_row("logical_not", np.logical_not, "unary", BOOL + ("int8", "float32", "complex64"), grid=1.0, specials=True)
_row("bitwise_not", _invert, "unary", BOOL + ("int8", "int64", "uint8"), int_domain="full")

# binary: add/sub/mul/div carry the engine's dtype conversions, so they run every dtype
_row("add", _add, "binary", ALL, int_domain="full", specials=True,
     kwargs=[{}, {"alpha": 2}, {"alpha": 0.5}], primary=("float32", "int64"))
_row("sub", _sub, "binary", INTS + FLOATS + COMPLEX, int_domain="full", specials=True,
     kwargs=[{}, {"alpha": 3}, {"alpha": -1.5}])
_row("mul", _mul, "binary", ALL, int_domain="full", specials=True)
_row("_relu_backward", lambda g, r: np.where(r > 0, g, np.zeros((), g.dtype)), "binary", ("float32", "float64"),
     specials=True, inplace=False, scalar_positions=(), torch_fn=lambda g, r: torch.ops.aten.threshold_backward(g, r, 0))
_row("div", lambda x, y: x / y, "binary", ALL, specials=True, nonzero=(1,))
for i, (name, fn) in enumerate((("floor_divide", np.floor_divide), ("remainder", np.remainder))):
    _row(name, fn, "binary", _ints(i, 3) + ("float32", "float64", _half(i)), sample=_divmod_samples, nonzero=(1,))
_row("pow", _pow, "binary", BOOL + ("int8", "uint8", "int64", "float16", "float32", "float64", "complex64"),
     sample=_pow_samples, domain=(0.25, 3.0),
     dtype_exceptions={"bool": ("bool", "bool ** bool is defined (x | ~y); PyTorch refuses it")})
for i, (name, fn) in enumerate((("maximum", np.maximum), ("minimum", np.minimum))):
    _row(name, fn, "binary", BOOL + _ints(2 * i, 2) + ("float32", "float64", _half(i)), int_domain="full",
         specials=True)
_row("atan2", np.arctan2, "binary", ("int32", "float16", "float32", "float64"), specials=True)
_COMPARE_SPECIALS = (np.nan, np.inf, -np.inf, 0.0, -0.0)
for i, (name, fn) in enumerate((("eq", np.equal), ("ne", np.not_equal))):
    _row(name, fn, "binary", BOOL + _ints(i, 2) + ("float32", "float64", _half(i), _cplx(i)),
         sample=_compare_samples, compute="keep", grid=1.0, int_domain=(-3, 3), specials=_COMPARE_SPECIALS)
for i, (name, fn) in enumerate((("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                                ("ge", np.greater_equal))):
    _row(name, fn, "binary", _bool_or_int(i) + ("float32", "float64", _half(i)), sample=_compare_samples,
         compute="keep", grid=1.0, int_domain=(-3, 3), specials=_COMPARE_SPECIALS)
for i, (name, fn) in enumerate((("logical_and", np.logical_and), ("logical_or", np.logical_or),
                                ("logical_xor", np.logical_xor))):
    _row(name, fn, "binary", BOOL + _ints(i) + ("float32", _cplx(i)), grid=1.0, domain=(-1, 1),
         specials=True, compute="keep")
for i, (name, fn) in enumerate((("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                                ("bitwise_xor", np.bitwise_xor))):
    _row(name, fn, "binary", BOOL + _ints(i, 3), int_domain="full")
for i, (name, fn) in enumerate((("bitwise_left_shift", np.left_shift), ("bitwise_right_shift", np.right_shift))):
    _row(name, fn, "binary", _ints(i, 3), sample=_shift_samples, int_domain="full", other_int_domain=(0, 7))

# the Array API's extra elementwise functions (julia/src/ops/array_api.jl)
for i, (name, ref, dom) in enumerate((("acosh", np.arccosh, (0.5, 20)), ("asinh", np.arcsinh, (-20, 20)),
                                     ("atanh", np.arctanh, (-1.2, 1.2)))):
    _row(name, ref, "unary", ("float32", "float64", _half(i), _cplx(i)) + _bool_or_int(i + 1), domain=dom,
         specials=True)
_row("signbit", np.signbit, "unary", ("int8", "float16", "float32", "float64"), specials=True, inplace=False)
for i, (name, ref) in enumerate((("logaddexp", np.logaddexp), ("hypot", np.hypot), ("copysign", np.copysign))):
    _row(name, ref, "binary", ("float32", "float64", _half(i)) + _ints(i), specials=True, domain=(-5, 5))
_row("nextafter", np.nextafter, "binary", ("float32", "float64"), compute="none", specials=True,
     tol={"float32": (0, 0), "float64": (0, 0)})

# special functions and the rest of PyTorch's elementwise math (julia/src/ops/special.jl); PyTorch is the
# reference, computed in float64. Domains keep to where PyTorch's own kernels are accurate (its
# trigamma and Bessel J are good to ~1e-9 only); tests/test_special.py checks edge values and accuracy.
_SPECIAL_UNARY = [
    ("erfc", torch.erfc, (-4, 6)), ("erfinv", torch.erfinv, (-1, 1)), ("lgamma", torch.lgamma, (-6, 12)),
    ("digamma", torch.digamma, (-6, 12)), ("i0", torch.i0, (-30, 30)), ("sinc", torch.sinc, (-5, 5)),
    ("exp2", torch.exp2, (-10, 10)), ("deg2rad", torch.deg2rad, (-400, 400)), ("rad2deg", torch.rad2deg, (-7, 7)),
    ("special.entr", torch.special.entr, (-1, 5)), ("special.erfcx", torch.special.erfcx, (-5, 30)),
    ("special.i0e", torch.special.i0e, (-40, 40)), ("special.i1", torch.special.i1, (-30, 30)),
    ("special.i1e", torch.special.i1e, (-40, 40)), ("special.ndtr", torch.special.ndtr, (-10, 10)),
    ("special.ndtri", torch.special.ndtri, (0, 1)), ("special.log_ndtr", torch.special.log_ndtr, (-20, 10)),
    ("special.bessel_j0", torch.special.bessel_j0, (-30, 30)), ("special.bessel_j1", torch.special.bessel_j1, (-30, 30)),
]
for i, (name, tfn, dom) in enumerate(_SPECIAL_UNARY):
    ns = name.startswith("special.")
    # (PyTorch's Bessel J are accurate to ~1e-8 only: julia/test/test_specialfuncs.jl checks jtensor's)
    _row(name, torch_ref(tfn), "unary", ("float32", "float64", _half(i)) + _ints(i), domain=dom, specials=True,
         torch_fn=tfn, inplace=not ns, tol={"float64": (1e-6, 1e-7) if "bessel_j" in name else (1e-7, 1e-9)})
# the functions torch.special defines without a derivative (its float16 kernels are missing: jtensor's
# compute in float32); Bessel Y and K at x <= 0 and Ai at ±inf give PyTorch's edge values. PyTorch's
# Y0, Y1 and Ai are off by up to ~6e-7 (Y) and ~3e-6 (Ai, near x = -2.1) absolute; jtensor's agree
# with MPFR to ~1e-15 (tests/test_special.py)
_SPECIAL_NO_GRAD = [
    ("bessel_y0", (-1, 30)), ("bessel_y1", (-1, 30)), ("modified_bessel_k0", (-1, 30)),
    ("modified_bessel_k1", (-1, 30)), ("scaled_modified_bessel_k0", (-1, 100)),
    ("scaled_modified_bessel_k1", (-1, 100)), ("airy_ai", (-10, 10)),
]
for i, (name, dom) in enumerate(_SPECIAL_NO_GRAD):
    tfn = getattr(torch.special, name)
    _row("special." + name, torch_ref(tfn), "unary", ("float32", "float64") + _ints(i), domain=dom, specials=True,
         torch_fn=tfn, inplace=False, tol={"float64": (1e-5, 5e-6) if name[0] in "ab" else (1e-7, 1e-9)})
_row("angle", _complex_or_torch(torch.angle, np.angle), "unary", BOOL + ("int32", "float32", "float64", "complex64"),
     specials=True, inplace=False)
_row("frac", torch_ref(torch.frac), "unary", ("float16", "float32", "float64"), specials=True, grid=0.25)
_row("sgn", _sign, "unary", BOOL + ("int16", "float32", "float64", "complex64"), specials=True)


def _polygamma_samples(op, rng, dtype, primary):
    x = op.arg(rng, (4, 6), dtype, 0)
    return [Sample([n, x]) for n in ((0, 1, 2, 3) if primary else (1,))]


def _mvlgamma_samples(op, rng, dtype, primary):
    return [Sample([op.arg(rng, (4, 6), dtype, 0), p]) for p in ((1, 2, 5) if primary else (3,))]


# (int(): the generic callers would turn the integer n or p into an array or a tensor)
_row("polygamma", lambda n, x: torch_ref(torch.polygamma)(int(n), x), "unary", ("float32", "float64", "int64"), sample=_polygamma_samples,
     domain=(0.2, 12), inplace=False, scalar_positions=(), tol={"float64": (1e-7, 1e-9)},
     torch_fn=lambda n, x: torch.polygamma(int(n), x))
_row("mvlgamma", lambda x, p: torch_ref(torch.mvlgamma)(x, int(p)), "unary", ("float32", "float64"), sample=_mvlgamma_samples,
     domain=(2.5, 12), scalar_positions=(), torch_fn=lambda x, p: torch.mvlgamma(x, int(p)))
_row("logit", torch_ref(torch.logit), "unary", ("float32", "float64", "bfloat16", "int32"), domain=(-0.2, 1.2),
     specials=True, kwargs=[{}, {"eps": 0.1}])
_row("frexp", torch_ref(torch.frexp), "unary", ("float16", "float32", "float64"), domain=(-1e3, 1e3),
     specials=True, inplace=False, compute="none")
_SPECIAL_BINARY = [
    ("fmod", torch.fmod, "promote_real", (-5, 5), (0.5, 3)),
    ("xlogy", torch.xlogy, "", (-2, 2), (0, 3)),
    ("ldexp", torch.ldexp, "", (-3, 3), (-5, 5)),
    ("fmax", torch.fmax, "", (-3, 3), (-3, 3)),
    ("fmin", torch.fmin, "", (-3, 3), (-3, 3)),
    ("logaddexp2", torch.logaddexp2, "", (-5, 5), (-5, 5)),
    ("igamma", torch.igamma, "", (0, 8), (0, 12)),
    ("igammac", torch.igammac, "", (0, 8), (0, 12)),
    ("special.xlog1py", torch.special.xlog1py, "", (-2, 2), (-1, 3)),
    ("special.zeta", torch.special.zeta, "", (1, 6), (-3, 5)),
]
for i, (name, tfn, _, dom, odom) in enumerate(_SPECIAL_BINARY):
    ns = name.startswith("special.")
    _row(name, torch_ref(tfn), "binary", ("float32", "float64", _half(i)) + _ints(i), domain=dom, other_domain=odom,
         specials=True, torch_fn=tfn, inplace=not ns, nonzero=(1,) if name == "fmod" else (),
         tol={"float64": (1e-7, 1e-9)})
# the orthogonal polynomials p_n(x) of torch.special: n is truncated to an integer (negative: 0);
# several of PyTorch's kernels (U, W, Legendre, Laguerre...) return uninitialized values for NaN x
# (jtensor: NaN, tests/test_special.py), so the specials leave NaN out
_POLYNOMIALS = [
    ("chebyshev_polynomial_t", (-1.5, 1.5)), ("chebyshev_polynomial_u", (-1.5, 1.5)),
    ("chebyshev_polynomial_v", (-1.5, 1.5)), ("chebyshev_polynomial_w", (-1.5, 1.5)),
    ("shifted_chebyshev_polynomial_t", (-0.3, 1.3)), ("shifted_chebyshev_polynomial_u", (-0.3, 1.3)),
    ("shifted_chebyshev_polynomial_v", (-0.3, 1.3)), ("shifted_chebyshev_polynomial_w", (-0.3, 1.3)),
    ("hermite_polynomial_h", (-3, 3)), ("hermite_polynomial_he", (-3, 3)),
    ("laguerre_polynomial_l", (-2, 10)), ("legendre_polynomial_p", (-1.5, 1.5)),
]
for i, (name, dom) in enumerate(_POLYNOMIALS):
    tfn = getattr(torch.special, name)
    _row("special." + name, torch_ref(tfn), "binary", ("float32", "float64") + _ints(i), domain=dom,
         other_domain=(-2, 14), int_domain=(-2, 12), torch_fn=tfn, inplace=False,
         specials=(np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0),
         tol={"float32": (1e-4, 1e-4), "float64": (1e-9, 1e-9)})
_row("heaviside", torch_ref(torch.heaviside), "binary", ("int32", "float32", "float64"), grid=1.0, specials=True,
     scalar_positions=(), compute="keep")
for i, name in enumerate(("gcd", "lcm")):
    _row(name, torch_ref(getattr(torch, name)), "binary", _ints(i, 3), int_domain=(-60, 60), compute="keep")

# ternary and friends
_row("where", _where, "ternary", BOOL + ("int16", "float16", "float32", "complex128"), sample=_where_samples,
     compute="keep", torch_fn=torch.where, inplace=False, arg_dtypes=("bool", None, None), scalar_positions=(1, 2))
_row("clamp", _clamp, "ternary", ("int8", "int64", "uint8", "bfloat16", "float32", "float64"), sample=_clamp_samples,
     compute="keep", scalar_positions=(1, 2))
_row("lerp", _lerp, "ternary", ("float16", "float32", "float64", "complex64"), sample=_lerp_samples,
     scalar_positions=(2,))
_row("isclose", _isclose, "binary", ("int8", "uint8", "bfloat16", "float32", "float64", "complex128"),
     sample=_isclose_samples, compute="keep", inplace=False, broadcasts=True)
_row("allclose", _allclose, "binary", ("int64", "float32", "complex64"), sample=_isclose_samples,
     compute="keep", inplace=False, broadcasts=True, torch_fn=None)

# reductions
_DIMS = [{}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": (0, 2)}, {"dim": (0, 1, 2), "keepdim": True},
         {"dim": ()}]
_row("sum", _sum, "reduction", ALL, compute="acc", torch_fn=_torch_sum, domain=(-2, 2), int_domain="full",
     kwargs=_DIMS + [{"dtype": "float64"}, {"dim": 0, "dtype": "int32"}])
_row("mean", _mean, "reduction", FLOATS + ("complex64",), compute="float", torch_fn=_torch_red(torch.mean),
     kwargs=_DIMS + [{"dim": 2, "dtype": "float64"}])
_row("prod", _prod, "reduction", BOOL + ("int8", "int64", "float16", "float32", "float64", "complex128"),
     compute="acc", torch_fn=_torch_red(torch.prod), domain=(0.5, 1.5), int_domain=(-2, 2),
     kwargs=[{}, {"dim": 1}, {"dim": (0, 2), "keepdim": True}, {"dtype": "float64"}, {"dim": 2, "dtype": "int32"}])
for i, (name, fn, tfn) in enumerate((("amax", _amax, torch.amax), ("amin", _amin, torch.amin))):
    _row(name, fn, "reduction", BOOL + _ints(2 * i, 2) + ("float32", "float64", _half(i)), compute="keep",
         torch_fn=_torch_red(tfn), int_domain="full", specials=True, kwargs=_DIMS[:5])
_ARG = [{}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"keepdim": True}, {"dim": 0}]
for i, (name, fn, tfn) in enumerate((("argmax", _argmax, _torch_argmax), ("argmin", _argmin, _torch_argmin))):
    _row(name, fn, "reduction", _ints(1 + 2 * i) + ("float32", "float64", _half(i)), compute="keep", torch_fn=tfn,
         grid=1.0, specials=True, kwargs=_ARG)
_MAX = [{"dim": 1}, {}, {"dim": -1, "keepdim": True}, {"dim": 0}]
for i, (name, fn, tfn) in enumerate((("max", _max, _torch_max), ("min", _min, _torch_min))):
    _row(name, fn, "reduction", _ints(3 + i) + ("float32", "float64", _half(i + 1)), compute="keep", torch_fn=tfn,
         grid=1.0, specials=True, kwargs=_MAX)
_VAR = [{}, {"dim": 1}, {"dim": (0, 2), "correction": 0}, {"dim": -1, "keepdim": True, "correction": 2},
        {"correction": 0.5}, {"dim": 0, "correction": 3}]
for i, (name, fn, tfn) in enumerate((("var", _var, torch.var), ("std", _std, torch.std))):
    _row(name, fn, "reduction", ("float32", "float64", _half(i), _cplx(i)), compute="float",
         torch_fn=_torch_red(tfn), kwargs=_VAR)
_row("norm", _norm, "reduction", ("bfloat16", "float32", "float64", "complex64"), compute="float",
     torch_fn=_torch_norm, grid=0.5,
     kwargs=[{}, {"p": 1, "dim": 1}, {"p": np.inf, "dim": (0, 2)}, {"p": -np.inf, "dim": -1, "keepdim": True},
             {"p": 0}, {"p": 3.0, "dim": 0}, {"p": 0.5, "dim": 2}, {"p": 1, "dim": ()}])
_row("logsumexp", _logsumexp, "reduction", ("int16", "float16", "float32", "float64"), compute="float",
     domain=(-10, 10), torch_fn=torch.logsumexp, kwargs=[{"dim": 1}, {"dim": (0, 2)}, {"dim": -1, "keepdim": True}])
for i, (name, fn) in enumerate((("all", _all), ("any", _any))):
    _row(name, fn, "reduction", BOOL + (("uint8", "float32") if i == 0 else ("int32", "complex64")), compute="keep",
         torch_fn=_torch_red(getattr(torch, name)), grid=1.0, domain=(-0.6, 0.6), int_domain=(0, 2),
         primary=("bool", "float32") if i == 0 else ("bool", "complex64"), kwargs=_DIMS,
         dtype_exceptions={"uint8": ("bool", "PyTorch keeps uint8 for all/any of uint8 (legacy); NumPy and the "
                                             "Array API give bool")})
_SCAN = [{"dim": 1}, {"dim": 0}, {"dim": -1}, {"dim": 2, "dtype": "float64"}]
_row("cumsum", _cumsum, "scan", BOOL + ("int8", "int64", "bfloat16", "float32", "float64", "complex64"),
     compute="acc", int_domain=(-50, 50), kwargs=_SCAN)
_row("cumprod", _cumprod, "scan", ("int32", "float16", "float32", "float64", "complex128"), compute="acc",
     domain=(0.5, 1.5), int_domain=(-2, 2), kwargs=_SCAN)

# sorting
_SORT = [{}, {"dim": 0}, {"descending": True}, {"dim": 1, "descending": True, "stable": True}, {"stable": True}]
_row("sort", _sort, "sort", BOOL + ("int8", "uint8", "int64", "float16", "bfloat16", "float32", "float64"),
     compute="keep", sample=_sort_samples, kwargs=_SORT,
     torch_fn=lambda x, **kw: torch.sort(x, **{**kw, "stable": True}))
_row("argsort", _argsort, "sort", ("int16", "float32", "float64"), compute="keep", sample=_sort_samples,
     torch_fn=lambda x, **kw: torch.argsort(x, **{**kw, "stable": True}), kwargs=_SORT)
_row("topk", _topk, "sort", ("int32", "bfloat16", "float32", "float64"), compute="keep", sample=_topk_samples,
     kwargs=[{"k": 2}, {"k": 3, "dim": 0}, {"k": 1, "largest": False}, {"k": 4, "dim": 1, "largest": False},
             {"k": 0}, {"k": 6}])

BY_NAME = {op.name: op for op in OPS}

# Registry ops tested by other files (the coverage test checks every registry op is somewhere).
_LINALG = ("dot mm bmm matmul outer cross det diag inverse kron logdet matrix_power slogdet tensordot trace vecdot "
           "einsum linalg._cond linalg._matrix_norm linalg.cholesky linalg.cross linalg.det linalg.diagonal "
           "linalg.eig linalg.eigh linalg.eigvals linalg.eigvalsh linalg.inv linalg.matmul linalg.matrix_power "
           "linalg.matrix_rank linalg.matrix_transpose linalg.multi_dot linalg.outer linalg.pinv linalg.qr "
           "linalg.slogdet linalg.solve linalg.svd linalg.svdvals linalg.tensordot linalg.trace linalg.vecdot "
           "linalg.vector_norm")
_SHAPE = ("cat stack hstack vstack flip fliplr flipud gather scatter scatter_ scatter_add scatter_add_ index_select "
          "masked_fill masked_select pad repeat roll tile take take_along_dim tril triu unique searchsorted bincount "
          "diag_embed nonzero _take_offsets _put_offsets")
_CREATION = "_arange _linspace _eye _rand _randn _randint manual_seed"
_NN = ("softmax log_softmax _softmax_backward _log_softmax_backward _gelu_tanh _conv2d _conv2d_backward_input "
       "_conv2d_backward_weight _max_pool2d _avg_pool2d _avg_pool2d_backward _adaptive_avg_pool2d "
       "_adaptive_avg_pool2d_backward _pool2d_gather _pool2d_scatter _nll_loss _nll_loss_backward "
       "_conv3d _conv3d_backward_input _conv3d_backward_weight _max_pool3d _avg_pool3d _avg_pool3d_backward "
       "_adaptive_avg_pool3d _adaptive_avg_pool3d_backward _fractional_max_pool2d _fractional_max_pool3d "
       "_binary_cross_entropy_with_logits _dropout_mask _embedding _embedding_backward _embedding_backward_adjoint "
       "_standardize _standardize_backward _standardize_double_backward _cross_entropy _cross_entropy_backward "
       "_cross_entropy_targets _linear _layer_norm _layer_norm_backward _layer_norm_param_grad _channel_norm "
       "_channel_norm_backward _channel_norm_param_grad _channel_norm_stats _attention_softmax")
_ACTIVATIONS = ("_leaky_relu _leaky_relu_backward _prelu _hardtanh _hardtanh_backward threshold _threshold_backward "
                "hardshrink _softshrink _shrink_backward _hardsigmoid _hardsigmoid_backward _hardswish "
                "_hardswish_backward _elu _elu_backward _softplus _softsign _tanhshrink _log_sigmoid _mish _glu")
_LOSSES = "_binary_cross_entropy _huber _huber_backward _kl_div"
TESTED_ELSEWHERE = {
    "_amax_backward": "tests/test_gradients.py",   # amax/amin/max's gradients against torch's (ties, NaN)
    **{n: "tests/test_nn_activations.py" for n in _ACTIVATIONS.split()},
    **{n: "tests/test_nn_losses.py" for n in _LOSSES.split()},
    **{n: "tests/test_linalg.py" for n in _LINALG.split()},
    **{n: "tests/test_shape_ops.py" for n in _SHAPE.split()},
    **{n: "tests/test_creation.py" for n in _CREATION.split()},
    **{n: "tests/test_nn_functional.py" for n in _NN.split()},
    **{n: "tests/test_optim.py" for n in FUSED_STEPS},
    **{n: "tests/test_gradients.py" for n in ("_view_backward", "_bind_global")},
    **{n: "tests/test_recurrent.py" for n in ("_rnn_layer", "_rnn_layer_backward")},
    "_round_complex": "tests/test_array_api.py",
    **{n: "tests/test_compile.py" for n in ("_fused", "_fused_reduce")},   # jt.compile's kernels, against eager
    "_show_elements": "tests/test_user_dtypes.py",   # printing user dtypes by Julia's show
    **{n: "tests/test_linalg_solvers.py" for n in ("linalg.lu_factor_ex", "linalg.solve_triangular",
                                                    "linalg.cholesky_ex", "_lu_permutation", "geqrf",
                                                    "linalg.ldl_factor_ex", "linalg.ldl_solve")},
    **{n: "tests/test_scatter_reduce.py" for n in ("scatter_reduce", "scatter_reduce_")},
    "_fft_c2c": "tests/test_fft.py",   # every jt.fft / xp.fft function, against numpy.fft and torch.fft
    "copy_": "tests/test_tensor.py", "fill_": "tests/test_tensor.py", "_cast": "tests/test_tensor.py",
}


# ---- running a sample (shared by test_ops.py and test_hypothesis_ops.py) ---------------------------------
def jdt(name):
    return D.BY_NAME[name]


def tdt(name):
    return getattr(torch, name)


def torch_name(dtype):
    name = str(dtype).split(".")[-1]
    # PyTorch's complex32 (float16 with a complex scalar) has no jtensor dtype: complex64 is the
    # nearest, and the one jtensor documents.
    return {"complex32": "complex64"}.get(name, name)


def to_jt(a):
    """A jtensor tensor holding an `A`'s values (anything else passes through)."""
    if not isinstance(a, A):
        return a
    if a.dtype == "bfloat16":
        return jt.tensor(a.values).to(jt.bfloat16)
    return jt.tensor(a.values)


def to_torch(a):
    if not isinstance(a, A):
        return a
    return torch.from_numpy(np.array(a.values)).to(tdt(a.dtype))


def to_np(t):
    return np.asarray(t)


def fn(op):
    """The jtensor function of a row (from the registry)."""
    return REGISTRY.ops[op.name].fn


def jt_kwargs(kw):
    return {k: (jdt(v) if k == "dtype" else v) for k, v in kw.items()}


def torch_kwargs(kw):
    return {k: (tdt(v) if k == "dtype" else v) for k, v in kw.items()}


def policy(op):
    """How the reference widens integer inputs (see the module docstring)."""
    if op.compute:
        return op.compute
    return "float" if REGISTRY.ops[op.name].rule in ("float", "promote_float") else "keep"


def is_map(op):
    return REGISTRY.ops[op.name].kind == "map"


def promoted(op, args):
    """PyTorch's promoted dtype of the arguments that take part in promotion (weak scalars)."""
    dts, scalars = [], []
    for i, a in enumerate(args):
        if i < len(op.arg_dtypes) and op.arg_dtypes[i]:
            continue
        if isinstance(a, A):
            dts.append(tdt(a.dtype))
        elif a is not None:
            scalars.append(a)
    if not dts:
        return None
    p = dts[0]
    for d in dts[1:]:
        p = torch.promote_types(p, d)
    for sc in scalars:
        p = torch.result_type(torch.empty(1, dtype=p), sc)
    return torch_name(p)


def reference(op, args, kwargs):
    """The reference result of `op` on `args` (a tuple for multi-output ops). Map-op arguments
    are first cast to PyTorch's promoted dtype (Python scalars included), then widened."""
    pol = policy(op)
    p = promoted(op, args) if is_map(op) else None
    rargs = []
    for i, a in enumerate(args):
        fixed = i < len(op.arg_dtypes) and op.arg_dtypes[i]
        if a is None:
            rargs.append(None)
            continue
        v = a.values if isinstance(a, A) else np.asarray(a)
        if p is not None and not fixed:
            v = round_to(v, p)
        rargs.append(widen(v, pol))
    with np.errstate(all="ignore"):
        return op.ref(*rargs, **kwargs)


_SCALAR = (bool, int, float, complex)


def call_torch(op, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # e.g. var's "degrees of freedom is <= 0"
        return _call_torch(op, args, kwargs)


def _call_torch(op, args, kwargs):
    targs = [torch.tensor(a) if (i == 0 and isinstance(a, _SCALAR)) else to_torch(a) for i, a in enumerate(args)]
    tkw = torch_kwargs(kwargs)
    try:
        return op.torch_fn(*targs, **tkw)
    except TypeError:
        # some PyTorch functions take no Python scalar in a given position: a 0-d tensor of the
        # default dtype promotes the same way against n-d tensors
        targs = [torch.tensor(a) if isinstance(a, _SCALAR) else t for a, t in zip(args, targs)]
        return op.torch_fn(*targs, **tkw)


def torch_dtypes(op, args, kwargs):
    """Result dtype name(s) from PyTorch, or None when PyTorch refuses the call."""
    if op.torch_fn is None:
        return None
    try:
        r = call_torch(op, args, kwargs)
    except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError):
        return None
    rs = tuple(r) if isinstance(r, tuple) else (r,)
    return [torch_name(x.dtype) for x in rs]


def results(r):
    return tuple(r) if isinstance(r, tuple) else (r,)


def assert_close(op, actual, expected, ctx=""):
    """Compare a jtensor result with a reference result cast to the jtensor result's dtype:
    integers and bools exactly, floats and complex within the row's tolerance (NaN == NaN)."""
    if not isinstance(actual, jt.Tensor):   # allclose: a Python bool
        assert actual == bool(np.asarray(expected)), ctx
        return
    exp = np.asarray(expected)
    assert tuple(actual.shape) == exp.shape, f"{ctx}: shape {tuple(actual.shape)} != reference {exp.shape}"
    name = actual.dtype.name
    got = to_np(actual)
    k = KIND[name]
    if k in "biu":
        with np.errstate(all="ignore"):
            e = exp.astype(np_storage(name))
        np.testing.assert_array_equal(got, e, err_msg=ctx)
        return
    rtol, atol = op.tolerance(name)
    if k == "c":
        got, e = got.astype(np.complex128), exp.astype(name).astype(np.complex128)
    else:
        assert exp.dtype.kind != "c", f"{ctx}: complex reference for a {name} result"
        e = round_to(exp, name).astype(np.float64)
        got = got.astype(np.float64)
    np.testing.assert_allclose(got, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=ctx)


def check_dtypes(op, args, kwargs, actual, ctx=""):
    """Every result's dtype matches PyTorch's for the same inputs (or a documented exception)."""
    want = torch_dtypes(op, args, kwargs)
    if want is None:
        return
    got = [r.dtype.name for r in results(actual)]
    assert len(got) == len(want), ctx
    in_dt = next((a.dtype for a in args if isinstance(a, A)), None)
    for g, w in zip(got, want):
        if g != w:
            exc = op.dtype_exceptions.get(in_dt)
            assert exc is not None and exc[0] == g, f"{ctx}: result dtype {g}, PyTorch gives {w}"


def check_topk(actual, expected, s, ctx):
    """topk: values as PyTorch's; indices point at those values along dim (ties may differ)."""
    vals, idx = actual
    np.testing.assert_array_equal(to_np(vals), round_to(expected[0], vals.dtype.name), err_msg=ctx)
    assert idx.dtype is jt.int64
    if idx.ndim == 0:
        assert int(idx) == 0, ctx
        return
    gathered = np.take_along_axis(s.args[0].values, to_np(idx), axis=s.kwargs.get("dim", -1))
    np.testing.assert_array_equal(gathered, to_np(vals), err_msg=ctx)


def check_outputs(op, actual, expected, s, ctx):
    if op.name == "topk":
        check_topk(actual, expected, s, ctx)
        return
    exp = results(expected)
    assert len(results(actual)) == len(exp), ctx
    for a, e in zip(results(actual), exp):
        assert_close(op, a, e, ctx)


def check_sample(op, s, ctx="", jt_args=None):
    """Run sample `s` through jtensor (optionally on other tensors holding the same values, e.g.
    strided ones), the reference and PyTorch's dtype rule; return the jtensor result. When the
    reference refuses the inputs (TypeError, as PyTorch would), jtensor must refuse them too."""
    ctx = f"{op.name}{s}{' ' + ctx if ctx else ''}"
    jargs = jt_args if jt_args is not None else [to_jt(a) for a in s.args]
    try:
        expected = reference(op, s.args, s.kwargs)
    except TypeError:
        with pytest.raises((TypeError, RuntimeError)):
            fn(op)(*jargs, **jt_kwargs(s.kwargs))
        return None
    actual = fn(op)(*jargs, **jt_kwargs(s.kwargs))
    check_outputs(op, actual, expected, s, ctx)
    check_dtypes(op, s.args, s.kwargs, actual, ctx)
    return actual
