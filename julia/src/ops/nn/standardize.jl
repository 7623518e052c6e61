# Standardization over dims, (x - mean) / sqrt(var + eps) with the biased variance: the core of
# layer_norm (trailing dims), batch_norm (all but the channel dim) and group_norm (within groups).
# Data is viewed as (A, K, B) with statistics per k over (A, B); when the kept dims are not one
# contiguous block, inputs are permuted into (reduced..., kept...) first (`_std_permuted`).

"(A, K, B) sizes for standardizing an array of size `sz` over `dims`, or `nothing` when the kept dims
are not one contiguous block."
function _std_layout(sz::Tuple, dims)
    N = length(sz)
    kept = [d for d in 1:N if !(d in dims)]
    isempty(kept) && return (prod(sz), 1, 1)
    lo, hi = first(kept), last(kept)
    hi - lo + 1 == length(kept) || return nothing
    (_prodrange(sz, 1, lo - 1), _prodrange(sz, lo, hi), _prodrange(sz, hi + 1, N))
end

"""Run standardization kernel `f(xs..., dims, eps)` with the reduced dims moved to the front. This
rare path (e.g. vmap of batch_norm) is called through `invokelatest`, so that `permutedims` is only
compiled when it is used."""
function _std_permuted(f, dims, eps, xs...)
    N = ndims(xs[1])
    red = [d for d in 1:N if d in dims]
    perm = vcat(red, [d for d in 1:N if !(d in dims)])
    ys = map(x -> permutedims(dense(x), perm), xs)
    permutedims(f(ys..., ntuple(identity, length(red)), eps), invperm(perm))
end

"""Each input as a dense (A, K, B) array of type C. `::Type{C}` and no closure over `C`: Julia does
not specialize on a type argument it only passes on, nor on a type captured by a closure, and the
kernels' loops would then dispatch per element."""
_std_prepare(::Type{C}, shp, xs...) where {C} = _std_dense_all(C, shp, xs)
_std_dense_all(::Type{C}, shp, xs::Tuple{}) where {C} = ()
_std_dense_all(::Type{C}, shp, xs::Tuple) where {C} =
    (reshape(as_dense(C, first(xs)), shp), _std_dense_all(C, shp, Base.tail(xs))...)

function _std_check(op, x, dims, others...)
    _nn_float(op, x)
    for o in others
        _nn_float(op, o)
        size(o) == size(x) || throw(DimensionMismatch("$op(): tensors of shapes $(_nn_shape(x)) and $(_nn_shape(o)) differ"))
    end
    dims === nothing && throw(ArgumentError("$op(): dim must be given"))
end

"""Per-k mean and 1/sqrt(var + eps) of an (A, K, B) array (Float64). The loops over `a` use
`@simd_short`: A is often a short normalized row (layer_norm over 32 or 64 features)."""
function _std_stats(X::Array{C,3}, eps) where {C}
    A, K, B = size(X)
    n = A * B
    mu = alloc_zeros(Float64, K); v = alloc_zeros(Float64, K)
    @inbounds for b in 1:B, k in 1:K
        s = 0.0
        @simd_short for a in 1:A
            s += Float64(X[a, k, b])
        end
        mu[k] += s
    end
    mu ./= n
    @inbounds for b in 1:B, k in 1:K
        s = 0.0; m = mu[k]
        @simd_short for a in 1:A
            s += abs2(Float64(X[a, k, b]) - m)
        end
        v[k] += s
    end
    rstd = [1 / sqrt(v[k] / n + eps) for k in 1:K]
    mu, rstd
end

function _standardize(x, dims, eps::Float64)
    op = "standardize"
    _std_check(op, x, dims)
    shp = _std_layout(size(x), dims)
    shp === nothing && return Base.invokelatest(_std_permuted, _standardize, dims, eps, x)
    T = eltype(x); C = compute_type(T)
    (X,) = _std_prepare(C, shp, x)
    mu, r = _std_stats(X, eps)
    A, K, B = size(X)
    O = alloc_out(C, (A, K, B))
    @inbounds for b in 1:B, k in 1:K
        m = C(mu[k]); rk = C(r[k])
        @simd_short for a in 1:A
            O[a, k, b] = (X[a, k, b] - m) * rk
        end
    end
    _restore(T, reshape(O, size(x)))
end

"Per-k sums of u and of u ⊙ xhat."
function _std_sums(U::Array{C,3}, X::Array{C,3}, mu, r) where {C}
    A, K, B = size(X)
    su = alloc_zeros(Float64, K); sux = alloc_zeros(Float64, K)
    @inbounds for b in 1:B, k in 1:K
        s1 = 0.0; s2 = 0.0; m = mu[k]; rk = r[k]
        @simd_short for a in 1:A
            u = Float64(U[a, k, b])
            s1 += u
            s2 += u * (Float64(X[a, k, b]) - m) * rk
        end
        su[k] += s1; sux[k] += s2
    end
    su, sux
