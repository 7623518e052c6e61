"""jt.testing against torch.testing: assert_close passes and fails on the same inputs, with the same
messages (up to the library's name in type names); make_tensor's shapes, dtypes and ranges."""
import numpy as np
import pytest
import torch

import jtensor as jt

NAN, INF = float("nan"), float("inf")

CASES = [   # (actual, expected, keyword arguments), built by `lib` below for each library
    ("T([1., 2., 3.])", "T([1., 2.5, 3.])", {}),
    ("T([1., 2.])", "T([1., 2., 3.])", {}),
    ("T([1., 2.])", "T([1., 2.], dtype=lib.float64)", {}),
    ("T([1., 2.])", "T([1., 2.], dtype=lib.float64)", {"check_dtype": False}),
    ("T([1, 2])", "T([1, 3])", {}),
    ("[T(1.), 2]", "[T(1.), 3]", {}),
    ("1.0", "1.0 + 1e-9", {}),
    ("3", "3.0", {}),
    ("T(NAN)", "T(NAN)", {}),
    ("T(NAN)", "T(NAN)", {"equal_nan": True}),
    ("T([1., NAN])", "T([1., NAN])", {"equal_nan": True}),
    ("T([1.])", "T([1.1])", {"rtol": 0.2, "atol": 0}),
    ("T([1.])", "T([1.1])", {"rtol": 0.2}),
    ("{'a': lib.ones(2)}", "{'a': lib.zeros(2)}", {}),
    ("{'a': lib.ones(2)}", "{'b': lib.ones(2)}", {}),
    ("lib.ones(2, 2)", "lib.ones(2, 2).t()", {"check_stride": True}),
    ("T([1., 2.])", "T([1., 2.5])", {"msg": "custom"}),
    ("T([[1., 2.], [3, 4]])", "T([[1., 2.5], [3, 4]])", {"msg": lambda m: "X " + m}),
    ("T([1., INF])", "T([1., INF])", {}),
    ("T([1., INF])", "T([1., -INF])", {}),
    ("T(True)", "T(False)", {}),
    ("T([True, False])", "T([True, True])", {}),
    ("T([1., 2.], dtype=lib.float16)", "T([1., 2.001], dtype=lib.float16)", {}),
    ("T([1., 2.], dtype=lib.bfloat16)", "T([1., 2.01], dtype=lib.bfloat16)", {}),
    ("T([1 + 1j, 2])", "T([1 + 1j, 2.5])", {}),
    ("np.array([1., 2.])", "np.array([1., 2.])", {}),
    ("np.array([1., 2.])", "np.array([1., 3.])", {}),
    ("(T([1.]), [T([2])])", "(T([1.]), [T([2])])", {}),
    ("[T([1.])]", "[T([1.]), T([2.])]", {}),
    ("T([1.])", "1.0", {}),
    ("T([[0., 5.], [NAN, 1.]])", "T([[0., 5.5], [2., 1.]])", {}),
]


def _outcome(lib, actual, expected, kwargs):
    T = lib.tensor
    env = {"lib": lib, "T": T, "np": np, "NAN": NAN, "INF": INF}
    try:
        lib.testing.assert_close(eval(actual, env), eval(expected, env), **kwargs)
        return "passed"
    except Exception as e:
        return f"{type(e).__name__}: {str(e).replace('jtensor._tensor.Tensor', 'torch.Tensor')}"


@pytest.mark.parametrize("actual,expected,kwargs", CASES, ids=[f"{a} vs {b}" for a, b, _ in CASES])
def test_assert_close_agrees_with_torch(actual, expected, kwargs):
    assert _outcome(jt, actual, expected, kwargs) == _outcome(torch, actual, expected, kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8", "uint8", "bool", "complex64"])
def test_make_tensor(dtype):
    d = getattr(jt, dtype)
    t = jt.testing.make_tensor(3, 4, dtype=d, device="cpu")
    assert t.shape == (3, 4) and t.dtype == d
    if dtype not in ("bool", "complex64"):
        assert -9 <= t.min().item() and t.max().item() <= 10
    r = jt.testing.make_tensor((5, 6), dtype=d, device="cpu", low=2, high=4, noncontiguous=True, exclude_zero=True)
    assert r.shape == (5, 6) and not r.is_contiguous()
    if dtype not in ("bool", "complex64"):
        assert 2 <= r.min().item() and r.max().item() <= 4
    assert not (r == 0).any().item()


def test_make_tensor_requires_grad_and_bad_range():
    t = jt.testing.make_tensor(2, dtype=jt.float64, device="cpu", requires_grad=True)
    assert t.requires_grad and t.is_leaf
    with pytest.raises(ValueError, match="low must be less than or equal to high"):
        jt.testing.make_tensor(2, dtype=jt.float32, device="cpu", low=3, high=1)
