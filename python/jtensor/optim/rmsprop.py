"""RMSprop, optionally centered and with momentum."""
from .optimizer import Optimizer, fused, zeros_state


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``: the update is the fused Julia op ``_rmsprop_step_``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _update(self, group, p, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = zeros_state(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_state(p)
            if group["centered"]:
                state["grad_avg"] = zeros_state(p)
        state["step"] += 1
        fused("_rmsprop_step_")(p, p.grad, state["square_avg"], state.get("grad_avg"),
                                state.get("momentum_buffer"), float(group["lr"]), float(group["alpha"]),
                                float(group["eps"]), float(group["weight_decay"]), float(group["momentum"]),
                                bool(group["centered"]), bool(group["maximize"]))
