"""PyTorch's API beyond the registry ops, against torch as the oracle: jt.Size, finfo/iinfo, the
default dtype, the thread count, the functions composed in python/jtensor/composites.py,
statistics.py and sampling.py (values, dtypes, errors), the random samplers (distribution checks
and manual_seed reproducibility) and the Tensor methods they add. Gradients of the differentiable
ones are in tests/test_gradients.py.
"""
import math
import pickle
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt


def J(a, dtype=None):
    return jt.tensor(np.asarray(a), dtype=dtype)


def T(a, dtype=None):
    return torch.tensor(np.asarray(a), dtype=dtype)


def same(j, t, rtol=1e-6, atol=1e-6):
    """A jtensor result equals torch's: structure, shape, dtype and values (NaN == NaN)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(j, (tuple, list)) and len(j) == len(t)
        for a, b in zip(j, t):
            same(a, b, rtol, atol)
        return
    if not isinstance(t, torch.Tensor):
        assert j == t
        return
    assert tuple(j.shape) == tuple(t.shape), (j.shape, t.shape)
    assert j.dtype.name == str(t.dtype).split(".")[-1], (j.dtype, t.dtype)
    np.testing.assert_allclose(np.asarray(j.numpy(), dtype=np.float64) if j.dtype.kind != "c" else j.numpy(),
                               t.numpy() if t.dtype != torch.bfloat16 else t.float().numpy(),
                               rtol=rtol, atol=atol, equal_nan=True)


def both_raise(exc, *calls):
    """Each call(m) raises `exc` with torch and with jtensor as m."""
    for call in calls:
        with pytest.raises(exc):
            call(torch)
        with pytest.raises(exc):
            call(jt)


RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 4, 5))
XN = X.copy()
XN[0, 1, 2] = XN[2, 0, 0] = XN[2, 0, 3] = np.nan
XN[1, 3, :] = np.nan


# ---- Size, finfo, iinfo ---------------------------------------------------------------------------------
def test_size_is_a_tuple_with_numel():
    s = jt.ones(2, 3, 4).size()
    assert isinstance(s, jt.Size) and isinstance(s, tuple) and s == (2, 3, 4) == torch.Size([2, 3, 4])
    assert s.numel() == 24 == torch.Size([2, 3, 4]).numel() and jt.Size().numel() == 1
    assert isinstance(s[1:], jt.Size) and s[1:] == (3, 4) and s[0] == 2 and jt.ones(2, 3).size(-1) == 3
    assert isinstance(s + (5,), jt.Size) and s + (5,) == (2, 3, 4, 5)
    assert repr(jt.Size([2, 3])) == "jtensor.Size([2, 3])"
    assert pickle.loads(pickle.dumps(s)) == s and type(pickle.loads(pickle.dumps(s))) is jt.Size
    assert jt.Size(jt.tensor([2, 3])) == (2, 3)
    with pytest.raises(TypeError):
        jt.Size([2.5])
    assert jt.ones(2, 3).new_zeros(s).shape == (2, 3, 4)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"])
def test_finfo_matches_torch(name):
    j, t = jt.finfo(getattr(jt, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(j, attr) == pytest.approx(getattr(t, attr), rel=1e-6), attr
    assert j.dtype == t.dtype


def test_finfo_default_and_errors():
    assert jt.finfo().eps == torch.finfo().eps and jt.finfo(jt.float64).max == torch.finfo(torch.float64).max
    with pytest.raises(TypeError):
        jt.finfo(jt.int32)


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8"])
def test_iinfo_matches_torch(name):
    j, t = jt.iinfo(getattr(jt, name)), torch.iinfo(getattr(torch, name))
    assert (j.bits, j.min, j.max, j.dtype) == (t.bits, t.min, t.max, t.dtype)


def test_iinfo_refuses_floats_and_bool():
    for d in (jt.float32, jt.bool):
        with pytest.raises(TypeError):
            jt.iinfo(d)


# ---- the default dtype -------------------------------------------------------------------------------------
def test_default_dtype_is_honoured_by_creation_and_promotion():
    assert jt.get_default_dtype() is jt.float32
    try:
        jt.set_default_dtype(jt.float64)
        torch.set_default_dtype(torch.float64)
        assert jt.get_default_dtype() is jt.float64
        for make in (lambda m: m.tensor(1.5), lambda m: m.tensor([1, 2.5]), lambda m: m.zeros(2),
                     lambda m: m.ones(2, 3), lambda m: m.rand(2), lambda m: m.randn(2),
                     lambda m: m.arange(0.0, 1.0, 0.25), lambda m: m.linspace(0, 1, 3),
                     lambda m: m.eye(2), lambda m: m.full((2,), 1.5), lambda m: m.tensor([1, 2]) * 1.5,
                     lambda m: m.tensor([1, 2]) / 2, lambda m: m.tensor([1, 2]).exp(), lambda m: m.tensor(1j),
                     lambda m: m.logspace(0, 1, 3), lambda m: m.tensor([True]) + 0.5,
                     lambda m: m.nn.Linear(2, 2).weight):
            assert make(jt).dtype.name == str(make(torch).dtype).split(".")[-1]
        assert (jt.tensor([1.0], dtype=jt.float32) * 2.5).dtype is jt.float32   # float tensors keep theirs
        with pytest.raises(TypeError):
            jt.set_default_dtype(jt.int64)
    finally:
        jt.set_default_dtype(jt.float32)
        torch.set_default_dtype(torch.float32)
    assert jt.tensor(1.5).dtype is jt.float32 and (jt.tensor([1]) * 1.5).dtype is jt.float32
    assert jt.tensor(1j).dtype is jt.complex64


# ---- threads ----------------------------------------------------------------------------------------------
def test_thread_count_is_julias_and_fixed():
    n = jt.get_num_threads()
    assert n == int(jt.julia.eval("Threads.nthreads()")) and n >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jt.set_num_threads(n)   # the current count: nothing to say
    with pytest.warns(RuntimeWarning, match="JTENSOR_NUM_THREADS"):
        jt.set_num_threads(n + 1)
    assert jt.get_num_threads() == n
    with pytest.raises(RuntimeError):
        jt.set_num_threads(0)


# ---- function forms of the view methods ---------------------------------------------------------------------
@pytest.mark.parametrize("name,args,kwargs", [
    ("flatten", (), {}), ("flatten", (1,), {}), ("flatten", (), {"start_dim": 0, "end_dim": 1}),
    ("unsqueeze", (1,), {}), ("squeeze", (), {}), ("permute", ((2, 0, 1),), {}), ("reshape", ((4, -1),), {}),
    ("transpose", (0, 2), {}), ("chunk", (2, 1), {}), ("split", (2,), {"dim": 1}), ("split", ([1, 3], 1), {}),
    ("narrow", (2, 1, 3), {}), ("movedim", (0, 2), {}), ("unbind", (1,), {}), ("diagonal", (), {}),
    ("diagonal", (1, 1, 2), {}), ("swapaxes", (0, 1), {}), ("tensor_split", (3, 2), {})])
def test_view_functions_match_torch(name, args, kwargs):
    x = X[:, :, None] if name == "squeeze" else X
    same(getattr(jt, name)(J(x), *args, **kwargs), getattr(torch, name)(T(x), *args, **kwargs))


def test_view_functions_are_the_methods():
    x = J(X)
    assert jt.flatten(x, 1).data_ptr() == x.data_ptr()   # a view, as the method gives
    assert jt.transpose(input=x, dim0=0, dim1=1).shape == (4, 3, 5)


# ---- fused multiply-adds and products -------------------------------------------------------------------------
A, B, M3, V3 = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2)), RNG.normal(size=(2, 3, 4)), RNG.normal(size=(4,))


@pytest.mark.parametrize("call", [
    lambda m: m.addmm(m.tensor(np.ones((3, 2))), T_(m, A), T_(m, B)),
    lambda m: m.addmm(m.tensor(np.ones(2)), T_(m, A), T_(m, B), beta=0.5, alpha=-2),
    lambda m: m.addmm(m.tensor(np.full((3, 2), np.nan)), T_(m, A), T_(m, B), beta=0),
    lambda m: m.baddbmm(m.tensor(np.ones((2, 3, 3))), T_(m, M3), T_(m, M3).mT, alpha=0.5),
    lambda m: m.addmv(m.tensor(np.ones(3)), T_(m, A), T_(m, V3), beta=2),
    lambda m: m.mv(T_(m, A), T_(m, V3)), lambda m: T_(m, A).mv(T_(m, V3)),
    lambda m: m.inner(T_(m, A), T_(m, B.T)), lambda m: m.inner(T_(m, V3), T_(m, V3)),
    lambda m: m.inner(T_(m, A), m.tensor(2.0, dtype=m.float64)),
    lambda m: m.addcmul(T_(m, A), T_(m, A), T_(m, V3), value=0.5),
    lambda m: m.addcdiv(T_(m, A), T_(m, A), T_(m, V3) + 5, value=-1),
    lambda m: m.addcmul(m.tensor([1, 2]), m.tensor([3, 4]), m.tensor([5, 6]), value=2),
    lambda m: m.addcmul(m.tensor([1, 2]), m.tensor([3, 4]), m.tensor([5, 6]), value=1.7),
    lambda m: T_(m, A).clone().addcmul_(T_(m, A), T_(m, A), value=3),
    lambda m: T_(m, A).clone().addcdiv_(T_(m, A), T_(m, A) + 5)])
def test_products_match_torch(call):
    same(call(jt), call(torch), 1e-10, 1e-10)


def T_(m, a):
    return m.tensor(a)


def test_product_errors_match_torch():
    for call, exc in ((lambda m: m.mv(m.ones(2, 3), m.ones(2, 3)), RuntimeError),
                      (lambda m: m.addmm(m.ones(2), m.ones(3), m.ones(3, 2)), RuntimeError),
                      (lambda m: m.addcdiv(m.ones(2), m.tensor([1, 2]), m.tensor([1, 2])), RuntimeError),
                      (lambda m: m.inner(m.ones(2, 3), m.ones(2)), RuntimeError)):
        both_raise(exc, call)


# ---- statistics -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [X, XN], ids=["finite", "nan"])
@pytest.mark.parametrize("call", [
    lambda m, x: m.median(x), lambda m, x: m.median(x, 1), lambda m, x: m.median(x, -1, keepdim=True),
    lambda m, x: x.median(0), lambda m, x: m.nanmedian(x), lambda m, x: m.nanmedian(x, 2),
    lambda m, x: x.nanmedian(0, True), lambda m, x: m.nansum(x), lambda m, x: m.nansum(x, (0, 2), keepdim=True),
    lambda m, x: x.nansum(1, dtype=m.float32), lambda m, x: m.nanmean(x), lambda m, x: x.nanmean(1),
    lambda m, x: m.count_nonzero(x), lambda m, x: m.count_nonzero(x.round(), 1),
    lambda m, x: m.var(x, 1, False), lambda m, x: x.var(unbiased=False), lambda m, x: x.std(0, True, True),
    lambda m, x: m.std(x, dim=2, correction=0), lambda m, x: m.var_mean(x, 1),
    lambda m, x: m.std_mean(x, (0, 2), keepdim=True, correction=2), lambda m, x: m.var_mean(x, False)])
def test_statistics_match_torch(call, data):
    same(call(jt, J(data)), call(torch, T(data)), 1e-9, 1e-12)


def test_median_of_ties_even_counts_and_integers():
    for data in ([[3, 1, 2, 2], [5, 5, 1, 1]], [[7]], [[1, 2, 3, 4, 5, 6]]):
        same(jt.median(J(data), 1), torch.median(T(data), 1))
        same(jt.median(J(data)), torch.median(T(data)))
    assert math.isnan(float(jt.median(jt.tensor([])))) and math.isnan(float(torch.median(torch.tensor([]))))
    with pytest.raises(IndexError):
        jt.median(jt.ones(2, 0), 1)
    same(jt.median(jt.tensor(2.5), 0), torch.median(torch.tensor(2.5), 0))


Q = [0.0, 0.1, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("interp", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("data", [X, XN], ids=["finite", "nan"])
@pytest.mark.parametrize("call", [
    lambda m, x, q, i: m.quantile(x, 0.3, interpolation=i),
    lambda m, x, q, i: m.quantile(x, q, 1, interpolation=i),
    lambda m, x, q, i: x.quantile(q, -1, keepdim=True, interpolation=i),
    lambda m, x, q, i: m.quantile(x, q[2], 0, interpolation=i),
    lambda m, x, q, i: m.quantile(x, q, interpolation=i, keepdim=True),
    lambda m, x, q, i: m.nanquantile(x, q, 2, interpolation=i),
    lambda m, x, q, i: x.nanquantile(0.25, interpolation=i)])
def test_quantiles_match_torch(call, data, interp):
    same(call(jt, J(data), J(Q), interp), call(torch, T(data), T(Q), interp), 1e-9, 1e-12)


def test_quantile_errors_match_torch():
    both_raise(RuntimeError, lambda m: m.quantile(m.tensor([1, 2]), 0.5), lambda m: m.quantile(m.ones(3), 1.5),
               lambda m: m.quantile(m.ones(3), m.tensor([0.5], dtype=m.float64)),
               lambda m: m.nanmean(m.tensor([1, 2])))
    with pytest.raises(ValueError):
        jt.quantile(jt.ones(3), 0.5, interpolation="cubic")


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("shapes", [((4, 3), (5, 3)), ((2, 4, 3), (1, 30, 3)), ((30, 2), (26, 2))])
def test_cdist_matches_torch(p, shapes):
    a, b = RNG.normal(size=shapes[0]), RNG.normal(size=shapes[1])
    same(jt.cdist(J(a), J(b), p), torch.cdist(T(a), T(b), p), 1e-9, 1e-9)
    for mode in ("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        same(jt.cdist(J(a), J(b), p, mode), torch.cdist(T(a), T(b), p, mode), 1e-9, 1e-9)


def test_cdist_errors():
    both_raise(RuntimeError, lambda m: m.cdist(m.ones(2, 3), m.ones(2, 4)),
               lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), -1.0))


# ---- least squares ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("driver", [None, "gels", "gelsy", "gelsd", "gelss"])
@pytest.mark.parametrize("shapes", [((5, 3), (5, 2)), ((2, 6, 4), (2, 6, 1)), ((5, 3), (5,)), ((3, 5), (3, 2))])
def test_lstsq_matches_torch(driver, shapes):
    a, b = RNG.normal(size=shapes[0]), RNG.normal(size=shapes[1])
    if driver == "gels" and a.shape[-2] < a.shape[-1]:
        return   # torch's gels on a wide matrix: LAPACK's minimum-norm branch (the same solution as ours)
    same(jt.linalg.lstsq(J(a), J(b), driver=driver), tuple(torch.linalg.lstsq(T(a), T(b), driver=driver)), 1e-9, 1e-9)


def test_lstsq_rank_deficient_and_errors():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    b = np.array([[1.0], [2.0], [2.5]])
    r, t = jt.linalg.lstsq(J(a), J(b), driver="gelsd"), torch.linalg.lstsq(T(a), T(b), driver="gelsd")
    same(r.solution, t.solution, 1e-9, 1e-9)
    assert int(r.rank) == int(t.rank) == 1 and r.residuals.shape == t.residuals.shape == (0,)
    both_raise(RuntimeError, lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(4, 1)),
               lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 1), driver="qr"),
               lambda m: m.linalg.lstsq(m.ones(3, 2), m.ones(3, 1, dtype=m.float64)))


# ---- element-wise and shape compositions ------------------------------------------------------------------------
SPECIAL = [[np.nan, np.inf, -np.inf, 1.5], [0.0, -2.0, np.nan, np.inf]]


@pytest.mark.parametrize("call", [
    lambda m: m.nan_to_num(m.tensor(SPECIAL)), lambda m: m.nan_to_num(m.tensor(SPECIAL, dtype=m.float64), 1.0, 2.0),
    lambda m: m.tensor(SPECIAL, dtype=m.float16).nan_to_num(neginf=-7.0), lambda m: m.nan_to_num(m.tensor([1, 2])),
    lambda m: m.tensor(SPECIAL).nan_to_num_(posinf=9.0),
    lambda m: m.diff(m.tensor([1, 4, 9, 16])), lambda m: m.diff(m.tensor(X), 2, 1),
    lambda m: m.diff(m.tensor(X), dim=0, prepend=m.tensor(X[:1]), append=m.tensor(X)),
    lambda m: m.tensor([True, False, False, True]).diff(), lambda m: m.diff(m.tensor([1.0, 2.0]), 3),
    lambda m: m.diff(m.tensor([1, 2, 4]), prepend=m.tensor([0])),
    lambda m: m.repeat_interleave(m.tensor([[1, 2], [3, 4]]), 2),
    lambda m: m.repeat_interleave(m.tensor([[1, 2], [3, 4]]), m.tensor([1, 2]), 0),
    lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(3, dim=1),
    lambda m: m.repeat_interleave(m.tensor([2, 0, 1])),
    lambda m: m.repeat_interleave(m.tensor(5), 2), lambda m: m.repeat_interleave(m.tensor([1, 2]), m.tensor([2])),
    lambda m: m.logspace(0, 3, 4), lambda m: m.logspace(-1, 1, 5, base=2.0, dtype=m.float64),
    lambda m: m.logspace(0, 2, 3, dtype=m.int64), lambda m: m.logspace(0, 1, 0),
    lambda m: m.tril_indices(3, 3), lambda m: m.tril_indices(4, 3, 1), lambda m: m.triu_indices(3, 5, -1),
    lambda m: m.triu_indices(0, 3), lambda m: m.tril_indices(3, 4, dtype=m.int32),
    lambda m: m.meshgrid(m.arange(3), m.arange(2), indexing="ij"),
    lambda m: m.meshgrid([m.arange(3), m.arange(2), m.arange(4)], indexing="xy"),
    lambda m: m.meshgrid(m.tensor(1.0), m.arange(2.0), indexing="xy"),
    lambda m: m.broadcast_tensors(m.ones(3, 1), m.zeros(2), m.tensor(1.0)),
    lambda m: m.broadcast_shapes((3, 1), (2,), 2), lambda m: m.broadcast_shapes(),
    lambda m: m.atleast_1d(m.tensor(1.0)), lambda m: m.atleast_2d(m.ones(3)), lambda m: m.atleast_3d(m.ones(2, 3)),
    lambda m: m.atleast_3d(m.tensor(1.0), m.ones(3)), lambda m: m.atleast_2d([m.ones(3), m.ones(1, 1, 1)]),
    lambda m: m.atleast_1d(m.ones(2, 2)),
    lambda m: m.equal(m.ones(2), m.ones(2)), lambda m: m.equal(m.ones(2), m.ones(3)),
    lambda m: m.tensor([1.0, math.nan]).equal(m.tensor([1.0, math.nan])),
    lambda m: m.index_add(m.zeros(4, 3), 0, m.tensor([0, 2, 0]), m.ones(3, 3), alpha=2),
    lambda m: m.zeros(4, 3, dtype=m.int64).index_add_(1, m.tensor([2, 2]), m.ones(4, 2, dtype=m.int64)),
    lambda m: m.index_copy(m.zeros(4, 3), 0, m.tensor([3, 1]), m.ones(2, 3) * 5),
    lambda m: m.zeros(2, 4).index_copy_(1, m.tensor([0, 3]), m.ones(2, 2)),
    lambda m: m.index_fill(m.zeros(3, 4), 1, m.tensor([0, 2]), -1.0),
    lambda m: m.zeros(3, 4).index_fill_(0, m.tensor([1]), m.tensor(4.0)),
    lambda m: m.index_add(m.tensor(1.0), 0, m.tensor([0]), m.tensor(2.0)),
    lambda m: m.masked_scatter(m.zeros(2, 3), m.tensor([[True, False, True], [False, True, False]]),
                               m.arange(6.0).reshape(2, 3)),
    lambda m: m.zeros(2, 3).masked_scatter_(m.tensor([True, False, True]), m.arange(10.0)),
    lambda m: m.zeros(2, 3).masked_scatter(m.tensor([False, False, False]), m.tensor([])),
    lambda m: m.tensor(X[0]).tril_(), lambda m: m.tensor(X).triu_(1), lambda m: m.tensor(X[0]).tril_(-1),
    lambda m: m.tensor(X).sum_to_size(3, 1, 5), lambda m: m.tensor(X).sum_to_size((1, 4, 1)),
    lambda m: m.tensor(X).nelement(), lambda m: m.tensor(X).type_as(m.tensor([1])),
    lambda m: m.ones(2, dtype=m.int32).new_zeros(2, 3), lambda m: m.ones(2, dtype=m.float64).new_ones((3,)),
    lambda m: m.ones(2).new_full((2, 2), 7), lambda m: m.ones(2, dtype=m.int8).new_tensor([1.7, 2.2]),
    lambda m: m.ones(2, dtype=m.float64).new_tensor([1, 2], dtype=m.int16),
    lambda m: m.ones(2).new_zeros((1, 2), dtype=m.int64), lambda m: m.ones(2, dtype=m.int16).new_empty(2, 3).shape,
    lambda m: m.as_tensor([1, 2.5]), lambda m: m.as_tensor(np.arange(3)),
    lambda m: m.as_tensor(m.ones(2), dtype=m.int32)])
def test_compositions_match_torch(call):
    same(call(jt), call(torch), 1e-6, 1e-6)


def test_composition_errors_match_torch():
    for call, exc in ((lambda m: m.diff(m.tensor(1.0)), RuntimeError),
                      (lambda m: m.repeat_interleave(m.ones(3), m.tensor([1, 2])), RuntimeError),
                      (lambda m: m.repeat_interleave(m.ones(2), m.tensor([1, -1])), RuntimeError),
                      (lambda m: m.broadcast_shapes((2,), (3,)), RuntimeError),
                      (lambda m: m.meshgrid(m.ones(2, 2), indexing="ij"), RuntimeError),
                      (lambda m: m.meshgrid(m.ones(2), indexing="yx"), RuntimeError),
                      (lambda m: m.index_add(m.zeros(3), 0, m.tensor([[0]]), m.ones(1)), IndexError),
                      (lambda m: m.index_add(m.zeros(3), 0, m.tensor([0]), m.ones(1, dtype=m.float64)), RuntimeError),
                      (lambda m: m.index_fill(m.zeros(3), 0, m.tensor([0]), m.ones(2)), RuntimeError),
                      (lambda m: m.zeros(3).masked_scatter(m.ones(3, dtype=m.bool), m.ones(2)), RuntimeError),
                      (lambda m: m.ones(3).sum_to_size(2), RuntimeError),
                      (lambda m: m.tril_indices(-1, 2), RuntimeError)):
        both_raise(exc, call)


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="indexing"):
        g = jt.meshgrid(jt.arange(2), jt.arange(3))
    assert g[0].shape == (2, 3)


def test_as_tensor_shares_memory():
    a = np.arange(4.0)
    t = jt.as_tensor(a)
    a[0] = 7
    assert float(t[0]) == 7
    x = jt.ones(3)
    assert jt.as_tensor(x) is x and jt.as_tensor(x, dtype=jt.float32) is x


def test_new_methods_keep_device_and_dtype():
    m = jt.empty(2, dtype=jt.float64, device="meta")
    for t in (m.new_zeros(3), m.new_ones(2, 2), m.new_full((2,), 1.0), m.new_empty(4)):
        assert t.is_meta and t.dtype is jt.float64
    x = jt.ones(2, requires_grad=True)
    assert x.new_zeros(2, requires_grad=True).requires_grad and not x.new_ones(2).requires_grad
    with pytest.warns(UserWarning, match="clone"):
        assert x.new_tensor(x).requires_grad is False


# ---- random sampling ----------------------------------------------------------------------------------------
def _draws(fn):
    jt.manual_seed(123)
    a = fn()
    jt.manual_seed(123)
    b = fn()
    return a, b


@pytest.mark.parametrize("fn", [
    lambda: jt.randperm(10), lambda: jt.normal(jt.zeros(5), jt.ones(5)), lambda: jt.normal(2.0, 3.0, (4,)),
    lambda: jt.normal(jt.zeros(3), 2.0), lambda: jt.normal(1.0, jt.ones(2, 3)),
    lambda: jt.bernoulli(jt.full((8,), 0.5)),
    lambda: jt.multinomial(jt.tensor([0.2, 0.3, 0.5]), 6, True), lambda: jt.multinomial(jt.ones(2, 5), 3),
    lambda: jt.empty(5).uniform_(-2, 3), lambda: jt.empty(5).normal_(1, 2), lambda: jt.empty(5).bernoulli_(0.3),
    lambda: jt.empty(5, dtype=jt.int32).random_(0, 10), lambda: jt.empty(5).exponential_(2.0),
    lambda: jt.empty(5).cauchy_(), lambda: jt.empty(5).log_normal_(), lambda: jt.empty(5).geometric_(0.3)])
def test_random_ops_follow_manual_seed(fn):
    a, b = _draws(fn)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(fn().numpy(), a.numpy()) or a.numel() < 3   # a second draw differs


def test_randperm_is_a_permutation():
    for n in (0, 1, 7, 1000):
        p = jt.randperm(n)
        assert p.dtype is jt.int64 and sorted(p.tolist()) == list(range(n))
    assert jt.randperm(5, dtype=jt.float32).dtype is jt.float32
    assert jt.randperm(4, device="meta").shape == (4,)
    with pytest.raises(RuntimeError):
        jt.randperm(-1)
    jt.manual_seed(0)
    first = np.array([jt.randperm(4).tolist() for _ in range(4000)])[:, 0]
    assert np.allclose(np.bincount(first, minlength=4) / 4000, 0.25, atol=0.03)


def test_normal_statistics_overloads_and_gradients():
    jt.manual_seed(1)
    s = jt.normal(3.0, 2.0, (20000,), dtype=jt.float64)
    assert s.dtype is jt.float64 and abs(float(s.mean()) - 3) < 0.05 and abs(float(s.std()) - 2) < 0.05
    assert jt.normal(jt.zeros(2, 1), jt.ones(3)).shape == (2, 3) == torch.normal(torch.zeros(2, 1), torch.ones(3)).shape
    assert jt.normal(0.0, 1.0, (2,)).dtype is jt.float32
    mean, std = jt.zeros(4, requires_grad=True), jt.ones(4, requires_grad=True)
    out = jt.normal(mean, std)
    gm, gs = jt.autograd.grad(out.sum(), [mean, std])
    np.testing.assert_allclose(gm.numpy(), 1.0)
    np.testing.assert_allclose(gs.numpy(), out.detach().numpy())   # d(mean + std * eps)/d std = eps
    both_raise(RuntimeError, lambda m: m.normal(0.0, -1.0, (2,)), lambda m: m.normal(m.zeros(2), -1.0),
               lambda m: m.empty(2).normal_(0, -1))


def test_bernoulli_statistics_and_dtype():
    jt.manual_seed(2)
    p = jt.tensor([0.0, 0.25, 1.0], dtype=jt.float64).expand(20000, 3)
    s = jt.bernoulli(p)
    assert s.dtype is jt.float64 and set(np.unique(s.numpy())) <= {0.0, 1.0}
    np.testing.assert_allclose(s.numpy().mean(0), [0, 0.25, 1], atol=0.02)
    assert abs(float(jt.bernoulli(jt.zeros(20000), 0.7).mean()) - 0.7) < 0.02
    assert abs(float(jt.empty(20000).bernoulli_(0.4).mean()) - 0.4) < 0.02
    assert jt.ones(3, requires_grad=True).bernoulli().requires_grad is False
    both_raise(RuntimeError, lambda m: m.bernoulli(m.tensor([1.5])), lambda m: m.empty(2).bernoulli_(1.5))


def test_multinomial_statistics():
    jt.manual_seed(3)
    w = jt.tensor([[1.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 5.0]])
    s = jt.multinomial(w, 20000, replacement=True)
    assert s.dtype is jt.int64 and s.shape == (2, 20000)
    np.testing.assert_allclose(np.bincount(s[0].numpy(), minlength=4) / 20000, [0.125, 0, 0.375, 0.5], atol=0.015)
    np.testing.assert_allclose(np.bincount(s[1].numpy(), minlength=4) / 20000, [0, 0.5, 0, 0.5], atol=0.015)
    firsts = np.array([jt.multinomial(w[0], 3).tolist() for _ in range(3000)])
    assert all(len(set(r)) == 3 and 1 not in r for r in firsts)   # distinct, never a zero-weight category
    np.testing.assert_allclose(np.bincount(firsts[:, 0], minlength=4) / 3000, [0.125, 0, 0.375, 0.5], atol=0.03)
    assert jt.multinomial(jt.tensor([0.0, 1.0]), 1).tolist() == [1]
    assert jt.multinomial(jt.tensor([0.0, 1.0, 0.0]), 3)[0].tolist() == 1   # zero weights last, as torch


def test_multinomial_errors_match_torch():
    both_raise(RuntimeError, lambda m: m.multinomial(m.ones(2, 2, 2), 1), lambda m: m.multinomial(m.tensor([1, 2]), 1),
               lambda m: m.multinomial(m.ones(3), 0), lambda m: m.multinomial(m.ones(3), 4),
               lambda m: m.multinomial(m.tensor([1.0, -1.0]), 1), lambda m: m.multinomial(m.zeros(3), 1, True))


def test_fills_ranges_and_dtypes():
    jt.manual_seed(4)
    u = jt.empty(20000, dtype=jt.float64).uniform_(-2, 3)
    assert u.dtype is jt.float64 and float(u.min()) >= -2 and float(u.max()) < 3 and abs(float(u.mean()) - 0.5) < 0.05
    n = jt.empty(20000).normal_(1.0, 0.5)
    assert abs(float(n.mean()) - 1) < 0.02 and abs(float(n.std()) - 0.5) < 0.02
    e = jt.empty(20000, dtype=jt.float64).exponential_(4.0)
    assert float(e.min()) >= 0 and abs(float(e.mean()) - 0.25) < 0.01
    g = jt.empty(20000).geometric_(0.25)
    assert float(g.min()) >= 1 and abs(float(g.mean()) - 4) < 0.15
    r = jt.empty(2000, dtype=jt.int8).random_(-3, 4)
    assert r.dtype is jt.int8 and set(r.tolist()) == set(range(-3, 4))
    assert set(jt.empty(2000).random_(3).tolist()) == {0.0, 1.0, 2.0}
    b = jt.empty(200, dtype=jt.bool).random_()
    assert set(b.tolist()) == {False, True}
    big = jt.empty(2000).random_()
    assert float(big.min()) >= 0 and float(big.max()) <= 2 ** 24 and float(big.max()) > 2 ** 20
    assert jt.empty(3, device="meta").uniform_().is_meta
    for call, exc in ((lambda m: m.empty(2).uniform_(3, 1), RuntimeError),
                      (lambda m: m.empty(2).random_(5, 5), RuntimeError),
                      (lambda m: m.empty(2).exponential_(-1.0), RuntimeError)):
        both_raise(exc, call)


def test_fills_work_under_no_grad_on_parameters():
    w = jt.nn.Parameter(jt.empty(3, 4))
    with jt.no_grad():
        w.uniform_(-1, 1).normal_().bernoulli_(0.5)
    assert w.requires_grad and w.grad_fn is None


def test_composed_functions_take_part_in_jtensor_function():
    seen = []

    class Logged(jt.Tensor):
        @classmethod
        def __jtensor_function__(cls, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            return super().__jtensor_function__(func, types, args, kwargs)

    x = jt.tensor(X[0]).as_subclass(Logged)
    jt.median(x, 1)
    assert seen[-1] == "median"   # (named-tuple results stay plain, as for the registry's sort)
    assert type(x.nanmean()) is Logged and seen[-1] == "nanmean"
    assert type(jt.addmm(jt.ones(5, 5, dtype=jt.float64), x.mT, x)) is Logged and seen[-1] == "addmm"
    assert type(jt.flatten(x)) is Logged and "flatten" in seen
