"""Adam and AdamW (decoupled weight decay), with amsgrad."""
from .optimizer import Optimizer, fused, zeros_state


class Adam(Optimizer):
    """``torch.optim.Adam``: the update is the fused Julia op ``_adam_step_``, one call per group."""

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _update_group(self, group, params):
        """One fused Julia call (``_adam_step_``) updates every parameter of the group."""
        states = []
        for p in params:
            state = self.state.setdefault(p, {})
            if not state:
                state["step"] = 0
                state["exp_avg"] = zeros_state(p)
                state["exp_avg_sq"] = zeros_state(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_state(p)
            state["step"] += 1
            states.append(state)
        b1, b2 = group["betas"]
        fused("_adam_step_")(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                             [s["exp_avg_sq"] for s in states],
                             [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else None,
                             [int(s["step"]) for s in states], float(group["lr"]), float(b1), float(b2),
                             float(group["eps"]), float(group["weight_decay"]), self._decoupled,
                             bool(group["maximize"]))
        for p in params:
            p._bump()   # written in place: autograd's version checks must see it


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (default 0.01)."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
