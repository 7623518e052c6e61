# Overriding a built-in kernel for one element type, from outside JTensor.
#
# `jt.gelu` is registered with the scalar kernel `JTensor.fgelu`; JTensor's Float32 method
# evaluates the exact erf form in Float64 and rounds. Here we replace the Float32 method only,
# with the tanh approximation evaluated entirely in Float32 (twice as many lanes per SIMD
# instruction):
#     gelu(x) ≈ x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
# Float64 (and every other type) keeps JTensor's method: dispatch is per element type. The
# existing op, its plans (compiled runners) and the C fast path pick the new method up on the
# next call, because Julia recompiles whatever called the replaced method.
#
# A method redefinition replaces the old one, so before replacing it we keep the library's
# definition as source (`ORIGINAL_FGELU_F32`) and `restore_gelu_f32()` evaluates it again.

"The expression that defined the method of `f` for argument types `types`, read from its file."
function method_source(f, types)
    m = which(f, types)
    text = join(readlines(String(m.file))[m.line:end], "\n")
    Meta.parse(text, 1)[1], m.module
end

if !@isdefined(ORIGINAL_FGELU_F32)   # only the first time this file is loaded: the library's own
    const ORIGINAL_FGELU_F32 = method_source(JTensor.fgelu, Tuple{Float32})
end

"Put JTensor's own Float32 gelu back."
restore_gelu_f32() = (Core.eval(ORIGINAL_FGELU_F32[2], ORIGINAL_FGELU_F32[1]); nothing)

const GELU_TANH_C = Float32(sqrt(2 / π))

@inline JTensor.fgelu(x::Float32) =
    0.5f0 * x * (1f0 + JTensor.ftanh(GELU_TANH_C * muladd(0.044715f0 * x, x * x, x)))
