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
struct BcastArg{T}; p::Ptr{T}; end         # inner stride 0: one value per inner run (see `hoisted`)
# The output itself as an operand (an in-place call, x.op_(...): the output is its first operand,
# in exactly its layout). Reading it through the output's own accessor lets the compiler see that
# element j is read and then written at one address: the loop vectorizes. Given as a separate
# pointer equal to the output's, the vectorizer's runtime overlap check fails on every call and
# the scalar loop runs (2x slower for mul_, 6x for clamp_).
struct SelfArg{T}; end

@inline ld(a::UnitArg, j::Int) = unsafe_load(a.p, j + 1)
@inline ld(a::StepArg, j::Int) = unsafe_load(a.p, j * a.s + 1)
@inline ld(a::ValArg, j::Int) = a.v
@inline ld(a::BcastArg, j::Int) = unsafe_load(a.p)
@inline st!(a::UnitArg{T}, j::Int, v) where {T} = unsafe_store!(a.p, jconvert(T, v), j + 1)
@inline st!(a::StepArg{T}, j::Int, v) where {T} = unsafe_store!(a.p, jconvert(T, v), j * a.s + 1)
@inline shift(a::UnitArg{T}, o::Int) where {T} = UnitArg{T}(a.p + o * sizeof(T))
@inline shift(a::StepArg{T}, o::Int) where {T} = StepArg{T}(a.p + o * sizeof(T), a.s)
@inline shift(a::ValArg, o::Int) = a
@inline shift(a::BcastArg{T}, o::Int) where {T} = BcastArg{T}(a.p + o * sizeof(T))
"""An inner run's accessor with a broadcast operand read once, before the loop. LLVM does not
hoist that load itself (the output might alias it), and the reload each element keeps the loop
from vectorizing: `x - x.mean(-1, keepdim=True)` took twice PyTorch's time."""
@inline hoisted(a::BcastArg) = ValArg(unsafe_load(a.p))
@inline hoisted(a) = a

@inline ld(a::SelfArg, j::Int, o) = ld(o, j)
@inline ld(a, j::Int, o) = ld(a, j)
@inline shift(a::SelfArg, o::Int) = a
@inline loadall(args::Tuple{}, ::Type{Tc}, j, o) where {Tc} = ()
@inline loadall(args::Tuple, ::Type{Tc}, j, o) where {Tc} =
    (jconvert(Tc, ld(args[1], j, o)), loadall(Base.tail(args), Tc, j, o)...)

function inner_loop!(f::F, ::Type{Tc}, o, args::Tuple, extra::Tuple, n::Int) where {F,Tc}
    args = map(hoisted, args)
    @inbounds @simd for j in 0:n-1
        st!(o, j, f(loadall(args, Tc, j, o)..., extra...))
    end
    nothing
end

"""
    collapse!(shape, strides, nd) -> nd′

Drop size-1 dimensions and merge neighbours that are contiguous in every operand, in place
(`strides` holds one vector per operand, output first). Returns the new number of dimensions.
"""
function collapse!(shape::Vector{Int}, strides::Vector{Vector{Int}}, nd::Int)
    K = length(strides)
    m = 0
    @inbounds for d in 1:nd
        sz = shape[d]
        sz == 1 && continue
        merge = m > 0
        if merge
            for k in 1:K
                if strides[k][d] != strides[k][m] * shape[m]
                    merge = false
                    break
                end
            end
        end
        if merge
            shape[m] *= sz
        else
            m += 1
            shape[m] = sz
            for k in 1:K
                strides[k][m] = strides[k][d]
            end
        end
    end
    if m == 0
        m = 1
        shape[1] = 1
        for k in 1:K
            strides[k][1] = 0
        end
    end
    m
end

const THREAD_MIN = 1 << 18   # elements below which threading costs more than it gains

