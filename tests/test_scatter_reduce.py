"""scatter_reduce / scatter_reduce_ (julia/src/ops/scatter_reduce.jl) and index_reduce(_)
(python/jtensor/composites.py) against torch: every reduction with and without include_self, over
dtypes, dims and an index smaller than src; errors; gradients against torch.autograd (ties of
amax/amin, zeros of prod) and by finite differences."""
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt

REDUCES = ["sum", "prod", "mean", "amax", "amin"]


def J(t):
    return jt.tensor(t.detach().numpy())


def _data(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(*shape, generator=g, dtype=torch.float64) * 3
    return t.round().to(dtype) if not dtype.is_floating_point else t.to(dtype)


def _index(shape, high, seed):
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


def check(q, r):
    assert q.dtype.name == str(r.dtype)[6:] and tuple(q.shape) == tuple(r.shape)
    np.testing.assert_allclose(q.numpy(), r.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_matches_torch(reduce, dtype):
    x = _data((4, 3, 5), dtype, 0)
    for dim, src_shape, idx_shape in [(0, (6, 3, 5), (6, 3, 5)), (-1, (4, 3, 7), (4, 2, 7)), (1, (2, 4, 3), (2, 4, 2))]:
        src = _data(src_shape, dtype, 1)
        idx = _index(idx_shape, x.shape[dim], 2)
        for include_self in (True, False):
            r = torch.scatter_reduce(x, dim, idx, src, reduce, include_self=include_self)
            check(jt.scatter_reduce(J(x), dim, J(idx), J(src), reduce, include_self=include_self), r)
            check(J(x).scatter_reduce(dim, J(idx), J(src), reduce=reduce, include_self=include_self), r)
            y = J(x)
            assert y.scatter_reduce_(dim, J(idx), J(src), reduce, include_self=include_self) is y
            check(y, r)


def test_scatter_reduce_nan_and_empty():
    x = torch.tensor([1.0, 2.0, 3.0])
    src = torch.tensor([float("nan"), 5.0])
    idx = torch.tensor([0, 1])
    for reduce in ("amax", "amin", "sum"):
        check(jt.scatter_reduce(J(x), 0, J(idx), J(src), reduce), torch.scatter_reduce(x, 0, idx, src, reduce))
    e = torch.zeros(0, dtype=torch.int64)
    check(jt.scatter_reduce(J(x), 0, J(e), J(src), "mean"), torch.scatter_reduce(x, 0, e, src, "mean"))


def test_scatter_reduce_errors():
    x, idx = jt.zeros(3), jt.tensor([0, 1])
    with pytest.raises(ValueError, match="reduce argument must be either sum, prod, mean, amax or amin"):
        jt.scatter_reduce(x, 0, idx, jt.ones(2), "max")
    with pytest.raises(TypeError, match="Expected self.dtype to be equal to src.dtype"):
        jt.scatter_reduce(x, 0, idx, jt.ones(2, dtype=jt.float64), "sum")
    with pytest.raises(IndexError, match="out of bounds"):
        jt.scatter_reduce(x, 0, jt.tensor([0, 3]), jt.ones(2), "sum")
    with pytest.raises(TypeError):
        jt.scatter_reduce(x, 0, idx, jt.ones(2))     # reduce is required, as in torch


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce_matches_torch(reduce):
    x = _data((4, 5), torch.float64, 0)
    index = torch.tensor([0, 2, 2, 4])
    src = _data((4, 4), torch.float64, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch: index_reduce() is in beta
        for include_self in (True, False):
            r = x.index_reduce(1, index, src, reduce, include_self=include_self)
            check(J(x).index_reduce(1, J(index), J(src), reduce, include_self=include_self), r)
            check(jt.index_reduce(J(x), -1, J(index), J(src), reduce, include_self=include_self), r)
            y = J(x)
            y.index_reduce_(1, J(index), J(src), reduce, include_self=include_self)
            check(y, r)
    with pytest.raises(RuntimeError, match="Expected reduce to be one of prod, mean, amax or amin"):
        J(x).index_reduce(1, J(index), J(src), "sum")


def _grad_case(reduce, include_self):
    x = _data((4, 5), torch.float64, 3)
    src = _data((3, 5), torch.float64, 4)
    idx = _index((3, 5), 4, 5)
    if reduce == "prod":
        x[1, 1] = 0.0
        src[0, 0] = 0.0
        src[2, 3] = 0.0
    if reduce in ("amax", "amin"):   # ties between input and src, and among src values
        idx[:, 2] = 1
        x[1, 2] = src[0, 2] = src[1, 2] = 10.0 if reduce == "amax" else -10.0
    return x, idx, src


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_gradients_match_torch(reduce, include_self):
    x, idx, src = _grad_case(reduce, include_self)
    a, b = J(x).requires_grad_(), J(src).requires_grad_()
    at, bt = x.clone().requires_grad_(), src.clone().requires_grad_()
    w = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    (jt.scatter_reduce(a, 0, J(idx), b, reduce, include_self=include_self) * J(w)).sum().backward()
    (torch.scatter_reduce(at, 0, idx, bt, reduce, include_self=include_self) * w).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduce", REDUCES)
def test_gradcheck(reduce):
    g = torch.Generator().manual_seed(1)
    x = jt.tensor((torch.rand(3, 4, generator=g, dtype=torch.float64) + 0.5).numpy()).requires_grad_()
    src = jt.tensor((torch.rand(2, 4, generator=g, dtype=torch.float64) + 0.5).numpy()).requires_grad_()
    idx = jt.tensor([[0, 1, 2, 0], [2, 1, 0, 0]])
    wide = jt.tensor((torch.rand(2, 5, generator=g, dtype=torch.float64) + 0.5).numpy()).requires_grad_()
    for include_self in (True, False):
        # src larger than the index (torch's backward refuses it): its unread part gets zero
        for s in (src, wide):
            assert jt.autograd.gradcheck(
                lambda a, b: jt.scatter_reduce(a, 0, idx, b, reduce, include_self=include_self), (x, s))


def test_index_reduce_gradient_matches_torch():
    x, src = _data((4, 5), torch.float64, 0), _data((4, 3), torch.float64, 1)
    index = torch.tensor([0, 3, 3])
    a, b = J(x).requires_grad_(), J(src).requires_grad_()
    at, bt = x.clone().requires_grad_(), src.clone().requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at.index_reduce(1, index, bt, "mean").pow(2).sum().backward()
    a.index_reduce(1, J(index), b, "mean").pow(2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), bt.grad.numpy(), rtol=1e-10)
