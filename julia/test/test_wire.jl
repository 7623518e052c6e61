# The word format's Julia side holds julia/src/wire.txt (read again here: constants from an old
# precompile cache or system image would differ), and the device word: meta tensors cross as
# MetaArrays both ways, CUDA tensors decode as CudaArrays, unknown devices are refused by name, non-CPU calls get no plans.
# (Python's side and the C fast path's: tests/test_wire_format.py.)

@testset "wire format: constants are the table's" begin
    B = JTensor
    t = B.read_wire(joinpath(dirname(pathof(JTensor)), "wire.txt"))
    for (name, code) in t.codes["tag"]
        @test getfield(B, Symbol("TAG_", uppercase(name))) == code
    end
    for (name, v) in t.codes["limit"]
        @test getfield(B, Symbol("LIMIT_", uppercase(name))) == v
    end
    @test B.RESULT_WORDS == t.codes["limit"]["result_words"]
    @test t.codes["device"] == Dict("cpu" => B.DEVICE_CPU, "meta" => B.DEVICE_META, "cuda" => B.DEVICE_CUDA)
    for side in ("arg", "result"), (kind, fields) in t.layouts[side]
        fixed = B.wire_fixed(fields)
        @test getfield(B, Symbol(uppercase(side), "_", uppercase(kind), "_FIXED")) == fixed
        for k in 1:fixed
            @test getfield(B, Symbol(uppercase(side), "_", uppercase(kind), "_", uppercase(fields[k]))) == k - 1
        end
    end
    @test t.layouts["arg"]["tensor"] == ["tag", "dtype", "ndim", "device", "address", "shape[ndim]", "strides[ndim]"]
    @test_throws ErrorException mktemp() do path, io
        write(io, "tag none 0\nnot a line\n"); close(io)
        B.read_wire(path)
    end
end

@testset "wire format: the device word" begin
    B = JTensor
    # a Python (2, 3, 4) float32 tensor with strides (15, 5, 1), as Python encodes it
    head(dev) = Int64[B.TAG_TENSOR, B.dtype_code(Float32), 3, dev, 0]
    words(dev) = [head(dev); 2; 3; 4; 15; 5; 1]
    w = words(B.DEVICE_META)
    a, next = GC.@preserve w B.decode_arg(pointer(w), 1)
    @test a isa B.MetaArray{Float32,3} && size(a) == (4, 3, 2) && strides(a) == (1, 5, 15)   # Julia order
    @test next == length(w) + 1
    w = words(B.DEVICE_CUDA)   # a CUDA tensor: a CudaArray at its device address (julia/src/cuda/)
    a, next = GC.@preserve w B.decode_arg(pointer(w), 1)
    @test a isa B.CudaArray{Float32,3} && size(a) == (4, 3, 2) && strides(a) == (1, 5, 15) && next == length(w) + 1
    w = words(99)
    err = try GC.@preserve w B.decode_arg(pointer(w), 1); nothing catch e; e end
    @test err isa ArgumentError && occursin("unknown code 99", err.msg)

    # no typed plan for a call with a meta tensor; no map plan either
    w = [words(B.DEVICE_META); B.TAG_NONE; B.TAG_BOOL; 0; B.TAG_NONE]
    @test !(GC.@preserve w B._layout!(Int64(JTensor.op("sum").id), pointer(w), length(w)))
    @test_throws ArgumentError B.make_plan(JTensor.op("exp"), Any[B.MetaArray{Float32}(2), Float32, 1, B.MetaArray{Float32}(2)])

    # an in-place plan reads its first operand through the output, which must be that operand
    x, y = Float32[1 2 3; 4 5 6], Float32[1 1 1; 2 2 2]
    GC.@preserve x y begin
        @test_throws ArgumentError B.make_plan(JTensor.op("mul"), Any[JTensor.Strided(x), Float32, 2,
                                                                      JTensor.Strided(y), JTensor.Strided(y)], true)
        pid = B.make_plan(JTensor.op("mul"), Any[JTensor.Strided(x), Float32, 2, JTensor.Strided(x), JTensor.Strided(y)], true)
        @test B.PLANS[pid] isa B.MapPlan{<:Any,Float32,Float32,Tuple{JTensor.SelfArg{Float32},Ptr{Float32}}}
    end
    # the engine's loops with the output as an operand: contiguous, and a transposed view
    for (sz, st) in (((2, 3), (1, 2)), ((3, 2), (2, 1)))
        buf = Float32[1, 2, 3, 4, 5, 6]
        GC.@preserve buf JTensor.run_raw!((a, c) -> a * c + 1f0, Float32, pointer(buf), (JTensor.SelfArg{Float32}(), 3f0),
                                          (), collect(sz), [collect(st), collect(st), [0, 0]], 2)
        @test buf == Float32[1, 2, 3, 4, 5, 6] .* 3 .+ 1
    end
    # ... beside an operand broadcast along the inner run (the engine's hoisted-load loop)
    buf, col = Float32[1, 2, 3, 4, 5, 6], Float32[10, 20]
    GC.@preserve buf col JTensor.run_raw!(+, Float32, pointer(buf), (JTensor.SelfArg{Float32}(), pointer(col)), (),
                                          [3, 2], [[1, 3], [1, 3], [0, 1]], 2)
    @test buf == Float32[11, 12, 13, 24, 25, 26]

    # a MetaArray result: device meta, address and handle 0, Python-order shape
    res = zeros(Int64, 16)
    nhandles = length(B.HANDLES)
    i = GC.@preserve res B.encode_result(pointer(res), 2, B.MetaArray{Float64}(4, 3), true)
    @test res[2 .+ [B.RESULT_TENSOR_TAG, B.RESULT_TENSOR_DTYPE, B.RESULT_TENSOR_NDIM, B.RESULT_TENSOR_DEVICE,
                    B.RESULT_TENSOR_ADDRESS, B.RESULT_TENSOR_HANDLE]] == [B.TAG_TENSOR, B.dtype_code(Float64), 2, B.DEVICE_META, 0, 0]
    @test res[2 + B.RESULT_TENSOR_FIXED .+ (0:1)] == [3, 4] && i == 2 + B.RESULT_TENSOR_FIXED + 2
    @test length(B.HANDLES) == nhandles   # nothing rooted
    # a CPU result says so
    i = GC.@preserve res B.encode_result(pointer(res), 2, [1.0, 2.0], true)
    @test res[2 + B.RESULT_TENSOR_DEVICE] == B.DEVICE_CPU && res[2 + B.RESULT_TENSOR_HANDLE] > 0
    hb = Int64[res[2 + B.RESULT_TENSOR_HANDLE]]
    GC.@preserve hb B.jt_release(pointer(hb), 1)
end
