# Neural-network kernels behind `jt.nn.functional`: convolution, pooling, softmax, standardization
# (the core of layer/batch/group norm), losses, embedding, dropout masks. Every backward pass that
# needs its own kernel is an op too, and declares its own derivative (the adjoint of a linear
# backward is the forward kernel, as NNlib does for ∇conv_data/∇conv_filter), so second
# derivatives work. Composites (linear, attention, the affine part of norms, most losses) are
# written in Python from these and other registry ops.
#
# Layout: kernels see Julia dimension order, so a Python (N, C, H, W) batch is a Julia (W, H, C, N)
# array and a Python (Cout, Cin/groups, kH, kW) weight is a Julia (kW, kH, Cin/groups, Cout) one.
# Integer-list parameters (kernel_size, stride, padding, dilation) arrive in Python order.
# Float16/BFloat16 compute in Float32; statistics accumulate in Float64.

_nn_float(op, x) = eltype(x) <: AbstractFloat ||
    throw(DTypeError("$op(): expected a floating point tensor, got $(_dtname(x))"))
function _nn_same_dtype(op, x, others...)
    _nn_float(op, x)
    for o in others
        o === nothing || eltype(o) === eltype(x) || throw(DTypeError(
            "$op(): expected all tensors to have dtype $(_dtname(x)), but got $(_dtname(o))"))
    end
end
"A Julia-order size (or an array's) as the Python shape string \"[a, b, c]\"."
_nn_shape(sz::Tuple) = string("[", join(reverse(sz), ", "), "]")
_nn_shape(x::AbstractArray) = _nn_shape(size(x))
_nn_shape(x::MetaArray) = _nn_shape(size(x))
_pair(op, name, v, n = 2) = (length(v) == n && all(>=(0), v)) ? v :
    throw(ArgumentError("$op(): $name must be $n non-negative integers, got $(collect(v))"))
_pos(op, name, v) = all(>(0), v) ? v : throw(ArgumentError("$op(): $name must be positive, got $(collect(v))"))

"Run `f(i)` for i in 1:n, over Julia's threads when `work` (elements touched) is large enough."
function _tfor(f::F, n::Int, work::Int) where {F}
    if Threads.nthreads() > 1 && n > 1 && work >= THREAD_MIN
        Threads.@threads for i in 1:n
            f(i)
        end
    else
        for i in 1:n
            f(i)
        end
    end
    nothing
end

"""Run `f(qs)` over ranges `qs` that cover 1:n: one range, or one per thread when `work` is large
enough. For many small items (pooling planes), where a call per item would cost more than the item."""
function _tfor_ranges(f::F, n::Int, work::Int) where {F}
    nc = Threads.nthreads() > 1 && work >= THREAD_MIN ? min(n, Threads.nthreads()) : 1
    _tfor(c -> f((c - 1) * n ÷ nc + 1:c * n ÷ nc), nc, work)
end

"""
    @simd_short for ... end

`@simd` for loops only a few vectors long, such as the runs of a convolution's columns: one vector
per iteration. (Plain `@simd` lets LLVM interleave four AVX-512 vectors per iteration, so a loop of
fewer than 64 Float32 never enters its vector body.)
"""
macro simd_short(loop)
    Meta.isexpr(loop, :for) || throw(ArgumentError("@simd_short expects a for loop"))
    info = Expr(:loopinfo, Symbol("julia.simdloop"), (Symbol("llvm.loop.interleave.count"), 1))
    Expr(:for, esc(loop.args[1]), Expr(:block, esc(loop.args[2]), info))
end

"""
    @scalar for ... end

A loop that LLVM must not vectorize: one with strided loads or stores (a transpose), whose vector
form gathers or scatters, which is slower than scalar code on some CPUs (AMD Zen 4).
"""
macro scalar(loop)
    Meta.isexpr(loop, :for) || throw(ArgumentError("@scalar expects a for loop"))
    info = Expr(:loopinfo, (Symbol("llvm.loop.vectorize.enable"), false))
    Expr(:for, esc(loop.args[1]), Expr(:block, esc(loop.args[2]), info))
end

"Product of a tuple's entries from `lo` to `hi` (1 when empty)."
_prodrange(sz, lo, hi) = (p = 1; for d in lo:hi; p *= sz[d]; end; p)

# ==================================================================================================
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

# ==================================================================================================
# Pooling. Inputs are (N, C, H, W) or (C, H, W): Julia (W, H, planes...).

function _pool_input(op, sz::Tuple)
    (length(sz) == 3 || length(sz) == 4) || throw(ArgumentError(
        "$op(): expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape $(_nn_shape(sz))"))
    (sz[1] >= 1 && sz[2] >= 1) || throw(ArgumentError("$op(): input of shape $(_nn_shape(sz)) has an empty plane"))
end

"PyTorch's pooling output length (ceil_mode windows must start inside the input or left padding)."
function _poollen(op, n, k, s, p, d, ceil_mode)
    p <= k ÷ 2 || throw(ArgumentError("$op(): pad should be at most half of effective kernel size, but got pad=$p and kernel_size=$k"))
    num = n + 2p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0)
    o = fld(num, s) + 1
    ceil_mode && (o - 1) * s >= n + p && (o -= 1)
    o >= 1 || throw(ArgumentError("$op(): given input size $n, kernel $k, stride $s, padding $p, dilation $d, " *
                                  "the output size $o is too small"))
    o
end

