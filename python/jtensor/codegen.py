"""Generating each op's Python function from its registry entry.

The function's source is written from the signature (`Op.params`) and compiled with `exec`, so
arguments bind at native speed, `help(jt.add)` shows the true signature, and the body calls the C
fast path first (when built), then the `__jtensor_function__` overrides check, then a driver
(drivers.py `run_map` / `run_fn`). Nothing here is per-op.
"""
from . import autograd
from . import drivers
from . import overrides
from .schema import Param, _MISSING


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


_NAMESPACES = {}   # op qualname -> the namespace its generated functions read the fast path from


_FAST_OFF = set()   # qualnames whose functions skip the C fast path (autocast's ops while it is on)


def set_fast_path(fast_map, fast_call):
    """Rebind the C fast path every generated function calls first (None: go to the drivers).
    jt.utils._python_dispatch turns it off while a dispatch mode is on the stack."""
    for name, ns in _NAMESPACES.items():
        if name in _FAST_OFF:
            ns["_fast"] = ns["_fastfn"] = None
        else:
            ns["_fast"], ns["_fastfn"] = fast_map, fast_call


def fast_path_off(qualnames, off):
    """Send the calls of these ops to the drivers (`off`), or back to the fast path the other ops use."""
    if off:
        _FAST_OFF.update(qualnames)
    else:
        _FAST_OFF.difference_update(qualnames)
    set_fast_path(drivers._fast_map, drivers._fast_call)


def _fast_map_source(condition, call_args, a, e):
    """The lines of a generated map-op function that try the C fast path first (`_fast`, fastpath.c
    `map`): its result, or the Julia error it reports raised; on None the function goes on to the
    driver. `condition` prefixes the test (the out-of-place form: no out=); the in-place form passes
    grad mode (requires-grad operands are fine without it: nothing records) and into=True."""
    return (f"    if {condition}_fast is not None:\n"
            f"        r = _fast(_id, {call_args})\n"
            f"        if r is not None:\n"
            f"            return r if r.__class__ is _Tensor else _failed(_op, r, {a}, {e})\n")


def _shortcut_source(op, tens, condition):
    """The lines of a generated map-op function that take `op.shortcuts` (Julia `defop`, the rule
    in `Op.shortcut`): `x ** 2` runs `square(x)`. `condition` prefixes the test, as in
    `_fast_map_source`; the in-place form (condition "") runs the in-place op."""
    if not op.shortcuts:
        return ""
    x, y = tens
    fn = "fn" if condition else "inplace_fn"
    return (f"    if {condition}{y}.__class__ in _real and {x}.__class__ is _Tensor:\n"
            f"        s = _op.shortcut({x}.dtype, {y})\n"
            f"        if s is not None:\n"
            f"            return _ops()[s].{fn}({x})\n")


