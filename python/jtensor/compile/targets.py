"""Which fx nodes are elementwise registry ops, and with which arguments.

A node is fusable when it calls a registry map op (`jt.exp`, `x.exp()`, `x * y`, `F.relu`,
`nn.ReLU()`...) with tensors and Python numbers only. `map_call(node, root)` answers with a
`MapCall`: the registry op, its tensor-position operands (fx nodes, numbers or None) and its
other parameters (numbers), bound to the op's schema as the generated op function binds them.
"""
import operator

from ..registry import REGISTRY
from ..schema import _MISSING

_NUMBER = (bool, int, float)

# Python operators as the Tensor class implements them (`a - b` is sub(a, b), `2 - a` sub(2, a)).
_OPERATORS = {
    operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.truediv: "div",
    operator.floordiv: "floor_divide", operator.mod: "remainder", operator.pow: "pow",
    operator.neg: "neg", operator.abs: "abs", operator.invert: "bitwise_not",
    operator.and_: "bitwise_and", operator.or_: "bitwise_or", operator.xor: "bitwise_xor",
    operator.lt: "lt", operator.le: "le", operator.gt: "gt", operator.ge: "ge", operator.eq: "eq", operator.ne: "ne",
}

# Dtype rules whose ops write into a given tensor rather than make a value: never fused.
_WRITER_RULES = ("copy", "fill", "cast")

# torch.nn.functional activations and the registry op each is (only with these keyword values).
_FUNCTIONAL = {"relu": ("relu", {"inplace": False}), "sigmoid": ("sigmoid", {}), "tanh": ("tanh", {}),
               "silu": ("silu", {"inplace": False}), "gelu": ("gelu", {"approximate": "none"})}


# Reductions a fused chain may end in (julia/src/fusion.jl `_fused_reduce`).
FUSED_REDUCTIONS = ("sum", "mean")


class ReduceCall:
    """A `sum`/`mean` call that may end a fused group: its input (an fx node), its dims (a tuple of
    ints, or None for every dim) and keepdim."""

    __slots__ = ("kind", "input", "dims", "keepdim")

    def __init__(self, kind, input, dims, keepdim):
        self.kind, self.input, self.dims, self.keepdim = kind, input, dims, keepdim


class MapCall:
    """A call of elementwise registry op `op`: `operands` in the order of its tensor parameters
    (fx nodes, Python numbers, or None for an omitted optional one), `extras` the values of its
    other parameters in order."""

    __slots__ = ("op", "operands", "extras")

    def __init__(self, op, operands, extras):
        self.op, self.operands, self.extras = op, operands, extras


def _registry_map_op(name):
    op = REGISTRY.ops.get(name)
    if op is None or op.kind != "map" or op.rule in _WRITER_RULES:
        return None
    return op


def _bind(op, args, kwargs):
    """Bind `args`/`kwargs` to `op`'s schema; None when they do not fit it."""
    values = {}
    positional = [p for p in op.params if not p.kwonly]
    if len(args) > len(positional):
        return None
    for p, a in zip(positional, args):
        values[p.name] = a
    for k, v in kwargs.items():
        if k in values or not any(p.name == k for p in op.params):
            return None
        values[k] = v
    operands, extras = [], []
    for p in op.params:
        if p.name in values:
            v = values[p.name]
        elif p.default is not _MISSING or p.optional:
            v = None if p.default is _MISSING else p.default
        else:
            return None
        (operands if p.type == "Tensor" else extras).append(v)
    return MapCall(op, operands, extras)


def _functional_call(node, root):
    """`F.relu(x)` / `nn.ReLU()(x)` and friends: the registry op, when the keywords keep its meaning."""
    from ..nn import functional as F
    from ..nn import modules as M
    if node.op == "call_module":
        mod = root.get_submodule(node.target) if root is not None else None
        kinds = {M.ReLU: "relu", M.Sigmoid: "sigmoid", M.Tanh: "tanh", M.SiLU: "silu", M.GELU: "gelu"}
        name = next((n for cls, n in kinds.items() if type(mod) is cls), None)
        if name is None:
            return None
        kw = {k: getattr(mod, k) for k in _FUNCTIONAL[name][1]}
        args = node.args
    else:
        name = next((n for n in _FUNCTIONAL if getattr(F, n, None) is node.target), None)
        if name is None:
            return None
        kw = dict(_FUNCTIONAL[name][1])
        for k, v in node.kwargs.items():
            if k not in kw:
                return None
            kw[k] = v
        args = node.args[:1]
        if len(node.args) > 1:
            return None
    if kw != _FUNCTIONAL[name][1] or len(args) != 1:
        return None
    op = _registry_map_op(_FUNCTIONAL[name][0])
    return None if op is None else _bind(op, args, {})


def map_call(node, root=None):
    """The `MapCall` of fx node `node` when it calls an elementwise registry op, else None.
    `root` is the traced module (for call_module nodes)."""
    if node.op == "call_function":
        op_name = _OPERATORS.get(node.target) if _hashable(node.target) else None
        if op_name is not None:
            op = _registry_map_op(op_name)
            return None if op is None or node.kwargs else _bind(op, node.args, {})
        op = getattr(node.target, "_jt_op", None)
        if op is not None:
            if op.kind != "map" or op.rule in _WRITER_RULES:
                return None
            return _bind(op, node.args, node.kwargs)
        return _functional_call(node, root)
    if node.op == "call_method":
        op = _registry_map_op(node.target)
        if op is None or not op.method:
            return None
        return _bind(op, node.args, node.kwargs)
    if node.op == "call_module":
        return _functional_call(node, root)
    return None


def reduce_call(node):
    """The `ReduceCall` of fx node `node` when it is `x.sum(...)`, `jt.sum(x, ...)` or the same with
    mean, with no dtype argument and dims given as None, an int or a non-empty tuple of ints; else None."""
    if node.op == "call_method" and node.target in FUSED_REDUCTIONS:
        name = node.target
    elif node.op == "call_function" and getattr(getattr(node.target, "_jt_op", None), "name", None) in FUSED_REDUCTIONS:
        name = node.target._jt_op.name
    else:
        return None
    call = _bind(REGISTRY.ops[name], node.args, node.kwargs)
    if call is None or not hasattr(call.operands[0], "users"):
        return None
    dim, keepdim, dtype = call.extras
    if dtype is not None or not isinstance(keepdim, bool):
        return None
    if isinstance(dim, int) and not isinstance(dim, bool):
        dim = (dim,)
    elif isinstance(dim, (tuple, list)) and dim and all(isinstance(d, int) and not isinstance(d, bool) for d in dim):
        dim = tuple(dim)
    elif dim is not None:
        return None
    return ReduceCall(name, call.operands[0], dim, keepdim)


def _hashable(x):
    try:
        hash(x)
        return True
    except TypeError:
        return False