function _pool_params(op, sz::Tuple, ks, stride, padding, dilation, ceil_mode)
    _pool_input(op, sz)
    kH, kW = _pos(op, "kernel_size", _pair(op, "kernel_size", ks))
    sH, sW = _pos(op, "stride", _pair(op, "stride", stride))
    pH, pW = _pair(op, "padding", padding)
    dH, dW = _pos(op, "dilation", _pair(op, "dilation", dilation))
    OH = _poollen(op, sz[2], kH, sH, pH, dH, ceil_mode)
    OW = _poollen(op, sz[1], kW, sW, pW, dW, ceil_mode)
    kH, kW, sH, sW, pH, pW, dH, dW, OH, OW
end

_planes(x) = _prodrange(size(x), 3, ndims(x))

"Pooling window geometry (Julia order is (w, h); fields are per axis)."
struct PoolGeom
    W::Int; H::Int; kW::Int; kH::Int; sW::Int; sH::Int; pW::Int; pH::Int; dW::Int; dH::Int; OW::Int; OH::Int
end

"Valid kernel offsets [lo, hi] (1-based) of each output position along one axis."
function _pool_ranges(n, k, s, p, d, on)
    lo = alloc(Int, on); hi = alloc(Int, on)
    for o in 1:on
        i0 = (o - 1) * s - p
        lo[o] = max(1, cld(-i0, d) + 1)
        hi[o] = min(k, fld(n - 1 - i0, d) + 1)
    end
    lo, hi
end

"""Whether tap value `v` replaces the window's maximum `best` so far, by PyTorch's rule: when it
is larger, or (with `nans`) NaN. So the first maximum wins and NaN propagates; without NaN in the
input the plain comparison gives the same result, and is much faster."""
@inline _replaces(v, best, ::Val{nans}) where {nans} = nans ? (v > best) | isnan(v) : v > best

"""The maximum of X[xo + b + t] over plane offsets `taps` (in (kh, kw) order) and its plane index
b + t. A window starts at -Inf with its first tap's index."""
@inline function _window_max(X::Vector{T}, xo::Int, b::Int, taps, nans::Val) where {T}
    best = typemin(T); bi = b + first(taps)
    @inbounds for t in taps
        i = b + t; v = X[xo + i]
        c = _replaces(v, best, nans)
        best = ifelse(c, v, best); bi = ifelse(c, i, bi)
    end
    best, bi
end

"""The output positions of a plane (1-based, flat) whose windows lie inside the input, with the
plane indices of their corners; and the other (clipped) positions."""
function _pool_windows(g::PoolGeom, rh, rw)
    full = Int[]; corner = Int[]; clipped = Int[]
    for oh in 1:g.OH, ow in 1:g.OW
        j = (oh - 1) * g.OW + ow
        if rh[1][oh] == 1 && rh[2][oh] == g.kH && rw[1][ow] == 1 && rw[2][ow] == g.kW
            push!(full, j); push!(corner, ((oh - 1) * g.sH - g.pH) * g.W + (ow - 1) * g.sW - g.pW)
        else
            push!(clipped, j)
        end
    end
    full, corner, clipped
end

"""Max pooling of planes `qs` of `X` into `Y` and `I` (all flat, planes one after another) at the
output positions `full`, whose windows lie inside the input and read their taps at offsets `taps`
from `corner`."""
function _max_pool_full!(Y::Vector{T}, I::Vector{Int64}, X::Vector{T}, g::PoolGeom, full::Vector{Int},
                         corner::Vector{Int}, taps, qs::UnitRange{Int}, nans::Val) where {T}
    @inbounds for q in qs
        xo = (q - 1) * g.W * g.H + 1; yo = (q - 1) * g.OW * g.OH
        @scalar for j in eachindex(full)
            Y[yo + full[j]], I[yo + full[j]] = _window_max(X, xo, corner[j], taps, nans)
        end
    end
end

"""Max pooling of planes `qs` at the output positions `clipped`, whose windows the padding or the
ceil_mode edge clips: each reads its valid taps only. An empty window (possible with dilation)
gives -Inf at the index of its first tap position inside the padded input, as PyTorch does."""
function _max_pool_clipped!(Y::Vector{T}, I::Vector{Int64}, X::Vector{T}, g::PoolGeom, rh, rw,
                            clipped::Vector{Int}, qs::UnitRange{Int}, nans::Val) where {T}
    khlo, khhi = rh; kwlo, kwhi = rw
    @inbounds for q in qs, j in clipped
        xo = (q - 1) * g.W * g.H + 1; yo = (q - 1) * g.OW * g.OH
        oh, ow = divrem(j - 1, g.OW) .+ 1
        h0 = (oh - 1) * g.sH - g.pH; w0 = (ow - 1) * g.sW - g.pW
        best = typemin(T); bi = (h0 + (khlo[oh] - 1) * g.dH) * g.W + w0 + (kwlo[ow] - 1) * g.dW
        for kh in khlo[oh]:khhi[oh]
            rowi = (h0 + (kh - 1) * g.dH) * g.W + w0
            for kw in kwlo[ow]:kwhi[ow]
                i = rowi + (kw - 1) * g.dW; v = X[xo + i]
                c = _replaces(v, best, nans)
                best = ifelse(c, v, best); bi = ifelse(c, i, bi)
            end
        end
        Y[yo + j] = best; I[yo + j] = bi
    end
end

