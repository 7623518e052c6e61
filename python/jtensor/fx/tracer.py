"""`symbolic_trace` and `Tracer`: run a function or Module on Proxies and keep what it did.

While tracing, `jt.nn.Module.__call__` is patched so that a call to a leaf module (jt.nn's own
modules, as torch.fx treats torch.nn's) becomes one call_module node, and other modules run their
forward on the proxies; `Module.__getattr__` is patched so that reading a Parameter gives a
get_attr proxy. Tensors the program reads from the module (buffers, plain tensor attributes) become
get_attr nodes where they meet a proxy; other tensors become constants `_tensor_constant<N>` on the
root. Functions registered with `wrap`, and the public functions of the `autowrap_modules`, are
recorded as single call_function nodes; Tensor view and indexing methods called on a module's tensor
with a proxy argument are recorded too (they consult the protocol only for an overridden tensor).
"""
import builtins
import functools
import inspect
import math
import operator

from .graph import Graph, has_side_effect
from .node import map_aggregate
from .proxy import Attribute, Proxy, TraceError

__all__ = ["Tracer", "symbolic_trace", "wrap", "PH"]


class _PH:
    """`concrete_args={"x": PH}`: keep `x` a placeholder (the default for unlisted arguments)."""

    def __repr__(self):
        return "PH"


PH = _PH()

_WRAPPED = {}   # (id(globals dict), name) -> (globals dict, name, function): `wrap`ped functions to patch


def wrap(fn_or_name):
    """Record calls to a module-level function as one call_function node instead of tracing into
    it (torch.fx.wrap). Call it at module scope, with the function or its name:
    `jt.fx.wrap("my_helper")`. Use it for helpers whose Python control flow depends on values."""
    frame = inspect.currentframe().f_back
    if frame.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    _register_wrapped(frame.f_globals, name)
    return fn_or_name


def _register_wrapped(globs, name):
    fn = globs.get(name, getattr(builtins, name, None))
    if fn is None:
        raise NameError(f"wrap: no function named {name!r} in module {globs.get('__name__')}")
    _WRAPPED[(id(globs), name)] = (globs, name, fn)


@has_side_effect
def _assert_specialized(value, expected, name):
    """What a concrete argument turns into: the generated code checks it gets the traced value."""
    same = value is expected if expected is None or isinstance(expected, bool) else value == expected
    if not same:
        raise AssertionError(f"{name} has been specialized to have value {expected!r} but got another value")


_register_wrapped(globals(), "_assert_specialized")   # re-tracing generated code records it again


class _Patcher:
    """Sets attributes for the duration of a trace and puts the originals back afterwards."""

    def __init__(self):
        self._saved = []

    def patch(self, obj, name, value, is_dict=False):
        space = obj if is_dict else obj.__dict__
        self._saved.append((obj, name, space.get(name, _MISSING), is_dict))
        if is_dict:
            obj[name] = value
        else:
            setattr(obj, name, value)

    def restore(self):
        for obj, name, old, is_dict in reversed(self._saved):
            if is_dict:
                if old is _MISSING:
                    obj.pop(name, None)
                else:
                    obj[name] = old
            elif old is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
        self._saved.clear()


_MISSING = object()


