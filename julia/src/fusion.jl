# The fusion engine behind `jt.compile`: a small DAG of registry map ops (a chain such as
# mul → exp → add) becomes ONE scalar Julia function, composed from the ops' own scalar kernels,
# which the elementwise engine (engine.jl) then runs in one pass over memory. Strides,
# broadcasting, threads and SIMD come from the engine exactly as for a single op; what fusion
# saves is the intermediate arrays (one allocation, one write and one read each).
#
# Python (python/jtensor/compile/) decides what to fuse and sends a *spec*: the dtypes of the
# kernel's inputs and, per node, the op, its compute and result dtypes (as the op's dtype rule
# gives them in eager mode) and its arguments. The generated function converts each operand to
# the node's compute type and each result to the node's result type, as the engine does between
# eager ops, so a fused chain gives bit-for-bit the values of the eager chain (float16 rounds
# after every node, integer ops wrap in their own width). Kernels are cached by spec.

"The compute type of a fused kernel's loads: operands reach the kernel as stored (it converts them itself, per node)."
struct AsStored end
@inline jconvert(::Type{AsStored}, x) = x
# the engine's own `jconvert` methods for `nothing` and for a value already of the type would
# otherwise tie with the one above (an ambiguity, caught by test_core.jl)
@inline jconvert(::Type{AsStored}, x::Nothing) = x
@inline jconvert(::Type{AsStored}, x::AsStored) = x

"""
One node of a fused kernel: registry map op `op` applied to `args` (`:x1`... the kernel's inputs,
`:t1`... earlier nodes, or a number, a Python scalar, which converts to the compute type as in
eager mode, or `nothing` for an omitted optional operand), after them the op's non-tensor
parameters `extra` (numbers), computing in `compute` and stored as `result` (dtype names).
"""
struct FusedNode
    op::String
    compute::String
    result::String
    args::Vector{Any}
    extra::Vector{Any}
end
FusedNode(t::Tuple) = FusedNode(String(t[1]), String(t[2]), String(t[3]), collect(Any, t[4]), collect(Any, t[5]))

"A generated kernel: the scalar function, the Julia source it was made from, its inputs' dtype names, its nodes, its result type."
struct FusedKernel
    f::Any
    source::String
    inputs::Vector{String}
    nodes::Vector{FusedNode}
    result::DataType     # the element type of the output (the last node's result dtype)
end

const FUSED = FusedKernel[]
const FUSED_BY_SPEC = Dict{String,Int}()

"The element type of a dtype name (\"float32\" → Float32)."
function _dtype_named(name::AbstractString)
    i = findfirst(isequal(name), DTYPE_NAMES)
    i === nothing && throw(ArgumentError("fusion: unknown dtype \"$name\""))
    DTYPES[i]
end

_literal(x::Float64) = isfinite(x) ? repr(x) : isnan(x) ? "NaN" : x > 0 ? "Inf" : "-Inf"
_literal(x::Union{Int64,Bool}) = repr(x)
_literal(::Nothing) = "nothing"
_literal(x) = throw(ArgumentError("fusion: a constant must be a Float64, Int64, Bool or nothing, got $(typeof(x))"))

"`name` as a local variable of the generated source (ops are bound to locals named after them)."
_kname(op::AbstractString) = "k_" * replace(op, "." => "_")

"""
    fused_source(inputs, nodes) -> String

The Julia source of the kernel: a `let` binding each op's registry kernel, around a function of
the inputs that computes node after node and returns the last. Operand conversions that would be
identities (the value already has the compute type) are left out, so the source reads as the chain.
"""
function fused_source(inputs::Vector{String}, nodes::Vector{FusedNode})
    isempty(nodes) && throw(ArgumentError("fusion: a kernel needs at least one node"))
    types = Dict{String,Any}()   # value name -> its Julia type
    for (k, d) in enumerate(inputs)
        types["x$k"] = _dtype_named(d)
    end
    io = IOBuffer()
    ops = unique(n.op for n in nodes)
    for o in ops
        haskey(BY_NAME, o) && op(o).kind === :map ||
            throw(ArgumentError("fusion: \"$o\" is not a registered elementwise op"))
    end
    println(io, "let ", join(("$(_kname(o)) = op($(repr(o))).kernel" for o in ops), ", "))
    println(io, "    @inline function fused(", join(("x$k" for k in 1:length(inputs)), ", "), ")")
    for (i, n) in enumerate(nodes)
        Tc = compute_type(_dtype_named(n.compute))
        To = _dtype_named(n.result)
        args = String[]
        for a in n.args
            if a isa Symbol
                s = String(a)
                haskey(types, s) || throw(ArgumentError("fusion: node $i ($(n.op)) uses $s before it is defined"))
                push!(args, types[s] === Tc ? s : "jconvert($Tc, $s)")
            elseif a === nothing
                push!(args, "nothing")
            else
                push!(args, typeof(a) === Tc ? _literal(a) : "jconvert($Tc, $(_literal(a)))")
            end
        end
        append!(args, _literal.(n.extra))
        println(io, "        t$i = jconvert($To, $(_kname(n.op))(", join(args, ", "), "))")
        types["t$i"] = To
    end
    println(io, "        return t$(length(nodes))")
    println(io, "    end")
    print(io, "end")
    String(take!(io))
