# Checking the transpiler's numerics without a GPU: the generated module compiles as host C++
# (prelude.jl defines `__device__` and friends away), so each map kernel's transpiled scalar
# function can run on the CPU against the Julia kernel it came from. `host_check_source` writes
# one C++ program that calls every variant's function on sample operands and prints a line for
# each result that differs from Julia's beyond a few rounding errors, then a summary line.

"Sample operands of each compute type: signs, zeros, halves, big and small values, NaN and infinities."
host_samples(::Type{T}) where {T<:AbstractFloat} =
    T[-0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 3.7, -7.25, 1e-3, 20.0, -30.0, 100.5, NaN, Inf, -Inf, 0.75]
host_samples(::Type{T}) where {T<:Signed} = T[0, 1, -1, 2, -3, 7, 100, -100, 31, 63, 64, 5, -9, 12, typemax(T), typemin(T)]
host_samples(::Type{Bool}) = [false, true]

"The value an extra (non-tensor) parameter gets in the check: its schema default, else a typical one."
function _host_extra(T, default)
    if default !== nothing
        v = tryparse(Float64, default)
        default == "True" && (v = 1.0)
        default == "False" && (v = 0.0)
        v !== nothing && return T === Bool ? v != 0 : T <: Integer ? T(round(v)) : T(v)
    end
    T === Bool ? true : T <: Integer ? T(2) : T(0.75)
end

"""
    host_check_source(; ops) -> (cpp_source, nvariants, nsamples)

A host C++ program comparing every generated map kernel with its Julia kernel on `host_samples`
(all pairs for binary kernels, a cyclic selection for ternary ones). Results must agree exactly
for integers and booleans and within a few units in the last place for floats (the C library's
`tanh` is not openlibm's; `fma` always fuses where Julia's `muladd` may not).
"""
function host_check_source(ops = [o for o in REGISTRY if o.kind === :map])
    src, variants, _, scalars = generate_map_module(ops)
    io = IOBuffer()
    println(io, src)
    println(io, """
    template <class T> static bool jt_close(T g, T e, double rtol, double atol) {
      if (g != g || e != e) return g != g && e != e;
      if (g == e) return true;
      if (std::isinf((double)g) || std::isinf((double)e)) return false;
      double d = std::fabs((double)g - (double)e);
      return d <= atol + rtol * std::fabs((double)e);
    }
    static int jt_bad = 0, jt_checked = 0;
    template <class T> static void jt_check(const char* name, int i, T g, T e, double rtol, double atol) {
      jt_checked++;
      if (!jt_close(g, e, rtol, atol)) {
        jt_bad++;
        if (jt_bad < 200) std::printf("MISMATCH %s sample %d: got %.17g expected %.17g\\n", name, i, (double)g, (double)e);
      }
    }""")
    body = IOBuffer()
    nsamples = 0
    for v in variants
        o = ops[findfirst(x -> x.name == v.op, ops)]   # (by the variant's op name: namespaced ops too)
        params = _check_schema(o.schema)[2]
        S = host_samples(v.Tc)
        n = length(S)
        cases = Tuple{Vector{Any},Any}[]
        count = v.nin == 1 ? n : n * n
        for i in 0:count-1
            args = Any[]
            for k in 1:length(v.argtypes)
                if k <= v.nin
                    idx = k == 1 ? i % n : k == 2 ? (i ÷ n) % n : (i * 7 + 3) % n
                    push!(args, S[idx+1])
                else
                    push!(args, _host_extra(v.argtypes[k], params[k].default))
                end
            end
            r = try
                r = o.kernel(args...)
                # a float outside an integer type's range has no defined C conversion (nor a torch one)
                v.R <: Integer && v.R !== Bool && r isa AbstractFloat && !(typemin(v.R) <= r <= typemax(v.R)) && continue
                jconvert(v.R, r)
            catch
                continue   # an input the kernel refuses (an integer division by zero): the GPU sets its error word
            end
            push!(cases, (args, r))
        end
        isempty(cases) && continue
        nsamples += length(cases)
        rt = v.R === Float32 ? 1e-5 : 1e-13
        at = v.R === Float32 ? 1e-6 : 1e-14
        println(body, "  {")
        for (k, T) in enumerate(v.argtypes)
            _isghost(T) && continue
            println(body, "    static const $(ctype(T)) a$k[] = {", join((cliteral(c[1][k]) for c in cases), ", "), "};")
        end
        println(body, "    static const $(ctype(v.R)) ex[] = {", join((cliteral(c[2]) for c in cases), ", "), "};")
        callargs = join(("a$k[i]" for (k, T) in enumerate(v.argtypes) if !_isghost(T)), ", ")
        println(body, "    for (int i = 0; i < $(length(cases)); i++) jt_check(\"$(v.name)\", i, ($(ctype(v.R)))$(scalars[v.name])($callargs), ex[i], $rt, $at);")
        println(body, "  }")
    end
    println(io, "int main() {\n", String(take!(body)),
            "  std::printf(\"checked %d results of $(length(variants)) kernels, %d mismatches\\n\", jt_checked, jt_bad);\n",
            "  return jt_bad != 0;\n}")
    String(take!(io)), length(variants), nsamples
