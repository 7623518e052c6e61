# Tests of JTensor's core: Strided views, the elementwise engine, broadcasting, dtype conversion
# and BFloat16, the op registry, `JTensor.call`, and the bridge's word format and entry points.
# Included by runtests.jl (after `using Test, JTensor`). Arrays here are in Julia dimension order.

using Test
using JTensor
using JTensor: Strided, dense, owned, iscontiguous, map_into!, broadcast_to, broadcast_size, apply,
               jconvert, compute_type, BFloat16, DTYPES, DTYPE_NAMES, dtype_code, dtype_of,
               defop, defmap, REGISTRY, REGISTRY_VERSION, registry_json

# A Strided view over `A`'s memory with the given element size and strides (A keeps it alive).
view_of(A::Array{T}, sz, st; offset = 0) where {T} =
    Strided{T,length(sz)}(pointer(A) + offset * sizeof(T), Tuple(sz), Tuple(st), A)

bits(x::BFloat16) = reinterpret(UInt16, x)
bf(u::UInt32) = BFloat16(reinterpret(Float32, u))

@testset "core" begin

@testset "Strided views" begin
    A = reshape(collect(1.0:12.0), 3, 4)
    S = Strided(A)
    @test S isa AbstractArray{Float64,2}
    @test size(S) == (3, 4) && strides(S) == (1, 3) && stride(S, 2) == 3
    @test S == A && S[2, 3] == A[2, 3]
    @test iscontiguous(S) && iscontiguous(A)

    # transpose: same memory, swapped strides
    T = view_of(A, (4, 3), (3, 1))
    @test T == permutedims(A) && T[4, 1] == A[1, 4]
    @test !iscontiguous(T)
    # size-1 dimensions may have any stride
    @test iscontiguous(view_of(A, (3, 1), (1, 999)))
    # every other element, and a view at an offset
    E = view_of(A, (6,), (2,))
    @test collect(E) == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    @test collect(view_of(A, (2, 2), (1, 3); offset = 4)) == [5.0 8.0; 6.0 9.0]

    # writes go through to the underlying memory, converting to the element type
    E[2] = 30
    @test A[3] === 30.0
    T[2, 3] = -1.5f0
    @test A[3, 2] == -1.5
    @test_throws BoundsError E[7]
    @test_throws BoundsError T[1, 4]

    # dense: a no-copy Array when contiguous, a packed copy otherwise; owned never aliases
    D = dense(S)
    @test D isa Matrix{Float64} && pointer(D) == pointer(A) && D == A
    DT = dense(T)
    @test DT isa Matrix{Float64} && DT == permutedims(A) && pointer(DT) != pointer(A)
    O = owned(S)
    @test O == A && pointer(O) != pointer(A)
    @test dense(E) == A[1:2:end]

    # element types other than Float64 and 0-d views
    I8 = Int8[1, 2, 3, 4]
    @test view_of(I8, (2,), (2,)) == Int8[1, 3]
    z = fill(7.0)
    Z = Strided(z)
    @test ndims(Z) == 0 && Z[] == 7.0
end

@testset "map_into!" begin
    x = [1.0, 2.0, 3.0]
    y = [10.0, 20.0, 30.0, 40.0]
    out = zeros(3, 4)
    sz = size(out)
    # broadcasting by zero strides: x along dim 1, y along dim 2
    X = broadcast_to(Strided(x), sz)
    Y = broadcast_to(Strided(reshape(y, 1, 4)), sz)
    @test strides(X) == (1, 0) && strides(Y) == (0, 1)
    @test map_into!(+, Float64, Strided(out), (X, Y)) isa Strided
    @test out == x .+ y'

    # a scalar operand, and extra (non-broadcast) arguments after the loaded ones
    map_into!(*, Float64, Strided(out), (X, 2))
    @test out == repeat(2x, 1, 4)
    map_into!(JTensor.fadd, Float64, Strided(out), (X, Y), (0.5,))    # add's kernel: x + alpha * y
    @test out == x .+ 0.5 .* y'

    # transposed and strided operands, and a strided output
    A = reshape(collect(1.0:12.0), 3, 4)
    At = view_of(A, (4, 3), (3, 1))
    B = reshape(collect(100.0:100.0:1200.0), 4, 3)
    o = zeros(4, 3)
    map_into!(-, Float64, Strided(o), (Strided(B), At))
    @test o == B .- permutedims(A)
    wide = zeros(8, 3)
    ostr = view_of(wide, (4, 3), (2, 8))            # every other row of `wide`
    map_into!(identity, Float64, ostr, (At,))
    @test wide[1:2:end, :] == permutedims(A) && all(iszero, wide[2:2:end, :])

    # mixed dtypes: inputs converted to the compute type, results stored with jconvert semantics
    f = [1.7, -1.7, 2.5, -0.5, NaN, Inf, -Inf]
    i32 = zeros(Int32, length(f))
    map_into!(identity, Float64, Strided(i32), (Strided(f),))
    @test i32 == Int32[1, -1, 2, 0, 0, typemax(Int32), typemin(Int32)]    # truncation toward zero
    ints = [300, -1, 256, 127, 128]
    u8 = zeros(UInt8, 5)
    map_into!(identity, Int64, Strided(u8), (Strided(ints),))
    @test u8 == UInt8[44, 255, 0, 127, 128]                              # integers wrap
    bools = [true, false, true]
    f32 = zeros(Float32, 3)
    map_into!(identity, Float32, Strided(f32), (Strided(bools),))
    @test f32 == Float32[1, 0, 1]
    ib = Int32[0, 3, -2]
    fb = Float32[0.25, 0.5, 0.75]
    res = zeros(Float64, 3)
    map_into!(+, Float64, Strided(res), (Strided(ib), Strided(fb)))       # Int32 + Float32 in Float64
    @test res == [0.25, 3.5, -1.25]
    cplx = [1.5 + 2im, -3.0 - 1im]
    re = zeros(Float32, 2)
    map_into!(identity, ComplexF64, Strided(re), (Strided(cplx),))
    @test re == Float32[1.5, -3.0]                                       # complex -> real drops imag

    # comparisons store Bool directly
    bo = fill(false, 3)
    map_into!(<, Float64, Strided(bo), (Strided(x), 2.5))
    @test bo == [true, true, false]

    # operands broadcast along the inner run (stride 0 there) are read once per run (`hoisted`):
    # a column, a 0-d value, in either position, other dtypes, runs longer than a poll chunk;
    # runs shorter than HOIST_MIN take the any-stride loops
    for (rows, cols) in ((3, 5), (40, 6), (1 << 17, 3), (2, (1 << 16) + 7))
        A = reshape(collect(1.0:rows * cols), rows, cols)
        col = collect(Float32, 1:cols)                     # one value per column (Julia's inner run)
        C = broadcast_to(view_of(col, (1, cols), (0, 1)), (rows, cols))
        @test strides(C) == (0, 1)
        o = zeros(rows, cols)
        map_into!(-, Float64, Strided(o), (Strided(A), C))
        @test o == A .- col'
        map_into!(-, Float64, Strided(o), (C, Strided(A)))
        @test o == col' .- A
        zd = fill(Int32(3))
        Z = broadcast_to(Strided(zd), (rows, cols))
        oi = zeros(Float32, rows, cols)
        map_into!(*, Float64, Strided(oi), (Strided(A), Z))
        @test oi == Float32.(3 .* A)
        map_into!(identity, Int32, Strided(oi), (Z,))     # expand(...).contiguous(): a fill
        @test all(==(3f0), oi)
    end
    # transposed operands run in tiles (`tiled_range!`): sizes that are not multiples of the tile,
    # a transposed output, a broadcast column beside a transposed operand
    for (r, c) in ((33, 70), (100, 257), (1 << 9, 1 << 9))
        A = rand(r, c); Bm = rand(c, r)
        Bt = view_of(Bm, (r, c), (c, 1))                      # Bm' without a copy
        o = zeros(r, c)
        map_into!(+, Float64, Strided(o), (Strided(A), Bt))
        @test o == A .+ permutedims(Bm)
        ot = zeros(c, r)
        map_into!(identity, Float64, view_of(ot, (r, c), (c, 1)), (Strided(A),))
        @test ot == permutedims(A)
        col = rand(c)
        map_into!(*, Float64, Strided(o), (Bt, broadcast_to(view_of(col, (1, c), (0, 1)), (r, c))))
        @test o == permutedims(Bm) .* col'
    end

    # written into the operand it broadcasts from, on runs long enough to be hoisted: every element
    # sees the value from before (shorter runs re-read it; Python copies an overlapping operand first)
    for rows in (JTensor.HOIST_MIN, 40)
        W0 = reshape(collect(1.0:rows * 4), rows, 4)
        W = copy(W0)
        row1 = broadcast_to(view_of(W, (1, 4), (rows, rows)), (rows, 4))    # W[1, :] along each column
        map_into!(+, Float64, Strided(W), (Strided(W), row1))
        @test W == W0 .+ W0[1:1, :]
    end

    # large enough for the threaded path (when Julia runs with several threads), contiguous and not
    n = 1 << 17
    big = collect(1.0:n)
    bo2 = zeros(n)
    map_into!(*, Float64, Strided(bo2), (Strided(big), 2.0))
    @test bo2 == 2 .* big
    M = reshape(collect(1.0:2n), 2, n)
    half = zeros(n)
    map_into!(+, Float64, Strided(half), (view_of(M, (n,), (2,)), 1.0))
    @test half == M[1, :] .+ 1
    M2 = reshape(collect(1.0:(3 * 512 * 256)), 3, 512, 256)
    o2 = zeros(512, 256)
    map_into!(identity, Float64, Strided(o2), (view_of(M2, (512, 256), (3, 3 * 512); offset = 2),))
    @test o2 == M2[3, :, :]

    # empty and mismatched outputs
    e = zeros(0, 3)
    @test map_into!(+, Float64, Strided(e), (Strided(e), 1.0)) isa Strided
    @test_throws DimensionMismatch map_into!(+, Float64, Strided(zeros(3)), (Strided(zeros(4)), 1.0))
