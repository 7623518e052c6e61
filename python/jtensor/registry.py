"""The op registry as seen from Python: reads JTensor's table and builds one Python function per op.

Nothing here is per-op. Each registry entry (name, signature, kind, dtype rule, docs, derivative
formulas) is turned into a real Python function by generating its source from the signature, so
arguments bind at native speed and `help(jt.add)` shows the true signature. Two drivers run ops:

- `run_map` for elementwise ops: broadcasting, promotion (the entry's named dtype rule),
  allocation, `out=` and in-place forms, then one Julia call that fills the output;
- `run_fn` for all other ops: arguments are encoded by their declared types (Python dims become
  Julia dims here, and only here) and Julia returns new arrays.
"""
import ast
import collections
import ctypes
import json
import os
import struct
import sys
import warnings

import numpy as np

from . import autograd
from . import bridge
from . import overrides
from . import dtypes as D
from .bridge import (TAG_BOOL, TAG_COMPLEX, TAG_DTYPE, TAG_FLOAT, TAG_INT, TAG_INTLIST, TAG_NONE,
                     TAG_STR, TAG_TENSOR, TAG_TENSORLIST)

_NUMBER = (bool, int, float, complex)


class Param:
    __slots__ = ("name", "type", "default", "kwonly", "optional", "vararg")

    def __init__(self, name, type_, default, kwonly, optional, vararg=False):
        self.name, self.type, self.default, self.kwonly, self.optional = name, type_, default, kwonly, optional
        self.vararg = vararg


class Op:
    """One registry entry, with its parsed signature. `fn` is the generated Python function."""

    def __init__(self, entry):
        self.id = entry["id"]
        self.name = entry["name"]
        self.schema = entry["schema"]
        self.kind = entry["kind"]
        self.rule = entry["dtypes"]
        self.grad = [tuple(g) for g in entry["grad"]]
        self.batch = entry.get("batch", "")
        self.builtin = entry.get("builtin", False)   # from JTensor's own sources
        self.namespace = entry["namespace"]
        self.method = entry["method"]
        self.inplace = entry["inplace"]
        self.doc = entry["doc"]
        self.params, self.returns = parse_schema(self.schema)
        self.types = [p.type for p in self.params]
        self.tensor_params = [i for i, p in enumerate(self.params) if p.type == "Tensor"]
        self.result_fields = _result_fields(self.returns)
        self.result_type = (collections.namedtuple(f"{self.name}_result", self.result_fields)
                            if self.result_fields else None)
        self.fast_kinds = _fast_kinds(self)
        self.fn = None

    @property
    def qualname(self):
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def __repr__(self):
        return f"<jtensor op {self.schema}>"


# Parameter kinds of the C fast path for fn ops (python/jtensor/_native/fastpath.c `fp_call`).
FN_KINDS = {"Tensor": 0, "Optional[Tensor]": 1, "int": 2, "float": 3, "bool": 4, "str": 5}


def _fast_kinds(op):
    """The C call path's kind per parameter, for fn ops returning one tensor whose parameters are
    all tensors, numbers, bools or strings; None otherwise (the Python driver runs them)."""
    if op.kind == "map" or op.returns != "Tensor" or any(p.vararg for p in op.params):
        return None
    kinds = []
    for p in op.params:
        t = "Optional[Tensor]" if p.type == "Tensor" and p.optional else p.type
        if t not in FN_KINDS:
            return None
        kinds.append(FN_KINDS[t])
    return tuple(kinds)


def _result_fields(returns):
    r = returns.strip()
    if r.startswith("(") and ":" in r:
        return [f.split(":")[0].strip() for f in r[1:-1].split(",")]
    return None


