# Convolution over S spatial dims (conv2d, conv3d: one generic kernel; im2col + BLAS gemm, in batch
# chunks; blas.jl's gemm! directly: `mul!`'s generic dispatch costs seconds of compilation on first use).
# Two other paths take the shapes where this one's copies cost most: shifted views of the padded
# buffer instead of im2col (conv_shift.jl: stride 1, thin outputs) and im2col in the input's own
# layout (conv_planar.jl: few input channels, 1x1 kernels); the dense kernels below pick the path.

"""Geometry of an S-d convolution, in Julia order (width first): input sizes `n` with C channels
per group, kernel `k`, stride `s`, leading (left, top, front) padding `p`, dilation `d`, output `o`."""
struct ConvGeom{S}
    n::NTuple{S,Int}; C::Int
    k::NTuple{S,Int}; s::NTuple{S,Int}; p::NTuple{S,Int}; d::NTuple{S,Int}
    o::NTuple{S,Int}
end

_convlen(n, k, s, lo, hi, d) = fld(n + lo + hi - d * (k - 1) - 1, s) + 1

const _AXES = ("width", "height", "depth")
"The spatial axes of an S-d op in Python order: \"height, width\", \"depth, height, width\"."
_axes_desc(S) = join(reverse(_AXES[1:S]), ", ")
"Python-order values (one per spatial axis) in Julia order, as an NTuple."
_jorder(v, ::Val{S}) where {S} = ntuple(i -> Int(v[S + 1 - i]), Val(S))

"""Check a conv call (sizes in Julia order, stride/dilation in Python order, padding (lo, hi) per
axis in Python order) and return its geometry."""
function _conv_geom(op, ::Val{S}, xsz, wsz, stride, padding, dilation, groups) where {S}
    length(xsz) == S + 2 || throw(ArgumentError(
        "$op(): expected a $(S + 2)-d input (batch, channels, $(_axes_desc(S))), got shape $(_nn_shape(Tuple(xsz)))"))
    kdesc = join(("k" * uppercase(a[1:1]) for a in reverse(_AXES[1:S])), ", ")
    length(wsz) == S + 2 || throw(ArgumentError(
        "$op(): expected a $(S + 2)-d weight (out_channels, in_channels/groups, $kdesc), got shape $(_nn_shape(Tuple(wsz)))"))
    groups >= 1 || throw(ArgumentError("$op(): groups must be positive, got $groups"))
    s = _jorder(_pos(op, "stride", _pair(op, "stride", stride, S)), Val(S))
    d = _jorder(_pos(op, "dilation", _pair(op, "dilation", dilation, S)), Val(S))
    _pair(op, "padding", padding, 2S)
    lo = ntuple(i -> Int(padding[2(S - i) + 1]), Val(S)); hi = ntuple(i -> Int(padding[2(S - i) + 2]), Val(S))
    n = ntuple(i -> Int(xsz[i]), Val(S)); C = xsz[S + 1]
    k = ntuple(i -> Int(wsz[i]), Val(S)); Cg = wsz[S + 1]; Cout = wsz[S + 2]
    (all(>=(1), k) && Cg >= 1) || throw(ArgumentError("$op(): weight of shape $(_nn_shape(Tuple(wsz))) is empty"))
    C == Cg * groups || throw(ArgumentError(
        "$op(): given groups=$groups and weight of shape $(_nn_shape(Tuple(wsz))), expected input of shape " *
        "$(_nn_shape(Tuple(xsz))) to have $(Cg * groups) channels, but got $C channels instead"))
    Cout % groups == 0 || throw(ArgumentError(
        "$op(): out_channels ($Cout, weight of shape $(_nn_shape(Tuple(wsz)))) must be divisible by groups ($groups)"))
    o = ntuple(i -> _convlen(n[i], k[i], s[i], lo[i], hi[i], d[i]), Val(S))
    all(>=(1), o) || throw(ArgumentError(
        "$op(): kernel size $(reverse(k)) with dilation $(reverse(d)) is larger than the padded input " *
        "$(reverse(n .+ lo .+ hi)) of input shape $(_nn_shape(Tuple(xsz)))"))
    ConvGeom{S}(n, Cg, k, s, lo, d, o)
