"""`jt.autograd.Function`: operations whose derivative the user writes, as in PyTorch.

A subclass gives a static ``forward`` and ``backward``; ``MyFn.apply(*args)`` runs ``forward``
without recording and attaches one `FunctionNode` to the outputs, whose backward calls the
user's ``backward`` with one gradient per output and expects one gradient per ``forward``
argument (None for arguments that are not tensors or need no gradient). Both styles work:
``forward(ctx, *args)``, or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``.

The node is an ordinary node of the engine in this package: hooks, ``retain_grad``,
``retain_graph`` and the in-place version checks of saved tensors apply to it as to any op, and
``backward`` runs with recording on when ``create_graph=True``, so a backward written with
differentiable jt ops gives second derivatives. Under ``jt.func.vmap`` a Function needs a
``vmap`` staticmethod or ``generate_vmap_rule = True`` (examples run one by one), as in torch.func.
"""
import functools
import inspect

from . import (Node, FnNode, no_grad, is_grad_enabled, requires_grad_of, _set_output, _saved_output,
               _reattached, _enabled, SAVED_HOOKS, Packed, unpacked)


def _tensor_class():
    from .._tensor import Tensor
    return Tensor


def _is_tensor(x):
    return isinstance(x, _tensor_class())


class FunctionCtx:
    """The ``ctx`` that ``forward`` / ``setup_context`` fill and ``backward`` reads: saved
    tensors, flags, and any attribute the function sets on it."""

    def __init__(self):
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._to_save = ()
        self._saved = None       # [(kind, value)]: ("input", t) / ("output", index) / ("other", t)
        self._dirty = ()
        self._non_differentiable = ()
        self._node = None

    def save_for_backward(self, *tensors):
        """Keep `tensors` (inputs, outputs or intermediates; None allowed) for ``backward``; an
        in-place change to one of them before backward makes backward raise."""
        for t in tensors:
            if t is not None and not _is_tensor(t):
                raise TypeError(f"save_for_backward can only save variables, but argument {len(tensors)} is "
                                f"of type {type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors):
        """Keep `tensors` for ``jvp`` (read there as ``ctx.saved_tensors``, under jt.autograd.forward_ad)."""
        self._to_save_forward = tensors

    @property
    def saved_tensors(self):
        node = self._node
        if node is None:   # still inside forward / setup_context
            return tuple(self._to_save)
        if node.released:
            raise RuntimeError("Trying to backward through the graph a second time (or directly access saved tensors "
                               "after they have already been freed). Saved intermediate values of the graph are freed "
                               "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
                               "backward through the graph a second time or if you need to access saved tensors after "
                               "calling backward.")
        node.check_saved()
        out = []
        for kind, v in self._saved:
            if kind == "output":   # an alias of the output, attached to this node again when recording
                alias, index = v
                alias = unpacked(alias)
                out.append(_reattached(alias, node, index) if _enabled[0] else alias)
            else:
                out.append(unpacked(v))
        return tuple(out)

    saved_variables = saved_tensors

    def mark_dirty(self, *tensors):
        """Declare the inputs that ``forward`` modified in place (and returns)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors):
        """Declare outputs that carry no gradient (indices, masks); ``backward`` gets zeros for them."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value):
        """With False, ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


BackwardCFunction = FunctionCtx   # torch's name for the ctx class


class FunctionNode(Node):
    """The node of one ``Function.apply`` call: its backward is the user's."""

    __slots__ = ("fn_class", "ctx", "out_meta", "arg_shapes")

    def __init__(self, fn_class, ctx, inputs, out_meta, arg_shapes):
        super().__init__(inputs)
        self.fn_class = fn_class
        self.ctx = ctx
        self.out_meta = out_meta        # per output: (shape, dtype, device), or None for a non-tensor
        self.arg_shapes = arg_shapes    # per forward argument: its shape, or None for a non-tensor

    @property
    def name(self):
        return f"{self.fn_class.__name__}Backward"

    @property
    def saved_tensors(self):
        return self.ctx.saved_tensors

    def apply(self, grads):
        self.check_saved()
        grads = list(grads) + [None] * (len(self.out_meta) - len(grads))
        if self.ctx.materialize_grads:
            from ..creation import zeros
            grads = [zeros(m[0], dtype=m[1], device=m[2]) if g is None and m is not None else g
                     for g, m in zip(grads, self.out_meta)]
        result = _user_backward(self.fn_class)(self.ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        return self._checked(list(result))

    def _checked(self, result):
        """torch's checks of what backward returned: one gradient per forward argument (extra
        trailing Nones allowed), None for non-tensors, shapes that broadcast to the input's."""
        n = len(self.arg_shapes)
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {self.name} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        for i, (shape, g) in enumerate(zip(self.arg_shapes, result)):
            if g is None:
                continue
            if shape is None:
                raise RuntimeError(f"function {self.name} returned a gradient different than None at position "
                                   f"{i + 1}, but the corresponding forward input was not a Variable")
            if _is_tensor(g) and not _expandable(tuple(g.shape), shape):
                raise RuntimeError(f"Function {self.name} returned an invalid gradient at index {i} - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(shape)}")
        return result

    def release(self):
        super().release()
        self.ctx._saved = None


def _user_backward(cls):
    """The subclass's ``backward``, or its ``vjp`` (one of the two, as torch requires)."""
    backward, vjp = cls.backward, cls.vjp
    if backward is not Function.backward and vjp is not Function.vjp:
        raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You should "
                           "only implement one of them.")
    return vjp if vjp is not Function.vjp else backward


def _expandable(shape, target):
    """Whether a gradient of `shape` sums down to `target` (torch's is_expandable_to)."""
    if len(shape) < len(target):
        return False
    for s, t in zip(reversed(shape), reversed(target)):
        if s != t and t != 1:
            return False
    return True


class Function:
    """Base class of user-written differentiable operations (``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args, **kwargs)`` (or ``forward(*args, **kwargs)`` with
    ``setup_context(ctx, inputs, output)``) and ``backward(ctx, *grad_outputs)``, and are
    called through ``apply``."""

    generate_vmap_rule = False

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use new-style "
                           "autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward   # torch's other name: a subclass may define either

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @staticmethod
    def vmap(info, in_dims, *args):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        args = _bind(cls, args, kwargs)
        from .. import func
        level = func._level_of(args)
        if level >= 0:
            return _vmap_apply(cls, args, level)
        from . import forward_ad
        if forward_ad.has_dual(args):   # inside a forward-AD level: the user's jvp gives the tangents
            return forward_ad.apply_function(cls, args, _apply)
        return _apply(cls, args)


InplaceFunction = Function


def _new_style(cls):
    """Whether `cls` uses the ``forward(*args)`` + ``setup_context`` style."""
    return cls.setup_context is not Function.setup_context


def _bind(cls, args, kwargs):
    """`args` and `kwargs` as forward's positional arguments, defaults filled in (as torch's
    apply does): backward returns one gradient per entry."""
    if not kwargs and not _has_defaults(cls):
        return args
    sig = _signature(cls)
    bound = sig.bind(*((None,) if not _new_style(cls) else ()), *args, **kwargs)
    bound.apply_defaults()
    out = list(bound.args[0 if _new_style(cls) else 1:])
    if bound.kwargs:
        raise TypeError(f"{cls.__name__}.apply: keyword-only forward arguments are not supported "
                        f"({', '.join(bound.kwargs)})")
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _signature(cls):
    return inspect.signature(cls.forward)


def _has_defaults(cls):
    return any(p.default is not p.empty for p in _signature(cls).parameters.values())


def _apply(cls, args, ctx=None):
    ctx = FunctionCtx() if ctx is None else ctx
    record = is_grad_enabled() and any(requires_grad_of(a) for a in args)
    ctx.needs_input_grad = tuple(requires_grad_of(a) for a in args)   # torch: whatever the grad mode
    with no_grad():
        if _new_style(cls):
            output = cls.forward(*args)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args)
    if not record:
        return output
    single = not isinstance(output, tuple)
    outs = [output] if single else list(output)
    dirty = {id(t) for t in ctx._dirty}
    inputs = []
    for a in args:
        if not requires_grad_of(a):
            inputs.append((None, None))
        elif id(a) in dirty:
            inputs.append((None, _history_of_dirty(a)))
        else:
            inputs.append((None, a))
    out_meta = [(tuple(o.shape), o.dtype, o.device) if _is_tensor(o) else None for o in outs]
    node = FunctionNode(cls, ctx, inputs, out_meta, [tuple(a.shape) if _is_tensor(a) else None for a in args])
    non_diff = {id(t) for t in ctx._non_differentiable}
    arg_ids = {id(a) for a in args}
    for i, o in enumerate(outs):
        if not _is_tensor(o):
            continue
        if id(o) in arg_ids and id(o) not in dirty:
            o = outs[i] = o.detach()   # an input returned as it is: a new tensor over the same memory
        if id(o) in non_diff or o.dtype.kind not in "fc":
            o.requires_grad = False
            continue
        _set_output(o, node, i)
    _keep_saved(ctx, node, args, outs)
    return outs[0] if single else tuple(outs)


