# Recurrent layers: one op runs a whole RNN/LSTM/GRU layer in one direction over time, and one op
# runs its backward (backpropagation through time), so a layer costs two calls into Julia however
# long the sequence, and the per-step gate arithmetic runs in fused loops beside one BLAS product
# per step. Python (nn/modules/rnn.py) does the input projection of all steps as one product before.
#
# Layout (Julia order): x_proj (G, R) holds the projected input of every row, R = sum(batch_sizes),
# rows time-major, step t using the first batch_sizes[t] sequences (sizes never increase, as in a
# PackedSequence; a padded batch has every size equal to N). h0 (H, N), c0 (H, N) for LSTM,
# w_hh (H, G) (Python's (G, H)), b_hh (G,). G = gates * H: LSTM i, f, g, o; GRU r, z, n; RNN one.
# A sequence that has ended keeps its last state (forward); in reverse a sequence starts from h0
# at its own last step. Empty (0,) tensors stand for an absent c0 or b_hh, so `inputs` always has
# five entries and the backward returns five gradients, one per entry.

const _RNN_MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
_rnn_gates(mode) = mode == "lstm" ? 4 : mode == "gru" ? 3 : 1
"Rows of the workspace the backward reads: LSTM i, f, g, o and c'; GRU r, z, n and h @ W_hn + b_hn."
_rnn_work_rows(mode, H) = mode == "lstm" ? 5H : mode == "gru" ? 4H : 0


"Check a layer's arguments; returns (G, R, H, N, has_bias)."
function _rnn_check(op, mode, inputs, batch_sizes)
    mode in _RNN_MODES || throw(ArgumentError("$op(): unknown mode \"$mode\", expected one of $(_RNN_MODES)"))
    length(inputs) == 5 || throw(ArgumentError("$op(): expected inputs [x_proj, h0, c0, w_hh, b_hh], got $(length(inputs)) tensors"))
    x, h0, c0, w, b = inputs
    T = eltype(x)
    T <: Union{Float32,Float64} || throw(DTypeError("$op(): expected float32 or float64 inputs, got $(_dtname(T))"))
    for (name, a) in zip(("h0", "c0", "w_hh", "b_hh"), (h0, c0, w, b))
        eltype(a) == T || throw(DTypeError("$op(): $name is $(_dtname(eltype(a))) but x_proj is $(_dtname(T))"))
    end
    (ndims(x) == 2 && ndims(h0) == 2 && ndims(w) == 2) || throw(DimensionMismatch(
        "$op(): expected 2-d x_proj, h0 and w_hh, got $(_shapestr(size(x))), $(_shapestr(size(h0))), $(_shapestr(size(w)))"))
    G, R = size(x)
    H, N = size(h0)
    G == _rnn_gates(mode) * H || throw(DimensionMismatch("$op(): x_proj has $G gate rows, expected $(_rnn_gates(mode)) x hidden size $H"))
    size(w) == (H, G) || throw(DimensionMismatch("$op(): w_hh of shape $(_shapestr(size(w))), expected $(_shapestr((H, G)))"))
    has_bias = prod(size(b)) != 0
    !has_bias || size(b) == (G,) || throw(DimensionMismatch("$op(): b_hh of shape $(_shapestr(size(b))), expected ($G,)"))
    mode != "lstm" || size(c0) == (H, N) || throw(DimensionMismatch("$op(): c0 of shape $(_shapestr(size(c0))), expected $(_shapestr((H, N)))"))
    (!isempty(batch_sizes) && batch_sizes[1] == N && all(>(0), batch_sizes) && issorted(collect(batch_sizes); rev = true)) ||
        throw(ArgumentError("$op(): batch_sizes $(collect(batch_sizes)) must be positive, non-increasing and start at the batch size $N"))
    sum(batch_sizes) == R || throw(DimensionMismatch("$op(): x_proj has $R rows but batch_sizes sum to $(sum(batch_sizes))"))
    G, R, H, N, has_bias
end

"0-based first row of each step."
_rnn_offsets(batch_sizes) = cumsum([0; collect(batch_sizes)])[1:end-1]

# ---- forward ----------------------------------------------------------------------------------------

