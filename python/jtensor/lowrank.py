"""Randomized low-rank SVD and PCA, `jt.svd_lowrank` and `jt.pca_lowrank`: Halko, Martinsson and
Tropp's algorithm (2009) as torch._lowrank runs it: a random Gaussian sketch A R, sharpened by
`niter` subspace (power) iterations with re-orthonormalization by QR, gives an orthonormal basis Q
of A's dominant column space; the SVD of the small Qᴴ A then gives A's leading singular triplets.
The sketch draws from jtensor's default generator, so jt.manual_seed makes it reproducible.
Differentiable through the matmul / QR / SVD ops it is made of.
"""
import collections

from .ops import composed

LowRankSVD = collections.namedtuple("svd_lowrank", ["U", "S", "V"])


def _tensor(x):
    from ._tensor import Tensor, asarray
    return x if isinstance(x, Tensor) else asarray(x)


def _orthonormal(X):
    import jtensor as jt
    return jt.linalg.qr(X).Q


def get_approximate_basis(A, q, niter=2, M=None):
    """An (m, q) matrix with orthonormal columns spanning approximately A's (A - M's) range."""
    import jtensor as jt
    niter = 2 if niter is None else niter
    n = A.shape[-1]
    R = jt.randn(n, q, dtype=A.dtype)
    X = A @ R if M is None else A @ R - M @ R
    Q = _orthonormal(X)
    for _ in range(niter):
        Z = A.mH @ Q if M is None else A.mH @ Q - M.mH @ Q
        Z = _orthonormal(Z)
        Q = _orthonormal(A @ Z if M is None else A @ Z - M @ Z)
    return Q


@composed(method=False)
def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) with A ≈ U diag(S) Vᴴ (A - M when M is given): U (…, m, q), S (…, q), V (…, n, q);
    exact when A has rank <= q. q defaults to 6; niter power iterations (default 2) sharpen it."""
    import jtensor as jt
    A = _tensor(A)
    if A.ndim < 2:
        raise RuntimeError(f"svd_lowrank: A must have at least 2 dimensions, got shape {list(A.shape)}")
    q = 6 if q is None else q
    m, n = A.shape[-2:]
    if not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    M = None if M is None else _tensor(M).expand(*A.shape)
    if m < n:   # sketch the transpose so that the small matrix to decompose is (q, m)
        Q = get_approximate_basis(A.mH, q, niter, None if M is None else M.mH)
        B = A @ Q if M is None else A @ Q - M @ Q                  # (m, q) = (Qᴴ Aᴴ)ᴴ
        U, S, Vh = jt.linalg.svd(B, full_matrices=False)
        return LowRankSVD(U, S, Q @ Vh.mH)
    Q = get_approximate_basis(A, q, niter, M)
    B = Q.mH @ A if M is None else Q.mH @ A - Q.mH @ M              # (q, n)
    U, S, Vh = jt.linalg.svd(B, full_matrices=False)
    return LowRankSVD(Q @ U, S, Vh.mH)


@composed(method=False)
def pca_lowrank(A, q=None, center=True, niter=2):
    """(U, S, V) of a principal component analysis of the rows of A: svd_lowrank of A minus its
    column means (when `center`); q defaults to min(6, m, n). The principal directions are V's
    columns, the projections A V[:, :k]."""
    A = _tensor(A)
    if A.ndim < 2:
        raise RuntimeError(f"pca_lowrank: A must have at least 2 dimensions, got shape {list(A.shape)}")
    m, n = A.shape[-2:]
    q = min(6, m, n) if q is None else q
    if not 0 <= q <= min(m, n):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if niter < 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if center:
        return svd_lowrank(A, q, niter, A.mean(-2, keepdim=True))
    return svd_lowrank(A, q, niter)
