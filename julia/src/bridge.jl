# The C entry points Python calls (through ctypes on @cfunction pointers), and nothing else.
#
# Wire format: arguments arrive as a flat buffer of 64-bit words, each argument a tag followed by
# its payload; results go back in a caller-owned word buffer. The format is defined once, in
# wire.txt beside this file, read below into constants (Python and the C fast path read the same
# table). No exception may leave an entry point (it would exit the process): every entry
# catches, records the error, and returns a status; Python then fetches the message with
# `jt_error_text`. Arrays made by Julia and handed to Python are rooted in HANDLES until Python
# releases them.

# ---- the word format, from wire.txt ----------------------------------------------------------------
const WIRE_PATH = joinpath(@__DIR__, "wire.txt")
include_dependency(WIRE_PATH)   # an edit recompiles JTensor (the constants below are baked in)

"""
    read_wire(path) -> (codes, layouts)

The word format table: `codes[section][name]` for the `tag`, `device`, `limit`, `mapkind` and
`fnkind` lines, `layouts[side][kind]` the field names of each `arg` and `result` line.
"""
function read_wire(path::AbstractString)
    codes = Dict{String,Dict{String,Int}}(k => Dict{String,Int}() for k in ("tag", "device", "limit", "mapkind", "fnkind"))
    layouts = Dict{String,Dict{String,Vector{String}}}(k => Dict{String,Vector{String}}() for k in ("arg", "result"))
    for (n, raw) in enumerate(eachline(path))
        w = split(split(raw, '#'; limit = 2)[1])
        isempty(w) && continue
        if haskey(codes, w[1]) && length(w) >= 3
            codes[w[1]][w[2]] = parse(Int, w[3])
        elseif haskey(layouts, w[1]) && length(w) >= 3 && w[3] == "tag"
            layouts[w[1]][w[2]] = String.(w[3:end])
        else
            error("$path:$n: cannot read $(repr(raw))")
        end
    end
    (codes = codes, layouts = layouts)
end

"The number of words of a layout before its first run (`name[count]`): its fields' fixed offsets."
wire_fixed(fields::Vector{String}) = something(findfirst(f -> occursin('[', f), fields), length(fields) + 1) - 1

"""
Every number of the table as a constant of this module, named as in the C fast path's generated
header without its `WIRE_` prefix (python/jtensor/wire_format.py `constants`): `TAG_<NAME>`,
`LIMIT_<NAME>`, and for each layout `ARG_<KIND>_<FIELD>` / `RESULT_<KIND>_<FIELD>` (the field's
word offset from the tag) and `ARG_<KIND>_FIXED` / `RESULT_<KIND>_FIXED` (the words before the
first run: a tensor's shape starts there).
"""
const WIRE = read_wire(WIRE_PATH)
for (prefix, section) in (("TAG", "tag"), ("LIMIT", "limit"))
    for (name, v) in WIRE.codes[section]
        @eval const $(Symbol(prefix, "_", uppercase(name))) = $v
    end
end
for side in ("arg", "result"), (kind, fields) in WIRE.layouts[side]
    fixed = wire_fixed(fields)
    for k in 1:fixed
        @eval const $(Symbol(uppercase(side), "_", uppercase(kind), "_", uppercase(fields[k]))) = $(k - 1)
    end
    @eval const $(Symbol(uppercase(side), "_", uppercase(kind), "_FIXED")) = $fixed
end
const RESULT_WORDS = LIMIT_RESULT_WORDS
# devices.jl names the device codes for kernels; they must be the table's
for (name, code) in WIRE.codes["device"]
    sym = Symbol("DEVICE_", uppercase(name))
    isdefined(@__MODULE__, sym) && getfield(@__MODULE__, sym) == code ||
        error("$WIRE_PATH: device $name has code $code, but devices.jl's $sym is ",
              isdefined(@__MODULE__, sym) ? getfield(@__MODULE__, sym) : "not defined")
end
"The table's name of device code `code`, for messages."
wire_device_name(code::Integer) =
    something(findfirst(==(code), WIRE.codes["device"]), "with unknown code $code")

const HANDLES = Dict{Int,Any}()
const NEXT_HANDLE = Ref(0)

"Root `x` so the GC keeps it while Python refers to it; returns the handle."
function root!(x)
    h = (NEXT_HANDLE[] += 1)
    HANDLES[h] = x
    out_root!(x)
    h
end

@inline _w(buf::Ptr{Int64}, i::Int) = unsafe_load(buf, i)
_f(w::Int64) = reinterpret(Float64, w)

# `_read(T, buf, i)`: the argument of Julia type T at word `i` (its tag included), and the next index.
# (A CPU tensor: device words are checked by decode_arg and _layout!, which choose the reader.)
@inline function _read(::Type{Strided{T,N}}, buf::Ptr{Int64}, i::Int) where {T,N}
    ptr = Ptr{T}(UInt(_w(buf, i + ARG_TENSOR_ADDRESS)))
    sz = ntuple(d -> Int(_w(buf, i + ARG_TENSOR_FIXED + N - d)), Val(N))      # Python order -> Julia order
    st = ntuple(d -> Int(_w(buf, i + ARG_TENSOR_FIXED + 2N - d)), Val(N))
    Strided{T,N}(ptr, sz, st, nothing), i + ARG_TENSOR_FIXED + 2N