end

@testset "broadcast_size / broadcast_to" begin
    @test broadcast_size((3, 1), (1, 4)) == (3, 4)
    @test broadcast_size((3,), (3, 4)) == (3, 4)
    @test broadcast_size((1,), (5, 2, 1)) == (5, 2, 1)
    @test broadcast_size((2, 0), (1, 0)) == (2, 0)
    @test broadcast_size((), (2, 3)) == (2, 3)
    @test_throws DimensionMismatch broadcast_size((3,), (4,))
    @test_throws DimensionMismatch broadcast_size((2, 3), (2, 4))

    v = Strided([1, 2, 3])
    B = broadcast_to(v, (3, 2))
    @test size(B) == (3, 2) && strides(B) == (1, 0) && B == [1 1; 2 2; 3 3]
    @test strides(broadcast_to(Strided(fill(5)), (2, 2))) == (0, 0)
    @test_throws DimensionMismatch broadcast_to(v, (4,))
    @test_throws DimensionMismatch broadcast_to(Strided(zeros(2, 3)), (2,))    # fewer dimensions
    @test_throws DimensionMismatch broadcast_to(Strided(zeros(2, 3)), (2, 4))

    # apply: allocate the broadcast result, in the given output type
    r = apply(+, Float64, Float64, [1.0, 2.0], [10.0 20.0 30.0])
    @test r == [11.0 21.0 31.0; 12.0 22.0 32.0]
    @test apply(*, Int64, Int32, Int32[1, 2], 3) == Int32[3, 6]
end

