# Fused normalizations with their affine part, forward and backward: layer_norm (statistics per row
# of the trailing `normalized_ndim` dims; weight and bias over those dims) and the channel norms
# (batch, instance and group norm of an (N, C, *) input: statistics per group of channels over the
# positions and, unless `per_sample`, over the batch too; weight and bias per channel). Both view the
# data as runs: an (S, C, N) array in Julia order, one contiguous run of S per (c, n); layer_norm is
# the case C = 1 with S the row. Each pass is a SIMD loop over a run accumulating in the compute
# type, the runs' sums added in Float64: one pass for the sums, one for the centred squares, one for
# the output, where `_standardize` and a separate multiply and add took three ops, three arrays and
# broadcasts. The backward recomputes the statistics (two reads of the input) and takes one pass for
# its two sums and one for the result. Second derivatives go through the composition of
# `_standardize` instead (`norm_vjp` in python/jtensor/_derivatives.py).

"A normalization's view of its input: runs of S, C channels, N samples, G groups of channels."
struct _NormLayout
    S::Int
    C::Int
    N::Int
    G::Int
    per_sample::Bool   # statistics per sample (layer, group, instance norm) or across the batch
    inner::Bool        # weight and bias over the run's positions (layer_norm) rather than per channel
end
_nstats(L::_NormLayout) = L.per_sample ? L.G * L.N : L.G
_ncount(L::_NormLayout) = L.S * (L.C ÷ L.G) * (L.per_sample ? 1 : L.N)
"Index of the statistics of run (c, n)."
@inline _sidx(L::_NormLayout, c, n) = (c - 1) ÷ (L.C ÷ L.G) + 1 + (L.per_sample ? (n - 1) * L.G : 0)
_sshape(L::_NormLayout) = L.per_sample ? (L.G, L.N) : (L.G,)

function _layer_norm_layout(op, x, k::Int)
    1 <= k <= ndims(x) ||
        throw(ArgumentError("$op(): normalized_ndim must be in 1:$(ndims(x)) for an input of shape $(_nn_shape(x)), got $k"))
    _NormLayout(_prodrange(size(x), 1, k), 1, _prodrange(size(x), k + 1, ndims(x)), 1, true, true)
end
function _channel_norm_layout(op, x, groups::Int, per_sample::Bool)
    nd = ndims(x)
    nd >= 2 || throw(ArgumentError("$op(): expected an input of at least 2 dims (N, C, ...), got $(_nn_shape(x))"))
    C = size(x, nd - 1)
    groups >= 1 && C % groups == 0 ||
        throw(ArgumentError("$op(): expected number of channels in input ($C) to be divisible by num_groups ($groups)"))
    _NormLayout(_prodrange(size(x), 1, nd - 2), C, size(x, nd), groups, per_sample, false)
end
"Checks of a weight or bias (or nothing) against the layout: its length and a floating dtype."
function _norm_param_check(op, L::_NormLayout, name, p)
    p === nothing && return
    _nn_float(op, p)
    n = L.inner ? L.S : L.C
    length(p) == n || throw(DimensionMismatch("$op(): expected $name with $n elements, got shape $(_nn_shape(p))"))
end
_norm_dense(::Type{C}, p::Nothing) where {C} = nothing
_norm_dense(::Type{C}, p) where {C} = vec(as_dense(C, p))
@inline _pv(p::Nothing, i, ::Type{T}, dflt) where {T} = T(dflt)
@inline _pv(p, i, ::Type{T}, dflt) where {T} = @inbounds T(p[i])