end
@inline _read(::Type{Int}, buf::Ptr{Int64}, i::Int) = Int(_w(buf, i + ARG_INT_VALUE)), i + ARG_INT_FIXED
@inline _read(::Type{Float64}, buf::Ptr{Int64}, i::Int) = _f(_w(buf, i + ARG_FLOAT_VALUE)), i + ARG_FLOAT_FIXED
@inline _read(::Type{Bool}, buf::Ptr{Int64}, i::Int) = _w(buf, i + ARG_BOOL_VALUE) != 0, i + ARG_BOOL_FIXED
@inline _read(::Type{Nothing}, buf::Ptr{Int64}, i::Int) = nothing, i + ARG_NONE_FIXED
@inline _read(::Type{ComplexF64}, buf::Ptr{Int64}, i::Int) =
    complex(_f(_w(buf, i + ARG_COMPLEX_RE)), _f(_w(buf, i + ARG_COMPLEX_IM))), i + ARG_COMPLEX_FIXED
@inline _read(::Type{String}, buf::Ptr{Int64}, i::Int) =
    unsafe_string(Ptr{UInt8}(UInt(_w(buf, i + ARG_STR_ADDRESS))), Int(_w(buf, i + ARG_STR_LENGTH))), i + ARG_STR_FIXED
@inline _read(::Type{DataType}, buf::Ptr{Int64}, i::Int) = dtype_of(_w(buf, i + ARG_DTYPE_CODE)), i + ARG_DTYPE_FIXED
# a typed plan's dtype argument: the type is the plan's (its layout holds the code), so kernels
# taking `::Type{T}` are called statically
@inline _read(::Type{Type{T}}, buf::Ptr{Int64}, i::Int) where {T} = T, i + ARG_DTYPE_FIXED
# a typed plan's tensor list, every item one Strided type (checked by `_layout!`)
function _read(::Type{Vector{S}}, buf::Ptr{Int64}, i::Int) where {S<:Strided}
    n = Int(_w(buf, i + ARG_TENSORLIST_COUNT))
    v = Vector{S}(undef, n)
    j = i + ARG_TENSORLIST_FIXED
    for k in 1:n
        v[k], j = _read(S, buf, j)
    end
    v, j
end
@inline _read(::Type{NTuple{N,Int}}, buf::Ptr{Int64}, i::Int) where {N} =
    ntuple(k -> Int(_w(buf, i + ARG_INTLIST_FIXED + k - 1)), Val(N)), i + ARG_INTLIST_FIXED + N

"A meta tensor argument at word `i`: a `MetaArray` of its dtype, Julia-order size and strides, no data."
function _read_meta(buf::Ptr{Int64}, i::Int, code::Int64, nd::Int)
    sz = ntuple(d -> Int(_w(buf, i + ARG_TENSOR_FIXED + nd - d)), nd)
    st = ntuple(d -> Int(_w(buf, i + ARG_TENSOR_FIXED + 2nd - d)), nd)
    MetaArray{dtype_of(code),nd}(sz, st), i + ARG_TENSOR_FIXED + 2nd
end

"A CUDA tensor argument at word `i`: a `CudaArray` at its device address (device 0; see docs/cuda.md)."
function _read_cuda(buf::Ptr{Int64}, i::Int, code::Int64, nd::Int)
    sz = ntuple(d -> Int(_w(buf, i + ARG_TENSOR_FIXED + nd - d)), nd)
    st = ntuple(d -> Int(_w(buf, i + ARG_TENSOR_FIXED + 2nd - d)), nd)
    CudaArray{dtype_of(code),nd}(UInt64(_w(buf, i + ARG_TENSOR_ADDRESS)), sz, st, 0), i + ARG_TENSOR_FIXED + 2nd
end

# Reading a tensor argument needs its type Strided{T,N}; building that type from run-time values
# costs microseconds, so each (dtype, dims) pair gets a reader function once (see `_read` above).
const TENSOR_READERS = Dict{Tuple{Int64,Int},Any}()
_reader(::Type{S}) where {S} = (buf::Ptr{Int64}, i::Int) -> _read(S, buf, i)
function _tensor_reader(code::Int64, nd::Int)
    r = get(TENSOR_READERS, (code, nd), nothing)
    r === nothing || return r
    TENSOR_READERS[(code, nd)] = _reader(Strided{dtype_of(code),nd})
end

"Decode one argument at word `i`; returns (value, next index)."
function decode_arg(buf::Ptr{Int64}, i::Int)
    tag = _w(buf, i)
    if tag == TAG_TENSOR
        code, nd, dev = _w(buf, i + ARG_TENSOR_DTYPE), Int(_w(buf, i + ARG_TENSOR_NDIM)), _w(buf, i + ARG_TENSOR_DEVICE)
        dev == DEVICE_CPU && return _tensor_reader(code, nd)(buf, i)
        dev == DEVICE_META && return _read_meta(buf, i, code, nd)
        dev == DEVICE_CUDA && return _read_cuda(buf, i, code, nd)
        throw(ArgumentError("bridge: tensors on device $(wire_device_name(dev)) cannot be passed to Julia"))
    elseif tag == TAG_INT
        return _read(Int, buf, i)
    elseif tag == TAG_FLOAT
        return _read(Float64, buf, i)
    elseif tag == TAG_BOOL
        return _read(Bool, buf, i)
    elseif tag == TAG_NONE
        return _read(Nothing, buf, i)
    elseif tag == TAG_INTLIST   # a run-time length: built directly (NTuple{n,Int} would apply a type)
        n = Int(_w(buf, i + ARG_INTLIST_COUNT))
        return ntuple(k -> Int(_w(buf, i + ARG_INTLIST_FIXED + k - 1)), n), i + ARG_INTLIST_FIXED + n
    elseif tag == TAG_COMPLEX
        return _read(ComplexF64, buf, i)
    elseif tag == TAG_STR
        return _read(String, buf, i)
    elseif tag == TAG_DTYPE
        return _read(DataType, buf, i)
    elseif tag == TAG_TENSORLIST
        n = Int(_w(buf, i + ARG_TENSORLIST_COUNT))
        items = Any[]
        j = i + ARG_TENSORLIST_FIXED
        for _ in 1:n
            v, j = decode_arg(buf, j)
            push!(items, v)
        end
        return items, j
    end
    throw(ArgumentError("bridge: unknown argument tag $tag"))
