"""jt.distributions.LKJCholesky and Wishart against torch.distributions (the oracle): log_prob and the
moments on the same values, shapes of samples, supports, constraint errors; sampling is checked by
its statistics (different random streams), and Wishart's rsample by its gradients."""
import math

import numpy as np
import pytest
import torch
import torch.distributions as TD

import jtensor as jt
import jtensor.distributions as D


def _j(t):
    return jt.tensor(t.detach().numpy())


def _close(a, e, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(a.detach().numpy(), e.detach().numpy(), rtol=rtol, atol=atol)


# ---- LKJCholesky -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [2, 3, 5])
@pytest.mark.parametrize("concentration", [1.0, 0.5, [0.3, 2.5, 7.0]])
def test_lkj_log_prob_matches_torch(dim, concentration):
    torch.manual_seed(dim)
    conc_t = torch.tensor(concentration, dtype=torch.float64) if isinstance(concentration, list) else concentration
    conc_j = jt.tensor(concentration, dtype=jt.float64) if isinstance(concentration, list) else concentration
    dt = TD.LKJCholesky(dim, conc_t)
    dj = D.LKJCholesky(dim, conc_j)
    assert tuple(dj.batch_shape) == tuple(dt.batch_shape) and tuple(dj.event_shape) == (dim, dim)
    value = dt.sample((4,)).double()
    value = value / value.norm(dim=-1, keepdim=True)       # unit rows to float64 precision (the support)
    _close(dj.log_prob(_j(value)), dt.log_prob(value))


def test_lkj_samples_are_correlation_cholesky_factors_with_lkj_statistics():
    jt.manual_seed(0)
    d = D.LKJCholesky(3, jt.tensor([1.0, 4.0], dtype=jt.float64))
    s = d.sample((4000,))
    assert tuple(s.shape) == (4000, 2, 3, 3) and s.dtype == jt.float64
    assert bool(D.constraints.corr_cholesky.check(s).all())
    # the correlations r = (L Lᵀ)_ij are marginally Beta(η - 1 + dim/2, same) on (-1, 1): variance 1/(2η + dim - 1)
    corr = (s @ s.mT).numpy()[..., 1, 0]
    for b, eta in enumerate((1.0, 4.0)):
        assert abs(corr[:, b].mean()) < 0.03
        assert abs(corr[:, b].var() - 1 / (2 * eta + 2)) < 0.02
    assert tuple(D.LKJCholesky(4).sample().shape) == (4, 4)


def test_lkj_expand_errors_and_validation():
    d = D.LKJCholesky(3, 2.0).expand((2, 5))
    assert tuple(d.batch_shape) == (2, 5) and tuple(d.sample().shape) == (2, 5, 3, 3)
    assert not d.has_rsample and D.LKJCholesky.support is D.constraints.corr_cholesky
    with pytest.raises(ValueError, match="dim"):
        D.LKJCholesky(1)
    with pytest.raises(ValueError):
        D.LKJCholesky(3, -1.0)
    with pytest.raises(ValueError, match="support"):
        D.LKJCholesky(2).log_prob(jt.tensor([[1.0, 0.0], [0.9, 0.9]]))
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.LKJCholesky(3), D.LKJCholesky(3, 2.0))


# ---- Wishart -----------------------------------------------------------------------------------------------
def _spd(rng, *shape):
    a = rng.normal(size=shape + (shape[-1],))
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _both(form, df, S):
    """The same Wishart in jtensor and torch, its scale given as `form`."""
    St = torch.from_numpy(S)
    given = {"covariance_matrix": St, "precision_matrix": torch.linalg.inv(St),
             "scale_tril": torch.linalg.cholesky(St)}[form]
    dft = torch.tensor(df) if isinstance(df, np.ndarray) else df
    dfj = jt.tensor(df) if isinstance(df, np.ndarray) else df
    return D.Wishart(dfj, **{form: _j(given)}), TD.Wishart(dft, **{form: given})


