# Dropout: a mask of zeros (probability p) and 1/(1-p) from the global generator `RNG`, seeded
# with the stream key `seed` (python/jtensor/random.py).

function _dropout_mask(sz, p::Float64, ::Type{T}, seed::Int) where {T}
    0 <= p <= 1 || throw(ArgumentError("dropout(): probability has to be between 0 and 1, but got $p"))
    T <: AbstractFloat || throw(DTypeError("dropout(): expected a floating point dtype, got $(_dtname(T))"))
    C = compute_type(T)
    M = alloc(C, sz...)
    p == 1 && return _restore(T, fill!(M, zero(C)))
    s = C(1 / (1 - p))
    Random.seed!(RNG, seed)
    rand!(RNG, M)
    @inbounds @simd for i in eachindex(M)
        M[i] = ifelse(M[i] < C(p), zero(C), s)
    end
    _restore(T, M)
end
defop("_dropout_mask(size: Shape, p: float, dtype: DType, seed: int) -> Tensor", _dropout_mask; method = false,
      doc = "A dropout mask: 0 with probability p, else 1/(1-p), drawn from stream key `seed`.")

