"""`__jtensor_function__`: let Python subclasses and wrapper types intercept every jtensor op.

Like PyTorch's ``__torch_function__``. Every registry op function, every Tensor operator (they
call the op functions) and the Tensor view/conversion methods check their arguments: when one is
a Tensor subclass or any object whose type defines ``__jtensor_function__``, the call is handed
to ``type.__jtensor_function__(func, types, args, kwargs)`` instead (subclasses before their
bases). ``Tensor.__jtensor_function__`` itself just runs the function with the protocol disabled
and converts Tensor results to the subclass, so a subclass only overrides what it needs:

    class Logged(jt.Tensor):
        @classmethod
        def __jtensor_function__(cls, func, types, args=(), kwargs=None):
            print(func.__name__)
            return super().__jtensor_function__(func, types, args, kwargs)

Exact Tensors never pay for this: the check runs only on the Python path, after the C fast path
(which accepts exact Tensors only) has declined.
"""
import contextlib
import functools

active = [True]
_Tensor = None   # bound by jtensor/__init__.py
_PLAIN = (int, float, bool, complex, str, type(None))
_TRANSPARENT = set()   # Tensor subclasses whose handler only runs the op on plain tensors


def transparent(cls):
    """Declare that `cls` (a Tensor subclass) handles every op by running it on its data as plain
    tensors (as nn.Parameter does): the checks then treat it as a Tensor, saving a dispatch per
    op. Subclasses of `cls` are not covered; they are checked as usual."""
    _TRANSPARENT.add(cls)
    return cls


def has_overrides(values):
    """True when any value (or list/tuple element) is a Tensor subclass or defines the protocol."""
    for v in values:
        t = type(v)
        if t is _Tensor or t in _PLAIN or t in _TRANSPARENT:
            continue
        if t is list or t is tuple:
            if has_overrides(v):
                return True
        elif hasattr(t, "__jtensor_function__"):
            return True
    return False


def _overloaded_types(values, out):
    for v in values:
        t = type(v)
        if t is _Tensor or t in _PLAIN or t in _TRANSPARENT:
            continue
        if t is list or t is tuple:
            _overloaded_types(v, out)
        elif hasattr(t, "__jtensor_function__") and t not in out:
            # subclasses go before their bases
            for i, o in enumerate(out):
                if issubclass(t, o):
                    out.insert(i, t)
                    break
            else:
                out.append(t)
    return out


def dispatch(func, args, kwargs):
    """Hand a call to the overriding types' ``__jtensor_function__``, most derived first."""
    kwargs = kwargs or {}
    types = _overloaded_types(list(args) + list(kwargs.values()), [])
    for t in types:
        r = t.__jtensor_function__(func, tuple(types), args, kwargs)
        if r is not NotImplemented:
            return r
    raise TypeError(f"no implementation found for '{getattr(func, '__name__', func)}' on types "
                    f"that implement __jtensor_function__: {[t.__name__ for t in types]}")


@contextlib.contextmanager
def disabled():
    """Run code with the protocol off (what the default handler does around the real call)."""
    prev = active[0]
    active[0] = False
    try:
        yield
    finally:
        active[0] = prev


def convert(ret, cls):
    """Turn Tensor results into `cls` (a Tensor subclass) sharing the same memory."""
    if cls is _Tensor or cls is None:
        return ret
    if type(ret) is _Tensor:
        return ret.as_subclass(cls)
    if isinstance(ret, tuple) and not hasattr(ret, "_fields"):
        return tuple(convert(r, cls) for r in ret)
    if isinstance(ret, list):
        return [convert(r, cls) for r in ret]
    return ret


def overridable(method):
    """Make a Tensor method go through the protocol when called on a subclass instance."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if type(self) is not _Tensor and active[0] and type(self) not in _TRANSPARENT:
            return dispatch(wrapper, (self,) + args, kwargs)
        return method(self, *args, **kwargs)
    return wrapper
