"""`GeneralizedPareto(loc, scale, concentration)`: the law of threshold exceedances; concentration
0 is the exponential limit (handled by its own branch), negative concentrations bound the support
above at loc - scale / concentration. Reparameterized by inversion of the CDF."""
import math

import jtensor as jt
from . import constraints
from ._shared import batch_shape_of, expand_params
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(batch_shape_of(self.loc, loc, scale, concentration), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, GeneralizedPareto, batch_shape, ("loc", "scale", "concentration"), _instance)

    def _zero_and_safe_concentration(self):
        """Where the concentration is (close to) 0, and the concentration with those entries set to 1
        (so the other branch stays finite where it is not used)."""
        eq_zero = jt.isclose(self.concentration, jt.zeros_like(self.concentration))
        return eq_zero, jt.where(eq_zero, 1.0, self.concentration)

    def rsample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        return self.icdf(jt.rand(shape, dtype=self.loc.dtype, device=self.loc.device))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        eq_zero, safe_conc = self._zero_and_safe_concentration()
        y = 1 / safe_conc + jt.ones_like(z)
        where_nonzero = jt.where(y == 0, y, y * jt.log1p(safe_conc * z))
        return -self.scale.log() - jt.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value):
        """log P(X > value)."""
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        eq_zero, safe_conc = self._zero_and_safe_concentration()
        return jt.where(eq_zero, -z, -jt.log1p(safe_conc * z) / safe_conc)

    def log_cdf(self, value):
        return jt.log1p(-jt.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return jt.exp(self.log_cdf(value))

    def icdf(self, value):
        eq_zero, safe_conc = self._zero_and_safe_concentration()
        logu = jt.log1p(-value)
        where_nonzero = self.loc + self.scale / safe_conc * jt.expm1(-safe_conc * logu)
        return jt.where(eq_zero, self.loc - self.scale * logu, where_nonzero)

    @property
    def mean(self):
        valid = self.concentration < 1
        safe_conc = jt.where(valid, self.concentration, 0.5)
        return jt.where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe_conc = jt.where(valid, self.concentration, 0.25)
        return jt.where(valid, self.scale ** 2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc)), math.nan)

    def entropy(self):
        return jt.broadcast_to(jt.log(self.scale) + self.concentration + 1, self._batch_shape)

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        upper = jt.where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