function _max_pool2d(x, ks, stride, padding, dilation, ceil_mode::Bool)
    op = "max_pool2d"
    _nn_float(op, x)
    kH, kW, sH, sW, pH, pW, dH, dW, OH, OW = _pool_params(op, size(x), ks, stride, padding, dilation, ceil_mode)
    T = eltype(x); C = compute_type(T)
    g = PoolGeom(size(x, 1), size(x, 2), kW, kH, sW, sH, pW, pH, dW, dH, OW, OH)
    X = vec(as_dense(C, x))
    # The common 2×2 and 3×3 windows hold their taps in a tuple, so that loops over them unroll.
    # (Each Val is built from a literal: Val(n) of a runtime n costs microseconds.)
    nt = kH * kW
    Y, I = _max_pool_dense(X, g, _planes(x), nt == 4 ? Val(4) : nt == 9 ? Val(9) : Val(0),
                           _hasnan(X) ? Val(true) : Val(false))
    osz = (OW, OH, Base.tail(Base.tail(size(x)))...)
    _restore(T, reshape(Y, osz)), reshape(I, osz)
end

"Whether `X` holds a NaN (one vectorized pass)."
function _hasnan(X::Vector{<:AbstractFloat})
    f = false
    @inbounds @simd for i in eachindex(X)
        f |= isnan(X[i])
    end
    f
end

"Offset of a window's tap t (in (kh, kw) order) from its corner, in a plane."
_pool_tap(g::PoolGeom, t::Int) = ((t - 1) ÷ g.kW * g.dH) * g.W + (t - 1) % g.kW * g.dW

"""`_max_pool2d` of the np planes of a flat dense input: flat values and indices (the function
barrier). The window's taps are a tuple of NT offsets, or a vector when NT is 0."""
function _max_pool_dense(X::Vector{T}, g::PoolGeom, np::Int, ::Val{NT}, nans::Val) where {T,NT}
    taps = NT == 0 ? [_pool_tap(g, t) for t in 1:g.kH * g.kW] : ntuple(t -> _pool_tap(g, t), Val(NT))
    Y = alloc(T, g.OW * g.OH * np); I = alloc(Int64, length(Y))
    rh = _pool_ranges(g.H, g.kH, g.sH, g.pH, g.dH, g.OH); rw = _pool_ranges(g.W, g.kW, g.sW, g.pW, g.dW, g.OW)
    full, corner, clipped = _pool_windows(g, rh, rw)
    _tfor_ranges(np, length(X)) do qs
        _max_pool_full!(Y, I, X, g, full, corner, taps, qs, nans)
        isempty(clipped) || _max_pool_clipped!(Y, I, X, g, rh, rw, clipped, qs, nans)
    end
    Y, I
end
function _max_pool2d(x::MetaArray, ks, stride, padding, dilation, ceil_mode::Bool)
    op = "max_pool2d"
    _nn_float(op, x)
    _, _, _, _, _, _, _, _, OH, OW = _pool_params(op, size(x), ks, stride, padding, dilation, ceil_mode)
    osz = (OW, OH, Base.tail(Base.tail(size(x)))...)
    meta_like(x, eltype(x), osz), MetaArray{Int64}(osz)
end
defop("_max_pool2d(input: Tensor, kernel_size: IntList, stride: IntList, padding: IntList, dilation: IntList, " *
      "ceil_mode: bool) -> (values: Tensor, indices: Tensor)", _max_pool2d; method = false,
      grad = ["input" => "_pool2d_scatter(grad, indices, input.shape)"],
      doc = "2-d max pooling over (N, C, H, W) or (C, H, W) input (padding is -inf); indices are flat " *
            "positions h*W + w in each input plane. Sizes are (h, w).")

"""Check integer indices into planes of size sz[1]×sz[2]: one vectorized pass, and a search for
the first offending index only for the error message."""
function _pool_index_check(op, idx, sz)
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) || throw(DTypeError("$op(): indices must be integers, got $(_dtname(idx))"))
    n = sz[1] * sz[2]
    _anyoutside(idx, n) || return
    v = idx[findfirst(v -> !(0 <= v < n), idx)]
    _oob("$op(): index $v is out of bounds for an input plane of $n elements")
end

"Whether an integer array has an entry outside 0:n-1 (one unsigned comparison each, vectorized)."
function _anyoutside(A::Array{<:Integer}, n::Int)
    bad = false
    @inbounds @simd for i in eachindex(A)
        bad |= (A[i] % UInt64) >= (n % UInt64)
    end
    bad
end

function _pool2d_scatter(g, idx, sz)
    op = "pool2d_scatter"
    size(g) == size(idx) || throw(DimensionMismatch("$op(): input $(_nn_shape(g)) and indices $(_nn_shape(idx)) differ in shape"))
    (length(sz) == ndims(g) && length(sz) >= 2 && sz[3:end] == size(g)[3:end]) || throw(DimensionMismatch(
        "$op(): output shape $(_nn_shape(sz)) does not fit input $(_nn_shape(g))"))
    I = dense(idx)
    _pool_index_check(op, I, sz)
    T = eltype(g); C = compute_type(T)
    np = _prodrange(sz, 3, length(sz))
    _restore(T, reshape(_pool_scatter_dense(vec(as_dense(C, g)), vec(I), size(g, 1) * size(g, 2), sz[1] * sz[2], np), sz))
end

"""Zeros of np planes of n elements with the m values of each plane of `G` added at their
(checked) flat indices `I`: `_pool2d_scatter` on dense arrays (the function barrier)."""
function _pool_scatter_dense(G::Vector{T}, I::Vector{<:Integer}, m::Int, n::Int, np::Int) where {T}
    O = alloc_zeros(T, n * np)
    _tfor_ranges(np, length(O)) do qs
        @inbounds for q in qs, p in (q - 1) * m + 1:q * m
            O[(q - 1) * n + I[p] + 1] += G[p]
        end
    end
    O
end

