# Matrix products. Python's row-major (m, k) matrix is Julia's (k, m) array holding the same
# bytes, i.e. its transpose, so Python's A(m,k) @ B(k,n) = C(m,n) is Julia's C(n,m) = B(n,k) * A(k,m):
# BLAS runs on the buffers as they are, with no transposes or copies.

_mm_type(a, b) = _acc(promote_type(eltype(a), eltype(b)))
_pyshape(x) = reverse(size(x))

function _matmul(a, b)
    na, nb = ndims(a), ndims(b)
    (na == 0 || nb == 0) &&
        throw(ArgumentError("matmul: both arguments need at least one dimension, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    T = _mm_type(a, b)
    R = promote_type(eltype(a), eltype(b))
    R <: Union{Bool} && (R = Bool)
    A = as_dense(T, a)
    B = as_dense(T, b)
    A2 = na == 1 ? reshape(A, length(A), 1) : A          # Python (k,) is a (1, k) row
    B2 = nb == 1 ? reshape(B, 1, length(B)) : B          # Python (k,) is a (k, 1) column
    size(A2, 1) == size(B2, 2) || throw(DimensionMismatch(
        "matmul: shapes $(_pyshape(a)) and $(_pyshape(b)) cannot be multiplied ($(size(A2, 1)) != $(size(B2, 2)))"))
    bA = size(A2)[3:end]; bB = size(B2)[3:end]
    batch = broadcast_size(bA, bB)
    n, m = size(B2, 1), size(A2, 2)
    C = Array{T}(undef, n, m, batch...)
    A3 = reshape(A2, size(A2, 1), m, prod(bA))
    B3 = reshape(B2, n, size(B2, 2), prod(bB))
    C3 = reshape(C, n, m, prod(batch))
    ia = LinearIndices(bA); ib = LinearIndices(bB)
    for (k, I) in enumerate(CartesianIndices(batch))
        ja = ia[CartesianIndex(ntuple(d -> bA[d] == 1 ? 1 : I[d], length(bA)))]
        jb = ib[CartesianIndex(ntuple(d -> bB[d] == 1 ? 1 : I[d], length(bB)))]
        mul!(view(C3, :, :, k), view(B3, :, :, jb), view(A3, :, :, ja))
    end
    dropped = (nb == 1 ? (1,) : ())..., (na == 1 ? (2,) : ())...
    out = isempty(dropped) ? C : dropdims(C; dims = dropped)
    _restore(R, out)
end
defop("matmul(input: Tensor, other: Tensor) -> Tensor", _matmul;
      grad = ["input" => "matmul_backward_input(grad, input, other)",
              "other" => "matmul_backward_other(grad, input, other)"],
      doc = "Matrix product with NumPy/PyTorch semantics: 1-d operands are vectors, leading dims broadcast as batches.")

function _mm(a, b)
    (ndims(a) == 2 && ndims(b) == 2) ||
        throw(ArgumentError("mm: expected 2-d tensors, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    _matmul(a, b)
end
defop("mm(input: Tensor, mat2: Tensor) -> Tensor", _mm; doc = "Product of two matrices.")
function _bmm(a, b)
    (ndims(a) == 3 && ndims(b) == 3 && size(a, 3) == size(b, 3)) ||
        throw(ArgumentError("bmm: expected 3-d tensors with equal batch sizes, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    _matmul(a, b)
end
defop("bmm(input: Tensor, mat2: Tensor) -> Tensor", _bmm; doc = "Batched product of (b, n, m) and (b, m, p) tensors.")
function _dot(a, b)
    (ndims(a) == 1 && ndims(b) == 1 && length(a) == length(b)) ||
        throw(ArgumentError("dot: expected two 1-d tensors of equal length, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    _matmul(a, b)
end
defop("dot(input: Tensor, other: Tensor) -> Tensor", _dot; doc = "Inner product of two vectors (no conjugation).")
function _outer(a, b)
    (ndims(a) == 1 && ndims(b) == 1) ||
        throw(ArgumentError("outer: expected two 1-d tensors, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    T = promote_type(eltype(a), eltype(b))
    apply(*, compute_type(T), T, reshape(dense(b), length(b), 1), reshape(dense(a), 1, length(a)))
end
defop("outer(input: Tensor, vec2: Tensor) -> Tensor", _outer; doc = "Outer product: out[i, j] = input[i] * vec2[j].")
