"""`jt.func`: function transforms in the style of ``torch.func``.

``grad``, ``grad_and_value``, ``vjp``, ``jvp`` (by the double-vjp trick), ``jacrev``, ``hessian``
are thin layers over the autograd engine. ``vmap`` runs a function written for one example on a
whole batch: inputs become `BatchedTensor`s (the data with the batch dimension in front) and
every op they meet is rewritten by the op's batching rule from the registry (``elementwise``,
``reduce``, ``matmul``) or by the view rules below (``stack``/``cat``: `_rule_join`), so the
batch is computed natively, in one call per op. An op with no rule runs once per example in a
loop, with a one-time warning.
Transforms compose: ``vmap(grad(f))`` gives per-example gradients, ``hessian = jacrev(jacrev)``.
Results of the outermost transform (aux outputs included) leave without their autograd graph.
"""
import functools
import warnings

from . import autograd
from . import overrides
from ._tensor import Tensor

_depth = [0]   # nesting depth of differentiation transforms (inner ones keep their graph)


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


# ---- differentiation ----------------------------------------------------------------------------

def _prepare(x):
    """A differentiable stand-in for input `x` (batched inputs are handled on their data).

    Inside vmap, an unbatched input is expanded along the batch first, so that its gradient is
    per example too (as in torch.func), not summed over the batch."""
    if isinstance(x, BatchedTensor):
        return _leaf(x)
    if _vmap_stack:
        sizes = tuple(b for _, b in _vmap_stack)
        phys = x if x.requires_grad else x.detach()
        # an expanded (stride-0) view, not a copy: products read the one matrix (matmul folds the batch)
        phys = phys.reshape((1,) * len(sizes) + tuple(x.shape)).expand(sizes + tuple(x.shape))
        if not phys.requires_grad:
            phys.requires_grad_()
        v = phys
        for level, _ in _vmap_stack:
            v = BatchedTensor(v, level)
        return v
    return _leaf(x)


def _leaf(x):
    if isinstance(x, BatchedTensor):
        return BatchedTensor(_leaf(x.value), x.level)
    if x.requires_grad:
        return x  # an outer transform differentiates through this one
    return x.detach().requires_grad_()


def _physical(x):
    return _physical(x.value) if isinstance(x, BatchedTensor) else x


def _rewrap(g, like):
    return BatchedTensor(_rewrap(g, like.value), like.level) if isinstance(like, BatchedTensor) else g


def _grads(outputs, inputs, cotangents, allow_unused=True, create_graph=None):
    """d(outputs)/d(inputs) contracted with cotangents, seeing through BatchedTensors.

    The backward pass is recorded (create_graph) only inside another transform, which will
    differentiate it: the outermost transform's results leave without their graph (`_finish`)."""
    if create_graph is None:
        create_graph = _depth[0] > 1
    outs = [_physical(o) for o in outputs]
    cots = [_physical(c) if c is not None else None for c in cotangents]
    cots = [c if c is not None else _ones(o) for c, o in zip(cots, outs)]
    ins = [_physical(i) for i in inputs]
    # The graph is kept: jacrev pulls back one row at a time and a vjp_fn may be called again.
    # An output that does not depend on the inputs contributes nothing (zeros, as in torch.func).
    keep = [k for k, o in enumerate(outs) if o.requires_grad]
    gs = autograd.grad([outs[k] for k in keep], ins, [cots[k] for k in keep], retain_graph=True,
                       create_graph=create_graph, allow_unused=allow_unused) if keep else [None] * len(ins)
    res = []
    for g, i in zip(gs, inputs):
        if g is None:
            from .creation import zeros_like
            g = zeros_like(_physical(i))
        res.append(_rewrap(g, i))
    return res


def _ones(t):
    from .creation import ones_like
    return ones_like(t)


def _finish(t):
    """Results leave the outermost transform without their graph."""
    if _depth[0] == 0 and isinstance(t, Tensor):
        return t.detach()
    if _depth[0] == 0 and isinstance(t, BatchedTensor):
        return BatchedTensor(_finish(t.value), t.level)
    return t


