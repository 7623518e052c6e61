# The CUDA driver API, called by `ccall` through libcuda.so.1, which exists only on a machine with
# a GPU (the driver installs it). Nothing is loaded until `cuda_available()` or a CUDA call asks:
# `import jtensor` costs nothing here, and on a machine without a GPU every answer is "none".
#
# jtensor works in the device's primary context (`cuDevicePrimaryCtxRetain`), the one PyTorch uses,
# so pointers and streams pass between the two libraries. Memory is stream-ordered
# (`cuMemAllocAsync` / `cuMemFreeAsync`, the driver's pool) rather than a second caching allocator.

"Raised when a driver call fails (with the driver's name of the error)."
struct CUDAError <: Exception
    code::Int
    msg::String
end
Base.showerror(io::IO, e::CUDAError) = print(io, "CUDA error ", e.code, ": ", e.msg)

const LIBCUDA = "libcuda.so.1"
const _CU_HANDLE = Ref{Ptr{Cvoid}}(C_NULL)
const _CU_SYMS = Dict{Symbol,Ptr{Cvoid}}()

"libcuda's entry point `name` (loading the library on first use); throws CUDAError without a driver."
cu_sym(name::Symbol) =
    get!(() -> lib_sym(_CU_HANDLE, LIBCUDA, name, m -> CUDAError(100, "no CUDA driver: $m")), _CU_SYMS, name)

function cu_check(res::Cint, what)
    res == 0 && return nothing
    s = Ref{Cstring}(C_NULL)
    ccall(cu_sym(:cuGetErrorString), Cint, (Cint, Ref{Cstring}), res, s)
    throw(CUDAError(Int(res), "$what: " * (s[] == C_NULL ? "unknown error" : unsafe_string(s[]))))
end

const _CU_INIT = Ref{Int}(-1)   # -1 not tried, 0 failed, 1 initialised

"Whether a CUDA driver loads, initialises and reports at least one device."
function cuda_available()
    if _CU_INIT[] < 0
        _CU_INIT[] = 0
        dl_open(LIBCUDA) == C_NULL && return false
        ccall(cu_sym(:cuInit), Cint, (Cuint,), 0) == 0 || return false
        _CU_INIT[] = 1
    end
    _CU_INIT[] == 1 && cuda_device_count() > 0
end

"The number of CUDA devices (0 without a driver)."
function cuda_device_count()
    _CU_INIT[] < 0 && return cuda_available() ? cuda_device_count() : 0
    _CU_INIT[] == 1 || return 0
    n = Ref{Cint}(0)
    cu_check(ccall(cu_sym(:cuDeviceGetCount), Cint, (Ref{Cint},), n), "cuDeviceGetCount")
    Int(n[])
end

const _CONTEXTS = Dict{Int,Ptr{Cvoid}}()

"Make device `ordinal`'s primary context current on this thread (retaining it once)."
function cuda_context!(ordinal::Int = 0)
    cuda_available() || throw(CUDAError(100, "no CUDA device"))
    ctx = get!(_CONTEXTS, ordinal) do
        dev, c = Ref{Cint}(0), Ref{Ptr{Cvoid}}(C_NULL)
        cu_check(ccall(cu_sym(:cuDeviceGet), Cint, (Ref{Cint}, Cint), dev, ordinal), "cuDeviceGet")
        cu_check(ccall(cu_sym(:cuDevicePrimaryCtxRetain), Cint, (Ref{Ptr{Cvoid}}, Cint), c, dev[]), "cuDevicePrimaryCtxRetain")
        c[]
    end
    cu_check(ccall(cu_sym(:cuCtxSetCurrent), Cint, (Ptr{Cvoid},), ctx), "cuCtxSetCurrent")
    ctx
end

"`sm_XY` of device `ordinal` (the architecture NVRTC compiles for)."
function cuda_arch(ordinal::Int = 0)
    cuda_context!(ordinal)
    major, minor = Ref{Cint}(0), Ref{Cint}(0)
    # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76
    cu_check(ccall(cu_sym(:cuDeviceGetAttribute), Cint, (Ref{Cint}, Cint, Cint), major, 75, ordinal), "cuDeviceGetAttribute")
    cu_check(ccall(cu_sym(:cuDeviceGetAttribute), Cint, (Ref{Cint}, Cint, Cint), minor, 76, ordinal), "cuDeviceGetAttribute")
    "sm_$(major[])$(minor[])"
end

# ---- streams and events ------------------------------------------------------------------------------

"The stream jtensor launches on: PyTorch's current stream when Python sets it, else the legacy default (0)."
const CURRENT_STREAM = Ref{Ptr{Cvoid}}(C_NULL)

