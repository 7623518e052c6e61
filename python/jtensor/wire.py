"""Python's side of the word format: encoding arguments and decoding results.

The format itself (tags, each kind's words, device codes, limits) is defined once, in
julia/src/wire.txt, and read by `wire_format`; this module takes its constants from there. The
encoders write the fields of each kind in a fixed order for speed (they run on every call the C
fast path does not take), so the order they write is stated here (`WRITTEN`) and checked against
the table at import: a table edit that moves a field fails loudly instead of garbling calls.

This is also the one place where Python dims become Julia dims (`encode_arg`: `Dim`, `Dims`,
`Shape` parameters), and where a tensor's device code is read (`device_code`).
"""
import collections
import ctypes
import struct

from . import dtypes as D
from .schema import as_int64, INT64_MIN, INT64_MAX, julia_dim
from .wire_format import FORMAT, TABLE_PATH

_T = FORMAT.tags
TAG_NONE, TAG_TENSOR, TAG_INT, TAG_FLOAT, TAG_BOOL = _T["none"], _T["tensor"], _T["int"], _T["float"], _T["bool"]
TAG_INTLIST, TAG_COMPLEX, TAG_STR, TAG_DTYPE, TAG_TENSORLIST = (
    _T["intlist"], _T["complex"], _T["str"], _T["dtype"], _T["tensorlist"])
DEVICE_CPU, DEVICE_META, DEVICE_CUDA = FORMAT.devices["cpu"], FORMAT.devices["meta"], FORMAT.devices["cuda"]
DEVICE_NAMES = {code: name for name, code in FORMAT.devices.items()}
RESULT_WORDS = FORMAT.limits["result_words"]
MAP_KINDS = FORMAT.map_kinds   # the C fast path's map signature keys (drivers._register_fast)
del _T

# The fields each encoder and decoder below writes or reads, in their order.
WRITTEN = {
    ("arg", "tensor"): ("tag", "dtype", "ndim", "device", "address", "shape[ndim]", "strides[ndim]"),
    ("arg", "none"): ("tag",),
    ("arg", "int"): ("tag", "value"),
    ("arg", "float"): ("tag", "value"),
    ("arg", "bool"): ("tag", "value"),
    ("arg", "intlist"): ("tag", "count", "items[count]"),
    ("arg", "complex"): ("tag", "re", "im"),
    ("arg", "str"): ("tag", "address", "length"),
    ("arg", "dtype"): ("tag", "code"),
    ("arg", "tensorlist"): ("tag", "count", "tensors[count]"),
    ("result", "tensor"): ("tag", "dtype", "ndim", "device", "address", "handle", "shape[ndim]"),
    ("result", "none"): ("tag",),
    ("result", "int"): ("tag", "value"),
    ("result", "float"): ("tag", "value"),
    ("result", "bool"): ("tag", "value"),
    ("result", "complex"): ("tag", "re", "im"),
    ("result", "str"): ("tag", "address", "length", "handle"),
}


def _check_table():
    for (side, kind), fields in WRITTEN.items():
        layout = (FORMAT.args if side == "arg" else FORMAT.results).get(kind)
        if layout is None or layout.fields != fields:
            have = " ".join(layout.fields) if layout else "nothing"
            raise ImportError(f"jtensor: {TABLE_PATH} gives {side} {kind} as `{have}`, but python/jtensor/"
                              f"wire.py writes `{' '.join(fields)}`: update the encoders with the table")


_check_table()


def device_code(t):
    """The wire device code of tensor `t`: the CPU's unless the tensor says otherwise."""
    return getattr(t, "device_code", DEVICE_CPU)


def address_of_bytes(b):
    """The address of a bytes object's data (valid while `b` lives)."""
    return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value


def encode_tensor(t, words, fmt):
    shape = t.shape
    words += (TAG_TENSOR, t.dtype.code, len(shape), device_code(t), t._baddr + t._offset * t.dtype.itemsize)
    words += shape
    words += t._strides
    fmt.append("q" * (5 + 2 * len(shape)))


def _bstrides(t, shape):
    """`t`'s strides broadcast to `shape` (0 on broadcast dims)."""
    n, k = len(shape), len(t.shape)
    off = n - k
    st = [0] * n
    for j in range(k):
        if t.shape[j] != 1 or shape[off + j] == 1:
            st[off + j] = t._strides[j]
    return st


def encode_tensor_as(a, shape, words, fmt):
    """Encode tensor `a` broadcast (by zero strides) to `shape`."""
    words += (TAG_TENSOR, a.dtype.code, len(shape), device_code(a), a._baddr + a._offset * a.dtype.itemsize)
    words += shape
    words += (a._strides if a.shape == shape else _bstrides(a, shape))
    fmt.append("q" * (5 + 2 * len(shape)))


def encode_scalar(x, words, fmt):
    if x is None:
        words.append(TAG_NONE); fmt.append("q")
    elif isinstance(x, bool):
        words += (TAG_BOOL, int(x)); fmt.append("qq")
    elif isinstance(x, int):
        if not INT64_MIN <= x <= INT64_MAX:
            raise OverflowError(f"int too big to convert: {x} does not fit in int64")
        words += (TAG_INT, x); fmt.append("qq")
    elif isinstance(x, float):
        words += (TAG_FLOAT, x); fmt.append("qd")
    elif isinstance(x, complex):
        words += (TAG_COMPLEX, x.real, x.imag); fmt.append("qdd")
    elif isinstance(x, D.dtype):
        words += (TAG_DTYPE, x.code); fmt.append("qq")
    elif hasattr(x, "__index__"):
        words += (TAG_INT, x.__index__()); fmt.append("qq")
    elif hasattr(x, "item") and hasattr(x, "shape") and x.shape == ():  # NumPy scalar / 0-d tensor
        encode_scalar(x.item(), words, fmt)
    else:
        raise TypeError(f"cannot pass {type(x).__name__} to Julia")