end

# Layout. A chunk of samples is first copied into a zero-padded, channels-first buffer `Xp`, Julia
# (Ct, padded..., m) (NHWC in Python terms), so that every tap of every window is a valid read. A
# column of `col` (K × P*m, r = (ow, oh, (od,) n) an output position) is that position's receptive
# field in the order k = (c, kw, kh, (kd)): for each kernel row, kW*C consecutive values of the
# buffer (C per kernel column when dilated or grouped), so filling it is a few short vector copies.
# The weight is reordered to match, a K × Cout matrix `Wr`. Then
#   forward:         Yt = Wrᵀ col   (Cog × P*m: the long dimension as BLAS's n, which OpenBLAS
#                                    runs fastest), transposed per sample into (o..., Cout, N);
#   weight gradient: Dr += col G    (G: P*m × Cog, the output gradient's channels as columns);
#   input gradient:  dcol = Wr Gᵀ, added back through the same columns into a padded buffer.
# Threads split the batch (`_conv_chunks`): each thread its own samples and scratch buffers.

"Padded sizes (Julia order): the leading padding plus everything the windows reach."
_padded(g::ConvGeom{S}) where {S} =
    ntuple(i -> max(g.n[i] + g.p[i], (g.o[i] - 1) * g.s[i] + (g.k[i] - 1) * g.d[i] + 1), Val(S))

"Offset (in positions) of input row `I` (its indices past the width) in a padded plane, leading width padding included."
@inline function _padded_row(g::ConvGeom{S}, P, I) where {S}
    off = g.p[1]; st = 1
    for a in 2:S
        st *= P[a - 1]
        off += (g.p[a] + I[a - 1] - 1) * st
    end
    off
end

"""Copy between samples n0+1..n0+m of `X` (n..., Ct, N) and the padded channels-first buffer `Xp`
(Ct, padded..., m): `Val(:pad)` zeroes `Xp` and sets its interior from `X`; `Val(:unpad)` sets `X`
from `Xp`'s interior (the padding dropped). A transpose per input row, 8 channels at a time: the
buffer side (a row of W*Ct values, in L1) is walked nearly in order and 8 planes of `X` are read or
written as sequential streams. (With the channels outer, each write touched a new cache line of the
whole sample's buffer: 2.7x slower; with all channels inner, 16 streams 4 KiB apart (32x32 planes)
share one set of the L1 cache and evict each other: 8x slower.) Where the sample's buffer fits in L1
the two orders cost the same (measured: 32 channels of 16x16, 16 of 16x16, 64 of 8x8).)"""
function _pad_transfer!(::Val{D}, Xp::Array{T}, X::Array{T}, g::ConvGeom, n0::Int, m::Int) where {D,T}
    Ct = size(Xp, 1); P = _padded(g); L = length(Xp) ÷ m
    W = g.n[1]; plane = prod(g.n); rows = CartesianIndices(Base.tail(g.n))
    _tfor(m, m * L) do nn
        o = (nn - 1) * L
        if D === :pad
            @inbounds @simd_short for i in o+1:o+L
                Xp[i] = zero(T)
            end
        end
        @inbounds for (r, I) in enumerate(rows), cb in 0:8:Ct-1
            d = o + _padded_row(g, P, I) * Ct
            x0 = (r - 1) * W + (n0 + nn - 1) * Ct * plane
            for iw in 1:W
                @scalar for c in cb+1:min(Ct, cb + 8)
                    if D === :pad
                        Xp[d + (iw - 1) * Ct + c] = X[x0 + iw + (c - 1) * plane]
                    else
                        X[x0 + iw + (c - 1) * plane] = Xp[d + (iw - 1) * Ct + c]
                    end
                end
            end
        end
    end
    Xp
