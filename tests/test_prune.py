"""jt.nn.utils.prune against torch.nn.utils.prune: the masks of the deterministic methods (L1, Ln,
custom, global) on the same weights, iterative pruning, state-dict keys, the forward pre-hook and
gradients through the mask, `remove`, and the errors for bad amounts and dims."""
import numpy as np
import pytest
import torch
import torch.nn.utils.prune

import jtensor as jt

P_JT, P_T = jt.nn.utils.prune, torch.nn.utils.prune


def _pair(make, seed=0):
    """The same module in both libraries (jt's parameters copied from torch's)."""
    torch.manual_seed(seed)
    tm = make(torch).double()
    jm = make(jt).double()
    jm.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return jm, tm


def _linear(lib):
    return lib.nn.Linear(6, 5)


def _conv(lib):
    return lib.nn.Conv2d(3, 4, 3)


def _np(t):
    return np.asarray(t.detach())


def _same_state(jm, tm):
    assert list(jm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(_np(jm.state_dict()[k]), v.numpy(), rtol=1e-12, err_msg=k)


@pytest.mark.parametrize("amount", [0, 3, 0.0, 0.3, 1.0, 30])
def test_l1_unstructured_mask_matches_torch(amount):
    jm, tm = _pair(_linear)
    assert P_JT.l1_unstructured(jm, "weight", amount=amount) is jm
    P_T.l1_unstructured(tm, "weight", amount=amount)
    _same_state(jm, tm)
    np.testing.assert_allclose(_np(jm.weight), tm.weight.detach().numpy())
    assert [n for n, _ in jm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in jm.named_buffers()] == [n for n, _ in tm.named_buffers()]


@pytest.mark.parametrize("n,dim", [(1, 0), (2, 1), (float("inf"), -1), (2, -3)])
def test_ln_structured_mask_matches_torch(n, dim):
    jm, tm = _pair(_conv)
    P_JT.ln_structured(jm, "weight", amount=0.5, n=n, dim=dim)
    P_T.ln_structured(tm, "weight", amount=0.5, n=n, dim=dim)
    _same_state(jm, tm)


def test_iterative_pruning_composes_masks_like_torch():
    jm, tm = _pair(_conv)
    for P, m in ((P_JT, jm), (P_T, tm)):
        P.l1_unstructured(m, "weight", amount=10)
        P.ln_structured(m, "weight", amount=1, n=2, dim=0)
        P.l1_unstructured(m, "weight", amount=0.2)
        P.l1_unstructured(m, "bias", amount=2)
    _same_state(jm, tm)
    hooks = [h for h in jm._forward_pre_hooks.values() if isinstance(h, P_JT.BasePruningMethod)]
    assert sorted(type(h).__name__ for h in hooks) == ["L1Unstructured", "PruningContainer"]
    container = next(h for h in hooks if isinstance(h, P_JT.PruningContainer))
    assert [type(m).__name__ for m in container] == ["L1Unstructured", "LnStructured", "L1Unstructured"]
    assert len(container) == 3 and container[1].dim == 0


def test_custom_from_mask_and_importance_scores_match_torch():
    jm, tm = _pair(_linear)
    mask = np.random.default_rng(1).random((5, 6)) > 0.5
    scores = np.random.default_rng(2).random((5, 6))
    P_JT.custom_from_mask(jm, "weight", mask=jt.tensor(mask))
    P_T.custom_from_mask(tm, "weight", mask=torch.tensor(mask))
    P_JT.l1_unstructured(jm, "weight", amount=4, importance_scores=jt.tensor(scores))
    P_T.l1_unstructured(tm, "weight", amount=4, importance_scores=torch.tensor(scores))
    _same_state(jm, tm)


def test_global_unstructured_matches_torch():
    torch.manual_seed(3)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    jnet = jt.nn.Sequential(jt.nn.Linear(4, 8), jt.nn.Tanh(), jt.nn.Linear(8, 3)).double()
    jnet.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tnet.state_dict().items()})
    P_JT.l1_unstructured(jnet[0], "weight", amount=5)
    P_T.l1_unstructured(tnet[0], "weight", amount=5)
    for P, net in ((P_JT, jnet), (P_T, tnet)):
        P.global_unstructured([(net[0], "weight"), (net[2], "weight"), (net[2], "bias")],
                              pruning_method=P.L1Unstructured, amount=0.4)
    _same_state(jnet, tnet)
    with pytest.raises(TypeError, match="unstructured"):
        P_JT.global_unstructured([(jnet[0], "weight")], P_JT.LnStructured, amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="Iterable"):
        P_JT.global_unstructured(3, P_JT.L1Unstructured, amount=1)


