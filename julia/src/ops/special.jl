# Special functions and the remaining elementwise math of PyTorch (issue 11): the gamma family,
# error-function family, Bessel functions, incomplete gamma, zeta, and small elementwise helpers
# (fmod, xlogy, sinc, ldexp, gcd...). The scalar algorithms live in specialfuncs.jl; here each
# becomes a registry op with its dtype rule and derivative, as in elementwise.jl (the batching
# rule of every map op is "elementwise", defmap's default).
#
# Ops that PyTorch publishes only under `torch.special` get `namespace = "special"` (jt.special.<name>,
# python/jtensor/special.py); the others are torch-level functions with Tensor methods and `_` forms.
# Real inputs only: complex inputs raise TypeError (`_realonly`, on the first element).
# Derivative formulas may refer to each other in a cycle (i0 <-> i1): they are read at backward.

for f in (:sf_erfc, :sf_erfinv, :sf_lgamma, :sf_digamma, :sf_i0, :sf_i0e, :sf_i1, :sf_i1e, :sf_erfcx,
          :sf_ndtr, :sf_ndtri, :sf_log_ndtr, :sf_besselj0, :sf_besselj1, :sf_bessely0, :sf_bessely1,
          :sf_k0, :sf_k1, :sf_k0e, :sf_k1e, :sf_airy_ai)
    @eval @inline $f(x::Complex) = _realonly($(string(f)[4:end]))
end
@inline sf_polygamma(x::Complex, n::Int64) = _realonly("polygamma")
@inline sf_mvlgamma(x::Complex, p::Int64) = _realonly("mvlgamma")

# ---- torch.special-only functions ---------------------------------------------------------------------
"entr(x) = -x log x (0 at 0, -inf for x < 0), as torch.special.entr."
@inline fentr(x::T) where {T<:AbstractFloat} =
    ifelse(x > zero(T), -x * log(ifelse(x > zero(T), x, one(T))), ifelse(x == zero(T), zero(T), ifelse(isnan(x), x, T(-Inf))))
@inline fentr(x::Complex) = _realonly("entr")

for (name, f, grad) in (
        ("entr", fentr, "grad * -(1 + log(input))"),
        ("erfcx", sf_erfcx, "grad * (2 * input * result - 1.1283791670955126)"),
        ("i0e", sf_i0e, "grad * (special.i1e(input) - sign(input) * result)"),
        ("i1", sf_i1, "grad * where(input == 0, 0.5, i0(input) - result / input)"),
        ("i1e", sf_i1e, "grad * where(input == 0, 0.5, special.i0e(input) - result * (sign(input) + 1 / input))"),
        ("ndtr", sf_ndtr, "grad * 0.3989422804014327 * exp(-0.5 * input * input)"),
        ("ndtri", sf_ndtri, "grad * 2.5066282746310002 * exp(0.5 * result * result)"),
        ("log_ndtr", sf_log_ndtr, "grad * 0.3989422804014327 * exp(-0.5 * input * input - result)"),
        ("bessel_j0", sf_besselj0, "grad * -special.bessel_j1(input)"),
        ("bessel_j1", sf_besselj1, "grad * where(input == 0, 0.5, special.bessel_j0(input) - result / input)"),
        # functions torch.special defines without a derivative: no `grad`, so backward through them
        # raises, naming the op (PyTorch's results do not require grad at all)
        ("airy_ai", sf_airy_ai, ""),
        ("bessel_y0", sf_bessely0, ""),
        ("bessel_y1", sf_bessely1, ""),
        ("modified_bessel_k0", sf_k0, ""),
        ("modified_bessel_k1", sf_k1, ""),
        ("scaled_modified_bessel_k0", sf_k0e, ""),
        ("scaled_modified_bessel_k1", sf_k1e, ""),
    )
    defmap("$name(input: Tensor) -> Tensor", f; dtypes = "float", namespace = "special", method = false,
           inplace = false, grad = isempty(grad) ? Pair{String,String}[] : ["input" => grad],
           doc = "torch.special.$name, elementwise (real inputs); integer inputs give float32" *
                 (isempty(grad) ? "; not differentiable, as in torch." : "."))