end

"""A window's taps as contiguous runs of a padded channels-first buffer (Ct × padded...): the runs'
offsets from the window's corner, in column order, and their common length. Undilated taps of all
channels of a kernel row form one run (kW*C values), otherwise each tap is one (C)."""
function _conv_runs(g::ConvGeom{S}, P, Ct::Int) where {S}
    merged = Ct == g.C && g.d[1] == 1
    nw = merged ? 1 : g.k[1]
    offs = Int[]
    for I in CartesianIndices(Base.tail(g.k)), j in 1:nw
        o = (j - 1) * g.d[1]; st = 1
        for a in 2:S
            st *= P[a - 1]
            o += (I[a - 1] - 1) * g.d[a] * st
        end
        push!(offs, o * Ct)
    end
    offs, merged ? g.C * g.k[1] : g.C
end

"The linear index before the first value of the window of output position `O` of sample nn, channel c0+1."
@inline function _window_corner(g::ConvGeom{S}, P, Ct::Int, c0::Int, O, nn::Int) where {S}
    off = 0; st = 1
    for a in 1:S
        off += (O[a] - 1) * g.s[a] * st
        st *= P[a]
    end
    c0 + (off + (nn - 1) * st) * Ct
end

"""Move values between the columns `col` (K × P*m) and the padded chunk buffer `B`, for input
channels c0+1..c0+C: `Val(:gather)` fills the columns (im2col), `Val(:scatter)` adds them back into
the buffer (col2im, its adjoint). Long runs (many channels) move as vectors, run by run; short ones
(few channels, as in a first layer) tap by tap along output rows, which costs less per value."""
function _col_transfer!(dir::Val, col::Matrix{T}, B::Array{T}, g::ConvGeom, c0::Int, m::Int) where {T}
    Ct = size(B, 1); P = _padded(g)
    offs, len = _conv_runs(g, P, Ct)
    K = size(col, 1); step = g.s[1] * Ct   # buffer distance between neighbouring windows
    outs = CartesianIndices(g.o); rows = CartesianIndices(Base.tail(g.o)); OW = g.o[1]
    _tfor(m, length(col)) do nn
        if len >= 16
            k = (nn - 1) * K * length(outs)
            @inbounds for O in outs
                s0 = _window_corner(g, P, Ct, c0, O, nn)
                for o in offs
                    @simd_short for i in 1:len
                        _move!(dir, col, k + i, B, s0 + o + i)
                    end
                    k += len
                end
            end
        else
            @inbounds for (r, I) in enumerate(rows)
                k0 = ((nn - 1) * length(rows) + r - 1) * OW * K   # before the row's first column
                s0 = _window_corner(g, P, Ct, c0, (1, Tuple(I)...), nn)
                for o in offs, i in 1:len
                    k0 += 1
                    @scalar for ow in 1:OW
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
_im2col!(col::Matrix{T}, Xp::Array{T}, g::ConvGeom, c0::Int, m::Int) where {T} =
    _col_transfer!(Val(:gather), col, Xp, g, c0, m)

"Add `dcol` (K × P*m) into the padded chunk buffer `Dp`, channels c0+1..c0+C: the adjoint of `_im2col!`."
_col2im!(Dp::Array{T}, dcol::Matrix{T}, g::ConvGeom, c0::Int, m::Int) where {T} =
    _col_transfer!(Val(:scatter), dcol, Dp, g, c0, m)

"""Move between a (k..., C, Cout) weight, viewed as (taps, C, Cout), and the K × Cout matrix `Wr`
whose rows are in column order k = (c, tap): `Val(:gather)` sets `Wr`, `Val(:scatter)` the weight."""
function _weight_transfer!(dir::Val{D}, Wr::Matrix{T}, Wt::Array{T}) where {D,T}
    C, Cout = size(Wt, ndims(Wt) - 1), size(Wt, ndims(Wt)); nk = length(Wt) ÷ (C * Cout)
    @inbounds for co in 1:Cout, t in 1:nk, c in 1:C
        r = c + (t - 1) * C; w = t + (c - 1 + (co - 1) * C) * nk
        D === :gather ? (Wr[r, co] = Wt[w]) : (Wt[w] = Wr[r, co])
    end
