# Losses: negative log-likelihood over class indices; binary cross-entropy with logits.

function _reduction_mode(op, reduction)
    reduction in ("none", "mean", "sum") ||
        throw(ArgumentError("$op(): reduction must be 'none', 'mean' or 'sum', got '$reduction'"))
    reduction
end

"Sizes (D, C, N) of an (N, C, d...) or (C,) input and the matching target check."
function _nll_layout(op, xsz::Tuple, t)
    nx = length(xsz)
    nx >= 1 || throw(ArgumentError("$op(): input must have at least 1 dimension (classes), got a 0-d tensor"))
    eltype(t) <: Integer && !(eltype(t) <: Bool) ||
        throw(DTypeError("$op(): expected target of integer dtype (class indices), got $(_dtname(t))"))
    if nx == 1
        ndims(t) == 0 || throw(ArgumentError(
            "$op(): a 1-d input of shape $(_nn_shape(xsz)) needs a 0-d target, got shape $(_nn_shape(t))"))
        return 1, xsz[1], 1
    end
    N = xsz[nx]; C = xsz[nx - 1]
    (ndims(t) >= 1 && size(t, ndims(t)) == N) || throw(ArgumentError(
        "$op(): expected input batch_size ($N) to match target batch_size ($(ndims(t) == 0 ? 0 : size(t, ndims(t)))) " *
        "(input $(_nn_shape(xsz)), target $(_nn_shape(t)))"))
    size(t) == (xsz[1:nx-2]..., N) || throw(ArgumentError(
        "$op(): size mismatch (got input: $(_nn_shape(xsz)), target: $(_nn_shape(t)))"))
    _prodrange(xsz, 1, nx - 2), C, N
end

function _nll_weights(op, w, C, ::Type{Tc}) where {Tc}
    w === nothing && return nothing
    _nn_float(op, w)
    (ndims(w) == 1 && length(w) == C) || throw(ArgumentError(
        "$op(): weight should be defined for all $C classes or no classes, but got weight of shape $(_nn_shape(w))"))
    as_dense(Tc, w)
end

function _nll_targets(op, t, C, ignore_index, D, N)
    Tt = reshape(dense(t), D, N)
    @inbounds for v in Tt
        v == ignore_index || 0 <= v < C || _oob("$op(): target $v is out of bounds for $C classes")
    end
    Tt
end

function _nll_loss(x, t, w, ignore_index::Int, reduction)
    op = "nll_loss"
    _nn_float(op, x)
    red = _reduction_mode(op, reduction)
    D, C, N = _nll_layout(op, size(x), t)
    T = eltype(x); Tc = compute_type(T)
    Wv = _nll_weights(op, w, C, Tc)
    X = reshape(as_dense(Tc, x), D, C, N)
    Tt = _nll_targets(op, t, C, ignore_index, D, N)
    if red == "none"
        O = alloc(Tc, D, N)
        @inbounds for n in 1:N, d in 1:D
            c = Int(Tt[d, n])
            O[d, n] = c == ignore_index ? zero(Tc) : -(Wv === nothing ? one(Tc) : Wv[c + 1]) * X[d, c + 1, n]
        end
        return _restore(T, reshape(O, size(t)))
    end
    s = 0.0; tw = 0.0
    @inbounds for n in 1:N, d in 1:D
        c = Int(Tt[d, n])
        c == ignore_index && continue
        wc = Wv === nothing ? 1.0 : Float64(Wv[c + 1])
        s -= wc * Float64(X[d, c + 1, n]); tw += wc
    end
    fill(jconvert(T, red == "sum" ? s : s / tw))
end

"""`nll_loss_backward`'s checks of the incoming gradient `g` (CPU or meta) against the target and
the input's size; returns (reduction, D, C, N) as `_nll_layout` gives them."""
function _nll_grad_checks(g, t, xsize, reduction)
    op = "nll_loss_backward"
    _nn_float(op, g)
    red = _reduction_mode(op, reduction)
    D, C, N = _nll_layout(op, xsize, t)
    if red == "none"
        size(g) == size(t) || throw(DimensionMismatch(
            "$op(): grad_output of shape $(_nn_shape(g)) does not match target $(_nn_shape(t))"))
    else
        length(g) == 1 || throw(DimensionMismatch("$op(): expected a one-element grad_output, got $(_nn_shape(g))"))
    end
    red, D, C, N
end