class Tracer:
    """Turns a program into a Graph (torch.fx.Tracer). Subclass and override `is_leaf_module`
    to choose which modules stay single call_module nodes, or `create_proxy`/`create_arg` to
    change what is recorded.

    The public functions of `autowrap_modules` (default: `math`, `jt.nn.functional`, `jt.linalg`
    and `jt.fft`) are recorded as one call_function node each when called on proxies, rather than
    traced into: `F.adaptive_avg_pool2d(x, 1)` checks `x.ndim` in Python, which a proxy cannot
    answer. `autowrap_functions` adds single functions."""

    def __init__(self, autowrap_modules=None, autowrap_functions=()):
        if autowrap_modules is None:
            from .. import fft, linalg
            from ..nn import functional
            autowrap_modules = (math, functional, linalg, fft)
        self._autowrap_modules = tuple(autowrap_modules)
        self._autowrap_ids = {id(f) for f in autowrap_functions}
        self.graph = None
        self.root = None

    # ---- decisions a subclass may change -----------------------------------------------------------------
    def is_leaf_module(self, m, module_qualified_name):
        """jt.nn's own modules (but Sequential) are leaves: one node, not their insides."""
        from ..nn import Sequential
        return m.__module__.startswith("jtensor.nn") and not isinstance(m, Sequential)

    def path_of_module(self, mod):
        """The dotted path of submodule `mod` in the root module."""
        path = self._module_paths.get(id(mod))
        if path is None:
            raise NameError("module is not installed as a submodule")
        return path

    def call_module(self, m, forward, args, kwargs):
        """A call to module `m`: one call_module node for a leaf, else its forward traced inline."""
        path = self.path_of_module(m)
        if not self.is_leaf_module(m, path):
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", path, args, kwargs)

    def getattr(self, attr, attr_val, parameter_proxy_cache):
        """What reading module attribute `attr` gives during the trace: a Parameter is a get_attr proxy."""
        from ..nn import Parameter
        if isinstance(attr_val, Parameter):
            path = self._tensor_paths.get(id(attr_val))
            if path is not None:
                if path not in parameter_proxy_cache:
                    parameter_proxy_cache[path] = self.create_proxy("get_attr", path, (), {})
                return parameter_proxy_cache[path]
        return attr_val

    # ---- recording ----------------------------------------------------------------------------------------
    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node):
        return Proxy(node, self)

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None):
        """Record one node (arguments converted by `create_arg`) and return its Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        return self.proxy(self.create_node(kind, target, args_, kwargs_, name, type_expr))

    def create_arg(self, a):
        """A value as a node argument: proxies become their nodes, module tensors get_attr nodes,
        other tensors constants on the root; containers are converted element by element."""
        from .._tensor import Tensor
        from ..dtypes import dtype
        from ..devices import device
        from ..nn import Module
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return type(a)(*(self.create_arg(e) for e in a))
        if isinstance(a, list):
            return [self.create_arg(e) for e in a]
        if isinstance(a, tuple):
            return tuple(self.create_arg(e) for e in a)
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                if isinstance(k, Proxy):
                    raise TraceError("Keys for dictionaries used as an argument cannot contain a Node. "
                                     f"Got key: {k}")
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, Tensor):
            path = self._tensor_paths.get(id(a))
            if path is None:
                path = self._new_constant(a)
            return self.create_node("get_attr", path, (), {})
        if isinstance(a, Module):
            raise TraceError(f"a module ({type(a).__name__}) cannot be an argument of a recorded call; "
                             f"call it instead")
        if a is None or a is Ellipsis or isinstance(a, (bool, int, float, complex, str, bytes, dtype, device, range)):
            return a
        if callable(a):
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def _new_constant(self, t):
        i = 0
        while hasattr(self.root, f"_tensor_constant{i}"):
            i += 1
        path = f"_tensor_constant{i}"
        object.__setattr__(self.root, path, t)
        self._tensor_paths[id(t)] = path
        return path

    # ---- what proxies cannot do ---------------------------------------------------------------------------
    def to_bool(self, obj):
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj):
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the Proxy is used in a loop "
                         "or as a *args or **kwargs function argument. See the jt.fx docs (docs/fx.md) for what "
                         "control flow can be traced")

    def keys(self, obj):
        return Attribute(obj, "keys")()

    # ---- tracing ----------------------------------------------------------------------------------------------
    def trace(self, root, concrete_args=None):
        """Trace `root` (a Module's forward, or a function) into a new Graph."""
        from ..nn import Module
        if isinstance(root, Module):
            self.root = root
            fn = type(root).forward
        else:
            self.root = Module()
            fn = root
        self.graph = Graph(tracer_cls=type(self))
        self._module_paths = {id(m): name for name, m in self.root.named_modules()}
        self._tensor_paths = self._collect_tensor_paths(self.root)
        fn, args, kwargs = self._args_for_root(fn, isinstance(root, Module), concrete_args or {})
        patcher = _Patcher()
        try:
            self._patch(patcher, getattr(fn, "__globals__", {}))
            result = fn(*args, **kwargs)
        finally:
            patcher.restore()
        self.create_node("output", "output", (self.create_arg(result),), {},
                         type_expr=getattr(fn, "__annotations__", {}).get("return"))
        return self.graph

    @staticmethod
    def _collect_tensor_paths(root):
        """id(tensor) -> dotted path, for the parameters, buffers and tensor attributes of `root`."""
        from .._tensor import Tensor
        paths = {}
        for name, mod in root.named_modules():
            prefix = name + "." if name else ""
            for k, v in list(mod._parameters.items()) + list(mod._buffers.items()) + list(vars(mod).items()):
                if isinstance(v, Tensor):
                    paths.setdefault(id(v), prefix + k)
        return paths

    def _args_for_root(self, fn, is_method, concrete_args):
        """Placeholders for `fn`'s parameters (concrete ones fixed): (fn to call, args, kwargs).
        *args and **kwargs become one placeholder each, passed as one value to a copy of `fn`
        that takes them as plain parameters."""
        sig = inspect.signature(fn)
        params = list(sig.parameters.values())
        args = [self.root] if is_method else []
        if is_method:
            params = params[1:]
        unknown = set(concrete_args) - {p.name for p in params}
        if unknown:
            raise TypeError(f"concrete_args names {sorted(unknown)}, which {fn.__name__} does not take")
        kinds = inspect.Parameter
        star = any(p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) for p in params)
        if star:   # the copy of fn takes its parameters in code order: positional, keyword-only, *, **
            order = (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY,
                     kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)
            params.sort(key=lambda p: order.index(p.kind))
        kwargs = {}
        for p in params:
            if p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD):
                prefix = "*" if p.kind is kinds.VAR_POSITIONAL else "**"
                args.append(self.create_proxy("placeholder", prefix + p.name, (), {}, name=p.name))
            elif p.kind is kinds.KEYWORD_ONLY and not star:
                kwargs[p.name] = self._placeholder_for(p, concrete_args)
            else:
                args.append(self._placeholder_for(p, concrete_args))
        if star:
            return _plain_positional(fn), args, kwargs
        return fn, args, kwargs

    def _placeholder_for(self, p, concrete_args):
        default = () if p.default is inspect.Parameter.empty else (p.default,)
        if p.name not in concrete_args or concrete_args[p.name] is PH:
            return self.create_proxy("placeholder", p.name, default, {}, type_expr=_annotation(p))
        value = concrete_args[p.name]
        ph = self.create_node("placeholder", p.name, (value,), {})
        self.create_node("call_function", _assert_specialized, (ph, value, p.name), {})
        return value

    def _patch(self, patcher, fn_globals):
        from ..nn import Module
        from .._tensor import Tensor
        tracer = self
        module_call = Module.__call__
        module_getattr = Module.__getattr__
        cache = {}

        @functools.wraps(module_call)
        def call(mod, *args, **kwargs):
            return tracer.call_module(mod, lambda *a, **k: module_call(mod, *a, **k), args, kwargs)

        @functools.wraps(module_getattr)
        def getattr_(mod, name):
            return tracer.getattr(name, module_getattr(mod, name), cache)

        patcher.patch(Module, "__call__", call)
        patcher.patch(Module, "__getattr__", getattr_)
        # a module tensor's view/indexing method given a traced argument (`self.pe[:, :x.shape[1]]`,
        # `self.mask.view(n, -1)`): these methods hand a call to the protocol only when the tensor
        # itself is overridden, so the tracer records those calls itself
        from .._tensor import _OVERRIDABLE
        for name in _OVERRIDABLE:
            patcher.patch(Tensor, name, _recording_method(tracer, name, getattr(Tensor, name)))
        ids = set(self._autowrap_ids) | {id(fn) for _, _, fn in _WRAPPED.values()}
        for module in self._autowrap_modules:
            for name, value in list(vars(module).items()):
                if not name.startswith("_") and (inspect.isfunction(value) or inspect.isbuiltin(value)):
                    ids.add(id(value))
                    patcher.patch(module, name, _recording(tracer, value))
        for globs, name, fn in list(_WRAPPED.values()):
            patcher.patch(globs, name, _recording(tracer, fn), is_dict=True)
        import jtensor
        impure = {}
        for name in _RANDOM_CREATION:
            fn = getattr(jtensor, name, None)
            if fn is not None:
                impure[id(fn)] = _recording(tracer, fn, always=True)
                patcher.patch(jtensor, name, impure[id(fn)])
        for name, value in list(fn_globals.items()):
            if id(value) in impure:
                patcher.patch(fn_globals, name, impure[id(value)], is_dict=True)
            elif id(value) in ids and callable(value):
                patcher.patch(fn_globals, name, _recording(tracer, value), is_dict=True)


