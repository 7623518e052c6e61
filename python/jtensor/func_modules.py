"""The module side of `jt.func` (torch.func): calling a module with other parameters
(`functional_call`), stacking the states of several models for `vmap` (`stack_module_state`) and
turning batch norm's running statistics off for transforms (`replace_all_batch_norm_modules_`)."""
import contextlib

__all__ = ["functional_call", "stack_module_state", "replace_all_batch_norm_modules_"]


def _owner(module, dotted):
    """(submodule, attribute name) of a dotted parameter or buffer name."""
    *path, name = dotted.split(".")
    for p in path:
        module = getattr(module, p)
    return module, name


@contextlib.contextmanager
def _swapped(module, tensors, tie_weights):
    """Inside, `module`'s parameters and buffers named in `tensors` are those tensors."""
    slots = _slots(module, tie_weights)
    saved = []
    try:
        for name, value in tensors.items():
            for mod, attr in slots.get(name, [_owner(module, name)]):
                store = mod._parameters if attr in mod._parameters else mod._buffers if attr in mod._buffers else None
                if store is None:
                    saved.append((mod.__dict__, attr, mod.__dict__.get(attr, _MISSING)))
                    mod.__dict__[attr] = value
                else:
                    saved.append((store, attr, store[attr]))
                    store[attr] = value
        yield
    finally:
        for store, attr, old in reversed(saved):
            if old is _MISSING:
                del store[attr]
            else:
                store[attr] = old


_MISSING = object()


def _slots(module, tie_weights):
    """For each parameter/buffer name, every (submodule, attribute) holding that tensor: with
    `tie_weights`, a tensor registered under several names is replaced under all of them."""
    by_id, names = {}, {}
    for prefix, mod in module.named_modules(remove_duplicate=False):
        for store in (mod._parameters, mod._buffers):
            for attr, t in store.items():
                if t is None:
                    continue
                full = f"{prefix}.{attr}" if prefix else attr
                by_id.setdefault(id(t), []).append((mod, attr))
                names[full] = id(t)
    if not tie_weights:
        return {n: [_owner(module, n)] for n in names}
    return {n: by_id[i] for n, i in names.items()}


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the tensors of
    `parameter_and_buffer_dicts` (a dict of dotted names, or a tuple of dicts) for this call only
    (torch.func.functional_call); gradients flow to the given tensors."""
    dicts = parameter_and_buffer_dicts
    if isinstance(dicts, dict):
        tensors = dict(dicts)
    else:
        tensors = {}
        for d in dicts:
            for k in d:
                if k in tensors:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is "
                                     f"ambiguous")
            tensors.update(d)
    known = {n for n, _ in module.named_parameters(remove_duplicate=False)} | \
            {n for n, _ in module.named_buffers(remove_duplicate=False)}
    if strict:
        missing = sorted(known - set(tensors))
        unexpected = sorted(set(tensors) - known)
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                               + (f"Unexpected key(s): {', '.join(map(repr, unexpected))}.\n\t" if unexpected else "")
                               + (f"Missing key(s): {', '.join(map(repr, missing))}." if missing else ""))
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, tensors, tie_weights):
        return module(*args, **(kwargs or {}))


def stack_module_state(models):
    """(params, buffers): each parameter and buffer of the same-structured `models`, stacked along
    a new dim 0, for ``vmap(functional_call(...))`` over an ensemble. The stacked parameters are
    new leaves that require grad where the originals do."""
    from . import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    first = type(models[0])
    if any(type(m) is not first for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        out = {}
        for name, t in named(models[0]):
            out[name] = stack([dict(named(m))[name].detach() for m in models])
        return out
    params = stacked(lambda m: m.named_parameters())
    for name, t in models[0].named_parameters():
        if t.requires_grad:
            params[name].requires_grad_(True)
    buffers = stacked(lambda m: m.named_buffers())
    return params, buffers


def replace_all_batch_norm_modules_(root):
    """Make every batch norm under `root` use batch statistics only (no running statistics), as
    transforms over a batch need; in place, returns `root`."""
    from .nn.modules.normalization import _BatchNorm
    for m in root.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root