function _nll_loss_backward(g, t, xsize, w, ignore_index::Int, reduction)
    op = "nll_loss_backward"
    red, D, C, N = _nll_grad_checks(g, t, xsize, reduction)
    T = eltype(g); Tc = compute_type(T)
    Wv = _nll_weights(op, w, C, Tc)
    Tt = _nll_targets(op, t, C, ignore_index, D, N)
    G = as_dense(Tc, g)
    O = alloc_zeros(Tc, D, C, N)
    scale = one(Tc)
    if red == "mean"
        tw = 0.0
        @inbounds for c in Tt
            c == ignore_index || (tw += Wv === nothing ? 1.0 : Float64(Wv[c + 1]))
        end
        scale = Tc(1 / tw)
    end
    G2 = red == "none" ? reshape(G, D, N) : G
    @inbounds for n in 1:N, d in 1:D
        c = Int(Tt[d, n])
        c == ignore_index && continue
        gv = red == "none" ? G2[d, n] : G2[1]
        O[d, c + 1, n] = -(Wv === nothing ? one(Tc) : Wv[c + 1]) * gv * scale
    end
    _restore(T, reshape(O, xsize))
end
# Meta: the checks on shapes and dtypes (target values are data, unchecked); a reduced loss is 0-d.
"`_nll_weights`'s checks of a meta class-weight tensor (or nothing)."
function _nll_weights(op, w::Union{Nothing,MetaArray}, C, ::Type)
    w === nothing && return nothing
    _nn_float(op, w)
    (ndims(w) == 1 && length(w) == C) || throw(ArgumentError(
        "$op(): weight should be defined for all $C classes or no classes, but got weight of shape $(_nn_shape(w))"))
    w
end
function _nll_loss(x::MetaArray, t::MetaArray, w::Union{Nothing,MetaArray}, ignore_index::Int, reduction)
    op = "nll_loss"
    _nn_float(op, x)
    red = _reduction_mode(op, reduction)
    D, C, N = _nll_layout(op, size(x), t)
    _nll_weights(op, w, C, eltype(x))
    meta_like(x, eltype(x), red == "none" ? size(t) : ())
end
function _nll_loss_backward(g::MetaArray, t::MetaArray, xsize, w::Union{Nothing,MetaArray}, ignore_index::Int, reduction)
    op = "nll_loss_backward"
    red, D, C, N = _nll_grad_checks(g, t, xsize, reduction)
    _nll_weights(op, w, C, eltype(g))
    meta_like(g, eltype(g), Tuple(xsize))
end
defop("_nll_loss(input: Tensor, target: Tensor, weight: Tensor = None, ignore_index: int = -100, reduction: str = \"mean\") -> Tensor",
      _nll_loss; method = false,
      grad = ["input" => "_nll_loss_backward(grad, target, input.shape, weight, ignore_index, reduction)"],
      doc = "Negative log-likelihood of class-index targets: -weight[t] * input[n, t, ...]; targets equal to " *
            "ignore_index count for nothing; 'mean' divides by the summed weights of the counted targets.")
defop("_nll_loss_backward(grad_output: Tensor, target: Tensor, input_size: Shape, weight: Tensor = None, " *
      "ignore_index: int = -100, reduction: str = \"mean\") -> Tensor", _nll_loss_backward; method = false,
      grad = ["grad_output" => "_nll_loss(grad, target, weight, ignore_index, reduction)"],
      doc = "Gradient of _nll_loss (its adjoint; independent of the input's values).")

# Cross-entropy of logits against class indices, fused: log-softmax, the target's weighted
# log-probability and label smoothing in one pass, and its gradient in one pass. With
# a[n, c] = (1 - ε) w[t] [c == t] + (ε / C) w[c] (zero for ignored targets), the loss of sample n is
# -Σ_c a[n, c] log p[n, c] and its gradient s[n] p[n, :] - a[n, :] with s = Σ_c a; 'mean' divides by
# the summed weights w[t] of the counted targets (as PyTorch).

"Class weight, with one for no weights."
@inline _cw(Wv::Nothing, c, ::Type{T}) where {T} = one(T)
@inline _cw(Wv, c, ::Type{T}) where {T} = T(Wv[c])

"Sum of w[t] over counted targets (the 'mean' divisor)."
function _ce_total_weight(Tt, Wv, ignore_index)
    tw = 0.0
    @inbounds for c in Tt
        c == ignore_index || (tw += _cw(Wv, c + 1, Float64))
    end
    tw
end

function _ce_prepare(op, x, t, w, ignore_index, label_smoothing, reduction)
    _nn_float(op, x)
    red = _reduction_mode(op, reduction)
    0 <= label_smoothing <= 1 || throw(ArgumentError("$op(): label_smoothing must be in [0, 1], got $label_smoothing"))
    D, C, N = _nll_layout(op, size(x), t)
    Tc = compute_type(eltype(x))
    Wv = _nll_weights(op, w, C, Tc)
    Tt = _nll_targets(op, t, C, ignore_index, D, N)
    X = reshape(as_dense(Tc, x), D, C, N)
    red, D, C, N, Wv, Tt, X
end

"""
Log-sum-exp over classes of X (D, C, N), max-shifted, as a (D, N) matrix. With D > 1 it is computed
on a (D*N, C) copy, so every pass runs across positions in SIMD rather than across the few classes;
(N, C) logits (D == 1) already hold each position's classes contiguously and need no copy.
"""
function _ce_lse_all(X::Array{T,3}) where {T}
    D, C, N = size(X)
    D == 1 && return _ce_lse_columns(reshape(X, C, N))
    Xp = reshape(permutedims(X, (1, 3, 2)), D * N, C)
    m = fill(T(-Inf), D * N)
    @inbounds for c in 1:C
        @simd for i in 1:D * N
            v = Xp[i, c]
            m[i] = ifelse(v > m[i], v, m[i])
        end
    end
    s = alloc_zeros(T, D * N)
    @inbounds for c in 1:C
        @simd for i in 1:D * N
            s[i] += fexp(Xp[i, c] - m[i])
        end
    end
    @inbounds @simd for i in 1:D * N
        m[i] += flog(s[i])
    end
    reshape(m, D, N)
end

"Log-sum-exp of each column of X (C, N), max-shifted, as a (1, N) matrix."
function _ce_lse_columns(X::Matrix{T}) where {T}
    C, N = size(X)
    out = alloc(T, 1, N)
    @inbounds for n in 1:N
        m = _run_extreme(X, (n - 1) * C, C, true)
        s = zero(T)
        @simd_short for c in 1:C
            s += fexp(X[c, n] - m)
        end
        out[1, n] = m + flog(s)
    end
    out
end

function _cross_entropy(x, t, w, ignore_index::Int, label_smoothing::Float64, reduction)
    op = "cross_entropy"
    red, D, C, N, Wv, Tt, X = _ce_prepare(op, x, t, w, ignore_index, label_smoothing, reduction)
    L = _ce_losses(X, Tt, Wv, ignore_index, eltype(X)(label_smoothing))
    T = eltype(x)
    red == "none" && return _restore(T, reshape(L, size(t)))
    tot = 0.0
    @inbounds for v in L
        tot += Float64(v)
    end
    fill(jconvert(T, red == "sum" ? tot : tot / _ce_total_weight(Tt, Wv, ignore_index)))
end

"Per-position losses (D, N) of logits X (D, C, N); a function barrier, so the loop runs on known types."
function _ce_losses(X::Array{Tc,3}, Tt::AbstractMatrix, Wv, ignore_index::Int, eps::Tc) where {Tc}
    D, C, N = size(X)
    sm = eps / C
    L = alloc(Tc, D, N)
    LSE = _ce_lse_all(X)
    @inbounds for n in 1:N, d in 1:D
        tc = Int(Tt[d, n])
        if tc == ignore_index
            L[d, n] = zero(Tc)
            continue
        end
        lse = LSE[d, n]
        l = (one(Tc) - eps) * _cw(Wv, tc + 1, Tc) * (lse - X[d, tc + 1, n])
        if eps > 0
            acc = zero(Tc)
            for c in 1:C
                acc += _cw(Wv, c, Tc) * (lse - X[d, c, n])
            end
            l += sm * acc
        end
        L[d, n] = l
    end
    L
end

