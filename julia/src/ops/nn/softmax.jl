# softmax / log_softmax (fused, max-shifted), and their backward kernels.

"(before, n, after) sizes around Julia dim d (a 0-d array is one element)."
_split3(sz::Tuple, d::Int) = length(sz) == 0 ? (1, 1, 1) :
    (_prodrange(sz, 1, d - 1), sz[d], _prodrange(sz, d + 1, length(sz)))

"""The longest row `_softmax_run32!` and the backward's short-row loops take: measured faster than
the interleaved loops up to rows of 48 (forward 35 -> 27 µs, backward 30 -> 11 µs at (512, 32)),
slower from 64 on (the forward 2-4x: its exp loop is not vectorized there)."""
const _SHORT_ROW = 48

"""
    _softmax_run32!(O, A, off, n, sc)

Softmax of the scaled Float32 run `sc * A[off+1:off+n]` into `O`, in four single-purpose loops, each
short enough to vectorize as one run (`@simd_short`, the exp's `@simd`): rows of tens of elements
(attention over a short context) spent most of their time in the scalar remainders of interleaved
loops. Rows up to `_SHORT_ROW` only. The max ignores NaN (`v > m` is false), but a NaN still makes
its row NaN through the sum, as PyTorch's; an all -Inf row gives NaN, as PyTorch's.
"""
@inline function _softmax_run32!(O::Array{Float32}, A::Array{Float32}, off::Int, n::Int, sc::Float32)
    m = -Inf32
    @inbounds @simd_short for j in off+1:off+n
        v = A[j] * sc
        m = ifelse(v > m, v, m)
    end
    @inbounds @simd for j in off+1:off+n
        O[j] = fexp(A[j] * sc - m)
    end
    s = 0f0
    @inbounds @simd_short for j in off+1:off+n
        s += O[j]
    end
    r = 1f0 / s
    @inbounds @simd_short for j in off+1:off+n
        O[j] *= r
    end
    O
end

function _softmax_into!(O::Array{C,3}, A::Array{C,3}, logmode::Bool) where {C}
    pre, n, post = size(A)
    _tfor(post, length(A)) do k
        E = eltype(A)
        # rows (pre == 1) are often short (tens of classes): `@simd_short` still vectorizes them
        @inbounds if pre == 1 && E === Float32 && !logmode && n <= _SHORT_ROW
            _softmax_run32!(O, A, (k - 1) * n, n, 1f0)
        elseif pre == 1
            m = _run_extreme(A, (k - 1) * n, n, true)   # the SIMD max (a NaN gives NaN rows, as torch)
            s = zero(E)
            if logmode
                @simd_short for j in 1:n
                    s += fexp(A[1, j, k] - m)
                end
                ls = m + flog(s)
                @simd_short for j in 1:n
                    O[1, j, k] = A[1, j, k] - ls
                end
            else
                @simd_short for j in 1:n
                    e = fexp(A[1, j, k] - m)
                    O[1, j, k] = e
                    s += e
                end
                r = one(E) / s
                @simd_short for j in 1:n
                    O[1, j, k] *= r
                end
            end
        else
            m = fill(E(-Inf), pre); s = alloc_zeros(E, pre)
            for j in 1:n
                @simd for i in 1:pre
                    v = A[i, j, k]
                    m[i] = ifelse(v > m[i], v, m[i])
                end
            end
            for j in 1:n
                @simd for i in 1:pre
                    e = fexp(A[i, j, k] - m[i])
                    logmode || (O[i, j, k] = e)
                    s[i] += e
                end
            end
            if logmode
                for i in 1:pre
                    s[i] = m[i] + flog(s[i])
                end
                for j in 1:n
                    @simd for i in 1:pre
                        O[i, j, k] = A[i, j, k] - s[i]
                    end
                end
            else
                for i in 1:pre
                    s[i] = one(E) / s[i]
                end
                for j in 1:n
                    @simd for i in 1:pre
                        O[i, j, k] *= s[i]
                    end
                end
            end
        end
    end
    O
end

function _softmax_kernel(op, x, d, dtype, logmode)
    T = dtype === nothing ? eltype(x) : dtype
    T <: AbstractFloat || throw(DTypeError("$op(): expected a floating point tensor or dtype, got $(_dtname(T))"))
    C = compute_type(T)
    A = as_dense(C, x)
    pre, n, post = _split3(size(A), d)
    O = alloc_out(C, (pre, n, post))
    _softmax_into!(O, reshape(A, pre, n, post), logmode)
    _restore(T, reshape(O, size(A)))
