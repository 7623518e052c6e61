"""The 3-d convolution and pooling family and fractional max pooling (julia/src/ops/nn/conv.jl and
pooling.jl, generic over 2 or 3 spatial dims; python/jtensor/nn/functional.py, _functional/pooling.py,
_functional/fractional.py, nn/modules/conv.py, pooling.py, pooling_more.py, fractional.py, lazy.py)
against torch: values and indices, input / weight / bias gradients against torch.autograd,
gradients and second derivatives by finite differences (float64), random shapes, strides, paddings,
dilations and groups in float32 and float64, unbatched inputs, modules with torch's weights and
reprs, fractional pooling with explicit `_random_samples` compared exactly, and PyTorch's errors."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from nn_oracle import rnd, run_both, run_modules

DTYPES = [np.float32, np.float64]


def _conv_case(seed):
    """A random conv3d configuration: shapes, stride, padding, dilation, groups."""
    r = np.random.default_rng(seed)
    g = int(r.choice([1, 2]))
    cin, cout = g * int(r.integers(1, 3)), g * int(r.integers(1, 3))
    k = tuple(int(v) for v in r.integers(1, 4, 3))
    d = tuple(int(v) for v in r.integers(1, 3, 3))
    s = tuple(int(v) for v in r.integers(1, 3, 3))
    p = tuple(int(v) for v in r.integers(0, 2, 3))
    size = tuple(d_ * (k_ - 1) + 1 + int(r.integers(0, 4)) for k_, d_ in zip(k, d))
    n = int(r.integers(1, 3))
    return (n, cin) + size, (cout, cin // g) + k, dict(stride=s, padding=p, dilation=d, groups=g)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(6))
def test_conv3d_random(seed, dtype):
    xs, ws, kw = _conv_case(seed)
    arrays = [rnd(xs, seed), rnd(ws, seed + 10), rnd((ws[0],), seed + 20) if seed % 2 else None]
    grad = (0, 1, 2) if seed % 2 else (0, 1)
    run_both(lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw), arrays, grad=grad, dtype=dtype)
    arrays[0] = arrays[0][0]   # unbatched
    run_both(lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw), arrays, grad=grad, dtype=dtype)


@pytest.mark.parametrize("padding", ["same", "valid", 1, (0, 1, 2)])
def test_conv3d_padding(padding):
    kw = dict(padding=padding, dilation=(1, 2, 1) if padding == "same" else 1)
    run_both(lambda *a: F.conv3d(*a, **kw), lambda *a: TF.conv3d(*a, **kw),
             [rnd((2, 3, 5, 6, 4), 1), rnd((4, 3, 2, 3, 2), 2), rnd((4,), 3)], grad=(0, 1, 2))
    run_both(lambda *a: jt.conv3d(*a, **kw), lambda *a: torch.conv3d(*a, **kw),
             [rnd((2, 3, 5, 6, 4), 1), rnd((4, 3, 2, 3, 2), 2), rnd((4,), 3)])


def test_conv3d_large_channels():
    # many channels: im2col's vector path (runs of 16+ values); a 1×1×1 kernel
    run_both(lambda *a: F.conv3d(*a, padding=1), lambda *a: TF.conv3d(*a, padding=1),
             [rnd((2, 20, 4, 5, 3), 1), rnd((7, 20, 3, 3, 3), 2), rnd((7,), 3)], grad=(0, 1, 2), dtype=np.float32)
    run_both(F.conv3d, TF.conv3d, [rnd((1, 3, 4, 4, 4), 1), rnd((5, 3, 1, 1, 1), 2)], grad=(0, 1))


CT3 = [dict(), dict(stride=2, output_padding=1), dict(stride=(2, 1, 3), padding=(1, 0, 1), output_padding=(1, 0, 2)),
       dict(padding=1, dilation=2, groups=2), dict(stride=2, dilation=(2, 1, 1), output_padding=(1, 0, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", CT3)
def test_conv_transpose3d(kwargs, dtype):
    g = kwargs.get("groups", 1)
    arrays = [rnd((2, 4, 3, 4, 3), 1), rnd((4, 6 // g, 3, 2, 2), 2), rnd((6,), 3)]
    run_both(lambda *a: F.conv_transpose3d(*a, **kwargs), lambda *a: TF.conv_transpose3d(*a, **kwargs), arrays,
             grad=(0, 1, 2), dtype=dtype)
    arrays[0] = arrays[0][1]
    run_both(lambda *a: jt.conv_transpose3d(*a, **kwargs), lambda *a: torch.conv_transpose3d(*a, **kwargs),
             arrays, grad=(0, 1, 2), dtype=dtype)


def _leaf(shape, seed):
    return jt.tensor(rnd(shape, seed)).requires_grad_()


def test_conv3d_finite_differences():
    x, w, b = _leaf((1, 2, 3, 4, 3), 1), _leaf((2, 1, 2, 2, 2), 2), _leaf((2,), 3)
    f = lambda x, w, b: F.conv3d(x, w, b, stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2), groups=2)
    assert jt.autograd.gradcheck(f, (x, w, b))
    assert jt.autograd.gradgradcheck(f, (x, w, b))
    ft = lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=(0, 1, 0), output_padding=1)
    w2 = _leaf((2, 3, 2, 2, 2), 4)
    b2 = _leaf((3,), 5)
    assert jt.autograd.gradcheck(ft, (x, w2, b2))
    assert jt.autograd.gradgradcheck(ft, (x, w2, b2))


def test_conv3d_second_derivative_matches_torch():
    x, w = rnd((2, 2, 4, 3, 3), 1), rnd((3, 2, 2, 2, 2), 2)
    jx, jw = jt.tensor(x).requires_grad_(), jt.tensor(w).requires_grad_()
    tx, tw = torch.tensor(x).requires_grad_(), torch.tensor(w).requires_grad_()
    gj = jt.autograd.grad((F.conv3d(jx, jw, padding=1) ** 2).sum(), [jx], create_graph=True)[0]
    gt = torch.autograd.grad((TF.conv3d(tx, tw, padding=1) ** 2).sum(), [tx], create_graph=True)[0]
    hj = jt.autograd.grad((gj ** 2).sum(), [jw])[0]
    ht = torch.autograd.grad((gt ** 2).sum(), [tw])[0]
    np.testing.assert_allclose(hj.numpy(), ht.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_module_padding_modes(mode):
    for args, kw in (((3, 4, 3), dict(padding=1)), ((4, 2, (2, 3, 1)), dict(padding="same", groups=2, bias=False)),
                     ((3, 6, 2), dict(padding=(1, 0, 1), stride=(1, 2, 1), dilation=(1, 1, 2), groups=3))):
        if kw.get("padding") == "same" and mode != "zeros" and False:
            continue
        jm, tm = nn.Conv3d(*args, padding_mode=mode, **kw), tnn.Conv3d(*args, padding_mode=mode, **kw)
        assert repr(jm) == repr(tm)
        assert jm.weight.shape == tm.weight.shape
        run_modules(jm, tm, [rnd((2, args[0], 5, 4, 6), 1)])
        run_modules(nn.Conv3d(*args, padding_mode=mode, **kw), tnn.Conv3d(*args, padding_mode=mode, **kw),
                    [rnd((args[0], 5, 4, 6), 2)])


def test_conv_transpose3d_module():
    jm, tm = nn.ConvTranspose3d(4, 6, 3, stride=2, output_padding=1, groups=2), \
        tnn.ConvTranspose3d(4, 6, 3, stride=2, output_padding=1, groups=2)
    assert repr(jm) == repr(tm)
    run_modules(jm, tm, [rnd((2, 4, 3, 4, 2), 1)])
    jm, tm = nn.ConvTranspose3d(2, 3, (2, 3, 2), stride=2, bias=False).double(), \
        tnn.ConvTranspose3d(2, 3, (2, 3, 2), stride=2, bias=False).double()
    run_modules(jm, tm, [rnd((1, 2, 3, 3, 3), 1)])
    x = rnd((1, 2, 3, 3, 3), 1)
    jm.load_state_dict({k: jt.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    jy, ty = jm(jt.tensor(x), output_size=(7, 8, 7)), tm(torch.tensor(x), output_size=(7, 8, 7))
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="output size"):
        jm(jt.tensor(x), output_size=(20, 20, 20))
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose3d(2, 3, 3, padding_mode="reflect")


def test_lazy_conv3d():
    for lazy, regular, shape in ((nn.LazyConv3d(4, 2, padding=1), tnn.Conv3d, (2, 3, 4, 5, 4)),
                                 (nn.LazyConvTranspose3d(4, 2, stride=2), tnn.ConvTranspose3d, (3, 4, 3, 2))):
        y = lazy(jt.tensor(rnd(shape, 1).astype(np.float32)))
        assert type(lazy).__name__ == regular.__name__
        ref = regular(shape[-4], 4, 2, **({"padding": 1} if regular is tnn.Conv3d else {"stride": 2}))
        assert lazy.weight.shape == ref.weight.shape and lazy.in_channels == shape[-4]
        ref.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in lazy.state_dict().items()})
        np.testing.assert_allclose(y.detach().numpy(), ref(torch.tensor(rnd(shape, 1).astype(np.float32))).detach()
                                   .numpy(), rtol=1e-5, atol=1e-5)


def test_conv3d_errors():
    x, w = jt.ones(1, 2, 3, 3, 3), jt.ones(1, 2, 5, 5, 5)
    with pytest.raises(RuntimeError, match="larger than the padded input"):
        F.conv3d(x, w)
    with pytest.raises(RuntimeError, match="channels"):
        F.conv3d(jt.ones(1, 3, 3, 3, 3), jt.ones(1, 2, 1, 1, 1))
    with pytest.raises(RuntimeError, match="5-d weight"):
        F.conv3d(x, jt.ones(1, 2, 1, 1))
    with pytest.raises(RuntimeError, match="4-d \\(unbatched\\) or 5-d"):
        F.conv3d(jt.ones(2, 3, 3), jt.ones(1, 2, 1, 1, 1))
    with pytest.raises(TypeError, match="dtype"):
        F.conv3d(x, jt.ones(1, 2, 1, 1, 1, dtype=jt.float64))
    with pytest.raises(RuntimeError, match="strided"):
        F.conv3d(x, jt.ones(1, 2, 1, 1, 1), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="output padding"):
        F.conv_transpose3d(x, jt.ones(2, 2, 3, 3, 3), output_padding=1)
    for tf_call in (lambda: TF.conv3d(torch.ones(1, 2, 3, 3, 3), torch.ones(1, 2, 5, 5, 5)),):
        with pytest.raises(RuntimeError):
            tf_call()


MAXPOOL3 = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2),
                                                                                 padding=(1, 1, 0), dilation=(1, 1, 2)),
            dict(kernel_size=2, ceil_mode=True), dict(kernel_size=(3, 2, 3), stride=2, padding=1, ceil_mode=True,
                                                      dilation=(2, 1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", MAXPOOL3)
def test_max_pool3d(kwargs, dtype):
    x = rnd((2, 3, 7, 6, 9), 1)
    run_both(lambda t: F.max_pool3d(t, **kwargs), lambda t: TF.max_pool3d(t, **kwargs), [x], grad=(0,), dtype=dtype)
    run_both(lambda t: jt.max_pool3d(t, **kwargs), lambda t: torch.max_pool3d(t, **kwargs), [x[0]], grad=(0,),
             dtype=dtype)
    (jv, ji), (tv, ti) = F.max_pool3d(jt.tensor(x.astype(dtype)), **kwargs, return_indices=True), \
        TF.max_pool3d(torch.tensor(x.astype(dtype)), **kwargs, return_indices=True)
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    assert ji.dtype == jt.int64
    (jv, ji), (tv, ti) = F.max_pool3d_with_indices(jt.tensor(x), **kwargs), TF.max_pool3d_with_indices(
        torch.tensor(x), **kwargs)
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    # the indices undo the pooling through max_unpool3d
    if "dilation" not in kwargs and not kwargs.get("ceil_mode"):
        ju = F.max_unpool3d(*F.max_pool3d(jt.tensor(x), **kwargs, return_indices=True), kwargs["kernel_size"],
                            kwargs.get("stride"), kwargs.get("padding", 0), output_size=x.shape[2:])
        tu = TF.max_unpool3d(*TF.max_pool3d(torch.tensor(x), **kwargs, return_indices=True), kwargs["kernel_size"],
                             kwargs.get("stride"), kwargs.get("padding", 0), output_size=x.shape[2:])
        np.testing.assert_array_equal(ju.numpy(), tu.numpy())


def test_max_pool3d_nan_and_ties():
    x = np.zeros((1, 1, 4, 4, 4))
    x[0, 0, 1, 2, 3] = np.nan
    x[0, 0, 3, 3, 3] = 1.0
    (jv, ji), (tv, ti) = F.max_pool3d(jt.tensor(x), 2, return_indices=True), \
        TF.max_pool3d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(jv.numpy(), tv.numpy())
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())


AVGPOOL3 = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=2, padding=1,
                                                                                 count_include_pad=False),
            dict(kernel_size=(2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), ceil_mode=True),
            dict(kernel_size=2, ceil_mode=True, count_include_pad=False, padding=1),
            dict(kernel_size=(3, 2, 2), padding=1, divisor_override=5)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", AVGPOOL3)
def test_avg_pool3d(kwargs, dtype):
    x = rnd((2, 3, 7, 6, 9), 1)
    run_both(lambda t: F.avg_pool3d(t, **kwargs), lambda t: TF.avg_pool3d(t, **kwargs), [x], grad=(0,), dtype=dtype)
    run_both(lambda t: F.avg_pool3d(t, **kwargs), lambda t: TF.avg_pool3d(t, **kwargs), [x[1]], grad=(0,), dtype=dtype)


@pytest.mark.parametrize("size", [2, (3, 2, 4), (None, 3, 5), (7, 6, 9), (9, 1, 11)])
def test_adaptive_pool3d(size):
    x = rnd((2, 3, 7, 6, 9), 1)
    for dtype in DTYPES:
        run_both(lambda t: F.adaptive_avg_pool3d(t, size), lambda t: TF.adaptive_avg_pool3d(t, size), [x], grad=(0,),
                 dtype=dtype)
        run_both(lambda t: F.adaptive_max_pool3d(t, size), lambda t: TF.adaptive_max_pool3d(t, size), [x[0]],
                 grad=(0,), dtype=dtype)
    (jv, ji), (tv, ti) = F.adaptive_max_pool3d(jt.tensor(x), size, True), \
        TF.adaptive_max_pool3d(torch.tensor(x), size, True)
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    (jv, ji), (tv, ti) = F.adaptive_max_pool3d_with_indices(jt.tensor(x), size), \
        TF.adaptive_max_pool3d_with_indices(torch.tensor(x), size)
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    np.testing.assert_array_equal(jv.numpy(), tv.numpy())


@pytest.mark.parametrize("p", [2.0, 1.5, 3, float("inf"), -float("inf")])
def test_lp_pool3d(p):
    x = np.abs(rnd((2, 3, 5, 6, 4), 1)) + 0.1
    run_both(lambda t: F.lp_pool3d(t, p, 2), lambda t: TF.lp_pool3d(t, p, 2), [x], grad=(0,))
    run_both(lambda t: F.lp_pool3d(t, p, (2, 3, 1), stride=1, ceil_mode=True),
             lambda t: TF.lp_pool3d(t, p, (2, 3, 1), stride=1, ceil_mode=True), [x[0]], grad=(0,))
    run_both(lambda t: F.lp_pool2d(t, p, 2), lambda t: TF.lp_pool2d(t, p, 2), [x[:, :, 0]], grad=(0,))


def test_pool3d_finite_differences():
    x = _leaf((1, 2, 4, 5, 4), 1)
    for f in (lambda t: F.max_pool3d(t, 2, 1, 1),
              lambda t: F.avg_pool3d(t, (2, 3, 2), 2, 1, ceil_mode=True, count_include_pad=False),
              lambda t: F.adaptive_avg_pool3d(t, (3, 2, 3)),
              lambda t: F.adaptive_max_pool3d(t, (3, 2, 3)),
              lambda t: F.fractional_max_pool3d(t, 2, output_size=(3, 3, 2),
                                                _random_samples=jt.tensor(np.full((1, 2, 3), 0.4)))):
        assert jt.autograd.gradcheck(f, (x,))
        assert jt.autograd.gradgradcheck(f, (x,))


POOL3_MODULES = [("MaxPool3d", (2,), {}), ("MaxPool3d", (3, 2, 1), {"ceil_mode": True}),
                 ("MaxPool3d", ((2, 3, 2),), {"dilation": (1, 1, 2)}), ("AvgPool3d", (2,), {}),
                 ("AvgPool3d", (3, 2, 1), {"count_include_pad": False}), ("AvgPool3d", (2, 1), {"divisor_override": 3}),
                 ("AdaptiveAvgPool3d", ((2, None, 3),), {}), ("AdaptiveMaxPool3d", (3,), {}),
                 ("LPPool3d", (2, 2), {}), ("LPPool3d", (1.5, (2, 3, 2), 1), {})]


@pytest.mark.parametrize("name,args,kwargs", POOL3_MODULES)
def test_pool3d_modules(name, args, kwargs):
    jm, tm = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(jm) == repr(tm)
    run_modules(jm, tm, [np.abs(rnd((2, 3, 5, 6, 7), 1)) + 0.1])
    run_modules(jm, tm, [np.abs(rnd((3, 5, 6, 7), 2)) + 0.1])


def test_pool3d_modules_return_indices():
    x = rnd((2, 3, 6, 4, 6), 2)
    for jm, tm in ((nn.MaxPool3d(2, return_indices=True), tnn.MaxPool3d(2, return_indices=True)),
                   (nn.AdaptiveMaxPool3d(3, return_indices=True), tnn.AdaptiveMaxPool3d(3, return_indices=True))):
        np.testing.assert_array_equal(jm(jt.tensor(x))[1].numpy(), tm(torch.tensor(x))[1].numpy())


def test_pool3d_errors():
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.avg_pool3d(jt.ones(1, 2, 3, 3, 3), 2, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool3d(jt.ones(1, 2, 3, 3, 3), 4)
    with pytest.raises(RuntimeError, match="4-d .* or 5-d"):
        F.max_pool3d(jt.ones(2, 3, 3), 2)
    with pytest.raises(RuntimeError, match="divisor_override"):
        F.avg_pool3d(jt.ones(1, 2, 3, 3, 3), 2, divisor_override=0)
    with pytest.raises(TypeError, match="floating point"):
        F.max_pool3d(jt.ones(1, 2, 3, 3, 3, dtype=jt.int64), 2)
    with pytest.raises(RuntimeError, match="output_size"):
        F.adaptive_avg_pool3d(jt.ones(1, 2, 3, 3, 3), (2, 2))
    with pytest.raises(RuntimeError):
        F.adaptive_max_pool3d(jt.ones(2, 3, 3), 2)


def _samples(shape, seed, dtype):
    return np.random.default_rng(seed).random(shape).astype(dtype)


FRAC2 = [dict(kernel_size=2, output_size=(4, 3)), dict(kernel_size=(3, 2), output_size=5),
         dict(kernel_size=2, output_ratio=(0.5, 0.7)), dict(kernel_size=3, output_size=(1, 1)),
         dict(kernel_size=1, output_size=(8, 7))]
FRAC3 = [dict(kernel_size=2, output_size=(3, 4, 2)), dict(kernel_size=(3, 2, 2), output_size=3),
         dict(kernel_size=2, output_ratio=0.5), dict(kernel_size=(1, 2, 3), output_ratio=(0.6, 0.4, 0.7))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,kwargs", [(2, k) for k in FRAC2] + [(3, k) for k in FRAC3])
def test_fractional_max_pool_exact(nd, kwargs, dtype):
    shape = (2, 3, 8, 7) if nd == 2 else (2, 3, 6, 8, 7)
    jf, tf = getattr(F, f"fractional_max_pool{nd}d"), getattr(TF, f"fractional_max_pool{nd}d")
    for seed in range(3):
        x, s = rnd(shape, seed).astype(dtype), _samples((2, 3, nd), seed, dtype)
        (jv, ji), (tv, ti) = jf(jt.tensor(x), **kwargs, return_indices=True, _random_samples=jt.tensor(s)), \
            tf(torch.tensor(x), **kwargs, return_indices=True, _random_samples=torch.tensor(s))
        np.testing.assert_array_equal(jv.numpy(), tv.numpy())
        np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    # unbatched, with samples for a batch of 1; gradients against torch's
    run_both(lambda t, u: jf(t, **kwargs, _random_samples=u), lambda t, u: tf(t, **kwargs, _random_samples=u),
             [x[0], _samples((1, 3, nd), 7, dtype)], grad=(0,), dtype=dtype)
    (jv, ji) = getattr(F, f"fractional_max_pool{nd}d_with_indices")(jt.tensor(x), **kwargs,
                                                                     _random_samples=jt.tensor(s))
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())


@pytest.mark.parametrize("nd", [2, 3])
def test_fractional_max_pool_random_samples(nd):
    """Without _random_samples the windows are drawn from jt's generator: seeded runs repeat, and
    each value is the input's value at its index, the maximum of a kernel-sized window there."""
    x = jt.tensor(rnd((2, 3, 9, 8) if nd == 2 else (2, 3, 7, 8, 6), 1))
    f = getattr(F, f"fractional_max_pool{nd}d")
    jt.manual_seed(3)
    v1, i1 = f(x, 2, output_ratio=(0.5,) * nd, return_indices=True)
    jt.manual_seed(3)
    v2, i2 = f(x, 2, output_ratio=(0.5,) * nd, return_indices=True)
    np.testing.assert_array_equal(v1.numpy(), v2.numpy())
    np.testing.assert_array_equal(i1.numpy(), i2.numpy())
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, i1.numpy().reshape(2, 3, -1), 2),
                                  v1.numpy().reshape(2, 3, -1))
    assert tuple(v1.shape[2:]) == tuple(int(n * 0.5) for n in x.shape[2:])


