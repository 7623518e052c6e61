# JTensor's Julia tests. Run either of (no Pkg operations: they need the network):
#   julia --project=julia julia/test/runtests.jl
#   julia --project=. -e 'include("julia/test/runtests.jl")'      (from the repository root)
# Add --threads=2 to exercise the engine's threaded path as well.
#
# Runs every julia/test/test_*.jl, test_core.jl first, each in a module of its own (so that their
# helper definitions cannot collide), after `using Test, JTensor`.
using Test

if Base.find_package("JTensor") === nothing
    # Run with no project that provides JTensor: load it from this checkout's julia/ folder.
    pushfirst!(LOAD_PATH, dirname(@__DIR__))
end
using JTensor

"A fresh module for one test file; `all_names` also imports every name JTensor defines."
function test_module(name::AbstractString; all_names::Bool = false)
    m = Module(Symbol(replace(name, r"\W" => "_")))
    Core.eval(m, :(using Test, JTensor))
    Core.eval(m, :(include(path) = Base.include($m, path)))
    all_names || return m
    for n in names(JTensor; all = true)
        s = string(n)
        (startswith(s, "#") || n in (:eval, :include, nameof(JTensor))) && continue
        isdefined(JTensor, n) || continue
        Core.eval(m, Expr(:import, Expr(:(:), Expr(:., :JTensor), Expr(:., n))))
    end
    m
end

const TEST_FILES = let files = sort(filter(f -> startswith(f, "test_") && endswith(f, ".jl"), readdir(@__DIR__)))
    "test_core.jl" in files ? ["test_core.jl"; filter(!=("test_core.jl"), files)] : files
end

@testset "JTensor" begin
    for f in TEST_FILES
        # test_mathfuncs.jl calls the math kernels by their bare names (fexp, ...), not exported.
        Base.include(test_module(f; all_names = f == "test_mathfuncs.jl"), joinpath(@__DIR__, f))
    end
end
