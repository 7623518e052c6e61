"""Indexing: `t[key]` and `t[key] = value` against NumPy (values, shapes) and torch.

Basic indices (ints, slices, None, `...`) must return views sharing memory; advanced indices
(integer lists/arrays/tensors, boolean masks) gather and scatter. jtensor follows PyTorch where
PyTorch and NumPy differ: an int next to advanced indices is a basic index (torch), not a 0-d
advanced index (NumPy), e.g. `x[1, :, [0, 4]]` has shape (4, 2) in torch and (2, 4) in NumPy.
The hypothesis tests take torch as the oracle for such keys and NumPy for all others.
"""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import jtensor as jt

SHAPE = (3, 4, 5)


def base():
    a = np.arange(60).reshape(SHAPE)
    return a, jt.tensor(a)


def np_key(key):
    """The same key with jtensor tensors as NumPy arrays."""
    conv = lambda k: np.asarray(k) if isinstance(k, jt.Tensor) else k
    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


def torch_key(key):
    def conv(k):
        if isinstance(k, jt.Tensor):
            k = np.asarray(k)
        if isinstance(k, np.ndarray):
            # torch indexes with int64 (or bool) only; uint8 would be a (deprecated) mask there
            return torch.from_numpy(k.astype(np.int64) if k.dtype.kind in "iu" else k.copy())
        return k
    return tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)


# ---- basic indexing: views ---------------------------------------------------------------------------

BASIC_KEYS = [0, -1, 2, (1, 2), (-1, -2, -3), (0, 0, 0), slice(None), slice(1, None), slice(None, None, 2),
              (slice(None), slice(1, 3)), (slice(None), slice(None, None, 3), slice(1, None, 2)), (Ellipsis, 1),
              (1, Ellipsis), (Ellipsis,), (None,), (None, 1), (slice(None), None, 2), (Ellipsis, None),
              (None, Ellipsis, None), (1, None, slice(None, None, 2), None), (slice(5, None),), (slice(-100, 100),),
              (slice(2, 1),), (np.int64(1), np.int32(-1)), (jt.tensor(2),), (slice(None), jt.tensor(-1)), ()]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_indexing_is_a_view(key):
    a, t = base()
    v = t[key]
    e = a[np_key(key)]
    assert v.shape == e.shape
    np.testing.assert_array_equal(np.asarray(v), e)
    r = torch.arange(60).reshape(SHAPE)[torch_key(key)]
    assert v.stride() == r.stride() and v.storage_offset() == r.storage_offset()
    if v.numel():
        v.fill_(-1)  # writes through the view land in the base
        a[np_key(key)] = -1
        np.testing.assert_array_equal(t.numpy(), a)
        t.add_(1000)  # and writes to the base are seen by the view
        np.testing.assert_array_equal(np.asarray(v), a[np_key(key)] + 1000)


def test_basic_index_errors():
    a, t = base()
    for key in [3, -4, (0, 4), (0, 0, 5), (0, 0, -6)]:
        with pytest.raises(IndexError):
            t[key]
        with pytest.raises(IndexError):
            t[key] = 0
    with pytest.raises(IndexError):
        t[0, 0, 0, 0]
    with pytest.raises(IndexError):
        t[..., ...]
    with pytest.raises(IndexError):
        t[1.5]
    with pytest.raises(IndexError):
        t["a"]
    with pytest.raises(ValueError):
        t[::0]  # a zero step (negative steps are NumPy's views, see test_array_api.py)
    with pytest.raises(IndexError):
        jt.tensor(5)[0]
    assert jt.tensor(5)[...].shape == () and jt.tensor(5)[None].shape == (1,)


# ---- advanced indexing -------------------------------------------------------------------------------