end

# The orthogonal polynomials p_n(input) (kernels in orthopolys.jl): input and n broadcast against
# each other, either may be a Python number; n is truncated to an integer.
for (name, f, what) in (
        ("chebyshev_polynomial_t", op_chebyshev_t, "the Chebyshev polynomial of the first kind T_n"),
        ("chebyshev_polynomial_u", op_chebyshev_u, "the Chebyshev polynomial of the second kind U_n"),
        ("chebyshev_polynomial_v", op_chebyshev_v, "the Chebyshev polynomial of the third kind V_n"),
        ("chebyshev_polynomial_w", op_chebyshev_w, "the Chebyshev polynomial of the fourth kind W_n"),
        ("shifted_chebyshev_polynomial_t", op_shifted_chebyshev_t, "T_n(2x - 1)"),
        ("shifted_chebyshev_polynomial_u", op_shifted_chebyshev_u, "U_n(2x - 1)"),
        ("shifted_chebyshev_polynomial_v", op_shifted_chebyshev_v, "V_n(2x - 1)"),
        ("shifted_chebyshev_polynomial_w", op_shifted_chebyshev_w, "W_n(2x - 1)"),
        ("hermite_polynomial_h", op_hermite_h, "the physicists' Hermite polynomial H_n"),
        ("hermite_polynomial_he", op_hermite_he, "the probabilists' Hermite polynomial He_n"),
        ("laguerre_polynomial_l", op_laguerre_l, "the Laguerre polynomial L_n"),
        ("legendre_polynomial_p", op_legendre_p, "the Legendre polynomial P_n"),
    )
    @eval @inline $(nameof(f))(x::Complex, n::Complex) = _realonly($name)
    defmap("$name(input: Tensor, n: Tensor) -> Tensor", f; dtypes = "promote_float", namespace = "special",
           method = false, inplace = false,
           doc = "torch.special.$name: $what at input, degree n (truncated; negative n gives 0), broadcast; " *
                 "not differentiable, as in torch.")
end

"x · log1p(y), 0 where x == 0 unless y is NaN (torch.special.xlog1py)."
@inline fxlog1py(x::T, y::T) where {T<:AbstractFloat} = ifelse(isnan(y), y, ifelse(x == zero(T), zero(T), x * flog1p(y)))
@inline fxlog1py(x::Complex, y::Complex) = _realonly("xlog1py")
@inline fzeta(x::T, q::T) where {T<:AbstractFloat} = sf_zeta(x, q)
@inline fzeta(x::Complex, q::Complex) = _realonly("zeta")
defmap("xlog1py(input: Tensor, other: Tensor) -> Tensor", fxlog1py; dtypes = "promote_float", namespace = "special",
       method = false, inplace = false,
       grad = ["input" => "grad * special.xlog1py(input != 0, other)", "other" => "grad * input / (other + 1)"],
       doc = "input * log1p(other), 0 where input is 0 (unless other is NaN), broadcast.")
defmap("zeta(input: Tensor, other: Tensor) -> Tensor", fzeta; dtypes = "promote_float", namespace = "special",
       method = false, inplace = false,
       grad = ["input" => "not_implemented_derivative('zeta', 'input')",
               "other" => "grad * -input * special.zeta(input + 1, other)"],
       doc = "The Hurwitz zeta function ζ(input, other) = Σ_k (other + k)^-input (Cephes' domain, as PyTorch).")

# ---- torch-level unary functions --------------------------------------------------------------------------
"sin(πx)/(πx), 1 at 0 (torch.sinc)."
@inline fsinc(x::T) where {T<:AbstractFloat} = (y = Float64(x); T(ifelse(y == 0, 1.0, sf_sinpi(y) / (_SF_PI * y))))
@inline fsinc(x::Complex) = _realonly("sinc")
@inline fdeg2rad(x) = x * oftype(x, 0.017453292519943295)
@inline frad2deg(x) = x * oftype(x, 57.29577951308232)
"x - trunc(x), for floating point only (PyTorch refuses integers)."
@inline ffrac(x::AbstractFloat) = x - trunc(x)
@inline ffrac(x::Union{Integer,Complex}) = throw(DTypeError("frac: only floating point tensors are supported, got $(typeof(x))"))

