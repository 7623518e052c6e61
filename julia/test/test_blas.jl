# blas.jl: `gemm!` in an adopted OpenBLAS (NumPy's scipy-openblas, found as Python finds it, or
# JTENSOR_BLAS_PATH) against Julia's BLAS.gemm!, over the flags, strided views, beta, element
# types and empty sizes; and the fallback when nothing (or something unusable) is adopted.
using LinearAlgebra

"NumPy's bundled ILP64 OpenBLAS, or the path in JTENSOR_BLAS_PATH, or nothing."
function _test_blas_path()
    p = get(ENV, "JTENSOR_BLAS_PATH", "")
    isempty(p) || return p
    py = Sys.which("python3")
    py === nothing && return nothing
    out = try
        read(`$py -c "import os, glob, numpy; d = os.path.join(os.path.dirname(numpy.__file__), os.pardir, 'numpy.libs'); print((glob.glob(os.path.join(d, 'libscipy_openblas64_*.so')) + [''])[0])"`, String)
    catch
        ""
    end
    isempty(strip(out)) ? nothing : strip(out)
end

"Operands for op(A) (m x k) and op(B) (k x n) with flags tA, tB: views with leading dims above their rows."
function _operands(T, tA, tB, m, n, k)
    pad(r, c) = view(rand(T, r + 3, c), 2:r+1, :)      # stride(., 2) = r + 3 > r
    A = tA == 'N' ? pad(m, k) : pad(k, m)
    B = tB == 'N' ? pad(k, n) : pad(n, k)
    A, B
end

function _check_gemm(T)
    for tA in ('N', 'T', 'C'), tB in ('N', 'T', 'C'), (m, n, k) in ((5, 7, 3), (64, 16, 128), (0, 4, 3), (4, 0, 3), (4, 5, 0))
        (T <: Real && (tA == 'C' || tB == 'C')) && continue
        A, B = _operands(T, tA, tB, m, n, k)
        C0 = rand(T, m + 2, n)
        for beta in (zero(T), T(0.5)), alpha in (one(T), T(2))
            want = BLAS.gemm!(tA, tB, alpha, copy(A), copy(B), beta, C0[1:m, :])
            Cv = view(copy(C0), 1:m, :)                   # ldc = m + 2
            got = JTensor.gemm!(tA, tB, alpha, A, B, beta, Cv)
            @test got === Cv
            @test Cv ≈ want rtol = sqrt(eps(real(T)))
        end
    end
    # NaN in C with beta = 0 is overwritten, as BLAS does
    C = fill(T(NaN), 3, 3)
    @test JTensor.gemm!('N', 'N', one(T), ones(T, 3, 2), ones(T, 2, 3), zero(T), C) == fill(T(2), 3, 3)
    # JTensor's Strided views reach it as well
    A = rand(T, 6, 4); B = rand(T, 4, 5)
    C = zeros(T, 6, 5)
    JTensor.gemm!('N', 'N', one(T), JTensor.Strided(A), JTensor.Strided(B), zero(T), JTensor.Strided(C))
    @test C ≈ A * B
    @test_throws DimensionMismatch JTensor.gemm!('N', 'N', one(T), rand(T, 3, 2), rand(T, 3, 3), zero(T), zeros(T, 3, 3))
end

@testset "gemm! with Julia's BLAS" begin
    saved = JTensor.BLAS_PATH[]
    try
        @test JTensor.use_blas!("") == false
        @test !JTensor.fast_blas(Float32)
        @test occursin("julia", JTensor.blas_info())
        @test JTensor.use_blas!("/nonexistent/libopenblas.so") == false
        @test JTensor.BLAS_PATH[] == ""
        for T in (Float32, Float64, ComplexF32, ComplexF64)
            _check_gemm(T)
        end
    finally
        JTensor.use_blas!(saved)
    end
end

@testset "gemm! with an adopted OpenBLAS" begin
    path = _test_blas_path()
    if path === nothing
        @test_skip "no ILP64 OpenBLAS found (NumPy's scipy-openblas or JTENSOR_BLAS_PATH)"
    else
        saved = JTensor.BLAS_PATH[]
        try
            @test JTensor.use_blas!(path)
            @test JTensor.fast_blas(Float32) && JTensor.fast_blas(ComplexF64) && !JTensor.fast_blas(Int64)
            @test occursin("OpenBLAS", JTensor.blas_info())
            for T in (Float32, Float64, ComplexF32, ComplexF64)
                _check_gemm(T)
            end
            # products large enough for _pgemm! to split them across Julia's threads (run with
            # --threads=2): concurrent calls into the adopted library
            A = rand(Float32, 300, 200); B = rand(Float32, 200, 400)
            for _ in 1:4
                @test JTensor._pgemm!('N', 'N', 1f0, A, B, 0f0, zeros(Float32, 300, 400)) ≈ A * B
            end
            # the kernels that choose layouts for it (conv's transposed weight, the RNN's W_hh)
            x = rand(Float32, 9, 8, 3, 2); w = rand(Float32, 3, 3, 3, 4)
            geom = JTensor._conv_geom("conv2d", Val(2), size(x), size(w), (1, 1), (1, 1, 1, 1), (1, 1), 1)
            y = JTensor._conv_dense(x, w, nothing, geom, 1)
            JTensor.use_blas!("")
            y0 = JTensor._conv_dense(x, w, nothing, geom, 1)
            @test y ≈ y0
        finally
            JTensor.use_blas!(saved)
        end
    end
end
