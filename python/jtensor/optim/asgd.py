"""ASGD: SGD with a decaying rate and a running (Polyak) average of the iterates in ``ax``."""
from .optimizer import Optimizer, check_options, count_step, grad_for_update, scalar_state


class ASGD(Optimizer):
    """``torch.optim.ASGD``, step for step as torch's single-tensor update; ``eta`` and ``mu`` are
    0-dim float32 tensors as in torch (their rounding shows in the update)."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_options("ASGD", lr=lr, weight_decay=weight_decay, differentiable=differentiable)
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, group, p, state):
        if not state:
            state.update(eta=scalar_state(group["lr"]), mu=scalar_state(1.0))
        step = count_step(state, p, ("ax",))
        g = grad_for_update(p, group)
        lr, lambd, eta = group["lr"], group["lambd"], state["eta"].item()
        p.mul_(1 - lambd * eta)
        p.add_(g, alpha=-eta)
        ax = state["ax"]
        mu = state["mu"].item()
        if mu != 1:
            ax.add_(p.sub(ax).mul_(mu))
        else:
            ax.copy_(p)
        # torch writes a float32 tensor of the new value in (torch.as_tensor), even into float64 state
        state["eta"].copy_(scalar_state(lr / ((1 + lambd * lr * step) ** group["alpha"])))
        state["mu"].copy_(scalar_state(1 / max(1, step - group["t0"])))