function _rnn_layer(mode::AbstractString, inputs::AbstractVector, batch_sizes, reverse::Bool)
    G, R, H, N, has_bias = _rnn_check("_rnn_layer", mode, inputs, batch_sizes)
    x, h0, c0, w, b = inputs
    T = eltype(x)
    X, W = dense(x), dense(w)
    B = has_bias ? dense(b) : zeros(T, G)
    h = owned(h0)
    c = mode == "lstm" ? owned(c0) : alloc(T, (0, N))
    out = alloc(T, (H, R))
    work = alloc(T, (_rnn_work_rows(mode, H), R))
    gh = alloc(T, (G, N))
    # gh = W' h each step: the adopted BLAS (blas.jl) runs W' h 0.8x as fast as W h on a copy
    # of W transposed once (0.3.31 against 0.3.9: 41 against 23 us at H = 128, batch 16)
    Wt = fast_blas(T) && length(batch_sizes) > 1 ? permutedims(W) : nothing
    _rnn_forward_loop!(mode, out, work, h, c, X, Wt === nothing ? W : Wt, Wt === nothing ? 'T' : 'N', B, gh,
                       collect(Int, batch_sizes), reverse)
    out, h, c, work
end

"The time loop of _rnn_layer, behind a function barrier (every array's type known)."
function _rnn_forward_loop!(mode, out, work, h, c, X, W, tW::Char, B, gh, batch_sizes::Vector{Int}, reverse::Bool)
    H = size(h, 1)
    offs = _rnn_offsets(batch_sizes)
    nt = length(batch_sizes)
    for step in 1:nt
        t = reverse ? nt + 1 - step : step
        bt, o = batch_sizes[t], offs[t]
        gemm!(tW, 'N', one(eltype(gh)), W, view(h, :, 1:bt), zero(eltype(gh)), view(gh, :, 1:bt))
        if mode == "lstm"
            _lstm_forward_step!(out, work, h, c, X, gh, B, H, bt, o)
        elseif mode == "gru"
            _gru_forward_step!(out, work, h, X, gh, B, H, bt, o)
        else
            _rnn_forward_step!(out, h, X, gh, B, H, bt, o, mode == "rnn_relu")
        end
    end
end

function _lstm_forward_step!(out, work, h, c, X, gh, B, H, bt, o)
    @inbounds for j in 1:bt
        r = o + j
        @simd ivdep for k in 1:H
            i = fsigmoid(X[k, r] + gh[k, j] + B[k])
            f = fsigmoid(X[H+k, r] + gh[H+k, j] + B[H+k])
            g = ftanh(X[2H+k, r] + gh[2H+k, j] + B[2H+k])
            og = fsigmoid(X[3H+k, r] + gh[3H+k, j] + B[3H+k])
            cn = f * c[k, j] + i * g
            hn = og * ftanh(cn)
            work[k, r], work[H+k, r], work[2H+k, r], work[3H+k, r], work[4H+k, r] = i, f, g, og, cn
            c[k, j] = cn
            h[k, j] = hn
            out[k, r] = hn
        end
    end
end

function _gru_forward_step!(out, work, h, X, gh, B, H, bt, o)
    @inbounds for j in 1:bt
        r = o + j
        @simd ivdep for k in 1:H
            rg = fsigmoid(X[k, r] + gh[k, j] + B[k])
            z = fsigmoid(X[H+k, r] + gh[H+k, j] + B[H+k])
            ghn = gh[2H+k, j] + B[2H+k]
            n = ftanh(X[2H+k, r] + rg * ghn)
            hn = (one(z) - z) * n + z * h[k, j]
            work[k, r], work[H+k, r], work[2H+k, r], work[3H+k, r] = rg, z, n, ghn
            h[k, j] = hn
            out[k, r] = hn
        end
    end
end

function _rnn_forward_step!(out, h, X, gh, B, H, bt, o, relu::Bool)
    @inbounds for j in 1:bt
        r = o + j
        @simd ivdep for k in 1:H
            a = X[k, r] + gh[k, j] + B[k]
            hn = ifelse(relu, max(a, zero(a)), ftanh(a))
            h[k, j] = hn
            out[k, r] = hn
        end
    end
end

function _rnn_layer(mode::AbstractString, inputs::AbstractVector{<:MetaArray}, batch_sizes, reverse::Bool)
    G, R, H, N, _ = _rnn_check("_rnn_layer", mode, inputs, batch_sizes)
    T = eltype(inputs[1])
    (MetaArray{T}((H, R)), MetaArray{T}((H, N)), MetaArray{T}(mode == "lstm" ? (H, N) : (0, N)),
     MetaArray{T}((_rnn_work_rows(mode, H), R)))
