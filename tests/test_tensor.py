"""The Tensor type: metadata, conversion, dtype casts, copies, printing and views.

Oracles: torch for metadata (strides count elements in both), views and printing; NumPy for
casts (`astype`) and memory sharing. Every view test writes through the view and through the
base, to check that memory is shared both ways, as in PyTorch.
"""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import jtensor as jt

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float16", "float32", "float64", "complex64", "complex128"]


def pair(shape=(2, 3, 4), dtype="float32"):
    """The same contiguous data as a jtensor tensor and a torch tensor."""
    a = np.arange(math.prod(shape)).reshape(shape).astype(dtype)
    # (torch.tensor(a) would copy NumPy's strides of empty arrays, e.g. (0, 0, 0))
    return jt.tensor(a), torch.arange(math.prod(shape)).reshape(shape).to(getattr(torch, dtype))


def same_layout(t, r):
    assert t.shape == tuple(r.shape), (t.shape, tuple(r.shape))
    assert t.stride() == r.stride(), (t.stride(), r.stride())
    assert t.storage_offset() == r.storage_offset()
    assert t.dim() == r.dim() and t.numel() == r.numel()
    assert t.is_contiguous() == r.is_contiguous()
    np.testing.assert_array_equal(t.numpy(), r.numpy())


# ---- metadata ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3), (2, 0, 3), (1, 4, 1), (2, 3, 4, 5)])
def test_metadata_matches_torch(shape):
    t, r = pair(shape)
    same_layout(t, r)
    assert t.ndim == r.ndim and len(t.size()) == r.dim()
    for d in range(-t.ndim, t.ndim):
        assert t.size(d) == r.size(d) and t.stride(d) == r.stride(d)
    assert t.nbytes == r.nbytes and t.element_size() == r.element_size() == 4
    assert t.device == "cpu"
    assert not t.is_complex() and t.is_floating_point()


def test_is_contiguous_and_contiguous():
    t, r = pair((3, 4))
    for f in [lambda x: x.T, lambda x: x[:, ::2], lambda x: x[1:], lambda x: x[:, :1], lambda x: x[:1].T,
              lambda x: x.unsqueeze(1), lambda x: x[:, 1:3]]:
        v, w = f(t), f(r)
        assert v.is_contiguous() == w.is_contiguous()
        c = v.contiguous()
        assert c.is_contiguous() and c.stride() == w.contiguous().stride()
        np.testing.assert_array_equal(c.numpy(), w.numpy())
        if v.is_contiguous():
            assert c is v
        else:
            assert c.data_ptr() != v.data_ptr()


def test_item():
    assert jt.tensor(2.5).item() == 2.5 and isinstance(jt.tensor(2.5).item(), float)
    assert jt.tensor([[7]]).item() == 7 and isinstance(jt.tensor([[7]]).item(), int)
    assert jt.tensor(True).item() is True
    assert jt.tensor(1 + 2j).item() == 1 + 2j
    with pytest.raises((ValueError, RuntimeError)):
        jt.tensor([1, 2]).item()
    x = jt.tensor([1.5, 2.5])
    assert float(x[1]) == 2.5 and int(x[1]) == 2 and complex(x[0]) == 1.5


@pytest.mark.parametrize("data", [[[1, 2], [3, 4]], [1.5, -2.0], [True, False], 3, 2.5, [[]], [1j, 2]])
def test_tolist_matches_torch(data):
    assert jt.tensor(data).tolist() == torch.tensor(data).tolist()


def test_numpy_is_zero_copy_both_ways():
    t = jt.zeros(2, 3)
    a = t.numpy()
    assert a.ctypes.data == t.data_ptr() and a.dtype == np.float32 and a.shape == (2, 3)
    a[0, 1] = 5
    assert t[0, 1].item() == 5
    t.fill_(2)
    assert (a == 2).all()
    v = t.T.numpy()  # strided views map to strided arrays
    assert v.strides == (4, 12) and np.shares_memory(v, a)
    b = t[:, 1:].numpy()
    b[...] = -1
    assert t.tolist() == [[2, -1, -1], [2, -1, -1]]


