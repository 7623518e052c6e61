"""Data-moving shape and indexing ops (julia/src/ops/shape.jl), checked against PyTorch.

Every op runs on several dtypes, on contiguous and non-contiguous (transposed, step-sliced)
inputs, with negative dims and empty tensors, and its error paths raise the documented Python
exception with a message naming the op. Hypothesis covers random shapes for the core ops.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

import jtensor as jt

DTYPES = [torch.int64, torch.float32, torch.float64, torch.bool, torch.complex64]
REAL = [torch.int64, torch.float32, torch.float64]
FAST = settings(max_examples=20, deadline=None)


def make(shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.randint(0, 2, shape, generator=g).bool()
    if dtype.is_complex:
        return torch.complex(torch.randn(shape, generator=g), torch.randn(shape, generator=g)).to(dtype)
    if dtype.is_floating_point:
        return torch.randn(shape, generator=g).to(dtype)
    return torch.randint(-9, 10, shape, generator=g).to(dtype)


def J(t):
    """A jtensor copy of a torch tensor (same values, dtype, shape)."""
    return jt.tensor(t.detach().numpy().copy())


def check(res, ref):
    a, b = np.asarray(res), ref.numpy()
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_array_equal(a, b)


# the same view taken of a jtensor and of a torch tensor
LAYOUTS = {
    "contiguous": lambda a: a,
    "transposed": lambda a: a.transpose(0, -1),
    "stepped": lambda a: a[..., ::2],
}


def pair(shape, dtype, layout="contiguous", seed=0):
    """(jtensor, torch) holding equal values, viewed through `layout` (base made to fit)."""
    base = list(shape)
    if layout == "stepped":
        base[-1] *= 2
    if layout == "transposed":
        base[0], base[-1] = base[-1], base[0]
    t = make(tuple(base), dtype, seed)
    f = LAYOUTS[layout]
    j, t = f(J(t)), f(t)
    assert tuple(j.shape) == tuple(t.shape)
    if layout != "contiguous" and min(shape) > 1:
        assert not j.is_contiguous()
    return j, t


def raises(exc, op):
    return pytest.raises(exc, match=op)


# ---- cat / stack / hstack / vstack -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_cat_dtypes_layouts(dtype, layout):
    a, ta = pair((2, 3, 4), dtype, layout, 1)
    b, tb = pair((2, 3, 4), dtype, "contiguous", 2)
    for d in (0, 1, 2, -1, -3):
        check(jt.cat([a, b], d), torch.cat([ta, tb], d))
    check(jt.cat([a, b, a], dim=-2), torch.cat([ta, tb, ta], dim=-2))
    check(jt.concat((a,), 1), torch.cat((ta,), 1))


def test_cat_promotion_and_empty():
    ti, tf, tb = make((2, 3), torch.int32), make((2, 1), torch.float64), make((2, 2), torch.bool)
    check(jt.cat([J(ti), J(tf), J(tb)], 1), torch.cat([ti, tf, tb], 1))
    i8, u8 = torch.tensor([-1, 2], dtype=torch.int8), torch.tensor([200], dtype=torch.uint8)
    check(jt.cat([J(i8), J(u8)]), torch.cat([i8, u8]))
    c = make((1, 3), torch.complex64)
    check(jt.cat([J(c), J(make((2, 3), torch.float64))]), torch.cat([c, make((2, 3), torch.float64)]))
    # 1-d empty tensors are skipped (their dtype still promotes), even ahead of n-d ones
    e = torch.tensor([], dtype=torch.float64)
    check(jt.cat([J(e), J(ti)], dim=1), torch.cat([e, ti], dim=1))
    check(jt.cat([J(e), J(e.float())]), torch.cat([e, e.float()]))
    # tensors with a zero-size dim take part
    z = make((0, 3), torch.int32)
    check(jt.cat([J(z), J(ti), J(z)]), torch.cat([z, ti, z]))
    check(jt.cat([J(make((2, 0)))], 1), torch.cat([make((2, 0))], 1))


def test_cat_errors():
    a = jt.ones(2, 3)
    with raises(ValueError, "cat"):
        jt.cat([a, jt.ones(2, 4)])
    with raises(ValueError, "cat"):
        jt.cat([a, jt.ones(2)])
    with raises(ValueError, "cat"):
        jt.cat([])
    with raises(ValueError, "cat"):
        jt.cat([jt.tensor(1.0)])
    with raises(IndexError, "cat"):
        jt.cat([a, a], 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_stack(dtype):
    a, ta = pair((2, 3), dtype, "transposed", 1)
    b, tb = pair((2, 3), dtype, "stepped", 2)
    for d in (0, 1, 2, -1, -3):
        check(jt.stack([a, b, a], d), torch.stack([ta, tb, ta], d))
    s = make((), dtype)
    check(jt.stack([J(s), J(s)]), torch.stack([s, s]))
    check(jt.stack([J(make((0, 2), dtype))] * 2, 1), torch.stack([make((0, 2), dtype)] * 2, 1))


def test_stack_promotion_and_errors():
    ti, tf = make((3,), torch.int64), make((3,), torch.float32)
    check(jt.stack([J(ti), J(tf)], -1), torch.stack([ti, tf], -1))
    with raises(ValueError, "stack"):
        jt.stack([jt.ones(2, 3), jt.ones(3, 2)])
    with raises(IndexError, "stack"):
        jt.stack([jt.ones(2, 3)], 3)
    with raises(ValueError, "stack"):
        jt.stack([])


def test_hstack_vstack():
    for shapes in ([(), (2,)], [(3,), (2,)], [(2, 3), (2, 1)], [(2, 1, 2), (2, 3, 2)]):
        ts = [make(s, torch.float64, i) for i, s in enumerate(shapes)]
        check(jt.hstack([J(t) for t in ts]), torch.hstack(ts))
    for shapes in ([(), ()], [(3,), (3,)], [(3,), (2, 3)], [(1, 2, 2), (3, 2, 2)]):
        ts = [make(s, torch.int64, i) for i, s in enumerate(shapes)]
        check(jt.vstack([J(t) for t in ts]), torch.vstack(ts))
    with raises(ValueError, "vstack"):
        jt.vstack([jt.ones(2), jt.ones(3)])


# ---- flip / roll ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_flip(dtype, layout):
    a, ta = pair((3, 2, 4), dtype, layout)
    for dims in ((0,), (-1,), (0, 2), (1, -1, 0), ()):
        check(jt.flip(a, dims), torch.flip(ta, dims))
    check(a.flip(1), ta.flip(1))
    check(jt.fliplr(a), torch.fliplr(ta))
    check(jt.flipud(a), torch.flipud(ta))


def test_flip_edge_and_errors():
    check(jt.flip(J(make((0, 3))), (0, 1)), torch.flip(make((0, 3)), (0, 1)))
    check(jt.flip(J(make(())), ()), torch.flip(make(()), ()))
    with raises(IndexError, "flip"):
        jt.flip(jt.ones(2, 3), (2,))
    with raises(RuntimeError, "flip"):
        jt.flip(jt.ones(2, 3), (0, 0))
    with raises(ValueError, "fliplr"):
        jt.fliplr(jt.ones(3))
    with raises(ValueError, "flipud"):
        jt.flipud(jt.tensor(1.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_roll(dtype, layout):
    a, ta = pair((3, 4, 5), dtype, layout)
    for shifts, dims in ((1, 0), (-2, -1), ((1, 2), (0, 2)), ((7, -3, 1), (0, 1, 2)), ((1, 1), (1, 1)), (0, 1)):
        check(jt.roll(a, shifts, dims), torch.roll(ta, shifts, dims))
    for s in (1, -4, 61, 0):
        check(jt.roll(a, s), torch.roll(ta, s))   # flattened
    check(a.roll(2, -2), ta.roll(2, -2))


def test_roll_edge_and_errors():
    e = make((0, 3))
    check(jt.roll(J(e), 2, 1), torch.roll(e, 2, 1))
    check(jt.roll(J(e), 2), torch.roll(e, 2))
    s = make(())
    check(jt.roll(J(s), 3), torch.roll(s, 3))
    with raises(ValueError, "roll"):
        jt.roll(jt.ones(2, 3), (1, 2))
    with raises(ValueError, "roll"):
        jt.roll(jt.ones(2, 3), (1,), (0, 1))
    with raises(IndexError, "roll"):
        jt.roll(jt.ones(2, 3), 1, 2)


# ---- repeat / tile -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "stepped"])
def test_repeat_tile(dtype, layout):
    a, ta = pair((2, 3), dtype, layout)
    for reps in ((1, 1), (2, 3), (3, 1, 2), (2, 0), (1, 2, 1, 2)):
        check(a.repeat(*reps), ta.repeat(*reps))
        check(jt.repeat(a, reps), ta.repeat(reps))
    for dims in ((2,), (2, 2), (2, 1, 3), ()):
        check(jt.tile(a, dims), torch.tile(ta, dims))
        check(a.tile(dims), ta.tile(dims))
    s = make((), dtype)
    check(J(s).repeat(3, 2), s.repeat(3, 2))


def test_repeat_errors():
    with raises(ValueError, "repeat"):
        jt.ones(2, 3).repeat(2)
    with raises(ValueError, "repeat"):
        jt.ones(2, 3).repeat(-1, 1)
    with raises(ValueError, "tile"):
        jt.tile(jt.ones(2, 3), (-2,))


# ---- pad -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_pad_constant(dtype, layout):
    a, ta = pair((2, 3, 4), dtype, layout)
    for p in ((1, 2), (0, 1, 2, 0), (1, 1, 1, 1, 1, 1), (-1, 2), (2, -3, -1, 1), ()):
        check(jt.pad(a, p), F.pad(ta, p))
    if not dtype.is_complex:
        check(jt.pad(a, (1, 1, 2, 0), value=1.0), F.pad(ta, (1, 1, 2, 0), value=1.0))
    check(jt.pad(a, (1, 0), "constant", 0.0), F.pad(ta, (1, 0), "constant", 0.0))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_pad_modes(mode, dtype, layout):
    a, ta = pair((2, 3, 4), dtype, layout)
    cases = [(1, 2), (3, 0), (0, 2, 1, 1), (-1, 2), (2, -1, 1, -1)]
    if mode != "reflect":
        cases += [(4, 4)]
    if mode == "replicate":
        cases += [(6, 1, 0, 5)]
    for p in cases:
        check(jt.pad(a, p, mode=mode), F.pad(ta, p, mode=mode))
    b, tb = pair((2, 2, 3, 4), dtype, layout)
    check(jt.pad(b, (1, 2, 2, 1, 1, 0), mode=mode), F.pad(tb, (1, 2, 2, 1, 1, 0), mode=mode))


def test_pad_int_value_and_errors():
    t = torch.ones(2, 3, dtype=torch.int64)
    check(jt.pad(J(t), (1, 1), value=2.7), F.pad(t, (1, 1), value=2.7))
    tb = torch.ones(2, 3, dtype=torch.bool)
    check(jt.pad(J(tb), (1, 1)), F.pad(tb, (1, 1)))
    e = make((2, 0))
    check(jt.pad(J(e), (1, 2)), F.pad(e, (1, 2)))
    x = jt.ones(1, 2, 3)
    with raises(ValueError, "pad"):
        jt.pad(x, (1,))
    with raises(ValueError, "pad"):
        jt.pad(x, (1,) * 8)
    with raises(ValueError, "pad"):
        jt.pad(x, (-3, -1))
    with raises(ValueError, "pad"):
        jt.pad(x, (3, 3), mode="reflect")
    with raises(ValueError, "pad"):
        jt.pad(x, (4, 0), mode="circular")
    with raises(ValueError, "pad"):
        jt.pad(x, (1, 1), mode="foo")
    with raises(ValueError, "pad"):
        jt.pad(x, (1, 1), mode="reflect", value=2.0)
    with raises(ValueError, "pad"):
        jt.pad(jt.ones(1, 2, 0), (1, 1), mode="replicate")
    assert not hasattr(x, "pad")


# ---- tril / triu / diag / diag_embed ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_tril_triu(dtype, layout):
    for shape in ((4, 5), (2, 5, 3)):
        a, ta = pair(shape, dtype, layout)
        for k in (0, 1, -1, 3, -4, 7, -7):
            check(jt.tril(a, k), torch.tril(ta, k))
            check(a.triu(diagonal=k), ta.triu(diagonal=k))
    check(jt.tril(J(make((0, 3), dtype))), torch.tril(make((0, 3), dtype)))
    with raises(ValueError, "tril"):
        jt.tril(jt.ones(3))
    with raises(ValueError, "triu"):
        jt.triu(jt.tensor(1.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_diag(dtype):
    v = make((4,), dtype)
    m, tm = pair((3, 5), dtype, "transposed")
    for k in (0, 1, -2, 5, -6):
        check(jt.diag(J(v), k), torch.diag(v, k))
        check(jt.diag(m, k), torch.diag(tm, k))
        check(m.diag(diagonal=k), tm.diag(diagonal=k))
    check(jt.diag(J(make((0,), dtype))), torch.diag(make((0,), dtype)))
    with raises(ValueError, "diag"):
        jt.diag(jt.ones(2, 2, 2))


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32, torch.complex64])
def test_diag_embed(dtype):
    a, ta = pair((2, 3), dtype, "stepped")
    for off, d1, d2 in ((0, -2, -1), (1, 0, 2), (-1, 2, 0), (2, 1, 0), (0, 0, 1)):
        check(jt.diag_embed(a, off, d1, d2), torch.diag_embed(ta, off, d1, d2))
    v = make((3,), dtype)
    check(J(v).diag_embed(), v.diag_embed())
    with raises(ValueError, "diag_embed"):
        jt.diag_embed(a, 0, 1, 1)
    with raises(IndexError, "diag_embed"):
        jt.diag_embed(a, 0, 0, 3)


# ---- gather / scatter / index_select / take ---------------------------------------------------------
def _index(shape, n, seed=0, dtype=torch.int64):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, shape, generator=g).to(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_gather(dtype, layout):
    a, ta = pair((3, 4, 5), dtype, layout)
    for d in (0, 1, 2, -1, -3):
        shape = [2, 3, 4]
        shape[d] = 6
        idx = _index(tuple(shape), ta.shape[d], d)
        check(jt.gather(a, d, J(idx)), torch.gather(ta, d, idx))
        check(a.gather(d, J(idx).transpose(0, 1).contiguous().transpose(0, 1)), ta.gather(d, idx))
    idx32 = _index((3, 4, 5), 5, 9, torch.int32)
    check(jt.gather(a, -1, J(idx32)), torch.gather(ta, -1, idx32))
    check(jt.gather(a, 0, J(_index((0, 4, 5), 3))), torch.gather(ta, 0, _index((0, 4, 5), 3)))
    s, i0 = make((), dtype), torch.tensor(0)
    check(jt.gather(J(s), 0, J(i0)), torch.gather(s, 0, i0))


def test_gather_errors():
    x = jt.ones(2, 3)
    with raises(IndexError, "gather"):
        jt.gather(x, 1, jt.tensor([[3]]))
    with raises(IndexError, "gather"):
        jt.gather(x, 1, jt.tensor([[-1]]))
    with raises(ValueError, "gather"):
        jt.gather(x, 1, jt.tensor([0]))
    with raises(ValueError, "gather"):
        jt.gather(x, 0, jt.zeros(2, 4, dtype=jt.int64))
    with raises(TypeError, "gather"):
        jt.gather(x, 0, jt.zeros(1, 1))
    with raises(IndexError, "gather"):
        jt.gather(x, 2, jt.zeros(1, 1, dtype=jt.int64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_scatter(dtype, layout):
    a, ta = pair((4, 5), dtype, layout)
    src, tsrc = pair((3, 5), dtype, "stepped", 7)
    for d in (0, 1, -1):
        n = ta.shape[d]
        # a permutation per column/row, so that no position is written twice (torch's order is unspecified)
        perm = torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(i))[:2] for i in range(3)])
        if d == 0:
            idx = perm.T.contiguous()[:2]                  # shape (2, 3): unique along dim 0 per column
        else:
            idx = perm                                     # shape (3, 2): unique along dim 1 per row
        check(jt.scatter(a, d, J(idx), src), torch.scatter(ta, d, idx, tsrc))
        check(jt.scatter_add(a, d, J(idx), src), torch.scatter_add(ta, d, idx, tsrc))
    idx = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 1]])
    check(jt.scatter(a, 0, J(idx), value=True if dtype == torch.bool else 3),
          torch.scatter(ta, 0, idx, value=True if dtype == torch.bool else 3))
    check(a.scatter(0, J(idx), 2), ta.scatter(0, idx, 2))   # a Python int, also into bool tensors


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_and_accumulate():
    t = make((3, 4), torch.float64)
    idx = torch.tensor([[0, 0, 2, 1], [0, 1, 2, 2]])
    src = make((2, 4), torch.float64, 3)
    check(jt.scatter_add(J(t), 0, J(idx), J(src)), torch.scatter_add(t, 0, idx, src))
    for r in ("add", "multiply"):
        check(jt.scatter(J(t), 0, J(idx), J(src), reduce=r), torch.scatter(t, 0, idx, src, reduce=r))
        check(jt.scatter(J(t), 1, J(idx[:, :2]), value=1.5, reduce=r), torch.scatter(t, 1, idx[:, :2], value=1.5, reduce=r))
    ti = make((3, 4), torch.int64)
    check(jt.scatter(J(ti), 1, J(idx[:, :2]), 5.7), torch.scatter(ti, 1, idx[:, :2], 5.7))
    check(jt.scatter_add(J(ti), 1, J(idx[:, :0]), J(ti)), torch.scatter_add(ti, 1, idx[:, :0], ti))


def test_scatter_inplace():
    t = make((3, 4), torch.float32)
    j = J(t)
    view = j[:, ::2]
    tview = t[:, ::2]
    idx = torch.tensor([[2, 0], [1, 2]])
    src = make((2, 2), torch.float32, 5)
    r = view.scatter_(0, J(idx), J(src))
    tview.scatter_(0, idx, src)
    assert r is view
    check(j, t)
    r = j.scatter_add_(1, J(idx), J(src))
    t.scatter_add_(1, idx, src)
    assert r is j
    check(j, t)
    j.scatter_(1, J(idx), value=-1.0, reduce="multiply")
    t.scatter_(1, idx, value=-1.0, reduce="multiply")
    check(j, t)
    # a source that aliases the target is read before it is written
    u = make((2, 3), torch.int64)
    ju = J(u)
    perm = torch.tensor([[2, 0, 1], [1, 2, 0]])
    ju.scatter_(1, J(perm), ju)
    check(ju, torch.scatter(u, 1, perm, u))


def test_scatter_errors():
    x = jt.zeros(2, 3)
    i = jt.tensor([[0, 1]])
    with raises(IndexError, "scatter"):
        jt.scatter(x, 1, jt.tensor([[3]]), 1.0)
    with raises(IndexError, "scatter_add"):
        jt.scatter_add(x, 0, jt.tensor([[-1]]), jt.ones(1, 1))
    with raises(ValueError, "scatter"):
        jt.scatter(x, 0, i, jt.ones(1, 1))
    with raises(ValueError, "scatter"):
        jt.scatter(x, 0, jt.tensor([[1, 1, 1, 1]]), jt.ones(1, 4))
    with raises(ValueError, "scatter"):
        jt.scatter(x, 0, i, jt.ones(2), reduce="mean")
    with raises(ValueError, "scatter"):
        jt.scatter(x, 0, i)
    with raises(TypeError, "scatter_"):
        x.scatter_(0, jt.zeros(1, 1), 1.0)
    before = np.asarray(x).copy()
    with raises(IndexError, "scatter_"):
        x.scatter_(1, jt.tensor([[0, 5]]), 1.0)
    np.testing.assert_array_equal(np.asarray(x), before)  # indices are checked before anything is written


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_index_select(dtype, layout):
    a, ta = pair((3, 4, 6), dtype, layout)
    for d in (0, 1, 2, -1):
        idx = _index((5,), ta.shape[d], d)
        check(jt.index_select(a, d, J(idx)), torch.index_select(ta, d, idx))
        check(a.index_select(d, J(idx.to(torch.int32))), ta.index_select(d, idx.to(torch.int32)))
    e = torch.tensor([], dtype=torch.int64)
    check(jt.index_select(a, 1, J(e)), torch.index_select(ta, 1, e))
    check(jt.index_select(a, 0, jt.tensor(2)), torch.index_select(ta, 0, torch.tensor(2)))
    s = make((), dtype)
    check(jt.index_select(J(s), 0, jt.tensor([0])), torch.index_select(s, 0, torch.tensor([0])))
    with raises(IndexError, "index_select"):
        jt.index_select(a, 0, jt.tensor([3]))
    with raises(IndexError, "index_select"):
        jt.index_select(a, 0, jt.tensor([[0]]))
    with raises(TypeError, "index_select"):
        jt.index_select(a, 0, jt.tensor([0.0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_take_and_take_along_dim(dtype, layout):
    a, ta = pair((3, 4), dtype, layout)
    idx = _index((2, 5), 24, 1) - 12
    check(jt.take(a, J(idx)), torch.take(ta, idx))
    check(a.take(J(idx[0])), ta.take(idx[0]))
    pos = _index((7,), 12, 2)
    check(jt.take_along_dim(a, J(pos)), torch.take_along_dim(ta.contiguous(), pos))  # torch needs it contiguous
    for d in (0, 1, -1):
        shape = [1, 4] if d == 0 else [3, 1]
        shape[d] = 5
        idx = _index(tuple(shape), ta.shape[d], d + 3)
        check(jt.take_along_dim(a, J(idx), d), torch.take_along_dim(ta, idx, d))
        check(a.take_along_dim(J(idx), dim=d), ta.take_along_dim(idx, dim=d))
    # indices and input broadcast against each other outside dim
    for (xs, ishape, d) in (((3, 4), (2, 1), 0), ((1, 4), (3, 2), 1)):
        x, tx = pair(xs, dtype, layout)
        idx = _index(ishape, xs[d], 4)
        check(jt.take_along_dim(x, J(idx), d), torch.take_along_dim(tx, idx, d))
    with raises(IndexError, "take"):
        jt.take(a, jt.tensor([12]))
    with raises(ValueError, "take_along_dim"):
        jt.take_along_dim(a, jt.tensor([0, 1]), 1)


# ---- masks --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_masked_fill_select(dtype, layout):
    a, ta = pair((3, 4), dtype, layout)
    m, tm = pair((3, 4), torch.bool, layout, 5)
    v = True if dtype == torch.bool else (2 + 1j if dtype.is_complex else 7)
    check(jt.masked_fill(a, m, v), torch.masked_fill(ta, tm, v))
    check(a.masked_fill(m[0], v), ta.masked_fill(tm[0], v))       # broadcast mask
    check(jt.masked_select(a, m), torch.masked_select(ta, tm))
    check(a.masked_select(m[:, :1]), ta.masked_select(tm[:, :1]))
    b, tb = J(ta.contiguous()), ta.clone()
    r = b.masked_fill_(m, v)
    tb.masked_fill_(tm, v)
    assert r is b
    check(b, tb)


def test_masked_edge_and_errors():
    t = make((4,), torch.float64)
    tm = torch.tensor([[True, False, False, True], [False, False, True, True]])
    check(jt.masked_fill(J(t), J(tm), 0.5), torch.masked_fill(t, tm, 0.5))   # mask broadcasts input
    check(jt.masked_select(J(t), J(tm)), torch.masked_select(t, tm))
    ti = make((4,), torch.int64)
    check(jt.masked_fill(J(ti), J(tm[0]), 2.9), torch.masked_fill(ti, tm[0], 2.9))   # input dtype kept
    e = make((0, 3))
    check(jt.masked_select(J(e), J(e > 0)), torch.masked_select(e, e > 0))
    with raises(TypeError, "masked_select"):
        jt.masked_select(J(t), J(t))
    with raises(ValueError, "masked_select"):
        jt.masked_select(jt.ones(3), jt.ones(4, dtype=jt.bool))


# ---- unique / searchsorted / bincount ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.int64, torch.float32, torch.float64, torch.bool])
def test_unique(dtype):
    t = make((4, 6), dtype) if dtype != torch.int64 else torch.randint(0, 4, (4, 6), generator=torch.Generator().manual_seed(1))
    if dtype.is_floating_point:
        t = (t * 2).round()
    a = J(t).transpose(0, 1)
    ta = t.transpose(0, 1)
    check(jt.unique(a), torch.unique(ta))
    for inv in (False, True):
        for cnt in (False, True):
            r, tr = jt.unique(a, return_inverse=inv, return_counts=cnt), torch.unique(ta, return_inverse=inv, return_counts=cnt)
            if not (inv or cnt):
                check(r, tr)
                continue
            assert isinstance(r, tuple) and len(r) == len(tr)
            for x, y in zip(r, tr):
                check(x, y)
    check(a.unique(sorted=False), ta.unique(sorted=True))
    rows = torch.tensor([[1, 2, 0], [0, 5, 1], [1, 2, 0], [0, 5, 0]]).to(dtype)
    for d in (0, 1, -1):
        r = jt.unique(J(rows), dim=d, return_inverse=True, return_counts=True)
        tr = torch.unique(rows, dim=d, return_inverse=True, return_counts=True)
        for x, y in zip(r, tr):
            check(x, y)
    check(jt.unique(J(make((0,), dtype))), torch.unique(make((0,), dtype)))


def test_unique_errors():
    with raises(TypeError, "unique"):
        jt.unique(jt.tensor([1 + 1j]))
    with raises(IndexError, "unique"):
        jt.unique(jt.ones(2, 2), dim=2)


@pytest.mark.parametrize("dtype", REAL)
def test_searchsorted(dtype):
    seq = torch.tensor([-3, 0, 0, 2, 5, 5, 9]).to(dtype)
    vals = torch.tensor([[-4, 0, 1], [5, 9, 10]]).to(dtype)
    for right in (False, True):
        check(jt.searchsorted(J(seq), J(vals), right=right), torch.searchsorted(seq, vals, right=right))
        check(jt.searchsorted(J(seq), J(vals).T, right=right), torch.searchsorted(seq, vals.T, right=right))
    check(jt.searchsorted(J(seq), J(vals), side="right"), torch.searchsorted(seq, vals, side="right"))
    check(jt.searchsorted(J(seq), J(vals), out_int32=True), torch.searchsorted(seq, vals, out_int32=True))
    check(jt.searchsorted(J(seq[::2]), J(vals)), torch.searchsorted(seq[::2], vals))
    check(jt.searchsorted(J(seq), 2), torch.searchsorted(seq, torch.tensor(2).to(dtype)))
    seq2 = torch.sort(make((2, 3, 5), dtype), dim=-1).values
    v2 = make((2, 3, 4), dtype, 1)
    check(jt.searchsorted(J(seq2), J(v2)), torch.searchsorted(seq2, v2))
    check(jt.searchsorted(J(seq2), J(v2), right=True), torch.searchsorted(seq2, v2, right=True))
    with raises(ValueError, "searchsorted"):
        jt.searchsorted(J(seq2), J(v2[:1]))
    with raises(ValueError, "searchsorted"):
        jt.searchsorted(J(seq), J(vals), side="left", right=True)


def test_bincount():
    x = torch.tensor([0, 3, 1, 3, 3, 7])
    check(jt.bincount(J(x)), torch.bincount(x))
    check(jt.bincount(J(x), minlength=10), torch.bincount(x, minlength=10))
    check(jt.bincount(J(x.to(torch.uint8))), torch.bincount(x.to(torch.uint8)))
    for wd in (torch.float32, torch.float64, torch.int64):
        w = torch.arange(6).to(wd) / 2 if wd.is_floating_point else torch.arange(6)
        np.testing.assert_allclose(np.asarray(jt.bincount(J(x), J(w))), torch.bincount(x, w).numpy())
        assert np.asarray(jt.bincount(J(x), J(w))).dtype == torch.bincount(x, w).numpy().dtype
    check(jt.bincount(J(torch.tensor([], dtype=torch.int64))), torch.bincount(torch.tensor([], dtype=torch.int64)))
    with raises(ValueError, "bincount"):
        jt.bincount(jt.tensor([1, -1]))
    with raises(TypeError, "bincount"):
        jt.bincount(jt.tensor([1.0]))
    with raises(ValueError, "bincount"):
        jt.bincount(jt.tensor([1, 2]), jt.ones(3))


# ---- hypothesis: random shapes ------------------------------------------------------------------------------
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)
hdtypes = st.sampled_from([torch.int64, torch.float32])


@FAST
@given(shape=shapes, dtype=hdtypes, data=st.data())
def test_hyp_cat_stack(shape, dtype, data):
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = data.draw(st.integers(1, 3))
    ts = []
    for i in range(n):
        s = list(shape)
        s[d] = data.draw(st.integers(0, 3))
        ts.append(make(tuple(s), dtype, i))
    check(jt.cat([J(t) for t in ts], d), torch.cat(ts, d))
    sd = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(jt.stack([J(make(shape, dtype, i)) for i in range(n)], sd), torch.stack([make(shape, dtype, i) for i in range(n)], sd))


@FAST
@given(shape=shapes, dtype=hdtypes, data=st.data())
def test_hyp_flip_roll(shape, dtype, data):
    t = make(shape, dtype)
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape), unique_by=lambda d: d % len(shape)))
    check(jt.flip(J(t).transpose(0, -1), dims), torch.flip(t.transpose(0, -1), dims))
    shifts = [data.draw(st.integers(-9, 9)) for _ in dims]
    if dims:
        check(jt.roll(J(t), shifts, dims), torch.roll(t, shifts, dims))
    s = data.draw(st.integers(-30, 30))
    check(jt.roll(J(t), s), torch.roll(t, s))


@FAST
@given(shape=shapes, dtype=hdtypes, data=st.data())
def test_hyp_gather(shape, dtype, data):
    t = make(shape, dtype)
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    if t.shape[d] == 0:   # nothing to pick from: only an empty index is valid
        e = torch.zeros(tuple(0 if j == d % len(shape) else n for j, n in enumerate(shape)), dtype=torch.int64)
        check(jt.gather(J(t), d, J(e)), torch.gather(t, d, e))
        return
    ishape = [data.draw(st.integers(0, n)) for n in shape]
    ishape[d] = data.draw(st.integers(0, 5))
    idx = _index(tuple(ishape), t.shape[d], data.draw(st.integers(0, 99)))
    check(jt.gather(J(t), d, J(idx)), torch.gather(t, d, idx))


@FAST
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple), data=st.data())
def test_hyp_pad(shape, data):
    t = make(shape, torch.float64)
    k = data.draw(st.integers(1, 2))
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    p = []
    for j in range(k):
        n = shape[-1 - j]
        hi = {"reflect": n - 1, "circular": n}.get(mode, 4)
        lo = -(n // 2) if mode != "constant" else -n
        p += [data.draw(st.integers(lo, hi)), data.draw(st.integers(lo, hi))]
        # crop at most the whole dim (non-constant modes: keep at least one element)
        if min(p[-2], 0) + min(p[-1], 0) < (-n if mode == "constant" else 1 - n):
            p[-1] = 0
        if mode == "reflect":   # reflect also needs padding < the cropped size
            m = n + min(p[-2], 0) + min(p[-1], 0)
            p[-2], p[-1] = min(p[-2], m - 1), min(p[-1], m - 1)
        if mode == "circular":
            m = n + min(p[-2], 0) + min(p[-1], 0)
            p[-2], p[-1] = min(p[-2], m), min(p[-1], m)
    if mode != "constant" and not k + 1 <= len(shape) <= k + 2:   # torch's only supported ranks
        return
    check(jt.pad(J(t), tuple(p), mode=mode), F.pad(t, tuple(p), mode=mode))


@FAST
@given(shape=st.lists(st.integers(0, 5), min_size=2, max_size=3).map(tuple), dtype=hdtypes, k=st.integers(-6, 6))
def test_hyp_tril_triu(shape, dtype, k):
    t = make(shape, dtype)
    check(jt.tril(J(t), k), torch.tril(t, k))
    check(jt.triu(J(t).transpose(-1, -2), k), torch.triu(t.transpose(-1, -2), k))
