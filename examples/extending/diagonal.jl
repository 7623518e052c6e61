# A new Julia tensor type, defined outside JTensor: `DiagTensor`, an n×n diagonal matrix stored as
# its diagonal. It is an `AbstractMatrix`, so every JTensor kernel already accepts it (through
# `getindex`, or `JTensor.dense`, which materialises it); for the ops where the structure pays,
# we add methods to the kernel functions JTensor's ops call (`JTensor._matmul`, `JTensor._sum`),
# and multiple dispatch picks them. Everything else takes the generic path.
#
# A diagonal matrix is its own transpose, so JTensor's Julia dimension order (a Python (a, b)
# tensor is a Julia (b, a) array) makes no difference to it.
#
# Load it with `jt.julia.include("examples/extending/diagonal.jl")`; it registers the ops
# `diag_matmul`, `diag_sum` and `diag_dense` that the Python wrapper class in
# examples/extending/diagonal.py routes `jt.matmul`, `jt.sum` and the fallback to.

"""
    DiagTensor(diag)

The diagonal matrix with diagonal `diag` (any vector: a `Vector`, or the `JTensor.Strided` view
of a Python tensor's memory: no copy).
"""
struct DiagTensor{T,V<:AbstractVector{T}} <: AbstractMatrix{T}
    diag::V
end
DiagTensor(d::AbstractVector{T}) where {T} = DiagTensor{T,typeof(d)}(d)
DiagTensor(d::AbstractArray) =
    throw(ArgumentError("DiagTensor: the diagonal must be 1-d, got an array of shape $(reverse(size(d)))"))

Base.size(D::DiagTensor) = (n = length(D.diag); (n, n))
Base.getindex(D::DiagTensor{T}, i::Int, j::Int) where {T} = i == j ? D.diag[i] : zero(T)

# Materialising (the generic path of every op that has no method for DiagTensor goes through it,
# e.g. `JTensor.dense` in linalg kernels, `as_dense` in reductions): O(n²) writes, no getindex loop.
function JTensor.dense(D::DiagTensor{T}) where {T}
    out = zeros(T, size(D))
    for (i, v) in enumerate(D.diag)
        out[i, i] = v
    end
    out
end

# ---- the specialised kernels -------------------------------------------------------------------
# `JTensor._matmul(a, b)` is Python's `a @ b` on Julia-order arrays (JTensor calls it for matmul,
# mm, dot ...). D @ X scales the rows of Python's X, i.e. the columns of Julia's X: O(n·m) work
# instead of an O(n²·m) product. Written as a plain loop here; `X @ D` below uses JTensor's
# elementwise engine (`apply` broadcasts the diagonal along the contiguous dimension).
function _scale_columns(::Type{T}, X::AbstractMatrix, d::AbstractVector) where {T}
    B = JTensor.dense(X)
    out = Array{T}(undef, size(B))
    @inbounds for k in axes(B, 2)
        dk = T(d[k])
        @simd for i in axes(B, 1)
            out[i, k] = B[i, k] * dk
        end
    end
    out
end

function _check_inner(n, k, a, b)
    n == k || throw(DimensionMismatch(
        "matmul: shapes $(reverse(size(a))) and $(reverse(size(b))) cannot be multiplied ($n != $k)"))
end

function JTensor._matmul(a::DiagTensor, b::AbstractArray)
    ndims(b) > 2 && return JTensor._matmul(JTensor.dense(a), b)   # batched: the generic path
    T = JTensor.promote_dtype(eltype(a), eltype(b))   # jtensor's rule (int8 with uint8: int16)
    n = length(a.diag)
    _check_inner(n, size(b, ndims(b)), a, b)
    ndims(b) == 1 && return JTensor.apply(*, T, T, JTensor.dense(a.diag), b)   # Python (n,)
    _scale_columns(T, b, a.diag)                                               # Python (n, m) = Julia (m, n)
end

function JTensor._matmul(a::AbstractArray, b::DiagTensor)
    ndims(a) > 2 && return JTensor._matmul(a, JTensor.dense(b))
    T = JTensor.promote_dtype(eltype(a), eltype(b))   # jtensor's rule (int8 with uint8: int16)
    n = length(b.diag)
    _check_inner(size(a, 1), n, a, b)
    JTensor.apply(*, T, T, a, JTensor.dense(b.diag))   # Python (m, n) @ D = Julia (n, m) .* d
end

function JTensor._matmul(a::DiagTensor, b::DiagTensor)
    _check_inner(length(a.diag), length(b.diag), a, b)
    T = JTensor.promote_dtype(eltype(a), eltype(b))   # jtensor's rule (int8 with uint8: int16)
    DiagTensor(JTensor.apply(*, T, T, a.diag, b.diag))
end

# Sum of every element: the sum of the diagonal, O(n), with JTensor's own kernel on the vector.
function JTensor._sum(x::DiagTensor, dim::Nothing, keepdim::Bool, dtype::Nothing)
    s = JTensor._sum(x.diag, nothing, false, nothing)
    keepdim ? reshape(s, 1, 1) : s
end

# ---- ops for Python -------------------------------------------------------------------------------
_maybe_diag(x, isdiag::Bool) = isdiag ? DiagTensor(x) : x

JTensor.defop("diag_matmul(input: Tensor, other: Tensor, input_is_diag: bool = False, other_is_diag: bool = False) -> Tensor",
              (a, b, da, db) -> JTensor._matmul(_maybe_diag(a, da), _maybe_diag(b, db)); method = false,
              doc = "input @ other, where either operand may be the diagonal (1-d) of a diagonal matrix.")
JTensor.defop("diag_sum(diag: Tensor) -> Tensor",
              d -> JTensor._sum(DiagTensor(d), nothing, false, nothing); method = false,
              doc = "Sum of the elements of the diagonal matrix with diagonal diag.")
JTensor.defop("diag_dense(diag: Tensor) -> Tensor", d -> JTensor.dense(DiagTensor(d)); method = false,
              doc = "The diagonal matrix with diagonal diag, materialised.")