def test_numpy_of_julia_made_result_is_zero_copy():
    s = jt.ones(3, 4).sum(0)  # storage made by Julia
    a = s.numpy()
    assert a.ctypes.data == s.data_ptr()
    a[0] = 100
    assert s[0].item() == 100


def test_array_protocol():
    t = jt.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.ctypes.data == t.data_ptr()
    c = np.array(t)  # np.array copies
    assert c.ctypes.data != t.data_ptr() and c.tolist() == [[1, 2], [3, 4]]
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.add(np.asarray(t), 1).tolist() == [[2, 3], [4, 5]]
    b = np.asarray(jt.tensor([1.5, 2.5], dtype=jt.bfloat16))
    assert b.dtype == np.float32 and b.tolist() == [1.5, 2.5]
    with pytest.raises(TypeError):
        jt.tensor([1.0]).bfloat16().numpy()


def test_len_iter_bool():
    t = jt.tensor([[1, 2, 3], [4, 5, 6]])
    assert len(t) == 2
    rows = list(t)
    assert len(rows) == 2 and rows[1].tolist() == [4, 5, 6]
    rows[0][0] = 9  # iteration yields views
    assert t[0, 0].item() == 9
    with pytest.raises(TypeError):
        len(jt.tensor(1))
    with pytest.raises(TypeError):
        iter(jt.tensor(1))
    assert bool(jt.tensor([3])) and not bool(jt.tensor(0.0)) and bool(jt.tensor([[True]]))
    for ambiguous in (jt.tensor([1, 2]), jt.tensor([])):
        with pytest.raises(RuntimeError, match="ambiguous"):
            bool(ambiguous)
    assert list(jt.tensor([])) == []


# ---- dtype casts -----------------------------------------------------------------------------------

SOURCES = {"b": [True, False, True], "i": [-3, 0, 5, 100, -128, 127, 1], "u": [0, 1, 200, 255],
           "f": [-2.7, -0.5, -0.0, 0.0, 0.5, 1.5, 2.5, 99.75, 3.9, 1e-3], "c": [1.5 + 2j, -2.5 - 1j, 0j, 3.75 + 0j]}


def cast_source(src, dst):
    kind_s, kind_d = np.dtype(src).kind, np.dtype(dst).kind
    a = np.array(SOURCES[kind_s]).astype(src)
    if kind_s in "fc" and kind_d == "u":
        a = a[a.real >= 0]  # negative float -> unsigned is undefined in NumPy (C casts)
    if kind_s in "fc" and kind_d in "iu":
        a = a[np.abs(a.real).astype(np.float64) < np.iinfo(dst).max]
    return a


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("src,dst", [pytest.param(s, d, id=f"{s}->{d}") for s in DTYPES for d in DTYPES])
def test_astype_matches_numpy(src, dst):
    a = cast_source(src, dst)
    t = jt.from_numpy(a)
    for conv in (t.to(getattr(jt, dst)), t.astype(getattr(jt, dst)), t.type(getattr(jt, dst))):
        assert conv.dtype is getattr(jt, dst)
        np.testing.assert_array_equal(conv.numpy(), a.astype(dst))


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("src,dst", [("float32", "int32"), ("int64", "float64"), ("complex128", "float32"),
                                     ("uint8", "int8"), ("float64", "bool")])
