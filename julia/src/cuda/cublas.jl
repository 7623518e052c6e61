# cuBLAS for matmul, bmm and linear on CudaArrays, through the absolute path of libcublas.so that
# Python finds in the `nvidia-cublas` wheel. A product of row-major (PyTorch-order) matrices
# A (m×k) @ B (k×n) is, read column-major, Bᵀ-order: C' = B' * A', so cuBLAS gets the operands
# swapped, exactly as the CPU path hands Julia's column-major BLAS PyTorch's row-major data.

"Absolute path of libcublas.so (set by Python, or JTENSOR_CUBLAS)."
const CUBLAS_PATH = Ref{String}("")
const _CUBLAS = Ref{Ptr{Cvoid}}(C_NULL)
const _CUBLAS_HANDLE = Ref{Ptr{Cvoid}}(C_NULL)

_cublas_sym(name::Symbol) =
    lib_sym(_CUBLAS, isempty(CUBLAS_PATH[]) ? get(ENV, "JTENSOR_CUBLAS", "") : CUBLAS_PATH[], name,
            m -> CUDAError(100, "cuBLAS: $m: install jtensor[cuda] (nvidia-cublas)"))

_cublas_check(res::Cint, what) = res == 0 || throw(CUDAError(Int(res), "cuBLAS $what failed (status $res)"))

"The process's cuBLAS handle, bound to the current stream."
function cublas_handle()
    if _CUBLAS_HANDLE[] == C_NULL
        cuda_context!()
        h = Ref{Ptr{Cvoid}}(C_NULL)
        _cublas_check(ccall(_cublas_sym(:cublasCreate_v2), Cint, (Ref{Ptr{Cvoid}},), h), "cublasCreate")
        _CUBLAS_HANDLE[] = h[]
    end
    _cublas_check(ccall(_cublas_sym(:cublasSetStream_v2), Cint, (Ptr{Cvoid}, Ptr{Cvoid}), _CUBLAS_HANDLE[], CURRENT_STREAM[]),
                  "cublasSetStream")
    _CUBLAS_HANDLE[]
end

# cudaDataType and cublasComputeType codes of cublasGemmStridedBatchedEx
_cuda_dtype(::Type{Float32}) = Cint(0)      # CUDA_R_32F
_cuda_dtype(::Type{Float64}) = Cint(1)      # CUDA_R_64F
_cublas_compute(::Type{Float32}) = Cint(68) # CUBLAS_COMPUTE_32F
_cublas_compute(::Type{Float64}) = Cint(70) # CUBLAS_COMPUTE_64F

"""
    cuda_gemm_batched!(C, A, B, m, n, k, batch; transa=false, transb=false, beta=0)

Column-major `C[:, :, b] = op(A[:, :, b]) * op(B[:, :, b])` for b in 1:batch, contiguous
CudaArrays of Float32/Float64 (m×n results, inner size k); batch 1 is a plain product.
"""
function cuda_gemm_batched!(C::CudaArray{T}, A::CudaArray{T}, B::CudaArray{T}, m::Int, n::Int, k::Int, batch::Int;
                            transa::Bool = false, transb::Bool = false, beta::Real = 0) where {T<:Union{Float32,Float64}}
    alpha, b = Ref{T}(one(T)), Ref{T}(T(beta))
    lda, ldb = transa ? k : m, transb ? n : k
    _cublas_check(ccall(_cublas_sym(:cublasGemmStridedBatchedEx), Cint,
        (Ptr{Cvoid}, Cint, Cint, Cint, Cint, Cint, Ptr{T}, UInt64, Cint, Cint, Int64, UInt64, Cint, Cint, Int64,
         Ptr{T}, UInt64, Cint, Cint, Int64, Cint, Cint, Cint),
        cublas_handle(), Cint(transa), Cint(transb), m, n, k, alpha, A.ptr, _cuda_dtype(T), lda, Int64(m * k),
        B.ptr, _cuda_dtype(T), ldb, Int64(k * n), b, C.ptr, _cuda_dtype(T), m, Int64(m * n), batch,
        _cublas_compute(T), Cint(-1)), "cublasGemmStridedBatchedEx")   # -1: CUBLAS_GEMM_DEFAULT
    C
end

"""
    cuda_matmul(a, b) -> CudaArray

PyTorch's `a @ b` for contiguous 2-D (m×k @ k×n) or 3-D (bmm) arrays given in Julia order, i.e.
`a` of Julia size (k, m[, batch]): the column-major product b' * a' computed by cuBLAS.
"""
function cuda_matmul(a::CudaArray{T,N}, b::CudaArray{T,N}) where {T,N}
    (N == 2 || N == 3) && _iscontiguous(a) && _iscontiguous(b) || throw(ArgumentError("cuda_matmul: contiguous 2-D or 3-D operands"))
    k, m = a.size[1], a.size[2]      # torch a: m x k
    n, kb = b.size[1], b.size[2]     # torch b: k x n
    k == kb || throw(DimensionMismatch("matmul: ($m×$k) @ ($kb×$n)"))
    batch = N == 3 ? a.size[3] : 1
    out = cuda_array(T, N == 3 ? (n, m, batch) : (n, m))
    cuda_gemm_batched!(out, b, a, n, m, k, batch)    # column-major: out (n×m) = b (n×k) * a (k×m)
    out
end

"PyTorch's `F.linear(x, w)`: x (Julia size (in, batch)) times wᵀ, w of Julia size (in, out)."
function cuda_linear(x::CudaArray{T,2}, w::CudaArray{T,2}) where {T}
    in_, batch = x.size
    in_ == w.size[1] || throw(DimensionMismatch("linear: input features $in_, weight $(w.size)"))
    nout = w.size[2]
    out = cuda_array(T, (nout, batch))
    cuda_gemm_batched!(out, w, x, nout, batch, in_, 1; transa = true)   # (out×in)ᵀ-read weight times (in×batch)
    out
end
