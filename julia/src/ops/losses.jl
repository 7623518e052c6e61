# Elementwise losses of torch.nn.functional, each one fused op: the per-element loss in one pass,
# its reduction ('mean', 'sum') done after it in Python (python/jtensor/nn/functional.py). Losses
# that PyTorch itself composes from other ops (poisson_nll_loss, gaussian_nll_loss, the margin and
# embedding losses) are composed in Python too.

# Binary cross-entropy of probabilities. As PyTorch, each log is clamped at -100 so that a
# probability of exactly 0 or 1 gives a finite loss, and the input's gradient divides by
# max(x (1 - x), 1e-12).
@inline function fbce(x, y)
    lo = oftype(x, -100)
    (y - one(y)) * max(flog1p(-x), lo) - y * max(flog(x), lo)
end
defmap("_binary_cross_entropy(input: Tensor, target: Tensor) -> Tensor", fbce; dtypes = "promote_float",
       method = false, inplace = false,
       grad = ["input" => "grad * (input - target) / clamp((1 - input) * input, 1e-12)",
               "target" => "grad * (log1p(-input) - log(input))"],
       doc = "Elementwise -(target * log(input) + (1 - target) * log(1 - input)), logs clamped at -100.")

# Smooth L1 and Huber losses, one kernel: scale * (0.5 d^2 / beta where |d| < beta, else |d| - beta / 2),
# d = input - target. smooth_l1_loss is (beta, 1); huber_loss(delta) is (delta, delta). beta = 0 gives |d|.
@inline function fhuber(x, y, beta, scale)
    b, s = oftype(x, beta), oftype(x, scale)
    d = abs(x - y)
    s * ifelse(d < b, oftype(x, 0.5) * d * d / b, d - oftype(x, 0.5) * b)
end
@inline function fhuber_backward(g, x, y, beta, scale)
    b, s = oftype(x, beta), oftype(x, scale)
    d = x - y
    g * s * ifelse(abs(d) < b, d / b, fsign(d))
end
const _HUBER_ARGS = "beta, scale"
defmap("_huber(input: Tensor, target: Tensor, beta: float, scale: float) -> Tensor", fhuber; dtypes = "promote_float",
       method = false, inplace = false,
       grad = ["input" => "_huber_backward(grad, input, target, $_HUBER_ARGS)",
               "target" => "-_huber_backward(grad, input, target, $_HUBER_ARGS)"],
       doc = "Elementwise smooth L1 (scale 1) or Huber (scale = beta = delta) loss of input - target.")
defmap("_huber_backward(grad_output: Tensor, input: Tensor, target: Tensor, beta: float, scale: float) -> Tensor",
       fhuber_backward; dtypes = "promote_float", method = false, inplace = false,
       grad = ["grad_output" => "_huber_backward(grad, input, target, $_HUBER_ARGS)",
               "input" => "where(abs(input - target) < beta, grad * grad_output * scale / beta, 0)",
               "target" => "where(abs(input - target) < beta, -grad * grad_output * scale / beta, 0)"],
       doc = "The derivative of _huber with respect to input, times grad_output.")

# Kullback-Leibler divergence of log-probabilities `input` from `target` (probabilities, or
# log-probabilities with log_target): target * (log(target) - input), 0 where target is 0.
@inline fkl_div(x, t, log_target::Bool) =
    log_target ? fexp(t) * (t - x) : ifelse(t == zero(t), zero(t), t * flog(t)) - t * x
defmap("_kl_div(input: Tensor, target: Tensor, log_target: bool = False) -> Tensor", fkl_div;
       dtypes = "promote_float", method = false, inplace = false,
       grad = ["input" => "-grad * (exp(target) if log_target else target)",
               "target" => "grad * exp(target) * (target - input + 1) if log_target else " *
                           "where(target == 0, 0, grad * (log(target) + 1 - input))"],
       doc = "Elementwise KL divergence term of torch.nn.functional.kl_div (before its reduction).")
