# Devices: where an array's elements live, as a type. A kernel is an ordinary Julia function, and
# a device supports an op when the op's kernel has a method for that device's array type:
#
#   - the CPU: every array kernels see today (`Strided` views of host memory, `Array`s);
#   - the meta device: `MetaArray`, a shape, strides and element type with no data. An op's meta
#     method is its shape function: it computes the result's metadata and touches no memory;
#   - a CUDA GPU: `CudaArray`, a device address; its methods launch kernels generated from the
#     registry's scalar kernels (julia/src/cuda/).
#
# A new device adds a `Device` subtype, its array type, the `device_array`/`device_code` methods
# below and kernel methods for its array type; the op files and the bridge stay as they are.

"A place where array elements live. Codes match python/jtensor/devices.py (`DEVICE_TYPES`)."
abstract type Device end
struct CPU <: Device end
struct MetaDevice <: Device end
"A CUDA GPU, by ordinal; its kernels are generated from the registry (julia/src/cuda/)."
struct CudaDevice <: Device
    ordinal::Int
end

const DEVICE_CPU, DEVICE_META, DEVICE_CUDA = 0, 1, 2

device_name(::CPU) = "cpu"
device_name(::MetaDevice) = "meta"
device_name(d::CudaDevice) = "cuda:$(d.ordinal)"

"""
    MetaArray{T,N}(size, strides)

An array of the meta device: Julia-order `size` and element `strides`, element type `T`, and no
data. It is deliberately not an `AbstractArray`, so a CPU kernel can never run on one by accident:
an op works on meta tensors only through a method written for `MetaArray`.
"""
struct MetaArray{T,N}
    size::NTuple{N,Int}
    strides::NTuple{N,Int}
end

"A contiguous (column-major, Julia order) MetaArray of element type T and size `dims`."
function MetaArray{T}(dims::NTuple{N,Integer}) where {T,N}
    d = map(Int, dims)
    check_size(T, d)
    MetaArray{T,N}(d, _colmajor_strides(d))
end
MetaArray{T}(dims::Integer...) where {T} = MetaArray{T}(dims)

function _colmajor_strides(d::NTuple{N,Int}) where {N}
    s = 1
    ntuple(Val(N)) do k
        r = s
        s *= max(d[k], 1)
        r
    end
end

Base.size(A::MetaArray) = A.size
Base.size(A::MetaArray, d::Integer) = d <= ndims(A) ? A.size[d] : 1
Base.strides(A::MetaArray) = A.strides
Base.ndims(::MetaArray{T,N}) where {T,N} = N
Base.ndims(::Type{<:MetaArray{T,N}}) where {T,N} = N
Base.eltype(::MetaArray{T}) where {T} = T
Base.eltype(::Type{<:MetaArray{T}}) where {T} = T
Base.length(A::MetaArray) = prod(A.size)
Base.axes(A::MetaArray) = map(Base.OneTo, A.size)
Base.show(io::IO, A::MetaArray{T}) where {T} = print(io, "MetaArray{", T, "}", A.size)

"""
    CudaArray{T,N}(ptr, size, strides, ordinal)

An array in a CUDA GPU's memory: a device address (`CUdeviceptr`), Julia-order `size` and
element `strides`, and the device's ordinal. Like `MetaArray` it is not an `AbstractArray`, so
no CPU kernel can read its memory by accident: ops run on it through methods written for
`CudaArray` (julia/src/cuda/launch.jl), which launch generated kernels.
"""
struct CudaArray{T,N}
    ptr::UInt64
    size::NTuple{N,Int}
    strides::NTuple{N,Int}
    ordinal::Int
