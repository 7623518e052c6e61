"""`Proxy`: the stand-in value that records what a traced program does with it (torch.fx.Proxy).

Three routes lead into the graph:
- jtensor functions and Tensor methods hand a call with a Proxy argument to
  `Proxy.__jtensor_function__` (the protocol of python/jtensor/overrides.py), which records a
  call_function node (the function itself as target) or, for a Tensor method, a call_method node;
- Python operators (`+`, `@`, `[]`, `<`, unary `-`...) are Proxy's own magic methods, recorded as
  call_function nodes on `operator.add` etc., as torch.fx records them;
- attribute reads (`x.shape`, `x.T`) give an `Attribute` proxy: called, it is a method call
  (`x.view(...)`); used as a value, it becomes `getattr(x, "shape")`.
What a Proxy cannot stand for raises `TraceError`: its truth value (`if x.sum() > 0:`), iteration
of unknown length, `len()`.
"""
import bisect
import builtins
import dis
import inspect
import operator

from .node import map_aggregate

__all__ = ["Proxy", "Attribute", "TraceError"]


class TraceError(ValueError):
    """A traced program did something with a Proxy that a graph cannot record."""


class Proxy:
    """A value of the program being traced: wraps the `node` that produces it."""

    def __init__(self, node, tracer=None):
        if tracer is None:
            from .tracer import GraphAppendingTracer
            tracer = GraphAppendingTracer(node.graph)
        self.node = node
        self.tracer = tracer

    def __repr__(self):
        return f"Proxy({self.node.name})"

    def __getattr__(self, name):
        # special names are looked up by copy, pickle, numpy...: they are not program attributes
        if name.startswith("__") and name.endswith("__") or name in ("node", "tracer", "_node"):
            raise AttributeError(name)
        return Attribute(self, name)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __setitem__(self, key, value):
        self.tracer.create_proxy("call_function", operator.setitem, (self, key, value), {})

    def __iter__(self):
        # `a, b = proxy` unpacks a known number of items: record one getitem per item
        frame = inspect.currentframe().f_back
        instructions = list(dis.get_instructions(frame.f_code))
        i = bisect.bisect_left([ins.offset for ins in instructions], frame.f_lasti)
        if i < len(instructions) and instructions[i].opname == "UNPACK_SEQUENCE":
            return (self[k] for k in range(instructions[i].argval))
        return self.tracer.iter(self)

    def __bool__(self):
        return self.tracer.to_bool(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want this call to be "
                           "recorded, please call jt.fx.wrap('len') at module scope")

    def keys(self):
        """`**proxy` asks for keys: record the call."""
        return self.tracer.keys(self)

    __hash__ = object.__hash__

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tracer = None

        def find(a):
            nonlocal tracer
            if tracer is None and isinstance(a, Proxy):
                tracer = a.tracer
            return a
        map_aggregate((args, kwargs), find)
        if tracer is None:
            return NotImplemented
        method = _tensor_method_name(func)
        if method is not None:
            return tracer.create_proxy("call_method", method, args, kwargs)
        args, kwargs = _drop_defaults(func, args, kwargs)
        return tracer.create_proxy("call_function", func, args, kwargs)


class Attribute(Proxy):
    """`proxy.name`: a method call when called, else the value `getattr(proxy, "name")`, which is
    recorded only once it is used."""

    def __init__(self, root, attr):
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node = None

    @property
    def node(self):
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", builtins.getattr, (self.root, self.attr), {}).node
        return self._node

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


# ---- operators: recorded as operator.<name>, as torch.fx does -----------------------------------------
_REFLECTABLE = ("add", "sub", "mul", "floordiv", "truediv", "mod", "pow", "lshift", "rshift", "and_", "or_",
                "xor", "matmul")
_OTHER = ("getitem", "eq", "ne", "lt", "gt", "le", "ge")
_UNARY = ("neg", "pos", "invert", "abs")


def _dunder(name):
    return f"__{name.rstrip('_')}__"


def _install_operators():
    def binary(fn):
        def method(self, other):
            return self.tracer.create_proxy("call_function", fn, (self, other), {})
        return method

    def reflected(fn):
        def method(self, other):
            return self.tracer.create_proxy("call_function", fn, (other, self), {})
        return method

    def unary(fn):
        def method(self):
            return self.tracer.create_proxy("call_function", fn, (self,), {})
        return method

    for name in _REFLECTABLE + _OTHER:
        fn = getattr(operator, name)
        setattr(Proxy, _dunder(name), binary(fn))
        if name in _REFLECTABLE:
            setattr(Proxy, f"__r{name.rstrip('_')}__", reflected(fn))
    for name in _UNARY:
        setattr(Proxy, _dunder(name), unary(getattr(operator, name)))


_install_operators()


# ---- what a jtensor function call becomes ------------------------------------------------------------
def _tensor_method_name(func):
    """The method name when `func` is a Tensor method that is not also a public function (a view
    or conversion method handed over by `overrides.overridable`), else None."""
    from .._tensor import Tensor
    name = getattr(func, "__name__", None)
    if name is None or getattr(func, "_jt_op", None) is not None:
        return None
    if Tensor.__dict__.get(name) is func:
        import jtensor
        return None if getattr(jtensor, name, None) is func else name
    return None


_SIGNATURES = {}


def _signature(func):
    if func not in _SIGNATURES:
        try:
            _SIGNATURES[func] = inspect.signature(func)
        except (TypeError, ValueError):
            _SIGNATURES[func] = None
    return _SIGNATURES[func]


def _is_default(value, default):
    return (default is not inspect.Parameter.empty and type(value) is type(default)
            and isinstance(value, (type(None), bool, int, float, str)) and value == default)


def _drop_defaults(func, args, kwargs):
    """Leave out arguments that equal their defaults: the protocol hands over a registry op's
    whole signature (`out=None` included), the graph should show what the program wrote."""
    sig = _signature(func)
    if sig is None:
        return args, kwargs
    params = list(sig.parameters.values())
    kwargs = {k: v for k, v in kwargs.items() if not (k in sig.parameters and _is_default(v, sig.parameters[k].default))}
    args = list(args)
    while args and len(args) <= len(params) and params[len(args) - 1].kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) \
            and _is_default(args[-1], params[len(args) - 1].default):
        args.pop()
    return tuple(args), kwargs
