"""`Multinomial(total_count=1, probs=None, logits=None)`: counts per category in total_count draws
from a Categorical."""
import jtensor as jt
from . import constraints
from .binomial import Binomial
from ._shared import CategoricalParams
from .categorical import Categorical
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(CategoricalParams, Distribution):
    """`total_count` is one int for the whole batch (sample needs it; log_prob does not)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = jt.Size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = Binomial(total_count=self.total_count, probs=new._categorical.probs)
        super(Multinomial, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    def sample(self, sample_shape=jt.Size()):
        sample_shape = jt.Size(sample_shape)
        samples = self._categorical.sample((self.total_count,) + tuple(sample_shape))
        # the draw index to the last dim, then count how often each category was drawn
        samples = samples.permute(*range(1, samples.dim()), 0)
        counts = jt.zeros(self._extended_shape(sample_shape), dtype=self.probs.dtype, device=self.probs.device)
        return counts.scatter_add(-1, samples, jt.ones_like(samples, dtype=self.probs.dtype))

    def entropy(self):
        n = jt.tensor(self.total_count, dtype=self.probs.dtype)
        support = self._binomial.enumerate_support()
        binomial_probs = jt.exp(self._binomial.log_prob(support))
        weights = jt.lgamma(support + 1)
        return n * self._categorical.entropy() - jt.lgamma(n + 1) + (binomial_probs * weights).sum([0, -1])

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = jt.lgamma(value.sum(-1) + 1)
        log_factorial_xs = jt.lgamma(value + 1).sum(-1)
        logits = jt.where((value == 0) & (logits == float("-inf")), 0.0, logits)   # 0 draws of an impossible class
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers
