# LU factorization, triangular solves and the Cholesky factorization that reports instead of
# raising: the LAPACK kernels behind jt.linalg.lu_factor(_ex), lu, lu_solve, solve_triangular,
# cholesky_ex and the deprecated torch.* forms (lu, lu_unpack, triangular_solve, cholesky_solve),
# which python/jtensor/linalg_solvers.py composes from these ops.
#
# Layout (see linalg.jl): a Python (..., m, n) matrix is a Julia (n, m) slice, its transpose.
# Batch dims of two operands broadcast as PyTorch's do (`_paired_batches`, linalg.jl).

# ---- LU with partial pivoting ------------------------------------------------------------------

const _LU_NOPIVOT = "LU without pivoting is not implemented on the CPU"

function _lu_factor_ex(x, pivot::Bool, check::Bool)
    name = "linalg.lu_factor_ex"
    pivot || throw(ArgumentError("$name: $_LU_NOPIVOT"))
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)          # Python (m, n)
    k = min(m, n)
    LU = alloc(T, n, m, nb); piv = alloc(Int32, k, nb); info = alloc_zeros(Int32, nb)
    for j in 1:nb
        M = permutedims(A3[:, :, j])                           # Python's A as a Julia (m, n) matrix
        if k > 0
            _, ip, inf = LAPACK.getrf!(M)
            piv[:, j] .= ip; info[j] = inf
            check && inf > 0 && throw(LinAlgError(
                "$name: $(_batchnote(j, nb))U[$inf,$inf] is zero and using it on lu_solve would result in a division by zero. If you still want to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"))
        end
        LU[:, :, j] = permutedims(M)
    end
    _restore(R, reshape(LU, n, m, b...)), reshape(piv, k, b...), reshape(info, b)
end
function _lu_factor_ex(x::MetaArray, pivot::Bool, check::Bool)
    name = "linalg.lu_factor_ex"
    pivot || throw(ArgumentError("$name: $_LU_NOPIVOT"))
    R = eltype(x); _lapack_type(name, R)
    _, b = _stack(name, R, x)
    k = min(size(x, 1), size(x, 2))
    meta_like(x), MetaArray{Int32}((k, b...)), MetaArray{Int32}(b)
end
defop("lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> (LU: Tensor, pivots: Tensor, info: Tensor)",
      _lu_factor_ex; namespace = "linalg", method = false,
      grad = ["A" => "lu_factor_ex_backward(grad0, LU, pivots)"],
      doc = "LU factorization with partial pivoting of (batches of) m x n matrices, packed as LAPACK's getrf: L (unit diagonal) below the diagonal, U on and above it; 1-based int32 pivots (row i was swapped with row pivots[i]) and info (0, or the first i with U[i, i] = 0). check_errors=True raises LinAlgError for a singular matrix.")

"""Python's permutation (0-based, length m) from LAPACK's 1-based row swaps: A[perm] = L U, so
P = one_hot(perm)ᵀ is PyTorch's P of A = P L U."""
function _lu_permutation(pivots, m::Int)
    name = "lu_unpack"
    ndims(pivots) >= 1 || throw(ArgumentError("$name: LU_pivots must have at least 1 dimension, got a scalar"))
    eltype(pivots) <: Integer || throw(DTypeError("$name: LU_pivots is expected to be an integer tensor, got $(eltype(pivots))"))
    k = size(pivots, 1)
    k <= m || throw(ArgumentError("$name: LU_pivots has $k pivots for a matrix of $m rows"))
    P = as_dense(eltype(pivots), pivots)
    P2 = reshape(P, k, prod(size(pivots)[2:end]))
    out = alloc(Int64, m, size(P2, 2))
    for j in 1:size(P2, 2)
        perm = collect(0:m - 1)
        for i in 1:k
            p = Int(P2[i, j])
            1 <= p <= m || throw(BoundsError("$name: pivot $p out of range [1, $m]"))
            perm[i], perm[p] = perm[p], perm[i]
        end
        out[:, j] = perm
    end
    reshape(out, m, size(pivots)[2:end]...)
end
_lu_permutation(pivots::MetaArray, m::Int) = MetaArray{Int64}((m, size(pivots)[2:end]...))
defop("_lu_permutation(pivots: Tensor, m: int) -> Tensor", _lu_permutation; method = false,
      doc = "The row permutation perm (int64, 0-based) with A[perm] = L U, from LAPACK's 1-based pivots of an m-row LU; lu_unpack builds P from it.")

# ---- triangular solves ---------------------------------------------------------------------------

"The checks of a triangular (or LU) solve of A X = B / X A = B; returns n."
function _triangular_shapes(name, A, B, left::Bool)
    ndims(A) >= 2 || throw(ArgumentError("$name: The input tensor A must have at least 2 dimensions."))
    ndims(B) >= 2 || throw(ArgumentError("$name: The input tensor B must have at least 2 dimensions."))
    _square(name, A)
    n = size(A, 1)
    (left ? size(B, 2) : size(B, 1)) == n || throw(DimensionMismatch(
        "$name: Incompatible shapes of A and B for the equation $(left ? "AX = B" : "XA = B") ($(n)x$(n) and $(size(B, 2))x$(size(B, 1)))"))
    n
