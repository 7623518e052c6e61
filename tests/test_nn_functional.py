"""jt.nn.functional against torch.nn.functional: forward values and gradients on the same inputs
over tables of argument combinations (float32 with a tolerance, float64 tight), finite-difference
gradcheck of every differentiable kernel, second derivatives, property tests of linear, running
statistics, dropout statistics, errors."""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings, strategies as st

import jtensor as jt
import jtensor.nn.functional as F

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-9, np.float32: 3e-4}


def rnd(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def close(got, exp, dtype=np.float64, tol=None):
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    exp = np.asarray(exp.detach().numpy() if isinstance(exp, torch.Tensor) else exp, dtype=np.float64)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    t = TOL[dtype] if tol is None else tol
    scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size else 1.0
    np.testing.assert_allclose(got, exp, rtol=t, atol=t * scale)


def run_both(jfn, tfn, arrays, grad=(), dtype=np.float64, seed=0, tol=None):
    """Call jfn on jtensor copies and tfn on torch copies of `arrays` (float arrays cast to dtype;
    other values passed as they are); compare the outputs and, for the indices in `grad`, the
    gradients for a random upstream gradient."""
    jin, tin = [], []
    for i, a in enumerate(arrays):
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                a = a.astype(dtype)
            j, t = jt.tensor(a), torch.tensor(a)
            if i in grad:
                j.requires_grad_()
                t.requires_grad_()
        else:
            j = t = a
        jin.append(j)
        tin.append(t)
    jo, to = jfn(*jin), tfn(*tin)
    close(jo, to, dtype, tol)
    if grad:
        go = rnd(tuple(to.shape), seed + 1).astype(dtype)
        jg = jt.autograd.grad(jo, [jin[i] for i in grad], jt.tensor(go))
        tg = torch.autograd.grad(to, [tin[i] for i in grad], torch.tensor(go))
        for a, b in zip(jg, tg):
            close(a, b, dtype, tol)
    return jo, to


def leaf(a):
    return jt.tensor(np.asarray(a, dtype=np.float64)).requires_grad_()


# ---- linear and convolution ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xshape,bias", [((5, 4), True), ((2, 3, 4), False), ((4,), True)])
def test_linear(dtype, xshape, bias):
    arrays = [rnd(xshape, 1), rnd((3, 4), 2), rnd((3,), 3) if bias else None]
    run_both(F.linear, TF.linear, arrays, grad=(0, 1, 2) if bias else (0, 1), dtype=dtype)


def test_linear_views_and_errors():
    x, w, b = rnd((6, 4), 1), rnd((6, 5), 2), rnd((5,), 3)
    jx, jw, tx, tw = jt.tensor(x), jt.tensor(w), torch.tensor(x), torch.tensor(w)
    close(F.linear(jx.T, jw.T, jt.tensor(b)), TF.linear(tx.T, tw.T, torch.tensor(b)))   # both transposed
    close(F.linear(jx.T[::2], jw.T[1::2]), TF.linear(tx.T[::2], tw.T[1::2]))            # strided rows
    with pytest.raises(ValueError, match="linear"):
        F.linear(jx, jw)


def test_linear_vmap_rules():
    """vmap of F.linear: a shared weight rides along (one gemm); a batched weight is a batched product."""
    x, w, b = rnd((3, 4), 4), rnd((2, 4), 5), rnd((2,), 6)
    ws = rnd((3, 2, 4), 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # native rules: no loop fallback warning
        got = jt.func.vmap(F.linear, in_dims=(0, None, None))(jt.tensor(x), jt.tensor(w), jt.tensor(b))
        got_w = jt.func.vmap(F.linear, in_dims=(0, 0, None))(jt.tensor(x), jt.tensor(ws), jt.tensor(b))
        got_x = jt.func.vmap(F.linear, in_dims=(None, 0))(jt.tensor(x[0]), jt.tensor(ws))
    close(got, x @ w.T + b)
    close(got_w, np.einsum("bi,boi->bo", x, ws) + b)
    close(got_x, np.einsum("i,boi->bo", x[0], ws))
    per_example = jt.func.vmap(jt.func.grad(lambda w_, x_: F.linear(x_, w_).sum()), in_dims=(None, 0))
    tper = torch.func.vmap(torch.func.grad(lambda w_, x_: TF.linear(x_, w_).sum()), in_dims=(None, 0))
    close(per_example(jt.tensor(w), jt.tensor(x)), tper(torch.tensor(w), torch.tensor(x)))


CONV2D = [
    # x shape, w shape, bias, kwargs
    ((2, 3, 7, 6), (4, 3, 3, 3), True, {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), True, dict(stride=2, padding=1)),
    ((2, 4, 8, 7), (6, 2, 3, 3), True, dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)),
    ((1, 4, 5, 5), (4, 1, 3, 3), False, dict(padding="same", groups=4)),
    ((2, 2, 6, 5), (3, 2, 2, 2), True, dict(padding="same")),              # asymmetric 'same'
    ((2, 2, 6, 5), (3, 2, 3, 2), True, dict(padding="same", dilation=(1, 2))),
    ((3, 7, 6), (2, 3, 2, 3), True, dict(padding="valid")),                # unbatched
    ((2, 3, 5, 5), (2, 3, 1, 1), False, dict(stride=2)),
    ((1, 2, 9, 8), (3, 2, 2, 3), True, dict(stride=3, padding=(0, 2), dilation=(1, 3))),
    ((2, 6, 4, 4), (6, 2, 2, 2), True, dict(groups=3, stride=(1, 2), padding=(1, 0))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kw", CONV2D)
def test_conv2d(dtype, xs, ws, bias, kw):
    arrays = [rnd(xs, 1), rnd(ws, 2), rnd((ws[0],), 3) if bias else None]
    run_both(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: TF.conv2d(x, w, b, **kw), arrays,
             grad=(0, 1, 2) if bias else (0, 1), dtype=dtype)


CONV1D = [
    ((2, 3, 9), (4, 3, 3), True, {}),
    ((2, 4, 10), (4, 2, 4), True, dict(stride=2, padding=1, dilation=2, groups=2)),
    ((3, 8), (2, 3, 2), False, dict(padding="same")),
    ((1, 2, 7), (3, 2, 3), True, dict(padding=(2,), stride=(3,))),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ws,bias,kw", CONV1D)
def test_conv1d(dtype, xs, ws, bias, kw):
    arrays = [rnd(xs, 4), rnd(ws, 5), rnd((ws[0],), 6) if bias else None]
    run_both(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: TF.conv1d(x, w, b, **kw), arrays,
             grad=(0, 1, 2) if bias else (0, 1), dtype=dtype)


def test_conv2d_half_precision_computes_in_float32():
    x, w = rnd((2, 3, 6, 6), 1).astype(np.float16), rnd((4, 3, 3, 3), 2).astype(np.float16)
    got = F.conv2d(jt.tensor(x), jt.tensor(w), padding=1)
    assert got.dtype == jt.float16
    exp = TF.conv2d(torch.tensor(x.astype(np.float32)), torch.tensor(w.astype(np.float32)), padding=1)
    close(got, exp, tol=1e-2)


def test_conv2d_errors():
    x, w = jt.tensor(rnd((2, 4, 5, 5))), jt.tensor(rnd((6, 2, 3, 3)))
    with pytest.raises(ValueError, match="3-d .*or 4-d"):
        F.conv2d(jt.tensor(rnd((4, 5))), w)
    with pytest.raises(ValueError, match="divisible by groups"):
        F.conv2d(x, jt.tensor(rnd((5, 2, 3, 3))), groups=2)
    with pytest.raises(ValueError, match="channels"):
        F.conv2d(x, w, groups=1)
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(x, w, stride=2, padding="same", groups=2)
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(x, jt.tensor(rnd((6, 2, 7, 7))), groups=2)
    with pytest.raises(TypeError, match="dtype"):
        F.conv2d(x, w.to(jt.float32), groups=2)


# ---- pooling --------------------------------------------------------------------------------------

MAXPOOL = [
    ((2, 3, 7, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, ceil_mode=True)),
    ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), dilation=(2, 1), ceil_mode=True)),
    ((3, 8, 8), dict(kernel_size=2, stride=1, dilation=2)),
    ((2, 2, 5, 5), dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,kw", MAXPOOL)
def test_max_pool2d(dtype, xs, kw):
    run_both(lambda x: F.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), [rnd(xs, 7)], grad=(0,), dtype=dtype)
    x = rnd(xs, 7).astype(dtype)
    _, ji = F.max_pool2d(jt.tensor(x), return_indices=True, **kw)
    _, ti = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    assert ji.dtype == jt.int64
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())


AVGPOOL = [
    ((2, 3, 7, 6), dict(kernel_size=2)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((1, 2, 8, 9), dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True)),
    ((3, 6, 6), dict(kernel_size=2, stride=1, divisor_override=3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,kw", AVGPOOL)
def test_avg_pool2d(dtype, xs, kw):
    run_both(lambda x: F.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), [rnd(xs, 8)], grad=(0,), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,size", [((2, 3, 7, 6), (3, 3)), ((2, 3, 8, 8), 4), ((2, 3, 5, 7), 1),
                                     ((3, 5, 7), (None, 3)), ((1, 2, 4, 5), (6, 7))])
def test_adaptive_avg_pool2d(dtype, xs, size):
    run_both(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size), [rnd(xs, 9)],
             grad=(0,), dtype=dtype)


def test_pool_errors():
    x = jt.tensor(rnd((2, 3, 6, 6)))
    with pytest.raises(ValueError, match="at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="3-d .*or 4-d"):
        F.avg_pool2d(jt.tensor(rnd((6, 6))), 2)
    with pytest.raises(ValueError, match="too small"):
        F.max_pool2d(jt.tensor(rnd((1, 1, 2, 2))), 3)


# ---- activations and softmax ----------------------------------------------------------------------

ACTIVATIONS = [
    (F.relu, TF.relu), (F.silu, TF.silu), (F.tanh, torch.tanh), (F.sigmoid, torch.sigmoid),
    (F.gelu, TF.gelu), (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("jf,tf", ACTIVATIONS)
def test_activations(dtype, jf, tf):
    run_both(jf, tf, [rnd((4, 5), 10, 3.0)], grad=(0,), dtype=dtype)


def test_activation_inplace_and_errors():
    x = jt.tensor(rnd((3, 3)))
    y = F.relu(x, inplace=True)
    assert y is x and float(x.numpy().min()) >= 0
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax(dtype, log, dim):
    jf, tf = (F.log_softmax, TF.log_softmax) if log else (F.softmax, TF.softmax)
    run_both(lambda x: jf(x, dim), lambda x: tf(x, dim), [rnd((3, 4, 5), 11, 2.0)], grad=(0,), dtype=dtype)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_stable_and_dtype(log):
    jf, tf = (F.log_softmax, TF.log_softmax) if log else (F.softmax, TF.softmax)
    x = rnd((4, 6), 12, 1000.0)   # exp would overflow without the max shift
    x[0, 2] = -np.inf
    close(jf(jt.tensor(x), 1), tf(torch.tensor(x), 1))
    x32 = x.astype(np.float32)
    got = jf(jt.tensor(x32), -1, dtype=jt.float64)
    assert got.dtype == jt.float64
    close(got, tf(torch.tensor(x32), -1, dtype=torch.float64))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        close(jf(jt.tensor(x)), tf(torch.tensor(x), 1))


def test_softmax_vmap_batch_rule():
    x = rnd((3, 4, 5), 13)
    for jf in (F.softmax, F.log_softmax):
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # the "reduce" rule batches natively: no loop fallback warning
            got = jt.func.vmap(lambda t: jf(t, 0))(jt.tensor(x))
        close(got, jf(jt.tensor(x), 1))


# ---- normalization --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,ns,affine", [((3, 4, 5), (5,), True), ((3, 4, 5), (4, 5), True),
                                          ((6, 7), (7,), False), ((2, 3, 4, 5), (3, 4, 5), True)])
def test_layer_norm(dtype, xs, ns, affine):
    arrays = [rnd(xs, 14, 2.0) + 1, rnd(ns, 15) if affine else None, rnd(ns, 16) if affine else None]
    run_both(lambda x, w, b: F.layer_norm(x, ns, w, b, eps=1e-5), lambda x, w, b: TF.layer_norm(x, ns, w, b, eps=1e-5),
             arrays, grad=(0, 1, 2) if affine else (0,), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,groups,affine", [((2, 6, 3, 4), 1, True), ((2, 6, 3, 4), 2, True),
                                              ((2, 6, 3, 4), 6, False), ((3, 4, 5), 2, True)])
def test_group_norm(dtype, xs, groups, affine):
    c = xs[1]
    arrays = [rnd(xs, 17, 2.0) - 1, rnd((c,), 18) if affine else None, rnd((c,), 19) if affine else None]
    run_both(lambda x, w, b: F.group_norm(x, groups, w, b), lambda x, w, b: TF.group_norm(x, groups, w, b),
             arrays, grad=(0, 1, 2) if affine else (0,), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs,affine", [((8, 3), True), ((4, 3, 5, 2), True), ((4, 3, 6), False)])
def test_batch_norm_training_updates_running_stats(dtype, xs, affine):
    c = xs[1]
    x = (rnd(xs, 20, 3.0) + 2).astype(dtype)
    rm0, rv0 = rnd((c,), 21).astype(dtype), (np.abs(rnd((c,), 22)) + 0.5).astype(dtype)
    arrays = [x, rnd((c,), 23) if affine else None, rnd((c,), 24) if affine else None]
    jrm, jrv, trm, trv = jt.tensor(rm0), jt.tensor(rv0), torch.tensor(rm0), torch.tensor(rv0)
    run_both(lambda x, w, b: F.batch_norm(x, jrm, jrv, w, b, training=True, momentum=0.3),
             lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training=True, momentum=0.3),
             arrays, grad=(0, 1, 2) if affine else (0,), dtype=dtype)
    close(jrm, trm, dtype)
    close(jrv, trv, dtype)   # unbiased batch variance
    # evaluation mode uses the running statistics
    run_both(lambda x, w, b: F.batch_norm(x, jrm, jrv, w, b, training=False),
             lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training=False),
             arrays, grad=(0, 1, 2) if affine else (0,), dtype=dtype)
    # training without running statistics
    run_both(lambda x: F.batch_norm(x, None, None, training=True), lambda x: TF.batch_norm(x, None, None, training=True),
             [x], grad=(0,), dtype=dtype)