end

function _standardize_backward(g, x, dims, eps::Float64)
    op = "standardize_backward"
    _std_check(op, x, dims, g)
    shp = _std_layout(size(x), dims)
    shp === nothing && return Base.invokelatest(_std_permuted, _standardize_backward, dims, eps, g, x)
    T = promote_dtype(eltype(g), eltype(x)); C = compute_type(T)
    (G, X) = _std_prepare(C, shp, g, x)
    mu, r = _std_stats(X, eps)
    sg, sgx = _std_sums(G, X, mu, r)
    A, K, B = size(X); n = A * B
    O = alloc_out(C, (A, K, B))
    @inbounds for b in 1:B, k in 1:K
        m = C(mu[k]); rk = C(r[k]); gm = C(sg[k] / n); gx = C(sgx[k] / n)
        @simd_short for a in 1:A
            O[a, k, b] = rk * (G[a, k, b] - gm - (X[a, k, b] - m) * rk * gx)
        end
    end
    _restore(T, reshape(O, size(x)))
end

# With xhat = (x - mean) r, dx = r (g - mean(g) - xhat mean(g xhat)). The gradient of <v, dx> with
# respect to x, per group of M elements:
#   (r²/M) [ -<v, g - ḡ> xhat - <v, xhat> (g - ḡ) + 3 <g, xhat> <v, xhat> xhat / M - <g, xhat> (v - v̄) ]
function _standardize_double_backward(v, g, x, dims, eps::Float64)
    op = "standardize_double_backward"
    _std_check(op, x, dims, g, v)
    shp = _std_layout(size(x), dims)
    shp === nothing && return Base.invokelatest(_std_permuted, _standardize_double_backward, dims, eps, v, g, x)
    T = promote_dtype(eltype(v), eltype(g), eltype(x)); C = compute_type(T)
    (V, G, X) = _std_prepare(C, shp, v, g, x)
    mu, r = _std_stats(X, eps)
    sg, sgx = _std_sums(G, X, mu, r)
    sv, svx = _std_sums(V, X, mu, r)
    A, K, B = size(X); M = A * B
    svg = alloc_zeros(Float64, K)
    @inbounds for b in 1:B, k in 1:K
        s = 0.0
        @simd for a in 1:A
            s += Float64(V[a, k, b]) * Float64(G[a, k, b])
        end
        svg[k] += s
    end
    O = alloc_out(C, (A, K, B))
    @inbounds for b in 1:B, k in 1:K
        gm = sg[k] / M; vm = sv[k] / M
        c1 = svg[k] - M * vm * gm             # <v, g - ḡ>
        c2 = svx[k]                           # <v, xhat>
        c3 = sgx[k]                           # <g, xhat>
        f = r[k]^2 / M
        m = mu[k]; rk = r[k]
        for a in 1:A
            xh = (Float64(X[a, k, b]) - m) * rk
            O[a, k, b] = C(f * (-c1 * xh - c2 * (Float64(G[a, k, b]) - gm) + 3 * c3 * c2 * xh / M -
                                c3 * (Float64(V[a, k, b]) - vm)))
        end
    end
    _restore(T, reshape(O, size(x)))
end
# Meta: the checks, and the input's size in the (promoted) type.
_standardize(x::MetaArray, dims, eps::Float64) = (_std_check("standardize", x, dims); meta_like(x))
_standardize_backward(g::MetaArray, x::MetaArray, dims, eps::Float64) =
    (_std_check("standardize_backward", x, dims, g); meta_like(x, _meta_promote(eltype(g), eltype(x))))
_standardize_double_backward(v::MetaArray, g::MetaArray, x::MetaArray, dims, eps::Float64) =
    (_std_check("standardize_double_backward", x, dims, g, v); meta_like(x, _meta_promote(eltype(v), eltype(g), eltype(x))))
defop("_standardize(input: Tensor, dim: Dims, eps: float) -> Tensor", _standardize; method = false, batch = "reduce",
      grad = ["input" => "_standardize_backward(grad, input, dim, eps)"],
      doc = "(input - mean) / sqrt(var + eps) with mean and biased variance over dim (statistics in float64).")
defop("_standardize_backward(grad_output: Tensor, input: Tensor, dim: Dims, eps: float) -> Tensor",
      _standardize_backward; method = false, batch = "reduce",
      grad = ["grad_output" => "_standardize_backward(grad, input, dim, eps)",
              "input" => "_standardize_double_backward(grad, grad_output, input, dim, eps)"],
      doc = "Gradient of _standardize: r * (g - mean(g) - xhat * mean(g * xhat)) over dim, r = 1/sqrt(var + eps).")
defop("_standardize_double_backward(grad_grad_input: Tensor, grad_output: Tensor, input: Tensor, dim: Dims, eps: float) -> Tensor",
      _standardize_double_backward; method = false, batch = "reduce",
      doc = "Gradient of _standardize_backward with respect to its input, for second derivatives of norms.")