for (name, f, grad) in (
        ("erfc", sf_erfc, "grad * -1.1283791670955126 * exp(-input * input)"),
        ("erfinv", sf_erfinv, "grad * 0.886226925452758 * exp(result * result)"),
        ("lgamma", sf_lgamma, "grad * digamma(input)"),
        ("digamma", sf_digamma, "grad * polygamma(1, input)"),
        ("i0", sf_i0, "grad * special.i1(input)"),
        ("sinc", fsinc, "grad * where(input == 0, 0, (cos(input * 3.141592653589793) - result) / input)"),
        ("exp2", fexp2, "grad * result * 0.6931471805599453"),
        ("deg2rad", fdeg2rad, "grad * 0.017453292519943295"),
        ("rad2deg", frad2deg, "grad * 57.29577951308232"),
    )
    defmap("$name(input: Tensor) -> Tensor", f; dtypes = "float", grad = ["input" => grad],
           doc = "Elementwise $name, as torch.$name; integer inputs give float32.")
end
defmap("frac(input: Tensor) -> Tensor", ffrac; dtypes = "rounding", grad = ["input" => "grad"],
       doc = "The fractional part input - trunc(input), keeping the sign (floating point).")
defmap("sgn(input: Tensor) -> Tensor", fsign; dtypes = "same", grad = ["input" => "sgn_backward(grad, input, result)"],
       doc = "sign for real tensors; z / |z| (0 at 0) for complex ones, as torch.sgn.")

"The argument of a number: atan2(imag, real) for complex, 0 or π for reals (NaN kept), as torch.angle."
@inline fangle(x::T) where {T<:AbstractFloat} = ifelse(isnan(x), x, ifelse(x < zero(T), T(_SF_PI), zero(T)))
@inline fangle(z::Complex) = angle(z)
defmap("angle(input: Tensor) -> Tensor", fangle; dtypes = "float_real", inplace = false,
       grad = ["input" => "where(input == 0, 0, grad * input / (abs(input) ** 2) * 1j) if input.is_complex() else zeros_like(input)"],
       doc = "The elementwise argument (angle) in radians: real inputs give 0 (>= 0) or pi (< 0), complex ones atan2(imag, real); integers give float32.")

"polygamma's kernel with its argument check (PyTorch: n >= 0)."
@inline fpolygamma(x::Union{AbstractFloat,Complex}, n::Int64) =
    n < 0 ? throw(ArgumentError("polygamma(n, x) does not support negative n")) : sf_polygamma(x, n)
# The CUDA generator (cuda/mapkernels.jl) calls map kernels with their arguments in schema order, the
# CPU engine with the tensors first: polygamma, whose schema puts n first, takes both orders.
@inline fpolygamma(n::Int64, x::Union{AbstractFloat,Complex}) = fpolygamma(x, n)
defmap("polygamma(n: int, input: Tensor) -> Tensor", fpolygamma; dtypes = "float", method = false, inplace = false,
       grad = ["input" => "grad * polygamma(n + 1, input)"],
       doc = "The n-th derivative of the digamma function (Tensor.polygamma(n) is composed in Python).")
@inline fmvlgamma(x, p::Int64) = p < 1 ? throw(ArgumentError("mvlgamma: p has to be greater than or equal to 1")) : sf_mvlgamma(x, p)
defmap("mvlgamma(input: Tensor, p: int) -> Tensor", fmvlgamma; dtypes = "float",
       grad = ["input" => "mvlgamma_backward(grad, input, p)"],
       doc = "The multivariate log-gamma function of dimension p, elementwise.")

"logit with an optional clamp of the input to [eps, 1 - eps] (torch.logit)."
@inline flogit(x::T, eps::Nothing) where {T<:AbstractFloat} = flog(x / (one(T) - x))
@inline function flogit(x::T, eps::Float64) where {T<:AbstractFloat}
    e = T(eps)
    z = ifelse(x < e, e, ifelse(x > one(T) - e, one(T) - e, x))
    flog(z / (one(T) - z))