end

function decode_args(buf::Ptr{Int64}, nwords::Int)
    args = Any[]
    i = 1
    while i <= nwords
        v, i = decode_arg(buf, i)
        push!(args, v)
    end
    args
end

"Write a tensor result's words at word `i` of `res` (Python-order shape); returns the next index."
function _encode_tensor(res::Ptr{Int64}, i::Int, ::Type{T}, sz::Tuple, device::Int, address::Int64, handle::Int) where {T}
    nd = length(sz)
    i + RESULT_TENSOR_FIXED + nd > RESULT_WORDS && throw(ArgumentError("bridge: too many results for the result buffer"))
    unsafe_store!(res, TAG_TENSOR, i + RESULT_TENSOR_TAG)
    unsafe_store!(res, dtype_code(T), i + RESULT_TENSOR_DTYPE)
    unsafe_store!(res, nd, i + RESULT_TENSOR_NDIM)
    unsafe_store!(res, device, i + RESULT_TENSOR_DEVICE)
    unsafe_store!(res, address, i + RESULT_TENSOR_ADDRESS)
    unsafe_store!(res, handle, i + RESULT_TENSOR_HANDLE)
    for d in 1:nd
        unsafe_store!(res, sz[nd - d + 1], i + RESULT_TENSOR_FIXED + d - 1)
    end
    i + RESULT_TENSOR_FIXED + nd
end

"Write one result at word `i` of `res`; returns the next index."
function encode_result(res::Ptr{Int64}, i::Int, x, as_tensor::Bool)
    i + 32 > RESULT_WORDS && throw(ArgumentError("bridge: too many results for the result buffer"))
    if x isa MetaArray   # no memory: device, shape and dtype only (address and handle 0)
        check_size(eltype(x), size(x))
        return _encode_tensor(res, i, eltype(x), size(x), DEVICE_META, Int64(0), 0)
    elseif x isa AbstractArray
        A = x isa Array && isbitstype(eltype(x)) && (eltype(x) in DTYPES || eltype(x) in USER_DTYPES) ? x : _to_dtype_array(x)
        i + RESULT_TENSOR_FIXED + ndims(A) > RESULT_WORDS && throw(ArgumentError("bridge: too many results for the result buffer"))
        check_size(eltype(A), size(A))   # a kernel's allocation that wrapped around (see sizes.jl)
        return _encode_tensor(res, i, eltype(A), size(A), DEVICE_CPU, Int64(UInt(pointer(A))), root!(A))
    elseif as_tensor && x isa Number
        return encode_result(res, i, fill(x), true)
    elseif x isa Bool
        unsafe_store!(res, TAG_BOOL, i + RESULT_BOOL_TAG); unsafe_store!(res, Int64(x), i + RESULT_BOOL_VALUE)
        return i + RESULT_BOOL_FIXED
    elseif x isa Integer
        unsafe_store!(res, TAG_INT, i + RESULT_INT_TAG); unsafe_store!(res, Int64(x), i + RESULT_INT_VALUE)
        return i + RESULT_INT_FIXED
    elseif x isa Real
        unsafe_store!(res, TAG_FLOAT, i + RESULT_FLOAT_TAG)
        unsafe_store!(res, reinterpret(Int64, Float64(x)), i + RESULT_FLOAT_VALUE)
        return i + RESULT_FLOAT_FIXED
    elseif x isa Complex
        unsafe_store!(res, TAG_COMPLEX, i + RESULT_COMPLEX_TAG)
        unsafe_store!(res, reinterpret(Int64, Float64(real(x))), i + RESULT_COMPLEX_RE)
        unsafe_store!(res, reinterpret(Int64, Float64(imag(x))), i + RESULT_COMPLEX_IM)
        return i + RESULT_COMPLEX_FIXED
    elseif x === nothing
        unsafe_store!(res, TAG_NONE, i + RESULT_NONE_TAG)
        return i + RESULT_NONE_FIXED
    end
    throw(ArgumentError("bridge: cannot return a $(typeof(x)) to Python"))
end

"A packed Array with a jtensor element type holding `x` (a Strided view, a range, Int32 on 32-bit...)."
function _to_dtype_array(x::AbstractArray)
    T = eltype(x)
    is_dtype(T) || (T = T <: Integer ? Int64 : T <: Complex ? ComplexF64 : T <: Real ? Float64 : T)
    is_dtype(T) || throw(ArgumentError("cannot return an array of $(eltype(x)) to Python (register its element type with JTensor.register_dtype)"))
    out = alloc(T, size(x))
    if x isa Strided
        map_into!(identity, compute_type(T), Strided(out), (x,))
    else
        copyto!(out, x)
    end
    out
end