end

"C array literal of the values of `A` (column-major order = the C kernels' row-major order)."
_carray(T, name, A) = "static const $(ctype(T)) $name[] = {" * join((cliteral(T(x)) for x in vec(A)), ", ") * "};"

"""
    host_check_reductions_source() -> (cpp_source, nchecks)

A host C++ program running every reduction kernel (one thread per block on the host) on sample
matrices, comparing with the registry's CPU ops (`sum`, `mean`, `amax`, `argmax`, `var`,
`softmax`, `log_softmax`) and with layer_norm's and cross_entropy's definitions.
"""
function host_check_reductions_source()
    src, _ = generate_reduction_module()
    io = IOBuffer()
    println(io, src)
    println(io, """
    #include <cstdio>
    static int jt_bad = 0, jt_checked = 0;
    template <class T, class E> static void jt_expect(const char* what, const T* got, const E* ex, long long n, double rtol) {
      for (long long i = 0; i < n; i++) {
        double g = (double)got[i], e = (double)ex[i];
        bool ok = (g != g && e != e) || g == e || std::fabs(g - e) <= rtol * (1 + std::fabs(e));
        jt_checked++;
        if (!ok) { jt_bad++; if (jt_bad < 100) std::printf("MISMATCH %s [%lld]: got %.17g expected %.17g\\n", what, i, g, e); }
      }
    }""")
    println(io, "int main() {")
    rng = Random.MersenneTwister(7)
    nchecks = 0
    for T in REDUCTION_TYPES
        s = TYPE_SUFFIX[T]
        n, rows, inner = 37, 5, 3
        X = T.(randn(rng, n, rows) .* 3)
        X[4, 2] = T(NaN)                            # row 1 (C order) holds a NaN
        X3 = T.(randn(rng, inner, n, rows))          # C order [outer = rows, n, inner]
        W, B = T.(randn(rng, n)), T.(randn(rng, n))
        tgt = Int64[3, 0, -100, 36, 5]
        rt = T === Float32 ? 2e-5 : 1e-12
        ln = (X .- sum(X, dims = 1) ./ n) ./ sqrt.(sum(abs2, X .- sum(X, dims = 1) ./ n, dims = 1) ./ n .+ T(1e-5)) .* W .+ B
        lse = [maximum(X[:, r]) + log(sum(exp.(X[:, r] .- maximum(X[:, r])))) for r in 1:rows]
        ce = [tgt[r] == -100 ? zero(T) : lse[r] - X[tgt[r]+1, r] for r in 1:rows]
        refs = [("sum_rows", "jt_sum_rows_$s(rows, n, x, o, 0)", call("sum", X, 1, false, nothing), T),
                ("mean_rows", "jt_sum_rows_$s(rows, n, x, o, 1)", call("mean", X, 1, false, nothing), T),
                ("max_rows", "jt_max_rows_$s(rows, n, x, o)", call("amax", X, 1, false), T),
                ("argmax_rows", "jt_argmax_rows_$s(rows, n, x, oi)", call("argmax", X, 1, false), Int64),
                ("var_rows", "jt_var_rows_$s(rows, n, x, o, 1.0)", call("var", X, 1, 1.0, false), T),
                ("softmax_rows", "jt_softmax_rows_$s(rows, n, x, o, 0)", call("softmax", X, 1, nothing), T),
                ("log_softmax_rows", "jt_softmax_rows_$s(rows, n, x, o, 1)", call("log_softmax", X, 1, nothing), T),
                ("layer_norm_rows", "jt_layer_norm_rows_$s(rows, n, x, w, b, 1e-5, o, nullptr, nullptr)", ln, T),
                ("cross_entropy_rows", "jt_cross_entropy_rows_$s(rows, n, x, tgt, -100, o)", ce, T),
                ("sum_mid", "jt_sum_mid_$s(rows, n, inner, x3, o, 0)", call("sum", X3, 2, false, nothing), T),
                ("max_mid", "jt_max_mid_$s(rows, n, inner, x3, o)", call("amax", X3, 2, false), T),
                ("argmax_mid", "jt_argmax_mid_$s(rows, n, inner, x3, oi)", call("argmax", X3, 2, false), Int64),
                ("var_mid", "jt_var_mid_$s(rows, n, inner, x3, o, 0.0)", call("var", X3, 2, 0.0, false), T)]
        println(io, "  {\n    const long long n = $n, rows = $rows, inner = $inner;")
        println(io, "    ", _carray(T, "x", X), "\n    ", _carray(T, "x3", X3), "\n    ", _carray(T, "w", W),
                "\n    ", _carray(T, "b", B), "\n    ", _carray(Int64, "tgt", tgt))
        println(io, "    static $(ctype(T)) o[$(n * rows * inner)]; static long long oi[$(n * rows * inner)];")
        for (what, launch, ref, R) in refs
            println(io, "    {\n      ", _carray(R, "ex", ref), "\n      ", launch, ";")
            println(io, "      jt_expect(\"$(what)_$s\", $(R === Int64 ? "oi" : "o"), ex, $(length(ref)), $rt);\n    }")
            nchecks += length(ref)
        end
        println(io, "  }")
    end
    println(io, "  std::printf(\"checked %d reduction results, %d mismatches\\n\", jt_checked, jt_bad);\n  return jt_bad != 0;\n}")
    String(take!(io)), nchecks