def test_astype_of_strided_views(src, dst):
    a = cast_source(src, dst)
    t = jt.from_numpy(np.repeat(a, 2)[::2])  # a non-contiguous source
    assert t.stride() == (2,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(t.to(getattr(jt, dst)).numpy(), a.astype(dst))
    m = jt.from_numpy(np.stack([a, a])).T  # a transposed source
    np.testing.assert_array_equal(m.to(getattr(jt, dst)).numpy(), np.stack([a, a]).T.astype(dst))


def test_float_to_int_special_values():
    # NumPy leaves NaN/inf -> int undefined; jtensor defines them (NaN -> 0, +-inf saturate): no crash
    t = jt.tensor([float("nan"), float("inf"), -float("inf"), 1e30, -1e30, 2.9]).to(jt.int32)
    assert t.dtype is jt.int32 and t.shape == (6,) and t[-1].item() == 2


def test_to_same_dtype_and_shorthands():
    t = jt.tensor([1.5, -2.5])
    assert t.to(jt.float32) is t and t.to("cpu") is t and t.cpu() is t
    assert t.to(jt.float32, copy=True).data_ptr() != t.data_ptr()
    assert t.to(jt.tensor([1])).dtype is jt.int64
    assert t.to("cpu", jt.float64).dtype is jt.float64
    assert t.to(device="cpu", dtype=jt.float16).dtype is jt.float16
    assert t.double().dtype is jt.float64 and t.half().dtype is jt.float16 and t.float().dtype is jt.float32
    assert t.int().tolist() == [1, -2] and t.long().dtype is jt.int64
    assert t.type() == "torch.FloatTensor" and t.type(jt.float64).dtype is jt.float64
    with pytest.raises(ValueError):
        t.to("cuda")


def test_bfloat16_matches_torch():
    vals = [1.0, -2.5, 3.14159, 1e10, 1e-3, 65504.0, 0.1]
    t = jt.tensor(vals).bfloat16()
    r = torch.tensor(vals).bfloat16()
    assert t.dtype is jt.bfloat16
    assert t.float().tolist() == r.float().tolist()
    assert t.double().tolist() == r.double().tolist()


# ---- copies ----------------------------------------------------------------------------------------

def test_clone_is_independent():
    t, r = pair((2, 3))
    for v in (t, t.T, t[:, ::2]):
        c = v.clone()
        assert c.data_ptr() != v.data_ptr() and c.is_contiguous() and c.dtype is v.dtype
        np.testing.assert_array_equal(c.numpy(), v.numpy())
        c.fill_(-7)
        assert (v.numpy() != -7).all()


def test_copy_broadcasts_and_converts():
    t = jt.zeros(2, 3, dtype=jt.int32)
    out = t.copy_(jt.tensor([1.7, -2.2, 3.9], dtype=jt.float64))
    assert out is t and t.dtype is jt.int32
    r = torch.zeros(2, 3, dtype=torch.int32).copy_(torch.tensor([1.7, -2.2, 3.9], dtype=torch.float64))
    assert t.tolist() == r.tolist()
    t.copy_(jt.tensor([[5], [6]]))
    assert t.tolist() == [[5, 5, 5], [6, 6, 6]]
    t.copy_(jt.tensor(8))
    assert t.tolist() == [[8] * 3] * 2
    t.T.copy_(jt.arange(6).reshape(3, 2))
    assert t.tolist() == [[0, 2, 4], [1, 3, 5]]
    with pytest.raises((RuntimeError, ValueError)):
        t.copy_(jt.ones(3, 2))
    f = jt.zeros(3)
    f.copy_(np.array([1.0, 2.0, 3.0]))
    assert f.tolist() == [1.0, 2.0, 3.0]


def test_copy_from_overlapping_memory():
    # torch refuses these (overlapping memory); NumPy reads the whole source first: so do we
    x = jt.arange(4.0).reshape(2, 2)
    x.copy_(x.T)
    assert x.tolist() == [[0, 2], [1, 3]]
    y = jt.arange(6)
    y[1:].copy_(y[:-1])
    assert y.tolist() == [0, 0, 1, 2, 3, 4]
    z = jt.arange(6)
    z[:-1].copy_(z[1:])
    assert z.tolist() == [1, 2, 3, 4, 5, 5]


def test_inplace_op_with_overlapping_input():
    x = jt.arange(4.0).reshape(2, 2)
    x += x.T
    assert x.tolist() == [[0, 3], [3, 6]]


def test_fill():
    t = jt.zeros(2, 3)
    assert t.fill_(2.5) is t and t.tolist() == [[2.5] * 3] * 2
    t[:, 1].fill_(-1)
    assert t.tolist() == [[2.5, -1, 2.5]] * 2
    i = jt.zeros(3, dtype=jt.int16).fill_(7)
    assert i.dtype is jt.int16 and i.tolist() == [7, 7, 7]
    c = jt.zeros(2, dtype=jt.complex64).fill_(1 + 2j)
    assert c.tolist() == [1 + 2j, 1 + 2j]
    assert jt.zeros(2).zero_().tolist() == [0, 0]
    e = jt.zeros(2, 2).expand(3, 2, 2)
    e[0].fill_(4)  # broadcast views share elements: all of them see it
    assert e.tolist() == [[[4, 4], [4, 4]]] * 3


# ---- printing --------------------------------------------------------------------------------------

REPR_CASES = [
    [1.0, 2.0], [[7.0, 10.0], [15.0, 22.0]], [1.5, -2.25, 3.0], [0.1, 0.2], [[-1.5, 2.0], [3.0, 4.0]],
    [1, -20, 3], [True, False], True, 3.5, 5, 1.0, [], [1e-5, 1.0], [1e10, 1.0], [0.001, 1.5], [1e8, 1.0],
    [float("nan"), 1.5, float("inf")], [-float("inf"), 2.0], [0.0, -0.0], [1 + 2j, 3 - 1j], [[1.5 + 2j], [-3.25 - 1j]],
    np.arange(20.0, dtype=np.float32), np.arange(30), np.arange(24.0, dtype=np.float32).reshape(2, 3, 4),
    np.arange(2000.0, dtype=np.float32), np.arange(3000).reshape(10, 300), np.zeros((0, 3), np.float32),
    np.zeros((2, 0)), np.zeros(0, np.int64), np.zeros(0, np.int32), np.array([1.0, 2.0]), np.array(1.0),
    np.array([[1, 2], [3, 4]], np.int32), np.array([[1, 2], [3, 4]], np.uint8), np.array([1, 2], np.float16),
    np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4), np.array([1.5, -2], np.complex128),
    np.full((3, 40), 0.12345, np.float32), np.array([[1e-300, 1.0]]), np.arange(-5, 5, dtype=np.int8),
]


