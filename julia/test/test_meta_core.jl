# The meta device on the reductions, shape, indexing and view-gradient ops: each op run on
# MetaArrays (no data) gives the size and element type that the CPU kernel's result has for the
# same arguments; ops whose result size depends on the values refuse meta arrays.
const J = JTensor
M(a) = a isa Vector{Any} ? Any[M(x) for x in a] : a isa AbstractArray ? J.MetaArray{eltype(a)}(size(a)) : a
S(a) = a isa Vector{Any} ? Any[S(x) for x in a] : a isa Array ? J.Strided(a) : a
function same(name, args...)
    r = J.call(name, map(S, args)...)
    m = J.call(name, map(M, args)...)
    if r isa Tuple
        @test all(size(a) == size(b) && eltype(a) == eltype(b) for (a, b) in zip(r, m))
    else
        @test (size(r), eltype(r)) == (size(m), eltype(m))
    end
end
const x = rand(Float32, 3, 4, 5); const i = rand(Int64.(0:2), 3, 4, 5)
for (n, a) in [("sum", (x, (1, 3), false, nothing)), ("sum", (x, nothing, false, nothing)), ("sum", (Int32.(i), (2,), true, nothing)),
               ("mean", (x, (2,), true, nothing)), ("prod", (x, (1,), false, Float64)), ("amax", (x, (1,2), false)),
               ("argmax", (x, 2, false)), ("argmax", (x, nothing, false)), ("max", (x, 2, true)), ("var", (x, (1,), 1.0, false)),
               ("norm", (x, 2.0, nothing, false)), ("logsumexp", (x, (3,), true)), ("all", (x, nothing, false)),
               ("cumsum", (i, 2, nothing)), ("sort", (x, 1, false, false)), ("argsort", (x, 2, true, false)), ("topk", (x, 2, 1, true, true)),
               ("cat", (Any[x, x], 1)), ("stack", (Any[x, x], 0)), ("hstack", (Any[x, x],)), ("vstack", (Any[x, x],)),
               ("flip", (x, (1,))), ("roll", (x, (1,), (0,))), ("repeat", (x, (2, 1, 1, 3))), ("tile", (x, (2, 2))),
               ("pad", (x, (1, 2, 0, 1), "constant", 0.0)), ("tril", (x, 0)), ("diag", (rand(3), 1)), ("diag", (rand(3, 5), -1)),
               ("diag_embed", (rand(3, 4), 0, -2, -1)), ("gather", (x, 1, zeros(Int64, 2, 4, 5), false)),
               ("scatter", (x, 1, zeros(Int64, 2, 4, 5), x, nothing, nothing)), ("index_select", (x, 2, [0, 1, 1, 0, 2], )),
               ("take", (x, [1 2; 3 4])), ("take_along_dim", (x, zeros(Int64, 3, 1, 5), 2)), ("take_along_dim", (x, zeros(Int64, 3, 2), nothing)),
               ("searchsorted", (collect(1.0:5.0), rand(3, 2), false, false, nothing)), ("_view_backward", (x, (60,), (12, 3, 1), 0))]
    @testset "$n" begin
        same(n, a...)
    end
end
@test_throws J.DeviceNotImplemented J.call("nonzero", M(x))
@test_throws J.DeviceNotImplemented J.call("unique", M(x), true, false, false, nothing)
@test_throws DimensionMismatch J.call("cat", Any[M(x), M(rand(2,2))], 0)
@test_throws J.DeviceNotImplemented J.call("masked_select", M(x), J.MetaArray{Bool}(size(x)))
@test_throws J.DeviceNotImplemented J.call("bincount", J.MetaArray{Int64}((4,)), nothing, 0)
@test_throws J.DTypeError J.call("gather", M(x), 1, M(rand(2, 4, 5)), false)   # float index
@test_throws ArgumentError J.call("topk", M(x), 9, 1, true, true)               # k beyond the dim
