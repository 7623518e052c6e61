# layer_norm's three gradients in one kernel. The backward of `_layer_norm` was three ops when the
# weight and bias require grad (`_layer_norm_backward` for the input, `_layer_norm_param_grad` twice
# for the weight and bias), each reading the gradient and the input again and recomputing the rows'
# statistics; here each row is read once while in cache: its statistics, its two backward sums, its
# input gradient, and its share of the weight (Σ g xhat) and bias (Σ g) gradients. `norm_vjp`
# (python/jtensor/_derivatives.py) calls it from the input's formula and hands the parameter
# gradients to the weight's and bias's formulas of the same node.

"Input, weight and bias gradients of a row-wise layer norm; `PW`/`PB` accumulate over the rows."
function _layer_norm_grads!(O::Array{T,3}, PW::Vector{T}, PB::Vector{T}, G::Array{T,3}, X::Array{T,3}, W,
                            L::_NormLayout, eps::Float64) where {T}
    S = L.S
    fill!(PW, zero(T)); fill!(PB, zero(T))
    for n in 1:L.N
        mu, var = _run_stats(X, S, n)
        r = 1 / sqrt(var + eps)
        s1, s2 = _norm_backward_sums(G, X, W, L, 1, n)
        _norm_backward_run!(O, G, X, W, L, 1, n, mu, r, 0.0 + s1, 0.0 + (s2 - mu * s1) * r, S)
        m = T(mu); rT = T(r)
        @inbounds @simd_short for i in 1:S
            g = G[i, 1, n]
            PW[i] += g * (X[i, 1, n] - m) * rT
            PB[i] += g
        end
    end
    O
end

function _layer_norm_grads(g, x, k::Int, w, eps::Float64)
    op = "layer_norm_grads"
    L = _layer_norm_layout(op, x, k)
    _norm_param_check(op, L, "weight", w)
    T, C, (G, X) = _norm_inputs(op, L, g, x)
    n = length(X)
    buf = alloc_out(C, (n + 2 * L.S,))
    GC.@preserve buf begin
        O = unsafe_wrap(Array, pointer(buf), (L.S, L.C, L.N))
        PW = unsafe_wrap(Array, pointer(buf, n + 1), L.S); PB = unsafe_wrap(Array, pointer(buf, n + L.S + 1), L.S)
        _layer_norm_grads!(O, PW, PB, G, X, _norm_dense(C, w), L, eps)
    end
    _restore(T, buf)
end
function _layer_norm_grads(g::MetaArray, x::MetaArray, k::Int, w::_MetaOpt, eps::Float64)
    op = "layer_norm_grads"
    L = _layer_norm_layout(op, x, k)
    gi = _norm_meta(op, L, x, w, nothing, g)
    meta_like(gi, eltype(gi), (length(gi) + 2 * L.S,))
end
defop("_layer_norm_grads(grad_output: Tensor, input: Tensor, normalized_ndim: int, weight: Optional[Tensor], eps: float) -> Tensor",
      _layer_norm_grads; method = false,
      doc = "Gradients of _layer_norm with respect to its input, weight and bias in one pass over the rows " *
            "(statistics recomputed from the input), packed in one flat tensor: the input's gradient, then the " *
            "weight's and the bias's (each of the normalized size). One result keeps the call on the C fast path.")
