# Elementwise ops: each is one scalar function registered with `defmap`. The engine (engine.jl)
# supplies broadcasting, strides, dtype conversion and threads; Python supplies promotion
# (the named `dtypes` rule) and in-place / out= forms. `grad` lists, per input, its derivative
# formula in registered ops (`grad` is the incoming gradient, `result` the op's output).

const _IntT = Union{Int8,Int16,Int32,Int64,UInt8}   # the integer element types

# NaN-returning versions of functions whose Base methods throw DomainError on bad real input.
@inline fsqrt(x::Union{Float32,Float64}) = Base.sqrt_llvm(x)
@inline fsqrt(x::Number) = sqrt(x)
@inline frsqrt(x) = one(x) / fsqrt(x)
@inline fpow_int(x::Integer, y::Integer) = y < 0 ? (x == 1 ? one(x) : x == -1 ? (iseven(y) ? one(x) : x) :
    throw(DomainError(y, "integers to negative integer powers are not allowed"))) : x^y
@inline fpow_any(x::Integer, y::Integer) = fpow_int(x, y)
@inline fpow_any(x::Bool, y::Bool) = x | !y
@inline fpow_any(x, y) = fpow(x, y)

@inline frelu(x) = ifelse(x < zero(x), zero(x), x)   # NaN propagates, as torch.relu
@inline fsign(x::Real) = ifelse(x > zero(x), one(x), ifelse(x < zero(x), -one(x), x))   # keeps NaN, ±0
@inline fsign(x::Bool) = x
@inline fsign(x::Complex) = iszero(x) ? x : x / abs(x)
@inline fsquare(x) = x * x
@inline fcube(x) = x * x * x
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
@inline ffloordiv(x::T, y::T) where {T<:Signed} = y == -one(T) ? -x : fld(x, y)   # typemin // -1 wraps
@inline ffloordiv(x::Bool, y::Bool) = y ? x : throw(DivideError())
# Floats as CPython / NumPy (npy_divmod): the quotient of x - fmod(x, y), so 1.0 // 0.1 == 9.0
# (floor(x / y) gives 10.0) and inf // y is NaN.
@inline function ffloordiv(x::T, y::T) where {T<:AbstractFloat}
    m = rem(x, y)
    d = (x - m) / y
    d = ifelse((m != 0) & (signbit(m) != signbit(y)), d - one(T), d)
    f = floor(d)
    f = ifelse(d - f > T(0.5), f + one(T), f)
    ifelse(y == 0, x / y, ifelse(d == 0, copysign(zero(T), x / y), f))
end
@inline fremainder(x::Integer, y::Integer) = mod(x, y)
@inline function fremainder(x::AbstractFloat, y::AbstractFloat)
    r = rem(x, y)
    r = ifelse((r != 0) & (signbit(r) != signbit(y)), r + y, r)
    ifelse(r == 0, copysign(zero(r), y), r)   # a zero takes the divisor's sign, as Python
end
@inline ftruediv(x, y) = x / y

@inline _lo(x, lo::Nothing) = x
@inline _lo(x, lo) = ifelse(isnan(x) | (x >= lo), x, lo)
@inline _lo(x::Integer, lo) = max(x, lo)
@inline _lo(x::Integer, lo::Nothing) = x
@inline _hi(x, hi::Nothing) = x
@inline _hi(x, hi) = ifelse(isnan(x) | (x <= hi), x, hi)
@inline _hi(x::Integer, hi) = min(x, hi)
@inline _hi(x::Integer, hi::Nothing) = x
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
# An infinity is close only to itself (|x - inf| <= rtol * inf would hold for every finite x).
@inline fisclose(x, y, rtol, atol, equal_nan) =
    (x == y) | (equal_nan & isnan(x) & isnan(y)) | (isfinite(x) & isfinite(y) & (abs(x - y) <= atol + rtol * abs(y)))
# Integers: the difference in Int128, so that it cannot wrap (Int8(-128) is not close to 127).
@inline fisclose(x::T, y::T, rtol, atol, equal_nan) where {T<:_IntT} =
    (x == y) | (abs(Int128(x) - Int128(y)) <= atol + rtol * abs(Int128(y)))
@inline flerp(a, b, w) = a + w * (b - a)
@inline fwhere(c, a, b) = ifelse(!iszero(c), a, b)
@inline fmul(x::Bool, y::Bool) = x & y
@inline fmul(x, y) = x * y
@inline fadd(x::Bool, y::Bool, alpha) = x | (y & !iszero(alpha))
@inline fadd(x::Bool, y::Bool, alpha::Bool) = x | (y & alpha)
@inline fadd(x, y, alpha) = x + alpha * y
@inline fadd(x, y, alpha::Bool) = alpha ? x + y : x
@inline fsub(x, y, alpha) = x - alpha * y
@inline fsub(x, y, alpha::Bool) = alpha ? x - y : x
# As PyTorch: a floating-point alpha with integer inputs is refused, not truncated into the result.
_float_alpha(name) = throw(DTypeError("$name: for integer inputs, alpha must not be a floating point number"))
@inline fadd(x::T, y::T, alpha::AbstractFloat) where {T<:_IntT} = _float_alpha("add")
@inline fsub(x::T, y::T, alpha::AbstractFloat) where {T<:_IntT} = _float_alpha("sub")

