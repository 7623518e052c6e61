"""Op signatures: a registry entry's schema text parsed into parameters (`Op`, `Param`), and the
checks on argument values that every driver shares (dims, int64 sizes)."""
import ast
import collections

from .wire_format import FORMAT

_MISSING = object()   # a parameter without a default

# The C fast path's parameter kinds for fn ops (python/jtensor/_native/fastpath.c `fp_call`), by
# schema type: from the word format table (julia/src/wire.txt `fnkind`).
FN_KINDS = {typ: code for code, typ in FORMAT.fn_kinds.values()}


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
        # a number of the second tensor parameter -> the one-input op the call is (Julia `defop`)
        self.shortcuts = {float(k): v for k, v in entry.get("shortcuts", ())}
        self.builtin = entry.get("builtin", False)   # from JTensor's own sources
        self.namespace = entry["namespace"]
        self.method = entry["method"]
        self.inplace = entry["inplace"]
        self.doc = entry["doc"]
        self.params, self.returns = parse_schema(self.schema)
        self.types = [p.type for p in self.params]
        self.tensor_params = [i for i, p in enumerate(self.params) if p.type == "Tensor"]
        # Tensor parameters with a number default (tensordot's `dims`): drivers.const_tensor
        self.const_params = [i for i, p in enumerate(self.params)
                             if p.type == "Tensor" and not p.optional and p.default is not _MISSING]
        self.result_fields = _result_fields(self.returns)
        self.result_type = (collections.namedtuple(f"{self.name}_result", self.result_fields)
                            if self.result_fields else None)
        self.fast_kinds = _fast_kinds(self)
        self.fn = None

    def shortcut(self, dtype, value):
        """The name of the one-input op that this op's call is when its first tensor parameter has
        `dtype` and its second is the Python number `value` (Julia `defop`'s `shortcuts`: `x ** 2`
        is `square(x)`), else None. Floating-point inputs only: for integers the ops differ (an
        integer `x ** -1` raises, `reciprocal(x)` is a float)."""
        if value.__class__ in (int, float) and dtype.is_floating_point:
            return self.shortcuts.get(value)
        return None

    @property
    def qualname(self):
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def __repr__(self):
        return f"<jtensor op {self.schema}>"


def _fast_kinds(op):
    """The C call path's kind per parameter, for fn ops returning one tensor whose parameters are
    all tensors, tensor lists, numbers (Scalar too), bools, strings, dims, shapes, int lists or dtypes; None
    otherwise (the Python driver runs them). An optional parameter other than a tensor has the
    `optional` flag added to its kind (the C path then sends None as None)."""
    if op.kind == "map" or op.returns != "Tensor":
        return None
    if any(p.vararg and p.type not in ("TensorList", "Shape", "IntList") for p in op.params):
        return None   # (a `*operands` or `*sizes` parameter arrives as a tuple: the C path takes it)
    if any(p.name.startswith("return_") and p.type == "bool" for p in op.params):
        return None   # `return_inverse=True` and the like make it return a tuple (unique)
    kinds = []
    for p in op.params:
        t = "Optional[Tensor]" if p.type == "Tensor" and p.optional else p.type
        if t not in FN_KINDS or t == "Optional":
            return None
        kinds.append(FN_KINDS[t] + (FN_KINDS["Optional"] if p.optional and p.type != "Tensor" else 0))
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


def _param(arg, default, kwonly):
    t = ast.unparse(arg.annotation) if arg.annotation is not None else "Any"
    optional = t.startswith("Optional[")
    if optional:
        t = t[len("Optional["):-1]
    dflt = _MISSING if default is None else ast.literal_eval(default)
    return Param(arg.arg, t, dflt, kwonly, optional or dflt is None)


# ---- argument values ------------------------------------------------------------------------------

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


def julia_dim(d, ndim, opname):
    """Python dim `d` of an `ndim`-dim tensor as the 1-based Julia dim (Julia order is reversed)."""
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
