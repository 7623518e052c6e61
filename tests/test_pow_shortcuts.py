"""`x ** c` for the exponents PyTorch computes exactly: 2, 3, 0.5, -1, -0.5.

PyTorch evaluates a floating tensor to these Python-number powers as `x * x`, `x * x * x`,
`sqrt(x)`, `1 / x` and `rsqrt(x)`, not through a general power. jtensor's `pow` declares the same cases as its
`shortcuts` (julia/src/ops/elementwise.jl, the rule in schema.py `Op.shortcut`), taken by the
eager function, its in-place form and jt.compile's fused kernels. These tests compare bit for bit
with PyTorch (2, 3, -1, -0.5) and with jtensor's own `sqrt` (0.5, correctly rounded as NumPy's, where
PyTorch's float32 sqrt may differ in the last bit), check that gradients match PyTorch and finite
differences, and that everything else (integer tensors, other exponents, bools, `out=`) keeps
`pow`'s meaning.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import jtensor as jt

from test_hypothesis_ops import layouts, strided_tensor
from opinfo import A

SHORTCUTS = {2: "square", 2.0: "square", 3: "_cube", 0.5: "sqrt", -1: "reciprocal", -0.5: "rsqrt"}


def _values(shape, dtype, seed, positive):
    rng = np.random.default_rng(seed)
    v = np.asarray(rng.standard_normal(shape), dtype=dtype)
    if v.size >= 3:
        v.flat[:3] = [0.0, -0.0, np.inf]   # signed zeros and infinities, as PyTorch treats them
    return np.asarray(np.abs(v) if positive else v)


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple),
       dtype=st.sampled_from(["float32", "float64"]), exponent=st.sampled_from(sorted(SHORTCUTS)),
       data=st.data(), seed=st.integers(0, 2 ** 16))
def test_exact_as_pytorch(shape, dtype, exponent, data, seed):
    v = _values(shape, dtype, seed, positive=exponent in (0.5, -0.5))
    x = strided_tensor(A(v, dtype), data.draw(layouts(len(shape)))) if shape else jt.tensor(v)
    got = (x ** exponent).numpy()
    if exponent == 0.5:
        want = jt.sqrt(x).numpy()
        np.testing.assert_array_equal(got, np.sqrt(v))
    else:
        want = (torch.from_numpy(v.copy()) ** exponent).numpy()
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("exponent", sorted(SHORTCUTS))
def test_every_form_takes_the_shortcut(exponent):
    v = np.abs(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)) + 0.1
    want = getattr(jt.ops, SHORTCUTS[exponent])(jt.tensor(v)).numpy()
    x = jt.tensor(v)
    for got in (x ** exponent, jt.pow(x, exponent), x.pow(exponent)):
        np.testing.assert_array_equal(got.numpy(), want)
    y = jt.tensor(v)
    y **= exponent
    np.testing.assert_array_equal(y.numpy(), want)
    z = jt.tensor(v)
    assert z.pow_(exponent) is z
    np.testing.assert_array_equal(z.numpy(), want)


@pytest.mark.parametrize("exponent", sorted(SHORTCUTS))
def test_gradients(exponent):
    v = np.abs(np.random.default_rng(1).standard_normal((3, 4))) + 0.5
    x = jt.tensor(v, requires_grad=True)
    (x ** exponent).sum().backward()
    t = torch.tensor(v, requires_grad=True)
    (t ** exponent).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert jt.autograd.gradcheck(lambda a: a ** exponent, (jt.tensor(v, requires_grad=True),))
    assert jt.autograd.gradgradcheck(lambda a: a ** exponent, (jt.tensor(v, requires_grad=True),))
    # second order, through the shortcut's own derivative formula
    x2 = jt.tensor(v, requires_grad=True)
    g, = jt.autograd.grad((x2 ** exponent).sum(), x2, create_graph=True)
    g.sum().backward()
    t2 = torch.tensor(v, requires_grad=True)
    tg, = torch.autograd.grad((t2 ** exponent).sum(), t2, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_integer_tensors_keep_pow(dtype):
    v = np.arange(6).astype(dtype)
    for exponent in (2, 0.5, -0.5):
        got = jt.tensor(v) ** exponent
        want = torch.from_numpy(v.copy()) ** exponent
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    if dtype != "uint8":   # (an unsigned tensor gets -1 wrapped to its dtype first: not checked here)
        with pytest.raises(RuntimeError):      # as PyTorch: integers to negative integer powers
            torch.from_numpy(v.copy() + 1) ** -1
        with pytest.raises(Exception, match="pow"):
            jt.tensor(v + 1) ** -1


def test_other_calls_keep_pow():
    v = np.random.default_rng(2).standard_normal(7).astype(np.float32)
    x = jt.tensor(v)
    np.testing.assert_array_equal((x ** True).numpy(), v)          # a bool is not the number 1 here
    np.testing.assert_allclose((x ** 4).numpy(), v ** 4, rtol=1e-6)                 # no shortcut
    out = jt.empty(7)
    assert jt.pow(x, 2, out=out) is out                              # out=: pow itself
    np.testing.assert_allclose(out.numpy(), v * v, rtol=1e-6)
    np.testing.assert_array_equal((2 ** jt.tensor([0.0, 1.0, 3.0])).numpy(), [1.0, 2.0, 8.0])
    c = jt.tensor(np.array([1 + 2j], np.complex64))
    np.testing.assert_allclose((c ** 2).numpy(), [(1 + 2j) ** 2], rtol=1e-6)


def test_compiled_chain_takes_the_shortcut():
    """`((x - y) ** 2).mean()` under jt.compile: the fused kernel squares (bitwise the eager
    value's elements) instead of calling a general power."""
    v = np.random.default_rng(3).standard_normal((64, 33)).astype(np.float32)
    w = np.random.default_rng(4).standard_normal((64, 33)).astype(np.float32)
    f = jt.compile(lambda a, b: (a - b) ** 2 * 0.5)
    x, y = jt.tensor(v), jt.tensor(w)
    np.testing.assert_array_equal(f(x, y).numpy(), (((x - y) ** 2) * 0.5).numpy())
    m = jt.compile(lambda a, b: ((a - b) ** 2).mean())
    np.testing.assert_allclose(m(x, y).item(), float(((v.astype(np.float64) - w) ** 2).mean()), rtol=1e-6)


def test_registry_refuses_a_shortcut_to_no_op():
    with pytest.raises(Exception, match="shortcut"):
        jt.julia.eval('JTensor.defmap("pow_with_bad_shortcut(input: Tensor, exponent: Tensor) -> Tensor", '
                      '(x, y) -> x; dtypes = "promote", shortcuts = ["2" => "no_such_op"])')
    assert not hasattr(jt, "pow_with_bad_shortcut")
