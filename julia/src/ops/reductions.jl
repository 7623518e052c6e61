# Reductions, scans, sorting. Kernels take Julia-order dims (the bridge translates Python dims)
# as a tuple, or `nothing` for all dims, and return new arrays; indices returned to Python are
# 0-based. Half-precision inputs accumulate in Float32, integers and bools in Int64 (as PyTorch).

"Raised for a dtype an op does not support; Python turns it into TypeError."
struct DTypeError <: Exception
    msg::String
end
Base.showerror(io::IO, e::DTypeError) = print(io, e.msg)

_alldims(x) = ntuple(identity, ndims(x))
_dims(x, d::Nothing) = _alldims(x)
_dims(x, d::Integer) = (Int(d),)
_dims(x, d::Tuple) = d

_acc(::Type{T}) where {T} = T
_acc(::Type{T}) where {T<:Union{Bool,Integer}} = Int64
_acc(::Type{Float16}) = Float32
_acc(::Type{BFloat16}) = Float32

"Convert `x` to element type T as a dense Array (no copy when it already is one)."
function as_dense(::Type{T}, x::AbstractArray) where {T}
    eltype(x) === T && return dense(x)
    out = alloc(T, size(x))
    map_into!(identity, compute_type(T), Strided(out), (Strided(x isa Array ? x : dense(x)),))
    out
end

"""Apply `f(A; dims)` to `x` over `dims`, dropping them unless `keepdim`. No dims still applies
f's elementwise part (a reduction over a trailing size-1 dim), so all(x, dim=()) is x != 0."""
function _reduce(f, x, dims, keepdim::Bool)
    ndims(x) == 0 && return reshape(f(reshape(x, 1); dims = 1), ())   # see _on_vector
    d = _dims(x, dims)
    all(k -> 1 <= k <= ndims(x), d) ||
        throw(ArgumentError("reduction over dims $d of a $(ndims(x))-dimensional array: dims out of range"))
    if x isa Array && _has_rows_kernel(f)
        if length(d) == ndims(x) && allunique(d)   # every dim: one flat reduction
            return fill(f(x), keepdim ? ntuple(_ -> 1, ndims(x)) : ())
        elseif d == (1,) && x isa Array{<:Union{Float32,Float64}}   # Python's last dim: contiguous runs
            r = _reduce_rows(f, reshape(x, size(x, 1), :))
            return reshape(r, keepdim ? (1, Base.tail(size(x))...) : Base.tail(size(x)))
        end
    end
    r = f(x; dims = isempty(d) ? (ndims(x) + 1,) : d)
    r = r isa AbstractArray ? r : fill(r)
    keepdim ? r : dropdims(r; dims = d)
end

_restore(::Type{T}, r) where {T} = eltype(r) === T ? r : as_dense(T, r)

# Reductions over Julia's dim 1 (Python's last dim, the common case): one SIMD loop per contiguous
# run. Base's `f(A; dims = 1)` goes through a generic mapreducedim that does not vectorize
# (sum, maximum, prod: 5-30x slower than PyTorch); max/min propagate NaN as PyTorch does. Sums
# keep Base's pairwise summation (fast and accurate) per run. A reduction over every dim is Base's
# flat `f(x)`, where `f(x; dims = all)` took the slow generic path too.
_has_rows_kernel(f) = f === sum || f === prod || f === maximum || f === minimum
@inline _rows_init(::typeof(prod), ::Type{T}) where {T} = one(T)
@inline _rows_init(::typeof(maximum), ::Type{T}) where {T} = T(-Inf)
@inline _rows_init(::typeof(minimum), ::Type{T}) where {T} = T(Inf)
@inline _rows_op(::typeof(prod), a, v) = a * v
@inline _rows_op(::typeof(maximum), a, v) = ifelse((v > a) | isnan(v), v, a)
@inline _rows_op(::typeof(minimum), a, v) = ifelse((v < a) | isnan(v), v, a)
"`f` over each column of X (n, m), as a 1 x m array."
function _reduce_rows(f::F, X::Matrix{T}) where {F,T}
    n, m = size(X)
    out = alloc(T, 1, m)
    @inbounds for j in 1:m
        if f === sum
            out[1, j] = sum(view(X, :, j))
            continue
        end
        a = _rows_init(f, T)
        if f === maximum || f === minimum   # NaN-sticky: not reassociable, so no @simd
            for i in 1:n
                a = _rows_op(f, a, X[i, j])
            end
        else
            @simd for i in 1:n
                a = _rows_op(f, a, X[i, j])
            end
        end
        out[1, j] = a
    end
    out
end

"""
PyTorch reduces a 0-d tensor over dim None, 0 or -1 (Python sends `()` or 1) and gives 0-d results.
Julia's reductions and broadcasting do not keep 0-d arrays, so kernel `k(x, dim, args...)` runs on
a 0-d `x` as a 1-element vector reduced over its dim 1, and its results are reshaped to 0-d.
"""
function _on_vector(k, x, dim, args...)
    r = k(reshape(dense(x), 1), dim === nothing ? nothing : dim isa Tuple ? (1,) : 1, args...)
    r isa Tuple ? map(v -> reshape(v, ()), r) : reshape(r, ())
end

function _sum(x, dim, keepdim, dtype)
    ndims(x) == 0 && return _on_vector(_sum, x, dim, keepdim, dtype)
    T = dtype === nothing ? eltype(x) : dtype
    A = as_dense(_acc(T), x)
    r = _reduce(sum, A, dim, keepdim)
    _restore(dtype === nothing && T <: Union{Bool,Integer} ? Int64 : T, r)   # an explicit dtype is kept
end
# Meta methods (shape functions: the result's size and element type, no data), beside each kernel.
"A reduction's meta result: `x` reduced over `dim` (nothing: all dims), element type T."
function _meta_reduce(x::MetaArray, dim, keepdim::Bool, ::Type{T}) where {T}
    ndims(x) == 0 && return MetaArray{T}(())
    MetaArray{T}(reduced_size(x, _dims(x, dim), keepdim))
end
"The element type the sum/prod kernels give: `dtype`, else int64 for integers and bools."
_sum_type(x, dtype) = dtype === nothing ? (eltype(x) <: Union{Bool,Integer} ? Int64 : eltype(x)) : dtype
_sum(x::MetaArray, dim, keepdim, dtype) = _meta_reduce(x, dim, keepdim, _sum_type(x, dtype))

defop("sum(input: Tensor, dim: Dims = None, keepdim: bool = False, *, dtype: DType = None) -> Tensor", _sum; batch = "reduce",
      grad = ["input" => "expand_reduced(grad, input, dim, keepdim)"],
      doc = "Sum over dim (all dims when None). Integers and bools sum in int64.")

function _mean(x, dim, keepdim, dtype)
    ndims(x) == 0 && return _on_vector(_mean, x, dim, keepdim, dtype)
    T = dtype === nothing ? eltype(x) : dtype
    float_like(T) ||
        throw(DTypeError("mean(): input dtype must be floating point or complex, got $(eltype(x))"))
    A = as_dense(_acc(T), x)
    d = _dims(A, dim)
    n = prod(ntuple(i -> size(A, d[i]), length(d)))
    r = _reduce(sum, A, dim, keepdim)
    _restore(T, map(v -> v / n, r))   # map keeps a 0-d array an array (./ would give a scalar)
end
function _mean(x::MetaArray, dim, keepdim, dtype)
    T = dtype === nothing ? eltype(x) : dtype
    float_like(T) ||
        throw(DTypeError("mean(): input dtype must be floating point or complex, got $(eltype(x))"))
    _meta_reduce(x, dim, keepdim, T)
end
defop("mean(input: Tensor, dim: Dims = None, keepdim: bool = False, *, dtype: DType = None) -> Tensor", _mean; batch = "reduce",
      grad = ["input" => "expand_reduced(grad, input, dim, keepdim) / (numel(input) / numel(result))"],
      doc = "Mean over dim (floating point and complex only).")

function _prod(x, dim, keepdim, dtype)
    ndims(x) == 0 && return _on_vector(_prod, x, dim, keepdim, dtype)
    T = dtype === nothing ? eltype(x) : dtype
    A = as_dense(_acc(T), x)
    _restore(dtype === nothing && T <: Union{Bool,Integer} ? Int64 : T, _reduce(prod, A, dim, keepdim))
end
_prod(x::MetaArray, dim, keepdim, dtype) = _meta_reduce(x, dim, keepdim, _sum_type(x, dtype))
defop("prod(input: Tensor, dim: Dims = None, keepdim: bool = False, *, dtype: DType = None) -> Tensor", _prod; batch = "reduce",
      grad = ["input" => "prod_backward(grad, input, dim, keepdim, result)"],
      doc = "Product over dim. Integers and bools multiply in int64.")

