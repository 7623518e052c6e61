"""Reverse-mode automatic differentiation: the tape and the backward walk.

The engine is deliberately plain Python, short enough to read and change. What it does not own is
the calculus: each op's derivative is a formula in its Julia registry entry (``grad``), written
with registered ops (``"grad * (1 - result * result)"`` for tanh). Formulas run through the same
op drivers as user code, so with ``create_graph=True`` they are recorded too and gradients of
gradients work for every op whose formula is built from differentiable ops.

Recording: the op drivers (drivers.py) call `record` when grad mode is on and an input requires
grad. Views record a `ViewNode` (the view's geometry relative to its parent), in-place ops rebase
the modified tensor onto a new node, and every saved tensor is checked against its version
counter at backward time, so an in-place change to something backward still needs raises instead
of giving a wrong gradient.
"""
import contextlib
import functools
import math
import threading

from .. import dtypes as D

_enabled = [True]


def is_grad_enabled():
    return _enabled[0]


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager / decorator turning gradient recording on or off."""

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.prev = []

    def __enter__(self):
        self.prev.append(_enabled[0])
        _enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev.pop()
        return False


class no_grad(set_grad_enabled):
    """Disable recording (``with jt.no_grad():`` or ``@jt.no_grad()``)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Re-enable recording inside a no_grad region."""

    def __init__(self):
        super().__init__(True)


class inference_mode(set_grad_enabled):
    """``with jt.inference_mode():``: no recording, as ``no_grad`` (tensors made inside are ordinary
    tensors here); ``jt.is_inference_mode_enabled()`` reports True inside. ``inference_mode(False)``
    leaves recording as it is."""
    depth = [0]

    def __init__(self, mode=True):
        super().__init__(False)
        self.on = bool(mode)

    def __enter__(self):
        self.prev.append(_enabled[0])
        if self.on:
            _enabled[0] = False
        inference_mode.depth[0] += self.on
        return self

    def __exit__(self, *exc):
        inference_mode.depth[0] -= self.on
        return super().__exit__(*exc)


def _tensor_mod():
    from .. import _tensor
    return _tensor


def _ops():
    from ..registry import REGISTRY
    return REGISTRY.ops


# ---- nodes -------------------------------------------------------------------------------------

class Node:
    """One recorded operation. `inputs` are the tensors gradients flow to (None where not
    differentiable); `apply(grads)` maps the gradients of the outputs to those of the inputs."""

    __slots__ = ("inputs", "saved_versions", "released", "pre_hooks", "retained", "__weakref__")
    name = "Node"

    def __init__(self, inputs):
        self.inputs = [(name, _edge(t)) for name, t in inputs]
        self.saved_versions = []
        self.released = False
        self.pre_hooks = None     # output index -> [hook]
        self.retained = None      # output index -> tensor (retain_grad)

    def save(self, tensors):
        self.saved_versions = [(t, t._version[0]) for t in tensors if hasattr(t, "_version")]

    def check_saved(self):
        if self.released:
            raise RuntimeError(f"{self.name}: trying to backward through the graph a second time (or directly "
                               f"access saved tensors after they have already been freed); use retain_graph=True")
        for t, v in self.saved_versions:
            if t._version[0] != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: a tensor of shape {list(t.shape)} saved by {self.name} is at version "
                    f"{t._version[0]}; expected version {v} instead")

    def release(self):
        self.released = True

    def __repr__(self):
        return f"<{self.name}>"


class OpNode(Node):
    """A registry op; its backward evaluates the op's derivative formulas.

    `env` holds the op's arguments and its outputs, the latter as `_saved_output` aliases listed in
    `outputs` (env key, output index)."""

    __slots__ = ("op", "env", "outputs", "packed")

    def __init__(self, op, inputs, env, outputs=()):
        super().__init__(inputs)
        self.op = op
        self.env = env
        self.outputs = outputs
        self.packed = False

    def pack(self, keys):
        """Hand the saved tensors (the env entries in `keys`) to the active saved-tensor hooks'
        pack hook; backward gets them back through the unpack hook."""
        env = self.env
        for k in keys:
            v = env.get(k)
            if hasattr(v, "_version"):
                env[k] = Packed(v)
            elif isinstance(v, (list, tuple)) and any(hasattr(x, "_version") for x in v):
                env[k] = type(v)(Packed(x) if hasattr(x, "_version") else x for x in v)
        self.packed = True

    @property
    def name(self):
        return f"{self.op.name.capitalize()}Backward"

    def apply(self, grads):
        self.check_saved()
        env = _Env(self.env)
        if self.packed:
            for k, v in self.env.items():
                env[k] = unpacked(v)
        if self.outputs and _enabled[0]:   # create_graph: the formulas' use of outputs is differentiable
            for key, i in self.outputs:
                env[key] = _reattached(env[key], self, i)
        env["grad"] = grads[0] if grads[0] is not None else None
        # every output has its grad<i> (None when it received no gradient): a multi-output op's
        # formula may be asked for the gradient of its second output only
        for i in range(max(len(grads), len(self.op.result_fields or ()))):
            env[f"grad{i}"] = grads[i] if i < len(grads) else None
        no_grad_in = all(g is None for g in grads)
        out = []
        per_list = {}
        for pname, inp in self.inputs:
            if inp is None:
                out.append(None)
                continue
            base = pname[:-1].split("[")[0] if pname.endswith("]") else pname
            code = _formula(self.op, base)
            if code is None:
                raise RuntimeError(f"the derivative of '{self.op.qualname}' with respect to '{base}' is not "
                                   f"implemented (no grad formula in its registry entry)")
            if pname.endswith("]"):   # element k of a TensorList parameter: one formula gives all
                k = pname[:-1].split("[")[1]
                if base not in per_list:
                    r = None if no_grad_in else eval(code, _GLOBALS, env)
                    per_list[base] = None if r is None else list(r)
                grads_k = per_list[base]
                out.append(None if grads_k is None else grads_k[int(k)])
                continue
            if no_grad_in:
                out.append(None)
                continue
            g = eval(code, _GLOBALS, env)
            out.append(g)
        return out

    def release(self):
        super().release()
        self.env = None


# ---- saved-tensor hooks (jt.autograd.graph.saved_tensors_hooks) --------------------------------------
SAVED_HOOKS = []               # (pack_hook, unpack_hook) pairs, innermost last
SAVED_HOOKS_DISABLED = [None]  # the error message while disable_saved_tensors_hooks is active


class Packed:
    """A saved tensor as the innermost pack hook returned it, with the unpack hook to undo it."""

    __slots__ = ("value", "unpack")

    def __init__(self, t):
        pack, self.unpack = SAVED_HOOKS[-1]
        self.value = pack(t)


def unpacked(v):
    """A saved value as backward reads it: packed tensors (alone or in a list) through their hook."""
    if v.__class__ is Packed:
        return v.unpack(v.value)
    if isinstance(v, (list, tuple)) and any(x.__class__ is Packed for x in v):
        return type(v)(unpacked(x) for x in v)
    return v


class Edge:
    """Where a node's input came from when the node was recorded: the producing node and output.

    A node keeps this rather than the input tensor itself, because an in-place op later rebases
    that tensor onto a new node; gradients for this node's use must still reach the history the
    input had then (PyTorch's edges). Leaves are kept as themselves: gradients accumulate into them.
    """

    __slots__ = ("grad_fn", "_out_index", "shape", "dtype", "requires_grad")

    def __init__(self, t):
        self.grad_fn = t.grad_fn
        self._out_index = getattr(t, "_out_index", 0)
        self.shape = t.shape
        self.dtype = t.dtype
        self.requires_grad = True


def _edge(t):
    """A node input: None, a leaf tensor, or the Edge of a non-leaf (a view brought up to date first)."""
    if t is None or getattr(t, "grad_fn", None) is None:
        return t
    current_history(t)
    return Edge(t)


def current_history(t):
    """`t`'s history now. A view's ViewBackward reads its parent as it was when the view was taken;
    if the parent was rebased by an in-place op since, the view (which shares its memory) now holds
    values computed from the new history, so it gets a new ViewBackward on it (as PyTorch
    regenerates a view's grad_fn after its base was modified). Returns t."""
    node = t.grad_fn
    if type(node) is ViewNode:
        parent = node.parent
        current_history(parent)
        was = node.inputs[0][1]
        if was is not parent and (was.grad_fn is not parent.grad_fn
                                  or was._out_index != getattr(parent, "_out_index", 0)):
            record_view(parent, t, node.geometry)
    return t


class FnNode(Node):
    """A backward given as a Python function of the output gradients (views, helpers)."""

    __slots__ = ("fn", "label")

    def __init__(self, label, inputs, fn):
        super().__init__(inputs)
        self.fn = fn
        self.label = label

    @property
    def name(self):
        return self.label

    def apply(self, grads):
        self.check_saved()
        return self.fn(grads)

    def release(self):
        super().release()
        self.fn = None


class AccumulateGrad:
    """Marker for leaves (kept for grad_fn.next_functions-style introspection)."""


# ---- derivative formulas -------------------------------------------------------------------------
_FORMULA_CACHE = {}
_NAMES_CACHE = {}


def _formula(op, pname):
    key = (op.qualname, op.schema, pname)
    if key not in _FORMULA_CACHE:
        src = dict(op.grad).get(pname)
        _FORMULA_CACHE[key] = compile(src, f"<grad of {op.qualname} wrt {pname}>", "eval") if src else None
    return _FORMULA_CACHE[key]


def _code_names(code):
    """The names a compiled formula reads, those of its comprehensions and lambdas included."""
    names = set(code.co_names)
    for c in code.co_consts:
        if hasattr(c, "co_names"):
            names |= _code_names(c)
    return names


def _formula_names(op):
    """Every name the op's derivative formulas read (parameters, result fields, ops...)."""
    key = (op.qualname, op.schema, tuple(op.grad))
    used = _NAMES_CACHE.get(key)
    if used is None:
        used = set()
        for pname, _ in op.grad:
            code = _formula(op, pname)
            if code is not None:
                used.update(_code_names(code))
        _NAMES_CACHE[key] = used = frozenset(used)
    return used


class _Namespace(dict):
    """Names a formula can use: every registry op, plus the helpers below."""

    def __missing__(self, key):
        ops = _ops()
        if key in ops:
            return ops[key].fn
        raise NameError(f"grad formula uses unknown name {key!r}")


_NS = _Namespace()
_GLOBALS = {"__builtins__": __builtins__}


class _Env(dict):
    """A formula's local names: the op's arguments and results; anything else comes from `_NS`
    (a dict subclass as locals is consulted through __missing__, which globals never are)."""

    def __missing__(self, key):
        return _NS[key]


def _formula_namespace():
    return _NS


def helper(fn):
    """Register a Python function usable inside derivative formulas (built from differentiable ops)."""
    _NS[fn.__name__] = fn
    return fn


@helper
def numel(t):
    return t.numel() if hasattr(t, "numel") else 1


@helper
def sum_to_size(g, shape):
    """Sum `g` down to `shape` (undoing broadcasting)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    inner = [lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1]
    if not inner:   # only leading dims were broadcast (a bias): one reduction, no reshape
        return g.sum(tuple(range(lead)))
    r = g.sum(list(range(lead)) + inner, keepdim=True)
    return r.reshape(shape)


@helper
def expand_reduced(g, input, dim, keepdim):
    """The gradient of a reduction over `dim`, broadcast back to `input`'s shape."""
    if not keepdim and dim is not None and input.ndim > 0:
        dims = sorted(d % input.ndim for d in (dim if isinstance(dim, (tuple, list)) else (dim,)))
        for d in dims:
            g = g.unsqueeze(d)
    elif not keepdim and dim is None:
        g = g.reshape((1,) * input.ndim)
    return g.expand(input.shape)


def _cj(t):
    return t.conj() if t.is_complex() else t


@helper
def matmul_backward_input(grad, input, other):
    if input.ndim == 1 and other.ndim == 1:
        return grad * _cj(other)
    if other.ndim == 1:
        g = grad.unsqueeze(-1) * _cj(other) if input.ndim > 1 else grad * _cj(other)
        return sum_to_size(g, input.shape)
    if input.ndim == 1:
        g = (grad.unsqueeze(-2) @ other.mH).squeeze(-2)
        return sum_to_size(g, input.shape)
    return sum_to_size(grad @ other.mH, input.shape)


@helper
def matmul_backward_other(grad, input, other):
    if input.ndim == 1 and other.ndim == 1:
        return grad * _cj(input)
    if input.ndim == 1:
        g = _cj(input).unsqueeze(-1) * grad.unsqueeze(-2)
        return sum_to_size(g, other.shape)
    if other.ndim == 1:
        g = (input.mH @ grad.unsqueeze(-1)).squeeze(-1)
        return sum_to_size(g, other.shape)
    return sum_to_size(input.mH @ grad, other.shape)


@helper
def linear_backward_input(grad, input, weight):
    """d(input @ weight.T) / d input."""
    if weight.ndim == 1:
        return matmul_backward_input(grad, input, weight)
    return grad @ _cj(weight)


@helper
def linear_backward_weight(grad, input, weight):
    """d(input @ weight.T) / d weight: grad.T @ input summed over all leading dims (one gemm, reading
    both operands in place)."""
    if weight.ndim == 1:
        return matmul_backward_other(grad, input, weight)
    if grad.ndim == 2 and input.ndim == 2:
        return grad.mT @ _cj(input)
    return grad.reshape(-1, grad.shape[-1]).mT @ _cj(input).reshape(-1, input.shape[-1])


@helper
def restride(g, shape, strides, offset):
    """The view of `g` (as a contiguous tensor) with the given geometry: the inverse of _view_backward."""
    g = g.contiguous()
    return g.as_strided(shape, strides, g.storage_offset() + offset)


@helper
def split_like(grad, tensors, dim):
    """The pieces of `grad` along `dim` sized like `tensors` (the gradient of cat)."""
    out, start = [], 0
    d = dim
    for t in tensors:
        if t.ndim == 1 and t.shape[0] == 0 and grad.ndim != 1:
            out.append(t.detach() * 0)   # torch skips empty 1-d tensors in cat
            continue
        n = t.shape[d]
        out.append(grad.narrow(d, start, n))
        start += n
    return out


@helper
def clamp_mask(input, min, max):
    m = input == input
    if min is not None:
        m = _ops()["logical_and"].fn(m, input >= min)
    if max is not None:
        m = _ops()["logical_and"].fn(m, input <= max)
    return m


@helper
def select_backward(grad, input, dim, indices, keepdim):
    """Gradient of a selection along `dim` at `indices` (max/min with dim, sort, topk, gather)."""
    z = _tensor_mod().empty(input.shape, dtype=grad.dtype, device=grad.device).fill_(0)
    if not keepdim and indices.ndim < input.ndim:
        grad = grad.unsqueeze(dim)
        indices = indices.unsqueeze(dim)
    # into z itself (one fresh array, not two) unless a graph of this gradient is being recorded
    return _ops()["scatter_add" if _enabled[0] else "scatter_add_"].fn(z, dim, indices, grad)


# ---- recording -------------------------------------------------------------------------------------

def requires_grad_of(x):
    return getattr(x, "requires_grad", False)


def needs_grad(values):
    if not _enabled[0]:
        return False
    for v in values:
        if getattr(v, "requires_grad", False):
            return True
        if isinstance(v, (list, tuple)):
            if any(getattr(x, "requires_grad", False) for x in v):
                return True
    return False


def _set_output(t, node, index):
    t.requires_grad = True
    t.grad_fn = node
    t._out_index = index


def _saved_output(t):
    """What a node keeps of its output `t`: an alias (same memory and version counter) without the
    grad_fn, so that node and output form no reference cycle; a cycle would keep every activation
    alive until Python's cycle collector runs, and each op would write to fresh, unfaulted memory."""
    T = _tensor_mod().Tensor
    if type(t) is not T and getattr(type(t), "__jtensor_dispatch__", None) is not None:
        return t.detach()   # a wrapper subclass's data is its handler's: let it make the alias
    alias = T._make(t._base, t._baddr, t._offset, t.shape, t._strides, t.dtype)
    alias._version = t._version
    return alias


def _reattached(saved, node, index):
    """Output alias `saved` as output `index` of `node` again (for formulas differentiated further)."""
    if saved.dtype.kind not in "fc":
        return saved
    t = _saved_output(saved)
    _set_output(t, node, index)
    return t


class _GradInfo:
    """What recording needs to know of an op's entry, worked out once per op (record runs per call)."""

    __slots__ = ("names", "params", "used", "used_by", "refuses")

    def __init__(self, op):
        self.names = dict(op.grad)
        undiff = not self.names   # no derivative declared: backward through this op raises
        # (name, type, whether a gradient flows to it) per parameter
        self.params = [(p.name, p.type, p.name in self.names or undiff) for p in op.params]
        # the arguments and outputs the formulas read: checked against in-place changes at backward
        # (`y = x * 2; y.add_(1)` is fine: mul's formulas do not read its result)
        readable = {p.name for p in op.params} | {"result"} | set(op.result_fields or ())
        self.used = [n for n in _formula_names(op) if n in readable]
        # per parameter, what its own formula reads: only the formulas of inputs that require grad
        # run, so only what they read is checked (`y = x * 2; x.add_(1)` is fine when only x needs
        # a gradient, as in PyTorch, which saves nothing for the constant's formula)
        self.used_by = {}
        for pname in self.names:
            code = _formula(op, pname)
            if code is not None:
                self.used_by[pname] = [n for n in _code_names(code) if n in readable]
        # a writer that returns nothing (advanced-index assignment) cannot be differentiated
        self.refuses = op.returns == "None" and bool(op.params) and op.params[0].type == "Tensor"


def _grad_info(op):
    info = getattr(op, "_grad_info", None)
    if info is None:
        info = op._grad_info = _GradInfo(op)
    return info


def record(op, params, run):
    """Run `run()` without recording and attach an OpNode for `op` to its outputs.

    `params` maps each parameter name of the op's signature to the value passed.

    An op whose entry declares no derivative at all still runs: outputs that are not floating
    point (comparisons, argmax, nonzero...) carry no graph, as in PyTorch, and floating-point ones
    get a node whose backward raises an error naming the op."""
    info = _grad_info(op)
    if info.refuses:
        # recording nothing would give silently wrong gradients, so refuse, as PyTorch does for
        # writes it cannot differentiate
        bad = [p.name for p in op.params if requires_grad_of(params.get(p.name))]
        raise RuntimeError(f"'{op.qualname}' writes into '{op.params[0].name}' and is not differentiable, but its "
                           f"argument '{bad[0]}' requires grad; use an out-of-place op (where, scatter, "
                           f"masked_fill, index_select...) or run it under jt.no_grad()")
    prev = _enabled[0]
    _enabled[0] = False
    try:
        result = run()
    finally:
        _enabled[0] = prev
    outs = result if isinstance(result, tuple) else (result,)
    if not outs or not hasattr(outs[0], "_version"):
        return result
    inputs = []
    flows = False
    for name, ptype, diff in info.params:
        v = params.get(name)
        if v is None:
            continue
        if ptype == "TensorList" and isinstance(v, (list, tuple)):
            for k, item in enumerate(v):
                if getattr(item, "requires_grad", False):
                    inputs.append((f"{name}[{k}]", item if diff else None))
                    flows = flows or diff
        elif getattr(v, "requires_grad", False):
            if diff:
                inputs.append((name, v))
                flows = True
            elif ptype == "Tensor":
                inputs.append((name, None))  # no derivative declared: gradient does not flow here
    if not flows or not any(hasattr(t, "_version") and t.dtype.kind in "fc" for t in outs):
        return result
    env = dict(params)
    outputs = [("result", 0)]
    if op.result_fields:
        outputs += [(f, i) for i, f in enumerate(op.result_fields[:len(outs)])]
    for key, i in outputs:
        env[key] = _saved_output(outs[i]) if hasattr(outs[i], "_version") else outs[i]
    node = OpNode(op, inputs, env, [(k, i) for k, i in outputs if hasattr(outs[i], "_version")])
    saved = []
    used = info.used
    if info.used_by:
        read = set()
        for name, v in inputs:
            if v is not None:
                read.update(info.used_by.get(name.split("[")[0], ()))
        used = [k for k in used if k in read]
    for k in used:
        v = env.get(k)
        if hasattr(v, "_version"):
            saved.append(v)
        elif isinstance(v, (list, tuple)):
            saved += [x for x in v if hasattr(x, "_version")]
    node.save(saved)
    if SAVED_HOOKS:
        node.pack(used)
    for i, t in enumerate(outs):
        if hasattr(t, "_version") and t.dtype.kind in "fc":
            _set_output(t, node, i)
    return result


def _previous_history(t):
    """An alias of `t` (same memory, fresh version counter) carrying its history before an in-place
    write rebases `t`; None when `t` has no history to keep (it does not require grad)."""
    if not getattr(t, "requires_grad", False):
        return None
    old = _tensor_mod().Tensor._make(t._base, t._baddr, t._offset, t.shape, t._strides, t.dtype)
    old._version = [0]
    old.requires_grad = True
    old.grad_fn = t.grad_fn
    old._out_index = getattr(t, "_out_index", 0)
    return old


def record_inplace(op, params, target, run):
    """An in-place op on `target` (or an op writing into it): run it, then rebase `target` onto a
    node whose input is target's previous history (and, when target is a view, its base too)."""
    if getattr(target, "_view_of", None) is not None:
        return _write_into_view(op.name, target, lambda alias: _record_inplace(op, params, alias, run))
    return _record_inplace(op, params, target, run)


def _record_inplace(op, params, target, run):
    if getattr(target, "grad_fn", None) is None and getattr(target, "requires_grad", False):
        raise RuntimeError(f"{op.name}: a leaf Variable that requires grad is being used in an in-place operation.")
    old = _previous_history(target)
    info = _grad_info(op)
    names = info.names
    first = op.params[0].name
    formula_uses_input = any(first in src for src in names.values())
    snapshot = target.clone() if formula_uses_input else None
    # the other arguments the formulas read, at their versions before the write: one that shares
    # the target's memory (y.mul_(y.detach())) is changed by it, and backward must refuse, as torch's
    read_before = [(v, v._version[0]) for k, v in params.items()
                   if k != first and k in info.used and hasattr(v, "_version")]
    with no_grad():
        run()
    env = dict(params)
    if snapshot is not None:
        env[first] = snapshot
    else:
        del env[first]   # no formula reads it; keeping `target` would make a cycle with its node
    env["result"] = _saved_output(target)
    inputs = []
    for p in op.params:
        v = params.get(p.name)
        if p.name == first:
            # the old history gets the formula's gradient, or (no formula) backward raises naming the op
            inputs.append((p.name, old))
        elif p.name in names and requires_grad_of(v):
            inputs.append((p.name, v))
        elif requires_grad_of(v) and p.type == "Tensor":
            inputs.append((p.name, None))
    if not any(i is not None for _, i in inputs):
        return target
    node = OpNode(op, inputs, env, [("result", 0)])
    # the result and the input's snapshot are saved after the write: a later in-place change of the
    # result (read by e.g. exp_'s formula) raises
    node.save([v for k, v in env.items() if hasattr(v, "_version") and k in info.used
               and (k == first or k == "result")])
    node.saved_versions += read_before
    if SAVED_HOOKS:
        node.pack(info.used)
    if target.dtype.kind in "fc":
        _set_output(target, node, 0)
    return target


def record_setitem(t, key, value, write):
    """``t[key] = value`` when t or value requires grad (PyTorch's CopySlices): write, then rebase
    t onto a node whose inputs are t's previous history (its gradient with the written region
    zeroed) and `value` (the gradient's region, summed to value's shape)."""
    if getattr(t, "_view_of", None) is not None:
        return _write_into_view("setitem", t, lambda alias: _record_setitem(alias, key, value, write))
    return _record_setitem(t, key, value, write)


def _record_setitem(t, key, value, write):
    if getattr(t, "grad_fn", None) is None and t.requires_grad:
        raise RuntimeError("setitem: a leaf Variable that requires grad is being used in an in-place operation.")
    if t.dtype.kind not in "fc":
        raise RuntimeError(f"setitem: only tensors of floating point or complex dtype can require gradients, "
                           f"got {t.dtype} written with a value that requires grad")
    T = _tensor_mod()
    old = _previous_history(t)
    graded = value if isinstance(value, T.Tensor) and value.requires_grad else None
    with no_grad():
        write(t, key, value)
    vshape = tuple(graded.shape) if graded is not None else None

    def backward(grads):
        g = grads[0]
        out = []
        if old is not None:
            rest = g.clone()
            with no_grad():
                write(rest, key, 0)
            out.append(rest)
        else:
            out.append(None)
        if graded is not None:
            part = g[key]
            if part.ndim < len(vshape):
                part = part.reshape((1,) * (len(vshape) - part.ndim) + tuple(part.shape))
            out.append(part)
        else:
            out.append(None)
        return out
    node = FnNode("CopySlices", [("self", old), ("value", graded)], backward)
    _set_output(t, node, 0)
    return None


def _write_into_view(name, view, record_write):
    """An in-place write into `view`, a view of the tensor `view._view_of` (PyTorch's CopySlices on
    the base). The write is recorded, by `record_write(alias)`, on an alias of the view whose
    history is the view of the base's previous history; then the base is rebased onto a node that
    routes the view's region of its gradient through that record, and the rest to its previous
    history; and the view's own history becomes the view of the base's new one. Other views of the
    base catch up when next used (`current_history`). Returns what `record_write` returns."""
    base = view._view_of
    if base.grad_fn is None and base.requires_grad:
        raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
                           f"operation.")
    try:
        geometry = view_geometry(base, view.shape, view._strides, view._offset)
    except RuntimeError:
        raise RuntimeError(f"{name}: in-place write into a view (shape {list(view.shape)}, strides "
                           f"{list(view._strides)}) of an overlapping tensor of shape {list(base.shape)} "
                           f"cannot be differentiated; write into a .clone() instead") from None
    T = _tensor_mod().Tensor
    old_base = _previous_history(base)
    alias = T._make(view._base, view._baddr, view._offset, view.shape, view._strides, view.dtype)
    alias._version = view._version
    if old_base is not None:
        record_view(old_base, alias, geometry)
    result = record_write(alias)
    result = view if result is alias else result   # the caller gets the view it wrote into
    written = alias if alias.grad_fn is not None else None
    if base.dtype.kind not in "fc" or (old_base is None and written is None):
        return result
    shape, strides, offset = geometry
    bshape = base.shape

    def backward(grads):
        g = grads[0]
        part = restride(g, shape, strides, offset)
        rest = None
        if old_base is not None:
            rest = g - _ops()["_view_backward"].fn(part, bshape, strides, offset)
        return [rest, part if written is not None else None]
    _set_output(base, FnNode("CopySlices", [("self", old_base), ("src", written)], backward), 0)
    record_view(base, view, geometry)
    return result


def view_geometry(parent, shape, strides, offset):
    """(shape, strides, offset) of a view of `parent` expressed against a contiguous tensor of the
    parent's shape: storage deltas are decomposed along the parent's dims, largest stride first."""
    from .._tensor import _contig_strides
    cstr = _contig_strides(parent.shape)
    fast = _contiguous_parent_geometry(parent, cstr, shape, strides, offset)
    if fast is not None:
        return fast
    dims = sorted((d for d in range(parent.ndim) if parent.shape[d] > 1 and parent._strides[d] > 0),
                  key=lambda d: -parent._strides[d])

    def convert(delta):
        r = 0
        rest = delta
        for d in dims:
            q = min(rest // parent._strides[d], parent.shape[d] - 1)
            rest -= q * parent._strides[d]
            r += q * cstr[d]
        if rest != 0:
            raise RuntimeError("autograd: cannot express this view of an overlapping tensor; call .contiguous() first")
        return r
    # A broadcast (stride-0) dim of the parent has no storage steps to decompose: a stride-0 dim of
    # the view of the same size is taken to be it (the first unused one, in order), so that the
    # view's gradient keeps one slot per index there. vmap's unbatched inputs are such expanded
    # leaves, and their per-example gradients reach them through views (an unsqueeze, a reshape).
    broadcast = [d for d in range(parent.ndim) if parent.shape[d] > 1 and parent._strides[d] == 0]
    used = set()

    def view_stride(s, n):
        if n <= 1:
            return 0   # a stride along a dimension of size <= 1 is never used: any value will do
        if s == 0:
            for d in broadcast:
                if d not in used and parent.shape[d] == n:
                    used.add(d)
                    return cstr[d]
            return 0
        return convert(s)
    return (tuple(shape), tuple(view_stride(s, n) for s, n in zip(strides, shape)), convert(offset - parent._offset))


def _contiguous_parent_geometry(parent, cstr, shape, strides, offset):
    """`view_geometry` when the parent is laid out contiguously (most views are of such tensors): its
    storage steps are already those of the contiguous tensor, so the geometry is the view's own,
    relative to the parent's offset. None when the parent is not contiguous, or when the view has a
    negative step or reaches past the parent's elements (the general decomposition raises then)."""
    pshape, pstr = parent.shape, parent._strides
    for n, s, c in zip(pshape, pstr, cstr):
        if n > 1 and s != c:
            return None
    rel = offset - parent._offset
    vst = tuple(0 if n <= 1 else s for s, n in zip(strides, shape))
    last = rel
    for n, s in zip(shape, vst):
        if n == 0:
            return tuple(shape), vst, rel
        if s < 0:
            return None
        last += (n - 1) * s
    numel = 1
    for n in pshape:
        numel *= n
    return (tuple(shape), vst, rel) if 0 <= rel and last < numel else None


def record_view(parent, view, geometry):
    """Attach a ViewBackward node: `geometry` = (shape, strides, offset) of the view relative to a
    contiguous tensor of the parent's shape."""
    shape, strides, offset = geometry
    pshape = parent.shape

    def backward(grads):
        g = grads[0]
        return [_ops()["_view_backward"].fn(g, pshape, strides, offset)]
    node = ViewNode("ViewBackward", [("input", parent)], backward)
    node.parent = parent
    node.geometry = geometry
    _set_output(view, node, 0)
    return view


class ViewNode(FnNode):
    """The ViewBackward of a view: also keeps its parent tensor and the view's geometry, so that
    `current_history` can re-take the view after an in-place op rebased the parent."""

    __slots__ = ("parent", "geometry")


# ---- the backward walk --------------------------------------------------------------------------------

def _ones_like(t):
    from ..creation import ones_like
    return ones_like(t)


def _accumulate(a, b):
    if a is None:
        return b
    return a + b


def _topo(roots):
    """Nodes reachable from `roots`, each after every node that feeds gradient into it."""
    order, seen = [], set()
    stack = [(n, False) for n in roots]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for _, inp in node.inputs:
            if inp is not None and getattr(inp, "grad_fn", None) is not None and id(inp.grad_fn) not in seen:
                stack.append((inp.grad_fn, False))
    order.reverse()
    return order


def _run_hooks(hooks, g):
    for h in hooks:
        r = h(g)
        if r is not None:
            g = r
    return g


# ---- post-accumulate-grad hooks (Tensor.register_post_accumulate_grad_hook) ----------------------------
# A leaf may receive several contributions in one pass (one per use); its hooks run once, after the
# last. The walk counts, for each hooked leaf, the graph edges that lead to it, and fires the hooks
# when the count reaches zero. The count of registered hooks lets passes without any skip that work.
_post_hook_count = [0]


def post_accumulate_hooks_added(n):
    _post_hook_count[0] += n


def _post_hooks(t):
    d = getattr(t, "__dict__", None)
    return d.get("_post_accumulate_hooks") if d else None


def _pending_post_hooks(root_leaves, order):
    """{id(leaf): [leaf, edges still to come, received anything]} for the hooked leaves of a pass."""
    pending = {}
    for t in root_leaves:
        if _post_hooks(t):
            pending.setdefault(id(t), [t, 0, False])[1] += 1
    for node in order:
        for _, inp in node.inputs:
            if inp is not None and getattr(inp, "grad_fn", None) is None and _post_hooks(inp):
                pending.setdefault(id(inp), [inp, 0, False])[1] += 1
    return pending


def _edge_done(pending, t, delivered):
    """One edge into hooked leaf `t` is resolved; run its hooks after the last one, if it got a gradient."""
    entry = pending.get(id(t))
    if entry is None:
        return
    entry[1] -= 1
    entry[2] = entry[2] or delivered
    if entry[1] == 0:
        del pending[id(t)]
        if entry[2]:
            for h in list(_post_hooks(t)):
                h(t)


def _check_nan(node, in_grads):
    """Anomaly mode: a node whose backward produced NaN raises, naming it (torch's message)."""
    for k, g in enumerate(in_grads):
        if hasattr(g, "_version") and g.dtype.kind in "fc" and bool(g.isnan().any()):
            raise RuntimeError(f"Function '{node.name}' returned nan values in its {k}th output.")


def run_backward(tensors, grad_tensors, retain_graph, create_graph, capture=None, allow_unused=False):
    """Propagate gradients from `tensors`. With `capture` (a list of tensors), return their
    gradients instead of accumulating into leaves' `.grad`."""
    if retain_graph is None:
        retain_graph = create_graph
    from ..switches import _ANOMALY
    check_nan = _ANOMALY["on"] and _ANOMALY["check_nan"]
    buffers = {}
    captured = {} if capture is not None else None
    cap_leaf = {id(t): i for i, t in enumerate(capture)} if capture is not None else {}
    cap_node = {}
    if capture is not None:
        for i, t in enumerate(capture):
            if getattr(t, "grad_fn", None) is not None:
                cap_node[(id(t.grad_fn), getattr(t, "_out_index", 0))] = i
    roots = []
    root_leaves = []
    # storages whose tensors a leaf's .grad must not be (see _owned_grad): the caller's gradients
    seen = _storages(grad_tensors)
    with set_grad_enabled(create_graph):
        for t, g in zip(tensors, grad_tensors):
            if not getattr(t, "requires_grad", False):
                raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
            if g is None:
                if t.numel() != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                g = _ones_like(t)
            if t.grad_fn is None:
                root_leaves.append((t, g))
                continue
            current_history(t)
            key = (id(t.grad_fn), getattr(t, "_out_index", 0))
            bufs = buffers.setdefault(id(t.grad_fn), {})
            bufs[key[1]] = _accumulate(bufs.get(key[1]), g)
            roots.append(t.grad_fn)
        order = _topo(roots)
        pending = (_pending_post_hooks([t for t, _ in root_leaves], order)
                   if _post_hook_count[0] > 0 and capture is None else None)
        for t, g in root_leaves:
            _deliver_leaf(t, g, captured, cap_leaf, seen)
            if pending:
                _edge_done(pending, t, True)
        for node in order:
            bufs = buffers.pop(id(node), {})
            if not bufs:
                if pending:
                    for _, inp in node.inputs:
                        if inp is not None and getattr(inp, "grad_fn", None) is None:
                            _edge_done(pending, inp, False)
                continue
            n_out = max(bufs) + 1
            grads = [bufs.get(i) for i in range(n_out)]
            if node.pre_hooks:
                for i, hooks in node.pre_hooks.items():
                    if i < n_out and grads[i] is not None:
                        grads[i] = _run_hooks(hooks, grads[i])
            if node.retained:
                for i, ref in node.retained.items():
                    t = ref()
                    if t is not None and i < n_out and grads[i] is not None:
                        t.grad = grads[i] if create_graph else grads[i].detach()
            if captured is not None:
                for i in range(n_out):
                    c = cap_node.get((id(node), i))
                    if c is not None and grads[i] is not None:
                        captured[c] = _accumulate(captured.get(c), grads[i])
            in_grads = node.apply(grads)
            if check_nan:
                _check_nan(node, in_grads)
            if not retain_graph:
                node.release()
            if pending:
                for k, (_, inp) in enumerate(node.inputs):
                    if inp is not None and getattr(inp, "grad_fn", None) is None and k >= len(in_grads):
                        _edge_done(pending, inp, False)     # edges the node gave no gradient for
            for (pname, inp), g in zip(node.inputs, in_grads):
                if inp is None:
                    continue
                if g is None or not hasattr(g, "shape"):
                    if pending and getattr(inp, "grad_fn", None) is None:
                        _edge_done(pending, inp, False)
                    continue
                if g.shape != inp.shape:
                    g = sum_to_size(g, inp.shape)
                if g.dtype is not inp.dtype:
                    g = g.to(inp.dtype)
                if inp.grad_fn is not None:
                    b = buffers.setdefault(id(inp.grad_fn), {})
                    idx = getattr(inp, "_out_index", 0)
                    b[idx] = _accumulate(b.get(idx), g)
                else:
                    _deliver_leaf(inp, g, captured, cap_leaf, seen)
                    if pending:
                        _edge_done(pending, inp, True)
    if capture is not None:
        out = []
        for i, t in enumerate(capture):
            g = captured.get(i)
            if g is None and not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   f"graph. Set allow_unused=True if this is the desired behavior.")
            out.append(g)
        return tuple(out)
    return None


def _deliver_leaf(t, g, captured, cap_leaf, seen):
    hooks = t.__dict__.get("_hooks") if hasattr(t, "__dict__") else None
    if hooks:
        g = _run_hooks(hooks, g)
    if captured is not None:
        i = cap_leaf.get(id(t))
        if i is not None:
            captured[i] = _accumulate(captured.get(i), g)
        return
    if not is_grad_enabled():
        g = g.detach()
    t.grad = _owned_grad(t, g, seen) if t.grad is None else (t.grad + g)


def _storages(tensors):
    """Ids of the storages of `tensors` (the caller's gradients: no leaf's .grad may be one)."""
    return {id(g._base) for g in tensors if getattr(g, "_base", None) is not None}


def _owned_grad(t, g, seen):
    """`g` as a leaf's new ``.grad``: memory of its own, laid out as `t`. A gradient can arrive as a
    broadcast view (sum's backward), in another layout, or as the very tensor another leaf or the
    caller holds (add's backward passes its gradient on); an optimizer or clip_grad_norm_ writing
    into it in place would then fail or change the other. `seen` holds the storages already handed
    out in this backward pass (and the caller's grad_tensors'), as PyTorch copies when its
    AccumulateGrad cannot steal the gradient."""
    base = getattr(g, "_base", None)
    if base is None or not isinstance(g, _tensor_mod().Tensor) or type(g) is not _tensor_mod().Tensor:
        return g   # a wrapper subclass's data is its handler's to lay out
    if id(base) in seen or g._strides != t._strides or g.shape != t.shape:
        g = g.contiguous() if g._strides != t._strides else g.clone()
        base = g._base
    seen.add(id(base))
    return g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad`` (``torch.autograd.backward``)."""
    tensors = [tensors] if hasattr(tensors, "shape") else list(tensors)
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif hasattr(grad_tensors, "shape"):
        grad_tensors = [grad_tensors]
    if inputs is not None:
        inputs = [inputs] if hasattr(inputs, "shape") else list(inputs)
        grads = run_backward(tensors, list(grad_tensors), retain_graph, create_graph, capture=inputs,
                             allow_unused=True)
        seen = _storages(grad_tensors)
        for t, g in zip(inputs, grads):
            if g is not None:
                t.grad = _owned_grad(t, g, seen) if t.grad is None else t.grad + g
                if t.grad_fn is None:
                    for h in list(_post_hooks(t) or ()):
                        h(t)
        return
    run_backward(tensors, list(grad_tensors), retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of `outputs` with respect to `inputs` (``torch.autograd.grad``); leaves' ``.grad``
    are left alone.

    `allow_unused`: an input the outputs do not depend on gets None instead of raising;
    `materialize_grads`: it gets zeros instead (and implies allow_unused). `is_grads_batched`:
    the first dimension of each grad_output indexes independent vectors, and each result gets
    that dimension too (one backward per vector)."""
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = [outputs] if hasattr(outputs, "shape") else list(outputs)
    inputs = [inputs] if hasattr(inputs, "shape") else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif hasattr(grad_outputs, "shape"):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} grad_outputs for "
                           f"{len(outputs)} outputs")
    if not all(getattr(x, "requires_grad", False) for x in inputs):
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    if is_grads_batched:
        grads = _batched_grads(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused)
    else:
        for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
            if g is not None and hasattr(g, "shape") and tuple(g.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {_size(g.shape)} and "
                                   f"output[{i}] has a shape of {_size(o.shape)}.")
        grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, capture=inputs,
                             allow_unused=allow_unused)
    if materialize_grads:
        from ..creation import zeros_like
        grads = tuple(zeros_like(x) if g is None else g for g, x in zip(grads, inputs))
    return grads


