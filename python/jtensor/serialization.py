"""`jt.save` / `jt.load`: state dicts in the safetensors format.

Files are written and read by the `safetensors` library (``serialize_file`` / ``deserialize``), so
they interchange with ``safetensors.torch.save_file`` / ``load_file``: a PyTorch state dict saved
there loads here and the other way round. Every jtensor dtype is stored natively (bfloat16 as the
raw "BF16" bytes, which NumPy cannot hold) except complex128, which safetensors lacks: it is
stored as float64 with a trailing dim of 2 and named in the metadata so that `jt.load` restores
it. Non-tensor values (JSON-serializable) and the key order travel in the header's metadata.
"""
import json
import os

import numpy as np
import safetensors

from . import dtypes as D
from ._tensor import Tensor, from_numpy

__all__ = ["save", "load"]

_ORDER_KEY = "jtensor.order"          # JSON list of the tensor names, in the saved dict's order
_EXTRA_KEY = "jtensor.extra"          # JSON object of the non-tensor entries
_COMPLEX128_KEY = "jtensor.complex128"  # JSON list of the names stored as float64 pairs

# safetensors header dtype -> jtensor dtype
_FROM_ST = {"BOOL": D.bool_, "U8": D.uint8, "I8": D.int8, "I16": D.int16, "I32": D.int32, "I64": D.int64,
            "F16": D.float16, "BF16": D.bfloat16, "F32": D.float32, "F64": D.float64, "C64": D.complex64}
_NP = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
       "F16": np.float16, "F32": np.float32, "F64": np.float64, "C64": np.complex64}


def _little_endian(a):
    """`a`'s bytes in little-endian order (safetensors' byte order)."""
    big = a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and not np.little_endian)
    return a.byteswap() if big else a


def _bf16_bits(t):
    """The raw bfloat16 bit patterns of `t` as a uint16 array (exact: float32 of a bfloat16 value has
    zero low bits)."""
    f = np.ascontiguousarray(t.to(D.float32).numpy())
    return (f.view(np.uint32) >> 16).astype(np.uint16)


def _bf16_from_bits(bits, shape):
    f = (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return from_numpy(f).to(D.bfloat16)


def _spec(name, t, keep):
    if t.dtype is D.bfloat16:
        arr, dtype = _bf16_bits(t), "bfloat16"
    elif t.dtype.is_user:
        raise TypeError(f"jt.save: entry {name!r} has user dtype {t.dtype.name} (Julia {t.dtype.julia_type}), which "
                        "safetensors has no type for; save a conversion (t.to(jtensor.float32)) or pickle the tensor")
    elif t.dtype is D.complex128:
        c = np.ascontiguousarray(t.numpy()).reshape(t.shape)   # (ascontiguousarray makes 0-d arrays 1-d)
        arr, dtype = c.reshape(-1).view(np.float64).reshape(t.shape + (2,)), "float64"
    else:
        arr = np.ascontiguousarray(t.numpy())
        dtype = t.dtype.name
    arr = np.ascontiguousarray(_little_endian(arr))
    keep.append(arr)
    shape = list(arr.shape) if t.dtype is D.complex128 else list(t.shape)
    return safetensors.TensorSpec(dtype=dtype, shape=shape, data_ptr=arr.ctypes.data if arr.size else 0,
                                  data_len=arr.nbytes)


def save(obj, f, metadata=None):
    """Write `obj`, a mapping of names to tensors (e.g. ``model.state_dict()``), to `f` (a path or a
    binary file object) in the safetensors format. Non-tensor values must be JSON-serializable and
    go in the header's metadata, as does `metadata` (a dict of str to str)."""
    if not hasattr(obj, "items"):
        raise TypeError(f"jt.save: expected a dict of name -> Tensor (e.g. model.state_dict()), got "
                        f"{type(obj).__name__}")
    specs, keep, order, extra, complex128 = {}, [], [], {}, []
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"jt.save: keys must be strings, got {name!r}")
        if isinstance(value, Tensor):
            specs[name] = _spec(name, value.detach(), keep)
            order.append(name)
            if value.dtype is D.complex128:
                complex128.append(name)
        else:
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise TypeError(f"jt.save: entry {name!r} is neither a Tensor nor JSON-serializable "
                                f"({type(value).__name__})") from None
            extra[name] = value
    meta = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("jt.save: metadata must map str to str")
            meta[k] = v
    meta[_ORDER_KEY] = json.dumps(order)
    if extra:
        meta[_EXTRA_KEY] = json.dumps(extra)
    if complex128:
        meta[_COMPLEX128_KEY] = json.dumps(complex128)
    if isinstance(f, (str, os.PathLike)):
        safetensors.serialize_file(specs, f, metadata=meta)
    else:
        f.write(safetensors.serialize(specs, metadata=meta))


def _read_metadata(data):
    n = int.from_bytes(bytes(data[:8]), "little")
    header = json.loads(bytes(data[8:8 + n]))
    return header.get("__metadata__") or {}


def load(f, return_metadata=False):
    """Read a safetensors file (path or binary file object) into a dict of name -> Tensor, plus the
    non-tensor entries `jt.save` stored. With return_metadata, return (dict, metadata) where
    metadata is the file's own str -> str header metadata (jtensor's bookkeeping keys removed)."""
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    entries = dict(safetensors.deserialize(data))
    meta = dict(_read_metadata(data))
    order = json.loads(meta.pop(_ORDER_KEY, "null")) or sorted(entries)
    order += sorted(set(entries) - set(order))
    complex128 = set(json.loads(meta.pop(_COMPLEX128_KEY, "[]")))
    extra = json.loads(meta.pop(_EXTRA_KEY, "{}"))
    out = {}
    for name in order:
        if name not in entries:
            continue
        e = entries[name]
        st, shape = e["dtype"], tuple(e["shape"])
        raw = e["data"]
        if st == "BF16":
            out[name] = _bf16_from_bits(np.frombuffer(raw, dtype="<u2"), shape)
            continue
        if st not in _NP:
            raise TypeError(f"jt.load: tensor {name!r} has dtype {st}, which jtensor does not support")
        arr = np.frombuffer(raw, dtype=np.dtype(_NP[st]).newbyteorder("<")).reshape(shape)
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if name in complex128 and st == "F64" and shape and shape[-1] == 2:
            arr = np.ascontiguousarray(arr).view(np.complex128).reshape(shape[:-1])
        out[name] = from_numpy(arr)
    out.update(extra)
    return (out, meta) if return_metadata else out

