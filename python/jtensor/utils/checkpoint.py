"""`jt.utils.checkpoint`: activation checkpointing, as torch.utils.checkpoint.

`checkpoint(fn, *args)` runs `fn` and keeps none of its intermediate values for backward: the
backward runs `fn` again (with the random state it had, so dropout masks repeat) and
differentiates that recomputation. Memory for a network of checkpointed segments then holds the
segments' inputs and outputs only, at the cost of a second forward pass.

How: the forward runs with recording on, once, to find what the outputs depend on: the tensor
arguments, and the leaves that require grad (parameters used inside `fn`). That graph is then
dropped, and the outputs get one node whose inputs are those tensors; its backward recomputes and
returns their gradients through `jt.autograd.grad`. So `loss.backward()`, `jt.autograd.grad`,
hooks and `create_graph=True` work as for any op, with either value of `use_reentrant`.
A non-leaf tensor that `fn` reads from outside its arguments (a closure over another part of the
graph) must be passed as an argument instead: checkpoint raises if it meets one.
"""
import warnings

from .. import autograd
from ..autograd import FnNode, Edge, _set_output, _saved_output

__all__ = ["checkpoint", "checkpoint_sequential"]


def _noop_context_fn():
    import contextlib
    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant=None, context_fn=_noop_context_fn, determinism_check="default",
               debug=False, early_stop=True, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate values for backward."""
    from .._tensor import Tensor
    if use_reentrant is None:
        warnings.warn("jt.utils.checkpoint: the use_reentrant parameter should be passed explicitly (as in "
                      "torch); both values behave the same here.", stacklevel=2)
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not autograd.is_grad_enabled():
        return function(*args, **kwargs)
    from .. import random
    rng = random.get_rng_state() if preserve_rng_state else None
    forward_ctx, recompute_ctx = context_fn()
    with forward_ctx:
        out = function(*args, **kwargs)
    outs, rebuild = _flatten(out)
    graded = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not graded:
        return out
    arg_ids = {id(a): a for a in args if isinstance(a, Tensor)}
    sources = _sources([outs[i] for i in graded], arg_ids, getattr(function, "__name__", "function"))
    shapes = {i: outs[i].shape for i in graded}

    def backward(grads):
        from .. import random as rnd
        with autograd.enable_grad():
            # under create_graph the recomputation hangs off the arguments themselves (so the
            # gradient can be differentiated again); otherwise off detached aliases, so the inner
            # grad stops there
            higher = autograd.is_grad_enabled()
            inputs = [s.detach().requires_grad_(s.requires_grad) if id(s) in arg_ids and not higher else s
                      for s in sources]
            local = {id(s): x for s, x in zip(sources, inputs)}
            re_args = [local.get(id(a), a) if isinstance(a, Tensor) else a for a in args]
            state = rnd.get_rng_state() if rng is not None else None
            if rng is not None:
                rnd.set_rng_state(rng)
            try:
                with recompute_ctx:
                    again = function(*re_args, **kwargs)
            finally:
                if state is not None:
                    rnd.set_rng_state(state)
            again_outs, _ = _flatten(again)
            ys, gs = [], []
            for k, i in enumerate(graded):
                y = again_outs[i]
                if grads[k] is None or not getattr(y, "requires_grad", False):
                    continue
                if y.shape != shapes[i]:
                    raise RuntimeError(f"checkpoint: the recomputed output {i} has shape {list(y.shape)}, "
                                       f"the first run gave {list(shapes[i])}; the function must be "
                                       f"deterministic in its shapes")
                ys.append(y)
                gs.append(grads[k])
            if not ys:
                return [None] * len(sources)
            # the engine records during backward only under create_graph=True
            return list(autograd.grad(ys, inputs, gs, allow_unused=True, create_graph=autograd.is_grad_enabled()))

    node = FnNode("CheckpointFunctionBackward", [(f"input{k}", s) for k, s in enumerate(sources)], backward)
    results = list(outs)
    for k, i in enumerate(graded):
        alias = _saved_output(outs[i])   # the same memory, without the forward's graph
        _set_output(alias, node, k)
        results[i] = alias
    return rebuild(results)


def _flatten(out):
    """The tensors (and other values) of a function's result, and how to rebuild it."""
    if isinstance(out, tuple):
        return list(out), lambda xs: type(out)(xs) if type(out) is tuple else type(out)(*xs)
    if isinstance(out, list):
        return list(out), list
    return [out], lambda xs: xs[0]


def _sources(outputs, arg_ids, name):
    """What `outputs` depend on, walking their graph: the tensor arguments (by identity of their
    history) and the leaves that require grad. Raises for any other history from outside."""
    arg_by_history = {}
    for a in arg_ids.values():
        if a.grad_fn is not None:
            arg_by_history[(id(a.grad_fn), a._out_index)] = a
    found, seen = {}, set()
    stack = [o for o in outputs]
    while stack:
        t = stack.pop()
        if t is None:
            continue
        if not isinstance(t, Edge):
            if id(t) in arg_ids:
                found[id(t)] = t
                continue
            if t.grad_fn is None:
                if t.requires_grad:
                    found[id(t)] = t   # a parameter (or other leaf) used inside the function
                continue
        node = t.grad_fn
        a = arg_by_history.get((id(node), t._out_index))   # an argument's history: stop there
        if a is not None:
            found[id(a)] = a
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.released:
            raise RuntimeError(f"checkpoint({name}): the function reads a tensor from a graph that was already "
                               f"backpropagated through; pass it as an argument")
        for _, inp in node.inputs:
            stack.append(inp)
    return list(found.values())


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a Sequential (or list of modules/functions) in `segments` checkpointed chunks; the last
    chunk runs normally (its values are needed right away), as torch does."""
    if use_reentrant is None:
        warnings.warn("jt.utils.checkpoint: the use_reentrant parameter should be passed explicitly (as in "
                      "torch); both values behave the same here.", stacklevel=2)
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(fns) // segments

    def run(start, end):
        def forward(x):
            for f in fns[start:end + 1]:
                x = f(x)
            return x
        return forward
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(fns) - 1)(input)
