# Every matrix product of the CPU kernels goes through `gemm!` here. It calls a faster OpenBLAS
# when one was adopted (`use_blas!`: NumPy's bundled scipy-openblas, 0.3.31 in NumPy 2.x wheels,
# whose small-shape kernels run 1.4-1.6x faster than Julia 1.5's OpenBLAS 0.3.9), and Julia's
# `BLAS.gemm!` otherwise. The library is reached through function pointers looked up once, so a
# product costs one indirect call and compiles nothing beyond `gemm!` itself.

using Libdl

"Path of the adopted BLAS library (empty: Julia's own OpenBLAS does every product)."
const BLAS_PATH = Ref{String}("")

"The adopted library's ILP64 Fortran gemm for Float32, Float64, ComplexF32, ComplexF64 (C_NULL: none)."
const _GEMM_PTRS = Ref{NTuple{4,Ptr{Cvoid}}}((C_NULL, C_NULL, C_NULL, C_NULL))

"Symbol name schemes of ILP64 OpenBLAS builds: (gemm name for a type letter, thread setter, getter)."
const _ILP64_SCHEMES = ((c -> "scipy_$(c)gemm_64_", "scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                        (c -> "$(c)gemm_64_", "openblas_set_num_threads64_", "openblas_get_num_threads64_"))

"The adopted library's thread-count setter and getter (C_NULL: none adopted)."
const _THREAD_PTRS = Ref{NTuple{2,Ptr{Cvoid}}}((C_NULL, C_NULL))

"""
    use_blas!(path) -> Bool

Adopt the ILP64 OpenBLAS at `path` for `gemm!` (an empty path: go back to Julia's BLAS). JTensor's
products in it run on one thread, as in Julia's (`__init__`): large products are split across
Julia's threads by `_pgemm!`, and a second thread pool would spin against them. The library's own
thread count, which NumPy's products use when it is NumPy's, is left as it is: `gemm!` lowers it to
one around each of its calls. A library that does not load or lacks the symbols is not adopted
(returns false, and Julia's BLAS stays).
"""
function use_blas!(path::AbstractString)
    BLAS_PATH[] = ""
    _GEMM_PTRS[] = (C_NULL, C_NULL, C_NULL, C_NULL)
    _THREAD_PTRS[] = (C_NULL, C_NULL)
    isempty(path) && return false
    h = Libdl.dlopen(path, Libdl.RTLD_LAZY | Libdl.RTLD_LOCAL; throw_error=false)
    h === nothing && return false
    for (gemm, setthreads, getthreads) in _ILP64_SCHEMES
        ptrs = map(c -> Libdl.dlsym(h, gemm(c); throw_error=false), ('s', 'd', 'c', 'z'))
        st = Libdl.dlsym(h, setthreads; throw_error=false)
        gt = Libdl.dlsym(h, getthreads; throw_error=false)
        (st === nothing || gt === nothing || any(p -> p === nothing, ptrs)) && continue
        _THREAD_PTRS[] = (convert(Ptr{Cvoid}, st), convert(Ptr{Cvoid}, gt))
        _GEMM_PTRS[] = map(p -> convert(Ptr{Cvoid}, p), ptrs)
        BLAS_PATH[] = String(path)
        return true
    end
    false
end

_gemm_ptr(::Type{Float32}) = _GEMM_PTRS[][1]
_gemm_ptr(::Type{Float64}) = _GEMM_PTRS[][2]
_gemm_ptr(::Type{ComplexF32}) = _GEMM_PTRS[][3]
_gemm_ptr(::Type{ComplexF64}) = _GEMM_PTRS[][4]

"Whether `gemm!` on element type `T` runs in an adopted library (see `use_blas!`)."
fast_blas(::Type{T}) where {T<:LinearAlgebra.BlasFloat} = _gemm_ptr(T) != C_NULL
fast_blas(::Type) = false

"The leading dimension BLAS reads `X` with, or 0 when its layout is not one BLAS takes."
function _blas_ld(X::AbstractMatrix)
    r, c = size(X)
    (r <= 1 || stride(X, 1) == 1) || return 0
    c <= 1 && return max(1, r)
    ld = stride(X, 2)
    ld >= max(1, r) ? ld : 0
end

"""
    gemm!(tA, tB, alpha, A, B, beta, C) -> C

C = alpha op(A) op(B) + beta C, with op 'N', 'T' or 'C' as in `BLAS.gemm!`, on any column-major
strided matrices (Matrix, contiguous-column views, `Strided`). Runs in the adopted library when
there is one (`use_blas!`) and the element type and layouts suit it, else in `BLAS.gemm!`.

Products of a transposed A with a plain B ('T'/'C', 'N') stay in Julia's BLAS: OpenBLAS 0.3.31
runs that form 0.75-0.9x as fast as 0.3.9 on this machine's SkylakeX (the others 1.0-2x as fast
on small and medium shapes; docs/performance.md, "A faster BLAS"). `fast_blas(T)` says whether
the other forms run in the adopted library, for callers that can choose their operands' layout.
"""
function gemm!(tA::Char, tB::Char, alpha, A::AbstractMatrix{T}, B::AbstractMatrix{T}, beta,
               C::AbstractMatrix{T}) where {T<:LinearAlgebra.BlasFloat}
    f = _gemm_ptr(T)
    m, n = size(C)
    k = tA == 'N' ? size(A, 2) : size(A, 1)
    lda, ldb, ldc = _blas_ld(A), _blas_ld(B), _blas_ld(C)
    if f == C_NULL || (tA != 'N' && tB == 'N') || lda == 0 || ldb == 0 || ldc == 0
        return BLAS.gemm!(tA, tB, T(alpha), A, B, T(beta), C)
    end
    if m != (tA == 'N' ? size(A, 1) : size(A, 2)) || n != (tB == 'N' ? size(B, 2) : size(B, 1)) ||
            k != (tB == 'N' ? size(B, 1) : size(B, 2))
        throw(DimensionMismatch("gemm!: op(A) is $(m)x$(k)? A $(size(A)) ('$tA'), B $(size(B)) ('$tB'), C $(size(C))"))
    end
    (m == 0 || n == 0) && return C
    setter, getter = _THREAD_PTRS[]
    nt = ccall(getter, Cint, ())
    nt == 1 || ccall(setter, Cvoid, (Cint,), 1)
    GC.@preserve A B C ccall(f, Cvoid,
        (Ref{UInt8}, Ref{UInt8}, Ref{Int64}, Ref{Int64}, Ref{Int64}, Ref{T}, Ptr{T}, Ref{Int64},
         Ptr{T}, Ref{Int64}, Ref{T}, Ptr{T}, Ref{Int64}, Csize_t, Csize_t),
        tA, tB, m, n, k, T(alpha), A, lda, B, ldb, T(beta), C, ldc, 1, 1)
    # (two of Julia's threads may overlap here: one restores while the other computes, which only
    # lets the other's next call run with the library's threads; the count ends as it was)
    nt == 1 || ccall(setter, Cvoid, (Cint,), nt)
    C
end

"Which BLAS `gemm!` uses: the adopted library's path and OpenBLAS's description of itself, or Julia's."
function blas_info()
    isempty(BLAS_PATH[]) && return "julia: $(BLAS.vendor()) (Julia $(VERSION))"
    h = Libdl.dlopen(BLAS_PATH[], Libdl.RTLD_LAZY | Libdl.RTLD_LOCAL)
    cfg = Libdl.dlsym(h, "scipy_openblas_get_config64_"; throw_error=false)
    cfg === nothing && (cfg = Libdl.dlsym(h, "openblas_get_config64_"; throw_error=false))
    desc = cfg === nothing ? "" : unsafe_string(ccall(cfg, Cstring, ()))
    "$(BLAS_PATH[]): $desc"
end

# JTensor's `__init__` calls use_blas! in every process, a system image's included: compiled here,
# it costs no compilation at start. (gemm! itself is compiled with its callers, both branches at once,
# so the library adopted while an image was traced does not matter.)
precompile(use_blas!, (String,))
precompile(blas_info, ())