end

# ---- backward ---------------------------------------------------------------------------------------

"The state each row of step t started from: rows 1:bp from `src` (the previous step's, at
columns po+1:po+bp), the rest from `init` (a sequence's first step)."
function _rnn_prev!(dst, src, rows, po, bp, init, bt)
    @inbounds for j in 1:bt, k in 1:size(dst, 1)
        dst[k, j] = j <= bp ? src[rows[k], po+j] : init[k, j]
    end
end

function _rnn_layer_backward(mode::AbstractString, inputs::AbstractVector, output, workspace, grad_output,
                             grad_h_n, grad_c_n, batch_sizes, reverse::Bool)
    G, R, H, N, has_bias = _rnn_check("_rnn_layer_backward", mode, inputs, batch_sizes)
    x, h0, c0, w, b = inputs
    T = eltype(x)
    lstm, gru = mode == "lstm", mode == "gru"
    W, Out, Wk, H0 = dense(w), dense(output), dense(workspace), dense(h0)
    C0 = lstm ? dense(c0) : H0
    GO = grad_output === nothing ? nothing : dense(grad_output)
    dh = grad_h_n === nothing ? zeros(T, H, N) : owned(grad_h_n)
    dc = lstm ? (grad_c_n === nothing ? zeros(T, H, N) : owned(grad_c_n)) : zeros(T, 0, N)
    dX = alloc(T, (G, R))
    dGh = gru ? alloc(T, (G, R)) : dX            # gradient of the h-side gates (differs only in GRU's n)
    hprev = alloc(T, (H, R))                     # each row's incoming state, for dW_hh = hprev * dGh'
    cprev = alloc(T, (H, N))
    _rnn_backward_loop!(mode, dX, dGh, dh, dc, hprev, cprev, W, Out, Wk, H0, C0, GO, collect(Int, batch_sizes), reverse)
    dW = _pgemm!('N', 'T', one(T), hprev, dGh, zero(T), alloc(T, (H, G)))
    db = has_bias ? vec(sum(dGh; dims = 2)) : zeros(T, 0)
    dX, dh, (lstm ? dc : zeros(T, 0)), dW, db
end

"The time loop of _rnn_layer_backward (in reverse of the forward's order), behind a function barrier."
function _rnn_backward_loop!(mode, dX, dGh, dh, dc, hprev, cprev, W, Out, Wk, H0, C0, GO, batch_sizes::Vector{Int},
                             reverse::Bool)
    H = size(dh, 1)
    offs = _rnn_offsets(batch_sizes)
    nt = length(batch_sizes)
    crow = 4H+1:5H
    lstm, gru = mode == "lstm", mode == "gru"
    T = eltype(dX)
    for step in 1:nt
        t = reverse ? step : nt + 1 - step
        bt, o = batch_sizes[t], offs[t]
        p = reverse ? t + 1 : t - 1              # the step before t in the forward order
        bp, po = 1 <= p <= nt ? (batch_sizes[p], offs[p]) : (0, 0)
        _rnn_prev!(view(hprev, :, o+1:o+bt), Out, 1:H, po, bp, H0, bt)
        lstm && _rnn_prev!(cprev, Wk, crow, po, bp, C0, bt)
        GO === nothing || _rnn_add_rows!(dh, GO, o, bt)
        if lstm
            _lstm_backward_step!(dX, dh, dc, Wk, cprev, H, bt, o)
        elseif gru
            _gru_backward_step!(dX, dGh, dh, Wk, hprev, H, bt, o)
        else
            _rnn_backward_step!(dX, dh, Out, H, bt, o, mode == "rnn_relu")
        end
        # dh_prev = W_hh' dGh (+ the direct z * dh of GRU, left in dh by its step)
        gemm!('N', 'N', one(T), W, view(dGh, :, o+1:o+bt), gru ? one(T) : zero(T), view(dh, :, 1:bt))
    end
end

"dh[:, 1:bt] += GO[:, o+1:o+bt] (the gradient reaching step t's output)."
function _rnn_add_rows!(dh, GO, o, bt)
    @inbounds for j in 1:bt
        @simd for k in 1:size(dh, 1)
            dh[k, j] += GO[k, o+j]
        end
    end
end

function _lstm_backward_step!(dX, dh, dc, Wk, cprev, H, bt, o)
    @inbounds for j in 1:bt
        r = o + j
        @simd ivdep for k in 1:H
            i, f, g, og, cn = Wk[k, r], Wk[H+k, r], Wk[2H+k, r], Wk[3H+k, r], Wk[4H+k, r]
            tc = ftanh(cn)
            d = dh[k, j]
            dcn = dc[k, j] + d * og * (one(tc) - tc * tc)
            dX[k, r] = dcn * g * i * (one(i) - i)
            dX[H+k, r] = dcn * cprev[k, j] * f * (one(f) - f)
            dX[2H+k, r] = dcn * i * (one(g) - g * g)
            dX[3H+k, r] = d * tc * og * (one(og) - og)
            dc[k, j] = dcn * f
        end
    end
end

function _gru_backward_step!(dX, dGh, dh, Wk, hprev, H, bt, o)
    @inbounds for j in 1:bt
        r = o + j
        @simd ivdep for k in 1:H
            rg, z, n, ghn = Wk[k, r], Wk[H+k, r], Wk[2H+k, r], Wk[3H+k, r]
            d = dh[k, j]
            dn = d * (one(z) - z) * (one(n) - n * n)
            dz = d * (hprev[k, r] - n) * z * (one(z) - z)
            dr = dn * ghn * rg * (one(rg) - rg)
            dX[k, r], dX[H+k, r], dX[2H+k, r] = dr, dz, dn
            dGh[k, r], dGh[H+k, r], dGh[2H+k, r] = dr, dz, dn * rg
            dh[k, j] = d * z
        end
    end
end

function _rnn_backward_step!(dX, dh, Out, H, bt, o, relu::Bool)
    @inbounds for j in 1:bt
        r = o + j
        @simd ivdep for k in 1:H
            hn = Out[k, r]
            dX[k, r] = dh[k, j] * ifelse(relu, ifelse(hn > zero(hn), one(hn), zero(hn)), one(hn) - hn * hn)
        end
    end
end

function _rnn_layer_backward(mode::AbstractString, inputs::AbstractVector{<:MetaArray}, output, workspace,
                             grad_output, grad_h_n, grad_c_n, batch_sizes, reverse::Bool)
    G, R, H, N, has_bias = _rnn_check("_rnn_layer_backward", mode, inputs, batch_sizes)
    T = eltype(inputs[1])
    (MetaArray{T}((G, R)), MetaArray{T}((H, N)), MetaArray{T}(mode == "lstm" ? (H, N) : (0,)),
     MetaArray{T}((H, G)), MetaArray{T}(has_bias ? (G,) : (0,)))
end

const _RNN_LAYER_ARGS = "batch_sizes: IntList, reverse: bool = False"
defop("_rnn_layer_backward(mode: str, inputs: TensorList, output: Tensor, workspace: Tensor, " *
      "grad_output: Optional[Tensor], grad_h_n: Optional[Tensor], grad_c_n: Optional[Tensor], $_RNN_LAYER_ARGS) -> " *
      "(grad_x_proj: Tensor, grad_h0: Tensor, grad_c0: Tensor, grad_w_hh: Tensor, grad_b_hh: Tensor)",
      _rnn_layer_backward; method = false,
      doc = "Backpropagation through time for _rnn_layer: the gradients of its five inputs (empty for an " *
            "absent c0 or b_hh) from those of its output, h_n and c_n (None counts as zeros).")
defop("_rnn_layer(mode: str, inputs: TensorList, $_RNN_LAYER_ARGS) -> " *
      "(output: Tensor, h_n: Tensor, c_n: Tensor, workspace: Tensor)", _rnn_layer; method = false,
      grad = ["inputs" => "_rnn_layer_backward(mode, inputs, output, workspace, grad0, grad1, grad2, batch_sizes, reverse)"],
      doc = "One recurrent layer (mode rnn_tanh, rnn_relu, lstm or gru) in one direction over time-major rows: " *
            "inputs [x_proj (R, G), h0 (N, H), c0 (N, H) or empty, w_hh (G, H), b_hh (G,) or empty], x_proj the " *
            "projected input of each row, step t using the first batch_sizes[t] sequences. Returns the output " *
            "rows (R, H), the final h and c (c empty unless LSTM) and the workspace the backward reads.")
