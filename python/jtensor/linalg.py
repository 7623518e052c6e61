"""`jt.linalg`: linear algebra. Its functions are the registry ops of namespace "linalg",
published here by jtensor.ops, plus the `_MANUAL` Python-level helpers below: the norms whose
`ord` may be a string or a number (the registry's argument types have no such union), which
translate `ord` and `dim` and call the registry kernels `linalg._matrix_norm` / `linalg._cond`.

`lu_factor`, `lu`, `lu_solve`, `ldl_factor` and `householder_product` are composed of the registry
ops of julia/src/ops/linalg_solvers.jl in linalg_solvers.py, as PyTorch composes them.

`inv_ex`, `solve_ex` (which report singularity in `info` instead of raising), `tensorinv`,
`tensorsolve` and `vander` are composed of registry ops below, as are the deprecated torch-level
norms `jt.nuclear_norm` and `jt.frobenius_norm`.

`LinAlgError` (a RuntimeError, as torch.linalg.LinAlgError) is raised for singular matrices in
`inv`/`solve` and non positive-definite ones in `cholesky`.
"""
import collections as _collections
import operator as _operator
import warnings as _warnings

from .errors import LinAlgError
from .ops import composed as _composed
from .registry import REGISTRY as _REGISTRY
from .schema import norm_dim as _norm_dim
from .linalg_solvers import lu_factor, lu, lu_solve, householder_product, ldl_factor  # noqa: F401 (composed of registry ops)

_MANUAL = ("norm", "matrix_norm", "cond")


def _tensor(A):
    from ._tensor import Tensor, asarray
    return A if isinstance(A, Tensor) else asarray(A)


def _op(name):
    _REGISTRY.sync()
    return _REGISTRY[f"linalg.{name}"].fn


def _ord_text(ord, opname):
    """`ord` as the text the Julia kernels parse: 'fro', 'nuc', or a float ('inf', '-2.0', ...)."""
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise ValueError(f"{opname}: Order {ord!r} not supported")
        return ord
    try:
        return repr(float(ord))
    except (TypeError, ValueError):
        raise TypeError(f"{opname}: ord must be a number, 'fro' or 'nuc', got {ord!r}") from None