ADVANCED_KEYS = [
    [0, 2], [[0, 2]], [-1, 0, -1], [], np.array([2, 1]), (slice(None), [1, 3]), ([0, 1], slice(None), [2, 3]),
    ([[0], [2]], [1, 2]), ([0, -1], Ellipsis, [1, -1]), ([2, 0], 1, slice(None)), (slice(1, None), [0, 0, 1]),
    ([0, 1], [[0], [1]], slice(1, 3)), (None, [1], None, [2]), ([0, 1], None, [0, 1]), (slice(None), 1, [1, 2]),
    (Ellipsis, [4, 0]), (Ellipsis, [[4, 0], [1, 1]]), ([0, 1], slice(None), np.array([[2], [3]])),
    (np.array([True, False, True]),), (np.arange(60).reshape(SHAPE) % 7 == 0,), (slice(None), np.array([True, False, True, True])),
    (np.arange(60).reshape(SHAPE)[:, :, 0] > 20,), (slice(None), np.arange(20).reshape(4, 5) % 3 == 0),
    (np.array([True, False, True]), slice(None), [1, 4]), (np.zeros(3, bool),), (True,), (False,), (np.array(True),),
    (True, [0, 1]), (jt.tensor([0, 2]),), (slice(None), jt.tensor([[1, 2], [3, 0]])), (jt.tensor([True, False, True]),),
    (jt.tensor([1, 2], dtype=jt.int32),), (jt.tensor([1, 2], dtype=jt.uint8),), (jt.tensor([0, 1], dtype=jt.int16), 0),
    (1, slice(None), [0, 4]), (None, 1, slice(None), [0, 4]), (np.array(1), [0, 2]), (slice(None), np.array(-1)),
]


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=lambda k: repr(k)[:50])
def test_advanced_getitem(key):
    a, t = base()
    v = t[key]
    e = _reference(a, key)
    assert v.shape == e.shape
    np.testing.assert_array_equal(np.asarray(v), e)
    if v.numel():
        before = t.numpy().copy()
        v.fill_(-1)  # advanced indexing copies: the base is untouched
        np.testing.assert_array_equal(t.numpy(), before)


def test_int_next_to_advanced_index_follows_torch():
    a, t = base()
    assert t[1, :, [0, 4]].shape == (4, 2)   # torch; NumPy gives (2, 4)
    assert a[1, :, [0, 4]].shape == (2, 4)
    np.testing.assert_array_equal(np.asarray(t[1, :, [0, 4]]), a[1][:, [0, 4]])


def test_advanced_index_errors():
    a, t = base()
    for key in [[3], [-4], (slice(None), [0, 4]), (slice(None), slice(None), [5]), ([0, 1], [0, 1, 2]),
                (np.zeros(4, bool),), (slice(None), np.zeros(3, bool)), (np.zeros((3, 5), bool),)]:
        with pytest.raises(IndexError):
            t[key]
        with pytest.raises(IndexError):
            t[key] = 0
    with pytest.raises(IndexError):
        t[[0, 1], [[0, 1, 2]], [0]] = 1
    with pytest.raises(IndexError):
        t[jt.tensor([0.0, 1.0])]
    with pytest.raises(IndexError):
        t[[0.5]]


# ---- setitem -----------------------------------------------------------------------------------------

SET_CASES = [
    (0, 7), ((1, 2), -1), ((slice(None), slice(1, 3)), 9), ((Ellipsis, 0), jt.tensor([1, 2, 3, 4])),
    (slice(None), jt.tensor([[1], [2], [3], [4]])), ((0, slice(None, None, 2)), jt.arange(10).reshape(2, 5)),
    ((None, 1), jt.tensor([[100, 101, 102, 103, 104]])), ([0, 2], 5), (([0, 2], 1), jt.tensor([[10], [20]])),
    ((slice(None), [1, 3], 0), jt.tensor([1, 2])), (np.arange(60).reshape(SHAPE) % 2 == 0, -5),
    (np.arange(60).reshape(SHAPE) > 50, jt.arange(9)), ((slice(None), np.array([True, False, False, True])), 0),
    (([0, 1], slice(None), [2, 3]), jt.tensor([7, 8, 9, 10])), ((Ellipsis, [4]), jt.tensor(3)),
    ((1,), np.arange(20).reshape(4, 5) * 2), ((2, 3), [1, 2, 3, 4, 5]), ((0, 0), 2.9), ([[1]], -2),
    ((1, slice(None), [0, 4]), jt.tensor([[1, 2]] * 4)), ((jt.tensor([True, False, True]),), 1),
    ((slice(None), 0, 0), jt.tensor([1.5, 2.5, 3.5])),
]


@pytest.mark.parametrize("key,value", SET_CASES, ids=lambda x: repr(x)[:40])
def test_setitem_matches_numpy(key, value):
    a, t = base()
    if _has_int_and_advanced(key):
        r = torch.from_numpy(a)
        r[torch_key(key)] = torch.from_numpy(np.asarray(value).copy()) if not np.isscalar(value) else value
    else:
        a[np_key(key)] = np.asarray(value)
    ptr = t.data_ptr()
    t[key] = value
    assert t.data_ptr() == ptr and t.dtype is jt.int64
    np.testing.assert_array_equal(t.numpy(), a)


