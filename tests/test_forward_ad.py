"""jt.autograd.forward_ad against torch.autograd.forward_ad: tangents of single ops and of small
composite functions, views and in-place ops on dual tensors, backward through a tangent, and the
level rules (no tangent outside a level or on non-dual tensors, errors as torch's)."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import jtensor as jt
import jtensor.autograd.forward_ad as jfw

RNG = np.random.default_rng(0)


def _run(lib, fw, fn, primals, tangents):
    """(primal out, tangent out) of fn at dual inputs, as NumPy arrays (tangent None if absent)."""
    with fw.dual_level():
        duals = [fw.make_dual(lib.tensor(p), lib.tensor(t)) if t is not None else lib.tensor(p)
                 for p, t in zip(primals, tangents)]
        out = fn(lib, *duals)
        p, t = fw.unpack_dual(out)
        return np.asarray(p.detach()), (None if t is None else np.asarray(t.detach()))


def _check(fn, primals, tangents=None, rtol=1e-9):
    if tangents is None:
        tangents = [RNG.standard_normal(np.shape(p)) for p in primals]
    jp, jtan = _run(jt, jfw, fn, primals, tangents)
    tp, ttan = _run(torch, tfw, fn, primals, tangents)
    np.testing.assert_allclose(jp, tp, rtol=1e-10, atol=1e-12)
    assert (jtan is None) == (ttan is None)
    if ttan is not None:
        np.testing.assert_allclose(jtan, ttan, rtol=rtol, atol=1e-12)


def _mat(*shape):
    return RNG.standard_normal(shape)


UNARY = {
    "tanh": lambda lib, x: lib.tanh(x),
    "exp": lambda lib, x: x.exp(),
    "log_abs": lambda lib, x: (x.abs() + 1).log(),
    "sigmoid": lambda lib, x: lib.sigmoid(x),
    "relu": lambda lib, x: lib.relu(x),
    "sin_cos": lambda lib, x: x.sin() * x.cos(),
    "pow": lambda lib, x: x ** 3,
    "sqrt": lambda lib, x: (x * x + 1).sqrt(),
    "softmax": lambda lib, x: lib.softmax(x, dim=-1),
    "log_softmax": lambda lib, x: lib.nn.functional.log_softmax(x, dim=0),
    "sum_dim": lambda lib, x: x.sum(dim=1, keepdim=True),
    "mean": lambda lib, x: x.mean(),
    "amax": lambda lib, x: x.amax(dim=0),
    "max_values": lambda lib, x: x.max(dim=1).values,
    "norm": lambda lib, x: lib.linalg.norm(x),
    "cumsum": lambda lib, x: x.cumsum(0),
    "indexing": lambda lib, x: x[1:, ::2] * 2,
    "adv_indexing": lambda lib, x: x[[0, 2, 2], [1, 0, 3]],
    "transpose_reshape": lambda lib, x: x.t().reshape(-1)[3:7],
    "cat_stack": lambda lib, x: lib.stack([lib.cat([x, x * 2], 0), lib.cat([x.sin(), x], 0)]),
    "where": lambda lib, x: lib.where(x > 0, x, x * x),
    "clamp": lambda lib, x: x.clamp(-0.5, 0.5),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_single_ops_match_torch(name):
    _check(UNARY[name], [_mat(3, 4)])


def test_binary_ops_and_matmul_match_torch():
    _check(lambda lib, a, b: a @ b, [_mat(3, 4), _mat(4, 2)])
    _check(lambda lib, a, b: a * b + a / (b * b + 1) - b, [_mat(3, 4), _mat(3, 4)])
    _check(lambda lib, a, b: lib.maximum(a, b) + lib.atan2(a, b), [_mat(5), _mat(5)])
    _check(lambda lib, a, b: a * a, [_mat(4), _mat(4)], [_mat(4), None])


def test_tanh_mlp_matches_torch():
    def mlp(lib, x, w1, b1, w2):
        h = lib.tanh(lib.nn.functional.linear(x, w1, b1))
        return lib.softmax(h @ w2, dim=-1).log().mean()
    _check(mlp, [_mat(6, 4), _mat(8, 4), _mat(8), _mat(8, 3)])
    # only some inputs dual: the others count as tangent zero
    _check(mlp, [_mat(6, 4), _mat(8, 4), _mat(8), _mat(8, 3)], [None, _mat(8, 4), None, None])


def test_nn_modules_and_losses_match_torch():
    def net(lib, x, y):
        lib.manual_seed(0)
        conv = lib.nn.Conv2d(2, 3, 3).double()
        with lib.no_grad():
            for p in conv.parameters():
                p.copy_(lib.linspace(-1, 1, p.numel(), dtype=lib.float64).reshape(p.shape))
        return lib.nn.functional.mse_loss(conv(x).flatten(1).sum(1), y)
    _check(net, [_mat(2, 2, 5, 5), _mat(2)])


def test_inplace_and_views_update_tangents_like_torch():
    def fn(lib, x):
        y = x.clone()
        y.mul_(2)
        y[0].add_(y[1])          # in-place through a view: the base's tangent changes
        y[:, 1] = x[:, 0].exp()  # a write into a view
        return y
    _check(fn, [_mat(3, 4)])

    def fn2(lib, x):
        z = lib.zeros(3, 4, dtype=lib.float64)   # not dual: gets a tangent from the write
        z[1] = x[0]
        return z.sin()
    _check(fn2, [_mat(3, 4)])


def test_non_dual_inputs_and_outputs_without_tangent():
    with jfw.dual_level():
        x = jt.tensor(_mat(3))
        assert jfw.unpack_dual(x).tangent is None
        d = jfw.make_dual(x, jt.ones(3, dtype=jt.float64))
        assert jfw.unpack_dual(d > 0).tangent is None          # booleans carry none
        assert jfw.unpack_dual(d.argmax()).tangent is None
        assert jfw.unpack_dual(d.detach()).tangent is None      # detach drops it, as in torch
        assert jfw.unpack_dual(x * 2).tangent is None           # x itself is not dual
        primal, tangent = jfw.unpack_dual(d)
        assert jfw.unpack_dual(primal).tangent is None
        np.testing.assert_array_equal(np.asarray(primal), np.asarray(x))
        y = d * 3
    r = jfw.unpack_dual(y)      # outside the level: the tangent is gone
    assert isinstance(r, jfw.UnpackedDualTensor) and r.tangent is None and r.primal is y


def test_make_dual_keeps_a_matching_tangent_and_copies_one_with_another_layout():
    with jfw.dual_level() as level:
        assert level == 0
        x, t = jt.tensor(_mat(3, 2)), jt.tensor(_mat(3, 2))
        d = jfw.make_dual(x, t)
        assert d is not x and jfw.unpack_dual(d).tangent is t
        tt = jt.tensor(_mat(2, 3)).t()
        d2 = jfw.make_dual(jt.tensor(_mat(3, 2)), tt)
        tan = jfw.unpack_dual(d2).tangent
        assert tan.stride() == (2, 1)
        np.testing.assert_array_equal(np.asarray(tan), np.asarray(tt))
        d3 = jfw.make_dual(jt.ones(2, dtype=jt.float64), jt.ones(2, dtype=jt.float32))
        assert jfw.unpack_dual(d3).tangent.dtype == jt.float32     # as torch: the tangent's own dtype


def test_errors_match_torch():
    for lib, fw in ((jt, jfw), (torch, tfw)):
        with pytest.raises(RuntimeError, match="no level exists"):
            fw.make_dual(lib.ones(2), lib.ones(2))
        with fw.dual_level():
            with pytest.raises(RuntimeError, match="different size"):
                fw.make_dual(lib.ones(3), lib.ones(4))
            with pytest.raises(ValueError, match="floating point"):
                fw.make_dual(lib.ones(3, dtype=lib.int64), lib.ones(3))
            d = fw.make_dual(lib.ones(3), lib.ones(3))
            with pytest.raises(RuntimeError, match="already has a forward gradient"):
                fw.make_dual(d, lib.ones(3))
            with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
                fw.enter_dual_level()
        with pytest.raises(RuntimeError, match="not the last one"):
            fw.exit_dual_level(level=3)


def test_backward_through_a_tangent_matches_torch():
    x, t = _mat(4), _mat(4)
    grads = []
    for lib, fw in ((jt, jfw), (torch, tfw)):
        xp = lib.tensor(x, requires_grad=True)
        with fw.dual_level():
            d = fw.make_dual(xp, lib.tensor(t))
            y = (lib.tanh(d) * d).sum()
            jvp = fw.unpack_dual(y).tangent
        jvp.backward()
        grads.append(np.asarray(xp.grad))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


def test_enter_and_exit_functions_and_decorator():
    level = jfw.enter_dual_level()
    try:
        d = jfw.make_dual(jt.tensor([1.0, 2.0]), jt.tensor([1.0, 0.0]))
        np.testing.assert_allclose(np.asarray(jfw.unpack_dual(d.exp()).tangent), [np.e, 0.0])
    finally:
        jfw.exit_dual_level(level=level)

    @jfw.dual_level()
    def inside():
        return jfw.unpack_dual(jfw.make_dual(jt.ones(2), jt.ones(2)) * 5).tangent
    np.testing.assert_allclose(np.asarray(inside()), [5.0, 5.0])
    assert jfw.unpack_dual(jt.ones(2)).tangent is None


def _positive(x):
    return x.abs() + 0.5


def _spd(lib, x):
    return x[:3, :3] @ x[:3, :3].mT + 3 * lib.eye(3, dtype=x.dtype)


# a sample over the op families (special functions, linear algebra, nn functions, gathers and
# scatters), each the tangent of one composite against torch's forward-mode formulas
FAMILIES = {
    "acos": lambda lib, x, y: (x.tanh() * 0.9).acos(),
    "lgamma_digamma": lambda lib, x, y: _positive(x).lgamma() + _positive(y).digamma(),
    "erfinv": lambda lib, x, y: (x.tanh() * 0.9).erfinv(),
    "logsumexp": lambda lib, x, y: x.logsumexp(0),
    "cumprod": lambda lib, x, y: x.cumprod(0),
    "std": lambda lib, x, y: x.std(1),
    "sort_topk": lambda lib, x, y: x.sort(1).values + x.topk(5).values,
    "median": lambda lib, x, y: x.median(),
    "det_inverse": lambda lib, x, y: x[:3, :3].det() * _spd(lib, y).inverse(),
    "cholesky": lambda lib, x, y: lib.linalg.cholesky(_spd(lib, x)),
    "svdvals_pinv": lambda lib, x, y: lib.linalg.svdvals(x).sum() + lib.linalg.pinv(y),
    "kron_outer": lambda lib, x, y: lib.kron(x[:2, :2], y[:2, :2]).sum() + lib.outer(x[0], y[1]),
    "unfold_pad": lambda lib, x, y: lib.nn.functional.pad(x.unfold(1, 2, 1), (1, 2)),
    "pools": lambda lib, x, y: (lib.nn.functional.avg_pool1d(x.unsqueeze(0), 2)
                                + lib.nn.functional.max_pool1d(y.unsqueeze(0), 2)),
    "norms": lambda lib, x, y: (lib.nn.functional.layer_norm(x, (5,))
                                + lib.nn.functional.group_norm(y.reshape(1, 4, 5), 2)[0]),
    "cross_entropy": lambda lib, x, y: lib.nn.functional.cross_entropy(x, lib.tensor([0, 1, 2, 3])),
    "activations": lambda lib, x, y: (lib.nn.functional.gelu(x) + lib.nn.functional.mish(y)
                                      + lib.nn.functional.softplus(x * y) + lib.nn.functional.elu(y)),
    "embedding_gather": lambda lib, x, y: (lib.nn.functional.embedding(lib.tensor([0, 2, 2]), x).sum(0)
                                           + x.gather(1, lib.tensor([[0, 1, 2, 3, 4]] * 4)).sum(0)),
    "scatter_index_add": lambda lib, x, y: (lib.zeros(4, 5, dtype=x.dtype).scatter(
        1, lib.tensor([[0], [1], [2], [3]]), y[:, :1]) + x.index_add(0, lib.tensor([0, 0, 1, 2]), y)),
    "binary_math": lambda lib, x, y: (lib.atan2(x, y) + lib.hypot(x, y) + lib.remainder(x, _positive(y))
                                      + lib.xlogy(x, _positive(y)) + lib.logaddexp(x, y) + _positive(x) ** y),
    "einsum_bmm": lambda lib, x, y: (lib.einsum("ij,kj->ik", x, y)
                                     + lib.bmm(x.reshape(2, 2, 5), y.reshape(2, 5, 2)).sum()),
    "conv": lambda lib, x, y: (lib.nn.functional.conv1d(x.unsqueeze(0), y[:, :3].reshape(1, 4, 3)).sum()
                               + lib.nn.functional.conv_transpose2d(x.reshape(1, 1, 4, 5),
                                                                    y[:2, :2].reshape(1, 1, 2, 2))),
    "interpolate": lambda lib, x, y: lib.nn.functional.interpolate(x.unsqueeze(0), scale_factor=2, mode="linear"),
    "losses": lambda lib, x, y: (lib.nn.functional.smooth_l1_loss(x, y)
                                 + lib.nn.functional.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean")
                                 + lib.nn.functional.binary_cross_entropy(x.sigmoid(), y.sigmoid())),
    "complex_abs": lambda lib, x, y: lib.complex(x, y).abs(),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_op_families_match_torch(name):
    # digamma's series differ from torch's in the last digits: their tangents agree to 1e-8
    _check(FAMILIES[name], [_mat(4, 5), _mat(4, 5)], rtol=1e-7 if name == "lgamma_digamma" else 1e-9)


def _scaled_product(lib):
    """A custom Function whose forward leaves the library (NumPy), so only its jvp can give tangents."""
    class ScaledProduct(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            ctx.save_for_forward(a, b)
            ctx.k = k
            return lib.tensor(np.asarray(a.detach()) * np.asarray(b.detach()) * k)

        @staticmethod
        def jvp(ctx, ta, tb, tk):
            assert tk is None
            a, b = ctx.saved_tensors
            return (ta * b + a * tb) * ctx.k

        @staticmethod
        def backward(ctx, g):
            return None, None, None
    return ScaledProduct


def test_custom_function_jvp_like_torch():
    a, b, ta = _mat(3), _mat(3), _mat(3)
    res = []
    for lib, fw in ((jt, jfw), (torch, tfw)):
        fn = _scaled_product(lib)
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(a), lib.tensor(ta))
            out = fn.apply(d, lib.tensor(b), 3.0)     # b is not dual: its tangent is zeros
            p, t = fw.unpack_dual(out)
            res.append((np.asarray(p), np.asarray(t)))

            class NoJvp(lib.autograd.Function):
                @staticmethod
                def forward(ctx, x):
                    return x * 2

                @staticmethod
                def backward(ctx, g):
                    return g * 2
            with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
                NoJvp.apply(d)
    for x, y in zip(res[0], res[1]):
        np.testing.assert_allclose(x, y, rtol=1e-12)