def _history_of_dirty(t):
    """The tensor standing for `t`'s history before forward modified it in place."""
    if t.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
    old = _saved_output(t)
    old.requires_grad = True
    old.grad_fn = t.grad_fn
    old._out_index = t._out_index
    return old


def _keep_saved(ctx, node, args, outs):
    """Saved tensors: outputs are kept as aliases without grad_fn (no node-output cycle)."""
    out_index = {id(o): i for i, o in enumerate(outs) if _is_tensor(o)}
    saved, versions = [], []
    hooked = bool(SAVED_HOOKS)
    for t in ctx._to_save:
        if t is not None and id(t) in out_index:
            alias = _saved_output(t)
            saved.append(("output", (Packed(alias) if hooked else alias, out_index[id(t)])))
        else:
            saved.append(("other", Packed(t) if hooked and t is not None else t))
        if t is not None:
            versions.append(t)
    node.save(versions)
    ctx._saved = saved
    ctx._node = node


# ---- once_differentiable ------------------------------------------------------------------------

def once_differentiable(fn):
    """Decorator for a ``backward`` that is not itself differentiable: it runs without recording,
    and differentiating its result (``create_graph=True`` then another backward) raises."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not is_grad_enabled():
            return outputs
        grads_in = [a for a in args if requires_grad_of(a)]
        if not grads_in:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = [outputs] if single else list(outputs)

        def refuse(grads):
            raise RuntimeError("trying to differentiate twice a function that was marked with "
                               "@once_differentiable")
        node = FnNode("DelayedError", [(None, g) for g in grads_in], refuse)
        for i, o in enumerate(outs):
            if _is_tensor(o) and o.dtype.kind in "fc":
                o = outs[i] = o.detach()
                _set_output(o, node, 0)
        return outs[0] if single else tuple(outs)
    return wrapper


# ---- vmap -------------------------------------------------------------------------------------------

class VmapInfo:
    """What a Function's ``vmap`` staticmethod learns of the vmap it runs in."""

    def __init__(self, batch_size, randomness="error"):
        self.batch_size = batch_size
        self.randomness = randomness


