# Discrete Fourier transforms. Julia 1.5 has no FFT library here (no FFTW), so the kernel is
# written out: an iterative radix-2 Cooley-Tukey transform for power-of-two lengths, and
# Bluestein's chirp-z algorithm (a circular convolution of power-of-two length) for every other
# length, primes included. Arithmetic is in Float64 whatever the dtype (complex64 is rounded back
# on store), with twiddle factors from cospi/sinpi, so results match NumPy's pocketfft to a few
# ulps of the transform's scale.
#
# One registry op, `_fft_c2c`, transforms complex data along one dim without normalization;
# python/jtensor/fft.py (jt.fft, PyTorch's names) and python/jtensor/array_api_fft.py (the Array API
# extension) build fft/ifft/rfft/irfft/hfft/ihfft, their n-d forms, lengths `n`/`s` and `norm` on
# top of it with registry ops, so every transform is differentiable through this op's derivative.

"A transform length's precomputed tables (radix-2 for a power of two m; Bluestein's chirp for n ≠ m)."
struct FFTPlan
    n::Int
    m::Int                          # the power-of-two length of the radix-2 transform
    perm::Vector{Int}               # bit-reversal permutation of 1:m
    twiddle::Vector{ComplexF64}     # exp(-2πik/m), k = 0 .. m/2 - 1
    chirp::Vector{ComplexF64}       # exp(-iπk²/n), k = 0 .. n - 1 (Bluestein only)
    filter::Vector{ComplexF64}      # the radix-2 transform of the conjugate chirp, wrapped to length m
end

const _FFT_PLANS = Dict{Int,FFTPlan}()

function _fft_plan(n::Int)
    p = get(_FFT_PLANS, n, nothing)
    p === nothing || return p
    length(_FFT_PLANS) >= 64 && empty!(_FFT_PLANS)
    m = ispow2(n) ? n : nextpow(2, 2n - 1)
    bits = trailing_zeros(m)
    perm = [bits == 0 ? 1 : Int(bitreverse(UInt(i)) >> (8 * sizeof(UInt) - bits)) + 1 for i in 0:m-1]
    twiddle = [complex(cospi(2k / m), -sinpi(2k / m)) for k in 0:(m ÷ 2 - 1)]
    if m == n
        p = FFTPlan(n, m, perm, twiddle, ComplexF64[], ComplexF64[])
    else
        # k² mod 2n keeps the chirp's angle exact for large k
        chirp = [(r = mod(widemul(k, k), 2n) / n; complex(cospi(r), -sinpi(r))) for k in 0:n-1]
        filter = zeros(ComplexF64, m)
        filter[1] = conj(chirp[1])
        for k in 1:n-1
            filter[k + 1] = filter[m - k + 1] = conj(chirp[k + 1])
        end
        p0 = FFTPlan(n, m, perm, twiddle, chirp, ComplexF64[])
        _radix2!(filter, p0)
        p = FFTPlan(n, m, perm, twiddle, chirp, filter)
    end
    _FFT_PLANS[n] = p
end

"In-place unnormalized forward transform of `a` (length p.m, a power of two)."
function _radix2!(a::Vector{ComplexF64}, p::FFTPlan)
    m = p.m
    @inbounds for i in 1:m
        j = p.perm[i]
        j > i && ((a[i], a[j]) = (a[j], a[i]))
    end
    len = 2
    @inbounds while len <= m
        half = len >> 1
        stride = m ÷ len
        for s in 1:len:m
            for k in 0:half-1
                w = p.twiddle[k * stride + 1]
                u = a[s + k]; v = a[s + k + half] * w
                a[s + k] = u + v
                a[s + k + half] = u - v
            end
        end
        len <<= 1
    end
    a
end

