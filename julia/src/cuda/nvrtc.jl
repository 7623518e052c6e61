# NVRTC, the CUDA runtime compiler, called by `ccall` through the absolute library path that
# Python finds in the `nvidia-cuda-nvrtc` wheel (python/jtensor/cuda). Nothing is loaded until
# the first compilation. NVRTC needs no GPU, so every kernel can be compiled (and cached) here.
#
# One program per module (every variant of a module in one source), compiled to a cubin for one
# architecture (`sm_80`, `sm_90`, ...). Compiled code is cached in the process and on disk, keyed
# by a hash of the source, the options, the architecture and NVRTC's version; disk writes go to a
# temporary file that is renamed into place, so concurrent processes never read half a file.

"""
    dl_open(path) / dl_sym(handle, name)

A shared library and its symbols through libjulia's own loader (the Libdl stdlib is not a
dependency of JTensor); C_NULL when missing.
"""
dl_open(path::AbstractString) = ccall(:jl_dlopen, Ptr{Cvoid}, (Cstring, Cuint), path, 0x00000006)  # JL_RTLD_LAZY | JL_RTLD_GLOBAL
dl_sym(h::Ptr{Cvoid}, name::Symbol) = ccall(:dlsym, Ptr{Cvoid}, (Ptr{Cvoid}, Cstring), h, string(name))

"""
    lib_sym(handle, path, name, fail) -> Ptr

Entry point `name` of the library at `path`, opened once into `handle` (a `Ref`); `fail(msg)`
builds the exception thrown when the library or the symbol is missing.
"""
function lib_sym(handle::Ref{Ptr{Cvoid}}, path::AbstractString, name::Symbol, fail)
    if handle[] == C_NULL
        h = isempty(path) ? C_NULL : dl_open(path)
        h == C_NULL && throw(fail(isempty(path) ? "no library path" : "cannot load $path"))
        handle[] = h
    end
    p = dl_sym(handle[], name)
    p == C_NULL && throw(fail("$name is missing from $path"))
    p
end

"Absolute path of libnvrtc.so (set by Python, or the JTENSOR_NVRTC environment variable)."
const NVRTC_PATH = Ref{String}("")
const _NVRTC_HANDLE = Ref{Ptr{Cvoid}}(C_NULL)
const _NVRTC_SYMS = Dict{Symbol,Ptr{Cvoid}}()

"Raised when NVRTC is missing or a program does not compile (with NVRTC's log)."
struct NVRTCError <: Exception
    msg::String
end
Base.showerror(io::IO, e::NVRTCError) = print(io, "NVRTC: ", e.msg)

function _nvrtc_sym(name::Symbol)
    get!(_NVRTC_SYMS, name) do
        path = isempty(NVRTC_PATH[]) ? get(ENV, "JTENSOR_NVRTC", "") : NVRTC_PATH[]
        lib_sym(_NVRTC_HANDLE, path, name, m -> NVRTCError("$m: install jtensor[cuda] (the nvidia-cuda-nvrtc wheel)"))
    end
end

function _nvrtc_check(res::Cint, what)
    res == 0 && return
    msg = unsafe_string(ccall(_nvrtc_sym(:nvrtcGetErrorString), Cstring, (Cint,), res))
    throw(NVRTCError("$what failed: $msg"))
end

"NVRTC's version as (major, minor)."
function nvrtc_version()
    major, minor = Ref{Cint}(0), Ref{Cint}(0)
    _nvrtc_check(ccall(_nvrtc_sym(:nvrtcVersion), Cint, (Ref{Cint}, Ref{Cint}), major, minor), "nvrtcVersion")
    (Int(major[]), Int(minor[]))
end

"""
The options every module is compiled with: no fused multiply-add contraction, so a kernel's
floating-point results match the Julia kernel's on the CPU (Julia fuses only where it says
`muladd`); 128-bit integers (isclose of int64 computes its difference in Int128, as on the CPU);
the unused-variable and unused-label remarks of generated code silenced.
"""
cuda_options(arch::AbstractString) = ["--gpu-architecture=$arch", "-std=c++17", "--fmad=false", "-default-device",
                                      "--device-int128", "--diag-suppress=177,550,940"]

