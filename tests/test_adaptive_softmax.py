"""jt.nn.AdaptiveLogSoftmaxWithLoss against torch's with torch's parameters copied in: forward
outputs and loss, gradients, log_prob, predict, unbatched inputs and the errors."""
import numpy as np
import pytest
import torch

import jtensor as jt

RNG = np.random.default_rng(0)


def _pair(in_features=16, n_classes=20, cutoffs=(4, 10, 15), **kw):
    torch.manual_seed(0)
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs), **kw).double()
    jm = jt.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, list(cutoffs), **kw).double()
    assert list(jm.state_dict()) == list(tm.state_dict())
    jm.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return jm, tm


def _np(t):
    return np.asarray(t.detach()) if isinstance(t, jt.Tensor) else t.detach().numpy()


@pytest.mark.parametrize("kw", [{}, {"div_value": 2.0, "head_bias": True}, {"cutoffs": (5,)}])
def test_forward_loss_and_gradients_match_torch(kw):
    jm, tm = _pair(**kw)
    x = RNG.standard_normal((12, 16))
    y = np.array([0, 3, 4, 9, 10, 14, 15, 19, 1, 5, 16, 2])
    jx, tx = jt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    jo, to = jm(jx, jt.tensor(y)), tm(tx, torch.tensor(y))
    np.testing.assert_allclose(_np(jo.output), _np(to.output), rtol=1e-10)
    np.testing.assert_allclose(_np(jo.loss), _np(to.loss), rtol=1e-10)
    jo.loss.backward()
    to.loss.backward()
    np.testing.assert_allclose(_np(jx.grad), _np(tx.grad), rtol=1e-9, atol=1e-12)
    for (k, p), q in zip(jm.named_parameters(), tm.parameters()):
        np.testing.assert_allclose(_np(p.grad), _np(q.grad), rtol=1e-9, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(_np(jm.log_prob(jt.tensor(x))), _np(tm.log_prob(torch.tensor(x))), rtol=1e-10)
    np.testing.assert_array_equal(_np(jm.predict(jt.tensor(x))), _np(tm.predict(torch.tensor(x))))


def test_unbatched_and_single_row_match_torch():
    jm, tm = _pair()
    x = RNG.standard_normal(16)
    for target in (2, 17):
        jo, to = jm(jt.tensor(x), jt.tensor(target)), tm(torch.tensor(x), torch.tensor(target))
        assert tuple(jo.output.shape) == tuple(to.output.shape) == ()
        np.testing.assert_allclose(_np(jo.output), _np(to.output), rtol=1e-10)
    x1 = RNG.standard_normal((1, 16))
    jo, to = jm(jt.tensor(x1), jt.tensor([12])), tm(torch.tensor(x1), torch.tensor([12]))
    np.testing.assert_allclose(_np(jo.output), _np(to.output), rtol=1e-10)


def test_errors_match_torch():
    for lib in (jt, torch):
        for cutoffs in ([], [4, 2], [0, 3], [3, 20], [3, 3]):
            with pytest.raises(ValueError, match="cutoffs should be"):
                lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
        m = lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [4, 10]).double()
        x = lib.ones(3, 8, dtype=lib.float64)
        with pytest.raises(RuntimeError, match="Target values should be in \\[0, 19\\]"):
            m(x, lib.tensor([0, 20, 3]))
        with pytest.raises(RuntimeError, match="same size in the batch dimension"):
            m(x, lib.tensor([0, 1]))
        with pytest.raises(RuntimeError, match="multi-target not supported"):
            m(x, lib.zeros(3, 2, dtype=lib.int64))
        with pytest.raises(RuntimeError, match="0D target tensor expects 1D input"):
            m(x, lib.tensor(1))
