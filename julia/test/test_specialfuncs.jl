# Accuracy and edge values of the special-function kernels (src/specialfuncs.jl), against MPFR
# (BigFloat at 200 bits) and exact or tabulated values. PyTorch comparisons: tests/test_special.py.
using Test
using JTensor

const SF = JTensor
const _SF_MPFR = isdefined(Base.MPFR, :libmpfr) ? Base.MPFR.libmpfr : :libmpfr

for f in (:lngamma, :gamma, :digamma, :erfc, :erf, :j0, :j1, :y0, :y1, :ai, :zeta)
    @eval function $(Symbol(:mp_, f))(x)
        z = BigFloat()
        ccall(($(QuoteNode(Symbol(:mpfr_, f))), _SF_MPFR), Int32, (Ref{BigFloat}, Ref{BigFloat}, Int32), z, BigFloat(x), 0)
        z
    end
end
"Regularized upper incomplete gamma Q(a, x) by MPFR's gamma_inc."
function mp_igammac(a, x)
    z = BigFloat()
    ccall((:mpfr_gamma_inc, _SF_MPFR), Int32, (Ref{BigFloat}, Ref{BigFloat}, Ref{BigFloat}, Int32), z, BigFloat(a), BigFloat(x), 0)
    z / mp_gamma(a)
end
relerr(a, b) = Float64(abs((BigFloat(a) - b) / b))
maxrel(f, ref, xs) = maximum(x -> relerr(f(x), ref(x)), xs)
maxabs(f, ref, xs) = maximum(x -> Float64(abs(BigFloat(f(x)) - ref(x))), xs)

