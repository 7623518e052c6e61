"""`jt.autograd.forward_ad`: forward-mode automatic differentiation with dual tensors, as
``torch.autograd.forward_ad``.

Inside a level (``with dual_level():``), ``make_dual(x, t)`` returns a view of `x` that carries
the tangent `t`; every op whose inputs carry tangents gives its outputs the tangent
``J · t`` (the Jacobian-vector product), and ``unpack_dual`` reads it back. Inputs without one
count as tangent zero. Leaving the level drops every tangent.

How: entering a level pushes a dispatch mode (`_dispatch.py`), which sees every primitive a
program runs: registry ops, views and detach. For a registry op with dual inputs it runs the op,
then gets the output tangent by a double vjp of that one op (as ``jt.func.jvp`` does for a whole
function): with ``g = vjp(u)`` (linear in the dummy cotangent `u`), ``J·t`` is the gradient of
``<g, t>`` with respect to `u`. So every op with a derivative formula has forward mode, with no
second set of formulas. Tangents are recorded by autograd like any other computation, so a
tangent can itself be differentiated by ``backward`` (forward-over-reverse, as torch allows) when
grad mode is on and the primal or the tangent requires grad. A view's tangent is the same view
of its base's tangent, so in-place ops through views update the base's tangent too; for that,
a tangent always has its primal's strides and storage offset (``make_dual`` copies one that
does not, as torch does). A custom ``autograd.Function`` called on dual inputs gets its outputs'
tangents from its ``jvp`` (`apply_function`), as in torch.

One difference: a tangent records a graph whenever its primal or its tangent requires grad, even
under ``no_grad`` (grad mode cannot be read below autograd's recording, where the mode runs).
"""
import contextlib
import functools
import weakref
from typing import NamedTuple, Optional

from .._tensor import Tensor

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]

_current_level = -1
_mode = []        # the level's dispatch mode while a level is open
_holders = []     # weak references to the tensors given a tangent in the level (cleared on exit)


def _tangent(t):
    """The tangent `t` carries at the open level, or None."""
    return t.__dict__.get("_fw_grad") if isinstance(t, Tensor) and _current_level >= 0 else None


def _set_tangent(t, tangent):
    t.__dict__["_fw_grad"] = tangent
    _holders.append(weakref.ref(t))


def enter_dual_level():
    """Open a forward-AD level and return its number (0: levels do not nest, as in torch)."""
    global _current_level
    from .. import _dispatch
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level = 0
    _mode.append(_dispatch.push_mode(_ForwardMode()))
    return _current_level


def exit_dual_level(*, level=None):
    """Close the open level: every tangent made in it is dropped."""
    global _current_level
    from .. import _dispatch
    if level is None:
        level = _current_level
    if level != _current_level or level < 0:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    stack = _dispatch.mode_stack()
    if not stack or stack[-1] is not _mode[-1]:
        raise RuntimeError("exit_dual_level: a dispatch mode entered inside the level is still active")
    _dispatch.pop_mode()
    _mode.pop()
    for ref in _holders:
        t = ref()
        if t is not None:
            t.__dict__.pop("_fw_grad", None)
    _holders.clear()
    _current_level = level - 1


def make_dual(tensor, tangent, *, level=None):
    """A view of `tensor` carrying `tangent` (same shape; floating point) at the open level."""
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if _tangent(tensor) is not None:
        raise RuntimeError(f"Making a dual Tensor based on a Tensor that already has a forward gradient at the "
                           f"same level {level} is not supported.")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    dual = tensor.view_as(tensor)
    _set_tangent(dual, _laid_out_like(tensor, tangent))
    return dual


class UnpackedDualTensor(NamedTuple):
    """``unpack_dual``'s result: the primal (a view without tangent) and the tangent (or None)."""
    primal: Tensor
    tangent: Optional[Tensor]


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of `tensor`; outside a level, or for a tensor without one, the
    tangent is None."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    primal = tensor.view_as(tensor)
    primal.__dict__.pop("_fw_grad", None)
    return UnpackedDualTensor(primal, tangent)


