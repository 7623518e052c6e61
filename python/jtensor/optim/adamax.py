"""Adamax: Adam with the infinity norm in place of the second moment."""
from .optimizer import Optimizer, check_options, count_step, fused


class Adamax(Optimizer):
    """``torch.optim.Adamax``: the update is the fused Julia op ``_adamax_step_``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_options("Adamax", lr=lr, eps=eps, weight_decay=weight_decay, betas=betas, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, group, p, state):
        step = count_step(state, p, ("exp_avg", "exp_inf"))
        beta1, beta2 = group["betas"]
        clr = group["lr"] / (1 - beta1 ** step)
        fused("_adamax_step_")(p, p.grad, state["exp_avg"], state["exp_inf"], float(clr), float(beta1), float(beta2),
                               float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]))
