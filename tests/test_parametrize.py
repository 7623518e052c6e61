"""jt.nn.utils.parametrize, parametrizations and the hook-based weight/spectral norm against torch:
values, gradients of the originals, state-dict keys, assignment through right_inverse, removal."""
import numpy as np
import pytest
import torch

import jtensor as jt


def _linear(lib, out=4, inp=3, seed=0):
    lib.manual_seed(seed)
    return lib.nn.Linear(inp, out).double()


def _sync(jm, tm):
    """Copy jm's state into tm (same keys), so both start equal."""
    with torch.no_grad():
        for k, v in jm.state_dict().items():
            tm.state_dict()[k].copy_(torch.from_numpy(np.asarray(v).copy()))


def _np(t):
    return np.asarray(t.detach())


class Symmetric:
    """X -> triu(X) + triu(X, 1).T, for either library."""

    def __init__(self, lib):
        class Sym(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

            def right_inverse(self, A):
                return A.triu()
        self.module = Sym


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization_matches_torch(dim):
    jm, tm = _linear(jt), _linear(torch)
    _sync(jm, tm)
    jt.nn.utils.parametrizations.weight_norm(jm, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(tm, dim=dim)
    assert list(jm.state_dict()) == list(tm.state_dict())
    for k in tm.state_dict():
        np.testing.assert_allclose(_np(jm.state_dict()[k]), tm.state_dict()[k].numpy(), rtol=1e-12, err_msg=k)
    x = np.random.default_rng(0).standard_normal((5, 3))
    jm(jt.tensor(x)).pow(2).sum().backward()
    tm(torch.tensor(x)).pow(2).sum().backward()
    for (k, p), q in zip(jm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(_np(p.grad), q.grad.numpy(), rtol=1e-10, err_msg=k)
    np.testing.assert_allclose(_np(jm.weight), tm.weight.detach().numpy(), rtol=1e-12)


def test_custom_parametrization_assignment_and_removal():
    for lib in (jt, torch):
        m = lib.nn.Linear(3, 3).double()
        lib.nn.utils.parametrize.register_parametrization(m, "weight", Symmetric(lib).module())
        assert lib.nn.utils.parametrize.is_parametrized(m, "weight")
        assert lib.nn.utils.parametrize.type_before_parametrizations(m) is lib.nn.Linear
        w = m.weight
        assert lib.equal(w, w.T)
        a = lib.tensor([[1.0, 2.0, 3.0], [2.0, 5.0, 6.0], [3.0, 6.0, 9.0]], dtype=lib.float64)
        m.weight = a                                  # through right_inverse
        assert lib.equal(m.weight, a)
        opt_param = m.parametrizations.weight.original
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight")
        assert type(m) is lib.nn.Linear and lib.equal(m.weight, a) and m.weight is opt_param
        assert not lib.nn.utils.parametrize.is_parametrized(m)


def test_cached_and_errors():
    m = jt.nn.Linear(3, 3)
    jt.nn.utils.parametrize.register_parametrization(m, "weight", Symmetric(jt).module())
    with jt.nn.utils.parametrize.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    with pytest.raises(ValueError, match="does not have a parameter"):
        jt.nn.utils.parametrize.register_parametrization(m, "nothing", Symmetric(jt).module())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        jt.nn.utils.parametrize.remove_parametrizations(m, "bias")


def test_spectral_norm_parametrization_matches_torch_from_the_same_vectors():
    jm, tm = _linear(jt, 5, 4), _linear(torch, 5, 4)
    _sync(jm, tm)
    jt.nn.utils.parametrizations.spectral_norm(jm)
    torch.nn.utils.parametrizations.spectral_norm(tm)
    # the power iteration's random start vectors: torch's become jtensor's
    jm.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((3, 4))
    for step in range(3):
        jy, ty = jm(jt.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_allclose(_np(jy), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    jy.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(_np(jm.parametrizations.weight.original.grad),
                               tm.parametrizations.weight.original.grad.numpy(), rtol=1e-9, atol=1e-12)
    s = np.linalg.svd(_np(jm.weight), compute_uv=False)[0]
    assert abs(s - 1) < 1e-6   # the normalized weight's largest singular value


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm"])
def test_hook_based_norms_match_torch(kind):
    jm, tm = _linear(jt, 5, 4), _linear(torch, 5, 4)
    _sync(jm, tm)
    with pytest.warns(FutureWarning) if kind == "weight_norm" else _nothing():
        getattr(jt.nn.utils, kind)(jm)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        getattr(torch.nn.utils, kind)(tm)
    assert sorted(jm.state_dict()) == sorted(tm.state_dict())
    jm.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((3, 4))
    for _ in range(2):
        jy, ty = jm(jt.tensor(x)), tm(torch.tensor(x))
        np.testing.assert_allclose(_np(jy), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    jy.pow(2).sum().backward()
    ty.pow(2).sum().backward()
    for (k, p), (tk, q) in zip(sorted(jm.named_parameters()), sorted(tm.named_parameters())):
        np.testing.assert_allclose(_np(p.grad), q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
    getattr(jt.nn.utils, "remove_" + kind)(jm)
    getattr(torch.nn.utils, "remove_" + kind)(tm)
    assert sorted(jm.state_dict()) == sorted(tm.state_dict())
    np.testing.assert_allclose(_np(jm.weight), tm.weight.detach().numpy(), rtol=1e-10, atol=1e-12)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
