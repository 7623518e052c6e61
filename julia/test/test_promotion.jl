# jtensor's promotion rule (julia/src/dtypes.jl `promote_dtype`, `promote_scalar`): the one
# definition, which Python reads as tables (tests/test_promotion.py checks it against PyTorch).
# Here: every ordered pair of the 12 dtypes against a literal table (PyTorch's), the weak-scalar
# categories, that the rule folds to a constant in kernels, and the tables sent to Python.

using Test
using JTensor
using JTensor: promote_dtype, promote_scalar, result_dtype, scalar_dtype, promotion_tables, dtype_category,
               BFloat16, DTYPES, DTYPE_NAMES, broadcast_size

const b, i8, i16, i32, i64, u8 = Bool, Int8, Int16, Int32, Int64, UInt8
const f16, bf16, f32, f64, c64, c128 = Float16, BFloat16, Float32, Float64, ComplexF32, ComplexF64

# row S, column T: promote_dtype(S, T), in wire order (DTYPES). Written out from torch.promote_types.
const EXPECTED = [
#       b   i8  i16  i32  i64   u8  f16 bf16  f32  f64  c64 c128
        b   i8  i16  i32  i64   u8  f16 bf16  f32  f64  c64 c128   # b
       i8   i8  i16  i32  i64  i16  f16 bf16  f32  f64  c64 c128   # i8
      i16  i16  i16  i32  i64  i16  f16 bf16  f32  f64  c64 c128   # i16
      i32  i32  i32  i32  i64  i32  f16 bf16  f32  f64  c64 c128   # i32
      i64  i64  i64  i64  i64  i64  f16 bf16  f32  f64  c64 c128   # i64
       u8  i16  i16  i32  i64   u8  f16 bf16  f32  f64  c64 c128   # u8
      f16  f16  f16  f16  f16  f16  f16  f32  f32  f64  c64 c128   # f16
     bf16 bf16 bf16 bf16 bf16 bf16  f32 bf16  f32  f64  c64 c128   # bf16
      f32  f32  f32  f32  f32  f32  f32  f32  f32  f64  c64 c128   # f32
      f64  f64  f64  f64  f64  f64  f64  f64  f64  f64 c128 c128   # f64
      c64  c64  c64  c64  c64  c64  c64  c64  c64 c128  c64 c128   # c64
     c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128]  # c128

@testset "promotion" begin

@testset "every pair of the 12 dtypes" begin
    @test length(DTYPES) == 12
    for (i, S) in enumerate(DTYPES), (j, T) in enumerate(DTYPES)
        @test promote_dtype(S, T) === EXPECTED[i, j]
        @test promote_dtype(S, T) === promote_dtype(T, S)
    end
    # the pairs where Julia's own promote_type differs (it gives UInt8 for Int8 with UInt8)
    @test promote_dtype(Int8, UInt8) === Int16 && promote_type(Int8, UInt8) === UInt8
    @test promote_dtype(Bool, UInt8) === UInt8
    @test promote_dtype(Float16, BFloat16) === Float32
    @test promote_dtype(Int64, Float16) === Float16
    @test promote_dtype(ComplexF32, Float64) === ComplexF64
    @test promote_dtype(Int8, UInt8, Float16) === Float16
    # a constant for the compiler: kernels that call it stay type-stable
    @test Base.return_types(promote_dtype, (Type{Int8}, Type{UInt8})) == [Type{Int16}]
    @test Base.return_types(promote_dtype, (Type{ComplexF32}, Type{Float64})) == [Type{ComplexF64}]
end

@testset "Python scalars are weak" begin
    @test promote_scalar(Int8, Int64) === Int8            # int8 tensor + 1
    @test promote_scalar(Int8, Float64) === Float32       # + 1.5: the default float
    @test promote_scalar(Float16, Float64) === Float16
    @test promote_scalar(Bool, Bool) === Bool && promote_scalar(Bool, Int64) === Int64
    @test promote_scalar(Float64, ComplexF64) === ComplexF64
    @test promote_scalar(Float32, ComplexF64) === ComplexF32
    @test promote_scalar(Int32, ComplexF64) === ComplexF32
    @test promote_scalar(ComplexF32, Float64) === ComplexF32
    @test all(promote_scalar(T, Bool) === T for T in DTYPES)
    @test scalar_dtype(Int64) === Int64 && scalar_dtype(Float64) === Float32 && scalar_dtype(ComplexF64) === ComplexF32
    @test result_dtype((Int8, UInt8), (Float64,)) === Float32
    @test result_dtype((), (Int64, Float64)) === Float32
    @test result_dtype((Float64,), ()) === Float64
end

@testset "types outside the rule use Julia's promote_type" begin
    @test dtype_category(Rational{Int}) == -1
    @test promote_dtype(Rational{Int}, Int64) === Rational{Int}
    @test promote_scalar(Rational{Int}, Float64) === Float64
end

@testset "tables for Python" begin
    t = promotion_tables()
    @test t["pairs"][2][6] == "int16" && t["pairs"][6][2] == "int16"      # int8, uint8
    @test all(t["pairs"][i][j] == DTYPE_NAMES[findfirst(isequal(EXPECTED[i, j]), DTYPES)] for i in 1:12, j in 1:12)
    @test t["scalars"][2]["f"] == "float32" && t["scalars"][10]["c"] == "complex128"
    @test t["categories"] == [0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3]
    @test t["default_float"] == "float32"
    @test occursin("\"promotion\":", JTensor.registry_json())
end

@testset "broadcast_size fails as Python's broadcast_shapes does" begin
    err = try broadcast_size((3, 2), (4,)); nothing catch e; e end
    @test err isa DimensionMismatch
    @test err.msg == "shapes [2, 3], [4] cannot be broadcast together"     # Python order
    @test broadcast_size() == ()
end

end