def encode_map_args(op, out, compute, args, extras, shape, Tensor):
    """Words for an elementwise call: [out][compute dtype][#inputs][inputs...][extras...], and its
    plan signature (op id plus each argument's dtype code or scalar tag); the signature is None
    when a tensor is not on the CPU (plans run CPU memory only: such calls take Julia's generic path)."""
    words = [TAG_TENSOR, out.dtype.code, len(shape), device_code(out), out._baddr + out._offset * out.dtype.itemsize,
             *shape, *out._strides, TAG_DTYPE, compute.code, TAG_INT, len(args)]
    fmt = ["q" * (len(words))]
    sig = [op.id, out.dtype.code, compute.code]
    cpu = words[3] == DEVICE_CPU
    for a in args:
        if isinstance(a, Tensor):
            n = len(words)
            encode_tensor_as(a, shape, words, fmt)
            cpu = cpu and words[n + 3] == DEVICE_CPU
            sig.append(a.dtype.code)
        else:
            n = len(words)
            encode_scalar(a, words, fmt)
            sig.append(100 + words[n])
    for x in extras:
        n = len(words)
        encode_scalar(x, words, fmt)
        sig.append(100 + words[n])
    return words, fmt, (tuple(sig) if cpu else None)


def encode_arg(p, x, ref_ndim, opname, words, fmt, keep):
    """Encode argument `x` of parameter `p` by its declared type. `ref_ndim`: the dims of the call's
    first tensor (Python dims are made Julia dims against it); `keep` holds bytes whose address
    the words carry until the call returns."""
    t = p.type
    if x is None:
        if not p.optional:
            raise TypeError(f"{opname}: argument '{p.name}' must not be None")
        words.append(TAG_NONE); fmt.append("q")
    elif t == "Tensor":
        encode_tensor(x, words, fmt)
    elif t == "Dim":
        words += (TAG_INT, julia_dim(x, ref_ndim, opname)); fmt.append("qq")
    elif t == "Dims":
        ds = (x,) if not isinstance(x, (tuple, list)) else x
        jd = sorted({julia_dim(d, ref_ndim, opname) for d in ds})
        jd = jd if ref_ndim > 0 else []
        if len(jd) != len(ds) and ref_ndim > 0:
            raise RuntimeError(f"{opname}: dim {list(ds)} appears multiple times in the list of dims")
        words += (TAG_INTLIST, len(jd), *jd); fmt.append("q" * (2 + len(jd)))
    elif t in ("Shape", "IntList"):
        vals = tuple(as_int64(v, opname, p.name) for v in (x if isinstance(x, (tuple, list)) else (x,)))
        if t == "Shape":
            vals = vals[::-1]
        words += (TAG_INTLIST, len(vals), *vals); fmt.append("q" * (2 + len(vals)))
    elif t == "TensorList":
        words += (TAG_TENSORLIST, len(x)); fmt.append("qq")
        for item in x:
            encode_tensor(item, words, fmt)
    elif t == "str":
        b = x.encode()
        keep.append(b)
        words += (TAG_STR, address_of_bytes(b), len(b)); fmt.append("qqq")
    elif t == "DType":
        words += (TAG_DTYPE, D.as_dtype(x).code); fmt.append("qq")
    elif t == "float":
        words += (TAG_FLOAT, float(x)); fmt.append("qd")
    elif t == "int":
        words += (TAG_INT, as_int64(x, opname, p.name)); fmt.append("qq")
    elif t == "bool":
        words += (TAG_BOOL, int(bool(x))); fmt.append("qq")
    else:
        encode_scalar(x, words, fmt)


# A tensor result: dtype code, device code, address, handle rooting it in Julia, Python-order shape.
TensorResult = collections.namedtuple("TensorResult", "dtype_code device address handle shape")


def _as_float(w):
    return struct.unpack("d", struct.pack("q", w))[0]


def decode_results(r):
    """The results in result buffer `r` (a sequence of int64 words): Python values, TensorResult
    for tensors (drivers.tensor_of makes them Tensors)."""
    n = r[0]
    out = []
    i = 1
    for _ in range(n):
        tag = r[i]
        if tag == TAG_TENSOR:
            nd = r[i + 2]
            out.append(TensorResult(r[i + 1], r[i + 3], r[i + 4], r[i + 5], tuple(r[i + 6:i + 6 + nd])))
            i += 6 + nd
        elif tag == TAG_INT:
            out.append(r[i + 1]); i += 2
        elif tag == TAG_BOOL:
            out.append(bool(r[i + 1])); i += 2
        elif tag == TAG_FLOAT:
            out.append(_as_float(r[i + 1])); i += 2
        elif tag == TAG_COMPLEX:
            out.append(complex(_as_float(r[i + 1]), _as_float(r[i + 2]))); i += 3
        elif tag == TAG_NONE:
            out.append(None); i += 1
        else:
            raise RuntimeError(f"bridge: unknown result tag {tag}")
    return out


def describe(name, args):
    """`name(args)` for error messages, tensors by shape and dtype."""
    parts = []
    for a in args:
        if hasattr(a, "dtype") and hasattr(a, "shape") and hasattr(a, "_strides"):
            parts.append(f"Tensor(shape={list(a.shape)}, dtype={a.dtype.name})")
        elif isinstance(a, (list, tuple)) and a and all(hasattr(x, "_strides") for x in a):
            parts.append("[" + ", ".join(f"Tensor(shape={list(x.shape)}, dtype={x.dtype.name})" for x in a) + "]")
        else:
            parts.append(repr(a))
    return f"{name}({', '.join(parts)})"
