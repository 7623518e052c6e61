"""`Bernoulli(probs=None, logits=None)`: a 0/1 variable, parameterized by its probability of 1 or
by the log-odds."""
import jtensor as jt
from . import constraints
from ._shared import BinaryProbsLogits, expand_probs_or_logits, set_probs_or_logits
from .exp_family import ExponentialFamily

__all__ = ["Bernoulli"]


def _binary_cross_entropy_with_logits(logits, value):
    """-log p(value) for a Bernoulli with `logits`: softplus(logits) - value * logits, broadcast
    (stable for large |logits|)."""
    logits, value = jt.broadcast_tensors(logits, value)
    return jt.nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")


class Bernoulli(BinaryProbsLogits, ExponentialFamily):
    """Exactly one of `probs` (P(x=1)) or `logits` (log-odds) must be given."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    def __init__(self, probs=None, logits=None, validate_args=None):
        batch_shape = set_probs_or_logits(self, probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = jt.Size(batch_shape)
        expand_probs_or_logits(self, new, batch_shape)
        super(Bernoulli, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new


    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return mode.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        with jt.no_grad():
            return jt.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -_binary_cross_entropy_with_logits(self.logits, value)

    def entropy(self):
        return _binary_cross_entropy_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        values = jt.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values

    @property
    def _natural_params(self):
        return (jt.logit(self.probs),)

    def _log_normalizer(self, x):
        return jt.log1p(jt.exp(x))
