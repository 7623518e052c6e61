"""`__jtensor_function__`: let Python subclasses and wrapper types intercept every public function.

Like PyTorch's ``__torch_function__`` (``torch.overrides``). Every public function of ``jt``,
``jt.nn.functional``, ``jt.linalg``, ``jt.fft`` and ``jt.special``, every Tensor method and operator, hands a call
whose arguments include a Tensor subclass instance, or any object whose type defines
``__jtensor_function__``, to ``type.__jtensor_function__(func, types, args, kwargs)``. `func` is the
object the user called (``F.linear``, not the registry op it composes), and the call is handed over
once, at the outermost public function: the default handler runs `func` with the protocol off
(`DisableJTensorFunctionSubclass`), so the public functions it calls inside do not dispatch again.

PyTorch's rules: the overriding types are tried subclasses before their bases, otherwise left to
right; a handler returning ``NotImplemented`` passes to the next type; when all do, ``TypeError``.
``Tensor.__jtensor_function__`` (the default, reached by ``super()``) declines when a type that is
not its class's base takes part, runs `func` and converts Tensor results to the subclass
(`convert`, torch's ``_convert``). A subclass only overrides what it needs:

    class Logged(jt.Tensor):
        @classmethod
        def __jtensor_function__(cls, func, types, args=(), kwargs=None):
            print(func.__name__)
            return super().__jtensor_function__(func, types, args, kwargs)

One source of truth: the registry's op functions carry the check in their generated body (after the
C fast path, which accepts exact Tensors only); every other public function gets it from `public`
(functions) or `overridable` (Tensor methods), applied by `install` to the namespaces in
`NAMESPACES` at import, minus `IGNORED` (functions that take no tensor). Exact Tensors pay one
flag test and a scan of the arguments' types.

The introspection of ``torch.overrides`` is here too: `get_ignored_functions`,
`get_overridable_functions`, `get_testing_overrides`, `has_jtensor_function`,
`handle_jtensor_function`, `is_tensor_like`, `is_jtensor_function_enabled`.
"""
import contextlib
import functools
import inspect
import types as _types
from . import _autocast_policy as _autocast

active = [True]   # False while the protocol is disabled (inside the default handler)
_Tensor = None   # bound by jtensor/_tensor.py
_PLAIN = (int, float, bool, complex, str, type(None))
_TRANSPARENT = set()   # Tensor subclasses whose handler only runs the op on plain tensors


def _disabled_jtensor_function_impl(func, types, args=(), kwargs=None):
    """Assign to a subclass's ``__jtensor_function__`` to opt out of the function level (as
    ``torch._C._disabled_torch_function_impl``): its instances then reach the registry ops, and
    ``__jtensor_dispatch__``, as Tensors. Calling it runs `func`."""
    return func(*args, **(kwargs or {}))


def transparent(cls):
    """Declare that `cls` (a Tensor subclass) handles every op by running it on its data as plain
    tensors (as nn.Parameter does): the checks then treat it as a Tensor, saving a dispatch per
    op. Subclasses of `cls` are not covered; they are checked as usual."""
    _TRANSPARENT.add(cls)
    return cls


def _overrides(t):
    """Whether instances of type `t` (not a plain type, not an exact Tensor) take part."""
    f = getattr(t, "__jtensor_function__", None)
    return f is not None and f is not _disabled_jtensor_function_impl and t not in _TRANSPARENT


def has_overrides(values):
    """True when any value (or list/tuple element) is a Tensor subclass or defines the protocol."""
    for v in values:
        t = type(v)
        if t is _Tensor or t in _PLAIN:
            continue
        if t is list or t is tuple:
            if has_overrides(v):
                return True
        elif _overrides(t):
            return True
    return False


def _overloaded_types(values, out):
    for v in values:
        t = type(v)
        if t is _Tensor or t in _PLAIN:
            continue
        if t is list or t is tuple:
            _overloaded_types(v, out)
        elif t not in out and _overrides(t):
            insert_by_priority(out, t)
    return out


def insert_by_priority(types, t):
    """Add `t` to the handler order `types`: subclasses go before their bases, otherwise left to
    right (torch's rule; the dispatch level orders its types the same way)."""
    for i, o in enumerate(types):
        if issubclass(t, o):
            types.insert(i, t)
            return
    types.append(t)


def _name(func):
    mod = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    return f"{mod}.{qual}" if mod else qual


def dispatch(func, args, kwargs):
    """Hand a call to the overriding types' ``__jtensor_function__``, most derived first."""
    kwargs = kwargs or {}
    return handle_jtensor_function(func, list(args) + list(kwargs.values()), *args, **kwargs)


def has_jtensor_function(relevant_args):
    """``torch.overrides.has_torch_function``: does any of these arguments override (and is the
    protocol on)?"""
    return active[0] and has_overrides(relevant_args)


def handle_jtensor_function(public_api, relevant_args, *args, **kwargs):
    """``torch.overrides.handle_torch_function``: call the overriding types' handlers for
    `public_api` (a function of your own that takes tensors), where `relevant_args` holds the
    arguments to look at. Use it with `has_jtensor_function` at the top of that function."""
    types = _overloaded_types(list(relevant_args), [])
    tt = tuple(types)
    for t in types:
        r = t.__jtensor_function__(public_api, tt, args, kwargs)
        if r is not NotImplemented:
            return r
    raise TypeError(f"no implementation found for '{_name(public_api)}' on types that implement "
                    f"__jtensor_function__: {types}")


def is_tensor_like(inp):
    """``torch.overrides.is_tensor_like``: a Tensor (or subclass), or an object whose type defines
    ``__jtensor_function__``."""
    return isinstance(inp, _Tensor) or hasattr(type(inp), "__jtensor_function__")


def is_jtensor_function_enabled():
    return active[0]


@contextlib.contextmanager
def disabled():
    """Run code with the protocol off (what the default handler does around the real call):
    ``torch._C.DisableTorchFunctionSubclass``."""
    prev = active[0]
    active[0] = False
    try:
        yield
    finally:
        active[0] = prev


DisableJTensorFunctionSubclass = disabled


@contextlib.contextmanager
def enabled():
    """Turn the protocol back on inside a handler, for code that wants nested public calls to
    dispatch again (re-entrant dispatch)."""
    prev = active[0]
    active[0] = True
    try:
        yield
    finally:
        active[0] = prev


def _rebuild(ret, items):
    t = type(ret)
    if hasattr(ret, "_fields"):
        return t._make(items)
    if t is tuple or t is list:
        return t(items)
    try:
        return t(items)
    except TypeError:
        return ret


def convert(ret, cls):
    """Torch's ``_convert``: Tensor results that are not `cls` instances become `cls` (same
    memory); tuples and lists (named tuples included) are converted element by element."""
    if cls is _Tensor or cls is None:
        return ret
    if isinstance(ret, _Tensor) and not isinstance(ret, cls):
        return ret.as_subclass(cls)
    if isinstance(ret, (tuple, list)):
        return _rebuild(ret, [convert(r, cls) for r in ret])
    return ret


def default_jtensor_function(cls, func, types, args=(), kwargs=None):
    """``Tensor.__jtensor_function__``: decline when a type that `cls` does not derive from takes
    part, else run `func` with the protocol off and convert Tensor results to `cls`."""
    if not all(issubclass(cls, t) for t in types):
        return NotImplemented
    prev = active[0]
    active[0] = False
    try:
        ret = func(*args, **kwargs) if kwargs else func(*args)
    finally:
        active[0] = prev
    return convert(ret, cls)


# ---- making functions overridable ------------------------------------------------------------------

def public(fn):
    """Make a public function hand calls with overriding arguments to the protocol, as itself.
    Idempotent; the wrapper keeps the function's name, doc and signature (``__wrapped__``)."""
    if getattr(fn, "_jt_overridable", False):
        return fn

    name = getattr(fn, "__name__", "")
    if _autocast.policy(name) is not None:   # autocast casts its arguments first (see _autocast_policy)
        @functools.wraps(fn)
        def function(*args, **kwargs):
            if _autocast.dtype[0] is not None:
                args, kwargs = _autocast.cast_args(name, args, kwargs)
            if active[0] and (has_overrides(args) or kwargs and has_overrides(kwargs.values())):
                return dispatch(function, args, kwargs)
            return fn(*args, **kwargs)
    else:
        @functools.wraps(fn)
        def function(*args, **kwargs):
            if active[0] and (has_overrides(args) or kwargs and has_overrides(kwargs.values())):
                return dispatch(function, args, kwargs)
            return fn(*args, **kwargs)
    function._jt_overridable = True
    return function


def overridable(method):
    """Make a Tensor method (or property getter) go through the protocol when `self` or another
    argument overrides it."""
    if getattr(method, "_jt_overridable", False):
        return method

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if active[0] and (type(self) is not _Tensor and _overrides(type(self))
                          or args and has_overrides(args) or kwargs and has_overrides(kwargs.values())):
            return dispatch(wrapper, (self,) + args, kwargs)
        return method(self, *args, **kwargs)
    wrapper._jt_overridable = True
    return wrapper