def grad_and_value(func, argnums=0, has_aux=False):
    """``f -> (x -> (df/dx, f(x)))`` for scalar-valued `f`."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _as_tuple(argnums)
        args = list(args)
        _depth[0] += 1
        try:
            with autograd.enable_grad():
                for i in nums:   # an argument may be a tensor or a (nested) dict/list/tuple of them
                    args[i] = _tree_rebuild(args[i], iter([_prepare(x) for x in _tree_leaves(args[i])]))
                out = func(*args, **kwargs)
                aux = None
                if has_aux:
                    out, aux = out
                shape = out.shape
                if tuple(shape) != ():
                    raise RuntimeError(f"grad: the function must return a scalar (0-d) tensor, got shape {list(shape)}")
                leaves = [_tree_leaves(args[i]) for i in nums]
                flat = _grads([out], [x for ls in leaves for x in ls], [None])
        finally:
            _depth[0] -= 1
        flat = iter([_finish(x) for x in flat])
        per_arg = tuple(_tree_rebuild(args[i], flat) for i in nums)
        g = per_arg[0] if isinstance(argnums, int) else per_arg
        value = _finish(out)
        return (g, (value, _finish_tree(aux))) if has_aux else (g, value)
    return wrapper


def grad(func, argnums=0, has_aux=False):
    """``f -> df/dx`` for scalar-valued `f` (``torch.func.grad``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g
    return wrapper


def vjp(func, *primals, has_aux=False):
    """``(f(*primals), vjp_fn)`` where ``vjp_fn(cotangent)`` gives the cotangent's pullback."""
    _depth[0] += 1
    try:
        with autograd.enable_grad():
            xs = [_prepare(p) for p in primals]
            out = func(*xs)
    finally:
        _depth[0] -= 1
    aux = None
    if has_aux:
        out, aux = out
    outs = _as_tuple(out)

    def vjp_fn(*cotangents):
        if len(cotangents) == 1 and isinstance(cotangents[0], tuple) and len(outs) > 1:
            cotangents = cotangents[0]
        _depth[0] += 1
        try:
            with autograd.enable_grad():
                gs = _grads(list(outs), xs, list(cotangents))
        finally:
            _depth[0] -= 1
        return tuple(_finish(g) for g in gs)
    value = out if not isinstance(out, tuple) else tuple(out)
    value = _finish(value) if not isinstance(value, tuple) else tuple(_finish(v) for v in value)
    return (value, vjp_fn, _finish_tree(aux)) if has_aux else (value, vjp_fn)


def jvp(func, primals, tangents):
    """``(f(primals), J·tangents)``, forward-mode by differentiating a vjp (double-vjp)."""
    primals, tangents = _as_tuple(primals), _as_tuple(tangents)
    _depth[0] += 1
    try:
        with autograd.enable_grad():
            xs = [_prepare(p) for p in primals]
            out = func(*xs)
            outs = _as_tuple(out)
            us = [_prepare(_zeros_like(o)) for o in outs]           # dummy cotangents
            gs = _grads(list(outs), xs, us, create_graph=True)       # linear in us, differentiated next
            dot = None
            for g, t in zip(gs, tangents):
                term = (_physical(g) * _physical(t)).sum()
                dot = term if dot is None else dot + term
            jv = _grads([dot], us, [None])
    finally:
        _depth[0] -= 1
    value = out if not isinstance(out, tuple) else tuple(outs)
    res = jv[0] if not isinstance(out, tuple) else tuple(jv)
    fin = (lambda v: _finish(v)) if not isinstance(out, tuple) else (lambda v: tuple(_finish(x) for x in v))
    return fin(value), fin(res)


def _zeros_like(t):
    from .creation import zeros_like
    return zeros_like(_physical(t)) if not isinstance(t, BatchedTensor) else _rewrap(zeros_like(_physical(t)), t)


def jacrev(func, argnums=0):
    """The Jacobian of `func` by reverse mode (``torch.func.jacrev``): for one tensor output and an
    int `argnums`, one tensor of shape ``output.shape + input.shape``.

    `func` may return (nested) tuples or lists of tensors: the result keeps that structure, and
    with a tuple `argnums` each output's entry becomes a tuple with one Jacobian per argument
    (outer = outputs, inner = argnums), so ``jacrev(jacrev(f, (0, 1)), (0, 1))`` is the block
    Hessian ``((H00, H01), (H10, H11))`` as in torch.func."""
    @functools.wraps(func)
    def wrapper(*args):
        nums = _as_tuple(argnums)
        args = list(args)
        _depth[0] += 1
        try:
            with autograd.enable_grad():
                for i in nums:
                    args[i] = _prepare(args[i])
                out = func(*args)
                xs = [args[i] for i in nums]
                outs = _tree_leaves(out)
                for o in outs:
                    if not isinstance(o, (Tensor, BatchedTensor)):
                        raise RuntimeError(f"jacrev: expected f(*args) to return only tensors, got unsupported "
                                           f"type {type(o)}")
                rows = [_jacobian_rows(o, xs) for o in outs]
        finally:
            _depth[0] -= 1
        jacs = []
        for o, rs in zip(outs, rows):
            per_arg = tuple(_finish(_jacobian_block(r, o, x)) for r, x in zip(rs, xs))
            jacs.append(per_arg[0] if isinstance(argnums, int) else per_arg)
        return _tree_rebuild(out, iter(jacs))
    return wrapper


def _jacobian_rows(out, xs):
    """For each input in `xs`, the gradients of the elements of `out` (one row per element)."""
    flat = out.reshape(-1)
    rows = [[] for _ in xs]
    for k in range(flat.shape[0]):
        for r, g in zip(rows, _grads([flat[k]], xs, [None])):
            r.append(g)
    return rows


def _jacobian_block(rows, out, x):
    """The rows stacked into the Jacobian of `out` with respect to `x`: ``out.shape + x.shape``."""
    shape = tuple(out.shape) + tuple(x.shape)
    if not rows:   # an empty output
        from .creation import zeros
        return zeros(shape, dtype=x.dtype)
    from .registry import REGISTRY
    return REGISTRY.ops["stack"].fn(rows, 0).reshape(shape)


def _tree_leaves(tree):
    """The leaves of nested tuples / lists / dicts, in order (anything else is a leaf)."""
    if isinstance(tree, (tuple, list)):
        return [leaf for t in tree for leaf in _tree_leaves(t)]
    if isinstance(tree, dict):
        return [leaf for t in tree.values() for leaf in _tree_leaves(t)]
    return [tree]


def _tree_rebuild(tree, leaves):
    """`tree`'s structure with its leaves replaced, in order, by the items of iterator `leaves`."""
    if isinstance(tree, tuple):
        vals = [_tree_rebuild(t, leaves) for t in tree]
        return type(tree)(*vals) if hasattr(tree, "_fields") else tuple(vals)
    if isinstance(tree, list):
        return [_tree_rebuild(t, leaves) for t in tree]
    if isinstance(tree, dict):
        return {k: _tree_rebuild(t, leaves) for k, t in tree.items()}
    return next(leaves)


def _finish_tree(tree):
    """`_finish` on every leaf of a (nested) structure, such as a function's aux output."""
    return _tree_rebuild(tree, iter([_finish(t) for t in _tree_leaves(tree)]))


jacobian = jacrev


def hessian(func, argnums=0):
    """Second derivatives of a scalar function: ``jacrev(jacrev(func))``. With a tuple `argnums`
    it is the nested tuple of blocks ``H[i][j] = d2f / (dx_i dx_j)``, as in torch.func."""
    return jacrev(jacrev(func, argnums), argnums)


# ---- vmap ------------------------------------------------------------------------------------------
_next_level = [0]
_vmap_stack = []   # (level, batch size) of the vmaps being run, outermost first
_warned = set()


class BatchedTensor:
    """A tensor as seen inside `vmap`: `value` holds the whole batch along its dimension 0, and
    this object behaves like one example (its `shape` excludes the batch dimension)."""

    __slots__ = ("value", "level")

    def __init__(self, value, level):
        self.value = value
        self.level = level

    shape = property(lambda self: tuple(self.value.shape[1:]))
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: len(self.value.shape) - 1)
    device = property(lambda self: "cpu")
    requires_grad = property(lambda self: self.value.requires_grad)
    grad_fn = property(lambda self: self.value.grad_fn)
    is_leaf = property(lambda self: self.value.grad_fn is None)

    def dim(self):
        return self.ndim

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return f"BatchedTensor(level={self.level}, batch={self.value.shape[0]}, value={self.value!r})"

    def __bool__(self):
        raise RuntimeError("vmap: data-dependent control flow on a batched tensor is not supported")

    def item(self):
        raise RuntimeError("vmap: .item() on a batched tensor is not supported (one value per example)")

    def numpy(self):
        raise RuntimeError("vmap: .numpy() on a batched tensor is not supported")

    tolist = numpy

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        return _batched_call(func, args, kwargs or {})