end
Base.size(A::CudaArray) = A.size
Base.size(A::CudaArray, d::Integer) = d <= ndims(A) ? A.size[d] : 1
Base.strides(A::CudaArray) = A.strides
Base.ndims(::CudaArray{T,N}) where {T,N} = N
Base.eltype(::CudaArray{T}) where {T} = T
Base.eltype(::Type{<:CudaArray{T}}) where {T} = T
Base.length(A::CudaArray) = prod(A.size)
Base.show(io::IO, A::CudaArray{T}) where {T} = print(io, "CudaArray{", T, "}", A.size, " on cuda:", A.ordinal)

"A meta array like `A`, with element type T (default: A's) and size `dims` (default: A's)."
meta_like(A::MetaArray{S}, ::Type{T} = S, dims = size(A)) where {S,T} = MetaArray{T}(Tuple(dims))

device(::AbstractArray) = CPU()
device(::MetaArray) = MetaDevice()
device(A::CudaArray) = CudaDevice(A.ordinal)
device(::Number) = CPU()

"The array type a device's kernels dispatch on: the methods that make an op run on the device."
device_array_type(::CPU) = AbstractArray
device_array_type(::MetaDevice) = MetaArray
device_array_type(::CudaDevice) = CudaArray

"The device of a call's arguments: the CPU unless an argument lives on another device."
function call_device(args)
    for a in args
        (a isa MetaArray || a isa CudaArray) && return device(a)
        if a isa AbstractVector{Any}    # a tensor list
            for b in a
                (b isa MetaArray || b isa CudaArray) && return device(b)
            end
        end
    end
    CPU()
end

"Raised when an op has no kernel method for a device; Python raises NotImplementedError."
struct DeviceNotImplemented <: Exception
    op::String
    device::String
end
Base.showerror(io::IO, e::DeviceNotImplemented) =
    print(io, "Could not run '", e.op, "' with arguments from the '", e.device, "' backend: ",
          "the op has no kernel method for the device's arrays")

"""
    run_kernel(f, opname, args)

Call kernel `f` on `args` on their device. On the CPU every kernel runs. On another device, the
method dispatch picks must name the device's array type in its signature (a tensor list counts as
a vector of that type), else `DeviceNotImplemented`: a CPU method, written for any argument, is
never run on another device's arrays.
"""
function run_kernel(@nospecialize(f), opname::AbstractString, args)
    dev = call_device(args)
    dev isa CPU && return f(args...)
    A = device_array_type(dev)
    a = map(x -> _typed_list(x, A), Tuple(args))
    types = Tuple{map(Core.Typeof, a)...}
    ok = hasmethod(f, types) && _names_type(which(f, types).sig, A)
    ok || throw(DeviceNotImplemented(opname, device_name(dev)))
    f(a...)
end

"A tensor list whose items are all of array type A as a `Vector{A}`, so methods can dispatch on it."
_typed_list(x, A) = x isa AbstractVector{Any} && !isempty(x) && all(v -> v isa A, x) ? convert(Vector{A}, x) : x

_names_type(@nospecialize(sig), A) = sig isa UnionAll ? _names_type(sig.body, A) :
    any(p -> p isa Type && p !== Any && (typeintersect(p, A) !== Union{} ||
                                         typeintersect(p, AbstractVector{<:A}) !== Union{}), sig.parameters)

"""
An argument of any device's array type: for thin wrappers (`_argmax(x::AnyArray, d, k) =
_argmaxmin(x, d, k, true)`) that forward to methods which dispatch on the device themselves.
"""
const AnyArray = Union{AbstractArray,MetaArray,CudaArray}

# ---- meta shape helpers: what many shape functions share -------------------------------------------

"Julia-order size after reducing `dims` (a tuple, or nothing for all) of `A`, keeping them as 1 or dropping them."
function reduced_size(A::MetaArray, dims, keepdim::Bool)
    n = ndims(A)
    d = dims === nothing ? ntuple(identity, n) : dims isa Integer ? (Int(dims),) : Tuple(dims)
    keepdim ? ntuple(k -> k in d ? 1 : size(A, k), n) : Tuple(size(A, k) for k in 1:n if !(k in d))
end
