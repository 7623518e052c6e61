"""Samplers the families need beyond jt.rand/randn: Gamma (Marsaglia-Tsang), Poisson (Knuth's
product for small rates, Hörmann's PTRS above) and Binomial (inversion for small n p, Hörmann's
BTRS above), each vectorised as rejection over jt ops: every round draws for the elements still
pending and keeps those accepted, so a round costs a few jt calls whatever the batch size. Every
draw goes through jt.rand/jt.randn, so jt.manual_seed makes them reproducible (poisson and
binomial also take a `generator`, as torch.poisson / torch.binomial do).

`standard_gamma` is differentiable in its concentration by implicit reparameterization: with
F(x; a) the Gamma CDF, dx/da = -(dF/da) / f(x; a); dF/da (of the regularized incomplete gamma
jt.igamma) is taken by a central difference in float64 (no closed form exists)."""

import jtensor as jt

__all__ = ["standard_gamma", "poisson", "binomial"]


def _rejection_rounds(n, propose):
    """Run `propose(idx) -> (accepted_mask, values)` on the pending flat indices until every one of
    `n` elements has a value; returns the values as a float64 vector."""
    out = jt.zeros(n, dtype=jt.float64)
    pending = jt.arange(n)
    while pending.numel():
        accept, values = propose(pending)
        out[pending[accept]] = values[accept]
        pending = pending[~accept]
    return out


def _gamma_marsaglia_tsang(alpha):
    """Gamma(alpha, 1) draws for a float64 vector alpha >= 1 (acceptance above 95 %)."""
    d = alpha - 1.0 / 3.0
    c = 1.0 / jt.sqrt(9.0 * d)

    def propose(idx):
        di, ci = d[idx], c[idx]
        x = jt.randn(idx.numel(), dtype=jt.float64)
        u = jt.rand(idx.numel(), dtype=jt.float64)
        v = (1 + ci * x) ** 3
        ok = v > 0
        v_safe = jt.where(ok, v, 1.0)
        accept = ok & (jt.log(u) < 0.5 * x * x + di - di * v_safe + di * jt.log(v_safe))
        return accept, di * v_safe

    return _rejection_rounds(alpha.numel(), propose)


def _standard_gamma_draw(alpha):
    """Gamma(alpha, 1) draws of alpha's shape (no gradient): alpha < 1 is boosted as
    Gamma(alpha + 1) * U ** (1 / alpha), clamped above 0 as torch clamps."""
    a = alpha.detach().to(jt.float64).reshape(-1)
    boost = a < 1
    x = _gamma_marsaglia_tsang(jt.where(boost, a + 1, a))
    u = jt.rand(a.numel(), dtype=jt.float64)
    x = jt.where(boost, x * u ** (1 / a), x)
    x = x.clamp(min=jt.finfo(alpha.dtype).tiny)
    return x.reshape(alpha.shape).to(alpha.dtype)


def _standard_gamma_grad(alpha, x):
    """dx/dalpha of a Gamma(alpha, 1) draw x held at its CDF level (implicit reparameterization)."""
    a, xs = alpha.detach().to(jt.float64), x.detach().to(jt.float64)
    h = 1e-5 * jt.clamp(a, min=1.0)
    dF_da = (jt.igamma(a + h, xs) - jt.igamma(a - h, xs)) / (2 * h)
    log_density = (a - 1) * jt.log(xs) - xs - jt.lgamma(a)
    return (-dF_da / jt.exp(log_density)).to(alpha.dtype)


class _StandardGamma(jt.autograd.Function):
    @staticmethod
    def forward(ctx, alpha):
        x = _standard_gamma_draw(alpha)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * _standard_gamma_grad(alpha, x)


def standard_gamma(alpha):
    """Gamma(alpha, 1) samples of alpha's shape, differentiable in alpha (torch._standard_gamma)."""
    if alpha.requires_grad and jt.is_grad_enabled():
        return _StandardGamma.apply(alpha)
    return _standard_gamma_draw(alpha)


def _poisson_knuth(lam, generator=None):
    """Poisson draws for small rates: the number of uniforms multiplied before the product drops
    below exp(-lam) (rounds ~ lam)."""
    n = lam.numel()
    limit = jt.exp(-lam)
    count = jt.zeros(n, dtype=jt.float64)
    prod = jt.rand(n, dtype=jt.float64, generator=generator)
    pending = jt.nonzero(prod > limit).reshape(-1)
    while pending.numel():
        count[pending] = count[pending] + 1
        prod[pending] = prod[pending] * jt.rand(pending.numel(), dtype=jt.float64, generator=generator)
        pending = pending[prod[pending] > limit[pending]]
    return count