function _pool2d_gather(x, idx)
    op = "pool2d_gather"
    (ndims(idx) == ndims(x) && ndims(x) >= 2 && size(idx)[3:end] == size(x)[3:end]) || throw(DimensionMismatch(
        "$op(): indices $(_nn_shape(idx)) do not fit input $(_nn_shape(x))"))
    I = dense(idx)
    _pool_index_check(op, I, size(x))
    np = _planes(x); n = size(x, 1) * size(x, 2); m = size(idx, 1) * size(idx, 2)
    X = reshape(dense(x), n, np); I2 = reshape(I, m, np)
    O = alloc(eltype(x), m, np)
    @inbounds for q in 1:np, p in 1:m
        O[p, q] = X[I2[p, q] + 1, q]
    end
    reshape(O, size(idx))
end
# Meta: the shape and dtype checks; index values are data, unchecked.
_pool_index_check(op, idx::MetaArray, sz) = eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
    throw(DTypeError("$op(): indices must be integers, got $(_dtname(idx))"))
function _pool2d_scatter(g::MetaArray, idx::MetaArray, sz)
    op = "pool2d_scatter"
    size(g) == size(idx) || throw(DimensionMismatch("$op(): input $(_nn_shape(g)) and indices $(_nn_shape(idx)) differ in shape"))
    (length(sz) == ndims(g) && length(sz) >= 2 && sz[3:end] == size(g)[3:end]) || throw(DimensionMismatch(
        "$op(): output shape $(_nn_shape(sz)) does not fit input $(_nn_shape(g))"))
    _pool_index_check(op, idx, sz)
    meta_like(g, eltype(g), Tuple(sz))
end
function _pool2d_gather(x::MetaArray, idx::MetaArray)
    op = "pool2d_gather"
    (ndims(idx) == ndims(x) && ndims(x) >= 2 && size(idx)[3:end] == size(x)[3:end]) || throw(DimensionMismatch(
        "$op(): indices $(_nn_shape(idx)) do not fit input $(_nn_shape(x))"))
    _pool_index_check(op, idx, size(x))
    meta_like(x, eltype(x), size(idx))
end
defop("_pool2d_scatter(input: Tensor, indices: Tensor, size: Shape) -> Tensor", _pool2d_scatter; method = false,
      grad = ["input" => "_pool2d_gather(grad, indices)"],
      doc = "Zeros of the given (…, H, W) size with each input value added at its flat plane index " *
            "(indices shaped like input, same leading dims): the gradient of max pooling.")
defop("_pool2d_gather(input: Tensor, indices: Tensor) -> Tensor", _pool2d_gather; method = false,
      grad = ["input" => "_pool2d_scatter(grad, indices, input.shape)"],
      doc = "The values of each (…, H, W) input plane at flat plane indices (the adjoint of _pool2d_scatter).")

"Window of output position o (1-based) along one axis: clipped 0-based [lo, hi) and the divisor length."
@inline function _avg_window(o, s, p, k, n)
    lo = (o - 1) * s - p
    hi = min(lo + k, n + p)
    len = hi - lo
    max(lo, 0), min(hi, n), len
end

function _avg_pool_params(op, sz, ks, stride, padding, ceil_mode, divisor_override)
    r = _pool_params(op, sz, ks, stride, padding, (1, 1), ceil_mode)
    divisor_override === nothing || divisor_override != 0 ||
        throw(ArgumentError("$op(): divisor_override must be nonzero"))
    r
end