@testset "jconvert and BFloat16" begin
    # C-style conversions, never throwing
    @test jconvert(Int32, 2.9) === Int32(2) && jconvert(Int32, -2.9) === Int32(-2)
    @test jconvert(Int64, NaN) === 0 && jconvert(Int16, Inf) === typemax(Int16) && jconvert(Int16, -Inf) === typemin(Int16)
    @test jconvert(UInt8, 257) === 0x01 && jconvert(Int8, 255) === Int8(-1) && jconvert(UInt8, -1) === 0xff
    @test jconvert(Int32, true) === Int32(1) && jconvert(Float64, false) === 0.0
    @test jconvert(Float64, 1 + 2im) === 1.0 && jconvert(ComplexF32, 2) === ComplexF32(2, 0)
    @test jconvert(Bool, true) === true && jconvert(Bool, BFloat16(0.5)) === true
    # to Bool: `x != 0` (NaN is true)
    @test jconvert(Bool, 0.5) === true && jconvert(Bool, -0.0) === false && jconvert(Bool, NaN) === true
    @test jconvert(Bool, 2) === true && jconvert(Bool, UInt8(0)) === false
    @test jconvert(Bool, 0im) === false && jconvert(Bool, 0.0 + 1im) === true

    # BFloat16: the top half of a Float32, rounded to nearest, ties to even
    @test bits(BFloat16(1.0f0)) == 0x3f80 && Float32(BFloat16(1.0f0)) === 1.0f0
    @test bits(bf(0x3f808000)) == 0x3f80     # exactly half way, even below: down
    @test bits(bf(0x3f818000)) == 0x3f82     # exactly half way, odd below: up
    @test bits(bf(0x3f808001)) == 0x3f81     # above half way: up
    @test bits(bf(0x3f807fff)) == 0x3f80     # below half way: down
    @test bits(bf(0xbf818000)) == 0xbf82     # negative numbers round the same way
    @test bits(BFloat16(floatmax(Float32))) == 0x7f80          # overflows to Inf
    @test bits(BFloat16(Inf32)) == 0x7f80 && bits(BFloat16(-Inf32)) == 0xff80
    @test bits(BFloat16(-0.0f0)) == 0x8000
    # NaN stays NaN, even a NaN whose payload lies only in the low bits (truncation would give Inf)
    @test isnan(BFloat16(NaN32)) && isnan(BFloat16(NaN)) && isnan(bf(0x7f800001)) && isnan(bf(0xff800001))
    @test isnan(Float32(BFloat16(NaN)))
    # every BFloat16 survives a round trip through Float32
    @test all(u -> isnan(Float32(reinterpret(BFloat16, u))) ||
                   bits(BFloat16(Float32(reinterpret(BFloat16, u)))) == u, 0x0000:0xffff)
    @test BFloat16(3) == BFloat16(3.0f0) && Float64(BFloat16(0.5)) === 0.5
    @test jconvert(Int32, BFloat16(-2.75)) === Int32(-2)
    @test jconvert(BFloat16, 1.00390625) === BFloat16(1.0f0)   # 1 + 2^-8: a tie, to even
    @test promote_type(BFloat16, Float32) === Float32 && promote_type(BFloat16, Int64) === BFloat16
    @test BFloat16(1.5) + BFloat16(2.25) == BFloat16(3.75)
    @test compute_type(BFloat16) === Float32 && compute_type(Float16) === Float32 && compute_type(Int8) === Int8

    # stores into a BFloat16 output round (from a Float32 compute type)
    src = Float32[1.0, reinterpret(Float32, 0x3f818000), floatmax(Float32), NaN32]
    dst = Vector{BFloat16}(undef, 4)
    map_into!(identity, Float32, Strided(dst), (Strided(src),))
    @test bits.(dst)[1:3] == [0x3f80, 0x3f82, 0x7f80] && isnan(dst[4])

    # dtype table: wire codes are positions in DTYPES
    @test length(DTYPES) == length(DTYPE_NAMES)
    @test all(dtype_of(dtype_code(T)) === T for T in DTYPES)
    @test DTYPE_NAMES[dtype_code(BFloat16) + 1] == "bfloat16" && DTYPE_NAMES[dtype_code(Float32) + 1] == "float32"
    @test_throws ArgumentError dtype_code(String)
end