# ---- Ctrl-C: long loops stop at the next chunk boundary ---------------------------------------
# Python's SIGINT handler cannot run while Julia does, so the C fast path's SIGINT handler also
# sets a C int whose address Python stores here at start-up (python/jtensor/bridge.py). Loops
# poll it every POLL_EVERY elements (one load and compare per 64K elements: too cheap to
# measure); a worker that sees it stops, and the calling thread throws InterruptException once
# all have stopped, which Python raises as KeyboardInterrupt. Outputs are left partly written.
"Address of the C int that a Ctrl-C sets (C_NULL: nobody sets it)."
const INTERRUPT_FLAG = Ref{Ptr{Cint}}(C_NULL)
const POLL_EVERY = 1 << 16
@inline interrupt_requested() = (p = INTERRUPT_FLAG[]; p != C_NULL && unsafe_load(p) != 0)
"Throw InterruptException if Ctrl-C was pressed since this call into Julia began."
check_interrupt() = interrupt_requested() ? throw(InterruptException()) : nothing

"Each accessor moved `j` elements along its inner stride (no closure: nothing allocated)."
@inline _advanced(accs::Tuple{}, j::Int) = ()
@inline _advanced(accs::Tuple, j::Int) = (shift(accs[1], j * _stride1(accs[1])), _advanced(Base.tail(accs), j)...)

"`inner_loop!` over `n` elements in chunks of POLL_EVERY; false when stopped by a Ctrl-C."
function inner_chunks!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, n::Int) where {F,Tc}
    lo = 0
    while lo < n
        m = min(POLL_EVERY, n - lo)
        inner_loop!(f, Tc, shift(o, lo * _stride1(o)), _advanced(accs, lo), extra, m)
        lo += m
        interrupt_requested() && return false
    end
    true
end

# How each operand is read, given its inner stride `s`: one constructor per loop kind.
@inline _unit_acc(p::Ptr{T}, s::Int, ::Type{Tc}) where {T,Tc} = UnitArg{T}(p)
@inline _step_acc(p::Ptr{T}, s::Int, ::Type{Tc}) where {T,Tc} = StepArg{T}(p, s)
@inline _ub_acc(p::Ptr{T}, s::Int, ::Type{Tc}) where {T,Tc} = s == 0 ? BcastArg{T}(p) : UnitArg{T}(p)

"""The accessors of `args` (operand k has the inner stride `strides[k][1]`, counting from `k`),
each array operand made by `make` (`_unit_acc`, `_step_acc`, `_ub_acc`); scalars become `ValArg`s in the
compute type and the output-as-operand stays a `SelfArg`."""
@inline _accessors(make::M, args::Tuple{}, strides, k, ::Type{Tc}) where {M,Tc} = ()
@inline _accessors(make::M, args::Tuple, strides, k, ::Type{Tc}) where {M,Tc} =
    (_accessor(make, args[1], @inbounds(strides[k][1]), Tc), _accessors(make, Base.tail(args), strides, k + 1, Tc)...)
@inline _accessor(make::M, p::Ptr, s::Int, ::Type{Tc}) where {M,Tc} = make(p, s, Tc)
@inline _accessor(make::M, v::SelfArg, s::Int, ::Type{Tc}) where {M,Tc} = v
@inline _accessor(make::M, v, s::Int, ::Type{Tc}) where {M,Tc} = ValArg(jconvert(Tc, v))
@inline _steps(args::Tuple, strides, k, ::Type{Tc}) where {Tc} = _accessors(_step_acc, args, strides, k, Tc)

"True when every array operand of `args` has an inner stride in `allowed` (operand k's is `strides[k][1]`)."
@inline _inner_strides_in(args::Tuple{}, strides, k, allowed) = true
@inline _inner_strides_in(args::Tuple, strides, k, allowed) =
    (!(args[1] isa Ptr) || @inbounds(strides[k][1]) in allowed) && _inner_strides_in(Base.tail(args), strides, k + 1, allowed)

"""Inner-run length from which an operand broadcast along the run is read once per run (the
loops for it compile when first met; on shorter runs, the saved loads do not pay for that)."""
const HOIST_MIN = 32