function encode_results(res::Ptr{Int64}, r, op::OpDef)
    multi = r isa Tuple
    items = multi ? r : (r,)
    as_tensor = !(op.returns in ("bool", "int", "float", "complex", "Scalar", "None", "Self"))
    unsafe_store!(res, length(items), 1)
    i = 2
    for x in items
        i = encode_result(res, i, x, as_tensor)
    end
    nothing
end

"Run op `opid` on decoded arguments; the calling convention depends on the op's kind."
function run_op(op::OpDef, args::Vector{Any})
    if op.kind === :map
        # [out, compute dtype, number of tensor-position inputs, inputs..., extra scalars...]
        out = args[1]
        Tc = compute_type(args[2]::DataType)
        nin = args[3]::Int
        map_into!(op.kernel, Tc, out, Tuple(args[4:3+nin]), Tuple(args[4+nin:end]))
        return nothing
    end
    run_kernel(op.kernel, op.name, args)
end

# ---- plans: the fast path for elementwise ops ---------------------------------------------------
# The general path above decodes into `Any` values and dispatches dynamically (several µs and
# dozens of allocations per call). A plan is specialized on one call signature — op, output and
# compute types, and the type of each argument — and decodes the same word layout with every type
# known, so a repeated call costs a few hundred ns. Python caches plan ids by signature.

"Dims a plan's scratch buffers start with; a call with more grows them (any number of dims works)."
const PLAN_DIMS = 16

struct MapPlan{F,To,Tc,A<:Tuple,E<:Tuple}
    f::F
    shape::Vector{Int}
    strides::Vector{Vector{Int}}
end

const PLANS = Any[]

# Plans are made with types computed at run time. Constructing one, or storing it, through an
# ordinary call would compile a constructor and a `push!`/`setindex!` for each plan type: three
# compilations per plan instead of one (the plan's own call). These two compile once.
"An instance of the run-time type `T` with `fields`, without a constructor compiled per type."
_new_plan(@nospecialize(T), fields::Vector{Any}) =
    ccall(:jl_new_structv, Any, (Any, Ptr{Any}, UInt32), T, fields, length(fields))
"Append `x` to `v` and return its index (the `arrayset` builtin does not specialize on `x`)."
function _keep!(v::Vector{Any}, @nospecialize(x))
    n = length(v) + 1
    resize!(v, n)
    Core.arrayset(true, v, x, n)
    n
end

_kind(x::Strided{T}) where {T} = Ptr{T}
_kind(x) = typeof(x)

@inline function _read1(::Type{Ptr{T}}, buf::Ptr{Int64}, i::Int, st::Vector{Int}, nd::Int) where {T}
    p = Ptr{T}(UInt(unsafe_load(buf, i + ARG_TENSOR_ADDRESS)))
    @inbounds for d in 1:nd
        st[d] = unsafe_load(buf, i + ARG_TENSOR_FIXED + 2nd - d)
    end
    p, i + ARG_TENSOR_FIXED + 2nd
end
@inline _read1(::Type{T}, buf, i, st, nd) where {T<:Union{Int,Float64,Bool,ComplexF64,Nothing}} = _read(T, buf, i)
@inline function _read1(::Type{SelfArg{T}}, buf::Ptr{Int64}, i::Int, st::Vector{Int}, nd::Int) where {T}
    _, i = _read1(Ptr{T}, buf, i, st, nd)   # its words (the output's own address and layout)
    SelfArg{T}(), i
end

@inline _readall(::Type{Tuple{}}, buf, i, strides, k, nd) = (), i
@inline function _readall(::Type{A}, buf, i, strides, k, nd) where {A<:Tuple}
    v, i = _read1(fieldtype(A, 1), buf, i, @inbounds(strides[min(k, length(strides))]), nd)
    rest, i = _readall(Base.tuple_type_tail(A), buf, i, strides, k + 1, nd)
    (v, rest...), i
end

function (p::MapPlan{F,To,Tc,A,E})(buf::Ptr{Int64}) where {F,To,Tc,A,E}
    nd0 = Int(unsafe_load(buf, 1 + ARG_TENSOR_NDIM))
    nd = nd0
    optr = Ptr{To}(UInt(unsafe_load(buf, 1 + ARG_TENSOR_ADDRESS)))
    nd > length(p.shape) && _grow!(p, nd)
    shape = p.shape
    st = p.strides[1]
    @inbounds for d in 1:nd   # Python order -> Julia order
        shape[d] = unsafe_load(buf, 1 + ARG_TENSOR_FIXED + nd - d)
        st[d] = unsafe_load(buf, 1 + ARG_TENSOR_FIXED + 2nd - d)
    end
    if nd == 0
        nd = 1
        @inbounds shape[1] = 1
        @inbounds for s in p.strides
            s[1] = 0
        end
    end
    i = 1 + ARG_TENSOR_FIXED + 2nd0 + ARG_DTYPE_FIXED + ARG_INT_FIXED   # past the compute dtype and input count
    args, i = _readall(A, buf, i, p.strides, 2, nd0)
    extra, i = _readall(E, buf, i, p.strides, length(p.strides) + 1, 0)
    run_raw!(p.f, Tc, optr, args, extra, shape, p.strides, nd)
    nothing
end

"Make room for `nd` dims in a plan's scratch buffers."
@noinline function _grow!(p::MapPlan, nd::Int)
    resize!(p.shape, nd)
    foreach(s -> resize!(s, nd), p.strides)
    nothing
end

"""Build (or fail to build) a plan for a map-op call in the general word layout; returns its id.
`into`: an in-place call, whose first operand is the output itself in exactly its layout (the
caller guarantees it for every call of the plan; checked here on the first): the plan reads it
through the output (`SelfArg`), which lets the loop vectorize."""
function make_plan(op::OpDef, args::Vector{Any}, into::Bool = false)
    op.kind === :map || throw(ArgumentError("only elementwise ops have plans"))
    # plans read CPU memory only: Python sends a call with another device's tensor to jt_call
    any(a -> a isa MetaArray, args) && throw(ArgumentError("bridge: no plan for a call with a meta tensor"))
    out = args[1]
    Tc = compute_type(args[2]::DataType)
    nin = args[3]::Int
    ins = args[4:3+nin]
    ext = args[4+nin:end]
    kinds = Any[_kind(a) for a in ins]
    if into
        self = isempty(ins) ? nothing : ins[1]
        self isa Strided && eltype(self) == eltype(out) && self.ptr == out.ptr && size(self) == size(out) &&
            self.strides == out.strides || throw(ArgumentError("bridge: an in-place plan's first operand must be its output"))
        kinds[1] = SelfArg{eltype(out)}
    end
    A = Tuple{kinds...}
    E = Tuple{map(_kind, ext)...}
    T = MapPlan{typeof(op.kernel),eltype(out),Tc,A,E}
    _keep!(PLANS, _new_plan(T, Any[op.kernel, zeros(Int, PLAN_DIMS), _scratch_buffers(1 + nin)]))
end

"`n` scratch vectors of PLAN_DIMS words (a plan's per-argument strides)."
function _scratch_buffers(n::Int)
    v = Vector{Vector{Int}}(undef, n)
    for k in 1:n
        v[k] = zeros(Int, PLAN_DIMS)
    end
    v
end

# ---- typed plans for the general entry -----------------------------------------------------------
# `jt_call` decodes into `Any` values and calls the kernel dynamically: ~1 µs per argument, more
# than many kernels take. A call's layout (each argument's tag, tensor dtype and dims, list length)
# fixes the Julia type of every argument, so the first call of each layout makes an `FnPlan` that
# decodes with those types known and calls the kernel statically; later calls with that layout
# find it by the layout words.

struct FnPlan{F,A<:Tuple}
    op::OpDef
    f::F
end

const FN_PLANS = Dict{Vector{Int},Int}()   # layout words => index in FN_PLAN_LIST
const FN_PLAN_LIST = Any[]
const FN_LAYOUT = Int[]                 # scratch: the layout of the call being made
const FN_PLANS_VERSION = Ref(-1)        # registry version the plans were made for

"""The layout words of a call (see above) into FN_LAYOUT; false when it has no typed plan (non-CPU
tensors, tensor lists that are empty or mix dtypes or dims). A dtype argument's code and a tensor
list's item type are part of the layout (the plan reads them as `Type{T}` and `Vector{Strided{T,N}}`);
a list's length is not (one plan serves every length)."""
function _layout!(opid::Int64, buf::Ptr{Int64}, nwords::Int)
    sig = FN_LAYOUT
    empty!(sig)
    push!(sig, opid)
    i = 1
    while i <= nwords
        tag = _w(buf, i)
        push!(sig, tag)
        if tag == TAG_TENSOR
            _w(buf, i + ARG_TENSOR_DEVICE) == DEVICE_CPU || return false   # plans read CPU memory only
            nd = Int(_w(buf, i + ARG_TENSOR_NDIM))
            push!(sig, _w(buf, i + ARG_TENSOR_DTYPE), nd)
            i += ARG_TENSOR_FIXED + 2nd
        elseif tag == TAG_INT
            i += ARG_INT_FIXED
        elseif tag == TAG_FLOAT
            i += ARG_FLOAT_FIXED
        elseif tag == TAG_BOOL
            i += ARG_BOOL_FIXED
        elseif tag == TAG_DTYPE
            push!(sig, _w(buf, i + ARG_DTYPE_CODE))
            i += ARG_DTYPE_FIXED
        elseif tag == TAG_TENSORLIST
            n = Int(_w(buf, i + ARG_TENSORLIST_COUNT))
            j = i + ARG_TENSORLIST_FIXED
            n > 0 && _w(buf, j) == TAG_TENSOR || return false
            code, nd = _w(buf, j + ARG_TENSOR_DTYPE), Int(_w(buf, j + ARG_TENSOR_NDIM))
            for _ in 1:n
                (_w(buf, j) == TAG_TENSOR && _w(buf, j + ARG_TENSOR_DEVICE) == DEVICE_CPU &&
                 _w(buf, j + ARG_TENSOR_DTYPE) == code && _w(buf, j + ARG_TENSOR_NDIM) == nd) || return false
                j += ARG_TENSOR_FIXED + 2nd
            end
            push!(sig, code, nd)
            i = j
        elseif tag == TAG_NONE
            i += ARG_NONE_FIXED
        elseif tag == TAG_INTLIST
            n = Int(_w(buf, i + ARG_INTLIST_COUNT))
            push!(sig, n)
            i += ARG_INTLIST_FIXED + n
        elseif tag == TAG_COMPLEX
            i += ARG_COMPLEX_FIXED
        elseif tag == TAG_STR
            i += ARG_STR_FIXED
        else
            return false
        end
    end
    true
end

