"""ASGD: SGD with a decaying rate and a running (Polyak) average of the iterates in ``ax``."""
from .optimizer import Optimizer, check_options, count_step, fused, scalar_state


class ASGD(Optimizer):
    """``torch.optim.ASGD``: the update is the fused Julia op ``_asgd_step_``; ``eta`` and ``mu`` are
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
        lr, lambd = group["lr"], group["lambd"]
        fused("_asgd_step_")(p, p.grad, state["ax"], state["eta"].item(), float(lambd), state["mu"].item(),
                             float(group["weight_decay"]), bool(group["maximize"]))
        # torch writes a float32 tensor of the new value in (torch.as_tensor), even into float64 state
        state["eta"].copy_(scalar_state(lr / ((1 + lambd * lr * step) ** group["alpha"])))
        state["mu"].copy_(scalar_state(1 / max(1, step - group["t0"])))