_realcheck(name, x) = eltype(x) <: Complex && throw(DTypeError("$name(): complex input is not supported"))
_nonempty(name, x, d) = any(i -> size(x, i) == 0, d) &&
    throw(ArgumentError("$name(): cannot reduce over a zero-size dimension of a tensor of size $(reverse(size(x)))"))

function _amax(x, dim, keepdim)
    _realcheck("amax", x); d = _dims(x, dim); _nonempty("amax", x, d)
    A = dense(x)
    _reduce(maximum, A, d, keepdim)
end
function _amin(x, dim, keepdim)
    _realcheck("amin", x); d = _dims(x, dim); _nonempty("amin", x, d)
    A = dense(x)
    _reduce(minimum, A, d, keepdim)
end
function _amax(x::MetaArray, dim, keepdim)
    _realcheck("amax", x); d = _dims(x, dim); _nonempty("amax", x, d)
    _meta_reduce(x, d, keepdim, eltype(x))
end
function _amin(x::MetaArray, dim, keepdim)
    _realcheck("amin", x); d = _dims(x, dim); _nonempty("amin", x, d)
    _meta_reduce(x, d, keepdim, eltype(x))
end
defop("amax(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor", _amax; batch = "reduce",
      grad = ["input" => "amax_backward(grad, input, dim, keepdim, result)"],   # ties share evenly
      doc = "Maximum over one or several dims (NaN propagates).")
defop("amin(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor", _amin; batch = "reduce",
      grad = ["input" => "amax_backward(grad, input, dim, keepdim, result)"],
      doc = "Minimum over one or several dims (NaN propagates).")

"Index (0-based, along dim d) of the first max/min of each slice, with NaN counting as extreme."
function _argext(x, d::Int, greater::Bool)
    A = dense(x)
    _nonempty(greater ? "argmax" : "argmin", A, (d,))
    sz = size(A)
    before = _prodrange(sz, 1, d - 1); n = sz[d]; after = _prodrange(sz, d + 1, length(sz))
    idx = alloc(Int64, before, 1, after)
    vals = alloc(eltype(A), before, 1, after)
    _argext_loop!(vals, idx, reshape(A, before, n, after), greater)
    rs = ntuple(i -> i == d ? 1 : sz[i], length(sz))
    reshape(vals, rs), reshape(idx, rs)
end
"`_argext`'s loop on known types (a run-time `d` leaves the reshaped array's type unknown above)."
function _argext_loop!(vals::Array{T,3}, idx::Array{Int64,3}, B::Array{T,3}, greater::Bool) where {T}
    before, n, after = size(B)
    @inbounds for k in 1:after, i in 1:before
        best = B[i, 1, k]; bi = 1
        if !(best isa AbstractFloat && isnan(best))
            for j in 2:n
                v = B[i, j, k]
                if (v isa AbstractFloat && isnan(v)) || (greater ? v > best : v < best)
                    best = v; bi = j
                    v isa AbstractFloat && isnan(v) && break
                end
            end
        end
        idx[i, 1, k] = bi - 1
        vals[i, 1, k] = best
    end
end

function _argmaxmin(x, dim, keepdim, greater)
    ndims(x) == 0 && return _on_vector(_argmaxmin, x, dim, keepdim, greater)
    _realcheck(greater ? "argmax" : "argmin", x)
    if dim === nothing
        v, i = _argext(vec(dense(x)), 1, greater)
        return keepdim ? reshape(i, ntuple(_ -> 1, ndims(x))) : fill(i[1])
    end
    d = dim isa Tuple ? dim[1] : Int(dim)
    _, i = _argext(x, d, greater)
    keepdim ? i : dropdims(i; dims = d)
end
function _argmaxmin(x::MetaArray, dim, keepdim, greater)
    ndims(x) == 0 && return MetaArray{Int64}(())
    _realcheck(greater ? "argmax" : "argmin", x)
    d = dim === nothing ? _dims(x, nothing) : (dim isa Tuple ? dim[1] : Int(dim),)
    _nonempty(greater ? "argmax" : "argmin", x, d)
    dim === nothing && !keepdim && return MetaArray{Int64}(())
    MetaArray{Int64}(reduced_size(x, d, keepdim))
