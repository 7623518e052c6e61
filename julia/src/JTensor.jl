"""
    JTensor

The compute core of jtensor: an op registry whose entries (name, Python signature, dtype rule,
kernel, derivative) define the Python API, the kernels themselves, and the C entry points that
the Python bridge calls. Works on its own from the Julia REPL on plain arrays (`JTensor.call`)
and on `Strided` views of foreign memory.
"""
module JTensor

using LinearAlgebra
using Random

include("dtypes.jl")
include("sizes.jl")
include("outpool.jl")
include("devices.jl")
include("meta_helpers.jl")
include("strided.jl")
include("mathfuncs.jl")
include("specialfuncs.jl")
include("orthopolys.jl")
include("registry.jl")
include("engine.jl")
include("ops/elementwise.jl")
include("ops/special.jl")
include("ops/reductions.jl")
include("ops/linalg.jl")
include("ops/linalg_solvers.jl")
include("ops/einsum.jl")
include("ops/shape.jl")
include("ops/scatter_reduce.jl")
include("ops/creation.jl")
include("ops/optim.jl")
include("ops/array_api.jl")
include("ops/fft.jl")
include("ops/nn/common.jl")
include("ops/nn/conv.jl")
include("ops/nn/pooling.jl")
include("ops/nn/softmax.jl")
include("ops/nn/standardize.jl")
include("ops/nn/fused_norms.jl")
include("ops/nn/class_losses.jl")
include("ops/nn/embedding.jl")
include("ops/nn/dropout.jl")
include("ops/nn/linear.jl")
include("ops/nn/precompile.jl")
include("ops/recurrent.jl")
include("ops/activations.jl")
include("ops/losses.jl")
# CUDA: code generation from the registry and the driver/NVRTC/cuBLAS bindings. Defining these
# loads no library; libcuda, libnvrtc and libcublas are opened on first use (docs/cuda.md).
include("cuda/prelude.jl")
include("cuda/transpile.jl")
include("cuda/mapkernels.jl")
include("cuda/reductions.jl")
include("cuda/nvrtc.jl")
include("cuda/driver.jl")
include("cuda/launch.jl")
include("cuda/cublas.jl")
include("cuda/hostcheck.jl")
include("fusion.jl")
include("bridge.jl")
LOADING_BUILTINS[] = false

function __init__()
    _make_entries()
    DEFINITION_HOOK[] = C_NULL   # Python's checks: installed by the process that runs them, never inherited from an image
    # Parallel work (large products included, see `_pgemm!`) runs on Julia's threads, whose count
    # is JTENSOR_NUM_THREADS, and OpenBLAS stays single-threaded inside them: its own pool would
    # spin against Julia's on the same cores, and with one Julia thread it would still use every
    # core (a 128x128 product took 0.3-9 ms instead of 0.03 on a loaded 2-core machine).
    BLAS.set_num_threads(1)
end

end # module