end
@inline flogit(x::Complex, eps) = _realonly("logit")
defmap("logit(input: Tensor, eps: Optional[float] = None) -> Tensor", flogit; dtypes = "float",
       grad = ["input" => "logit_backward(grad, input, eps)"],
       doc = "log(input / (1 - input)), with input first clamped to [eps, 1 - eps] when eps is given.")

# ---- torch-level binary functions --------------------------------------------------------------------------
"C's fmod: the remainder with the sign of the dividend (integer division by zero raises)."
@inline ffmod(x::T, y::T) where {T<:Integer} = iszero(y) ? throw(DivideError()) : (y == -one(T) ? zero(T) : rem(x, y))
@inline ffmod(x::Bool, y::Bool) = throw(DTypeError("fmod: bool tensors are not supported"))
@inline ffmod(x::T, y::T) where {T<:AbstractFloat} = rem(x, y)
"x · log(y), 0 where x == 0 unless y is NaN (torch.xlogy)."
@inline fxlogy(x::T, y::T) where {T<:AbstractFloat} = ifelse(isnan(y), y, ifelse(x == zero(T), zero(T), x * flog(y)))
@inline fxlogy(x::Complex, y::Complex) = _realonly("xlogy")
"Step function: values where input == 0, else (input > 0) (NaN inputs give 0, as PyTorch)."
@inline fheaviside(x::T, v::T) where {T<:Real} = ifelse(x == zero(T), v, ifelse(x > zero(T), one(T), zero(T)))
@inline fheaviside(x::Complex, v::Complex) = _realonly("heaviside")
"x · 2^e (torch.ldexp: the exponent tensor may be integer or floating point)."
@inline fldexp(x::T, e::T) where {T<:AbstractFloat} = x * fexp2(e)
@inline fldexp(x::Complex, e::Complex) = x * exp2(e)
"Greatest common divisor by Euclid's algorithm (nonnegative; gcd(0, 0) = 0)."
@inline function fgcd(a::T, b::T) where {T<:Integer}
    while b != zero(T)
        a, b = b, rem(a, b)
    end
    abs(a)
end
@inline fgcd(a::Bool, b::Bool) = throw(DTypeError("gcd: bool tensors are not supported (integers only)"))
"Least common multiple, |a / gcd(a, b) · b| (0 when either is 0), as PyTorch."
@inline flcm(a::T, b::T) where {T<:Integer} = (g = fgcd(a, b); g == zero(T) ? zero(T) : abs(div(a, g) * b))
@inline flcm(a::Bool, b::Bool) = throw(DTypeError("lcm: bool tensors are not supported (integers only)"))
"fmax / fmin: the maximum / minimum ignoring a NaN operand (NaN only when both are NaN)."
@inline ffmax(x::T, y::T) where {T<:AbstractFloat} = ifelse(isnan(x), y, ifelse(isnan(y), x, ifelse(x >= y, x, y)))
@inline ffmax(x::T, y::T) where {T<:Integer} = max(x, y)
@inline ffmin(x::T, y::T) where {T<:AbstractFloat} = ifelse(isnan(x), y, ifelse(isnan(y), x, ifelse(x <= y, x, y)))
@inline ffmin(x::T, y::T) where {T<:Integer} = min(x, y)
"log2(2^x + 2^y) without overflow: max(x, y) + log2(1 + 2^-|x - y|)."
@inline function flogaddexp2(x::T, y::T) where {T<:AbstractFloat}
    m = ifelse(x > y, x, y)
    r = m + flog1p(fexp2(-abs(x - y))) * T(1.4426950408889634)
    r = ifelse(x == y, x + one(T), r)               # equal values, infinities included
    ifelse(isnan(x) | isnan(y), x + y, r)
end
@inline flogaddexp2(x::Complex, y::Complex) = _realonly("logaddexp2")
@inline figamma(a::T, x::T) where {T<:AbstractFloat} = sf_igamma(a, x)
@inline figamma(a::Complex, x::Complex) = _realonly("igamma")
@inline figammac(a::T, x::T) where {T<:AbstractFloat} = sf_igammac(a, x)
@inline figammac(a::Complex, x::Complex) = _realonly("igammac")

