# Elementwise ops and reductions run through `JTensor.call` on plain Julia arrays (Julia dimension
# order), against Base: a layout-independent check of the kernels the Python tests reach through
# the bridge. Standalone:
#   julia --startup-file=no -e 'push!(LOAD_PATH, "/work/main/julia"); using JTensor, Test; include("julia/test/test_ops.jl")'

using Test
using JTensor
using JTensor: Strided

const jcall = JTensor.call

"A Strided view of the transpose of `M` over the memory of a dense copy (non-unit strides)."
function transposed_view(M::Matrix{T}) where {T}
    P = permutedims(M)                        # holds M' densely
    Strided{T,2}(pointer(P), size(M), (size(M, 2), 1), P)
end

@testset "ops through JTensor.call" begin

@testset "elementwise arithmetic" begin
    A = [1.0 -2.5 3.0; 0.5 4.0 -6.0]
    B = [2.0 0.5 -1.0; 3.0 -0.25 2.0]
    @test jcall("add", A, B, 1) ≈ A .+ B
    @test jcall("add", A, B, 2) ≈ A .+ 2 .* B
    @test jcall("sub", A, B, 1) ≈ A .- B
    @test jcall("mul", A, B) ≈ A .* B
    @test jcall("div", A, B) ≈ A ./ B
    @test jcall("pow", abs.(A), B) ≈ abs.(A) .^ B
    @test jcall("atan2", A, B) ≈ atan.(A, B)
    @test jcall("lerp", A, B, 0.25) ≈ A .+ 0.25 .* (B .- A)
    # broadcasting in Julia order: a length-2 vector runs down the columns
    v = [10.0, 20.0]
    @test jcall("add", A, v, 1) ≈ A .+ v
    @test jcall("mul", 3.0, A) ≈ 3 .* A
    # integers: wrap-around as in C (and NumPy / PyTorch)
    I8 = Int8[100, -100, 127]
    @test jcall("add", I8, I8, Int8(1)) == I8 .+ I8
    @test eltype(jcall("add", I8, I8, Int8(1))) == Int8
    # BUG (registry.jl `call`): the result type promotes over the scalar arguments too (alpha::Int64
    # makes Int8 + Int8 an Int64 array), where its docstring says "of their array arguments".
    @test eltype(jcall("add", I8, I8, 1)) == Int8
    @test jcall("neg", Int8[-128, 5]) == Int8[-128, -5]
end

@testset "Python division semantics" begin
    x = [7, -7, 7, -7, 0]
    y = [2, 2, -2, -2, 3]
    @test jcall("floor_divide", x, y) == fld.(x, y)
    @test jcall("remainder", x, y) == mod.(x, y)
    xf = [5.0, -5.0, 5.0, -5.0, -0.0]
    yf = [3.0, 3.0, -3.0, -3.0, 2.0]
    @test jcall("floor_divide", xf, yf) == floor.(xf ./ yf)
    @test jcall("remainder", xf, yf) ≈ [2.0, 1.0, -1.0, -2.0, 0.0]
    @test all(sign.(jcall("remainder", xf[1:4], yf[1:4])) .== sign.(yf[1:4]))
    @test_throws DivideError jcall("floor_divide", [1, 2], [1, 0])
    # as CPython/NumPy: the quotient of x - fmod(x, y) (floor(1.0 / 0.1) would be 10), inf // y is NaN
    q = jcall("floor_divide", [1.0, Inf, -3.0, 1.0], [0.1, 2.0, Inf, 0.0])
    @test q[1] == 9.0 && isnan(q[2]) && q[3] == -1.0 && q[4] == Inf
    @test jcall("floor_divide", Int8[-128], Int8[-1]) == Int8[-128]   # wraps, as NumPy and PyTorch
    @test signbit(jcall("remainder", [0.0], [-2.0])[1]) && !signbit(jcall("remainder", [-0.0], [2.0])[1])
end

@testset "unary math" begin
    x = collect(range(0.1, 5.0; length = 17))
    for (name, f) in (("exp", exp), ("log", log), ("sqrt", sqrt), ("sin", sin), ("cos", cos),
                      ("tanh", tanh), ("log1p", log1p), ("expm1", expm1), ("atan", atan))
        @test jcall(name, x) ≈ f.(x) rtol = 1e-14
        @test jcall(name, Float32.(x)) ≈ f.(Float32.(x)) rtol = 1e-6
    end
    @test jcall("sigmoid", x) ≈ 1 ./ (1 .+ exp.(-x))
    @test jcall("rsqrt", x) ≈ 1 ./ sqrt.(x)
    @test jcall("reciprocal", x) ≈ 1 ./ x
    @test isnan(jcall("sqrt", [-1.0])[1]) && isnan(jcall("log", [-1.0])[1])   # NaN, no DomainError
    @test jcall("abs", [-1.5, 2.0]) == [1.5, 2.0]
    @test jcall("abs", [3 + 4im]) == [5.0]
    @test jcall("sign", [-2.0, 0.0, 3.0]) == [-1.0, 0.0, 1.0]
    @test jcall("round", [0.5, 1.5, 2.5, -0.5]) == [0.0, 2.0, 2.0, -0.0]   # half to even
    @test jcall("floor", [-1.5, 1.5]) == [-2.0, 1.0]
    @test jcall("relu", [-1.0, 2.0, 0.0]) == [0.0, 2.0, 0.0]
    @test isnan(jcall("relu", [NaN])[1])   # NaN propagates, as torch.relu