@pytest.mark.parametrize("data", REPR_CASES, ids=lambda d: repr(d)[:40])
def test_repr_matches_torch(data):
    ref = torch.from_numpy(data) if isinstance(data, np.ndarray) else torch.tensor(data)
    expected = repr(ref).replace("torch.", "jtensor.")
    t = jt.tensor(data)
    assert repr(t) == expected
    assert str(t) == expected


def test_repr_of_views_and_random_values():
    x = np.random.default_rng(0).standard_normal((3, 12)).astype(np.float32)
    assert repr(jt.tensor(x)) == repr(torch.from_numpy(x))
    assert repr(jt.tensor(x).T[::2]) == repr(torch.from_numpy(x).T[::2])
    assert f"{jt.tensor(2.5):.2f}" == "2.50"
    for vals in ([1.0, -2.5, 3.14159], [1e10, 1.0]):
        expected = repr(torch.tensor(vals).bfloat16()).replace("torch.", "jtensor.")
        assert repr(jt.tensor(vals).bfloat16()) == expected


# ---- views -----------------------------------------------------------------------------------------

VIEWS = {
    "reshape": lambda x: x.reshape(6, 4), "reshape-1": lambda x: x.reshape(-1, 2, 3), "view": lambda x: x.view(4, 6),
    "view_of_slice": lambda x: x[:, 1:].view(2, 8), "view_as": lambda x: x.view_as(x[0].T.contiguous().expand(2, 4, 3)),
    "permute": lambda x: x.permute(2, 0, 1), "permute_neg": lambda x: x.permute(-1, -3, -2),
    "transpose": lambda x: x.transpose(0, 2), "swapaxes": lambda x: x.swapaxes(1, -1),
    "mT": lambda x: x.mT, "T2d": lambda x: x[0].T, "t": lambda x: x[1].t(),
    "squeeze": lambda x: x[:, :1].squeeze(), "squeeze_dim": lambda x: x[:, :1].squeeze(1),
    "squeeze_dims": lambda x: x[:1, :1].squeeze((0, 1)), "squeeze_noop": lambda x: x.squeeze(0),
    "unsqueeze0": lambda x: x.unsqueeze(0), "unsqueeze_mid": lambda x: x.unsqueeze(2), "unsqueeze_end": lambda x: x.unsqueeze(-1),
    "unsqueeze_strided": lambda x: x[:, 1].unsqueeze(1),
    "expand": lambda x: x[:, :1].expand(2, 3, 4), "expand_new": lambda x: x[0].expand(5, 3, 4),
    "expand_-1": lambda x: x[:1].expand(3, -1, -1), "expand_as": lambda x: x[0, 0].expand_as(x),
    "broadcast_to": lambda x: x[:, :1].broadcast_to((2, 2, 3, 4)),
    "narrow": lambda x: x.narrow(2, 1, 2), "narrow_neg": lambda x: x.narrow(-2, -2, 2),
    "flatten": lambda x: x.flatten(), "flatten_part": lambda x: x.flatten(1), "flatten_mid": lambda x: x.flatten(0, 1),
    "unflatten": lambda x: x.unflatten(2, (2, 2)), "unflatten_-1": lambda x: x.unflatten(-1, (-1, 2)),
    "ravel": lambda x: x.ravel(),
    "slice_step": lambda x: x[:, ::2, 1::3], "slice_neg": lambda x: x[-1:, -2:, :-1],
    "diagonal": lambda x: x.diagonal(), "diagonal_off": lambda x: x.diagonal(1, 1, 2),
    "diagonal_neg": lambda x: x.diagonal(-1, 1, 2), "diagonal_dims": lambda x: x.diagonal(0, 2, 0),
    "diagonal_far": lambda x: x.diagonal(5, 1, 2), "diagonal_far_neg": lambda x: x.diagonal(-3, 1, 2),
    "select": lambda x: x.select(1, 2), "select_neg": lambda x: x.select(-1, -1),
    "movedim": lambda x: x.movedim(0, -1), "movedim_multi": lambda x: x.movedim((0, 1), (2, 0)),
    "moveaxis": lambda x: x.moveaxis(2, 0),
    "unfold": lambda x: x.unfold(2, 2, 1), "unfold_step": lambda x: x.unfold(2, 2, 2), "unfold_dim0": lambda x: x.unfold(0, 1, 1),
    "as_strided": lambda x: x.as_strided((3, 3), (1, 2), 1), "as_strided_overlap": lambda x: x.as_strided((4, 3), (2, 1)),
    "getitem_int": lambda x: x[1], "getitem_none": lambda x: x[None, :, None, 1],
}