def test_fractional_modules():
    x = rnd((2, 3, 6, 8, 7), 1)
    s3, s2 = _samples((2, 3, 3), 1, np.float64), _samples((2, 3, 2), 2, np.float64)
    for jm, tm, xi in ((nn.FractionalMaxPool3d(2, output_ratio=0.5, _random_samples=jt.tensor(s3)),
                        tnn.FractionalMaxPool3d(2, output_ratio=0.5, _random_samples=torch.tensor(s3)), x),
                       (nn.FractionalMaxPool3d((2, 3, 2), output_size=(3, 4, 2), _random_samples=jt.tensor(s3)),
                        tnn.FractionalMaxPool3d((2, 3, 2), output_size=(3, 4, 2), _random_samples=torch.tensor(s3)), x),
                       (nn.FractionalMaxPool2d(3, output_size=(4, 3), _random_samples=jt.tensor(s2)),
                        tnn.FractionalMaxPool2d(3, output_size=(4, 3), _random_samples=torch.tensor(s2)), x[:, :, 0])):
        run_modules(jm, tm, [xi])
        assert repr(jm) == repr(tm)
    jm = nn.FractionalMaxPool2d(2, output_size=3, return_indices=True, _random_samples=jt.tensor(s2))
    tm = tnn.FractionalMaxPool2d(2, output_size=3, return_indices=True, _random_samples=torch.tensor(s2))
    np.testing.assert_array_equal(jm(jt.tensor(x[:, :, 0]))[1].numpy(), tm(torch.tensor(x[:, :, 0]))[1].numpy())
    assert "_random_samples" in dict(jm.named_buffers())
    assert jm.kernel_size == tm.kernel_size == (2, 2) and jm.output_size == tm.output_size
    for cls in ("FractionalMaxPool2d", "FractionalMaxPool3d"):
        for kw in (dict(), dict(output_size=2, output_ratio=0.5), dict(output_ratio=1.5)):
            with pytest.raises(ValueError):
                getattr(tnn, cls)(2, **kw)
            with pytest.raises(ValueError):
                getattr(nn, cls)(2, **kw)
        with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
            getattr(nn, cls)(0, output_size=2)