@testset "registry" begin
    n0 = length(REGISTRY)
    v0 = REGISTRY_VERSION[]
    o = defop("_test_core_op(input: Tensor, k: int = 2) -> Tensor", (x, k) -> x .* k)
    @test o.id == n0 + 1 && length(REGISTRY) == n0 + 1 && REGISTRY[o.id] === o
    @test o.name == "_test_core_op" && o.returns == "Tensor" && o.kind === :fn
    @test REGISTRY_VERSION[] == v0 + 1
    @test JTensor.op("_test_core_op") === o
    @test JTensor.call("_test_core_op", [1, 2], 3) == [3, 6]

    # redefinition keeps the id, replaces the entry, bumps the version
    o2 = defop("_test_core_op(input: Tensor, k: int = 2) -> Tensor", (x, k) -> x .+ k)
    @test o2.id == o.id && length(REGISTRY) == n0 + 1 && REGISTRY[o.id] === o2
    @test REGISTRY_VERSION[] == v0 + 2
    @test JTensor.call("_test_core_op", [1, 2], 3) == [4, 5]

    # the same name in a namespace is another op
    o3 = defop("_test_core_op(input: Tensor) -> Tensor", identity; namespace = "testns", method = false)
    @test o3.id == n0 + 2 && JTensor.op("testns._test_core_op") === o3

    m = defmap("_test_core_map(input: Tensor, other: Tensor) -> Tensor", (a, b) -> a - 2b)
    @test m.kind === :map && m.inplace && m.dtypes == "same"
    @test JTensor.call("_test_core_map", [10.0, 20.0], [1.0, 2.0]) == [8.0, 16.0]

    @test_throws ArgumentError defop("not a schema", identity)
    @test_throws ArgumentError defop("_test_core_bad(x: Tensor) -> Tensor", identity; kind = :other)

    defop("_test_core_doc() -> None", () -> nothing; method = false, doc = "A \"quoted\" doc\nsecond line.")
    js = registry_json()
    @test startswith(js, "{") && endswith(js, "}")
    @test occursin("\"version\":$(REGISTRY_VERSION[])", js)
    @test occursin("\"dtypes\":[\"bool\",\"int8\",\"int16\",\"int32\",\"int64\",\"uint8\",\"float16\",\"bfloat16\"", js)
    @test occursin("\"name\":\"_test_core_op\"", js)
    @test occursin("\"schema\":\"_test_core_op(input: Tensor, k: int = 2) -> Tensor\"", js)
    @test occursin("\"namespace\":\"testns\"", js)
    @test occursin("\"doc\":\"A \\\"quoted\\\" doc\\nsecond line.\"", js)
    @test occursin("\"kind\":\"map\"", js) && occursin("\"name\":\"add\"", js)
    # JSON string escaping of control characters and quotes
    io = IOBuffer()
    JTensor._json(io, "a\"b\\c\nd\te\u01")
    @test String(take!(io)) == "\"a\\\"b\\\\c\\nd\\te\\u0001\""
    # brackets balance outside strings (a cheap structural check)
    depth = 0; instr = false; esc = false; ok = true
    for c in js
        if instr
            esc ? (esc = false) : c == '\\' ? (esc = true) : c == '"' && (instr = false)
        elseif c == '"'
            instr = true
        elseif c in "{["
            depth += 1
        elseif c in "}]"
            depth -= 1
            depth < 0 && (ok = false)
        end
    end
    @test ok && depth == 0 && !instr
end

@testset "JTensor.call on arrays" begin
    @test JTensor.call("add", [1.0, 2.0], [3.0, 4.0], 1) == [4.0, 6.0]
    @test JTensor.call("add", [1.0, 2.0], [3.0, 4.0], 2) == [7.0, 10.0]          # alpha
    @test JTensor.call("add", [1.0, 2.0], [10.0 20.0], 1) == [11.0 21.0; 12.0 22.0]
    r = JTensor.call("add", Int32[1, 2], [0.5, 1.5], 1)
    @test r == [1.5, 3.5] && eltype(r) == Float64
    e = JTensor.call("exp", [0.0, 1.0, -Inf])
    @test e ≈ [1.0, exp(1.0), 0.0] && e[3] == 0.0
    A = [1.0 2.0; 3.0 4.0]
    @test JTensor.call("sum", A, nothing, false, nothing)[] == 10.0
    @test JTensor.call("sum", A, (1,), false, nothing) == [4.0, 6.0]
    @test JTensor.call("sum", A, (2,), true, nothing) == reshape([3.0, 7.0], 2, 1)
    s = JTensor.call("sum", [1, 2, 3], nothing, false, nothing)
    @test s[] == 6 && eltype(s) == Int64
    # matmul in Julia order: Python's A(m,k) @ B(k,n) is Julia's B(n,k) * A(k,m)
    Aj = reshape(collect(1.0:6.0), 3, 2)     # Python (2, 3)
    Bj = reshape(collect(1.0:12.0), 4, 3)    # Python (3, 4)
    C = JTensor.call("matmul", Aj, Bj)
    @test size(C) == (4, 2) && C ≈ Bj * Aj
    @test JTensor.call("matmul", [1.0, 2.0, 3.0], [4.0, 5.0, 6.0])[] == 32.0      # vector · vector
    @test_throws DimensionMismatch JTensor.call("matmul", Aj, Aj)
end

