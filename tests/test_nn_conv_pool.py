"""Transposed convolutions and the 1-d, adaptive-max and LP poolings (nn/_functional/pooling.py,
nn/modules/conv.py, pooling_more.py) against torch: values, input / weight / bias gradients,
return_indices, output_size, module reprs and PyTorch's errors."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from nn_oracle import rnd, run_both, run_modules

CT2 = [dict(), dict(stride=2), dict(stride=2, output_padding=1), dict(padding=1, dilation=2),
       dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2), dict(stride=3, dilation=2,
                                                                                  output_padding=2)]


@pytest.mark.parametrize("kwargs", CT2)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d(kwargs, bias):
    g = kwargs.get("groups", 1)
    arrays = [rnd((2, 4, 5, 4), 1), rnd((4, 6 // g, 3, 2), 2), rnd((6,), 3) if bias else None]
    grad = (0, 1, 2) if bias else (0, 1)
    run_both(lambda *a: F.conv_transpose2d(*a, **kwargs), lambda *a: TF.conv_transpose2d(*a, **kwargs), arrays,
             grad=grad)
    arrays[0] = arrays[0][0]   # unbatched
    run_both(lambda *a: F.conv_transpose2d(*a, **kwargs), lambda *a: TF.conv_transpose2d(*a, **kwargs), arrays,
             grad=grad)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, output_padding=1), dict(padding=2, dilation=2, groups=2)])
def test_conv_transpose1d(kwargs):
    arrays = [rnd((3, 4, 6), 1), rnd((4, 3, 3), 2), rnd((3 * kwargs.get("groups", 1),), 3)]
    arrays[1] = rnd((4, 3, 3), 2)
    run_both(lambda *a: F.conv_transpose1d(*a, **kwargs), lambda *a: TF.conv_transpose1d(*a, **kwargs), arrays,
             grad=(0, 1, 2))


def test_conv_transpose_modules():
    for args, kw in (((4, 6, 3), dict(stride=2, output_padding=1, groups=2)), ((3, 2, (2, 3)), dict(bias=False))):
        run_modules(nn.ConvTranspose2d(*args, **kw), tnn.ConvTranspose2d(*args, **kw), [rnd((2, args[0], 5, 4), 1)])
        assert nn.ConvTranspose2d(*args, **kw).weight.shape == tnn.ConvTranspose2d(*args, **kw).weight.shape
    run_modules(nn.ConvTranspose1d(2, 3, 2, stride=2), tnn.ConvTranspose1d(2, 3, 2, stride=2), [rnd((2, 2, 5), 1)])
    jm, tm = nn.ConvTranspose2d(2, 3, 3, stride=2).double(), tnn.ConvTranspose2d(2, 3, 3, stride=2).double()
    run_modules(jm, tm, [rnd((1, 2, 4, 4), 1)])
    x = rnd((1, 2, 4, 4), 1)
    assert tuple(jm(jt.tensor(x), output_size=(10, 10)).shape) == tuple(tm(torch.tensor(x), output_size=(10, 10)).shape)
    with pytest.raises(ValueError, match="output size"):
        jm(jt.tensor(x), output_size=(20, 20))
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="output padding"):
        F.conv_transpose2d(jt.ones(1, 2, 3, 3), jt.ones(2, 2, 3, 3), output_padding=1)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, dilation=2, ceil_mode=True), dict(kernel_size=3, stride=1)])
def test_pool1d(kwargs):
    x = rnd((2, 3, 9), 1)
    run_both(lambda t: F.max_pool1d(t, **kwargs), lambda t: TF.max_pool1d(t, **kwargs), [x], grad=(0,))
    jv, ji = F.max_pool1d(jt.tensor(x), **kwargs, return_indices=True)
    tv, ti = TF.max_pool1d(torch.tensor(x), **kwargs, return_indices=True)
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    avg = {k: v for k, v in kwargs.items() if k != "dilation"}
    run_both(lambda t: F.avg_pool1d(t, **avg), lambda t: TF.avg_pool1d(t, **avg), [x], grad=(0,))
    run_both(lambda t: F.avg_pool1d(t, **avg), lambda t: TF.avg_pool1d(t, **avg), [x[0]], grad=(0,))


@pytest.mark.parametrize("shape,size", [((2, 3, 9, 7), (4, 3)), ((3, 8, 8), 3), ((2, 1, 5, 6), (None, 4)),
                                        ((1, 2, 4, 4), (6, 5))])
def test_adaptive_max_pool2d(shape, size):
    x = rnd(shape, 1)
    run_both(lambda t: F.adaptive_max_pool2d(t, size), lambda t: TF.adaptive_max_pool2d(t, size), [x], grad=(0,))
    jv, ji = F.adaptive_max_pool2d(jt.tensor(x), size, True)
    tv, ti = TF.adaptive_max_pool2d(torch.tensor(x), size, True)
    np.testing.assert_array_equal(ji.numpy(), ti.numpy())
    assert ji.dtype == jt.int64
    run_modules(nn.AdaptiveMaxPool2d(size), tnn.AdaptiveMaxPool2d(size), [x])


@pytest.mark.parametrize("size", [3, 4, 7, 10])
def test_adaptive_1d(size):
    x = rnd((2, 3, 7), 1)
    run_both(lambda t: F.adaptive_max_pool1d(t, size), lambda t: TF.adaptive_max_pool1d(t, size), [x], grad=(0,))
    run_both(lambda t: F.adaptive_avg_pool1d(t, size), lambda t: TF.adaptive_avg_pool1d(t, size), [x], grad=(0,))
    ji = F.adaptive_max_pool1d(jt.tensor(x), size, True)[1]
    np.testing.assert_array_equal(ji.numpy(), TF.adaptive_max_pool1d(torch.tensor(x), size, True)[1].numpy())


@pytest.mark.parametrize("p", [2.0, 1.5, 3])
def test_lp_pool(p):
    x = np.abs(rnd((2, 3, 6, 7), 1)) + 0.1
    run_both(lambda t: F.lp_pool2d(t, p, 2), lambda t: TF.lp_pool2d(t, p, 2), [x], grad=(0,))
    run_both(lambda t: F.lp_pool2d(t, p, (2, 3), stride=1), lambda t: TF.lp_pool2d(t, p, (2, 3), stride=1), [x],
             grad=(0,))
    run_both(lambda t: F.lp_pool1d(t, p, 3, 2), lambda t: TF.lp_pool1d(t, p, 3, 2), [x[0]], grad=(0,))


POOL_MODULES = [("MaxPool1d", (3,), {}), ("MaxPool1d", (3, 2, 1), {}), ("AvgPool1d", (3,), {}),
                ("AvgPool1d", (2, 1, 1), {"count_include_pad": False}), ("AdaptiveAvgPool1d", (4,), {}),
                ("AdaptiveMaxPool1d", (3,), {}), ("LPPool1d", (2, 3), {}), ("LPPool2d", (1.5, 2, 1), {})]


@pytest.mark.parametrize("name,args,kwargs", POOL_MODULES)
def test_pool_modules(name, args, kwargs):
    shape = (2, 3, 6, 7) if name.endswith("2d") else (2, 3, 9)
    run_modules(getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs),
                [np.abs(rnd(shape, 1)) + 0.1])
    jm, tm = nn.MaxPool1d(2, return_indices=True), tnn.MaxPool1d(2, return_indices=True)
    x = rnd((2, 3, 8), 2)
    np.testing.assert_array_equal(jm(jt.tensor(x))[1].numpy(), tm(torch.tensor(x))[1].numpy())


def test_with_indices_forms():
    x = rnd((2, 3, 8, 6), 1)
    for jf, tf, args in ((F.max_pool2d_with_indices, TF.max_pool2d_with_indices, (2,)),
                         (F.adaptive_max_pool2d_with_indices, TF.adaptive_max_pool2d_with_indices, ((3, 2),)),
                         (F.max_pool1d_with_indices, TF.max_pool1d_with_indices, (2,)),
                         (F.adaptive_max_pool1d_with_indices, TF.adaptive_max_pool1d_with_indices, (4,))):
        xi = x if "2d" in jf.__name__ else x[:, :, 0]
        (jv, ji), (tv, ti) = jf(jt.tensor(xi), *args), tf(torch.tensor(xi), *args)
        np.testing.assert_array_equal(ji.numpy(), ti.numpy())
        np.testing.assert_allclose(jv.numpy(), tv.numpy())