end

"The weight (k..., C, Cout) as the K × Cout matrix `Wr`, rows in column order k = (c, kw, kh, ...)."
_weight_rows!(Wr::Matrix{T}, Wt::Array{T}) where {T} = (_weight_transfer!(Val(:gather), Wr, Wt); Wr)

"The inverse of `_weight_rows!`: a K × Cout matrix in column order as a weight of size `wsize`."
_weight_from_rows(Wr::Matrix{T}, wsize::Tuple) where {T} =
    (Wt = alloc(T, wsize); _weight_transfer!(Val(:scatter), Wr, Wt); Wt)

"""
    _grid_transfer!(Val(:out), Y, Yt, bias, co0, n, c0, grid)    Y[O, co0+j, n] = Yt[j, c0 + q(O)] (+ bias)
    _grid_transfer!(Val(:grid), GY, Gq, nothing, co0, n, c0, grid)   Gq[j, c0 + q(O)] = GY[O, co0+j, n]

Moves between a gemm's matrix (channels × columns) and sample n of a (o..., Cout, N) array, for
every output position O, where q(O) is O's linear index in `grid` (Julia order, each axis at least
the output's): the output itself (im2col) or the padded input (`_conv_shift_forward!`). `:out`
writes the forward's result (plus the bias); `:grid` is its adjoint, for the input gradient, and
leaves the grid's other columns (positions past the output) as they are: the caller zeroes them.
A blocked transpose: 16 positions of all channels at a time, so the strided side stays in L1.
"""
function _grid_transfer!(::Val{D}, Y::Array{T}, M::Matrix{T}, bias, co0::Int, n::Int, c0::Int,
                         grid::NTuple{S,Int}) where {D,T,S}
    Cout = size(Y, ndims(Y) - 1); o = ntuple(i -> size(Y, i), Val(S)); P = prod(o); Cog = size(M, 1)
    OW = o[1]; rows = CartesianIndices(Base.tail(o))
    @inbounds for (r, I) in enumerate(rows)
        q0 = c0 + _grid_row(grid, I); y0 = (r - 1) * OW + (co0 + (n - 1) * Cout) * P
        for w0 in 0:16:OW-1
            w1 = min(OW, w0 + 16)
            for j in 1:Cog
                yj = y0 + (j - 1) * P
                if D === :out
                    b = bias === nothing ? zero(T) : bias[co0 + j]
                    @scalar for ow in w0+1:w1
                        Y[yj + ow] = M[j, q0 + ow] + b
                    end
                else
                    @scalar for ow in w0+1:w1
                        M[j, q0 + ow] = Y[yj + ow]
                    end
                end
            end
        end
    end
    D === :out ? Y : M
end

"Offset of output row `I` (its indices past the width) in a grid of sizes `grid`."
@inline function _grid_row(grid::NTuple{S,Int}, I) where {S}
    off = 0; st = 1
    for a in 2:S
        st *= grid[a - 1]
        off += (I[a - 1] - 1) * st
    end
    off
end

"""Y[positions..., co0+j, n0+nn] = Yt[j, positions of sample nn] (+ bias): the gemm result
(Cog × P*m) transposed into the (o..., Cout, N) output."""
function _rows2out!(Y::Array{T}, Yt::Matrix{T}, bias, co0::Int, n0::Int, m::Int) where {T}
    S = ndims(Y) - 2; o = ntuple(i -> size(Y, i), S); P = prod(o)
    _tfor(m, m * P * size(Yt, 1)) do nn
        _grid_transfer!(Val(:out), Y, Yt, bias, co0, n0 + nn, (nn - 1) * P, o)
    end
    Y
end

