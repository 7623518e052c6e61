"""jt.nn.grad's conv{1,2,3}d_input / conv{1,2,3}d_weight against torch.nn.grad, with strides,
padding, dilation and groups, and gradients through them."""
import numpy as np
import pytest
import torch

import jtensor as jt

RNG = np.random.default_rng(0)

CASES = [
    (1, (2, 4, 11), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
    (1, (1, 3, 9), (2, 3, 2), dict(dilation=2)),
    (2, (2, 4, 7, 6), (6, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
    (2, (1, 3, 8, 8), (5, 3, 2, 3), dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    (3, (1, 2, 5, 6, 5), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
]


@pytest.mark.parametrize("d,xs,ws,kw", CASES)
def test_input_and_weight_gradients_match_torch(d, xs, ws, kw):
    x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
    conv = getattr(torch.nn.functional, f"conv{d}d")
    go = RNG.standard_normal(conv(torch.tensor(x), torch.tensor(w), **kw).shape)
    gi_j = getattr(jt.nn.grad, f"conv{d}d_input")(xs, jt.tensor(w), jt.tensor(go), **kw)
    gi_t = getattr(torch.nn.grad, f"conv{d}d_input")(xs, torch.tensor(w), torch.tensor(go), **kw)
    np.testing.assert_allclose(np.asarray(gi_j), gi_t.numpy(), rtol=1e-10, atol=1e-12)
    gw_j = getattr(jt.nn.grad, f"conv{d}d_weight")(jt.tensor(x), ws, jt.tensor(go), **kw)
    gw_t = getattr(torch.nn.grad, f"conv{d}d_weight")(torch.tensor(x), ws, torch.tensor(go), **kw)
    np.testing.assert_allclose(np.asarray(gw_j), gw_t.numpy(), rtol=1e-10, atol=1e-12)


def test_result_is_differentiable_like_torch():
    xs, ws = (1, 2, 6, 6), (3, 2, 3, 3)
    w, go = RNG.standard_normal(ws), RNG.standard_normal((1, 3, 4, 4))
    grads = []
    for lib in (jt, torch):
        wt = lib.tensor(w, requires_grad=True)
        lib.nn.grad.conv2d_input(xs, wt, lib.tensor(go)).pow(2).sum().backward()
        grads.append(np.asarray(wt.grad) if lib is jt else wt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


def test_wrong_grad_output_shape_raises():
    with pytest.raises(RuntimeError, match="grad_output"):
        jt.nn.grad.conv2d_input((1, 2, 6, 6), jt.ones(3, 2, 3, 3), jt.ones(1, 3, 5, 5))