def _delegate(name):
    method = getattr(Tensor, name)

    def m(self, *args, **kwargs):
        return method(self, *args, **kwargs)
    m.__name__ = name
    return m


def _install_delegates():
    """Give BatchedTensor Tensor's methods and operators; each routes back through the protocol."""
    for name, attr in list(vars(Tensor).items()):
        if name in BatchedTensor.__dict__ or name in ("__init__", "__new__", "__slots__", "__dict__",
                                                       "__weakref__", "__repr__", "__str__", "__hash__",
                                                       "__reduce__", "__array__", "__dlpack__"):
            continue
        if callable(attr) and not isinstance(attr, (classmethod, staticmethod, type)):
            setattr(BatchedTensor, name, _delegate(name))
    for name in ("T", "mT", "mH", "real", "imag"):
        prop = getattr(Tensor, name, None)
        if isinstance(prop, property):
            setattr(BatchedTensor, name, property(lambda self, f=prop.fget: f(self)))


def _level_of(values):
    lv = -1
    for v in values:
        if isinstance(v, BatchedTensor):
            lv = max(lv, v.level)
        elif isinstance(v, (list, tuple)):
            lv = max(lv, _level_of(v))
    return lv


def _unwrap(v, level):
    if isinstance(v, BatchedTensor) and v.level == level:
        return v.value
    if isinstance(v, list):
        return [_unwrap(x, level) for x in v]
    if isinstance(v, tuple) and not hasattr(v, "_fields"):
        return tuple(_unwrap(x, level) for x in v)
    return v


