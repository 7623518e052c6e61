# A new element type, defined outside JTensor: dual numbers (value + partial·ε with ε² = 0).
# Evaluating f on Dual(x, t) gives f(x) and the directional derivative f'(x)·t, so running
# JTensor's own kernels on arrays of Duals is forward-mode differentiation of those kernels.
#
# Nothing in JTensor is edited. Its generic code (the elementwise engine `apply`/`map_into!`,
# `JTensor.call`, the reductions and the plain-loop matmul) runs on `Array{Dual{Float64}}`
# because it is written against `Real`/`AbstractArray`; where a kernel has no generic path for a
# new type (gelu's generic method goes through Float64, dropping the partial), we add a method
# for `Dual` to the kernel function itself: multiple dispatch picks it.
#
# Load it with `jt.julia.include("examples/extending/dual.jl")`; it registers the op
# `jt.dual_jvp` (see the end of the file).

"""
    Dual(value, partial)

A dual number `value + partial·ε`, `ε² = 0`. `f(Dual(x, 1))` holds `f(x)` and `f'(x)`.
"""
struct Dual{T<:AbstractFloat} <: Real
    value::T
    partial::T
end
Dual(v::Real, p::Real) = Dual(promote(float(v), float(p))...)
Dual{T}(x::Real) where {T<:AbstractFloat} = Dual{T}(T(x), zero(T))
Dual{T}(x::Dual) where {T<:AbstractFloat} = Dual{T}(T(x.value), T(x.partial))

value(x::Dual) = x.value
partial(x::Dual) = x.partial

# Promotion: mixing Duals with plain numbers makes Duals.
Base.promote_rule(::Type{Dual{T}}, ::Type{S}) where {T<:AbstractFloat,S<:Real} = Dual{promote_type(T, S)}
Base.promote_rule(::Type{Dual{T}}, ::Type{Dual{S}}) where {T<:AbstractFloat,S<:AbstractFloat} = Dual{promote_type(T, S)}
Base.zero(::Type{Dual{T}}) where {T} = Dual(zero(T), zero(T))
Base.one(::Type{Dual{T}}) where {T} = Dual(one(T), zero(T))
Base.float(x::Dual) = x
Base.show(io::IO, x::Dual) = print(io, x.value, " + ", x.partial, "ε")

# Arithmetic and the functions JTensor's generic kernel methods call (`fexp(x::Number) = exp(x)`, ...).
Base.:+(a::Dual, b::Dual) = Dual(a.value + b.value, a.partial + b.partial)
Base.:-(a::Dual, b::Dual) = Dual(a.value - b.value, a.partial - b.partial)
Base.:-(a::Dual) = Dual(-a.value, -a.partial)
Base.:*(a::Dual, b::Dual) = Dual(a.value * b.value, a.partial * b.value + a.value * b.partial)
Base.:/(a::Dual, b::Dual) = Dual(a.value / b.value, (a.partial * b.value - a.value * b.partial) / (b.value * b.value))
Base.:<(a::Dual, b::Dual) = a.value < b.value
Base.:<=(a::Dual, b::Dual) = a.value <= b.value
Base.:(==)(a::Dual, b::Dual) = a.value == b.value
Base.isless(a::Dual, b::Dual) = isless(a.value, b.value)
Base.isnan(a::Dual) = isnan(a.value)
Base.isinf(a::Dual) = isinf(a.value)
Base.isfinite(a::Dual) = isfinite(a.value)
Base.abs(a::Dual) = a.value < 0 ? -a : a
Base.exp(a::Dual) = (e = exp(a.value); Dual(e, e * a.partial))
Base.log(a::Dual) = Dual(log(a.value), a.partial / a.value)
Base.log1p(a::Dual) = Dual(log1p(a.value), a.partial / (1 + a.value))
Base.expm1(a::Dual) = Dual(expm1(a.value), exp(a.value) * a.partial)
Base.sqrt(a::Dual) = (s = sqrt(a.value); Dual(s, a.partial / (2s)))
Base.sin(a::Dual) = Dual(sin(a.value), cos(a.value) * a.partial)
Base.cos(a::Dual) = Dual(cos(a.value), -sin(a.value) * a.partial)
Base.tanh(a::Dual) = (t = tanh(a.value); Dual(t, (1 - t * t) * a.partial))

# New methods of JTensor's own functions, for the new type:
# - the engine converts every loaded operand and stored result with `JTensor.jconvert`; scalars
#   mixed with Dual arrays need a conversion to Dual (the second method settles the ambiguity
#   with JTensor's `jconvert(::Type{T}, x::T)`);
JTensor.jconvert(::Type{Dual{T}}, x::Real) where {T} = Dual{T}(x)
JTensor.jconvert(::Type{Dual{T}}, x::Dual{T}) where {T} = x
# - gelu's kernel `JTensor.fgelu` has fast methods for Float32/Float64 and a generic one that
#   evaluates erf in Float64 (which would drop the partial): give it a method for Duals.
#   d/dx gelu(x) = Φ(x) + x φ(x).
function JTensor.fgelu(a::Dual)
    x = a.value
    Φ = (1 + JTensor.ferf(x / sqrt(oftype(x, 2)))) / 2
    φ = exp(-x * x / 2) / sqrt(2 * oftype(x, π))
    Dual(JTensor.fgelu(x), (Φ + x * φ) * a.partial)
end

"""
    dual_jvp(op, inputs, tangents) -> (primal, tangent)

Run the registered op `op` with `JTensor.call` on arrays of `Dual`s built from `inputs` (values)
and `tangents` (partials), and split the result: `op(inputs...)` and its directional derivative
along `tangents`. The Dual arrays are built and split by JTensor's elementwise engine (`apply`).
"""
function dual_jvp(op::AbstractString, inputs::AbstractVector, tangents::AbstractVector)
    length(inputs) == length(tangents) ||
        throw(ArgumentError("dual_jvp: $(length(inputs)) inputs but $(length(tangents)) tangents"))
    duals = map(inputs, tangents) do x, t
        size(x) == size(t) ||
            throw(DimensionMismatch("dual_jvp: input of size $(reverse(size(x))) with tangent of size $(reverse(size(t)))"))
        JTensor.apply(Dual, Float64, Dual{Float64}, x, t)
    end
    r = JTensor.call(op, duals...)
    JTensor.apply(value, Dual{Float64}, Float64, r), JTensor.apply(partial, Dual{Float64}, Float64, r)
end

JTensor.defop("dual_jvp(op: str, inputs: TensorList, tangents: TensorList) -> (primal: Tensor, tangent: Tensor)",
              dual_jvp; method = false,
              doc = "Forward-mode derivative of a registered op, computed by running its kernel on dual numbers (float64).")

# ---- Dual{Float64} as a jtensor dtype -----------------------------------------------------------------
# Registered, `Dual{Float64}` is `jt.dual64`: tensors of duals live in Python, and every op whose kernel
# runs on Duals (the elementwise ops above, sum/mean/amax, the generic matmul) computes values and
# forward-mode derivatives at once. `dual(value, partial)` and `dual_parts(x)` cross the border.
dual(v::AbstractArray, p::AbstractArray) = Dual.(Float64.(v), Float64.(p))
dual_parts(x::AbstractArray{<:Dual}) = (map(value, x), map(partial, x))

JTensor.register_dtype(Dual{Float64}; name = "dual64")
JTensor.defop("dual(value: Tensor, partial: Tensor) -> Tensor", dual; method = false,
              doc = "A dual64 tensor value + partial·ε from tensors of values and partials (examples/extending/dual.jl).")
JTensor.defop("dual_parts(x: Tensor) -> (value: Tensor, partial: Tensor)", dual_parts; method = false,
              doc = "The values and partials of a dual64 tensor (examples/extending/dual.jl).")