"""Output-gradient channels co0+1..co0+Cog of samples n0+1..n0+m as the columns of `G`
(P*m × Cog), rows in position order (ow, oh, ..., n)."""
function _out2cols!(G::Matrix{T}, GY::Array{T}, co0::Int, n0::Int, m::Int) where {T}
    Cout = size(GY, ndims(GY) - 1); P = length(GY) ÷ (Cout * size(GY, ndims(GY)))
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
keep the column buffer near CONV_CHUNK elements. With several Julia threads (and enough work) the
batch is split into one contiguous range per thread, each running its own chunks with its own
scratch buffers: the copies and the products of a chunk then run on one core and in its cache, with
one fork and join per call (splitting each product's columns forked per chunk and product)."""
function _conv_chunks(f::F, g::ConvGeom, N::Int) where {F}
    N == 0 && return
    nb = max(1, min(N, CONV_CHUNK[] ÷ max(1, prod(g.o) * prod(g.k) * g.C)))
    nt = Threads.nthreads()
    if nt > 1 && N > 1 && prod(g.o) * prod(g.k) * g.C * N >= THREAD_MIN && !_in_threads()
        Threads.@threads for t in 1:min(nt, N)
            lo = (t - 1) * N ÷ min(nt, N); hi = t * N ÷ min(nt, N)
            _chunk_range(f, lo, hi - lo, nb)
        end
    else
        _chunk_range(f, 0, N, nb)
    end
end
_in_threads() = Threads.threadid() != 1 || ccall(:jl_in_threaded_region, Cint, ()) != 0

"Chunks of at most `nb` samples (balanced) of samples n0+1..n0+N."
function _chunk_range(f::F, n0::Int, N::Int, nb::Int) where {F}
    N == 0 && return
    nb = cld(N, cld(N, min(nb, N)))   # the same number of chunks, balanced
    for k in 0:nb:N-1
        f(n0 + k, min(nb, N - k))
    end
end

# Scratch buffers reused across calls (fresh multi-megabyte arrays cost page faults on every call),
# one set per Julia thread: a kernel is entered from one thread (the bridge's) and `_conv_chunks`
# hands each thread its own samples, so one buffer per (thread, type, slot) suffices.
const _SCRATCH = Dict{Tuple{DataType,Int},Any}[]
"Make sure there is a scratch set per thread (JTensor's `__init__`, before any thread runs a kernel)."
_scratch_dicts(nt::Int) = (while length(_SCRATCH) < nt; push!(_SCRATCH, Dict{Tuple{DataType,Int},Any}()); end; _SCRATCH)
function _scratch(::Type{T}, slot::Int, dims::Vararg{Int,N}) where {T,N}
    d = _SCRATCH[Threads.threadid()]
    v = get(d, (T, slot), nothing)
    v === nothing && (v = d[(T, slot)] = T[])
    v = v::Vector{T}
    n = prod(dims)
    length(v) < n && resize!(v, n)
    unsafe_wrap(Array, pointer(v), dims)   # valid while the buffer is not resized: within one call
end

"The padded channels-first buffer of a chunk of m samples (scratch slot 3)."
_chunk_buffer(::Type{T}, g::ConvGeom, Ct::Int, m::Int) where {T} = _scratch(T, 3, Ct, _padded(g)..., m)

"""The checks of a convolution (CPU or meta): the output geometry and the output channels."""
function _conv_checks(op, S::Val, x, w, b, stride, padding, dilation, groups::Int)
    _nn_same_dtype(op, x, w, b)
    g = _conv_geom(op, S, size(x), size(w), stride, padding, dilation, groups)
    Cout = size(w, ndims(w))
    b === nothing || (ndims(b) == 1 && length(b) == Cout) || throw(ArgumentError(
        "$op(): expected bias of shape [$Cout] for weight of shape $(_nn_shape(w)), got $(_nn_shape(b))"))
    g, Cout
end

function _conv_forward(op, S::Val, x, w, b, stride, padding, dilation, groups::Int)
    g, Cout = _conv_checks(op, S, x, w, b, stride, padding, dilation, groups)
    T = eltype(x); C = compute_type(T)
    B = b === nothing ? nothing : as_dense(C, b)
    _restore(T, _conv_dense(as_dense(C, x), as_dense(C, w), B, g, groups))
end

"`_conv_forward` on dense arrays of the compute type (the function barrier behind the dynamic call)."
function _conv_dense(X::Array{T}, Wt::Array{T}, B::Union{Nothing,Vector{T}}, g::ConvGeom{S}, groups::Int) where {T,S}
    N = size(X, S + 2); Cout = size(Wt, S + 2); Cog = Cout ÷ groups; K = prod(g.k) * g.C; P = prod(g.o)
    Y = alloc(T, g.o..., Cout, N)
    Wr = _weight_rows!(_scratch(T, 4, K, Cout), Wt)
    _conv_shift_ok(g, groups, Cout) && return _conv_shift_forward!(Y, X, Wr, B, g)
    _planar_ok(g, groups) && return _planar_forward!(Y, X, Wr, B, g)
    # The adopted BLAS (blas.jl) runs Wr' col slower than Julia's; Wr transposed once runs as 'N'
    # (1.45x as fast as Julia's Wr' col at 16 channels, K = 27, 1024 positions)
    WrT = groups == 1 && fast_blas(T) ? transpose!(_scratch(T, 7, Cout, K), Wr) : nothing
    _conv_chunks(g, N) do n0, m
        Xp = _pad_transfer!(Val(:pad), _chunk_buffer(T, g, size(X, S + 1), m), X, g, n0, m)
        col = _scratch(T, 1, K, P * m); Yt = _scratch(T, 2, Cog, P * m)
        for gi in 1:groups
            _im2col!(col, Xp, g, (gi - 1) * g.C, m)
            if WrT === nothing
                _pgemm!('T', 'N', one(T), view(Wr, :, (gi - 1) * Cog + 1:gi * Cog), col, zero(T), Yt)
            else
                _pgemm!('N', 'N', one(T), WrT, col, zero(T), Yt)
            end
            _rows2out!(Y, Yt, B, (gi - 1) * Cog, n0, m)
        end
    end
    Y
end

function _conv_grad_check(op, gy, g::ConvGeom, Cout, N)
    size(gy) == (g.o..., Cout, N) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(gy)) does not match the convolution output shape " *
        "$(_nn_shape((g.o..., Cout, N)))"))