def _dims(dim):
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        return tuple(_operator.index(d) for d in dim)
    return (_operator.index(dim),)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Matrix norm over the two dims `dim` (rows, columns) of A, batched over the others.

    ord: 'fro' (default), 'nuc' (sum of singular values), inf / -inf (max / min absolute row sum),
    1 / -1 (max / min absolute column sum), 2 / -2 (largest / smallest singular value).
    """
    A = _tensor(A)
    name = "linalg.matrix_norm"
    if A.ndim < 2:
        raise ValueError(f"{name}: The input tensor A must have at least 2 dimensions, got shape {list(A.shape)}")
    dims = _dims(dim)
    if len(dims) != 2:
        raise ValueError(f"{name}: dim must be a 2-tuple, got {dim!r}")
    jd = [A.ndim - _norm_dim(d, A.ndim, name) for d in dims]
    if jd[0] == jd[1]:
        raise ValueError(f"{name}: dims must be different, got {dim!r}")
    return _op("_matrix_norm")(A, _ord_text(ord, name), jd, bool(keepdim), dtype, out=out)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """Vector or matrix norm, as torch.linalg.norm.

    An int (or 1-tuple) `dim` gives a vector norm, a 2-tuple a matrix norm. With dim=None: the
    2-norm of all elements when ord is None, else A must be 1-d (vector norm) or 2-d (matrix norm).
    """
    A = _tensor(A)
    name = "linalg.norm"
    dims = _dims(dim)
    if dims is not None and len(dims) == 2 or (dims is None and ord is not None and A.ndim == 2):
        return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dims is None else dims, keepdim,
                           dtype=dtype, out=out)
    if dims is not None and len(dims) != 1:
        raise ValueError(f"{name}: If dim is specified, it must be of length 1 or 2. Got {list(dims)}")
    if dims is None and ord is not None and A.ndim != 1:
        raise ValueError(f"{name}: If dim is not specified but ord is, the input must be 1D or 2D. Got {A.ndim}D.")
    if isinstance(ord, str):
        raise ValueError(f"{name}: Order {ord!r} not supported for vector norms")
    return _op("vector_norm")(A, 2.0 if ord is None else float(ord), dims, bool(keepdim), dtype=dtype, out=out)


def cond(A, p=None, *, out=None):
    """Condition number of matrices (batched) in the p-norm: p=None or 2 is σmax/σmin (any shape),
    -2 is σmin/σmax; 'fro', 'nuc', inf, -inf, 1, -1 use norm(A, p) * norm(inv(A), p) on square A
    (inf for a singular A)."""
    A = _tensor(A)
    return _op("_cond")(A, _ord_text(2 if p is None else p, "linalg.cond"), out=out)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


LstsqResult = _collections.namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


def lstsq(A, B, rcond=None, *, driver=None):
    """Least-squares solution X of A X ≈ B (batched; B a matrix (…, m, k) or a vector (m,)), as
    torch.linalg.lstsq: the minimum-norm solution (through pinv, differentiable), and what the
    `driver` reports beside it as PyTorch's CPU drivers do: `rank` (gelsy, the default, gelsd,
    gelss), `singular_values` (gelsd, gelss) and `residuals`, the squared residual norms per
    column (all but gelsy, when m > n and every A has full rank); the others are empty. Singular
    values below rcond times the largest (default: eps · max(m, n)) count as zero."""
    import jtensor as jt
    A, B = _tensor(A), _tensor(B)
    name = "torch.linalg.lstsq"
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"{name}: parameter `driver` should be one of {_LSTSQ_DRIVERS}")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions, got shape {list(A.shape)}")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"{name}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{A.dtype.name} and other's dtype {B.dtype.name}")
    vector = B.ndim == A.ndim - 1 and B.shape[-1:] == A.shape[-2:-1]
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.ndim < 2 or Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{name}: input.size(-2) should match other.size(-2), got shapes {list(A.shape)} and "
                           f"{list(B.shape)}")
    m, n = A.shape[-2:]
    if rcond is None:
        from .typeinfo import finfo
        rcond = finfo(A.dtype).eps * max(m, n)
    X = jt.matmul(_op("pinv")(A, rtol=rcond), Bm)
    real = A.dtype.to_real() if A.dtype.kind == "c" else A.dtype
    empty = jt.empty(0, dtype=real)
    rank = _op("matrix_rank")(A, rtol=rcond) if driver != "gels" else jt.empty(0, dtype=jt.int64)
    svals = _op("svdvals")(A) if driver in ("gelsd", "gelss") else empty
    residuals = empty
    if driver != "gelsy" and m > n:
        full = rank if driver != "gels" else _op("matrix_rank")(A, rtol=rcond)
        if bool((full == n).all()):
            r = jt.matmul(A, X) - Bm
            residuals = (r.abs() ** 2 if r.dtype.kind == "c" else r * r).sum(-2)
    return LstsqResult(X.squeeze(-1) if vector else X, residuals, rank, svals)


# ---- inverses and solves that report singularity, tensor inverses and solves -------------------------
InvExResult = _collections.namedtuple("linalg_inv_ex", ["inverse", "info"])
SolveExResult = _collections.namedtuple("linalg_solve_ex", ["result", "info"])


def _square_lu(A, name):
    """(LU, pivots, info) of square matrices A: info (int32, per matrix) is k > 0 when U[k-1, k-1] is
    zero, as LAPACK's getrf."""
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are of shape {list(A.shape)}")
    return _op("lu_factor_ex")(A)


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info is 0 for an invertible matrix and k > 0 for a singular one (its
    inverse then holds inf / nan, as LAPACK's); check_errors raises LinAlgError instead.
    Differentiable where A is invertible."""
    from .linalg_solvers import lu_solve, _into
    import jtensor as jt
    A = _tensor(A)
    LU, pivots, info = _square_lu(A, "linalg.inv_ex")
    if bool((info == 0).all()):
        inverse = _op("inv")(A)
    elif check_errors:
        raise LinAlgError(f"linalg.inv_ex: The diagonal element {int(info.max())} is zero, the inversion could "
                          f"not be completed because the input matrix is singular.")
    else:
        inverse = lu_solve(LU, pivots, jt.eye(A.shape[-1], dtype=A.dtype).expand(*A.shape))
    return _into(out, InvExResult(inverse, info))


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info): linalg.solve's solution and getrf's info (0, or k > 0 for a singular A, whose
    result then holds inf / nan); check_errors raises LinAlgError instead."""
    from .linalg_solvers import lu_solve, _into
    A, B = _tensor(A), _tensor(B)
    LU, pivots, info = _square_lu(A, "linalg.solve_ex")
    if bool((info == 0).all()):
        result = _op("solve")(A, B, left=left)
    elif check_errors:
        raise LinAlgError(f"linalg.solve_ex: The solver failed because the input matrix is singular.")
    else:
        vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and left)
        Bm = B.unsqueeze(-1) if vector else B
        result = lu_solve(LU, pivots, Bm, left=left)
        result = result.squeeze(-1) if vector else result
    return _into(out, SolveExResult(result, info))


