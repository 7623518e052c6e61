# The 2-d convolution kernels of julia/src/ops/nn/conv*.jl by each of their three paths (channels-first
# im2col, shifted views, planar im2col; switched with JTensor.CONV_SHIFT / CONV_PLANAR) against the
# definition evaluated directly: forward, input gradient and weight gradient, Float64 and Float32,
# strides, asymmetric padding, dilation, odd sizes and batches split across threads (run with
# --threads=2 for that). The Python tests (tests/test_nn_conv_paths.py) check the same against torch.
# Standalone:
#   julia --startup-file=no --threads=2 -e 'push!(LOAD_PATH, "julia"); using JTensor, Test; include("julia/test/test_conv_paths.jl")'

using Test, Random, LinearAlgebra
using JTensor
const J = JTensor

"Direct cross-correlation of X (W, H, C, N) with Wt (kW, kH, C, Cout); stride, leading padding and
dilation per (width, height); `o` the output's (width, height)."
function direct_conv(X, Wt, s, p, d, o)
    A, B, C, N = size(X); ka, kb, _, Co = size(Wt)
    Y = zeros(Float64, o[1], o[2], Co, N)
    for n in 1:N, co in 1:Co, ob in 1:o[2], oa in 1:o[1], c in 1:C, j in 1:kb, i in 1:ka
        x = (oa - 1) * s[1] + (i - 1) * d[1] - p[1] + 1; y = (ob - 1) * s[2] + (j - 1) * d[2] - p[2] + 1
        (1 <= x <= A && 1 <= y <= B) || continue
        Y[oa, ob, co, n] += X[x, y, c, n] * Wt[i, j, c, co]
    end
    Y
end

# (width, height, C, N, kW, kH, Cout, stride (h, w), padding (top, bottom, left, right), dilation (h, w))
const CASES = [
    (9, 7, 3, 3, 3, 3, 5, (1, 1), (1, 1, 1, 1), (1, 1)),     # few channels: planar
    (8, 8, 16, 4, 3, 3, 16, (1, 1), (1, 1, 1, 1), (1, 1)),   # shifted views
    (7, 6, 9, 3, 3, 2, 4, (1, 1), (0, 2, 1, 0), (1, 1)),     # shifted views, asymmetric padding and kernel
    (9, 9, 12, 2, 3, 3, 16, (1, 1), (2, 2, 2, 2), (2, 2)),   # dilated: channels-first
    (8, 8, 16, 5, 3, 3, 32, (2, 2), (1, 1, 1, 1), (1, 1)),   # strided: channels-first
    (8, 7, 16, 3, 1, 1, 32, (2, 2), (0, 0, 0, 0), (1, 1)),   # 1x1 strided: planar
    (11, 10, 3, 2, 3, 3, 7, (3, 2), (2, 1, 0, 2), (2, 1)),   # planar with stride, dilation, padding
    (6, 5, 2, 2, 2, 3, 3, (1, 1), (3, 3, 2, 2), (1, 1)),     # padding larger than the kernel
    (32, 32, 16, 9, 3, 3, 16, (1, 1), (1, 1, 1, 1), (1, 1)), # a batch split across threads
]

@testset "conv2d paths" begin
    rng = MersenneTwister(7)
    for (w, h, C, N, kw, kh, Co, s, pad, dil) in CASES, T in (Float64, Float32)
        X = randn(rng, T, w, h, C, N); Wt = randn(rng, T, kw, kh, C, Co)
        args = ([s...], [pad...], [dil...], 1)
        sj = (s[2], s[1]); pj = (pad[3], pad[1]); dj = (dil[2], dil[1])
        Yref = nothing
        for (shift, planar) in ((false, false), (true, false), (false, true), (true, true))
            J.CONV_SHIFT[] = shift; J.CONV_PLANAR[] = planar
            try
                Y = J._conv2d(X, Wt, nothing, args...)
                Yref === nothing && (Yref = direct_conv(Float64.(X), Float64.(Wt), sj, pj, dj, size(Y)[1:2]))
                tol = T == Float64 ? 1e-10 : 1e-3
                @test size(Y) == size(Yref) && maximum(abs.(Y .- Yref)) < tol * max(1, maximum(abs.(Yref)))
                G = randn(MersenneTwister(1), T, size(Y)...)
                DX = J._conv2d_backward_input(G, Wt, size(X), args...)
                DW = J._conv2d_backward_weight(G, X, size(Wt), args...)
                # adjoints: <G, conv(X, W)> = <DX, X> = <DW, W>, conv bilinear
                ref = dot(Float64.(G), Yref)
                @test abs(dot(Float64.(DX), Float64.(X)) - ref) < tol * max(1, abs(ref)) * 10
                @test abs(dot(Float64.(DW), Float64.(Wt)) - ref) < tol * max(1, abs(ref)) * 10
                # and each gradient against the direct conv of a unit perturbation, at a few entries
                for i in (1, length(X) ÷ 2, length(X))
                    E = zeros(Float64, size(X)); E[i] = 1
                    @test abs(DX[i] - dot(Float64.(G), direct_conv(E, Float64.(Wt), sj, pj, dj, size(Y)[1:2]))) < tol * 10
                end
                for i in (1, length(Wt))
                    E = zeros(Float64, size(Wt)); E[i] = 1
                    @test abs(DW[i] - dot(Float64.(G), direct_conv(Float64.(X), E, sj, pj, dj, size(Y)[1:2]))) <
                          tol * 10 * max(1, sqrt(length(G)))
                end
            finally
                J.CONV_SHIFT[] = true; J.CONV_PLANAR[] = true
            end
        end
    end
end