end

"""The checks of a convolution's input gradient (`_conv_backward_input`): its geometry and the
input size as an NTuple."""
function _conv_backward_input_checks(op, S::Val{D}, gy, w, xsize, stride, padding, dilation, groups) where {D}
    _nn_same_dtype(op, gy, w)
    g = _conv_geom(op, S, xsize, size(w), stride, padding, dilation, groups)
    _conv_grad_check(op, gy, g, size(w, ndims(w)), xsize[end])
    g, NTuple{D + 2,Int}(xsize)
end

function _conv_backward_input(op, S::Val, gy, w, xsize, stride, padding, dilation, groups::Int)
    g, xs = _conv_backward_input_checks(op, S, gy, w, xsize, stride, padding, dilation, groups)
    T = eltype(gy); C = compute_type(T)
    _restore(T, _conv_backward_input_dense(as_dense(C, gy), as_dense(C, w), xs, g, groups))
end

"`_conv_backward_input` on dense arrays of the compute type."
function _conv_backward_input_dense(GY::Array{T}, Wt::Array{T}, xsize::Tuple, g::ConvGeom{S}, groups::Int) where {T,S}
    N = xsize[S + 2]; Cout = size(Wt, S + 2); Cog = Cout ÷ groups; K = prod(g.k) * g.C; P = prod(g.o)
    DX = alloc(T, xsize)
    Wr = _weight_rows!(_scratch(T, 4, K, Cout), Wt)
    _conv_shift_ok(g, groups, Cout) && return _conv_shift_backward_input!(DX, GY, Wr, g)
    _planar_ok(g, groups) && return _planar_backward_input!(DX, GY, Wr, g)
    _conv_chunks(g, N) do n0, m
        Dp = fill!(_chunk_buffer(T, g, xsize[S + 1], m), zero(T))
        dcol = _scratch(T, 1, K, P * m); G = _scratch(T, 2, P * m, Cog)
        for gi in 1:groups
            _out2cols!(G, GY, (gi - 1) * Cog, n0, m)
            _pgemm!('N', 'T', one(T), view(Wr, :, (gi - 1) * Cog + 1:gi * Cog), G, zero(T), dcol)
            _col2im!(Dp, dcol, g, (gi - 1) * g.C, m)
        end
        _pad_transfer!(Val(:unpad), Dp, DX, g, n0, m)
    end
    DX