function _avg_pool2d(x, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    op = "avg_pool2d"
    _nn_float(op, x)
    kH, kW, sH, sW, pH, pW, _, _, OH, OW = _avg_pool_params(op, size(x), ks, stride, padding, ceil_mode, divisor_override)
    T = eltype(x); C = compute_type(T)
    W, H = size(x, 1), size(x, 2); np = _planes(x)
    X = reshape(as_dense(C, x), W, H, np)
    Y = alloc(C, OW, OH, np)
    _tfor(np, length(X)) do q
        E = eltype(X)
        @inbounds for oh in 1:OH
            h0, h1, lh = _avg_window(oh, sH, pH, kH, H)
            for ow in 1:OW
                w0, w1, lw = _avg_window(ow, sW, pW, kW, W)
                s = zero(E)
                for ih in h0:h1-1, iw in w0:w1-1
                    s += X[iw + 1, ih + 1, q]
                end
                div = divisor_override !== nothing ? divisor_override :
                      count_include_pad ? lh * lw : (h1 - h0) * (w1 - w0)
                Y[ow, oh, q] = (h0 >= h1 || w0 >= w1) ? zero(E) : s / E(div)
            end
        end
    end
    _restore(T, reshape(Y, (OW, OH, size(x)[3:end]...)))
end

"""The checks of avg_pool2d's backward (grad_output against the input size); the pooling
parameters, as `_avg_pool_params` gives them."""
function _avg_pool2d_backward_checks(g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    op = "avg_pool2d_backward"
    _nn_float(op, g)
    length(xsize) == ndims(g) || throw(DimensionMismatch("$op(): input size $(_nn_shape(xsize)) does not fit grad_output $(_nn_shape(g))"))
    params = _avg_pool_params(op, xsize, ks, stride, padding, ceil_mode, divisor_override)
    OH, OW = params[9], params[10]
    (size(g, 1), size(g, 2)) == (OW, OH) && size(g)[3:end] == xsize[3:end] || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match the pooled shape of input $(_nn_shape(xsize))"))
    params
end

function _avg_pool2d_backward(g, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    kH, kW, sH, sW, pH, pW, _, _, OH, OW = _avg_pool2d_backward_checks(g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    T = eltype(g); C = compute_type(T)
    W, H = xsize[1], xsize[2]; np = _prodrange(xsize, 3, length(xsize))
    G = reshape(as_dense(C, g), OW, OH, np)
    DX = alloc_zeros(C, W, H, np)
    _tfor(np, length(DX)) do q
        E = eltype(DX)
        @inbounds for oh in 1:OH
            h0, h1, lh = _avg_window(oh, sH, pH, kH, H)
            for ow in 1:OW
                w0, w1, lw = _avg_window(ow, sW, pW, kW, W)
                (h0 >= h1 || w0 >= w1) && continue
                div = divisor_override !== nothing ? divisor_override :
                      count_include_pad ? lh * lw : (h1 - h0) * (w1 - w0)
                v = G[ow, oh, q] / E(div)
                for ih in h0:h1-1, iw in w0:w1-1
                    DX[iw + 1, ih + 1, q] += v
                end
            end
        end
    end
    _restore(T, reshape(DX, xsize))
end
function _avg_pool2d(x::MetaArray, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    op = "avg_pool2d"
    _nn_float(op, x)
    _, _, _, _, _, _, _, _, OH, OW = _avg_pool_params(op, size(x), ks, stride, padding, ceil_mode, divisor_override)
    meta_like(x, eltype(x), (OW, OH, size(x)[3:end]...))
end
function _avg_pool2d_backward(g::MetaArray, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    _avg_pool2d_backward_checks(g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    meta_like(g, eltype(g), Tuple(xsize))
end
const _AVG_ARGS = "kernel_size: IntList, stride: IntList, padding: IntList, ceil_mode: bool, count_include_pad: bool, divisor_override: int = None"
const _AVG_PASS = "kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override"
defop("_avg_pool2d(input: Tensor, $_AVG_ARGS) -> Tensor", _avg_pool2d; method = false,
      grad = ["input" => "_avg_pool2d_backward(grad, input.shape, $_AVG_PASS)"],
      doc = "2-d average pooling over (N, C, H, W) or (C, H, W) input; sizes are (h, w).")
defop("_avg_pool2d_backward(grad_output: Tensor, input_size: Shape, $_AVG_ARGS) -> Tensor", _avg_pool2d_backward;
      method = false, grad = ["grad_output" => "_avg_pool2d(grad, $_AVG_PASS)"],
      doc = "Gradient of _avg_pool2d (its adjoint): each output gradient spread evenly over its window.")

@inline _adaptive_window(o, out, n) = (fld((o - 1) * n, out), cld(o * n, out))   # 0-based [lo, hi)

function _adaptive_avg_pool2d(x, output_size)
    op = "adaptive_avg_pool2d"
    _nn_float(op, x)
    _pool_input(op, size(x))
    OH, OW = _pos(op, "output_size", _pair(op, "output_size", output_size))
    T = eltype(x); C = compute_type(T)
    W, H = size(x, 1), size(x, 2); np = _planes(x)
    X = reshape(as_dense(C, x), W, H, np)
    Y = alloc(C, OW, OH, np)
    _tfor(np, length(X)) do q
        E = eltype(X)
        @inbounds for oh in 1:OH
            h0, h1 = _adaptive_window(oh, OH, H)
            for ow in 1:OW
                w0, w1 = _adaptive_window(ow, OW, W)
                s = zero(E)
                for ih in h0:h1-1, iw in w0:w1-1
                    s += X[iw + 1, ih + 1, q]
                end
                Y[ow, oh, q] = s / E((h1 - h0) * (w1 - w0))
            end
        end
    end
    _restore(T, reshape(Y, (OW, OH, size(x)[3:end]...)))
end

function _adaptive_avg_pool2d_backward(g, xsize)
    op = "adaptive_avg_pool2d_backward"
    _nn_float(op, g)
    (length(xsize) == ndims(g) && ndims(g) >= 3 && size(g)[3:end] == xsize[3:end]) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not fit input size $(_nn_shape(xsize))"))
    T = eltype(g); C = compute_type(T)
    OW, OH = size(g, 1), size(g, 2); W, H = xsize[1], xsize[2]
    np = _prodrange(xsize, 3, length(xsize))
    G = reshape(as_dense(C, g), OW, OH, np)
    DX = alloc_zeros(C, W, H, np)
    _tfor(np, length(DX)) do q
        E = eltype(DX)
        @inbounds for oh in 1:OH
            h0, h1 = _adaptive_window(oh, OH, H)
            for ow in 1:OW
                w0, w1 = _adaptive_window(ow, OW, W)
                v = G[ow, oh, q] / E((h1 - h0) * (w1 - w0))
                for ih in h0:h1-1, iw in w0:w1-1
                    DX[iw + 1, ih + 1, q] += v
                end
            end
        end
    end
    _restore(T, reshape(DX, xsize))
end
function _adaptive_avg_pool2d(x::MetaArray, output_size)
    op = "adaptive_avg_pool2d"
    _nn_float(op, x)
    _pool_input(op, size(x))
    OH, OW = _pos(op, "output_size", _pair(op, "output_size", output_size))
    meta_like(x, eltype(x), (OW, OH, size(x)[3:end]...))
end
function _adaptive_avg_pool2d_backward(g::MetaArray, xsize)
    op = "adaptive_avg_pool2d_backward"
    _nn_float(op, g)
    (length(xsize) == ndims(g) && ndims(g) >= 3 && size(g)[3:end] == xsize[3:end]) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not fit input size $(_nn_shape(xsize))"))
    meta_like(g, eltype(g), Tuple(xsize))
end
defop("_adaptive_avg_pool2d(input: Tensor, output_size: IntList) -> Tensor", _adaptive_avg_pool2d; method = false,
      grad = ["input" => "_adaptive_avg_pool2d_backward(grad, input.shape)"],
      doc = "Average pooling to a fixed (h, w) output size; window o spans [floor(o*n/out), ceil((o+1)*n/out)).")
defop("_adaptive_avg_pool2d_backward(grad_output: Tensor, input_size: Shape) -> Tensor", _adaptive_avg_pool2d_backward;
      method = false, grad = ["grad_output" => "_adaptive_avg_pool2d(grad, grad_output.shape[-2:])"],
      doc = "Gradient of _adaptive_avg_pool2d (its adjoint).")

# ==================================================================================================
# softmax / log_softmax (fused, max-shifted), and their backward kernels.

"(before, n, after) sizes around Julia dim d (a 0-d array is one element)."
_split3(sz::Tuple, d::Int) = length(sz) == 0 ? (1, 1, 1) :
    (_prodrange(sz, 1, d - 1), sz[d], _prodrange(sz, d + 1, length(sz)))

function _softmax_into!(O::Array{C,3}, A::Array{C,3}, logmode::Bool) where {C}
    pre, n, post = size(A)
    _tfor(post, length(A)) do k
        E = eltype(A)
        # rows (pre == 1) are often short (tens of classes): `@simd_short` still vectorizes them
        @inbounds if pre == 1
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
    O = alloc(C, pre, n, post)
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
    O = alloc(C, pre, n, post)
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
    O = alloc(C, size(A))
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

# ==================================================================================================
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
    O = alloc(C, A, K, B)
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
    O = alloc(C, A, K, B)
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
    O = alloc(C, A, K, B)
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

# ==================================================================================================
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

function _norm_forward!(O::Array{T,3}, X::Array{T,3}, W, B, L::_NormLayout, eps::Float64) where {T}
    mu, var = _norm_stats(X, L)
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        r = 1 / sqrt(var[k] + eps)
        if L.inner
            m = T(mu[k]); rT = T(r)
            @simd_short for i in 1:L.S
                O[i, c, n] = (X[i, c, n] - m) * rT * _pv(W, i, T, 1) + _pv(B, i, T, 0)
            end
        else
            a = r * _pv(W, c, Float64, 1)
            a_T = T(a); b_T = T(_pv(B, c, Float64, 0) - mu[k] * a)
            @simd_short for i in 1:L.S
                O[i, c, n] = X[i, c, n] * a_T + b_T
            end
        end
    end
    O
end

function _norm_backward_input!(O::Array{T,3}, G::Array{T,3}, X::Array{T,3}, W, L::_NormLayout, eps::Float64) where {T}
    mu, var = _norm_stats(X, L)
    M = _ncount(L)
    rs = [1 / sqrt(v + eps) for v in var]
    sgh = alloc_zeros(Float64, _nstats(L)); sghx = alloc_zeros(Float64, _nstats(L))   # Σ g w, Σ g w xhat
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        s1 = zero(T); s2 = zero(T)
        @simd_short for i in 1:L.S
            gh = G[i, c, n] * (L.inner ? _pv(W, i, T, 1) : one(T))
            s1 += gh
            s2 += gh * X[i, c, n]
        end
        wc = L.inner ? 1.0 : _pv(W, c, Float64, 1)
        sgh[k] += wc * s1
        sghx[k] += wc * (s2 - mu[k] * s1) * rs[k]
    end
    # dx = r (g w - Σgw/M - xhat Σ(g w xhat)/M) = (g w) r + x p + q
    @inbounds for n in 1:L.N, c in 1:L.C
        k = _sidx(L, c, n)
        r = rs[k]; c1 = sgh[k] / M; c2 = sghx[k] / M
        p = T(-r * r * c2); q = T(-r * c1 + mu[k] * r * r * c2)
        if L.inner
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
    O = alloc(C, L.S, L.C, L.N)
    length(O) > 0 && _norm_forward!(O, X, _norm_dense(C, w), _norm_dense(C, b), L, eps)
    _restore(T, reshape(O, size(x)))
end
function _norm_run_backward(op, g, x, L::_NormLayout, w, eps::Float64)
    _norm_param_check(op, L, "weight", w)
    T, C, (G, X) = _norm_inputs(op, L, g, x)
    O = alloc(C, L.S, L.C, L.N)
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

# ==================================================================================================
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

# ==================================================================================================
# Embedding: rows of a (num_embeddings, dim) table at integer indices, and its gradient.

function _embedding_gather(op, w, idx, padding_idx::Int, sbf::Bool, masked::Bool)
    ndims(w) == 2 || throw(ArgumentError("$op(): weight must be 2-d (num_embeddings, embedding_dim), got shape $(_nn_shape(w))"))
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    Dm, V = size(w)
    I = dense(idx)
    @inbounds for v in I
        0 <= v < V || _oob("$op(): index $v is out of range for an embedding table of $V rows")
    end
    Wd = dense(w)
    cnt = masked && sbf ? _embedding_counts(I, V) : nothing
    O = alloc(eltype(w), Dm, length(I))
    @inbounds for (n, v) in enumerate(I)
        zero_row = masked && v == padding_idx
        s = masked && sbf ? one(eltype(w)) / cnt[v + 1] : one(eltype(w))
        for d in 1:Dm
            O[d, n] = zero_row ? zero(eltype(w)) : (masked && sbf ? Wd[d, v + 1] * s : Wd[d, v + 1])
        end
    end
    reshape(O, (Dm, size(I)...))
end

function _embedding_counts(I, V)
    cnt = alloc_zeros(Int, V)
    @inbounds for v in I
        cnt[v + 1] += 1
    end
    cnt
end

function _embedding_backward(g, idx, num_weights::Int, padding_idx::Int, sbf::Bool)
    op = "embedding_backward"
    _nn_float(op, g)
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    (ndims(g) == ndims(idx) + 1 && size(g)[2:end] == size(idx)) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match indices of shape $(_nn_shape(idx))"))
    I = dense(idx)
    @inbounds for v in I
        0 <= v < num_weights || _oob("$op(): index $v is out of range for an embedding table of $num_weights rows")
    end
    T = eltype(g); Tc = compute_type(T)
    Dm = size(g, 1)
    G = reshape(as_dense(Tc, g), Dm, length(I))
    cnt = sbf ? _embedding_counts(I, num_weights) : nothing
    O = alloc_zeros(Tc, Dm, num_weights)
    @inbounds for (n, v) in enumerate(I)
        v == padding_idx && continue
        s = sbf ? one(Tc) / cnt[v + 1] : one(Tc)
        @simd for d in 1:Dm
            O[d, v + 1] += G[d, n] * s
        end
    end
    _restore(T, O)
end
# Meta: the checks on shapes and dtypes (index values are data, unchecked).
function _embedding_gather(op, w::MetaArray, idx::MetaArray, padding_idx::Int, sbf::Bool, masked::Bool)
    ndims(w) == 2 || throw(ArgumentError("$op(): weight must be 2-d (num_embeddings, embedding_dim), got shape $(_nn_shape(w))"))
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    meta_like(w, eltype(w), (size(w, 1), size(idx)...))
end
function _embedding_backward(g::MetaArray, idx::MetaArray, num_weights::Int, padding_idx::Int, sbf::Bool)
    op = "embedding_backward"
    _nn_float(op, g)
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    (ndims(g) == ndims(idx) + 1 && size(g)[2:end] == size(idx)) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match indices of shape $(_nn_shape(idx))"))
    meta_like(g, eltype(g), (size(g, 1), num_weights))
end
_embedding(w, i, p, s) = _embedding_gather("embedding", w, i, p, s, false)
_embedding(w::MetaArray, i::MetaArray, p, s) = _embedding_gather("embedding", w, i, p, s, false)
_embedding_backward_adjoint(w, i, p, s) = _embedding_gather("embedding_backward_adjoint", w, i, p, s, true)
_embedding_backward_adjoint(w::MetaArray, i::MetaArray, p, s) = _embedding_gather("embedding_backward_adjoint", w, i, p, s, true)
defop("_embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False) -> Tensor",
      _embedding; method = false,
      grad = ["weight" => "_embedding_backward(grad, indices, weight.shape[0], padding_idx, scale_grad_by_freq)"],
      doc = "Rows of weight at indices (result shape indices.shape + (embedding_dim,)); padding_idx and " *
            "scale_grad_by_freq only shape the gradient.")
defop("_embedding_backward(grad_output: Tensor, indices: Tensor, num_weights: int, padding_idx: int = -1, " *
      "scale_grad_by_freq: bool = False) -> Tensor", _embedding_backward; method = false,
      grad = ["grad_output" => "_embedding_backward_adjoint(grad, indices, padding_idx, scale_grad_by_freq)"],
      doc = "Gradient of _embedding: grad_output rows summed into a (num_weights, dim) table, skipping " *
            "padding_idx and divided by each index's count when scale_grad_by_freq.")
defop("_embedding_backward_adjoint(input: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False) -> Tensor",
      _embedding_backward_adjoint; method = false,
      grad = ["input" => "_embedding_backward(grad, indices, input.shape[0], padding_idx, scale_grad_by_freq)"],
      doc = "The adjoint of _embedding_backward: rows of input at indices, zero at padding_idx and divided " *
            "by each index's count when scale_grad_by_freq.")

# ==================================================================================================
# Dropout: a mask of zeros (probability p) and 1/(1-p) from the global generator `RNG`, seeded
# with the stream key `seed` (python/jtensor/random.py).

function _dropout_mask(sz, p::Float64, ::Type{T}, seed::Int) where {T}
    0 <= p <= 1 || throw(ArgumentError("dropout(): probability has to be between 0 and 1, but got $p"))
    T <: AbstractFloat || throw(DTypeError("dropout(): expected a floating point dtype, got $(_dtname(T))"))
    C = compute_type(T)
    M = alloc(C, sz...)
    p == 1 && return _restore(T, fill!(M, zero(C)))
    s = C(1 / (1 - p))
    Random.seed!(RNG, seed)
    rand!(RNG, M)
    @inbounds @simd for i in eachindex(M)
        M[i] = ifelse(M[i] < C(p), zero(C), s)
    end
    _restore(T, M)
end
defop("_dropout_mask(size: Shape, p: float, dtype: DType, seed: int) -> Tensor", _dropout_mask; method = false,
      doc = "A dropout mask: 0 with probability p, else 1/(1-p), drawn from stream key `seed`.")

# ==================================================================================================
# linear: the product with the weight read transposed in place (_matmul in ops/linalg.jl), plus bias.

"""
    _linear(x, w, b)

`x @ w.T + b` (torch.nn.functional.linear): Julia-order `w` is (in, out), read transposed by gemm
in place; the bias is added into the fresh product. A 1-d `w` gives `x @ w + b`.
"""
function _linear(x, w, b)
    ndims(x) >= 1 && ndims(w) in (1, 2) || throw(ArgumentError(
        "linear: expected input of at least 1 dim and a 1-d or 2-d weight, got shapes $(_pyshape(x)) and $(_pyshape(w))"))
    size(x, 1) == size(w, 1) || throw(DimensionMismatch(
        "linear: input of shape $(_pyshape(x)) and weight of shape $(_pyshape(w)) cannot be multiplied ($(size(x, 1)) != $(size(w, 1)))"))
    W = w isa Strided ? w : Strided(dense(w))
    Wt = ndims(W) == 2 ? Strided{eltype(W),2}(W.ptr, (W.size[2], W.size[1]), (W.strides[2], W.strides[1]), W.owner) : W
    y = GC.@preserve W _matmul(x, Wt)
    b === nothing && return y
    y isa Array && eltype(b) === eltype(y) && ndims(b) == 1 && length(b) == size(y, 1) && return _add_bias!(y, b)
    T = promote_dtype(eltype(y), eltype(b))
    apply(+, compute_type(T), T, Strided(y isa Array ? y : fill(y)), b)
end

function _linear(x::MetaArray, w::MetaArray, b::Union{Nothing,MetaArray})
    ndims(x) >= 1 && ndims(w) in (1, 2) || throw(ArgumentError(
        "linear: expected input of at least 1 dim and a 1-d or 2-d weight, got shapes $(_pyshape(x)) and $(_pyshape(w))"))
    size(x, 1) == size(w, 1) || throw(DimensionMismatch(
        "linear: input of shape $(_pyshape(x)) and weight of shape $(_pyshape(w)) cannot be multiplied ($(size(x, 1)) != $(size(w, 1)))"))
    y = _matmul(x, ndims(w) == 2 ? meta_like(w, eltype(w), reverse(size(w))) : w)
    b === nothing && return y
    eltype(b) === eltype(y) && ndims(b) == 1 && length(b) == size(y, 1) && return y
    meta_like(y, _meta_promote(eltype(y), eltype(b)), broadcast_size(size(y), size(b)))
end

"y[:, j] += b for every column j (y is the fresh product, b a vector of its length)."
function _add_bias!(y::Array{T}, b::AbstractVector{T}) where {T}
    n = size(y, 1)
    n == 0 && return y   # no output features: nothing to add (and no column step)
    @inbounds for j in 0:n:length(y) - 1, i in 1:n
        y[j + i] += b[i]
    end
    y
end

defop("_linear(input: Tensor, weight: Tensor, bias: Tensor = None) -> Tensor", _linear; method = false,
      batch = "linear",
      grad = ["input" => "linear_backward_input(grad, input, weight)",
              "weight" => "linear_backward_weight(grad, input, weight)",
              "bias" => "sum_to_size(grad, bias.shape)"],
      doc = "y = input @ weight.T + bias in one gemm, with no transposed copy of the weight (torch.nn.functional.linear).")

# Type inference of the common float32/float64 signatures is cached in the precompiled package, so
# a first call only generates code (inference of the conv and norm kernels takes seconds otherwise).
for T in (Float32, Float64)
    S1, S2, S3, S4 = Strided{T,1}, Strided{T,2}, Strided{T,3}, Strided{T,4}
    I2, I4 = NTuple{2,Int}, NTuple{4,Int}
    for B in (S1, Nothing)
        precompile(_conv2d, (S4, S4, B, I2, I4, I2, Int))
    end
    precompile(_conv2d_backward_input, (S4, S4, I4, I2, I4, I2, Int))
    precompile(_conv2d_backward_weight, (S4, S4, I4, I2, I4, I2, Int))
    precompile(_max_pool2d, (S4, I2, I2, I2, I2, Bool))
    precompile(_pool2d_scatter, (S4, Strided{Int64,4}, I4))
    for S in (S2, S3, S4)
        precompile(_standardize, (S, NTuple{1,Int}, Float64))
        precompile(_standardize_backward, (S, S, NTuple{1,Int}, Float64))
        precompile(_softmax_kernel, (String, S, Int, Nothing, Bool))
        precompile(_softmax_backward_kernel, (String, S, S, Int, Bool))
    end
    precompile(_standardize, (S4, NTuple{3,Int}, Float64))
    precompile(_standardize_backward, (S4, S4, NTuple{3,Int}, Float64))
    precompile(_cross_entropy, (S2, Strided{Int64,1}, Nothing, Int, Float64, String))
    precompile(_cross_entropy_backward, (Strided{T,0}, S2, Strided{Int64,1}, Nothing, Int, Float64, String))
    for B in (S1, Nothing), X in (S1, S2)
        precompile(_linear, (X, S2, B))
    end
    precompile(_matmul, (S2, S2))
end

# The convolution kernels reach these BLAS and Base methods by dynamic dispatch, and no traced
# workload line names them (they were compiled inside their callers), so they are named here, as
# bridge.jl's `_precompile_glue` does for the entry points' glue.
function _precompile_conv_glue()
    for T in (Float32, Float64)
        C = SubArray{T,2,Matrix{T},Tuple{Base.Slice{Base.OneTo{Int}},UnitRange{Int}},true}
        precompile(BLAS.gemm!, (Char, Char, T, C, Matrix{T}, T, Matrix{T}))
        precompile(BLAS.gemm!, (Char, Char, T, Matrix{T}, Matrix{T}, T, C))
        precompile(BLAS.gemm!, (Char, Char, T, C, Matrix{T}, T, C))
        precompile(permutedims!, (Array{T,3}, Array{T,3}, NTuple{3,Int}))
        precompile(permutedims!, (Array{T,4}, Array{T,4}, NTuple{4,Int}))
    end
    precompile(get, (Dict{Tuple{DataType,Int},Any}, Tuple{DataType,Int}, Nothing))
    precompile(setindex!, (Dict{Tuple{DataType,Int},Any}, Vector{Float32}, Tuple{DataType,Int}))
    precompile(setindex!, (Dict{Tuple{DataType,Int},Any}, Vector{Float64}, Tuple{DataType,Int}))
    nothing
end
_precompile_conv_glue()