def _poisson_ptrs(lam, generator=None):
    """Poisson draws for rates >= 10 by transformed rejection with squeeze (Hörmann 1993, PTRS)."""
    slam, loglam = jt.sqrt(lam), jt.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def propose(idx):
        ai, bi, li = a[idx], b[idx], lam[idx]
        U = jt.rand(idx.numel(), dtype=jt.float64, generator=generator) - 0.5
        V = jt.rand(idx.numel(), dtype=jt.float64, generator=generator)
        us = 0.5 - U.abs()
        k = jt.floor((2 * ai / us + bi) * U + li + 0.43)
        quick = (us >= 0.07) & (V <= v_r[idx])
        invalid = (k < 0) | ((us < 0.013) & (V > us))
        k_safe = k.clamp(min=0)
        full = (jt.log(V) + jt.log(inv_alpha[idx]) - jt.log(ai / (us * us) + bi)
                <= -li + k_safe * loglam[idx] - jt.lgamma(k_safe + 1))
        return quick | (~invalid & full), k_safe

    return _rejection_rounds(lam.numel(), propose)


def poisson(rate, generator=None):
    """Poisson(rate) draws of rate's shape and dtype (jt.poisson's semantics; no gradient), from
    `generator` (None: the default one)."""
    lam = rate.detach().to(jt.float64).reshape(-1)
    small = lam < 10
    out = jt.zeros(lam.numel(), dtype=jt.float64)
    small_idx = jt.nonzero(small).reshape(-1)
    large_idx = jt.nonzero(~small).reshape(-1)
    if small_idx.numel():
        out[small_idx] = _poisson_knuth(lam[small_idx], generator)
    if large_idx.numel():
        out[large_idx] = _poisson_ptrs(lam[large_idx], generator)
    return out.reshape(rate.shape).to(rate.dtype)


def _binomial_inversion(n, p, generator=None):
    """Binomial draws for n p < 10 by sequential search of the CDF (rounds ~ n p)."""
    q = 1 - p
    s = p / q
    a = (n + 1) * s
    r = jt.exp(n * jt.log1p(-p))   # P(X = 0) = q ** n
    u = jt.rand(n.numel(), dtype=jt.float64, generator=generator)
    x = jt.zeros(n.numel(), dtype=jt.float64)
    pending = jt.nonzero((u > r) & (x < n)).reshape(-1)
    while pending.numel():
        u[pending] = u[pending] - r[pending]
        x[pending] = x[pending] + 1
        r[pending] = r[pending] * (a[pending] / x[pending] - s[pending])
        pending = pending[(u[pending] > r[pending]) & (x[pending] < n[pending])]
    return x


def _binomial_btrs(n, p, generator=None):
    """Binomial draws for n p >= 10, p <= 1/2, by transformed rejection (Hörmann 1993, BTRS)."""
    q = 1 - p
    spq = jt.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = jt.log(p / q)
    m = jt.floor((n + 1) * p)
    h = jt.lgamma(m + 1) + jt.lgamma(n - m + 1)

    def propose(idx):
        ai, bi, ni = a[idx], b[idx], n[idx]
        U = jt.rand(idx.numel(), dtype=jt.float64, generator=generator) - 0.5
        V = jt.rand(idx.numel(), dtype=jt.float64, generator=generator)
        us = 0.5 - U.abs()
        k = jt.floor((2 * ai / us + bi) * U + c[idx])
        valid = (k >= 0) & (k <= ni)
        k_safe = jt.minimum(k.clamp(min=0), ni)
        quick = (us >= 0.07) & (V <= v_r[idx])
        logv = jt.log(V * alpha[idx] / (ai / (us * us) + bi))
        full = logv <= h[idx] - jt.lgamma(k_safe + 1) - jt.lgamma(ni - k_safe + 1) + (k_safe - m[idx]) * lpq[idx]
        return valid & (quick | full), k_safe

    return _rejection_rounds(n.numel(), propose)


def binomial(count, prob, generator=None):
    """Binomial(count, prob) draws of their broadcast shape, in prob's dtype (no gradient)."""
    count, prob = jt.broadcast_tensors(count.detach(), prob.detach())
    n = count.to(jt.float64).reshape(-1)
    p = prob.to(jt.float64).reshape(-1)
    flip = p > 0.5   # draw failures instead: keeps the algorithms' p <= 1/2
    pp = jt.where(flip, 1 - p, p)
    out = jt.zeros(n.numel(), dtype=jt.float64)
    degenerate = (pp == 0) | (n == 0)
    small = ~degenerate & (n * pp < 10)
    large = ~degenerate & ~small
    for mask, draw in ((small, _binomial_inversion), (large, _binomial_btrs)):
        idx = jt.nonzero(mask).reshape(-1)
        if idx.numel():
            out[idx] = draw(n[idx], pp[idx], generator)
    out = jt.where(flip, n - out, out)
    return out.reshape(prob.shape).to(prob.dtype)
