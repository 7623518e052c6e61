"""Batching samples into jt tensors: `default_collate` and `default_convert` (torch.utils.data's).

`default_collate(batch)` turns a list of samples into one batch of the samples' structure: jt
tensors and NumPy arrays are stacked along a new first dimension, Python floats become a float64
tensor and ints (and bools) a tensor as `jt.tensor` makes it, NumPy scalars a tensor of their
dtype, strings stay a list (a tuple for a tuple of them), and dicts, namedtuples and lists are
collated field by field (a tuple of fields becomes a list, as in torch).
`default_convert(sample)` is what a DataLoader with ``batch_size=None`` applies: NumPy arrays and
scalars become jt tensors (sharing memory), the rest is rebuilt around them.

Both run without Julia: stacking is `np.stack` and the results are NumPy-backed jt tensors, so
they run in forked DataLoader workers (where Julia cannot), and the tensors travel to the parent
by pickling. Only a batch of tensors that require grad is stacked with `jt.stack` (to keep the
graph), where Julia can run.
"""
import collections.abc
import copy
import re

import numpy as np

from ... import dtypes as D
from ..._tensor import Tensor, from_numpy, tensor as _new_tensor

np_str_obj_array_pattern = re.compile(r"[SaUO]")
default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                                  "dicts or lists; found {}")


def stack(tensors):
    """Stack same-shaped jt tensors along a new first dim (dtypes promoted as `jt.stack` does),
    with NumPy: usable in a forked worker. The result is a NumPy-backed jt tensor."""
    first = tensors[0]
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"stack: expected jt tensors, got {type(t).__name__} at entry {i}")
        if t.shape != first.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first.shape)} "
                               f"at entry 0 and {list(t.shape)} at entry {i}")
    if any(t.requires_grad for t in tensors) and _julia_usable():
        from ...ops import ops
        return ops.stack(list(tensors))
    dtype = first.dtype
    for t in tensors[1:]:
        dtype = D.promote_types(dtype, t.dtype)
    if dtype is D.bfloat16:   # NumPy has no bfloat16: stack in float32, then narrow (needs Julia)
        return stack([t.to(D.float32) for t in tensors]).to(D.bfloat16)
    return from_numpy(np.stack([t.numpy() for t in tensors]).astype(dtype.np_dtype, copy=False))


def _julia_usable():
    from ... import bridge
    try:
        bridge._check_thread()
        return True
    except RuntimeError:
        return False


def _as_tensor(arr):
    """A jt tensor over a NumPy array or scalar (sharing memory where it can, as torch.as_tensor)."""
    arr = np.asarray(arr)
    if not arr.dtype.isnative or any(s < 0 for s in arr.strides):
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    return from_numpy(arr)


def _is_string_array(arr):
    return np_str_obj_array_pattern.search(arr.dtype.str) is not None


def collate_tensor_fn(batch, *, collate_fn_map=None):
    return stack(batch)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _is_string_array(batch[0]):
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return stack([_as_tensor(b) for b in batch])


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return _as_tensor(np.asarray(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    return from_numpy(np.asarray(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None):
    return _new_tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def _rebuild_mapping(elem, values):
    """`elem`'s mapping type holding `values` (a dict of the same keys); a plain dict where the
    type cannot be rebuilt."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem, items):
    """`elem`'s sequence type holding `items`; a list where the type cannot be rebuilt."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def collate(batch, *, collate_fn_map=None):
    """Collate `batch` (a list of samples of one structure): the first sample's type picks the
    function in `collate_fn_map` (by exact type, then by isinstance), and containers recurse."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type, fn in collate_fn_map.items():
            if isinstance(elem, collate_type):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):   # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        items = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        return items if isinstance(elem, tuple) else _rebuild_sequence(elem, items)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def default_collate(batch):
    """Stack a list of samples into a batch, keeping the samples' structure (see the module doc)."""
    return collate(batch, collate_fn_map=default_collate_fn_map)


def default_convert(data):
    """NumPy arrays and scalars in `data` become jt tensors; the structure around them is kept
    (tuples become lists, as in torch); everything else is returned as is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.bool_, np.number)):
        return data if isinstance(data, np.ndarray) and _is_string_array(data) else _as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data