@testset "bridge: argument words, results, entry points" begin
    B = JTensor
    f2w(x::Float64) = reinterpret(Int64, x)
    s = "hello, wörld"
    data = collect(1.0:6.0)                    # Python tensor (2, 3), C-contiguous
    ints = Int32[7, 8, 9, 10]                  # Python (2,) with stride 2
    words = Int64[B.TAG_INT, -5,
                  B.TAG_FLOAT, f2w(2.5),
                  B.TAG_BOOL, 1,
                  B.TAG_NONE,
                  B.TAG_INTLIST, 3, 4, -1, 0,
                  B.TAG_COMPLEX, f2w(1.5), f2w(-2.0),
                  B.TAG_DTYPE, dtype_code(Float32),
                  B.TAG_STR, Int64(UInt(pointer(s))), sizeof(s),
                  B.TAG_TENSOR, dtype_code(Float64), 2, B.DEVICE_CPU, Int64(UInt(pointer(data))), 2, 3, 3, 1,
                  B.TAG_TENSORLIST, 2,
                      B.TAG_TENSOR, dtype_code(Int32), 1, B.DEVICE_CPU, Int64(UInt(pointer(ints))), 2, 2,
                      B.TAG_INT, 42]
    args = GC.@preserve s data ints words B.decode_args(pointer(words), length(words))
    @test length(args) == 10
    @test args[1] === -5 && args[2] === 2.5 && args[3] === true && args[4] === nothing
    @test args[5] == (4, -1, 0) && args[6] === 1.5 - 2.0im && args[7] === Float32
    @test args[8] == s
    t = args[9]
    @test t isa Strided{Float64,2} && size(t) == (3, 2) && strides(t) == (1, 3)   # reversed to Julia order
    @test t == reshape(data, 3, 2) && t[3, 1] == 3.0 && t[1, 2] == 4.0          # Python t[1, 0] == 4
    lst = args[10]
    @test length(lst) == 2 && lst[1] isa Strided{Int32,1} && collect(lst[1]) == Int32[7, 9] && lst[2] == 42
    bad = Int64[99]
    @test_throws ArgumentError GC.@preserve bad B.decode_args(pointer(bad), 1)

    # results: arrays are rooted in HANDLES and described in Python order
    res = zeros(Int64, 64)
    M = [1.0 2.0 3.0; 4.0 5.0 6.0]            # Julia (2, 3) = Python (3, 2)
    i = GC.@preserve res B.encode_result(pointer(res), 2, M, true)
    @test res[2] == B.TAG_TENSOR && res[3] == dtype_code(Float64) && res[4] == 2 && res[5] == B.DEVICE_CPU
    @test res[6] == Int64(UInt(pointer(M))) && res[8:9] == [3, 2] && i == 10
    h = res[7]
    @test B.HANDLES[h] === M
    i = GC.@preserve res B.encode_result(pointer(res), i, 7, false)
    @test res[10:11] == [B.TAG_INT, 7] && i == 12
    i = GC.@preserve res B.encode_result(pointer(res), i, 0.25, false)
    @test res[12:13] == [B.TAG_FLOAT, f2w(0.25)]
    hb = Int64[h]
    @test GC.@preserve hb B.jt_release(pointer(hb), 1) == 0
    @test !haskey(B.HANDLES, h)

    # jt_call through its C entry: a map op writes into a caller-owned output
    x = [0.0, 1.0, 2.0]
    out = zeros(3)
    p(a) = Int64(UInt(pointer(a)))
    expid = JTensor.op("exp").id
    call_words = Int64[B.TAG_TENSOR, dtype_code(Float64), 1, B.DEVICE_CPU, p(out), 3, 1,
                       B.TAG_DTYPE, dtype_code(Float64),
                       B.TAG_INT, 1,
                       B.TAG_TENSOR, dtype_code(Float64), 1, B.DEVICE_CPU, p(x), 3, 1]
    rbuf = zeros(Int64, B.RESULT_WORDS)
    callptr = B.ENTRY["call"]
    st = GC.@preserve x out call_words rbuf ccall(callptr, Int64, (Int64, Ptr{Int64}, Int64, Ptr{Int64}),
                                                  expid, pointer(call_words), length(call_words), pointer(rbuf))
    @test st == 0 && out ≈ exp.(x)
    # a fn op returns a Julia array, rooted until released
    sumid = JTensor.op("sum").id
    sum_words = Int64[B.TAG_TENSOR, dtype_code(Float64), 1, B.DEVICE_CPU, p(x), 3, 1, B.TAG_NONE, B.TAG_BOOL, 0, B.TAG_NONE]
    st = GC.@preserve x sum_words rbuf ccall(callptr, Int64, (Int64, Ptr{Int64}, Int64, Ptr{Int64}),
                                            sumid, pointer(sum_words), length(sum_words), pointer(rbuf))
    @test st == 0 && rbuf[1] == 1 && rbuf[2] == B.TAG_TENSOR && rbuf[4] == 0
    @test unsafe_load(Ptr{Float64}(UInt(rbuf[6]))) == 3.0
    hb[1] = rbuf[7]
    @test GC.@preserve hb B.jt_release(pointer(hb), 1) == 0

    # errors are caught at the entry, recorded, and reported as `Type␞message␞backtrace␞file:line`
    st = GC.@preserve call_words rbuf ccall(callptr, Int64, (Int64, Ptr{Int64}, Int64, Ptr{Int64}),
                                            length(REGISTRY) + 1000, pointer(call_words), length(call_words), pointer(rbuf))
    @test st == 1
    parts = split(unsafe_string(ccall(B.ENTRY["error_text"], Ptr{UInt8}, ())), '\x1e')
    @test length(parts) == 4 && parts[1] == "BoundsError"
    src = "throw(DomainError(-1.0, \"from jt_eval\"))"
    st = GC.@preserve src ccall(B.ENTRY["eval"], Int64, (Ptr{UInt8}, Int64), pointer(src), sizeof(src))
    @test st == 1
    msg = unsafe_string(ccall(B.ENTRY["error_text"], Ptr{UInt8}, ()))
    @test occursin("from jt_eval", msg)
    @test endswith(msg, "\x1ejtensor.julia.eval:1")   # the location: the evaluated text's line
    @test unsafe_load(Ptr{Int64}(B.ENTRY["registry_version"])) == REGISTRY_VERSION[]   # read, not called
    @test occursin("\"name\":\"exp\"", unsafe_string(ccall(B.ENTRY["registry"], Ptr{UInt8}, ())))
    tbl = Dict(split(kv, "=")[1] => split(kv, "=")[2] for kv in split(JTensor.entry_table(), ";"))
    @test all(k -> haskey(tbl, k), ("call", "release", "eval", "error_text", "registry", "registry_version"))
