# Elementwise ops that the Array API standard (2023.12) requires and the other op families lack:
# inverse hyperbolic functions, logaddexp, hypot, copysign, signbit, nextafter, and rounding of
# complex numbers. Python's `jtensor.array_api` namespace adapts them (argument names, dtype
# checks); they are also ordinary registry ops (`jt.logaddexp`, `x.hypot(y)`, ...).
#
# Kernels never throw on real input: out-of-domain arguments give NaN, as in C and NumPy.
# Integer inputs compute in float32 (dtype rules "float" / "promote_float"); float16 and bfloat16
# compute in Float32 and are rounded back on store.

"Raise the Array API's TypeError for a complex operand of a real-only op (runs on the first element)."
_realonly(name) = throw(DTypeError("$name: complex input is not supported"))

# ---- inverse hyperbolic functions -------------------------------------------------------------------
# Base's real methods throw DomainError outside the domain, so the argument is first moved into the
# domain and the NaN substituted afterwards (branch-free).
@inline facosh(x::T) where {T<:AbstractFloat} =
    ifelse(x >= one(T), acosh(ifelse(x >= one(T), x, one(T))), T(NaN))
@inline facosh(x::Number) = acosh(x)
@inline fasinh(x::Number) = asinh(x)
@inline fatanh(x::T) where {T<:AbstractFloat} =
    ifelse(abs(x) <= one(T), atanh(ifelse(abs(x) <= one(T), x, zero(T))), T(NaN))
@inline fatanh(x::Number) = atanh(x)
# Float32 through Float64 log1p (SIMD, mathfuncs.jl): atanh(x) = log1p(2x / (1 - x)) / 2, exact to
# float32 precision, where Base's scalar atanh took 45 ns an element (19x PyTorch). Odd, so the
# result takes x's sign (-0.0 stays -0.0).
@inline function fatanh(x::Float32)
    a = Float64(x)
    r = copysign(0.5 * flog1p(2a / (1 - a)), a)
    ifelse(abs(x) <= 1f0, Float32(r), NaN32)
end

for (name, f, grad) in (
        ("acosh", facosh, "grad * rsqrt(input * input - 1)"),
        ("asinh", fasinh, "grad * rsqrt(input * input + 1)"),
        ("atanh", fatanh, "grad / (1 - input * input)"),
    )
    defmap("$name(input: Tensor) -> Tensor", f; dtypes = "float", grad = ["input" => grad],
           doc = "Elementwise inverse hyperbolic $(name[2:end]), as numpy.arc$(name[2:end]) (NaN outside the " *
                 "real domain); integer inputs give float32.")
end

# ---- two-argument real functions ----------------------------------------------------------------------
const _LN2_64 = 0.6931471805599453

"log(exp(x) + exp(y)) without overflow: max(x, y) + log1p(exp(-|x - y|))."
@inline function flogaddexp(x::T, y::T) where {T<:Union{Float32,Float64}}
    m = ifelse(x > y, x, y)
    r = m + flog1p(fexp(-abs(x - y)))
    r = ifelse(x == y, x + T(_LN2_64), r)          # equal values, infinities included (inf - inf)
    ifelse(isnan(x) | isnan(y), x + y, r)
end
@inline flogaddexp(x::Complex, y::Complex) = _realonly("logaddexp")
@inline flogaddexp(x::Real, y::Real) = flogaddexp(promote(float(x), float(y))...)
defmap("logaddexp(input: Tensor, other: Tensor) -> Tensor", flogaddexp; dtypes = "promote_float",
       grad = ["input" => "grad * exp(input - result)", "other" => "grad * exp(other - result)"],
       doc = "log(exp(input) + exp(other)), computed without overflow (real floating point).")

@inline fhypot(x::T, y::T) where {T<:AbstractFloat} = hypot(x, y)
# Float32: squares in Float64 cannot overflow or underflow, so the plain formula is exact to float32
# precision and vectorizes (Base's rescaling hypot was 8x PyTorch). Infinities win over NaN, as in C.
@inline function fhypot(x::Float32, y::Float32)
    a = Float64(x); b = Float64(y)
    r = Float32(fsqrt(a * a + b * b))
    ifelse(isinf(x) | isinf(y), Inf32, r)
end
@inline fhypot(x::Complex, y::Complex) = _realonly("hypot")
@inline fhypot(x::Real, y::Real) = fhypot(promote(float(x), float(y))...)
defmap("hypot(input: Tensor, other: Tensor) -> Tensor", fhypot; dtypes = "promote_float",
       grad = ["input" => "grad * input / result", "other" => "grad * other / result"],
       doc = "sqrt(input² + other²) without undue overflow or underflow (real floating point).")

@inline fcopysign(x::T, y::T) where {T<:AbstractFloat} = copysign(x, y)
@inline fcopysign(x::Complex, y::Complex) = _realonly("copysign")
@inline fcopysign(x::Real, y::Real) = fcopysign(promote(float(x), float(y))...)
defmap("copysign(input: Tensor, other: Tensor) -> Tensor", fcopysign; dtypes = "promote_float",
       grad = ["input" => "grad * sign(input) * sign(result)", "other" => "zeros_like(grad)"],
       doc = "The magnitude of input with the sign (sign bit, so -0.0 and NaN signs count) of other.")

"C's nextafter: the next representable value after x toward y (y itself when equal)."
@inline fnextafter(x::T, y::T) where {T<:AbstractFloat} =
    ifelse(isnan(x) | isnan(y), x + y, ifelse(y > x, nextfloat(x), ifelse(y < x, prevfloat(x), y)))
@inline fnextafter(x::Complex, y::Complex) = _realonly("nextafter")
@inline fnextafter(x::Real, y::Real) = fnextafter(promote(float(x), float(y))...)
defmap("nextafter(input: Tensor, other: Tensor) -> Tensor", fnextafter; dtypes = "promote_float",
       doc = "The next floating-point value after input toward other (float32 and float64; float16 " *
             "and bfloat16 compute in float32, so their steps are not representable).")

@inline fsignbit(x::Real) = signbit(x)
@inline fsignbit(x::Complex) = _realonly("signbit")
defmap("signbit(input: Tensor) -> Tensor", fsignbit; dtypes = "predicate", inplace = false,
       doc = "True where the sign bit is set (negative numbers, -0.0 and NaNs with the sign bit).")

# ---- rounding of complex numbers ----------------------------------------------------------------------
@inline fround_complex(z::Complex) = complex(fround(real(z)), fround(imag(z)))
@inline fround_complex(x::Real) = fround(x)
defmap("_round_complex(input: Tensor) -> Tensor", fround_complex; dtypes = "same", method = false,
       inplace = false, grad = ["input" => "zeros_like(grad)"], doc = "Round real and imaginary parts independently, half to even.")
