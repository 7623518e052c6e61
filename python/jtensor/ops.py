"""Publishes the registry's ops: the `jt.ops` namespace, top-level functions, Tensor methods and
Python operators. Re-run on every registry change, so ops defined later in Julia appear at once.
"""
import sys

from . import overrides
from .registry import REGISTRY
from ._tensor import Tensor

# Python operator protocol → registry op; "r" swaps operands, "i" writes into self.
_BINARY = {
    "add": "add", "sub": "sub", "mul": "mul", "truediv": "div", "floordiv": "floor_divide",
    "mod": "remainder", "pow": "pow", "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
    "xor": "bitwise_xor", "lshift": "bitwise_left_shift", "rshift": "bitwise_right_shift",
}
_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}
_UNARY = {"neg": "neg", "abs": "abs", "invert": "bitwise_not"}
_PROPERTIES = {"real", "imag"}
_ALIASES = {  # extra Python names (NumPy / PyTorch spellings) for registry ops
    "subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div", "negative": "neg",
    "absolute": "abs", "arctan2": "atan2", "clip": "clamp", "greater": "gt", "greater_equal": "ge",
    "less": "lt", "less_equal": "le", "not_equal": "ne", "fmod_py": "remainder", "power": "pow",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "fix": "trunc", "concatenate": "cat", "concat": "cat",
}
# Aliases that are jt-level only (NumPy spellings, or a target that is no method): every other alias of
# a method op is also a Tensor method, with an in-place `alias_` where its target has one.
_FUNCTION_ONLY_ALIASES = {"power", "fmod_py", "concatenate", "concat"}
# In-place forms that PyTorch publishes as functions too (`torch.exp_(x)`), registry names or aliases.
_FUNCTION_INPLACE = set("""abs acos acosh asin asinh atan atanh ceil clamp clip cos cosh erf exp expm1 fix floor
    log log10 log1p log2 neg negative reciprocal relu round rsqrt sigmoid sin sinh sqrt square tan tanh trunc
    threshold arccos arccosh arcsin arcsinh arctan arctanh deg2rad erfc exp2 frac gcd i0 lcm ldexp logit rad2deg
    sinc xlogy""".split())

_OPERAND_TYPES = (Tensor, bool, int, float, complex)

# PyTorch's functions that compose registry ops in Python (python/jtensor/composites.py and its
# siblings register them with `composed`): name -> function for `jt.<name>`, and name -> function
# for `Tensor.<name>`. `publish` binds them after the registry's ops, so a composition that wraps a
# registry op of the same name (var/std with `unbiased=`) keeps its place on every registry sync.
COMPOSED_FUNCTIONS = {}
COMPOSED_METHODS = {}


def composed(name=None, *, function=True, method=True):
    """Register a Python-composed function as `jt.<name>` (when `function`) and as the Tensor method
    `<name>` (when `method`: the function's first parameter is then `self`). Like the registry's
    functions, it hands a call with a Tensor subclass or `__jtensor_function__` argument to that
    protocol (python/jtensor/overrides.py)."""
    def register(fn):
        key = name or fn.__name__
        fn = overrides.public(fn)
        if function:
            COMPOSED_FUNCTIONS[key] = fn
        if method:
            COMPOSED_METHODS[key] = fn
        return fn
    return register


def _accepts(other):
    import numpy as np
    return (isinstance(other, _OPERAND_TYPES) or isinstance(other, (np.ndarray, np.generic, list))
            or hasattr(type(other), "__jtensor_function__"))


def _binary(fn, reverse):
    if reverse:
        def method(self, other):
            return fn(other, self) if _accepts(other) else NotImplemented
    else:
        def method(self, other):
            return fn(self, other) if _accepts(other) else NotImplemented
    return method


def _inplace(fn):
    def method(self, other):
        return fn(self, other)
    return method


class OpsNamespace:
    """`jt.ops`: every registry op by name (`jt.ops.add`, `jt.ops.linalg.inv`), always current."""

    def __init__(self, namespace=""):
        self._namespace = namespace

    def __getattr__(self, name):
        REGISTRY.sync()
        key = f"{self._namespace}.{name}" if self._namespace else name
        op = REGISTRY.ops.get(key)
        if op is not None:
            return op.fn
        if any(k.startswith(key + ".") for k in REGISTRY.ops):
            return OpsNamespace(key)
        raise AttributeError(f"jtensor has no op {key!r}")

    def __dir__(self):
        REGISTRY.sync()
        pre = self._namespace + "." if self._namespace else ""
        return sorted({k[len(pre):].split(".")[0] for k in REGISTRY.ops if k.startswith(pre)})


_bound = set()


def publish(registry):
    """Bind registry ops into the jtensor namespaces and onto Tensor."""
    top = sys.modules["jtensor"]
    fns = {}
    for op in registry.ops.values():
        if op.namespace:
            mod = sys.modules.get(f"jtensor.{op.namespace}")
            if mod is not None and op.name not in getattr(mod, "_MANUAL", ()):
                setattr(mod, op.name, op.fn)
            continue
        fns[op.name] = op
        if not op.name.startswith("_") and op.name not in getattr(top, "_MANUAL", ()):
            setattr(top, op.name, op.fn)
        own = Tensor.__dict__.get(op.name)
        if op.method and (own is None or op.name in _bound):
            setattr(Tensor, op.name, property(op.fn) if op.name in _PROPERTIES else op.fn)
            _bound.add(op.name)
        if op.inplace_fn is not None and (Tensor.__dict__.get(op.name + "_") is None or op.name + "_" in _bound):
            setattr(Tensor, op.name + "_", op.inplace_fn)
            _bound.add(op.name + "_")
    for alias, target in _ALIASES.items():
        if target in fns:
            setattr(top, alias, fns[target].fn)
            if fns[target].method and alias not in _FUNCTION_ONLY_ALIASES:
                setattr(Tensor, alias, fns[target].fn)
                if fns[target].inplace_fn is not None:
                    setattr(Tensor, alias + "_", fns[target].inplace_fn)
    for name in _FUNCTION_INPLACE:
        op = fns.get(_ALIASES.get(name, name))
        if op is not None and op.inplace_fn is not None:
            setattr(top, name + "_", op.inplace_fn)
    for py, name in _BINARY.items():
        if name in fns:
            f = fns[name].fn
            setattr(Tensor, f"__{py}__", _binary(f, False))
            setattr(Tensor, f"__r{py}__", _binary(f, True))
            if fns[name].inplace_fn is not None:
                setattr(Tensor, f"__i{py}__", _inplace(fns[name].inplace_fn))
    for py, name in _COMPARE.items():
        if name in fns:
            setattr(Tensor, f"__{py}__", _binary(fns[name].fn, False))
    for py, name in _UNARY.items():
        if name in fns:
            setattr(Tensor, f"__{py}__", fns[name].fn)
    for name, f in COMPOSED_FUNCTIONS.items():
        setattr(top, name, f)
    for name, f in COMPOSED_METHODS.items():
        setattr(Tensor, name, f)
    Tensor.__pos__ = lambda self: self
    Tensor.__hash__ = lambda self: id(self)


ops = OpsNamespace()
