"""PyTorch's order statistics, running scans and membership tests composed of registry ops:
`cummax`/`cummin`, `logcumsumexp`, `kthvalue`, `mode`, `msort`, `aminmax`, `histc`, `bucketize`,
`isin` and `unique_consecutive`.

Running scans use the Hillis-Steele doubling scheme: log2(n) whole-tensor steps, each combining
every element with the one 2^k before it, so a scan costs a handful of registry calls rather than
one per element. Values are gathered from the input at the chosen indices, so gradients flow
through `gather` (PyTorch's derivative for these ops routes the gradient to the chosen index too).
"""
from collections import namedtuple

import jtensor as jt
from . import autograd
from . import dtypes as D
from .ops import composed
from .registry import norm_dim

values_indices = namedtuple("values_indices", ["values", "indices"])
min_max = namedtuple("aminmax", ["min", "max"])


def _scan(x, dim, combine):
    """Inclusive scan of `x` along `dim` by the associative `combine(earlier, later)`."""
    n, k = x[0].shape[dim], 1
    while k < n:
        head = [t.narrow(dim, 0, k) for t in x]
        tail = combine([t.narrow(dim, 0, n - k) for t in x], [t.narrow(dim, k, n - k) for t in x])
        x = [jt.cat([h, t], dim) for h, t in zip(head, tail)]
        k *= 2
    return x


def _cum_extreme(name, input, dim, later_wins):
    """(values, indices) of the running max/min: a NaN wins over numbers; among equals the later."""
    squeeze = input.ndim == 0
    x = input.reshape(1) if squeeze else input
    d = norm_dim(dim, x.ndim, name)
    with autograd.no_grad():
        shape = [1] * x.ndim
        shape[d] = x.shape[d]
        pos = jt.arange(x.shape[d]).reshape(shape).expand(x.shape).contiguous()
        vals = x.detach()

        def combine(a, b):
            nan_a, nan_b = jt.isnan(a[0]), jt.isnan(b[0])
            take_b = jt.logical_or(nan_b, jt.logical_and(jt.logical_not(nan_a), later_wins(b[0], a[0])))
            return [jt.where(take_b, b[0], a[0]), jt.where(take_b, b[1], a[1])]
        _, idx = _scan([vals, pos], d, combine) if x.numel() else (vals, pos)
    out = values_indices(x.gather(d, idx), idx)
    return values_indices(out.values.reshape(()), out.indices.reshape(())) if squeeze else out


@composed()
def cummax(input, dim):
    """(values, indices) of the running maximum along `dim` (NaN propagates; ties take the later index)."""
    return _cum_extreme("cummax", input, dim, lambda b, a: b >= a)


@composed()
def cummin(input, dim):
    """(values, indices) of the running minimum along `dim` (NaN propagates; ties take the later index)."""
    return _cum_extreme("cummin", input, dim, lambda b, a: b <= a)


@composed()
def logcumsumexp(input, dim):
    """log(cumsum(exp(input))) along `dim`, computed stably (a scan of `logaddexp`)."""
    if input.dtype.kind not in "fc":
        raise RuntimeError(f"logcumsumexp(): expected floating point input, got {input.dtype.name}")
    x = input.reshape(1) if input.ndim == 0 else input
    d = norm_dim(dim, x.ndim, "logcumsumexp")
    out, = _scan([x], d, lambda a, b: [jt.logaddexp(a[0], b[0])]) if x.numel() else [x * 1]
    return out.reshape(()) if input.ndim == 0 else out


def _keep(t, d, keepdim):
    return t if keepdim else t.squeeze(d)