def _has_proxy(value):
    found = []
    map_aggregate(value, lambda v: found.append(v) if isinstance(v, Proxy) else None)
    return bool(found)


# Random tensor creation is recorded even when no argument is traced: run at trace time it would
# become a constant, and the graph would give the same "random" values on every call.
_RANDOM_CREATION = ("rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial", "poisson",
                    "rand_like", "randn_like", "randint_like")


def _recording(tracer, fn, always=False):
    """`fn`, recorded as one call_function node when any argument is a proxy (or `always`)."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if always or _has_proxy((args, kwargs)):
            return tracer.create_proxy("call_function", fn, args, kwargs)
        return fn(*args, **kwargs)
    return wrapped


_OPERATOR_METHODS = {"__getitem__": operator.getitem, "__setitem__": operator.setitem}


def _recording_method(tracer, name, method):
    """Tensor method `name`, recorded when an argument (not the tensor) is a proxy: as
    operator.getitem/setitem for indexing, else as a call_method node."""
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        if not _has_proxy((args, kwargs)):
            return method(self, *args, **kwargs)
        if name in _OPERATOR_METHODS:
            return tracer.create_proxy("call_function", _OPERATOR_METHODS[name], (self,) + args, kwargs)
        return tracer.create_proxy("call_method", name, (self,) + args, kwargs)
    return wrapped


def _annotation(p):
    return None if p.annotation is inspect.Parameter.empty else p.annotation


def _plain_positional(fn):
    """A copy of `fn` whose keyword-only, *args and **kwargs parameters are plain positional ones,
    in signature order, so that each takes one (proxy) value."""
    co = fn.__code__
    flags = co.co_flags & ~(inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    n = co.co_argcount + co.co_kwonlyargcount + bool(co.co_flags & inspect.CO_VARARGS) \
        + bool(co.co_flags & inspect.CO_VARKEYWORDS)
    code = co.replace(co_flags=flags, co_argcount=n, co_posonlyargcount=0, co_kwonlyargcount=0)
    import types
    return types.FunctionType(code, fn.__globals__, fn.__name__, None, fn.__closure__)


def symbolic_trace(root, concrete_args=None):
    """Trace `root` (a jt.nn.Module or a function) into a `GraphModule` (torch.fx.symbolic_trace).
    `concrete_args` fixes some arguments to values (e.g. a flag that picks a branch); the generated
    code checks at run time that it gets those values."""
    from .graph_module import GraphModule
    from ..nn import Module
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)

