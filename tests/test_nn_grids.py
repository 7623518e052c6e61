"""grid_sample, affine_grid, max unpooling, pdist, gumbel_softmax, relu_, NLLLoss2d and DataParallel against
torch.nn(.functional): every mode, padding mode and align_corners, dtypes, warnings and errors.
Gradients are in test_gradients.py (rows grid_sample, affine_grid, max_unpool)."""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn.functional as F

MODES = list(itertools.product(["bilinear", "nearest"], ["zeros", "border", "reflection"], [False, True]))


@pytest.mark.parametrize("mode,pad,ac", MODES, ids=["-".join(map(str, m)) for m in MODES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_grid_sample_matches_torch(mode, pad, ac, dtype, rng):
    x = rng.standard_normal((2, 3, 5, 6)).astype(dtype)
    g = rng.uniform(-1.4, 1.4, (2, 4, 3, 2)).astype(dtype)
    got = F.grid_sample(jt.tensor(x), jt.tensor(g), mode, pad, ac)
    want = TF.grid_sample(torch.tensor(x), torch.tensor(g), mode, pad, ac)
    assert got.dtype == getattr(jt, dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("size,ac", [((2, 3, 4, 5), False), ((2, 3, 4, 5), True), ((1, 1, 1, 3), False),
                                     ((2, 1, 2, 3, 4), True), ((2, 1, 2, 3, 4), False)])
def test_affine_grid_matches_torch(size, ac, rng):
    theta = rng.standard_normal((size[0], len(size) - 2, len(size) - 1))
    got = F.affine_grid(jt.tensor(theta), size, ac)
    want = TF.affine_grid(torch.tensor(theta), size, ac)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_identity_transform_resamples_the_image(rng):
    x = jt.tensor(rng.standard_normal((1, 2, 4, 6)))
    grid = F.affine_grid(jt.tensor([[[1.0, 0, 0], [0, 1.0, 0]]], dtype=jt.float64), (1, 2, 4, 6), align_corners=False)
    np.testing.assert_allclose(F.grid_sample(x, grid, align_corners=False).numpy(), x.numpy(), atol=1e-12)


def test_align_corners_none_warns_as_torch(rng):
    x, g = jt.ones(1, 1, 2, 2), jt.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(x, g, align_corners=False)


@pytest.mark.parametrize("call,err,words", [
    (lambda: F.grid_sample(jt.ones(1, 1, 2, 2), jt.zeros(1, 1, 1, 2), mode="cubic"), ValueError, "expected mode"),
    (lambda: F.grid_sample(jt.ones(1, 1, 2, 2), jt.zeros(1, 1, 1, 2), padding_mode="wrap"), ValueError,
     "padding_mode"),
    (lambda: F.grid_sample(jt.ones(1, 1, 2, 2), jt.zeros(2, 1, 1, 2)), RuntimeError, "same batch size"),
    (lambda: F.grid_sample(jt.ones(1, 1, 2, 2), jt.zeros(1, 1, 1, 2, dtype=jt.float64)), RuntimeError, "same dtype"),
    (lambda: F.grid_sample(jt.ones(1, 1, 2, 2), jt.zeros(1, 1, 1, 2), mode="bicubic"), NotImplementedError,
     "bicubic"),
    (lambda: F.affine_grid(jt.ones(2, 2, 3), (1, 1, 2, 2)), ValueError, "Nx2x3"),
    (lambda: F.affine_grid(jt.ones(1, 2, 3), (1, 1, 2)), NotImplementedError, "4D and 5D"),
    (lambda: F.affine_grid(jt.ones(1, 2, 3, dtype=jt.int64), (1, 1, 2, 2)), ValueError, "floating point"),
])
def test_grid_errors(call, err, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(err, match=words):
            call()


@pytest.mark.parametrize("nd,shape,kernel,stride,padding,output_size", [
    (1, (2, 3, 8), 2, None, 0, None),
    (1, (3, 9), 3, 2, 1, None),
    (2, (2, 3, 6, 8), 2, None, 0, None),
    (2, (2, 3, 7, 9), 2, None, 0, (7, 9)),
    (2, (3, 6, 6), 3, 2, 1, (6, 6)),
])
def test_max_unpool_matches_torch(nd, shape, kernel, stride, padding, output_size, rng):
    x = rng.standard_normal(shape)
    pool, unpool = f"max_pool{nd}d", f"max_unpool{nd}d"
    tv, ti = getattr(TF, pool)(torch.tensor(x), kernel, stride, padding, return_indices=True)
    jv, ji = getattr(F, pool)(jt.tensor(x), kernel, stride, padding, return_indices=True)
    want = getattr(TF, unpool)(tv, ti, kernel, stride, padding, output_size)
    got = getattr(F, unpool)(jv, ji, kernel, stride, padding, output_size)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    module = getattr(jt.nn, f"MaxUnpool{nd}d")(kernel, stride, padding)
    assert repr(module) == repr(getattr(torch.nn, f"MaxUnpool{nd}d")(kernel, stride, padding))
    np.testing.assert_array_equal(module(jv, ji, output_size).numpy(), want.numpy())


def test_max_unpool3d_scatters_flat_indices():
    values = jt.tensor([[[[[5.0]]]]])
    index = jt.tensor([[[[[7]]]]])
    out = F.max_unpool3d(values, index, 2)
    want = TF.max_unpool3d(torch.tensor([[[[[5.0]]]]]), torch.tensor([[[[[7]]]]]), 2)
    np.testing.assert_array_equal(out.numpy(), want.numpy())


@pytest.mark.parametrize("call,err,words", [
    (lambda v, i: F.max_unpool2d(v, i, 2, output_size=(20, 20)), ValueError, "invalid output_size"),
    (lambda v, i: F.max_unpool2d(v, i[:, :1], 2), RuntimeError, "shape of indices"),
    (lambda v, i: F.max_unpool2d(v, i.to(jt.int32), 2), RuntimeError, "int64"),
    (lambda v, i: F.max_unpool2d(v, i * 100, 2), RuntimeError, "invalid max index"),
])
def test_max_unpool_errors(call, err, words):
    v, i = F.max_pool2d(jt.randn(1, 2, 4, 4), 2, return_indices=True)
    with pytest.raises(err, match=words):
        call(v, i)


# ---- smaller torch.nn pieces: pdist, gumbel_softmax, relu_, NLLLoss2d, DataParallel ----------------

@pytest.mark.parametrize("p", [2.0, 1.0, 0.5, 3.0, float("inf"), 0.0])
def test_pdist_matches_torch(p, rng):
    x = rng.standard_normal((5, 3))
    xj, xt = jt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, want = F.pdist(xj, p), TF.pdist(xt, p)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12, atol=1e-12)
    if p not in (0.0, float("inf")):
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="2D"):
        F.pdist(jt.ones(3))


def test_gumbel_softmax_samples_and_straight_through(rng):
    jt.manual_seed(3)
    logits = jt.tensor(np.log([[0.7, 0.2, 0.1]]).repeat(4000, 0), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.detach().sum(-1).numpy(), 1.0, rtol=1e-12)
    hard = F.gumbel_softmax(logits, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(-1) == 1).all()
    freq = h.mean(0)   # the argmax of logits + Gumbel noise is a sample of softmax(logits)
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.03)
    (hard * jt.tensor([1.0, 2.0, 3.0])).sum().backward()   # gradient of the soft sample flows through
    assert logits.grad is not None and np.isfinite(logits.grad.numpy()).all() and np.abs(logits.grad.numpy()).sum() > 0


def test_relu_inplace():
    t = jt.tensor([-1.0, 2.0, -0.5])
    assert F.relu_(t) is t
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0, 0.0])


def test_nll_loss_2d_is_deprecated_nll_loss(rng):
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        loss = jt.nn.NLLLoss2d()
    x = rng.standard_normal((2, 3, 4, 4))
    y = rng.integers(0, 3, (2, 4, 4))
    want = torch.nn.NLLLoss()(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(loss(jt.tensor(x), jt.tensor(y)).item(), want.item(), rtol=1e-12)


def test_data_parallel_runs_the_module_on_the_cpu():
    inner = jt.nn.Linear(2, 3)
    model = jt.nn.DataParallel(inner)
    assert model.module is inner and model.device_ids == []
    assert repr(model) == repr(torch.nn.DataParallel(torch.nn.Linear(2, 3)))
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    x = jt.randn(4, 2)
    np.testing.assert_array_equal(model(x).detach().numpy(), inner(x).detach().numpy())