end

"""
    fused_kernel(inputs::Vector{String}, nodes) -> Int

The id of the kernel computing `nodes` (`FusedNode`s or tuples `(op, compute, result, args, extra)`)
from inputs of the dtypes named `inputs`: generated and compiled on first request, then cached.
"""
function fused_kernel(inputs::Vector{String}, nodes::Vector)
    fnodes = FusedNode[n isa FusedNode ? n : FusedNode(n) for n in nodes]
    src = fused_source(inputs, fnodes)
    get!(FUSED_BY_SPEC, src) do
        f = Core.eval(JTensor, Meta.parse(src))
        push!(FUSED, FusedKernel(f, src, inputs, fnodes, _dtype_named(fnodes[end].result)))
        length(FUSED)
    end
end

"""
    fused_kernel(spec::String) -> Int

The same, from the spec Python sends: Julia source of `(inputs, nodes)`, e.g.
`(["float32", "float32"], [("mul", "float32", "float32", (:x1, :x2), ()), ("exp", "float32", "float32", (:t1,), ())])`.
Only literals are accepted (no code runs while reading it).
"""
function fused_kernel(spec::AbstractString)
    ex = Meta.parse(spec)
    inputs, nodes = _spec_value(ex)
    fused_kernel(String[String(s) for s in inputs], collect(Any, nodes))
end

"The value of a spec expression built from literals, tuples, vectors and quoted symbols only."
function _spec_value(ex)
    ex isa Union{Number,String,Nothing} && return ex
    ex isa QuoteNode && ex.value isa Symbol && return ex.value
    ex === :nothing && return nothing
    ex === :Inf && return Inf
    ex === :NaN && return NaN
    if ex isa Expr
        ex.head === :tuple && return Tuple(_spec_value(a) for a in ex.args)
        ex.head === :vect && return Any[_spec_value(a) for a in ex.args]
        ex.head === :call && ex.args[1] === :- && length(ex.args) == 2 && return -_spec_value(ex.args[2])
    end
    throw(ArgumentError("fusion: a spec holds only literals, tuples, vectors and symbols; got $(repr(ex))"))
end

"The generated source of kernel `id` (what `explain()` prints)."
fused_kernel_source(id::Integer) = FUSED[id].source

"""
    _fused_map!(out, inputs::Tuple, kernel)

Fill `out` with kernel `kernel` applied elementwise to `inputs` (`Strided`s, each broadcast to
`out`'s size), in one pass of the elementwise engine. Type-stable for a concrete `inputs` tuple:
the only dynamic call is the one into the loop specialized on the kernel's function.
"""
function _fused_map!(out::Strided, inputs::Tuple, kernel::Integer)
    k = _kernel(kernel, inputs)
    sz = size(out)
    args = map(a -> broadcast_to(a, sz), inputs)
    ptrs = map(a -> a.ptr, args)
    if iscontiguous(out) && all(map(iscontiguous, args))
        # the common case: packed operands of the output's shape. Only this small loop is compiled
        # for a new kernel (the engine's general path compiles every stride and rank variant).
        GC.@preserve out args Base.invokelatest(_fused_dense!, k.f, out.ptr, ptrs, length(out))
    else
        shape, strides, nd = loop_layout(out, args)
        n = prod(shape)
        n == 0 && return out
        nd = collapse!(shape, strides, nd)
        GC.@preserve out args Base.invokelatest(_fused_strided!, k.f, out.ptr, ptrs, shape, strides, nd, n)
    end
    out
end

function _kernel(id::Integer)
    1 <= id <= length(FUSED) || throw(ArgumentError("fusion: no fused kernel $id"))
    @inbounds FUSED[id]
