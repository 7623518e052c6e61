"""Rprop: per-coordinate step sizes grown or shrunk by the sign agreement of successive gradients."""
from .optimizer import Optimizer, check_options, count_step, fused


class Rprop(Optimizer):
    """``torch.optim.Rprop``: the update is the fused Julia op ``_rprop_step_`` (after a sign change
    the gradient counts as zero for that coordinate: no step, and no sign memory)."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        check_options("Rprop", lr=lr, differentiable=differentiable)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update(self, group, p, state):
        from ..creation import full_like
        if not state:
            state["step_size"] = full_like(p, group["lr"])
        count_step(state, p, ("prev",))
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        fused("_rprop_step_")(p, p.grad, state["prev"], state["step_size"], float(etaminus), float(etaplus),
                              float(step_size_min), float(step_size_max), bool(group["maximize"]))
