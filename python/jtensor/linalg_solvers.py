"""LU factorization and triangular/Cholesky/LU solves that PyTorch composes from its LAPACK kernels,
composed here from the registry ops of julia/src/ops/linalg_solvers.jl (`linalg.lu_factor_ex`,
`linalg.solve_triangular`, `_lu_permutation`): `jt.linalg.lu_factor`, `lu`, `lu_solve`, and the
deprecated torch.* forms `jt.lu`, `jt.lu_unpack`, `jt.lu_solve`, `jt.triangular_solve`,
`jt.cholesky_solve`, `jt.cholesky_inverse`, `jt.cholesky`, `jt.qr`, `jt.svd`, `jt.ormqr` (with their
Tensor methods).

Gradients come from the ops they are made of: lu_factor_ex's derivative (PyTorch's LU backward),
solve_triangular's, and tril/triu/matmul for unpacking and permuting, so a composite is
differentiable in every input PyTorch differentiates.
"""
import collections
import warnings

from . import dtypes as D
from .ops import composed
from .registry import REGISTRY as _REGISTRY

LUFactorResult = collections.namedtuple("linalg_lu_factor", ["LU", "pivots"])
LUResult = collections.namedtuple("linalg_lu", ["P", "L", "U"])
LUUnpackResult = collections.namedtuple("lu_unpack", ["P", "L", "U"])
TriangularSolveResult = collections.namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
QRResult = collections.namedtuple("qr", ["Q", "R"])
SVDResult = collections.namedtuple("svd", ["U", "S", "V"])


def _op(name):
    _REGISTRY.sync()
    return _REGISTRY[name].fn


def _tensor(x):
    from ._tensor import Tensor, asarray
    return x if isinstance(x, Tensor) else asarray(x)


def _into(out, results):
    """Copy results into `out` (a tensor, or a tuple of them for a tuple result) as PyTorch's out=
    does, and return it."""
    if out is None:
        return results
    if isinstance(results, tuple):
        for o, r in zip(out, results):
            o.copy_(r)
        return type(results)(*out) if hasattr(results, "_fields") else tuple(out)
    return out.copy_(results)


def _solve_triangular(A, B, **kw):
    return _op("linalg.solve_triangular")(A, B, **kw)


def _at_least_2d(name, what, t, style="torch"):
    if t.ndim < 2:
        if style == "torch":
            raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
        raise RuntimeError(f"{what} should have at least 2 dimensions, but has {t.ndim} dimensions instead")


# ---- LU ---------------------------------------------------------------------------------------------
def lu_factor(A, *, pivot=True, out=None):
    """LU factorization with partial pivoting, packed (LU, pivots) as LAPACK's getrf; raises
    LinAlgError for a singular matrix (linalg.lu_factor_ex reports it in `info` instead)."""
    LU, pivots, _ = _op("linalg.lu_factor_ex")(_tensor(A), pivot=pivot, check_errors=True)
    return _into(out, LUFactorResult(LU, pivots))


