# defop/defmap check a definition before it changes the registry (julia/src/registry.jl): a
# refused one throws an ArgumentError naming the op and leaves REGISTRY, BY_NAME and
# REGISTRY_VERSION as they were.
using JTensor: defop, defmap, REGISTRY, BY_NAME, REGISTRY_VERSION, DEFINITION_HOOK

"The registry's state, to compare before and after a refused definition."
snapshot() = (length(REGISTRY), copy(BY_NAME), REGISTRY_VERSION[], copy(REGISTRY))

"Run `f`, which must throw an ArgumentError whose message contains each of `parts`; then the
registry must be unchanged."
function refused(f, parts...)
    before = snapshot()
    err = try
        f()
        nothing
    catch e
        e
    end
    @test err isa ArgumentError
    err isa ArgumentError || return
    for p in parts
        @test occursin(p, err.msg)
    end
    after = snapshot()
    @test after[1] == before[1] && after[2] == before[2] && after[3] == before[3]
    @test all(after[4] .=== before[4])
end

@testset "schemas are checked" begin
    refused(() -> defop("_td_colon(x Tensor) -> Tensor", identity), "_td_colon", "\"x Tensor\"", "missing colon")
    refused(() -> defop("_td_type(x: Tensr) -> Tensor", identity), "_td_type", "unknown type \"Tensr\"")
    refused(() -> defop("_td_untyped(x) -> Tensor", identity), "_td_untyped", "no type")
    refused(() -> defop("_td_twice(x: Tensor, x: int) -> Tensor", identity), "_td_twice", "appears twice")
    refused(() -> defop("_td_order(x: Tensor, k: int = 1, j: int) -> Tensor", identity), "_td_order", "\"j\"")
    refused(() -> defop("_td_star(x: Tensor, *) -> Tensor", identity), "_td_star", "keyword")
    refused(() -> defop("_td_empty(x: Tensor,, k: int) -> Tensor", identity), "_td_empty", "empty parameter")
    refused(() -> defop("_td_kw(x: Tensor, lambda: int) -> Tensor", identity), "_td_kw", "\"lambda: int\"")
    refused(() -> defop("class(x: Tensor) -> Tensor", identity), "\"class\"", "not a Python identifier")
    refused(() -> defop("_td_ret(x: Tensor) -> Tensor Tensor", identity), "_td_ret", "return")
    refused(() -> defop("no arrow", identity), "bad op schema")
    refused(() -> defop("_td_kind(x: Tensor) -> Tensor", identity; kind = :other), "_td_kind", "kind")
    refused(() -> defop("_td_ns(x: Tensor) -> Tensor", identity; namespace = "a b"), "_td_ns", "namespace")
    # what the library's schemas use is accepted
    o = defop("_td_ok(input: Tensor, *sizes: Shape, dim: Optional[Dims] = None, s: str = \"a,b\", " *
              "t: IntList = (1, 2)) -> (values: Tensor, indices: Tensor)", identity; method = false)
    @test REGISTRY[BY_NAME["_td_ok"]] === o
    @test defop("_td_ok0() -> None", () -> nothing; method = false).name == "_td_ok0"
end

@testset "derivative formulas name real parameters" begin
    refused(() -> defmap("_td_grad(input: Tensor) -> Tensor", x -> x * x; grad = ["inptu" => "2 * grad * input"]),
            "_td_grad", "\"inptu\"", "not a parameter", "input")
    refused(() -> defmap("_td_grad2(input: Tensor) -> Tensor", x -> x * x;
                         grad = ["input" => "grad", "input" => "2 * grad"]), "_td_grad2", "two derivative formulas")
    refused(() -> defmap("_td_grad3(input: Tensor) -> Tensor", x -> x * x; grad = ["input" => " "]), "_td_grad3", "empty")
    @test defmap("_td_grad_ok(input: Tensor) -> Tensor", x -> x * x; grad = ["input" => "2 * grad * input"]).grad ==
          ["input" => "2 * grad * input"]
end

