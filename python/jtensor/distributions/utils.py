"""Helpers the distributions share (torch.distributions.utils): broadcasting parameters,
probabilities <-> logits, clamping probabilities away from 0 and 1, lazily computed attributes."""
import numbers

import jtensor as jt


def _jt_tensor(x):
    return isinstance(x, jt.Tensor)


def broadcast_all(*values):
    """Broadcast numbers and tensors to one shape; numbers become tensors of the tensors' dtype
    (the default float dtype when every value is a number), as torch's `broadcast_all`."""
    if not all(_jt_tensor(v) or isinstance(v, numbers.Number) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, jtensor.Tensor or objects "
                         "implementing __jtensor_function__.")
    if not all(_jt_tensor(v) for v in values):
        like = next((v for v in values if _jt_tensor(v)), None)
        options = dict(dtype=like.dtype, device=like.device) if like is not None else dict(dtype=jt.get_default_dtype())
        values = [v if _jt_tensor(v) else jt.tensor(v, **options) for v in values]
    return jt.broadcast_tensors(*values)


def _sum_rightmost(value, dim):
    """Sum out the `dim` rightmost dimensions of `value`."""
    if dim == 0:
        return value
    return value.reshape(value.shape[:value.dim() - dim] + (-1,)).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """Probabilities from logits: sigmoid for a binary variable, softmax over the last dim otherwise."""
    if is_binary:
        return jt.sigmoid(logits)
    return jt.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Clamp probabilities into [eps, 1 - eps] of their dtype, so logs stay finite."""
    eps = jt.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Logits from probabilities: log(p) - log1p(-p) for a binary variable, log(p) otherwise
    (the probabilities clamped first)."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return jt.log(ps_clamped) - jt.log1p(-ps_clamped)
    return jt.log(ps_clamped)


def tril_matrix_to_vec(mat, diag=0):
    """The lower triangle (below diagonal `diag`) of the last two dims as a vector, row by row."""
    n = mat.shape[-1]
    rows, cols = jt.tril_indices(n, n, offset=diag)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of `tril_matrix_to_vec`: a lower-triangular matrix from its row-major entries."""
    n = int((-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2)
    mat = vec.new_zeros(vec.shape[:-1] + (n, n))
    rows, cols = jt.tril_indices(n, n, offset=diag)
    mat[..., rows, cols] = vec
    return mat


class lazy_property:
    """A property computed on first access and then stored on the instance (torch's
    `lazy_property`): e.g. `probs` of a distribution built from `logits`."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with jt.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """What a lazy_property is on the class: both, so documentation tools see a property."""

    def __init__(self, wrapped):
        property.__init__(self, wrapped)