def _size(shape):
    return f"torch.Size({list(shape)})"


def _batched_grads(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused):
    """`grad` with batched grad_outputs: one backward per index of their first dimension."""
    n = {g.shape[0] for g in grad_outputs if g is not None}
    if len(n) != 1 or any(g is None for g in grad_outputs):
        raise RuntimeError("is_grads_batched=True needs every grad_output given, with the same batch size")
    n = n.pop()
    per = [run_backward(outputs, [g[b] for g in grad_outputs], True if b < n - 1 else retain_graph, create_graph,
                        capture=inputs, allow_unused=allow_unused) for b in range(n)]
    from ..registry import REGISTRY
    stack = REGISTRY.ops["stack"].fn
    out = []
    for k, x in enumerate(inputs):
        col = [p[k] for p in per]
        if all(g is None for g in col):
            out.append(None)
            continue
        from ..creation import zeros_like
        out.append(stack([zeros_like(x) if g is None else g for g in col], 0))
    return tuple(out)


# ---- gradcheck ---------------------------------------------------------------------------------------

def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare analytical gradients (vector-Jacobian products with every basis vector) with
    central finite differences, in float64. Returns True or raises (``torch.autograd.gradcheck``)."""
    import numpy as np
    T = _tensor_mod()
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if getattr(x, "requires_grad", False)]
    for i in diff:
        if inputs[i].dtype not in (D.float64, D.complex128):
            raise ValueError("gradcheck expects float64 (or complex128) inputs that require grad")

    def f_np(*xs):
        with no_grad():
            out = fn(*xs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [np.asarray(o.detach()).astype(np.float64).ravel() for o in outs if hasattr(o, "shape")]

    out = fn(*inputs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if hasattr(o, "shape")]
    for oi, o in enumerate(outs):
        if not o.requires_grad:
            continue
        n_out = o.numel()
        for i in diff:
            x = inputs[i]
            analytic = np.zeros((x.numel(), n_out))
            for k in range(n_out):
                basis = T.empty(o.shape, dtype=o.dtype).fill_(0)
                basis.reshape(-1)[k] = 1
                g = grad([o], [x], [basis], retain_graph=True, allow_unused=True)[0]
                if g is not None:
                    analytic[:, k] = np.asarray(g.detach()).ravel()
            numeric = np.zeros((x.numel(), n_out))
            base = np.asarray(x.detach()).copy()
            flat = base.reshape(-1)
            for j in range(x.numel()):
                orig = flat[j]
                flat[j] = orig + eps
                plus = f_np(*[T.tensor(base) if q == i else inputs[q] for q in range(len(inputs))])[oi]
                flat[j] = orig - eps
                minus = f_np(*[T.tensor(base) if q == i else inputs[q] for q in range(len(inputs))])[oi]
                flat[j] = orig
                numeric[j] = (plus - minus) / (2 * eps)
            if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
                if raise_exception:
                    worst = np.abs(analytic - numeric).max()
                    raise AssertionError(f"gradcheck failed for output {oi} wrt input {i}: max abs difference "
                                         f"{worst:.3g}\nanalytical:\n{analytic}\nnumerical:\n{numeric}")
                return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """gradcheck of the gradient: checks second derivatives by finite differences."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    flags = [getattr(x, "requires_grad", False) for x in inputs]

    def first(*xs):
        # gradcheck's finite differences call this under no_grad with perturbed copies that do not
        # require grad: the first derivative still needs recording, with respect to the same inputs.
        with enable_grad():
            xs = [x if not f or x.requires_grad else x.detach().requires_grad_() for x, f in zip(xs, flags)]
            out = fn(*xs)
            d = [x for x, f in zip(xs, flags) if f]
            gs = grad([out.sum()], d, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)
    return gradcheck(first, inputs, eps=eps, atol=atol, rtol=rtol)


from .. import _derivatives  # noqa: E402,F401  (the helpers of derivative formulas register themselves)
from . import function, functional  # noqa: E402  (user-written Functions; Jacobians and Hessians)
from . import forward_ad  # noqa: E402  (dual tensors: forward mode through a dispatch mode)
from . import graph  # noqa: E402  (saved-tensor hooks)
from .anomaly_mode import detect_anomaly, set_detect_anomaly  # noqa: E402
from .variable import Variable, is_tensor_like  # noqa: E402
from .function import Function, FunctionCtx, once_differentiable  # noqa: E402
