"""`__jtensor_dispatch__`: interception below autograd, of every primitive a program runs.

Like PyTorch's ``__torch_dispatch__``. The public functions (``__jtensor_function__``'s level)
decompose into registry ops; autograd records each registry op it meets (drivers.py `run_map` /
`run_fn` call `autograd.record`), then computes it with the drivers' `_run_map` / `_run_fn`. The
hook sits at the top of those two, so a handler sees each primitive once autograd is done with
it: the forward's ops and, since the backward computes with registry ops too, the backward's.
The views (every Tensor view is one primitive, `Tensor._view`: shape, strides and offset over the
same storage) and `detach` are primitives here too, as ``aten.as_strided`` and ``aten.detach``.

Who is called: the dispatch modes on the stack (`jt.utils._python_dispatch`), innermost first,
each with itself removed from the stack while it runs (as torch does); then the argument types
that define ``__jtensor_dispatch__``, subclasses before their bases. A handler gets
``(func, types, args, kwargs)`` where `func` is a `Primitive`: ``func.name()``, ``func.schema``,
and calling ``func(*args, **kwargs)`` runs it again at this level, below autograd (re-entering
the remaining modes and subclasses, or the kernel).

Cost: exact Tensors with no mode on the stack and no such subclass defined pay one flag test
(`hooked`), on the drivers' Python path only; while a mode is on the stack, the C fast path is off
(it would run ops without reaching the drivers), and turned back on when the stack empties.
"""
from . import codegen
from . import drivers
from . import overrides

hooked = [False]   # True once a mode was pushed or a Tensor subclass defines __jtensor_dispatch__
_MODES = []        # the dispatch mode stack, innermost last
_Tensor = None     # bound by bind()


class Primitive:
    """A registry op (or one of the Python primitives) as a dispatch handler sees it: callable,
    with the op's name and schema. Calling it runs the op at the dispatch level, below autograd."""

    __slots__ = ("op", "variant", "__name__", "_run")

    def __init__(self, op, variant, name, run):
        self.op = op
        self.variant = variant     # "", "inplace"
        self.__name__ = name
        self._run = run

    def name(self):
        return f"jt.ops.{self.__name__}"

    @property
    def schema(self):
        return self.op.schema if self.op is not None else _PY_SCHEMAS[self.__name__]

    _schema = schema

    @property
    def __module__(self):
        return "jt.ops"

    def __call__(self, *args, **kwargs):
        return self._run(*args, **kwargs)

    def __repr__(self):
        return self.name()


_PRIMS = {}
_PY_SCHEMAS = {
    "as_strided": "as_strided(input: Tensor, size: Dims, stride: Dims, storage_offset: int) -> Tensor",
    "detach": "detach(input: Tensor) -> Tensor",
}


def _map_primitive(op, inplace):
    key = (op.qualname, op.id, inplace)
    p = _PRIMS.get(key)
    if p is None:
        nt = sum(1 for q in op.params if q.type == "Tensor")
        order = [i for i, q in enumerate(op.params) if q.type == "Tensor"] + \
                [i for i, q in enumerate(op.params) if q.type != "Tensor"]

        def run(*args, out=None, **kwargs):
            vals = _bind(op, args, kwargs)
            ordered = [vals[i] for i in order]
            t, e = tuple(ordered[:nt]), tuple(ordered[nt:])
            if inplace:
                return drivers._run_map(op, t, e, t[0], True)
            return drivers._run_map(op, t, e, out, False)
        p = _PRIMS[key] = Primitive(op, "inplace" if inplace else "", op.qualname + ("_" if inplace else ""), run)
    return p


def _fn_primitive(op):
    key = (op.qualname, op.id, "fn")
    p = _PRIMS.get(key)
    if p is None:
        def run(*args, out=None, **kwargs):
            return drivers._run_fn(op, tuple(_bind(op, args, kwargs)), out)
        p = _PRIMS[key] = Primitive(op, "", op.qualname, run)
    return p


def _bind(op, args, kwargs):
    """Arguments in the op's parameter order, from positional ones and keywords (defaults fill)."""
    vals = list(args)
    for p in op.params[len(vals):]:
        if p.name in kwargs:
            vals.append(kwargs[p.name])
        else:
            vals.append(p.default)
    return vals