"Per-statistic mean and biased variance (Float64) of X (S, C, N) viewed as runs."
function _norm_stats(X::Array{T,3}, L::_NormLayout) where {T}
    S, C, N = L.S, L.C, L.N
    M = _ncount(L)
    mu = alloc_zeros(Float64, _nstats(L)); var = alloc_zeros(Float64, _nstats(L))
    @inbounds for n in 1:N, c in 1:C
        s = zero(T)
        @simd_short for i in 1:S
            s += X[i, c, n]
        end
        mu[_sidx(L, c, n)] += s
    end
    mu ./= M
    @inbounds for n in 1:N, c in 1:C
        k = _sidx(L, c, n); m = T(mu[k]); s = zero(T)
        @simd_short for i in 1:S
            d = X[i, c, n] - m
            s += d * d
        end
        var[k] += s
    end
    var ./= M
    mu, var
end

"""Layer norm's layout: one run per statistic (a row), so a row's statistics, backward sums and
output can all be computed while the row is in cache: one read of the row from memory per pass over
rows instead of one per pass over the data (softmax's row loop does the same)."""
_rowwise(L::_NormLayout) = L.inner && L.C == 1 && L.G == 1 && L.per_sample

"Mean and biased variance (Float64) of run `n` of a row-wise layout, the values `_norm_stats` gives."
@inline function _run_stats(X::Array{T,3}, S::Int, n::Int) where {T}
    s = zero(T)
    @inbounds @simd_short for i in 1:S
        s += X[i, 1, n]
    end
    mu = (0.0 + s) / S
    m = T(mu); v = zero(T)
    @inbounds @simd_short for i in 1:S
        d = X[i, 1, n] - m
        v += d * d
    end
    mu, (0.0 + v) / S
end

"Run (c, n) of the forward output from its statistics."
@inline function _norm_forward_run!(O::Array{T,3}, X::Array{T,3}, W, B, L::_NormLayout, c, n, mu, var, eps) where {T}
    r = 1 / sqrt(var + eps)
    @inbounds if L.inner
        m = T(mu); rT = T(r)
        @simd_short for i in 1:L.S
            O[i, c, n] = (X[i, c, n] - m) * rT * _pv(W, i, T, 1) + _pv(B, i, T, 0)
        end
    else
        a = r * _pv(W, c, Float64, 1)
        a_T = T(a); b_T = T(_pv(B, c, Float64, 0) - mu * a)
        @simd_short for i in 1:L.S
            O[i, c, n] = X[i, c, n] * a_T + b_T
        end
    end
    nothing
end

function _norm_forward!(O::Array{T,3}, X::Array{T,3}, W, B, L::_NormLayout, eps::Float64) where {T}
    if _rowwise(L)
        for n in 1:L.N
            mu, var = _run_stats(X, L.S, n)
            _norm_forward_run!(O, X, W, B, L, 1, n, mu, var, eps)
        end
        return O
    end
    mu, var = _norm_stats(X, L)
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        _norm_forward_run!(O, X, W, B, L, c, n, mu[k], var[k], eps)
    end
    O
end

"Run (c, n)'s part of the backward sums: Σ g w and Σ g w x (w: the weight, for layer norm)."
@inline function _norm_backward_sums(G::Array{T,3}, X::Array{T,3}, W, L::_NormLayout, c, n) where {T}
    s1 = zero(T); s2 = zero(T)
    @inbounds @simd_short for i in 1:L.S
        gh = G[i, c, n] * (L.inner ? _pv(W, i, T, 1) : one(T))
        s1 += gh
        s2 += gh * X[i, c, n]
    end
    s1, s2
end

# dx = r (g w - Σgw/M - xhat Σ(g w xhat)/M) = (g w) r + x p + q
"Run (c, n) of the input gradient from its statistics `mu`, `r` = 1/std and sums `sgh`, `sghx`."
@inline function _norm_backward_run!(O::Array{T,3}, G::Array{T,3}, X::Array{T,3}, W, L::_NormLayout, c, n,
                                     mu, r, sgh, sghx, M) where {T}
    c1 = sgh / M; c2 = sghx / M
    p = T(-r * r * c2); q = T(-r * c1 + mu * r * r * c2)
    @inbounds if L.inner
        rT = T(r)
        @simd_short for i in 1:L.S
            O[i, c, n] = G[i, c, n] * _pv(W, i, T, 1) * rT + X[i, c, n] * p + q
        end
    else
        a = T(r * _pv(W, c, Float64, 1))
        @simd_short for i in 1:L.S
            O[i, c, n] = G[i, c, n] * a + X[i, c, n] * p + q
        end
    end
    nothing