def build_function(op, trial=False):
    """Generate the Python function for `op` (and its in-place form for map ops). `trial`: only to
    see that it can be generated (registry.check_entry): the result is not the registry's, so its
    namespace must not replace the one `set_fast_path` switches for that op."""
    params = [Param(_safe(p.name), p.type, p.default, p.kwonly, p.optional, p.vararg) for p in op.params]
    sig = _signature_source(params, with_out=True)
    names = [f"_varargs({p.name})" if p.vararg else p.name for p in params]
    ns = {"_op": op, "_id": op.id, "_run_map": drivers.run_map, "_run_fn": drivers.run_fn, "_varargs": varargs,
          "_fast": drivers._fast_map, "_failed": drivers.fast_failed, "_Tensor": drivers._T.Tensor, "_ov": overrides,
          "_fastfn": drivers._fast_call, "_kinds": op.fast_kinds, "_fn_failed": drivers.fn_failed,
          "_grad_mode": autograd._enabled, "_const": drivers.const_tensor, "_real": (int, float),
          "_ops": autograd._ops}
    if not trial:
        _NAMESPACES[op.qualname] = ns
    raw = [p.name for p in params]
    pos = [f"*{p.name}" if p.vararg else p.name for p in params if not p.kwonly]
    kw = [p.name for p in params if p.kwonly]
    check = (f"    if _ov.active[0] and _ov.has_overrides(({', '.join(raw)}{',' if raw else ''} out)):\n"
             f"        return _ov.dispatch(_self, ({', '.join(pos)}{',' if pos else ''}), "
             f"dict({', '.join(f'{k}={k}' for k in kw + ['out'])}))\n")
    if op.kind == "map":
        tens = [n for n, p in zip(names, params) if p.type == "Tensor"]
        extra = [n for n, p in zip(names, params) if p.type != "Tensor"]
        a = f"({', '.join(tens)}{',' if tens else ''})"
        e = f"({', '.join(extra)}{',' if extra else ''})"
        body = (_shortcut_source(op, tens, "out is None and ")
                + _fast_map_source("out is None and ", f"{a}, {e}", a, e)
                + check +
                f"    return _run_map(_op, {a}, {e}, out)\n")
    elif op.fast_kinds is not None:
        # a Tensor parameter with a number default (tensordot's `dims`) given a number or list:
        # the C path gets the cached tensor of that value (the driver would make one per call)
        fast = [f"_const({n})" if i in op.const_params else n for i, n in enumerate(names)]
        a = f"({', '.join(fast)}{',' if fast else ''})"
        body = (f"    if out is None and _fastfn is not None:\n"
                f"        r = _fastfn(_id, _kinds, {a}, not _grad_mode[0])\n"
                f"        if r is not None:\n"
                f"            return r if r.__class__ is _Tensor else _fn_failed(_op, r, {a})\n"
                + check +
                f"    return _run_fn(_op, ({', '.join(names)}{',' if names else ''}), out)\n")
    else:
        body = check + f"    return _run_fn(_op, ({', '.join(names)}{',' if names else ''}), out)\n"
    src = f"def {op.name}({sig}):\n{body}"
    exec(compile(src, f"<jtensor op {op.qualname}>", "exec"), ns)
    fn = ns["_self"] = ns[op.name]   # (by this name: a parameter may be called like the op, as pad's `pad`)
    fn.__doc__ = f"{op.schema}\n\n{op.doc}"
    fn.__qualname__ = op.name
    fn.__module__ = "jtensor" + (f".{op.namespace}" if op.namespace else "")
    fn._jt_op = op
    fn._jt_overridable = True   # the check above is its __jtensor_function__ hook
    op.fn = fn
    if op.kind == "map" and op.inplace:
        tens = [n for n, p in zip(names, params) if p.type == "Tensor"]
        extra = [n for n, p in zip(names, params) if p.type != "Tensor"]
        isig = _signature_source(params, with_out=False)
        ipos = [f"*{p.name}" if p.vararg else p.name for p in params if not p.kwonly]
        a = f"({', '.join(tens)},)"
        e = f"({', '.join(extra)}{',' if extra else ''})"
        src = (f"def {op.name}_({isig}):\n"
               + _shortcut_source(op, tens, "")
               + _fast_map_source("", f"{a}, {e}, not _grad_mode[0], True", a, e) +
               f"    if _ov.active[0] and _ov.has_overrides(({', '.join(raw)},)):\n"
               f"        return _ov.dispatch(_self_inplace, ({', '.join(ipos)},), dict({', '.join(f'{k}={k}' for k in kw)}))\n"
               f"    return _run_map(_op, ({', '.join(tens)},), ({', '.join(extra)}{',' if extra else ''}), {tens[0]}, True)\n")
        exec(compile(src, f"<jtensor op {op.qualname}_>", "exec"), ns)
        op.inplace_fn = ns["_self_inplace"] = ns[op.name + "_"]
        op.inplace_fn.__doc__ = f"In-place form of {op.name}: writes the result into {tens[0]}."
        op.inplace_fn._jt_overridable = True
    else:
        op.inplace_fn = None
    return fn
