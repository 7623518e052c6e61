"""RMSprop, optionally centered and with momentum."""
from .optimizer import Optimizer, check_options, count_step, fused


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``: the update is the fused Julia op ``_rmsprop_step_``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_options("RMSprop", lr=lr, eps=eps, weight_decay=weight_decay, differentiable=differentiable)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update(self, group, p, state):
        count_step(state, p, ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ())
                   + (("grad_avg",) if group["centered"] else ()))
        fused("_rmsprop_step_")(p, p.grad, state["square_avg"], state.get("grad_avg"),
                                state.get("momentum_buffer"), float(group["lr"]), float(group["alpha"]),
                                float(group["eps"]), float(group["weight_decay"]), float(group["momentum"]),
                                bool(group["centered"]), bool(group["maximize"]))
