# Creation ops that compute values: ranges, identity, random numbers. (Constant fills are the
# elementwise `fill_` op.) Shapes arrive in Julia order. One global generator, seeded by
# `manual_seed`, makes every random op reproducible.
# A dtype argument is taken as `::Type{T}`: Julia does not specialize a method on a type argument
# that it only passes on, and a loop over `T(...)` conversions then dispatches per element.

const RNG = MersenneTwister(0)

defop("manual_seed(seed: int) -> None", seed -> (Random.seed!(RNG, seed); nothing); method = false,
      doc = "Seed the generator behind rand, randn, randint and dropout.")

function _arange(start, stop, step, ::Type{T}) where {T}
    step == 0 && throw(ArgumentError("arange: step must be nonzero"))
    n = max(0, ceil(Int, (stop - start) / step))
    out = alloc(T, n)
    @inbounds for i in 1:n
        out[i] = jconvert(T, start + (i - 1) * step)
    end
    out
end
defop("_arange(start: Scalar, end: Scalar, step: Scalar, dtype: DType) -> Tensor", _arange; method = false,
      doc = "Values start, start+step, ... up to but excluding end.")

function _linspace(start, stop, steps::Int, ::Type{T}) where {T}
    steps < 0 && throw(ArgumentError("linspace: number of steps must be non-negative, got $steps"))
    out = alloc(T, steps)
    C = compute_type(T) <: Complex ? ComplexF64 : Float64
    s, e = C(start), C(stop)
    step = steps > 1 ? (e - s) / (steps - 1) : zero(C)
    half = (steps + 1) ÷ 2
    @inbounds for i in 1:steps   # from both ends, so the last value is exactly `stop`
        out[i] = jconvert(T, i - 1 < half ? s + step * (i - 1) : e - step * (steps - i))
    end
    out
end
defop("_linspace(start: Scalar, end: Scalar, steps: int, dtype: DType) -> Tensor", _linspace; method = false,
      doc = "steps evenly spaced values from start to end inclusive.")

function _eye(n::Int, m::Int, ::Type{T}) where {T}
    out = alloc_zeros(T, m, n)
    for i in 1:min(n, m)
        out[i, i] = one(T)
    end
    out
end
defop("_eye(n: int, m: int, dtype: DType) -> Tensor", _eye; method = false, doc = "n×m identity.")

_randT(T) = T <: Union{AbstractFloat,Complex} ? T :
    throw(DTypeError("random floats need a floating point dtype, got $T"))
function _rand(shape, ::Type{T}) where {T}
    _randT(T)
    C = compute_type(T)
    check_size(T, shape)
    A = rand(RNG, C, shape...)
    T === C && return A
    # rounding a Float32 draw to half precision can reach 1.0: keep the interval half-open
    below1 = T === BFloat16 ? reinterpret(BFloat16, 0x3f7f) : prevfloat(one(T))
    map!(x -> min(x, Float32(below1)), A, A)
    as_dense(T, A)
end
function _randn(shape, ::Type{T}) where {T}
    _randT(T)
    C = compute_type(T)
    check_size(T, shape)
    A = randn(RNG, C, shape...)
    T === C ? A : as_dense(T, A)
end
function _randint(low::Int, high::Int, shape, ::Type{T}) where {T}
    high > low || throw(ArgumentError("randint: high ($high) must be greater than low ($low)"))
    check_size(Int64, shape)
    A = rand(RNG, low:high-1, Tuple(shape))   # a tuple, not splatted: shape () gives a 0-d array
    as_dense(T, A)
end
defop("_rand(size: Shape, dtype: DType) -> Tensor", _rand; method = false, doc = "Uniform [0, 1) samples.")
defop("_randn(size: Shape, dtype: DType) -> Tensor", _randn; method = false, doc = "Standard normal samples.")
defop("_randint(low: int, high: int, size: Shape, dtype: DType) -> Tensor", _randint; method = false,
      doc = "Uniform integers in [low, high).")

"""
    _view_backward(input, size, strides, offset)

A new contiguous array of Python shape `size`, zero except where a view with the given geometry
(strides and offset in elements, Python order, relative to that array) would see `input`'s
elements, which are added there (overlapping views accumulate). The gradient of every view.
"""
function _view_backward(g, sz, strides, offset::Int)
    T = eltype(g)
    R = alloc_zeros(T, sz...)                # `sz` arrives in Julia order (a Shape parameter)
    nd = ndims(g)
    jst = ntuple(d -> strides[nd - d + 1], nd)   # Python-order strides paired with Julia dims
    G = g isa Strided ? g : Strided(dense(g))
    @inbounds for I in CartesianIndices(size(G))
        o = offset
        for d in 1:nd
            o += (I[d] - 1) * jst[d]
        end
        R[o + 1] += G[I]
    end
    R
end
_view_backward(g::MetaArray{T}, sz, strides, offset::Int) where {T} = MetaArray{T}(Tuple(sz))
defop("_view_backward(input: Tensor, size: Shape, strides: IntList, offset: int) -> Tensor", _view_backward;
      method = false, grad = ["input" => "restride(grad, input.shape, strides, offset)"],
      doc = "Scatter-add input into zeros through a view's geometry (the gradient of views).")