end

"PyTorch's result dtype of solve_triangular: A's (B is cast to it), promoted only for a complex B."
_triangular_dtype(::Type{TA}, ::Type{TB}) where {TA,TB} = TB <: Complex && !(TA <: Complex) ? promote_dtype(TA, TB) : TA

function _solve_triangular(A, B, upper::Bool, left::Bool, unitriangular::Bool)
    name = "linalg.solve_triangular"
    R = _triangular_dtype(eltype(A), eltype(B)); T = _lapack_type(name, R)
    _lapack_type(name, eltype(B))
    _triangular_shapes(name, A, B, left)
    A3, bA = _stack(name, T, A); B3, bB = _stack(name, T, B)
    batch, pairs = _paired_batches(name, A, B, bA, bB)
    p, q = size(B3, 1), size(B3, 2)
    out = alloc(T, p, q, length(pairs))
    # Python A X = B is Julia Xᵀ Aᵀ = Bᵀ: the slice SA = Aᵀ multiplies from the right ('R') and is
    # lower where Python's A is upper; Python X A = B is SA SX = SB ('L').
    side = left ? 'R' : 'L'; uplo = upper ? 'L' : 'U'; diag = unitriangular ? 'U' : 'N'
    for (k, (ja, jb)) in enumerate(pairs)
        X = B3[:, :, jb]
        p * q > 0 && BLAS.trsm!(side, uplo, 'N', diag, one(T), view(A3, :, :, ja), X)
        out[:, :, k] = X
    end
    _restore(R, reshape(out, p, q, batch...))
end
function _solve_triangular(A::MetaArray, B::MetaArray, upper::Bool, left::Bool, unitriangular::Bool)
    name = "linalg.solve_triangular"
    R = _triangular_dtype(eltype(A), eltype(B)); _lapack_type(name, R); _lapack_type(name, eltype(B))
    _triangular_shapes(name, A, B, left)
    batch, _ = _paired_batches(name, A, B, size(A)[3:end], size(B)[3:end])
    MetaArray{R}((size(B, 1), size(B, 2), batch...))
end
defop("solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False) -> Tensor",
      _solve_triangular; namespace = "linalg", method = false,
      grad = ["A" => "solve_triangular_backward(grad, A, result, upper, left, unitriangular, 0)",
              "B" => "solve_triangular_backward(grad, A, result, upper, left, unitriangular, 1)"],
      doc = "Solution X of A X = B (X A = B when left=False) for triangular A (its upper or lower triangle is read; unitriangular assumes a unit diagonal); batch dims broadcast. A singular A gives inf/nan, as PyTorch's, rather than an error.")

# ---- Cholesky that reports failure in `info` ---------------------------------------------------

_cholesky_ex(x, upper::Bool, check::Bool) = _cholesky_factor("linalg.cholesky_ex", x, upper, check)
function _cholesky_ex(x::MetaArray, upper::Bool, check::Bool)
    b = _meta_square_batch("linalg.cholesky_ex", x)
    meta_like(x), MetaArray{Int32}(b)
end
defop("cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> (L: Tensor, info: Tensor)",
      _cholesky_ex; namespace = "linalg", method = false,
      grad = ["A" => "cholesky_backward(grad0, L, upper)"],
      doc = "Cholesky factor as linalg.cholesky, and info: 0, or the order of the first leading minor that is not positive-definite (then L is LAPACK's partial factor). check_errors=True raises LinAlgError instead.")

# ---- Householder QR in LAPACK's packed form ----------------------------------------------------

function _geqrf(x)
    name = "geqrf"
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)           # Python (m, n)
    k = min(m, n)
    QR = alloc(T, n, m, nb); tau = alloc(T, k, nb)
    for j in 1:nb
        M = permutedims(A3[:, :, j])                            # Python's A as a Julia (m, n) matrix
        k > 0 && (tau[:, j] = LAPACK.geqrf!(M)[2])
        QR[:, :, j] = permutedims(M)
    end
    _restore(R, reshape(QR, n, m, b...)), _restore(R, reshape(tau, k, b...))
end
function _geqrf(x::MetaArray)
    R = eltype(x); _lapack_type("geqrf", R)
    _, b = _stack("geqrf", R, x)
    meta_like(x), MetaArray{R}((min(size(x, 1), size(x, 2)), b...))
end
defop("geqrf(input: Tensor) -> (a: Tensor, tau: Tensor)", _geqrf;
      doc = "QR decomposition in LAPACK's packed form (geqrf): R on and above the diagonal of a, the Householder vectors below it, and their scales tau; linalg.householder_product(a, tau) gives Q. Not differentiable, as in PyTorch.")

