"""Distances of torch.nn.functional: pairwise_distance, cosine_similarity, pdist-free helpers, and
normalize (a vector divided by its norm), composed of differentiable registry ops as PyTorch does."""
from ... import linalg as _linalg
from ...autograd import no_grad
from ...ops import ops as _ops

__all__ = ["pairwise_distance", "cosine_similarity", "normalize"]


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dim (broadcast)."""
    d = max(x1.ndim, x2.ndim)
    return _linalg.vector_norm(x1 - x2 + eps, p, -1 if d else None, keepdim)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along dim (broadcast), each vector
    divided by its clamped norm first, as PyTorch."""
    n1 = _linalg.vector_norm(x1, 2, dim, True)
    n2 = _linalg.vector_norm(x2, 2, dim, True)
    with no_grad():   # PyTorch clamps the norms in place, outside the graph
        f1 = _ops.where(n1 < eps, eps - n1, 0)
        f2 = _ops.where(n2 < eps, eps - n2, 0)
    return ((x1 / (n1 + f1)) * (x2 / (n2 + f2))).sum(dim)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along dim."""
    denom = _ops.clamp(_linalg.vector_norm(input, p, dim, True), eps)
    result = input / denom
    if out is not None:
        return out.copy_(result)
    return result