@composed(method=False)
def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) with A = P L U from a packed LU factorization: L (m, k) unit lower triangular,
    U (k, n) upper triangular, k = min(m, n); P (m, m) the permutation matrix of the pivots. A part
    not asked for (unpack_data / unpack_pivots False) is an empty tensor."""
    import jtensor as jt
    LU_data, LU_pivots = _tensor(LU_data), _tensor(LU_pivots)
    if LU_data.ndim < 2:
        raise RuntimeError(f"lu_unpack: LU_data must have at least 2 dimensions, got shape {list(LU_data.shape)}")
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = jt.empty(0, dtype=LU_data.dtype)
    L = U = empty
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + jt.eye(m, k, dtype=LU_data.dtype)
        U = LU_data[..., :k, :].triu()
    P = empty
    if unpack_pivots:
        if LU_pivots.dtype is not D.int32:
            raise RuntimeError(f"lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype, "
                               f"got {LU_pivots.dtype}")
        perm = _op("_lu_permutation")(LU_pivots, m)
        # A[perm] = L U, so Pᵀ = one_hot(perm) and P = one_hot(perm)ᵀ.
        P = (perm.unsqueeze(-1) == jt.arange(m)).to(LU_data.dtype).mT
    return _into(out, LUUnpackResult(P, L, U))


def lu(A, *, pivot=True, out=None):
    """A = P L U with partial pivoting (batched, any m x n): the permutation P, unit lower
    triangular L (m, k) and upper triangular U (k, n), k = min(m, n). Differentiable."""
    LU, pivots, _ = _op("linalg.lu_factor_ex")(_tensor(A), pivot=pivot)
    return _into(out, LUResult(*lu_unpack(LU, pivots)))


def _lu_solve_checks(name, LU, pivots, B, left):
    _at_least_2d(name, "LU", LU)
    _at_least_2d(name, "B", B)
    if LU.shape[-1] != LU.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{LU.shape[-2]} by {LU.shape[-1]} matrices")
    if pivots.dtype is not D.int32:
        raise RuntimeError(f"{name}: pivots should be a Tensor of scalar type torch.int32")
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{name}: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """Solution X of A X = B (X A = B when left=False; Aᴴ instead of A when adjoint) from the packed
    LU factorization of A (linalg.lu_factor); batch dims broadcast. Differentiable in LU and B."""
    LU, pivots, B = _tensor(LU), _tensor(pivots), _tensor(B)
    _lu_solve_checks("linalg.lu_solve", LU, pivots, B, left)
    P, L, U = lu_unpack(LU, pivots)
    if left and not adjoint:        # P L U X = B
        X = _solve_triangular(U, _solve_triangular(L, P.mT @ B, upper=False, unitriangular=True), upper=True)
    elif left:                      # Uᴴ Lᴴ Pᵀ X = B
        X = P @ _solve_triangular(L.mH, _solve_triangular(U.mH, B, upper=False), upper=True, unitriangular=True)
    elif not adjoint:               # X P L U = B
        Y = _solve_triangular(U, B, upper=True, left=False)
        X = _solve_triangular(L, Y, upper=False, left=False, unitriangular=True) @ P.mT
    else:                           # X Uᴴ Lᴴ Pᵀ = B
        Y = _solve_triangular(L.mH, B @ P, upper=True, left=False, unitriangular=True)
        X = _solve_triangular(U.mH, Y, upper=False, left=False)
    return _into(out, X)


# ---- the deprecated torch.* forms -------------------------------------------------------------------
@composed("lu")
def lu_with_info(A, pivot=True, get_infos=False, out=None):
    """torch.lu: (LU, pivots), and info when get_infos (else a singular matrix raises LinAlgError)."""
    LU, pivots, info = _op("linalg.lu_factor_ex")(_tensor(A), pivot=pivot, check_errors=not get_infos)
    return _into(out, (LU, pivots, info) if get_infos else (LU, pivots))


@composed("lu_solve")
def lu_solve_b(b, LU_data, LU_pivots, *, out=None):
    """torch.lu_solve(b, LU_data, LU_pivots): linalg.lu_solve(LU_data, LU_pivots, b)."""
    return lu_solve(LU_data, LU_pivots, b, out=out)


@composed()
def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """torch.triangular_solve: X with A X = b (Aᵀ X = b when transpose) for triangular A, and a copy
    of A broadcast to the batch (cloned_coefficient)."""
    import jtensor as jt
    b, A = _tensor(b), _tensor(A)
    _at_least_2d("triangular_solve", "b", b, style="old")
    _at_least_2d("triangular_solve", "A", A, style="old")
    X = _solve_triangular(A.mT if transpose else A, b, upper=upper != bool(transpose), unitriangular=unitriangular)
    batch = jt.broadcast_shapes(tuple(A.shape[:-2]), tuple(b.shape[:-2]))
    return _into(out, TriangularSolveResult(X, A.expand(*batch, *A.shape[-2:]).clone()))


@composed()
def cholesky_solve(B, L, upper=False, *, out=None):
    """X with A X = B for A = L Lᴴ (A = Uᴴ U when upper) given its Cholesky factor; batch dims
    broadcast. Differentiable in B and L."""
    B, L = _tensor(B), _tensor(L)
    _at_least_2d("cholesky_solve", "b", B, style="old")
    _at_least_2d("cholesky_solve", "A", L, style="old")
    if upper:
        X = _solve_triangular(L, _solve_triangular(L.mH, B, upper=False), upper=True)
    else:
        X = _solve_triangular(L.mH, _solve_triangular(L, B, upper=False), upper=True)
    return _into(out, X)


@composed()
def cholesky_inverse(L, upper=False, *, out=None):
    """The inverse of A = L Lᴴ (A = Uᴴ U when upper) from its Cholesky factor; batched.
    Differentiable in L."""
    import jtensor as jt
    L = _tensor(L)
    _at_least_2d("cholesky_inverse", "A", L, style="old")
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they are "
                           f"{L.shape[-2]} by {L.shape[-1]} matrices")
    eye = jt.eye(L.shape[-1], dtype=L.dtype).expand(*L.shape)
    return _into(out, cholesky_solve(eye, L, upper))


@composed()
def cholesky(input, upper=False, *, out=None):
    """torch.cholesky (deprecated for linalg.cholesky): L with A = L Lᴴ, or U = Lᴴ when upper."""
    warnings.warn("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in a future "
                  "PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\nL = torch.linalg.cholesky(A)\n"
                  "and\nU = torch.cholesky(A, upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH",
                  UserWarning, stacklevel=3)
    return _into(out, _op("linalg.cholesky")(_tensor(input), upper=upper))


@composed()
def qr(input, some=True, *, out=None):
    """torch.qr (deprecated for linalg.qr): (Q, R), reduced when `some`, complete otherwise."""
    warnings.warn("torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future PyTorch "
                  "release.\nThe boolean parameter 'some' has been replaced with a string parameter 'mode'.\n"
                  "Q, R = torch.qr(A, some)\nshould be replaced with\n"
                  "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')", UserWarning, stacklevel=3)
    Q, R = _op("linalg.qr")(_tensor(input), mode="reduced" if some else "complete")
    return _into(out, QRResult(Q, R))


@composed()
def svd(input, some=True, compute_uv=True, *, out=None):
    """torch.svd (deprecated for linalg.svd): (U, S, V) with A = U diag(S) Vᴴ; note V, not Vᴴ.
    Reduced when `some`; without compute_uv, U and V are zero-filled (m, m) and (n, n) matrices."""
    import jtensor as jt
    input = _tensor(input)
    if not compute_uv:
        m, n = input.shape[-2:]
        batch = tuple(input.shape[:-2])
        S = _op("linalg.svdvals")(input)
        return _into(out, SVDResult(jt.zeros(*batch, m, m, dtype=input.dtype), S,
                                    jt.zeros(*batch, n, n, dtype=input.dtype)))
    U, S, Vh = _op("linalg.svd")(input, full_matrices=not some)
    return _into(out, SVDResult(U, S, Vh.mH))


# ---- Householder products ---------------------------------------------------------------------------
def householder_product(A, tau, *, out=None):
    """The first n columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_iᴴ, with v_i the i-th column of A
    below the diagonal and a unit diagonal entry (the Q of geqrf's packed form); batched.
    Differentiable in A and tau through the products it is made of."""
    import jtensor as jt
    A, tau = _tensor(A), _tensor(tau)
    name = "torch.linalg.householder_product"
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(f"{name}: input.dim() must be greater than tau.dim() by 1, got {A.ndim} and {tau.ndim}")
    m, n = A.shape[-2:]
    k = tau.shape[-1]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if n < k:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tuple(A.shape[:-2]) != tuple(tau.shape[:-1]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    batch = tuple(A.shape[:-2])
    Q = jt.eye(m, dtype=A.dtype).expand(*batch, m, m)
    for i in range(k):
        v = jt.cat([jt.zeros(*batch, i, dtype=A.dtype), jt.ones(*batch, 1, dtype=A.dtype), A[..., i + 1:, i]], -1)
        Qv = Q @ v.unsqueeze(-1)                                   # Q H_i = Q - tau_i (Q v) vᴴ
        Q = Q - (Qv * tau[..., i, None, None]) @ v.conj().unsqueeze(-2)
    return _into(out, Q[..., :n].contiguous())


@composed()
def orgqr(input, tau):
    """torch.orgqr: linalg.householder_product(input, tau)."""
    return householder_product(input, tau)


@composed()
def ormqr(input, tau, other, left=True, transpose=False, *, out=None):
    """Q @ other (other @ Q when not left; Qᴴ when transpose) with Q the full m x m product of the
    Householder reflectors of geqrf's packed (input, tau), without forming anything but Q."""
    import jtensor as jt
    input, tau, other = _tensor(input), _tensor(tau), _tensor(other)
    _at_least_2d("torch.ormqr", "input", input)
    _at_least_2d("torch.ormqr", "other", other)
    m, n = input.shape[-2:]
    if (other.shape[-2] if left else other.shape[-1]) != m:
        raise RuntimeError(f"torch.ormqr: other.shape[{-2 if left else -1}] must be equal to input.shape[-2], got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    if tau.shape[-1] > min(m, n):
        raise RuntimeError(f"torch.ormqr: tau.shape[-1] must be at most min(input.shape[-2:]) = {min(m, n)}, got "
                           f"{tau.shape[-1]}")
    if n >= m:
        square = input[..., :, :m]
    else:   # reflector columns padded with zeros to m x m: Q is m x m whatever n is
        square = jt.cat([input, jt.zeros(*input.shape[:-1], m - n, dtype=input.dtype)], -1)
    Q = householder_product(square, tau)
    if transpose:
        Q = Q.mH
    return _into(out, Q @ other if left else other @ Q)


LDLFactorResult = collections.namedtuple("linalg_ldl_factor", ["LD", "pivots"])


def ldl_factor(A, *, hermitian=False, out=None):
    """LDLᵀ (LDLᴴ) factorization (LD, pivots) of symmetric (Hermitian) matrices, as
    linalg.ldl_factor_ex with check_errors=True: a singular D raises LinAlgError."""
    LD, pivots, _ = _op("linalg.ldl_factor_ex")(_tensor(A), hermitian=hermitian, check_errors=True)
    return _into(out, LDLFactorResult(LD, pivots))
