"""jt.utils.checkpoint: gradients equal those of the plain run (and torch's), dropout masks repeat
in the recomputation, the forward's graph is not kept, and jt.autograd.grad works through it."""
import gc
import weakref

import numpy as np
import pytest
import torch

import jtensor as jt
from jtensor.utils.checkpoint import checkpoint, checkpoint_sequential


def _block(lib, seed=0):
    lib.manual_seed(seed)
    return lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.Tanh(), lib.nn.Linear(8, 6)).double()


def _copy_weights(src, dst):
    for p, q in zip(src.parameters(), dst.parameters()):
        with torch.no_grad():
            q.copy_(torch.from_numpy(np.asarray(p.detach())))


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_gradients_match_torch(use_reentrant):
    jm, tm = _block(jt), _block(torch)
    _copy_weights(jm, tm)
    x = np.random.default_rng(0).standard_normal((5, 6))
    grads = []
    for lib, m, ck in ((jt, jm, checkpoint), (torch, tm, torch.utils.checkpoint.checkpoint)):
        xi = lib.tensor(x, requires_grad=True)
        h = xi * 2
        y = ck(m, h, use_reentrant=use_reentrant)
        (y.sin() * h).sum().backward()
        grads.append([np.asarray(t.grad.detach()) for t in [xi, *m.parameters()]])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_dropout_masks_repeat_and_match_the_plain_run():
    def run(use_ck):
        m = _block(jt, 1)
        drop = jt.nn.Dropout(0.5)
        f = lambda z: drop(m(z)) * z
        x = jt.tensor(np.random.default_rng(1).standard_normal((4, 6)), requires_grad=True)
        jt.manual_seed(7)
        y = checkpoint(f, x, use_reentrant=False) if use_ck else f(x)
        y.pow(2).sum().backward()
        return y.detach(), x.grad, [p.grad for p in m.parameters()]
    y0, gx0, gp0 = run(False)
    y1, gx1, gp1 = run(True)
    assert jt.equal(y0, y1) and jt.allclose(gx0, gx1)
    assert all(jt.allclose(a, b) for a, b in zip(gp0, gp1))


def test_autograd_grad_and_double_backward():
    w = jt.tensor([0.5, -1.5, 2.0], dtype=jt.float64, requires_grad=True)
    x = jt.tensor([1.0, 2.0, 3.0], dtype=jt.float64, requires_grad=True)
    f = lambda z: (z * w).exp()
    y = checkpoint(f, x, use_reentrant=False)
    gx, gw = jt.autograd.grad(y.sum(), [x, w], create_graph=True)
    np.testing.assert_allclose(np.asarray(gx.detach()), np.asarray((w * (x * w).exp()).detach()))
    np.testing.assert_allclose(np.asarray(gw.detach()), np.asarray((x * (x * w).exp()).detach()))
    (g2,) = jt.autograd.grad(gx.sum(), [x])   # d/dx of w * exp(x w) = w^2 exp(x w)
    np.testing.assert_allclose(np.asarray(g2), np.asarray((w * w * (x * w).exp()).detach()))


def test_intermediates_are_not_kept():
    seen = []

    def f(z):
        h = z.exp()
        seen.append(weakref.ref(h))
        return h.sin()
    x = jt.ones(3, requires_grad=True)
    y = checkpoint(f, x, use_reentrant=False)
    gc.collect()
    assert seen[0]() is None    # the first run's intermediate is gone
    y.sum().backward()
    assert jt.allclose(x.grad, (x.exp().cos() * x.exp()).detach())


def test_tuple_outputs_non_tensor_values_and_no_grad():
    x = jt.ones(2, requires_grad=True)
    a, n, b = checkpoint(lambda z: (z * 2, 3, z * 3), x, use_reentrant=False)
    assert n == 3
    (a + b).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    with jt.no_grad():
        assert not checkpoint(lambda z: z * 2, x, use_reentrant=False).requires_grad


def test_checkpoint_sequential_matches_plain():
    jt.manual_seed(0)
    seq = jt.nn.Sequential(*[jt.nn.Linear(4, 4) for _ in range(6)]).double()
    x = jt.randn(3, 4, dtype=jt.float64, requires_grad=True)
    checkpoint_sequential(seq, 3, x, use_reentrant=False).sum().backward()
    g_ck = [p.grad.clone() for p in seq.parameters()] + [x.grad.clone()]
    seq.zero_grad()
    x.grad = None
    seq(x).sum().backward()
    g = [p.grad for p in seq.parameters()] + [x.grad]
    assert all(jt.allclose(a, b) for a, b in zip(g_ck, g))


def test_use_reentrant_must_be_passed_and_kwargs_rules():
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(lambda z: z * 2, jt.ones(1, requires_grad=True))
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        checkpoint(lambda z, k: z * k, jt.ones(1, requires_grad=True), use_reentrant=True, k=2)
