"""`jt.histogram` and `jt.histogramdd`, composed of registry ops as `histc` is (order_stats.py):
bin edges from `linspace` (or given), each value's bin by `searchsorted` on the edges (the last
edge closes the last bin; values outside the edges and NaNs are not counted), and the counts (or
summed weights) by `bincount` over the flattened multi-dimensional bin index. `histogram` is the
one-dimensional case of `histogramdd`. Like torch's, neither is differentiable.
"""
import collections
import math
import numbers

import jtensor as jt
from . import autograd
from .ops import composed

HistogramResult = collections.namedtuple("histogram", ["hist", "bin_edges"])
HistogramddResult = collections.namedtuple("histogramdd", ["hist", "bin_edges"])


def _edges(name, x, bins, lo_hi, d):
    """The bin edges of dimension d: the given 1-d tensor, or `bins` + 1 equal-width edges over
    the range (the data's own when None; widened by 0.5 each way when it is a single value)."""
    if isinstance(bins, jt.Tensor):
        if bins.ndim != 1 or bins.numel() < 2:
            raise RuntimeError(f"{name}: bins tensor should have one dimension and at least 2 elements, "
                               f"but got {bins.ndim} dimensions and {bins.numel()} elements")
        return bins.to(x.dtype)
    if not isinstance(bins, numbers.Integral) or isinstance(bins, bool):
        raise TypeError(f"{name}: bins must be an int, a sequence of ints or of 1-d tensors, got {bins!r}")
    if bins <= 0:
        raise RuntimeError(f"{name}(): bins must be > 0, but got {bins} for dimension {d}")
    if lo_hi is not None:
        lo, hi = float(lo_hi[0]), float(lo_hi[1])
    elif x.numel() == 0:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = float(x.amin()), float(x.amax())
    if lo > hi:
        raise RuntimeError(f"{name}: min should not exceed max, but got min {lo:g} max {hi:g} for dimension {d}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"{name}: dimension {d}'s range [{lo:g}, {hi:g}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return jt.linspace(lo, hi, bins + 1, dtype=x.dtype)


def _histogramdd(name, points, bins, range, weight, density):
    """(hist, list of edges) of the rows of `points` (N, D)."""
    if points.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for \'{points.dtype.name}\'')
    D = points.shape[-1]
    bins = [bins] * D if isinstance(bins, (numbers.Integral, jt.Tensor)) else list(bins)
    if len(bins) != D:
        raise RuntimeError(f"{name}: expected {D} sequences of bin edges for each dimension, but got {len(bins)}")
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(f"{name}: for a {D}-dimensional histogram, range should have {2 * D} elements, "
                           f"but got {len(range)}")
    if weight is not None and tuple(weight.shape) != tuple(points.shape[:-1]):
        raise RuntimeError(f"{name}: if weight tensor is provided it should have the same shape as the input "
                           f"tensor excluding its innermost dimension, but got input with shape "
                           f"{list(points.shape)} and weight with shape {list(weight.shape)}")
    with autograd.no_grad():
        pts = points.detach().reshape(-1, D)
        edges = [_edges(name, pts[:, d], b, None if range is None else range[2 * d:2 * d + 2], d)
                 for d, b in enumerate(bins)]
        sizes = [e.numel() - 1 for e in edges]
        flat = jt.zeros(pts.shape[0], dtype=jt.int64)
        keep = jt.ones(pts.shape[0], dtype=jt.bool)
        for d, (e, n) in enumerate(zip(edges, sizes)):
            x = pts[:, d].contiguous()
            pos = jt.searchsorted(e, x, right=True) - 1
            pos = jt.where(x == e[-1], n - 1, pos).clamp(0, n - 1)
            keep = jt.logical_and(keep, jt.logical_and(x >= e[0], x <= e[-1]))
            flat = flat * n + pos
        w = None if weight is None else weight.detach().reshape(-1)[keep].to(jt.float64)
        total = math.prod(sizes)
        hist = jt.bincount(flat[keep], w, minlength=total).to(points.dtype).reshape(sizes)
        if density:
            hist = hist / hist.sum()
            for d, e in enumerate(edges):
                shape = [1] * D
                shape[d] = -1
                hist = hist / (e[1:] - e[:-1]).reshape(shape)
    return hist, edges


@composed()
def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """(hist, bin_edges) of all of input's elements: `bins` equal-width bins over `range` (the data's
    range when None), or the given 1-d tensor of edges; `weight` sums weights instead of counting;
    `density` normalizes to a probability density."""
    if isinstance(bins, jt.Tensor) and range is not None:
        raise TypeError("histogram(): range is only accepted with an int number of bins, not with a tensor of edges")
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise RuntimeError(f"torch.histogram: if weight tensor is provided it should have the same shape as the input "
                           f"tensor, but got input with shape {list(input.shape)} and weight with shape "
                           f"{list(weight.shape)}")
    hist, edges = _histogramdd("torch.histogram", input.reshape(-1, 1), [bins], range,
                               None if weight is None else weight.reshape(-1), density)
    res = HistogramResult(hist, edges[0])
    if out is not None:
        out[0].copy_(res.hist)
        out[1].copy_(res.bin_edges)
        return HistogramResult(*out)
    return res


@composed(method=False)
def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """(hist, bin_edges) of the points in input's last dim (input (..., D)): a D-dimensional
    histogram; `bins` is an int, D ints, or D 1-d tensors of edges; `range` is (min0, max0, min1,
    max1, ...)."""
    return HistogramddResult(*_histogramdd("torch.histogramdd", input, bins, range, weight, density))
