"""Activation functions and modules (julia/src/ops/activations.jl, nn/_functional/activations.py,
nn/modules/activation_more.py) against torch: values over a grid that covers each kink and
boundary (NaN included), gradients, second derivatives (gradgradcheck), in-place forms, module
reprs, PReLU's learnable weight, RReLU's train/eval modes and PyTorch's argument errors."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from nn_oracle import close, rnd, run_both, run_modules

# every kink / boundary of the cases below, plus a spread
GRID = np.concatenate([np.linspace(-8, 8, 33), [-3, 3, -0.5, 0.5, 0, 1, -1, 6, -2, 1.5, 0.25, -25, 25]])

CASES = [   # name, extra positional args
    ("leaky_relu", ()), ("leaky_relu", (0.2,)), ("elu", ()), ("elu", (1.3,)), ("selu", ()), ("celu", ()),
    ("celu", (0.7,)), ("softplus", ()), ("softplus", (2.0, 5.0)), ("softsign", ()), ("softshrink", ()),
    ("softshrink", (0.25,)), ("hardshrink", ()), ("hardshrink", (1.0,)), ("tanhshrink", ()),
    ("threshold", (0.5, -2.0)), ("mish", ()), ("hardtanh", ()), ("hardtanh", (-2.0, 1.5)), ("relu6", ()),
    ("hardswish", ()), ("hardsigmoid", ()), ("logsigmoid", ()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,args", CASES)
def test_activation_values_and_gradients(name, args, dtype):
    # PyTorch rounds celu's 1 / alpha and hardsigmoid's 1/6 through float32, even for float64
    tol = 1e-7 if name in ("celu", "hardsigmoid") and dtype == np.float64 else None
    run_both(lambda x: getattr(F, name)(x, *args), lambda x: getattr(TF, name)(x, *args), [GRID], grad=(0,),
             dtype=dtype, tol=tol)


@pytest.mark.parametrize("name,args", CASES)
def test_activation_nan_and_half(name, args):
    x = np.array([np.nan, np.inf, -np.inf, 1.0, -1.0])
    close(getattr(F, name)(jt.tensor(x), *args), getattr(TF, name)(torch.tensor(x), *args), nan_ok=True)
    h = jt.tensor(GRID, dtype=jt.bfloat16)
    out = getattr(F, name)(h, *args)
    assert out.dtype == jt.bfloat16
    close(out.float(), getattr(TF, name)(torch.tensor(GRID, dtype=torch.bfloat16), *args).float(), tol=2e-2)


@pytest.mark.parametrize("name,args", [c for c in CASES if c[0] not in ("threshold", "hardtanh", "relu6",
                                                                      "hardshrink", "softshrink", "leaky_relu")])
def test_smooth_activation_second_derivatives(name, args):
    x = jt.tensor(rnd((7,), 3) * 3).requires_grad_()
    assert jt.autograd.gradgradcheck(lambda t: getattr(F, name)(t, *args), (x,))


def test_piecewise_second_derivative_is_zero_and_first_is_differentiable():
    for name, args in (("leaky_relu", (0.1,)), ("hardtanh", ()), ("threshold", (0.2, 3.0)), ("softshrink", ()),
                       ("hardshrink", ()), ("hardsigmoid", ())):
        x = jt.tensor(rnd((9,), 4) * 2).requires_grad_()
        g, = jt.autograd.grad(getattr(F, name)(x, *args).sum(), [x], create_graph=True)
        h, = jt.autograd.grad((g * jt.arange(9.0)).sum(), [x], allow_unused=True)
        assert h is None or not h.numpy().any()
    # and through grad_output: d/dgo of (go * f'(x)) is f'(x), for a random go
    x = jt.tensor(rnd((6,), 5)).requires_grad_()
    go = jt.tensor(rnd((6,), 6)).requires_grad_()
    g, = jt.autograd.grad(F.leaky_relu(x, 0.3), [x], go, create_graph=True)
    gg, = jt.autograd.grad(g.sum(), [go])
    close(gg, np.where(x.detach().numpy() > 0, 1.0, 0.3))


@pytest.mark.parametrize("name,args", [("leaky_relu", (0.2,)), ("elu", ()), ("selu", ()), ("celu", (2.0,)),
                                       ("threshold", (0.1, 5.0)), ("hardtanh", ()), ("relu6", ()),
                                       ("hardswish", ()), ("hardsigmoid", ()), ("mish", ()), ("rrelu", ())])
def test_inplace_forms(name, args):
    x = rnd((4, 5), 1) * 4
    j, t = jt.tensor(x), torch.tensor(x)
    r = getattr(F, name)(j, *args, inplace=True)
    getattr(TF, name)(t, *args, inplace=True)
    assert r is j
    close(j, t)
    if hasattr(F, name + "_") and name not in ("relu6", "hardswish", "hardsigmoid", "mish"):
        j2 = jt.tensor(x)
        assert getattr(F, name + "_")(j2, *args) is j2
        close(j2, t)


def test_inplace_on_a_non_leaf_keeps_gradients():
    x = rnd((3, 4), 2)
    jx, tx = jt.tensor(x).requires_grad_(), torch.tensor(x, requires_grad=True)
    jy, ty = F.elu(jx * 2, inplace=True), TF.elu(tx * 2, inplace=True)
    close(jt.autograd.grad(jy.sum(), [jx])[0], torch.autograd.grad(ty.sum(), [tx])[0])


def test_integer_inputs_compute_in_float32():
    out = F.leaky_relu(jt.tensor([-2, 3]))
    assert out.dtype == jt.float32
    close(out, [-0.02, 3.0])


def test_prelu_function():
    for xshape, wshape in (((3, 4, 5), (4,)), ((3, 4, 5), (1,)), ((6,), (1,)), ((2, 3, 2, 2), (3,)), ((), (1,))):
        run_both(F.prelu, TF.prelu, [rnd(xshape, 1), np.abs(rnd(wshape, 2)) * 0.3], grad=(0, 1))
    for x, w in (((2, 3), (4,)), ((6,), (6,))):
        with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
            F.prelu(jt.ones(*x), jt.ones(*w))
        with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
            TF.prelu(torch.ones(*x), torch.ones(*w))


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_glu(dim):
    run_both(lambda x: F.glu(x, dim), lambda x: TF.glu(x, dim), [rnd((4, 6, 2), 3)], grad=(0,))
    with pytest.raises(RuntimeError, match="even"):
        F.glu(jt.ones(3, 5), 1)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmin(dim):
    run_both(lambda x: F.softmin(x, dim), lambda x: TF.softmin(x, dim), [rnd((3, 4), 5)], grad=(0,))
    run_both(lambda x: F.softmin(x, dim, dtype=jt.float64), lambda x: TF.softmin(x, dim, dtype=torch.float64),
             [rnd((3, 4), 5)], grad=(0,), dtype=np.float32)


def test_rrelu_modes():
    x = rnd((200,), 8) * 3
    run_both(lambda t: F.rrelu(t), lambda t: TF.rrelu(t), [x], grad=(0,))   # evaluation: the mean slope
    jt.manual_seed(0)
    y = F.rrelu(jt.tensor(x), 0.1, 0.3, training=True).numpy()
    neg = x < 0
    np.testing.assert_array_equal(y[~neg], x[~neg])
    slopes = y[neg] / x[neg]
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.01
    m = nn.RReLU(0.1, 0.3)
    assert not np.array_equal(m(jt.tensor(x)).numpy(), F.rrelu(jt.tensor(x), 0.1, 0.3).numpy())
    m.eval()
    close(m(jt.tensor(x)), F.rrelu(jt.tensor(x), 0.1, 0.3))


def test_argument_errors_match_torch():
    with pytest.raises(RuntimeError, match="lambda"):
        F.softshrink(jt.ones(2), -1.0)
    with pytest.raises(RuntimeError):
        TF.softshrink(torch.ones(2), -1.0)
    with pytest.raises(AssertionError):
        nn.Hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(jt.ones(2, 3))


MODULES = [
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("ELU", (1.5,), {}), ("CELU", (2.0,), {"inplace": True}),
    ("SELU", (), {}), ("SELU", (True,), {}), ("PReLU", (), {}), ("PReLU", (3,), {"init": 0.1}),
    ("Softplus", (2.0, 10.0), {}), ("Softsign", (), {}), ("Softshrink", (0.3,), {}), ("Hardshrink", (), {}),
    ("Tanhshrink", (), {}), ("Threshold", (0.1, 2.0), {}), ("Threshold", (0.1, 2.0, True), {}),
    ("Hardtanh", (-2, 2), {}), ("ReLU6", (), {}), ("ReLU6", (True,), {}), ("Hardswish", (), {}),
    ("Hardsigmoid", (True,), {}), ("LogSigmoid", (), {}), ("Mish", (), {}), ("GLU", (2,), {}),
    ("Softmin", (1,), {}), ("Softmax2d", (), {}), ("RReLU", (0.1, 0.3), {}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_modules_match_torch(name, args, kwargs):
    jm, tm = getattr(nn, name)(*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    jm.eval()
    tm.eval()
    inplace = getattr(tm, "inplace", False)
    x = rnd((2, 3, 4, 2), 9) * 3
    if inplace:   # an in-place module needs a non-leaf input for autograd
        run_both(lambda t: jm(t * 1.0), lambda t: tm(t * 1.0), [x], grad=(0,), tol=1e-7)
        assert repr(jm) == repr(tm)
    else:
        run_modules(jm, tm, [x], tol=1e-7 if name == "Hardsigmoid" else 1e-9)
