# Creation ops that compute values: ranges, identity, random numbers. (Constant fills are the
# elementwise `fill_` op.) Shapes arrive in Julia order. One global generator, seeded by
# `manual_seed`, makes every random op reproducible.

const RNG = MersenneTwister(0)

defop("manual_seed(seed: int) -> None", seed -> (Random.seed!(RNG, seed); nothing); method = false,
      doc = "Seed the generator behind rand, randn, randint and dropout.")

function _arange(start, stop, step, T)
    step == 0 && throw(ArgumentError("arange: step must be nonzero"))
    n = max(0, ceil(Int, (stop - start) / step))
    out = Array{T}(undef, n)
    @inbounds for i in 1:n
        out[i] = jconvert(T, start + (i - 1) * step)
    end
    out
end
defop("_arange(start: Scalar, end: Scalar, step: Scalar, dtype: DType) -> Tensor", _arange; method = false,
      doc = "Values start, start+step, ... up to but excluding end.")

function _linspace(start, stop, steps::Int, T)
    steps < 0 && throw(ArgumentError("linspace: number of steps must be non-negative, got $steps"))
    out = Array{T}(undef, steps)
    C = compute_type(T) <: Complex ? ComplexF64 : Float64
    s, e = C(start), C(stop)
    step = steps > 1 ? (e - s) / (steps - 1) : zero(C)
    half = steps ÷ 2
    @inbounds for i in 1:steps   # from both ends, so the last value is exactly `stop`
        out[i] = jconvert(T, i - 1 < half ? s + step * (i - 1) : e - step * (steps - i))
    end
    out
end
defop("_linspace(start: Scalar, end: Scalar, steps: int, dtype: DType) -> Tensor", _linspace; method = false,
      doc = "steps evenly spaced values from start to end inclusive.")

function _eye(n::Int, m::Int, T)
    out = zeros(T, m, n)
    for i in 1:min(n, m)
        out[i, i] = one(T)
    end
    out
end
defop("_eye(n: int, m: int, dtype: DType) -> Tensor", _eye; method = false, doc = "n×m identity.")

_randT(T) = T <: Union{AbstractFloat,Complex} ? T :
    throw(DTypeError("random floats need a floating point dtype, got $T"))
function _rand(shape, T)
    _randT(T)
    C = compute_type(T)
    A = rand(RNG, C <: Complex ? C : C, shape...)
    T === C ? A : as_dense(T, A)
end
function _randn(shape, T)
    _randT(T)
    C = compute_type(T)
    A = randn(RNG, C, shape...)
    T === C ? A : as_dense(T, A)
end
function _randint(low::Int, high::Int, shape, T)
    high > low || throw(ArgumentError("randint: high ($high) must be greater than low ($low)"))
    A = rand(RNG, low:high-1, shape...)
    as_dense(T, A)
end
defop("_rand(size: Shape, dtype: DType) -> Tensor", _rand; method = false, doc = "Uniform [0, 1) samples.")
defop("_randn(size: Shape, dtype: DType) -> Tensor", _randn; method = false, doc = "Standard normal samples.")
defop("_randint(low: int, high: int, size: Shape, dtype: DType) -> Tensor", _randint; method = false,
      doc = "Uniform integers in [low, high).")