end

function _norm_backward_input!(O::Array{T,3}, G::Array{T,3}, X::Array{T,3}, W, L::_NormLayout, eps::Float64) where {T}
    M = _ncount(L)
    if _rowwise(L)
        for n in 1:L.N
            mu, var = _run_stats(X, L.S, n)
            r = 1 / sqrt(var + eps)
            s1, s2 = _norm_backward_sums(G, X, W, L, 1, n)
            _norm_backward_run!(O, G, X, W, L, 1, n, mu, r, 0.0 + s1, 0.0 + (s2 - mu * s1) * r, M)
        end
        return O
    end
    mu, var = _norm_stats(X, L)
    rs = [1 / sqrt(v + eps) for v in var]
    sgh = alloc_zeros(Float64, _nstats(L)); sghx = alloc_zeros(Float64, _nstats(L))   # Σ g w, Σ g w xhat
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        s1, s2 = _norm_backward_sums(G, X, W, L, c, n)
        wc = L.inner ? 1.0 : _pv(W, c, Float64, 1)
        sgh[k] += wc * s1
        sghx[k] += wc * (s2 - mu[k] * s1) * rs[k]
    end
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        _norm_backward_run!(O, G, X, W, L, c, n, mu[k], rs[k], sgh[k], sghx[k], M)
    end
    O
end

"Gradient of the weight (Σ g xhat) or, with `bias`, of the bias (Σ g), per weight element."
function _norm_param_grad!(P::Vector{T}, G::Array{T,3}, X, L::_NormLayout, eps::Float64, bias::Bool) where {T}
    fill!(P, zero(T))
    if bias
        @inbounds for n in 1:L.N, c in 1:L.C
            if L.inner
                @simd_short for i in 1:L.S
                    P[i] += G[i, c, n]
                end
            else
                s = zero(T)
                @simd_short for i in 1:L.S
                    s += G[i, c, n]
                end
                P[c] += s
            end
        end
        return P
    end
    mu, var = _norm_stats(X, L)
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        m = T(mu[k]); r = T(1 / sqrt(var[k] + eps))
        if L.inner
            @simd_short for i in 1:L.S
                P[i] += G[i, c, n] * (X[i, c, n] - m) * r
            end
        else
            s = zero(T)
            @simd_short for i in 1:L.S
                s += G[i, c, n] * (X[i, c, n] - m)
            end
            P[c] += s * r
        end
    end
    P
end

"The input (and a gradient) as dense (S, C, N) arrays of the compute type, with the layout's checks."
function _norm_inputs(op, L::_NormLayout, xs...)
    for x in xs
        _nn_float(op, x)
        size(x) == size(xs[1]) || throw(DimensionMismatch("$op(): tensors of shapes $(_nn_shape(xs[1])) and $(_nn_shape(x)) differ"))
    end
    T = length(xs) == 1 ? eltype(xs[1]) : promote_dtype(map(eltype, xs)...)
    C = compute_type(T)
    T, C, _std_prepare(C, (L.S, L.C, L.N), xs...)
end

function _norm_run(op, x, L::_NormLayout, w, b, eps::Float64)
    _norm_param_check(op, L, "weight", w); _norm_param_check(op, L, "bias", b)
    T, C, (X,) = _norm_inputs(op, L, x)
    O = alloc_out(C, (L.S, L.C, L.N))
    length(O) > 0 && _norm_forward!(O, X, _norm_dense(C, w), _norm_dense(C, b), L, eps)
    _restore(T, reshape(O, size(x)))
