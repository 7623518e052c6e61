"""`MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None, scale_tril=None)`: the
Gaussian over vectors, held as the Cholesky factor L of its covariance (whichever form it was
given in). Samples are loc + L eps; log_prob solves L z = x - loc."""
import math
import operator

import jtensor as jt
from . import constraints
from .distribution import Distribution
from .utils import lazy_property

__all__ = ["MultivariateNormal"]


def _batch_mv(bmat, bvec):
    """Matrix-vector products over broadcast batch dims."""
    return jt.matmul(bmat, bvec.unsqueeze(-1)).squeeze(-1)


def _tril_solve(L, b):
    """L^-1 b for lower-triangular L (batch dims broadcast; b is a matrix of right-hand sides), as
    torch's distributions do it: a triangular solve that never reads the upper triangle."""
    return jt.linalg.solve_triangular(L, b, upper=False)


def _batch_mahalanobis(bL, bx):
    """x^T (L L^T)^-1 x for lower-triangular `bL` whose batch dims broadcast with `bx`'s."""
    return _tril_solve(bL, bx.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _tril_inverse(L):
    """The inverse of a lower-triangular matrix (lower-triangular again)."""
    eye = jt.eye(L.shape[-1], dtype=L.dtype, device=L.device)
    return _tril_solve(L, eye).tril()


def _precision_to_scale_tril(P):
    """The lower Cholesky factor of P^-1 without inverting P: flip P, factor, flip back (an upper
    factor U with P = U U^T), and invert U^T."""
    Lf = jt.linalg.cholesky(jt.flip(P, (-2, -1)))
    L_inv = jt.transpose(jt.flip(Lf, (-2, -1)), -2, -1)
    return _tril_inverse(L_inv)


def scale_tril_of(covariance_matrix, precision_matrix, scale_tril):
    """The lower Cholesky factor of the scale from whichever of the three forms is given (not None)."""
    if scale_tril is not None:
        return scale_tril
    if covariance_matrix is not None:
        return jt.linalg.cholesky(covariance_matrix)
    return _precision_to_scale_tril(precision_matrix)


class ScaleTrilMatrices:
    """scale_tril, covariance_matrix (L Lᵀ) and precision_matrix ((L Lᵀ)⁻¹) of a law held as the
    Cholesky factor L = `_unbroadcasted_scale_tril` of its scale, each computed once and expanded to
    the class's `_matrix_shape()` (MultivariateNormal, Wishart)."""

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return jt.matmul(L, L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        L_inv = _tril_inverse(self._unbroadcasted_scale_tril)
        return jt.matmul(L_inv.mT, L_inv).expand(self._matrix_shape())


class MultivariateNormal(ScaleTrilMatrices, Distribution):
    """Exactly one of covariance_matrix, precision_matrix or scale_tril; their batch dims broadcast
    with loc's."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        given = scale_tril if scale_tril is not None else covariance_matrix if covariance_matrix is not None \
            else precision_matrix
        name = "scale_tril matrix" if scale_tril is not None else "covariance_matrix" \
            if covariance_matrix is not None else "precision_matrix"
        if given.dim() < 2:
            raise ValueError(f"{name} must be at least two-dimensional, with optional leading batch dimensions")
        batch_shape = tuple(jt.broadcast_shapes(given.shape[:-2], loc.shape[:-1]))
        attr = "scale_tril" if scale_tril is not None else "covariance_matrix" if covariance_matrix is not None \
            else "precision_matrix"
        setattr(self, attr, given.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        self._unbroadcasted_scale_tril = scale_tril_of(covariance_matrix, precision_matrix, scale_tril)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = tuple(jt.Size(batch_shape))
        event = tuple(self.event_shape)
        new.loc = self.loc.expand(batch_shape + event)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for attr in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if attr in self.__dict__:
                setattr(new, attr, getattr(self, attr).expand(batch_shape + event + event))
        super(MultivariateNormal, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    mean = mode = property(operator.attrgetter("loc"), doc="loc (the centre of a symmetric law)")

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=jt.Size()):
        shape = self._extended_shape(sample_shape)
        eps = jt.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        M = _batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + M) - self._half_log_det()

    def entropy(self):
        H = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return H if len(self._batch_shape) == 0 else H.expand(self._batch_shape)
