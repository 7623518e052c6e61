"""The char transformer's ops (layer_norm, softmax, sdpa, views) against PyTorch and finite differences.

- layer_norm's gradients (input, weight, bias; odd sizes, strided input, no affine part, float64,
  double backward);
- softmax's short-row Float32 kernel and its backward (rows of tens of elements: attention);
- the gradients of the views attention takes (transpose, permute, reshape, slices), of a leaf
  used through two views, and their second derivatives.
"""
import numpy as np
import pytest
import torch

import jtensor as jt

RNG = np.random.default_rng(0)


def _pair(a, grad=True):
    return jt.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(a, b, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), b.detach().numpy(), rtol=tol * 10, atol=tol)


# ---- layer_norm --------------------------------------------------------------------------------------

LN_CASES = [   # (shape, normalized_shape, weight?, bias?)
    ((5, 7, 33), (33,), True, True),
    ((16, 32, 64), (64,), True, True),
    ((3, 4, 5), (4, 5), True, True),
    ((2, 9), (9,), False, False),   # elementwise_affine False
    ((2, 3, 9), (9,), True, False),  # weight only
    ((2, 3, 9), (9,), False, True),  # bias only
    ((1, 1), (1,), True, True),
    ((4, 0, 6), (6,), True, True),   # no rows
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,ns,has_w,has_b", LN_CASES)
def test_layer_norm_gradients_match_torch(shape, ns, has_w, has_b, dtype):
    x = RNG.standard_normal(shape).astype(dtype) * 3 + 1
    go = RNG.standard_normal(shape).astype(dtype)
    jx, tx = _pair(x)
    jw, tw = _pair(RNG.standard_normal(ns).astype(dtype)) if has_w else (None, None)
    jb, tb = _pair(RNG.standard_normal(ns).astype(dtype)) if has_b else (None, None)
    jy = jt.nn.functional.layer_norm(jx, ns, jw, jb)
    ty = torch.nn.functional.layer_norm(tx, ns, tw, tb)
    _close(jy, ty, dtype)
    jy.backward(jt.tensor(go))
    ty.backward(torch.tensor(go))
    for j, t in ((jx, tx), (jw, tw), (jb, tb)):
        if j is not None:
            assert j.grad.shape == tuple(t.grad.shape)
            assert j.grad.is_contiguous()
            _close(j.grad, t.grad, dtype)


def test_layer_norm_gradients_non_contiguous_input():
    base = RNG.standard_normal((8, 6, 10)).astype(np.float32)
    jb, tb = _pair(base)
    jx, tx = jb.transpose(0, 1), tb.transpose(0, 1)   # (6, 8, 10), rows strided
    jw, tw = _pair(RNG.standard_normal(10).astype(np.float32))
    jbias, tbias = _pair(RNG.standard_normal(10).astype(np.float32))
    (jt.nn.functional.layer_norm(jx, (10,), jw, jbias) ** 2).sum().backward()
    (torch.nn.functional.layer_norm(tx, (10,), tw, tbias) ** 2).sum().backward()
    for j, t in ((jb, tb), (jw, tw), (jbias, tbias)):
        _close(j.grad, t.grad, np.float32)


def test_layer_norm_only_params_require_grad():
    """The input needs no gradient: only the weight's and bias's formulas run."""
    x = RNG.standard_normal((4, 7)).astype(np.float64)
    jx, tx = _pair(x, grad=False)
    jw, tw = _pair(RNG.standard_normal(7))
    jb, tb = _pair(RNG.standard_normal(7))
    (jt.nn.functional.layer_norm(jx, (7,), jw, jb) * jt.tensor(x)).sum().backward()
    (torch.nn.functional.layer_norm(tx, (7,), tw, tb) * torch.tensor(x)).sum().backward()
    _close(jw.grad, tw.grad, np.float64)
    _close(jb.grad, tb.grad, np.float64)


def test_layer_norm_weight_grad_owns_its_memory():
    """The weight's and bias's gradients are separate tensors an optimizer may write in place."""
    jx = jt.randn(6, 8, requires_grad=True)
    ln = jt.nn.LayerNorm(8)
    ln(jx).sum().backward()
    assert ln.weight.grad._base is not ln.bias.grad._base
    assert ln.weight.grad.numel() == 8 and ln.bias.grad.numel() == 8
    ln.weight.grad.add_(1)   # an optimizer writes in place: the bias's gradient must not change
    np.testing.assert_allclose(ln.bias.grad.numpy(), np.full(8, 6.0), rtol=1e-6)


def test_layer_norm_gradcheck_and_double_backward():
    x = jt.randn(3, 6, dtype=jt.float64, requires_grad=True)
    w = jt.randn(6, dtype=jt.float64, requires_grad=True)
    b = jt.randn(6, dtype=jt.float64, requires_grad=True)
    assert jt.autograd.gradcheck(lambda x, w, b: jt.nn.functional.layer_norm(x, (6,), w, b), (x, w, b))
    # create_graph still takes the composed (differentiable) path
    tx, tw, tb = (torch.tensor(t.detach().numpy(), requires_grad=True) for t in (x, w, b))
    gj = jt.autograd.grad((jt.nn.functional.layer_norm(x, (6,), w, b) ** 3).sum(), (x, w, b), create_graph=True)
    gt = torch.autograd.grad((torch.nn.functional.layer_norm(tx, (6,), tw, tb) ** 3).sum(), (tx, tw, tb), create_graph=True)
    sum(g.sum() for g in gj).backward()
    sum(g.sum() for g in gt).backward()
    for j, t in ((x, tx), (w, tw), (b, tb)):
        _close(j.grad, t.grad, np.float64)


# ---- softmax -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,dim", [((16, 32, 32), -1), ((512, 32), 1), ((3, 1), -1), ((4, 7), -1),
                                       ((2, 100), -1), ((5, 33), 0), ((2, 3, 17), 1), ((6,), 0)])
