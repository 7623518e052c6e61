"""torch.* top-level names that real programs call (issue 11): the torch-level forms of nn
functions (integer `reduction`, ATen argument orders, native_* statistics, flat-parameter RNNs),
linalg and creation helpers, legacy tensor classes and Tensor methods. torch is the oracle."""
import numpy as np
import pytest
import torch

import jtensor as jt
from test_torch_api import same as close   # structure, shape, dtype and values against torch's


def J(t):
    """A jt copy of a torch tensor (gradients off)."""
    return jt.tensor(t.detach().numpy())


def grads_match(jfn, tfn, inputs, atol=1e-5):
    """jt's gradient of sum(jfn(*inputs)) against torch autograd's."""
    tin = [torch.tensor(x, requires_grad=True) for x in inputs]
    jin = [jt.tensor(x, requires_grad=True) for x in inputs]
    tfn(*tin).sum().backward()
    jfn(*jin).sum().backward()
    for j, t in zip(jin, tin):
        close(j.grad, t.grad, atol=atol, rtol=1e-4)


rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


# ---- losses with integer reduction ---------------------------------------------------------------------
@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_losses_integer_reduction(reduction):
    a, b, c = randn(4, 5), randn(4, 5), randn(4, 5)
    sign = np.sign(randn(4))
    sign5 = np.sign(randn(4, 5))
    cases = [
        ("kl_div", (np.log(np.abs(a) + .1), np.abs(b)), {}),
        ("kl_div", (a, b), {"log_target": True}),
        ("margin_ranking_loss", (a, b, sign5), {"margin": 0.3}),
        ("hinge_embedding_loss", (a, sign5), {"margin": 0.5}),
        ("triplet_margin_loss", (a, b, c), {"margin": 1.5, "p": 1.0}),
        ("cosine_embedding_loss", (a, b, sign), {"margin": 0.1}),
        ("binary_cross_entropy_with_logits", (a, np.abs(b) / 4), {}),
    ]
    for name, args, kw in cases:
        got = getattr(jt, name)(*map(jt.tensor, args), reduction=reduction, **kw)
        want = getattr(torch, name)(*map(torch.tensor, args), reduction=reduction, **kw)
        close(got, want, atol=1e-6)
    got = jt.poisson_nll_loss(jt.tensor(a), jt.tensor(np.abs(b)), True, True, 1e-8, reduction)
    close(got, torch.poisson_nll_loss(torch.tensor(a), torch.tensor(np.abs(b)), True, True, 1e-8, reduction))


def test_loss_defaults_and_grad():
    a, b = randn(3, 4), randn(3, 4)
    close(jt.kl_div(jt.tensor(a), jt.tensor(b), log_target=True),
          torch.kl_div(torch.tensor(a), torch.tensor(b), log_target=True))
    grads_match(lambda x, y: jt.binary_cross_entropy_with_logits(x, y.sigmoid(), None, None, 2),
                lambda x, y: torch.binary_cross_entropy_with_logits(x, y.sigmoid(), None, None, 2), [a, b])
    # torch's Python bindings default reduction to 0 (none); an unknown value is unreduced too
    close(jt.cosine_embedding_loss(jt.tensor(a), jt.tensor(b), jt.tensor(np.sign(b[:, 0]))),
          torch.cosine_embedding_loss(torch.tensor(a), torch.tensor(b), torch.tensor(np.sign(b[:, 0]))))
    close(jt.margin_ranking_loss(jt.tensor(a), jt.tensor(b), jt.tensor(np.sign(b))),
          torch.margin_ranking_loss(torch.tensor(a), torch.tensor(b), torch.tensor(np.sign(b))))
    close(jt.kl_div(jt.tensor(a), jt.tensor(b), 3), torch.kl_div(torch.tensor(a), torch.tensor(b), 3))


def test_ctc_loss():
    torch.manual_seed(0)
    lp = torch.randn(6, 2, 4).log_softmax(-1)
    targets = torch.tensor([[1, 2, 1], [3, 3, 0]])
    il, tl = torch.tensor([6, 5]), torch.tensor([3, 2])
    for r in (0, 1, 2):
        close(jt.ctc_loss(J(lp), J(targets), J(il), J(tl), 0, r),
              torch.ctc_loss(lp, targets, il, tl, 0, r), atol=1e-5)
    close(jt.ctc_loss(J(lp), J(targets), J(il), J(tl)), torch.ctc_loss(lp, targets, il, tl), atol=1e-5)


# ---- padding and convolution ---------------------------------------------------------------------------
def test_constant_pad_nd():
    x = torch.randn(2, 3, 4)
    close(jt.constant_pad_nd(J(x), [1, 2, 0, 1], 1.5), torch.constant_pad_nd(x, [1, 2, 0, 1], 1.5))
    close(jt.constant_pad_nd(J(x), (1, -1)), torch.constant_pad_nd(x, (1, -1)))


