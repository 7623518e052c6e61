"""`LKJCholesky(dim, concentration=1.0)`: the LKJ distribution over correlation matrices, as a law of
their lower Cholesky factors L (rows of unit norm, positive diagonal). The density of the
correlation matrix L Lᵀ is proportional to det(L Lᵀ)^(η - 1); with the Jacobian of L -> L Lᵀ, that
of L is proportional to Π_{i>=2} L_ii^(2η - 2 + dim - i). Samples come from the onion method
(Lewandowski, Kurowicka and Joe 2009, section 3.2), vectorized over rows as torch does: row i gets a
squared norm y_i ~ Beta(i/2, η + (dim - 2)/2 - i/2) off its diagonal, spread in a uniform direction.
There is no reparameterized sample (torch has none either)."""
import math

import jtensor as jt
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """`dim` >= 2 the matrix size; `concentration` η > 0 (a number or a tensor of batch shape):
    η = 1 is uniform over correlation matrices, larger η concentrates near the identity."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        self.concentration, = broadcast_all(concentration)
        batch_shape = self.concentration.shape
        event_shape = jt.Size((dim, dim))
        # the Beta laws of the rows' squared off-diagonal norms (row 0's is never used)
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = jt.arange(self.dim - 1, dtype=self.concentration.dtype)
        offset = jt.cat([jt.zeros(1, dtype=offset.dtype), offset])
        self._beta = Beta(offset + 0.5, marginal_conc.unsqueeze(-1) - 0.5 * offset)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = jt.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=jt.Size()):
        """Cholesky factors of shape sample_shape + batch_shape + (dim, dim), by the onion method."""
        with jt.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u = jt.randn(self._extended_shape(sample_shape), dtype=y.dtype).tril(-1)
            rows = (jt.arange(self.dim) >= 1).unsqueeze(-1)       # row 0 has no off-diagonal part
            direction = jt.where(rows, u / u.norm(dim=-1, keepdim=True), 0.0)
            w = jt.sqrt(y) * direction
            tiny = jt.finfo(w.dtype).tiny                          # keeps the diagonal positive
            diag = jt.clamp(1 - jt.sum(w ** 2, dim=-1), min=tiny).sqrt()
            return w + jt.diag_embed(diag)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = jt.arange(2, self.dim + 1, dtype=self.concentration.dtype)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = jt.sum(order * diag_elems.log(), dim=-1)
        # the normalizing constant (LKJ 2009, p. 1999): with α = η + (dim - 1)/2,
        # (dim - 1)/2 log π + mvlgamma(α - 1/2, dim - 1) - (dim - 1) lgamma(α)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalizer = 0.5 * dm1 * math.log(math.pi) + jt.mvlgamma(alpha - 0.5, dm1) - jt.lgamma(alpha) * dm1
        return unnormalized - normalizer