def _types(values):
    """The argument types defining __jtensor_dispatch__, subclasses before their bases."""
    out = []
    for v in values:
        t = type(v)
        if t is _Tensor or not isinstance(v, _Tensor) or t in out:
            continue
        if getattr(t, "__jtensor_dispatch__", None) is not None:
            overrides.insert_by_priority(out, t)
    return out


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from v
        else:
            yield v


def handle(func, tensors, args, kwargs):
    """Hand a primitive to the innermost mode, else to the overriding argument types; None when
    nobody takes part (the caller then runs the primitive itself)."""
    if _MODES:
        mode = _MODES.pop()
        try:
            r = mode.__jtensor_dispatch__(func, tuple(_types(tensors)), args, kwargs)
        finally:
            _MODES.append(mode)
        if r is not NotImplemented:
            return (r,)
    types = _types(tensors)
    if not types:
        return None   # (a mode declined): the caller runs the kernel
    tt = tuple(types)
    for t in types:
        r = t.__jtensor_dispatch__(func, tt, args, kwargs)
        if r is not NotImplemented:
            return (r,)
    raise TypeError(f"no implementation found for '{func.name()}' on types that implement "
                    f"__jtensor_dispatch__: {types}")


def _needed(tensors):
    if _MODES:
        return True
    for a in tensors:
        if type(a) is not _Tensor and isinstance(a, _Tensor) and getattr(type(a), "__jtensor_dispatch__", None):
            return True
    return False


def intercept_map(op, args, extras, out, inplace):
    """Called by drivers._run_map while `hooked`: the handlers' result in a 1-tuple, or None."""
    tensors = list(args) + ([out] if out is not None else [])
    if not _needed(tensors):
        return None
    vals = drivers._map_params(op, args, extras)
    pos = tuple(vals[p.name] for p in op.params)
    kwargs = {"out": out} if out is not None and not inplace else {}
    return handle(_map_primitive(op, inplace), tensors, pos, kwargs)


def intercept_fn(op, args, out):
    """Called by drivers._run_fn while `hooked`: the handlers' result in a 1-tuple, or None."""
    tensors = list(_flat(args))
    if out is not None:
        tensors += list(out) if isinstance(out, (tuple, list)) else [out]
    if not _needed(tensors):
        return None
    return handle(_fn_primitive(op), tensors, tuple(args), {"out": out} if out is not None else {})


def intercept_view(t, shape, strides, offset):
    """Called by Tensor._view while `hooked`."""
    if not _needed((t,)):
        return None
    return handle(_AS_STRIDED, (t,), (t, tuple(shape), tuple(strides), offset), {})


def intercept_detach(t):
    if not _needed((t,)):
        return None
    return handle(_DETACH, (t,), (t,), {})


_AS_STRIDED = Primitive(None, "", "as_strided", lambda t, size, stride, storage_offset: t._view_below(size, stride, storage_offset))
_DETACH = Primitive(None, "", "detach", lambda t: t._detach_below())


# ---- the mode stack and the C fast path ------------------------------------------------------------

_saved_fast = []


def push_mode(mode):
    """Put `mode` on the dispatch mode stack (innermost). The first mode turns the C fast path off."""
    if not _MODES:
        _saved_fast[:] = [drivers._fast_map, drivers._fast_call]
        drivers._fast_map = drivers._fast_call = None
        codegen.set_fast_path(None, None)
    _MODES.append(mode)
    hooked[0] = True
    return mode


def pop_mode():
    """Take the innermost mode off the stack and return it; the fast path returns with the last."""
    mode = _MODES.pop()
    if not _MODES and _saved_fast:
        drivers._fast_map, drivers._fast_call = _saved_fast
        codegen.set_fast_path(*_saved_fast)
        _saved_fast.clear()
    return mode


def mode_stack():
    return list(_MODES)


def _init_subclass(cls, **kwargs):
    """Tensor.__init_subclass__: defining a subclass with __jtensor_dispatch__ turns the hook on."""
    if getattr(cls, "__jtensor_dispatch__", None) is not None:
        hooked[0] = True


def bind(tensor_cls):
    global _Tensor
    _Tensor = tensor_cls
    tensor_cls.__init_subclass__ = classmethod(_init_subclass)
