"""`Kumaraswamy(concentration1, concentration0)`: a Beta-like law on (0, 1) with a closed-form CDF,
(1 - (1 - u) ** (1/b)) ** (1/a) for u ~ U(0, 1)."""
import jtensor as jt
from . import constraints
from ._shared import euler_constant
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform
from .uniform import Uniform
from .utils import broadcast_all

__all__ = ["Kumaraswamy"]


def _moments(a, b, n):
    """E[X^n] = b B(1 + n/a, b)."""
    arg1 = 1 + n / a
    log_value = jt.lgamma(arg1) + jt.lgamma(b) - jt.lgamma(arg1 + b)
    return b * jt.exp(log_value)


class Kumaraswamy(TransformedDistribution):
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(jt.full_like(self.concentration0, 0), jt.full_like(self.concentration0, 1),
                            validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()), AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self):
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        """((a - 1) / (a b - 1)) ** (1/a) where a, b >= 1, else nan. (torch's formula takes
        log1p(-b), which is nan for every b > 1, so its mode is nan almost everywhere.)"""
        a, b = self.concentration1, self.concentration0
        log_mode = (jt.log(a - 1) - jt.log(a * b - 1)) / a
        return jt.where((a < 1) | (b < 1), float("nan"), log_mode.exp())

    @property
    def variance(self):
        return _moments(self.concentration1, self.concentration0, 2) - jt.pow(self.mean, 2)

    def entropy(self):
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        H0 = jt.digamma(self.concentration0 + 1) + euler_constant
        return t0 + t1 * H0 - jt.log(self.concentration1) - jt.log(self.concentration0)