setprecision(BigFloat, 200) do
    @testset "lgamma" begin
        @test maxrel(SF.sf_lgamma, mp_lngamma, [0.01:0.0137:30; 31:7.3:170; 1e3; 1e10]) < 5e-14
        @test maxabs(SF.sf_lgamma, x -> log(abs(mp_gamma(x))), -0.99:-0.0731:-20) < 1e-13
        @test SF.sf_lgamma(1.0) == 0.0 && SF.sf_lgamma(2.0) == 0.0
        @test SF.sf_lgamma(0.0) == Inf && SF.sf_lgamma(-3.0) == Inf && SF.sf_lgamma(-Inf) == Inf
        @test isnan(SF.sf_lgamma(NaN))
        @test SF.sf_lgamma(0.5) ≈ log(sqrt(pi)) rtol = 1e-15
        @test SF.sf_lgamma(3.5f0) isa Float32
    end
    @testset "digamma, polygamma, zeta" begin
        @test maxrel(SF.sf_digamma, mp_digamma, [0.01:0.0137:1.3; 1.6:0.0137:30; 31:7.3:1e3]) < 1e-14
        @test maxabs(SF.sf_digamma, mp_digamma, -0.9:-0.0913:-20) < 1e-11   # near the poles, |ψ| ~ 1e2
        @test SF.sf_digamma(1.0) ≈ -0.5772156649015329 rtol = 1e-15
        @test SF.sf_digamma(0.0) == -Inf && SF.sf_digamma(-0.0) == Inf && isnan(SF.sf_digamma(-2.0))
        @test maxrel(s -> SF.sf_zeta(s, 1.0), mp_zeta, 1.01:0.113:40) < 1e-14
        @test SF.sf_zeta(2.0, 1.0) ≈ pi^2 / 6 rtol = 1e-15
        @test SF.sf_zeta(4.0, 0.5) ≈ 15 * pi^4 / 90 rtol = 1e-14      # ζ(s, 1/2) = (2^s - 1) ζ(s)
        @test SF.sf_zeta(1.0, 2.0) == Inf && isnan(SF.sf_zeta(0.5, 1.0)) && SF.sf_zeta(2.0, -2.0) == Inf
        @test SF.sf_zeta(2.0, -1.5) ≈ 1 / 2.25 + 4 + SF.sf_zeta(2.0, 0.5) rtol = 1e-14     # summed through q < 0
        @test SF.sf_polygamma(1.0, 1) ≈ pi^2 / 6 rtol = 1e-15
        @test SF.sf_polygamma(1.0, 2) ≈ -2 * 1.2020569031595942 rtol = 1e-15
        @test SF.sf_polygamma(0.5, 3) ≈ pi^4 rtol = 1e-14
        @test SF.sf_polygamma(Inf, 1) == 0.0 && isnan(SF.sf_polygamma(-Inf, 1))
        @test SF.sf_mvlgamma(2.5, 1) == SF.sf_lgamma(2.5)
        @test SF.sf_mvlgamma(3.0, 2) ≈ 0.5 * log(pi) + SF.sf_lgamma(3.0) + SF.sf_lgamma(2.5) rtol = 1e-15
    end
    @testset "error functions" begin
        @test maxrel(SF.sf_erfc, mp_erfc, -5:0.0123:26) < 1e-15
        @test maxrel(SF.sf_erfcx, x -> exp(BigFloat(x)^2) * mp_erfc(x), [-20:0.0123:100; 1e3; 1e8]) < 1e-15
        @test SF.sf_erfc(Inf) == 0.0 && SF.sf_erfc(-Inf) == 2.0 && SF.sf_erfcx(Inf) == 0.0
        ys = [-0.999999:0.0013:0.999999; 1 .- 10.0 .^ (-1:-1:-16)]
        @test maximum(y -> abs(Float64(mp_erf(SF.sf_erfinv(y))) - y) / abs(y), ys) < 1e-15
        @test SF.sf_erfinv(1.0) == Inf && SF.sf_erfinv(-1.0) == -Inf && isnan(SF.sf_erfinv(1.5))
        @test SF.sf_erfinv(0.5) ≈ 0.4769362762044699 rtol = 1e-15
        # ndtri round trip, down to p = 1e-300: Φ's condition number there is x² ≈ 1400, so one ulp
        # of x is 1.5e-13 in p (the tolerance allows a few ulp)
        for p in [1e-300, 1e-100, 1e-20, 0.01, 0.3, 0.7, 0.99, 1 - 1e-12]
            x = BigFloat(SF.sf_ndtri(p))
            @test Float64(mp_erfc(-x / sqrt(BigFloat(2))) / 2) ≈ p rtol = 5e-12
        end
        @test SF.sf_ndtri(0.0) == -Inf && SF.sf_ndtri(1.0) == Inf && SF.sf_ndtri(0.5) == 0.0
        @test SF.sf_log_ndtr(-40.0) ≈ Float64(log(mp_erfc(BigFloat(40) / sqrt(BigFloat(2))) / 2)) rtol = 1e-14
        # (x/√2 rounds: relative 1e-16 · x² in the result)
        @test SF.sf_ndtr(-20.0) ≈ Float64(mp_erfc(BigFloat(20) / sqrt(BigFloat(2))) / 2) rtol = 5e-14
    end
    @testset "Bessel" begin
        i0ref(x) = sum((BigFloat(x) / 2)^(2k) / factorial(big(k))^2 for k in 0:400)
        i1ref(x) = sum((BigFloat(x) / 2)^(2k + 1) / (factorial(big(k)) * factorial(big(k + 1))) for k in 0:400)
        @test maxrel(SF.sf_i0, i0ref, 0.01:0.137:60) < 3e-15
        @test maxrel(SF.sf_i1, i1ref, 0.01:0.137:60) < 3e-15
        @test maxrel(SF.sf_i0e, x -> exp(-BigFloat(x)) * i0ref(x), 0.01:0.137:60) < 3e-15
        @test SF.sf_i1(-2.0) == -SF.sf_i1(2.0) && SF.sf_i0(0.0) == 1.0 && SF.sf_i1(0.0) == 0.0
        @test maxabs(SF.sf_besselj0, mp_j0, 0:0.0317:100) < 1e-15
        @test maxabs(SF.sf_besselj1, mp_j1, 0:0.0317:100) < 1e-15
        @test SF.sf_besselj0(1e3) ≈ Float64(mp_j0(1e3)) atol = 1e-16
        @test SF.sf_besselj1(-3.0) == -SF.sf_besselj1(3.0)
    end
    @testset "Bessel Y, K and Airy Ai" begin
        # Y: the Neumann series from Miller's recurrence to 25, Hankel beyond
        @test maxabs(SF.sf_bessely0, mp_y0, 0.05:0.0317:100) < 1e-15
        @test maxabs(SF.sf_bessely1, mp_y1, 0.05:0.0317:100) < 2e-15
        @test SF.sf_bessely0(0.0) == -Inf && isnan(SF.sf_bessely1(-1.0)) && isnan(SF.sf_bessely0(Inf))
        # K (no MPFR function): values of mpmath.besselk at 30 digits, across the series/CF2 switch at 2
        for (x, k0, k1) in ((0.1, 2.4270690247020165578, 9.8538447808706055744),
                            (2.0, 0.11389387274953343565, 0.13986588181652242728),
                            (7.5, 0.00024917761635611438901, 0.00026529739012528952599),
                            (30.0, 2.1324774964630563712e-14, 2.1677320018915494249e-14))
            @test SF.sf_k0(x) ≈ k0 rtol = 3e-15
            @test SF.sf_k1(x) ≈ k1 rtol = 3e-15
            @test SF.sf_k1e(x) ≈ k1 * exp(BigFloat(x)) rtol = 3e-15
        end
        @test SF.sf_k0(0.0) == Inf && SF.sf_k1(Inf) == 0.0 && isnan(SF.sf_k0(-1.0))
        # Ai: Maclaurin, Miller's J_{±1/3}, its asymptotic series (x < -11.2) and K_{1/3}
        @test maxabs(SF.sf_airy_ai, mp_ai, -30:0.0413:20) < 2e-14
        # for x > 0 relative, within the conditioning x^1.5 of Ai ~ e^-(2/3)x^1.5 (1e-13 at x = 100)
        @test maximum(x -> relerr(SF.sf_airy_ai(x), mp_ai(x)) / (1 + x^1.5), 2.1:0.371:100) < 5e-16
        @test isnan(SF.sf_airy_ai(Inf)) && SF.sf_airy_ai(104.0) == 0.0
    end
    @testset "orthogonal polynomials" begin
        # exact integer values by the recurrences: T_5(3) = 3363, U_4(2) = 209, H_5(1) = -8, He_4(2) = -5,
        # L_3(2) = -1/3, P_3(0.5) = -0.4375; trigonometric forms for n > 6
        @test SF.op_chebyshev_t(3.0, 5.0) == 3363.0 && SF.op_chebyshev_u(2.0, 4.0) == 209.0
        @test SF.op_hermite_h(1.0, 5.0) == -8.0 && SF.op_hermite_he(2.0, 4.0) == -5.0
        @test SF.op_laguerre_l(2.0, 3.0) ≈ -1 / 3 && SF.op_legendre_p(0.5, 3.0) == -0.4375
        @test SF.op_chebyshev_t(0.3, 40.0) ≈ cos(40 * acos(0.3)) rtol = 1e-13
        @test SF.op_chebyshev_t(0.3, -1.0) == 0.0 && SF.op_legendre_p(0.3, NaN) == 0.0
        @test SF.op_shifted_chebyshev_w(1.0, 7.0) == 15.0 && SF.op_chebyshev_v(-1.0, 3.0) == -7.0
    end
    @testset "incomplete gamma" begin
        for a in (0.1, 0.5, 1.0, 2.5, 10.0, 55.5, 300.0), x in (0.01, 0.3, 1.0, 2.0, 5.0, 11.0, 50.0, 280.0, 330.0)
            q = mp_igammac(a, x)
            @test relerr(SF.sf_igammac(a, x), q) < 5e-14
            q > 1e-3 && q < 1 - 1e-3 && @test relerr(SF.sf_igamma(a, x), 1 - q) < 5e-14
        end
        @test SF.sf_igamma(1.0, 2.0) ≈ 1 - exp(-2.0) rtol = 1e-15
        @test SF.sf_igamma(0.0, 1.0) == 1.0 && isnan(SF.sf_igamma(0.0, 0.0)) && SF.sf_igamma(2.0, Inf) == 1.0
        @test isnan(SF.sf_igamma(-1.0, 1.0)) && SF.sf_igammac(1.0, 0.0) == 1.0
    end
end
