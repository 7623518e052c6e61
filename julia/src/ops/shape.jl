# Ops that move data between layouts: gathers and scatters behind advanced indexing, nonzero.
# (Views — reshape, permute, slicing — change only metadata and live on the Python side.)

"""
    _take_offsets(src, offsets) -> Array

`out[i] = src[offsets[i]]`, where offsets count elements from `src`'s first element (the
advanced-indexing gather; Python computes and bounds-checks the offsets).
"""
function _take_offsets(src::Strided{T}, offs) where {T}
    O = dense(offs)
    out = alloc(T, size(O))
    p = src.ptr
    GC.@preserve src @inbounds for i in eachindex(O)
        out[i] = unsafe_load(p, O[i] + 1)
    end
    out
end
_take_offsets(src::MetaArray{T}, offs::MetaArray) where {T} = MetaArray{T}(size(offs))
defop("_take_offsets(input: Tensor, offsets: Tensor) -> Tensor", _take_offsets; method = false,
      grad = ["input" => "take_offsets_backward(grad, input, offsets)"],
      doc = "Gather elements of input at element offsets (advanced indexing).")

"Scatter: `dst[offsets[i]] = values[i]` (values broadcast to the offsets' shape). Later writes win."
function _put_offsets(dst::Strided{T}, offs, vals) where {T}
    O = dense(offs)
    V = broadcast_to(Strided(vals), size(O))
    p = dst.ptr
    GC.@preserve dst @inbounds for (i, I) in zip(eachindex(O), CartesianIndices(O))
        unsafe_store!(p, jconvert(T, V[I]), O[i] + 1)
    end
    nothing
end
defop("_put_offsets(input: Tensor, offsets: Tensor, values: Tensor) -> None", _put_offsets; method = false,
      doc = "Scatter values into input at element offsets (advanced-index assignment).")

"Python-order indices (0-based) of nonzero elements, as an (n, ndim) int64 matrix."
function _nonzero(x)
    A = dense(x)
    nd = ndims(A)
    idx = findall(!iszero, vec(A))
    out = alloc(Int64, nd, length(idx))   # Julia (ndim, n) = Python (n, ndim)
    ci = CartesianIndices(size(A))
    for (k, li) in enumerate(idx)
        I = ci[li]
        for d in 1:nd
            out[nd - d + 1, k] = I[d] - 1
        end
    end
    out
end
defop("nonzero(input: Tensor) -> Tensor", _nonzero;
      doc = "Indices of nonzero elements as an (n, ndim) int64 tensor, in row-major order.")

# ---- helpers ----------------------------------------------------------------------------------
# Kernels see Julia dimension order: Python dim p of an n-d tensor is Julia dim n - p. Messages
# speak Python (shapes and dims as the user wrote them); Python prefixes the op and its arguments.

