"""Adadelta (Zeiler 2012): per-coordinate steps from running averages of squared gradients and updates."""
from .optimizer import Optimizer, check_options, count_step, fused


class Adadelta(Optimizer):
    """``torch.optim.Adadelta``: the update is the fused Julia op ``_adadelta_step_`` (torch's
    single-tensor algorithm, same order of operations)."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_options("Adadelta", lr=lr, eps=eps, weight_decay=weight_decay, differentiable=differentiable)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _update(self, group, p, state):
        count_step(state, p, ("square_avg", "acc_delta"))
        fused("_adadelta_step_")(p, p.grad, state["square_avg"], state["acc_delta"], float(group["lr"]),
                                 float(group["rho"]), float(group["eps"]), float(group["weight_decay"]),
                                 bool(group["maximize"]))
