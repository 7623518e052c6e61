# Convolution (im2col + BLAS gemm, in batch chunks; BLAS.gemm! directly: `mul!`'s generic dispatch
# costs seconds of compilation on first use)

"Geometry of a 2-d convolution, Julia order: input W×H with C channels per group, kernel kW×kH."
struct ConvGeom
    W::Int; H::Int; C::Int
    kW::Int; kH::Int
    sW::Int; sH::Int
    pW::Int; pH::Int          # leading (left, top) padding
    dW::Int; dH::Int
    OW::Int; OH::Int
end

_convlen(n, k, s, lo, hi, d) = fld(n + lo + hi - d * (k - 1) - 1, s) + 1

"""Check a conv2d call (sizes in Julia order, stride/dilation (h, w), padding (top, bottom,
left, right)) and return its geometry."""
function _conv_geom(op, xsz, wsz, stride, padding, dilation, groups)
    length(xsz) == 4 || throw(ArgumentError(
        "$op(): expected a 4-d input (batch, channels, height, width), got shape $(_nn_shape(xsz))"))
    length(wsz) == 4 || throw(ArgumentError(
        "$op(): expected a 4-d weight (out_channels, in_channels/groups, kH, kW), got shape $(_nn_shape(wsz))"))
    groups >= 1 || throw(ArgumentError("$op(): groups must be positive, got $groups"))
    sH, sW = _pos(op, "stride", _pair(op, "stride", stride))
    dH, dW = _pos(op, "dilation", _pair(op, "dilation", dilation))
    pt, pb, pl, pr = _pair(op, "padding", padding, 4)
    W, H, C, N = xsz
    kW, kH, Cg, Cout = wsz
    (kW >= 1 && kH >= 1 && Cg >= 1) || throw(ArgumentError("$op(): weight of shape $(_nn_shape(wsz)) is empty"))
    C == Cg * groups || throw(ArgumentError(
        "$op(): given groups=$groups and weight of shape $(_nn_shape(wsz)), expected input of shape " *
        "$(_nn_shape(xsz)) to have $(Cg * groups) channels, but got $C channels instead"))
    Cout % groups == 0 || throw(ArgumentError(
        "$op(): out_channels ($Cout, weight of shape $(_nn_shape(wsz))) must be divisible by groups ($groups)"))
    OH = _convlen(H, kH, sH, pt, pb, dH)
    OW = _convlen(W, kW, sW, pl, pr, dW)
    (OH >= 1 && OW >= 1) || throw(ArgumentError(
        "$op(): kernel size ($kH, $kW) with dilation ($dH, $dW) is larger than the padded input " *
        "($(H + pt + pb), $(W + pl + pr)) of input shape $(_nn_shape(xsz))"))
    ConvGeom(W, H, Cg, kW, kH, sW, sH, pl, pt, dW, dH, OW, OH)
end

# Layout. A chunk of samples is first copied into a zero-padded, channels-first buffer `Xp`, Julia
# (Ct, Wp, Hp, m) (NHWC in Python terms), so that every tap of every window is a valid read. A
# column of `col` (K × P*m, r = (ow, oh, n) an output position) is that position's receptive field
# in the order k = (c, kw, kh): for each kernel row, kW*C consecutive values of the buffer (C per
# kernel column when dilated or grouped), so filling it is a few short vector copies. The weight
# is reordered to match, a K × Cout matrix `Wr`. Then
#   forward:         Yt = Wrᵀ col   (Cog × P*m: the long dimension as BLAS's n, which OpenBLAS
#                                    runs fastest), transposed per sample into (OW, OH, Cout, N);
#   weight gradient: Dr += col G    (G: P*m × Cog, the output gradient's channels as columns);
#   input gradient:  dcol = Wr Gᵀ, added back through the same columns into a padded buffer.
# Threads split the batch: samples own disjoint columns and disjoint slices of every buffer.

