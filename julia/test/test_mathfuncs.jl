# Accuracy and edge-case tests for src/mathfuncs.jl (vectorizable math kernels).
# Runs standalone (`julia test/test_mathfuncs.jl`) or from the package test suite.
using Test
using Random

if !isdefined(@__MODULE__, :fexp)
    include(joinpath(@__DIR__, "..", "src", "mathfuncs.jl"))
end

const _TM_LIBMPFR = isdefined(Base.MPFR, :libmpfr) ? Base.MPFR.libmpfr : :libmpfr
function _tm_mpfr1(fn::Symbol, x::BigFloat)
    z = BigFloat()
    if fn === :erf
        ccall((:mpfr_erf, _TM_LIBMPFR), Int32, (Ref{BigFloat}, Ref{BigFloat}, Int32), z, x, 0)
    else
        ccall((:mpfr_erfc, _TM_LIBMPFR), Int32, (Ref{BigFloat}, Ref{BigFloat}, Int32), z, x, 0)
    end
    return z
end
_tm_erf(x::BigFloat) = _tm_mpfr1(:erf, x)
_tm_erfc(x::BigFloat) = _tm_mpfr1(:erfc, x)

# BigFloat references
const _TM_REF = Dict{Any,Function}(
    fexp => exp, fexp2 => exp2, fexpm1 => expm1, flog => log, flog2 => log2,
    flog10 => log10, flog1p => log1p, fsin => sin, fcos => cos, ftan => tan,
    fasin => asin, facos => acos, fatan => atan, fsinh => sinh, fcosh => cosh,
    ftanh => tanh, ferf => _tm_erf,
    fsigmoid => (x -> 1 / (1 + exp(-x))),
    fsoftplus => (x -> log1p(exp(x))),
    fgelu => (x -> x / 2 * _tm_erfc(-x / sqrt(BigFloat(2)))),
    fsilu => (x -> x / (1 + exp(-x))),
)

# error in ulps of the correctly rounded result (ulp of subnormals = nextfloat(0))
function _tm_ulps(y::T, ref::BigFloat) where {T}
    r = T(ref)
    if isnan(r) || isnan(y)
        return isnan(r) == isnan(y) ? 0.0 : Inf
    end
    isinf(r) && return y == r ? 0.0 : Inf
    isinf(y) && return Inf
    u = max(eps(abs(r)), nextfloat(zero(T)))
    return Float64(abs(BigFloat(y) - ref) / BigFloat(u))
end

function _tm_maxulp(f, T, xs)
    ref = _TM_REF[f]
    m = 0.0; worst = zero(T)
    setprecision(BigFloat, 256) do
        for x in xs
            e = _tm_ulps(f(x), ref(BigFloat(x)))
            if e > m
                m = e; worst = x
            end
        end
    end
    return m, worst
end

_tm_unif(rng, T, n, a, b) = T[T(a + (b - a) * rand(rng)) for _ in 1:n]
# log-uniform magnitudes with random sign
_tm_logu(rng, T, n, lo, hi; signed = true) =
    T[(signed && rand(rng, Bool) ? -1 : 1) * T(exp2(lo + (hi - lo) * rand(rng))) for _ in 1:n]

# sample ranges per function (type-dependent limits)
function _tm_samples(f, T, rng, n)
    big = T === Float32 ? 88.0 : 709.0
    s = if f === fexp
        vcat(_tm_unif(rng, T, n, -big - 15, big), _tm_unif(rng, T, n ÷ 4, -1, 1))
    elseif f === fexp2
        _tm_unif(rng, T, n, T === Float32 ? -149 : -1074, T === Float32 ? 127.9 : 1023.9)
    elseif f === fexpm1
        vcat(_tm_unif(rng, T, n, -40, big), _tm_logu(rng, T, n, -30, 1))
    elseif f in (flog, flog2, flog10)
        vcat(_tm_logu(rng, T, n, T === Float32 ? -149 : -1074, T === Float32 ? 127 : 1023; signed = false),
             _tm_unif(rng, T, n, 0.5, 2.0))
    elseif f === flog1p
        vcat(_tm_unif(rng, T, n, -1, 2), _tm_logu(rng, T, n, -60, 100; signed = false),
             _tm_logu(rng, T, n ÷ 2, -60, -1))
    elseif f in (fsin, fcos, ftan)
        vcat(_tm_unif(rng, T, n, -10, 10), _tm_logu(rng, T, n, -30, 20),
             _tm_logu(rng, T, n ÷ 2, 20, T === Float32 ? 127 : 1023))
    elseif f in (fasin, facos)
        vcat(_tm_unif(rng, T, n, -1, 1), _tm_logu(rng, T, n ÷ 2, -40, 0))
    elseif f === fatan
        vcat(_tm_unif(rng, T, n, -5, 5), _tm_logu(rng, T, n, -40, 100))
    elseif f in (fsinh, fcosh)
        vcat(_tm_unif(rng, T, n, -big - 0.6, big + 0.6), _tm_unif(rng, T, n, -2, 2),
             _tm_logu(rng, T, n ÷ 2, -40, 0))
    elseif f === ftanh
        vcat(_tm_unif(rng, T, n, -25, 25), _tm_logu(rng, T, n, -40, 1))
    elseif f === ferf
        vcat(_tm_unif(rng, T, n, -7, 7), _tm_logu(rng, T, n ÷ 2, -40, 1))
    elseif f === fgelu
        vcat(_tm_unif(rng, T, n, -40, 10), _tm_unif(rng, T, n, -3, 3), _tm_logu(rng, T, n ÷ 2, -40, 1))
    elseif f in (fsigmoid, fsilu, fsoftplus)
        vcat(_tm_unif(rng, T, n, -big - 40, big + 40), _tm_unif(rng, T, n, -20, 20),
             _tm_logu(rng, T, n ÷ 2, -40, 1))
    else
        error("no sample range for $f")
    end
    return s
end

const _TM_FUNCS = (fexp, fexp2, fexpm1, flog, flog2, flog10, flog1p, fsin, fcos, ftan,
                   fasin, facos, fatan, fsinh, fcosh, ftanh, ferf, fsigmoid, fsoftplus,
                   fgelu, fsilu)

@testset "mathfuncs" begin
    rng = MersenneTwister(1234)
    N = 1500
    results = Tuple{String,Float64,Float64}[]
    @testset "ulp $(nameof(f))" for f in _TM_FUNCS
        errs = Float64[]
        for T in (Float32, Float64)
            xs = _tm_samples(f, T, rng, N)
            m, w = _tm_maxulp(f, T, xs)
            push!(errs, m)
            if m > 4
                @info "max ulp too large" f T m w
            end
            @test m <= 4
        end
        push!(results, (string(nameof(f)), errs[1], errs[2]))
    end
    if get(ENV, "JT_MATHFUNCS_VERBOSE", "") != ""
        for (n, a, b) in results
            println(rpad(n, 10), " Float32 ", round(a, digits = 3), "   Float64 ", round(b, digits = 3))
        end
    end

    @testset "edge cases $T" for T in (Float32, Float64)
        inf = T(Inf); nan = T(NaN)
        tiny = nextfloat(zero(T))
        # exp family
        @test fexp(zero(T)) === one(T)
        @test fexp(inf) === inf && fexp(-inf) === zero(T) && isnan(fexp(nan))
        @test fexp(T === Float32 ? 88.8f0 : 709.8) === inf
        @test fexp(T === Float32 ? -104f0 : -746.0) === zero(T)
        @test fexp(T === Float32 ? -100f0 : -740.0) == T(exp(big(T === Float32 ? -100.0 : -740.0)))  # subnormal
        @test fexp(T === Float32 ? 88.72f0 : 709.78) < inf
        @test fexp2(T(-1)) === T(0.5) && fexp2(T(10)) === T(1024) && fexp2(inf) === inf && fexp2(-inf) === zero(T)
        @test fexp2(T === Float32 ? -149f0 : -1074.0) === tiny
        @test fexpm1(-zero(T)) === -zero(T) && fexpm1(zero(T)) === zero(T)
        @test fexpm1(tiny) === tiny && fexpm1(-inf) === -one(T) && fexpm1(inf) === inf
        @test isnan(fexpm1(nan))
        # log family
        for lf in (flog, flog2, flog10)
            @test lf(zero(T)) === -inf && lf(-zero(T)) === -inf
            @test isnan(lf(-one(T))) && isnan(lf(-inf)) && isnan(lf(nan))
            @test lf(inf) === inf && lf(one(T)) === zero(T)
        end
        @test flog(tiny) == T(log(big(tiny)))
        @test flog2(T(8)) === T(3) && flog10(T(1000)) === T(3) && flog2(tiny) === T(T === Float32 ? -149 : -1074)
        @test flog1p(-one(T)) === -inf && isnan(flog1p(T(-2))) && flog1p(inf) === inf
        @test flog1p(-zero(T)) === -zero(T) && flog1p(tiny) === tiny && isnan(flog1p(nan))
        # trig
        @test fsin(-zero(T)) === -zero(T) && fsin(zero(T)) === zero(T) && fcos(zero(T)) === one(T)
        @test ftan(-zero(T)) === -zero(T) && fsin(tiny) === tiny
        for tf in (fsin, fcos, ftan)
            @test isnan(tf(inf)) && isnan(tf(-inf)) && isnan(tf(nan))
        end
        for v in (T(1e6), T(-1e6), T(12345.678), floatmax(T), -floatmax(T), T(2)^60, T(1e22))
            for (tf, bf) in ((fsin, sin), (fcos, cos), (ftan, tan))
                @test _tm_ulps(tf(v), setprecision(() -> bf(BigFloat(v)), BigFloat, 2048)) <= 4
            end
        end
        @test fasin(-zero(T)) === -zero(T) && isnan(fasin(T(2))) && isnan(fasin(T(-2)))
        @test isnan(facos(T(2))) && facos(one(T)) === zero(T) && isnan(fasin(nan))
        @test fasin(one(T)) == T(pi / 2) && facos(-one(T)) == T(pi)
        @test fatan(-zero(T)) === -zero(T) && fatan(inf) == T(pi / 2) && fatan(-inf) == -T(pi / 2)
        @test isnan(fatan(nan))
        # hyperbolic
        @test fsinh(-zero(T)) === -zero(T) && fsinh(inf) === inf && fsinh(-inf) === -inf
        @test fcosh(-inf) === inf && fcosh(zero(T)) === one(T)
        @test fsinh(T === Float32 ? 89.4f0 : 710.4) < inf && fsinh(T === Float32 ? 89.5f0 : 710.5) === inf
        @test ftanh(T(1000)) === one(T) && ftanh(T(-1000)) === -one(T) && ftanh(-zero(T)) === -zero(T)
        @test ftanh(inf) === one(T) && ftanh(-inf) === -one(T) && isnan(ftanh(nan))
        # erf & activations
        @test ferf(-zero(T)) === -zero(T) && ferf(inf) === one(T) && ferf(-inf) === -one(T)
        @test ferf(T(10)) === one(T) && isnan(ferf(nan))
        @test fsigmoid(T(-1000)) === zero(T) && fsigmoid(T(1000)) === one(T) && fsigmoid(zero(T)) === T(0.5)
        @test fsigmoid(inf) === one(T) && fsigmoid(-inf) === zero(T) && isnan(fsigmoid(nan))
        @test fsoftplus(T(1000)) === T(1000) && fsoftplus(T(-1000)) === zero(T) && fsoftplus(inf) === inf
        @test fsoftplus(-inf) === zero(T) && isnan(fsoftplus(nan))
        @test fgelu(inf) === inf && fgelu(-inf) == zero(T) && fgelu(zero(T)) == zero(T) && isnan(fgelu(nan))
        @test fgelu(T(-100)) == zero(T)
        @test fsilu(inf) === inf && fsilu(-inf) == zero(T) && fsilu(T(-1000)) == zero(T) && isnan(fsilu(nan))
        # no DomainError
        for g in (flog, flog2, flog10, flog1p, fasin, facos)
            @test isnan(g(T(-3)))
        end
    end

    @testset "pow" begin
        rng2 = MersenneTwister(7)
        for T in (Float32, Float64)
            m = 0.0
            setprecision(BigFloat, 256) do
                for _ in 1:2000
                    x = T(exp2(40 * rand(rng2) - 20)); y = T(20 * rand(rng2) - 10)
                    m = max(m, _tm_ulps(fpow(x, y), BigFloat(x)^BigFloat(y)))
                    xn = -x; yi = T(rand(rng2, -12:12))
                    m = max(m, _tm_ulps(fpow(xn, yi), BigFloat(xn)^BigFloat(yi)))
                end
            end
            @test m <= 4
            inf = T(Inf); nan = T(NaN); z = zero(T); o = one(T)
            @test fpow(nan, z) === o && fpow(o, nan) === o && isnan(fpow(nan, o)) && isnan(fpow(T(2), nan))
            @test isnan(fpow(T(-2), T(0.5))) && fpow(T(-2), T(3)) === T(-8) && fpow(T(-2), T(2)) === T(4)
            @test fpow(z, T(-3)) === inf && fpow(-z, T(-3)) === -inf && fpow(-z, T(-2)) === inf
            @test fpow(-z, T(3)) === -z && fpow(-z, T(2)) === z && fpow(z, T(0.5)) === z
            @test fpow(-o, inf) === o && fpow(-o, -inf) === o
            @test fpow(T(0.5), -inf) === inf && fpow(T(2), -inf) === z && fpow(T(0.5), inf) === z && fpow(T(2), inf) === inf
            @test fpow(-inf, T(-3)) === -z && fpow(-inf, T(-2)) === z && fpow(-inf, T(3)) === -inf && fpow(-inf, T(2)) === inf
            @test fpow(inf, T(-1)) === z && fpow(inf, T(0.5)) === inf
            @test fpow(T(10), T(400)) === inf && fpow(T(10), T(-400)) === z
        end
    end

    @testset "generic fallbacks" begin
        @test fexp(1.0 + 2.0im) ≈ exp(1.0 + 2.0im)
        @test flog(-1.0 + 0im) ≈ log(-1.0 + 0im)
        @test fsin(big(1.0)) == sin(big(1.0))
        @test ferf(big(0.5)) ≈ _tm_erf(big(0.5))
        @test fsigmoid(0.5 + 0im) ≈ 1 / (1 + exp(-0.5))
    end
end
