# A new element type, defined outside JTensor: an 8-bit float, E4M3 ("fn": finite, no infinities),
# the format of PyTorch's torch.float8_e4m3fn. Sign, 4 exponent bits (bias 7), 3 mantissa bits;
# subnormals; the largest value is 448; S.1111.111 is NaN.
#
# It is an ordinary Julia number type: conversions to and from Float32/Float64, promotion rules,
# arithmetic through Float32 (exact for two E4M3 operands, so each result is rounded once),
# comparisons, a few functions and `show`. The last line makes it a jtensor dtype:
# `jt.float8_e4m3`, whose tensors run every op whose kernel works on these methods.
#
# Load it with `jt.julia.include("examples/extending/float8.jl")`.

primitive type Float8E4M3 <: AbstractFloat 8 end

const F8_NAN = 0x7f
const F8_MAX = 448.0

"The value of an E4M3 bit pattern, exactly, as a Float64."
function Base.Float64(x::Float8E4M3)
    b = reinterpret(UInt8, x)
    s = b & 0x80 == 0 ? 1.0 : -1.0
    e, m = Int((b >> 3) & 0x0f), Int(b & 0x07)
    e == 15 && m == 7 && return NaN
    e == 0 && return s * m * 2.0^-9                   # subnormal: m/8 · 2^-6
    s * (1 + m / 8) * 2.0^(e - 7)
end
Base.Float32(x::Float8E4M3) = Float32(Float64(x))
Base.Float16(x::Float8E4M3) = Float16(Float64(x))

"""
Round a Float64 to the nearest E4M3 value, ties to even; beyond ±448 (infinities included) it
saturates to ±448, NaN stays NaN: as PyTorch's conversion to torch.float8_e4m3fn does.
"""
function Float8E4M3(x::Float64)
    isnan(x) && return reinterpret(Float8E4M3, F8_NAN)
    s = signbit(x) ? 0x80 : 0x00
    a = min(abs(x), F8_MAX)
    a == 0 && return reinterpret(Float8E4M3, s)
    q = 2.0^(max(exponent(a), -6) - 3)               # the spacing of E4M3 values around a
    v = round(a / q) * q                              # ties to even (exact in Float64)
    v = min(v, F8_MAX)
    v == 0 && return reinterpret(Float8E4M3, s)
    e = exponent(v)
    bits = e < -6 ? UInt8(v / 2.0^-9) :                # subnormal
        UInt8(((e + 7) << 3) | Int((v / 2.0^e - 1) * 8))
    reinterpret(Float8E4M3, s | bits)
end
Float8E4M3(x::Float8E4M3) = x
Float8E4M3(x::Real) = Float8E4M3(Float64(x))
(::Type{T})(x::Float8E4M3) where {T<:Integer} = T(Float64(x))
Base.Bool(x::Float8E4M3) = Bool(Float64(x))

# conversions (used by jtensor's casts, `.to(dtype)`, `.tolist()`) and promotion (mixed-dtype ops)
Base.convert(::Type{Float8E4M3}, x::Real) = Float8E4M3(x)
Base.convert(::Type{Float8E4M3}, x::Float8E4M3) = x
Base.promote_rule(::Type{Float8E4M3}, ::Type{Float16}) = Float16
Base.promote_rule(::Type{Float8E4M3}, ::Type{Float32}) = Float32
Base.promote_rule(::Type{Float8E4M3}, ::Type{Float64}) = Float64
Base.promote_rule(::Type{Float8E4M3}, ::Type{<:Integer}) = Float8E4M3

# arithmetic in Float32 (exact for E4M3 operands), rounded back once
for op in (:+, :-, :*, :/, :min, :max)
    @eval Base.$op(a::Float8E4M3, b::Float8E4M3) = Float8E4M3($op(Float32(a), Float32(b)))
end
for op in (:-, :abs, :sqrt, :exp, :log, :tanh, :floor, :ceil, :trunc, :round)
    @eval Base.$op(a::Float8E4M3) = Float8E4M3($op(Float32(a)))
end
for op in (:<, :<=, :(==), :isless, :isequal)
    @eval Base.$op(a::Float8E4M3, b::Float8E4M3) = $op(Float32(a), Float32(b))
end
for op in (:isnan, :isinf, :isfinite, :signbit, :iszero)
    @eval Base.$op(a::Float8E4M3) = $op(Float32(a))
end
Base.zero(::Type{Float8E4M3}) = reinterpret(Float8E4M3, 0x00)
Base.one(::Type{Float8E4M3}) = reinterpret(Float8E4M3, 0x38)
Base.floatmax(::Type{Float8E4M3}) = reinterpret(Float8E4M3, 0x7e)
Base.typemax(::Type{Float8E4M3}) = floatmax(Float8E4M3)       # no infinity: the largest finite value
Base.typemin(::Type{Float8E4M3}) = -floatmax(Float8E4M3)
Base.eps(::Type{Float8E4M3}) = reinterpret(Float8E4M3, 0x20)  # 2^-3
Base.show(io::IO, x::Float8E4M3) = print(io, Float32(x))

JTensor.register_dtype(Float8E4M3; name = "float8_e4m3")