def test_softmax_rows_match_torch(shape, dim, dtype):
    x = (RNG.standard_normal(shape) * 4).astype(dtype)
    go = RNG.standard_normal(shape).astype(dtype)
    jx, tx = _pair(x)
    jy, ty = jt.softmax(jx, dim), torch.softmax(tx, dim)
    _close(jy, ty, dtype)
    jy.backward(jt.tensor(go))
    ty.backward(torch.tensor(go))
    _close(jx.grad, tx.grad, dtype)


def test_softmax_causal_mask_rows():
    """The attention pattern: -inf above the diagonal; a fully masked row gives NaN, as torch."""
    x = RNG.standard_normal((4, 32, 32)).astype(np.float32)
    x[:, np.triu_indices(32, 1)[0], np.triu_indices(32, 1)[1]] = -np.inf
    x[1, 5, :] = -np.inf
    x[2, 7, 3] = np.nan
    jx, tx = _pair(x)
    jy, ty = jt.softmax(jx, -1), torch.softmax(tx, -1)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6, equal_nan=True)
    go = RNG.standard_normal(x.shape).astype(np.float32)
    jy.backward(jt.tensor(go))
    ty.backward(torch.tensor(go))
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6, equal_nan=True)


def test_softmax_non_contiguous_and_gradcheck():
    base = RNG.standard_normal((32, 6)).astype(np.float32)
    jb, tb = _pair(base)
    jy, ty = jt.softmax(jb.T, -1), torch.softmax(tb.T, -1)   # rows of 32, strided
    _close(jy, ty, np.float32)
    (jy * jy).sum().backward()
    (ty * ty).sum().backward()
    _close(jb.grad, tb.grad, np.float32)
    x = jt.randn(3, 32, dtype=jt.float64, requires_grad=True)
    assert jt.autograd.gradcheck(lambda x: jt.softmax(x, -1), (x,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal,L,S", [(True, 32, 32), (False, 7, 33), (True, 5, 9), (True, 9, 5)])
def test_sdpa_attention_softmax_rows_match_torch(causal, L, S, dtype):
    """The fused attention softmax's Float32 rows (the same short-row kernel as softmax's)."""
    q = RNG.standard_normal((2, 3, L, 16)).astype(dtype)
    k, v = (RNG.standard_normal((2, 3, S, 16)).astype(dtype) for _ in range(2))
    js, ts = [_pair(a) for a in (q, k, v)], None
    ts = [p[1] for p in js]
    js = [p[0] for p in js]
    jo = jt.nn.functional.scaled_dot_product_attention(*js, is_causal=causal)
    to = torch.nn.functional.scaled_dot_product_attention(*ts, is_causal=causal)
    _close(jo, to, dtype)
    go = RNG.standard_normal(tuple(to.shape)).astype(dtype)
    jo.backward(jt.tensor(go))
    to.backward(torch.tensor(go))
    for j, t in zip(js, ts):
        _close(j.grad, t.grad, dtype)


# ---- view gradients ----------------------------------------------------------------------------

VIEWS = [
    ("transpose", lambda t: t.transpose(-2, -1)),
    ("permute", lambda t: t.permute(2, 0, 1)),
    ("mT", lambda t: t.mT),
    ("reshape", lambda t: t.reshape(4, -1)),
    ("view flat", lambda t: t.view(-1)),
    ("unsqueeze-transpose", lambda t: t.unsqueeze(1).transpose(0, 3)),
    ("slice (falls back)", lambda t: t[:, 1:]),
    ("select (falls back)", lambda t: t[1]),
]


@pytest.mark.parametrize("name,view", VIEWS, ids=[v[0] for v in VIEWS])
def test_view_gradients_match_torch(name, view):
    x = RNG.standard_normal((2, 4, 6)).astype(np.float64)
    jx, tx = _pair(x)
    jv, tv = view(jx), view(tx)
    w = RNG.standard_normal(tuple(tv.shape))
    (jv * jt.tensor(w)).sum().backward()
    (tv * torch.tensor(w)).sum().backward()
    assert jx.grad.is_contiguous()
    _close(jx.grad, tx.grad, np.float64)


def test_transposed_view_of_a_non_leaf_in_attention():
    """q @ k.T with k computed: the transposed view's gradient flows on through the matmul."""
    q, k = (RNG.standard_normal((3, 5, 4)).astype(np.float32) for _ in range(2))
    jq, tq = _pair(q)
    jk, tk = _pair(k)
    jo = (jq * 2) @ (jk * 3).transpose(-2, -1)
    to = (tq * 2) @ (tk * 3).transpose(-2, -1)
    go = RNG.standard_normal(tuple(to.shape)).astype(np.float32)
    jo.backward(jt.tensor(go))
    to.backward(torch.tensor(go))
    _close(jq.grad, tq.grad, np.float32)
    _close(jk.grad, tk.grad, np.float32)


def test_view_gradient_of_a_leaf_used_twice():
    """Two rearranged views of one leaf: the gradients add, and the leaf's .grad is its own memory."""
    x = RNG.standard_normal((3, 4)).astype(np.float64)
    jx, tx = _pair(x)
    (jx.T * 2).sum().backward(retain_graph=True)
    ((jx.T @ jx) + jx.reshape(2, 6).sum()).sum().backward()
    (tx.T * 2).sum().backward(retain_graph=True)
    ((tx.T @ tx) + tx.reshape(2, 6).sum()).sum().backward()
    _close(jx.grad, tx.grad, np.float64)


def test_view_gradient_double_backward():
    x = jt.randn(3, 4, dtype=jt.float64, requires_grad=True)
    assert jt.autograd.gradgradcheck(lambda x: (x.T ** 3).permute(1, 0).reshape(-1), (x,)) \
        if hasattr(jt.autograd, "gradgradcheck") else True
    (g,) = jt.autograd.grad((x.T ** 3).sum(), (x,), create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.detach().numpy(), rtol=1e-12)
