"""`VonMises(loc, concentration)`: the circular normal on angles, density
exp(k cos(x - loc)) / (2 pi I0(k)); values are angles modulo 2 pi. Sampling is Best & Fisher's
(1979) rejection method, in float64 as torch samples it."""
import math
import operator

import jtensor as jt
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


def _log_modified_bessel_fn(x, order=0):
    """log I_order(x) for x > 0, order 0 or 1, from the exponentially scaled Bessel functions
    (log I(x) = log(I_e(x)) + x, finite for large x)."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    scaled = jt.special.i0e(x) if order == 0 else jt.special.i1e(x)
    return scaled.log() + x


def _rejection_sample(loc, concentration, proposal_r, shape):
    """Best-Fisher draws of `shape` (float64), wrapped into [-pi, pi)."""
    x = jt.zeros(shape, dtype=jt.float64, device=loc.device)
    done = jt.zeros(shape, dtype=jt.bool, device=loc.device)
    while not bool(done.all()):
        u1, u2, u3 = jt.rand((3,) + tuple(shape), dtype=jt.float64, device=loc.device).unbind()
        z = jt.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
        accept = accept & ~done
        x = jt.where(accept, (u3 - 0.5).sign() * f.acos(), x)
        done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """`loc` and values may be any real (angles modulo 2 pi); mean and variance are the circular ones."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, jt.Size(), validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * jt.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    @lazy_property
    def _proposal_r(self):
        kappa = self.concentration.detach().to(jt.float64)
        tau = 1 + (1 + 4 * kappa ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        proposal_r = (1 + rho ** 2) / (2 * rho)
        return jt.where(kappa < 1e-5, 1 / kappa + kappa, proposal_r)

    def sample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        with jt.no_grad():
            draws = _rejection_sample(self.loc.detach().to(jt.float64), self.concentration.detach().to(jt.float64),
                                      self._proposal_r, shape)
        return draws.to(self.loc.dtype)

    def expand(self, batch_shape, _instance=None):
        batch_shape = jt.Size(batch_shape)
        return type(self)(self.loc.expand(batch_shape), self.concentration.expand(batch_shape),
                          validate_args=self.__dict__.get("_validate_args"))

    mean = mode = property(operator.attrgetter("loc"), doc="loc (the centre of a symmetric law)")

    @lazy_property
    def variance(self):
        """The circular variance 1 - I1(k) / I0(k)."""
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