end
function _softmax_kernel(op, x::MetaArray, d, dtype, logmode)
    T = dtype === nothing ? eltype(x) : dtype
    T <: AbstractFloat || throw(DTypeError("$op(): expected a floating point tensor or dtype, got $(_dtname(T))"))
    meta_like(x, T)
end
_softmax(x, d, t) = _softmax_kernel("softmax", x, d, t, false)
_softmax(x::MetaArray, d, t) = _softmax_kernel("softmax", x, d, t, false)
_log_softmax(x, d, t) = _softmax_kernel("log_softmax", x, d, t, true)
_log_softmax(x::MetaArray, d, t) = _softmax_kernel("log_softmax", x, d, t, true)
defop("softmax(input: Tensor, dim: Dim, dtype: DType = None) -> Tensor",
      _softmax; batch = "reduce",
      grad = ["input" => "_softmax_backward(grad, result, dim)"],
      doc = "exp(input) / sum(exp(input)) along dim, computed with the maximum subtracted; dtype casts first.")
defop("log_softmax(input: Tensor, dim: Dim, dtype: DType = None) -> Tensor",
      _log_softmax; batch = "reduce",
      grad = ["input" => "_log_softmax_backward(grad, result, dim)"],
      doc = "input - logsumexp(input) along dim, computed stably; dtype casts first.")

"Backward of softmax (y ⊙ (g - Σ g y)) or log_softmax (g - exp(y) Σ g) along dim d."
function _softmax_backward_kernel(op, g, y, d, logmode)
    _nn_float(op, g); _nn_float(op, y)
    size(g) == size(y) || throw(DimensionMismatch("$op(): grad_output $(_nn_shape(g)) and output $(_nn_shape(y)) differ in shape"))
    T = promote_dtype(eltype(g), eltype(y)); C = compute_type(T)
    pre, n, post = _split3(size(g), d)
    G = reshape(as_dense(C, g), pre, n, post); Y = reshape(as_dense(C, y), pre, n, post)
    O = alloc_out(C, (pre, n, post))
    _softmax_backward_into!(O, G, Y, logmode)
    _restore(T, reshape(O, size(g)))
end
"`_softmax_backward_kernel`'s loops on known types; rows (pre == 1) as contiguous SIMD runs."
function _softmax_backward_into!(O::Array{E,3}, G::Array{E,3}, Y::Array{E,3}, logmode::Bool) where {E}
    pre, n, post = size(O)
    _tfor(post, length(O)) do k
        if pre == 1
            s = zero(E)
            @inbounds if logmode
                @simd for j in 1:n
                    s += G[1, j, k]
                end
                @simd for j in 1:n
                    O[1, j, k] = G[1, j, k] - fexp(Y[1, j, k]) * s
                end
            elseif n <= _SHORT_ROW   # short rows vectorize as one run (3x faster at rows of 32)
                @simd_short for j in 1:n
                    s += G[1, j, k] * Y[1, j, k]
                end
                @simd_short for j in 1:n
                    O[1, j, k] = Y[1, j, k] * (G[1, j, k] - s)
                end
            else
                @simd for j in 1:n
                    s += G[1, j, k] * Y[1, j, k]
                end
                @simd for j in 1:n
                    O[1, j, k] = Y[1, j, k] * (G[1, j, k] - s)
                end
            end
            return
        end
        s = alloc_zeros(E, pre)
        @inbounds for j in 1:n
            @simd for i in 1:pre
                s[i] += logmode ? G[i, j, k] : G[i, j, k] * Y[i, j, k]
            end
        end
        @inbounds for j in 1:n
            @simd for i in 1:pre
                O[i, j, k] = logmode ? G[i, j, k] - fexp(Y[i, j, k]) * s[i] : Y[i, j, k] * (G[i, j, k] - s[i])
            end
        end
    end
    O
end
function _softmax_backward_kernel(op, g::MetaArray, y::MetaArray, d, logmode)
    _nn_float(op, g); _nn_float(op, y)
    size(g) == size(y) || throw(DimensionMismatch("$op(): grad_output $(_nn_shape(g)) and output $(_nn_shape(y)) differ in shape"))
    meta_like(g, _meta_promote(eltype(g), eltype(y)))
