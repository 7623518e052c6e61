"""Small pieces several families share: the Euler-Mascheroni constant, the constructor tail that
sets a batch shape from broadcast parameters, and `expand` of families whose state is a few
parameter tensors of the batch shape."""
import numbers

import jtensor as jt
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

euler_constant = 0.57721566490153286060   # Euler-Mascheroni


def batch_shape_of(first_param, *given):
    """jt.Size() when every given parameter was a Python number, else the broadcast parameters' shape."""
    if all(isinstance(g, numbers.Number) for g in given):
        return jt.Size()
    return first_param.size()


def expand_params(dist, cls, batch_shape, names, _instance=None):
    """`dist.expand(batch_shape)` for a family whose parameters `names` are tensors of the batch shape:
    a new instance with those parameters expanded (views, no copy) and validation as `dist`'s."""
    new = dist._get_checked_instance(cls, _instance)
    batch_shape = jt.Size(batch_shape)
    for name in names:
        setattr(new, name, getattr(dist, name).expand(batch_shape))
    super(cls, new).__init__(batch_shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new


def set_probs_or_logits(dist, probs, logits):
    """The constructor step of the families given `probs` or `logits` (exactly one): broadcast it,
    store it under its name and as `_param`; returns the batch shape (() for a Python number)."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    name, given = ("probs", probs) if probs is not None else ("logits", logits)
    (value,) = broadcast_all(given)
    setattr(dist, name, value)
    dist._param = value
    return jt.Size() if isinstance(given, numbers.Number) else value.size()


def expand_probs_or_logits(dist, new, shape):
    """Copy onto `new` whichever of probs/logits `dist` holds (either may have been derived
    lazily), expanded to `shape`."""
    for name in ("probs", "logits"):
        if name in dist.__dict__:
            setattr(new, name, getattr(dist, name).expand(shape))
            new._param = getattr(new, name)


class BinaryProbsLogits:
    """`probs` and `logits` (log-odds) of a family over a binary outcome, each derived lazily from
    the other, and `param_shape` (the given one's shape). Use with `set_probs_or_logits`."""

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return self._param.size()


class CategoricalParams:
    """`probs`, `logits` and `param_shape` of a family built on a Categorical (`self._categorical`)."""

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape


class RelaxedParams:
    """`temperature`, `logits` and `probs` of a relaxed family, read from its base distribution."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs
