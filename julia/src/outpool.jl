# Output blocks: memory for the large arrays that kernels hand to Python, given back to a pool the
# moment Python drops the last tensor over it, rather than at Julia's next collection.
#
# Why: Julia frees an array only when it collects, and its collections grow apart to tens or
# hundreds of megabytes of allocation, so every large output a kernel writes is memory that left
# the cache long ago. Writing a fresh 1 MB array costs ~125 µs here against ~25 µs for one written
# a moment ago (the write-allocate reads come from DRAM): most of cat's, repeat's and group_norm's
# forward time. PyTorch's allocator (and NumPy's, which gives the elementwise ops their outputs)
# reuses the block Python just dropped, which is still in cache.
#
# Only a kernel that returns the array it allocates (or one reshape of it) as its one result, and
# keeps no reference to it, may use `alloc_out`: the block is reused once Python lets go, whatever
# Julia still holds. An array from `alloc_out` that never reaches Python is freed by its
# finalizer, like any array.

"""
One `alloc_out` block: its memory, the HANDLES entries rooting an array over it, and whether the
memory is still its array's: false once the block is back in the pool, or once the array was
collected without reaching Python (its finalizer freed the block).
"""
mutable struct OutBlock
    ptr::Ptr{Cvoid}
    bytes::Int
    refs::Int
    live::Bool
end

"""
Blocks by address. While a block is live its memory is its array's, so an array at that address
of that many bytes is the array or a reshape of it (a kernel may return `reshape(out, sz)`): either
roots the block. (A `WeakKeyDict` would hash the array's elements.) An entry whose array was
collected is stale (not live): it is replaced when its address is reused and dropped by `_out_sweep!`.
"""
const OUT_BLOCKS = Dict{UInt,OutBlock}()
const OUT_SWEEP_AT = Ref(1024)
"Free blocks by size in bytes (last in, first out: the most recently used memory is the warmest)."
const OUT_FREE = Dict{Int,Vector{Ptr{Cvoid}}}()
const OUT_FREE_BYTES = Ref(0)
"Arrays smaller than this come from `alloc` (Julia's own pools serve them well)."
const OUT_MIN_BYTES = 64 * 1024
"The most bytes the pool keeps (`_out_evict!` frees the rest)."
const OUT_POOL_BYTES = 64 * 1024 * 1024

function _out_malloc(bytes::Int)
    free = get(OUT_FREE, bytes, nothing)
    if free !== nothing && !isempty(free)
        OUT_FREE_BYTES[] -= bytes
        return pop!(free)
    end
    p = Ref{Ptr{Cvoid}}(C_NULL)
    ccall(:posix_memalign, Cint, (Ptr{Ptr{Cvoid}}, Csize_t, Csize_t), p, 64, bytes) == 0 || throw(OutOfMemoryError())
    p[]
end

_out_finalize(b::OutBlock) = b.live && (b.live = false; Libc.free(b.ptr); nothing)

"""
    alloc_out(T, dims) -> Array{T}

Like `alloc`, for an array the calling kernel returns as its result: large ones take a block that
goes back to the pool as soon as Python releases the array (`out_root!`/`out_release!`), so the
next output of that size is written into memory that is still in cache.
"""
function alloc_out(::Type{T}, dims::Tuple) where {T}
    n = check_size(T, dims)
    bytes = n * sizeof(T)
    (isbitstype(T) && bytes >= OUT_MIN_BYTES) || return alloc(T, dims)
    p = _out_malloc(bytes)
    A = unsafe_wrap(Array, Ptr{T}(p), map(Int, dims); own = false)
    b = OutBlock(p, bytes, 0, true)
    finalizer(_ -> _out_finalize(b), A)
    length(OUT_BLOCKS) >= OUT_SWEEP_AT[] && _out_sweep!()
    OUT_BLOCKS[UInt(p)] = b
    A
end

"Drop the stale entries of OUT_BLOCKS (arrays collected without reaching Python)."
function _out_sweep!()
    filter!(kv -> kv.second.live, OUT_BLOCKS)
    OUT_SWEEP_AT[] = max(1024, 2 * length(OUT_BLOCKS))
end

"The live block under array `x` (made by `alloc_out`, or a reshape of such an array), or nothing."
function _out_block(x)
    x isa Array && sizeof(x) >= OUT_MIN_BYTES || return nothing
    b = get(OUT_BLOCKS, UInt(pointer(x)), nothing)
    b !== nothing && b.live && b.bytes == sizeof(x) ? b : nothing
end

"Count one more Python root of `x` (called by `root!`)."
function out_root!(x)
    b = _out_block(x)
    b === nothing || (b.refs += 1)
    nothing
end

"One Python root of `x` is gone (called by `jt_release`): the last one returns its block to the pool."
function out_release!(x)
    b = _out_block(x)
    b === nothing && return
    (b.refs -= 1) > 0 && return
    delete!(OUT_BLOCKS, UInt(b.ptr))
    b.live = false
    if b.bytes > OUT_POOL_BYTES
        Libc.free(b.ptr)
        return
    end
    OUT_FREE_BYTES[] + b.bytes > OUT_POOL_BYTES && _out_evict!(OUT_POOL_BYTES - b.bytes, b.bytes)
    push!(get!(() -> Ptr{Cvoid}[], OUT_FREE, b.bytes), b.ptr)
    OUT_FREE_BYTES[] += b.bytes
    nothing
end

"""
Free pooled blocks until at most `limit` bytes stay: other sizes first (whole sizes at a time),
then the oldest blocks of size `keep`, so the size just released stays warm and a pool filled by
sizes no longer in use does not turn new ones away.
"""
function _out_evict!(limit::Int, keep::Int)
    for (bytes, free) in OUT_FREE
        OUT_FREE_BYTES[] <= limit && return
        bytes == keep && continue
        foreach(Libc.free, free)
        OUT_FREE_BYTES[] -= bytes * length(free)
        empty!(free)
    end
    free = get(OUT_FREE, keep, Ptr{Cvoid}[])
    while OUT_FREE_BYTES[] > limit && !isempty(free)
        Libc.free(popfirst!(free))
        OUT_FREE_BYTES[] -= keep
    end
end
