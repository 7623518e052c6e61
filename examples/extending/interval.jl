# A new element type, defined outside JTensor: intervals [lo, hi] of Float64, with outward rounding
# (every result is widened by one ulp on each side), so the interval computed for f holds
# f(x) for every x in the input intervals: a tensor of intervals bounds the rounding error, or
# the spread of uncertain inputs, through JTensor's own kernels.
#
# It is a `Number` but not a `Real` (an interval is not one point of the line). Only the methods
# below exist: `sin`, say, has none, and jtensor's `sin` on an interval tensor
# raises an error naming the op, the type and the missing method. There is no `convert` to
# Float64 either (an interval is not one number), so `.tolist()` refuses; `interval_bounds`
# gives the endpoints.
#
# Load it with `jt.julia.include("examples/extending/interval.jl")`.

"""
    Interval(lo, hi)

The closed interval [lo, hi] of real numbers. Arithmetic gives an interval that contains every
result of the operation on numbers of the operands.
"""
struct Interval <: Number
    lo::Float64
    hi::Float64
end
Interval(x::Real) = Interval(Float64(x), Float64(x))
Interval(x::Interval) = x

_out(lo, hi) = Interval(prevfloat(lo), nextfloat(hi))   # outward by one ulp: covers the rounding

# conversions and promotion: numbers become point intervals, mixed arithmetic gives intervals
Base.convert(::Type{Interval}, x::Real) = Interval(x)
Base.convert(::Type{Interval}, x::Interval) = x
Base.promote_rule(::Type{Interval}, ::Type{<:Real}) = Interval
Base.zero(::Type{Interval}) = Interval(0.0, 0.0)
Base.one(::Type{Interval}) = Interval(1.0, 1.0)
Base.show(io::IO, x::Interval) = print(io, "[", x.lo, ", ", x.hi, "]")

Base.:+(a::Interval, b::Interval) = _out(a.lo + b.lo, a.hi + b.hi)
Base.:-(a::Interval, b::Interval) = _out(a.lo - b.hi, a.hi - b.lo)
Base.:-(a::Interval) = Interval(-a.hi, -a.lo)
function Base.:*(a::Interval, b::Interval)
    p = (a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi)
    _out(minimum(p), maximum(p))
end
function Base.:/(a::Interval, b::Interval)
    b.lo <= 0 <= b.hi && throw(DomainError(b, "interval division by an interval holding 0"))
    a * _out(1 / b.hi, 1 / b.lo)
end
Base.exp(a::Interval) = _out(exp(a.lo), exp(a.hi))          # increasing functions: the endpoints
Base.log(a::Interval) = _out(log(a.lo), log(a.hi))
Base.sqrt(a::Interval) = _out(sqrt(a.lo), sqrt(a.hi))
Base.tanh(a::Interval) = _out(tanh(a.lo), tanh(a.hi))
Base.abs(a::Interval) = a.lo >= 0 ? a : a.hi <= 0 ? -a : Interval(0.0, max(-a.lo, a.hi))
Base.max(a::Interval, b::Interval) = Interval(max(a.lo, b.lo), max(a.hi, b.hi))
Base.min(a::Interval, b::Interval) = Interval(min(a.lo, b.lo), min(a.hi, b.hi))
# an order for max/sort-like kernels: by the lower end, then the upper
Base.isless(a::Interval, b::Interval) = isless((a.lo, a.hi), (b.lo, b.hi))
Base.:<(a::Interval, b::Interval) = a.hi < b.lo      # certainly less
Base.:(==)(a::Interval, b::Interval) = a.lo == b.lo && a.hi == b.hi
Base.isnan(a::Interval) = isnan(a.lo) || isnan(a.hi)
Base.isfinite(a::Interval) = isfinite(a.lo) && isfinite(a.hi)

"""
    interval_tensor(lo, hi) -> Interval array;  interval_bounds(x) -> (lo, hi)

Build interval tensors from tensors of endpoints, and take them apart (ops registered below).
"""
interval_tensor(lo::AbstractArray, hi::AbstractArray) = Interval.(Float64.(lo), Float64.(hi))
interval_bounds(x::AbstractArray{Interval}) = (map(i -> i.lo, x), map(i -> i.hi, x))

JTensor.register_dtype(Interval; name = "interval")
JTensor.defop("interval_tensor(lo: Tensor, hi: Tensor) -> Tensor", interval_tensor; method = false,
              doc = "Interval tensor [lo, hi] from tensors of endpoints (examples/extending/interval.jl).")
JTensor.defop("interval_bounds(x: Tensor) -> (lo: Tensor, hi: Tensor)", interval_bounds; method = false,
              doc = "The endpoints of an interval tensor (examples/extending/interval.jl).")