@pytest.mark.filterwarnings("ignore:Singular sample detected")   # torch's check warns on regular samples
@pytest.mark.parametrize("form", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_wishart_log_prob_and_moments_match_torch(form):
    rng = np.random.default_rng(1)
    S = _spd(rng, 2, 3)
    dj, dt = _both(form, np.array([3.5, 7.0]), S)
    assert tuple(dj.batch_shape) == (2,) and tuple(dj.event_shape) == (3, 3)
    torch.manual_seed(0)
    value = dt.sample((5,))
    _close(dj.log_prob(_j(value)), dt.log_prob(value), rtol=1e-9)
    for name in ("mean", "mode", "variance", "entropy", "covariance_matrix", "precision_matrix", "scale_tril"):
        a = getattr(dj, name)
        _close(a() if callable(a) else a, (lambda v: v() if callable(v) else v)(getattr(dt, name)), rtol=1e-9)
    # a scalar df with one matrix, and the exponential-family entropy (autograd through the log normalizer)
    dj, dt = _both(form, 4.0, S[0])
    _close(dj.log_prob(_j(value[:, 0])), dt.log_prob(value[:, 0]), rtol=1e-9)
    _close(D.ExponentialFamily.entropy(dj), dt.entropy(), rtol=1e-9)


def test_wishart_mode_is_nan_without_interior_mode():
    dj, dt = _both("covariance_matrix", np.array([3.5, 2.5]), _spd(np.random.default_rng(2), 2, 2))
    _close(dj.mode, dt.mode)
    assert np.isnan(dj.mode.numpy()[1]).all()


def test_wishart_rsample_statistics_and_gradients():
    jt.manual_seed(3)
    S = _spd(np.random.default_rng(3), 3)
    df = jt.tensor(6.0, dtype=jt.float64, requires_grad=True)
    L = jt.tensor(np.linalg.cholesky(S), requires_grad=True)
    d = D.Wishart(df, scale_tril=L)
    x = d.rsample((6000,))
    assert tuple(x.shape) == (6000, 3, 3) and bool(D.constraints.positive_definite.check(x[:50]).all())
    # E[X] = df Σ, Var[X_ij] = df (Σ_ij² + Σ_ii Σ_jj)
    m = x.detach().numpy()
    se = np.sqrt(d.variance.detach().numpy() / len(m))         # the standard error of each mean
    assert (np.abs(m.mean(0) - 6.0 * S) < 5 * se).all()
    np.testing.assert_allclose(m.var(0), d.variance.detach().numpy(), rtol=0.2)
    # pathwise gradients: d E[trace X]/d df = trace Σ; d E[trace X]/dL = 2 df L
    x.diagonal(dim1=-2, dim2=-1).sum(-1).mean().backward()
    assert abs(df.grad.item() - np.trace(S)) < 0.1 * np.trace(S)
    # (E[A Aᵀ] = df I for Bartlett's A; the Monte Carlo error of each entry is ~0.3 here)
    np.testing.assert_allclose(L.grad.numpy(), 2 * 6.0 * np.linalg.cholesky(S), rtol=0.1, atol=1.5)
    assert tuple(D.Wishart(jt.tensor([4.0, 5.0]), covariance_matrix=jt.eye(2)).sample((3,)).shape) == (3, 2, 2, 2)


def test_wishart_expand_errors_and_no_kl():
    d = D.Wishart(5.0, covariance_matrix=jt.eye(3, dtype=jt.float64)).expand((4,))
    assert tuple(d.batch_shape) == (4,) and tuple(d.rsample().shape) == (4, 3, 3)
    assert tuple(d.log_prob(jt.eye(3, dtype=jt.float64)).shape) == (4,)
    with pytest.raises(ValueError, match="df"):
        D.Wishart(1.5, covariance_matrix=jt.eye(3))
    with pytest.raises(ValueError, match="Exactly one"):
        D.Wishart(4.0)
    with pytest.raises(ValueError):
        D.Wishart(4.0, covariance_matrix=-jt.eye(2))
    with pytest.warns(UserWarning, match="Low df"):
        D.Wishart(2.5, covariance_matrix=jt.eye(3))
    assert D.Wishart.support is D.constraints.positive_definite and D.Wishart.has_rsample
    with pytest.raises(ValueError, match="support"):
        D.Wishart(4.0, covariance_matrix=jt.eye(2)).log_prob(-jt.eye(2))
    # no KL of its own (as torch): the exponential-family Bregman form applies, as in torch
    a, b = (4.0, jt.eye(2, dtype=jt.float64)), (5.0, 2 * jt.eye(2, dtype=jt.float64))
    kl = D.kl_divergence(D.Wishart(a[0], covariance_matrix=a[1]), D.Wishart(b[0], covariance_matrix=b[1]))
    tkl = TD.kl_divergence(TD.Wishart(a[0], covariance_matrix=torch.eye(2, dtype=torch.float64)),
                           TD.Wishart(b[0], covariance_matrix=2 * torch.eye(2, dtype=torch.float64)))
    _close(kl, tkl, rtol=1e-9)
    # df's constraint depends on p without leaking into the class (torch writes it into the class dict)
    assert "df" in D.Wishart.arg_constraints and D.Wishart.arg_constraints["df"].lower_bound == 0