const _float = "float"
# Complex inputs: PyTorch's convention (the gradient of a holomorphic f is grad * conj(f')), so
# each derivative goes through `cj` (conj for complex tensors, free for real ones).
for (name, f, grad) in (
        ("exp", fexp, "grad * cj(result)"),
        ("expm1", fexpm1, "grad * cj(result + 1)"),
        ("log", flog, "grad / cj(input)"),
        ("log1p", flog1p, "grad / cj(input + 1)"),
        ("log2", flog2, "grad / cj(input * 0.6931471805599453)"),
        ("log10", flog10, "grad / cj(input * 2.302585092994046)"),
        ("sqrt", fsqrt, "grad / cj(2 * result)"),
        ("rsqrt", frsqrt, "grad * cj(-0.5 * result * result * result)"),
        ("sin", fsin, "grad * cj(cos(input))"),
        ("cos", fcos, "grad * cj(-sin(input))"),
        ("tan", ftan, "grad * cj(1 + result * result)"),
        ("asin", fasin, "grad * rsqrt(1 - input * input)"),
        ("acos", facos, "grad * -rsqrt(1 - input * input)"),
        ("atan", fatan, "grad / (1 + input * input)"),
        ("sinh", fsinh, "grad * cj(cosh(input))"),
        ("cosh", fcosh, "grad * cj(sinh(input))"),
        ("tanh", ftanh, "grad * cj(1 - result * result)"),
        ("sigmoid", fsigmoid, "grad * cj(result * (1 - result))"),
        ("erf", ferf, "grad * 1.1283791670955126 * exp(-input * input)"),
        ("gelu", fgelu, "grad * (0.5 * (1 + erf(input * 0.7071067811865476)) + input * 0.3989422804014327 * exp(-0.5 * input * input))"),
        ("silu", fsilu, "grad * (sigmoid(input) * (1 + input * (1 - sigmoid(input))))"),
        ("softplus", fsoftplus, "grad * sigmoid(input)"),
        ("reciprocal", freciprocal, "grad * cj(-result * result)"),
    )
    defmap("$name(input: Tensor) -> Tensor", f; dtypes = _float, grad = ["input" => grad],
           doc = "Elementwise $name, as torch.$name / numpy; integer inputs give float32.")
end

