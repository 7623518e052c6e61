"""`Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None)`: the law of
X = Σ_k g_k g_kᵀ, g_k ~ N(0, Σ), over positive-definite matrices, held (as MultivariateNormal) as
the Cholesky factor L of its scale Σ. Samples use Bartlett's decomposition: X = (L A)(L A)ᵀ with A
lower-triangular, A_ii = √χ²(df - i) and N(0, 1) below the diagonal; the χ² draws are
reparameterized (Gamma's), so rsample carries gradients to df and the scale. Also an exponential
family, with natural parameters (-Σ⁻¹/2, (df - p - 1)/2)."""
import math
import warnings

import jtensor as jt
from . import constraints
from .chi2 import Chi2
from .exp_family import ExponentialFamily
from .multivariate_normal import ScaleTrilMatrices, scale_tril_of

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _mvdigamma(x, p):
    """The multivariate digamma Σ_{i<p} ψ(x - i/2), the derivative of mvlgamma(x, p)."""
    return jt.digamma(x.unsqueeze(-1) - jt.arange(p, dtype=x.dtype) / 2).sum(-1)


class Wishart(ScaleTrilMatrices, ExponentialFamily):
    """`df` > p - 1 (a number or a tensor broadcasting with the batch dims), and exactly one of
    covariance_matrix, precision_matrix or scale_tril (p x p, with optional batch dims)."""

    arg_constraints = {"covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(0)}
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None, validate_args=None):
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, jt.Tensor):
            batch_shape = jt.Size(jt.broadcast_shapes(param.shape[:-2], df.shape))
            self.df = df.expand(batch_shape)
        else:
            batch_shape = jt.Size(param.shape[:-2])
            self.df = jt.tensor(df, dtype=param.dtype)
        event_shape = jt.Size(param.shape[-2:])
        p = event_shape[-1]
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        name = "scale_tril" if scale_tril is not None else "covariance_matrix" if covariance_matrix is not None \
            else "precision_matrix"
        setattr(self, name, param.expand(tuple(batch_shape) + (-1, -1)))
        # df's constraint depends on p: an instance attribute (torch writes it into the class's dict)
        self.arg_constraints = dict(type(self).arg_constraints, df=constraints.greater_than(p - 1))
        if bool(self.df.lt(p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.")
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]
        self._unbroadcasted_scale_tril = scale_tril_of(covariance_matrix, precision_matrix, scale_tril)
        self._dist_chi2 = self._chi2(batch_shape)

    def _chi2(self, batch_shape):
        """The χ²(df - i) laws of Bartlett's diagonal, i = 0..p-1."""
        p = self._event_shape[-1]
        dof = self.df.unsqueeze(-1) - jt.arange(p, dtype=self._unbroadcasted_scale_tril.dtype)
        return Chi2(dof.expand(tuple(batch_shape) + (-1,)))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = jt.Size(batch_shape)
        shape = tuple(batch_shape) + tuple(self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        for attr in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if attr in self.__dict__:
                setattr(new, attr, getattr(self, attr).expand(shape))
        new.arg_constraints = self.arg_constraints
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._dist_chi2 = new._chi2(batch_shape)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return tuple(self._batch_shape) + tuple(self._event_shape)

    def _df_matrix(self, df):
        return df.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self):
        """(df - p - 1) Σ, NaN where df <= p + 1 (no mode in the interior)."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = jt.where(factor <= 0, math.nan, factor)
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        d = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (V.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape):
        p = self._event_shape[-1]
        eps = jt.finfo(self._unbroadcasted_scale_tril.dtype).eps
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps)
        below = jt.randn(tuple(sample_shape) + tuple(self._batch_shape) + (p, p), dtype=diag.dtype).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (below + jt.diag_embed(diag))
        return chol @ chol.mT

    def rsample(self, sample_shape=jt.Size(), max_try_correction=None):
        """Bartlett samples; a (numerically) singular one is drawn again, up to max_try_correction
        (default 10) times, with a warning, as torch does."""
        max_try_correction = 10 if max_try_correction is None else max_try_correction
        sample_shape = jt.Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = ~self.support.check(sample)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.")
            for _ in range(max_try_correction):
                redraw = self._bartlett_sampling(sample_shape)
                sample = jt.where(singular.unsqueeze(-1).unsqueeze(-1), redraw, sample)
                singular = ~self.support.check(sample)
                if not bool(singular.any()):
                    break
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        trace = jt.cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det) - jt.mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * jt.linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        half_log_det = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det) + jt.mvlgamma(nu / 2, p=p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-jt.linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + jt.mvlgamma(y + (p + 1) / 2, p=p))