@pytest.mark.parametrize("dims", [(1,), (0, 2), (0, 1, 2), (2,), (0, 3)])
def test_standardize_kernel_any_dims(dims):
    """The kernel under the norms, over kept dims that are and are not one contiguous block."""
    def ref(x):
        m = x.mean(dims, keepdim=True)
        return (x - m) / torch.sqrt(((x - m) ** 2).mean(dims, keepdim=True) + 1e-5)
    shape = (3, 4, 5, 2) if 3 in dims else (3, 4, 5)
    run_both(lambda x: jt.ops._standardize(x, dims, 1e-5), ref, [rnd(shape, 80)], grad=(0,))


def test_standardize_second_derivative_permuted_layout():
    w = jt.tensor(rnd((2, 3, 2), 81))
    assert jt.autograd.gradgradcheck(lambda x: jt.ops._standardize(x, (1,), 1e-3) * w, [leaf(rnd((2, 3, 2), 82))])


def test_norm_errors():
    x = jt.tensor(rnd((2, 6, 3)))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(x, 4)
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(x, (6,))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(jt.tensor(rnd((1, 3))), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean"):
        F.batch_norm(x, None, None, training=False)


# ---- embedding, dropout, attention ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx,freq", [(None, False), (2, False), (-1, True)])
def test_embedding(dtype, padding_idx, freq):
    idx = np.array([[0, 2, 4], [2, 2, 1]])
    run_both(lambda i, w: F.embedding(i, w, padding_idx, scale_grad_by_freq=freq),
             lambda i, w: TF.embedding(i, w, padding_idx, scale_grad_by_freq=freq),
             [idx, rnd((5, 3), 25)], grad=(1,), dtype=dtype)


def test_embedding_max_norm_and_errors():
    w0 = rnd((6, 4), 26, 2.0)
    idx = np.array([1, 3, 3, 5])
    jw, tw = jt.tensor(w0), torch.tensor(w0)
    close(F.embedding(jt.tensor(idx), jw, max_norm=1.5), TF.embedding(torch.tensor(idx), tw, max_norm=1.5))
    close(jw, tw)   # the used rows were renormalized in place
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(jt.tensor(np.array([6])), jw)
    with pytest.raises(TypeError, match="integer"):
        F.embedding(jt.tensor(np.array([1.0])), jw)


def test_dropout():
    x = jt.ones((200, 500))
    jt.manual_seed(7)
    a = F.dropout(x, 0.3)
    jt.manual_seed(7)
    b = F.dropout(x, 0.3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    v = a.numpy()
    assert abs((v == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(v[v != 0], 1 / 0.7, rtol=1e-6)
    assert not np.array_equal(F.dropout(x, 0.3).numpy(), v)   # the generator moved on
    # gradient: the same mask
    xs = leaf(rnd((50, 40), 27))
    jt.manual_seed(3)
    y = F.dropout(xs, 0.5)
    (g,) = jt.autograd.grad(y.sum(), [xs])
    np.testing.assert_allclose(g.numpy(), (y.detach().numpy() != 0) * 2.0)
    assert F.dropout(x, 0.3, training=False) is x and F.dropout(x, 0.0) is x
    assert not F.dropout(x, 1.0).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, 1.5)


SDPA = [
    dict(),
    dict(scale=0.3),
    dict(is_causal=True),
    dict(mask="bool"),
    dict(mask="float"),
    dict(gqa=True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SDPA)
def test_scaled_dot_product_attention(dtype, case):
    case = dict(case)
    kind, gqa = case.pop("mask", None), case.pop("gqa", False)
    hq = 4 if gqa else 2
    L = 5
    S = L if case.get("is_causal") else 6
    arrays = [rnd((2, hq, L, 4), 28), rnd((2, 2, S, 4), 29), rnd((2, 2, S, 3), 30)]
    grad = (0, 1, 2)
    if kind == "bool":
        m = np.random.default_rng(31).random((L, S)) > 0.4
        m[:, 0] = True   # no fully masked rows
        arrays.append(m)
    elif kind == "float":
        arrays.append(rnd((2, 1, L, S), 32))
        grad = (0, 1, 2, 3)
    else:
        arrays.append(None)
    run_both(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, enable_gqa=gqa, **case),
             lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, m, enable_gqa=gqa, **case),
             arrays, grad=grad, dtype=dtype)


@pytest.mark.parametrize("L,S,scale", [(5, 7, None), (7, 5, None), (4, 4, -0.7)])
def test_scaled_dot_product_attention_causal_fused(L, S, scale):
    """The fused scaled causal softmax (_attention_softmax): more or fewer keys than queries (torch's
    top-left aligned mask) and a negative scale, values and gradients against torch."""
    arrays = [rnd((2, 3, L, 4), 36), rnd((2, 3, S, 4), 37), rnd((2, 3, S, 2), 38)]
    run_both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale),
             lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale),
             arrays, grad=(0, 1, 2))