end

@testset "bridge: typed plans of fn ops" begin
    B = JTensor
    p(a) = Int64(UInt(pointer(a)))
    rbuf = zeros(Int64, B.RESULT_WORDS)
    callptr = B.ENTRY["call"]
    sumid = JTensor.op("sum").id
    call(words) = GC.@preserve words rbuf ccall(callptr, Int64, (Int64, Ptr{Int64}, Int64, Ptr{Int64}),
                                               sumid, pointer(words), length(words), pointer(rbuf))
    result() = (v = unsafe_load(Ptr{Float64}(UInt(rbuf[6]))); hb = Int64[rbuf[7]];
                GC.@preserve hb B.jt_release(pointer(hb), 1); v)
    x = [1.0, 2.0, 3.0, 4.0]
    vec_words(a, n, s) = Int64[B.TAG_TENSOR, dtype_code(Float64), 1, B.DEVICE_CPU, p(a), n, s, B.TAG_NONE, B.TAG_BOOL, 0, B.TAG_NONE]
    B.clear_fn_plans!()
    @test GC.@preserve x call(vec_words(x, 4, 1)) == 0 && result() == 10.0
    @test length(B.FN_PLANS) == 1
    plan = B.FN_PLAN_LIST[first(values(B.FN_PLANS))]
    @test plan isa B.FnPlan{<:Any,Tuple{Strided{Float64,1},Nothing,Bool,Nothing}}
    # the same layout with other sizes, strides and addresses reuses the plan
    @test GC.@preserve x call(vec_words(x, 2, 2)) == 0 && result() == 4.0
    @test length(B.FN_PLANS) == 1
    # another layout (a dims list) gets a plan of its own; its values still come from the words
    M = [1.0 2.0; 3.0 4.0]                     # Python [[1, 3], [2, 4]]
    w2 = Int64[B.TAG_TENSOR, dtype_code(Float64), 2, B.DEVICE_CPU, p(M), 2, 2, 2, 1, B.TAG_INTLIST, 1, 1, B.TAG_BOOL, 0, B.TAG_NONE]
    @test GC.@preserve M call(w2) == 0 && rbuf[4] == 1 && rbuf[8] == 2
    r = unsafe_wrap(Array, Ptr{Float64}(UInt(rbuf[6])), 2)
    @test r == [4.0, 6.0]                      # Julia dim 1 is Python dim -1: row sums
    hb = Int64[rbuf[7]]; GC.@preserve hb B.jt_release(pointer(hb), 1)
    @test length(B.FN_PLANS) == 2
    # redefining ops drops the plans (they may call old kernels)
    defop("_test_core_plan_probe(x: Tensor) -> Tensor", x -> x; method = false)
    @test GC.@preserve x call(vec_words(x, 4, 1)) == 0 && result() == 10.0
    @test length(B.FN_PLANS) == 1
    # errors inside a plan are caught at the entry like any other
    bad = Int64[B.TAG_TENSOR, dtype_code(Float64), 1, B.DEVICE_CPU, p(x), 4, 1, B.TAG_INTLIST, 1, 5, B.TAG_BOOL, 0, B.TAG_NONE]
    @test GC.@preserve x call(bad) == 1
