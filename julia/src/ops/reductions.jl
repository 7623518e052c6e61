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
        ext = (f === maximum || f === minimum) && x isa Array{<:Union{Float32,Float64}} && !isempty(x)
        if length(d) == ndims(x) && allunique(d)   # every dim: one flat reduction
            v = ext ? _run_extreme(x, 0, length(x), f === maximum) : f(x)
            return fill(v, keepdim ? ntuple(_ -> 1, ndims(x)) : ())
        elseif d == (1,) && x isa Array{<:Union{Float32,Float64}}   # Python's last dim: contiguous runs
            r = _reduce_rows(f, reshape(x, size(x, 1), :))
            return reshape(r, keepdim ? (1, Base.tail(size(x))...) : Base.tail(size(x)))
        elseif ext && length(d) == 1   # one other dim: SIMD across the contiguous dims before it
            sz = size(x); k = d[1]
            r = _extreme_mid(reshape(x, _prodrange(sz, 1, k - 1), sz[k], _prodrange(sz, k + 1, length(sz))),
                             f === maximum)
            rs = ntuple(i -> i == k ? 1 : sz[i], length(sz))
            return keepdim ? reshape(r, rs) : reshape(r, rs[1:k - 1]..., rs[k + 1:end]...)
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
        if (f === maximum || f === minimum) && T <: Union{Float32,Float64}
            out[1, j] = _run_extreme(X, (j - 1) * n, n, f === maximum)
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

# Float max/min of a contiguous run in SIMD. LLVM 9 (Julia 1.5's) does not vectorize a float max
# reduction (`ifelse(v > m, v, m)` would need no-NaN flags: a scalar loop, 1 ns per element), but it
# does an integer one, and a float's bits with the magnitude bits flipped for negative numbers order
# as the floats do (the map is its own inverse). NaN is found apart, from the largest magnitude bits
# (above those of Inf only for a NaN), so it propagates whatever its sign bit.
@inline _fkey(v::Float32) = (i = reinterpret(Int32, v); i ⊻ ((i >> 31) & typemax(Int32)))
@inline _fkey(v::Float64) = (i = reinterpret(Int64, v); i ⊻ ((i >> 63) & typemax(Int64)))
@inline _unkey(k::Int32) = reinterpret(Float32, _fkey(reinterpret(Float32, k)))
@inline _unkey(k::Int64) = reinterpret(Float64, _fkey(reinterpret(Float64, k)))
_keytype(::Type{Float32}) = Int32
_keytype(::Type{Float64}) = Int64

"""Maximum (`greater`) or minimum over the middle dim of X (pre, n, post), as a (pre, 1, post)
array: each step is elementwise across the contiguous `pre` slices, so it vectorizes NaN-sticky."""
function _extreme_mid(X::Array{T,3}, greater::Bool) where {T}
    pre, n, post = size(X)
    out = alloc(T, pre, 1, post)
    @inbounds for k in 1:post
        @simd for i in 1:pre
            out[i, 1, k] = X[i, 1, k]
        end
        for j in 2:n
            @simd for i in 1:pre
                v = X[i, j, k]; a = out[i, 1, k]
                out[i, 1, k] = ifelse(ifelse(greater, v > a, v < a) | isnan(v), v, a)
            end
        end
    end
    out
end

"""Maximum (`greater`) or minimum of X[lo+1 : lo+n] (n >= 1, X dense), NaN when one is NaN. A
minimum is the negated maximum of the negated values (negation is exact)."""
@inline function _run_extreme(X::Array{T}, lo::Int, n::Int, greater::Bool) where {T<:Union{Float32,Float64}}
    I = _keytype(T)
    sg = greater ? one(T) : -one(T)
    m = typemin(I); a = zero(I)
    @inbounds @simd for j in lo + 1:lo + n
        v = X[j]
        k = _fkey(sg * v); b = reinterpret(I, v) & typemax(I)
        m = ifelse(k > m, k, m)
        a = ifelse(b > a, b, a)
    end
    a > reinterpret(I, T(Inf)) ? T(NaN) : sg * _unkey(m)
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

