"""The Array API ``linalg`` extension (2023.12), published as ``jtensor.array_api.linalg``.

Each function adapts a ``jt.linalg`` registry op (or a Tensor view) to the standard's names,
keywords and result types; results that are tuples are the standard's named tuples
(``EighResult``, ``QRResult``, ``SlogdetResult``, ``SVDResult``).
"""
import collections

from . import array_api as _xp, linalg as _jlinalg
from ._tensor import Tensor as _Tensor

EighResult = collections.namedtuple("EighResult", "eigenvalues eigenvectors")
QRResult = collections.namedtuple("QRResult", "Q R")
SlogdetResult = collections.namedtuple("SlogdetResult", "sign logabsdet")
SVDResult = collections.namedtuple("SVDResult", "U S Vh")


def _lin(name):
    return _xp._op("linalg." + name)


def _scalar_rtol(rtol):
    """(True, rtol as a Python number or None) when rtol is one value; (False, None) for an array
    of several values (one per matrix of the batch)."""
    if rtol is None or isinstance(rtol, (int, float)):
        return True, rtol
    if isinstance(rtol, _Tensor) and rtol.numel() == 1:
        return True, float(rtol.item())
    return False, None


def _cutoff(S, rtol):
    """rtol (an array broadcasting against the batch axes) times the largest singular value."""
    return _xp.multiply(_xp.expand_dims(_xp._arr(rtol), axis=-1), S[..., :1])


def cholesky(x, /, *, upper=False):
    """Cholesky factor L (x = L Lᴴ) of Hermitian positive-definite matrices; U = Lᴴ when upper."""
    return _lin("cholesky")(x, upper=upper)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along axis (broadcasting the other axes)."""
    return _lin("cross")(x1, x2, dim=axis)


def det(x, /):
    """Determinants of square matrices (batched)."""
    return _lin("det")(x)


def diagonal(x, /, *, offset=0):
    """The diagonals x[..., i, i + offset] of the matrices in the last two axes (a view)."""
    if x.ndim < 2:
        raise ValueError(f"linalg.diagonal: expected at least 2 dimensions, got shape {x.shape}")
    return x.diagonal(offset, -2, -1)


def eigh(x, /):
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of Hermitian matrices."""
    r = _lin("eigh")(x)
    return EighResult(r[0], r[1])


def eigvalsh(x, /):
    """Eigenvalues (ascending) of Hermitian matrices."""
    return _lin("eigvalsh")(x)


def inv(x, /):
    """Inverses of square matrices."""
    return _lin("inv")(x)


def matmul(x1, x2, /):
    return _xp.matmul(x1, x2)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm over the last two axes: ord 'fro', 'nuc', 1, -1, 2, -2, inf or -inf."""
    return _jlinalg.matrix_norm(x, ord=ord, keepdim=keepdims)


def matrix_power(x, n, /):
    """n-th power of square matrices (n < 0: of their inverses)."""
    return _lin("matrix_power")(x, n)


def matrix_rank(x, /, *, rtol=None):
    """Number of singular values greater than rtol * the largest (rtol: max(M, N) * eps by default)."""
    scalar, r = _scalar_rtol(rtol)
    if scalar:
        return _lin("matrix_rank")(x, rtol=r)
    S = svdvals(x)
    return _xp.sum(_xp.greater(S, _cutoff(S, rtol)), axis=-1)


def matrix_transpose(x, /):
    return _xp.matrix_transpose(x)


def outer(x1, x2, /):
    """Outer product of two vectors."""
    return _lin("outer")(x1, x2)


def pinv(x, /, *, rtol=None):
    """Moore-Penrose pseudo-inverse (singular values <= rtol * the largest are dropped)."""
    scalar, r = _scalar_rtol(rtol)
    if scalar:
        return _lin("pinv")(x, rtol=r)
    U, S, Vh = svd(x, full_matrices=False)
    keep = _xp.greater(S, _cutoff(S, rtol))
    s_inv = _xp.where(keep, _xp.divide(1, _xp.where(keep, S, 1)), 0)
    # pinv = V diag(1/S) Uᴴ, over the kept singular values
    return _xp.matmul(_xp.multiply(_xp.conj(Vh).mT, _xp.expand_dims(s_inv, axis=-2)), _xp.conj(U).mT)


def qr(x, /, *, mode="reduced"):
    """QR decomposition: mode 'reduced' (Q (M, K), R (K, N)) or 'complete' (Q (M, M), R (M, N))."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"linalg.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    r = _lin("qr")(x, mode)
    return QRResult(r[0], r[1])


def slogdet(x, /):
    """Sign and log of the absolute value of determinants."""
    r = _lin("slogdet")(x)
    return SlogdetResult(r[0], r[1])


def solve(x1, x2, /):
    """Solution X of x1 X = x2. Only a 1-d x2 is a vector; any other x2 is a (batch of) matrix,
    whose batch axes broadcast against x1's."""
    x2 = _xp._arr(x2)
    if x2.ndim >= 2 and x2.ndim == x1.ndim - 1 and x2.shape == x1.shape[:-1]:
        x2 = x2.unsqueeze(0)  # PyTorch would read this shape as a batch of vectors
    return _lin("solve")(x1, x2)


def svd(x, /, *, full_matrices=True):
    """Singular value decomposition x = U diag(S) Vh (S descending)."""
    r = _lin("svd")(x, full_matrices)
    return SVDResult(r[0], r[1], r[2])


def svdvals(x, /):
    """Singular values (descending)."""
    return _lin("svdvals")(x)


def tensordot(x1, x2, /, *, axes=2):
    return _xp.tensordot(x1, x2, axes=axes)


def trace(x, /, *, offset=0, dtype=None):
    """Sums of the diagonals x[..., i, i + offset]; integer inputs sum in the default integer dtype."""
    return _lin("trace")(x, offset=offset, dtype=_xp._dtype(dtype))


def vecdot(x1, x2, /, *, axis=-1):
    return _xp.vecdot(x1, x2, axis=axis)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector ord-norm over axis (all elements when None): any real ord, inf, -inf or 0."""
    return _lin("vector_norm")(x, ord, _xp._dims(axis), keepdims)


__all__ = sorted(n for n in globals() if not n.startswith("_") and n != "collections")
