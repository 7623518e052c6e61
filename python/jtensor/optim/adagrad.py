"""Adagrad: steps scaled by the root of each coordinate's summed squared gradients."""
from .optimizer import Optimizer, check_options, fused


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``: the update is the fused Julia op ``_adagrad_step_``; like torch, the state (``sum`` at `initial_accumulator_value`) is
    created for every parameter at construction."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_options("Adagrad", lr=lr, eps=eps, weight_decay=weight_decay, differentiable=differentiable)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        from ..creation import full_like
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": full_like(p, self.defaults["initial_accumulator_value"])}

    def _update(self, group, p, state):
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        fused("_adagrad_step_")(p, p.grad, state["sum"], float(clr), float(group["eps"]),
                                float(group["weight_decay"]), bool(group["maximize"]))