def test_scaled_dot_product_attention_dropout_is_seeded():
    q, k, v = (jt.tensor(rnd((2, 3, 4), s)) for s in (33, 34, 35))
    jt.manual_seed(11)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    jt.manual_seed(11)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(q, k, v).numpy())


# ---- losses ---------------------------------------------------------------------------------------

def class_targets(shape, c, seed, ignore=None):
    t = np.random.default_rng(seed).integers(0, c, shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


CE_INDEX = [(np.float64,) + case for case in itertools.product(
    [((6, 5), (6,)), ((3, 4, 2, 3), (3, 2, 3)), ((5,), ())],   # input, target shapes
    [None, -100],                                              # no ignored targets / some at ignore_index
    [False, True],                                             # class weights
    [0.0, 0.2],                                                # label smoothing
    ["mean", "sum", "none"])]
CE_INDEX += [(np.float32, ((6, 5), (6,)), 2, True, 0.1, r) for r in ("mean", "sum", "none")]
CE_INDEX += [(np.float32, ((3, 4, 2, 3), (3, 2, 3)), -100, False, 0.0, "mean")]


@pytest.mark.parametrize("dtype,shapes,ignore,weighted,smoothing,reduction", CE_INDEX)
def test_cross_entropy_class_indices(dtype, shapes, ignore, weighted, smoothing, reduction):
    xs, ts = shapes
    c = xs[0] if len(xs) == 1 else xs[1]
    if len(xs) == 1 and ignore is not None:
        ignore = None   # a single target: keep it counted
    target = class_targets(ts, c, 36, ignore)
    kw = dict(ignore_index=-100 if ignore is None else ignore, label_smoothing=smoothing, reduction=reduction)
    arrays = [rnd(xs, 37, 2.0), target, np.abs(rnd((c,), 38)) + 0.2 if weighted else None]
    run_both(lambda x, t, w: F.cross_entropy(x, t, w, **kw), lambda x, t, w: TF.cross_entropy(x, t, w, **kw),
             arrays, grad=(0,), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted,smoothing,reduction", itertools.product([False, True], [0.0, 0.3],
                                                                           ["mean", "sum", "none"]))