end

@testset "comparisons, logic, NaN" begin
    a = [1.0, NaN, 3.0, -0.0]
    b = [1.0, NaN, 2.0, 0.0]
    @test jcall("eq", a, b) == [true, false, false, true]
    @test jcall("ne", a, b) == [false, true, true, false]
    @test jcall("lt", a, b) == (a .< b)
    @test jcall("ge", a, b) == (a .>= b)
    m = jcall("maximum", [1.0, NaN, 3.0], [2.0, 0.0, NaN])
    @test m[1] == 2.0 && isnan(m[2]) && isnan(m[3])
    @test jcall("isnan", a) == isnan.(a)
    @test jcall("logical_and", [0, 1, 2], [1, 1, 0]) == [false, true, false]
    @test jcall("bitwise_xor", Int16[12, 7], Int16[10, 7]) == Int16[6, 0]
    @test jcall("where", [true, false, true], [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]) == [1.0, -2.0, 3.0]
    @test jcall("clamp", [-5.0, 0.5, 5.0], -1.0, 1.0) == [-1.0, 0.5, 1.0]
    # BUG (registry.jl `call`): non-Tensor parameters (isclose's rtol, atol, equal_nan) are passed as
    # broadcast operands converted to the compute type, so `equal_nan & isnan(x)` fails on a Float64.
    @test jcall("isclose", [1.0], [1.0], 1e-5, 1e-8, false) == [true]
    # the kernel itself, its tolerances passed as extra (non-broadcast) arguments as Python does
    jclose(a, b) = JTensor.apply(JTensor.fisclose, promote_type(eltype(a), eltype(b)), Bool, a, b; extra = (1e-5, 1e-8, false))
    @test jclose([1.0, 1.0 + 1e-9, 2.0, 1.0, Inf], [1.0, 1.0, 2.1, Inf, Inf]) == [true, true, false, false, true]
    @test jclose(Int8[-128, 3], Int8[127, 3]) == [false, true]   # no wrap-around in the difference
end

@testset "layout independence" begin
    M = [1.0 2.0 3.0; 4.0 5.0 6.0]
    S = transposed_view(M)                   # the same values as M, column stride 1
    @test S == M && strides(S) != strides(M)
    @test jcall("exp", S) ≈ exp.(M)
    @test jcall("add", S, M, 1) ≈ 2 .* M
    @test jcall("sum", S, (1,), false, nothing) ≈ vec(sum(M; dims = 1))
    @test jcall("amax", S, (2,), true) == maximum(M; dims = 2)
    @test jcall("cumsum", S, 2, nothing) ≈ cumsum(M; dims = 2)
    @test jcall("exp", view(M, :, 1:2:3)) ≈ exp.(M[:, [1, 3]])
end

@testset "reductions" begin
    A = reshape(collect(1.0:24.0), 2, 3, 4) .- 12.5
    @test jcall("sum", A, nothing, false, nothing)[] ≈ sum(A)
    @test jcall("sum", A, (2,), false, nothing) ≈ dropdims(sum(A; dims = 2); dims = 2)
    @test jcall("sum", A, (1, 3), true, nothing) ≈ sum(A; dims = (1, 3))
    @test eltype(jcall("sum", Int8[100, 100, 100], nothing, false, nothing)) == Int64
    @test jcall("sum", Int8[100, 100, 100], nothing, false, nothing)[] == 300
    @test jcall("mean", A, (3,), false, nothing) ≈ dropdims(sum(A; dims = 3) ./ 4; dims = 3)
    @test jcall("prod", [1.5, 2.0, -3.0], nothing, false, nothing)[] ≈ -9.0
    @test jcall("amax", A, (1, 2), false) == dropdims(maximum(A; dims = (1, 2)); dims = (1, 2))
    @test jcall("amin", A, nothing, false)[] == minimum(A)
    @test isnan(jcall("amax", [1.0, NaN, 3.0], nothing, false)[])
    v = [3.0, 7.0, 7.0, -1.0]
    @test jcall("argmax", v, nothing, false)[] == 1    # 0-based, first of ties
    @test jcall("argmin", v, nothing, false)[] == 3
    vals, idx = jcall("max", [1.0 5.0; 4.0 2.0], 2, false)
    @test vals == [5.0, 4.0] && idx == [1, 0]
    @test jcall("var", A, (2,), 1, false) ≈ dropdims(sum(abs2, A .- sum(A; dims = 2) ./ 3; dims = 2) ./ 2; dims = 2)
    @test jcall("std", v, nothing, 0, false)[] ≈ sqrt(sum(abs2, v .- sum(v) / 4) / 4)
    @test jcall("norm", v, 2, nothing, false)[] ≈ sqrt(sum(abs2, v))
    @test jcall("norm", v, Inf, nothing, false)[] == 7.0
    @test jcall("norm", v, 1, nothing, false)[] == sum(abs, v)
    @test jcall("logsumexp", v, (1,), false)[] ≈ log(sum(exp, v))
    @test jcall("logsumexp", [1000.0, 1000.0], (1,), false)[] ≈ 1000 + log(2)   # no overflow
    @test jcall("all", [1, 2, 0], nothing, false)[] == false
    @test jcall("any", [0.0, 0.0, 0.5], nothing, false)[] == true
    @test jcall("cumsum", [1, 2, 3], 1, nothing) == [1, 3, 6]
    @test jcall("cumprod", [1.0, 2.0, 3.0], 1, nothing) == [1.0, 2.0, 6.0]
    # an explicit dtype is kept (the sum wraps as PyTorch's does)
    s32 = jcall("sum", [typemax(Int32), 2], nothing, false, Int32)
    @test eltype(s32) == Int32 && s32[] == typemin(Int32) + 1
    # no dims: the elementwise part only; an empty slice: the reduction's identity
    @test jcall("all", [0.0 2.0], (), false) == [false true]
    @test jcall("norm", [-3.0, 4.0], 1, (), false) == [3.0, 4.0]
    @test all(==(-Inf), jcall("logsumexp", zeros(2, 0, 3), (2,), false))
