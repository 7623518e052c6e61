# The elementwise engine: applies a scalar kernel `f` over broadcast operands into an output, for
# any rank and any strides. This is what makes a one-line scalar definition (`x -> fexp(x)`) a
# fast array op: dimensions that are contiguous in every operand are merged, the innermost run is
# a `@simd` loop over raw pointers, and large jobs are split across Julia threads.
#
# Operands arrive already broadcast: every array input has the output's size, with stride 0 along
# broadcast dimensions. Inputs are converted to the compute type `Tc` on load and results to the
# output's element type on store (`jconvert`), so mixed-dtype calls need no extra copies.

# Accessors: how the inner loop reads operand k at inner index j (0-based).
struct UnitArg{T}; p::Ptr{T}; end          # inner stride 1
struct StepArg{T}; p::Ptr{T}; s::Int; end  # any inner stride (0 = broadcast)
struct ValArg{T}; v::T; end                # a scalar operand

@inline ld(a::UnitArg, j::Int) = unsafe_load(a.p, j + 1)
@inline ld(a::StepArg, j::Int) = unsafe_load(a.p, j * a.s + 1)
@inline ld(a::ValArg, j::Int) = a.v
@inline st!(a::UnitArg{T}, j::Int, v) where {T} = unsafe_store!(a.p, jconvert(T, v), j + 1)
@inline st!(a::StepArg{T}, j::Int, v) where {T} = unsafe_store!(a.p, jconvert(T, v), j * a.s + 1)
@inline shift(a::UnitArg{T}, o::Int) where {T} = UnitArg{T}(a.p + o * sizeof(T))
@inline shift(a::StepArg{T}, o::Int) where {T} = StepArg{T}(a.p + o * sizeof(T), a.s)
@inline shift(a::ValArg, o::Int) = a

@inline loadall(args::Tuple{}, ::Type{Tc}, j) where {Tc} = ()
@inline loadall(args::Tuple, ::Type{Tc}, j) where {Tc} =
    (jconvert(Tc, ld(args[1], j)), loadall(Base.tail(args), Tc, j)...)

function inner_loop!(f::F, ::Type{Tc}, o, args::Tuple, extra::Tuple, n::Int) where {F,Tc}
    @inbounds @simd for j in 0:n-1
        st!(o, j, f(loadall(args, Tc, j)..., extra...))
    end
    nothing
end

"Sizes and strides with size-1 dimensions dropped and mergeable neighbours merged."
function collapse(size::NTuple{N,Int}, strides::Vector{NTuple{N,Int}}) where {N}
    K = length(strides)
    shp = Int[]
    strs = [Int[] for _ in 1:K]
    for d in 1:N
        size[d] == 1 && continue
        if !isempty(shp) && all(k -> strides[k][d] == strs[k][end] * shp[end], 1:K)
            shp[end] *= size[d]
        else
            push!(shp, size[d])
            for k in 1:K
                push!(strs[k], strides[k][d])
            end
        end
    end
    if isempty(shp)
        push!(shp, 1)
        foreach(s -> push!(s, 0), strs)
    end
    shp, strs
end

const THREAD_MIN = 1 << 16   # elements below which threading costs more than it gains

"""
    map_into!(f, Tc, out::Strided, args::Tuple, extra::Tuple = ())

`out[i] = f(Tc(args[1][i]), ..., extra...)` for every index, where each of `args` is a `Strided`
of `out`'s size (broadcast by zero strides) or a scalar. Returns `out`.
"""
function map_into!(f::F, ::Type{Tc}, out::Strided{To,N}, args::Tuple, extra::Tuple = ()) where {F,Tc,To,N}
    length(out) == 0 && return out
    for a in args
        a isa Strided && size(a) != size(out) &&
            throw(DimensionMismatch("operand of size $(size(a)) does not match output size $(size(out))"))
    end
    allstrides = NTuple{N,Int}[out.strides]
    for a in args
        push!(allstrides, a isa Strided ? a.strides : ntuple(_ -> 0, Val(N)))
    end
    shp, strs = collapse(out.size, allstrides)
    unit = strs[1][1] == 1 && all(k -> !(args[k-1] isa Strided) || strs[k][1] == 1, 2:length(strs))
    if unit
        o = UnitArg{To}(out.ptr)
        accs = map(a -> a isa Strided ? UnitArg(a.ptr) : ValArg(jconvert(Tc, a)), args)
    else
        o = StepArg{To}(out.ptr, strs[1][1])
        accs = ntuple(k -> args[k] isa Strided ? StepArg(args[k].ptr, strs[k+1][1]) :
                           ValArg(jconvert(Tc, args[k])), length(args))
    end
    GC.@preserve out args run_outer!(f, Tc, o, accs, extra, shp, strs)
    out
