# `Strided`: a Julia array over memory owned elsewhere (a Python buffer, a DLPack producer, or a
# Julia array it keeps alive), with arbitrary element strides. It is how every tensor argument
# reaches a kernel, so kernels are ordinary Julia methods on AbstractArrays.
#
# Dimensions are in Julia order: a row-major Python tensor of shape (a, b, c) arrives as size
# (c, b, a), so a contiguous Python tensor is a contiguous (column-major) Julia array, with no copy.

"""
    Strided{T,N}(ptr, size, strides, owner)

An `N`-dimensional view of elements of type `T` at `ptr`, with `strides` counted in elements.
`owner` is any object that must stay alive as long as the view (or `nothing`).
"""
struct Strided{T,N} <: AbstractArray{T,N}
    ptr::Ptr{T}
    size::NTuple{N,Int}
    strides::NTuple{N,Int}
    owner::Any
end

Strided(A::Array{T,N}) where {T,N} = Strided{T,N}(pointer(A), size(A), strides(A), A)
Strided(A::Strided) = A

Base.size(A::Strided) = A.size
Base.strides(A::Strided) = A.strides
Base.stride(A::Strided, d::Integer) = d <= ndims(A) ? A.strides[d] : length(A)
Base.IndexStyle(::Type{<:Strided}) = IndexCartesian()
Base.unsafe_convert(::Type{Ptr{T}}, A::Strided{T}) where {T} = A.ptr
Base.elsize(::Type{<:Strided{T}}) where {T} = sizeof(T)

@inline function _offset(A::Strided{T,N}, I::NTuple{N,Int}) where {T,N}
    o = 0
    for d in 1:N
        o += (I[d] - 1) * A.strides[d]
    end
    o
end
@inline function Base.getindex(A::Strided{T,N}, I::Vararg{Int,N}) where {T,N}
    @boundscheck checkbounds(A, I...)
    GC.@preserve A unsafe_load(A.ptr, _offset(A, I) + 1)
end
@inline function Base.setindex!(A::Strided{T,N}, v, I::Vararg{Int,N}) where {T,N}
    @boundscheck checkbounds(A, I...)
    GC.@preserve A unsafe_store!(A.ptr, convert(T, v), _offset(A, I) + 1)
    v
end

"True when the elements are packed in column-major (Julia) order, i.e. row-major in Python."
function iscontiguous(A::Strided)
    s = 1
    for d in 1:ndims(A)
        A.size[d] == 1 && continue
        A.strides[d] == s || return false
        s *= A.size[d]
    end
    true
end
iscontiguous(A::Array) = true

"""
    dense(A) -> Array

An `Array` holding `A`'s elements: a no-copy wrapper when `A` is contiguous (valid while `A`'s
memory is), otherwise a packed copy. Kernels call it before handing data to BLAS/LAPACK or Base.
"""
dense(A::Array) = A
function dense(A::Strided{T,N}) where {T,N}
    iscontiguous(A) && return unsafe_wrap(Array, A.ptr, A.size)
    out = alloc(T, A.size)
    map_into!(identity, T, Strided(out), (A,))
    out
end
dense(A::AbstractArray) = Array(A)

"A packed copy of `A` that the caller owns (never aliases the input)."
owned(A::Strided) = iscontiguous(A) ? copy(unsafe_wrap(Array, A.ptr, A.size)) : dense(A)
owned(A::Array) = copy(A)
owned(A::AbstractArray) = Array(A)
