"""RAdam: Adam with the variance of the adaptive rate rectified (Liu et al. 2019)."""
from .optimizer import Optimizer, check_options, count_step, fused, weight_decay_terms


class RAdam(Optimizer):
    """``torch.optim.RAdam`` (the update is the fused Julia op ``_radam_step_``): plain momentum SGD
    while the rectification term is undefined (rho_t <= 5), adaptive steps after."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        check_options("RAdam", lr=lr, eps=eps, weight_decay=weight_decay, betas=betas, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))

    def _update(self, group, p, state):
        step = count_step(state, p, ("exp_avg", "exp_avg_sq"))
        lr, (beta1, beta2) = group["lr"], group["betas"]
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        adaptive = rho_t > 5.0
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5 if adaptive else 1.0
        decay, l2 = weight_decay_terms(group)
        fused("_radam_step_")(p, p.grad, state["exp_avg"], state["exp_avg_sq"], float(lr), float(beta1), float(beta2),
                              float(group["eps"]), l2, decay, float(bias_correction1), float(bias_correction2),
                              float(rect), adaptive, bool(group["maximize"]))