end
_argmax(x::AnyArray, d, k) = _argmaxmin(x, d, k, true)
_argmin(x::AnyArray, d, k) = _argmaxmin(x, d, k, false)
defop("argmax(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor",
      _argmax; doc = "Index of the maximum (flattened when dim is None).")
defop("argmin(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor",
      _argmin; doc = "Index of the minimum (flattened when dim is None).")

function _maxmin(x, dim, keepdim, greater)
    ndims(x) == 0 && dim !== nothing && return _on_vector(_maxmin, x, dim, keepdim, greater)
    if dim === nothing
        return greater ? _amax(x, nothing, false) : _amin(x, nothing, false)
    end
    _realcheck(greater ? "max" : "min", x)
    d = dim isa Tuple ? dim[1] : Int(dim)
    v, i = _argext(x, d, greater)
    keepdim ? (v, i) : (dropdims(v; dims = d), dropdims(i; dims = d))
end
function _maxmin(x::MetaArray, dim, keepdim, greater)
    dim === nothing && return greater ? _amax(x, nothing, false) : _amin(x, nothing, false)
    ndims(x) == 0 && return (MetaArray{eltype(x)}(()), MetaArray{Int64}(()))
    _realcheck(greater ? "max" : "min", x)
    d = (dim isa Tuple ? dim[1] : Int(dim),)
    _nonempty(greater ? "max" : "min", x, d)
    sz = reduced_size(x, d, keepdim)
    (MetaArray{eltype(x)}(sz), MetaArray{Int64}(sz))
end
_max(x::AnyArray, d, k) = _maxmin(x, d, k, true)
_min(x::AnyArray, d, k) = _maxmin(x, d, k, false)
defop("max(input: Tensor, dim: Dim = None, keepdim: bool = False) -> (values: Tensor, indices: Tensor)",
      _max;
      grad = ["input" => "amax_backward(grad, input, None, False, result) if dim is None else " *
                         "select_backward(grad, input, dim, indices, keepdim)"],
      doc = "With dim: (values, indices) of the maxima along dim; without: the overall maximum.")
defop("min(input: Tensor, dim: Dim = None, keepdim: bool = False) -> (values: Tensor, indices: Tensor)",
      _min;
      grad = ["input" => "amax_backward(grad, input, None, False, result) if dim is None else " *
                         "select_backward(grad, input, dim, indices, keepdim)"],
      doc = "With dim: (values, indices) of the minima along dim; without: the overall minimum.")

function _var(x, dim, correction, keepdim, takesqrt)
    ndims(x) == 0 && return _on_vector(_var, x, dim, correction, keepdim, takesqrt)
    T = eltype(x)
    float_like(T) ||
        throw(DTypeError("var/std: input dtype must be floating point or complex, got $T"))
    A = as_dense(_acc(T), x)
    d = _dims(A, dim)
    n = prod(ntuple(i -> size(A, d[i]), length(d)))
    μ = isempty(d) ? A : sum(A; dims = d) ./ n
    s = isempty(d) ? abs2.(A .- μ) : sum(abs2.(A .- μ); dims = d)
    v = s ./ max(0, n - correction)
    v = takesqrt ? sqrt.(v) : v
    v = keepdim || isempty(d) ? v : dropdims(v; dims = d)
    _restore(real(T), v)
end
function _var(x::MetaArray, dim, correction, keepdim, takesqrt)
    T = eltype(x)
    float_like(T) ||
        throw(DTypeError("var/std: input dtype must be floating point or complex, got $T"))
    _meta_reduce(x, dim, keepdim, real(T))
end
_var(x::AnyArray, d, c, k) = _var(x, d, c, k, false)
_std(x::AnyArray, d, c, k) = _var(x, d, c, k, true)
defop("var(input: Tensor, dim: Dims = None, *, correction: float = 1, keepdim: bool = False) -> Tensor",
      _var; batch = "reduce",
      grad = ["input" => "var_backward(grad, input, dim, correction, keepdim)"],
      doc = "Variance with Bessel-style correction (default 1).")
defop("std(input: Tensor, dim: Dims = None, *, correction: float = 1, keepdim: bool = False) -> Tensor",
      _std; batch = "reduce",
      grad = ["input" => "var_backward(std_grad_to_var(grad, result), input, dim, correction, keepdim)"],
      doc = "Standard deviation with correction (default 1).")