"""
    run_raw!(f, Tc, optr, args, extra, shape, strides, nd)

The engine's core, on raw pointers: `args` holds a `Ptr` per array operand (already broadcast to
the output's shape) or a scalar; `shape` and `strides` (output first, one vector per operand) are
in Julia order and are overwritten (collapsed). Allocation-free for the common contiguous case.
"""
function run_raw!(f::F, ::Type{Tc}, optr::Ptr{To}, args::Tuple, extra::Tuple, shape::Vector{Int},
                  strides::Vector{Vector{Int}}, nd::Int) where {F,Tc,To}
    n = 1
    @inbounds for d in 1:nd
        n *= shape[d]
    end
    n == 0 && return nothing
    nd = collapse!(shape, strides, nd)
    if @inbounds(strides[1][1]) == 1 && _inner_strides_in(args, strides, 2, (1,))
        run_outer!(f, Tc, UnitArg{To}(optr), _accessors(_unit_acc, args, strides, 2, Tc), extra, shape, strides, nd, n)
    elseif @inbounds(strides[1][1]) == 1 && shape[1] >= HOIST_MIN && _inner_strides_in(args, strides, 2, (0, 1))
        # Some operand is broadcast along the inner run (a (N, 1) or 0-d operand): its value is
        # read once per run (`hoisted`). Which operands are is known only now, so the loops are
        # called through a barrier: each combination compiles when first met, not every one
        # with every plan. Shorter runs take the any-stride loops, which every plan has.
        accs = Base.inferencebarrier(_accessors(_ub_acc, args, strides, 2, Tc))
        run_outer!(f, Tc, UnitArg{To}(optr), accs, extra, shape, strides, nd, n)
    else
        run_outer!(f, Tc, StepArg{To}(optr, @inbounds(strides[1][1])), _steps(args, strides, 2, Tc),
                   extra, shape, strides, nd, n)
    end
    nothing
end

"""
    map_into!(f, Tc, out::Strided, args::Tuple, extra::Tuple = ())

`out[i] = f(Tc(args[1][i]), ..., extra...)` for every index, where each of `args` is a `Strided`
of `out`'s size (broadcast by zero strides) or a scalar. Returns `out`.
"""
function map_into!(f::F, ::Type{Tc}, out::Strided{To,N}, args::Tuple, extra::Tuple = ()) where {F,Tc,To,N}
    shape, strides, nd = loop_layout(out, args)
    ptrs = map(a -> a isa Strided ? a.ptr : a, args)
    GC.@preserve out args run_raw!(f, Tc, out.ptr, ptrs, extra, shape, strides, nd)
    out
end

"""
    loop_layout(out, args) -> (shape, strides, nd)

The engine's loop description of `out` and its operands (`Strided` of `out`'s size, or scalars):
the shape, one stride vector per operand (output first; zeros for scalars), and the rank (a 0-d
array runs as one element of a 1-d one), ready for `collapse!`.
"""
function loop_layout(out::Strided{To,N}, args::Tuple) where {To,N}
    for a in args
        a isa Strided && size(a) != size(out) &&
            throw(DimensionMismatch("operand of size $(size(a)) does not match output size $(size(out))"))
    end
    nd = max(N, 1)
    shape = N == 0 ? [1] : collect(Int, out.size)
    strides = Vector{Int}[N == 0 ? [0] : collect(Int, out.strides)]
    for a in args
        push!(strides, a isa Strided && N > 0 ? collect(Int, a.strides) : zeros(Int, nd))
    end
    shape, strides, nd
end

function run_outer!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, shp::Vector{Int},
                    strs::Vector{Vector{Int}}, nd::Int, n::Int) where {F,Tc}
    if Threads.nthreads() > 1 && n >= THREAD_MIN
        # through a barrier: the threaded loops compile when a plan first runs a job this large,
        # not with every plan (most only ever see small ones)
        Base.inferencebarrier(run_threaded!)(f, Tc, o, accs, extra, shp, strs, nd, n)
    elseif nd == 1
        inner_chunks!(f, Tc, o, accs, extra, shp[1])
    else
        outer_range!(f, Tc, o, accs, extra, shp, strs, nd, 0, n ÷ shp[1])
    end
    n >= POLL_EVERY && check_interrupt()
    nothing
end

"`run_outer!`'s loops split across Julia's threads: along the inner run when there is one outer
iteration, else over the outer iterations."
function run_threaded!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, shp::Vector{Int},
                       strs::Vector{Vector{Int}}, nd::Int, n::Int) where {F,Tc}
    n1 = shp[1]
    nouter = n ÷ n1
    nt = Threads.nthreads()
    if nouter == 1
        chunk = cld(n1, nt)
        Threads.@threads for t in 1:nt
            lo = (t - 1) * chunk
            hi = min(n1, t * chunk)
            hi > lo && inner_chunks!(f, Tc, shift(o, lo * _stride1(o)), _advanced(accs, lo), extra, hi - lo)
        end
    else
        chunk = cld(nouter, nt)
        Threads.@threads for t in 1:nt
            lo = (t - 1) * chunk
            hi = min(nouter, t * chunk)
            hi > lo && outer_range!(f, Tc, o, accs, extra, shp, strs, nd, lo, hi)
        end
    end
    nothing