def _wrap(r, level):
    if isinstance(r, (Tensor, BatchedTensor)):
        return BatchedTensor(r, level)
    if isinstance(r, tuple):
        vals = [_wrap(x, level) for x in r]
        return type(r)(*vals) if hasattr(r, "_fields") else tuple(vals)
    if isinstance(r, list):
        return [_wrap(x, level) for x in r]
    return r


def _batch_size(values, level):
    for v in values:
        if isinstance(v, BatchedTensor) and v.level == level:
            return v.value.shape[0]
        if isinstance(v, (list, tuple)):
            b = _batch_size(v, level)
            if b is not None:
                return b
    return None


def _norm(d, n):
    if d < -n or d >= max(n, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(n, 1)}, {max(n, 1) - 1}], but got {d})")
    return d % max(n, 1)


def _bind(op, args, kwargs):
    """Parameter name -> (value, position or keyword) for a registry op call."""
    names = [p.name for p in op.params]
    bound = {}
    vararg = next((p.name for p in op.params if p.vararg), None)
    i = 0
    for p in op.params:
        if p.vararg:
            bound[p.name] = tuple(args[i:])
            i = len(args)
            break
        if p.kwonly:
            break
        if i < len(args):
            bound[p.name] = args[i]
            i += 1
    for k, v in kwargs.items():
        if k in names or k == "out":
            bound[k] = v
    return bound


def _call_bound(func, op, bound):
    args, kwargs = [], {}
    for p in op.params:
        if p.name not in bound:
            continue
        if p.vararg:
            args.extend(bound[p.name])
        elif p.kwonly:
            kwargs[p.name] = bound[p.name]
        else:
            args.append(bound[p.name])
    if bound.get("out") is not None:
        kwargs["out"] = bound["out"]
    return func(*args, **kwargs)


def _logical_ndim(v, level):
    if isinstance(v, BatchedTensor) and v.level == level:
        return v.value.ndim - 1
    return getattr(v, "ndim", 0)


def _rule_elementwise(func, op, args, kwargs, level):
    vals = list(args) + list(kwargs.values())
    maxr = max((_logical_ndim(v, level) for v in vals if hasattr(v, "shape")), default=0)

    def align(v):
        if isinstance(v, BatchedTensor) and v.level == level:
            x = v.value
            r = x.ndim - 1
            return x.reshape((x.shape[0],) + (1,) * (maxr - r) + tuple(x.shape[1:])) if r < maxr else x
        return v
    r = func(*[align(a) for a in args], **{k: align(v) for k, v in kwargs.items()})
    return _wrap(r, level)