"Padded plane size (Wp, Hp): the leading padding plus everything the windows reach."
_padded(g::ConvGeom) = (max(g.W + g.pW, (g.OW - 1) * g.sW + (g.kW - 1) * g.dW + 1),
                        max(g.H + g.pH, (g.OH - 1) * g.sH + (g.kH - 1) * g.dH + 1))

"""Copy samples n0+1..n0+m of `X` (W, H, Ct, N) into `Xp` (Ct, Wp, Hp, m): channels first, with
zeros where the padding is."""
function _pad_chunk!(Xp::Array{T,4}, X::Array{T,4}, g::ConvGeom, n0::Int, m::Int) where {T}
    Ct, Wp, Hp = size(Xp, 1), size(Xp, 2), size(Xp, 3)
    L = Ct * Wp * Hp
    _tfor(m, m * L) do nn
        o = (nn - 1) * L
        @inbounds @simd_short for i in o+1:o+L
            Xp[i] = zero(T)
        end
        @inbounds for c in 1:Ct, ih in 1:g.H
            d = o + c + (g.pW + (g.pH + ih - 1) * Wp) * Ct
            @scalar for iw in 1:g.W
                Xp[d + (iw - 1) * Ct] = X[iw, ih, c, n0 + nn]
            end
        end
    end
    Xp
end

"""The inverse of `_pad_chunk!` (padding dropped): samples n0+1..n0+m of `DX` (W, H, Ct, N) set
from the padded channels-first buffer `Dp`."""
function _unpad_chunk!(DX::Array{T,4}, Dp::Array{T,4}, g::ConvGeom, n0::Int, m::Int) where {T}
    Ct, Wp, Hp = size(Dp, 1), size(Dp, 2), size(Dp, 3)
    _tfor(m, length(Dp)) do nn
        o = (nn - 1) * Ct * Wp * Hp
        @inbounds for c in 1:Ct, ih in 1:g.H
            s = o + c + (g.pW + (g.pH + ih - 1) * Wp) * Ct
            @scalar for iw in 1:g.W
                DX[iw, ih, c, n0 + nn] = Dp[s + (iw - 1) * Ct]
            end
        end
    end
end

"""A window's taps as contiguous runs of a padded channels-first buffer `B` (Ct × Wp × Hp × m):
the runs' offsets from the window's corner, in column order, and their common length. Undilated
taps of all channels of a kernel row form one run (kW*C values), otherwise each tap is one (C)."""
function _conv_runs(g::ConvGeom, B::Array{<:Any,4})
    Ct, Wp = size(B, 1), size(B, 2)
    merged = Ct == g.C && g.dW == 1
    offs = _conv_offsets(g, Wp, Ct, merged ? 1 : g.kW)
    offs, merged ? g.C * g.kW : g.C
end

"The linear index before the first value of the window of output position (ow, oh) of sample nn, channel c0+1."
@inline _window_corner(g::ConvGeom, B::Array{<:Any,4}, c0::Int, ow::Int, oh::Int, nn::Int) =
    c0 + ((ow - 1) * g.sW + ((oh - 1) * g.sH + (nn - 1) * size(B, 3)) * size(B, 2)) * size(B, 1)