def test_forward_hook_gradients_and_remove_match_torch():
    jm, tm = _pair(_linear)
    P_JT.l1_unstructured(jm, "weight", amount=0.5)
    P_T.l1_unstructured(tm, "weight", amount=0.5)
    assert P_JT.is_pruned(jm) and P_T.is_pruned(tm)
    with torch.no_grad():
        tm.weight_orig.add_(1.0)   # the hook recomputes weight from weight_orig at each forward
    with jt.no_grad():
        jm.weight_orig.add_(1.0)
    x = np.random.default_rng(0).standard_normal((3, 6))
    jm(jt.tensor(x)).pow(2).sum().backward()
    tm(torch.tensor(x)).pow(2).sum().backward()
    np.testing.assert_allclose(_np(jm.weight), tm.weight.detach().numpy())
    np.testing.assert_allclose(_np(jm.weight_orig.grad), tm.weight_orig.grad.numpy(), rtol=1e-12)
    assert P_JT.remove(jm, "weight") is jm
    P_T.remove(tm, "weight")
    assert not P_JT.is_pruned(jm)
    assert isinstance(jm.weight, jt.nn.Parameter)
    _same_state(jm, tm)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        P_JT.remove(jm, "weight")


def test_random_methods_prune_the_right_count():
    jm, _ = _pair(_conv)
    P_JT.random_unstructured(jm, "weight", amount=0.25)
    assert int((jm.weight_mask == 0).sum()) == round(0.25 * 108)
    jm2, _ = _pair(_conv)
    P_JT.random_structured(jm2, "weight", amount=2, dim=0)
    alive = _np(jm2.weight_mask).reshape(4, -1).any(axis=1)
    assert alive.sum() == 2 and (_np(jm2.weight_mask).reshape(4, -1).all(axis=1) == alive).all()
    jm3, _ = _pair(_linear)
    P_JT.identity(jm3, "weight")
    assert (_np(jm3.weight_mask) == 1).all() and "weight_orig" in dict(jm3.named_parameters())


def test_prune_method_without_module_matches_torch():
    t = np.random.default_rng(4).standard_normal((4, 5))
    jr = P_JT.L1Unstructured(amount=0.5).prune(jt.tensor(t))
    tr = P_T.L1Unstructured(amount=0.5).prune(torch.tensor(t))
    np.testing.assert_allclose(_np(jr), tr.numpy())


@pytest.mark.parametrize("call,exc", [
    (lambda P, m: P.l1_unstructured(m, "weight", amount=-1), ValueError),
    (lambda P, m: P.l1_unstructured(m, "weight", amount=1.5), ValueError),
    (lambda P, m: P.l1_unstructured(m, "weight", amount="a"), TypeError),
    (lambda P, m: P.l1_unstructured(m, "weight", amount=31), ValueError),
    (lambda P, m: P.ln_structured(m, "bias", amount=1, n=2, dim=0), ValueError),
    (lambda P, m: P.ln_structured(m, "weight", amount=1, n=2, dim=2), IndexError),
])
def test_errors_match_torch_and_leave_module_unpruned(call, exc):
    jm, tm = _pair(_linear)
    with pytest.raises(exc) as te:
        call(P_T, tm)
    with pytest.raises(exc) as je:
        call(P_JT, jm)
    assert [n for n, _ in jm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert not P_JT.is_pruned(jm)