def _writable(r):
    """Whether writing distinct values through torch view r is well defined (no aliased elements)."""
    idx = {r.storage_offset() + sum(i * s for i, s in zip(ix, r.stride())) for ix in np.ndindex(*r.shape)}
    return len(idx) == r.numel()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", list(VIEWS))
def test_view_matches_torch_and_shares_memory(name):
    f = VIEWS[name]
    t, r = pair((2, 3, 4))
    v, w = f(t), f(r)
    same_layout(v, w)
    assert v.data_ptr() == t.data_ptr() + v.storage_offset() * 4  # a view: same storage
    # write through the base, read through the view
    t.add_(100)
    r.add_(100)
    np.testing.assert_array_equal(v.numpy(), w.numpy())
    # write through the view, read through the base
    if _writable(w) and v.numel():
        new = np.arange(v.numel(), dtype=np.float32).reshape(v.shape) * -1 - 1
        v.copy_(jt.tensor(new))
        w.copy_(torch.tensor(new))
        np.testing.assert_array_equal(t.numpy(), r.numpy())
    assert (t.numpy() == r.numpy()).all()


@pytest.mark.parametrize("fn", ["split", "chunk", "tensor_split", "unbind"])
@pytest.mark.parametrize("args", [(1,), (2,), (3,), (5,), ([1, 2],), ([0, 3],), (2, 2), (3, -1), (1, 0),
                                  ([-1],), ([3, 1],), ([-3, 6], 2), ([2],)])
def test_split_family_matches_torch(fn, args):
    t, r = pair((2, 3, 4))
    if fn == "unbind":
        args = args[1:]
        if args and not isinstance(args[0], int):
            return
    if fn in ("chunk",) and not isinstance(args[0], int):
        return
    if fn == "split" and isinstance(args[0], list) and sum(args[0]) != r.shape[args[1] if len(args) > 1 else 0]:
        with pytest.raises((ValueError, RuntimeError)):
            getattr(r, fn)(*args)
        with pytest.raises((ValueError, RuntimeError)):
            getattr(t, fn)(*args)
        return
    ours, ref = getattr(t, fn)(*args), getattr(r, fn)(*args)
    assert isinstance(ours, tuple) and len(ours) == len(ref)
    for v, w in zip(ours, ref):
        same_layout(v, w)
    if ours and ours[-1].numel():
        ours[-1].fill_(-5)
        ref[-1].fill_(-5)
        np.testing.assert_array_equal(t.numpy(), r.numpy())


