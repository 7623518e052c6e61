"""Order statistics and NaN-aware reductions (median, quantile, nansum...), `var`/`std` with
PyTorch's `unbiased=` overloads, `var_mean`/`std_mean`, `count_nonzero` and `cdist`.

Order statistics sort along the reduced dim (NaN sorts last) and pick positions from the sort's
permutation; values are gathered from the input itself, so gradients flow through `gather` to the
chosen elements, as PyTorch's do.
"""
import collections
import math

import jtensor as jt
from . import dtypes as D
from ._tensor import Tensor
from .ops import composed
from .registry import REGISTRY, norm_dim

median_result = collections.namedtuple("median", ["values", "indices"])


# ---- var / std with PyTorch's `unbiased` overloads --------------------------------------------------------
def _correction(name, dim, unbiased, correction):
    """(dim, correction) from the overloads f(x, unbiased), f(x, dim, unbiased, keepdim) and
    f(x, dim, *, correction)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{name}: can't specify both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None else int(bool(unbiased))
    return dim, correction


def _spread(name, what):
    def spread(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
        dim, correction = _correction(name, dim, unbiased, correction)
        return REGISTRY.ops[name].fn(input, dim, correction=correction, keepdim=keepdim, out=out)
    spread.__name__ = spread.__qualname__ = name
    spread.__doc__ = (f"The {what} over dim (all dims when None), with `correction` subtracted from the count "
                      f"(1: Bessel's). PyTorch's overloads: {name}(input, unbiased), {name}(input, dim, unbiased, "
                      f"keepdim) and {name}(input, dim, *, correction, keepdim).")
    return spread


var = composed("var")(_spread("var", "variance"))
std = composed("std")(_spread("std", "standard deviation"))


@composed(method=False)
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over dim, with var's overloads."""
    dim, correction = _correction("var_mean", dim, unbiased, correction)
    return var(input, dim, keepdim=keepdim, correction=correction), jt.mean(input, dim, keepdim)


@composed(method=False)
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over dim, with std's overloads."""
    dim, correction = _correction("std_mean", dim, unbiased, correction)
    return std(input, dim, keepdim=keepdim, correction=correction), jt.mean(input, dim, keepdim)


# ---- NaN-aware reductions --------------------------------------------------------------------------------
def _check_float(name, input):
    if input.dtype.kind not in "fc":
        raise RuntimeError(f"{name}(): expected input to have floating point or complex dtype but got "
                           f"{input.dtype.name}")


@composed()
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """The sum with NaNs counted as zero."""
    if input.dtype.kind == "c":
        raise RuntimeError("nansum does not support complex inputs")
    x = jt.where(jt.isnan(input), jt.zeros((), dtype=input.dtype), input) if input.dtype.kind == "f" else input
    return jt.sum(x, dim, keepdim, dtype=dtype)