end
function _norm_run_backward(op, g, x, L::_NormLayout, w, eps::Float64)
    _norm_param_check(op, L, "weight", w)
    T, C, (G, X) = _norm_inputs(op, L, g, x)
    O = alloc_out(C, (L.S, L.C, L.N))
    length(O) > 0 && _norm_backward_input!(O, G, X, _norm_dense(C, w), L, eps)
    _restore(T, reshape(O, size(x)))
end
function _norm_run_param_grad(op, g, x, L::_NormLayout, eps::Float64, bias::Bool)
    T, C, (G, X) = _norm_inputs(op, L, g, x)
    P = alloc(C, L.inner ? L.S : L.C)
    _norm_param_grad!(P, G, X, L, eps, bias)
    _restore(T, P)
end
function _norm_run_stats(op, x, L::_NormLayout)
    T, C, (X,) = _norm_inputs(op, L, x)
    _nstats(L) == 0 || _ncount(L) > 0 ||
        throw(ArgumentError("$op(): no values to take statistics of in an input of shape $(_nn_shape(x))"))
    mu, var = _norm_stats(X, L)
    _restore(T, reshape(mu, _sshape(L))), _restore(T, reshape(var, _sshape(L)))
end

_layer_norm(x, k::Int, w, b, eps::Float64) = _norm_run("layer_norm", x, _layer_norm_layout("layer_norm", x, k), w, b, eps)
_layer_norm_backward(g, x, k::Int, w, eps::Float64) =
    _norm_run_backward("layer_norm_backward", g, x, _layer_norm_layout("layer_norm_backward", x, k), w, eps)
_layer_norm_param_grad(g, x, k::Int, eps::Float64, bias::Bool) =
    _norm_run_param_grad("layer_norm_param_grad", g, x, _layer_norm_layout("layer_norm_param_grad", x, k), eps, bias)
_channel_norm(x, groups::Int, per_sample::Bool, w, b, eps::Float64) =
    _norm_run("channel_norm", x, _channel_norm_layout("channel_norm", x, groups, per_sample), w, b, eps)
_channel_norm_backward(g, x, groups::Int, per_sample::Bool, w, eps::Float64) =
    _norm_run_backward("channel_norm_backward", g, x, _channel_norm_layout("channel_norm_backward", x, groups, per_sample), w, eps)
_channel_norm_param_grad(g, x, groups::Int, per_sample::Bool, eps::Float64, bias::Bool) =
    _norm_run_param_grad("channel_norm_param_grad", g, x,
                         _channel_norm_layout("channel_norm_param_grad", x, groups, per_sample), eps, bias)
_channel_norm_stats(x, groups::Int, per_sample::Bool) =
    _norm_run_stats("channel_norm_stats", x, _channel_norm_layout("channel_norm_stats", x, groups, per_sample))

# Meta: the same checks, and the result's size and dtype.
const _MetaOpt = Union{Nothing,MetaArray}
function _norm_meta(op, L, x, w, b, others...)
    _norm_param_check(op, L, "weight", w); _norm_param_check(op, L, "bias", b)
    for o in others
        _nn_float(op, o)
        size(o) == size(x) || throw(DimensionMismatch("$op(): tensors of shapes $(_nn_shape(x)) and $(_nn_shape(o)) differ"))
    end
    _nn_float(op, x)
    meta_like(x, _meta_promote(eltype(x), map(eltype, others)...))
end
_layer_norm(x::MetaArray, k::Int, w::_MetaOpt, b::_MetaOpt, eps::Float64) =
    _norm_meta("layer_norm", _layer_norm_layout("layer_norm", x, k), x, w, b)
_layer_norm_backward(g::MetaArray, x::MetaArray, k::Int, w::_MetaOpt, eps::Float64) =
    _norm_meta("layer_norm_backward", _layer_norm_layout("layer_norm_backward", x, k), x, w, nothing, g)