end
"Kernel `id`, checked to take as many inputs as `inputs` holds."
function _kernel(id::Integer, inputs::Tuple)
    k = _kernel(id)
    length(inputs) == length(k.inputs) ||
        throw(ArgumentError("fusion: kernel $id takes $(length(k.inputs)) inputs, got $(length(inputs))"))
    k
end

"""`f` over any strides (broadcast operands have stride 0): the engine's any-stride loops only, so
a new kernel compiles one variant instead of the engine's every variant."""
function _fused_strided!(f::F, optr::Ptr{To}, ptrs::Tuple, shape::Vector{Int}, strides::Vector{Vector{Int}},
                         nd::Int, n::Int) where {F,To}
    run_outer!(f, AsStored, StepArg{To}(optr, strides[1][1]), _steps(ptrs, strides, 2, AsStored), (),
               shape, strides, nd, n)
end

"`f` over `n` packed elements: the engine's contiguous inner loop, split across threads when large."
function _fused_dense!(f::F, optr::Ptr{To}, ptrs::Tuple, n::Int) where {F,To}
    o = UnitArg{To}(optr)
    accs = map(p -> UnitArg(p), ptrs)
    nt = Threads.nthreads()
    if nt > 1 && n >= THREAD_MIN
        chunk = cld(n, nt)
        Threads.@threads for t in 1:nt
            lo = (t - 1) * chunk
            hi = min(n, t * chunk)
            hi > lo && inner_chunks!(f, AsStored, shift(o, lo), _advanced(accs, lo), (), hi - lo)
        end
    else
        inner_chunks!(f, AsStored, o, accs, (), n)
    end
    n >= POLL_EVERY && check_interrupt()
    nothing
end

"""
    _fused(kernel, x1, x2 = nothing, ..., x8 = nothing)

Kernel `kernel` over its inputs (broadcast together), into a new array of the dtype its last node
gives. A fixed list of tensor parameters (not a TensorList) lets the C fast path call it.
"""
function _fused(kernel::Integer, xs...)
    k = _kernel(kernel)
    inputs = map(Strided, _somethings(xs...))
    out = alloc(k.result, broadcast_size(map(size, inputs)...))
    _fused_map!(Strided(out), inputs, kernel)
    out
end

"""
    fused_plan(kernel, inputs::Vector{String}) -> Int

A map plan (bridge.jl `MapPlan`) running kernel `kernel`: the C fast path (fastpath.c `fp_map`)
then calls the kernel as it calls an eager elementwise op, from the same word layout (the output,
a compute dtype, which the plan ignores, and the inputs, all of one dtype), skipping the op
driver of `_fused`. The plan reads its inputs as stored (`AsStored`): the kernel converts them
per node. Python registers it for a kernel whose inputs share one dtype (compile/frontend.py).
`inputs` names the inputs' dtypes: those of `k.inputs` are the first request's, and specs whose
inputs differ in dtype but not in source (each converted to the compute type) share the kernel.
"""
function fused_plan(kernel::Integer, inputs::Vector{String})
    k = _kernel(kernel)
    length(inputs) == length(k.inputs) ||
        throw(ArgumentError("fusion: kernel $kernel takes $(length(k.inputs)) inputs, got $(length(inputs)) dtypes"))
    T = MapPlan{typeof(k.f),k.result,AsStored,Tuple{(Ptr{_dtype_named(d)} for d in inputs)...},Tuple{}}
    _keep!(PLANS, _new_plan(T, Any[k.f, zeros(Int, PLAN_DIMS), _scratch_buffers(1 + length(k.inputs))]))
end

"The arguments that are not `nothing`, as a tuple (resolved at compile time for concrete types)."
@inline _somethings() = ()
@inline _somethings(x::Nothing, rest...) = _somethings(rest...)
@inline _somethings(x, rest...) = (x, _somethings(rest...)...)

"The most inputs a fused kernel takes (`_fused`'s tensor parameters)."
const FUSED_MAX_INPUTS = 8

defop("_fused(kernel: int, " * join(("x$i: Tensor" * (i > 1 ? " = None" : "") for i in 1:FUSED_MAX_INPUTS), ", ") *
      ") -> Tensor", _fused; method = false,
      doc = "Run fused kernel `kernel` (made by jt.compile) over its inputs, broadcast, into a new tensor.")

# ---- a fused chain feeding a sum or a mean ----------------------------------------------------------
# `((x - y) ^ 2).mean()` in one pass: the chain's scalar function is evaluated element by element and
# accumulated at once, so not even the chain's output is written to memory. Float32 and Float64
# chains only; they accumulate in Float64, as the eager `sum` and `mean` of float32 do.

"""
    _fused_reduce(kernel, reduce, dims, keepdim, x1, x2 = nothing, ..., x8 = nothing)

The `reduce` ("sum" or "mean") over Python dims `dims` (non-negative, of the broadcast shape; empty
for every dim) of kernel `kernel` applied to its inputs, broadcast: the values of the eager
`chain(...).sum(dims, keepdim)` without the chain's output array.
"""
function _fused_reduce(kernel::Integer, reduce::AbstractString, dims, keepdim::Bool, xs...)
    inputs = map(Strided, _somethings(xs...))
    k = _kernel(kernel, inputs)
    reduce in ("sum", "mean") || throw(ArgumentError("fusion: unknown reduction \"$reduce\" (sum or mean)"))
    k.result in (Float32, Float64) ||
        throw(ArgumentError("fusion: a fused reduction needs a float32 or float64 chain, got $(_dtname(k.result))"))
    sz = broadcast_size(map(size, inputs)...)
    N = length(sz)
    all(d -> 0 <= d < N, dims) || throw(ArgumentError("fusion: reduction dims $(collect(dims)) out of range for $N dims"))
    jd = isempty(dims) ? collect(1:N) : sort!(unique!([N - Int(d) for d in dims]))
    outsz = ntuple(d -> d in jd ? 1 : sz[d], N)
    acc = zeros(Float64, outsz)
    args = map(a -> broadcast_to(a, sz), inputs)
    if !isempty(acc) && prod(sz) > 0
        GC.@preserve args Base.invokelatest(_fused_accumulate!, k.f, acc, args, sz, jd)
    end
    count = foldl(*, Int[sz[d] for d in jd]; init = 1)
    reduce == "mean" && (acc ./= count)
    out = alloc(k.result, keepdim ? outsz : Tuple(sz[d] for d in 1:N if !(d in jd)))
    copyto!(out, acc)   # the same elements in the same order: only size-1 dims are dropped
    out
end

"""Add `f` of every broadcast element of `args` into its slot of `acc` (size 1 along the reduced
Julia dims `jd`). Packed operands reduced over leading Julia dims (Python's trailing dims, every dim
included) take one SIMD loop per output element; anything else takes the general strided loop."""
function _fused_accumulate!(f::F, acc::Array{Float64}, args::Tuple, sz::NTuple{N,Int}, jd::Vector{Int}) where {F,N}
    ptrs = map(a -> a.ptr, args)
    if jd == collect(1:length(jd)) && all(map(iscontiguous, args))
        inner = foldl(*, Int[sz[d] for d in jd]; init = 1)
        @inbounds for j in 1:length(acc)
            base = (j - 1) * inner
            s = 0.0
            @simd for i in 1:inner
                s += Float64(f(map(p -> unsafe_load(p, base + i), ptrs)...))
            end
            acc[j] = s
        end
        return acc
    end
    li = LinearIndices(size(acc))
    @inbounds for I in CartesianIndices(sz)
        vals = map(a -> unsafe_load(a.ptr, _offset(a, Tuple(I)) + 1), args)
        J = CartesianIndex(ntuple(d -> d in jd ? 1 : I[d], N))
        acc[li[J]] += Float64(f(vals...))
    end
    acc
end

defop("_fused_reduce(kernel: int, reduce: str, dims: IntList, keepdim: bool, " *
      join(("x$i: Tensor" * (i > 1 ? " = None" : "") for i in 1:FUSED_MAX_INPUTS), ", ") * ") -> Tensor",
      _fused_reduce; method = false,
      doc = "The sum or mean over `dims` (Python dims of the broadcast shape; empty: all) of fused kernel " *
            "`kernel` over its inputs, in one pass without the kernel's output array (made by jt.compile).")

"""
    fused_apply(kernel, To, arrays...) -> Array{To}

Kernel `kernel` over Julia arrays (broadcast), into a new `Array{To}`: the fused kernel as Julia
code calls it (tests, the REPL).
"""
function fused_apply(kernel::Integer, ::Type{To}, arrays::AbstractArray...) where {To}
    sz = broadcast_size(map(size, arrays)...)
    out = alloc(To, sz)
    _fused_map!(Strided(out), map(a -> Strided(a isa Array || a isa Strided ? a : Array(a)), arrays), kernel)
    out
end
