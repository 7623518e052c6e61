"""`ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501))`: the density on [0, 1]
proportional to p^x (1-p)^(1-x) (Loaiza-Ganem & Cunningham 2019), the likelihood of VAEs on
[0, 1] pixels. Near p = 1/2 its normalizer is 0/0, so inside `lims` Taylor expansions are used."""
import math
import numbers

import jtensor as jt
from . import constraints
from ._shared import BinaryProbsLogits, expand_probs_or_logits
from .exp_family import ExponentialFamily
from .utils import broadcast_all, clamp_probs, lazy_property, logits_to_probs

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(BinaryProbsLogits, ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            is_scalar = isinstance(probs, numbers.Number)
            (self.probs,) = broadcast_all(probs)
            if validate_args is not None and not bool(self.arg_constraints["probs"].check(self.probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, numbers.Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        self._lims = lims
        super().__init__(jt.Size() if is_scalar else self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        new._lims = self._lims
        batch_shape = jt.Size(batch_shape)
        expand_probs_or_logits(self, new, batch_shape)
        super(ContinuousBernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _outside_unstable_region(self):
        return jt.le(self.probs, self._lims[0]) | jt.gt(self.probs, self._lims[1])

    def _cut_probs(self):
        """probs, with those inside the unstable region moved to its edge (their branch is unused)."""
        return jt.where(self._outside_unstable_region(), self.probs, self._lims[0] * jt.ones_like(self.probs))

    def _cont_bern_log_norm(self):
        """The log normalizing constant as a function of probs."""
        cut_probs = self._cut_probs()
        below_half = jt.where(jt.le(cut_probs, 0.5), cut_probs, jt.zeros_like(cut_probs))
        above_half = jt.where(jt.ge(cut_probs, 0.5), cut_probs, jt.ones_like(cut_probs))
        log_norm = jt.log(jt.abs(jt.log1p(-cut_probs) - jt.log(cut_probs))) - jt.where(
            jt.le(cut_probs, 0.5), jt.log1p(-2.0 * below_half), jt.log(2.0 * above_half - 1.0))
        x = jt.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return jt.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / (jt.log1p(-cut_probs) - jt.log(cut_probs))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * jt.pow(x, 2)) * x
        return jt.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):
        return jt.sqrt(self.variance)

    @property
    def variance(self):
        cut_probs = self._cut_probs()
        variances = (cut_probs * (cut_probs - 1.0) / jt.pow(1.0 - 2.0 * cut_probs, 2)
                     + 1.0 / jt.pow(jt.log1p(-cut_probs) - jt.log(cut_probs), 2))
        x = jt.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return jt.where(self._outside_unstable_region(), variances, taylor)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    def rsample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        u = jt.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        bce = jt.nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")
        return -bce + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = (jt.pow(cut_probs, value) * jt.pow(1.0 - cut_probs, 1.0 - value) + cut_probs - 1.0) / (2.0 * cut_probs - 1.0)
        unbounded_cdfs = jt.where(self._outside_unstable_region(), cdfs, value)
        return jt.where(jt.le(value, 0.0), jt.zeros_like(value),
                        jt.where(jt.ge(value, 1.0), jt.ones_like(value), unbounded_cdfs))

    def icdf(self, value):
        cut_probs = self._cut_probs()
        inverse = ((jt.log1p(-cut_probs + value * (2.0 * cut_probs - 1.0)) - jt.log1p(-cut_probs))
                   / (jt.log(cut_probs) - jt.log1p(-cut_probs)))
        return jt.where(self._outside_unstable_region(), inverse, value)

    def entropy(self):
        log_probs0 = jt.log1p(-self.probs)
        log_probs1 = jt.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """The log normalizing constant as a function of the natural parameter (the logits)."""
        out_unst_reg = jt.le(x, self._lims[0] - 0.5) | jt.gt(x, self._lims[1] - 0.5)
        cut_nat_params = jt.where(out_unst_reg, x, (self._lims[0] - 0.5) * jt.ones_like(x))
        log_norm = jt.log(jt.abs(jt.expm1(cut_nat_params))) - jt.log(jt.abs(cut_nat_params))
        taylor = 0.5 * x + jt.pow(x, 2) / 24.0 - jt.pow(x, 4) / 2880.0
        return jt.where(out_unst_reg, log_norm, taylor)
