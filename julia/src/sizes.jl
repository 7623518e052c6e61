# Checked allocation. Julia 1.5 as Debian builds it has no 128-bit integers in its array
# allocator, so the element and byte counts of `Array{T}(undef, dims)` are computed in 64 bits
# and wrap around: 2^62 Float32s ask for 0 bytes, the allocation "succeeds", and the kernel then
# writes over the heap. Every kernel allocation whose size comes from user input therefore goes
# through `alloc`/`alloc_zeros`, which refuse such sizes with PyTorch's message first; the bridge
# checks every array it hands to Python as well (`check_size`), for any allocation this missed.

"An array size whose element count or byte count exceeds `typemax(Int)` (RuntimeError in Python)."
struct SizeOverflowError <: Exception
    msg::String
end
Base.showerror(io::IO, e::SizeOverflowError) = print(io, e.msg)

_python_order(dims) = join(reverse(collect(Int, dims)), ", ")

"""
    check_size(T, dims) -> number of elements

Throw a `SizeOverflowError` (PyTorch's "Storage size calculation overflowed") when an array of
element type `T` and Julia-order `dims` would hold more than `typemax(Int)` elements or bytes, and
an ArgumentError for a negative dimension. As in PyTorch, sizes of 0 count as 1 here: an empty
array's contiguous strides, which Python computes, must fit in 64 bits too.
"""
function check_size(::Type{T}, dims) where {T}
    n = 1
    overflow = false
    for d in dims
        d < 0 && throw(ArgumentError("negative dimension $d in size [$(_python_order(dims))]"))
        n, o = Base.mul_with_overflow(n, max(Int(d), 1))
        overflow |= o
    end
    _, o = Base.mul_with_overflow(n, isbitstype(T) ? max(sizeof(T), 1) : sizeof(Ptr{Cvoid}))
    (overflow || o) &&
        throw(SizeOverflowError("Storage size calculation overflowed with sizes=[$(_python_order(dims))]"))
    prod(dims)
end

"`Array{T}(undef, dims)`, refusing sizes whose element or byte count overflows (see `check_size`)."
alloc(::Type{T}, dims::Integer...) where {T} = alloc(T, dims)
function alloc(::Type{T}, dims::Tuple) where {T}
    check_size(T, dims)
    Array{T}(undef, map(Int, dims))
end

"`zeros(T, dims)` with the same check as `alloc`."
alloc_zeros(::Type{T}, dims...) where {T} = fill!(alloc(T, dims...), zero(T))

"The product of two sizes (a dim times a repeat count, say), or a SizeOverflowError."
function mul_size(a::Integer, b::Integer)
    p, o = Base.mul_with_overflow(Int(a), Int(b))
    o && throw(SizeOverflowError("Storage size calculation overflowed: size $a times $b"))
    p
end