"""
    nvrtc_compile(source, arch; name="jtensor.cu", ptx=false) -> Vector{UInt8}

Compile `source` for `arch` (e.g. "sm_90") to a cubin (or PTX, NUL-terminated, when `ptx`),
raising `NVRTCError` with NVRTC's log when it does not compile. Uncached: see `compile_cached`.
"""
function nvrtc_compile(source::AbstractString, arch::AbstractString; name = "jtensor.cu", ptx::Bool = false)
    prog = Ref{Ptr{Cvoid}}(C_NULL)
    _nvrtc_check(ccall(_nvrtc_sym(:nvrtcCreateProgram), Cint,
                       (Ref{Ptr{Cvoid}}, Cstring, Cstring, Cint, Ptr{Cstring}, Ptr{Cstring}),
                       prog, source, name, 0, C_NULL, C_NULL), "nvrtcCreateProgram")
    try
        opts = cuda_options(ptx ? replace(arch, "sm_" => "compute_") : arch)
        res = ccall(_nvrtc_sym(:nvrtcCompileProgram), Cint, (Ptr{Cvoid}, Cint, Ptr{Cstring}),
                    prog[], length(opts), opts)
        if res != 0
            n = Ref{Csize_t}(0)
            ccall(_nvrtc_sym(:nvrtcGetProgramLogSize), Cint, (Ptr{Cvoid}, Ref{Csize_t}), prog[], n)
            log = Vector{UInt8}(undef, n[])
            ccall(_nvrtc_sym(:nvrtcGetProgramLog), Cint, (Ptr{Cvoid}, Ptr{UInt8}), prog[], log)
            throw(NVRTCError("compiling $name for $arch failed:\n" * first(String(log[1:end-1]), 20000)))
        end
        sz, get = ptx ? (:nvrtcGetPTXSize, :nvrtcGetPTX) : (:nvrtcGetCUBINSize, :nvrtcGetCUBIN)
        n = Ref{Csize_t}(0)
        _nvrtc_check(ccall(_nvrtc_sym(sz), Cint, (Ptr{Cvoid}, Ref{Csize_t}), prog[], n), string(sz))
        out = Vector{UInt8}(undef, n[])
        _nvrtc_check(ccall(_nvrtc_sym(get), Cint, (Ptr{Cvoid}, Ptr{UInt8}), prog[], out), string(get))
        out
    finally
        ccall(_nvrtc_sym(:nvrtcDestroyProgram), Cint, (Ref{Ptr{Cvoid}},), prog)
    end
end

# ---- caches -------------------------------------------------------------------------------------

const _CUBIN_CACHE = Dict{String,Vector{UInt8}}()

"Folder of the disk cache: JTENSOR_CUDA_CACHE, else ~/.cache/jtensor/cuda."
cuda_cache_dir() = get(ENV, "JTENSOR_CUDA_CACHE", joinpath(homedir(), ".cache", "jtensor", "cuda"))

"The cache key of a compilation: 128 bits of hash over source, options, architecture, NVRTC version."
function cache_key(source::AbstractString, arch::AbstractString)
    material = string(join(cuda_options(arch), ' '), '\0', arch, '\0', nvrtc_version(), '\0', source)
    string(hash(material, UInt(0x6a74656e736f7231)), base = 16, pad = 16) *
        string(hash(material, UInt(0x63756461636f6465)), base = 16, pad = 16)
end

"""
    compile_cached(source, arch) -> cubin bytes

`nvrtc_compile` through the process cache and the atomic disk cache.
"""
function compile_cached(source::AbstractString, arch::AbstractString)
    key = cache_key(source, arch)
    get!(_CUBIN_CACHE, key) do
        dir = cuda_cache_dir()
        file = joinpath(dir, key * ".cubin")
        isfile(file) && return read(file)
        cubin = nvrtc_compile(source, arch)
        try
            mkpath(dir)
            tmp = file * ".tmp." * string(getpid())
            write(tmp, cubin)
            mv(tmp, file; force = true)   # rename(2): readers see the whole file or none
        catch e
            e isa SystemError || e isa Base.IOError || rethrow()   # a read-only cache only costs time
        end
        cubin
    end
end