const _IGAMMA_DX = "exp(xlogy(input - 1, other) - other - lgamma(input))"   # d/dx P(a, x) = x^(a-1) e^-x / Γ(a)
for (name, f, rule, grads, doc) in (
        ("fmod", ffmod, "promote_real", ["input" => "grad", "other" => "-grad * trunc(input / other)"],
         "C's fmod: input - trunc(input / other) * other (sign of the dividend), broadcast."),
        ("xlogy", fxlogy, "promote_float", ["input" => "grad * xlogy((input != 0) | (other > 0), other)", "other" => "grad * input / other"],
         "input * log(other), 0 where input is 0 (unless other is NaN), broadcast."),
        ("heaviside", fheaviside, "promote", Pair{String,String}[],
         "The Heaviside step: values where input == 0, 0 below, 1 above."),
        ("ldexp", fldexp, "promote_float", ["input" => "grad * exp2(other)", "other" => "grad * result * 0.6931471805599453"],
         "input * 2 ** other, broadcast."),
        ("gcd", fgcd, "bitwise", Pair{String,String}[], "Elementwise greatest common divisor of integer tensors."),
        ("lcm", flcm, "bitwise", Pair{String,String}[], "Elementwise least common multiple of integer tensors."),
        ("fmax", ffmax, "promote_real",
         ["input" => "where((input >= other) | isnan(other), grad, 0)", "other" => "where((input >= other) | isnan(other), 0, grad)"],
         "Elementwise maximum ignoring NaN (NaN only where both are NaN)."),
        ("fmin", ffmin, "promote_real",
         ["input" => "where((input <= other) | isnan(other), grad, 0)", "other" => "where((input <= other) | isnan(other), 0, grad)"],
         "Elementwise minimum ignoring NaN (NaN only where both are NaN)."),
        ("logaddexp2", flogaddexp2, "promote_float",
         ["input" => "grad * exp2(input - result)", "other" => "grad * exp2(other - result)"],
         "log2(2**input + 2**other), computed without overflow."),
        ("igamma", figamma, "promote_float",
         ["input" => "not_implemented_derivative('igamma', 'input')", "other" => "grad * $_IGAMMA_DX"],
         "The regularized lower incomplete gamma function P(input, other)."),
        ("igammac", figammac, "promote_float",
         ["input" => "not_implemented_derivative('igammac', 'input')", "other" => "-grad * $_IGAMMA_DX"],
         "The regularized upper incomplete gamma function Q(input, other) = 1 - P(input, other)."),
    )
    defmap("$name(input: Tensor, other: Tensor) -> Tensor", f; dtypes = rule, grad = grads, doc = doc)
end

# ---- frexp: two results ------------------------------------------------------------------------------------
function _frexp_check(x)
    eltype(x) <: AbstractFloat || throw(DTypeError("frexp: only floating point tensors are supported, got $(eltype(x))"))
end
"Mantissa in [0.5, 1) (0, inf and NaN kept) and Int32 exponent with input = mantissa · 2^exponent."
function _frexp(x::AbstractArray{T}) where {T}
    _frexp_check(x)
    m = Array{T}(undef, size(x))
    e = Array{Int32}(undef, size(x))
    for (i, v) in enumerate(x)
        f, k = frexp(Float64(v))       # exact for every float dtype; inf and NaN give exponent 0
        m[i] = T(f)
        e[i] = Int32(k)
    end
    (m, e)
end
_frexp(x::MetaArray) = (_frexp_check(x); (MetaArray{eltype(x)}(size(x)), MetaArray{Int32}(size(x))))
defop("frexp(input: Tensor) -> (mantissa: Tensor, exponent: Tensor)", _frexp; batch = "elementwise",
      grad = ["input" => "grad0 / exp2(exponent)"],
      doc = "Decompose input into mantissa (in [0.5, 1)) and int32 exponent: input = mantissa * 2 ** exponent.")