end

@inline _stride1(a::UnitArg) = 1
@inline _stride1(a::StepArg) = a.s
@inline _stride1(a::ValArg) = 0
@inline _stride1(a::BcastArg) = 0
@inline _stride1(a::SelfArg) = 0

"Run outer iterations lo+1 .. hi (an odometer over dimensions 2..nd)."
function outer_range!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, shp::Vector{Int},
                      strs::Vector{Vector{Int}}, nd::Int, lo::Int, hi::Int) where {F,Tc}
    # through a barrier: the tiled loops compile when a transposing loop first runs, not with every plan
    nd == 2 && shp[1] > TILE && _transposing(strs) &&
        return Base.inferencebarrier(tiled_range!)(f, Tc, o, accs, extra, shp, strs, lo, hi)
    K = length(accs) + 1
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
    since = 0   # elements since the last Ctrl-C poll
    for _ in lo+1:hi
        if n1 < POLL_EVERY
            inner_loop!(f, Tc, shift(o, offs[1]), _shifted(accs, offs, 2), extra, n1)
            since += n1
            if since >= POLL_EVERY
                since = 0
                interrupt_requested() && return nothing
            end
        else
            inner_chunks!(f, Tc, shift(o, offs[1]), _shifted(accs, offs, 2), extra, n1) || return nothing
        end
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

const TILE = 32

"""True when some operand of a 2-d loop steps through memory faster along the outer dim than along
the inner one: a transpose (`x.T.contiguous()`, `x.T + y`, a transposed view's gradient)."""
function _transposing(strs::Vector{Vector{Int}})
    for s in strs
        a, b = abs(@inbounds s[1]), abs(@inbounds s[2])
        b != 0 && b < a && return true
    end
    false
end

"""Outer iterations lo+1 .. hi of a 2-d loop in TILE x TILE tiles. Row by row, the transposed
operand reads one element of each of n1 cache lines and the next row the neighbouring elements
of the same lines, long evicted at n1 = 256 and more; within a tile the TILE lines stay in cache
until all their elements are used (256x256 float32 `x.T.contiguous()`: 87 -> 36 µs)."""
function tiled_range!(f::F, ::Type{Tc}, o, accs::Tuple, extra::Tuple, shp::Vector{Int},
                      strs::Vector{Vector{Int}}, lo::Int, hi::Int) where {F,Tc}
    n1 = shp[1]
    offs = zeros(Int, length(strs))
    since = 0
    for jb in lo:TILE:hi-1, ib in 0:TILE:n1-1
        m = min(TILE, n1 - ib)
        for j in jb:min(jb + TILE, hi)-1
            @inbounds for k in eachindex(strs)
                offs[k] = ib * strs[k][1] + j * strs[k][2]
            end
            inner_loop!(f, Tc, shift(o, offs[1]), _shifted(accs, offs, 2), extra, m)
        end
        since += m * TILE
        if since >= POLL_EVERY
            since = 0
            interrupt_requested() && return nothing
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

"""
    broadcast_size(sizes...)

Broadcast result size of several sizes (Julia order): the same rule and, on failure, the same
message as Python's `registry.broadcast_shapes` (shapes shown in Python order), as a
DimensionMismatch, which Python raises as ValueError. No sizes give `()`.
"""
function broadcast_size(sizes...)
    M = foldl((m, z) -> max(m, length(z)), sizes; init = 0)
    ntuple(M) do d
        s = 1
        for z in sizes
            zd = d <= length(z) ? z[d] : 1
            if zd != 1
                s != 1 && s != zd && throw(DimensionMismatch(
                    "shapes $(join(("[" * join(reverse(z), ", ") * "]" for z in sizes), ", ")) cannot be broadcast together"))
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
    out = alloc(To, sz)
    map_into!(f, Tc, Strided(out), map(a -> a isa Strided ? broadcast_to(a, sz) : a, arrs), extra)
    out
end