def test_fractional_errors():
    x = jt.ones(2, 3, 5, 5)
    for kwargs, match in ((dict(kernel_size=3, output_size=4), "pool height 3 too large relative to input height 5"),
                          (dict(kernel_size=2, output_size=3, _random_samples=jt.rand(2, 3, 3)), "size\\(2\\)"),
                          (dict(kernel_size=2, output_size=3, _random_samples=jt.rand(2, 2, 2)), "channel size"),
                          (dict(kernel_size=2, output_size=3, _random_samples=jt.rand(1, 3, 2)), "batch size"),
                          (dict(kernel_size=2, output_size=3, _random_samples=jt.rand(2, 3, 2, 1)), "3 dimensions"),
                          (dict(kernel_size=2, output_size=3, _random_samples=jt.rand(2, 3, 2, dtype=jt.float64)),
                           "same dtype"),
                          (dict(kernel_size=2, output_size=3, _random_samples=jt.rand(2, 3, 2) + 1), "\\[0, 1\\)")):
        with pytest.raises(RuntimeError, match=match):
            F.fractional_max_pool2d(x, **kwargs)
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool3d(jt.ones(1, 1, 4, 4, 4), 2)
    with pytest.raises(RuntimeError, match="pool width"):
        F.fractional_max_pool3d(jt.ones(1, 1, 4, 4, 4), (1, 1, 3), output_size=(2, 2, 3))
    with pytest.raises(TypeError):
        F.fractional_max_pool2d(x, 2, output_ratio=0.5)   # as torch: len() of a float


