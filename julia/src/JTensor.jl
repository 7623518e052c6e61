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
include("strided.jl")
include("mathfuncs.jl")
include("registry.jl")
include("engine.jl")
include("ops/elementwise.jl")
include("ops/reductions.jl")
include("ops/linalg.jl")
include("ops/einsum.jl")
include("ops/shape.jl")
include("ops/creation.jl")
include("ops/optim.jl")
include("ops/array_api.jl")
include("ops/nn.jl")
include("bridge.jl")
LOADING_BUILTINS[] = false

function __init__()
    _make_entries()
end

end # module