end

@testset "0-d inputs (dim None, 0 or -1, as PyTorch)" begin
    z = fill(-2.5)
    for (name, args, want) in (("sum", (nothing, false, nothing), -2.5), ("amax", ((), true), -2.5),
                               ("argmax", (1, true), 0), ("logsumexp", ((), false), -2.5),
                               ("norm", (2, nothing, false), 2.5), ("all", (nothing, false), true),
                               ("cumsum", (1, nothing), -2.5))
        r = jcall(name, z, args...)
        @test r isa AbstractArray && ndims(r) == 0 && r[] == want
    end
    @test isnan(jcall("var", z, nothing, 1, false)[])   # one element, correction 1
    v, i = jcall("max", z, 1, false)
    @test ndims(v) == 0 && v[] == -2.5 && i[] == 0
end

@testset "sorting" begin
    v = [3.0, NaN, -1.0, 3.0, 2.0]
    vals, idx = jcall("sort", v, 1, false, true)
    @test vals[1:4] == [-1.0, 2.0, 3.0, 3.0] && isnan(vals[5])   # NaN sorts last
    @test idx == [2, 4, 0, 3, 1]                                  # stable, 0-based
    vals, idx = jcall("sort", v, 1, true, true)
    @test isnan(vals[1]) && vals[2:5] == [3.0, 3.0, 2.0, -1.0] && idx == [1, 0, 3, 4, 2]
    @test jcall("argsort", [2, 1, 3], 1, false, false) == [1, 0, 2]
    @test jcall("argsort", [0.0, -0.0, 0.0, -0.0], 1, false, true) == [0, 1, 2, 3]   # -0.0 == 0.0: stable
    vals, idx = jcall("topk", [5.0, 1.0, 9.0, 3.0], 2, 1, true, true)
    @test vals == [9.0, 5.0] && idx == [2, 0]
    vals, idx = jcall("topk", [5.0, 1.0, 9.0, 3.0], 2, 1, false, true)
    @test vals == [1.0, 3.0] && idx == [1, 3]
end

end

@testset "softmax's short rows (the Float32 kernel) against the definition" begin
    J = JTensor
    # softmax over rows of 1..70 (the short-row Float32 kernel) against the definition, in Float64
    for n in (1, 2, 7, 16, 32, 33, 70)
        x = randn(Float32, n, 9) .* 4
        ref = exp.(Float64.(x) .- maximum(Float64.(x); dims = 1)); ref ./= sum(ref; dims = 1)
        @test isapprox(J._softmax(x, 1, nothing), ref; rtol = 1e-5)
        g = randn(Float32, n, 9); y = Float32.(ref)
        @test isapprox(J._softmax_backward(g, y, 1), y .* (g .- sum(g .* y; dims = 1)); rtol = 1e-4, atol = 1e-6)
    end
    x = fill(-Inf32, 32, 2); x[1:3, 2] .= 1
    y = J._softmax(x, 1, nothing)
    @test all(isnan, y[:, 1]) && isapprox(y[1:3, 2], fill(1f0 / 3, 3)) && all(iszero, y[4:end, 2])
    x = randn(Float32, 32, 2); x[5, 1] = NaN32
    y = J._softmax(x, 1, nothing)
    @test all(isnan, y[:, 1]) && !any(isnan, y[:, 2])
end