@inline _readargs(::Type{Tuple{}}, buf::Ptr{Int64}, i::Int) = (), i
@inline function _readargs(::Type{A}, buf::Ptr{Int64}, i::Int) where {A<:Tuple}
    v, i = _read(fieldtype(A, 1), buf, i)
    rest, i = _readargs(Base.tuple_type_tail(A), buf, i)
    (v, rest...), i
end

function (p::FnPlan{F,A})(buf::Ptr{Int64}, res::Ptr{Int64}) where {F,A}
    args, _ = _readargs(A, buf, 1)
    encode_results(res, p.f(args...), p.op)
end

clear_fn_plans!() = (empty!(FN_PLANS); empty!(FN_PLAN_LIST); nothing)

"The type a typed plan reads an argument as (see `_read`): a dtype as `Type{T}`, a tensor list as a typed vector."
_plan_argtype(x) = typeof(x)
_plan_argtype(x::DataType) = Type{x}
_plan_argtype(x::Vector{Any}) = Vector{typeof(x[1])}

"The typed plan for this call of fn-kind op `op` (made on first use of its layout), or nothing."
function _fn_plan(op::OpDef, opid::Int64, buf::Ptr{Int64}, nwords::Int)
    if FN_PLANS_VERSION[] != REGISTRY_VERSION[]   # ops were (re)defined: plans may call old kernels
        clear_fn_plans!()
        FN_PLANS_VERSION[] = REGISTRY_VERSION[]
    end
    _layout!(opid, buf, nwords) || return nothing
    k = get(FN_PLANS, FN_LAYOUT, 0)
    k == 0 || return @inbounds FN_PLAN_LIST[k]
    args = decode_args(buf, nwords)
    T = FnPlan{typeof(op.kernel),Tuple{map(_plan_argtype, args)...}}
    plan = _new_plan(T, Any[op, op.kernel])
    FN_PLANS[copy(FN_LAYOUT)] = _keep!(FN_PLAN_LIST, plan)
    plan
end

"""
    @entry failvalue body

The body of a C entry point: no exception may leave it (Julia would exit the process), so any
error is recorded for `jt_error_text` and `failvalue` is returned instead.
"""
macro entry(failvalue, body)
    quote
        try
            $(esc(body))
        catch e
            record_error(e, catch_backtrace())
            return $(esc(failvalue))
        end
    end
end

"""Entry: make a plan for op `opid` from a call's words; returns the plan id (> 0), or 0 on error.
A negative `opid`: the plan of op -opid's in-place form (`make_plan`'s `into`)."""
function jt_plan(opid::Int64, buf::Ptr{Int64}, nwords::Int64)::Int64
    @entry 0 begin
        return make_plan(REGISTRY[abs(opid)], decode_args(buf, Int(nwords)), opid < 0)
    end
end

"Entry: run plan `pid` on a call's words (same layout as jt_call for map ops); 0 = ok, 1 = error."
function jt_run(pid::Int64, buf::Ptr{Int64})::Int64
    @entry 1 begin
        PLANS[pid](buf)
        return 0
    end
end

# ---- errors -------------------------------------------------------------------------------------
const LAST_ERROR = Ref{Vector{UInt8}}(UInt8[0])

"Julia frames up to (not beyond) the entry point, as text; deeper frames only produce noise."
function _backtrace_text(bt)
    io = IOBuffer()
    n = 0
    for ip in bt
        for fr in StackTraces.lookup(ip)
            fr.func in (:jt_call, :jt_eval, :jt_eval_value, :jt_repl, :jt_run, :jt_plan) && return String(take!(io))
            fr.from_c && continue
            n += 1
            n > 40 && return String(take!(io))
            println(io, " [", n, "] ", fr)
        end
    end
    String(take!(io))
end

"Whether a frame's file is Julia's own (Base, `./x.jl`, or a standard library), not the user's or JTensor's."
function _julia_file(file::AbstractString)
    (startswith(file, "./") && isfile(joinpath(Sys.BINDIR, Base.DATAROOTDIR, "julia", "base", file[3:end]))) ||
        occursin("/share/julia/stdlib/", file) || isempty(file) || file == "none"
end

"""
`file:line` of the innermost frame of `bt` in code that is not Julia's own (a kernel, JTensor's
sources, a user's file or `jt.julia.eval` text), or "". JTensor's registry.jl is skipped, so a
refused definition points at the `defop` call that made it.
"""
function _error_location(bt)
    for ip in bt, fr in StackTraces.lookup(ip)
        fr.from_c && continue
        fr.func in (:jt_call, :jt_eval, :jt_eval_value, :jt_repl, :jt_run, :jt_plan) && return ""
        file = string(fr.file)
        (_julia_file(file) || file == joinpath(@__DIR__, "registry.jl")) && continue
        return string(startswith(file, "./") ? file[3:end] : file, ":", fr.line)
    end
    ""
end

"""
A stack overflow's message: the method that recursed (the innermost frame). For a user's element
type it is usually a Base fallback that calls itself when the type lacks a method, e.g.
`sin(x::AbstractFloat)` converting with `float(x)`, which is `x` again.
"""
function _stack_overflow_text(bt)
    for ip in bt, fr in StackTraces.lookup(ip)
        fr.from_c && continue
        sig = fr.linfo isa Core.MethodInstance ? fr.linfo.specTypes : nothing
        where = sig isa DataType && sig <: Tuple ?
            string(fr.func, "(", join(("::$T" for T in sig.parameters[2:end]), ", "), ")") : string(fr.func)
        return "stack overflow in $where (at $(fr.file):$(fr.line)): a method that calls itself; for a " *
               "user element type, usually a Base fallback with no method of the type's own (define one)"
    end
    "stack overflow"
