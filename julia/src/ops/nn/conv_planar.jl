# Planar im2col for 2-d convolutions of one group: per sample, the columns matrix in the input's
# own (NCHW) layout, colT (P × K), P = OW*OH output positions, K = (c, kw, kh) in the order of the
# weight rows Wr. Column k is input plane c shifted by tap (kw, kh): whole runs of an input row
# (contiguous when the stride is 1), zeros where the tap falls in the padding. So no channels-first
# padded buffer and no transposes: a sample's output (P × Cout) and output gradient are already
# matrices of the (o..., Cout, N) arrays, and
#   forward:         Y_n  = colT Wr          (P × Cout, written in place in the output)
#   weight gradient: Dr  += colTᵀ GY_n
#   input gradient:  dcolT = GY_n Wrᵀ, added back through the same runs into DX (col2im).
# It pays where the copies and transposes of the channels-first path outweigh its somewhat faster
# products (OpenBLAS): for few input channels (a first layer: 3 channels, so the channels-first
# runs are 3 values long) and 1x1 kernels (`_planar_ok`).

"Whether the planar path is used where it applies (false: the channels-first im2col; for tests and timing)."
const CONV_PLANAR = Ref(true)

"""Whether a 2-d convolution of one group takes the planar path, forward and backward: few input
channels or a 1x1 kernel. (Measured with OpenBLAS, batch 32, CPU time: 3 -> 16 channels 3x3 at 32x32
1.4-1.8x faster in each of the three products, 1x1 stride 2 16 -> 32 1.2-2.5x; 3x3 with 16 or 32
input channels 1.1-1.4x slower in both gradients, where the channels-first path stays.)"""
_planar_ok(g::ConvGeom{S}, groups::Int) where {S} =
    CONV_PLANAR[] && S == 2 && groups == 1 && (g.C < 8 || prod(g.k) == 1)

"""The output columns ow (lo:hi) whose tap at input offset `off` (tap position times dilation minus
the leading padding, 0-based) falls inside an input row of length n, with stride s."""
@inline function _planar_span(off::Int, s::Int, n::Int, on::Int)
    lo = max(1, cld(-off, s) + 1); hi = min(on, fld(n - 1 - off, s) + 1)
    lo, hi
end

"""Move between colT (P × K) of sample `n` and the input X (W, H, C, N): `Val(:gather)` fills colT
(zeros in the padding), `Val(:scatter)` adds colT into X (the adjoint)."""
function _planar_transfer!(::Val{D}, colT::Matrix{T}, X::Array{T,4}, g::ConvGeom{2}, n::Int) where {D,T}
    W, H, C = size(X, 1), size(X, 2), size(X, 3)
    OW, OH = g.o; sw, sh = g.s; P = OW * OH
    k = 0
    @inbounds for kh in 1:g.k[2], kw in 1:g.k[1], c in 1:C
        k += 1
        offw = (kw - 1) * g.d[1] - g.p[1]; offh = (kh - 1) * g.d[2] - g.p[2]
        lo, hi = _planar_span(offw, sw, W, OW)
        x0 = (c - 1 + (n - 1) * C) * W * H
        q0 = (k - 1) * P
        for oh in 1:OH
            ih = (oh - 1) * sh + offh + 1
            q = q0 + (oh - 1) * OW
            if !(1 <= ih <= H) || lo > hi
                if D === :gather
                    @simd_short for ow in 1:OW
                        colT[q + ow] = zero(T)
                    end
                end
                continue
            end
            xr = x0 + (ih - 1) * W + offw + 1   # X index of ow = 1's tap (may be outside the row)
            if D === :gather
                for ow in 1:lo-1
                    colT[q + ow] = zero(T)
                end
                for ow in hi+1:OW
                    colT[q + ow] = zero(T)
                end
                if sw == 1
                    @simd_short for ow in lo:hi
                        colT[q + ow] = X[xr + ow - 1]
                    end
                else
                    @scalar for ow in lo:hi
                        colT[q + ow] = X[xr + (ow - 1) * sw]
                    end
                end
            else
                if sw == 1
                    @simd_short for ow in lo:hi
                        X[xr + ow - 1] += colT[q + ow]
                    end
                else
                    @scalar for ow in lo:hi
                        X[xr + (ow - 1) * sw] += colT[q + ow]
                    end
                end
            end
        end
    end
    colT
end

"Sample n's (positions × channels) matrix of an (o..., C, N) array."
@inline _sample_matrix(A::Array{T}, n::Int) where {T} =
    (P = length(A) ÷ (size(A, ndims(A) - 1) * size(A, ndims(A)));
     unsafe_wrap(Array, pointer(A, (n - 1) * P * size(A, ndims(A) - 1) + 1), (P, size(A, ndims(A) - 1))))

"Forward: Y (OW, OH, Cout, N) = conv of X with the weight rows Wr (K × Cout), plus the bias."
function _planar_forward!(Y::Array{T,4}, X::Array{T,4}, Wr::Matrix{T}, B, g::ConvGeom{2}) where {T}
    N = size(X, 4); K = size(Wr, 1); P = prod(g.o)
    GC.@preserve X Y Wr _conv_chunks(g, N) do n0, m
        colT = _scratch(T, 1, P, K)
        for n in n0+1:n0+m
            _planar_transfer!(Val(:gather), colT, X, g, n)
            Yn = _sample_matrix(Y, n)
            _pgemm!('N', 'N', one(T), colT, Wr, zero(T), Yn)
            if B !== nothing
                @inbounds for j in 1:size(Yn, 2)
                    b = B[j]
                    @simd_short for p in 1:P
                        Yn[p, j] += b
                    end
                end
            end
        end
    end
    Y
end

"Weight gradient as K × Cout rows (per-thread partial sums in `Drs`, added into Drs[1])."
function _planar_backward_weight!(Drs::Vector{Matrix{T}}, GY::Array{T,4}, X::Array{T,4}, g::ConvGeom{2}) where {T}
    N = size(X, 4); K = size(Drs[1], 1); P = prod(g.o)
    GC.@preserve X GY _conv_chunks(g, N) do n0, m
        Dr = Drs[Threads.threadid()]
        colT = _scratch(T, 1, P, K)
        for n in n0+1:n0+m
            _planar_transfer!(Val(:gather), colT, X, g, n)
            _pgemm!('T', 'N', one(T), colT, _sample_matrix(GY, n), one(T), Dr)
        end
    end
    Drs
end

"Input gradient: DX (W, H, C, N), zeroed here, from GY and the weight rows Wr."
function _planar_backward_input!(DX::Array{T,4}, GY::Array{T,4}, Wr::Matrix{T}, g::ConvGeom{2}) where {T}
    N = size(DX, 4); K = size(Wr, 1); P = prod(g.o)
    GC.@preserve DX GY Wr _conv_chunks(g, N) do n0, m
        dcolT = _scratch(T, 1, P, K)
        for n in n0+1:n0+m
            Xn = _sample_matrix(DX, n)
            fill!(Xn, zero(T))
            _pgemm!('N', 'T', one(T), _sample_matrix(GY, n), Wr, zero(T), dcolT)
            _planar_transfer!(Val(:scatter), dcolT, DX, g, n)
        end
    end
    DX
end