"""The gradient of amax/amin (and max/min without dim) over Julia dims `dim`, fused: `grad`
divided by the number of extreme elements (ties share evenly), at the elements equal to `result`,
as PyTorch's `scale_grad_by_count` (a NaN extreme gives NaN, as its `(grad / count) * mask`). One
pass per slice where the composition took an equality mask, a count, a division, an expand and a
multiply, each a fresh array. `amax_backward` (_derivatives.py) composes differentiable ops instead
under create_graph."""
function _amax_backward(x, g, r, dim, keepdim)
    _nn_float("amax_backward", g)
    d = _dims(x, dim)
    sz = size(x); rs = ntuple(i -> i in d ? 1 : sz[i], length(sz))
    length(g) == length(r) == prod(rs) || throw(DimensionMismatch(
        "amax_backward(): grad $(_nn_shape(g)) and result $(_nn_shape(r)) do not match input $(_nn_shape(x)) reduced"))
    T = eltype(g)
    X = dense(x); G = reshape(dense(g), rs); R = reshape(as_dense(eltype(X), r), rs)
    O = alloc(T, sz)
    k = count(i -> i in d, 1:length(sz))
    if all(i -> i in d, 1:k)   # Python's trailing dims (or all): one contiguous run per slice
        n = _prodrange(sz, 1, k)
        _amax_backward_runs!(reshape(O, n, :), reshape(X, n, :), vec(R), vec(G))
    else
        q = G ./ sum(X .== R; dims = d)
        O .= ifelse.(X .== R, q, q .* zero(T))   # not `q .* mask`: Julia's false * NaN is 0
    end
    O
end
function _amax_backward_runs!(O::Matrix{T}, X::Matrix{S}, R::Vector{S}, G::Vector{T}) where {T,S}
    n, m = size(X)
    C = compute_type(T)
    @inbounds for j in 1:m
        rj = R[j]; c = 0
        @simd for i in 1:n
            c += Int(X[i, j] == rj)
        end
        q = C(G[j]) / C(c); z = q * zero(C)   # z: NaN for a NaN extreme (count 0), as q * false in torch
        @simd for i in 1:n
            O[i, j] = T(ifelse(X[i, j] == rj, q, z))
        end
    end
    O
end
_amax_backward(x::MetaArray, g::MetaArray, r::MetaArray, dim, keepdim) =
    (_nn_float("amax_backward", g); meta_like(x, eltype(g)))
defop("_amax_backward(input: Tensor, grad: Tensor, result: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor",
      _amax_backward; method = false,
      doc = "Gradient of amax/amin over dim: grad / (the number of extreme elements) at each extreme element.")

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
    if before == 1 && T <: Union{Float32,Float64}   # contiguous runs: the SIMD extreme, then its index
        @inbounds for k in 1:after
            lo = (k - 1) * n
            best = _run_extreme(B, lo, n, greater)
            bi = 1
            if isnan(best)
                while !isnan(B[lo + bi]); bi += 1; end
            else
                while B[lo + bi] != best; bi += 1; end
            end
            idx[1, 1, k] = bi - 1
            vals[1, 1, k] = B[lo + bi]   # the first extreme's own value (the sign of a zero, as torch)
        end
        return
    end
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
    if d == (1,) && A isa Array{<:Union{Float32,Float64}} && size(A, 1) > 0   # Python's last dim: rows
        r = _logsumexp_rows(reshape(A, size(A, 1), :))
        return _restore(T, reshape(r, keepdim ? (1, Base.tail(size(A))...) : Base.tail(size(A))))
    end
    m = reduce(max, A; dims = d, init = eltype(A)(-Inf))   # init: an empty slice gives -inf
    m = map(v -> isfinite(v) ? v : zero(v), m)
    r = log.(sum(fexp.(A .- m); dims = d)) .+ m
    r = keepdim ? r : dropdims(r; dims = d)
    _restore(T, r)