@composed()
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element along `dim` (k counts from 1)."""
    x = input.reshape(1) if input.ndim == 0 else input
    d = norm_dim(dim, x.ndim, "kthvalue")
    n = x.shape[d]
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} (k = {k}, size {n})")
    v, i = jt.sort(x, d, stable=True)
    out = values_indices(_keep(v.narrow(d, k - 1, 1), d, keepdim or input.ndim == 0),
                         _keep(i.narrow(d, k - 1, 1), d, keepdim or input.ndim == 0))
    return values_indices(out.values.reshape(()), out.indices.reshape(())) if input.ndim == 0 else out


@composed()
def msort(input):
    """`input` sorted along its first dimension."""
    return jt.sort(input, 0).values


@composed()
def mode(input, dim=-1, keepdim=False):
    """(values, indices) of the most frequent value along `dim` (the smallest among equally frequent
    ones) and the last index where it occurs."""
    x = input.reshape(1) if input.ndim == 0 else input
    d = norm_dim(dim, x.ndim, "mode")
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    with autograd.no_grad():
        m = x.detach().movedim(d, -1)
        counts = (m.unsqueeze(-1) == m.unsqueeze(-2)).sum(-1)
        top = counts == counts.amax(-1, keepdim=True)
        value = jt.where(top, m, m.amax(-1, keepdim=True)).amin(-1, keepdim=True)
        pos = jt.arange(m.shape[-1]).expand(m.shape)
        idx = jt.where(m == value, pos, -1).amax(-1, keepdim=True).movedim(-1, d)
    out = values_indices(_keep(x.gather(d, idx), d, keepdim), _keep(idx, d, keepdim))
    return values_indices(out.values.reshape(()), out.indices.reshape(())) if input.ndim == 0 else out


@composed()
def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over all elements or along `dim`."""
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        lo, hi = input.amin(), input.amax()
        if keepdim:
            lo, hi = lo.reshape((1,) * input.ndim), hi.reshape((1,) * input.ndim)
        return min_max(lo, hi)
    return min_max(input.amin(dim, keepdim), input.amax(dim, keepdim))


@composed()
def histc(input, bins=100, min=0, max=0):
    """Counts of the elements in `bins` equal-width bins over [min, max] (the data's range when
    min == max); elements outside are ignored, `max` itself falls in the last bin."""
    if input.dtype.kind != "f":
        raise RuntimeError(f'"histogram_cpu" not implemented for \'{D.scalar_type_name(input.dtype)}\'')
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for bins")
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    with autograd.no_grad():
        x = input.detach().reshape(-1).double()
        lo, hi = float(min), float(max)
        if lo == hi and x.numel():
            lo, hi = float(x.amin()), float(x.amax())
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        inside = jt.logical_and(x >= lo, x <= hi)
        b = ((x[inside] - lo) * bins / (hi - lo)).floor().long().clamp(0, bins - 1)
        return jt.bincount(b, minlength=bins).to(input.dtype)


@composed(method=False)
def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The index of the bucket of each element, buckets bounded by the sorted 1-d `boundaries`."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    if not isinstance(input, jt.Tensor):
        input = jt.tensor(input)
    flat = jt.searchsorted(boundaries, input.reshape(-1), out_int32=out_int32, right=right)
    return flat.reshape(input.shape)


@composed(method=False)
def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of `elements` occurs in `test_elements` (either may be a scalar)."""
    e = elements if isinstance(elements, jt.Tensor) else jt.tensor(elements)
    t = test_elements if isinstance(test_elements, jt.Tensor) else jt.tensor(test_elements)
    dt = jt.promote_types(e.dtype, t.dtype)
    e, t = e.to(dt), t.to(dt).reshape(-1)
    if t.numel() == 0:
        found = jt.zeros(e.shape, dtype=D.bool_)
    else:
        s = jt.sort(t).values
        at = jt.searchsorted(s, e.reshape(-1)).clamp(max=s.numel() - 1)
        found = (s[at] == e.reshape(-1)).reshape(e.shape)
    return jt.logical_not(found) if invert else found


@composed()
def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """`input` with each run of equal consecutive elements (slices along `dim`) kept once; with
    `return_inverse` the run of each input element, with `return_counts` each run's length."""
    if dim is None:
        x = input.reshape(-1)
        n = x.numel()
        change = x[1:] != x[:-1] if n else jt.zeros(0, dtype=D.bool_)
        d = 0
    else:
        d = norm_dim(dim, input.ndim, "unique_consecutive")
        x, n = input, input.shape[d]
        change = (x.narrow(d, 1, n - 1) != x.narrow(d, 0, n - 1)).movedim(d, 0).reshape(n - 1, -1).any(1) \
            if n else jt.zeros(0, dtype=D.bool_)
    starts = jt.cat([jt.ones(min(n, 1), dtype=D.bool_), change])
    first = jt.nonzero(starts).reshape(-1)
    values = x.index_select(d, first)
    out = [values]
    if return_inverse:
        inv = jt.cumsum(starts.long(), 0) - 1
        out.append(inv.reshape(input.shape) if dim is None else inv)
    if return_counts:
        out.append(jt.diff(jt.cat([first, jt.tensor([n])])))
    return out[0] if len(out) == 1 else tuple(out)
