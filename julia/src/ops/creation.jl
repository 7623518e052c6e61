# Creation ops that compute values: ranges, identity, random numbers. (Constant fills are the
# elementwise `fill_` op.) Shapes arrive in Julia order. One global generator: each random op of
# this file takes its stream key (`seed`, python/jtensor/random.py `Generator._next_key`) and seeds
# it first, in the same call; ops drawn inside `drawing(...)` are seeded by `manual_seed` instead.
# A dtype argument is taken as `::Type{T}`: Julia does not specialize a method on a type argument
# that it only passes on, and a loop over `T(...)` conversions then dispatches per element.

"""
    Xoshiro256

xoshiro256++ (Blackman and Vigna), the generator behind every random op. Python's `jt.Generator`
reseeds it before each op's draws (python/jtensor/random.py), so seeding must be cheap: four
splitmix64 steps here, against ~19 µs for a MersenneTwister (whose seeding dominated `jt.rand(10)`).
Only `UInt64` words are primitive; Random's generic samplers build floats, ranges and normals on
them. Uniform float arrays (rand, dropout) get a loop that keeps the state in registers.
"""
mutable struct Xoshiro256 <: AbstractRNG
    s0::UInt64
    s1::UInt64
    s2::UInt64
    s3::UInt64
end

@inline _rotl(x::UInt64, k) = (x << k) | (x >> (64 - k))

@inline function _splitmix64(x::UInt64)
    x += 0x9e3779b97f4a7c15
    z = x
    z = (z ⊻ (z >> 30)) * 0xbf58476d1ce4e5b9
    z = (z ⊻ (z >> 27)) * 0x94d049bb133111eb
    x, z ⊻ (z >> 31)
end

function Random.seed!(r::Xoshiro256, seed::Integer)
    x = seed % UInt64
    x, r.s0 = _splitmix64(x)
    x, r.s1 = _splitmix64(x)
    x, r.s2 = _splitmix64(x)
    x, r.s3 = _splitmix64(x)
    r
end
Xoshiro256(seed::Integer) = Random.seed!(Xoshiro256(0, 0, 0, 0), seed)

@inline function _xoshiro_next(s0::UInt64, s1::UInt64, s2::UInt64, s3::UInt64)
    out = _rotl(s0 + s3, 23) + s0
    t = s1 << 17
    s2 ⊻= s0
    s3 ⊻= s1
    s1 ⊻= s2
    s0 ⊻= s3
    s2 ⊻= t
    out, s0, s1, s2, _rotl(s3, 45)
end

@inline function Random.rand(r::Xoshiro256, ::Random.SamplerType{UInt64})
    out, r.s0, r.s1, r.s2, r.s3 = _xoshiro_next(r.s0, r.s1, r.s2, r.s3)
    out
end
@inline Random.rand(r::Xoshiro256, ::Random.SamplerType{T}) where {T<:Union{Bool,Int8,UInt8,Int16,UInt16,
    Int32,UInt32,Int64}} = rand(r, UInt64) % T
Random.rng_native_52(::Xoshiro256) = UInt64

# floats from the top bits: [0, 1) on the grid of 2^-53 (Float64) or 2^-24 (Float32)
# (through signed integers: one conversion instruction each)
@inline _unit(::Type{Float64}, u::UInt64) = Float64((u >> 11) % Int64) * 0x1.0p-53
@inline _unit(::Type{Float32}, u::UInt64) = Float32((u >> 40) % Int32) * 0x1.0p-24
@inline Random.rand(r::Xoshiro256, ::Random.SamplerTrivial{Random.CloseOpen01{Float64}}) = _unit(Float64, rand(r, UInt64))
@inline Random.rand(r::Xoshiro256, ::Random.SamplerTrivial{Random.CloseOpen01{Float32}}) = _unit(Float32, rand(r, UInt64))
function Random.rand!(r::Xoshiro256, A::Array{T}, ::Random.SamplerTrivial{Random.CloseOpen01{T}}) where {
        T<:Union{Float32,Float64}}
    s0, s1, s2, s3 = r.s0, r.s1, r.s2, r.s3
    @inbounds for i in eachindex(A)
        u, s0, s1, s2, s3 = _xoshiro_next(s0, s1, s2, s3)
        A[i] = _unit(T, u)
    end
    r.s0, r.s1, r.s2, r.s3 = s0, s1, s2, s3
    A
end

const RNG = Xoshiro256(0)

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
function _rand(shape, ::Type{T}, seed::Int) where {T}
    _randT(T)
    C = compute_type(T)
    check_size(T, shape)
    Random.seed!(RNG, seed)
    A = rand(RNG, C, shape...)
    T === C && return A
    # rounding a Float32 draw to half precision can reach 1.0: keep the interval half-open
    below1 = T === BFloat16 ? reinterpret(BFloat16, 0x3f7f) : prevfloat(one(T))
    map!(x -> min(x, Float32(below1)), A, A)
    as_dense(T, A)
end
function _randn(shape, ::Type{T}, seed::Int) where {T}
    _randT(T)
    C = compute_type(T)
    check_size(T, shape)
    Random.seed!(RNG, seed)
    A = randn!(RNG, alloc_out(C, Tuple(shape)))   # the values of randn(RNG, C, shape...)
    T === C ? A : as_dense(T, A)
end
function _randint(low::Int, high::Int, shape, ::Type{T}, seed::Int) where {T}
    high > low || throw(ArgumentError("randint: high ($high) must be greater than low ($low)"))
    check_size(Int64, shape)
    Random.seed!(RNG, seed)
    A = rand(RNG, low:high-1, Tuple(shape))   # a tuple, not splatted: shape () gives a 0-d array
    as_dense(T, A)
end
defop("_rand(size: Shape, dtype: DType, seed: int) -> Tensor", _rand; method = false,
      doc = "Uniform [0, 1) samples of stream key `seed` (python/jtensor/random.py).")
defop("_randn(size: Shape, dtype: DType, seed: int) -> Tensor", _randn; method = false,
      doc = "Standard normal samples of stream key `seed`.")
defop("_randint(low: int, high: int, size: Shape, dtype: DType, seed: int) -> Tensor", _randint; method = false,
      doc = "Uniform integers in [low, high), of stream key `seed`.")

"""
    _view_backward(input, size, strides, offset)

A new contiguous array of Python shape `size`, zero except where a view with the given geometry
(strides and offset in elements, Python order, relative to that array) would see `input`'s
elements, which are added there (overlapping views accumulate). The gradient of every view.

A view whose elements never share a slot (a transpose, a slice, a reshape, a select) is written
by the elementwise engine as one strided copy, into uninitialised memory when it covers the whole
array; an expand is first summed over its broadcast dims, and only other overlapping views (an
`as_strided` with repeats) take the accumulating loop.
"""
function _view_backward(g, sz, strides, offset::Int)
    T = eltype(g)
    nd = ndims(g)
    jst = ntuple(d -> Int(strides[nd - d + 1]), nd)   # Python-order strides paired with Julia dims
    G = g isa Strided ? g : Strided(dense(g))
    total = foldl(*, sz; init = 1)
    # An expand (stride 0 along some dims) of an otherwise injective view: its gradient is the sum
    # over those dims, then the strided copy (rather than the accumulating loop, 7x slower)
    bcast = Tuple(d for d in 1:nd if jst[d] == 0 && size(G, d) > 1)
    if !isempty(bcast) && offset >= 0 && _view_is_injective(ntuple(d -> d in bcast ? 1 : size(G, d), nd), jst)
        G = Strided(sum(dense(G); dims = bcast))
    end
    if _view_is_injective(size(G), jst) && offset >= 0
        R = alloc_out(T, Tuple(sz))   # `sz` arrives in Julia order; the result, so from the output pool
        length(G) == total || fill!(R, zero(T))
        isempty(G) && return R
        GC.@preserve R map_into!(identity, T, Strided{T,nd}(pointer(R) + offset * sizeof(T), size(G), jst, nothing), (G,))
        return R
    end
    R = alloc_zeros(T, sz...)
    @inbounds for I in CartesianIndices(size(G))
        o = offset
        for d in 1:nd
            o += (I[d] - 1) * jst[d]
        end
        R[o + 1] += G[I]
    end
    R
end

"""True when no two indices of an array of size `sz` with element strides `st` (all >= 0) reach the
same offset: ordered by stride, each dim's stride exceeds the span of the dims before it (sufficient;
a geometry this misses only takes the slower accumulating loop)."""
function _view_is_injective(sz::NTuple{N,Int}, st::NTuple{N,Int}) where {N}
    dims = sort([d for d in 1:N if sz[d] > 1]; by = d -> st[d])
    span = 0
    for d in dims
        st[d] > span || return false
        span += (sz[d] - 1) * st[d]
    end
    true
end
_view_backward(g::MetaArray{T}, sz, strides, offset::Int) where {T} = MetaArray{T}(Tuple(sz))
defop("_view_backward(input: Tensor, size: Shape, strides: IntList, offset: int) -> Tensor", _view_backward;
      method = false, grad = ["input" => "restride(grad, input.shape, strides, offset)"],
      doc = "Scatter-add input into zeros through a view's geometry (the gradient of views).")
