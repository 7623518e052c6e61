"""`Gamma(concentration, rate)`: density x^(a-1) exp(-r x) r^a / Γ(a); rsample is differentiable in
both parameters (implicit reparameterization of the concentration, see _samplers.py)."""
import jtensor as jt
from . import constraints
from ._samplers import standard_gamma
from ._shared import batch_shape_of, expand_params
from .exp_family import ExponentialFamily
from .utils import broadcast_all

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(batch_shape_of(self.concentration, concentration, rate), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Gamma, batch_shape, ("concentration", "rate"), _instance)

    def rsample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        value = standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        return value.clamp(min=jt.finfo(value.dtype).tiny)   # never exactly 0, as torch

    def log_prob(self, value):
        value = jt.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (jt.xlogy(self.concentration, self.rate) + jt.xlogy(self.concentration - 1, value)
                - self.rate * value - jt.lgamma(self.concentration))

    def entropy(self):
        c = self.concentration
        return c - jt.log(self.rate) + jt.lgamma(c) + (1.0 - c) * jt.digamma(c)

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return jt.lgamma(x + 1) + (x + 1) * jt.log(-y.reciprocal())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return jt.igamma(self.concentration, self.rate * value)
