"""ASGD: SGD with a decaying rate and a running (Polyak) average of the iterates in ``ax``."""
from .optimizer import Optimizer, check_options, float32_scalar, grad_for_update, zeros_state


class ASGD(Optimizer):
    """``torch.optim.ASGD``, step for step as torch's single-tensor update; ``eta`` and ``mu`` are
    float32-rounded, as torch's float32 state tensors hold them."""

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_options("ASGD", lr=lr, weight_decay=weight_decay, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, group, p, state):
        if not state:
            state["step"] = 0
            state["eta"] = float32_scalar(group["lr"])
            state["mu"] = 1.0
            state["ax"] = zeros_state(p)
        state["step"] += 1
        g = grad_for_update(p, group)
        lr, lambd, eta = group["lr"], group["lambd"], state["eta"]
        p.mul_(1 - lambd * eta)
        p.add_(g, alpha=-eta)
        ax = state["ax"]
        if state["mu"] != 1:
            ax.add_(p.sub(ax).mul_(state["mu"]))
        else:
            ax.copy_(p)
        step = state["step"]
        state["eta"] = float32_scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = float32_scalar(1 / max(1, step - group["t0"]))
