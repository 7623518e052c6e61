"""Adafactor (Shazeer & Stern, 2018) in PyTorch's formulation: second moments of a matrix factored
into a row and a column average, a step size relative to the parameter's RMS, and the update
clipped to RMS `d`. Composed of jtensor ops in the order torch.optim.Adafactor performs them."""
import math

from .. import linalg as _linalg
from ..autograd import no_grad
from ..typeinfo import finfo
from .optimizer import Optimizer, check_options, zeros_state


class Adafactor(Optimizer):
    """``torch.optim.Adafactor(params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
    weight_decay=0.0, *, foreach=None, maximize=False)``. For a parameter of two or more dims it
    keeps `row_var` and `col_var` (the mean squared gradient over the last and the second-last
    dim); for a vector, `variance`."""

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        check_options("Adafactor", lr=lr, weight_decay=weight_decay)
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))

    def _update(self, group, p, state):
        with no_grad():
            grad = -p.grad if group["maximize"] else p.grad
            if "step" not in state:
                state["step"] = 0
                if grad.ndim > 1:
                    shape = tuple(grad.shape)
                    state["row_var"] = p.new_zeros(shape[:-1] + (1,))
                    state["col_var"] = p.new_zeros(shape[:-2] + (1,) + shape[-1:])
                else:
                    state["variance"] = zeros_state(p)
            state["step"] += 1
            step = float(state["step"])
            lr, d = group["lr"], group["d"]
            eps1, eps2 = group["eps"]
            if eps1 is None:
                eps1 = finfo(p.dtype).eps
            one_minus_beta2 = step ** group["beta2_decay"]
            rho = min(lr, 1 / step ** 0.5)
            alpha = max(eps2, _linalg.vector_norm(p).item() / p.numel() ** 0.5) * rho
            if group["weight_decay"] != 0:
                p.mul_(1 - lr * group["weight_decay"])
            if grad.ndim > 1:
                row_var, col_var = state["row_var"], state["col_var"]
                row_var.lerp_(_linalg.vector_norm(grad, 2, -1, True).square_().div_(grad.shape[-1]), one_minus_beta2)
                col_var.lerp_(_linalg.vector_norm(grad, 2, -2, True).square_().div_(grad.shape[-2]), one_minus_beta2)
                estimate = row_var @ col_var
                estimate.div_(row_var.mean(-2, keepdim=True).clamp_(min=eps1))
            else:
                state["variance"].lerp_(grad * grad, one_minus_beta2)
                estimate = state["variance"].clone()
            update = estimate.clamp_(min=eps1 * eps1).rsqrt_()
            update.mul_(grad)
            denom = max(1.0, _linalg.vector_norm(update).item() / (math.sqrt(update.numel()) * d))
            p.add_(update, alpha=-alpha / denom)
