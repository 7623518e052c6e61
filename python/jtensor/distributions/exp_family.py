"""`ExponentialFamily` (torch.distributions.ExponentialFamily): the base class of families whose
density is h(x) exp(<θ, t(x)> - F(θ)). Its entropy is the Bregman divergence of the log
normalizer F, computed with autograd from `_natural_params` and `_log_normalizer`, as torch does;
KL divergences between members of one family use the same form (kl.py)."""
import jtensor as jt
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """A family with natural parameters `_natural_params`, log normalizer `_log_normalizer` and carrier
    measure `_mean_carrier_measure`."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """-E[log p] from the log normalizer's gradient (Bregman divergence)."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = jt.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for np_, g in zip(nparams, gradients):
            result = result - (np_ * g).reshape(self._batch_shape + (-1,)).sum(-1)
        return result