function cuda_stream_create()
    cuda_context!()
    s = Ref{Ptr{Cvoid}}(C_NULL)
    cu_check(ccall(cu_sym(:cuStreamCreate), Cint, (Ref{Ptr{Cvoid}}, Cuint), s, 1), "cuStreamCreate")   # CU_STREAM_NON_BLOCKING
    s[]
end
cuda_stream_destroy(s::Ptr{Cvoid}) = cu_check(ccall(cu_sym(:cuStreamDestroy_v2), Cint, (Ptr{Cvoid},), s), "cuStreamDestroy")
cuda_stream_synchronize(s::Ptr{Cvoid} = CURRENT_STREAM[]) =
    cu_check(ccall(cu_sym(:cuStreamSynchronize), Cint, (Ptr{Cvoid},), s), "cuStreamSynchronize")
function cuda_synchronize()
    cuda_context!()
    cu_check(ccall(cu_sym(:cuCtxSynchronize), Cint, ()), "cuCtxSynchronize")
    _check_error_word()
end

"An event (timing enabled when `timing`)."
function cuda_event_create(timing::Bool = false)
    cuda_context!()
    e = Ref{Ptr{Cvoid}}(C_NULL)
    cu_check(ccall(cu_sym(:cuEventCreate), Cint, (Ref{Ptr{Cvoid}}, Cuint), e, timing ? 0 : 2), "cuEventCreate")   # 2: DISABLE_TIMING
    e[]
end
cuda_event_record(e::Ptr{Cvoid}, s::Ptr{Cvoid} = CURRENT_STREAM[]) =
    cu_check(ccall(cu_sym(:cuEventRecord), Cint, (Ptr{Cvoid}, Ptr{Cvoid}), e, s), "cuEventRecord")
cuda_event_synchronize(e::Ptr{Cvoid}) = cu_check(ccall(cu_sym(:cuEventSynchronize), Cint, (Ptr{Cvoid},), e), "cuEventSynchronize")
cuda_stream_wait_event(s::Ptr{Cvoid}, e::Ptr{Cvoid}) =
    cu_check(ccall(cu_sym(:cuStreamWaitEvent), Cint, (Ptr{Cvoid}, Ptr{Cvoid}, Cuint), s, e, 0), "cuStreamWaitEvent")
function cuda_event_elapsed_ms(a::Ptr{Cvoid}, b::Ptr{Cvoid})
    ms = Ref{Cfloat}(0)
    cu_check(ccall(cu_sym(:cuEventElapsedTime), Cint, (Ref{Cfloat}, Ptr{Cvoid}, Ptr{Cvoid}), ms, a, b), "cuEventElapsedTime")
    Float64(ms[])
end
cuda_event_destroy(e::Ptr{Cvoid}) = cu_check(ccall(cu_sym(:cuEventDestroy_v2), Cint, (Ptr{Cvoid},), e), "cuEventDestroy")

# ---- memory ------------------------------------------------------------------------------------------

"Bytes jtensor holds in device memory (`jt.cuda.memory_allocated()`)."
const CUDA_ALLOCATED = Ref{Int}(0)
const _ALLOC_SIZES = Dict{UInt64,Int}()

"`nbytes` of device memory, ordered on the current stream."
function cuda_alloc(nbytes::Integer)
    cuda_context!()
    p = Ref{UInt64}(0)
    cu_check(ccall(cu_sym(:cuMemAllocAsync), Cint, (Ref{UInt64}, Csize_t, Ptr{Cvoid}), p, max(nbytes, 1), CURRENT_STREAM[]),
             "cuMemAllocAsync($nbytes bytes)")
    _ALLOC_SIZES[p[]] = nbytes
    CUDA_ALLOCATED[] += nbytes
    p[]
end
function cuda_free(p::UInt64)
    CUDA_ALLOCATED[] -= pop!(_ALLOC_SIZES, p, 0)
    cu_check(ccall(cu_sym(:cuMemFreeAsync), Cint, (UInt64, Ptr{Cvoid}), p, CURRENT_STREAM[]), "cuMemFreeAsync")
end
"Return the memory pool's unused memory to the driver (`jt.cuda.empty_cache()`)."
function cuda_empty_cache()
    cuda_available() || return nothing
    cuda_context!()
    pool, dev = Ref{Ptr{Cvoid}}(C_NULL), Ref{Cint}(0)
    cu_check(ccall(cu_sym(:cuCtxGetDevice), Cint, (Ref{Cint},), dev), "cuCtxGetDevice")
    cu_check(ccall(cu_sym(:cuDeviceGetDefaultMemPool), Cint, (Ref{Ptr{Cvoid}}, Cint), pool, dev[]), "cuDeviceGetDefaultMemPool")
    cuda_synchronize()
    cu_check(ccall(cu_sym(:cuMemPoolTrimTo), Cint, (Ptr{Cvoid}, Csize_t), pool[], 0), "cuMemPoolTrimTo")