"""Move values between the columns `col` (K × P*m) and the padded chunk buffer `B`, for input
channels c0+1..c0+C: `Val(:gather)` fills the columns (im2col), `Val(:scatter)` adds them back into
the buffer (col2im, its adjoint). Long runs (many channels) move as vectors, run by run; short ones
(few channels, as in a first layer) tap by tap along output rows, which costs less per value."""
function _col_transfer!(dir::Val, col::Matrix{T}, B::Array{T,4}, g::ConvGeom, c0::Int, m::Int) where {T}
    offs, len = _conv_runs(g, B)
    K = size(col, 1); step = g.sW * size(B, 1)   # buffer distance between neighbouring windows
    _tfor(m, length(col)) do nn
        if len >= 16
            k = (nn - 1) * K * g.OW * g.OH
            @inbounds for oh in 1:g.OH, ow in 1:g.OW
                s0 = _window_corner(g, B, c0, ow, oh, nn)
                for o in offs
                    @simd_short for i in 1:len
                        _move!(dir, col, k + i, B, s0 + o + i)
                    end
                    k += len
                end
            end
        else
            @inbounds for oh in 1:g.OH
                k0 = ((nn - 1) * g.OH + oh - 1) * g.OW * K   # before the row's first column
                s0 = _window_corner(g, B, c0, 1, oh, nn)
                for o in offs, i in 1:len
                    k0 += 1
                    @scalar for ow in 1:g.OW
                        _move!(dir, col, k0 + (ow - 1) * K, B, s0 + o + i + (ow - 1) * step)
                    end
                end
            end
        end
    end
end

Base.@propagate_inbounds _move!(::Val{:gather}, col, k, B, s) = (col[k] = B[s]; nothing)
Base.@propagate_inbounds _move!(::Val{:scatter}, col, k, B, s) = (B[s] += col[k]; nothing)

"Fill `col` (K × P*m) from the padded chunk buffer `Xp`, input channels c0+1..c0+C."
_im2col!(col::Matrix{T}, Xp::Array{T,4}, g::ConvGeom, c0::Int, m::Int) where {T} =
    _col_transfer!(Val(:gather), col, Xp, g, c0, m)

"Add `dcol` (K × P*m) into the padded chunk buffer `Dp`, channels c0+1..c0+C: the adjoint of `_im2col!`."
_col2im!(Dp::Array{T,4}, dcol::Matrix{T}, g::ConvGeom, c0::Int, m::Int) where {T} =
    _col_transfer!(Val(:scatter), dcol, Dp, g, c0, m)

"The weight (kW, kH, C, Cout) as the K × Cout matrix `Wr`, rows in column order k = (c, kw, kh)."
function _weight_rows!(Wr::Matrix{T}, Wt::Array{T,4}) where {T}
    kW, kH, C, Cout = size(Wt)
    @inbounds for co in 1:Cout, kh in 1:kH, kw in 1:kW, c in 1:C
        Wr[c + (kw - 1 + (kh - 1) * kW) * C, co] = Wt[kw, kh, c, co]
    end
    Wr
end

"The inverse of `_weight_rows!`: a K × Cout matrix in column order as a (kW, kH, C, Cout) weight."
function _weight_from_rows(Wr::Matrix{T}, wsize::NTuple{4,Int}) where {T}
    kW, kH, C, Cout = wsize
    Wt = alloc(T, wsize)
    @inbounds for co in 1:Cout, kh in 1:kH, kw in 1:kW, c in 1:C
        Wt[kw, kh, c, co] = Wr[c + (kw - 1 + (kh - 1) * kW) * C, co]
    end
    Wt
end

"""Y[:, :, co0+j, n0+nn] = Yt[j, positions of sample nn] (+ bias): the gemm result (Cog × P*m)
transposed into the (OW, OH, Cout, N) output."""
function _rows2out!(Y::Array{T,4}, Yt::Matrix{T}, bias, co0::Int, n0::Int, m::Int) where {T}
    P = size(Y, 1) * size(Y, 2); Cog = size(Yt, 1)
    _tfor(m, m * P * Cog) do nn
        r0 = (nn - 1) * P
        @inbounds for j in 1:Cog
            b = bias === nothing ? zero(T) : bias[co0 + j]
            y0 = (co0 + j - 1 + (n0 + nn - 1) * size(Y, 3)) * P
            @scalar for p in 1:P
                Y[y0 + p] = Yt[j, r0 + p] + b
            end
        end
    end
    Y
end