def test_meta_shapes():
    x = jt.empty(2, 3, 6, 8, 7, device="meta")
    assert tuple(F.conv3d(x, jt.empty(4, 3, 2, 3, 2, device="meta"), stride=2).shape) == (2, 4, 3, 3, 3)
    assert tuple(F.max_pool3d(x, 2).shape) == (2, 3, 3, 4, 3)
    assert tuple(F.fractional_max_pool3d(x, 2, output_size=(3, 4, 5),
                                         _random_samples=jt.empty(2, 3, 3, device="meta")).shape) == (2, 3, 3, 4, 5)


def test_conv3d_autocast_like_torch():
    x, w = rnd((1, 2, 4, 4, 4), 1).astype(np.float32), rnd((3, 2, 2, 2, 2), 2).astype(np.float32)
    with jt.autocast("cpu", dtype=jt.bfloat16):
        jy, jz = F.conv3d(jt.tensor(x), jt.tensor(w)), F.conv_transpose3d(jt.tensor(x), jt.tensor(w).transpose(0, 1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ty, tz = TF.conv3d(torch.tensor(x), torch.tensor(w)), TF.conv_transpose3d(torch.tensor(x),
                                                                                 torch.tensor(w).transpose(0, 1))
    assert str(jy.dtype).split(".")[-1] == str(ty.dtype).split(".")[-1] == "bfloat16"
    assert str(jz.dtype).split(".")[-1] == str(tz.dtype).split(".")[-1]
    np.testing.assert_allclose(jy.float().numpy(), ty.float().numpy(), rtol=2e-2, atol=5e-2)
