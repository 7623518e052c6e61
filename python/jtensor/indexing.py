"""Indexing: ``t[key]`` and ``t[key] = value`` with NumPy/PyTorch semantics.

Basic indices (ints, slices, None, Ellipsis) only change metadata and return views. Advanced
indices (integer tensors/lists, boolean masks) gather or scatter through Julia ops, by element
offsets computed with tensor arithmetic: the result has the broadcast index shape in place of
the indexed dims (or in front, when advanced indices are separated, as in NumPy).
"""
import numpy as np

from . import dtypes as D
from .registry import REGISTRY


def _T():
    from . import _tensor
    return _tensor


def _index_int(v):
    """A slice bound or step as a Python int (anything with __index__, as for Python sequences)."""
    import operator
    try:
        return operator.index(v)
    except TypeError:
        raise TypeError(f"slice indices must be integers or None, got {type(v).__name__}") from None


def _is_advanced(k):
    Tensor = _T().Tensor
    if isinstance(k, Tensor):
        return True
    if isinstance(k, np.ndarray):
        return True
    if isinstance(k, (list, tuple)):
        return True
    return False


def _expand_key(t, key):
    if not isinstance(key, tuple):
        key = (key,)
    Tensor = _T().Tensor
    n_real = 0
    for k in key:
        if k is None or k is Ellipsis:
            continue
        if isinstance(k, (Tensor, np.ndarray)) and (k.dtype == D.bool_ if isinstance(k, Tensor) else k.dtype == np.bool_):
            n_real += k.ndim
        elif isinstance(k, bool):
            continue
        else:
            n_real += 1
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if n_real > t.ndim:
        raise IndexError(f"too many indices for tensor of dimension {t.ndim}")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (t.ndim - n_real))
        else:
            out.append(k)
    if not any(k is Ellipsis for k in key):  # (`in` would compare arrays elementwise)
        out.extend([slice(None)] * (t.ndim - n_real))
    return out


def _basic(t, key):
    """Apply basic indices; return (view, [(dim_in_view, advanced index)...])."""
    Tensor = _T().Tensor
    shape, strides, off = [], [], t._offset
    adv = []
    d = 0
    for k in key:
        if k is None:
            # torch's stride for a new axis (unsqueeze): that of the next dim times its size
            shape.append(1); strides.append(t._strides[d] * t.shape[d] if d < t.ndim else 1)
        elif isinstance(k, bool):
            # a Python bool indexes like a new axis of length 1 (True) or 0 (False)
            adv.append((len(shape), _T().tensor([0] if k else [], dtype=D.int64)))
            shape.append(1); strides.append(0)
        elif isinstance(k, slice):
            n = t.shape[d]
            if k.step is not None and _index_int(k.step) == 0:
                raise ValueError("slice step cannot be zero")
            start, stop, step = k.indices(n)
            length = len(range(start, stop, step))
            # A negative step (NumPy and the Array API; PyTorch refuses it) is a view with a
            # negative stride starting at the slice's first element.
            shape.append(length); strides.append(t._strides[d] * step)
            if step > 0:
                off += start * t._strides[d]  # even when empty, as torch (start is clamped to [0, n])
            elif length:
                off += start * t._strides[d]
            d += 1
        elif isinstance(k, (int, np.integer)) or (isinstance(k, Tensor) and k.ndim == 0 and k.dtype.kind in "iu"):
            i = int(k)
            n = t.shape[d]
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for dimension {d} with size {n}")
            off += (i % n) * t._strides[d]
            d += 1
        elif _is_advanced(k):
            if isinstance(k, Tensor):
                idx = k
            else:
                arr = np.asarray(k)
                if arr.size == 0 and arr.dtype.kind == "f":  # `[]` is an empty integer index, as in NumPy
                    arr = arr.astype(np.int64)
                idx = _T().asarray(arr)
            if idx.dtype is D.bool_:
                if idx.ndim == 0:
                    adv.append((len(shape), _T().tensor([0] if idx.item() else [], dtype=D.int64)))
                    shape.append(1); strides.append(0)
                    continue
                for j in range(idx.ndim):
                    if idx.shape[j] != t.shape[d + j]:
                        raise IndexError(f"The shape of the mask {list(idx.shape)} at index {j} does not match "
                                         f"the shape of the indexed tensor {list(t.shape)} at index {d + j}")
                nz = REGISTRY.ops["nonzero"].fn(idx)
                for j in range(idx.ndim):
                    adv.append((len(shape), nz[:, j]))
                    shape.append(t.shape[d]); strides.append(t._strides[d])
                    d += 1
            else:
                if idx.dtype.kind not in "iu":
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                adv.append((len(shape), idx))
                shape.append(t.shape[d]); strides.append(t._strides[d])
                d += 1
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or bool tensors "
                             f"are valid indices (got {type(k).__name__})")
    return t._view(shape, strides, off), adv