"""Output-gradient channels co0+1..co0+Cog of samples n0+1..n0+m as the columns of `G`
(P*m × Cog), rows in position order (ow, oh, n)."""
function _out2cols!(G::Matrix{T}, GY::Array{T,4}, co0::Int, n0::Int, m::Int) where {T}
    P = size(GY, 1) * size(GY, 2); Cout = size(GY, 3)
    _tfor(size(G, 2), length(G)) do j
        @inbounds for nn in 1:m
            s = (co0 + j - 1 + (n0 + nn - 1) * Cout) * P; d = (nn - 1) * P + (j - 1) * size(G, 1)
            @simd_short for p in 1:P
                G[d + p] = GY[s + p]
            end
        end
    end
    G
end

"Elements of the column buffer per batch chunk (cache-sized, so the gemm reads what im2col just wrote)."
const CONV_CHUNK = Ref(1 << 18)

"""Run `f(n0, m)` over chunks of samples n0+1..n0+m covering 1..N, of (nearly) equal sizes that
keep the column buffer near CONV_CHUNK elements."""
function _conv_chunks(f::F, g::ConvGeom, N::Int) where {F}
    N == 0 && return
    nb = max(1, min(N, CONV_CHUNK[] ÷ max(1, g.OW * g.OH * g.kW * g.kH * g.C)))
    nb = cld(N, cld(N, nb))   # the same number of chunks, balanced
    for n0 in 0:nb:N-1
        f(n0, min(nb, N - n0))
    end
end

"Offsets of the kernel taps (`nw` along the width, g.kH along the height) in a padded image."
function _conv_offsets(g, Wp::Int, Ct::Int, nw::Int)
    offs = Vector{Int}(undef, nw * g.kH)
    k = 0
    for kh in 1:g.kH, j in 1:nw
        offs[k += 1] = ((j - 1) * g.dW + (kh - 1) * g.dH * Wp) * Ct
    end
    offs
end

# Scratch buffers reused across calls (fresh multi-megabyte arrays cost page faults on every call).
# Kernels are entered from one thread (the bridge's), so one buffer per (type, slot) suffices.
const _SCRATCH = Dict{Tuple{DataType,Int},Any}()
function _scratch(::Type{T}, slot::Int, dims::Vararg{Int,N}) where {T,N}
    v = get(_SCRATCH, (T, slot), nothing)
    v === nothing && (v = _SCRATCH[(T, slot)] = T[])
    v = v::Vector{T}
    n = prod(dims)
    length(v) < n && resize!(v, n)
    unsafe_wrap(Array, pointer(v), dims)   # valid while the buffer is not resized: within one call
end

"The padded channels-first buffer of a chunk of m samples (scratch slot 3)."
_chunk_buffer(::Type{T}, g::ConvGeom, Ct::Int, m::Int) where {T} = _scratch(T, 3, Ct, _padded(g)..., m)

"""conv2d's checks of its arguments (CPU or meta): the output geometry and the output channels."""
function _conv2d_checks(x, w, b, stride, padding, dilation, groups::Int)
    op = "conv2d"
    _nn_same_dtype(op, x, w, b)
    g = _conv_geom(op, size(x), size(w), stride, padding, dilation, groups)
    Cout = size(w, 4)
    b === nothing || (ndims(b) == 1 && length(b) == Cout) || throw(ArgumentError(
        "$op(): expected bias of shape [$Cout] for weight of shape $(_nn_shape(w)), got $(_nn_shape(b))"))
    g, Cout
end

function _conv2d(x, w, b, stride, padding, dilation, groups::Int)
    g, Cout = _conv2d_checks(x, w, b, stride, padding, dilation, groups)
    T = eltype(x); C = compute_type(T)
    B = b === nothing ? nothing : as_dense(C, b)
    _restore(T, _conv2d_dense(as_dense(C, x), as_dense(C, w), B, g, groups))
end