def test_view_errors_and_reshape_copies():
    t, r = pair((2, 3, 4))
    for f in [lambda x: x.transpose(0, 1).view(-1), lambda x: x[:, ::2].view(16), lambda x: x.permute(2, 0, 1).view(8, 3)]:
        with pytest.raises(RuntimeError):
            f(r)
        with pytest.raises(RuntimeError, match="view"):
            f(t)
    for f in [lambda x: x.transpose(0, 1).reshape(-1), lambda x: x[:, ::2].reshape(16), lambda x: x.permute(2, 0, 1).reshape(8, 3)]:
        v, w = f(t), f(r)
        same_layout(v, w)
        v.fill_(-1)  # a copy: the base is untouched
        assert (t.numpy() >= 0).all()
    # viewable although not contiguous, as in torch
    v, w = t[:, :, 1:3].view(2, 3, 2, 1), r[:, :, 1:3].view(2, 3, 2, 1)
    same_layout(v, w)
    with pytest.raises(RuntimeError):
        t.view(5, -1)
    with pytest.raises(RuntimeError):
        t.reshape(-1, -1)
    with pytest.raises(TypeError):
        t.view(jt.int32)


def test_view_shape_spellings():
    t = jt.arange(12)
    assert t.view(3, 4).shape == t.view((3, 4)).shape == t.view([3, 4]).shape == t.reshape(3, -1).shape == (3, 4)
    assert t.reshape(()).shape == () if t.numel() == 1 else t.reshape(12).shape == (12,)
    assert jt.tensor(5).reshape(1, 1).shape == (1, 1) and jt.tensor([5]).reshape(()).shape == ()
    e = jt.zeros(0, 3)
    assert e.reshape(3, 0, 5).shape == (3, 0, 5) and e.view(-1).shape == (0,)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_view_edge_cases_match_torch():
    t, r = pair(())
    for f in [lambda x: x.unsqueeze(0), lambda x: x.flatten(), lambda x: x.reshape(1, 1), lambda x: x.expand(3),
              lambda x: x.T, lambda x: x.squeeze(), lambda x: x[None], lambda x: x[...]]:
        same_layout(f(t), f(r))
    t, r = pair((3, 1))
    for f in [lambda x: x.squeeze(-1), lambda x: x.expand(3, 5), lambda x: x.T.expand(2, 3), lambda x: x.transpose(0, 1)]:
        same_layout(f(t), f(r))
    t, r = pair((2, 0, 3))
    for f in [lambda x: x.permute(2, 1, 0), lambda x: x.flatten(), lambda x: x.reshape(0, 6), lambda x: x.unsqueeze(1)]:
        same_layout(f(t), f(r))


def test_view_argument_errors():
    t, r = pair((2, 3, 4))
    bad = [lambda x: x.permute(0, 1), lambda x: x.permute(0, 0, 1), lambda x: x.expand(2, 5, 4),
           lambda x: x.diagonal(0, 1, 1), lambda x: x.t(), lambda x: x[0, 0].mT, lambda x: x.narrow(0, 1, 5),
           lambda x: x.narrow(2, -1, 2), lambda x: x.unfold(2, 5, 1), lambda x: x.unfold(2, 2, 0),
           lambda x: x.as_strided((25,), (1,)), lambda x: x[1:].as_strided((3,), (1,), 22),
           lambda x: x.as_strided((2,), (1,), -1), lambda x: x.flatten(2, 1), lambda x: x.split(0),
           lambda x: x.chunk(0), lambda x: x.tensor_split(0), lambda x: x.unflatten(0, (3, -1))]
    for f in bad:
        with pytest.raises(RuntimeError):
            f(r)
        with pytest.raises(RuntimeError):
            f(t)
    for f in [lambda x: x.select(1, 3), lambda x: x.transpose(0, 3), lambda x: x.narrow(2, 5, 0),
              lambda x: x.unsqueeze(4), lambda x: x.squeeze(3), lambda x: x.movedim(3, 0)]:
        with pytest.raises(IndexError):
            f(r)
        with pytest.raises(IndexError):
            f(t)


