"""Distances of torch.nn.functional: pairwise_distance, cosine_similarity, pdist, and
normalize (a vector divided by its norm), composed of differentiable registry ops as PyTorch does."""
from ... import composites as _composites
from ... import linalg as _linalg
from ...autograd import no_grad
from ...ops import ops as _ops

__all__ = ["pairwise_distance", "cosine_similarity", "normalize", "pdist"]


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


def pdist(input, p=2.0):
    """The p-norm distances between the rows of an (N, M) input, for each pair i < j in row-major
    order: N * (N - 1) / 2 values (the upper triangle of cdist(input, input), without its zero
    diagonal, whose gradient would not be defined)."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    i, j = _composites.triu_indices(n, n, 1, device=input.device)
    return _linalg.vector_norm(input[i] - input[j], p, -1)
