# Convolution without im2col for stride 1, undilated, ungrouped convolutions of several input
# channels (the 3x3 convolutions of a ResNet's blocks): one gemm per kernel tap on shifted views of
# the padded channels-first buffer.
#
# In the buffer Xp (C, padded..., m) of `_pad_transfer!`, the window of output position O starts at
# O's position in the padded grid, and its tap t = (kw, kh, ...) is C consecutive values at a fixed
# distance off(t) = C * (linear offset of t in the grid) further on. So for one sample, the C × Q
# matrix starting off(t) values past the sample's start, Q = (the grid's positions up to the last
# output row), holds tap t of every window as its columns (ld = C: a plain contiguous matrix), and
#   forward:        Yq  = Σ_t Wr_tᵀ Xp[off(t) : off(t) + C*Q]     (Cog × Q; Wr_t: tap t's C rows of Wr)
#   input gradient: dXp[off(t) : off(t) + C*Q] += Wr_t Gq          (Gq: Cog × Q, zero off the output)
# Q counts the columns of positions past the output's width (the right padding) too: their results
# are dropped (forward) or their gradients zero (backward); that is (padded width - output width) /
# padded width more work (6% at 32 wide, 3x3), where im2col's copies cost a third of the product.
# The weight gradient keeps im2col: as a sum over taps, each a C × Cog product over Q positions, it
# is slower than one product over K = C * taps.

"Whether the shifted-view path is used where it applies (false: always im2col; for tests and timing)."
const CONV_SHIFT = Ref(true)

"""Whether a convolution takes the shifted-view path: stride 1, undilated, one group, C >= 8 input
channels (with fewer, as in a first layer, the per-tap products are too thin) and Cout <= 16 (im2col's
copies cost most next to a thin product; measured with OpenBLAS, batch 32, 3x3: 16 -> 16 channels at
32x32 8% faster forward, 32 -> 32 at 16x16 3-10% slower)."""
_conv_shift_ok(g::ConvGeom, groups::Int, Cout::Int) =
    CONV_SHIFT[] && groups == 1 && g.C >= 8 && Cout <= 16 && all(==(1), g.s) && all(==(1), g.d)

"Q: the columns of one sample's per-tap matrices, the padded grid up to the last output row."
_shift_cols(g::ConvGeom{S}) where {S} = (P = _padded(g); prod(P[1:S-1]) * g.o[S])

"The offsets (in values) of each tap's matrix from a sample's start in the buffer, in Wr's row order:
C times the tap's linear offset in the padded grid."
_shift_offsets(g::ConvGeom, C::Int) = (grid = LinearIndices(_padded(g));
                                       [C * (grid[t] - 1) for t in CartesianIndices(g.k)])

"""The padded buffer of m samples with room past its end for the last sample's shifted matrices
(scratch slot 5): the taps of the right padding's columns read up to k[1] - 1 positions beyond."""
function _shift_buffer(::Type{T}, g::ConvGeom, Ct::Int, m::Int) where {T}
    n = Ct * prod(_padded(g)) * m
    v = _scratch(T, 5, n + Ct * g.k[1])
    v2 = unsafe_wrap(Array, pointer(v), n + Ct * g.k[1])
    @inbounds for i in n+1:length(v2)   # the overhang: finite values (they reach only dropped columns)
        v2[i] = zero(T)
    end
    unsafe_wrap(Array, pointer(v), (Ct, _padded(g)..., m))
end

"""The weight rows Wr (K × Cout, K = (c, tap)) as one contiguous C × Cout matrix per tap (scratch
slot 6): BLAS reads a contiguous operand faster than tap t's rows of Wr (8% over the 9 products)."""
function _tap_weights(Wr::Matrix{T}, C::Int) where {T}
    K, Cout = size(Wr); nt = K ÷ C
    Wq = _scratch(T, 6, C, Cout, nt)
    @inbounds for t in 1:nt, co in 1:Cout, c in 1:C
        Wq[c, co, t] = Wr[c + (t - 1) * C, co]
    end
    Wq
end
@inline _tap(Wq::Array{T,3}, t::Int) where {T} =
    unsafe_wrap(Array, pointer(Wq, (t - 1) * size(Wq, 1) * size(Wq, 2) + 1), (size(Wq, 1), size(Wq, 2)))

"A C × Q matrix of the buffer, `off` values past the start of sample nn."
@inline _shift_view(Xp::Array{T}, C::Int, Q::Int, nn::Int, off::Int) where {T} =
    unsafe_wrap(Array, pointer(Xp, (nn - 1) * (length(Xp) ÷ size(Xp, ndims(Xp))) + off + 1), (C, Q))

"The forward by shifted views (see the file's head): Y (o..., Cout, N) from dense X and the weight rows Wr."
function _conv_shift_forward!(Y::Array{T}, X::Array{T}, Wr::Matrix{T}, B, g::ConvGeom{S}) where {T,S}
    N = size(X, S + 2); C = g.C; Cout = size(Wr, 2); Q = _shift_cols(g); grid = _padded(g)
    offs = _shift_offsets(g, C); Wq = _tap_weights(Wr, C)
    GC.@preserve X Y Wq _conv_chunks(g, N) do n0, m
        Xp = _pad_transfer!(Val(:pad), _shift_buffer(T, g, C, m), X, g, n0, m)
        Yq = _scratch(T, 2, Cout, Q)
        for nn in 1:m
            for (t, off) in enumerate(offs)
                _pgemm!('T', 'N', one(T), _tap(Wq, t), _shift_view(Xp, C, Q, nn, off),
                        t == 1 ? zero(T) : one(T), Yq)
            end
            _grid_transfer!(Val(:out), Y, Yq, B, 0, n0 + nn, 0, grid)
        end
    end
    Y
end

"The input gradient by shifted views: DX (n..., C, N) from dense GY and the weight rows Wr."
function _conv_shift_backward_input!(DX::Array{T}, GY::Array{T}, Wr::Matrix{T}, g::ConvGeom{S}) where {T,S}
    N = size(DX, S + 2); C = g.C; Cout = size(Wr, 2); Q = _shift_cols(g); grid = _padded(g)
    offs = _shift_offsets(g, C); Wq = _tap_weights(Wr, C)
    GC.@preserve DX GY Wq _conv_chunks(g, N) do n0, m
        Dp = fill!(_shift_buffer(T, g, C, m), zero(T))
        Gq = _scratch(T, 2, Cout, Q)
        fill!(Gq, zero(T))   # the columns past the output's width stay zero
        for nn in 1:m
            _grid_transfer!(Val(:grid), GY, Gq, nothing, 0, n0 + nn, 0, grid)
            for (t, off) in enumerate(offs)
                _pgemm!('N', 'N', one(T), _tap(Wq, t), Gq, one(T), _shift_view(Dp, C, Q, nn, off))
            end
        end
        _pad_transfer!(Val(:unpad), Dp, DX, g, n0, m)
    end
    DX
end