end

"""The checks of a convolution's weight gradient (`_conv_backward_weight`): its geometry and the
weight size as an NTuple."""
function _conv_backward_weight_checks(op, S::Val{D}, gy, x, wsize, stride, padding, dilation, groups) where {D}
    _nn_same_dtype(op, gy, x)
    g = _conv_geom(op, S, size(x), wsize, stride, padding, dilation, groups)
    _conv_grad_check(op, gy, g, wsize[end], size(x, ndims(x)))
    g, NTuple{D + 2,Int}(wsize)
end

function _conv_backward_weight(op, S::Val, gy, x, wsize, stride, padding, dilation, groups::Int)
    g, ws = _conv_backward_weight_checks(op, S, gy, x, wsize, stride, padding, dilation, groups)
    T = eltype(gy); C = compute_type(T)
    _restore(T, _conv_backward_weight_dense(as_dense(C, gy), as_dense(C, x), ws, g, groups))
end

"`_conv_backward_weight` on dense arrays of the compute type."
function _conv_backward_weight_dense(GY::Array{T}, X::Array{T}, wsize::Tuple, g::ConvGeom{S}, groups::Int) where {T,S}
    N = size(X, S + 2); Cout = wsize[S + 2]; Cog = Cout ÷ groups; K = prod(g.k) * g.C; P = prod(g.o)
    Drs = [zeros(T, K, Cout) for _ in 1:Threads.nthreads()]   # per thread: each sums its own samples
    _planar_ok(g, groups) && return _weight_from_rows(_sum_partials!(_planar_backward_weight!(Drs, GY, X, g)), wsize)
    _conv_chunks(g, N) do n0, m
        Dr = Drs[Threads.threadid()]
        Xp = _pad_transfer!(Val(:pad), _chunk_buffer(T, g, size(X, S + 1), m), X, g, n0, m)
        col = _scratch(T, 1, K, P * m); G = _scratch(T, 2, P * m, Cog)
        for gi in 1:groups
            _im2col!(col, Xp, g, (gi - 1) * g.C, m)
            _out2cols!(G, GY, (gi - 1) * Cog, n0, m)
            _pgemm!('N', 'N', one(T), col, G, one(T), view(Dr, :, (gi - 1) * Cog + 1:gi * Cog))
        end
    end
    _weight_from_rows(_sum_partials!(Drs), wsize)
end

"The per-thread partial sums added into the first."
function _sum_partials!(Drs::Vector{Matrix{T}}) where {T}
    Dr = Drs[1]
    for t in 2:length(Drs), i in eachindex(Dr)
        @inbounds Dr[i] += Drs[t][i]
    end
    Dr
end

# Meta shape functions of the convolution kernels: the same checks, the output (or input/weight) size.
function _conv_forward(op, S::Val, x::MetaArray, w::MetaArray, b::Union{Nothing,MetaArray}, stride, padding, dilation, groups::Int)
    g, Cout = _conv_checks(op, S, x, w, b, stride, padding, dilation, groups)
    meta_like(x, eltype(x), (g.o..., Cout, size(x, ndims(x))))
