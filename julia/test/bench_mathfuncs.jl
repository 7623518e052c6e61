# Benchmark for src/mathfuncs.jl: Base vs vectorizable f-kernels on 10^7 elements,
# single thread, preallocated output, best of several runs (thread CPU time on Linux).
#   julia test/bench_mathfuncs.jl            (Float32, plus Float64 for all)
#   JT_BENCH_N=1000000 julia test/bench_mathfuncs.jl
# (NumPy numbers are measured separately, see the report in the commit message.)
if !isdefined(@__MODULE__, :fexp)
    include(joinpath(@__DIR__, "..", "src", "mathfuncs.jl"))
end
using Random

function _bm_map!(f::F, y, x) where {F}
    @inbounds @simd for i in eachindex(y, x)
        y[i] = f(x[i])
    end
    return y
end
function _bm_map2!(f::F, z, x, y) where {F}
    @inbounds @simd for i in eachindex(z, x, y)
        z[i] = f(x[i], y[i])
    end
    return z
end

# Thread CPU time on Linux (robust when the machine is shared), wall clock elsewhere.
struct _BmTimespec
    s::Int64
    ns::Int64
end
function _bm_now_ms()
    if Sys.islinux()
        r = Ref(_BmTimespec(0, 0))
        ccall(:clock_gettime, Cint, (Cint, Ref{_BmTimespec}), 3, r)  # CLOCK_THREAD_CPUTIME_ID
        return r[].s * 1e3 + r[].ns / 1e6
    end
    return time_ns() / 1e6
end

function _bm_time(g, reps)
    g()
    best = Inf
    for _ in 1:reps
        t = _bm_now_ms(); g(); best = min(best, _bm_now_ms() - t)
    end
    return best
end

_bm_sig(x) = one(x) / (one(x) + exp(-x))
_bm_softplus(x) = x > zero(x) ? x + log1p(exp(-x)) : log1p(exp(x))
_bm_silu(x) = x / (one(x) + exp(-x))

# (name, f-kernel, Base equivalent or nothing, input range)
const _BM_CASES = [
    ("exp", fexp, exp, (-10, 10)), ("exp2", fexp2, exp2, (-10, 10)),
    ("expm1", fexpm1, expm1, (-10, 10)), ("log", flog, log, (0.001, 10)),
    ("log2", flog2, log2, (0.001, 10)), ("log10", flog10, log10, (0.001, 10)),
    ("log1p", flog1p, log1p, (0.001, 10)), ("sin", fsin, sin, (-10, 10)),
    ("cos", fcos, cos, (-10, 10)), ("tan", ftan, tan, (-1, 1)),
    ("asin", fasin, asin, (-1, 1)), ("acos", facos, acos, (-1, 1)),
    ("atan", fatan, atan, (-10, 10)), ("sinh", fsinh, sinh, (-10, 10)),
    ("cosh", fcosh, cosh, (-10, 10)), ("tanh", ftanh, tanh, (-10, 10)),
    ("erf", ferf, nothing, (-10, 10)), ("sigmoid", fsigmoid, _bm_sig, (-10, 10)),
    ("softplus", fsoftplus, _bm_softplus, (-10, 10)), ("gelu", fgelu, nothing, (-10, 10)),
    ("silu", fsilu, _bm_silu, (-10, 10)),
]

function run_bench(; n = parse(Int, get(ENV, "JT_BENCH_N", "10000000")), reps = 5,
                   types = (Float32, Float64))
    rng = MersenneTwister(0)
    for T in types
        println("\n$T, n = $n (ms, best of $reps)")
        println(rpad("function", 10), lpad("Base", 10), lpad("f", 10), lpad("speedup", 10))
        for (name, f, b, (lo, hi)) in _BM_CASES
            x = T[T(lo + (hi - lo) * rand(rng)) for _ in 1:n]
            y = similar(x)
            tf = _bm_time(() -> _bm_map!(f, y, x), reps)
            tb = b === nothing ? NaN : _bm_time(() -> _bm_map!(b, y, x), reps)
            println(rpad(name, 10), lpad(isnan(tb) ? "n/a" : string(round(tb, digits = 2)), 10),
                    lpad(round(tf, digits = 2), 10),
                    lpad(isnan(tb) ? "" : string(round(tb / tf, digits = 1), "x"), 10))
        end
        x = T[T(0.001 + 10 * rand(rng)) for _ in 1:n]
        y = T[T(-10 + 20 * rand(rng)) for _ in 1:n]
        z = similar(x)
        tf = _bm_time(() -> _bm_map2!(fpow, z, x, y), reps)
        tb = _bm_time(() -> _bm_map2!(^, z, x, y), reps)
        println(rpad("pow", 10), lpad(round(tb, digits = 2), 10), lpad(round(tf, digits = 2), 10),
                lpad(string(round(tb / tf, digits = 1), "x"), 10))
    end
end

if abspath(PROGRAM_FILE) == @__FILE__
    run_bench()
end
