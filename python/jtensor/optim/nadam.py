"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat 2016)."""
from .optimizer import Optimizer, check_options, count_step, grad_for_update, scalar_state


class NAdam(Optimizer):
    """``torch.optim.NAdam``, step for step as torch's single-tensor update; ``mu_product`` is a
    0-dim float32 tensor as in torch (its rounding shows in the update; a loaded state dict casts
    it to the parameter's dtype, as torch's loading does)."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_options("NAdam", lr=lr, eps=eps, weight_decay=weight_decay, betas=betas, differentiable=differentiable)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, group, p, state):
        if not state:
            state["mu_product"] = scalar_state(1.0)
        step = count_step(state, p, ("exp_avg", "exp_avg_sq"))
        lr, (beta1, beta2) = group["lr"], group["betas"]
        g = grad_for_update(p, group)
        bias_correction2 = 1 - beta2 ** step
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        mu_product = state["mu_product"].mul_(mu).item()
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(g, 1 - beta1)
        exp_avg_sq.mul_(beta2).add_(g * g, alpha=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add_(group["eps"])
        mu_product_next = mu_product * mu_next
        p.add_(g / denom, alpha=-lr * (1.0 - mu) / (1.0 - mu_product))
        p.add_(exp_avg / denom, alpha=-lr * mu_next / (1.0 - mu_product_next))
