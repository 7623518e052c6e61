"""jt.histogram / histogramdd (python/jtensor/histograms.py) and jt.gradient / unravel_index
(python/jtensor/finite_differences.py) against torch: values over shapes, dtypes and every option,
errors, and gradient's derivatives against torch.autograd and finite differences."""
import numpy as np
import pytest
import torch

import jtensor as jt


def J(t):
    return jt.tensor(t.detach().numpy())


def close(q, r, tol=1e-6):
    assert tuple(q.shape) == tuple(r.shape) and q.dtype.name == str(r.dtype)[6:]
    np.testing.assert_allclose(q.numpy(), r.detach().numpy(), rtol=tol, atol=tol)


def _x(shape, dtype=torch.float64, seed=0):
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_histogram_matches_torch(dtype):
    x = _x((7, 30), dtype)
    w = _x((7, 30), dtype, 1).abs()
    edges = torch.tensor([-2.0, -0.5, 0.0, 0.3, 2.5], dtype=dtype)
    for bins in (1, 10, edges):
        for kw in ({}, {"range": (-1.0, 1.5)}, {"weight": w}, {"density": True}, {"weight": w, "density": True}):
            if isinstance(bins, torch.Tensor) and "range" in kw:
                with pytest.raises(TypeError):   # as torch: given edges take no range
                    jt.histogram(J(x), J(bins), range=kw["range"])
                continue
            r = torch.histogram(x, bins, **kw)
            q = jt.histogram(J(x), J(bins) if isinstance(bins, torch.Tensor) else bins,
                             **{k: J(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()})
            close(q.hist, r.hist)
            close(q.bin_edges, r.bin_edges)
    close(J(x).histogram(5).hist, x.histogram(5).hist)
    for data in (torch.ones(4, dtype=dtype), torch.zeros(0, dtype=dtype), torch.tensor([1.0, 2.0, 2.0], dtype=dtype)):
        r, q = torch.histogram(data, 4), jt.histogram(J(data), 4)
        close(q.hist, r.hist)
        close(q.bin_edges, r.bin_edges)


def test_histogram_errors():
    with pytest.raises(RuntimeError, match="bins must be > 0"):
        jt.histogram(jt.ones(3), 0)
    with pytest.raises(RuntimeError, match="min should not exceed max"):
        jt.histogram(jt.ones(3), 2, range=(3.0, 1.0))
    with pytest.raises(RuntimeError, match="is not finite"):
        jt.histogram(jt.tensor([1.0, float("nan")]), 2)
    with pytest.raises(NotImplementedError):
        jt.histogram(jt.tensor([1, 2, 3]), 2)


def test_histogramdd_matches_torch():
    p = _x((4, 25, 3), torch.float32)
    w = _x((4, 25), torch.float32, 1).abs()
    e = [torch.tensor([-3.0, 0.0, 3.0]), torch.tensor([-1.0, -0.2, 0.1, 1.0]), torch.tensor([-2.0, 2.0])]
    for bins in (4, [2, 3, 5], e):
        for kw in ({}, {"weight": w}, {"density": True}):
            jbins = [J(t) for t in bins] if isinstance(bins, list) and isinstance(bins[0], torch.Tensor) else bins
            r = torch.histogramdd(p, bins, **kw)
            q = jt.histogramdd(J(p), jbins, **{k: J(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()})
            close(q.hist, r.hist)
            for a, b in zip(q.bin_edges, r.bin_edges):
                close(a, b)
    r = torch.histogramdd(p, [2, 2, 2], range=[-1.0, 1.0, 0.0, 2.0, -2.0, 0.0])
    q = jt.histogramdd(J(p), [2, 2, 2], range=[-1.0, 1.0, 0.0, 2.0, -2.0, 0.0])
    close(q.hist, r.hist)
    with pytest.raises(RuntimeError, match="range should have 6 elements"):
        jt.histogramdd(J(p), 2, range=[0.0, 1.0])


def test_unravel_index():
    for idx, shape in ((torch.tensor([5, -1, 6, 0]), (2, 3)), (torch.tensor([[7, 23], [0, 11]]), (2, 3, 4)),
                       (torch.tensor(4), (5,)), (torch.tensor([3], dtype=torch.int32), 4)):
        r, q = torch.unravel_index(idx, shape), jt.unravel_index(J(idx), shape)
        assert len(q) == len(r)
        for a, b in zip(q, r):
            close(a, b)
    with pytest.raises(TypeError, match="expected 'indices' to be integer dtype"):
        jt.unravel_index(jt.tensor([1.0]), (2, 3))
    with pytest.raises(ValueError, match="'shape' cannot have negative values"):
        jt.unravel_index(jt.tensor([1]), (2, -3))


SPACINGS = [{}, {"spacing": 2.0}, {"spacing": [1.5, 0.5, 2.0]}, {"dim": 1}, {"dim": (0, -1), "spacing": 0.25},
            {"dim": -1, "spacing": [torch.tensor([0.0, 1.0, 3.0, 4.0, 7.5, 8.0], dtype=torch.float64)]},
            {"spacing": [torch.tensor([0.0, 0.5, 2.0, 2.5], dtype=torch.float64),
                         torch.tensor([-1.0, 0.0, 0.5], dtype=torch.float64),
                         torch.tensor([0.0, 1.0, 3.0, 4.0, 7.5, 8.0], dtype=torch.float64)]}]


def _jt_kwargs(kw):
    return {k: [J(s) if isinstance(s, torch.Tensor) else s for s in v] if isinstance(v, list) else v
            for k, v in kw.items()}


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("kw", SPACINGS, ids=range(len(SPACINGS)))
def test_gradient_matches_torch(kw, edge_order):
    f = _x((4, 3, 6))
    r, q = torch.gradient(f, edge_order=edge_order, **kw), jt.gradient(J(f), edge_order=edge_order, **_jt_kwargs(kw))
    assert isinstance(q, tuple) and len(q) == len(r)
    for a, b in zip(q, r):
        close(a, b, 1e-12)
    # derivatives through the differences, against torch.autograd
    ft, fj = f.clone().requires_grad_(), J(f).requires_grad_()
    sum(t.sin().sum() for t in torch.gradient(ft, edge_order=edge_order, **kw)).backward()
    sum(t.sin().sum() for t in jt.gradient(fj, edge_order=edge_order, **_jt_kwargs(kw))).backward()
    close(fj.grad, ft.grad, 1e-12)


def test_gradient_dtypes_and_errors():
    for data in (torch.tensor([1, 4, 9, 16]), torch.tensor([1.0, 4.0, 9.0, 16.0])):
        close(jt.gradient(J(data))[0], torch.gradient(data)[0])
    z = _x((5,), torch.complex128)
    close(jt.gradient(J(z))[0], torch.gradient(z)[0], 1e-12)
    with pytest.raises(RuntimeError, match="at least edge_order\\+1"):
        jt.gradient(jt.tensor([1.0, 4.0]), edge_order=2)
    with pytest.raises(RuntimeError, match="only supports edge_order=1 and edge_order=2"):
        jt.gradient(jt.ones(5), edge_order=3)
    with pytest.raises(RuntimeError, match="spacing argument of length 2 and a dim argument of length 1"):
        jt.gradient(jt.ones(3, 4), spacing=[1.0, 2.0], dim=0)


def test_gradient_gradcheck_in_coordinates():
    f = jt.tensor(_x((5, 4)).numpy()).requires_grad_()
    x = jt.tensor(np.array([0.0, 0.7, 1.5, 3.0, 3.2])).requires_grad_()
    assert jt.autograd.gradcheck(lambda f, x: jt.gradient(f, spacing=[x], dim=0, edge_order=2)[0], (f, x))
