# Elementwise ops: each is one scalar function registered with `defmap`. The engine (engine.jl)
# supplies broadcasting, strides, dtype conversion and threads; Python supplies promotion
# (the named `dtypes` rule) and in-place / out= forms. `grad` lists, per input, its derivative
# formula in registered ops (`grad` is the incoming gradient, `result` the op's output).

# NaN-returning versions of functions whose Base methods throw DomainError on bad real input.
@inline fsqrt(x::Union{Float32,Float64}) = Base.sqrt_llvm(x)
@inline fsqrt(x::Number) = sqrt(x)
@inline frsqrt(x) = one(x) / fsqrt(x)
@inline fpow_int(x::Integer, y::Integer) = y < 0 ? (x == 1 ? one(x) : x == -1 ? (iseven(y) ? one(x) : x) :
    throw(DomainError(y, "integers to negative integer powers are not allowed"))) : x^y
@inline fpow_any(x::Integer, y::Integer) = fpow_int(x, y)
@inline fpow_any(x::Bool, y::Bool) = x | !y
@inline fpow_any(x, y) = fpow(x, y)

@inline frelu(x) = ifelse(x > zero(x), x, zero(x))
@inline fsign(x::Real) = ifelse(x > zero(x), one(x), ifelse(x < zero(x), -one(x), x))   # keeps NaN, ±0
@inline fsign(x::Bool) = x
@inline fsign(x::Complex) = iszero(x) ? x : x / abs(x)
@inline fsquare(x) = x * x
@inline freciprocal(x) = one(x) / x
@inline fround(x::AbstractFloat) = round(x, RoundNearest)   # half to even, as NumPy and PyTorch
@inline fround(x) = x
@inline ffloor(x::AbstractFloat) = floor(x)
@inline ffloor(x) = x
@inline fceil(x::AbstractFloat) = ceil(x)
@inline fceil(x) = x
@inline ftrunc(x::AbstractFloat) = trunc(x)
@inline ftrunc(x) = x
@inline fabs(x::Bool) = x
@inline fabs(x) = abs(x)

# Python-semantics integer/floor division and remainder (result takes the divisor's sign).
@inline ffloordiv(x::Integer, y::Integer) = fld(x, y)
@inline ffloordiv(x::Bool, y::Bool) = y ? x : throw(DivideError())
@inline ffloordiv(x::AbstractFloat, y::AbstractFloat) = floor(x / y)
@inline fremainder(x::Integer, y::Integer) = mod(x, y)
@inline function fremainder(x::AbstractFloat, y::AbstractFloat)
    r = rem(x, y)
    ifelse((r != 0) & (signbit(r) != signbit(y)), r + y, r)
end
@inline ftruediv(x, y) = x / y

@inline _lo(x, lo::Nothing) = x
@inline _lo(x, lo) = ifelse(isnan(x) | (x >= lo), x, lo)
@inline _lo(x::Integer, lo) = max(x, lo)
@inline _hi(x, hi::Nothing) = x
@inline _hi(x, hi) = ifelse(isnan(x) | (x <= hi), x, hi)
@inline _hi(x::Integer, hi) = min(x, hi)
@inline fclamp(x, lo, hi) = _hi(_lo(x, lo), hi)
@inline jconvert(::Type{T}, x::Nothing) where {T} = nothing

@inline fmaximum(x, y) = ifelse(isnan(x) | (x > y), x, y)
@inline fmaximum(x::Integer, y::Integer) = max(x, y)
@inline fminimum(x, y) = ifelse(isnan(x) | (x < y), x, y)
@inline fminimum(x::Integer, y::Integer) = min(x, y)
@inline fisnan(x) = isnan(x)
@inline fisnan(x::Integer) = false
@inline fisinf(x) = isinf(x)
@inline fisinf(x::Integer) = false
@inline fisfinite(x) = isfinite(x)
@inline fisfinite(x::Integer) = true
@inline fisclose(x, y, rtol, atol, equal_nan) =
    (x == y) | (equal_nan & isnan(x) & isnan(y)) | (abs(x - y) <= atol + rtol * abs(y))
@inline flerp(a, b, w) = a + w * (b - a)
@inline fwhere(c, a, b) = ifelse(!iszero(c), a, b)
@inline fmul(x::Bool, y::Bool) = x & y
@inline fmul(x, y) = x * y
@inline fadd(x::Bool, y::Bool, alpha) = x | (y & !iszero(alpha))
@inline fadd(x, y, alpha) = x + alpha * y
@inline fadd(x, y, alpha::Bool) = alpha ? x + y : x
@inline fsub(x, y, alpha) = x - alpha * y
@inline fsub(x, y, alpha::Bool) = alpha ? x - y : x