function _cross_entropy_backward(g, x, t, w, ignore_index::Int, label_smoothing::Float64, reduction)
    op = "cross_entropy_backward"
    red, D, C, N, Wv, Tt, X = _ce_prepare(op, x, t, w, ignore_index, label_smoothing, reduction)
    _nn_float(op, g)
    red == "none" ? (size(g) == size(t) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match target $(_nn_shape(t))"))) :
        (length(g) == 1 || throw(DimensionMismatch("$op(): expected a one-element grad_output, got $(_nn_shape(g))")))
    Tc = eltype(X)
    G = as_dense(Tc, g)
    G2 = red == "none" ? reshape(G, D, N) : reshape(G, 1, 1)
    scale = red == "mean" ? Tc(1 / _ce_total_weight(Tt, Wv, ignore_index)) : one(Tc)
    O = _ce_grads(X, Tt, Wv, G2, ignore_index, Tc(label_smoothing), scale)
    _restore(promote_dtype(eltype(g), eltype(x)), reshape(O, size(x)))
end

"d loss / d X for logits X (D, C, N), given the output gradient G2 ((D, N), or (1, 1) for a reduced
loss) times `scale`; a function barrier, so the loop runs on known types."
function _ce_grads(X::Array{Tc,3}, Tt::AbstractMatrix, Wv, G2::AbstractMatrix{Tc}, ignore_index::Int, eps::Tc,
                   scale::Tc) where {Tc}
    D, C, N = size(X)
    sm = eps / C
    sw = zero(Tc)                  # Σ_c w[c], for the smoothing part of s
    for c in 1:C
        sw += _cw(Wv, c, Tc)
    end
    per_position = size(G2) == (D, N)
    O = alloc_zeros(Tc, D, C, N)
    LSE = _ce_lse_all(X)
    @inbounds for n in 1:N, d in 1:D
        tc = Int(Tt[d, n])
        tc == ignore_index && continue
        gs = (per_position ? G2[d, n] : G2[1, 1]) * scale
        wt = (one(Tc) - eps) * _cw(Wv, tc + 1, Tc)
        s = wt + sm * sw
        lse = LSE[d, n]
        @simd_short for c in 1:C   # tens to hundreds of classes: @simd's 64-wide steps would leave them scalar
            O[d, c, n] = gs * (s * fexp(X[d, c, n] - lse) - sm * _cw(Wv, c, Tc))
        end
        O[d, tc + 1, n] -= gs * wt
    end
    O
end

"The matrix a of the comment above (divided by the 'mean' divisor), shaped like the input."
function _cross_entropy_targets(t, xsize, w, ignore_index::Int, label_smoothing::Float64, reduction,
                                ::Type{T}) where {T}
    op = "cross_entropy_targets"
    red = _reduction_mode(op, reduction)
    D, C, N = _nll_layout(op, xsize, t)
    Wv = _nll_weights(op, w, C, Float64)
    Tt = _nll_targets(op, t, C, ignore_index, D, N)
    scale = red == "mean" ? 1 / _ce_total_weight(Tt, Wv, ignore_index) : 1.0
    sm = label_smoothing / C
    A = alloc_zeros(T, D, C, N)
    @inbounds for n in 1:N, d in 1:D
        tc = Int(Tt[d, n])
        tc == ignore_index && continue
        for c in 1:C
            A[d, c, n] = T(scale * sm * _cw(Wv, c, Float64))
        end
        A[d, tc + 1, n] += T(scale * (1 - label_smoothing) * _cw(Wv, tc + 1, Float64))
    end
    reshape(A, xsize)
end

"`_ce_prepare`'s checks of meta arguments: the reduction mode."
function _ce_prepare(op, x::MetaArray, t::MetaArray, w::Union{Nothing,MetaArray}, ignore_index, label_smoothing, reduction)
    _nn_float(op, x)
    red = _reduction_mode(op, reduction)
    0 <= label_smoothing <= 1 || throw(ArgumentError("$op(): label_smoothing must be in [0, 1], got $label_smoothing"))
    D, C, N = _nll_layout(op, size(x), t)
    _nll_weights(op, w, C, eltype(x))
    red
end
function _cross_entropy(x::MetaArray, t::MetaArray, w::Union{Nothing,MetaArray}, ignore_index::Int, label_smoothing::Float64, reduction)
    red = _ce_prepare("cross_entropy", x, t, w, ignore_index, label_smoothing, reduction)
    meta_like(x, eltype(x), red == "none" ? size(t) : ())