end

function run_outer!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, shp::Vector{Int},
                    strs::Vector{Vector{Int}}) where {F,Tc}
    n1 = shp[1]
    nouter = prod(shp) ÷ n1
    nt = Threads.nthreads()
    if nt > 1 && n1 * nouter >= THREAD_MIN
        if nouter == 1
            chunk = cld(n1, nt)
            Threads.@threads for t in 1:nt
                lo = (t - 1) * chunk
                hi = min(n1, t * chunk)
                hi > lo && inner_loop!(f, Tc, shift(o, lo * _step(o)), map(a -> shift(a, lo * _step(a)), accs), extra, hi - lo)
            end
        else
            chunk = cld(nouter, nt)
            Threads.@threads for t in 1:nt
                lo = (t - 1) * chunk
                hi = min(nouter, t * chunk)
                hi > lo && outer_range!(f, Tc, o, accs, extra, shp, strs, lo, hi)
            end
        end
    else
        outer_range!(f, Tc, o, accs, extra, shp, strs, 0, nouter)
    end
    nothing
end

@inline _step(a::UnitArg) = 1
@inline _step(a::StepArg) = a.s
@inline _step(a::ValArg) = 0

"Run outer iterations lo+1 .. hi (an odometer over dimensions 2..end)."
function outer_range!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, shp::Vector{Int},
                      strs::Vector{Vector{Int}}, lo::Int, hi::Int) where {F,Tc}
    nd = length(shp)
    K = length(strs)
    idx = zeros(Int, nd)
    offs = zeros(Int, K)
    r = lo
    for d in 2:nd
        r, idx[d] = divrem(r, shp[d])
        for k in 1:K
            offs[k] += idx[d] * strs[k][d]
        end
    end
    n1 = shp[1]
    for _ in lo+1:hi
        inner_loop!(f, Tc, shift(o, offs[1]), _shifted(accs, offs, 2), extra, n1)
        d = 2
        while d <= nd
            idx[d] += 1
            for k in 1:K
                offs[k] += strs[k][d]
            end
            idx[d] < shp[d] && break
            for k in 1:K
                offs[k] -= strs[k][d] * shp[d]
            end
            idx[d] = 0
            d += 1
        end
    end
    nothing
end

@inline _shifted(accs::Tuple{}, offs, k) = ()
@inline _shifted(accs::Tuple, offs, k) = (shift(accs[1], offs[k]), _shifted(Base.tail(accs), offs, k + 1)...)

"""
    broadcast_to(A::Strided, size) -> Strided

`A` viewed at a larger size (NumPy broadcasting, Julia order: missing trailing dimensions are
added), with stride 0 along the broadcast dimensions. No copy.
"""
function broadcast_to(A::Strided{T}, sz::NTuple{M,Int}) where {T,M}
    ndims(A) > M && throw(DimensionMismatch("cannot broadcast size $(size(A)) to $sz"))
    st = ntuple(M) do d
        d > ndims(A) && return 0
        A.size[d] == sz[d] && return A.strides[d]
        A.size[d] == 1 && return 0
        throw(DimensionMismatch("cannot broadcast size $(size(A)) to $sz"))
    end
    Strided{T,M}(A.ptr, sz, st, A.owner)
end
broadcast_to(A::Array, sz) = broadcast_to(Strided(A), sz)

"Broadcast result size of several sizes (Julia order)."
function broadcast_size(sizes...)
    M = maximum(length, sizes)
    ntuple(M) do d
        s = 1
        for z in sizes
            zd = d <= length(z) ? z[d] : 1
            if zd != 1
                s != 1 && s != zd && throw(DimensionMismatch("sizes $(sizes) cannot be broadcast together"))
                s = zd
            end
        end
        s
    end
end

"""
    apply(f, Tc, To, args...; extra = ())

Allocate the broadcast result of `f` over `args` (Strided/Array/scalars) as an `Array{To}` and fill
it with the engine. This is how Julia code calls a map op on plain arrays.
"""
function apply(f, ::Type{Tc}, ::Type{To}, args...; extra::Tuple = ()) where {Tc,To}
    arrs = map(a -> a isa AbstractArray ? Strided(a isa Array || a isa Strided ? a : Array(a)) : a, args)
    sz = broadcast_size(map(size, filter(a -> a isa Strided, collect(arrs)))...)
    out = Array{To}(undef, sz)
    map_into!(f, Tc, Strided(out), map(a -> a isa Strided ? broadcast_to(a, sz) : a, arrs), extra)
    out
end