def test_views_share_version_and_readonly():
    a = np.arange(6.0)
    a.flags.writeable = False
    t = jt.from_numpy(a)
    for v in (t.view(2, 3), t[1:], t.expand(2, 6), t.unsqueeze(0).T):
        assert v.is_readonly
        with pytest.raises(ValueError):
            v.fill_(1)


# ---- random chains of views (hypothesis) -----------------------------------------------------------

def _steps(draw, ndim_shape):
    """One random view step valid for `ndim_shape`, as (name, args)."""
    shape = ndim_shape
    nd = len(shape)
    choices = ["unsqueeze", "expand_new"]
    if nd >= 1:
        choices += ["slice", "select", "narrow", "flatten", "movedim", "unfold", "reshape_split", "squeeze", "chunk"]
    if nd >= 2:
        choices += ["permute", "transpose", "diagonal", "mT"]
    kind = draw(st.sampled_from(choices))
    d = draw(st.integers(0, max(nd - 1, 0)))
    n = shape[d] if nd else 1
    if kind == "unsqueeze":
        return kind, (draw(st.integers(-nd - 1, nd)),)
    if kind == "expand_new":
        return kind, (draw(st.integers(1, 3)),)
    if kind == "slice":
        start = draw(st.integers(-n - 1, n + 1))
        stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
        return kind, (d, start, stop, draw(st.integers(1, 3)))
    if kind == "select":
        if n == 0:
            return "unsqueeze", (0,)
        return kind, (d, draw(st.integers(-n, n - 1)))
    if kind == "narrow":
        start = draw(st.integers(0, n))
        return kind, (d, start, draw(st.integers(0, n - start)))
    if kind == "flatten":
        e = draw(st.integers(d, nd - 1))
        return kind, (d, e)
    if kind == "movedim":
        return kind, (d, draw(st.integers(0, nd - 1)))
    if kind == "unfold":
        size = draw(st.integers(0, n)) if n else 0
        return kind, (d, size, draw(st.integers(1, 3)))
    if kind == "reshape_split":
        divs = [k for k in range(1, n + 1) if n % k == 0] or [1]
        return kind, (d, draw(st.sampled_from(divs)))
    if kind == "squeeze":
        return kind, (d,)
    if kind == "chunk":
        return kind, (d, draw(st.integers(1, 4)), draw(st.integers(0, 3)))
    if kind == "permute":
        return kind, tuple(draw(st.permutations(range(nd))))
    if kind == "transpose":
        return kind, (d, draw(st.integers(-nd, nd - 1)))
    if kind == "diagonal":
        d2 = draw(st.integers(0, nd - 1).filter(lambda k: k != d))
        return kind, (draw(st.integers(-3, 3)), d, d2)
    return kind, ()


def _apply(x, kind, args, shape):
    if kind == "unsqueeze":
        return x.unsqueeze(*args)
    if kind == "expand_new":
        return x.expand(args[0], *shape)
    if kind == "slice":
        d, a, b, s = args
        return x[(slice(None),) * d + (slice(a, b, s),)]
    if kind == "select":
        return x.select(*args)
    if kind == "narrow":
        return x.narrow(*args)
    if kind == "flatten":
        return x.flatten(*args)
    if kind == "movedim":
        return x.movedim(*args)
    if kind == "unfold":
        return x.unfold(*args)
    if kind == "reshape_split":
        d, k = args
        return x.view(*shape[:d], k, shape[d] // k, *shape[d + 1:])
    if kind == "squeeze":
        return x.squeeze(*args)
    if kind == "chunk":
        d, k, i = args
        parts = x.chunk(k, d)
        return parts[i % len(parts)]
    if kind == "permute":
        return x.permute(*args)
    if kind == "transpose":
        return x.transpose(*args)
    if kind == "diagonal":
        return x.diagonal(*args)
    return x.mT


@st.composite
def view_chains(draw):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    steps = []
    cur = shape
    probe = torch.empty(shape)
    for _ in range(draw(st.integers(1, 6))):
        kind, args = _steps(draw, cur)
        try:
            probe = _apply(probe, kind, args, cur)
        except (RuntimeError, IndexError):
            continue
        if probe.numel() > 4096:
            break
        steps.append((kind, args))
        cur = tuple(probe.shape)
    return shape, steps


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view_chains())
def test_random_view_chains_match_torch(chain):
    shape, steps = chain
    t, r = pair(shape)
    v, w = t, r
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, args in steps:
            v, w = _apply(v, kind, args, v.shape), _apply(w, kind, args, tuple(w.shape))
            same_layout(v, w)
    if v.numel() and _writable(w):
        new = -np.arange(1, v.numel() + 1, dtype=np.float32).reshape(v.shape)
        v.copy_(jt.tensor(new))
        w.copy_(torch.tensor(new))
        np.testing.assert_array_equal(t.numpy(), r.numpy())
    t.mul_(3)
    r.mul_(3)
    np.testing.assert_array_equal(v.numpy(), w.numpy())


