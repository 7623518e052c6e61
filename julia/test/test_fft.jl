# The DFT kernel of julia/src/ops/fft.jl (`_fft_c2c`, through `JTensor.call`) against the
# definition Σ_j x_j exp(∓2πijk/n) evaluated directly in BigFloat-free Float64 (O(n²), exact
# twiddles from cispi-style cospi/sinpi): radix-2 and Bluestein lengths, both directions,
# ComplexF32/ComplexF64, every dim of a 3-d array, and the complex special cases of mathfuncs.jl.
# Standalone:
#   julia --startup-file=no -e 'push!(LOAD_PATH, "julia"); using JTensor, Test; include("julia/test/test_fft.jl")'

using Test
using JTensor

const jcall = JTensor.call

"The DFT of vector x by its definition (sign -1 forward, +1 inverse; unnormalized)."
function naive_dft(x::AbstractVector, sign::Int)
    n = length(x)
    [sum(ComplexF64(x[j + 1]) * complex(cospi(2 * mod(j * k, n) / n), sign * sinpi(2 * mod(j * k, n) / n))
         for j in 0:n-1) for k in 0:n-1]
end

"naive_dft along dim d of an array."
naive_dft(A::AbstractArray, d::Int, sign::Int) = mapslices(v -> naive_dft(v, sign), A; dims = d)

@testset "fft kernel" begin
    @testset "length $n" for n in (1, 2, 3, 4, 5, 7, 8, 12, 13, 16, 31, 64, 97, 100)
        x = randn(ComplexF64, n)
        for inverse in (false, true)
            ref = naive_dft(x, inverse ? 1 : -1)
            got = jcall("_fft_c2c", x, 1, inverse)
            @test eltype(got) == ComplexF64
            @test maximum(abs.(got .- ref)) <= 1e-13 * max(1, maximum(abs.(ref)))
        end
        x32 = ComplexF32.(x)
        got32 = jcall("_fft_c2c", x32, 1, false)
        @test eltype(got32) == ComplexF32
        @test maximum(abs.(got32 .- naive_dft(x32, -1))) <= 1e-5 * max(1, maximum(abs.(x)) * n)
    end
    @testset "along every dim" begin
        A = randn(ComplexF64, 4, 3, 5)
        for d in 1:3, inverse in (false, true)
            @test jcall("_fft_c2c", A, d, inverse) ≈ naive_dft(A, d, inverse ? 1 : -1)
        end
    end
    @testset "many lines (split across threads when Julia has several)" begin
        A = randn(ComplexF64, 300, 7, 40)       # 12000 lines of a Bluestein length: past FFT_THREAD_MIN
        @test jcall("_fft_c2c", A, 2, false) ≈ naive_dft(A, 2, -1)
        B = randn(ComplexF32, 4096, 32)         # radix-2 along the contiguous dim
        @test jcall("_fft_c2c", B, 1, true) ≈ naive_dft(B, 1, 1) rtol = 1e-5
    end
    @testset "round trip and edge cases" begin
        x = randn(ComplexF64, 6, 11)
        @test jcall("_fft_c2c", jcall("_fft_c2c", x, 2, false), 2, true) ./ 11 ≈ x
        @test size(jcall("_fft_c2c", zeros(ComplexF64, 0, 3), 1, false)) == (0, 3)
        @test_throws JTensor.DTypeError jcall("_fft_c2c", randn(4), 1, false)
    end
end

@testset "complex special cases (Array API tables)" begin
    same(a, b) = isequal(real(a), real(b)) && isequal(imag(a), imag(b))   # signed zeros and NaNs
    @test same(JTensor.ftanh(complex(0.0, Inf)), complex(0.0, NaN))
    @test same(JTensor.ftanh(complex(-0.0, NaN)), complex(-0.0, NaN))
    @test same(JTensor.ftanh(complex(Inf, 2.0)), complex(1.0, -0.0))          # sign of sin(2y)
    @test same(JTensor.ftanh(complex(NaN, 0.0)), complex(NaN, 0.0))
    @test same(JTensor.facosh(complex(0.0, NaN)), complex(NaN, pi / 2))
    @test same(JTensor.fatanh(complex(1.0, 0.0)), complex(Inf, 0.0))
    @test same(JTensor.fatanh(complex(Inf, NaN)), complex(0.0, NaN))
    @test same(JTensor.fatanh(complex(NaN, Inf)), complex(0.0, pi / 2))
    @test JTensor.fatanh(complex(1.0, 1.8e-302)) ≈ complex(0.5 * (log(2) - log(1.8e-302)), pi / 4)
    @test same(JTensor.flog1p(complex(-1.0, 0.0)), complex(-Inf, 0.0))
    @test same(JTensor.flog1p(complex(2.0, Inf)), complex(Inf, pi / 2))
    @test same(JTensor.flog1p(complex(-Inf, Inf)), complex(Inf, 3pi / 4))
    @test same(JTensor.flog1p(complex(NaN, Inf)), complex(Inf, NaN))
    @test same(JTensor.flog1p(complex(0.0, 1e-302)), complex(0.0, 1e-302))
    @test JTensor.ftanh(complex(1.0, 1e308)) isa ComplexF64                # Base's tanh throws here
    @test JTensor.ftan(ComplexF32(Inf, 1)) isa ComplexF32
end