def test_cross_entropy_probabilities(dtype, weighted, smoothing, reduction):
    p = np.exp(rnd((4, 5, 3), 39))
    p /= p.sum(1, keepdims=True)
    kw = dict(label_smoothing=smoothing, reduction=reduction)
    arrays = [rnd((4, 5, 3), 40, 2.0), p, np.abs(rnd((5,), 41)) + 0.2 if weighted else None]
    run_both(lambda x, t, w: F.cross_entropy(x, t, w, **kw), lambda x, t, w: TF.cross_entropy(x, t, w, **kw),
             arrays, grad=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted,reduction", itertools.product([False, True], ["mean", "sum", "none"]))
def test_nll_loss(dtype, weighted, reduction):
    target = class_targets((7,), 4, 42, ignore=1)
    kw = dict(ignore_index=1, reduction=reduction)
    arrays = [rnd((7, 4), 43), target, np.abs(rnd((4,), 44)) + 0.2 if weighted else None]
    run_both(lambda x, t, w: F.nll_loss(x, t, w, **kw), lambda x, t, w: TF.nll_loss(x, t, w, **kw),
             arrays, grad=(0,), dtype=dtype)


def test_cross_entropy_errors():
    x = jt.tensor(rnd((3, 4)))
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, jt.tensor(np.array([0, 4, 1])))
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(x, jt.tensor(np.array([0, -1, 1])))
    with pytest.raises(ValueError, match="batch_size"):
        F.cross_entropy(x, jt.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, jt.tensor(np.array([0, 1, 2])), reduction="avg")
    with pytest.raises(TypeError, match="integer"):
        F.nll_loss(x, jt.tensor(np.array([True, False, True])))
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(x, jt.tensor(np.array([0, 1, 2])), jt.tensor(rnd((3,))))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("jf,tf", [(F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss)])
@pytest.mark.parametrize("weighted,reduction", itertools.product([False, True], ["mean", "sum", "none"]))
def test_pointwise_losses(dtype, jf, tf, weighted, reduction):
    arrays = [rnd((4, 5), 45), rnd((4, 5), 46), np.abs(rnd((4, 5), 47)) if weighted else None]
    run_both(lambda x, t, w: jf(x, t, reduction=reduction, weight=w),
             lambda x, t, w: tf(x, t, reduction=reduction, weight=w), arrays, grad=(0, 1), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted,pos,reduction", itertools.product([False, True], [False, True],
                                                                     ["mean", "sum", "none"]))