@testset "a redefinition that is refused keeps the old entry" begin
    o = defmap("_td_redef(input: Tensor) -> Tensor", x -> x + one(x))
    refused(() -> defmap("_td_redef(input Tensor) -> Tensor", x -> x))
    @test REGISTRY[BY_NAME["_td_redef"]] === o
    @test JTensor.call("_td_redef", [1.0, 2.0]) == [2.0, 3.0]
end

const HOOK_SEEN = String[]
function hook(p::Ptr{UInt8}, n::Int64)::Ptr{UInt8}
    text = unsafe_string(p, n)
    push!(HOOK_SEEN, text)
    occursin("\"dtypes\":\"flaot\"", text) ? pointer(HOOK_REFUSAL) : Ptr{UInt8}(0)
end
const HOOK_REFUSAL = "op \"_td_hooked\": unknown dtype rule \"flaot\"\0"

@testset "the definition hook (Python's checks) can refuse, and sees the entry" begin
    seen = HOOK_SEEN
    DEFINITION_HOOK[] = @cfunction(hook, Ptr{UInt8}, (Ptr{UInt8}, Int64))
    try
        refused(() -> defmap("_td_hooked(input: Tensor) -> Tensor", x -> x; dtypes = "flaot"), "unknown dtype rule")
        @test occursin("\"schema\":\"_td_hooked(input: Tensor) -> Tensor\"", seen[end])
        @test occursin("\"_td_hooked\"", seen[end]) && occursin("\"exp\"", seen[end])   # the op names it may use
        @test defmap("_td_hooked(input: Tensor) -> Tensor", x -> x; dtypes = "float").dtypes == "float"
        # a type-unstable kernel: the warning goes to the hook (Python makes it a Python warning)
        defmap("_td_unstable(input: Tensor) -> Tensor", x -> x > 0 ? x : 0)
        @test occursin("Union{", seen[end]) && occursin("not a concrete", seen[end])
        defmap("_td_stable(input: Tensor) -> Tensor", x -> x > 0 ? x : zero(x))
        @test occursin("\"warning\":\"\"", seen[end])
    finally
        DEFINITION_HOOK[] = C_NULL
    end
end

@testset "type-unstable map kernels are reported" begin
    @test_logs (:warn, r"_td_unstable2.*Union\{Float32, Int64\}") defmap("_td_unstable2(input: Tensor) -> Tensor",
                                                                      x -> x > 0 ? x : 0)
    @test_logs defmap("_td_stable2(input: Tensor, k: float = 2.0) -> Tensor", (x, k) -> x * oftype(x, k))
    @test_logs defmap("_td_intonly(input: Tensor) -> Tensor", (x::Integer) -> x ÷ 2)   # no float method: not flagged
    # the check is cheap: inference of a small kernel
    t = @elapsed defmap("_td_timed(input: Tensor, other: Tensor) -> Tensor", (a, b) -> a * b + one(a))
    @test t < 2.0
end

@testset "an edited file is re-read into JTensor with Base.include" begin
    # as docs/adding-an-op.md shows for a plain `julia --project=julia` session
    dir = mktempdir()
    file = joinpath(dir, "myops.jl")
    # written as the library's own files are: JTensor's internal names, unqualified
    write(file, "fexp(0.0) == 1.0 || error(\"fexp\")\n" *
                "defmap(\"_td_file_op(input: Tensor) -> Tensor\", x -> x + fexp(zero(x)))\n")
    Base.include(JTensor, file)
    @test JTensor.call("_td_file_op", [1.0]) == [2.0]
    write(file, "defmap(\"_td_file_op(input: Tensor) -> Tensor\", x -> x + 2fexp(zero(x)))\n")
    Base.include(JTensor, file)
    @test JTensor.call("_td_file_op", [1.0]) == [3.0]
    # plain `include` evaluates in the including module, which does not see JTensor's internals
    write(file, "fexp(0.0) == 1.0 || error(\"fexp\")\n")
    err = try include(file); nothing catch e; e end
    @test err isa LoadError && err.error isa UndefVarError
end
