# Matrix products. Python's row-major (m, k) matrix is Julia's (k, m) array holding the same
# bytes, i.e. its transpose, so Python's A(m,k) @ B(k,n) = C(m,n) is Julia's C(n,m) = B(n,k) * A(k,m):
# BLAS runs on the buffers as they are, with no transposes or copies.

_mm_type(a, b) = _acc(promote_dtype(eltype(a), eltype(b)))

"Flops (2mnk) from which a product is split across Julia's threads."
const GEMM_THREAD_MIN = 1 << 22

"""
    _pgemm!(tA, tB, alpha, A, B, beta, C)

`gemm!` (blas.jl: C = alpha op(A) op(B) + beta C) with the columns of C split across Julia's threads
when the product is large. OpenBLAS itself runs single-threaded when Julia has several threads
(see `__init__`): two thread pools spinning on the same cores slow each other down severalfold.
"""
function _pgemm!(tA::Char, tB::Char, alpha, A, B, beta, C)
    n = size(C, 2)
    k = tA == 'N' ? size(A, 2) : size(A, 1)
    nt = Threads.nthreads()
    if nt == 1 || n < 2nt || 2.0 * size(C, 1) * n * k < GEMM_THREAD_MIN
        return gemm!(tA, tB, alpha, A, B, beta, C)
    end
    Threads.@threads for t in 1:nt
        cols = (t - 1) * n ÷ nt + 1:t * n ÷ nt
        gemm!(tA, tB, alpha, A, tB == 'N' ? _cols(B, cols) : _rows(B, cols), beta, _cols(C, cols))
    end
    C
end

"Columns `cols` (rows `rows`) of a matrix, as a matrix over the same memory."
_cols(X::StridedMatrix, cols::UnitRange{Int}) = view(X, :, cols)
_rows(X::StridedMatrix, rows::UnitRange{Int}) = view(X, rows, :)
_cols(X::Strided{T,2}, cols::UnitRange{Int}) where {T} =
    Strided{T,2}(X.ptr + (first(cols) - 1) * X.strides[2] * sizeof(T), (size(X, 1), length(cols)), X.strides, X.owner)
_rows(X::Strided{T,2}, rows::UnitRange{Int}) where {T} =
    Strided{T,2}(X.ptr + (first(rows) - 1) * X.strides[1] * sizeof(T), (length(rows), size(X, 2)), X.strides, X.owner)

"C = A * B on plain matrices: BLAS for the LAPACK types, a plain loop for the others. (Calling
`mul!`, on views especially, costs seconds of compilation per element type; this costs little.)"
function _gemm!(C::Matrix{T}, A::Matrix{T}, B::Matrix{T}) where {T<:LinearAlgebra.BlasFloat}
    isempty(C) && return C
    size(A, 2) == 0 && return fill!(C, zero(T))
    _pgemm!('N', 'N', one(T), A, B, zero(T), C)
end
function _gemm!(C::Matrix{T}, A::Matrix{T}, B::Matrix{T}) where {T}
    fill!(C, zero(T))
    @inbounds for j in axes(B, 2), l in axes(A, 2)
        b = B[l, j]
        @simd for i in axes(A, 1)
            C[i, j] += A[i, l] * b
        end
    end
    C
end

"Matrix `j` of a 3-d array, as a plain Matrix over the same memory (the caller keeps X alive)."
_slice(X::Array{T,3}, j::Int) where {T} =
    unsafe_wrap(Array, pointer(X, (j - 1) * size(X, 1) * size(X, 2) + 1), (size(X, 1), size(X, 2)))
_pyshape(x) = reverse(size(x))