@composed()
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """The mean of the non-NaN elements (NaN where there are none)."""
    _check_float("nanmean", input)
    count = jt.logical_not(jt.isnan(input)).sum(dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


@composed()
def count_nonzero(input, dim=None):
    """The number of non-zero elements over dim (all dims when None), as int64."""
    return jt.ne(input, 0).sum(dim)


# ---- order statistics --------------------------------------------------------------------------------------
def _last_dim(name, input, dim):
    """input with the reduced dim moved last (flattened when dim is None), and that dim."""
    if dim is None:
        return input.reshape(-1), None
    d = norm_dim(dim, max(input.ndim, 1), name)
    x = input if input.ndim else input.reshape(1)
    return x.movedim(d, -1), d


def _keep(r, input, d, keepdim):
    """A last-dim-reduced result (…, 1) back in the input's layout."""
    if d is None or input.ndim == 0:
        return r.reshape(r.shape[:-1]) if not keepdim or input.ndim == 0 else r.reshape((1,) * input.ndim)
    r = r.movedim(-1, d)
    return r if keepdim else r.squeeze(d)


def _nan_counts(x):
    """The number of NaNs along the last dim (kept as a size-1 dim)."""
    if x.dtype.kind != "f":
        return jt.zeros(x.shape[:-1] + (1,), dtype=D.int64)
    return jt.isnan(x).sum(-1, keepdim=True)


def _median(name, input, dim, keepdim, skip_nan):
    x, d = _last_dim(name, input, dim)
    n = x.shape[-1]
    if n == 0:
        if dim is None:
            return jt.full((), math.nan, dtype=input.dtype)
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    order = jt.argsort(x, -1, stable=True)
    nans = _nan_counts(x)
    if skip_nan:   # the lower median of the non-NaN values (position n // 2 when all are NaN, as PyTorch)
        k = jt.where(nans == n, jt.full((), n // 2, dtype=D.int64), ((n - nans) - 1) // 2)
    else:          # the lower median, or the first NaN when there is one
        k = jt.where(nans > 0, n - nans, jt.full((), (n - 1) // 2, dtype=D.int64))
    indices = jt.gather(order, -1, k)
    values = jt.gather(x, -1, indices)
    if dim is None:
        return values.reshape(())
    return median_result(_keep(values, input, d, keepdim), _keep(indices, input, d, keepdim))


@composed()
def median(input, dim=None, keepdim=False):
    """The lower median of all elements, or (values, indices) along dim; NaN if there is a NaN."""
    return _median("median", input, dim, keepdim, False)


@composed()
def nanmedian(input, dim=None, keepdim=False):
    """median ignoring NaNs (NaN only where every element is NaN)."""
    return _median("nanmedian", input, dim, keepdim, True)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, input, q, dim, keepdim, interpolation, skip_nan):
    if input.dtype not in (D.float32, D.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype, got {input.dtype.name}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                         f"Got {interpolation}")
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        qt = jt.tensor([float(q)], dtype=input.dtype)
    else:
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor, got shape {list(q.shape)}")
        if q.dtype is not input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor, got {q.dtype.name} and "
                               f"{input.dtype.name}")
        qt = q.reshape(-1).detach()
    if qt.numel() and not bool(jt.logical_and(qt >= 0, qt <= 1).all()):
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    x, d = _last_dim(name, input, dim)
    n = x.shape[-1]
    if n == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")
    values = jt.gather(x, -1, jt.argsort(x, -1, stable=True))   # NaNs last
    nans = _nan_counts(x).to(input.dtype)
    last = jt.full((), n - 1, dtype=input.dtype)
    if skip_nan:   # ranks among the non-NaN values; an all-NaN row points at a NaN
        ranks = jt.where(nans == n, last, qt * (n - 1 - nans))
    else:          # a row with a NaN points at its last (NaN) value
        ranks = jt.where(nans > 0, last, qt * (n - 1))
    ranks = ranks.expand(x.shape[:-1] + (qt.numel(),))
    below = jt.floor(ranks)
    pick = {"lower": below, "higher": jt.ceil(ranks), "nearest": jt.round(ranks)}.get(interpolation)
    if pick is not None:
        r = jt.gather(values, -1, pick.to(D.int64))
    else:
        lo = jt.gather(values, -1, below.to(D.int64))
        hi = jt.gather(values, -1, jt.ceil(ranks).to(D.int64))
        w = jt.full((), 0.5, dtype=input.dtype) if interpolation == "midpoint" else ranks - below
        r = jt.lerp(lo, hi, w)
    # r: (..., nq) with the reduced dim gone; each quantile back in the input's layout, q's dim first
    outs = [_keep(r.narrow(-1, i, 1), input, d, keepdim) for i in range(qt.numel())]
    return outs[0] if scalar_q or (not q.ndim) else jt.stack(outs)


@composed()
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The q-th quantiles over dim (all elements when None); q a float or a 1-d tensor (its dim
    comes first in the result). interpolation: linear, lower, higher, midpoint or nearest. A NaN
    in a reduced row makes that row's quantiles NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


@composed()
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear"):
    """quantile ignoring NaNs (NaN only where every element is NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


# ---- distances ---------------------------------------------------------------------------------------------
@composed(method=False)
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between each row of x1 (…, P, M) and each row of x2 (…, R, M): (…, P, R)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1.dtype.kind != "f" or x2.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype.name}, X2 got: "
                           f"{x2.dtype.name}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    if compute_mode not in modes:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    big = x1.shape[-2] > 25 or x2.shape[-2] > 25
    if p == 2 and (compute_mode == modes[1] or compute_mode == modes[0] and big):
        return _euclidean_dist(x1, x2)
    return jt.linalg.vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def _euclidean_dist(x1, x2):
    """Euclidean distances through one matrix product, |a|² + |b|² - 2 a·b (PyTorch's
    `_euclidean_dist`: less memory than the differences; the clamp keeps sqrt's gradient finite)."""
    sq = (x1 * x1).sum(-1, keepdim=True) + (x2 * x2).sum(-1).unsqueeze(-2)
    return (sq - 2 * jt.matmul(x1, x2.mT)).clamp(min=1e-30).sqrt()