def parse_schema(schema):
    """Split `name(params) -> returns` into Param objects (Python syntax) and the return text."""
    head, ret = schema.rsplit("->", 1)
    params_src = head[head.index("(") + 1:head.rindex(")")]
    tree = ast.parse(f"def f({params_src}): pass").body[0].args
    out = []
    pos = tree.posonlyargs + tree.args
    pos_defaults = [None] * (len(pos) - len(tree.defaults)) + list(tree.defaults)
    for a, d in zip(pos, pos_defaults):
        out.append(_param(a, d, False))
    if tree.vararg is not None:
        p = _param(tree.vararg, None, False)
        p.vararg = True
        out.append(p)
    for a, d in zip(tree.kwonlyargs, tree.kw_defaults):
        out.append(_param(a, d, True))
    return out, ret.strip()


_MISSING = object()


def _param(arg, default, kwonly):
    t = ast.unparse(arg.annotation) if arg.annotation is not None else "Any"
    optional = t.startswith("Optional[")
    if optional:
        t = t[len("Optional["):-1]
    dflt = _MISSING if default is None else ast.literal_eval(default)
    return Param(arg.arg, t, dflt, kwonly, optional or dflt is None)


# ---- argument encoding -----------------------------------------------------------------------------

def norm_dim(d, ndim, opname="op"):
    """A Python dim (may be negative) checked against ndim and made non-negative."""
    n = max(ndim, 1)
    if not isinstance(d, int) or isinstance(d, bool):
        d = getattr(d, "__index__", lambda: None)()
        if d is None:
            raise TypeError(f"{opname}: dim must be an int")
    if not -n <= d < n:
        raise IndexError(f"{opname}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d + n if d < 0 else d


def _julia_dim(d, ndim, opname):
    d = norm_dim(d, ndim, opname)   # checked on 0-d tensors too: their only dims are 0 and -1
    return ndim - d if ndim > 0 else 1


INT64_MIN, INT64_MAX = -2**63, 2**63 - 1


def as_int64(x, opname, what):
    """`x` as a Python int that fits the int64 wire word: TypeError for a non-integer (2.5 is not
    a size), OverflowError beyond int64, as PyTorch's argument parser does."""
    if isinstance(x, int):
        v = int(x)
    else:
        index = getattr(type(x), "__index__", None)
        if index is None:
            raise TypeError(f"{opname}(): {what} must be an int, not {type(x).__name__}")
        v = index(x)
    if not INT64_MIN <= v <= INT64_MAX:
        raise OverflowError(f"{opname}(): {what} {v} does not fit in int64")
    return v


def encode_tensor(t, words, fmt):
    shape = t.shape
    words += (TAG_TENSOR, t.dtype.code, len(shape), t._baddr + t._offset * t.dtype.itemsize)
    words += shape
    words += t._strides
    fmt.append("q" * (4 + 2 * len(shape)))


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


def describe(name, args):
    parts = []
    for a in args:
        if hasattr(a, "dtype") and hasattr(a, "shape") and hasattr(a, "_strides"):
            parts.append(f"Tensor(shape={list(a.shape)}, dtype={a.dtype.name})")
        elif isinstance(a, (list, tuple)) and a and all(hasattr(x, "_strides") for x in a):
            parts.append("[" + ", ".join(f"Tensor(shape={list(x.shape)}, dtype={x.dtype.name})" for x in a) + "]")
        else:
            parts.append(repr(a))
    return f"{name}({', '.join(parts)})"


# ---- drivers ---------------------------------------------------------------------------------------
_T = None  # the tensor module, bound at start-up (avoids an import cycle)


def broadcast_shapes(*shapes):
    n = max(map(len, shapes), default=0)
    out = [1] * n
    for s in shapes:
        off = n - len(s)
        for i, v in enumerate(s):
            o = out[off + i]
            if v != o:
                if o == 1:
                    out[off + i] = v
                elif v != 1:
                    raise ValueError(f"shapes {', '.join(str(list(x)) for x in shapes)} cannot be broadcast together")
    return tuple(out)


def _bstrides(t, shape):
    n, k = len(shape), len(t.shape)
    off = n - k
    st = [0] * n
    for j in range(k):
        if t.shape[j] != 1 or shape[off + j] == 1:
            st[off + j] = t._strides[j]
    return st


def encode_tensor_as(a, shape, words, fmt):
    """Encode tensor `a` broadcast (by zero strides) to `shape`."""
    words += (TAG_TENSOR, a.dtype.code, len(shape), a._baddr + a._offset * a.dtype.itemsize)
    words += shape
    words += (a._strides if a.shape == shape else _bstrides(a, shape))
    fmt.append("q" * (4 + 2 * len(shape)))


_PLANS = {}
FAST_SIGNATURES = {}  # read by the C fast path (_native/fastpath.c): see _register_fast
_FAST_KIND = {bool: 1001, int: 1002, float: 1003}


def _run_planned(op, sig, words, fmt, context):
    """Run an elementwise call through its plan, compiling the plan on the first call of its
    signature `sig` (op id plus each argument's dtype code or scalar tag). Returns the plan id."""
    f = "".join(fmt)
    pid = _PLANS.get(sig)
    if pid is None:
        pid = _PLANS[sig] = bridge.plan(op.id, f, words, context)
    bridge.run(pid, f, words, context)
    return pid


def _register_fast(op, pid, args, extras, out, compute):
    """Let the C fast path run this call signature next time: every tensor argument has one dtype,
    the rest are Python bool/int/float. The key and entry layout are fastpath.c's."""
    Tensor = _T.Tensor
    code = None
    kinds = []
    for a in args:
        if type(a) is Tensor:
            if code is None:
                code = a.dtype.code
            elif a.dtype.code != code:
                return
            kinds.append(1000)
        else:
            k = _FAST_KIND.get(type(a))
            if k is None:
                return
            kinds.append(k)
    for x in extras:
        k = _FAST_KIND.get(type(x))
        if k is None:
            return
        kinds.append(k)
    if code is not None:
        FAST_SIGNATURES[(op.id, code, *kinds)] = (pid, out.dtype, compute.code, out.dtype.code)


def fn_failed(op, status, args):
    """The C fast path ran a fn op and Julia reported an error: raise it."""
    raise bridge.last_error(describe(op.qualname, args))


def fast_failed(op, status, args, extras):
    """The C fast path ran the op and Julia reported an error: raise it."""
    raise bridge.last_error(describe(op.name, tuple(args) + tuple(extras)))


def _encode_map_args(op, out, compute, args, extras, shape):
    """Words for an elementwise call: [out][compute dtype][#inputs][inputs...][extras...], and its
    plan signature."""
    Tensor = _T.Tensor
    words = [TAG_TENSOR, out.dtype.code, len(shape), out._baddr + out._offset * out.dtype.itemsize,
             *shape, *out._strides, TAG_DTYPE, compute.code, TAG_INT, len(args)]
    fmt = ["q" * (len(words))]
    sig = [op.id, out.dtype.code, compute.code]
    for a in args:
        if isinstance(a, Tensor):
            encode_tensor_as(a, shape, words, fmt)
            sig.append(a.dtype.code)
        else:
            n = len(words)
            encode_scalar(a, words, fmt)
            sig.append(100 + words[n])
    for x in extras:
        n = len(words)
        encode_scalar(x, words, fmt)
        sig.append(100 + words[n])
    return words, fmt, tuple(sig)


def _run_writer(op, args, extras):
    """copy_/fill_/_cast: the destination is given (or made from the dtype argument), not inferred."""
    Tensor = _T.Tensor
    if op.rule == "cast":
        src, dt = args[0], D.as_dtype(extras[0])
        dst, ins, extras = _T.empty(src.shape, dtype=dt), (src,), ()
    else:
        dst = args[0]
        ins = args[1:]
        if ins and not isinstance(ins[0], Tensor):
            ins = (ins[0] if isinstance(ins[0], _NUMBER) else _T.asarray(ins[0]),)
    dst._check_writable(op.name, aliases_ok=op.rule == "fill")
    compute = ins[0].dtype if ins and isinstance(ins[0], Tensor) else dst.dtype
    shape = dst.shape
    for a in ins:
        if isinstance(a, Tensor) and a.shape != shape and broadcast_shapes(a.shape, shape) != shape:
            raise RuntimeError(f"{op.name}: source of shape {list(a.shape)} cannot be broadcast to {list(shape)}")
    words, fmt, sig = _encode_map_args(op, dst, compute, ins, extras, shape)
    _run_planned(op, sig, words, fmt, lambda: describe(op.name, tuple(args) + tuple(extras)))
    dst._bump()
    return dst


_WRITERS = ("copy", "fill", "cast")


def _map_params(op, args, extras):
    """Parameter name -> value for an elementwise call (tensor parameters, then the others)."""
    names_t = [p.name for p in op.params if p.type == "Tensor"]
    names_e = [p.name for p in op.params if p.type != "Tensor"]
    d = dict(zip(names_t, args))
    d.update(zip(names_e, extras))
    return d


def _unaliased(a, out):
    """`a`, or a copy of it when it shares memory with `out` in a different layout (x += x.T):
    reading it while the output is written would see half-updated values."""
    if not isinstance(a, _T.Tensor) or not _T._overlaps(a, out):
        return a
    if a.data_ptr() == out.data_ptr() and a._strides == out._strides and a.shape == out.shape:
        return a   # element i reads exactly what it then overwrites: safe
    return a.clone()


def run_map(op, args, extras, out=None, inplace=False):
    """Elementwise driver. `args` are the tensor-position arguments (tensors, scalars or None)."""
    if autograd._enabled[0] and autograd.needs_grad(args):
        params = _map_params(op, args, extras)
        if op.rule in _WRITERS and op.rule != "cast" or inplace:
            return autograd.record_inplace(op, params, args[0],
                                           lambda: _run_map(op, args, extras, out, inplace))
        if out is not None:
            raise RuntimeError(f"{op.name}(): functions with out=... arguments don't support automatic "
                               f"differentiation, but one of the arguments requires grad.")
        return autograd.record(op, params, lambda: _map_ungraded(op, args, extras))
    return _run_map(op, args, extras, out, inplace)


def _map_ungraded(op, args, extras):
    """The value of an elementwise call whose graph `autograd.record` attaches: by the C fast path
    when the signature has one (inputs that require grad are fine there), else by the driver."""
    if _fast_map is not None:
        r = _fast_map(op.id, args, extras, True)
        if r is not None:
            return r if r.__class__ is _T.Tensor else fast_failed(op, r, args, extras)
    return _run_map(op, args, extras, None, False)


def _run_map(op, args, extras, out=None, inplace=False):
    if op.rule in _WRITERS:
        return _run_writer(op, args, extras)
    Tensor = _T.Tensor
    tensors = []
    scalars = []
    conv = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            tensors.append(a)
        elif a is None or isinstance(a, _NUMBER):
            if a is not None:
                scalars.append(a)
        else:
            a = _T.asarray(a)
            if conv is None:
                conv = list(args)
            conv[i] = a
            tensors.append(a)
    if conv is not None:
        args = tuple(conv)
    if not tensors:
        first = args[0] if args else None
        raise TypeError(f"{op.name}(): argument '{op.params[0].name}' (position 1) must be Tensor, "
                        f"not {type(first).__name__}")
    if len(tensors) == 1:
        shape = tensors[0].shape
        promoted = tensors[0].dtype if not scalars else D.result_type([tensors[0].dtype], scalars)
    else:
        try:
            shape = broadcast_shapes(*[t.shape for t in tensors])
        except ValueError as e:
            raise ValueError(f"{describe(op.name, args)}: {e}") from None
        promoted = D.result_type([t.dtype for t in tensors], scalars)
    compute, result = D.RULES[op.rule](op.name, promoted, [t.dtype for t in tensors])
    if out is not None:
        if inplace:
            if shape != out.shape and broadcast_shapes(shape, out.shape) != out.shape:
                raise RuntimeError(f"{op.name}_: output with shape {list(out.shape)} doesn't match the broadcast shape {list(shape)}")
            shape = out.shape
        elif out.shape != shape:
            raise RuntimeError(f"{op.name}: out= has shape {list(out.shape)} but the result has shape {list(shape)}")
        if not D.can_cast(result, out.dtype):
            raise RuntimeError(f"{op.name}: result type {result.name} can't be cast to the desired output type {out.dtype.name}")
        out._check_writable(op.name)
        args = tuple(_unaliased(a, out) for a in args)
    fresh = out is None
    if fresh:
        out = _T.empty(shape, dtype=result)
    words, fmt, sig = _encode_map_args(op, out, compute, args, extras, shape)
    pid = _run_planned(op, sig, words, fmt, lambda: describe(op.name, args + tuple(extras)))
    if fresh:
        _register_fast(op, pid, args, extras, out, compute)
    out._bump()
    return out


def encode_arg(p, x, ref_ndim, opname, words, fmt):
    t = p.type
    if x is None:
        if not p.optional:
            raise TypeError(f"{opname}: argument '{p.name}' must not be None")
        words.append(TAG_NONE); fmt.append("q")
    elif t == "Tensor":
        encode_tensor(x, words, fmt)
    elif t == "Dim":
        words += (TAG_INT, _julia_dim(x, ref_ndim, opname)); fmt.append("qq")
    elif t == "Dims":
        ds = (x,) if not isinstance(x, (tuple, list)) else x
        jd = sorted({_julia_dim(d, ref_ndim, opname) for d in ds})
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
        _keep.append(b)
        words += (TAG_STR, _T.address_of_bytes(b), len(b)); fmt.append("qqq")
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


_keep = []


def run_fn(op, args, out=None):
    """Driver for ops whose Julia function returns new arrays (reductions, linear algebra, ...)."""
    if autograd._enabled[0] and autograd.needs_grad(args):
        params = {p.name: v for p, v in zip(op.params, args)}
        if op.returns == "Self":
            return autograd.record_inplace(op, params, args[0], lambda: _run_fn(op, args, None))
        if out is not None:
            raise RuntimeError(f"{op.name}(): functions with out=... arguments don't support automatic "
                               f"differentiation, but one of the arguments requires grad.")
        return autograd.record(op, params, lambda: _fn_ungraded(op, args))
    return _run_fn(op, args, out)


def _fn_ungraded(op, args):
    """The value of a fn-op call whose graph `autograd.record` attaches: by the C fast path when the
    signature is simple (inputs that require grad are fine there), else by the driver."""
    if _fast_call is not None and op.fast_kinds is not None:
        r = _fast_call(op.id, op.fast_kinds, tuple(args), True)
        if r is not None:
            return r if r.__class__ is _T.Tensor else fn_failed(op, r, args)
    return _run_fn(op, args, None)


def _run_fn(op, args, out=None):
    Tensor = _T.Tensor
    args = list(args)
    ref_ndim = None
    for i in op.tensor_params:
        a = args[i]
        if a is not None and not isinstance(a, Tensor):
            a = args[i] = _T.asarray(a)
        if ref_ndim is None and a is not None:
            ref_ndim = a.ndim
    for i, p in enumerate(op.params):
        if p.type == "TensorList" and args[i] is not None:
            args[i] = [x if isinstance(x, Tensor) else _T.asarray(x) for x in args[i]]
            if ref_ndim is None and args[i]:
                ref_ndim = args[i][0].ndim
    ref_ndim = ref_ndim or 0
    if op.returns == "Self":   # an in-place op writes into its first argument
        args[0]._check_writable(op.name)
    words = []
    fmt = []
    for p, x in zip(op.params, args):
        encode_arg(p, x, ref_ndim, op.name, words, fmt)
    try:
        results = bridge.call(op.id, "".join(fmt), words, lambda: describe(op.qualname, args))
    finally:
        _keep.clear()
    if op.returns == "Self":  # an in-place op: the kernel wrote into its first argument
        args[0]._bump()
        return args[0]
    vals = [_T.from_julia(*r[1:]) if isinstance(r, tuple) else r for r in results]
    if out is not None:
        targets = out if isinstance(out, (tuple, list)) else (out,)
        for o, v in zip(targets, vals):
            o.copy_(v)
        return out
    if len(vals) == 1:
        return vals[0]
    if op.result_type is not None and len(vals) == len(op.result_fields):
        return op.result_type(*vals)
    return tuple(vals) if vals else None


# ---- code generation ---------------------------------------------------------------------------------

def _signature_source(params, with_out):
    parts = []
    star = False
    for p in params:
        if p.vararg:
            parts.append("*" + p.name); star = True
            continue
        if p.kwonly and not star:
            parts.append("*"); star = True
        parts.append(p.name if p.default is _MISSING else f"{p.name}={p.default!r}")
    if with_out:
        if not star:
            parts.append("*")
        parts.append("out=None")
    return ", ".join(parts)


def varargs(values):
    """`f(2, 3)` and `f((2, 3))` mean the same for a `*sizes` parameter."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        return tuple(values[0])
    return values


def _safe(name):
    return name + "_" if name in ("lambda", "def", "class", "from", "global", "in", "is", "not") else name


def build_function(op):
    """Generate the Python function for `op` (and its in-place form for map ops)."""
    params = [Param(_safe(p.name), p.type, p.default, p.kwonly, p.optional, p.vararg) for p in op.params]
    sig = _signature_source(params, with_out=True)
    names = [f"_varargs({p.name})" if p.vararg else p.name for p in params]
    ns = {"_op": op, "_id": op.id, "_run_map": run_map, "_run_fn": run_fn, "_varargs": varargs,
          "_fast": _fast_map, "_failed": fast_failed, "_Tensor": _T.Tensor, "_ov": overrides,
          "_fastfn": _fast_call, "_kinds": op.fast_kinds, "_fn_failed": fn_failed, "_grad_mode": autograd._enabled}
    raw = [p.name for p in params]
    pos = [f"*{p.name}" if p.vararg else p.name for p in params if not p.kwonly]
    kw = [p.name for p in params if p.kwonly]
    check = (f"    if _ov.active[0] and _ov.has_overrides(({', '.join(raw)}{',' if raw else ''} out)):\n"
             f"        return _ov.dispatch({op.name}, ({', '.join(pos)}{',' if pos else ''}), "
             f"dict({', '.join(f'{k}={k}' for k in kw + ['out'])}))\n")
    if op.kind == "map":
        tens = [n for n, p in zip(names, params) if p.type == "Tensor"]
        extra = [n for n, p in zip(names, params) if p.type != "Tensor"]
        a = f"({', '.join(tens)}{',' if tens else ''})"
        e = f"({', '.join(extra)}{',' if extra else ''})"
        body = (f"    if out is None and _fast is not None:\n"
                f"        r = _fast(_id, {a}, {e})\n"
                f"        if r is not None:\n"
                f"            return r if r.__class__ is _Tensor else _failed(_op, r, {a}, {e})\n"
                + check +
                f"    return _run_map(_op, {a}, {e}, out)\n")
    elif op.fast_kinds is not None:
        a = f"({', '.join(names)}{',' if names else ''})"
        body = (f"    if out is None and _fastfn is not None:\n"
                f"        r = _fastfn(_id, _kinds, {a}, not _grad_mode[0])\n"
                f"        if r is not None:\n"
                f"            return r if r.__class__ is _Tensor else _fn_failed(_op, r, {a})\n"
                + check +
                f"    return _run_fn(_op, {a}, out)\n")
    else:
        body = check + f"    return _run_fn(_op, ({', '.join(names)}{',' if names else ''}), out)\n"
    src = f"def {op.name}({sig}):\n{body}"
    exec(compile(src, f"<jtensor op {op.qualname}>", "exec"), ns)
    fn = ns[op.name]
    fn.__doc__ = f"{op.schema}\n\n{op.doc}"
    fn.__qualname__ = op.name
    fn.__module__ = "jtensor" + (f".{op.namespace}" if op.namespace else "")
    fn._jt_op = op
    op.fn = fn
    if op.kind == "map" and op.inplace:
        tens = [n for n, p in zip(names, params) if p.type == "Tensor"]
        extra = [n for n, p in zip(names, params) if p.type != "Tensor"]
        isig = _signature_source(params, with_out=False)
        ipos = [f"*{p.name}" if p.vararg else p.name for p in params if not p.kwonly]
        src = (f"def {op.name}_({isig}):\n"
               f"    if _ov.active[0] and _ov.has_overrides(({', '.join(raw)},)):\n"
               f"        return _ov.dispatch({op.name}_, ({', '.join(ipos)},), dict({', '.join(f'{k}={k}' for k in kw)}))\n"
               f"    return _run_map(_op, ({', '.join(tens)},), ({', '.join(extra)}{',' if extra else ''}), {tens[0]}, True)\n")
        exec(compile(src, f"<jtensor op {op.qualname}_>", "exec"), ns)
        op.inplace_fn = ns[op.name + "_"]
        op.inplace_fn.__doc__ = f"In-place form of {op.name}: writes the result into {tens[0]}."
    else:
        op.inplace_fn = None
    return fn


_fast_map = None
_fast_call = None


def enable_fast_path():
    """Load the C fast path if it was built (python/jtensor/_native/fastpath.c); else stay in Python."""
    global _fast_map, _fast_call
    try:
        from . import _fastpath
    except ImportError:
        return False
    _fastpath.init(_T.Tensor, list(D.ALL), [d.itemsize for d in D.ALL],
                   [np.dtype(d.np_storage).num for d in D.ALL], bridge.entry_address("run"),
                   bridge.entry_address("release"), bridge.entry_address("call"), bridge.owner_thread(),
                   bridge._pending, FAST_SIGNATURES, overrides._TRANSPARENT)
    _fast_map = _fastpath.map
    _fast_call = _fastpath.call
    bridge.wrap_owned, bridge.JuliaOwned, bridge.fast_drain = _fastpath.wrap, _fastpath.JuliaOwned, _fastpath.drain
    return True


# ---- checking a definition ----------------------------------------------------------------------------
# Julia's `defop` checks what it knows itself (the schema's form, derivative formulas keyed by real
# parameters) and asks Python, through `definition_hook`, about what only Python knows, reading
# Python's own tables, so that each list has one source of truth: the dtype rules (dtypes.py
# `RULES`, plus the writers' and "none"), the batching rules (func.py `BATCH_RULES`), the
# derivative formulas (Python expressions: `_derivatives.formula_problem`) and whether the op's
# Python function can be generated at all. A refused definition raises in Julia, inside `defop`,
# so the registry is left as it was and the error surfaces from the call that made it.

def dtype_rule_names():
    """Every name an entry's `dtypes` may hold."""
    return set(D.RULES) | set(_WRITERS) | {"none"}


def _entry_label(entry):
    """The qualified name (`namespace.name`) of a registry entry dict, as `Op.qualname` gives it."""
    return f"{entry['namespace']}.{entry['name']}" if entry.get("namespace") else entry["name"]


def check_entry(entry, op_names):
    """What is wrong with a registry entry (a dict as in Julia's `registry_json`), as a message
    naming the op, or None. `op_names`: the qualified names the registry will hold with it."""
    from . import func
    from ._derivatives import formula_problem
    label = _entry_label(entry)
    try:
        op = Op(entry)
    except Exception as e:   # ast's SyntaxError / ValueError on a schema Julia let through
        return f'op "{label}": bad schema {entry["schema"]!r}: {type(e).__name__}: {e}'
    if op.rule not in dtype_rule_names():
        return (f'op "{label}": unknown dtype rule "{op.rule}" (known: '
                f'{", ".join(sorted(dtype_rule_names()))}; see python/jtensor/dtypes.py RULES)')
    if op.batch and op.batch not in func.BATCH_RULES:
        return (f'op "{label}": unknown batching rule "{op.batch}" (known: {", ".join(func.BATCH_RULES)}, '
                f'or "" for none; see python/jtensor/func.py BATCH_RULES)')
    problem = formula_problem(op, set(op_names))
    if problem is not None:
        return problem
    try:
        build_function(op)   # as `Registry.sync` will
    except Exception as e:
        return f'op "{label}": its Python function cannot be generated: {type(e).__name__}: {e}'
    return None


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_stacklevel():
    """The `stacklevel` of warnings.warn that names the first frame outside jtensor (the user's
    `jt.julia.eval` or `include` call), counted from the caller of this function."""
    f, level = sys._getframe(1), 1
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR):
        f, level = f.f_back, level + 1
    return level