const _float = "float"
for (name, f, grad) in (
        ("exp", fexp, "grad * result"),
        ("expm1", fexpm1, "grad * (result + 1)"),
        ("log", flog, "grad / input"),
        ("log1p", flog1p, "grad / (input + 1)"),
        ("log2", flog2, "grad / (input * 0.6931471805599453)"),
        ("log10", flog10, "grad / (input * 2.302585092994046)"),
        ("sqrt", fsqrt, "grad / (2 * result)"),
        ("rsqrt", frsqrt, "grad * -0.5 * result * result * result"),
        ("sin", fsin, "grad * cos(input)"),
        ("cos", fcos, "grad * -sin(input)"),
        ("tan", ftan, "grad * (1 + result * result)"),
        ("asin", fasin, "grad * rsqrt(1 - input * input)"),
        ("acos", facos, "grad * -rsqrt(1 - input * input)"),
        ("atan", fatan, "grad / (1 + input * input)"),
        ("sinh", fsinh, "grad * cosh(input)"),
        ("cosh", fcosh, "grad * sinh(input)"),
        ("tanh", ftanh, "grad * (1 - result * result)"),
        ("sigmoid", fsigmoid, "grad * result * (1 - result)"),
        ("erf", ferf, "grad * 1.1283791670955126 * exp(-input * input)"),
        ("gelu", fgelu, "grad * (0.5 * (1 + erf(input * 0.7071067811865476)) + input * 0.3989422804014327 * exp(-0.5 * input * input))"),
        ("silu", fsilu, "grad * (sigmoid(input) * (1 + input * (1 - sigmoid(input))))"),
        ("softplus", fsoftplus, "grad * sigmoid(input)"),
        ("reciprocal", freciprocal, "grad * -result * result"),
    )
    defmap("$name(input: Tensor) -> Tensor", f; dtypes = _float, grad = ["input" => grad],
           doc = "Elementwise $name, as torch.$name / numpy; integer inputs give float32.")
end

for (name, f, rule, grad) in (
        ("neg", -, "same", "-grad"),
        ("square", fsquare, "same", "grad * 2 * input"),
        ("relu", frelu, "same", "grad * (input > 0)"),
        ("abs", fabs, "abs", "grad * sign(input)"),
        ("sign", fsign, "same", ""),
        ("floor", ffloor, "rounding", ""),
        ("ceil", fceil, "rounding", ""),
        ("round", fround, "rounding", ""),
        ("trunc", ftrunc, "rounding", ""),
        ("conj", conj, "same", "conj(grad)"),
        ("real", real, "real_part", "grad"),
        ("imag", imag, "real_part", ""),
        ("isnan", fisnan, "predicate", ""),
        ("isinf", fisinf, "predicate", ""),
        ("isfinite", fisfinite, "predicate", ""),
        ("logical_not", iszero, "to_bool", ""),
        ("bitwise_not", ~, "bitwise", ""),
    )
    defmap("$name(input: Tensor) -> Tensor", f; dtypes = rule,
           grad = isempty(grad) ? Pair{String,String}[] : ["input" => grad],
           doc = "Elementwise $name, as torch.$name.")
end

defmap("add(input: Tensor, other: Tensor, *, alpha: Scalar = 1) -> Tensor", fadd; dtypes = "promote",
       grad = ["input" => "grad", "other" => "grad * alpha"], doc = "input + alpha * other, broadcast.")
defmap("sub(input: Tensor, other: Tensor, *, alpha: Scalar = 1) -> Tensor", fsub; dtypes = "promote",
       grad = ["input" => "grad", "other" => "-grad * alpha"], doc = "input - alpha * other, broadcast.")
defmap("mul(input: Tensor, other: Tensor) -> Tensor", fmul; dtypes = "promote",
       grad = ["input" => "grad * other", "other" => "grad * input"], doc = "Elementwise product, broadcast.")
defmap("div(input: Tensor, other: Tensor) -> Tensor", ftruediv; dtypes = "promote_float",
       grad = ["input" => "grad / other", "other" => "-grad * result / other"], doc = "True division, broadcast.")
defmap("floor_divide(input: Tensor, other: Tensor) -> Tensor", ffloordiv; dtypes = "promote_real",
       doc = "Floor division (Python //), broadcast.")
