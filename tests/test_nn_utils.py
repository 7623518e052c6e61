"""jt.nn.utils against torch.nn.utils: the same clipped gradients and returned norms, the same
flattened parameters, the same padded sequences (and their gradients), and torch's errors."""
import math
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt
from jtensor.nn import utils as jutils
from jtensor.nn.utils.rnn import pad_sequence, unpad_sequence

SHAPES = [(3, 4), (5,), ()]


def _params(dtype=np.float32, scale=3.0, seed=0, nonfinite=None):
    """Pairs of (jt, torch) parameters with the same values and gradients."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape in SHAPES:
        value = rng.standard_normal(shape).astype(dtype)
        grad = (rng.standard_normal(shape) * scale).astype(dtype)
        if nonfinite is not None and grad.ndim:
            grad.flat[0] = nonfinite
        p, q = jt.nn.Parameter(jt.tensor(value)), torch.nn.Parameter(torch.tensor(value))
        p.grad, q.grad = jt.tensor(grad), torch.tensor(grad)
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def _assert_grads_equal(ours, theirs, rtol=1e-6):
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("foreach", [None, False])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm, foreach):
    ours, theirs = _params(dtype)
    a = jutils.clip_grad_norm_(ours, max_norm, norm_type=norm_type, foreach=foreach)
    b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type, foreach=foreach)
    assert isinstance(a, jt.Tensor) and a.shape == () and str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)
    _assert_grads_equal(ours, theirs)


def test_clip_grad_norm_single_tensor_generator_and_missing_grads():
    ours, theirs = _params()
    ours[1].grad, theirs[1].grad = None, None
    a = jutils.clip_grad_norm_((p for p in ours), 1.0)
    b = torch.nn.utils.clip_grad_norm_((p for p in theirs), 1.0)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)
    assert ours[1].grad is None
    _assert_grads_equal([ours[0], ours[2]], [theirs[0], theirs[2]])
    a = jutils.clip_grad_norm_(ours[0], 0.1, 1.0)   # a single tensor
    b = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1, 1.0)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)
    _assert_grads_equal(ours[:1], theirs[:1])
    assert jutils.clip_grad_norm_([], 1.0).item() == torch.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient clipping will occur."):
        jutils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_clip_grad_norm_nonfinite(bad):
    ours, theirs = _params(nonfinite=bad)
    msg = "The total norm of order 2.0 for gradients from `parameters` is non-finite, so it cannot be clipped"
    for clip, params in ((jutils.clip_grad_norm_, ours), (torch.nn.utils.clip_grad_norm_, theirs)):
        with pytest.raises(RuntimeError, match=msg):
            clip(params, 1.0, error_if_nonfinite=True)
    a = jutils.clip_grad_norm_(ours, 1.0)   # by default the gradients are scaled by the non-finite norm
    b = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isnan(a.item()) == math.isnan(b.item()) and math.isinf(a.item()) == math.isinf(b.item())
    _assert_grads_equal(ours, theirs)


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    ours, theirs = _params()
    a = jutils.get_total_norm([p.grad for p in ours], 3.0)
    b = torch.nn.utils.get_total_norm([q.grad for q in theirs], 3.0)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-6)
    jutils.clip_grads_with_norm_(ours, 2.0, a)
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, b)
    _assert_grads_equal(ours, theirs)


@pytest.mark.parametrize("clip_value", [0.5, 2, 100.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _params()
    ours[2].grad = theirs[2].grad = None
    assert jutils.clip_grad_value_(ours, clip_value, foreach=None) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads_equal(ours[:2], theirs[:2])
    assert ours[2].grad is None
    ours, theirs = _params()
    jutils.clip_grad_value_(ours[0], clip_value)
    torch.nn.utils.clip_grad_value_(theirs[0], clip_value)
    _assert_grads_equal(ours[:1], theirs[:1])


def test_clipping_does_not_record_autograd():
    ours, _ = _params()
    ours[0].grad = ours[0].grad.requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jutils.clip_grad_norm_(ours, 0.1)
    assert ours[0].grad.grad_fn is None


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = _params(np.float64)
    v = jutils.parameters_to_vector(ours)
    w = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(v.numpy(), w.detach().numpy())
    assert v.requires_grad and v.shape == (12 + 5 + 1,)
    (v * v).sum().backward()   # differentiable, as torch's cat of views: grads accumulate 2 * p
    (w * w).sum().backward()
    _assert_grads_equal(ours, theirs)
    new = np.arange(18, dtype=np.float64)
    jutils.vector_to_parameters(jt.tensor(new), ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        assert p.requires_grad and p.grad_fn is None
    for fn in (jutils.vector_to_parameters, torch.nn.utils.vector_to_parameters):
        with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
            fn([1.0, 2.0], [])


def _seqs(lengths, trailing=(), dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n,) + trailing).astype(dtype) for n in lengths]
    return arrays


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2, 3)])
def test_pad_sequence_matches_torch(batch_first, padding_side, trailing):
    arrays = _seqs([3, 1, 4, 0], trailing)
    ours = pad_sequence([jt.tensor(a) for a in arrays], batch_first, -2.5, padding_side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first, -2.5, padding_side)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_pad_sequence_dtype_gradients_and_tensor_input():
    ints = [np.array([1, 2], np.int64), np.array([3.7, 4.2, 5.9], np.float32)]
    ours = pad_sequence([jt.tensor(a) for a in ints], padding_value=-1.5)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in ints], padding_value=-1.5)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1] == "int64"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    arrays = _seqs([2, 4], (3,))
    xs = [jt.tensor(a, requires_grad=True) for a in arrays]
    ys = [torch.tensor(a, requires_grad=True) for a in arrays]
    weight = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(np.float32)
    (pad_sequence(xs, batch_first=True, padding_side="left") * jt.tensor(weight)).sum().backward()
    (torch.nn.utils.rnn.pad_sequence(ys, batch_first=True, padding_side="left") * torch.tensor(weight)).sum().backward()
    for x, y in zip(xs, ys):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-6)
    stacked = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(pad_sequence(jt.tensor(stacked)).numpy(),
                                  torch.nn.utils.rnn.pad_sequence(torch.tensor(stacked)).numpy())


def test_unpad_sequence_inverts_pad_sequence():
    arrays = _seqs([3, 1, 2], (2,))
    for batch_first in (False, True):
        padded = pad_sequence([jt.tensor(a) for a in arrays], batch_first=batch_first)
        ours = unpad_sequence(padded, jt.tensor([3, 1, 2]), batch_first=batch_first)
        theirs = torch.nn.utils.rnn.unpad_sequence(
            torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first=batch_first),
            torch.tensor([3, 1, 2]), batch_first=batch_first)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_pad_sequence_errors_match_torch():
    for fn, t in ((pad_sequence, jt.ones), (torch.nn.utils.rnn.pad_sequence, torch.ones)):
        with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got middle."):
            fn([t(2)], padding_side="middle")
        with pytest.raises(RuntimeError, match="received an empty list of sequences"):
            fn([])
        with pytest.raises(RuntimeError):
            fn([t(2, 3), t(2, 4)])


def test_reachable_as_torch_spells_it():
    import jtensor as torch_like
    assert torch_like.nn.utils.clip_grad_norm_ is jutils.clip_grad_norm_
    assert torch_like.nn.utils.rnn.pad_sequence is pad_sequence