function _matmul(a, b)
    na, nb = ndims(a), ndims(b)
    (na == 0 || nb == 0) &&
        throw(ArgumentError("matmul: both arguments need at least one dimension, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    if a isa Strided && b isa Strided && eltype(a) === eltype(b) && eltype(a) <: LinearAlgebra.BlasFloat
        return _matmul_strided(a, b)
    end
    T = _mm_type(a, b)
    R = promote_dtype(eltype(a), eltype(b))
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
    C = alloc(T, n, m, batch...)
    A3 = reshape(A2, size(A2, 1), m, prod(bA))
    B3 = reshape(B2, n, size(B2, 2), prod(bB))
    C3 = reshape(C, n, m, prod(batch))
    ia = LinearIndices(bA); ib = LinearIndices(bB)
    GC.@preserve A3 B3 C3 for (k, I) in enumerate(CartesianIndices(batch))
        ja = ia[CartesianIndex(ntuple(d -> bA[d] == 1 ? 1 : I[d], length(bA)))]
        jb = ib[CartesianIndex(ntuple(d -> bB[d] == 1 ? 1 : I[d], length(bB)))]
        _gemm!(_slice(C3, k), _slice(B3, jb), _slice(A3, ja))
    end
    dropped = (nb == 1 ? (1,) : ())..., (na == 1 ? (2,) : ())...
    out = isempty(dropped) ? C : dropdims(C; dims = dropped)
    _restore(R, out)
end
"The meta shape function of `_matmul`: the same checks, the product's size and promoted type."
function _matmul(a::MetaArray, b::MetaArray)
    na, nb = ndims(a), ndims(b)
    (na == 0 || nb == 0) &&
        throw(ArgumentError("matmul: both arguments need at least one dimension, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    sa = na == 1 ? (size(a, 1), 1) : size(a)
    sb = nb == 1 ? (1, size(b, 1)) : size(b)
    sa[1] == sb[2] || throw(DimensionMismatch(
        "matmul: shapes $(_pyshape(a)) and $(_pyshape(b)) cannot be multiplied ($(sa[1]) != $(sb[2]))"))
    batch = broadcast_size(sa[3:end], sb[3:end])
    MetaArray{_meta_promote(eltype(a), eltype(b))}(((nb == 1 ? () : (sb[1],))..., (na == 1 ? () : (sa[2],))..., batch...))
end
# ---- matmul straight from the operands' memory -----------------------------------------------------
# Operands of one BLAS type are handed to gemm as they lie: a matrix whose columns or rows are
# contiguous (a transposed view such as `w.T` included) is read with the 'N' or 'T' flag and its
# leading dimension, batches are pointer offsets, and only a matrix with neither layout is copied.

"A matrix view of `n` rows, `c` columns and strides `s` at `p` (a gemm operand; the caller roots the memory)."
_mat(p::Ptr{T}, r::Int, c::Int, s1::Int, s2::Int) where {T} = Strided{T,2}(p, (r, c), (s1, s2), nothing)

"""
    _gemm_operand(p, r, c, s1, s2) -> (flag, matrix, owner)

How gemm reads the Julia-order (r, c) matrix with element strides (s1, s2) at `p`: as stored ('N')
when columns are contiguous, as the transpose of a (c, r) matrix ('T') when rows are, otherwise from
a packed copy (`owner` keeps it alive).
"""
function _gemm_operand(p::Ptr{T}, r::Int, c::Int, s1::Int, s2::Int) where {T}
    if (s1 == 1 || r == 1) && (c == 1 || s2 >= max(r, 1))
        return 'N', _mat(p, r, c, 1, c == 1 ? max(r, 1) : s2), nothing
    elseif (s2 == 1 || c == 1) && (r == 1 || s1 >= max(c, 1))
        return 'T', _mat(p, c, r, 1, r == 1 ? max(c, 1) : s1), nothing
    end
    A = dense(Strided{T,2}(p, (r, c), (s1, s2), nothing))
    'N', _mat(pointer(A), r, c, 1, max(r, 1)), A
end

"Sizes and strides of `x` with its dims from 3 on merged into dim 2 when memory allows (else nothing)."
function _fold_batch(x::Strided{T,N}) where {T,N}
    cols, s2 = x.size[2], x.strides[2]
    for d in 3:N
        x.size[d] == 1 && continue
        cols == 1 ? (s2 = x.strides[d]) : (x.strides[d] == s2 * cols || return nothing)
        cols *= x.size[d]
    end
    (x.size[1], cols), (x.strides[1], s2)
end

"""
    _matmul_strided(a, b)

Python's `a @ b` for operands of one BLAS element type (Julia order: `a` is (k, m, batch...), `b`
is (n, k, batch...), the result (n, m, batch...) = b * a per batch), with no copies of operands
whose rows or columns are contiguous. Leading batch dims broadcast; when `b` is one matrix and `a`'s
batch dims are laid out evenly, the whole batch is one gemm.
"""
function _matmul_strided(a::Strided{T,NA}, b::Strided{T,NB}) where {T,NA,NB}
    # 1-d operands: Python (k,) @ ... is a (1, k) row; ... @ (k,) is a (k, 1) column
    A = NA == 1 ? Strided{T,2}(a.ptr, (a.size[1], 1), (a.strides[1], a.size[1] * a.strides[1]), nothing) : a
    B = NB == 1 ? Strided{T,2}(b.ptr, (1, b.size[1]), (b.size[1] * b.strides[1], b.strides[1]), nothing) : b
    k, m, n = size(A, 1), size(A, 2), size(B, 1)
    k == size(B, 2) || throw(DimensionMismatch(
        "matmul: shapes $(_pyshape(a)) and $(_pyshape(b)) cannot be multiplied ($k != $(size(B, 2)))"))
    bA, bB = size(A)[3:end], size(B)[3:end]
    batch = broadcast_size(bA, bB)
    folded = ndims(B) == 2 && ndims(A) > 2 ? _fold_batch(A) : nothing
    if folded !== nothing   # one gemm over the whole batch of `a`
        (k, mm), (s1, s2) = folded
        A = Strided{T,2}(A.ptr, (k, mm), (s1, s2), nothing)
        m, batch = mm, ()
    end
    C = alloc(T, n, m, batch...)
    if !isempty(C)
        GC.@preserve a b C (_shared_batch_gemm!(C, A, B, batch) || _gemm_batches!(C, A, B, batch))
    end
    folded === nothing || (C = reshape(C, n, size(a, 2), size(a)[3:end]...))
    dropped = (NB == 1 ? (1,) : ())..., (NA == 1 ? (2,) : ())...
    isempty(dropped) ? C : dropdims(C; dims = dropped)
end

function _gemm_batches!(C::Array{T}, A::Strided{T}, B::Strided{T}, batch::Tuple) where {T}
    k, m, n = size(A, 1), size(A, 2), size(B, 1)
    if k == 0
        fill!(C, zero(T))
        return C
    end
    for (j, I) in enumerate(CartesianIndices(batch))
        fb, Bm, ob = _gemm_operand(B.ptr + _batch_offset(B, I) * sizeof(T), n, k, B.strides[1], B.strides[2])
        fa, Am, oa = _gemm_operand(A.ptr + _batch_offset(A, I) * sizeof(T), k, m, A.strides[1], A.strides[2])
        Cm = _mat(pointer(C, (j - 1) * n * m + 1), n, m, 1, max(n, 1))
        GC.@preserve ob oa _pgemm!(fb, fa, one(T), Bm, Am, zero(T), Cm)
    end
    C
end

"True when every batch of `X` (dims from 3 on) is the same matrix (size-1 or stride-0 dims)."
_shared(X::Strided) = all(d -> X.size[d] == 1 || X.strides[d] == 0, 3:ndims(X))

"""
    _shared_batch_gemm!(C, A, B, batch) -> Bool

The whole batch as one product when one operand is the same matrix in every batch (an expanded,
stride-0 view: vmap's per-example copies of a shared weight) and the other contributes one vector
per batch: C[:, :, j] = B_j A with B_j a row (n == 1) is row j of Bs A, and B A_j with A_j a column
(m == 1) is column j of B As. False (nothing done) for any other layout.
"""
function _shared_batch_gemm!(C::Array{T}, A::Strided{T}, B::Strided{T}, batch::Tuple) where {T}
    isempty(batch) && return false
    k, m, n = size(A, 1), size(A, 2), size(B, 1)
    nb = prod(batch)
    if n == 1 && _shared(A) && size(B)[3:end] == batch
        vecs = _fold_batch(Strided{T,ndims(B) - 1}(B.ptr, size(B)[2:end], B.strides[2:end], nothing))
        vecs === nothing && return false
        fa, Am, oa = _gemm_operand(A.ptr, k, m, A.strides[1], A.strides[2])
        fv, Vm, ov = _gemm_operand(B.ptr, k, nb, vecs[2]...)
        GC.@preserve oa ov _pgemm!(fa == 'N' ? 'T' : 'N', fv, one(T), Am, Vm, zero(T), _mat(pointer(C), m, nb, 1, max(m, 1)))
        return true
    elseif m == 1 && _shared(B) && size(A)[3:end] == batch
        vecs = _fold_batch(Strided{T,ndims(A) - 1}(A.ptr, (size(A, 1), size(A)[3:end]...), (A.strides[1], A.strides[3:end]...), nothing))
        vecs === nothing && return false
        fb, Bm, ob = _gemm_operand(B.ptr, n, k, B.strides[1], B.strides[2])
        fv, Vm, ov = _gemm_operand(A.ptr, k, nb, vecs[2]...)
        GC.@preserve ob ov _pgemm!(fb, fv, one(T), Bm, Vm, zero(T), _mat(pointer(C), n, nb, 1, max(n, 1)))
        return true
    end
    false
end

"Element offset in `X` (batch dims from 3 on) of index `I` of the broadcast batch shape: dims of
size 1, and dims `X` lacks, repeat."
function _batch_offset(X::Strided, I::CartesianIndex)
    o = 0
    for d in 1:ndims(X) - 2
        X.size[d + 2] == 1 || (o += (I[d] - 1) * X.strides[d + 2])
    end
    o
end

defop("matmul(input: Tensor, other: Tensor) -> Tensor", _matmul; batch = "matmul",
      grad = ["input" => "matmul_backward_input(grad, input, other)",
              "other" => "matmul_backward_other(grad, input, other)"],
      doc = "Matrix product with NumPy/PyTorch semantics: 1-d operands are vectors, leading dims broadcast as batches.")

function _mm(a, b)
    (ndims(a) == 2 && ndims(b) == 2) ||
        throw(ArgumentError("mm: expected 2-d tensors, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    _matmul(a, b)
end
_mm(a::MetaArray, b::MetaArray) = invoke(_mm, Tuple{Any,Any}, a, b)   # checks, then meta _matmul
defop("mm(input: Tensor, mat2: Tensor) -> Tensor", _mm;
      grad = ["input" => "matmul_backward_input(grad, input, mat2)", "mat2" => "matmul_backward_other(grad, input, mat2)"],
      doc = "Product of two matrices.")
function _bmm(a, b)
    (ndims(a) == 3 && ndims(b) == 3 && size(a, 3) == size(b, 3)) ||
        throw(ArgumentError("bmm: expected 3-d tensors with equal batch sizes, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    _matmul(a, b)
end
_bmm(a::MetaArray, b::MetaArray) = invoke(_bmm, Tuple{Any,Any}, a, b)
defop("bmm(input: Tensor, mat2: Tensor) -> Tensor", _bmm;
      grad = ["input" => "matmul_backward_input(grad, input, mat2)", "mat2" => "matmul_backward_other(grad, input, mat2)"],
      doc = "Batched product of (b, n, m) and (b, m, p) tensors.")
function _dot(a, b)
    (ndims(a) == 1 && ndims(b) == 1 && length(a) == length(b)) ||
        throw(ArgumentError("dot: expected two 1-d tensors of equal length, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    _matmul(a, b)
end
_dot(a::MetaArray, b::MetaArray) = invoke(_dot, Tuple{Any,Any}, a, b)
defop("dot(input: Tensor, other: Tensor) -> Tensor", _dot;
      grad = ["input" => "grad * cj(other)", "other" => "grad * cj(input)"],
      doc = "Inner product of two vectors (no conjugation).")
function _outer(a, b)
    (ndims(a) == 1 && ndims(b) == 1) ||
        throw(ArgumentError("outer: expected two 1-d tensors, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    T = promote_dtype(eltype(a), eltype(b))
    check_size(T, (length(b), length(a)))
    apply(*, compute_type(T), T, reshape(dense(b), length(b), 1), reshape(dense(a), 1, length(a)))
end
function _outer(a::MetaArray, b::MetaArray)
    (ndims(a) == 1 && ndims(b) == 1) ||
        throw(ArgumentError("outer: expected two 1-d tensors, got shapes $(_pyshape(a)) and $(_pyshape(b))"))
    MetaArray{_meta_promote(eltype(a), eltype(b))}((length(b), length(a)))
end
defop("outer(input: Tensor, vec2: Tensor) -> Tensor", _outer;
      grad = ["input" => "grad @ cj(vec2)", "vec2" => "cj(input) @ grad"],
      doc = "Outer product: out[i, j] = input[i] * vec2[j].")

# ==================================================================================================
# Products of several dims: tensordot, kron, trace, cross, vecdot, matrix_power, multi_dot.
# (einsum, which tensordot shares its contraction core with, is in ops/einsum.jl.)

"Python-order size tuple (`_pyshape` is for messages: ops/shape.jl makes it a string)."
_pysize(x) = reverse(size(x))

"Julia dim of Python dim `d` (may be negative) of an `nd`-dim tensor; ArgumentError when out of range."
function _jdim(name, d::Integer, nd::Integer)
    n = max(nd, 1)
    -n <= d < n || throw(ArgumentError("$name: dimension out of range (expected to be in range of [$(-n), $(n - 1)], but got $d)"))
    nd == 0 ? 1 : nd - (d < 0 ? d + n : d)
end

function _tensordot(name, a, b, dims)
    na, nb = ndims(a), ndims(b)
    D = dense(dims)
    if length(D) == 1 && ndims(D) <= 1
        k = Int(D[1])
        k >= 0 || throw(ArgumentError("$name: dims must be a non-negative integer, got $k"))
        (k <= na && k <= nb) || throw(ArgumentError(
            "$name: cannot contract the last $k dims of shape $(_pyshape(a)) with the first $k dims of shape $(_pyshape(b))"))
        da = collect(na - k:na - 1); db = collect(0:k - 1)
    else
        (ndims(D) == 2 && size(D, 2) == 2) || throw(ArgumentError(
            "$name: dims must be an int or a pair of lists of equal length, got an array of shape $(_pyshape(D))"))
        da = [Int(D[i, 1]) for i in 1:size(D, 1)]; db = [Int(D[i, 2]) for i in 1:size(D, 1)]
    end
    ja = [_jdim(name, d, na) for d in da]; jb = [_jdim(name, d, nb) for d in db]
    (allunique(ja) && allunique(jb)) || throw(ArgumentError("$name: a dim appears twice in dims $(da), $(db)"))
    for i in eachindex(ja)
        size(a, ja[i]) == size(b, jb[i]) || throw(DimensionMismatch(
            "$name: contracted dimensions need to match, but the first has size $(size(a, ja[i])) in dim $(da[i]) and the second has size $(size(b, jb[i])) in dim $(db[i])"))
    end
    ints = length(D) == 1 && ndims(D) <= 1
    ints && _tensordot_gemm_ok(a, b, length(ja)) && return _tensordot_gemm(a, b, length(ja))
    # Labels: contracted pair i gets i; free dims of a and b get fresh labels.
    la = alloc_zeros(Int, na); lb = alloc_zeros(Int, nb)
    for i in eachindex(ja)
        la[ja[i]] = i; lb[jb[i]] = i
    end
    next = length(ja)
    for d in 1:na
        la[d] == 0 && (la[d] = (next += 1))
    end
    for d in 1:nb
        lb[d] == 0 && (lb[d] = (next += 1))
    end
    # Python result = (free a..., free b...); Julia order is the reverse: (free b, free a), each in Julia order.
    out = vcat([l for l in lb if l > length(ja)], [l for l in la if l > length(ja)])
    _einsum_arrays(name, _operands(a, b), [la, lb], out)
end
"""
Whether tensordot over the last `k` dims of `a` and the first `k` of `b` (an int `dims`) can run as
one matrix product of the operands' own memory: both dense, of one BLAS type, nothing empty.
"""
_tensordot_gemm_ok(a, b, k::Int) = false
_tensordot_gemm_ok(a::Strided{T}, b::Strided{T}, k::Int) where {T<:LinearAlgebra.BlasFloat} =
    length(a) > 0 && length(b) > 0 && iscontiguous(a) && iscontiguous(b)

"""
tensordot over the last `k` dims of `a` and the first `k` of `b` (Python order) as one product:
in Julia order a is a (K, Ma) matrix, b an (Nb, K) one and the result (Nb, Ma) = b * a, the
product the einsum planner chooses for this case, without its planning (57 µs of its 75 at
(128, 8, 8) x (8, 8, 128)).
"""
function _tensordot_gemm(a::Strided{T}, b::Strided{T}, k::Int) where {T}
    na, nb = ndims(a), ndims(b)
    K = _prodrange(size(a), 1, k)
    Ma, Nb = length(a) ÷ K, length(b) ÷ K
    out = alloc_out(T, (ntuple(i -> size(b, i), nb - k)..., ntuple(i -> size(a, k + i), na - k)...))
    GC.@preserve a b out begin
        A = unsafe_wrap(Array, a.ptr, (K, Ma)); B = unsafe_wrap(Array, b.ptr, (Nb, K))
        _pgemm!('N', 'N', one(T), B, A, zero(T), unsafe_wrap(Array, pointer(out), (Nb, Ma)))
    end
    out
end

"The operand list of a contraction: meta operands as a MetaArray list, so `_einsum_arrays` dispatches to its meta method."
_operands(a, b) = Any[a, b]
_operands(a::MetaArray, b::MetaArray) = MetaArray[a, b]
"Kernels of tensordot and linalg.tensordot (dims: a CPU tensor of ints, read even for meta operands)."
_tensordot_kernel(a, b, d) = _tensordot("tensordot", a, b, d)
_tensordot_kernel(a::MetaArray, b::MetaArray, d) = _tensordot("tensordot", a, b, _host_dims("tensordot", d))
_linalg_tensordot(a, b, d) = _tensordot("linalg.tensordot", a, b, d)
_linalg_tensordot(a::MetaArray, b::MetaArray, d) = _tensordot("linalg.tensordot", a, b, _host_dims("linalg.tensordot", d))
_host_dims(name, d) = d isa MetaArray ?
    throw(ArgumentError("$name: dims must be integers (a CPU tensor), not a meta tensor: its values give the result's shape")) : d
defop("tensordot(a: Tensor, b: Tensor, dims: Tensor = 2) -> Tensor", _tensordot_kernel;
      method = false,
      grad = ["a" => "tensordot_backward(grad, a, b, dims, 0)", "b" => "tensordot_backward(grad, a, b, dims, 1)"],
      doc = "Sum of products over dims: an int k contracts the last k dims of a with the first k of b; a pair of lists ([da...], [db...]) contracts a's dims da[i] with b's dims db[i]. The result has a's free dims, then b's.")

function _kron(a, b)
    n = max(ndims(a), ndims(b))
    sa = ntuple(d -> size(a, d), n); sb = ntuple(d -> size(b, d), n)   # Python leading 1s = Julia trailing
    check_size(promote_dtype(eltype(a), eltype(b)), ntuple(d -> mul_size(sa[d], sb[d]), n))
    # Python index i*size(b) + j has b's index fastest: an outer product with Julia dims
    # (b_1, a_1, b_2, a_2, ...), reshaped to (b_1*a_1, ...).
    A = reshape(dense(a), sa); B = reshape(dense(b), sb)
    C = _einsum_arrays("kron", Any[A, B], [collect(2:2:2n), collect(1:2:2n)], collect(1:2n))
    reshape(C, ntuple(d -> sa[d] * sb[d], n))
end
function _kron(a::MetaArray, b::MetaArray)
    n = max(ndims(a), ndims(b))
    MetaArray{_meta_promote(eltype(a), eltype(b))}(ntuple(d -> mul_size(size(a, d), size(b, d)), n))
end
defop("kron(input: Tensor, other: Tensor) -> Tensor", _kron;
      grad = ["input" => "kron_backward(grad, input, other, 0)", "other" => "kron_backward(grad, input, other, 1)"],
      doc = "Kronecker product; the operands are padded with leading size-1 dims to the same rank.")

"Diagonal of Julia dims (j1, j2) with Python offset (j = i + offset), as a new array with the diagonal first (Python: last)."
function _diagonal_of(A::AbstractArray, j1::Int, j2::Int, offset::Int)
    nd = ndims(A)
    rest = [d for d in 1:nd if d != j1 && d != j2]
    P = permutedims(A, vcat([j1, j2], rest))
    n1, n2 = size(P, 1), size(P, 2)
    nr = prod(size(P)[3:end])
    P3 = reshape(P, n1, n2, nr)
    i0, k0 = offset >= 0 ? (0, offset) : (-offset, 0)
    L = max(0, min(n1 - i0, n2 - k0))
    out = alloc(eltype(A), L, nr)
    @inbounds for r in 1:nr, t in 1:L
        out[t, r] = P3[i0 + t, k0 + t, r]
    end
    reshape(out, L, size(P)[3:end]...)
end

function _linalg_diagonal(A, offset, j1, j2)
    ndims(A) >= 2 || throw(ArgumentError("linalg.diagonal: expected a tensor with at least 2 dimensions, got shape $(_pyshape(A))"))
    j1 == j2 && throw(ArgumentError("linalg.diagonal: dim1 and dim2 cannot be the same dimension"))
    # Python dim1 indexes rows i, dim2 columns j = i + offset.
    _diagonal_of(dense(A), j1, j2, offset)
end
"The size `_diagonal_of` gives: the diagonal's length first, then the other dims."
function _diagonal_of(A::MetaArray, j1::Int, j2::Int, offset::Int)
    i0, k0 = offset >= 0 ? (0, offset) : (-offset, 0)
    L = max(0, min(size(A, j1) - i0, size(A, j2) - k0))
    meta_like(A, eltype(A), (L, (size(A, d) for d in 1:ndims(A) if d != j1 && d != j2)...))
end
function _linalg_diagonal(A::MetaArray, offset, j1, j2)
    ndims(A) >= 2 || throw(ArgumentError("linalg.diagonal: expected a tensor with at least 2 dimensions, got shape $(_pyshape(A))"))
    j1 == j2 && throw(ArgumentError("linalg.diagonal: dim1 and dim2 cannot be the same dimension"))
    _diagonal_of(A, j1, j2, offset)
end
defop("diagonal(A: Tensor, *, offset: int = 0, dim1: Dim = -2, dim2: Dim = -1) -> Tensor", _linalg_diagonal;
      namespace = "linalg", method = false,
      grad = ["A" => "diagonal_backward(grad, A, offset, dim1, dim2)"],
      doc = "Diagonals A[..., i, i + offset] of the matrices over (dim1, dim2), as the last dim of a new tensor.")

_sumtype(T) = T <: Union{Bool,Integer} ? Int64 : T
function _trace_of(name, x, offset, dtype)
    ndims(x) >= 2 || throw(ArgumentError("$name: expected a tensor with at least 2 dimensions, got shape $(_pyshape(x))"))
    T = dtype === nothing ? _sumtype(eltype(x)) : dtype
    D = _diagonal_of(as_dense(_acc(T), x), 2, 1, offset)
    r = dropdims(sum(D; dims = 1); dims = 1)
    _restore(T, r)
end
function _trace_of(name, x::MetaArray, offset, dtype)
    ndims(x) >= 2 || throw(ArgumentError("$name: expected a tensor with at least 2 dimensions, got shape $(_pyshape(x))"))
    meta_like(x, dtype === nothing ? _sumtype(eltype(x)) : dtype, size(x)[3:end])
end
function _trace(x)
    ndims(x) == 2 || throw(ArgumentError("trace: expected a matrix, but got a tensor of shape $(_pyshape(x))"))
    _trace_of("trace", x, 0, nothing)
end
_trace(x::MetaArray) = invoke(_trace, Tuple{Any}, x)
defop("trace(input: Tensor) -> Tensor", _trace;
      grad = ["input" => "trace_backward(grad, input, 0)"],
      doc = "Sum of the main diagonal of a 2-d tensor (integers and bools sum in int64).")
_linalg_trace(x, o, t) = _trace_of("linalg.trace", x, o, t)
_linalg_trace(x::MetaArray, o, t) = _trace_of("linalg.trace", x, o, t)
defop("trace(x: Tensor, /, *, offset: int = 0, dtype: DType = None) -> Tensor",
      _linalg_trace; namespace = "linalg", method = false,
      grad = ["x" => "trace_backward(grad, x, offset)"],
      doc = "Sums of the diagonals x[..., i, i + offset] of the matrices over the last two dims.")

"x and y broadcast to a common size and viewed as (before, size at Julia dim d, after) arrays of type T."
function _bcast3(name, T, x, y, d::Int)
    sz = try
        broadcast_size(size(x), size(y))
    catch e
        e isa DimensionMismatch || rethrow()
        throw(DimensionMismatch("$name: shapes $(_pyshape(x)) and $(_pyshape(y)) cannot be broadcast together"))
    end
    X = owned(broadcast_to(Strided(as_dense(T, x)), sz))
    Y = owned(broadcast_to(Strided(as_dense(T, y)), sz))
    sh = (prod(sz[1:d-1]), d <= length(sz) ? sz[d] : 1, prod(sz[d+1:end]))
    reshape(X, sh), reshape(Y, sh), sz
end

"The broadcast size of x and y, with `_bcast3`'s error."
function _bcast_size(name, x, y)
    try
        broadcast_size(size(x), size(y))
    catch e
        e isa DimensionMismatch || rethrow()
        throw(DimensionMismatch("$name: shapes $(_pyshape(x)) and $(_pyshape(y)) cannot be broadcast together"))
    end
end
function _cross(name, x::MetaArray, y::MetaArray, d::Int)
    sz = _bcast_size(name, x, y)
    (d <= length(sz) ? sz[d] : 1) == 3 || throw(DimensionMismatch(
        "$name: the cross-product dimension must have size 3, got shapes $(_pyshape(x)) and $(_pyshape(y))"))
    MetaArray{_meta_promote(eltype(x), eltype(y))}(sz)
end
function _cross(name, x, y, d::Int)
    R = promote_dtype(eltype(x), eltype(y))
    T = _acc(R)
    X, Y, sz = _bcast3(name, T, x, y, d)
    size(X, 2) == 3 || throw(DimensionMismatch(
        "$name: the cross-product dimension must have size 3, got shapes $(_pyshape(x)) and $(_pyshape(y))"))
    out = _cross3(X, Y)
    _restore(R, reshape(out, sz))
end
function _cross3(X::Array{T,3}, Y::Array{T,3}) where {T}
    out = similar(X)
    @inbounds for k in axes(X, 3), i in axes(X, 1)
        x1, x2, x3 = X[i, 1, k], X[i, 2, k], X[i, 3, k]
        y1, y2, y3 = Y[i, 1, k], Y[i, 2, k], Y[i, 3, k]
        out[i, 1, k] = x2 * y3 - x3 * y2
        out[i, 2, k] = x3 * y1 - x1 * y3
        out[i, 3, k] = x1 * y2 - x2 * y1
    end
    out
end
_cross_kernel(x, y, d) = _cross("cross", x, y, d)
_cross_kernel(x::MetaArray, y::MetaArray, d) = _cross("cross", x, y, d)
_linalg_cross(x, y, d) = _cross("linalg.cross", x, y, d)
_linalg_cross(x::MetaArray, y::MetaArray, d) = _cross("linalg.cross", x, y, d)
defop("cross(input: Tensor, other: Tensor, dim: Dim = -1) -> Tensor", _cross_kernel;
      grad = ["input" => "cross(other, grad, dim)", "other" => "cross(grad, input, dim)"],
      doc = "Cross product of 3-vectors along dim (size 3), with broadcasting.")
defop("cross(input: Tensor, other: Tensor, *, dim: Dim = -1) -> Tensor", _linalg_cross;
      grad = ["input" => "cross(other, grad, dim)", "other" => "cross(grad, input, dim)"],
      namespace = "linalg", method = false, doc = "Cross product of 3-vectors along dim (size 3), with broadcasting.")

function _vecdot(name, x::MetaArray, y::MetaArray, d::Int)
    max(ndims(x), ndims(y)) >= 1 || throw(ArgumentError("$name: expected tensors with at least one dimension"))
    sz = _bcast_size(name, x, y)
    MetaArray{_meta_promote(eltype(x), eltype(y))}(ntuple(i -> i < d ? sz[i] : sz[i + 1], length(sz) - 1))
end
function _vecdot(name, x, y, d::Int)
    R = promote_dtype(eltype(x), eltype(y))
    T = _acc(R)
    max(ndims(x), ndims(y)) >= 1 || throw(ArgumentError("$name: expected tensors with at least one dimension"))
    X, Y, sz = _bcast3(name, T, x, y, d)
    out = _vecdot3(X, Y)
    _restore(R, reshape(out, ntuple(i -> i < d ? sz[i] : sz[i + 1], length(sz) - 1)))
end
function _vecdot3(X::Array{T,3}, Y::Array{T,3}) where {T}
    out = alloc_zeros(T, size(X, 1), size(X, 3))
    @inbounds for k in axes(X, 3), j in axes(X, 2), i in axes(X, 1)
        out[i, k] += conj(X[i, j, k]) * Y[i, j, k]
    end
    out
end
_vecdot_kernel(x, y, d) = _vecdot("vecdot", x, y, d)
_vecdot_kernel(x::MetaArray, y::MetaArray, d) = _vecdot("vecdot", x, y, d)
_linalg_vecdot(x, y, d) = _vecdot("linalg.vecdot", x, y, d)
_linalg_vecdot(x::MetaArray, y::MetaArray, d) = _vecdot("linalg.vecdot", x, y, d)
defop("vecdot(x: Tensor, y: Tensor, *, dim: Dim = -1) -> Tensor", _vecdot_kernel;
      grad = ["x" => "vecdot_backward(grad, x, y, dim, 0)", "y" => "vecdot_backward(grad, x, y, dim, 1)"],
      method = false, doc = "Dot products sum(conj(x) * y) along dim, with broadcasting (x is conjugated when complex).")
defop("vecdot(x: Tensor, y: Tensor, *, dim: Dim = -1) -> Tensor", _linalg_vecdot;
      grad = ["x" => "vecdot_backward(grad, x, y, dim, 0)", "y" => "vecdot_backward(grad, x, y, dim, 1)"],
      namespace = "linalg", method = false,
      doc = "Dot products sum(conj(x) * y) along dim, with broadcasting (x is conjugated when complex).")

"Python (..., r, c) as a dense Julia (c, r, nbatch) array of type T (may alias x) and the batch size."
function _stack(name, T, x)
    ndims(x) >= 2 || throw(ArgumentError("$name: expected a tensor with at least 2 dimensions (..., m, n), got shape $(_pyshape(x))"))
    A = as_dense(T, x)
    b = size(A)[3:end]
    reshape(A, size(A, 1), size(A, 2), prod(b)), b
end
"The batch size (dims from 3 on) of a meta (..., r, c) tensor, with `_stack`'s check."
function _stack(name, T, x::MetaArray)
    ndims(x) >= 2 || throw(ArgumentError("$name: expected a tensor with at least 2 dimensions (..., m, n), got shape $(_pyshape(x))"))
    x, size(x)[3:end]
end
function _square(name, x)
    size(x, 1) == size(x, 2) || throw(ArgumentError(
        "$name: A must be batches of square matrices, but they are $(size(x, 2)) by $(size(x, 1)) matrices"))
end

function _matpow(A::Matrix{T}, n::Int) where {T}
    R = Matrix{T}(I, size(A)...)
    n == 0 && return R
    P = copy(A); tmp = similar(R)
    first = true
    while n > 0
        if isodd(n)
            if first
                R = copy(P); first = false
            else
                _gemm!(tmp, R, P); R, tmp = tmp, R
            end
        end
        n >>= 1
        n > 0 && (P = _gemm!(similar(P), P, P))
    end
    R
end
function _matrix_power(name, x, n)
    R = eltype(x)
    (n < 0 && !(R <: Union{AbstractFloat,Complex})) &&
        throw(DTypeError("$name: negative powers need a floating point or complex tensor, got $R"))
    T = _acc(R)
    A3, b = _stack(name, T, x)
    _square(name, A3)
    m = size(A3, 1)
    out = alloc(T, m, m, size(A3, 3))
    for k in 1:size(A3, 3)
        S = A3[:, :, k]                     # Julia sees Aᵀ, and (Aᵀ)ⁿ = (Aⁿ)ᵀ: no transposes needed
        if n < 0
            S = _inv_slice(name, S, k, size(A3, 3))
        end
        out[:, :, k] = _matpow(S, abs(n))
    end
    _restore(R, reshape(out, m, m, b...))
end
function _matrix_power(name, x::MetaArray, n)
    R = eltype(x)
    (n < 0 && !(R <: Union{AbstractFloat,Complex})) &&
        throw(DTypeError("$name: negative powers need a floating point or complex tensor, got $R"))
    _square(name, first(_stack(name, R, x)))
    meta_like(x)
end
_matrix_power_kernel(x, n) = _matrix_power("matrix_power", x, n)
_matrix_power_kernel(x::MetaArray, n) = _matrix_power("matrix_power", x, n)
_linalg_matrix_power(x, n) = _matrix_power("linalg.matrix_power", x, n)
_linalg_matrix_power(x::MetaArray, n) = _matrix_power("linalg.matrix_power", x, n)
defop("matrix_power(input: Tensor, n: int) -> Tensor", _matrix_power_kernel;
      grad = ["input" => "matrix_power_backward(grad, input, n)"],
      doc = "n-th power of square matrices (batched); n = 0 gives the identity, n < 0 powers the inverse.")
defop("matrix_power(A: Tensor, n: int) -> Tensor", _linalg_matrix_power;
      grad = ["A" => "matrix_power_backward(grad, A, n)"],
      namespace = "linalg", method = false,
      doc = "n-th power of square matrices (batched); n = 0 gives the identity, n < 0 powers the inverse.")

"""The checks of a `multi_dot` chain (CPU or meta arrays), and its matrix sizes: `dims[i]` by
`dims[i + 1]` is matrix i in Python shapes, where a leading 1-d is (1, n) and a trailing 1-d (n, 1)."""
function _chain_dims(ts)
    k = length(ts)
    k >= 2 || throw(ArgumentError("linalg.multi_dot: expected at least 2 tensors, got $k"))
    for (i, t) in enumerate(ts)
        nd = ndims(t)
        ok = (i == 1 || i == k) ? nd in (1, 2) : nd == 2
        ok || throw(ArgumentError("linalg.multi_dot: tensor $(i - 1) must be 2-d$(i == 1 || i == k ? " or 1-d" : ""), got shape $(_pyshape(t))"))
    end
    dims = Int[]
    for (i, t) in enumerate(ts)
        ps = _pysize(t)
        r, c = length(ps) == 2 ? ps : (i == 1 ? (1, ps[1]) : (ps[1], 1))
        if i == 1
            push!(dims, r)
        elseif r != dims[end]
            throw(DimensionMismatch("linalg.multi_dot: tensors $(i - 2) and $(i - 1) cannot be multiplied (shapes $(_pyshape(ts[i - 1])) and $(_pyshape(t)))"))
        end
        push!(dims, c)
    end
    dims
end

function _multi_dot(ts)
    k = length(ts)
    dims = _chain_dims(ts)
    # Cheapest parenthesization (classic chain-order DP), then multiply with matmul.
    cost = alloc_zeros(Float64, k, k); split = alloc_zeros(Int, k, k)
    for len in 2:k, i in 1:k - len + 1
        j = i + len - 1
        cost[i, j] = Inf
        for s in i:j - 1
            c = cost[i, s] + cost[s + 1, j] + Float64(dims[i]) * dims[s + 1] * dims[j + 1]
            c < cost[i, j] && (cost[i, j] = c; split[i, j] = s)
        end
    end
    mats = Any[]
    for (i, t) in enumerate(ts)
        ndims(t) == 1 || (push!(mats, t); continue)
        d = dense(t)
        push!(mats, i == 1 ? reshape(d, length(d), 1) : reshape(d, 1, length(d)))  # Julia view of (1, n) / (n, 1)
    end
    prodof(i, j) = i == j ? mats[i] : _matmul(prodof(i, split[i, j]), prodof(split[i, j] + 1, j))
    r = prodof(1, k)
    drop = (ndims(ts[k]) == 1 ? (1,) : ())..., (ndims(ts[1]) == 1 ? (2,) : ())...
    isempty(drop) ? r : dropdims(r; dims = drop)
end
"""The meta shape function of `_multi_dot` (a list of MetaArrays): the same checks, the chain's
size (Python (rows of the first, columns of the last), 1-d ends dropped) and promoted type."""
function _multi_dot(ts::AbstractVector{<:MetaArray})
    k = length(ts)
    dims = _chain_dims(ts)
    out = ((ndims(ts[k]) == 1 ? () : (dims[end],))..., (ndims(ts[1]) == 1 ? () : (dims[1],))...)
    MetaArray{_meta_promote(map(eltype, ts)...)}(out)
end
defop("multi_dot(tensors: TensorList) -> Tensor", _multi_dot; namespace = "linalg", method = false,
      grad = ["tensors" => "multi_dot_backward(grad, tensors)"],
      doc = "Product of a chain of matrices in the cheapest order; the first and last may be vectors.")

# ==================================================================================================
# Decompositions and solvers (namespace linalg). Each works on batches (..., m, n) one matrix at a
# time through LAPACK. Julia sees each Python matrix A as S = Aᵀ, which several ops use directly:
#   det(S) = det(A); inv(S) = inv(A)ᵀ, i.e. Python's inverse in Julia layout; pinv likewise;
#   svd factors the transposed copy (A itself), for NumPy's singular-vector signs;
#   for Hermitian A, the Python lower triangle is S's upper one and S = conj(A): Cholesky and eigh
#   of Hermitian(S, :U) give Python's factors up to a transpose/conjugation (see each op).
# Half precision computes in Float32; integers and bools are rejected as by PyTorch.

"Thrown for a singular / not positive-definite input; Python raises jtensor.linalg.LinAlgError."
struct LinAlgError <: Exception
    msg::String
end
Base.showerror(io::IO, e::LinAlgError) = print(io, e.msg)

"The LAPACK type for stored type T (Float16/BFloat16 → Float32); DTypeError for integers and bools."
function _lapack_type(name, ::Type{T}) where {T}
    T <: Union{Float32,Float64,ComplexF32,ComplexF64} && return T
    T <: Union{Float16,BFloat16} && return Float32
    throw(DTypeError("$name: Expected a floating point or complex tensor as input. Got $T"))
end

_batchnote(k, nb) = nb > 1 ? "(Batch element $(k - 1)): " : ""

"Julia-layout inverse of one Julia slice (i.e. Python's inverse); LinAlgError when singular."
function _inv_slice(name, S::Matrix, k, nb)
    size(S, 1) == 0 && return S
    F = lu!(S; check = false)
    issuccess(F) || throw(LinAlgError(
        "$name: $(_batchnote(k, nb))The diagonal element $(F.info) is zero, the inversion could not be completed because the input matrix is singular."))
    LAPACK.getri!(F.factors, F.ipiv)
end

function _inv(name, x)
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    n, nb = size(A3, 1), size(A3, 3)
    out = alloc(T, n, n, nb)
    for k in 1:nb
        out[:, :, k] = _inv_slice(name, A3[:, :, k], k, nb)
    end
    _restore(R, reshape(out, n, n, b...))
end
function _inv(name, x::MetaArray)
    R = eltype(x); _lapack_type(name, R)
    _square(name, first(_stack(name, R, x)))
    meta_like(x)
end
_linalg_inv(x) = _inv("linalg.inv", x)
_linalg_inv(x::MetaArray) = _inv("linalg.inv", x)
_inverse(x) = _inv("inverse", x)
_inverse(x::MetaArray) = _inv("inverse", x)
defop("inv(A: Tensor) -> Tensor", _linalg_inv; namespace = "linalg", method = false,
      grad = ["A" => "-(result.mH @ grad @ result.mH)"],
      doc = "Inverse of square matrices (batched). Raises LinAlgError for a singular matrix.")
defop("inverse(input: Tensor) -> Tensor", _inverse;
      grad = ["input" => "-(result.mH @ grad @ result.mH)"],
      doc = "Inverse of square matrices (batched); same as linalg.inv.")

"(sign, log|det|) of one square matrix from its LU factors (sign 0 and -Inf when singular)."
function _slogdet_slice(S::Matrix{T}) where {T}
    R = real(T)
    size(S, 1) == 0 && return one(T), zero(R)
    F = lu!(S; check = false)
    s = one(T); la = zero(R)
    @inbounds for i in 1:size(S, 1)
        u = F.factors[i, i]
        if iszero(u)
            return zero(T), R(-Inf)
        end
        a = abs(u)
        s *= T <: Complex ? u / a : sign(u)
        la += log(a)
        F.ipiv[i] != i && (s = -s)
    end
    s, la
end

function _slogdet(name, x)
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    nb = size(A3, 3)
    sg = alloc(T, nb); la = alloc(real(T), nb)
    for k in 1:nb
        sg[k], la[k] = _slogdet_slice(A3[:, :, k])          # det(Aᵀ) = det(A)
    end
    _restore(R, reshape(sg, b)), _restore(real(R), reshape(la, b))
end
function _det(name, x)
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    nb = size(A3, 3)
    d = alloc(T, nb)
    for k in 1:nb
        d[k] = size(A3, 1) == 0 ? one(T) : det(lu!(A3[:, :, k]; check = false))
    end
    _restore(R, reshape(d, b))
end
function _logdet(x)
    s, la = _slogdet("logdet", x)
    T = eltype(s)
    r = T <: Complex ? log.(s) .+ la : map((si, l) -> si < 0 ? oftype(l, NaN) : l, s, la)
    _restore(T, r)
end
"The batch dims of square meta matrices, after the checks `_det` and `_slogdet` make."
function _meta_square_batch(name, x::MetaArray)
    _lapack_type(name, eltype(x))
    A, b = _stack(name, eltype(x), x)
    _square(name, A)
    b
end
_det(name, x::MetaArray) = meta_like(x, eltype(x), _meta_square_batch(name, x))
_slogdet(name, x::MetaArray) = (b = _meta_square_batch(name, x); (meta_like(x, eltype(x), b), meta_like(x, real(eltype(x)), b)))
_logdet(x::MetaArray) = first(_slogdet("logdet", x))
_linalg_det(x) = _det("linalg.det", x)
_linalg_det(x::MetaArray) = _det("linalg.det", x)
_det_kernel(x) = _det("det", x)
_det_kernel(x::MetaArray) = _det("det", x)
_linalg_slogdet(x) = _slogdet("linalg.slogdet", x)
_linalg_slogdet(x::MetaArray) = _slogdet("linalg.slogdet", x)
_slogdet_kernel(x) = _slogdet("slogdet", x)
_slogdet_kernel(x::MetaArray) = _slogdet("slogdet", x)
defop("det(A: Tensor) -> Tensor", _linalg_det; namespace = "linalg", method = false,
      grad = ["A" => "det_backward(grad, A, result)"],
      doc = "Determinants of square matrices (batched).")
defop("det(input: Tensor) -> Tensor", _det_kernel;
      grad = ["input" => "det_backward(grad, input, result)"],
      doc = "Determinants of square matrices (batched).")
defop("slogdet(A: Tensor) -> (sign: Tensor, logabsdet: Tensor)", _linalg_slogdet;
      grad = ["A" => "slogdet_backward(grad0, grad1, A, sign)"],
      namespace = "linalg", method = false,
      doc = "Sign (a unit complex number when complex, 0 when singular) and log of the absolute value of determinants.")
defop("slogdet(input: Tensor) -> (sign: Tensor, logabsdet: Tensor)", _slogdet_kernel;
      grad = ["input" => "slogdet_backward(grad0, grad1, input, sign)"],
      doc = "Sign and log of the absolute value of determinants; same as linalg.slogdet.")
defop("logdet(input: Tensor) -> Tensor", _logdet;
      grad = ["input" => "grad.unsqueeze(-1).unsqueeze(-1) * linalg.inv(input).mH"],
      doc = "Log of determinants (NaN for a negative real determinant, -inf for a singular matrix).")

"""The broadcast batch size of two stacked operands (Julia order) and, per batch element, the
indices (ja, jb) of the A and B slices it reads (a size-1 batch dim repeats)."""
function _paired_batches(name, A, B, bA, bB)
    batch = try
        broadcast_size(bA, bB)
    catch e
        e isa DimensionMismatch || rethrow()
        throw(DimensionMismatch("$name: batch dims of A $(_pyshape(A)) and B $(_pyshape(B)) cannot be broadcast"))
    end
    ia = LinearIndices(bA); ib = LinearIndices(bB)
    pairs = Tuple{Int,Int}[(ia[CartesianIndex(ntuple(d -> bA[d] == 1 ? 1 : Ix[d], length(bA)))],
                            ib[CartesianIndex(ntuple(d -> bB[d] == 1 ? 1 : Ix[d], length(bB)))])
                           for Ix in CartesianIndices(batch)]
    batch, pairs
end

"Solve A X = B (left) or X A = B for batches, PyTorch's vector rule, broadcasting batch dims."
function _solve(A, B, left::Bool)
    name = "linalg.solve"
    R = promote_dtype(eltype(A), eltype(B)); T = _lapack_type(name, R)
    ndims(A) >= 2 || throw(ArgumentError("$name: A must have at least 2 dimensions, got shape $(_pyshape(A))"))
    ndims(B) >= 1 || throw(ArgumentError("$name: B must have at least 1 dimension, got a scalar"))
    _square(name, A)
    n = size(A, 1)
    # PyTorch: B is a (batch of) vector(s) when 1-d, or when its shape is A's without the last dim.
    isvec = ndims(B) == 1 || (ndims(B) == ndims(A) - 1 && _pysize(B) == _pysize(A)[1:end-1])
    Bd = as_dense(T, B)
    B2 = isvec ? reshape(Bd, 1, size(Bd)...) : Bd            # Python (..., n) → (..., n, 1)
    # Julia slices: SA = Aᵀ (n, n), SB = Bᵀ (k, n) for left; for XA = B, SB = Bᵀ is (n, k).
    rhsdim = left ? size(B2, 2) : size(B2, 1)
    rhsdim == n || throw(DimensionMismatch(
        "$name: Incompatible shapes of A and B for the equation $(left ? "AX = B" : "XA = B") ($(n)x$(n) and $(size(B2, 2))x$(size(B2, 1)))"))
    A3, bA = _stack(name, T, A)
    bB = size(B2)[3:end]
    batch, pairs = _paired_batches(name, A, B, bA, bB)
    B3 = reshape(B2, size(B2, 1), size(B2, 2), prod(bB))
    p, q = size(B2, 1), size(B2, 2)
    nbat = length(pairs)
    out = alloc(T, p, q, nbat)
    lastA = 0; F = nothing
    for (k, (ja, jb)) in enumerate(pairs)
        if ja != lastA                                      # factor each A once
            F = lu!(A3[:, :, ja]; check = false)
            issuccess(F) || n == 0 || throw(LinAlgError(
                "$name: $(_batchnote(k, nbat))The solver failed because the input matrix is singular (U[$(F.info), $(F.info)] is zero)."))
            lastA = ja
        end
        n == 0 && (out[:, :, k] .= zero(T); continue)
        if left
            # Python A X = B with Julia slices SA = Aᵀ (factored) and SB = Bᵀ: getrs('T') solves
            # (Aᵀ)ᵀ X = B on Python's B = SBᵀ; the result goes back as Xᵀ.
            X = LAPACK.getrs!('T', F.factors, F.ipiv, permutedims(B3[:, :, jb]))
            out[:, :, k] = permutedims(X)
        else
            # Python X A = B ⇔ Aᵀ Xᵀ = Bᵀ: Julia's SA \ SB is Xᵀ, Python's X in Julia layout.
            out[:, :, k] = LAPACK.getrs!('N', F.factors, F.ipiv, B3[:, :, jb])
        end
    end
    r = reshape(out, p, q, batch...)
    isvec && (r = dropdims(r; dims = 1))
    _restore(R, r)
end
function _solve(A::MetaArray, B::MetaArray, left::Bool)
    name = "linalg.solve"
    R = _meta_promote(eltype(A), eltype(B)); _lapack_type(name, R)
    ndims(A) >= 2 || throw(ArgumentError("$name: A must have at least 2 dimensions, got shape $(_pyshape(A))"))
    ndims(B) >= 1 || throw(ArgumentError("$name: B must have at least 1 dimension, got a scalar"))
    _square(name, A)
    n = size(A, 1)
    isvec = ndims(B) == 1 || (ndims(B) == ndims(A) - 1 && _pysize(B) == _pysize(A)[1:end-1])
    sB = isvec ? (1, size(B)...) : size(B)
    (left ? sB[2] : sB[1]) == n || throw(DimensionMismatch(
        "$name: Incompatible shapes of A and B for the equation $(left ? "AX = B" : "XA = B") ($(n)x$(n) and $(sB[2])x$(sB[1]))"))
    batch, _ = _paired_batches(name, A, B, size(A)[3:end], sB[3:end])
    MetaArray{R}(((isvec ? () : (sB[1],))..., sB[2], batch...))
end
defop("solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor", _solve; namespace = "linalg", method = false,
      grad = ["A" => "solve_backward(grad, A, B, left, result, 0)", "B" => "solve_backward(grad, A, B, left, result, 1)"],
      doc = "Solution X of A X = B (or X A = B when left=False) for square A; B may be a (batch of) vector(s); batch dims broadcast. Raises LinAlgError for a singular A.")

"""Cholesky factors of a batch and their LAPACK info (0, or the order of the first leading minor
that is not positive-definite); with `check`, that raises LinAlgError instead."""
function _cholesky_factor(name, x, upper::Bool, check::Bool)
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    n, nb = size(A3, 1), size(A3, 3)
    out = alloc(T, n, n, nb); info = alloc_zeros(Int32, nb)
    for k in 1:nb
        # Python's lower triangle of A is the upper triangle of S = Aᵀ, and Hermitian(S, :U) = conj(A).
        # Its factor U (conj(A) = Uᴴ U) gives Python's L = Uᵀ, i.e. U itself in Julia layout, and
        # Python's upper factor Lᴴ, i.e. conj(L) = Uᴴ in Julia layout.
        F = cholesky!(Hermitian(A3[:, :, k], :U); check = false)
        info[k] = F.info
        check && !issuccess(F) && throw(LinAlgError(
            "$name: $(_batchnote(k, nb))The factorization could not be completed because the input is not positive-definite (the leading minor of order $(F.info) is not positive-definite)."))
        U = UpperTriangular(F.factors)
        out[:, :, k] = upper ? Matrix(U') : Matrix(U)
    end
    _restore(R, reshape(out, n, n, b...)), reshape(info, b)
end
_cholesky(x, upper::Bool) = first(_cholesky_factor("linalg.cholesky", x, upper, true))
_cholesky(x::MetaArray, upper::Bool) = (_meta_square_batch("linalg.cholesky", x); meta_like(x))
defop("cholesky(A: Tensor, *, upper: bool = False) -> Tensor", _cholesky; namespace = "linalg", method = false,
      grad = ["A" => "cholesky_backward(grad, result, upper)"],
      doc = "Cholesky factor L (A = L Lᴴ) of Hermitian positive-definite matrices, reading A's lower triangle; U = Lᴴ when upper=True. Raises LinAlgError when A is not positive-definite.")

function _qr(x, mode)
    name = "linalg.qr"
    mode in ("reduced", "complete", "r") || throw(ArgumentError("$name: qr received unrecognized mode '$mode' but expected one of 'reduced' (default), 'r', or 'complete'"))
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)      # Python (m, n)
    kq = mode == "complete" ? m : min(m, n)               # columns of Q and rows of R
    Qo = alloc(T, kq, m, nb)                       # Julia layout of Python (m, kq)
    Ro = alloc(T, n, kq, nb)                       # Julia layout of Python (kq, n)
    for k in 1:nb
        M = permutedims(A3[:, :, k])                      # Python's A, (m, n)
        F = qr!(M)
        Rk = alloc_zeros(T, kq, n)
        Rk[1:min(m, n), :] = F.R
        Ro[:, :, k] = permutedims(Rk)
        mode == "r" && continue
        Q = lmul!(F.Q, Matrix{T}(I, m, kq))
        Qo[:, :, k] = permutedims(Q)
    end
    Rr = _restore(R, reshape(Ro, n, kq, b...))
    mode == "r" && return alloc(R, 0), Rr
    _restore(R, reshape(Qo, kq, m, b...)), Rr
end
function _qr(x::MetaArray, mode)
    name = "linalg.qr"
    mode in ("reduced", "complete", "r") || throw(ArgumentError("$name: qr received unrecognized mode '$mode' but expected one of 'reduced' (default), 'r', or 'complete'"))
    R = eltype(x); _lapack_type(name, R)
    _, b = _stack(name, R, x)
    n, m = size(x, 1), size(x, 2)
    kq = mode == "complete" ? m : min(m, n)
    Rr = MetaArray{R}((n, kq, b...))
    (mode == "r" ? MetaArray{R}((0,)) : MetaArray{R}((kq, m, b...))), Rr
end
defop("qr(A: Tensor, mode: str = 'reduced') -> (Q: Tensor, R: Tensor)", _qr; namespace = "linalg", method = false,
      grad = ["A" => "qr_backward(grad0, grad1, Q, R, mode)"],
      doc = "QR decomposition A = Q R (Householder, batched). mode 'reduced': Q (m, k), R (k, n) with k = min(m, n); 'complete': Q (m, m), R (m, n); 'r': R only (Q is empty).")

function _svd(x, full::Bool)
    name = "linalg.svd"
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)      # Python (m, n)
    k = min(m, n)
    ku, kv = full ? (m, n) : (k, k)
    Uo = alloc(T, ku, m, nb)                       # Julia layout of Python U (m, ku)
    So = alloc(real(T), k, nb)
    Vo = alloc(T, n, kv, nb)                       # Julia layout of Python Vh (kv, n)
    for j in 1:nb
        if k == 0
            Uo[:, :, j] = Matrix{T}(I, ku, m); Vo[:, :, j] = Matrix{T}(I, n, kv)
            continue
        end
        # LAPACK (gesdd) factors Python's A itself, as NumPy and PyTorch do, so that the singular
        # vectors get the same signs as theirs (factoring the Julia view S = Aᵀ = conj(V) Σ Uᵀ
        # instead gives other signs, which flips results such as scikit-learn's LDA transform).
        # Python's U (m, ku) and Vh (kv, n) in Julia layout are transpose(F.U) and transpose(F.Vt).
        F = svd!(copy(transpose(view(A3, :, :, j))); full = full)
        Uo[:, :, j] = transpose(F.U)
        So[:, j] = F.S
        Vo[:, :, j] = transpose(F.Vt)
    end
    _restore(R, reshape(Uo, ku, m, b...)), _restore(real(R), reshape(So, k, b...)), _restore(R, reshape(Vo, n, kv, b...))
end
function _svd(x::MetaArray, full::Bool)
    name = "linalg.svd"
    R = eltype(x); _lapack_type(name, R)
    _, b = _stack(name, R, x)
    n, m = size(x, 1), size(x, 2)
    k = min(m, n)
    ku, kv = full ? (m, n) : (k, k)
    MetaArray{R}((ku, m, b...)), MetaArray{real(R)}((k, b...)), MetaArray{R}((n, kv, b...))
end
defop("svd(A: Tensor, full_matrices: bool = True) -> (U: Tensor, S: Tensor, Vh: Tensor)", _svd;
      namespace = "linalg", method = false,
      grad = ["A" => "svd_backward(grad0, grad1, grad2, U, S, Vh, full_matrices)"],
      doc = "Singular value decomposition A = U diag(S) Vh (batched), S real and descending. full_matrices=False gives the reduced U (m, k) and Vh (k, n).")

function _svdvals(name, x)
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x)
    k, nb = min(size(A3, 1), size(A3, 2)), size(A3, 3)
    So = alloc(real(T), k, nb)
    for j in 1:nb
        k == 0 || (So[:, j] = svdvals!(A3[:, :, j]))     # singular values of Aᵀ are A's
    end
    _restore(real(R), reshape(So, k, b...))
end
function _svdvals(name, x::MetaArray)
    R = eltype(x); _lapack_type(name, R)
    _, b = _stack(name, R, x)
    MetaArray{real(R)}((min(size(x, 1), size(x, 2)), b...))
end
_linalg_svdvals(x) = _svdvals("linalg.svdvals", x)
_linalg_svdvals(x::MetaArray) = _svdvals("linalg.svdvals", x)
defop("svdvals(A: Tensor) -> Tensor", _linalg_svdvals; namespace = "linalg", method = false,
      grad = ["A" => "svdvals_backward(grad, A)"],
      doc = "Singular values (real, descending) of matrices (batched).")

function _uplo(name, UPLO)
    UPLO in ("L", "U") || throw(ArgumentError("$name: UPLO must be 'L' or 'U', got '$UPLO'"))
    UPLO == "L" ? :U : :L        # Python's lower triangle is the upper one of Julia's S = Aᵀ
end
function _eigh(x, UPLO, vectors::Bool)
    name = vectors ? "linalg.eigh" : "linalg.eigvalsh"
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    ul = _uplo(name, UPLO)
    n, nb = size(A3, 1), size(A3, 3)
    W = alloc(real(T), n, nb)
    V = vectors ? alloc(T, n, n, nb) : nothing
    for k in 1:nb
        n == 0 && continue
        H = Hermitian(A3[:, :, k], ul)                    # = conj(A) for Python's A
        if vectors
            # conj(A) v = w v ⇔ A conj(v) = w conj(v): Python's V = conj(F.vectors), whose
            # Julia layout Vᵀ is F.vectorsᴴ.
            F = eigen!(H)
            W[:, k] = F.values
            V[:, :, k] = F.vectors'
        else
            W[:, k] = eigvals!(H)
        end
    end
    w = _restore(real(R), reshape(W, n, b...))
    vectors ? (w, _restore(R, reshape(V, n, n, b...))) : w
end
function _eigh(x::MetaArray, UPLO, vectors::Bool)
    name = vectors ? "linalg.eigh" : "linalg.eigvalsh"
    b = _meta_square_batch(name, x)
    _uplo(name, UPLO)
    w = MetaArray{real(eltype(x))}((size(x, 1), b...))
    vectors ? (w, meta_like(x)) : w
end
_linalg_eigh(x, u) = _eigh(x, u, true)
_linalg_eigh(x::MetaArray, u) = _eigh(x, u, true)
_linalg_eigvalsh(x, u) = _eigh(x, u, false)
_linalg_eigvalsh(x::MetaArray, u) = _eigh(x, u, false)
defop("eigh(A: Tensor, UPLO: str = 'L') -> (eigenvalues: Tensor, eigenvectors: Tensor)",
      _linalg_eigh; namespace = "linalg", method = false,
      grad = ["A" => "eigh_backward(grad0, grad1, eigenvalues, eigenvectors)"],
      doc = "Eigenvalues (real, ascending) and orthonormal eigenvectors (columns) of Hermitian matrices, reading the UPLO triangle.")
defop("eigvalsh(A: Tensor, UPLO: str = 'L') -> Tensor", _linalg_eigvalsh; namespace = "linalg", method = false,
      grad = ["A" => "eigvalsh_backward(grad, A, UPLO)"],
      doc = "Eigenvalues (real, ascending) of Hermitian matrices, reading the UPLO triangle.")

function _eig(x, vectors::Bool)
    name = vectors ? "linalg.eig" : "linalg.eigvals"
    R = eltype(x); T = _lapack_type(name, R)
    A3, b = _stack(name, T, x); _square(name, A3)
    C = complex(T)
    n, nb = size(A3, 1), size(A3, 3)
    W = alloc(C, n, nb)
    V = vectors ? alloc(C, n, n, nb) : nothing
    for k in 1:nb
        n == 0 && continue
        M = permutedims(A3[:, :, k])                      # right eigenvectors need Python's A itself
        if vectors
            F = eigen!(M; sortby = nothing)               # LAPACK order, as PyTorch and NumPy
            W[:, k] = F.values
            V[:, :, k] = permutedims(F.vectors)
        else
            W[:, k] = eigvals!(M; sortby = nothing)
        end
    end
    CR = R <: Union{Float16,BFloat16} ? ComplexF32 : complex(R)
    w = _restore(CR, reshape(W, n, b...))
    vectors ? (w, _restore(CR, reshape(V, n, n, b...))) : w
end
function _eig(x::MetaArray, vectors::Bool)
    R = eltype(x)
    b = _meta_square_batch(vectors ? "linalg.eig" : "linalg.eigvals", x)
    CR = R <: Union{Float16,BFloat16} ? ComplexF32 : complex(R)
    w = MetaArray{CR}((size(x, 1), b...))
    vectors ? (w, MetaArray{CR}(size(x))) : w
end
_linalg_eig(x) = _eig(x, true)
_linalg_eig(x::MetaArray) = _eig(x, true)
_linalg_eigvals(x) = _eig(x, false)
_linalg_eigvals(x::MetaArray) = _eig(x, false)
defop("eig(A: Tensor) -> (eigenvalues: Tensor, eigenvectors: Tensor)", _linalg_eig; namespace = "linalg", method = false,
      doc = "Eigenvalues and unit-norm right eigenvectors (columns) of square matrices, always complex, in LAPACK order.")
defop("eigvals(A: Tensor) -> Tensor", _linalg_eigvals; namespace = "linalg", method = false,
      doc = "Eigenvalues of square matrices, always complex, in LAPACK order.")

"Conjugate transpose as a new Matrix."
_adj(X::Matrix) = [conj(X[j, i]) for i in axes(X, 2), j in axes(X, 1)]
"X with column j scaled by d[j] (a new Matrix)."
function _scalecols(X::Matrix{T}, d::Vector) where {T}
    Y = alloc(T, size(X))
    @inbounds for j in axes(X, 2), i in axes(X, 1)
        Y[i, j] = X[i, j] * d[j]
    end
    Y
end

"Default/explicit cut-off for pinv and matrix_rank: max(atol, rtol * σmax), PyTorch's defaults."
function _tol(::Type{R}, atol, rtol, m, n, smax) where {R}
    rt = rtol !== nothing ? R(rtol) : (atol !== nothing && atol > 0 ? zero(R) : eps(R) * max(m, n))
    max(atol === nothing ? zero(R) : R(atol), rt * smax)
end

function _pinv(x, atol, rtol, hermitian::Bool)
    name = "linalg.pinv"
    R = eltype(x); T = _lapack_type(name, R); RT = real(T)
    A3, b = _stack(name, T, x)
    hermitian && _square(name, A3)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)      # Python (m, n); pinv is (n, m): Julia (m, n)
    out = alloc(T, m, n, nb)
    for k in 1:nb
        if min(m, n) == 0
            out[:, :, k] .= zero(T); continue
        end
        if hermitian
            # Hermitian(S, :U) = conj(A) and pinv(conj A) = pinv(A)ᵀ: Python's pinv in Julia layout.
            F = eigen!(Hermitian(A3[:, :, k], :U))
            tol = _tol(RT, atol, rtol, m, n, maximum(abs, F.values))
            d = [abs(w) > tol ? inv(w) : zero(RT) for w in F.values]
            out[:, :, k] = _gemm!(alloc(T, m, n), _scalecols(F.vectors, d), _adj(F.vectors))
        else
            # pinv(Aᵀ) = pinv(A)ᵀ: the pseudo-inverse of the Julia slice is Python's in Julia layout.
            F = svd!(A3[:, :, k])
            tol = _tol(RT, atol, rtol, m, n, F.S[1])
            d = [s > tol ? inv(s) : zero(RT) for s in F.S]
            out[:, :, k] = _gemm!(alloc(T, m, n), _scalecols(_adj(F.Vt), d), _adj(F.U))   # V Σ⁺ Uᴴ
        end
    end
    _restore(R, reshape(out, m, n, b...))
end
function _pinv(x::MetaArray, atol, rtol, hermitian::Bool)
    name = "linalg.pinv"
    R = eltype(x); _lapack_type(name, R)
    A, b = _stack(name, R, x)
    hermitian && _square(name, A)
    MetaArray{R}((size(x, 2), size(x, 1), b...))
end
defop("pinv(A: Tensor, *, atol: Optional[float] = None, rtol: Optional[float] = None, hermitian: bool = False) -> Tensor",
      _pinv; namespace = "linalg", method = false,
      grad = ["A" => "pinv_backward(grad, result, A)"],
      doc = "Moore-Penrose pseudo-inverse (batched) through the SVD (eigh when hermitian=True); singular values <= max(atol, rtol * σmax) are dropped (rtol defaults to eps * max(m, n)).")

function _matrix_rank(x, atol, rtol, hermitian::Bool)
    name = "linalg.matrix_rank"
    R = eltype(x); T = _lapack_type(name, R); RT = real(T)
    A3, b = _stack(name, T, x)
    hermitian && _square(name, A3)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)
    out = alloc_zeros(Int64, nb)
    for k in 1:nb
        min(m, n) == 0 && continue
        s = hermitian ? abs.(eigvals!(Hermitian(A3[:, :, k], :U))) : svdvals!(A3[:, :, k])
        tol = _tol(RT, atol, rtol, m, n, maximum(s))
        out[k] = count(v -> v > tol, s)
    end
    reshape(out, b)
end
function _matrix_rank(x::MetaArray, atol, rtol, hermitian::Bool)
    name = "linalg.matrix_rank"
    R = eltype(x); _lapack_type(name, R)
    A, b = _stack(name, R, x)
    hermitian && _square(name, A)
    MetaArray{Int64}(b)
end
defop("matrix_rank(A: Tensor, *, atol: Optional[float] = None, rtol: Optional[float] = None, hermitian: bool = False) -> Tensor",
      _matrix_rank; namespace = "linalg", method = false,
      doc = "Numerical rank (int64, batched): the number of singular values > max(atol, rtol * σmax), rtol defaulting to eps * max(m, n).")

# ---- norms ----------------------------------------------------------------------------------------

"Vector ord-norm of A over Julia dims d (a tuple), keeping them as size 1."
function _vnorm_keep(A::AbstractArray, ord::Real, d::Tuple)
    nd = ndims(A)
    keepd = [i for i in 1:nd if !(i in d)]
    perm = vcat(collect(d), keepd)                        # reduced dims first: columns to reduce
    P = perm == 1:nd ? A : permutedims(A, perm)
    nr = prod(Int[size(A, i) for i in d]); nk = prod(Int[size(A, i) for i in keepd])
    (ord == Inf || ord == -Inf) && nr == 0 && nk > 0 && throw(ArgumentError(
        "linalg.vector_norm: cannot compute the $(ord) norm on an empty tensor because the operation does not have an identity"))
    r = _vnorm_cols(reshape(P, nr, nk), Float64(ord))
    reshape(r, ntuple(i -> i in d ? 1 : size(A, i), nd))
end

"ord-norm of each column of M (one loop kernel for every ord; sums accumulate in Float64 or wider)."
function _vnorm_cols(M::Matrix{T}, p::Float64) where {T}
    R = real(T); W = promote_type(R, Float64)   # an accumulator at least Float64 wide, not a result dtype
    nr, nk = size(M)
    out = alloc(R, nk)
    @inbounds for j in 1:nk
        if p == Inf || p == -Inf
            s = abs(M[1, j])
            for i in 2:nr
                s = p > 0 ? max(s, abs(M[i, j])) : min(s, abs(M[i, j]))
            end
            out[j] = s
        else
            s = zero(W)
            if p == 2   # @simd: the sums are reassociated into vector lanes (10x faster, within rounding)
                @simd for i in 1:nr
                    s += W(abs2(M[i, j]))
                end
                s = sqrt(s)
            elseif p == 1
                @simd for i in 1:nr
                    s += W(abs(M[i, j]))
                end
            elseif p == 0
                @simd for i in 1:nr
                    s += !iszero(M[i, j])
                end
            else
                for i in 1:nr
                    s += W(abs(M[i, j]))^p
                end
                s = s^(1 / p)
            end
            out[j] = R(s)
        end
    end
    out
end

function _vector_norm(x, ord, dim, keepdim, dtype)
    name = "linalg.vector_norm"
    R = dtype === nothing ? eltype(x) : dtype
    R <: Union{AbstractFloat,Complex} ||
        throw(DTypeError("$name: Expected a floating point or complex tensor as input. Got $(eltype(x))"))
    T = _acc(R)
    A = as_dense(T, x)
    nd = ndims(A)
    A1 = nd == 0 ? reshape(A, 1) : A
    d = dim === nothing || isempty(dim) ? ntuple(identity, ndims(A1)) : dim
    r = _vnorm_keep(A1, ord, d)
    r = nd == 0 ? reshape(r, ()) : (keepdim ? r : dropdims(r; dims = d))
    _restore(real(R), r)
end
function _vector_norm(x::MetaArray, ord, dim, keepdim, dtype)
    name = "linalg.vector_norm"
    R = dtype === nothing ? eltype(x) : dtype
    R <: Union{AbstractFloat,Complex} ||
        throw(DTypeError("$name: Expected a floating point or complex tensor as input. Got $(eltype(x))"))
    nd = ndims(x)
    sz = nd == 0 ? (1,) : size(x)
    d = dim === nothing || isempty(dim) ? ntuple(identity, length(sz)) : Tuple(dim)
    nr = prod(Int[sz[i] for i in d]); nk = prod(Int[sz[i] for i in 1:length(sz) if !(i in d)])
    (ord == Inf || ord == -Inf) && nr == 0 && nk > 0 && throw(ArgumentError(
        "linalg.vector_norm: cannot compute the $(ord) norm on an empty tensor because the operation does not have an identity"))
    out = nd == 0 ? () : keepdim ? ntuple(i -> i in d ? 1 : sz[i], nd) : Tuple(sz[i] for i in 1:nd if !(i in d))
    MetaArray{real(R)}(out)
end
defop("vector_norm(x: Tensor, ord: float = 2, dim: Dims = None, keepdim: bool = False, *, dtype: DType = None) -> Tensor",
      _vector_norm; namespace = "linalg", method = false,
      grad = ["x" => "norm_backward(grad, x, ord, dim, keepdim, result)"],
      doc = "Vector ord-norm over dim (all elements when None): ord may be any real, inf, -inf or 0 (count of nonzeros).")

"Matrix norm of A over Julia dims (jr, jc) = (Python rows, Python columns), keeping both as size 1."
function _mnorm_keep(name, A::AbstractArray, ord::AbstractString, jr::Int, jc::Int)
    if ord == "fro"
        return _vnorm_keep(A, 2, (min(jr, jc), max(jr, jc)))
    end
    o = ord == "nuc" ? 0.0 : something(tryparse(Float64, ord), NaN)
    if ord == "nuc" || o == 2 || o == -2
        rest = [d for d in 1:ndims(A) if d != jr && d != jc]
        P = permutedims(A, vcat([jc, jr], rest))
        P3 = reshape(P, size(P, 1), size(P, 2), prod(size(P)[3:end]))
        min(size(P3, 1), size(P3, 2)) == 0 && throw(ArgumentError("$name: the $ord norm of an empty matrix is undefined"))
        vals = [begin
                    s = svdvals!(P3[:, :, k])
                    ord == "nuc" ? sum(s) : o == 2 ? s[1] : s[end]
                end for k in 1:size(P3, 3)]
        return reshape(vals, ntuple(d -> d == jr || d == jc ? 1 : size(A, d), ndims(A)))
    end
    o in (1.0, -1.0, Inf, -Inf) || throw(ArgumentError("$name: Order $ord not supported (expected 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2)"))
    inner, outer = abs(o) == 1 ? (jr, jc) : (jc, jr)     # ord ±1: max column sum; ±inf: max row sum
    size(A, outer) == 0 && throw(ArgumentError("$name: the $ord norm of an empty matrix is undefined"))
    _vnorm_keep(_vnorm_keep(A, 1, (inner,)), o > 0 ? Inf : -Inf, (outer,))
end

"""matrix_norm's checks of its arguments (CPU or meta): the result type and the two Julia dims."""
function _matrix_norm_checks(x, dims, dtype)
    name = "linalg.matrix_norm"
    R = dtype === nothing ? eltype(x) : dtype
    R <: Union{AbstractFloat,Complex} ||
        throw(DTypeError("$name: Expected a floating point or complex tensor as input. Got $(eltype(x))"))
    ndims(x) >= 2 || throw(ArgumentError("$name: The input tensor A must have at least 2 dimensions, got shape $(_pyshape(x))"))
    length(dims) == 2 || throw(ArgumentError("$name: dim must be a 2-tuple, got $(length(dims)) dims"))
    jr, jc = dims
    jr == jc && throw(ArgumentError("$name: dims must be different, got $jr twice"))
    R, jr, jc
end

function _matrix_norm(x, ord, dims, keepdim, dtype)
    name = "linalg.matrix_norm"
    R, jr, jc = _matrix_norm_checks(x, dims, dtype)
    T = _acc(R)
    A = as_dense(T, x)
    r = _mnorm_keep(name, A, ord, jr, jc)
    keepdim || (r = dropdims(r; dims = (min(jr, jc), max(jr, jc))))
    _restore(real(R), r)
end
function _matrix_norm(x::MetaArray, ord, dims, keepdim, dtype)
    name = "linalg.matrix_norm"
    R, jr, jc = _matrix_norm_checks(x, dims, dtype)
    _mnorm_check(name, size(x), ord, jr, jc)
    nd = ndims(x)
    out = keepdim ? ntuple(d -> d == jr || d == jc ? 1 : size(x, d), nd) : Tuple(size(x, d) for d in 1:nd if d != jr && d != jc)
    MetaArray{real(R)}(out)
end
"The errors `_mnorm_keep` raises for a matrix norm `ord` over Julia dims (jr, jc) of an array of size `sz`."
function _mnorm_check(name, sz::Tuple, ord::AbstractString, jr::Int, jc::Int)
    ord == "fro" && return
    o = ord == "nuc" ? 0.0 : something(tryparse(Float64, ord), NaN)
    if ord == "nuc" || o == 2 || o == -2
        min(sz[jr], sz[jc]) == 0 && throw(ArgumentError("$name: the $ord norm of an empty matrix is undefined"))
        return
    end
    o in (1.0, -1.0, Inf, -Inf) || throw(ArgumentError("$name: Order $ord not supported (expected 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2)"))
    sz[abs(o) == 1 ? jc : jr] == 0 && throw(ArgumentError("$name: the $ord norm of an empty matrix is undefined"))
end
defop("_matrix_norm(A: Tensor, ord: str, dim: IntList, keepdim: bool, dtype: DType = None) -> Tensor",
      _matrix_norm; namespace = "linalg", method = false,
      grad = ["A" => "matrix_norm_backward(grad, A, ord, dim, keepdim, result)"],
      doc = "Kernel of linalg.matrix_norm / linalg.norm: ord as text ('fro', 'nuc', 'inf', '-inf', '1', '-1', '2', '-2'), dim as Julia dims (rows, columns).")

function _cond(x, ord)
    name = "linalg.cond"
    R = eltype(x); T = _lapack_type(name, R); RT = real(T)
    A3, b = _stack(name, T, x)
    n, m, nb = size(A3, 1), size(A3, 2), size(A3, 3)
    out = alloc(RT, nb)
    o = something(tryparse(Float64, ord), NaN)
    if o == 2 || o == -2                                  # σmax/σmin: any shape
        for k in 1:nb
            s = min(m, n) == 0 ? RT[] : svdvals!(A3[:, :, k])
            out[k] = isempty(s) ? zero(RT) : (o == 2 ? s[1] / s[end] : s[end] / s[1])
        end
    elseif ord in ("fro", "nuc") || o in (1.0, -1.0, Inf, -Inf)
        _square(name, A3)
        for k in 1:nb
            S = A3[:, :, k]
            Si = try
                _inv_slice(name, copy(S), 1, 1)
            catch e
                e isa LinAlgError || rethrow()
                nothing
            end
            # S = Aᵀ and inv(S) is Python's inverse in the same layout: Python rows are Julia dim 2.
            out[k] = Si === nothing ? RT(Inf) :
                _mnorm_keep(name, S, ord, 2, 1)[1] * _mnorm_keep(name, Si, ord, 2, 1)[1]
        end
    else
        throw(ArgumentError("$name: Order $ord not supported (expected None, 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2)"))
    end
    _restore(real(R), reshape(out, b))
end
function _cond(x::MetaArray, ord)
    name = "linalg.cond"
    R = eltype(x); _lapack_type(name, R)
    A, b = _stack(name, R, x)
    o = something(tryparse(Float64, ord), NaN)
    if !(o == 2 || o == -2)
        (ord in ("fro", "nuc") || o in (1.0, -1.0, Inf, -Inf)) ||
            throw(ArgumentError("$name: Order $ord not supported (expected None, 'fro', 'nuc', inf, -inf, 1, -1, 2 or -2)"))
        _square(name, A)
    end
    MetaArray{real(R)}(b)
end
defop("_cond(A: Tensor, p: str) -> Tensor", _cond; namespace = "linalg", method = false,
      grad = ["A" => "cond_backward(grad, A, p)"],
      doc = "Kernel of linalg.cond: p as text ('2', '-2', 'fro', 'nuc', '1', '-1', 'inf', '-inf').")

# ---- shape-level helpers of the linalg namespace --------------------------------------------------

defop("matmul(input: Tensor, other: Tensor) -> Tensor", _matmul; namespace = "linalg", method = false,
      grad = ["input" => "matmul_backward_input(grad, input, other)", "other" => "matmul_backward_other(grad, input, other)"],
      doc = "Matrix product with NumPy/PyTorch semantics; same as jtensor.matmul.")
defop("outer(x1: Tensor, x2: Tensor) -> Tensor", _outer; namespace = "linalg", method = false,
      grad = ["x1" => "grad @ cj(x2)", "x2" => "cj(x1) @ grad"],
      doc = "Outer product of two vectors.")
function _matrix_transpose(x)
    ndims(x) >= 2 || throw(ArgumentError("linalg.matrix_transpose: expected a tensor with at least 2 dimensions, got shape $(_pyshape(x))"))
    permutedims(dense(x), (2, 1, ntuple(d -> d + 2, ndims(x) - 2)...))
end
function _matrix_transpose(x::MetaArray)
    ndims(x) >= 2 || throw(ArgumentError("linalg.matrix_transpose: expected a tensor with at least 2 dimensions, got shape $(_pyshape(x))"))
    meta_like(x, eltype(x), (size(x, 2), size(x, 1), size(x)[3:end]...))
end
defop("matrix_transpose(x: Tensor) -> Tensor", _matrix_transpose; namespace = "linalg", method = false,
      grad = ["x" => "linalg.matrix_transpose(grad)"],
      doc = "Swap the last two dims (a new tensor).")
defop("tensordot(x1: Tensor, x2: Tensor, *, axes: Tensor = 2) -> Tensor",
      _linalg_tensordot; namespace = "linalg", method = false,
      grad = ["x1" => "tensordot_backward(grad, x1, x2, axes, 0)", "x2" => "tensordot_backward(grad, x1, x2, axes, 1)"],
      doc = "Array-API tensordot: axes is an int or a pair of dim lists, as in jtensor.tensordot.")