end
"Log-sum-exp of each column of X (n, m), shifted by its SIMD maximum (0 when not finite)."
function _logsumexp_rows(X::Matrix{T}) where {T}
    n, m = size(X)
    out = alloc(T, m)
    @inbounds for j in 1:m
        mx = _run_extreme(X, (j - 1) * n, n, true)
        mx = isfinite(mx) ? mx : zero(T)
        s = zero(T)
        @simd for i in 1:n
            s += fexp(X[i, j] - mx)
        end
        out[j] = log(s) + mx
    end
    out
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

function _scan(op, x, dim::Int, dtype)
    ndims(x) == 0 && return _on_vector((v, d, t) -> _scan(op, v, d, t), x, dim, dtype)
    _scan_dense(op, _sum_type(x, dtype), dense(x), dim)
end
_scan(op, x::MetaArray, dim::Int, dtype) = meta_like(x, _sum_type(x, dtype))
_cumsum(x::AnyArray, d, t) = _scan(+, x, d, t)
_cumprod(x::AnyArray, d, t) = _scan(*, x, d, t)

# PyTorch's CPU scans accumulate float32 in float64 (acc_type): the same sums, and cumprod of values
# under 1 does not crawl through float32 subnormals (3x slower at (256, 256) of uniform(-1, 1)).
_scan_acc(::Type{T}) where {T} = _acc(T)
_scan_acc(::Type{Float32}) = Float64
_scan_acc(::Type{ComplexF32}) = ComplexF64

"""Cumulative `op` (+ or *) of X along Julia dim d into a new Array{T}, accumulated in `_scan_acc(T)`
and in order. Along dim 1 each run is one sequential loop; along a later dim
the running values of the contiguous dims before it are one SIMD vector step per position. Base's
`cumprod(A; dims)` on a converted copy took 3x PyTorch at (256, 256)."""
function _scan_dense(op::F, ::Type{T}, X::Array{S,N}, d::Int) where {F,T,S,N}
    A = _scan_acc(T)
    sz = size(X); pre = _prodrange(sz, 1, d - 1); n = sz[d]; post = _prodrange(sz, d + 1, N)
    out = alloc_out(T, sz)
    n == 0 && return out
    acc = Vector{A}(undef, pre)
    @inbounds for q in 0:post-1
        base = q * pre * n
        if pre == 1
            a = jconvert(A, X[base+1]); out[base+1] = jconvert(T, a)
            for i in base+2:base+n
                a = op(a, jconvert(A, X[i])); out[i] = jconvert(T, a)
            end
        else
            @simd for p in 1:pre
                acc[p] = jconvert(A, X[base+p]); out[base+p] = jconvert(T, acc[p])
            end
            for i in 1:n-1
                o = base + i * pre
                @simd for p in 1:pre
                    acc[p] = op(acc[p], jconvert(A, X[o+p])); out[o+p] = jconvert(T, acc[p])
                end
            end
        end
    end
    out
end
defop("cumsum(input: Tensor, dim: Dim, *, dtype: DType = None) -> Tensor", _cumsum; batch = "reduce",
      grad = ["input" => "cumsum_backward(grad, dim)"],
      doc = "Cumulative sum along dim.")
defop("cumprod(input: Tensor, dim: Dim, *, dtype: DType = None) -> Tensor", _cumprod; batch = "reduce",
      grad = ["input" => "cumprod_backward(grad, input, dim, result)"],
      doc = "Cumulative product along dim.")