function _vnorm(x, p, dim, keepdim)
    ndims(x) == 0 && return _on_vector((v, d, p, k) -> _vnorm(v, p, d, k), x, dim, p, keepdim)
    T = eltype(x)
    float_like(T) ||
        throw(DTypeError("norm: input dtype must be floating point or complex, got $T"))
    A = as_dense(_acc(T), x)
    R = real(eltype(A))
    d = _dims(A, dim)
    r = if p == 2
        sqrt.(_reduce((B; dims) -> sum(abs2, B; dims = dims), A, d, true))
    elseif p == Inf
        _reduce((B; dims) -> maximum(abs, B; dims = dims), A, d, true)
    elseif p == -Inf
        _reduce((B; dims) -> minimum(abs, B; dims = dims), A, d, true)
    elseif p == 0
        R.(_reduce((B; dims) -> sum(v -> !iszero(v), B; dims = dims), A, d, true))
    elseif p == 1
        _reduce((B; dims) -> sum(abs, B; dims = dims), A, d, true)
    else
        _reduce((B; dims) -> sum(v -> abs(v)^R(p), B; dims = dims), A, d, true) .^ (one(R) / R(p))
    end
    r = keepdim || isempty(d) ? r : dropdims(r; dims = d)
    _restore(real(T), r)
end
function _vnorm(x::MetaArray, p, dim, keepdim)
    T = eltype(x)
    float_like(T) ||
        throw(DTypeError("norm: input dtype must be floating point or complex, got $T"))
    _meta_reduce(x, dim, keepdim, real(T))
end
defop("norm(input: Tensor, p: float = 2, dim: Dims = None, keepdim: bool = False) -> Tensor", _vnorm; batch = "reduce",
      grad = ["input" => "norm_backward(grad, input, p, dim, keepdim, result)"],
      doc = "Vector p-norm over dim (all elements when None); p may be inf, -inf or 0.")

function _logsumexp(x, dim, keepdim)
    ndims(x) == 0 && return _on_vector(_logsumexp, x, dim, keepdim)
    T = eltype(x)
    T <: AbstractFloat || (T <: Integer ? (T = Float32) : throw(DTypeError("logsumexp: unsupported dtype $T")))
    A = as_dense(_acc(T), x)
    d = _dims(A, dim)
    m = reduce(max, A; dims = d, init = eltype(A)(-Inf))   # init: an empty slice gives -inf
    m = map(v -> isfinite(v) ? v : zero(v), m)
    r = log.(sum(fexp.(A .- m); dims = d)) .+ m
    r = keepdim ? r : dropdims(r; dims = d)
    _restore(T, r)
end
function _logsumexp(x::MetaArray, dim, keepdim)
    T = eltype(x)
    T <: AbstractFloat || (T <: Integer ? (T = Float32) : throw(DTypeError("logsumexp: unsupported dtype $T")))
    _meta_reduce(x, dim, keepdim, T)
end
defop("logsumexp(input: Tensor, dim: Dims, keepdim: bool = False) -> Tensor", _logsumexp; batch = "reduce",
      grad = ["input" => "expand_reduced(grad, input, dim, keepdim) * " *
                         "exp(input - expand_reduced(result, input, dim, keepdim))"],
      doc = "log(sum(exp(input))) over dim, computed stably.")

_all(x::AnyArray, d, k) = _reduce((B; dims) -> all(!iszero, B; dims = dims), dense(x), d, k)
_any(x::AnyArray, d, k) = _reduce((B; dims) -> any(!iszero, B; dims = dims), dense(x), d, k)
_all(x::MetaArray, d, k) = _meta_reduce(x, d, k, Bool)
_any(x::MetaArray, d, k) = _meta_reduce(x, d, k, Bool)
defop("all(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor",
      _all; batch = "reduce",
      doc = "True where every element over dim is nonzero.")
defop("any(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor",
      _any; batch = "reduce",
      doc = "True where any element over dim is nonzero.")

function _scan(f, x, dim::Int, dtype)
    ndims(x) == 0 && return _on_vector((v, d, t) -> _scan(f, v, d, t), x, dim, dtype)
    T = dtype === nothing ? (eltype(x) <: Union{Bool,Integer} ? Int64 : eltype(x)) : dtype
    A = as_dense(_acc(T), x)
    _restore(T, f(A; dims = dim))