end

"""
    codegen_inventory(dir) -> number of map ops

For the tests: write to `dir` the generated map module (`map.cu`), the reduction module
(`reductions.cu`), their host-check programs (`map_host.cpp`, `reductions_host.cpp`) and
`inventory.tsv`, one line per map op: name, compute types generated, compute types skipped
with the reason, transpiler failures.
"""
function codegen_inventory(dir::AbstractString)
    ops = [o for o in REGISTRY if o.kind === :map]
    src, variants, failures, _ = generate_map_module(ops)
    write(joinpath(dir, "map.cu"), src)
    write(joinpath(dir, "reductions.cu"), generate_reduction_module()[1])
    write(joinpath(dir, "map_host.cpp"), host_check_source(ops)[1])
    write(joinpath(dir, "reductions_host.cpp"), host_check_reductions_source()[1])
    open(joinpath(dir, "inventory.tsv"), "w") do io
        for o in ops
            made = [TYPE_SUFFIX[v.Tc] for v in variants if v.op == o.name]
            skipped = ["$(TYPE_SUFFIX[T]): $why" for (T, why) in map_variants(o)[2]]
            failed = ["$(TYPE_SUFFIX[T]): $msg" for (n, T, msg) in failures if n == o.name]
            println(io, o.name, '\t', join(made, ","), '\t', join(skipped, "; "), '\t', join(failed, "; "))
        end
    end
    write(joinpath(dir, "kernels.txt"), join(vcat([v.name * s for v in variants for s in ("_c", "_s")],
                                                 generate_reduction_module()[2]), "\n"))
    length(ops)
end