# ---- sort, argsort, topk ---------------------------------------------------------------------------
# Each slice along the dim becomes a vector of integer keys, the element's order bits above its
# index, and the keys are sorted as plain integers: no comparison closure, no permutation vector,
# ties kept in index order (so the sort is stable, as PyTorch's stable sort and NumPy's). A
# sortperm with a custom ordering over a copied column took 17 ms at (256, 256), this 1.7 ms.
"Unsigned bits of `v` that order as PyTorch sorts: NaN largest (every NaN alike), -0.0 equal to 0.0."
@inline function _order_bits(v::Float32)
    u = reinterpret(UInt32, isnan(v) ? NaN32 : v == 0 ? 0f0 : v)
    u ⊻ (u >> 31 == 0x1 ? 0xffffffff : 0x80000000)
end
@inline function _order_bits(v::Float64)
    u = reinterpret(UInt64, isnan(v) ? NaN : v == 0 ? 0.0 : v)
    u ⊻ (u >> 63 == 0x1 ? typemax(UInt64) : 0x8000000000000000)
end
@inline _order_bits(v::Union{Float16,BFloat16}) = _order_bits(Float32(v))   # exact
@inline _order_bits(v::Union{Int8,Int16,Int32}) = reinterpret(UInt32, Int32(v)) ⊻ 0x80000000
@inline _order_bits(v::Int64) = reinterpret(UInt64, v) ⊻ 0x8000000000000000
@inline _order_bits(v::Union{Bool,UInt8,UInt16,UInt32}) = UInt32(v)
@inline _order_bits(v::UInt64) = v

"Sort (k = the dim's size) or select the k first of each slice of `x` along Julia dim d: (values, indices)."
function _sort_slices(x::AbstractArray{T,N}, d::Int, k::Int, descending::Bool) where {T,N}
    X = x isa Strided ? x : Strided(dense(x))
    wide = typeof(_order_bits(zero(T))) === UInt64 || size(x, d) > typemax(UInt32)
    wide ? _sort_slices(X, d, k, descending, UInt128) : _sort_slices(X, d, k, descending, UInt64)
end
function _sort_slices(x::Strided{T,N}, d::Int, k::Int, descending::Bool, ::Type{K}) where {T,N,K}
    n = size(x, d); sx = x.strides[d]; p = x.ptr
    osz = ntuple(j -> j == d ? k : size(x, j), Val(N))
    V = alloc(T, osz); I = alloc(Int64, osz)
    so = stride(V, d); H = 4 * sizeof(K)   # the index's bits: the key's lower half
    B = typeof(_order_bits(zero(T)))
    flip = descending ? typemax(B) : zero(B)
    low = (K(1) << H) - K(1)
    keys = Vector{K}(undef, n)
    GC.@preserve x @inbounds for Ko in CartesianIndices(ntuple(j -> j == d ? 1 : size(x, j), Val(N)))
        bx = 1; bo = 1
        for j in 1:N
            bx += (Ko[j] - 1) * x.strides[j]; bo += (Ko[j] - 1) * stride(V, j)
        end
        for j in 0:n-1
            keys[j+1] = (K(_order_bits(unsafe_load(p, bx + j * sx)) ⊻ flip) << H) | K(j)
        end
        k == n ? sort!(keys) : k <= 16 ? _first_k!(keys, k) : partialsort!(keys, 1:k)
        for j in 0:k-1
            i = Int(keys[j+1] & low)
            I[bo + j * so] = i
            V[bo + j * so] = unsafe_load(p, bx + i * sx)
        end
    end
    V, I
end
"Put the k smallest keys, sorted, first: one compare per key against the k-th best, for small k."
function _first_k!(keys::Vector, k::Int)
    k == 0 && return keys
    sort!(view(keys, 1:k))
    @inbounds for j in k+1:length(keys)
        v = keys[j]
        v < keys[k] || continue
        i = k
        while i > 1 && keys[i-1] > v
            keys[i] = keys[i-1]; i -= 1
        end
        keys[i] = v
    end
    keys
end
function _sort(x, dim, descending, stable)
    _realcheck("sort", x)
    ndims(x) == 0 && return (copy(dense(x)), fill(0))
    _sort_slices(x, dim, size(x, dim), descending)
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
    _sort_slices(x, dim, k, largest)
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