end

"A new contiguous CudaArray of element type T and Julia-order size `dims` on device 0."
function cuda_array(::Type{T}, dims::NTuple{N,Int}) where {T,N}
    CudaArray{T,N}(cuda_alloc(sizeof(T) * prod(dims)), dims, _colmajor_strides(dims), 0)
end
"Copy host array `A` to a new CudaArray (synchronously)."
function to_cuda(A::Array{T,N}) where {T,N}
    d = cuda_array(T, size(A))
    cu_check(ccall(cu_sym(:cuMemcpyHtoDAsync_v2), Cint, (UInt64, Ptr{Cvoid}, Csize_t, Ptr{Cvoid}),
                   d.ptr, A, sizeof(A), CURRENT_STREAM[]), "cuMemcpyHtoDAsync")
    cuda_stream_synchronize()
    d
end
"Copy a contiguous CudaArray back to a new host Array (synchronously)."
function from_cuda(d::CudaArray{T,N}) where {T,N}
    A = Array{T,N}(undef, d.size)
    cu_check(ccall(cu_sym(:cuMemcpyDtoHAsync_v2), Cint, (Ptr{Cvoid}, UInt64, Csize_t, Ptr{Cvoid}),
                   A, d.ptr, sizeof(A), CURRENT_STREAM[]), "cuMemcpyDtoHAsync")
    cuda_stream_synchronize()
    A
end

# ---- modules and launches ----------------------------------------------------------------------------

"Loaded modules, by (cubin cache key): the module handle and its functions by name."
const _MODULES = Dict{String,Tuple{Ptr{Cvoid},Dict{String,Ptr{Cvoid}}}}()

"The kernel `name` of the module compiled from `source` for the current device (compiled and loaded once)."
function cuda_function(source::AbstractString, name::AbstractString)
    arch = cuda_arch()
    key = cache_key(source, arch)
    mod, fns = get!(_MODULES, key) do
        cubin = compile_cached(source, arch)
        m = Ref{Ptr{Cvoid}}(C_NULL)
        cu_check(ccall(cu_sym(:cuModuleLoadData), Cint, (Ref{Ptr{Cvoid}}, Ptr{UInt8}), m, cubin), "cuModuleLoadData")
        (m[], Dict{String,Ptr{Cvoid}}())
    end
    get!(fns, name) do
        f = Ref{Ptr{Cvoid}}(C_NULL)
        cu_check(ccall(cu_sym(:cuModuleGetFunction), Cint, (Ref{Ptr{Cvoid}}, Ptr{Cvoid}, Cstring), f, mod, name),
                 "cuModuleGetFunction($name)")
        f[]
    end
end

"""
    cuda_launch(f, blocks, threads, args...; shmem=0)

Launch kernel `f` on the current stream; `args` are isbits values passed by value (pointers as
UInt64, `JtIndexer` structs as `CudaIndexer`), each through a pointer to a `Ref`, as the driver asks.
"""
function cuda_launch(f::Ptr{Cvoid}, blocks::Integer, threads::Integer, args...; shmem::Integer = 0)
    refs = Any[Ref(a) for a in args]
    ptrs = Ptr{Cvoid}[Base.unsafe_convert(Ptr{Cvoid}, Base.cconvert(Ptr{Cvoid}, r)) for r in refs]
    GC.@preserve refs ptrs begin
        cu_check(ccall(cu_sym(:cuLaunchKernel), Cint,
                       (Ptr{Cvoid}, Cuint, Cuint, Cuint, Cuint, Cuint, Cuint, Cuint, Ptr{Cvoid}, Ptr{Ptr{Cvoid}}, Ptr{Ptr{Cvoid}}),
                       f, blocks, 1, 1, threads, 1, 1, shmem, CURRENT_STREAM[], ptrs, C_NULL), "cuLaunchKernel")
    end
    nothing
end

"Raise (and clear) a kernel's error word: a `throw` inside a generated kernel, such as integer division by zero."
function _check_error_word()
    for (key, (mod, _)) in _MODULES
        p, n = Ref{UInt64}(0), Ref{Csize_t}(0)
        ccall(cu_sym(:cuModuleGetGlobal_v2), Cint, (Ref{UInt64}, Ref{Csize_t}, Ptr{Cvoid}, Cstring), p, n, mod, "jt_error_word") == 0 || continue
        w = Ref{Cint}(0)
        cu_check(ccall(cu_sym(:cuMemcpyDtoH_v2), Cint, (Ref{Cint}, UInt64, Csize_t), w, p[], 4), "cuMemcpyDtoH")
        if w[] != 0
            w[] = 0
            ccall(cu_sym(:cuMemcpyHtoD_v2), Cint, (UInt64, Ref{Cint}, Csize_t), p[], w, 4)
            throw(DivideError())
        end
    end
end
