# User element types as dtypes (julia/src/dtypes.jl `register_dtype`): codes after the built-ins,
# names, the registry JSON Python reads, promotion by Julia's promote_type, conversion by the type's
# own `convert`, kernels on arrays of the type, and the refusals. (Python's side, with three user
# types from examples/extending/: tests/test_user_dtypes.py.)

using Test
using JTensor
using JTensor: register_dtype, USER_DTYPES, USER_DTYPE_NAMES, DTYPES, dtype_of, dtype_code, dtype_name,
               is_dtype, promotion_tables, promote_dtype, promote_scalar, registry_json, jconvert, dtype_category,
               REGISTRY_VERSION

"A 16-bit fixed-point number with 8 fraction bits (a user's type: arithmetic and `convert` only)."
struct Q8 <: Real
    raw::Int16
end
Q8(x::Float64) = Q8(round(Int16, x * 256))
Base.Float64(x::Q8) = x.raw / 256
Base.convert(::Type{Q8}, x::Real) = Q8(Float64(x))
Base.convert(::Type{Float64}, x::Q8) = Float64(x)
Base.promote_rule(::Type{Q8}, ::Type{<:Integer}) = Q8
Base.promote_rule(::Type{Q8}, ::Type{Float64}) = Float64
Base.:+(a::Q8, b::Q8) = Q8(a.raw + b.raw)
Base.:*(a::Q8, b::Q8) = Q8(Int16((Int32(a.raw) * b.raw) >> 8))
Base.zero(::Type{Q8}) = Q8(Int16(0))

"An AbstractFloat a user registers: it must leave the built-in categories (promote_type decides)."
primitive type Tiny <: AbstractFloat 16 end

saved = (copy(USER_DTYPES), copy(USER_DTYPE_NAMES))
try
    @testset "register_dtype" begin
        v = REGISTRY_VERSION[]
        n = length(DTYPES) + length(USER_DTYPES)
        code = register_dtype(Q8; name = "q8")
        @test code == n && REGISTRY_VERSION[] > v                 # the next code; Python re-syncs
        @test dtype_of(code) === Q8 && dtype_code(Q8) == code && dtype_name(Q8) == "q8" && is_dtype(Q8)
        @test dtype_of(3) === Int32 && dtype_code(Float32) == 8   # built-in codes unchanged
        @test register_dtype(Q8; name = "q8") == code             # again: the same code
        @test_throws ArgumentError register_dtype(Q8; name = "q8b")
        @test_throws ArgumentError register_dtype(Int128; name = "float32")     # name taken
        @test_throws ArgumentError register_dtype(Float32; name = "f32")        # a built-in
        @test_throws ArgumentError register_dtype(BigFloat; name = "big")       # not isbits
        @test_throws ArgumentError register_dtype(Int128; name = "not a name")
        @test_throws ArgumentError dtype_of(code + 100)
        @test_throws ArgumentError dtype_code(Int128)
        register_dtype(Tiny; name = "tiny")
        @test dtype_category(Tiny) == -1 && dtype_category(Float16) == 2
    end

    @testset "the registry JSON and promotion tables" begin
        json = registry_json()
        @test occursin("\"q8\"", json) && occursin("\"julia_type\":$(repr(string(Q8)))", json) && occursin("\"itemsize\":2", json)
        t = promotion_tables()
        names = [JTensor.DTYPE_NAMES..., USER_DTYPE_NAMES...]
        q, i64, f64 = findfirst(==("q8"), names), findfirst(==("int64"), names), findfirst(==("float64"), names)
        @test t["pairs"][q][i64] == "q8" && t["pairs"][i64][q] == "q8"       # promote_rule(Q8, Integer)
        @test t["pairs"][q][f64] == "float64"
        @test t["pairs"][q][findfirst(==("complex64"), names)] === nothing   # no rule: not a dtype
        @test t["scalars"][q]["i"] == "q8" && t["scalars"][q]["f"] == "float64"
        @test promote_dtype(Q8, Int32) === Q8 && promote_scalar(Q8, Float64) === Float64
        @test t["pairs"][1][1] == "bool" && length(t["pairs"]) == length(names)
    end

    @testset "kernels and conversions on the type" begin
        x = Q8.([1.5, 2.0, -0.25])
        @test Float64.(JTensor.call("mul", x, x)) == [2.25, 4.0, 0.0625]
        @test Float64(JTensor.call("sum", x, nothing, false, nothing)[]) == 3.25
        @test jconvert(Q8, 2.5) == Q8(2.5) && jconvert(Float64, Q8(0.5)) == 0.5   # the type's convert
        @test String(JTensor.show_elements(reshape(x, 1, 3))) == join(repr.(x; context = :compact => true), '\x1f')
        @test_throws MethodError JTensor.call("exp", x)            # no method: MethodError, for Python's message
    end
finally
    append!(empty!(USER_DTYPES), saved[1])
    append!(empty!(USER_DTYPE_NAMES), saved[2])
end