def _rule_reduce(func, op, args, kwargs, level):
    bound = _bind(op, args, kwargs)
    first = next(p.name for p in op.params if p.type in ("Tensor", "TensorList"))
    x = bound[first]
    r = _logical_ndim(x, level)
    if r == 0:
        return None   # 0-d examples (dim 0 / -1 / None all mean the example itself): loop
    for p in op.params:
        if p.type not in ("Dim", "Dims") or p.name not in bound and p.default is None:
            continue
        v = bound.get(p.name, p.default)
        if v is None:
            if p.type == "Dim":
                return None   # "flatten everything" semantics: no native rule
            bound[p.name] = tuple(range(1, r + 1)) if r > 0 else ()
            if r == 0:
                return None
        elif isinstance(v, (tuple, list)):
            bound[p.name] = tuple(_norm(d, r) + 1 for d in v)
        else:
            bound[p.name] = _norm(v, r) + 1
    for k, v in list(bound.items()):
        bound[k] = _unwrap(v, level)
    return _wrap(_call_bound(func, op, bound), level)


def _rule_matmul(func, op, args, kwargs, level):
    a, b = args[0], args[1]
    ba = isinstance(a, BatchedTensor) and a.level == level
    bb = isinstance(b, BatchedTensor) and b.level == level
    A = a.value if ba else a
    Bm = b.value if bb else b
    ra, rb = _logical_ndim(a, level), _logical_ndim(b, level)
    squeeze = []
    if ba and ra == 1:
        A = A.unsqueeze(1)      # (B, k) -> (B, 1, k)
        squeeze.append(-2)
    if bb and rb == 1:
        Bm = Bm.unsqueeze(-1)   # (B, k) -> (B, k, 1)
        squeeze.append(-1)
    if ba and bb:
        la, lb = A.ndim - 1, Bm.ndim - 1
        if la < lb:
            A = A.reshape((A.shape[0],) + (1,) * (lb - la) + tuple(A.shape[1:]))
        elif lb < la:
            Bm = Bm.reshape((Bm.shape[0],) + (1,) * (la - lb) + tuple(Bm.shape[1:]))
    elif ba and not bb and Bm.ndim > 2:
        A = A.reshape((A.shape[0],) + (1,) * (Bm.ndim - 2) + tuple(A.shape[1:])) if A.ndim - 1 < Bm.ndim else A
    elif bb and not ba:
        if A.ndim == 1 and not squeeze:
            pass
        elif Bm.ndim - 1 < A.ndim:
            Bm = Bm.reshape((Bm.shape[0],) + (1,) * (A.ndim - (Bm.ndim - 1)) + tuple(Bm.shape[1:]))
    r = func(A, Bm)
    for d in squeeze:
        r = r.squeeze(d)
    return BatchedTensor(r, level)


def _rule_linear(func, op, args, kwargs, level):
    """With the weight and bias shared by the batch, the batch is one more leading dim of the input;
    otherwise the product and sum are batched by their own rules."""
    bound = _bind(op, args, kwargs)
    x, w, b = bound["input"], bound["weight"], bound.get("bias")
    if not _is_batched(w, level) and not _is_batched(b, level):
        return BatchedTensor(func(_unwrap(x, level), w, b), level)
    if w.ndim == 1:
        y = x @ w
    elif x.ndim == 1:
        y = w @ x                 # (out, in) @ (in,): no transposed view of the batched weight
    else:
        y = (w @ x.mT).mT
    return y + b if b is not None else y


def _rule_cross_entropy(func, op, args, kwargs, level):
    """Per-example cross-entropy of (C,) logits against a class index: one call on the (B, C) batch
    with reduction 'none', then each example's own reduction ('mean' of one counted target is its
    loss; of an ignored one, 0/0 = NaN, as PyTorch). Class weights and other shapes: no rule."""
    b = _bind(op, args, kwargs)
    x, t = b["input"], b["target"]
    parts = [v for v in (x, t) if isinstance(v, BatchedTensor)]
    if (b.get("weight") is not None or any(v.level != level for v in parts)
            or _logical_ndim(x, level) != 1 or _logical_ndim(t, level) != 0):
        return None
    B = parts[0].value.shape[0]
    X = x.value if _is_batched(x, level) else x.unsqueeze(0).expand(B, x.shape[0])
    T = t.value if _is_batched(t, level) else t.reshape(1).expand(B)
    ignore = b.get("ignore_index", -100)
    losses = func(X, T, None, ignore, b.get("label_smoothing", 0.0), "none")
    if b.get("reduction", "mean") == "mean":
        losses = losses / (T != ignore).to(losses.dtype)
    return BatchedTensor(losses, level)


