# Activations of torch.nn.functional, each one fused elementwise op (a scalar function given to
# `defmap`), so that an activation is one pass over memory instead of a chain of Python ops.
# Piecewise-linear ones also get a fused backward op (their second derivative is zero, so the
# backward op's own derivative is itself); the smooth ones differentiate through formulas of
# registry ops, which gives second derivatives for free. Scalar parameters (slopes, bounds) arrive
# as Float64 and are converted to the compute type (`oftype`) so Float32 stays Float32.
# Python wrappers (argument checks, in-place forms, modules) are in python/jtensor/nn/functional.py
# and python/jtensor/nn/modules/activation.py.

const _ACT = "float"   # integer inputs compute in float32, as gelu / silu / softplus

# ---- piecewise linear ---------------------------------------------------------------------------
@inline fleaky_relu(x, s) = ifelse(x > zero(x), x, x * oftype(x, s))
@inline fleaky_relu_backward(g, x, s) = ifelse(x > zero(x), g, g * oftype(g, s))
defmap("_leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor", fleaky_relu; dtypes = _ACT,
       method = false, grad = ["input" => "_leaky_relu_backward(grad, input, negative_slope)"],
       doc = "input where positive, else negative_slope * input (torch.nn.functional.leaky_relu).")
defmap("_leaky_relu_backward(grad_output: Tensor, input: Tensor, negative_slope: float) -> Tensor",
       fleaky_relu_backward; dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_leaky_relu_backward(grad, input, negative_slope)", "input" => "zeros_like(grad)"],
       doc = "grad_output where input is positive, else negative_slope * grad_output.")

@inline fprelu(x, w) = ifelse(x > zero(x), x, x * w)
defmap("_prelu(input: Tensor, weight: Tensor) -> Tensor", fprelu; dtypes = "promote_float", method = false,
       inplace = false,
       grad = ["input" => "where(input > 0, grad, grad * weight)", "weight" => "where(input > 0, 0, grad * input)"],
       doc = "input where positive, else weight * input, weight broadcast (torch.nn.functional.prelu).")

@inline fhardtanh(x, lo, hi) = fclamp(x, oftype(x, lo), oftype(x, hi))
@inline fhardtanh_backward(g, x, lo, hi) = ifelse((x > oftype(x, lo)) & (x < oftype(x, hi)), g, zero(g))
defmap("_hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor", fhardtanh;
       dtypes = _ACT, method = false, grad = ["input" => "_hardtanh_backward(grad, input, min_val, max_val)"],
       doc = "input clamped to [min_val, max_val] (hardtanh; relu6 is hardtanh(0, 6)).")
defmap("_hardtanh_backward(grad_output: Tensor, input: Tensor, min_val: float, max_val: float) -> Tensor",
       fhardtanh_backward; dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_hardtanh_backward(grad, input, min_val, max_val)", "input" => "zeros_like(grad)"],
       doc = "grad_output where min_val < input < max_val, else 0 (PyTorch's boundary convention).")

@inline fthreshold(x, th, v) = ifelse(x <= oftype(x, th), oftype(x, v), x)   # NaN passes, as PyTorch
@inline fthreshold_backward(g, x, th) = ifelse(x <= oftype(x, th), zero(g), g)
defmap("threshold(input: Tensor, threshold: float, value: float) -> Tensor", fthreshold; dtypes = _ACT,
       method = false, grad = ["input" => "_threshold_backward(grad, input, threshold)"],
       doc = "input where it exceeds threshold, else value (torch.threshold).")
defmap("_threshold_backward(grad_output: Tensor, input: Tensor, threshold: float) -> Tensor", fthreshold_backward;
       dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_threshold_backward(grad, input, threshold)", "input" => "zeros_like(grad)"],
       doc = "grad_output where input exceeds threshold, else 0.")

@inline fhardshrink(x, l) = ifelse(abs(x) <= oftype(x, l), zero(x), x)   # NaN passes, as PyTorch
@inline fsoftshrink(x, l) = (l = oftype(x, l); ifelse(x > l, x - l, ifelse(x < -l, x + l, x * zero(x))))   # NaN passes
@inline fshrink_backward(g, x, l) = ifelse(abs(x) > oftype(x, l), g, zero(g))
defmap("hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor", fhardshrink; dtypes = _ACT, inplace = false,
       grad = ["input" => "_shrink_backward(grad, input, lambd)"],
       doc = "input where |input| > lambd, else 0 (torch.hardshrink).")
defmap("_softshrink(input: Tensor, lambd: float = 0.5) -> Tensor", fsoftshrink; dtypes = _ACT, method = false,
       inplace = false, grad = ["input" => "_shrink_backward(grad, input, lambd)"],
       doc = "input moved lambd toward 0, and 0 inside [-lambd, lambd] (torch.nn.functional.softshrink).")
defmap("_shrink_backward(grad_output: Tensor, input: Tensor, lambd: float) -> Tensor", fshrink_backward;
       dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_shrink_backward(grad, input, lambd)", "input" => "zeros_like(grad)"],
       doc = "grad_output where |input| > lambd, else 0 (hardshrink's and softshrink's derivative).")

@inline fhardsigmoid(x) = fclamp(x / 6 + oftype(x, 0.5), zero(x), one(x))
@inline fhardsigmoid_backward(g, x) = ifelse((x > oftype(x, -3)) & (x < oftype(x, 3)), g / 6, zero(g))
defmap("_hardsigmoid(input: Tensor) -> Tensor", fhardsigmoid; dtypes = _ACT, method = false,
       grad = ["input" => "_hardsigmoid_backward(grad, input)"],
       doc = "relu6(input + 3) / 6 (torch.nn.functional.hardsigmoid).")
