"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from .optimizer import Optimizer, check_options, fused, required, zeros_state


class SGD(Optimizer):
    """``torch.optim.SGD``: the update is the fused Julia op ``_sgd_step_``."""

    _scalar_state = ()   # torch's SGD keeps no step count

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr is not required:
            check_options("SGD", lr=lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        check_options("SGD", weight_decay=weight_decay, differentiable=differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, group, p, state):
        buf = state.get("momentum_buffer")
        first = False
        if group["momentum"] != 0 and buf is None:
            buf = state["momentum_buffer"] = zeros_state(p)
            first = True
        fused("_sgd_step_")(p, p.grad, buf if group["momentum"] != 0 else None, float(group["lr"]),
                            float(group["momentum"]), float(group["dampening"]), float(group["weight_decay"]),
                            bool(group["nesterov"]), bool(group["maximize"]), first)
