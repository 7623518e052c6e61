"""`Laplace(loc, scale)`: the double exponential, density exp(-|x - loc| / scale) / (2 scale)."""
import operator

import jtensor as jt
from . import constraints
from ._shared import batch_shape_of, expand_params
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Laplace"]


class Laplace(Distribution):
    """Reparameterized by inversion of the CDF at u ~ U(-1, 1)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    mean = mode = property(operator.attrgetter("loc"), doc="loc (the centre of a symmetric law)")

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(batch_shape_of(self.loc, loc, scale), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Laplace, batch_shape, ("loc", "scale"), _instance)

    def rsample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        eps = jt.finfo(self.loc.dtype).eps
        u = jt.rand(shape, dtype=self.loc.dtype, device=self.loc.device) * (2 - eps) - (1 - eps)   # in (-1, 1)
        return self.loc - self.scale * u.sign() * jt.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -jt.log(2 * self.scale) - jt.abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * jt.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * jt.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + jt.log(2 * self.scale)