def _vmap_apply(cls, args, level):
    from .. import func
    if not _new_style(cls):
        raise RuntimeError("In order to use an autograd.Function with functorch transforms (vmap, grad, jvp, jacrev, "
                           "...), it must override the setup_context staticmethod. For more details, please see "
                           "https://pytorch.org/docs/main/notes/extending.func.html")
    B = func._batch_size(args, level)
    if cls.generate_vmap_rule:
        results = [cls.apply(*[a.value[i] if func._is_batched(a, level) else a for a in args]) for i in range(B)]
        return func._stack_results(results, level)
    if cls.vmap is Function.vmap:
        raise RuntimeError(f"You tried to vmap over {cls.__name__}, but it does not have vmap support. Please override "
                           f"and implement the vmap staticmethod or set generate_vmap_rule=True. For more details, "
                           f"please see https://pytorch.org/docs/main/notes/extending.func.html")
    in_dims = tuple(0 if func._is_batched(a, level) else None for a in args)
    phys = [a.value if func._is_batched(a, level) else a for a in args]
    out, out_dims = cls.vmap(VmapInfo(B), in_dims, *phys)
    if not isinstance(out, tuple):
        return _rebatch(out, out_dims, level)
    dims = out_dims if isinstance(out_dims, tuple) else (out_dims,) * len(out)
    return tuple(_rebatch(o, d, level) for o, d in zip(out, dims))


def _rebatch(out, dim, level):
    from .. import func
    if dim is None or not _is_tensor(out) and not isinstance(out, func.BatchedTensor):
        return out
    return func.BatchedTensor(out.movedim(dim, 0) if dim else out, level)


__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "InplaceFunction", "once_differentiable", "VmapInfo"]