def _offsets(v, adv):
    """Element offsets (relative to v's first element) of the advanced selection, and its shape."""
    T = _T()
    ops = REGISTRY.ops
    idx = [a for _, a in adv]
    from .drivers import broadcast_shapes
    try:
        ishape = broadcast_shapes(*[i.shape for i in idx])
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + " ".join(str(tuple(i.shape)) for i in idx)) from None
    dims = [d for d, _ in adv]
    contiguous = dims == list(range(dims[0], dims[0] + len(dims)))
    rest = [d for d in range(v.ndim) if d not in dims]
    if contiguous:
        pos = dims[0]
        out_shape = tuple(v.shape[d] for d in rest if d < pos) + ishape + tuple(v.shape[d] for d in rest if d > pos)
        lead = sum(1 for d in rest if d < pos)
    else:
        out_shape = ishape + tuple(v.shape[d] for d in rest)
        lead = 0
    nd = len(out_shape)
    total = None
    for d, i in adv:
        n = v.shape[d]
        i = i.to(D.int64) if i.dtype is not D.int64 else i
        if i.numel():
            lo, hi = int(i.min().item()), int(i.max().item())
            if lo < -n or hi >= n:
                bad = hi if hi >= n else lo
                raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
        i = ops["remainder"].fn(i, n) if i.numel() and lo < 0 else i
        term = i * v._strides[d]
        term = term.reshape((1,) * lead + (1,) * (len(ishape) - i.ndim) + i.shape + (1,) * (nd - lead - len(ishape)))
        total = term if total is None else total + term
    k = 0
    for d in rest:
        before = d < dims[0] if contiguous else False
        p = (rest.index(d)) if before else (lead + len(ishape) + (rest.index(d) - lead if contiguous else rest.index(d)))
        shp = [1] * nd
        shp[p] = v.shape[d]
        from .creation import arange
        term = arange(v.shape[d]) * v._strides[d]
        total = total + term.reshape(shp)
        k += 1
    total = total.expand(out_shape) if total.shape != out_shape else total
    return total, out_shape


def getitem(t, key):
    key = _expand_key(t, key)
    v, adv = _basic(t, key)
    if not adv:
        return v
    offs, shape = _offsets(v, adv)
    return REGISTRY.ops["_take_offsets"].fn(v, offs.contiguous())


def setitem(t, key, value):
    from . import autograd
    T = _T()
    if autograd._enabled[0] and (t.requires_grad or (isinstance(value, T.Tensor) and value.requires_grad)):
        return autograd.record_setitem(t, key, value, _write)
    _write(t, key, value)


def _write(t, key, value):
    """Write `value` into t[key], in place, recording nothing."""
    key = _expand_key(t, key)
    v, adv = _basic(t, key)
    T = _T()
    if not isinstance(value, T.Tensor):
        value = value if isinstance(value, (bool, int, float, complex)) else T.asarray(value)
    if not adv:
        if isinstance(value, T.Tensor):
            if value.ndim > v.ndim:
                value = value.reshape(value.shape[value.ndim - v.ndim:]) if all(s == 1 for s in value.shape[:value.ndim - v.ndim]) else value
            v.copy_(value)
        else:
            v.fill_(value)
        return
    offs, shape = _offsets(v, adv)
    if not isinstance(value, T.Tensor):
        from .creation import full
        value = full((), value, dtype=t.dtype)
    t._check_writable("setitem")
    if T._overlaps(t, value):
        value = value.clone()  # the scatter writes as it reads: read all of value first, as NumPy does
    REGISTRY.ops["_put_offsets"].fn(v, offs.contiguous(), value.expand(shape) if value.shape != shape else value)
    t._bump()
