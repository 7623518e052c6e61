# Meta shape functions of the linalg, nn, einsum and fft ops: each op runs through `JTensor.call`
# on ordinary Julia arrays (Julia dimension order) and on the same arguments with every array
# replaced by a data-less `MetaArray` of its size and element type; the meta result must have the
# CPU result's size and element type (element by element for multi-result ops), and invalid shapes
# and dtypes must raise the same exception types on both. Standalone:
#   julia --startup-file=no --project=julia -e 'using Test, JTensor; include("julia/test/test_meta_ops.jl")'

using Test
using JTensor
using JTensor: MetaArray, DeviceNotImplemented, DTypeError
using LinearAlgebra
using Random

"An argument passed unchanged to both calls (a CPU tensor whose values a meta call still reads)."
struct Keep
    x::Any
end

cpu_arg(a::Keep) = a.x
cpu_arg(a) = a
meta_arg(a::Keep) = a.x
meta_arg(a::AbstractArray{<:Number}) = MetaArray{eltype(a)}(size(a))
meta_arg(a::AbstractVector{Any}) = MetaArray[meta_arg(x) for x in a]     # a tensor list
meta_arg(a) = a

"Whether meta result `m` has the size and element type of CPU result `c` (tuples element by element)."
same_meta(c::Tuple, m::Tuple) = length(c) == length(m) && all(same_meta(x, y) for (x, y) in zip(c, m))
same_meta(c, m::MetaArray) = size(c) == size(m) && eltype(c) === eltype(m)
same_meta(c, m) = false

const TESTED = Set{String}()

"Run op `name` on `args` and on their meta versions; test the results agree in size and eltype."
function check(name, args...)
    push!(TESTED, name)
    c = JTensor.call(name, map(cpu_arg, args)...)
    m = JTensor.call(name, map(meta_arg, args)...)
    ok = same_meta(c, m)
    ok || @error "meta result differs" name cpu = (c isa Tuple ? map(x -> (size(x), eltype(x)), c) : (size(c), eltype(c))) meta = m
    @test ok
end

"Both the CPU and the meta call of `name` throw an exception of type E."
function check_throws(E, name, args...)
    @test_throws E JTensor.call(name, map(cpu_arg, args)...)
    @test_throws E JTensor.call(name, map(meta_arg, args)...)
end

"A batch of `n`×`n` Hermitian positive-definite matrices (batch dims `b`) of type T."
function spd(T, n, b...)
    A = Array{T}(undef, n, n, b...)
    for J in CartesianIndices(b)
        X = rand(T, n, n)
        A[:, :, J] = X' * X + n * Matrix{T}(LinearAlgebra.I, n, n)
    end
    A