def test_setitem_converts_dtype_and_broadcasts():
    t = jt.zeros(2, 3)
    t[0] = jt.tensor([1, 2, 3])
    t[1] = 2.5
    t[:, 0] = jt.tensor([True, False])
    assert t.dtype is jt.float32 and t.tolist() == [[1, 2, 3], [0, 2.5, 2.5]]
    t[...] = jt.tensor([[[9.0]]])  # extra leading size-1 dims are dropped, as in torch
    assert t.tolist() == [[9.0] * 3] * 2
    i = jt.zeros(4, dtype=jt.int32)
    i[[1, 3]] = jt.tensor([1.9, -2.9], dtype=jt.float64)
    assert i.tolist() == [0, 1, 0, -2]
    with pytest.raises((RuntimeError, ValueError)):
        t[0] = jt.tensor([1.0, 2.0])
    with pytest.raises((RuntimeError, ValueError)):
        t[[0, 1]] = jt.ones(3, 3)


def test_setitem_with_overlapping_source():
    # NumPy semantics: the right-hand side is read before anything is written (torch raises)
    x = jt.arange(6)
    x[1:] = x[:-1]
    assert x.tolist() == [0, 0, 1, 2, 3, 4]
    y = jt.arange(4)
    y[[1, 2, 3]] = y[:3]
    assert y.tolist() == [0, 0, 1, 2]
    z = jt.arange(9).reshape(3, 3)
    z[...] = z.T
    assert z.tolist() == np.arange(9).reshape(3, 3).T.tolist()


def test_setitem_read_only():
    a = np.arange(4.0)
    a.flags.writeable = False
    t = jt.from_numpy(a)
    for key in (0, slice(None), [0, 1], np.array([True, False, True, False])):
        with pytest.raises(ValueError):
            t[key] = 1.0
    assert a.tolist() == [0, 1, 2, 3]


def test_index_with_bool_and_int_tensors_from_ops():
    x = jt.tensor([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]])
    assert x[x > 0].tolist() == [1.0, 3.0, 5.0]
    x[x < 0] = 0
    assert x.tolist() == [[1, 0, 3], [0, 5, 0]]
    idx = x.argmax(1)
    assert x[jt.arange(2), idx].tolist() == [3.0, 5.0]


# ---- random index expressions (hypothesis) -------------------------------------------------------

@st.composite
def index_case(draw, for_setitem=False):
    shape = tuple(draw(st.lists(st.integers(0 if not for_setitem else 1, 4), min_size=0, max_size=4)))
    parts = []
    dims_left = len(shape)
    d = 0
    used_ellipsis = False
    n_parts = draw(st.integers(0, len(shape) + 2))
    for _ in range(n_parts):
        kinds = ["none"]
        if dims_left:
            kinds += ["int", "slice", "slice", "array", "list", "tensor", "mask"]
        if not used_ellipsis:
            kinds.append("ellipsis")
        kind = draw(st.sampled_from(kinds))
        if kind == "none":
            parts.append(None)
            continue
        if kind == "ellipsis":
            used_ellipsis = True
            parts.append(Ellipsis)
            # the ellipsis eats a random number of dims; later parts index what is left
            eat = draw(st.integers(0, dims_left))
            d += eat
            dims_left -= eat
            continue
        n = shape[d]
        if kind == "int":
            if n == 0:
                continue
            parts.append(draw(st.integers(-n, n - 1)))
            d += 1; dims_left -= 1
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 2, n + 2)))
            step = draw(st.one_of(st.none(), st.integers(1, 3)))
            parts.append(slice(start, stop, step))
            d += 1; dims_left -= 1
        elif kind in ("array", "list", "tensor"):
            if n == 0:
                continue
            # (0-d index arrays are advanced in NumPy but ints in torch: only tensors may be 0-d here)
            ishape = tuple(draw(st.lists(st.integers(1, 3), min_size=0 if kind == "tensor" else 1, max_size=2)))
            vals = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(ishape)),
                                          max_size=int(np.prod(ishape))))).reshape(ishape).astype(np.int64)
            parts.append(vals if kind == "array" else vals.tolist() if kind == "list" and vals.ndim else
                         jt.tensor(vals) if kind == "tensor" else vals)
            d += 1; dims_left -= 1
        elif kind == "mask":
            k = draw(st.integers(1, min(2, dims_left)))
            mshape = shape[d:d + k]
            m = np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(mshape)), max_size=int(np.prod(mshape)))),
                         dtype=bool).reshape(mshape)
            parts.append(m if draw(st.booleans()) else jt.tensor(m))
            d += k; dims_left -= k
    key = tuple(parts) if len(parts) != 1 or draw(st.booleans()) else parts[0]
    return shape, key