defmap("_hardsigmoid_backward(grad_output: Tensor, input: Tensor) -> Tensor", fhardsigmoid_backward;
       dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_hardsigmoid_backward(grad, input)", "input" => "zeros_like(grad)"],
       doc = "grad_output / 6 where -3 < input < 3, else 0.")

@inline fhardswish(x) = x * fhardsigmoid(x)
@inline fhardswish_backward(g, x) =
    ifelse(x <= oftype(x, -3), zero(g), ifelse(x < oftype(x, 3), g * (x / 3 + oftype(x, 0.5)), g))
defmap("_hardswish(input: Tensor) -> Tensor", fhardswish; dtypes = _ACT, method = false,
       grad = ["input" => "_hardswish_backward(grad, input)"],
       doc = "input * relu6(input + 3) / 6 (torch.nn.functional.hardswish).")
defmap("_hardswish_backward(grad_output: Tensor, input: Tensor) -> Tensor", fhardswish_backward;
       dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_hardswish_backward(grad, input)",
               "input" => "grad * grad_output * logical_and(input > -3, input < 3) / 3"],
       doc = "hardswish's derivative times grad_output (PyTorch's: 0 up to -3, x/3 + 1/2 below 3, then 1).")

# ---- smooth -------------------------------------------------------------------------------------
# elu's general form, as PyTorch's kernel: scale * x for x > 0, else scale * alpha * (exp(x * input_scale) - 1).
# elu is (alpha, 1, 1), selu (1.6732632423543772, 1.0507009873554805, 1), celu (alpha, 1, 1 / alpha).
@inline function felu(x, alpha, scale, input_scale)
    a, s, i = oftype(x, alpha), oftype(x, scale), oftype(x, input_scale)
    ifelse(x <= zero(x), s * a * fexpm1(x * i), s * x)
end
@inline function felu_backward(g, x, alpha, scale, input_scale)
    a, s, i = oftype(x, alpha), oftype(x, scale), oftype(x, input_scale)
    ifelse(x <= zero(x), g * (s * a * i) * fexp(x * i), g * s)
end
const _ELU_ARGS = "alpha, scale, input_scale"
defmap("_elu(input: Tensor, alpha: float = 1.0, scale: float = 1.0, input_scale: float = 1.0) -> Tensor", felu;
       dtypes = _ACT, method = false, grad = ["input" => "_elu_backward(grad, input, $_ELU_ARGS)"],
       doc = "scale * input where positive, else scale * alpha * (exp(input * input_scale) - 1) (elu, selu, celu).")
defmap("_elu_backward(grad_output: Tensor, input: Tensor, alpha: float, scale: float, input_scale: float) -> Tensor",
       felu_backward; dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_elu_backward(grad, input, $_ELU_ARGS)",
               "input" => "where(input > 0, 0, grad * grad_output * (alpha * scale * input_scale * input_scale) * " *
                          "exp(input * input_scale))"],
       doc = "elu's derivative times grad_output.")

@inline function fsoftplus_beta(x, beta, threshold)
    b = oftype(x, beta)
    ifelse(x * b > oftype(x, threshold), x, fsoftplus(x * b) / b)
end
defmap("_softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor", fsoftplus_beta;
       dtypes = _ACT, method = false, inplace = false,
       grad = ["input" => "where(input * beta > threshold, grad, grad * sigmoid(input * beta))"],
       doc = "log(1 + exp(beta * input)) / beta, and input itself where beta * input > threshold.")

@inline fsoftsign(x) = x / (one(x) + abs(x))
defmap("_softsign(input: Tensor) -> Tensor", fsoftsign; dtypes = _ACT, method = false, inplace = false,
       grad = ["input" => "grad / square(1 + abs(input))"], doc = "input / (1 + |input|).")

@inline ftanhshrink(x) = x - ftanh(x)
defmap("_tanhshrink(input: Tensor) -> Tensor", ftanhshrink; dtypes = _ACT, method = false, inplace = false,
       grad = ["input" => "grad * square(tanh(input))"], doc = "input - tanh(input).")

@inline flogsigmoid(x) = -fsoftplus(-x)
defmap("_log_sigmoid(input: Tensor) -> Tensor", flogsigmoid; dtypes = _ACT, method = false, inplace = false,
       grad = ["input" => "grad * sigmoid(-input)"], doc = "log(sigmoid(input)) = -softplus(-input), without overflow.")

@inline fmish(x) = x * ftanh(fsoftplus(x))
defmap("_mish(input: Tensor) -> Tensor", fmish; dtypes = _ACT, method = false,
       grad = ["input" => "grad * (tanh(softplus(input)) + input * sigmoid(input) * (1 - square(tanh(softplus(input)))))"],
       doc = "input * tanh(softplus(input)) (torch.nn.functional.mish).")

@inline fglu(a, b) = a * fsigmoid(b)
defmap("_glu(input: Tensor, gate: Tensor) -> Tensor", fglu; dtypes = "promote_float", method = false, inplace = false,
       grad = ["input" => "grad * sigmoid(gate)", "gate" => "grad * input * sigmoid(gate) * (1 - sigmoid(gate))"],
       doc = "input * sigmoid(gate): the gated linear unit of the two halves F.glu splits its input into.")