end
_softmax_backward(g, y, d) = _softmax_backward_kernel("softmax_backward", g, y, d, false)
_softmax_backward(g::MetaArray, y::MetaArray, d) = _softmax_backward_kernel("softmax_backward", g, y, d, false)
_log_softmax_backward(g, y, d) = _softmax_backward_kernel("log_softmax_backward", g, y, d, true)
_log_softmax_backward(g::MetaArray, y::MetaArray, d) = _softmax_backward_kernel("log_softmax_backward", g, y, d, true)
defop("_softmax_backward(grad_output: Tensor, output: Tensor, dim: Dim) -> Tensor",
      _softmax_backward; method = false, batch = "reduce",
      grad = ["grad_output" => "_softmax_backward(grad, output, dim)",
              "output" => "grad * (grad_output - sum(grad_output * output, dim, True)) - grad_output * sum(grad * output, dim, True)"],
      doc = "Gradient of softmax given its output: output * (grad_output - sum(grad_output * output, dim)).")
defop("_log_softmax_backward(grad_output: Tensor, output: Tensor, dim: Dim) -> Tensor",
      _log_softmax_backward; method = false, batch = "reduce",
      grad = ["grad_output" => "grad - sum(grad * exp(output), dim, True)",
              "output" => "-grad * exp(output) * sum(grad_output, dim, True)"],
      doc = "Gradient of log_softmax given its output: grad_output - exp(output) * sum(grad_output, dim).")

# The softmax of attention scores, fused: softmax(scale * scores) over the last dim with, when causal,
# the keys after each query's position (top-left aligned, as torch's is_causal) excluded. It saves
# `scaled_dot_product_attention` the scaling, the mask's construction and its addition (four ops
# over the scores); the gradient is softmax's, times the scale (masked entries are 0 in the result).
function _attention_softmax(x, scale::Float64, causal::Bool)
    _attention_softmax_check(x)
    T = eltype(x); C = compute_type(T)
    A = as_dense(C, x)
    O = alloc_out(C, size(A))
    S = size(A, 1)
    S > 0 && length(A) > 0 &&
        _attention_softmax_rows!(reshape(O, S, :), reshape(A, S, :), C(scale), causal ? size(A, 2) : 0)
    _restore(T, O)
end
_attention_softmax_check(x) = (_nn_float("attention_softmax", x); ndims(x) >= 2 ||
    throw(ArgumentError("attention_softmax(): expected scores of at least 2 dims (L, S), got $(_nn_shape(x))")))
_attention_softmax(x::MetaArray, scale::Float64, causal::Bool) = (_attention_softmax_check(x); meta_like(x))

"Rows of A (S, R): row r keeps its first min(q, S) entries when causal (L > 0, q = its query index in 1:L)."
function _attention_softmax_rows!(O::Matrix{E}, A::Matrix{E}, sc::E, L::Int) where {E}
    S, R = size(A)
    @inbounds for r in 1:R
        n = L == 0 ? S : min((r - 1) % L + 1, S)
        lo = (r - 1) * S
        if E === Float32 && n <= _SHORT_ROW
            _softmax_run32!(O, A, lo, n, sc)
            for j in lo + n + 1:lo + S
                O[j] = zero(E)
            end
            continue
        end
        m = sc * _run_extreme(A, lo, n, sc >= 0)   # the largest scaled score
        s = zero(E)
        @simd_short for j in lo + 1:lo + n   # rows are short (tens of keys): one vector per step
            e = fexp(A[j] * sc - m)
            O[j] = e
            s += e
        end
        inv = one(E) / s
        @simd_short for j in lo + 1:lo + n
            O[j] *= inv
        end
        for j in lo + n + 1:lo + S
            O[j] = zero(E)
        end
    end
end
defop("_attention_softmax(input: Tensor, scale: float, causal: bool) -> Tensor", _attention_softmax; method = false,
      grad = ["input" => "_softmax_backward(grad, result, -1) * scale"],
      doc = "softmax(scale * input) over the last dim; causal excludes the keys after each query (top-left " *
            "aligned): the fused core of scaled_dot_product_attention.")