"Unnormalized forward DFT of the n values in `x` (overwritten), `work` a buffer of length p.m."
function _dft!(x::Vector{ComplexF64}, p::FFTPlan, work::Vector{ComplexF64})
    p.m == p.n && return _radix2!(x, p)
    # Bluestein: X_k = c_k Σ_j (x_j c_j) conj(c_{k-j}), a convolution with the conjugate chirp
    n, m = p.n, p.m
    @inbounds for j in 1:n
        work[j] = x[j] * p.chirp[j]
    end
    @inbounds for j in n+1:m
        work[j] = 0
    end
    _radix2!(work, p)
    @inbounds for j in 1:m                      # inverse transform as conj(F(conj(.)))/m
        work[j] = conj(work[j] * p.filter[j])
    end
    _radix2!(work, p)
    @inbounds for k in 1:n
        x[k] = conj(work[k]) / m * p.chirp[k]
    end
    x
end

"""
    _fft_c2c(x, d, inverse)

The unnormalized DFT of complex `x` along Julia dim `d`: Σ_j x_j exp(∓2πijk/n) (the minus sign
forward, the plus sign when `inverse`, which is not divided by n). Lines along `d` are transformed
one at a time through a Float64 buffer, split across Julia's threads when there are many; Ctrl-C
stops the work between lines (InterruptException, as the elementwise engine does).
"""
function _fft_c2c(x, d::Int, inverse::Bool)
    T = eltype(x)
    T <: Union{ComplexF32,ComplexF64} ||
        throw(DTypeError("fft: expected a complex64 or complex128 tensor, got $(_dtname(T))"))
    A = dense(x)
    sz = size(A)
    out = alloc(T, sz...)
    n = sz[d]
    (n == 0 || length(A) == 0) && return out
    pre, post = prod(sz[1:d-1]), prod(sz[d+1:end])
    A3, O3 = reshape(A, pre, n, post), reshape(out, pre, n, post)
    p = _fft_plan(n)
    nlines = pre * post
    nt = nlines * p.m >= FFT_THREAD_MIN ? min(Threads.nthreads(), nlines) : 1
    if nt == 1
        _fft_lines!(O3, A3, p, inverse, 1:nlines)
    else
        Threads.@threads for t in 1:nt
            _fft_lines!(O3, A3, p, inverse, (t - 1) * nlines ÷ nt + 1:t * nlines ÷ nt)
        end
    end
    check_interrupt()
    out
end

"Work (lines × transform length) from which `_fft_c2c` splits the lines across threads."
const FFT_THREAD_MIN = 1 << 16

"Transform the lines `ls` (linear indices over the (pre, post) dims) of A3 into O3."
function _fft_lines!(O3::AbstractArray{T,3}, A3, p::FFTPlan, inverse::Bool, ls) where {T}
    pre, n = size(A3, 1), size(A3, 2)
    buf = Vector{ComplexF64}(undef, n)
    work = Vector{ComplexF64}(undef, p.m)
    done = 0
    for l in ls
        i, k = (l - 1) % pre + 1, (l - 1) ÷ pre + 1
        @inbounds for j in 1:n
            v = ComplexF64(A3[i, j, k])
            buf[j] = inverse ? conj(v) : v      # inverse DFT = conj(DFT(conj(x)))
        end
        _dft!(buf, p, work)
        @inbounds for j in 1:n
            v = buf[j]
            O3[i, j, k] = T(inverse ? conj(v) : v)
        end
        done += p.m
        if done >= POLL_EVERY
            interrupt_requested() && return
            done = 0
        end
    end
end

function _fft_c2c(x::MetaArray, d::Int, inverse::Bool)
    T = eltype(x)
    T <: Union{ComplexF32,ComplexF64} ||
        throw(DTypeError("fft: expected a complex64 or complex128 tensor, got $(_dtname(T))"))
    meta_like(x)
end
defop("_fft_c2c(input: Tensor, dim: Dim, inverse: bool) -> Tensor", _fft_c2c; method = false,
      grad = ["input" => "_fft_c2c(grad, dim, not inverse)"],
      doc = "Unnormalized DFT of a complex tensor along dim (exp(-2πijk/n); exp(+2πijk/n) when inverse). " *
            "The kernel of jtensor.fft and the Array API's fft extension.")