end
function _cross_entropy_backward(g::MetaArray, x::MetaArray, t::MetaArray, w::Union{Nothing,MetaArray}, ignore_index::Int,
                                 label_smoothing::Float64, reduction)
    op = "cross_entropy_backward"
    red = _ce_prepare(op, x, t, w, ignore_index, label_smoothing, reduction)
    _nn_float(op, g)
    red == "none" ? (size(g) == size(t) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match target $(_nn_shape(t))"))) :
        (length(g) == 1 || throw(DimensionMismatch("$op(): expected a one-element grad_output, got $(_nn_shape(g))")))
    meta_like(x, _meta_promote(eltype(g), eltype(x)))
end
function _cross_entropy_targets(t::MetaArray, xsize, w::Union{Nothing,MetaArray}, ignore_index::Int, label_smoothing::Float64,
                                reduction, ::Type{T}) where {T}
    op = "cross_entropy_targets"
    _reduction_mode(op, reduction)
    D, C, N = _nll_layout(op, xsize, t)
    _nll_weights(op, w, C, Float64)
    MetaArray{T}(Tuple(xsize))
end

const _CE_ARGS = "weight: Optional[Tensor], ignore_index: int, label_smoothing: float, reduction: str"
const _CE_PASS = "weight, ignore_index, label_smoothing, reduction"
const _CE_DIM = "(0 if input.ndim == 1 else 1)"
const _CE_A = "_cross_entropy_targets(target, input.shape, $_CE_PASS, input.dtype)"
defop("_cross_entropy(input: Tensor, target: Tensor, $_CE_ARGS) -> Tensor", _cross_entropy; method = false,
      batch = "cross_entropy",
      grad = ["input" => "_cross_entropy_backward(grad, input, target, $_CE_PASS)"],
      doc = "Cross-entropy of logits (N, C, ...) or (C,) against class indices, fused: -Σ_c a[c] log_softmax(input)[c] " *
            "with a = (1 - label_smoothing) w[t] onehot(t) + label_smoothing / C * w; ignore_index targets count for " *
            "nothing; 'mean' divides by the summed w[t] of counted targets.")
defop("_cross_entropy_backward(grad_output: Tensor, input: Tensor, target: Tensor, $_CE_ARGS) -> Tensor",
      _cross_entropy_backward; method = false,
      grad = ["grad_output" => "sum(grad * (sum($_CE_A, $_CE_DIM, True) * softmax(input, $_CE_DIM) - $_CE_A), " *
                               "*(($_CE_DIM,) if reduction == 'none' else ()))",
              "input" => "_softmax_backward(grad * (grad_output.unsqueeze($_CE_DIM) if reduction == 'none' else grad_output) " *
                         "* sum($_CE_A, $_CE_DIM, True), softmax(input, $_CE_DIM), $_CE_DIM)"],
      doc = "Gradient of _cross_entropy: grad_output * (s * softmax(input) - a), s = Σ_c a[c].")
defop("_cross_entropy_targets(target: Tensor, input_size: Shape, $_CE_ARGS, dtype: DType) -> Tensor",
      _cross_entropy_targets; method = false,
      doc = "The weights a[n, c] of each log-probability in _cross_entropy (divided by the 'mean' divisor), " *
            "shaped like the input: a constant of the targets, used by the second derivatives.")

@inline fbce_logits(x, y, pw) = (one(x) - y) * x + (one(x) + (pw - one(x)) * y) * fsoftplus(-x)
defmap("_binary_cross_entropy_with_logits(input: Tensor, target: Tensor, pos_weight: Tensor) -> Tensor", fbce_logits;
       dtypes = "promote_float", method = false, inplace = false,
       grad = ["input" => "grad * ((1 - target) - (1 + (pos_weight - 1) * target) * sigmoid(-input))",
               "target" => "grad * ((pos_weight - 1) * softplus(-input) - input)",
               "pos_weight" => "grad * target * softplus(-input)"],
       doc = "Elementwise (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus(-input): " *
             "binary cross-entropy of logits, without overflow.")

const _GELU_C = 0.7978845608028654   # sqrt(2 / pi)
@inline fgelu_tanh(x) = (h = x / 2; h + h * ftanh(oftype(x, _GELU_C) * (x + oftype(x, 0.044715) * x * x * x)))
defmap("_gelu_tanh(input: Tensor) -> Tensor", fgelu_tanh; dtypes = "float", method = false,
       grad = ["input" => "grad * (0.5 * (1 + tanh($_GELU_C * (input + 0.044715 * input * input * input))) + " *
                          "0.5 * input * (1 - square(tanh($_GELU_C * (input + 0.044715 * input * input * input)))) * " *
                          "$_GELU_C * (1 + 0.134145 * input * input))"],
       doc = "GELU with the tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).")