def _prod(shape):
    p = 1
    for s in shape:
        p *= s
    return p


def tensorinv(A, ind=2, *, out=None):
    """The tensor X with tensordot(A, X, ind) the identity: A reshaped to a square matrix
    prod(shape[:ind]) x prod(shape[ind:]), inverted, shaped shape[ind:] + shape[:ind]."""
    from .linalg_solvers import _into
    A = _tensor(A)
    if not isinstance(ind, int) or ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if _prod(rows) != _prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {_prod(cols)} != {_prod(rows)}")
    return _into(out, _op("inv")(A.reshape(_prod(rows), _prod(cols))).reshape(*cols, *rows))


def tensorsolve(A, B, dims=None, *, out=None):
    """X with tensordot(A, X, X.ndim) = B: A's dims `dims` are moved last first; A reshaped to
    prod(B.shape) x prod(the rest), solved against B flattened; X has A's trailing shape."""
    from .linalg_solvers import _into
    A, B = _tensor(A), _tensor(B)
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.permute(*[d for d in range(A.ndim) if d not in dims], *dims)
    rest = tuple(A.shape[B.ndim:])
    if tuple(A.shape[:B.ndim]) != tuple(B.shape) or _prod(rest) != _prod(B.shape):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {_prod(rest)} != {_prod(A.shape[:B.ndim])}")
    X = _op("solve")(A.reshape(_prod(B.shape), _prod(rest)), B.reshape(-1))
    return _into(out, X.reshape(*rest))


def vander(x, *, N=None):
    """The Vandermonde matrix of x (..., n): columns x^0, x^1, ..., x^(N-1) (increasing powers,
    N defaults to n; integers compute in int64), batched, differentiable everywhere."""
    import jtensor as jt
    x = _tensor(x)
    if x.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least one dimension")
    N = x.shape[-1] if N is None else N
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x.dtype in (jt.bool, jt.float16, jt.bfloat16):
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{x.dtype}")
    from .matrix_builders import increasing_powers
    return increasing_powers(x.to(jt.promote_types(x.dtype, jt.int64)), N)


# ---- the deprecated torch-level norms -----------------------------------------------------------------
@_composed(method=False)
def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    """torch.nuclear_norm: the sum of singular values over dims (-2, -1) (or the 2-list `dim`)."""
    if isinstance(dim, bool):   # nuclear_norm(input, keepdim) positionally, as ATen's first overload
        dim, keepdim = None, dim
    _warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in "
                   "a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead",
                   UserWarning, stacklevel=3)
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim, out=out)


@_composed(method=False)
def frobenius_norm(input, dim, keepdim=False, *, out=None):
    """torch.frobenius_norm: the 2-norm of the entries over `dim` (one or two dims)."""
    _warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed "
                   "in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead",
                   UserWarning, stacklevel=3)
    return _op("vector_norm")(_tensor(input), 2.0, _dims(dim), bool(keepdim), out=out)
