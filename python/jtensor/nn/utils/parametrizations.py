"""`jt.nn.utils.parametrizations`: weight normalization and spectral normalization as
parametrizations (`parametrize.register_parametrization`), as torch's.

- `weight_norm(module, "weight", dim=0)`: weight = g * v / ||v||, the norm over every dim but
  `dim`; the originals are `original0` (g) and `original1` (v).
- `spectral_norm(module, "weight")`: weight / sigma, sigma the largest singular value of the weight
  viewed as a matrix, estimated by power iteration with vectors `_u`, `_v` kept as buffers and
  advanced once per read in training mode.
"""
from ... import no_grad
from ..functional import normalize
from ..module import Module
from . import parametrize

__all__ = ["weight_norm", "spectral_norm"]


def norm_except_dim(v, dim):
    """The 2-norm of `v` over every dim but `dim` (all dims when dim is -1 / None), shaped to
    broadcast against `v`."""
    if dim is None or dim == -1:
        return v.norm()
    dim = dim % v.ndim
    others = [d for d in range(v.ndim) if d != dim]
    return v.pow(2).sum(dim=others, keepdim=True).sqrt() if others else v.abs()


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Parametrize `module.<name>` as g * v / ||v|| (torch.nn.utils.parametrizations.weight_norm)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations="
                             f"{n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            w = self._matrix(weight)
            h, k = w.shape
            from ... import randn
            u = normalize(randn(h, dtype=w.dtype), dim=0, eps=eps)
            v = normalize(randn(k, dtype=w.dtype), dim=0, eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(w, 15)

    def _matrix(self, weight):
        """The weight as a matrix, `dim` first (as torch reshapes it)."""
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, w, n):
        with no_grad():
            for _ in range(n):
                self._u.copy_(normalize(w @ self._v, dim=0, eps=self.eps))
                self._v.copy_(normalize(w.mH @ self._u, dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        w = self._matrix(weight)
        if self.training:
            self._power_method(w, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u.conj() * (w @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Parametrize `module.<name>` as weight / sigma(weight) (torch.nn.utils.parametrizations.spectral_norm);
    `dim` defaults to 1 for transposed convolutions and 0 otherwise."""
    weight = getattr(module, name, None)
    from ... import Tensor
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ... import nn
        transposed = tuple(getattr(nn, n) for n in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                           if hasattr(nn, n))
        dim = 1 if isinstance(module, transposed) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