end
rsym(T, n, b...) = (A = rand(T, n, n, b...); for J in CartesianIndices(b); A[:, :, J] = A[:, :, J] + A[:, :, J]'; end; A)

Random.seed!(7)

@testset "meta shape functions: linalg, nn, einsum, fft" begin

@testset "products" begin
    for T in (Float32, Float64, ComplexF64, Int64), name in ("matmul", "linalg.matmul")
        check(name, rand(T, 4, 3), rand(T, 5, 4))
        check(name, rand(T, 4), rand(T, 5, 4))
        check(name, rand(T, 4, 3), rand(T, 4))
        check(name, rand(T, 4), rand(T, 4))
        check(name, rand(T, 4, 3, 2), rand(T, 5, 4))
        check(name, rand(T, 4, 3, 1, 6), rand(T, 5, 4, 2, 1))
        check(name, rand(T, 4), rand(T, 5, 4, 2))
    end
    check("matmul", rand(Float32, 4, 3), rand(Float64, 5, 4))
    check("matmul", rand(Int8, 4, 3), rand(UInt8, 5, 4))
    check("matmul", rand(Bool, 4, 3), rand(Bool, 5, 4))
    for T in (Float32, Float64, ComplexF64, Int64)
        check("mm", rand(T, 4, 3), rand(T, 5, 4))
        check("bmm", rand(T, 4, 3, 2), rand(T, 5, 4, 2))
        check("dot", rand(T, 4), rand(T, 4))
        check("outer", rand(T, 3), rand(T, 4))
        check("linalg.outer", rand(T, 3), rand(T, 4))
        check("kron", rand(T, 2, 3), rand(T, 4))
        check("kron", rand(T, 2, 3, 2), rand(T, 3, 4))
        check("trace", rand(T, 3, 4))
        check("linalg.trace", rand(T, 3, 4, 2), 0, nothing)
        check("linalg.trace", rand(T, 3, 4, 2), -1, nothing)
        check("linalg.diagonal", rand(T, 4, 3, 2), 0, 2, 1)
        check("linalg.diagonal", rand(T, 4, 3, 2), 2, 2, 1)
        check("linalg.diagonal", rand(T, 4, 3, 2), -1, 3, 1)
        check("linalg.matrix_transpose", rand(T, 4, 3, 2))
        for name in ("cross", "linalg.cross")
            check(name, rand(T, 3, 4), rand(T, 3, 1), 1)
            check(name, rand(T, 2, 3), rand(T, 1, 3), 2)
        end
        for name in ("vecdot", "linalg.vecdot")
            check(name, rand(T, 3, 4), rand(T, 3, 4), 1)
            check(name, rand(T, 3, 4, 2), rand(T, 3, 1), 2)
            check(name, rand(T, 5), rand(T, 5), 1)
        end
        for name in ("matrix_power", "linalg.matrix_power")
            check(name, rand(T, 3, 3, 2), 2)
            check(name, rand(T, 3, 3), 0)
        end
        check("linalg.multi_dot", Any[rand(T, 3), rand(T, 4, 3), rand(T, 4)])
        check("linalg.multi_dot", Any[rand(T, 3, 2), rand(T, 4, 3), rand(T, 5, 4)])
        check("linalg.multi_dot", Any[rand(T, 3, 2), rand(T, 3)])
    end
    check("trace", rand(Int32, 3, 3))
    check("trace", rand(Bool, 3, 3))
    check("linalg.trace", rand(Int32, 3, 3), 0, Float64)
    check("cross", rand(Float32, 3), rand(Float64, 3), 1)
    check("outer", rand(Int8, 3), rand(UInt8, 4))
    check("kron", rand(Int8, 3), rand(UInt8, 2))
    check("linalg.matrix_power", spd(Float64, 3, 2), -2)
    check("linalg.multi_dot", Any[rand(Float32, 3, 2), rand(Float64, 4, 3)])
    for T in (Float32, Int64), name in ("tensordot", "linalg.tensordot")
        check(name, rand(T, 3, 4, 5), rand(T, 6, 3, 4), Keep(fill(2)))
        check(name, rand(T, 3, 4, 5), rand(T, 6, 3, 4), Keep([1 0; 2 1]))
        check(name, rand(T, 3, 4), rand(T, 2), Keep(fill(0)))
    end
end

@testset "decompositions and solvers" begin
    for T in (Float32, Float64, ComplexF64), b in ((), (2,), (2, 3))
        A = rand(T, 3, 3, b...); S = spd(T, 3, b...); H = rsym(T, 3, b...); R = rand(T, 4, 3, b...)
        for name in ("linalg.inv", "inverse", "linalg.det", "det", "linalg.slogdet", "slogdet")
            check(name, S)
        end
        T <: Real && check("logdet", S)
        check("linalg.cholesky", S, false)
        check("linalg.cholesky", S, true)
        for mode in ("reduced", "complete", "r")
            check("linalg.qr", R, mode)
            check("linalg.qr", A, mode)
        end
        for full in (true, false)
            check("linalg.svd", R, full)
            check("linalg.svd", permutedims(R, (2, 1, (3:ndims(R))...)), full)
        end
        check("linalg.svdvals", R)
        for u in ("L", "U")
            check("linalg.eigh", H, u)
            check("linalg.eigvalsh", H, u)
        end
        check("linalg.eig", A)
        check("linalg.eigvals", A)
        check("linalg.pinv", R, nothing, nothing, false)
        check("linalg.pinv", H, 1e-3, nothing, true)
        check("linalg.matrix_rank", R, nothing, nothing, false)
        check("linalg.matrix_rank", H, nothing, 1e-5, true)
        check("linalg.solve", S, rand(T, 2, 3, b...), true)
        check("linalg.solve", S, rand(T, 3, 2, b...), false)
        check("linalg.solve", S, rand(T, 3, b...), true)
        check("linalg.solve", S, rand(T, 3), true)
        for p in ("2", "-2", "fro", "nuc", "1", "-1", "inf", "-inf")
            check("linalg._cond", S, p)
        end
        check("linalg._cond", R, "2")
    end
    check("linalg.solve", spd(Float64, 3, 2), rand(Float64, 2, 3, 1, 4), true)   # batch dims broadcast
    check("linalg.solve", spd(Float32, 3), rand(Float64, 3), true)
    check("linalg.eig", rand(Float16, 3, 3))
    check("linalg.eigvals", rand(Float32, 3, 3, 2))
    check("linalg.det", spd(Float16, 3))
end

@testset "norms" begin
    for T in (Float32, Float64, ComplexF64)
        x = rand(T, 4, 3, 2)
        check("linalg.vector_norm", x, 2.0, nothing, false, nothing)
        check("linalg.vector_norm", x, 1.0, (1,), true, nothing)
        check("linalg.vector_norm", x, Inf, (1, 3), false, nothing)
        check("linalg.vector_norm", x, 0.0, (), false, nothing)
        check("linalg.vector_norm", fill(T(2)), 3.0, nothing, false, nothing)
        check("linalg.vector_norm", rand(T, 5), 2.0, (1,), true, T <: Complex ? ComplexF64 : Float64)
        for ord in ("fro", "nuc", "inf", "-inf", "1", "-1", "2", "-2"), keep in (false, true)
            check("linalg._matrix_norm", x, ord, (2, 1), keep, nothing)
            check("linalg._matrix_norm", x, ord, (1, 3), keep, nothing)
        end
    end
    check("linalg.vector_norm", rand(Int64, 3, 2), 2.0, nothing, false, Float32)
    check("linalg._matrix_norm", rand(Int64, 3, 2), "fro", (2, 1), false, Float64)
end

@testset "einsum" begin
    for T in (Float32, Float64, ComplexF64, Int64)
        check("einsum", "ij,jk->ik", Any[rand(T, 3, 2), rand(T, 4, 3)])
        check("einsum", "ij,jk", Any[rand(T, 3, 2), rand(T, 4, 3)])
        check("einsum", "bij,bjk->bik", Any[rand(T, 3, 2, 5), rand(T, 4, 3, 5)])
        check("einsum", "ii->i", Any[rand(T, 3, 3)])
        check("einsum", "ii", Any[rand(T, 3, 3)])
        check("einsum", "...ij->...ji", Any[rand(T, 3, 2, 4, 5)])
        check("einsum", "i,j->ij", Any[rand(T, 3), rand(T, 4)])
        check("einsum", "bi,i->b", Any[rand(T, 3, 1), rand(T, 3)])
        check("einsum", "i,i->", Any[rand(T, 3), rand(T, 3)])
    end
    check("einsum", "ij,jk->ik", Any[rand(Int8, 3, 2), rand(UInt8, 4, 3)])
end

@testset "fft" begin
    for T in (ComplexF32, ComplexF64)
        check("_fft_c2c", rand(T, 4, 3), 1, false)
        check("_fft_c2c", rand(T, 4, 3, 2), 3, true)
        check("_fft_c2c", rand(T, 7), 1, false)
    end
    check_throws(DTypeError, "_fft_c2c", rand(Float64, 4), 1, false)
end

@testset "convolution and pooling" begin
    for T in (Float32, Float64)
        for (x, w, b, st, pad, dil, g) in (
                (rand(T, 8, 7, 4, 2), rand(T, 3, 3, 2, 6), rand(T, 6), (1, 2), (1, 1, 0, 2), (1, 1), 2),
                (rand(T, 6, 6, 3, 1), rand(T, 2, 3, 3, 4), nothing, (2, 1), (0, 0, 0, 0), (2, 1), 1))
            check("_conv2d", x, w, b, st, pad, dil, g)
            y = JTensor.call("_conv2d", x, w, b, st, pad, dil, g)
            gy = rand(T, size(y))
            check("_conv2d_backward_input", gy, w, size(x), st, pad, dil, g)
            check("_conv2d_backward_weight", gy, x, size(w), st, pad, dil, g)
        end
        for x in (rand(T, 8, 7, 3, 2), rand(T, 7, 6, 3)), ceil_mode in (false, true)
            check("_max_pool2d", x, (2, 2), (2, 2), (0, 0), (1, 1), ceil_mode)
            check("_max_pool2d", x, (3, 2), (1, 2), (1, 1), (1, 2), ceil_mode)
            v, idx = JTensor.call("_max_pool2d", x, (2, 2), (2, 2), (0, 0), (1, 1), ceil_mode)
            check("_pool2d_scatter", v, idx, size(x))
            check("_pool2d_gather", x, idx)
            for (cip, dv) in ((true, nothing), (false, nothing), (true, 3))
                check("_avg_pool2d", x, (3, 2), (2, 1), (1, 0), ceil_mode, cip, dv)
                y = JTensor.call("_avg_pool2d", x, (3, 2), (2, 1), (1, 0), ceil_mode, cip, dv)
                check("_avg_pool2d_backward", rand(T, size(y)), size(x), (3, 2), (2, 1), (1, 0), ceil_mode, cip, dv)
            end
            check("_adaptive_avg_pool2d", x, (3, 4))
            check("_adaptive_avg_pool2d_backward", rand(T, 4, 3, size(x)[3:end]...), size(x))
        end
    end
    for T in (Float32, Float64)   # the 3-d forms of the same kernels, and fractional max pooling
        x, w = rand(T, 6, 5, 4, 4, 2), rand(T, 2, 3, 2, 2, 6)
        check("_conv3d", x, w, rand(T, 6), (1, 2, 1), (1, 0, 1, 1, 0, 2), (1, 1, 2), 2)
        y = JTensor.call("_conv3d", x, w, nothing, (1, 1, 1), (0, 0, 0, 0, 0, 0), (1, 1, 1), 2)
        check("_conv3d_backward_input", rand(T, size(y)), w, size(x), (1, 1, 1), (0, 0, 0, 0, 0, 0), (1, 1, 1), 2)
        check("_conv3d_backward_weight", rand(T, size(y)), x, size(w), (1, 1, 1), (0, 0, 0, 0, 0, 0), (1, 1, 1), 2)
        for x in (rand(T, 7, 6, 5, 3, 2), rand(T, 7, 6, 5, 3)), ceil_mode in (false, true)
            check("_max_pool3d", x, (2, 3, 2), (1, 2, 2), (1, 1, 0), (1, 1, 2), ceil_mode)
            check("_avg_pool3d", x, (2, 3, 2), (2, 1, 2), (1, 1, 0), ceil_mode, false, nothing)
            y = JTensor.call("_avg_pool3d", x, (2, 3, 2), (2, 1, 2), (1, 1, 0), ceil_mode, true, nothing)
            check("_avg_pool3d_backward", rand(T, size(y)), size(x), (2, 3, 2), (2, 1, 2), (1, 1, 0), ceil_mode, true, nothing)
            check("_adaptive_avg_pool3d", x, (2, 3, 4))
            check("_adaptive_avg_pool3d_backward", rand(T, 4, 3, 2, size(x)[4:end]...), size(x))
        end
        check("_fractional_max_pool2d", rand(T, 8, 7, 3, 2), (2, 3), (4, 3), rand(T, 2, 3, 2))
        check("_fractional_max_pool3d", rand(T, 8, 7, 6, 3), (2, 2, 3), (3, 4, 3), rand(T, 3, 3, 1))
    end
    check_throws(DimensionMismatch, "_fractional_max_pool2d", rand(Float32, 8, 7, 3, 2), (2, 2), (4, 3), rand(Float32, 3, 3, 2))
    check_throws(ArgumentError, "_conv3d", rand(Float32, 6, 5, 4, 2), rand(Float32, 2, 2, 2, 2, 3), nothing,
                 (1, 1, 1), (0, 0, 0, 0, 0, 0), (1, 1, 1), 1)   # a 4-d input
    x, w = rand(Float32, 8, 7, 4, 2), rand(Float32, 3, 3, 2, 6)
    check_throws(ArgumentError, "_conv2d", x, w, nothing, (1, 1), (0, 0, 0, 0), (1, 1), 1)   # 4 channels, weight wants 2
    check_throws(DTypeError, "_conv2d", x, rand(Float64, 3, 3, 4, 6), nothing, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    check_throws(ArgumentError, "_max_pool2d", rand(Float32, 8, 7), (2, 2), (2, 2), (0, 0), (1, 1), false)
    check_throws(DTypeError, "_avg_pool2d", rand(Int64, 8, 7, 3), (2, 2), (2, 2), (0, 0), false, true, nothing)
    check_throws(DTypeError, "_pool2d_gather", x, rand(Float32, 4, 4, 4, 2))
end

@testset "softmax, standardization" begin
    for T in (Float32, Float64), name in ("softmax", "log_softmax")
        check(name, rand(T, 4, 3, 2), 1, nothing)
        check(name, rand(T, 4, 3, 2), 3, Float64)
        check(name, rand(T, 5), 1, Float32)
    end
    check("softmax", rand(Int64, 3), 1, Float32)
    check_throws(DTypeError, "softmax", rand(Int64, 3), 1, nothing)
    for T in (Float32, Float64), name in ("_softmax_backward", "_log_softmax_backward")
        check(name, rand(T, 4, 3), rand(T, 4, 3), 2)
    end
    check("_softmax_backward", rand(Float32, 4, 3), rand(Float64, 4, 3), 1)
    check_throws(DimensionMismatch, "_softmax_backward", rand(4, 3), rand(3, 4), 1)
    for T in (Float32, Float64), dims in ((1,), (1, 2), (1, 3), (2,))
        x = rand(T, 4, 3, 2)
        check("_standardize", x, dims, 1e-5)
        check("_standardize_backward", rand(T, 4, 3, 2), x, dims, 1e-5)
        check("_standardize_double_backward", rand(T, 4, 3, 2), rand(T, 4, 3, 2), x, dims, 1e-5)
    end
    check_throws(DimensionMismatch, "_standardize_backward", rand(4, 3), rand(3, 4), (1,), 1e-5)
    # the fused norms (Julia order: a Python (N, C, L) input is (L, C, N)) and attention's softmax
    for T in (Float32, Float64)
        x = rand(T, 4, 3, 2)
        check("_layer_norm", x, 1, rand(T, 4), rand(T, 4), 1e-5)
        check("_layer_norm", x, 2, nothing, nothing, 1e-5)
        check("_layer_norm_backward", rand(T, 4, 3, 2), x, 1, rand(T, 4), 1e-5)
        check("_layer_norm_param_grad", rand(T, 4, 3, 2), x, 2, 1e-5, false)
        check("_channel_norm", x, 3, false, rand(T, 3), rand(T, 3), 1e-5)
        check("_channel_norm", rand(T, 4, 4, 2), 2, true, nothing, nothing, 1e-5)
        check("_channel_norm_backward", rand(T, 4, 3, 2), x, 3, true, rand(T, 3), 1e-5)
        check("_channel_norm_param_grad", rand(T, 4, 3, 2), x, 3, false, 1e-5, true)
        check("_channel_norm_stats", x, 3, false)
        check("_attention_softmax", x, 0.5, true)
    end
    check_throws(ArgumentError, "_channel_norm", rand(4, 3, 2), 2, true, nothing, nothing, 1e-5)
    check_throws(DimensionMismatch, "_layer_norm", rand(4, 3), 1, rand(3), nothing, 1e-5)
end

@testset "losses, embedding, linear" begin
    for T in (Float32, Float64)
        cases = ((rand(T, 5, 4), rand(0:4, 4)),                    # Python (4, 5) logits, (4,) targets
                 (rand(T, 3, 3, 5, 2), rand(0:4, 3, 3, 2)),        # Python (2, 5, 3, 3), (2, 3, 3)
                 (rand(T, 5), fill(2)))                            # Python (5,), 0-d target
        for (x, t) in cases, w in (nothing, rand(T, 5)), red in ("none", "mean", "sum")
            check("_nll_loss", x, t, w, -100, red)
            g = red == "none" ? rand(T, size(t)) : fill(T(1))
            check("_nll_loss_backward", g, t, size(x), w, -100, red)
            check("_cross_entropy", x, t, w, -100, 0.1, red)
            check("_cross_entropy_backward", g, x, t, w, -100, 0.1, red)
            check("_cross_entropy_targets", t, size(x), w, -100, 0.1, red, T)
        end
    end
    check_throws(ArgumentError, "_nll_loss", rand(5, 4), rand(0:4, 3), nothing, -100, "mean")
    check_throws(DTypeError, "_nll_loss", rand(5, 4), rand(4), nothing, -100, "mean")
    check_throws(ArgumentError, "_cross_entropy", rand(5, 4), rand(0:4, 4), rand(4), -100, 0.0, "mean")
    for T in (Float32, Float64)
        w = rand(T, 4, 10); idx = rand(0:9, 3, 2)
        check("_embedding", w, idx, -1, false)
        check("_embedding", w, rand(0:9, 5), 2, true)
        check("_embedding_backward", rand(T, 4, 3, 2), idx, 10, -1, false)
        check("_embedding_backward", rand(T, 4, 3, 2), idx, 10, 1, true)
        check("_embedding_backward_adjoint", w, idx, 1, true)
    end
    check_throws(DTypeError, "_embedding", rand(4, 10), rand(3), -1, false)
    for T in (Float32, Float64, ComplexF64)
        check("_linear", rand(T, 3, 5), rand(T, 3, 4), rand(T, 4))
        check("_linear", rand(T, 3, 5, 2), rand(T, 3, 4), nothing)
        check("_linear", rand(T, 3), rand(T, 3, 4), rand(T, 4))
        check("_linear", rand(T, 3, 5), rand(T, 3), nothing)
        check("_linear", rand(T, 3, 5), rand(T, 3), fill(rand(T)))
    end
    check("_linear", rand(Float32, 3, 5), rand(Float32, 3, 4), rand(Float64, 4))
    check("_linear", rand(Float32, 3, 5), rand(Float32, 3, 4), rand(Float32, 4, 5))
    check_throws(DimensionMismatch, "_linear", rand(3, 5), rand(4, 4), nothing)
end

@testset "shape and dtype errors as on the CPU" begin
    check_throws(DimensionMismatch, "matmul", rand(4, 3), rand(5, 3))
    check_throws(ArgumentError, "matmul", fill(1.0), rand(3))
    check_throws(DimensionMismatch, "matmul", rand(4, 3, 2), rand(5, 4, 3))
    check_throws(ArgumentError, "mm", rand(4, 3, 2), rand(5, 4))
    check_throws(ArgumentError, "bmm", rand(4, 3, 2), rand(5, 4, 3))
    check_throws(ArgumentError, "dot", rand(4), rand(5))
    check_throws(DimensionMismatch, "cross", rand(4, 2), rand(4, 2), 1)
    check_throws(DimensionMismatch, "linalg.vecdot", rand(4, 2), rand(3, 2), 1)
    check_throws(ArgumentError, "linalg.inv", rand(3, 4))
    check_throws(DTypeError, "linalg.inv", rand(Int64, 3, 3))
    check_throws(DTypeError, "linalg.matrix_power", rand(Int64, 3, 3), -1)
    check_throws(ArgumentError, "linalg.det", rand(3))
    check_throws(DimensionMismatch, "linalg.solve", spd(Float64, 3), rand(2, 4), true)
    check_throws(ArgumentError, "linalg.qr", rand(3, 3), "full")
    check_throws(ArgumentError, "linalg.eigh", rsym(Float64, 3), "X")
    check_throws(DTypeError, "linalg.vector_norm", rand(Int64, 3), 2.0, nothing, false, nothing)
    check_throws(ArgumentError, "linalg.vector_norm", zeros(0, 3), Inf, (1,), false, nothing)
    check_throws(ArgumentError, "linalg._matrix_norm", rand(3, 3), "3", (2, 1), false, nothing)
    check_throws(ArgumentError, "linalg._cond", rand(3, 4), "fro")
    check_throws(ArgumentError, "linalg.multi_dot", Any[rand(3, 2)])
    check_throws(DimensionMismatch, "linalg.multi_dot", Any[rand(3, 2), rand(4, 4)])
    check_throws(DimensionMismatch, "einsum", "ij,jk->ik", Any[rand(3, 2), rand(4, 2)])
    check_throws(ArgumentError, "einsum", "ij->k", Any[rand(3, 2)])
    check_throws(ArgumentError, "tensordot", rand(3, 4), rand(3, 4), Keep(fill(3)))
end

@testset "what has no meta method" begin
    # an operand on another device: the CPU method, never run on meta arrays
    @test_throws DeviceNotImplemented JTensor.call("matmul", MetaArray{Float64}((4, 3)), rand(5, 4))
    # a tensor list as the bridge passes it (Vector{Any}) dispatches as a Vector{MetaArray}
    @test size(JTensor.call("einsum", "ij->ji", Any[MetaArray{Float64}((3, 2))])) == (2, 3)
    # data-dependent result sizes
    for name in ("nonzero", "unique", "masked_select")
        haskey(JTensor.BY_NAME, name) || continue
        o = JTensor.op(name)
        @test_throws DeviceNotImplemented JTensor.run_kernel(o.kernel, o.name, (MetaArray{Float64}((3,)),))
    end
    # tensordot's dims are values: a meta dims tensor is refused
    @test_throws ArgumentError JTensor.call("tensordot", MetaArray{Float64}((3, 4)), MetaArray{Float64}((4, 3)), MetaArray{Int64}(()))
end

@testset "every op of these files is covered" begin
    files = ("linalg.jl", "nn/", "einsum.jl", "fft.jl")
    mine = String[]
    for o in JTensor.REGISTRY
        o.kind === :fn || continue
        f = string(first(methods(o.kernel)).file)
        any(x -> occursin("ops/" * x, f), files) || continue
        push!(mine, isempty(o.namespace) ? o.name : o.namespace * "." * o.name)
    end
    # _dropout_mask takes no tensor: its device is never meta (creation on meta is Python's).
    missing = setdiff(Set(mine), TESTED, Set(["_dropout_mask"]))
    isempty(missing) || @error "ops without a meta test" missing
    @test isempty(missing)
    @test length(mine) >= 71
end

end
