# Element types that cross the Python boundary, their wire codes, and BFloat16.
#
# Julia 1.5 has no BFloat16, so it is defined here as a 16-bit float whose arithmetic goes through
# Float32 (as PyTorch does on the CPU). The code of each type is its index in DTYPES minus one; the
# Python side (python/jtensor/dtypes.py) reads the same table from the registry, so the order below
# is the single source of truth.

primitive type BFloat16 <: AbstractFloat 16 end

Base.Float32(x::BFloat16) = reinterpret(Float32, UInt32(reinterpret(UInt16, x)) << 16)
Base.Float64(x::BFloat16) = Float64(Float32(x))
Base.Float16(x::BFloat16) = Float16(Float32(x))

"Round a Float32 to the nearest BFloat16, ties to even; NaN stays NaN."
function BFloat16(x::Float32)
    isnan(x) && return reinterpret(BFloat16, 0x7fc0)
    u = reinterpret(UInt32, x)
    u += 0x00007fff + ((u >> 16) & 0x00000001)
    reinterpret(BFloat16, (u >> 16) % UInt16)
end
BFloat16(x::BFloat16) = x
BFloat16(x::Real) = BFloat16(Float32(x))
(::Type{T})(x::BFloat16) where {T<:Integer} = T(Float32(x))
Base.Bool(x::BFloat16) = Bool(Float32(x))
Base.convert(::Type{BFloat16}, x::Real) = BFloat16(x)
Base.convert(::Type{BFloat16}, x::BFloat16) = x
Base.promote_rule(::Type{BFloat16}, ::Type{Float32}) = Float32
Base.promote_rule(::Type{BFloat16}, ::Type{Float64}) = Float64
Base.promote_rule(::Type{BFloat16}, ::Type{Float16}) = Float32
Base.promote_rule(::Type{BFloat16}, ::Type{<:Integer}) = BFloat16
Base.promote_rule(::Type{BFloat16}, ::Type{Bool}) = BFloat16
for op in (:+, :-, :*, :/, :^, :rem, :mod, :atan, :min, :max)
    @eval Base.$op(a::BFloat16, b::BFloat16) = BFloat16($op(Float32(a), Float32(b)))
end
for op in (:-, :abs, :sqrt, :exp, :log, :sin, :cos, :tan, :tanh, :floor, :ceil, :trunc, :round)
    @eval Base.$op(a::BFloat16) = BFloat16($op(Float32(a)))
end
for op in (:<, :<=, :(==), :isless, :isequal)
    @eval Base.$op(a::BFloat16, b::BFloat16) = $op(Float32(a), Float32(b))
end
for op in (:isnan, :isinf, :isfinite, :signbit, :iszero)
    @eval Base.$op(a::BFloat16) = $op(Float32(a))
end
Base.zero(::Type{BFloat16}) = reinterpret(BFloat16, 0x0000)
Base.one(::Type{BFloat16}) = reinterpret(BFloat16, 0x3f80)
Base.typemax(::Type{BFloat16}) = reinterpret(BFloat16, 0x7f80)
Base.typemin(::Type{BFloat16}) = reinterpret(BFloat16, 0xff80)
Base.floatmax(::Type{BFloat16}) = reinterpret(BFloat16, 0x7f7f)
Base.eps(::Type{BFloat16}) = reinterpret(BFloat16, 0x3c00)
Base.show(io::IO, x::BFloat16) = print(io, "BFloat16(", Float32(x), ")")

"Wire order of element types; code = index - 1."
const DTYPES = (Bool, Int8, Int16, Int32, Int64, UInt8, Float16, BFloat16, Float32, Float64,
                ComplexF32, ComplexF64)
const DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16",
                     "float32", "float64", "complex64", "complex128")

dtype_of(code::Integer) = DTYPES[code + 1]
function dtype_code(::Type{T}) where {T}
    i = findfirst(isequal(T), DTYPES)
    i === nothing && throw(ArgumentError("element type $T has no jtensor dtype"))
    i - 1
end

"""
    compute_type(T)

The type an elementwise kernel computes in for stored element type `T`: the half-precision
types widen to Float32 (their results are rounded back on store), everything else is itself.
"""
compute_type(::Type{T}) where {T} = T
compute_type(::Type{Float16}) = Float32
compute_type(::Type{BFloat16}) = Float32

"""
    jconvert(T, x)

C-style conversion used when storing results and casting: float→integer truncates, integer→integer
wraps, anything→Bool is `x != 0`, complex→real drops the imaginary part. Never throws, matching
NumPy's and PyTorch's `astype`.
"""
@inline jconvert(::Type{T}, x::T) where {T} = x
@inline jconvert(::Type{Bool}, x::Number) = !iszero(x)
@inline jconvert(::Type{Bool}, x::Bool) = x
for S in (Integer, AbstractFloat, Complex)   # resolve ambiguities with the methods below
    @eval @inline jconvert(::Type{Bool}, x::$S) = !iszero(x)
end
@inline jconvert(::Type{T}, x::AbstractFloat) where {T<:Integer} =
    isfinite(x) ? unsafe_trunc(T, x) : (isnan(x) ? zero(T) : (x > 0 ? typemax(T) : typemin(T)))
@inline jconvert(::Type{T}, x::Integer) where {T<:Integer} = x % T
@inline jconvert(::Type{T}, x::Bool) where {T<:Integer} = T(x)
@inline jconvert(::Type{T}, x::Complex) where {T<:Real} = jconvert(T, real(x))
@inline jconvert(::Type{T}, x::Complex) where {T<:Complex} = convert(T, x)
@inline jconvert(::Type{T}, x::Real) where {T<:Complex} = T(x, 0)
@inline jconvert(::Type{T}, x::Real) where {T<:AbstractFloat} = convert(T, x)
@inline jconvert(::Type{BFloat16}, x::Real) = BFloat16(Float32(x))
@inline jconvert(::Type{BFloat16}, x::Float64) = BFloat16(Float32(x))
@inline jconvert(::Type{T}, x::BFloat16) where {T<:Integer} = jconvert(T, Float32(x))
@inline jconvert(::Type{T}, x::BFloat16) where {T<:AbstractFloat} = convert(T, Float32(x))
@inline jconvert(::Type{BFloat16}, x::BFloat16) = x
@inline jconvert(::Type{Bool}, x::BFloat16) = !iszero(x)
