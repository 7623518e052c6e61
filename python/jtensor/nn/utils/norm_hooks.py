"""torch's older weight and spectral normalization (`jt.nn.utils.weight_norm`, `spectral_norm` and
their `remove_*`): the module gets `<name>_g`/`<name>_v` parameters (weight norm) or `<name>_orig`
with `<name>_u`/`<name>_v` buffers (spectral norm), and a forward pre-hook recomputes `<name>` as
a plain attribute before each call. The math is the parametrizations' (parametrizations.py); the
state dict keys are torch's, so checkpoints load both ways. New code should use
`jt.nn.utils.parametrizations`, as torch advises.
"""
import warnings

from ... import no_grad
from ..functional import normalize
from ..parameter import Parameter
from .parametrizations import norm_except_dim

__all__ = ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


class _WeightNormHook:
    def __init__(self, name, dim):
        self.name, self.dim = name, dim

    def compute(self, module):
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrize `module.<name>` as g * v / ||v|| with parameters `<name>_g`, `<name>_v`."""
    warnings.warn("`jt.nn.utils.weight_norm` is deprecated in favor of `jt.nn.utils.parametrizations.weight_norm`.",
                  FutureWarning, stacklevel=2)
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _WeightNormHook) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    dim = -1 if dim is None else dim
    hook = _WeightNormHook(name, dim)
    weight = getattr(module, name)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, dim).detach().clone()))
    module.register_parameter(name + "_v", Parameter(weight.detach().clone()))
    object.__setattr__(module, name, hook.compute(module))
    _attach(module, "weight_norm", name, hook)
    return module


def _attach(module, kind, name, hook):
    """Register `hook` as the forward pre-hook of normalization `kind` for `name`."""
    handles = module.__dict__.setdefault(f"_jt_{kind}_handle", {})
    handles[name] = module.register_forward_pre_hook(hook)


def _detach(module, kind, name, compute, stored):
    """Undo normalization `kind` of `name`: remove its hook and the `stored` parameters/buffers,
    and make `name` a parameter again holding `compute(hook)` (the current normalized value)."""
    handles = module.__dict__.get(f"_jt_{kind}_handle", {})
    if name not in handles:
        raise ValueError(f"{kind} of '{name}' not found in {module}")
    hook = module._forward_pre_hooks[handles[name].id]
    with no_grad():
        weight = compute(hook)
    handles.pop(name).remove()
    for key in stored:
        module._parameters.pop(name + key, None)
        module._buffers.pop(name + key, None)
    module.__dict__.pop(name, None)
    module.register_parameter(name, Parameter(weight.detach().clone()))
    return module


def remove_weight_norm(module, name="weight"):
    """Undo `weight_norm`: `<name>` is a parameter again, with the current normalized value."""
    return _detach(module, "weight_norm", name, lambda hook: hook.compute(module), ("_g", "_v"))


class _SpectralNormHook:
    def __init__(self, name, n_power_iterations, dim, eps):
        self.name, self.n, self.dim, self.eps = name, n_power_iterations, dim, eps

    def _matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def compute(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        w = self._matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n):
                    v.copy_(normalize(w.mH @ u, dim=0, eps=self.eps))
                    u.copy_(normalize(w @ v, dim=0, eps=self.eps))
                u, v = u.clone(), v.clone()
        sigma = (u.conj() * (w @ v)).sum()
        return weight / sigma

    def __call__(self, module, inputs):
        object.__setattr__(module, self.name, self.compute(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide `module.<name>` by its spectral norm before each forward (parameter `<name>_orig`,
    buffers `<name>_u` and `<name>_v`)."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, _SpectralNormHook) and hook.name == name:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    if n_power_iterations <= 0:
        raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}")
    from ... import nn, randn
    if dim is None:
        transposed = tuple(getattr(nn, n) for n in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                           if hasattr(nn, n))
        dim = 1 if isinstance(module, transposed) else 0
    hook = _SpectralNormHook(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    w = hook._matrix(weight.detach())
    h, k = w.shape
    u = normalize(randn(h, dtype=w.dtype), dim=0, eps=eps)
    v = normalize(randn(k, dtype=w.dtype), dim=0, eps=eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    object.__setattr__(module, name, weight.detach() * 1)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    _attach(module, "spectral_norm", name, hook)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo `spectral_norm`: `<name>` is a parameter again, holding the current normalized value."""
    return _detach(module, "spectral_norm", name, lambda hook: hook.compute(module, False), ("_orig", "_u", "_v"))
