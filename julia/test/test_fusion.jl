# The fusion engine (src/fusion.jl): kernels composed from registry map ops against the same ops
# run one by one through `JTensor.call`. Standalone:
#   julia --startup-file=no -e 'push!(LOAD_PATH, "julia"); using JTensor, Test; include("julia/test/test_fusion.jl")'

using Test
using JTensor
using JTensor: Strided, fused_kernel, fused_apply, fused_kernel_source, FusedNode

const jcall = JTensor.call

@testset "fusion" begin

@testset "a chain equals its ops run one by one" begin
    id = fused_kernel(["float32", "float32"],
                      [("mul", "float32", "float32", (:x1, :x2), ()),
                       ("exp", "float32", "float32", (:t1,), ()),
                       ("add", "float32", "float32", (:t2, 2.0), (1,))])
    a, b = randn(Float32, 7, 5), randn(Float32, 7, 5)
    @test fused_apply(id, Float32, a, b) == jcall("add", jcall("exp", jcall("mul", a, b)), 2.0, 1)
    # broadcasting (a row against the matrix) and a strided operand
    r = randn(Float32, 1, 5)
    @test fused_apply(id, Float32, a, r) == jcall("add", jcall("exp", jcall("mul", a, r)), 2.0, 1)
    P = permutedims(b)
    bt = Strided{Float32,2}(pointer(P), (7, 5), (5, 1), P)
    @test fused_apply(id, Float32, a, bt) == jcall("add", jcall("exp", jcall("mul", a, b)), 2.0, 1)
end

@testset "cache: one kernel per spec" begin
    spec = """(["float64"], [("sin", "float64", "float64", (:x1,), ()), ("neg", "float64", "float64", (:t1,), ())])"""
    @test fused_kernel(spec) == fused_kernel(spec)
    @test fused_kernel(spec) != fused_kernel(replace(spec, "sin" => "cos"))
    @test occursin("k_sin(x1)", fused_kernel_source(fused_kernel(spec)))
end

@testset "each node rounds to its result dtype, as eager" begin
    # float16 computes in Float32 and rounds after every node
    id = fused_kernel(["float16"], [("exp", "float16", "float16", (:x1,), ()),
                                    ("mul", "float16", "float16", (:t1, 1.001), ())])
    h = Float16.(range(-3, 3, length = 50))
    @test fused_apply(id, Float16, h) == jcall("mul", jcall("exp", h), 1.001)
    # int8 wraps at the first node before the float one
    id = fused_kernel(["int8", "float32"], [("add", "int8", "int8", (:x1, :x1), (1,)),
                                            ("mul", "float32", "float32", (:t1, :x2), ())])
    i8, f = Int8[100, -128, 7], Float32[1.5, 2, 3]
    @test fused_apply(id, Float32, i8, f) == jcall("mul", jcall("add", i8, i8, 1), f)
end

@testset "threads and large arrays" begin
    id = fused_kernel(["float32"], [("tanh", "float32", "float32", (:x1,), ()),
                                    ("sub", "float32", "float32", (:t1, :x1), (1,))])
    x = randn(Float32, 1 << 19)
    @test fused_apply(id, Float32, x) == jcall("sub", jcall("tanh", x), x, 1)
end

@testset "refused specs" begin
    @test_throws ArgumentError fused_kernel(["float32"], [("sum", "float32", "float32", (:x1,), ())])
    @test_throws ArgumentError fused_kernel(["float32"], [("exp", "float32", "float32", (:t3,), ())])
    @test_throws ArgumentError fused_kernel("""(["float32"], [(run(`ls`), "float32", "float32", (:x1,), ())])""")
    @test_throws ArgumentError JTensor._fused(10^6, zeros(Float32, 2))
end

end
