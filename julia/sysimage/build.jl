# Builds the body of a JTensor system image; run by `python -m jtensor.sysimage`, never by hand:
#
#   julia --startup-file=no -J <stock sys.so> -C native -O2 --sysimage-native-code=yes \
#         --output-o <out.o> build.jl <julia package folder> <statements file>
#
# With --output-o, Julia serializes everything this script leaves loaded, and the native code of
# every method it compiled, into an object file, which the caller links into a shared library.
# In that mode Base's own `__init__` does not run, so the few start-up steps loading needs are
# done here by hand. The statements file holds `precompile(...)` lines gathered by
# `--trace-compile` from Python workloads; each is replayed on its own (see `infer`), and a line
# that no longer applies (a method since renamed, a type from user code) is counted and skipped.

Base.reinit_stdio()
Sys.__init__()
Base.init_depot_path()
Base.init_load_path()

const PKG_DIR = ARGS[1]
const STATEMENTS = ARGS[2]
pushfirst!(LOAD_PATH, PKG_DIR)
using JTensor
JTensor.cache_registry_text!()   # Python reads it at every start-up

# Names the traced statements use: Base, Core and the standard libraries JTensor loads, by name.
module Replay
    using JTensor, LinearAlgebra, Random
    import REPL, Logging, Base.Threads
end

"""
Infer the method instance a traced `precompile(Tuple{...})` line names, and cache the result.

`precompile` itself would also generate native code for the JIT right away, which in output mode
costs about 100 MB of memory per elementwise plan that is not returned until the end (a 4000-line
trace needed more than 24 GB). The image writer compiles every method instance that has inferred
code anyway, so inference is all a replay needs. The traced signatures are the ones Julia really
compiled, so they name the same instances that calls dispatch to at run time.
"""
function infer(@nospecialize(tt))
    world = Base.get_world_counter()
    matches = Base._methods_by_ftype(tt, -1, world)
    (matches isa Vector && length(matches) == 1) || return false
    sig, sparams, method = matches[1]
    mi = Core.Compiler.specialize_method(method, sig, sparams, false)
    Core.Compiler.typeinf_ext(mi, world)
    # The image writer skips methods whose inferred code is marked inlineable unless they were
    # compiled, but glue calls many such small methods by dynamic dispatch: compile those now
    # (they are small, so this costs little memory).
    ci = isdefined(mi, :cache) ? mi.cache : nothing
    if ci !== nothing && ci.inferred isa Vector{UInt8} && ccall(:jl_ir_flag_inlineable, UInt8, (Any,), ci.inferred) != 0
        precompile(tt)
    end
    true
end

const PROGRESS = get(ENV, "JTENSOR_SYSIMAGE_PROGRESS", "") == "1"
const T0 = time()

function replay(path)
    ok = failed = 0
    for line in eachline(path)
        startswith(line, "precompile(") || continue
        try
            ex = Meta.parse(line)
            tt = Core.eval(Replay, ex.args[2])
            infer(tt) ? (ok += 1) : (failed += 1)
            PROGRESS && (ok + failed) % 250 == 0 && (println("  inferred ", ok + failed, " at ", round(time() - T0), " s, ", Sys.maxrss() >> 20, " MB"); flush(stdout))
        catch
            failed += 1
        end
    end
    ok, failed
end

ok, failed = replay(STATEMENTS)
println("jtensor sysimage: inferred $ok traced methods ($failed skipped)")

# The image must not remember this build's paths: loading re-initialises them from the environment.
empty!(LOAD_PATH)
empty!(DEPOT_PATH)