end

function record_error(e, bt)
    # eval/include wrap errors; report the real one, at the line of the file it names when the
    # backtrace shows no better place (a syntax error's frames are all Julia's parser)
    loaded_at = ""
    while e isa LoadError
        loaded_at = string(e.file, ":", e.line)
        e = e.error
    end
    msg = try
        e isa StackOverflowError ? _stack_overflow_text(bt) :
        hasfield(typeof(e), :msg) && getfield(e, :msg) isa AbstractString ? String(getfield(e, :msg)) :
            sprint(showerror, e)
    catch
        "(error while printing the error)"
    end
    trace = try
        _backtrace_text(bt)
    catch
        ""
    end
    location = try
        _error_location(bt)
    catch
        ""
    end
    isempty(location) && (location = loaded_at)
    LAST_ERROR[] = Vector{UInt8}(string(nameof(typeof(e)), '\x1e', msg, '\x1e', trace, '\x1e', location, '\0'))
    nothing
end

# ---- entry points ---------------------------------------------------------------------------------
"Entry: run op `opid` (1-based registry index) on `nwords` argument words; 0 = ok, 1 = error."
function jt_call(opid::Int64, buf::Ptr{Int64}, nwords::Int64, res::Ptr{Int64})::Int64
    @entry 1 begin
        op = REGISTRY[opid]
        if op.kind !== :map
            plan = _fn_plan(op, opid, buf, Int(nwords))
            if plan !== nothing
                plan(buf, res)
                return 0
            end
        end
        r = run_op(op, decode_args(buf, Int(nwords)))
        encode_results(res, r, op)
        return 0
    end
end

"Entry: unroot `n` handles listed at `buf` (arrays Python no longer refers to)."
function jt_release(buf::Ptr{Int64}, n::Int64)::Int64
    @entry 1 begin
        for i in 1:n
            out_release!(pop!(HANDLES, unsafe_load(buf, i), nothing))
        end
        return 0
    end
end

"Entry: evaluate Julia source text in module Main; result discarded. 0 = ok, 1 = error."
function jt_eval(src::Ptr{UInt8}, len::Int64)::Int64
    @entry 1 begin
        code = unsafe_string(src, len)
        Base.include_string(Main, code, "jtensor.julia.eval")
        return 0
    end
end

"""
Entry: evaluate Julia source in `Main` and write its value to `res` (numbers, arrays and
`nothing` as for op results; anything else as its `repr` text). 0 = ok, 1 = error.
"""
function jt_eval_value(src::Ptr{UInt8}, len::Int64, res::Ptr{Int64})::Int64
    @entry 1 begin
        v = Base.include_string(Main, unsafe_string(src, len), "jtensor.julia.eval")
        unsafe_store!(res, 1, 1)
        if v isa Union{Bool,Base.BitInteger,Base.IEEEFloat,Complex{<:Union{Base.BitInteger,Base.IEEEFloat}},Nothing} ||
                (v isa AbstractArray && is_dtype(eltype(v)))
            encode_result(res, 2, v isa Strided ? _to_dtype_array(v) : v, false)
        else
            text = Vector{UInt8}(repr(v))
            unsafe_store!(res, TAG_STR, 2 + RESULT_STR_TAG)
            unsafe_store!(res, Int64(UInt(pointer(text))), 2 + RESULT_STR_ADDRESS)
            unsafe_store!(res, length(text), 2 + RESULT_STR_LENGTH)
            unsafe_store!(res, root!(text), 2 + RESULT_STR_HANDLE)
        end
        return 0
    end
end

"""
Entry: run an interactive Julia REPL on this process's terminal until the user leaves it
(Ctrl-D or `exit()`, which only ends the REPL). 0 = ok, 1 = error.
"""
const REPL_NOW = Ref{Any}(nothing)

"`exit()` inside `jt.julia.repl()`: end the REPL (not the Python process) before its next prompt."
function leave_repl()
    r = REPL_NOW[]
    r === nothing && throw(InterruptException())
    r.mistate.aborted = true
    nothing
end

function jt_repl()::Int64
    @entry 1 begin
        REPL = Base.require(Base.PkgId(Base.UUID("3fa0cd96-eef1-5676-8a61-b3b8758bbffb"), "REPL"))
        term = REPL.Terminals.TTYTerminal(get(ENV, "TERM", "dumb"), stdin, stdout, stderr)
        repl = REPL.LineEditREPL(term, true)
        REPL_NOW[] = repl
        Core.eval(Main, :(exit(code::Integer = 0) = $leave_repl()))
        try
            REPL.run_repl(repl)
        catch e
            e isa InterruptException || rethrow()
        finally
            REPL_NOW[] = nothing
        end
        return 0
    end
end

"""
    bind_global(name, value)

Make `value` (a tensor passed from Python: a `Strided` over its memory) a global of `Main`,
so a REPL sees it as a Julia array without a copy; `nothing` unbinds it.
"""
bind_global(name::AbstractString, value) = (Core.eval(Main, Expr(:(=), Symbol(name), value)); nothing)
defop("_bind_global(name: str, value: Tensor = None) -> None", bind_global; method = false,
      doc = "Bind a tensor as a global of Julia's Main module (no copy), or unbind it with None.")