# ---- LDLᴴ (Bunch-Kaufman) factorization and solve ------------------------------------------------

_ldl_complex_hermitian(::Type{T}, hermitian::Bool) where {T} = hermitian && T <: Complex

function _ldl_factor_ex(x, hermitian::Bool, check::Bool)
    name = "linalg.ldl_factor_ex"
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    n, nb = size(A3, 1), size(A3, 3)
    LD = alloc_zeros(T, n, n, nb); piv = alloc(Int32, n, nb); info = alloc_zeros(Int32, nb)
    for j in 1:nb
        n == 0 && continue
        M = permutedims(A3[:, :, j])                  # Python's A; LAPACK reads its lower triangle
        _, ip, inf = _ldl_complex_hermitian(T, hermitian) ? LAPACK.hetrf!('L', M) : LAPACK.sytrf!('L', M)
        check && inf > 0 && throw(LinAlgError(
            "$name: $(_batchnote(j, nb))The factorization could not be completed because the input is singular (D[$inf, $inf] is zero)."))
        piv[:, j] .= ip; info[j] = inf
        LD[:, :, j] = permutedims(tril!(M))
    end
    _restore(R, reshape(LD, n, n, b...)), reshape(piv, n, b...), reshape(info, b)
end
function _ldl_factor_ex(x::MetaArray, hermitian::Bool, check::Bool)
    b = _meta_square_batch("linalg.ldl_factor_ex", x)
    meta_like(x), MetaArray{Int32}((size(x, 1), b...)), MetaArray{Int32}(b)
end
defop("ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False) -> (LD: Tensor, pivots: Tensor, info: Tensor)",
      _ldl_factor_ex; namespace = "linalg", method = false,
      doc = "LDLᵀ (LDLᴴ when hermitian) factorization of symmetric (Hermitian) matrices by Bunch-Kaufman pivoting (LAPACK sytrf/hetrf on the lower triangle): L and the block-diagonal D packed in LD, LAPACK's int32 pivots (negative for 2x2 blocks) and info. check_errors=True raises LinAlgError for a singular D. Not differentiable, as in PyTorch.")

"The checks of ldl_solve's arguments (CPU and meta); returns n."
function _ldl_solve_checks(name, LD, pivots, B)
    R = eltype(LD); _lapack_type(name, R)
    eltype(B) === R || throw(DTypeError("$name: Expected LD and B to have the same dtype, but got $(_dtname(R)) and $(_dtname(eltype(B)))"))
    eltype(pivots) === Int32 || throw(DTypeError("$name: Expected pivots to be integers. Got $(_dtname(eltype(pivots)))"))
    n = _triangular_shapes(name, LD, B, true)
    size(pivots, 1) == n || throw(DimensionMismatch("$name: LD.shape[-1] must be equal to pivots.shape[-1], got $n and $(size(pivots, 1))"))
    size(pivots)[2:end] == size(LD)[3:end] || throw(DimensionMismatch(
        "$name: the batch dims of pivots $(_pyshape(pivots)) and LD $(_pyshape(LD)) differ"))
    n
end

function _ldl_solve(LD, pivots, B, hermitian::Bool)
    name = "linalg.ldl_solve"
    R = eltype(LD); T = _lapack_type(name, R)
    n = _ldl_solve_checks(name, LD, pivots, B)
    L3, bL = _stack(name, T, LD); B3, bB = _stack(name, T, B)
    P2 = reshape(as_dense(Int32, pivots), n, prod(bL))
    batch, pairs = _paired_batches(name, LD, B, bL, bB)
    k = size(B3, 1)
    out = alloc(T, k, n, length(pairs))
    for (j, (ja, jb)) in enumerate(pairs)
        X = permutedims(B3[:, :, jb])                 # Python's B (n, k)
        if n > 0 && k > 0
            F = permutedims(L3[:, :, ja]); ip = Vector{LinearAlgebra.BlasInt}(P2[:, ja])
            _ldl_complex_hermitian(T, hermitian) ? LAPACK.hetrs!('L', F, ip, X) : LAPACK.sytrs!('L', F, ip, X)
        end
        out[:, :, j] = permutedims(X)
    end
    _restore(R, reshape(out, k, n, batch...))
end
function _ldl_solve(LD::MetaArray, pivots::MetaArray, B::MetaArray, hermitian::Bool)
    name = "linalg.ldl_solve"
    _ldl_solve_checks(name, LD, pivots, B)
    batch, _ = _paired_batches(name, LD, B, size(LD)[3:end], size(B)[3:end])
    MetaArray{eltype(LD)}((size(B, 1), size(B, 2), batch...))
end
defop("ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False) -> Tensor", _ldl_solve;
      namespace = "linalg", method = false,
      doc = "Solution X of A X = B from the LDL factorization of A (linalg.ldl_factor); batch dims broadcast. Not differentiable, as in PyTorch.")