def _is_batched(v, level):
    return isinstance(v, BatchedTensor) and v.level == level


def _rule_join(func, op, args, kwargs, level):
    """`stack` / `cat` of a list of tensors: join the physical values one dim further in (joining
    at logical dim d is joining at physical dim d + 1). Items not batched at this level are the
    same for every example, so they are expanded along the batch first (a stride-0 view)."""
    bound = _bind(op, args, kwargs)
    items = list(bound["tensors"])
    B = _batch_size(items, level)
    if not items or B is None:
        return None
    r = _logical_ndim(items[0], level)
    if op.name == "cat" and any(_logical_ndim(t, level) == 0 or tuple(t.shape) == (0,) for t in items):
        return None   # 0-d items (an error) and 1-d empty ones (skipped by cat): the loop does both
    phys = [t.value if _is_batched(t, level) else t.unsqueeze(0).expand((B,) + tuple(t.shape)) for t in items]
    dim = bound.get("dim", 0)
    return BatchedTensor(func(phys, _norm(dim, r + 1 if op.name == "stack" else r) + 1), level)


# The batching rules an op's registry entry can name with `batch=` ("" or no entry: no rule). Julia's
# `defop` refuses any other name through python/jtensor/registry.py `check_entry`, which reads
# this table: it is the one list of the names.
BATCH_RULES = {"elementwise": _rule_elementwise, "reduce": _rule_reduce, "matmul": _rule_matmul,
               "linear": _rule_linear, "cross_entropy": _rule_cross_entropy}

# Rules for ops with no `batch` entry in the registry, by qualified name.
_NAMED_RULES = {"stack": _rule_join, "cat": _rule_join}


# View and conversion methods of Tensor: how each one reads on a batched tensor.
def _shift(d, r):
    return _norm(d, r) + 1


def _view_rule(name, x, args, kwargs, level):
    """`x` is the physical tensor (batch first); returns the physical result or None (no rule)."""
    B = x.shape[0]
    r = x.ndim - 1
    if name in ("reshape", "view"):
        shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        return x.reshape((B,) + tuple(shape))
    if name == "permute":
        dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        return x.permute((0,) + tuple(_shift(d, r) for d in dims))
    if name in ("transpose", "swapaxes", "swapdims"):
        return x.transpose(_shift(args[0], r), _shift(args[1], r))
    if name == "t":
        return x.transpose(1, 2) if r == 2 else x
    if name == "T":
        return x.permute((0,) + tuple(range(r, 0, -1)))
    if name == "mT":
        return x.transpose(-2, -1)
    if name == "unsqueeze":
        return x.unsqueeze(_norm(args[0], r + 1) + 1)
    if name == "squeeze":
        dim = args[0] if args else kwargs.get("dim")
        if dim is None:
            return x.squeeze(tuple(d + 1 for d in range(r) if x.shape[d + 1] == 1)) if r else x
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        return x.squeeze(tuple(_shift(d, r) for d in ds))
    if name in ("expand", "broadcast_to"):
        sizes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        sizes = tuple(sizes)
        if len(sizes) > r:
            x = x.reshape((B,) + (1,) * (len(sizes) - r) + tuple(x.shape[1:]))
        return x.expand((B,) + sizes)
    if name == "flatten":
        s = kwargs.get("start_dim", args[0] if args else 0)
        e = kwargs.get("end_dim", args[1] if len(args) > 1 else -1)
        return x.reshape(B, 1) if r == 0 else x.flatten(_shift(s, r), _shift(e, r))
    if name in ("narrow", "select", "unbind", "split", "chunk", "tensor_split", "unfold", "movedim", "moveaxis"):
        a = list(args)
        if name in ("narrow", "select", "unfold"):
            a[0] = _shift(kwargs.pop("dim", a[0]), r) if a else a[0]
            return getattr(x, name)(*a, **kwargs)
        if name == "unbind":
            d = _shift(a[0] if a else kwargs.get("dim", 0), r)
            return x.unbind(d)
        if name in ("split", "chunk", "tensor_split"):
            d = _shift(a[1] if len(a) > 1 else kwargs.get("dim", 0), r)
            return getattr(x, name)(a[0], d)
        src, dst = a[0], a[1]
        src = [src] if isinstance(src, int) else list(src)
        dst = [dst] if isinstance(dst, int) else list(dst)
        return x.movedim([_shift(s, r) for s in src], [_shift(d, r) for d in dst])
    if name == "diagonal":
        off = args[0] if args else kwargs.get("offset", 0)
        d1 = args[1] if len(args) > 1 else kwargs.get("dim1", 0)
        d2 = args[2] if len(args) > 2 else kwargs.get("dim2", 1)
        return x.diagonal(off, _shift(d1, r), _shift(d2, r))
    if name == "__getitem__":
        key = args[0] if isinstance(args[0], tuple) else (args[0],)
        if any(isinstance(k, (BatchedTensor, Tensor, list)) for k in key):
            return None
        return x[(slice(None),) + key]
    if name in ("contiguous", "clone", "to", "astype", "detach", "float", "double", "half", "int", "long", "bool"):
        return getattr(x, name)(*args, **kwargs)
    return None


