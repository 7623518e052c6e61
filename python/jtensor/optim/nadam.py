"""NAdam: Adam with Nesterov momentum and a momentum schedule (Dozat 2016)."""
from .optimizer import Optimizer, check_options, count_step, fused, scalar_state, weight_decay_terms


class NAdam(Optimizer):
    """``torch.optim.NAdam``: the update is the fused Julia op ``_nadam_step_``; ``mu_product`` is a
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
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        mu_product = state["mu_product"].mul_(mu).item()
        decay, l2 = weight_decay_terms(group)
        fused("_nadam_step_")(p, p.grad, state["exp_avg"], state["exp_avg_sq"], float(beta1), float(beta2),
                              float(group["eps"]), l2, decay, float(1 - beta2 ** step),
                              float(-lr * (1.0 - mu) / (1.0 - mu_product)),
                              float(-lr * mu_next / (1.0 - mu_product * mu_next)), bool(group["maximize"]))