"""
    show_elements(x) -> Vector{UInt8}

The text of each element of `x` by Julia's `show` (compact), in Python's (row-major) order,
separated by U+1F, as bytes: how Python prints a tensor of a user dtype.
"""
function show_elements(x::AbstractArray)
    io = IOBuffer()
    ctx = IOContext(io, :compact => true)
    for (k, v) in enumerate(x)    # Julia's column-major order over reversed dims: Python's row-major
        k > 1 && write(io, '\x1f')
        show(ctx, v)
    end
    take!(io)
end
defop("_show_elements(x: Tensor) -> Tensor", show_elements; method = false,
      doc = "The elements' texts by Julia's `show`, U+1F-separated, as uint8 bytes (printing user dtypes).")

"Entry: the last error as `Type␞message␞backtrace␞file:line` (U+1E separators, NUL-terminated; valid until the next error)."
jt_error_text()::Ptr{UInt8} = pointer(LAST_ERROR[])

"Entry: the registry as JSON, returned into a buffer kept until the next call."
const REGISTRY_TEXT = Ref{Vector{UInt8}}(UInt8[0])
"(registry version, its JSON): written by the system image build, valid until an op is (re)defined."
const REGISTRY_TEXT_CACHE = Ref{Tuple{Int,Vector{UInt8}}}((-1, UInt8[0]))
"Keep the registry's JSON now, so a process started from a system image need not write it again."
cache_registry_text!() = (REGISTRY_TEXT_CACHE[] = (REGISTRY_VERSION[], Vector{UInt8}(registry_json() * "\0")); nothing)
function jt_registry()::Ptr{UInt8}
    try
        version, text = REGISTRY_TEXT_CACHE[]
        REGISTRY_TEXT[] = version == REGISTRY_VERSION[] ? text : Vector{UInt8}(registry_json() * "\0")
    catch e
        record_error(e, catch_backtrace())
        return Ptr{UInt8}(0)
    end
    pointer(REGISTRY_TEXT[])
end

"Addresses of the entry points, created at load time (cfunction pointers cannot be precompiled)."
const ENTRY = Dict{String,Ptr{Cvoid}}()
function _make_entries()
    ENTRY["call"] = @cfunction(jt_call, Int64, (Int64, Ptr{Int64}, Int64, Ptr{Int64}))
    ENTRY["plan"] = @cfunction(jt_plan, Int64, (Int64, Ptr{Int64}, Int64))
    ENTRY["run"] = @cfunction(jt_run, Int64, (Int64, Ptr{Int64}))
    ENTRY["release"] = @cfunction(jt_release, Int64, (Ptr{Int64}, Int64))
    ENTRY["eval"] = @cfunction(jt_eval, Int64, (Ptr{UInt8}, Int64))
    ENTRY["eval_value"] = @cfunction(jt_eval_value, Int64, (Ptr{UInt8}, Int64, Ptr{Int64}))
    ENTRY["repl"] = @cfunction(jt_repl, Int64, ())
    ENTRY["error_text"] = @cfunction(jt_error_text, Ptr{UInt8}, ())
    ENTRY["registry"] = @cfunction(jt_registry, Ptr{UInt8}, ())
    # not an entry: the address of the registry version counter, which Python reads before ops are
    # looked up (a memory read instead of a call; Python re-reads the table when it changes)
    ENTRY["registry_version"] = Ptr{Cvoid}(pointer_from_objref(REGISTRY_VERSION))
    nothing
end
"Entry addresses as one string `name=addr;...` (read once by Python at start-up)."
entry_table() = join(["$k=$(UInt(v))" for (k, v) in ENTRY], ";")

# ---- glue compiled ahead of time ------------------------------------------------------------------
# The entry points reach these Base methods on JTensor's own tables by dynamic dispatch. A system
# image built from traced workloads left them out (they were compiled inside their callers while
# tracing, so no trace line names them), and the first op of a process then compiled them for
# ~130 ms. Naming them here puts their native code in the image (and their inferred code in the
# package cache).
function _precompile_glue()
    precompile(setindex!, (Dict{String,Ptr{Nothing}}, Ptr{Nothing}, String))
    precompile(setindex!, (Dict{Int,Any}, Any, Int))
    precompile(delete!, (Dict{Int,Any}, Int))
    precompile(empty!, (Dict{Vector{Int},Int},))
    precompile(get, (Dict{Vector{Int},Int}, Vector{Int}, Int))
    precompile(setindex!, (Dict{Vector{Int},Int}, Int, Vector{Int}))
    precompile(get, (Dict{Tuple{Int64,Int},Any}, Tuple{Int64,Int}, Nothing))
    precompile(setindex!, (Dict{Tuple{Int64,Int},Any}, Any, Tuple{Int64,Int}))
    precompile(push!, (Vector{Int}, Int64))
    precompile(push!, (Vector{Int}, Int64, Int64))
    precompile(map, (typeof(_kind), Vector{Any}))
    precompile(Base._collect, (Vector{Any}, Base.Generator{Vector{Any},typeof(_kind)}, Base.EltypeUnknown, Base.HasShape{1}))
    precompile(_scratch_buffers, (Int,))
    precompile(make_plan, (OpDef, Vector{Any}))
    precompile(decode_args, (Ptr{Int64}, Int))
    precompile(_fn_plan, (OpDef, Int64, Ptr{Int64}, Int))
    precompile(record_error, (Any, Vector{Union{Ptr{Nothing},Base.InterpreterIP}}))
    nothing
end
_precompile_glue()
