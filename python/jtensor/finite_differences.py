"""`jt.gradient` (numerical derivatives by central differences, as torch.gradient / numpy.gradient)
and `jt.unravel_index`, composed of registry ops (slicing, arithmetic, remainder), so gradient is
differentiable in its input and coordinates.

gradient: second-order central differences inside; first- or second-order one-sided differences
at the two edges (edge_order); uniform spacing (a number per dim) or coordinates (a 1-d tensor per
dim, unevenly spaced), with the non-uniform formulas of numpy.gradient.
"""
import numbers
import operator

import jtensor as jt
from . import dtypes as D
from .ops import composed
from .registry import norm_dim

_SIZE_ERROR = "torch.gradient expected each dimension size to be at least edge_order+1"


def _along(t, d, start, stop=None):
    """t[..., start:stop, ...] along dim d."""
    n = t.shape[d]
    stop = n if stop is None else (stop if stop >= 0 else n + stop)
    start = start if start >= 0 else n + start
    return t.narrow(d, start, stop - start)


def _shaped(v, d, ndim):
    """A 1-d tensor `v` shaped to broadcast along dim d of an ndim tensor."""
    shape = [1] * ndim
    shape[d] = -1
    return v.reshape(shape)


def _uniform(f, d, h, edge_order):
    inner = (_along(f, d, 2) - _along(f, d, 0, -2)) / (2 * h)
    f0, f1, l0, l1 = _along(f, d, 0, 1), _along(f, d, 1, 2), _along(f, d, -1), _along(f, d, -2, -1)
    if edge_order == 1:
        first, last = (f1 - f0) / h, (l0 - l1) / h
    else:
        f2, l2 = _along(f, d, 2, 3), _along(f, d, -3, -2)
        first = (-1.5 * f0 + 2 * f1 - 0.5 * f2) / h
        last = (1.5 * l0 - 2 * l1 + 0.5 * l2) / h
    return jt.cat([first, inner, last], d)


def _coordinates(f, d, x, edge_order):
    nd = f.ndim
    dx = x[1:] - x[:-1]
    a1, a2 = dx[:-1], dx[1:]
    a = _shaped(-a2 / (a1 * (a1 + a2)), d, nd)
    b = _shaped((a2 - a1) / (a1 * a2), d, nd)
    c = _shaped(a1 / (a2 * (a1 + a2)), d, nd)
    inner = a * _along(f, d, 0, -2) + b * _along(f, d, 1, -1) + c * _along(f, d, 2)
    f0, f1, fl1, fl2 = _along(f, d, 0, 1), _along(f, d, 1, 2), _along(f, d, -1), _along(f, d, -2, -1)
    if edge_order == 1:
        first, last = (f1 - f0) / dx[0], (fl1 - fl2) / dx[-1]
    else:
        f2, fl3 = _along(f, d, 2, 3), _along(f, d, -3, -2)
        h1, h2 = dx[0], dx[1]
        first = (-(2 * h1 + h2) / (h1 * (h1 + h2)) * f0 + (h1 + h2) / (h1 * h2) * f1
                 - h1 / (h2 * (h1 + h2)) * f2)
        h1, h2 = dx[-2], dx[-1]
        last = (h2 / (h1 * (h1 + h2)) * fl3 - (h2 + h1) / (h1 * h2) * fl2
                + (2 * h2 + h1) / (h2 * (h1 + h2)) * fl1)
    return jt.cat([first, inner, last], d)


@composed(method=False)
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative of the samples `input` along each dim of `dim` (all when None), as a tuple of
    tensors: central differences inside, one-sided ones of order `edge_order` (1 or 2) at the
    edges. `spacing`: a number (the same step for every dim), a sequence of numbers (one per
    dim), or a sequence of 1-d coordinate tensors (one per dim)."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if dim is None:
        dims = list(range(input.ndim))
    elif isinstance(dim, (tuple, list)):
        dims = [norm_dim(operator.index(d), input.ndim, "torch.gradient") for d in dim]
    else:
        dims = [norm_dim(operator.index(dim), input.ndim, "torch.gradient")]
    if isinstance(spacing, (tuple, list)):
        if len(spacing) != len(dims):
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim arguments to "
                f"have the same length, but got a spacing argument of length {len(spacing)} and a dim argument of "
                f"length {len(dims)}.")
        steps = list(spacing)
    else:
        steps = [spacing] * len(dims)
    f = input if input.dtype.kind in "fc" else input.to(D.get_default_dtype())
    out = []
    for d, h in zip(dims, steps):
        if f.shape[d] < edge_order + 1:
            raise RuntimeError(_SIZE_ERROR)
        if isinstance(h, jt.Tensor) and h.ndim == 1:
            if h.shape[0] != f.shape[d]:
                raise RuntimeError(f"torch.gradient expected the coordinates of dim {d} to have {f.shape[d]} "
                                   f"elements, but got {h.shape[0]}")
            out.append(_coordinates(f, d, h, edge_order))
        else:
            h = h.item() if isinstance(h, jt.Tensor) else h
            if not isinstance(h, numbers.Number):
                raise TypeError(f"torch.gradient: spacing must be numbers or 1-d tensors, got {h!r}")
            out.append(_uniform(f, d, h, edge_order))
    return tuple(out)


@composed(method=False)
def unravel_index(indices, shape):
    """The coordinates in a tensor of `shape` of each flat (row-major) index in `indices`, as a tuple
    of int64 tensors of indices' shape (indices wrap modulo the element count, as torch's)."""
    if not isinstance(indices, jt.Tensor):
        indices = jt.tensor(indices)
    if indices.dtype.kind not in "iu" or indices.dtype is D.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (operator.index(shape),) if isinstance(shape, numbers.Integral) else tuple(operator.index(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    idx = indices.to(D.int64)
    coords = []
    for s in reversed(shape):
        coords.append(jt.remainder(idx, s) if s else idx * 0)
        idx = jt.floor_divide(idx, s) if s else idx
    return tuple(reversed(coords))