"Errors for an index out of range. Named `BoundsError` so that Python raises IndexError, and it
carries a message (Base's `BoundsError` holds an array and an index instead)."
module IndexErrors
struct BoundsError <: Exception
    msg::String
end
Base.showerror(io::IO, e::BoundsError) = print(io, e.msg)
end
_oob(msg::AbstractString) = throw(IndexErrors.BoundsError(msg))

_shapestr(sz::Tuple) = string("[", join(reverse(sz), ", "), "]")
_shapestr(x::AbstractArray) = _shapestr(size(x))
_shapestr(x::MetaArray) = _shapestr(size(x))
_dtname(::Type{T}) where {T} = is_dtype(T) ? dtype_name(T) : string(T)
_dtname(x::AbstractArray) = _dtname(eltype(x))

"Julia dim of the (possibly negative) Python dim `d` of an `n`-d tensor; a 0-d tensor takes -1 and 0."
function _juliadim(op::AbstractString, d::Integer, n::Int)
    m = max(n, 1)
    -m <= d < m || _oob("$op(): Dimension out of range (expected to be in range of [$(-m), $(m - 1)], but got $d)")
    n == 0 ? 1 : n - (d < 0 ? d + m : Int(d))
end

"Dtypes of values that may act as indices: integers (not bool)."
function _index_type(op, idx)
    T = eltype(idx)
    T <: Integer && T !== Bool ||
        throw(DTypeError("$op(): expected an integer index tensor, got $(_dtname(T))"))
end

"The promoted element type of the arrays `xs` (jtensor's rule, `promote_dtype`)."
_promote_all(xs) = foldl((T, x) -> promote_dtype(T, eltype(x)), xs; init = eltype(xs[1]))

"The block of `A` of size `sz` starting at the (1-based) index `start`; no copy."
@inline _window(A::Strided{T,N}, start::NTuple{N,Int}, sz::NTuple{N,Int}) where {T,N} =
    Strided{T,N}(A.ptr + _offset(A, start) * sizeof(T), sz, A.strides, A.owner)

"`dst .= src` (same size, any strides and element types), through the elementwise engine."
_copy!(dst::Strided{T,N}, src::Strided{S,N}) where {T,S,N} = (map_into!(identity, T, dst, (src,)); dst)

"A packed copy of `x` with element type T."
function _copy_as(::Type{T}, x::Strided{S,N}) where {T,S,N}
    out = alloc(T, size(x))
    _copy!(Strided(out), x)
    out
end
_copy_as(::Type{T}, x::Array{T}) where {T} = copy(x)

"`x` with a size-1 dimension inserted at Julia dim d."
function _insert_dim(x::Strided{T,N}, d::Int) where {T,N}
    sz = ntuple(j -> j < d ? x.size[j] : j == d ? 1 : x.size[j-1], N + 1)
    st = ntuple(j -> j < d ? x.strides[j] : j == d ? 0 : x.strides[j-1], N + 1)
    Strided{T,N+1}(x.ptr, sz, st, x.owner)
end

"Byte range [lo, hi) that a strided view spans."
function _extent(x::Strided)
    lo = hi = Int(UInt(x.ptr))
    for d in 1:ndims(x)
        s = (x.size[d] - 1) * x.strides[d] * Base.elsize(typeof(x))
        s < 0 ? (lo += s) : (hi += s)
    end
    lo, hi + Base.elsize(typeof(x))
end
"Byte ranges of two strided views intersect (in-place ops copy a source that overlaps their target)."
function _overlaps(a::Strided, b::Strided)
    (length(a) == 0 || length(b) == 0) && return false
    la, ha = _extent(a); lb, hb = _extent(b)
    la < hb && lb < ha
end

"""
    _gather_tables!(out, src, tabs)

`out[i1, i2, ...] = src[element offset tabs[1][i1] + tabs[2][i2] + ...]`: a gather where each
dimension picks its source positions independently (index_select, non-constant padding).
`tabs[j]` holds element offsets (index × stride), one per output position along dim j.
"""
function _gather_tables!(out::Array{T,N}, src::Strided{S,N}, tabs::NTuple{N,Vector{Int}}) where {T,S,N}
    length(out) == 0 && return out
    N == 0 && (out[] = jconvert(T, src[]); return out)
    p = src.ptr
    t1 = tabs[1]
    n1 = length(t1)
    k = 0
    GC.@preserve src out begin
        @inbounds for I in CartesianIndices(Base.tail(size(out)))
            base = 1
            for j in 2:N
                base += tabs[j][I[j-1]]
            end
            for i in 1:n1
                out[k+i] = jconvert(T, unsafe_load(p, base + t1[i]))
            end
            k += n1
        end
    end
    out
end
_identity_table(x::Strided, j::Int) = collect(0:size(x, j)-1) .* x.strides[j]

# ---- concatenation --------------------------------------------------------------------------------
"Copy `xs` one after the other along Julia dim d of `out` (sizes already checked)."
function _cat_fill!(out::Array{T,N}, xs, d::Int) where {T,N}
    O = Strided(out)
    off = 0
    for x in xs
        n = size(x, d)
        n > 0 && _copy!(_window(O, ntuple(j -> j == d ? off + 1 : 1, Val(N)), size(x)), x)
        off += n
    end
    out
end

"Concatenate along Python dim `dim` (PyTorch rules: promotion over all inputs, 1-d empty ones skipped)."
function _cat(xs::AbstractVector, dim::Integer, op = "cat")
    isempty(xs) && throw(ArgumentError("$op(): expected a non-empty list of tensors"))
    for (i, x) in enumerate(xs)
        ndims(x) == 0 && throw(ArgumentError("$op(): zero-dimensional tensor (at position $(i - 1)) cannot be concatenated"))
    end
    T = _promote_all(xs)
    keep = [x for x in xs if !(ndims(x) == 1 && size(x, 1) == 0)]
    isempty(keep) && return alloc(T, 0)
    ref = keep[1]
    N = ndims(ref)
    d = _juliadim(op, dim, N)
    pd = N - d
    for (i, x) in enumerate(xs)
        ndims(x) == 1 && size(x, 1) == 0 && continue   # skipped, as in PyTorch
        ndims(x) == N || throw(DimensionMismatch(
            "$op(): tensors must have the same number of dimensions: got $N and $(ndims(x)) (tensor number $(i - 1))"))
        for j in 1:N
            j == d || size(x, j) == size(ref, j) || throw(DimensionMismatch(
                "$op(): sizes of tensors must match except in dimension $pd. Expected size $(size(ref, j)) " *
                "but got size $(size(x, j)) for tensor number $(i - 1) in the list ($(_shapestr(ref)) vs $(_shapestr(x)))"))
        end
    end
    sz = ntuple(j -> j == d ? sum(x -> size(x, d), keep) : size(ref, j), N)
    _cat_fill!(alloc_out(T, sz), keep, d)
end
# Meta methods (shape functions) of the ops below, beside their kernels; the ops whose result size
# depends on values (nonzero, masked_select, unique, bincount) have none, as in PyTorch.
function _cat(xs::AbstractVector{<:MetaArray}, dim::Integer, op = "cat")
    for (i, x) in enumerate(xs)
        ndims(x) == 0 && throw(ArgumentError("$op(): zero-dimensional tensor (at position $(i - 1)) cannot be concatenated"))
    end
    T = _promote_all(xs)
    keep = [x for x in xs if !(ndims(x) == 1 && size(x, 1) == 0)]
    isempty(keep) && return MetaArray{T}((0,))
    ref = keep[1]
    N = ndims(ref)
    d = _juliadim(op, dim, N)
    for (i, x) in enumerate(keep)
        ndims(x) == N || throw(DimensionMismatch("$op(): tensors must have the same number of dimensions: got $N and $(ndims(x))"))
        all(j -> j == d || size(x, j) == size(ref, j), 1:N) || throw(DimensionMismatch(
            "$op(): sizes of tensors must match except in dimension $(N - d) ($(_shapestr(size(ref))) vs $(_shapestr(size(x))))"))
    end
    MetaArray{T}(ntuple(j -> j == d ? sum(x -> size(x, d), keep) : size(ref, j), N))
end
function _stack_tensors(xs::AbstractVector{<:MetaArray}, dim::Integer)
    sz = size(xs[1])
    all(x -> size(x) == sz, xs) || throw(DimensionMismatch("stack(): expects each tensor to be equal size"))
    N = length(sz)
    d = _juliadim("stack", dim, N + 1)
    MetaArray{_promote_all(xs)}(ntuple(j -> j < d ? sz[j] : j == d ? length(xs) : sz[j-1], N + 1))
end
_atleast_nd(x::MetaArray{T}, n) where {T} = ndims(x) >= n ? x : MetaArray{T}((size(x)..., ntuple(_ -> 1, n - ndims(x))...))
function _hstack(xs::AbstractVector{<:MetaArray})
    ys = MetaArray[_atleast_nd(x, 1) for x in xs]
    _cat(ys, ndims(ys[1]) == 1 ? 0 : 1, "hstack")
end
_vstack(xs::AbstractVector{<:MetaArray}) = _cat(MetaArray[_atleast_nd(x, 2) for x in xs], 0, "vstack")

defop("cat(tensors: TensorList, dim: int = 0) -> Tensor", _cat; method = false,
      grad = ["tensors" => "split_like(grad, tensors, dim)"],
      doc = "Concatenate tensors along an existing dim, promoting their dtypes (1-d empty tensors are skipped).")

function _stack_tensors(xs::AbstractVector, dim::Integer)
    isempty(xs) && throw(ArgumentError("stack(): expected a non-empty list of tensors"))
    sz = size(xs[1])
    for (i, x) in enumerate(xs)
        size(x) == sz || throw(DimensionMismatch(
            "stack(): expects each tensor to be equal size, but got $(_shapestr(sz)) at entry 0 and $(_shapestr(x)) at entry $(i - 1)"))
    end
    N = length(sz)
    d = _juliadim("stack", dim, N + 1)
    out = alloc_out(_promote_all(xs), ntuple(j -> j < d ? sz[j] : j == d ? length(xs) : sz[j-1], N + 1))
    _cat_fill!(out, [_insert_dim(x, d) for x in xs], d)
end
defop("stack(tensors: TensorList, dim: int = 0) -> Tensor", _stack_tensors; method = false,
      grad = ["tensors" => "grad.unbind(dim)"],
      doc = "Join equally sized tensors along a new dim.")

_atleast_1d(x::Strided{T}) where {T} = ndims(x) == 0 ? Strided{T,1}(x.ptr, (1,), (1,), x.owner) : x
function _atleast_2d(x::Strided{T}) where {T}
    ndims(x) == 0 && return Strided{T,2}(x.ptr, (1, 1), (1, 1), x.owner)
    ndims(x) == 1 && return Strided{T,2}(x.ptr, (x.size[1], 1), (x.strides[1], 0), x.owner)
    x
end
function _hstack(xs::AbstractVector)
    ys = Any[_atleast_1d(x) for x in xs]
    _cat(ys, !isempty(ys) && ndims(ys[1]) == 1 ? 0 : 1, "hstack")
end
defop("hstack(tensors: TensorList) -> Tensor", _hstack; method = false,
      grad = ["tensors" => "hstack_backward(grad, tensors)"],
      doc = "Concatenate column-wise: along dim 0 for 1-d tensors, else along dim 1.")
_vstack(xs::AbstractVector) = _cat(Any[_atleast_2d(x) for x in xs], 0, "vstack")
defop("vstack(tensors: TensorList) -> Tensor", _vstack; method = false,
      grad = ["tensors" => "vstack_backward(grad, tensors)"],
      doc = "Concatenate row-wise (1-d tensors become rows).")

# ---- reordering -------------------------------------------------------------------------------------
"`x` reversed along Julia dims `dims`: a negative-stride view copied by the engine."
function _flip(x::Strided{T,N}, dims) where {T,N}
    out = alloc_out(T, size(x))   # (cumsum's backward is flip, cumsum, flip)
    length(out) == 0 && return out
    ptr = x.ptr
    for d in dims
        ptr += (x.size[d] - 1) * x.strides[d] * sizeof(T)
    end
    st = ntuple(j -> j in dims ? -x.strides[j] : x.strides[j], Val(N))
    _copy!(Strided(out), Strided{T,N}(ptr, x.size, st, x.owner))
    out
end
_flip(x::MetaArray, dims) = meta_like(x)
defop("flip(input: Tensor, dims: Dims) -> Tensor", _flip; grad = ["input" => "flip(grad, dims)"],
      doc = "Reverse the order of elements along dims.")
function _fliplr(x::AnyArray)
    ndims(x) >= 2 || throw(ArgumentError("fliplr(): input must be at least 2-dimensional, got $(ndims(x))-d"))
    _flip(x, (ndims(x) - 1,))
end
function _flipud(x::AnyArray)
    ndims(x) >= 1 || throw(ArgumentError("flipud(): input must be at least 1-dimensional, got 0-d"))
    _flip(x, (ndims(x),))
end
defop("fliplr(input: Tensor) -> Tensor", _fliplr; grad = ["input" => "fliplr(grad)"],
      doc = "Reverse the order of columns (dim 1).")
defop("flipud(input: Tensor) -> Tensor", _flipud; grad = ["input" => "flipud(grad)"],
      doc = "Reverse the order of rows (dim 0).")

"Copy `X` into `O` rolled by `s[j]` (0 <= s[j] < size) along each Julia dim j: 2 blocks per rolled dim."
function _roll_blocks!(O::Strided{T,N}, X::Strided{S,N}, s::NTuple{N,Int}) where {T,S,N}
    rolled = [j for j in 1:N if s[j] != 0]
    for mask in 0:(1 << length(rolled))-1
        ostart = ones(Int, N); istart = ones(Int, N); bsz = collect(size(X))
        for (b, j) in enumerate(rolled)
            n, k = size(X, j), s[j]
            if mask & (1 << (b - 1)) == 0   # the front of the input moves back by k
                ostart[j] = k + 1; bsz[j] = n - k
            else                            # the last k elements wrap to the front
                istart[j] = n - k + 1; bsz[j] = k
            end
        end
        tup(v) = ntuple(i -> v[i], Val(N))
        _copy!(_window(O, tup(ostart), tup(bsz)), _window(X, tup(istart), tup(bsz)))
    end
    O
end

function _roll(x::Strided{T,N}, shifts::Tuple, dims) where {T,N}
    out = alloc(T, size(x))
    if dims === nothing || isempty(dims)
        length(shifts) == 1 || throw(ArgumentError("roll(): shifts and dimensions must align. shifts: $(length(shifts)), dims: 0"))
        length(out) == 0 && return out
        A = dense(x)   # roll the row-major flattening = the Julia linear order
        n = length(A)
        V = Strided{T,1}(pointer(A), (n,), (1,), A)
        O = Strided{T,1}(pointer(out), (n,), (1,), out)
        GC.@preserve A out _roll_blocks!(O, V, (mod(shifts[1], n),))
        return out
    end
    length(shifts) == length(dims) ||
        throw(ArgumentError("roll(): shifts and dimensions must align. shifts: $(length(shifts)), dims: $(length(dims))"))
    total = alloc_zeros(Int, max(N, 1))
    for (k, d) in zip(shifts, dims)
        j = _juliadim("roll", d, N)
        total[j] += k
    end
    N == 0 && return _copy_as(T, x)
    length(out) == 0 && return out
    s = ntuple(j -> mod(total[j], size(x, j)), Val(N))
    _roll_blocks!(Strided(out), x, s)
    out
end
function _roll(x::MetaArray, shifts::Tuple, dims)
    n = dims === nothing ? 0 : length(dims)
    (n == 0 ? length(shifts) == 1 : length(shifts) == n) ||
        throw(ArgumentError("roll(): shifts and dimensions must align. shifts: $(length(shifts)), dims: $n"))
    meta_like(x)
end
defop("roll(input: Tensor, shifts: IntList, dims: IntList = None) -> Tensor", _roll;
      grad = ["input" => "roll(grad, negate(shifts), dims)"],
      doc = "Shift elements circularly along dims (one shift per dim); without dims, roll the flattened tensor.")

# ---- repetition -----------------------------------------------------------------------------------
"""
`x` repeated `r[j]` times along each Julia dim j (`length(r) >= ndims(x)`; extra dims are new
outer ones). One engine call: the output is viewed as (n1, r1, n2, r2, ...) and the input as the
same sizes with stride 0 along the repeat dims.
"""
function _repeat(x::Strided{T,N}, r::Tuple, op = "repeat") where {T,N}
    m = length(r)
    m >= N || throw(ArgumentError(
        "$op(): number of dimensions of repeat dims ($m) can not be smaller than number of dimensions of tensor ($N)"))
    all(k -> k >= 0, r) || throw(ArgumentError("$op(): repeats can not be negative, got $(_shapestr(r))"))
    insz = ntuple(j -> j <= N ? x.size[j] : 1, m)
    inst = ntuple(j -> j <= N ? x.strides[j] : 0, m)
    out = alloc_out(T, ntuple(j -> mul_size(insz[j], r[j]), m))
    length(out) == 0 && return out
    vsz = Int[]; ost = Int[]; ist = Int[]
    P = 1
    for j in 1:m
        push!(vsz, insz[j], r[j]); push!(ost, P, P * insz[j]); push!(ist, inst[j], 0)
        P *= insz[j] * r[j]
    end
    K = 2m
    _copy!(Strided{T,K}(pointer(out), Tuple(vsz), Tuple(ost), out), Strided{T,K}(x.ptr, Tuple(vsz), Tuple(ist), x.owner))
    out
end
function _repeat(x::MetaArray{T,N}, r::Tuple, op = "repeat") where {T,N}
    m = length(r)
    m >= N || throw(ArgumentError(
        "$op(): number of dimensions of repeat dims ($m) can not be smaller than number of dimensions of tensor ($N)"))
    all(k -> k >= 0, r) || throw(ArgumentError("$op(): repeats can not be negative, got $(_shapestr(r))"))
    MetaArray{T}(ntuple(j -> mul_size(j <= N ? size(x, j) : 1, r[j]), m))
end
defop("repeat(input: Tensor, *repeats: Shape) -> Tensor", _repeat;
      grad = ["input" => "repeat_backward(grad, input, repeats)"],
      doc = "Repeat the tensor along each dim (more repeats than dims add leading dims).")
_tile(x::AnyArray, r::Tuple) = _repeat(x, length(r) < ndims(x) ? (r..., ntuple(_ -> 1, ndims(x) - length(r))...) : r, "tile")
defop("tile(input: Tensor, dims: Shape) -> Tensor", _tile;
      grad = ["input" => "repeat_backward(grad, input, dims)"],
      doc = "Repeat the tensor along each dim; fewer repeats than dims are padded with leading 1s.")

# ---- padding --------------------------------------------------------------------------------------
"Source index (0-based, in the cropped input of size m) of padded position o (0-based), `lo` padded in front."
@inline function _pad_source(mode::Symbol, o::Int, lo::Int, m::Int)
    i = o - lo
    mode === :reflect ? (i < 0 ? -i : i >= m ? 2 * (m - 1) - i : i) :
    mode === :replicate ? clamp(i, 0, m - 1) : mod(i, m)
end

function _pad(x::Strided{T,N}, pad::Tuple, mode::AbstractString, value) where {T,N}
    isodd(length(pad)) && throw(ArgumentError("pad(): padding length must be divisible by 2, got $(length(pad))"))
    k = length(pad) ÷ 2
    k <= N || throw(ArgumentError("pad(): padding length should be less than or equal to two times the input " *
                                  "dimension but got padding length $(length(pad)) and input of dimension $N"))
    # pairs start at the last Python dim = Julia dim 1
    lo = ntuple(j -> j <= k ? pad[2j-1] : 0, Val(N))
    hi = ntuple(j -> j <= k ? pad[2j] : 0, Val(N))
    osz = ntuple(j -> x.size[j] + lo[j] + hi[j], Val(N))
    all(n -> n >= 0, osz) || throw(ArgumentError(
        "pad(): padding $pad would make the size of input $(_shapestr(x)) negative: $(_shapestr(osz))"))
    # the input range that survives negative (cropping) pads, and the padding around it
    clo = ntuple(j -> max(0, -lo[j]), Val(N))
    csz = ntuple(j -> x.size[j] - clo[j] - max(0, -hi[j]), Val(N))
    out = alloc(T, osz)
    if mode == "constant"
        fill!(out, jconvert(T, value === nothing ? 0 : value))
        if length(out) > 0 && all(n -> n > 0, csz)
            _copy!(_window(Strided(out), ntuple(j -> max(0, lo[j]) + 1, Val(N)), csz),
                   _window(x, ntuple(j -> clo[j] + 1, Val(N)), csz))
        end
        return out
    end
    mode in ("reflect", "replicate", "circular") ||
        throw(ArgumentError("pad(): unrecognised padding mode \"$mode\" (expected constant, reflect, replicate or circular)"))
    value === nothing || iszero(value) ||
        throw(ArgumentError("pad(): padding mode \"$mode\" doesn't take in a value argument"))
    m = Symbol(mode)
    tabs = ntuple(Val(N)) do j
        L, R, n = max(lo[j], 0), max(hi[j], 0), csz[j]
        pd = N - j
        if L > 0 || R > 0
            n > 0 || throw(ArgumentError("pad(): cannot pad dimension $pd of size 0 in $mode mode"))
            m === :reflect && (L < n && R < n || throw(ArgumentError(
                "pad(): padding size should be less than the corresponding input dimension, but got padding ($L, $R) at dimension $pd of input $(_shapestr(x))")))
            m === :circular && (L <= n && R <= n || throw(ArgumentError(
                "pad(): padding ($L, $R) at dimension $pd of input $(_shapestr(x)) wraps around more than once")))
        end
        [(clo[j] + _pad_source(m, o, L, n)) * x.strides[j] for o in 0:osz[j]-1]
    end
    _gather_tables!(out, x, tabs)
end
function _pad(x::MetaArray{T,N}, pad::Tuple, mode::AbstractString, value) where {T,N}
    isodd(length(pad)) && throw(ArgumentError("pad(): padding length must be divisible by 2, got $(length(pad))"))
    k = length(pad) ÷ 2
    k <= N || throw(ArgumentError("pad(): padding length should be less than or equal to two times the input " *
                                  "dimension but got padding length $(length(pad)) and input of dimension $N"))
    osz = ntuple(j -> size(x, j) + (j <= k ? pad[2j-1] + pad[2j] : 0), Val(N))
    all(n -> n >= 0, osz) || throw(ArgumentError(
        "pad(): padding $pad would make the size of input $(_shapestr(size(x))) negative: $(_shapestr(osz))"))
    MetaArray{T}(osz)
end
defop("pad(input: Tensor, pad: IntList, mode: str = \"constant\", value: float = None) -> Tensor", _pad; method = false,
      grad = ["input" => "pad_backward(grad, input, pad, mode, value)"],
      doc = "Pad (or, with negative sizes, crop) the last dims: pad = (left, right) pairs starting from the last " *
            "dim, as torch.nn.functional.pad; modes constant (with value), reflect, replicate, circular.")

# ---- triangles and diagonals ------------------------------------------------------------------------
"Lower (`lower`) or upper triangle of the last two Python dims, the rest zeroed."
function _tri(x::Strided{T,N}, k::Int, lower::Bool) where {T,N}
    N >= 2 || throw(ArgumentError("$(lower ? "tril" : "triu")(): input tensor must have at least 2 dimensions, got $N"))
    out = _copy_as(T, x)
    length(out) == 0 && return out
    nc, nr = size(out, 1), size(out, 2)        # Python (rows, cols) = Julia (cols, rows)
    B = reshape(out, nc, nr, :)
    z = zero(T)
    @inbounds for b in 1:size(B, 3), i in 0:nr-1   # row i keeps cols j with j - i <= k (tril) / >= k (triu)
        r = lower ? (max(i + k + 1, 0):nc-1) : (0:min(i + k, nc)-1)
        for j in r
            B[j+1, i+1, b] = z
        end
    end
    out
end
function _tri(x::MetaArray, k::Int, lower::Bool)
    ndims(x) >= 2 || throw(ArgumentError("$(lower ? "tril" : "triu")(): input tensor must have at least 2 dimensions, got $(ndims(x))"))
    meta_like(x)
end
_tril(x::AnyArray, k) = _tri(x, k, true)
_triu(x::AnyArray, k) = _tri(x, k, false)
defop("tril(input: Tensor, diagonal: int = 0) -> Tensor", _tril;
      grad = ["input" => "tril(grad, diagonal)"],
      doc = "Lower triangle (elements with col - row <= diagonal) of the last two dims; the rest is zero.")
defop("triu(input: Tensor, diagonal: int = 0) -> Tensor", _triu;
      grad = ["input" => "triu(grad, diagonal)"],
      doc = "Upper triangle (elements with col - row >= diagonal) of the last two dims; the rest is zero.")

function _diag(x::Strided{T,N}, k::Int) where {T,N}
    if N == 1
        n = length(x)
        m = n + abs(k)
        out = alloc_zeros(T, m, m)
        @inbounds for i in 0:n-1     # Python out[i, i+k] (k >= 0) / out[i-k, i] is Julia out[col, row]
            out[(k >= 0 ? i + k : i) + 1, (k >= 0 ? i : i - k) + 1] = x[i+1]
        end
        return out
    elseif N == 2
        c, r = size(x)
        n = k >= 0 ? max(0, min(r, c - k)) : max(0, min(r + k, c))
        out = alloc(T, n)
        @inbounds for i in 0:n-1
            out[i+1] = k >= 0 ? x[i+k+1, i+1] : x[i+1, i-k+1]
        end
        return out
    end
    throw(ArgumentError("diag(): supports 1-d or 2-d tensors, got $N-d"))
end
function _diag(x::MetaArray{T,N}, k::Int) where {T,N}
    N == 1 && return MetaArray{T}((size(x, 1) + abs(k), size(x, 1) + abs(k)))
    N == 2 || throw(ArgumentError("diag(): supports 1-d or 2-d tensors, got $N-d"))
    c, r = size(x)
    MetaArray{T}((k >= 0 ? max(0, min(r, c - k)) : max(0, min(r + k, c)),))
end
defop("diag(input: Tensor, diagonal: int = 0) -> Tensor", _diag;
      grad = ["input" => "diag_backward(grad, input, diagonal)"],
      doc = "1-d input: a square matrix with it on the given diagonal; 2-d input: a copy of that diagonal.")

function _diag_embed(x::Strided{T,N}, offset::Int, dim1::Int, dim2::Int) where {T,N}
    N >= 1 || _oob("diag_embed(): expected a tensor with at least 1 dimension, got 0-d")
    R = N + 1
    p1 = _juliadim("diag_embed", dim1, R); p2 = _juliadim("diag_embed", dim2, R)   # Julia dims of the result
    p1 == p2 && throw(ArgumentError("diag_embed(): diagonal dimensions cannot be identical $dim1, $dim2"))
    m = size(x, 1)
    M = m + abs(offset)
    rest = Base.tail(size(x))                 # the batch dims, Julia order
    it = Iterators.Stateful(rest)
    osz = ntuple(j -> j == p1 || j == p2 ? M : popfirst!(it), R)
    out = alloc_zeros(T, osz)
    length(out) == 0 && return out
    st = strides(out)
    # the diagonal (Python dims dim1, dim2; elements [i, i+offset]) as a view shaped like x
    start = offset >= 0 ? offset * st[p2] : -offset * st[p1]
    vsz = (m, (size(out, j) for j in 1:R if j != p1 && j != p2)...)
    vst = (st[p1] + st[p2], (st[j] for j in 1:R if j != p1 && j != p2)...)
    _copy!(Strided{T,N}(pointer(out) + start * sizeof(T), vsz, vst, out), x)
    out
end
function _diag_embed(x::MetaArray{T,N}, offset::Int, dim1::Int, dim2::Int) where {T,N}
    N >= 1 || _oob("diag_embed(): expected a tensor with at least 1 dimension, got 0-d")
    R = N + 1
    p1 = _juliadim("diag_embed", dim1, R); p2 = _juliadim("diag_embed", dim2, R)
    p1 == p2 && throw(ArgumentError("diag_embed(): diagonal dimensions cannot be identical $dim1, $dim2"))
    M = size(x, 1) + abs(offset)
    it = Iterators.Stateful(Base.tail(size(x)))
    MetaArray{T}(ntuple(j -> j == p1 || j == p2 ? M : popfirst!(it), R))
end
defop("diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor", _diag_embed;
      grad = ["input" => "grad.diagonal(offset, dim1, dim2)"],
      doc = "Matrices (in dims dim1, dim2 of the result) with the last dim of input on a diagonal.")

# ---- gathers and scatters along a dim ---------------------------------------------------------------
"Offset of `I` in `x`'s memory with the Julia-dim-d coordinate replaced by the 0-based `v`."
@inline function _offset_with(st::NTuple{N,Int}, I::CartesianIndex{N}, d::Int, v::Int) where {N}
    o = 0
    for j in 1:N
        o += (j == d ? v : I[j] - 1) * st[j]
    end
    o
end

"Element offset (1-based) of the start of outer position `Ko` (over Julia dims 2..N) for strides `st`."
@inline function _outer_base(st::NTuple{N,Int}, Ko::CartesianIndex) where {N}
    b = 1
    for j in 2:N
        b += (Ko[j-1] - 1) * st[j]
    end
    b
end
_zero_dim(st::NTuple{N,Int}, d::Int) where {N} = ntuple(j -> j == d ? 0 : st[j], Val(N))

function _check_sizes_along(op, x, idx, d, what = "input")
    ndims(idx) == ndims(x) || throw(ArgumentError(
        "$op(): index tensor must have the same number of dimensions as $what tensor ($(ndims(x))), got $(ndims(idx))"))
    for j in 1:ndims(x)
        j == d || size(idx, j) <= size(x, j) || throw(ArgumentError(
            "$op(): size does not match at dimension $(ndims(x) - j): expected index $(_shapestr(idx)) to be no larger than " *
            "$what $(_shapestr(x)) apart from dimension $(ndims(x) - d)"))
    end
end

"Check every index of `idx` is in [0, n) (negative indices are out of range, as in PyTorch)."
function _check_range(op, idx::AbstractArray, n::Int, pd::Int)
    @inbounds for I in CartesianIndices(idx)
        v = idx[I]
        0 <= v < n || _oob("$op(): index $v is out of bounds for dimension $pd with size $n")
    end
end
# The common case (every index in range) is one vectorized pass over runs along dim 1: an unsigned
# compare finds negative and too large indices at once; only a failure goes back to the loop above
# for the first bad index (element-wise `idx[I]` on a Strided costs 1 ns an element: 70 µs at 256^2).
function _check_range(op, idx::Strided{I,N}, n::Int, pd::Int) where {I<:Integer,N}
    N == 0 && return invoke(_check_range, Tuple{Any,AbstractArray,Int,Int}, op, idx, n, pd)
    ip = idx.ptr; st = idx.strides; s1 = st[1]; n1 = size(idx, 1); un = n % UInt
    bad = 0   # an Int accumulator and a unit-stride loop of its own: both needed to vectorize
    GC.@preserve idx @inbounds for Ko in CartesianIndices(Base.tail(size(idx)))
        b = _outer_base(st, Ko)
        if s1 == 1
            @simd for i in 0:n1-1
                bad |= ((Int(unsafe_load(ip, b + i)) % UInt) >= un) % Int
            end
        else
            @simd for i in 0:n1-1
                bad |= ((Int(unsafe_load(ip, b + i * s1)) % UInt) >= un) % Int
            end
        end
    end
    bad != 0 && invoke(_check_range, Tuple{Any,AbstractArray,Int,Int}, op, idx, n, pd)
    nothing
end

function _gather(x::Strided{T,N}, d::Int, idx::Strided{I,M}, sparse_grad::Bool = false) where {T,N,I,M}
    _index_type("gather", idx)
    N == 0 && M == 0 && (_check_range("gather", idx, 1, 0); return fill(x[]))
    _check_sizes_along("gather", x, idx, d)
    n = size(x, d)
    _check_range("gather", idx, n, N - d)
    _gather_kernel!(alloc(T, size(idx)), x, d, idx)
end
"out[i, ...] = x[i, ...] with the dim-d coordinate taken from idx (checked). Loops run along dim 1
from per-column base offsets, so the inner loop is plain pointer arithmetic."
function _gather_kernel!(out::Array{T,N}, x::Strided{T,N}, d::Int, idx::Strided{I,N}) where {T,I,N}
    p = x.ptr; ip = idx.ptr; ist = idx.strides
    stz = _zero_dim(x.strides, d); sd = x.strides[d]
    n1 = size(out, 1)
    k = 0
    GC.@preserve x idx @inbounds for Ko in CartesianIndices(Base.tail(size(out)))
        b = _outer_base(stz, Ko); ib = _outer_base(ist, Ko)
        for i in 0:n1-1
            v = Int(unsafe_load(ip, ib + i * ist[1]))
            out[k+i+1] = unsafe_load(p, b + i * stz[1] + v * sd)
        end
        k += n1
    end
    out
end
function _gather(x::MetaArray{T,N}, d::Int, idx::MetaArray{I,M}, sparse_grad::Bool = false) where {T,N,I,M}
    _index_type("gather", idx)
    N == 0 && M == 0 && return MetaArray{T}(())
    _check_sizes_along("gather", x, idx, d)
    MetaArray{T}(size(idx))
end
defop("gather(input: Tensor, dim: Dim, index: Tensor, *, sparse_grad: bool = False) -> Tensor", _gather;
      grad = ["input" => "select_backward(grad, input, dim, index, True)"],
      doc = "out[i][j][k] = input[index[i][j][k]][j][k] (for dim 0): values picked along dim by index.")

_reducer(op, reduce::Nothing) = (old, new) -> new
function _reducer(op, reduce::AbstractString)
    reduce == "add" && return +
    reduce == "multiply" && return *
    throw(ArgumentError("$op(): reduce argument must be either add or multiply, got \"$reduce\""))
end

"Write `src` (a tensor of index's size or larger, or a 0-d value) into `dst` at `index` along Julia dim d."
function _scatter_kernel!(f::F, dst::Strided{T,N}, d::Int, idx::Strided{I,N}, src) where {F,T,N,I}
    scalar = !(src isa AbstractArray) || ndims(src) == 0
    if N == 0
        v = jconvert(T, src isa AbstractArray ? src[] : src)
        GC.@preserve dst unsafe_store!(dst.ptr, jconvert(T, f(unsafe_load(dst.ptr), v)))
    elseif scalar
        _scatter_loop!(f, dst, d, idx, jconvert(T, src isa AbstractArray ? src[] : src))
    else
        _scatter_loop!(f, dst, d, idx, Strided(src))
    end
    nothing
end
@inline _srcval(::Type{T}, s::Strided, o::Int) where {T} = jconvert(T, unsafe_load(s.ptr, o))
@inline _srcval(::Type{T}, s, o::Int) where {T} = s
function _scatter_loop!(f::F, dst::Strided{T,N}, d::Int, idx::Strided{I,N}, src) where {F,T,N,I}
    p = dst.ptr; ip = idx.ptr; ist = idx.strides
    stz = _zero_dim(dst.strides, d); sd = dst.strides[d]
    sst = src isa Strided ? src.strides : ntuple(_ -> 0, Val(N))
    n1 = size(idx, 1)
    GC.@preserve dst idx src @inbounds for Ko in CartesianIndices(Base.tail(size(idx)))
        b = _outer_base(stz, Ko); ib = _outer_base(ist, Ko); sb = _outer_base(sst, Ko)
        for i in 0:n1-1
            o = b + i * stz[1] + Int(unsafe_load(ip, ib + i * ist[1])) * sd
            unsafe_store!(p, jconvert(T, f(unsafe_load(p, o), _srcval(T, src, sb + i * sst[1]))), o)
        end
    end
end

"Validate a scatter's arguments; returns the source (tensor or number) to write from."
function _scatter_args(op, dst, d, idx, src, value)
    _index_type(op, idx)
    src === nothing && value === nothing && throw(ArgumentError("$op(): expected a src tensor or a value"))
    src !== nothing && value !== nothing && throw(ArgumentError("$op(): give either src or value, not both"))
    s = src === nothing ? value : src
    N = ndims(dst)
    if N > 0 || ndims(idx) > 0
        _check_sizes_along(op, dst, idx, d)
        if s isa AbstractArray && ndims(s) > 0
            ndims(s) == ndims(idx) || throw(ArgumentError(
                "$op(): index tensor must have the same number of dimensions as src tensor ($(ndims(s))), got $(ndims(idx))"))
            all(j -> size(idx, j) <= size(s, j), 1:ndims(idx)) || throw(ArgumentError(
                "$op(): expected index $(_shapestr(idx)) to be no larger than src $(_shapestr(s))"))
        end
    end
    _check_range(op, idx, N == 0 ? 1 : size(dst, d), N - d)
    s isa Strided && _overlaps(s, dst) ? _copy_as(eltype(s), s) : s
end

function _scatter_inplace!(x::Strided, d::Int, idx::Strided, src, value, reduce, op = "scatter_")
    f = _reducer(op, reduce)
    s = _scatter_args(op, x, d, idx, src, value)
    _scatter_kernel!(f, x, d, idx, s)
end
function _scatter(x::Strided, d::Int, idx::Strided, src, value, reduce, op = "scatter")
    f = _reducer(op, reduce)
    s = _scatter_args(op, x, d, idx, src, value)
    out = alloc_out(eltype(x), size(x))
    _copy!(Strided(out), x)
    _scatter_kernel!(f, Strided(out), d, idx, s)
    out
end
function _scatter(x::MetaArray, d::Int, idx::MetaArray, src, value, reduce, op = "scatter")
    _index_type(op, idx)
    src === nothing && value === nothing && throw(ArgumentError("$op(): expected a src tensor or a value"))
    src !== nothing && value !== nothing && throw(ArgumentError("$op(): give either src or value, not both"))
    (ndims(x) > 0 || ndims(idx) > 0) && _check_sizes_along(op, x, idx, d)
    meta_like(x)
end
_scatter_add(x::AnyArray, d, i, s) = _scatter(x, d, i, s, nothing, "add", "scatter_add")
_scatter_add!(x::AnyArray, d, i, s) = _scatter_inplace!(x, d, i, s, nothing, "add", "scatter_add_")
defop("scatter(input: Tensor, dim: Dim, index: Tensor, src: Tensor = None, *, value: Scalar = None, reduce: str = None) -> Tensor",
      _scatter; grad = ["input" => "scatter_self_backward(grad, dim, index, reduce)",
                        "src" => "gather_src_backward(grad, dim, index, src, reduce)"],
      doc = "A copy of input with src (or value) written at index along dim: out[index[i][j]][j] = src[i][j] " *
                      "(for dim 0); reduce = 'add' or 'multiply' combines with the existing values instead.")
defop("scatter_(input: Tensor, dim: Dim, index: Tensor, src: Tensor = None, *, value: Scalar = None, reduce: str = None) -> Self",
      _scatter_inplace!; grad = ["input" => "scatter_self_backward(grad, dim, index, reduce)",
                                 "src" => "gather_src_backward(grad, dim, index, src, reduce)"],
      doc = "In-place scatter: writes src (or value) into input at index along dim.")
defop("scatter_add(input: Tensor, dim: Dim, index: Tensor, src: Tensor) -> Tensor",
      _scatter_add;
      grad = ["input" => "grad", "src" => "gather_src_backward(grad, dim, index, src)"],
      doc = "A copy of input with src added at index along dim (repeated indices accumulate).")
defop("scatter_add_(input: Tensor, dim: Dim, index: Tensor, src: Tensor) -> Self",
      _scatter_add!;
      grad = ["input" => "grad", "src" => "gather_src_backward(grad, dim, index, src)"],
      doc = "In-place scatter_add: adds src into input at index along dim.")

function _index_select(x::Strided{T,N}, d::Int, idx::Strided) where {T,N}
    _index_type("index_select", idx)
    ndims(idx) <= 1 || _oob("index_select(): index is supposed to be a vector, got shape $(_shapestr(idx))")
    n = N == 0 ? 1 : size(x, d)
    @inbounds for I in CartesianIndices(idx)
        v = idx[I]
        0 <= v < n || _oob("index_select(): index $v is out of range for dimension $(N - d) with size $n")
    end
    if N == 0
        length(idx) == 1 || throw(ArgumentError("index_select(): index to a 0-d tensor can have only 1 value, got $(length(idx))"))
        return fill(x[])
    end
    tabs = ntuple(j -> j == d ? [Int(idx[i]) * x.strides[d] for i in CartesianIndices(idx)][:] : _identity_table(x, j), Val(N))
    out = alloc(T, ntuple(j -> j == d ? length(idx) : size(x, j), Val(N)))
    _gather_tables!(out, x, tabs)
end
function _index_select(x::MetaArray{T,N}, d::Int, idx::MetaArray) where {T,N}
    _index_type("index_select", idx)
    ndims(idx) <= 1 || _oob("index_select(): index is supposed to be a vector, got shape $(_shapestr(size(idx)))")
    N == 0 && return MetaArray{T}(())
    MetaArray{T}(ntuple(j -> j == d ? length(idx) : size(x, j), Val(N)))
end
defop("index_select(input: Tensor, dim: Dim, index: Tensor) -> Tensor", _index_select;
      grad = ["input" => "index_select_backward(grad, input, dim, index)"],
      doc = "The entries of input at the positions in the 1-d index along dim.")

"Elements at flat (row-major) positions; negative positions count from the end."
function _take(x::Strided{T}, idx::Strided) where {T}
    _index_type("take", idx)
    A = dense(x)
    n = length(A)
    out = alloc(T, size(idx))
    GC.@preserve A @inbounds for (k, I) in enumerate(CartesianIndices(idx))
        v = Int(idx[I])
        -n <= v < n || _oob("take(): out of range: tried to access index $v on a tensor of $n elements")
        out[k] = A[v < 0 ? v + n + 1 : v + 1]
    end
    out
end
_take(x::MetaArray{T}, idx::MetaArray) where {T} = (_index_type("take", idx); MetaArray{T}(size(idx)))
defop("take(input: Tensor, index: Tensor) -> Tensor", _take;
      grad = ["input" => "take_backward(grad, input, index)"],
      doc = "Elements of input, seen as a flat row-major tensor, at index (result shaped like index).")

function _take_along_dim(x::Strided{T,N}, idx::Strided{I,M}, dim) where {T,N,I,M}
    _index_type("take_along_dim", idx)
    if dim === nothing
        A = dense(x); J = dense(idx)
        n = length(A)
        return _gather(Strided{T,1}(pointer(A), (n,), (1,), A), 1, Strided{I,1}(pointer(J), (length(J),), (1,), J))
    end
    N == M || throw(ArgumentError("take_along_dim(): input and indices should have the same number of dimensions, " *
                                  "but got $N dimensions for input, and $M dimensions for indices"))
    N == 0 && return _gather(x, 1, idx)
    d = dim
    bs = broadcast_size(ntuple(j -> j == d ? 1 : size(x, j), Val(N)), ntuple(j -> j == d ? 1 : size(idx, j), Val(N)))
    xb = broadcast_to(x, ntuple(j -> j == d ? size(x, d) : bs[j], Val(N)))
    ib = broadcast_to(idx, ntuple(j -> j == d ? size(idx, d) : bs[j], Val(N)))
    _gather(xb, d, ib)
end
function _take_along_dim(x::MetaArray{T,N}, idx::MetaArray{I,M}, dim) where {T,N,I,M}
    _index_type("take_along_dim", idx)
    dim === nothing && return MetaArray{T}((length(idx),))
    N == M || throw(ArgumentError("take_along_dim(): input and indices should have the same number of dimensions, " *
                                  "but got $N dimensions for input, and $M dimensions for indices"))
    N == 0 && return MetaArray{T}(())
    bs = broadcast_size(ntuple(j -> j == dim ? 1 : size(x, j), Val(N)), ntuple(j -> j == dim ? 1 : size(idx, j), Val(N)))
    MetaArray{T}(ntuple(j -> j == dim ? size(idx, dim) : bs[j], Val(N)))
end
defop("take_along_dim(input: Tensor, indices: Tensor, dim: Dim = None) -> Tensor", _take_along_dim;
      grad = ["input" => "take_along_dim_backward(grad, input, indices, dim)"],
      doc = "Values of input at indices along dim, broadcasting the other dims (flattened when dim is None).")

# ---- masks ----------------------------------------------------------------------------------------
defmap("masked_fill(input: Tensor, mask: Tensor, value: Tensor) -> Tensor", (x, m, v) -> ifelse(!iszero(m), v, x);
       dtypes = "first", grad = ["input" => "where(mask, 0, grad)", "value" => "where(mask, grad, 0)"],
       doc = "input with value wherever mask is true (mask and value broadcast; input's dtype is kept).")

function _masked_select(x::Strided{T}, mask::Strided) where {T}
    eltype(mask) === Bool || throw(DTypeError("masked_select(): expected a bool mask, got $(_dtname(mask))"))
    sz = broadcast_size(size(x), size(mask))
    X = broadcast_to(x, sz); Mk = broadcast_to(mask, sz)
    _masked_select_kernel(X, Mk)
end
function _masked_select_kernel(X::Strided{T,N}, Mk::Strided{Bool,N}) where {T,N}
    n = 0
    @inbounds for I in CartesianIndices(Mk)
        n += Mk[I]
    end
    out = alloc(T, n)
    k = 0
    @inbounds for I in CartesianIndices(Mk)
        if Mk[I]
            k += 1
            out[k] = X[I]
        end
    end
    out
end
defop("masked_select(input: Tensor, mask: Tensor) -> Tensor", _masked_select;
      grad = ["input" => "masked_select_backward(grad, input, mask)"],
      doc = "A 1-d tensor of the elements of input where the (broadcast) bool mask is true, in row-major order.")

# ---- unique, searchsorted, bincount --------------------------------------------------------------------
function _unique(x::Strided{T,N}, sorted::Bool, return_inverse::Bool, return_counts::Bool, dim) where {T,N}
    T <: Complex && throw(DTypeError("unique(): not supported for complex dtype $(_dtname(T))"))
    vals, inv, counts = dim === nothing ? _unique_flat(dense(x)) : _unique_dim(dense(x), dim)
    res = (vals, return_inverse ? (dim === nothing ? reshape(inv, size(x)) : inv) : nothing,
           return_counts ? counts : nothing)
    r = Tuple(a for a in res if a !== nothing)
    length(r) == 1 ? r[1] : r
end
function _unique_flat(A::Array{T}) where {T}
    v = vec(A)
    p = sortperm(v; alg = Base.Sort.MergeSort)
    vals = T[]; counts = Int64[]; inv = alloc(Int64, length(v))
    @inbounds for (r, i) in enumerate(p)
        if r == 1 || !(v[i] == v[p[r-1]])
            push!(vals, v[i]); push!(counts, 0)
        end
        counts[end] += 1
        inv[i] = length(vals) - 1
    end
    vals, inv, counts
end
"Unique slices along Julia dim d, ordered lexicographically by their row-major (Python) flattening."
function _unique_dim(A::Array{T,N}, d::Int) where {T,N}
    n = size(A, d)
    C = reshape(permutedims(A, (ntuple(j -> j < d ? j : j + 1, N - 1)..., d)), :, n)
    rows = size(C, 1)
    lt(a, b) = (@inbounds for r in 1:rows
                    isless(C[r, a], C[r, b]) && return true
                    isless(C[r, b], C[r, a]) && return false
                end; false)
    same(a, b) = all(r -> C[r, a] == C[r, b], 1:rows)
    p = sort!(collect(1:n); alg = Base.Sort.MergeSort, lt = lt)
    firsts = Int[]; counts = Int64[]; inv = alloc(Int64, n)
    for (r, i) in enumerate(p)
        (r == 1 || !same(i, p[r-1])) && (push!(firsts, i); push!(counts, 0))
        counts[end] += 1
        inv[i] = length(firsts) - 1
    end
    vals = A[ntuple(j -> j == d ? firsts : Colon(), N)...]
    vals, inv, counts
end
defop("unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim: Dim = None) -> Tensor",
      _unique; doc = "Sorted unique elements (or unique slices along dim); with return_inverse / return_counts a tuple " *
                     "(values, inverse indices, counts) as PyTorch.")

function _searchsorted(seq::Strided{S,K}, vals::Strided{V,M}, out_int32::Bool, right::Bool, side) where {S,K,V,M}
    (S <: Complex || V <: Complex) && throw(DTypeError("searchsorted(): complex tensors are not supported"))
    if side !== nothing
        side in ("left", "right") || throw(ArgumentError("searchsorted(): side must be \"left\" or \"right\", got \"$side\""))
        side == "left" && right && throw(ArgumentError("searchsorted(): side and right can't be set to opposites, " *
                                                       "got side of left while right was True"))
        right = side == "right"
    end
    K >= 1 || throw(ArgumentError("searchsorted(): boundaries tensor should have at least 1 dimension, got 0-d"))
    K == 1 || (K == M && Base.tail(size(seq)) == Base.tail(size(vals))) || throw(ArgumentError(
        "searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor " *
        "and input value tensor must match, but got boundaries tensor $(_shapestr(seq)) and input value tensor $(_shapestr(vals))"))
    out = alloc(out_int32 ? Int32 : Int64, size(vals))
    n = size(seq, 1); s1 = seq.strides[1]; p = seq.ptr
    GC.@preserve seq vals @inbounds for (k, J) in enumerate(CartesianIndices(vals))
        base = K == 1 ? 0 : _offset_with(seq.strides, CartesianIndex(ntuple(j -> j == 1 ? 1 : J[j], Val(K))), 1, 0)
        v = vals[J]
        lo, hi = 0, n
        while lo < hi
            mid = (lo + hi) >>> 1
            s = unsafe_load(p, base + mid * s1 + 1)
            if right ? !(v < s) : s < v
                lo = mid + 1
            else
                hi = mid
            end
        end
        out[k] = lo
    end
    out
end
function _searchsorted(seq::MetaArray{S,K}, vals::MetaArray{V,M}, out_int32::Bool, right::Bool, side) where {S,K,V,M}
    (S <: Complex || V <: Complex) && throw(DTypeError("searchsorted(): complex tensors are not supported"))
    K >= 1 || throw(ArgumentError("searchsorted(): boundaries tensor should have at least 1 dimension, got 0-d"))
    K == 1 || (K == M && Base.tail(size(seq)) == Base.tail(size(vals))) || throw(ArgumentError(
        "searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor " *
        "and input value tensor must match"))
    MetaArray{out_int32 ? Int32 : Int64}(size(vals))
end
defop("searchsorted(sorted_sequence: Tensor, values: Tensor, *, out_int32: bool = False, right: bool = False, side: str = None) -> Tensor",
      _searchsorted; method = false,
      doc = "Insertion positions of values in the sorted last dim of sorted_sequence (right: after equal elements).")

function _bincount(x::Strided{T}, weights, minlength::Int) where {T}
    T <: Integer && T !== Bool && ndims(x) == 1 ||
        throw(DTypeError("bincount(): only supports 1-d non-negative integral inputs, got a $(ndims(x))-d $(_dtname(T)) tensor"))
    minlength >= 0 || throw(ArgumentError("bincount(): minlength should be >= 0, got $minlength"))
    n = 0
    for v in x
        v < 0 && throw(ArgumentError("bincount(): only supports 1-d non-negative integral inputs, found $v"))
        n = max(n, Int(v) + 1)
    end
    n = max(n, minlength)
    if weights === nothing
        c = alloc_zeros(Int64, n)
        @inbounds for v in x
            c[Int(v)+1] += 1
        end
        return c
    end
    size(weights) == size(x) || throw(ArgumentError(
        "bincount(): weights should be 1-d and have the same length as input, got $(_shapestr(weights)) and $(_shapestr(x))"))
    W = eltype(weights)
    W <: Complex && throw(DTypeError("bincount(): complex weights are not supported"))
    R = W === Float32 ? Float32 : Float64
    c = alloc_zeros(R, n)
    @inbounds for i in 1:length(x)
        c[Int(x[i])+1] += jconvert(R, weights[i])
    end
    c
end
defop("bincount(input: Tensor, weights: Tensor = None, minlength: int = 0) -> Tensor", _bincount;
      doc = "Count of each value in a 1-d non-negative integer tensor (or the sum of weights per value).")