end
function _conv_backward_input(op, S::Val, gy::MetaArray, w::MetaArray, xsize, stride, padding, dilation, groups::Int)
    _, xs = _conv_backward_input_checks(op, S, gy, w, xsize, stride, padding, dilation, groups)
    meta_like(gy, eltype(gy), xs)
end
function _conv_backward_weight(op, S::Val, gy::MetaArray, x::MetaArray, wsize, stride, padding, dilation, groups::Int)
    _, ws = _conv_backward_weight_checks(op, S, gy, x, wsize, stride, padding, dilation, groups)
    meta_like(gy, eltype(gy), ws)
end

# The registry ops, per spatial rank: _conv2d/_conv3d and their input and weight gradients, each a
# named forwarder to the generic kernel (the op name goes into error messages).
const _CONV_ARGS = "stride: IntList, padding: IntList, dilation: IntList, groups: int"
const _CONV_PASS = "stride, padding, dilation, groups"
for S in (2, 3)
    fwd, bwi, bww = Symbol("_conv$(S)d"), Symbol("_conv$(S)d_backward_input"), Symbol("_conv$(S)d_backward_weight")
    @eval begin
        $fwd(x::AnyArray, w, b, stride, padding, dilation, groups::Int) =
            _conv_forward($("conv$(S)d"), Val($S), x, w, b, stride, padding, dilation, groups)
        $bwi(gy::AnyArray, w, xsize, stride, padding, dilation, groups::Int) =
            _conv_backward_input($("conv$(S)d_backward_input"), Val($S), gy, w, xsize, stride, padding, dilation, groups)
        $bww(gy::AnyArray, x, wsize, stride, padding, dilation, groups::Int) =
            _conv_backward_weight($("conv$(S)d_backward_weight"), Val($S), gy, x, wsize, stride, padding, dilation, groups)
    end
    dims = S == 2 ? "(N, C, H, W)" : "(N, C, D, H, W)"
    wdims = S == 2 ? "(Cout, C/groups, kH, kW)" : "(Cout, C/groups, kD, kH, kW)"
    sizes = S == 2 ? "(h, w), padding is (top, bottom, left, right)" : "(d, h, w), padding is (front, back, top, bottom, left, right)"
    ch = string(Tuple([0; 2:S+1]))
    defop("_conv$(S)d(input: Tensor, weight: Tensor, bias: Optional[Tensor], $_CONV_ARGS) -> Tensor", getfield(@__MODULE__, fwd);
          method = false,
          grad = ["input" => "_conv$(S)d_backward_input(grad, weight, input.shape, $_CONV_PASS)",
                  "weight" => "_conv$(S)d_backward_weight(grad, input, weight.shape, $_CONV_PASS)",
                  "bias" => "sum(grad, $ch)"],
          doc = "$(S)-d cross-correlation of an $dims input with an $wdims weight plus an optional bias; " *
                "stride and dilation are $sizes zeros.")
    defop("_conv$(S)d_backward_input(grad_output: Tensor, weight: Tensor, input_size: Shape, $_CONV_ARGS) -> Tensor",
          getfield(@__MODULE__, bwi); method = false,
          grad = ["grad_output" => "_conv$(S)d(grad, weight, None, $_CONV_PASS)",
                  "weight" => "_conv$(S)d_backward_weight(grad_output, grad, weight.shape, $_CONV_PASS)"],
          doc = "Gradient of _conv$(S)d with respect to its input (a transposed convolution of grad_output).")
    defop("_conv$(S)d_backward_weight(grad_output: Tensor, input: Tensor, weight_size: Shape, $_CONV_ARGS) -> Tensor",
          getfield(@__MODULE__, bww); method = false,
          grad = ["grad_output" => "_conv$(S)d(input, grad, None, $_CONV_PASS)",
                  "input" => "_conv$(S)d_backward_input(grad_output, grad, input.shape, $_CONV_PASS)"],
          doc = "Gradient of _conv$(S)d with respect to its weight (input columns times grad_output).")
end
