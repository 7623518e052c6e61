"""NumPy functions called on jt tensors behave as on torch tensors (torch 2.13 is the oracle):
ufuncs (np.exp, np.add, comparisons, np.isnan, two-output ufuncs, ufunc.reduce) return tensors
of NumPy's result dtype, bool results as uint8 as torch does; other NumPy functions
(np.concatenate, np.where, ufunc.outer) return arrays; np.sum / np.mean / np.max fail with
TypeError as torch's do (they call the method with NumPy's keywords); `out=` and in-place writes
into an ndarray stay ndarrays; a tensor that requires grad refuses to become an array (the
graph would be lost) with torch's RuntimeError, while repr, tolist, item and pickling still work."""
import pickle
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt

DATA = np.array([1.0, -2.0, 3.5], dtype=np.float32)

# (name, f(lib, t)) with t = lib.tensor(DATA); lib is jtensor or torch
CASES = [
    ("exp", lambda L, t: np.exp(t)),
    ("add_scalar", lambda L, t: np.add(t, 1)),
    ("multiply_tensors", lambda L, t: np.multiply(t, t)),
    ("add_array_first", lambda L, t: np.add(np.ones(3), t)),
    ("isnan", lambda L, t: np.isnan(t)),
    ("equal", lambda L, t: np.equal(t, t)),
    ("logical_not", lambda L, t: np.logical_not(t > 0)),
    ("sqrt_int", lambda L, t: np.sqrt(L.tensor([4, 9]))),
    ("negative_int32", lambda L, t: np.negative(L.tensor([1, 2], dtype=L.int32))),
    ("add_int64", lambda L, t: np.add(L.tensor([1, 2]), 1)),
    ("exp_half", lambda L, t: np.exp(t.half())),
    ("exp_0d", lambda L, t: np.exp(L.tensor(1.0))),
    ("isfinite_0d", lambda L, t: np.isfinite(L.tensor(1.0))),
    ("divmod", lambda L, t: np.divmod(t, 2)),
    ("modf", lambda L, t: np.modf(t)),
    ("add_reduce", lambda L, t: np.add.reduce(t)),
    ("clip", lambda L, t: np.clip(t, 0, 2)),
    ("round", lambda L, t: np.round(t)),
    ("argmax", lambda L, t: np.argmax(t)),
    ("transpose", lambda L, t: np.transpose(t.reshape(3, 1))),
    ("float64_scalar_times", lambda L, t: np.float64(2.0) * t),
    ("tensor_plus_array", lambda L, t: t + np.ones(3)),
    ("concatenate", lambda L, t: np.concatenate([t, t])),
    ("where", lambda L, t: np.where(t > 1, t, 0)),
    ("multiply_outer", lambda L, t: np.multiply.outer(t, t)),
    ("asarray", lambda L, t: np.asarray(t)),
    ("asarray_dtype", lambda L, t: np.asarray(t, dtype=np.float64)),
]


def describe(r, lib):
    """(kind, dtype name, values) of a result, library-neutral."""
    if isinstance(r, tuple):
        return tuple(describe(x, lib) for x in r)
    if isinstance(r, lib.Tensor):
        return ("tensor", str(r.dtype).split(".")[-1], np.asarray(r).tolist())
    if isinstance(r, np.ndarray):
        return ("ndarray", r.dtype.name, r.tolist())
    return (type(r).__name__, None, r)


@pytest.mark.parametrize("name, f", CASES, ids=[c[0] for c in CASES])
def test_numpy_call_matches_torch(name, f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # torch's __array_wrap__ has NumPy 1's signature
        exp = describe(f(torch, torch.tensor(DATA)), torch)
    got = describe(f(jt, jt.tensor(DATA)), jt)
    assert got == exp


@pytest.mark.parametrize("fn", [np.sum, np.mean, np.max])
def test_numpy_reductions_fail_as_torch(fn):
    for lib in (jt, torch):
        with pytest.raises(TypeError):
            fn(lib.tensor(DATA))


def test_out_and_inplace_into_ndarray():
    for lib in (jt, torch):
        a = np.zeros(3, dtype=np.float32)
        r = np.add(a, lib.tensor(DATA), out=a)
        assert r is a and a.tolist() == DATA.tolist()


def test_ndarray_inplace_add_of_a_tensor():
    """torch raises TypeError here; jt's operators accept arrays, so `a += t` gives a tensor."""
    a = np.ones(3)
    a += jt.tensor(DATA)
    assert isinstance(a, jt.Tensor) and np.asarray(a).tolist() == (1 + DATA.astype(np.float64)).tolist()


def test_ufunc_result_is_a_fresh_tensor():
    t = jt.tensor(DATA)
    r = np.exp(t)
    r.add_(1)                          # writable, and not the input's memory
    assert np.asarray(t).tolist() == DATA.tolist()
    np.testing.assert_allclose(np.asarray(r), np.exp(DATA) + 1, rtol=1e-6)


@pytest.mark.parametrize("f", [np.exp, np.asarray, lambda t: np.concatenate([t]), lambda t: np.clip(t, 0, 1)])
def test_requires_grad_tensor_refuses_numpy(f):
    for lib in (jt, torch):
        t = lib.tensor(DATA, requires_grad=True)
        with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires grad. Use "
                                               "tensor.detach\\(\\).numpy\\(\\) instead."):
            f(t)
    np.testing.assert_allclose(f(jt.tensor(DATA, requires_grad=True).detach()), f(DATA))


def test_requires_grad_tensor_still_prints_lists_and_pickles():
    t = jt.tensor(DATA, requires_grad=True)
    assert "requires_grad=True" in repr(t)
    assert t.tolist() == DATA.tolist() and t[0].item() == 1.0
    u = pickle.loads(pickle.dumps(t))
    assert u.requires_grad and u.tolist() == DATA.tolist()
    assert jt.tensor([t[0], t[2]]).tolist() == [1.0, 3.5]


def test_bfloat16_reads_as_float32():
    r = np.exp(jt.tensor(DATA).bfloat16())
    assert isinstance(r, jt.Tensor) and r.dtype is jt.float32
