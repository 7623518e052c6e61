"""`StudentT(df, loc=0.0, scale=1.0)`: loc + scale * X / sqrt(Z / df), X ~ Normal(0, 1), Z ~ Chi2(df)."""
import math

import jtensor as jt
from . import constraints
from ._shared import batch_shape_of, expand_params
from .chi2 import Chi2
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self):
        return jt.where(self.df <= 1, float("nan"), self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """scale^2 df / (df - 2) for df > 2, inf for 1 < df <= 2, nan for df <= 1."""
        finite = self.scale.pow(2) * self.df / (self.df - 2).clamp(min=1e-30)
        m = jt.where(self.df > 2, finite, float("inf"))
        return jt.where(self.df <= 1, float("nan"), m)

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(batch_shape_of(self.df, df, loc, scale), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = expand_params(self, StudentT, batch_shape, ("df", "loc", "scale"), _instance)
        new._chi2 = self._chi2.expand(batch_shape)
        return new

    def rsample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        X = jt.randn(shape, dtype=self.df.dtype, device=self.df.device)
        Z = self._chi2.rsample(sample_shape)
        Y = X * jt.rsqrt(Z / self.df)
        return self.loc + self.scale * Y

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        Z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
             + jt.lgamma(0.5 * self.df) - jt.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * jt.log1p(y ** 2.0 / self.df) - Z

    def entropy(self):
        lbeta = jt.lgamma(0.5 * self.df) + math.lgamma(0.5) - jt.lgamma(0.5 * (self.df + 1))
        return (self.scale.log() + 0.5 * (self.df + 1) * (jt.digamma(0.5 * (self.df + 1)) - jt.digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)