"`_conv2d` on dense arrays of the compute type (the function barrier behind the dynamic call)."
function _conv2d_dense(X::Array{T,4}, Wt::Array{T,4}, B::Union{Nothing,Vector{T}}, g::ConvGeom, groups::Int) where {T}
    N = size(X, 4); Cout = size(Wt, 4); Cog = Cout ÷ groups; K = g.kW * g.kH * g.C; P = g.OW * g.OH
    Y = alloc(T, g.OW, g.OH, Cout, N)
    Wr = _weight_rows!(_scratch(T, 4, K, Cout), Wt)
    _conv_chunks(g, N) do n0, m
        Xp = _pad_chunk!(_chunk_buffer(T, g, size(X, 3), m), X, g, n0, m)
        col = _scratch(T, 1, K, P * m); Yt = _scratch(T, 2, Cog, P * m)
        for gi in 1:groups
            _im2col!(col, Xp, g, (gi - 1) * g.C, m)
            _pgemm!('T', 'N', one(T), view(Wr, :, (gi - 1) * Cog + 1:gi * Cog), col, zero(T), Yt)
            _rows2out!(Y, Yt, B, (gi - 1) * Cog, n0, m)
        end
    end
    Y
end

function _conv_grad_check(op, gy, g::ConvGeom, Cout, N)
    size(gy) == (g.OW, g.OH, Cout, N) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(gy)) does not match the convolution output shape " *
        "$(_nn_shape((g.OW, g.OH, Cout, N)))"))
end

function _conv2d_backward_input(gy, w, xsize, stride, padding, dilation, groups::Int)
    op = "conv2d_backward_input"
    _nn_same_dtype(op, gy, w)
    g = _conv_geom(op, xsize, size(w), stride, padding, dilation, groups)
    _conv_grad_check(op, gy, g, size(w, 4), xsize[4])
    T = eltype(gy); C = compute_type(T)
    _restore(T, _conv2d_backward_input_dense(as_dense(C, gy), as_dense(C, w), NTuple{4,Int}(xsize), g, groups))
end

"`_conv2d_backward_input` on dense arrays of the compute type."
function _conv2d_backward_input_dense(GY::Array{T,4}, Wt::Array{T,4}, xsize::NTuple{4,Int}, g::ConvGeom, groups::Int) where {T}
    N = xsize[4]; Cout = size(Wt, 4); Cog = Cout ÷ groups; K = g.kW * g.kH * g.C; P = g.OW * g.OH
    DX = alloc(T, xsize)
    Wr = _weight_rows!(_scratch(T, 4, K, Cout), Wt)
    _conv_chunks(g, N) do n0, m
        Dp = fill!(_chunk_buffer(T, g, xsize[3], m), zero(T))
        dcol = _scratch(T, 1, K, P * m); G = _scratch(T, 2, P * m, Cog)
        for gi in 1:groups
            _out2cols!(G, GY, (gi - 1) * Cog, n0, m)
            _pgemm!('N', 'T', one(T), view(Wr, :, (gi - 1) * Cog + 1:gi * Cog), G, zero(T), dcol)
            _col2im!(Dp, dcol, g, (gi - 1) * g.C, m)
        end
        _unpad_chunk!(DX, Dp, g, n0, m)
    end
    DX
end

function _conv2d_backward_weight(gy, x, wsize, stride, padding, dilation, groups::Int)
    op = "conv2d_backward_weight"
    _nn_same_dtype(op, gy, x)
    g = _conv_geom(op, size(x), wsize, stride, padding, dilation, groups)
    _conv_grad_check(op, gy, g, wsize[4], size(x, 4))
    T = eltype(gy); C = compute_type(T)
    _restore(T, _conv2d_backward_weight_dense(as_dense(C, gy), as_dense(C, x), NTuple{4,Int}(wsize), g, groups))
end