function _layer_norm_param_grad(g::MetaArray, x::MetaArray, k::Int, eps::Float64, bias::Bool)
    L = _layer_norm_layout("layer_norm_param_grad", x, k)
    meta_like(_norm_meta("layer_norm_param_grad", L, x, nothing, nothing, g), _meta_promote(eltype(g), eltype(x)), (L.S,))
end
_channel_norm(x::MetaArray, groups::Int, per_sample::Bool, w::_MetaOpt, b::_MetaOpt, eps::Float64) =
    _norm_meta("channel_norm", _channel_norm_layout("channel_norm", x, groups, per_sample), x, w, b)
_channel_norm_backward(g::MetaArray, x::MetaArray, groups::Int, per_sample::Bool, w::_MetaOpt, eps::Float64) =
    _norm_meta("channel_norm_backward", _channel_norm_layout("channel_norm_backward", x, groups, per_sample), x, w, nothing, g)
function _channel_norm_param_grad(g::MetaArray, x::MetaArray, groups::Int, per_sample::Bool, eps::Float64, bias::Bool)
    L = _channel_norm_layout("channel_norm_param_grad", x, groups, per_sample)
    meta_like(_norm_meta("channel_norm_param_grad", L, x, nothing, nothing, g), _meta_promote(eltype(g), eltype(x)), (L.C,))
end
function _channel_norm_stats(x::MetaArray, groups::Int, per_sample::Bool)
    L = _channel_norm_layout("channel_norm_stats", x, groups, per_sample)
    _nn_float("channel_norm_stats", x)
    (meta_like(x, eltype(x), _sshape(L)), meta_like(x, eltype(x), _sshape(L)))
end

"""Register a fused norm `name` (kind 'layer' or 'channel', layout parameters `args`, passed on as
`pass` in formulas) with its input-gradient and parameter-gradient ops."""
function _defnorm(kind, name, args, pass, f, fb, fp; doc, param_doc)
    defop("$name(input: Tensor, $args, weight: Optional[Tensor], bias: Optional[Tensor], eps: float) -> Tensor",
          f; method = false, doc = doc,
          grad = [p => "norm_vjp('$kind', '$p', grad, input, $pass, weight, bias, eps)" for p in ("input", "weight", "bias")])
    defop("$(name)_backward(grad_output: Tensor, input: Tensor, $args, weight: Optional[Tensor], eps: float) -> Tensor",
          fb; method = false, doc = "Gradient of $name with respect to its input (statistics recomputed from the input).")
    defop("$(name)_param_grad(grad_output: Tensor, input: Tensor, $args, eps: float, bias: bool) -> Tensor",
          fp; method = false, doc = "Gradient of $name with respect to its weight ($param_doc of grad_output * xhat) " *
                                    "or, with bias, its bias (the same sum of grad_output).")
end
_defnorm("layer", "_layer_norm", "normalized_ndim: int", "normalized_ndim",
         _layer_norm, _layer_norm_backward, _layer_norm_param_grad; param_doc = "sum over the rows",
         doc = "Layer normalization over the last normalized_ndim dims with its affine part, fused: " *
               "(input - mean) / sqrt(var + eps) * weight + bias (biased variance).")
_defnorm("channel", "_channel_norm", "groups: int, per_sample: bool", "(groups, per_sample)",
         _channel_norm, _channel_norm_backward, _channel_norm_param_grad; param_doc = "per-channel sum",
         doc = "Normalization of an (N, C, *) input per group of channels (per sample, or across the batch " *
               "when per_sample is false) with a per-channel affine part, fused: batch, instance and group norm.")
defop("_channel_norm_stats(input: Tensor, groups: int, per_sample: bool) -> (mean: Tensor, var: Tensor)",
      _channel_norm_stats; method = false,
      doc = "The mean and biased variance _channel_norm normalizes with: shape (N, groups) per sample, else (groups,).")

