# Running ops on `CudaArray`s: the CUDA methods of the engine's `map_into!` (every map op) and of
# the reductions. Each map op gets a module of its own at run time, generated and compiled on its
# first use (milliseconds; cached on disk), holding its variants for every compute type.

"The C struct `JtIndexer<K>` (prelude.jl): dims, sizes and K rows of element strides, by value."
struct CudaIndexer{KM}
    nd::Int32
    pad::Int32
    size::NTuple{CUDA_MAXDIM,Int64}
    stride::NTuple{KM,Int64}      # K rows of CUDA_MAXDIM, row-major as in C
end

const _OP_MODULES = Dict{String,Tuple{String,Vector{MapVariant}}}()

"The CUDA module source of one map op and its variants (generated once per process)."
function op_module(o::OpDef)
    get!(_OP_MODULES, o.name) do
        src, vs, fails, _ = generate_map_module([o])
        isempty(fails) || throw(TranspileError(join((f[3] for f in fails), "; ")))
        (src, vs)
    end
end

const CUDA_THREADS = 256
_blocks(n) = clamp(cld(n, CUDA_THREADS), 1, 65535 * 4)

"Is `A` dense in Julia order (column-major, no gaps)?"
_iscontiguous(A::CudaArray) = A.strides == _colmajor_strides(A.size)

"""
    map_into!(f, Tc, out::CudaArray, args, extra)

The engine's entry for a map op, on the GPU: the op's generated kernel for compute type `Tc`.
Operands arrive broadcast to `out`'s size (stride 0 along broadcast dims). Each must be a
CudaArray of element type `Tc`, and `out` of the kernel's result type; other combinations (a
number operand, an input to convert on load) raise `DeviceNotImplemented` naming them.
"""
function map_into!(f::F, ::Type{Tc}, out::CudaArray{To,N}, args::Tuple, extra::Tuple = ()) where {F,Tc,To,N}
    o = _op_of_kernel(f)
    src, vs = op_module(o)
    i = findfirst(v -> v.Tc === Tc && v.R === To && all(a -> a isa CudaArray && eltype(a) === Tc, args), vs)
    i === nothing && throw(DeviceNotImplemented(o.name, "cuda (compute type $Tc, result $To, operands $(map(typeof, args)))"))
    v = vs[i]
    n = length(out)
    n == 0 && return out
    ex = Tuple(convert(T, e) for (T, e) in zip(v.argtypes[v.nin+1:end], extra) if !_isghost(T))
    ptrs = map(a -> a.ptr, args)
    if _iscontiguous(out) && all(a -> a.strides == out.strides, args)
        cuda_launch(cuda_function(src, v.name * "_c"), _blocks(n), CUDA_THREADS, Int64(n), out.ptr, ptrs..., ex...)
    else
        shape = collect(out.size)
        strides = [collect(out.strides), (collect(a.strides) for a in args)...]
        nd = collapse!(shape, strides, N)
        nd <= CUDA_MAXDIM || throw(DeviceNotImplemented(o.name, "cuda (more than $CUDA_MAXDIM non-mergeable dims)"))
        K = length(strides)
        pad(v) = ntuple(d -> d <= nd ? Int64(v[d]) : Int64(0), CUDA_MAXDIM)
        ix = CudaIndexer{K * CUDA_MAXDIM}(Int32(nd), Int32(0), pad(shape), Tuple(Iterators.flatten(pad.(strides))))
        cuda_launch(cuda_function(src, v.name * "_s"), _blocks(n), CUDA_THREADS, Int64(n), ix, out.ptr, ptrs..., ex...)
    end
    out
end

"The registry entry whose kernel is `f` (map ops are found by their scalar function)."
function _op_of_kernel(f)
    for o in REGISTRY
        o.kind === :map && o.kernel === f && return o
    end
    throw(ArgumentError("no map op has kernel $f"))
end

const _REDUCTION_MODULE = Ref{String}("")
reduction_module() = (isempty(_REDUCTION_MODULE[]) && (_REDUCTION_MODULE[] = generate_reduction_module()[1]); _REDUCTION_MODULE[])

"""
    cuda_reduce(kind, x::CudaArray, dim) -> CudaArray

Reduce contiguous `x` along Julia dimension `dim` with reduction kernel `kind` ("sum", "mean",
"max", "argmax", "var"; `correction` for var): the `_rows` kernel when `dim` is the innermost
(Julia's first) dimension, else `_mid`.
"""
function cuda_reduce(kind::AbstractString, x::CudaArray{T,N}, dim::Int; correction::Real = 1) where {T,N}
    _iscontiguous(x) || throw(ArgumentError("cuda_reduce: make the operand contiguous first"))
    s = TYPE_SUFFIX[T]
    n = x.size[dim]
    inner = prod(x.size[1:dim-1]; init = 1)
    outer = prod(x.size[dim+1:end]; init = 1)
    R = kind == "argmax" ? Int64 : T
    out = cuda_array(R, ntuple(k -> k == dim ? 1 : x.size[k], N))
    name = kind == "mean" ? "sum" : kind
    extra = kind in ("sum", "mean") ? (Cint(kind == "mean"),) : kind == "var" ? (Float64(correction),) : ()
    src = reduction_module()
    if inner == 1
        cuda_launch(cuda_function(src, "jt_$(name)_rows_$s"), clamp(outer, 1, 65535), CUDA_THREADS,
                    Int64(outer), Int64(n), x.ptr, out.ptr, extra...)
    else
        cuda_launch(cuda_function(src, "jt_$(name)_mid_$s"), _blocks(outer * inner), CUDA_THREADS,
                    Int64(outer), Int64(n), Int64(inner), x.ptr, out.ptr, extra...)
    end
    out
end

"softmax (log_softmax when `logarithm`) of contiguous `x` along its innermost (Julia's first) dimension."
function cuda_softmax(x::CudaArray{T,N}; logarithm::Bool = false) where {T,N}
    _iscontiguous(x) || throw(ArgumentError("cuda_softmax: make the operand contiguous first"))
    n = x.size[1]
    rows = length(x) ÷ max(n, 1)
    out = cuda_array(T, x.size)
    cuda_launch(cuda_function(reduction_module(), "jt_softmax_rows_$(TYPE_SUFFIX[T])"), clamp(rows, 1, 65535),
                CUDA_THREADS, Int64(rows), Int64(n), x.ptr, out.ptr, Cint(logarithm))
    out
end