@pytest.mark.parametrize("n", [1, 2])
@pytest.mark.parametrize("transposed", [False, True])
def test_convolution(n, transposed):
    torch.manual_seed(1)
    x = torch.randn((2, 4) + (6,) * n)
    w = torch.randn((4, 3) + (3,) * n) if transposed else torch.randn((6, 2) + (3,) * n)
    b = torch.randn(6)
    args = ([2] * n, [1] * n, [1] * n, transposed, [1] * n if transposed else [0] * n, 2)
    close(jt.convolution(J(x), J(w), J(b), *args), torch.convolution(x, w, b, *args), atol=1e-4)
    grads_match(lambda x, w: jt.convolution(x, w, None, *args), lambda x, w: torch.convolution(x, w, None, *args),
                [x.numpy().astype(np.float64), w.numpy().astype(np.float64)])


def test_conv_tbc():
    x, w, b = randn(7, 2, 3), randn(3, 3, 5), randn(5)
    for pad in (0, 1):
        close(jt.conv_tbc(*map(jt.tensor, (x, w, b)), pad), torch.conv_tbc(*map(torch.tensor, (x, w, b)), pad))
    grads_match(lambda x, w, b: jt.conv_tbc(x, w, b, 1), lambda x, w, b: torch.conv_tbc(x, w, b, 1), [x, w, b])
    with pytest.raises(RuntimeError):
        jt.conv_tbc(jt.tensor(x), jt.tensor(randn(3, 4, 5)), jt.tensor(b))


# ---- dropout variants ----------------------------------------------------------------------------------
def test_dropout_inplace_forms():
    for name in ("dropout_", "alpha_dropout_", "feature_alpha_dropout_", "feature_dropout_"):
        x = jt.ones(4, 5, 3)
        assert getattr(jt, name)(x, 0.5, False) is x and bool((x == 1).all())
        y = getattr(jt, name)(x, 0.5, True)
        assert y is x
    x = jt.ones(400, 3)
    jt.dropout_(x, 0.5, True)
    vals = set(np.unique(x.numpy()).tolist())
    assert vals == {0.0, 2.0}


def test_feature_dropout_zeroes_whole_channels():
    jt.manual_seed(0)
    x = jt.ones(8, 16, 3, 2)
    y = jt.feature_dropout(x, 0.5, True).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))       # a channel is all kept or all dropped
    assert set(np.unique(y).tolist()) == {0.0, 2.0}
    assert jt.feature_dropout(x, 0.5, False) is x


def test_native_dropout():
    x = torch.randn(5, 6)
    out, mask = jt.native_dropout(J(x), 0.5, False)
    tout, tmask = torch.native_dropout(x, 0.5, False)
    close(out, tout)
    close(mask, tmask)
    jt.manual_seed(3)
    out, mask = jt.native_dropout(J(x), 0.25, None)
    assert mask.dtype == jt.bool and out.shape == (5, 6)
    np.testing.assert_allclose(out.numpy(), np.where(mask.numpy(), x.numpy() / 0.75, 0), rtol=1e-6)


# ---- normalizations with saved statistics --------------------------------------------------------------
def test_native_layer_norm():
    x, w, b = torch.randn(3, 4, 5), torch.randn(4, 5), torch.randn(4, 5)
    close(jt.native_layer_norm(J(x), [4, 5], J(w), J(b), 1e-5), torch.native_layer_norm(x, [4, 5], w, b, 1e-5))
    close(jt.native_layer_norm(J(x), [5], None, None, 1e-3), torch.native_layer_norm(x, [5], None, None, 1e-3))
    grads_match(lambda x: jt.native_layer_norm(x, [5], None, None, 1e-5)[0] ** 2,
                lambda x: torch.native_layer_norm(x, [5], None, None, 1e-5)[0] ** 2, [randn(3, 5)])


def test_native_batch_norm():
    x, w, b = torch.randn(4, 3, 5), torch.randn(3), torch.randn(3)
    rm, rv = torch.randn(3), torch.rand(3) + 0.5
    jrm, jrv = J(rm), J(rv)
    close(jt.native_batch_norm(J(x), J(w), J(b), jrm, jrv, True, 0.2, 1e-5),
          torch.native_batch_norm(x, w, b, rm, rv, True, 0.2, 1e-5))
    close(jrm, rm)
    close(jrv, rv)
    close(jt.native_batch_norm(J(x), J(w), J(b), jrm, jrv, False, 0.2, 1e-5),
          torch.native_batch_norm(x, w, b, rm, rv, False, 0.2, 1e-5))


def test_native_group_norm():
    x, w, b = torch.randn(2, 6, 3, 2), torch.randn(6), torch.randn(6)
    close(jt.native_group_norm(J(x), J(w), J(b), 2, 6, 6, 3, 1e-5),
          torch.native_group_norm(x, w, b, 2, 6, 6, 3, 1e-5), atol=1e-5)


