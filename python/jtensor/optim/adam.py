"""Adam and AdamW (decoupled weight decay), with amsgrad."""
from .optimizer import Optimizer, check_options, count_step, fused


class Adam(Optimizer):
    """``torch.optim.Adam``: the update is the fused Julia op ``_adam_step_``, one call per group."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        check_options(type(self).__name__, lr=lr, eps=eps, weight_decay=weight_decay, betas=betas,
                      differentiable=differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update_group(self, group, params):
        """One fused Julia call (``_adam_step_``) updates every parameter of the group."""
        states = []
        for p in params:
            state = self.state[p]
            count_step(state, p, ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ()))
            states.append(state)
        b1, b2 = group["betas"]
        fused("_adam_step_")(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                             [s["exp_avg_sq"] for s in states],
                             [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else None,
                             [int(s["step"]) for s in states], float(group["lr"]), float(b1), float(b2),
                             float(group["eps"]), float(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                             bool(group["maximize"]))
        for p in params:
            p._bump()   # written in place: autograd's version checks must see it


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay (default 0.01)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