defmap("remainder(input: Tensor, other: Tensor) -> Tensor", fremainder; dtypes = "promote_real",
       grad = ["input" => "grad"], doc = "Python-style remainder (sign of the divisor), broadcast.")
defmap("pow(input: Tensor, exponent: Tensor) -> Tensor", fpow_any; dtypes = "promote",
       grad = ["input" => "grad * exponent * pow(input, exponent - 1)", "exponent" => "grad * result * log(input)"],
       doc = "input ** exponent, broadcast.")
defmap("maximum(input: Tensor, other: Tensor) -> Tensor", fmaximum; dtypes = "promote_real",
       grad = ["input" => "grad * (input >= other)", "other" => "grad * (input < other)"],
       doc = "Elementwise maximum, NaN-propagating.")
defmap("minimum(input: Tensor, other: Tensor) -> Tensor", fminimum; dtypes = "promote_real",
       grad = ["input" => "grad * (input <= other)", "other" => "grad * (input > other)"],
       doc = "Elementwise minimum, NaN-propagating.")
defmap("atan2(input: Tensor, other: Tensor) -> Tensor", atan; dtypes = "promote_float",
       grad = ["input" => "grad * other / (input * input + other * other)",
               "other" => "-grad * input / (input * input + other * other)"],
       doc = "Elementwise atan2(input, other).")
for (name, f) in (("eq", ==), ("ne", !=), ("lt", <), ("le", <=), ("gt", >), ("ge", >=))
    defmap("$name(input: Tensor, other: Tensor) -> Tensor", f; dtypes = "compare",
           doc = "Elementwise comparison $f, giving bool.")
end
for (name, f) in (("logical_and", (x, y) -> !iszero(x) & !iszero(y)),
                  ("logical_or", (x, y) -> !iszero(x) | !iszero(y)),
                  ("logical_xor", (x, y) -> !iszero(x) ⊻ !iszero(y)))
    defmap("$name(input: Tensor, other: Tensor) -> Tensor", f; dtypes = "logical",
           doc = "Elementwise $name, giving bool.")
end
for (name, f) in (("bitwise_and", &), ("bitwise_or", |), ("bitwise_xor", ⊻),
                  ("bitwise_left_shift", <<), ("bitwise_right_shift", >>))
    defmap("$name(input: Tensor, other: Tensor) -> Tensor", f; dtypes = "bitwise",
           doc = "Elementwise $name of integer or bool tensors.")
end
defmap("where(condition: Tensor, input: Tensor, other: Tensor) -> Tensor", fwhere; dtypes = "where",
       method = false, inplace = false,
       grad = ["input" => "where(condition, grad, 0)", "other" => "where(condition, 0, grad)"],
       doc = "Elements of input where condition holds, else of other (broadcast).")
defmap("clamp(input: Tensor, min: Tensor = None, max: Tensor = None) -> Tensor", fclamp; dtypes = "promote",
       grad = ["input" => "grad * logical_and(input >= min, input <= max)"],
       doc = "Limit input to [min, max]; either bound may be None.")
defmap("lerp(input: Tensor, end: Tensor, weight: Tensor) -> Tensor", flerp; dtypes = "promote_float",
       grad = ["input" => "grad * (1 - weight)", "end" => "grad * weight"],
       doc = "input + weight * (end - input).")
defmap("isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor",
       fisclose; dtypes = "compare", inplace = false,
       doc = "|input - other| <= atol + rtol * |other|, elementwise.")
defmap("copy_(input: Tensor, src: Tensor) -> Tensor", identity; dtypes = "copy", inplace = false,
       doc = "Copy src into input (broadcast, converting dtype).")
defmap("fill_(input: Tensor, value: Scalar) -> Tensor", identity; dtypes = "fill", inplace = false,
       doc = "Fill input with value.")
defmap("_cast(input: Tensor, dtype: DType) -> Tensor", identity; dtypes = "cast", inplace = false, method = false,
       doc = "A copy of input converted to dtype (C-style: floats truncate toward zero into integers).")

function _allclose(a, b, rtol, atol, equal_nan)
    sz = broadcast_size(size(a), size(b))
    A = broadcast_to(Strided(a), sz)
    B = broadcast_to(Strided(b), sz)
    T = compute_type(promote_type(eltype(a), eltype(b)))
    out = Array{Bool}(undef, sz)
    map_into!(fisclose, T, Strided(out), (A, B), (rtol, atol, equal_nan))
    all(out)
end
defop("allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool",
      _allclose; doc = "True when isclose holds everywhere.")