# ---- the C fast path (python/jtensor/_native/fastpath.c) -------------------------------------------

def test_fast_paths_agree_with_the_python_drivers():
    """Calls the C extension takes (elementwise plans, fn ops with simple signatures) give what the
    Python drivers give, raise the same errors, and step aside for what they do not handle."""
    from jtensor import drivers
    from jtensor.registry import REGISTRY
    if drivers._fast_call is None:
        pytest.skip("the C extension is not built")
    rng = np.random.default_rng(0)
    x, w, b = (jt.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((5, 4), (3, 4), (3,)))
    t = jt.tensor(np.array([0, 2, 1, 1, 0]))
    ops = REGISTRY.ops
    cases = [("_linear", (x, w, b)), ("_linear", (x, w, None)), ("matmul", (x, w.mT)),
             ("_cross_entropy", (x[:, :3], t, None, -100, 0.1, "mean"))]
    for name, args in cases:
        op = ops[name]
        assert op.fast_kinds is not None
        fast = drivers._fast_call(op.id, op.fast_kinds, args, False)
        assert type(fast) is jt.Tensor
        slow = drivers._run_fn(op, args)
        assert fast.shape == slow.shape and fast.dtype == slow.dtype
        np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    # a tensor that needs grad is left to the driver (which records), unless the caller records
    op = ops["_linear"]
    assert drivers._fast_call(op.id, op.fast_kinds, (x, w.requires_grad_(), b), False) is None
    assert type(drivers._fast_call(op.id, op.fast_kinds, (x, w, b), True)) is jt.Tensor   # record computes
    with pytest.raises(ValueError, match=r"_linear\(Tensor\(shape=\[5, 4\]"):
        jt.nn.functional.linear(x, jt.ones(3, 5))
    # dims, dim lists and dtypes are encoded by the C path too; what it cannot encode (a dim out of
    # range) goes to the driver, which raises; a tuple-returning op (unique) is the driver's
    op = ops["sum"]
    assert op.fast_kinds is not None
    np.testing.assert_array_equal(drivers._fast_call(op.id, op.fast_kinds, (x, [1], True, None), False).numpy(),
                                  drivers._run_fn(op, (x, [1], True, None)).numpy())
    with pytest.raises(IndexError, match="out of range"):
        x.sum(5)
    assert ops["unique"].fast_kinds is None
    # a Scalar parameter: bool, int and float go tagged as the driver tags them (scatter's value,
    # arange's bounds); a complex number or an int beyond int64 goes to the driver
    op = ops["scatter"]
    i2 = jt.tensor(np.array([[1, 0, 3, 2]] * 5))
    for v in (2, 2.5, True):
        args = (x, 1, i2, None, v, None)
        fast = drivers._fast_call(op.id, op.fast_kinds, args, False)
        assert type(fast) is jt.Tensor
        np.testing.assert_array_equal(fast.numpy(), drivers._run_fn(op, args).numpy())
    assert drivers._fast_call(op.id, op.fast_kinds, (x, 1, i2, None, 1j, None), False) is None
    assert drivers._fast_call(op.id, op.fast_kinds, (x, 1, i2, None, 2 ** 70, None), False) is None
    np.testing.assert_array_equal(jt.arange(1, 7, 2).numpy(), [1, 3, 5])