class dual_level:
    """Context manager (and decorator) of a forward-AD level: ``with dual_level(): ...``."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


def _storage_numel(t):
    return t._base.size


def _laid_out_like(primal, tangent):
    """`tangent`, or a copy of it with `primal`'s strides, storage offset and storage size, so
    that views taken of the primal can be taken of the tangent with the same geometry."""
    if (tangent.stride() == primal.stride() and tangent.storage_offset() == primal.storage_offset()
            and _storage_numel(tangent) == _storage_numel(primal)):
        return tangent
    import jtensor as jt
    base = jt.zeros(_storage_numel(primal), dtype=tangent.dtype)   # torch keeps the tangent's dtype
    out = base.as_strided(primal.shape, primal.stride(), primal.storage_offset())
    out.copy_(tangent)
    return out


def _substitute(values, swap):
    """`values` with each tensor `v` replaced by ``swap(v)`` (one level of lists and tuples)."""
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.append(type(v)(swap(x) if isinstance(x, Tensor) else x for x in v))
        else:
            out.append(swap(v) if isinstance(v, Tensor) else v)
    return out


def _is_inplace(func):
    op = func.op
    if op.kind == "map":
        return func.variant == "inplace" or op.rule in ("copy", "fill")
    return op.returns == "Self"


def _graded_call(func, args):
    """Run registry primitive `func` on `args` at the autograd level (recorded), out of place."""
    from .. import drivers
    op = func.op
    if op.kind == "map":
        tensors = tuple(args[i] for i in op.tensor_params)
        extras = tuple(a for i, a in enumerate(args) if i not in op.tensor_params)
        return drivers.run_map(op, tensors, extras, None, _is_inplace(func))
    return drivers.run_fn(op, tuple(args))


def _jvp(func, args, tangents):
    """The outputs' tangents of registry primitive `func` at `args` (a list, None for outputs
    without one), given the tangents of its input tensors (by identity).

    The op runs recorded; its node's derivative formulas, applied to dummy cotangents `us`, give
    the vjp of each input (partial derivatives of this op alone, even where one input depends on
    another); ``J·t`` is the gradient of ``sum <vjp_i, t_i>`` with respect to `us`."""
    import jtensor as jt
    from . import enable_grad, grad
    # A tangent keeps its graph when a primal or a tangent requires grad. (Grad mode cannot be
    # read here: autograd's `record` turns it off while the primitive runs.)
    nested = any(t.requires_grad or x.requires_grad for x, t in tangents.values())
    stand = {}

    def differentiable(x):
        if id(x) not in tangents or x.requires_grad:
            return x
        s = stand.get(id(x))
        if s is None:
            s = stand[id(x)] = x.detach().requires_grad_()
        return s

    with enable_grad():
        call_args = _substitute(args, differentiable)
        if _is_inplace(func):
            call_args[0] = call_args[0].clone()
        out = _graded_call(func, call_args)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        node = next((o.grad_fn for o in outs if isinstance(o, Tensor) and o.grad_fn is not None), None)
        if node is None or not hasattr(node, "op"):
            return [None] * len(outs)
        names = [p.name for p in func.op.params]
        inputs, input_tangents = [], []
        for pname, inp in node.inputs:
            base, _, k = pname.partition("[")
            value = args[names.index(base)]
            t = _tangent(value[int(k[:-1])] if k else value)
            inputs.append((pname, inp if t is not None else None))
            input_tangents.append(t)
        node.inputs = inputs    # our own node: formulas run only for inputs that carry a tangent
        diff = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.grad_fn is node]
        us = [jt.zeros_like(o).requires_grad_() if i in diff else None for i, o in enumerate(outs)]
        dot = None
        for g, t in zip(node.apply(us), input_tangents):
            if g is not None and t is not None:
                term = (g * t).sum()
                dot = term if dot is None else dot + term
        if dot is not None and dot.requires_grad:
            jvs = grad([dot], [us[i] for i in diff], retain_graph=True, create_graph=nested, allow_unused=True)
        else:
            jvs = [None] * len(diff)
    result = [None] * len(outs)
    for i, jv in zip(diff, jvs):
        jv = jt.zeros_like(outs[i]) if jv is None else jv
        result[i] = jv if nested else jv.detach()
    return result


def has_dual(args):
    """Whether any of `args` carries a tangent at the open level."""
    return _current_level >= 0 and any(_tangent(a) is not None for a in args)


_suspended = [0]   # > 0 while a custom Function's forward runs: its jvp, not its ops, gives tangents


def apply_function(cls, args, apply):
    """``cls.apply(*args)`` with dual inputs: forward runs on the primals (`apply`, the ordinary
    path, with backward recording), then ``cls.jvp(ctx, *tangents)`` gives the outputs' tangents,
    as in torch: a tensor input without a tangent gets zeros, a non-tensor input None, and
    ``ctx.saved_tensors`` in jvp are those given to ``save_for_forward``."""
    from .function import Function, FunctionCtx
    from . import no_grad
    import jtensor as jt
    if cls.jvp is Function.jvp:
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it with "
                                  "forward mode AD.")
    ctx = FunctionCtx()
    _suspended[0] += 1
    try:
        output = apply(cls, args, ctx)
    finally:
        _suspended[0] -= 1
    tangents = [(_tangent(a) if _tangent(a) is not None else jt.zeros_like(a)) if isinstance(a, Tensor) else None
                for a in args]
    node, to_save = ctx._node, ctx._to_save
    ctx._node, ctx._to_save = None, getattr(ctx, "_to_save_forward", ())
    try:
        with no_grad():
            out_tangents = cls.jvp(ctx, *tangents)
    finally:
        ctx._node, ctx._to_save = node, to_save
    outs = output if isinstance(output, tuple) else (output,)
    out_tangents = out_tangents if isinstance(out_tangents, tuple) else (out_tangents,)
    for o, t in zip(outs, out_tangents):
        if isinstance(o, Tensor) and isinstance(t, Tensor):
            _set_tangent(o, _laid_out_like(o, t))
    return output


class _ForwardMode:
    """The dispatch mode of an open level: gives each primitive's outputs their tangents."""

    def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _suspended[0]:
            return func(*args, **kwargs)
        from .._dispatch import _flat
        tangents = {id(a): (a, _tangent(a)) for a in _flat(args) if _tangent(a) is not None}
        if not tangents or kwargs.get("out") is not None:
            return func(*args, **kwargs)
        if func.op is None:
            return self._python_primitive(func, args, tangents)
        new = _jvp(func, args, tangents)
        out = func(*args, **kwargs)
        if _is_inplace(func):
            _update_inplace(args[0], new[0])
            return out
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        for o, t in zip(outs, new):
            if t is not None:
                _set_tangent(o, _laid_out_like(o, t))
        return out

    @staticmethod
    def _python_primitive(func, args, tangents):
        """Views take the same view of the tangent; detach drops it."""
        out = func(*args)
        if func.__name__ == "as_strided":
            t, size, stride, offset = args
            _set_tangent(out, _tangent(t).as_strided(size, stride, offset))
        return out


def _update_inplace(target, new):
    """After an in-place op on `target`: its tangent (or its base's, for a view) takes `new`."""
    if new is None:
        return
    old = _tangent(target)
    if old is None:
        base = target._view_of
        if base is not None and _tangent(base) is None:
            import jtensor as jt
            _set_tangent(base, _laid_out_like(base, jt.zeros_like(base)))
        if base is not None:
            old = _tangent(base).as_strided(target.shape, target.stride(), target.storage_offset())
            _set_tangent(target, old)
        else:
            _set_tangent(target, _laid_out_like(target, new))
            return
    from . import no_grad
    with contextlib.nullcontext() if new.requires_grad else no_grad():
        old.copy_(new)