end
_scan(f, x::MetaArray, dim::Int, dtype) = meta_like(x, _sum_type(x, dtype))
_cumsum(x::AnyArray, d, t) = _scan(cumsum, x, d, t)
_cumprod(x::AnyArray, d, t) = _scan(cumprod, x, d, t)
defop("cumsum(input: Tensor, dim: Dim, *, dtype: DType = None) -> Tensor", _cumsum; batch = "reduce",
      grad = ["input" => "cumsum_backward(grad, dim)"],
      doc = "Cumulative sum along dim.")
defop("cumprod(input: Tensor, dim: Dim, *, dtype: DType = None) -> Tensor", _cumprod; batch = "reduce",
      grad = ["input" => "cumprod_backward(grad, input, dim, result)"],
      doc = "Cumulative product along dim.")

"Apply `g(column) -> (values, indices)` to each 1-d slice of `x` along `d`; results keep the layout."
function _along(g, x, d::Int, outlen::Int)
    A = dense(x)
    sz = size(A)
    before = prod(sz[1:d-1]); n = sz[d]; after = prod(sz[d+1:end])
    B = reshape(A, before, n, after)
    V = alloc(eltype(A), before, outlen, after)
    I = alloc(Int64, before, outlen, after)
    col = alloc(eltype(A), n)
    for k in 1:after, i in 1:before
        @inbounds for j in 1:n
            col[j] = B[i, j, k]
        end
        p = g(col)
        @inbounds for j in 1:outlen
            V[i, j, k] = col[p[j]]
            I[i, j, k] = p[j] - 1
        end
    end
    rs = ntuple(i -> i == d ? outlen : sz[i], length(sz))
    reshape(V, rs), reshape(I, rs)
end
# As PyTorch and NumPy: NaN sorts as the largest value and -0.0 equals 0.0 (so a stable sort keeps
# their order; Julia's isless would put -0.0 first).
_sort_lt(a, b) = (a < b) | (isnan(b) & !isnan(a))
_ord(descending) = Base.Order.Lt(descending ? (a, b) -> _sort_lt(b, a) : _sort_lt)
function _sort(x, dim, descending, stable)
    _realcheck("sort", x)
    ndims(x) == 0 && return (copy(dense(x)), fill(0))
    _along(c -> sortperm(c; alg = Base.Sort.MergeSort, order = _ord(descending)), x, dim, size(x, dim))
end
function _sort(x::MetaArray, dim, descending, stable)
    _realcheck("sort", x)
    (meta_like(x), MetaArray{Int64}(size(x)))
end
defop("sort(input: Tensor, dim: Dim = -1, descending: bool = False, stable: bool = False) -> (values: Tensor, indices: Tensor)",
      _sort; batch = "reduce", grad = ["input" => "select_backward(grad, input, dim, indices, True)"],
      doc = "Sorted values and their indices along dim (stable; NaN sorts as largest).")
_argsort(x::AnyArray, d, desc, s) = _sort(x, d, desc, s)[2]
defop("argsort(input: Tensor, dim: Dim = -1, descending: bool = False, stable: bool = False) -> Tensor",
      _argsort; batch = "reduce", doc = "Indices that sort input along dim.")
function _topk(x, k, dim, largest, sorted)
    _realcheck("topk", x)
    n = ndims(x) == 0 ? 1 : size(x, dim)
    0 <= k <= n || throw(ArgumentError("topk: k=$k out of range for a dimension of size $n"))
    ndims(x) == 0 && return (copy(dense(x)), fill(0))
    _along(c -> partialsortperm(c, 1:k; order = _ord(largest)), x, dim, k)
end
function _topk(x::MetaArray, k, dim, largest, sorted)
    _realcheck("topk", x)
    n = ndims(x) == 0 ? 1 : size(x, dim)
    0 <= k <= n || throw(ArgumentError("topk: k=$k out of range for a dimension of size $n"))
    sz = ndims(x) == 0 ? () : ntuple(i -> i == dim ? k : size(x, i), ndims(x))
    (MetaArray{eltype(x)}(sz), MetaArray{Int64}(sz))
end
defop("topk(input: Tensor, k: int, dim: Dim = -1, largest: bool = True, sorted: bool = True) -> (values: Tensor, indices: Tensor)",
      _topk; batch = "reduce", grad = ["input" => "select_backward(grad, input, dim, indices, True)"],
      doc = "The k largest (or smallest) elements along dim and their indices.")