for (name, f, rule, grad) in (
        ("neg", -, "negate", "-grad"),
        ("square", fsquare, "same", "grad * 2 * cj(input)"),
        ("relu", frelu, "same", "_relu_backward(grad, result)"),
        ("abs", fabs, "abs", "grad * sign(input)"),
        ("sign", fsign, "same", "zeros_like(grad)"),          # piecewise constant: zero, as torch
        ("floor", ffloor, "rounding", "zeros_like(grad)"),
        ("ceil", fceil, "rounding", "zeros_like(grad)"),
        ("round", fround, "rounding", "zeros_like(grad)"),
        ("trunc", ftrunc, "rounding", "zeros_like(grad)"),
        ("conj", conj, "same", "conj(grad)"),
        ("real", real, "real_part", "grad"),
        ("imag", imag, "real_part", "grad * 1j"),
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

# `x ** 3` as PyTorch computes it (pow's shortcut below): two products, not a general power.
defmap("_cube(input: Tensor) -> Tensor", fcube; dtypes = "same", method = false,
       grad = ["input" => "grad * 3 * cj(square(input))"], doc = "input * input * input (input ** 3).")

# relu's backward as one elementwise op of two same-dtype tensors (the C fast path's case), rather
# than a comparison and a product with a bool mask.
@inline frelu_backward(g, r) = ifelse(r > zero(r), g, zero(g))
defmap("_relu_backward(grad_output: Tensor, output: Tensor) -> Tensor", frelu_backward; dtypes = "promote",
       inplace = false, method = false,
       grad = ["grad_output" => "_relu_backward(grad, output)", "output" => "zeros_like(grad)"],
       doc = "grad_output where relu's output is positive, else 0.")

defmap("add(input: Tensor, other: Tensor, *, alpha: Scalar = 1) -> Tensor", fadd; dtypes = "promote",
       grad = ["input" => "grad", "other" => "grad * cj(alpha)"], doc = "input + alpha * other, broadcast.")
defmap("sub(input: Tensor, other: Tensor, *, alpha: Scalar = 1) -> Tensor", fsub; dtypes = "subtract",
       grad = ["input" => "grad", "other" => "-grad * cj(alpha)"], doc = "input - alpha * other, broadcast.")
defmap("mul(input: Tensor, other: Tensor) -> Tensor", fmul; dtypes = "promote",
       grad = ["input" => "grad * cj(other)", "other" => "grad * cj(input)"],
       doc = "Elementwise product, broadcast.")
defmap("div(input: Tensor, other: Tensor) -> Tensor", ftruediv; dtypes = "promote_float",
       grad = ["input" => "grad / cj(other)", "other" => "-grad * cj(result / other)"],
       doc = "True division, broadcast.")
defmap("floor_divide(input: Tensor, other: Tensor) -> Tensor", ffloordiv; dtypes = "promote_real",
       grad = ["input" => "zeros_like(grad)", "other" => "zeros_like(grad)"],
       doc = "Floor division (Python //), broadcast.")
defmap("remainder(input: Tensor, other: Tensor) -> Tensor", fremainder; dtypes = "promote_real",
       grad = ["input" => "grad", "other" => "-grad * floor_divide(input, other)"],
       doc = "Python-style remainder (sign of the divisor), broadcast.")
defmap("pow(input: Tensor, exponent: Tensor) -> Tensor", fpow_any; dtypes = "promote",
       grad = ["input" => "pow_backward_input(grad, input, exponent)",
               "exponent" => "pow_backward_exponent(grad, input, exponent, result)"],
       shortcuts = ["2" => "square", "3" => "_cube", "0.5" => "sqrt", "-1" => "reciprocal", "-0.5" => "rsqrt"],
       doc = "input ** exponent, broadcast.")
defmap("maximum(input: Tensor, other: Tensor) -> Tensor", fmaximum; dtypes = "promote_real",
       grad = ["input" => "where(input < other, 0, max_tie_backward(grad, input, other))",
               "other" => "where(input > other, 0, max_tie_backward(grad, input, other))"],
       doc = "Elementwise maximum, NaN-propagating.")
defmap("minimum(input: Tensor, other: Tensor) -> Tensor", fminimum; dtypes = "promote_real",
       grad = ["input" => "where(input > other, 0, max_tie_backward(grad, input, other))",
               "other" => "where(input < other, 0, max_tie_backward(grad, input, other))"],
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
# Shifts as PyTorch defines them: a negative count, or one past the width, shifts every bit out
# (Julia's `<<` would shift the other way for a negative count); `>>` then leaves the sign fill.
@inline _shift_width(x) = 8 * sizeof(x)
@inline fshl(x, s) = s < zero(s) ? x << _shift_width(x) : x << s
@inline fshr(x, s) = s < zero(s) ? x >> _shift_width(x) : x >> s
for (name, f) in (("bitwise_and", &), ("bitwise_or", |), ("bitwise_xor", ⊻),
                  ("bitwise_left_shift", fshl), ("bitwise_right_shift", fshr))
    defmap("$name(input: Tensor, other: Tensor) -> Tensor", f; dtypes = "bitwise",
           doc = "Elementwise $name of integer or bool tensors.")
end
defmap("where(condition: Tensor, input: Tensor, other: Tensor) -> Tensor", fwhere; dtypes = "where",
       method = false, inplace = false,
       grad = ["input" => "where(condition, grad, 0)", "other" => "where(condition, 0, grad)"],
       doc = "Elements of input where condition holds, else of other (broadcast).")
defmap("clamp(input: Tensor, min: Tensor = None, max: Tensor = None) -> Tensor", fclamp; dtypes = "promote",
       grad = ["input" => "where(clamp_mask(input, min, max), grad, 0)",
               "min" => "clamp_min_backward(grad, input, min, max)",
               "max" => "clamp_max_backward(grad, input, min, max)"],
       doc = "Limit input to [min, max]; either bound may be None.")
defmap("lerp(input: Tensor, end: Tensor, weight: Tensor) -> Tensor", flerp; dtypes = "promote_float",
       grad = ["input" => "grad * (1 - weight)", "end" => "grad * weight", "weight" => "grad * (end - input)"],
       doc = "input + weight * (end - input).")
defmap("isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor",
       fisclose; dtypes = "compare", inplace = false,
       doc = "|input - other| <= atol + rtol * |other|, elementwise.")
defmap("copy_(input: Tensor, src: Tensor) -> Tensor", identity; dtypes = "copy", inplace = false,
       grad = ["input" => "zeros_like(grad)", "src" => "grad"],
       doc = "Copy src into input (broadcast, converting dtype).")
defmap("fill_(input: Tensor, value: Scalar) -> Tensor", identity; dtypes = "fill", inplace = false,
       grad = ["input" => "zeros_like(grad)"], doc = "Fill input with value.")
defmap("_cast(input: Tensor, dtype: DType) -> Tensor", identity; dtypes = "cast", inplace = false, method = false,
       grad = ["input" => "grad"],
       doc = "A copy of input converted to dtype (C-style: floats truncate toward zero into integers).")

function _allclose(a, b, rtol, atol, equal_nan)
    sz = broadcast_size(size(a), size(b))
    A = broadcast_to(Strided(a), sz)
    B = broadcast_to(Strided(b), sz)
    T = compute_type(promote_dtype(eltype(a), eltype(b)))
    out = alloc(Bool, sz)
    map_into!(fisclose, T, Strided(out), (A, B), (rtol, atol, equal_nan))
    all(out)
end
defop("allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool",
      _allclose; doc = "True when isclose holds everywhere.")