"`_conv2d_backward_weight` on dense arrays of the compute type."
function _conv2d_backward_weight_dense(GY::Array{T,4}, X::Array{T,4}, wsize::NTuple{4,Int}, g::ConvGeom, groups::Int) where {T}
    N = size(X, 4); Cout = wsize[4]; Cog = Cout ÷ groups; K = g.kW * g.kH * g.C; P = g.OW * g.OH
    Dr = fill!(_scratch(T, 4, K, Cout), zero(T))
    _conv_chunks(g, N) do n0, m
        Xp = _pad_chunk!(_chunk_buffer(T, g, size(X, 3), m), X, g, n0, m)
        col = _scratch(T, 1, K, P * m); G = _scratch(T, 2, P * m, Cog)
        for gi in 1:groups
            _im2col!(col, Xp, g, (gi - 1) * g.C, m)
            _out2cols!(G, GY, (gi - 1) * Cog, n0, m)
            _pgemm!('N', 'N', one(T), col, G, one(T), view(Dr, :, (gi - 1) * Cog + 1:gi * Cog))
        end
    end
    _weight_from_rows(Dr, wsize)
end

# Meta shape functions of the convolution kernels: the same checks, the output (or input/weight) size.
function _conv2d(x::MetaArray, w::MetaArray, b::Union{Nothing,MetaArray}, stride, padding, dilation, groups::Int)
    g, Cout = _conv2d_checks(x, w, b, stride, padding, dilation, groups)
    meta_like(x, eltype(x), (g.OW, g.OH, Cout, size(x, 4)))
end
function _conv2d_backward_input(gy::MetaArray, w::MetaArray, xsize, stride, padding, dilation, groups::Int)
    op = "conv2d_backward_input"
    _nn_same_dtype(op, gy, w)
    g = _conv_geom(op, xsize, size(w), stride, padding, dilation, groups)
    _conv_grad_check(op, gy, g, size(w, 4), xsize[4])
    meta_like(gy, eltype(gy), NTuple{4,Int}(xsize))
end
function _conv2d_backward_weight(gy::MetaArray, x::MetaArray, wsize, stride, padding, dilation, groups::Int)
    op = "conv2d_backward_weight"
    _nn_same_dtype(op, gy, x)
    g = _conv_geom(op, size(x), wsize, stride, padding, dilation, groups)
    _conv_grad_check(op, gy, g, wsize[4], size(x, 4))
    meta_like(gy, eltype(gy), NTuple{4,Int}(wsize))
end

const _CONV_ARGS = "stride: IntList, padding: IntList, dilation: IntList, groups: int"
const _CONV_PASS = "stride, padding, dilation, groups"
defop("_conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor], $_CONV_ARGS) -> Tensor", _conv2d; method = false,
      grad = ["input" => "_conv2d_backward_input(grad, weight, input.shape, $_CONV_PASS)",
              "weight" => "_conv2d_backward_weight(grad, input, weight.shape, $_CONV_PASS)",
              "bias" => "sum(grad, (0, 2, 3))"],
      doc = "2-d cross-correlation of an (N, C, H, W) input with an (Cout, C/groups, kH, kW) weight plus an " *
            "optional bias; stride and dilation are (h, w), padding is (top, bottom, left, right) zeros.")
defop("_conv2d_backward_input(grad_output: Tensor, weight: Tensor, input_size: Shape, $_CONV_ARGS) -> Tensor",
      _conv2d_backward_input; method = false,
      grad = ["grad_output" => "_conv2d(grad, weight, None, $_CONV_PASS)",
              "weight" => "_conv2d_backward_weight(grad_output, grad, weight.shape, $_CONV_PASS)"],
      doc = "Gradient of _conv2d with respect to its input (a transposed convolution of grad_output).")
defop("_conv2d_backward_weight(grad_output: Tensor, input: Tensor, weight_size: Shape, $_CONV_ARGS) -> Tensor",
      _conv2d_backward_weight; method = false,
      grad = ["grad_output" => "_conv2d(input, grad, None, $_CONV_PASS)",
              "input" => "_conv2d_backward_input(grad_output, grad, input.shape, $_CONV_PASS)"],
      doc = "Gradient of _conv2d with respect to its weight (input columns times grad_output).")