# ---- recurrent ops -------------------------------------------------------------------------------------
def _flat_params(module):
    return [p.detach() for p in module._flat_weights]


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bidirectional,batch_first,bias", [(False, False, True), (True, True, False)])
def test_flat_parameter_rnns(mode, bidirectional, batch_first, bias):
    torch.manual_seed(0)
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(mode, torch.nn.RNN)
    kw = {"nonlinearity": mode[4:]} if mode.startswith("rnn") else {}
    m = cls(3, 4, num_layers=2, bias=bias, batch_first=batch_first, bidirectional=bidirectional, **kw)
    params = _flat_params(m)
    D = 2 if bidirectional else 1
    x = torch.randn(2, 5, 3) if batch_first else torch.randn(5, 2, 3)
    h = torch.randn(2 * D, 2, 4)
    hx = (h, torch.randn(2 * D, 2, 4)) if mode == "lstm" else h
    want = getattr(torch, mode)(x, hx, params, bias, 2, 0.0, False, bidirectional, batch_first)
    jhx = tuple(map(J, hx)) if mode == "lstm" else J(hx)
    got = getattr(jt, mode)(J(x), jhx, [J(p) for p in params], bias, 2, 0.0, False, bidirectional, batch_first)
    close(got, want, atol=1e-5)


def test_lstm_packed_form_and_grad():
    torch.manual_seed(0)
    m = torch.nn.LSTM(3, 4)
    params = _flat_params(m)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.randn(5, 3, 3), [5, 3, 2])
    hx = (torch.zeros(1, 3, 4), torch.zeros(1, 3, 4))
    want = torch.lstm(packed.data, packed.batch_sizes, hx, params, True, 1, 0.0, False, False)
    got = jt.lstm(J(packed.data), J(packed.batch_sizes), tuple(map(J, hx)), [J(p) for p in params], True, 1, 0.0,
                  False, False)
    close(got, want, atol=1e-5)
    x = randn(4, 2, 3)
    p64 = [p.double().numpy() for p in params]
    h = np.zeros((1, 2, 4))
    grads_match(lambda x, *p: jt.lstm(x, (jt.tensor(h), jt.tensor(h)), list(p), True, 1, 0.0, False, False,
                                      False)[0],
                lambda x, *p: torch.lstm(x, (torch.tensor(h), torch.tensor(h)), list(p), True, 1, 0.0, False, False,
                                         False)[0], [x] + p64)


@pytest.mark.parametrize("mode,gates", [("lstm_cell", 4), ("gru_cell", 3), ("rnn_tanh_cell", 1),
                                        ("rnn_relu_cell", 1)])
def test_cells(mode, gates):
    x, h, c = randn(2, 3), randn(2, 4), randn(2, 4)
    w_ih, w_hh, b_ih, b_hh = randn(gates * 4, 3), randn(gates * 4, 4), randn(gates * 4), randn(gates * 4)
    hx = (h, c) if mode == "lstm_cell" else h
    conv = (lambda f: (lambda v: tuple(map(f, v)) if isinstance(v, tuple) else f(v)))
    want = getattr(torch, mode)(torch.tensor(x), conv(torch.tensor)(hx), *map(torch.tensor, (w_ih, w_hh, b_ih, b_hh)))
    got = getattr(jt, mode)(jt.tensor(x), conv(jt.tensor)(hx), *map(jt.tensor, (w_ih, w_hh, b_ih, b_hh)))
    close(got, want)
    want = getattr(torch, mode)(torch.tensor(x), conv(torch.tensor)(hx), torch.tensor(w_ih), torch.tensor(w_hh))
    close(getattr(jt, mode)(jt.tensor(x), conv(jt.tensor)(hx), jt.tensor(w_ih), jt.tensor(w_hh)), want)


def test_vmap_is_func_vmap():
    x = randn(3, 4)
    close(jt.vmap(lambda r: r.sum())(jt.tensor(x)), torch.vmap(lambda r: r.sum())(torch.tensor(x)))


