"""Adamax: Adam with the infinity norm in place of the second moment."""
from .. import ops
from .optimizer import Optimizer, check_options, count_step, grad_for_update


class Adamax(Optimizer):
    """``torch.optim.Adamax``, step for step as torch's single-tensor update."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_options("Adamax", lr=lr, eps=eps, weight_decay=weight_decay, betas=betas, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))

    def _update(self, group, p, state):
        step = count_step(state, p, ("exp_avg", "exp_inf"))
        beta1, beta2 = group["betas"]
        g = grad_for_update(p, group)
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg.lerp_(g, 1 - beta1)
        exp_inf.copy_(ops.maximum(exp_inf.mul_(beta2), g.abs().add_(group["eps"])))
        clr = group["lr"] / (1 - beta1 ** step)
        p.add_(exp_avg / exp_inf, alpha=-clr)