end

@testset "products split across threads (_pgemm!)" begin
    # big enough to split (2mnk >= GEMM_THREAD_MIN) when Julia has several threads (CI runs 2)
    m, k, n = 64, 96, 512
    @test 2 * m * k * n >= JTensor.GEMM_THREAD_MIN
    for T in (Float32, Float64), tA in ('N', 'T'), tB in ('N', 'T')
        A = tA == 'N' ? rand(T, m, k) : rand(T, k, m)
        B = tB == 'N' ? rand(T, k, n) : rand(T, n, k)
        opA = tA == 'N' ? A : transpose(A)
        opB = tB == 'N' ? B : transpose(B)
        C = rand(T, m, n)
        C0 = copy(C)
        JTensor._pgemm!(tA, tB, T(2), A, B, T(0.5), C)
        @test C ≈ 2 .* (opA * opB) .+ 0.5 .* C0
        # Strided operands with leading dimensions larger than their rows
        Bbig = zeros(T, size(B, 1) + 3, size(B, 2)); Bbig[1:size(B, 1), :] = B
        Bs = Strided{T,2}(pointer(Bbig), size(B), (1, size(Bbig, 1)), Bbig)
        Cbig = zeros(T, m + 5, n)
        Cs = Strided{T,2}(pointer(Cbig), (m, n), (1, m + 5), Cbig)
        GC.@preserve Bbig Cbig JTensor._pgemm!(tA, tB, one(T), A, Bs, zero(T), Cs)
        @test Cbig[1:m, :] ≈ opA * opB && all(iszero, Cbig[m+1:end, :])
    end
end

@testset "matmul with a batch-shared operand is one product" begin
    # an expanded (stride-0) matrix times one vector per batch, on either side (vmap's shared weights)
    W = rand(3, 4)                                      # Julia (k=3, m=4): Python (4, 3)
    Ws = Strided{Float64,3}(pointer(W), (3, 4, 5), (1, 3, 0), W)
    V = rand(1, 3, 5)                                   # Python (5, 3, 1): a column per batch
    r = GC.@preserve W JTensor._matmul(Ws, Strided(V))
    @test size(r) == (1, 4, 5) && all(j -> r[1, :, j] ≈ transpose(W) * V[1, :, j], 1:5)
    U = rand(3, 1, 5)                                   # Python (5, 1, 3): a row per batch
    Wb = Strided{Float64,3}(pointer(W), (4, 3, 5), (3, 1, 0), W)   # Julia (n=4, k=3), read transposed
    r2 = GC.@preserve W JTensor._matmul(Strided(U), Wb)
    @test size(r2) == (4, 1, 5) && all(j -> r2[:, 1, j] ≈ transpose(W) * U[:, 1, j], 1:5)
end

@testset "method ambiguities" begin
    # An ambiguity among JTensor's methods is a MethodError waiting for some dtype combination
    # (e.g. clamp of an int tensor with one bound None, add of bool tensors with alpha=True).
    @test JTensor.fclamp(5, nothing, 3) === 3 && JTensor.fclamp(5, 7, nothing) === 7
    @test JTensor.fadd(false, true, true) === true && JTensor.fadd(true, false, false) === true
    amb = Test.detect_ambiguities(JTensor)
    for (a, b) in amb
        @info "ambiguous methods" a b
    end
    @test isempty(amb)
end

@testset "registry JSON kept by the image build" begin
    B = JTensor
    text() = unsafe_string(B.jt_registry())
    B.cache_registry_text!()
    cached = B.REGISTRY_TEXT_CACHE[][2]
    @test text() == unsafe_string(pointer(cached))          # served from the cache
    defop("_test_core_registry_probe(x: Tensor) -> Tensor", x -> x; method = false)
    @test occursin("_test_core_registry_probe", text())    # a new definition is seen at once
    @test !occursin("_test_core_registry_probe", unsafe_string(pointer(cached)))
end

end # "core"