def _loop(func, args, kwargs, level):
    """No batching rule: run `func` per example and stack the results (warns once per function)."""
    name = getattr(func, "__name__", repr(func))
    if name not in _warned:
        _warned.add(name)
        warnings.warn(f"vmap: no batching rule for '{name}'; running it in a loop over the batch "
                      f"(correct, but slower)", UserWarning, stacklevel=4)
    B = _batch_size(list(args) + list(kwargs.values()), level)

    def pick(v, i):
        if isinstance(v, BatchedTensor) and v.level == level:
            return v.value[i]
        if isinstance(v, list):
            return [pick(x, i) for x in v]
        if isinstance(v, tuple) and not hasattr(v, "_fields"):
            return tuple(pick(x, i) for x in v)
        return v
    results = [func(*[pick(a, i) for a in args], **{k: pick(v, i) for k, v in kwargs.items()}) for i in range(B)]
    return _stack_results(results, level)


def _stack_results(results, level):
    from .registry import REGISTRY
    stack = REGISTRY.ops["stack"].fn
    first = results[0]
    if isinstance(first, (Tensor, BatchedTensor)):
        return BatchedTensor(stack(list(results), 0), level)
    if isinstance(first, tuple):
        cols = [_stack_results([r[k] for r in results], level) for k in range(len(first))]
        return type(first)(*cols) if hasattr(first, "_fields") else tuple(cols)
    if isinstance(first, list):
        return [_stack_results([r[k] for r in results], level) for k in range(len(first))]
    if first is None:
        return None
    from ._tensor import tensor
    return BatchedTensor(tensor(results), level)