_hook_reply = [None]   # the last refusal's bytes: Julia copies them before Python runs again


def _definition_hook(payload, size):
    """Called by Julia's `defop` (registry.jl `DEFINITION_HOOK`) on the thread that runs Julia, with
    the new entry as JSON: returns 0 to accept it, or the address of a refusal message. No
    exception may leave (it would cross Julia's frames): any becomes the refusal."""
    label = "?"
    try:
        p = json.loads(ctypes.string_at(payload, size))
        entry = p["entry"]
        label = _entry_label(entry)
        problem = check_entry(entry, p["ops"])
        if problem is None and p.get("warning"):
            from .errors import TypeInstabilityWarning
            warnings.warn(p["warning"], TypeInstabilityWarning, stacklevel=_caller_stacklevel())
    except BaseException as e:   # a warning turned into an error by a filter is a refusal too
        problem = f'op "{label}": {type(e).__name__}: {e}'
    if problem is None:
        return None
    _hook_reply[0] = ctypes.create_string_buffer(problem.encode("utf-8", "replace"))
    return ctypes.addressof(_hook_reply[0])


definition_hook = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(_definition_hook)


class Registry:
    """All ops by qualified name, rebuilt from Julia whenever Julia's registry version changes."""

    def __init__(self):
        self.ops = {}
        self.version = -1
        self.listeners = []

    def sync(self, force=False):
        bridge._check_thread()
        v = bridge.registry_version()
        if v == self.version and not force:
            return False
        table = json.loads(bridge.registry_json())
        names = [d.name for d in D.ALL]
        if table["dtypes"] != names:
            raise RuntimeError(f"jtensor: Julia dtype table {table['dtypes']} does not match Python's {names}")
        D.load_promotion(table)
        ops = {}
        refused = []
        for entry in table["ops"]:
            try:
                op = Op(entry)
                old = self.ops.get(op.qualname)
                if old is not None and old.schema == op.schema and old.doc == op.doc and old.id == op.id \
                        and old.rule == op.rule and old.grad == op.grad and old.batch == op.batch \
                        and old.builtin == op.builtin:
                    op = old  # unchanged: keep the function object (and anything bound to it)
                else:
                    build_function(op)
            except Exception as e:
                # Julia's defop checks definitions (with Python's help when Python runs it), so this
                # is an entry made without those checks: leave it out rather than fail every sync
                refused.append(f"{entry.get('name')!r} ({type(e).__name__}: {e})")
                continue
            ops[op.qualname] = op
        self.ops = ops
        self.version = table["version"]
        if refused:
            warnings.warn(f"jtensor: registry entries that Python cannot use were left out: {'; '.join(refused)}",
                          RuntimeWarning, stacklevel=2)
        _PLANS.clear()  # plans capture kernels: a redefined op must get new ones
        FAST_SIGNATURES.clear()
        for f in self.listeners:
            f(self)
        return True

    def __getitem__(self, name):
        return self.ops[name]

    def __contains__(self, name):
        return name in self.ops


REGISTRY = Registry()
