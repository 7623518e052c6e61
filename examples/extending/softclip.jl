# A user's kernel file: two ops defined outside JTensor. Load it from Python with
# `jt.julia.include("examples/extending/softclip.jl")`, or from a Julia session where JTensor is
# loaded with `include("examples/extending/softclip.jl")`.

"The scalar kernel of `softclip`: x / (1 + |x|)."
softclip_kernel(x) = x / (one(x) + abs(x))

JTensor.defmap("softclip(input: Tensor) -> Tensor", softclip_kernel; dtypes = "float",
               grad = ["input" => "grad / ((1 + abs(input)) * (1 + abs(input)))"],
               doc = "x / (1 + |x|), elementwise: a smooth clip to (-1, 1).")

"""
The array kernel of `rms`: root mean square of `x` over `dim` (Julia dimension numbers, or
`nothing` for all), built from JTensor's elementwise engine and its sum kernel.
"""
function rms_kernel(x, dim, keepdim)
    T = float(eltype(x))
    sq = JTensor.apply(v -> v * v, T, T, x)        # the engine, reading the tensor's memory
    s = JTensor._sum(sq, dim, keepdim, nothing)     # JTensor's own sum kernel
    n = length(x) ÷ max(length(s), 1)
    JTensor.apply(v -> sqrt(v / n), T, T, s)
end

JTensor.defop("rms(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor", rms_kernel;
              batch = "reduce",
              grad = ["input" => "expand_reduced(grad / result, input, dim, keepdim) * input / (numel(input) / numel(result))"],
              doc = "Root mean square over dim (all dims when None).")