def _batched_call(func, args, kwargs):
    level = _level_of(list(args) + list(kwargs.values()))
    op = getattr(func, "_jt_op", None)
    if op is not None and kwargs.get("out") is None:
        rule = BATCH_RULES.get(op.batch) or _NAMED_RULES.get(op.qualname)
        if rule is not None and not func.__name__.endswith("_"):
            r = rule(func, op, args, kwargs, level)
            if r is not None:
                return r
    if op is None and getattr(func, "_jt_decompose", False):
        return func.__wrapped__(*args, **kwargs)   # a Python composition: batch the ops it runs
    name = getattr(func, "__name__", "")
    if args and isinstance(args[0], BatchedTensor) and args[0].level == level and op is None:
        if name == "requires_grad_":
            args[0].value.requires_grad_(*args[1:], **kwargs)
            return args[0]
        rest = [_unwrap(a, level) if not isinstance(a, BatchedTensor) else a for a in args[1:]]
        if not any(isinstance(a, BatchedTensor) for a in rest):
            r = _view_rule(name, args[0].value, tuple(rest), dict(kwargs), level)
            if r is not None:
                return _wrap(r, level)
    return _loop(func, args, kwargs, level)


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """Vectorise `func` over a batch dimension of its inputs (``torch.func.vmap``).

    `in_dims`: an int or None for all arguments, or a tuple with one entry per argument (None
    leaves that argument unbatched). `out_dims`: where the batch dimension goes in the outputs."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries but the function got {len(args)} arguments")
        _next_level[0] += 1
        level = _next_level[0]
        sizes = set()
        bargs = []
        def batched(a, d):
            if not isinstance(a, (Tensor, BatchedTensor)):
                return a
            dd = _norm(d, a.ndim)
            sizes.add(a.shape[dd])
            return BatchedTensor(a.movedim(dd, 0) if dd else a, level)
        for a, d in zip(args, dims):
            if d is None:
                bargs.append(a)
            elif not isinstance(d, int):
                raise ValueError(f"vmap: in_dims entries must be an int or None (one per argument, applied to "
                                 f"every tensor of a dict/list/tuple argument), got {d!r}")
            else:   # a tensor, or a (nested) dict/list/tuple of them: every tensor batched along d
                bargs.append(_tree_rebuild(a, iter([batched(x, d) for x in _tree_leaves(a)])))
        if not sizes:
            raise ValueError("vmap: at least one argument must be batched (in_dims all None)")
        if len(sizes) > 1:
            raise ValueError(f"vmap: batched arguments have different batch sizes {sorted(sizes)}")
        B = sizes.pop()
        _vmap_stack.append((level, B))
        try:
            out = func(*bargs, **kwargs)
        finally:
            _vmap_stack.pop()
            _next_level[0] -= 1
        return _unbatch(out, level, B, out_dims)
    return wrapper


def _unbatch(out, level, B, out_dims):
    if isinstance(out, tuple) and not hasattr(out, "_fields"):
        od = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(out)
        return tuple(_unbatch(o, level, B, d) for o, d in zip(out, od))
    if isinstance(out, list):
        return [_unbatch(o, level, B, out_dims) for o in out]
    if isinstance(out, dict):
        return {k: _unbatch(o, level, B, out_dims) for k, o in out.items()}
    if isinstance(out, BatchedTensor) and out.level == level:
        v = out.value
    elif isinstance(out, (Tensor, BatchedTensor)):
        if out_dims is None:
            return out   # unbatched output left as it is (torch.func: out_dims=None)
        v = out.unsqueeze(0).expand((B,) + tuple(out.shape))   # the same for every example
    else:
        return out
    if out_dims is None:
        raise ValueError("vmap: out_dims=None needs an output that does not depend on the batch")
    d = _norm(out_dims, v.ndim)
    return v.movedim(0, d) if d else v


def _on_registry_change(registry):
    _install_delegates()


def _register():
    from .registry import REGISTRY
    _install_delegates()
    REGISTRY.listeners.append(_on_registry_change)


_register()


# ---- more of torch.func ----------------------------------------------------------------------------
from .func_modules import functional_call, stack_module_state, replace_all_batch_norm_modules_  # noqa: E402,F401


def jacfwd(func, argnums=0, has_aux=False, randomness="error"):
    """The Jacobian of `func` (``torch.func.jacfwd``): the same matrix as `jacrev`, which computes
    it here (by rows, from reverse mode); with `has_aux`, also `func`'s auxiliary output."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"jacfwd: randomness must be 'error', 'different' or 'same', got {randomness!r}")
    if not has_aux:
        return jacrev(func, argnums)

    @functools.wraps(func)
    def wrapper(*args):
        box = []

        def main(*a):
            out, aux = func(*a)
            box.append(aux)
            return out
        jac = jacrev(main, argnums)(*args)
        return jac, _finish_tree(box[-1])
    return wrapper


def linearize(func, *primals):
    """(func(*primals), jvp_fn) with ``jvp_fn(*tangents)`` the Jacobian-vector product at `primals`
    (``torch.func.linearize``)."""
    out = func(*primals)

    def jvp_fn(*tangents):
        if len(tangents) != len(primals):
            raise RuntimeError(f"linearize: expected {len(primals)} tangents, got {len(tangents)}")
        return jvp(func, primals, tangents)[1]
    return _finish_tree(out), jvp_fn


def functionalize(func, *, remove="mutations"):
    """`func` itself: functionalization rewrites in-place ops into out-of-place ones without
    changing results, and jtensor's transforms already handle in-place ops, so there is nothing
    to rewrite."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize: remove must be 'mutations' or 'mutations_and_views', got {remove!r}")
    return func