# What `install` covers: module name -> the public names it skips as not taking tensors (besides
# classes and modules), as torch.overrides.get_ignored_functions lists them.
NAMESPACES = ("jtensor", "jtensor.nn.functional", "jtensor.linalg", "jtensor.fft", "jtensor.special")
IGNORED_NAMES = {
    "jtensor": {
        # creation from sizes, scalars or Python data (torch ignores them too)
        "zeros", "ones", "full", "empty", "arange", "linspace", "eye", "rand", "randn", "randint",
        "tensor", "asarray", "from_numpy",
        # random state, defaults, threads, grad mode, dtypes, files
        "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "get_default_dtype",
        "set_default_dtype", "get_default_device", "set_default_device", "get_num_threads",
        "set_num_threads", "is_grad_enabled", "promote_types", "can_cast", "save", "load", "is_tensor",
    },
    "jtensor.nn.functional": set(),
    "jtensor.linalg": set(),
    "jtensor.fft": {"fftfreq", "rfftfreq"},
    "jtensor.special": set(),
}
# Tensor attributes that are not intercepted: constructors and the protocol itself, and the
# metadata properties read from the tensor's own fields (like its `shape` and `dtype` slots).
IGNORED_TENSOR = {"as_subclass", "__jtensor_function__", "__jtensor_dispatch__", "__init__", "__new__",
                  "__init_subclass__", "_make", "_device_result", "is_leaf", "retains_grad", "ndim",
                  "itemsize", "nbytes", "device", "device_code", "is_meta", "is_cpu", "is_readonly"}
# Dunder methods intercepted (torch's list, less the ones Python calls for identity and pickling).
TENSOR_DUNDERS = {"__getitem__", "__setitem__", "__len__", "__iter__", "__contains__", "__repr__",
                  "__format__", "__array__", "__float__", "__int__", "__bool__", "__index__", "__complex__",
                  "__reversed__", "__dlpack__", "__dlpack_device__"}


def _is_function(obj):
    return isinstance(obj, (_types.FunctionType, _types.BuiltinFunctionType, functools.partial))


def _public_names(mod):
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
    return [n for n in names if _is_function(getattr(mod, n, None))]


def _decomposable(wrapper):
    """Mark a wrapper made by `install`: its body is plain Python over other public functions, so
    a handler that works op by op (vmap's BatchedTensor) may run ``wrapper.__wrapped__`` instead."""
    wrapper._jt_decompose = True
    return wrapper


def install_tensor_methods():
    """Wrap every Tensor method and property getter (but `IGNORED_TENSOR`) with the check; the
    registry's functions have it already. Run at import, after the registry's first publish and
    before jt.func copies Tensor's methods."""
    T = _Tensor
    for n, v in list(vars(T).items()):
        if n in IGNORED_TENSOR or n.startswith("_") and n not in TENSOR_DUNDERS:
            continue
        if isinstance(v, property) and v.fget is not None and not getattr(v.fget, "_jt_overridable", False):
            setattr(T, n, property(_decomposable(overridable(v.fget)), v.fset, v.fdel, v.__doc__))
        elif isinstance(v, _types.FunctionType) and not getattr(v, "_jt_overridable", False):
            setattr(T, n, _decomposable(overridable(v)))


def install_namespaces():
    """Wrap every public function of `NAMESPACES` (but `IGNORED_NAMES`) with the check. Run at the
    end of jtensor's import, when all of them are imported."""
    import sys
    for modname in NAMESPACES:
        mod = sys.modules[modname]
        for n in _public_names(mod):
            f = getattr(mod, n)
            if n not in IGNORED_NAMES[modname] and not getattr(f, "_jt_overridable", False):
                setattr(mod, n, _decomposable(public(f)))


def _tensor_methods():
    out = []
    for n, v in vars(_Tensor).items():
        if n in IGNORED_TENSOR or n.startswith("_") and n not in TENSOR_DUNDERS:
            continue
        f = v.fget if isinstance(v, property) else v
        if getattr(f, "_jt_overridable", False):
            out.append(f)
    return out


def get_overridable_functions():
    """``torch.overrides.get_overridable_functions``: namespace -> its overridable functions
    (``jt.Tensor`` for methods; property getters stand for their properties)."""
    import sys
    out = {}
    for modname in NAMESPACES:
        mod = sys.modules[modname]
        fns = []
        for n in _public_names(mod):
            f = getattr(mod, n)
            if getattr(f, "_jt_overridable", False) and f not in fns:
                fns.append(f)
        out[mod] = fns
    out[_Tensor] = _tensor_methods()
    return out


def get_ignored_functions():
    """``torch.overrides.get_ignored_functions``: the public functions that take no tensor and so
    are not intercepted."""
    import sys
    out = set()
    for modname in NAMESPACES:
        mod = sys.modules[modname]
        for n in IGNORED_NAMES[modname]:
            f = getattr(mod, n, None)
            if f is not None:
                out.add(f)
    out.add(_Tensor.as_subclass)
    return out


def _dummy(sig):
    def f(*args, **kwargs):
        return -1
    f.__signature__ = sig
    return f


def get_testing_overrides():
    """``torch.overrides.get_testing_overrides``: overridable function -> a function with the same
    signature that returns -1 (a stand-in for writing and testing handlers)."""
    out = {}
    for fns in get_overridable_functions().values():
        for f in fns:
            try:
                sig = inspect.signature(f)
            except (TypeError, ValueError):
                sig = inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                         inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
            out[f] = _dummy(sig)
    return out