def test_binary_cross_entropy_with_logits(dtype, weighted, pos, reduction):
    x = rnd((4, 3), 48, 3.0)
    x[0, 0], x[1, 1] = 80.0, -80.0   # saturated logits stay finite
    arrays = [x, np.random.default_rng(49).random((4, 3)), np.abs(rnd((3,), 50)) if weighted else None,
              np.abs(rnd((3,), 51)) + 0.5 if pos else None]
    run_both(lambda x, t, w, p: F.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=p),
             lambda x, t, w, p: TF.binary_cross_entropy_with_logits(x, t, w, reduction=reduction, pos_weight=p),
             arrays, grad=(0, 1), dtype=dtype)   # torch has no gradient for pos_weight: see test_gradcheck


def test_legacy_reduction_arguments():
    x, t = rnd((3, 4)), np.array([0, 3, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(F.cross_entropy(jt.tensor(x), jt.tensor(t), size_average=False),
              TF.cross_entropy(torch.tensor(x), torch.tensor(t), size_average=False))
        close(F.nll_loss(jt.tensor(x), jt.tensor(t), reduce=False),
              TF.nll_loss(torch.tensor(x), torch.tensor(t), reduce=False))


# ---- finite differences and second derivatives ----------------------------------------------------

GRADCHECK = [
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
     [(1, 4, 5, 5), (2, 2, 2, 2), (2,)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2, stride=1, padding=1), [(1, 2, 3, 3)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [(1, 2, 4, 4)]),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(1, 2, 3, 4)]),
    ("softmax", lambda x: F.softmax(x, 1), [(2, 3, 2)]),
    ("log_softmax", lambda x: F.log_softmax(x, 0), [(3, 2)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (3,), w, b), [(2, 3), (3,), (3,)]),
    ("batch_norm", lambda x: F.batch_norm(x, None, None, training=True), [(3, 2, 2)]),
    ("group_norm", lambda x: F.group_norm(x, 2, eps=1e-3), [(2, 4, 2)]),
    ("cross_entropy", lambda x: F.cross_entropy(x, jt.tensor(np.array([1, 0, 2])), label_smoothing=0.1),
     [(3, 3)]),
    ("cross_entropy_none", lambda x: F.cross_entropy(x, jt.tensor(np.array([[1, 2], [0, 1]])), reduction="none",
                                                     weight=jt.tensor(np.array([0.5, 2.0, 1.0])), ignore_index=2),
     [(2, 3, 2)]),
    ("cross_entropy_backward", lambda g: jt.ops._cross_entropy_backward(
        g, jt.tensor(rnd((3, 4), 90)), jt.tensor(np.array([1, 3, 0])), jt.tensor(np.array([0.5, 2.0, 1.0, 1.5])), 3, 0.2,
        "none"), [(3,)]),
    ("cross_entropy_backward_mean", lambda g: jt.ops._cross_entropy_backward(
        g, jt.tensor(rnd((3, 4), 91)), jt.tensor(np.array([1, 3, 0])), None, -100, 0.2, "mean"), [()]),
    ("nll_loss", lambda x: F.nll_loss(x, jt.tensor(np.array([1, 0, 1])), reduction="none"), [(3, 2)]),
    ("bce_with_logits", lambda x, t, p: F.binary_cross_entropy_with_logits(x, t, pos_weight=p),
     [(2, 3), (2, 3), (3,)]),
    ("embedding", lambda w: F.embedding(jt.tensor(np.array([[0, 2], [2, 1]])), w), [(3, 2)]),
    # padding_idx and scale_grad_by_freq are gradient conventions, not derivatives: check that the
    # (linear) embedding gradient kernel's own derivative is its exact adjoint instead
    ("embedding_backward", lambda g: jt.ops._embedding_backward(g, jt.tensor(np.array([0, 2, 2, 1])), 3, 1, True),
     [(4, 2)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    inputs = [leaf(rnd(s, 52 + i)) for i, s in enumerate(shapes)]
    assert jt.autograd.gradcheck(fn, inputs)


GRADGRAD = [
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [(2, 3)]),
    ("tanh", F.tanh, [(3,)]),
    ("softmax", lambda x: F.softmax(x, -1) * jt.tensor(rnd((2, 3), 60)), [(2, 3)]),
    ("log_softmax", lambda x: F.log_softmax(x, 0) * jt.tensor(rnd((2, 3), 61)), [(2, 3)]),
    ("conv2d", lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2) ** 2, [(1, 2, 4, 3), (4, 1, 2, 2)]),
    ("linear", lambda x, w, b: F.linear(x, w, b) ** 2, [(2, 3), (2, 3), (2,)]),
    ("layer_norm", lambda x, w: F.layer_norm(x, (3,), w) * jt.tensor(rnd((2, 3), 62)), [(2, 3), (3,)]),
    ("group_norm", lambda x: F.group_norm(x, 2) * jt.tensor(rnd((1, 4, 2), 63)), [(1, 4, 2)]),
    ("cross_entropy", lambda x: F.cross_entropy(x, jt.tensor(np.array([1, 0])), jt.tensor(np.array([0.5, 2.0, 1.0]))),
     [(2, 3)]),
    ("cross_entropy_smoothed_none", lambda x: F.cross_entropy(x, jt.tensor(np.array([[1, 2], [0, 1]])), reduction="none",
                                                              label_smoothing=0.2, ignore_index=0) ** 2, [(2, 3, 2)]),
    ("cross_entropy_unbatched", lambda x: F.cross_entropy(x, jt.tensor(np.array(2)), label_smoothing=0.1) ** 2, [(4,)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2) ** 2, [(1, 1, 4, 4)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2, 1) ** 2, [(1, 1, 3, 3)]),
    ("embedding", lambda w: F.embedding(jt.tensor(np.array([0, 2, 2])), w) ** 2, [(3, 2)]),
    ("attention_causal", lambda q, k: F.scaled_dot_product_attention(q, k, k, is_causal=True) ** 2,
     [(1, 3, 2), (1, 4, 2)]),
    ("batch_norm", lambda x, w: F.batch_norm(x, None, None, w, training=True) * jt.tensor(rnd((3, 2, 2), 65)),
     [(3, 2, 2), (2,)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRADGRAD, ids=[g[0] for g in GRADGRAD])
def test_gradgradcheck(name, fn, shapes):
    inputs = [leaf(rnd(s, 64 + i)) for i, s in enumerate(shapes)]
    assert jt.autograd.gradgradcheck(fn, inputs)


def test_conv2d_double_backward_matches_torch():
    """d/dx of <dL/dw, v> through the conv input and weight gradient kernels, against torch."""
    x0, w0, v0 = rnd((2, 2, 5, 4), 70), rnd((3, 2, 3, 2), 71), rnd((3, 2, 3, 2), 72)
    outs = []
    for lib, fn in ((jt, F.conv2d), (torch, TF.conv2d)):
        x, w = (lib.tensor(a).requires_grad_() for a in (x0, w0))
        y = fn(x, w, stride=(2, 1), padding=1)
        gw, = (jt.autograd.grad if lib is jt else torch.autograd.grad)((y * y).sum(), [w], create_graph=True)
        outs.append((jt.autograd.grad if lib is jt else torch.autograd.grad)((gw * lib.tensor(v0)).sum(), [x, w]))
    for a, b in zip(*outs):
        close(a, b)


@settings(max_examples=40, deadline=None)
@given(lead=st.lists(st.integers(0, 3), max_size=2), n_in=st.integers(1, 5), n_out=st.integers(0, 4),
       transposed=st.booleans(), step=st.integers(1, 2), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2 ** 16))
def test_linear_property(lead, n_in, n_out, transposed, step, bias, dtype, seed):
    """F.linear (one fused Julia op reading its operands in place) against PyTorch over random
    leading shapes, empty sizes, transposed and strided weights, with and without bias."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(lead) + (n_in * step,)).astype(dtype)[..., ::step]
    w = rng.standard_normal((n_in, n_out) if transposed else (n_out, n_in)).astype(dtype)
    b = rng.standard_normal((n_out,)).astype(dtype) if bias else None
    jw, tw = jt.tensor(w), torch.tensor(w)
    if transposed:
        jw, tw = jw.T, tw.T
    got = F.linear(jt.tensor(x), jw, None if b is None else jt.tensor(b))
    exp = TF.linear(torch.tensor(np.ascontiguousarray(x)), tw, None if b is None else torch.tensor(b))
    close(got, exp, dtype)