# ---- linalg: deprecated torch.* factorizations, *_ex, tensor solves, vander, low-rank ------------------
def spd(n, batch=()):
    a = randn(*batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.filterwarnings("ignore:torch.cholesky is deprecated")
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_and_inverse(upper):
    A = spd(3, (2,))
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        jt.cholesky(jt.tensor(A))
    close(jt.cholesky(jt.tensor(A), upper), torch.cholesky(torch.tensor(A), upper))
    L = torch.linalg.cholesky(torch.tensor(A), upper=upper)
    close(jt.cholesky_inverse(J(L), upper), torch.cholesky_inverse(L, upper))
    close(J(L).cholesky_inverse(upper=upper), L.cholesky_inverse(upper=upper))
    grads_match(lambda l: jt.cholesky_inverse(l.tril() + 3 * jt.eye(3, dtype=jt.float64)),
                lambda l: torch.cholesky_inverse(l.tril() + 3 * torch.eye(3, dtype=torch.float64)), [randn(3, 3)])


@pytest.mark.filterwarnings("ignore:torch.qr is deprecated")
@pytest.mark.parametrize("some", [True, False])
def test_qr_svd_some(some):
    A = randn(5, 3)
    Q, R = jt.qr(jt.tensor(A), some)
    tQ, tR = torch.qr(torch.tensor(A), some)
    close(Q.abs(), tQ.abs(), atol=1e-6)
    close(R.abs(), tR.abs(), atol=1e-6)
    assert type(Q).__name__ == "Tensor" and jt.qr(jt.tensor(A)).R.shape == (3, 3)
    U, S, V = jt.svd(jt.tensor(A), some)
    tU, tS, tV = torch.svd(torch.tensor(A), some)
    close(S, tS)
    assert U.shape == tU.shape and V.shape == tV.shape
    np.testing.assert_allclose((U[:, :3] * S) @ V.mT, A, atol=1e-10)    # V, not Vh
    U, S, V = jt.tensor(A).svd(compute_uv=False)
    close((U, S, V), torch.tensor(A).svd(compute_uv=False))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
@pytest.mark.parametrize("left,transpose", [(True, False), (True, True), (False, False), (False, True)])
def test_ormqr(shape, left, transpose):
    A = torch.randn(*shape, dtype=torch.float64)
    a, tau = torch.geqrf(A)
    m = shape[0]
    other = torch.randn(m, 2, dtype=torch.float64) if left else torch.randn(2, m, dtype=torch.float64)
    close(jt.ormqr(J(a), J(tau), J(other), left, transpose), torch.ormqr(a, tau, other, left, transpose), atol=1e-10)
    close(J(a).ormqr(J(tau), J(other), left=left, transpose=transpose), a.ormqr(tau, other, left, transpose),
          atol=1e-10)


@pytest.mark.filterwarnings("ignore:at::")
def test_matrix_norms():
    A = torch.randn(2, 3, 4, dtype=torch.float64)
    with pytest.warns(UserWarning, match="deprecated"):
        jt.nuclear_norm(J(A)[0])
    close(jt.nuclear_norm(J(A)[0]), torch.nuclear_norm(A[0]))
    close(jt.nuclear_norm(J(A), [1, 2], True), torch.nuclear_norm(A, [1, 2], True))
    close(jt.nuclear_norm(J(A)[0], True), torch.nuclear_norm(A[0], True))
    close(jt.frobenius_norm(J(A), [0, 2]), torch.frobenius_norm(A, [0, 2]))
    close(jt.frobenius_norm(J(A), [1], True), torch.frobenius_norm(A, [1], True))


def test_inv_ex_solve_ex():
    A = torch.tensor(spd(3, (2,)))
    B = torch.randn(2, 3, 2, dtype=torch.float64)
    close(jt.linalg.inv_ex(J(A)), torch.linalg.inv_ex(A))
    close(jt.linalg.solve_ex(J(A), J(B)), torch.linalg.solve_ex(A, B))
    close(jt.linalg.solve_ex(J(A), J(B.mT), left=False), torch.linalg.solve_ex(A, B.mT, left=False))
    S = torch.stack([torch.eye(3, dtype=torch.float64), torch.zeros(3, 3, dtype=torch.float64)])
    inv, info = jt.linalg.inv_ex(J(S))
    close(info, torch.linalg.inv_ex(S).info)
    close(inv[0], torch.eye(3, dtype=torch.float64))
    assert not np.isfinite(inv[1].numpy()).all()
    close(jt.linalg.solve_ex(J(S), J(B)).info, torch.linalg.solve_ex(S, B).info)
    with pytest.raises(jt.linalg.LinAlgError):
        jt.linalg.inv_ex(J(S), check_errors=True)
    with pytest.raises(RuntimeError):
        jt.linalg.inv_ex(jt.ones(2, 3))
    grads_match(lambda a: jt.linalg.inv_ex(a).inverse, lambda a: torch.linalg.inv_ex(a).inverse, [spd(3)])


def test_tensorinv_tensorsolve():
    A = torch.randn(4, 6, 8, 3, dtype=torch.float64)
    close(jt.linalg.tensorinv(J(A), 2), torch.linalg.tensorinv(A, 2), atol=1e-8)
    close(jt.linalg.tensorinv(J(A.reshape(24, 2, 12)), ind=1), torch.linalg.tensorinv(A.reshape(24, 2, 12), ind=1),
          atol=1e-8)
    for ind in (0, 3):
        with pytest.raises(RuntimeError):
            jt.linalg.tensorinv(J(A), ind)
    B = torch.randn(4, 6, dtype=torch.float64)
    A2 = torch.randn(4, 6, 2, 3, 4, dtype=torch.float64)
    close(jt.linalg.tensorsolve(J(A2), J(B)), torch.linalg.tensorsolve(A2, B), atol=1e-8)
    A3 = A2.permute(2, 0, 3, 1, 4)
    close(jt.linalg.tensorsolve(J(A3), J(B), dims=(0, 2)), torch.linalg.tensorsolve(A3, B, dims=(0, 2)), atol=1e-8)


def test_vander():
    x = torch.tensor([[1.5, -2.0, 0.0], [0.5, 3.0, 1.0]], dtype=torch.float64)
    close(jt.linalg.vander(J(x)), torch.linalg.vander(x))
    close(jt.linalg.vander(J(x), N=5), torch.linalg.vander(x, N=5))
    xi = torch.tensor([1, 2, 3], dtype=torch.int32)
    close(jt.linalg.vander(J(xi)), torch.linalg.vander(xi))
    for bad in (dict(N=1), dict(N=0)):
        with pytest.raises(RuntimeError):
            jt.linalg.vander(J(x), **bad)
    with pytest.raises(RuntimeError):
        jt.linalg.vander(jt.tensor([True, False]))
    grads_match(lambda v: jt.linalg.vander(v, N=4), lambda v: torch.linalg.vander(v, N=4), [np.array([0.0, 1.5, -2.0])])


@pytest.mark.parametrize("shape", [(20, 8), (8, 20)])
def test_svd_pca_lowrank(shape):
    """Randomized: an exactly rank-3 matrix is reconstructed, U and V have orthonormal columns, and
    the singular values match the exact ones."""
    m, n = shape
    A = randn(m, 3) @ randn(3, n)
    jt.manual_seed(0)
    U, S, V = jt.svd_lowrank(jt.tensor(A), q=4, niter=2)
    assert U.shape == (m, 4) and S.shape == (4,) and V.shape == (n, 4)
    np.testing.assert_allclose(((U * S) @ V.mT).numpy(), A, atol=1e-8)
    np.testing.assert_allclose((U.mT @ U).numpy(), np.eye(4), atol=1e-8)
    np.testing.assert_allclose((V.mT @ V).numpy(), np.eye(4), atol=1e-8)
    np.testing.assert_allclose(S.numpy()[:3], np.linalg.svd(A, compute_uv=False)[:3], rtol=1e-8)
    U, S, V = jt.pca_lowrank(jt.tensor(A), q=3)
    centered = A - A.mean(0, keepdims=True)
    np.testing.assert_allclose(((U * S) @ V.mT).numpy(), centered, atol=1e-8)
    np.testing.assert_allclose(S.numpy(), np.linalg.svd(centered, compute_uv=False)[:3], rtol=1e-8)
    U, S, V = jt.pca_lowrank(jt.tensor(A), center=False)
    assert S.shape == (min(6, m, n),)


# ---- creation, random sampling, runtime settings --------------------------------------------------------
@pytest.mark.filterwarnings("ignore:torch.range is deprecated")
@pytest.mark.parametrize("args,kw", [((1, 4), {}), ((0, 1, 0.3), {}), ((3, 1, -1), {}), ((1.5, 3), {}),
                                     ((1, 4), {"dtype": torch.int64}), ((0, 1, 0.1), {}),
                                     ((-2, 2, 0.5), {"dtype": torch.float64})])
def test_range_inclusive(args, kw):
    jkw = {"dtype": getattr(jt, str(kw["dtype"]).split(".")[1])} if kw else {}
    close(jt.range(*args, **jkw), torch.range(*args, **kw))


def test_range_errors_and_warning():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        jt.range(0, 3)
    for args in ((1, 4, 0), (1, 4, -1)):
        with pytest.raises(RuntimeError):
            jt.range(*args)
    with pytest.raises(TypeError):
        jt.range(5)                              # unlike arange, end is required
    assert jt.range(0, 2, requires_grad=True).requires_grad


def test_empty_permuted():
    for size, layout in (((2, 3, 4), (2, 0, 1)), ((2, 3, 4, 5), (0, 2, 3, 1)), ((3,), (0,))):
        t, e = jt.empty_permuted(size, layout, dtype=jt.float64), torch.empty_permuted(size, layout)
        assert t.shape == e.shape and t.stride() == e.stride() and t.dtype == jt.float64
    with pytest.raises(RuntimeError):
        jt.empty_permuted((2, 3), (0, 0))
    with pytest.raises(RuntimeError):
        jt.empty_permuted((2, 3), (0,))


def test_frombuffer_shares_memory():
    buf = bytearray(np.arange(4, dtype=np.float32).tobytes())
    for kw in ({}, {"count": 2, "offset": 4}, {"offset": 8}):
        close(jt.frombuffer(buf, dtype=jt.float32, **kw), torch.frombuffer(buf, dtype=torch.float32, **kw))
    close(jt.frombuffer(buf, dtype=jt.int16, count=3), torch.frombuffer(buf, dtype=torch.int16, count=3))
    assert jt.frombuffer(buf, dtype=jt.bfloat16).float().numpy().tolist() == \
        torch.frombuffer(buf, dtype=torch.bfloat16).float().tolist()
    t = jt.frombuffer(buf, dtype=jt.float32)
    t[1] = 9.0                                    # writes land in the buffer, and the other way round
    assert np.frombuffer(buf, dtype=np.float32)[1] == 9.0
    buf[0:4] = np.float32(-1).tobytes()
    assert t[0].item() == -1.0
    for kw in ({"count": 5}, {"offset": 3}, {"offset": 16}):
        with pytest.raises(ValueError):
            jt.frombuffer(buf, dtype=jt.float32, **kw)
        with pytest.raises(ValueError):
            torch.frombuffer(buf, dtype=torch.float32, **kw)
    with pytest.raises(ValueError):
        jt.frombuffer(b"", dtype=jt.float32)


def test_poisson_moments_and_generator():
    rate = jt.tensor([0.5, 3.0, 25.0, 0.0]).expand(20000, 4).contiguous()
    jt.manual_seed(0)
    draws = jt.poisson(rate)
    assert draws.dtype == jt.float32 and draws.shape == (20000, 4)
    d = draws.numpy()
    assert (d == np.round(d)).all() and (d[:, 3] == 0).all()
    np.testing.assert_allclose(d.mean(0)[:3], [0.5, 3.0, 25.0], rtol=0.05)
    np.testing.assert_allclose(d.var(0)[:3], [0.5, 3.0, 25.0], rtol=0.1)
    g = jt.Generator().manual_seed(7)
    a = jt.poisson(jt.full((50,), 4.0, dtype=jt.float64), g)
    g.manual_seed(7)
    assert a.dtype == jt.float64 and bool((a == jt.poisson(jt.full((50,), 4.0, dtype=jt.float64), g)).all())
    with pytest.raises(RuntimeError):
        jt.poisson(jt.tensor([-1.0]))
    with pytest.raises(NotImplementedError):
        jt.poisson(jt.tensor([1]))


def test_binomial_moments_and_errors():
    n = jt.tensor([10.0, 40.0, 100.0, 0.0]).expand(20000, 4).contiguous()
    p = jt.tensor([0.3, 0.5, 0.9, 0.5])
    jt.manual_seed(1)
    d = jt.binomial(n, p).numpy()
    assert d.shape == (20000, 4) and d.dtype == np.float32
    mean = np.array([3.0, 20.0, 90.0])
    np.testing.assert_allclose(d.mean(0)[:3], mean, rtol=0.03)
    np.testing.assert_allclose(d.var(0)[:3], mean * np.array([0.7, 0.5, 0.1]), rtol=0.1)
    assert (d[:, 3] == 0).all() and (d >= 0).all() and (d[:, :3] <= np.array([10, 40, 100])).all()
    with pytest.raises(ValueError):
        jt.binomial(jt.tensor([3]), jt.tensor([0.5]))
    with pytest.raises(RuntimeError):
        jt.binomial(jt.tensor([3.0]), jt.tensor([0.5], dtype=jt.float64))
    g = jt.Generator().manual_seed(3)
    a = jt.binomial(jt.full((30,), 20.0), jt.full((30,), 0.4), g)
    g.manual_seed(3)
    assert bool((a == jt.binomial(jt.full((30,), 20.0), jt.full((30,), 0.4), g)).all())


def test_set_flush_denormal():
    tiny = jt.tensor([1e-39], dtype=jt.float32)          # subnormal in float32
    try:
        assert jt.set_flush_denormal(True) is torch.set_flush_denormal(True) is True
        assert (tiny * 1.0).item() == 0.0
        assert float((jt.full((10000,), 1e-39) * 1.0).sum()) == 0.0   # on every kernel thread
    finally:
        assert jt.set_flush_denormal(False) is True
        torch.set_flush_denormal(False)
    assert (tiny * 1.0).item() > 0


def test_interop_threads():
    assert jt.get_num_interop_threads() == 1
    jt.set_num_interop_threads(1)
    with pytest.warns(RuntimeWarning):
        jt.set_num_interop_threads(4)
    with pytest.raises(RuntimeError):
        jt.set_num_interop_threads(0)


# ---- layouts, memory formats, legacy tensor classes, Tensor.type strings --------------------------------
def test_layout_and_memory_formats():
    assert jt.ones(2).layout is jt.strided and isinstance(jt.strided, jt.layout)
    for name in ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format"):
        assert isinstance(getattr(jt, name), jt.memory_format) and repr(getattr(jt, name)) == f"jtensor.{name}"
    x = torch.randn(2, 3, 4, 5)
    for fmt in ("channels_last", "contiguous_format", "preserve_format"):
        tf, jf = getattr(torch, fmt), getattr(jt, fmt)
        c = J(x).contiguous(memory_format=jf)
        assert c.stride() == x.contiguous(memory_format=tf).stride()
        close(c, x)
    cl = J(x).contiguous(memory_format=jt.channels_last)
    assert cl.is_contiguous(memory_format=jt.channels_last) and not cl.is_contiguous()
    assert cl.contiguous(memory_format=jt.channels_last) is cl
    assert cl.contiguous().stride() == (60, 20, 5, 1)
    assert J(x).to(memory_format=jt.channels_last).stride() == x.to(memory_format=torch.channels_last).stride()
    assert J(x).clone(memory_format=jt.channels_last).stride() == x.clone(memory_format=torch.channels_last).stride()
    x5 = torch.randn(2, 3, 2, 4, 5)
    assert J(x5).contiguous(memory_format=jt.channels_last_3d).stride() == \
        x5.contiguous(memory_format=torch.channels_last_3d).stride()
    y = torch.randn(2, 1, 4, 5)      # size-1 channels: contiguous in both formats
    assert J(y).is_contiguous(memory_format=jt.channels_last) == y.is_contiguous(memory_format=torch.channels_last)
    assert not jt.ones(2, 3).is_contiguous(memory_format=jt.channels_last)
    with pytest.raises(RuntimeError):
        jt.ones(2, 3).contiguous(memory_format=jt.channels_last)
    # gradients flow through the re-layout
    grads_match(lambda a: a.contiguous(memory_format=jt.channels_last) * 2,
                lambda a: a.contiguous(memory_format=torch.channels_last) * 2, [randn(1, 2, 3, 2)])


def test_dim_order():
    x = torch.randn(2, 3, 4, 5)
    for t in (x, x.permute(0, 2, 3, 1), x.contiguous(memory_format=torch.channels_last), x.transpose(1, 3)):
        j = jt.empty(t.numel()).as_strided(t.shape, t.stride())
        assert j.dim_order() == t.dim_order()
    with pytest.raises(RuntimeError):
        jt.ones(2, 1, 3).dim_order(ambiguity_check=True)


LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
          "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_tensor_classes(name):
    jc, tc = getattr(jt, name), getattr(torch, name)
    assert jc.dtype.name == str(tc.dtype).split(".")[1]
    assert jc(2, 3).shape == tc(2, 3).shape and jc(2, 3).dtype is jc.dtype
    assert jc(jt.Size([4])).shape == (4,) and jc().shape == tc().shape
    data = [1, 0, 1]
    got, want = jc(data), tc(data)
    assert got.dtype is jc.dtype and got.float().tolist() == want.float().tolist()
    assert isinstance(got, jc) and isinstance(got, jt.Tensor) and not issubclass(jc, jt.Tensor)
    other = "IntTensor" if name != "IntTensor" else "LongTensor"
    assert not isinstance(got, getattr(jt, other))
    assert jc(got) is got
    with pytest.raises(TypeError):
        jc(got.to(getattr(jt, other).dtype))
    assert got.type() == want.type() == f"torch.{name}"
    assert jt.ones(2).type(f"torch.{name}").dtype is jc.dtype
    assert jt.ones(2).type(jc).dtype is jc.dtype


def test_tensor_type_and_new():
    t = jt.tensor([1.5, 2.5])
    assert t.type(jt.float32) is t and t.type(jt.int64).tolist() == [1, 2]
    assert jt.zeros(1, dtype=jt.complex64).type() == torch.zeros(1, dtype=torch.complex64).type()
    with pytest.raises(ValueError):
        t.type("torch.Foo")
    tt = torch.tensor([1.5, 2.5], dtype=torch.float64)
    jtt = J(tt)
    for args in ((), (2, 3), ([1, 2],), (jt.Size([3]),)):
        targs = tuple(torch.Size(a) if isinstance(a, jt.Size) else a for a in args)
        got, want = jtt.new(*args), tt.new(*targs)
        assert got.shape == want.shape and got.dtype is jt.float64
    close(jtt.new([1, 2]), tt.new([1, 2]))


# ---- Tensor methods -----------------------------------------------------------------------------------
def test_cumulative_inplace():
    x = torch.randn(3, 4)
    for name in ("cumsum_", "cumprod_"):
        for dim in (0, 1, -1):
            j = J(x)
            assert getattr(j, name)(dim) is j
            close(j, getattr(x.clone(), name)(dim))
    close(jt.tensor([1, 2, 3]).cumsum_(0), torch.tensor([1, 2, 3]).cumsum_(0))
    with pytest.raises(RuntimeError):
        jt.tensor([1, 2, 3]).cumsum_(0, dtype=jt.float32)
    with pytest.raises(RuntimeError):
        jt.ones(2, requires_grad=True).cumsum_(0)
    grads_match(lambda a: (a * 1).cumprod_(1), lambda a: (a * 1).cumprod_(1), [randn(2, 3)])


def test_python_callable_maps():
    x = torch.tensor([[1.0, -2.0], [3.0, 0.5]])
    close(J(x).apply_(lambda v: v * v + 1), x.clone().apply_(lambda v: v * v + 1))
    y = torch.tensor([10.0, 20.0])
    close(J(x).map_(J(y), lambda a, b: a - b), x.clone().map_(y, lambda a, b: a - b))
    close(J(x).map2_(J(x), J(y[0]), lambda a, b, c: a * b + c), x.clone().map2_(x, y[0], lambda a, b, c: a * b + c))
    close(jt.tensor([1, 2]).apply_(lambda v: v * 2.7), torch.tensor([1, 2]).apply_(lambda v: v * 2.7))
    with pytest.raises(RuntimeError):
        jt.ones(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(TypeError):
        J(x).map_(jt.tensor([1, 2]), lambda a, b: a)
    with pytest.raises(RuntimeError):
        J(x).map_(jt.ones(3), lambda a, b: a)


def test_prelu_method_and_deprecated_resizes():
    x, w = torch.randn(2, 3, 4), torch.tensor([0.1, 0.2, 0.3])
    close(J(x).prelu(J(w)), x.prelu(w))
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        r = J(x).resize(6, 4)
    close(r, x.resize(6, 4))
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        r = J(x).resize_as(jt.ones(4, 6))
    close(r, x.resize_as(torch.ones(4, 6)))
    with pytest.raises(RuntimeError), pytest.warns(UserWarning):
        J(x).resize(5)
    grads_match(lambda a: a.resize(6) * jt.arange(6.0, dtype=jt.float64),
                lambda a: a.resize(6) * torch.arange(6.0, dtype=torch.float64), [randn(2, 3)])


@pytest.mark.filterwarnings("ignore:non-inplace")
def test_output_nr_and_linalg_methods():
    a = jt.tensor(spd(3), requires_grad=True)
    w, v = jt.linalg.eigh(a * 1)
    tw, tv = torch.linalg.eigh(torch.tensor(spd(3), requires_grad=True) * 1)
    assert (w.output_nr, v.output_nr) == (tw.output_nr, tv.output_nr) == (0, 1)
    assert jt.ones(2).output_nr == 0
    A = spd(3)
    L = np.linalg.cholesky(A)
    for name, args in (("cholesky_inverse", ()), ("qr", ()), ("svd", ())):
        src = L if name == "cholesky_inverse" else A
        got, want = getattr(jt.tensor(src), name)(*args), getattr(torch.tensor(src), name)(*args)
        assert type(got).__name__ == type(want).__name__ or name == "cholesky_inverse"
        assert [t.shape for t in (got if isinstance(got, tuple) else (got,))] == \
            [tuple(t.shape) for t in (want if isinstance(want, tuple) else (want,))]
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        close(jt.tensor(A).cholesky(), torch.tensor(A).cholesky())


def test_untyped_storage_shares_memory():
    t, tt = jt.arange(4.0), torch.arange(4.0)
    view, tview = t[1:3], tt[1:3]
    s, ts = view.untyped_storage(), tview.untyped_storage()
    assert s.nbytes() == s.size() == len(s) == ts.nbytes() == 16 and s.element_size() == 1
    assert s.data_ptr() == t.data_ptr() == t.untyped_storage().data_ptr() != view.data_ptr()
    assert s.tolist() == ts.tolist() and s[4] == ts[4] and s[-1] == ts[-1]
    assert str(s.device) == "cpu"
    with pytest.raises(IndexError):
        s[16]
    s[0:4] = np.frombuffer(np.float32(7).tobytes(), dtype=np.uint8)   # writes reach the tensor
    assert t[0].item() == 7.0
    assert jt.ones(3).untyped_storage().data_ptr() != t.untyped_storage().data_ptr()
    assert repr(s).endswith("[jtensor.storage.UntypedStorage(device=cpu) of size 16]")


def test_typed_storage():
    t = jt.tensor([[1.5, 2.5], [3.5, 4.5]], dtype=jt.float64).t()
    tt = torch.tensor([[1.5, 2.5], [3.5, 4.5]], dtype=torch.float64).t()
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        s = t.storage()
    with pytest.warns(UserWarning):
        ts = tt.storage()
    assert (s.size(), len(s), s.element_size(), s.nbytes()) == (ts.size(), len(ts), ts.element_size(), ts.nbytes())
    assert s.tolist() == ts.tolist() and s[1] == ts[1] and s.dtype is jt.float64
    assert s.data_ptr() == t.data_ptr() and s.untyped().nbytes() == 32