def _is_int(k):
    """An int index: Python/NumPy ints and, as in torch, 0-d integer tensors."""
    if isinstance(k, jt.Tensor):
        return k.ndim == 0 and k.dtype.kind in "iu"
    return isinstance(k, (int, np.integer)) and not isinstance(k, bool)


def _has_int_and_advanced(key):
    parts = key if isinstance(key, tuple) else (key,)
    ints = any(_is_int(k) for k in parts)
    adv = any(isinstance(k, (list, np.ndarray, jt.Tensor)) and not _is_int(k) for k in parts)
    return ints and adv


def _reference(a, key):
    """NumPy's result, or torch's where jtensor follows torch (ints mixed with advanced indices)."""
    if _has_int_and_advanced(key):
        return torch.from_numpy(a.copy())[torch_key(key)].numpy()
    return a[np_key(key)]


def _torch_refuses(a, key):
    """Whether torch raises IndexError for a boolean mask that does not match the dims it indexes
    (NumPy does not check this when the array is empty)."""
    import torch
    parts = key if isinstance(key, tuple) else (key,)
    if a.size and not any(isinstance(k, jt.Tensor) and k.dtype == jt.bool and k.numel() == 0 for k in parts):
        return False
    conv = tuple(torch.from_numpy(np.asarray(k)) if isinstance(k, jt.Tensor) else
                 torch.from_numpy(np.asarray(k)) if isinstance(k, (list, np.ndarray)) and np.asarray(k).size else k
                 for k in parts)
    try:
        torch.from_numpy(a)[conv if isinstance(key, tuple) else conv[0]]
    except IndexError as e:
        return "shape of the mask" in str(e)
    except Exception:
        return False
    return False


def _is_basic(key):
    parts = key if isinstance(key, tuple) else (key,)
    return not any(isinstance(k, (list, np.ndarray, jt.Tensor, bool)) for k in parts)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_case())
def test_random_getitem_matches_numpy(case):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    t = jt.tensor(a)
    try:
        expected = _reference(a, key)
    except IndexError:  # e.g. index arrays that don't broadcast: we must refuse them too
        with pytest.raises(IndexError):
            t[key]
        return
    if _torch_refuses(a, key):   # NumPy lets a mask of the wrong length index an empty array; torch
        with pytest.raises(IndexError, match="shape of the mask"):   # refuses, and so do we
            t[key]
        return
    got = t[key]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.asarray(got), expected)
    if _is_basic(key) and got.numel():
        got.fill_(-7)  # a view: writes reach the base
        b = a.copy()
        b[np_key(key)] = -7
        np.testing.assert_array_equal(t.numpy(), b)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index_case(for_setitem=True), st.integers(0, 2))
def test_random_setitem_matches_numpy(case, value_kind):
    shape, key = case
    a = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    t = jt.tensor(a)
    try:
        sel_shape = _reference(a, key).shape
    except IndexError:
        with pytest.raises(IndexError):
            t[key] = 1
        assert (t.numpy() == a).all()
        return
    # positions selected more than once would make the stored value order-dependent: use a scalar
    positions = _reference(np.arange(a.size).reshape(shape), key).ravel()
    dup = len(set(positions.tolist())) != positions.size
    if value_kind == 0 or dup:
        value = -3
    elif value_kind == 1:
        value = -np.arange(1, int(np.prod(sel_shape)) + 1).reshape(sel_shape) * 10
    else:  # broadcast along the leading dims
        tail = sel_shape[1:] if sel_shape else ()
        value = -np.arange(1, int(np.prod(tail)) + 1).reshape(tail) * 10
    expected = a.copy()
    if _has_int_and_advanced(key):
        r = torch.from_numpy(expected)
        r[torch_key(key)] = torch.as_tensor(value)
    else:
        expected[np_key(key)] = value
    t[key] = value if np.isscalar(value) else jt.tensor(value)
    np.testing.assert_array_equal(t.numpy(), expected)
