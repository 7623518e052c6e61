"""Creation functions: `tensor`, `asarray`, `from_numpy`, filled tensors, ranges, `eye`, random.

The oracle is torch (dtype inference, values of deterministic constructors) and NumPy (memory
sharing). Random constructors are checked for reproducibility under `jt.manual_seed`, ranges and
dtypes, since their streams differ from torch's by design.
"""
import numpy as np
import pytest
import torch

import jtensor as jt


def jdt(torch_dtype):
    """The jtensor dtype named like a torch dtype."""
    return getattr(jt, str(torch_dtype).split(".")[1])


def check_like_torch(t, ref, exact=True):
    assert isinstance(t, jt.Tensor)
    assert t.dtype is jdt(ref.dtype), (t.dtype, ref.dtype)
    assert t.shape == tuple(ref.shape)
    if exact:
        np.testing.assert_array_equal(t.numpy(), ref.numpy())
    else:
        np.testing.assert_allclose(t.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)


# ---- tensor(): dtype inference --------------------------------------------------------------------

INFERENCE_CASES = [
    [1.0, 2.5], [1, 2, 3], [True, False], [1 + 2j, 3j], [1, 2.5], [True, 2], [True, 2.0], [1, 2j],
    2.5, 7, False, 1j, [], [[]], [[1, 2], [3, 4]], [[1.5], [2.0]], (1, 2), ((1.0,), (2.0,)),
    [-2**63, 2**63 - 1],
    np.float64(1.5), np.int32(3), np.bool_(True), np.complex128(1j), np.float16(0.5), np.uint8(200),
    [np.float64(1.0), 2.0], [1, np.int32(2)], [np.int32(1), np.int32(2)], [np.float16(1.0)],
    [[np.float64(1.0)], [2.0]], [True, np.int8(3)], [1, np.float64(2.0)], [np.float32(1.0), 1j],
    [np.array([1, 2], np.int16)], [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    np.array([1.0, 2.0]), np.array([1, 2], np.int32), np.array([[1, 2]], np.uint8), np.array(3.5, np.float16),
    np.array([True]), np.array([1 + 1j], np.complex64), np.zeros((2, 0, 3)),
]


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy")
@pytest.mark.parametrize("data", INFERENCE_CASES, ids=repr)
def test_tensor_infers_dtype_like_torch(data):
    check_like_torch(jt.tensor(data), torch.tensor(data))


def test_tensor_from_nested_tensors_keeps_their_dtype():
    parts = [jt.tensor(1.0, dtype=jt.float64), jt.tensor(2.0, dtype=jt.float64)]
    t = jt.tensor(parts)
    assert t.dtype is jt.float64 and t.tolist() == [1.0, 2.0]
    rows = jt.tensor([jt.tensor([1, 2], dtype=jt.int16), jt.tensor([3, 4], dtype=jt.int16)])
    assert rows.dtype is jt.int16 and rows.shape == (2, 2) and rows.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("data,dtype", [
    ([1, 2], torch.float64), ([1.7, -2.7, 0.5], torch.int32), ([1.7, -2.7], torch.int64), ([1, 2], torch.float16),
    ([1.5, 2.5], torch.complex128), ([3, 250], torch.uint8), ([1, -1], torch.int8), (2.5, torch.float64),
    (np.float32(2.0), torch.int32), (np.arange(6.0).reshape(2, 3), torch.float32), ([True, False], torch.int16),
    (np.arange(10.0)[::-2], torch.float32), (np.arange(12).reshape(3, 4).T, torch.int64),
])
def test_tensor_casts_to_requested_dtype(data, dtype):
    # torch.tensor refuses negative strides and NumPy scalars with an int dtype: give it a fresh array
    ref = torch.tensor(np.array(data) if isinstance(data, (np.ndarray, np.generic)) else data, dtype=dtype)
    check_like_torch(jt.tensor(data, dtype=jdt(dtype)), ref)


@pytest.mark.parametrize("spelling", ["float64", np.float64, float, int, bool, complex, jt.float64])
def test_tensor_dtype_spellings(spelling):
    expected = {"float64": jt.float64, np.float64: jt.float64, float: jt.float32, int: jt.int64,
                bool: jt.bool, complex: jt.complex64, jt.float64: jt.float64}[spelling]
    assert jt.tensor([0, 1], dtype=spelling).dtype is expected


def test_tensor_dtype_bool_from_numbers():
    assert jt.tensor([0, 2, -1], dtype=jt.bool).tolist() == [False, True, True]
    assert jt.tensor([0.0, 0.5, float("nan")], dtype=jt.bool).tolist() == [False, True, True]
    assert jt.tensor([0j, 1j], dtype=jt.bool).tolist() == [False, True]


def test_tensor_bfloat16():
    t = jt.tensor([1.0, 2.5, -3.0], dtype=jt.bfloat16)
    assert t.dtype is jt.bfloat16 and t.shape == (3,)
    assert t.float().tolist() == [1.0, 2.5, -3.0]
    assert jt.tensor([t]).dtype is jt.bfloat16


def test_tensor_copies_its_input():
    a = np.arange(4.0)
    t = jt.tensor(a)
    a[0] = 100
    assert t[0].item() == 0.0
    u = jt.tensor(t)
    u[1] = 50
    assert t[1].item() == 1.0
    assert u.data_ptr() != t.data_ptr()


def test_tensor_zero_dim_with_dtype_stays_zero_dim():
    assert jt.tensor(1.0, dtype=jt.float64).shape == ()
    assert jt.tensor(np.float32(2), dtype=jt.int32).shape == ()


def test_tensor_rejects_bad_data():
    with pytest.raises(OverflowError):
        jt.tensor([2**63])
    with pytest.raises(OverflowError):
        jt.tensor([[1], [2**64]])
    with pytest.raises(TypeError):
        jt.tensor("abc")
    with pytest.raises(ValueError):
        jt.tensor([[1, 2], [3]])
    with pytest.raises(ValueError):
        jt.tensor([1], device="cuda")


# ---- asarray ---------------------------------------------------------------------------------------

def test_asarray_is_zero_copy_for_numpy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = jt.asarray(a)
    assert t.data_ptr() == a.ctypes.data and t.dtype is jt.float32
    a[1, 2] = -1
    assert t[1, 2].item() == -1
    t[0, 0] = 42
    assert a[0, 0] == 42


def test_asarray_strided_numpy_is_a_view():
    a = np.arange(24.0).reshape(4, 6)
    v = a[::2, 1::2]
    t = jt.asarray(v)
    assert t.stride() == (12, 2) and t.shape == (2, 3)
    np.testing.assert_array_equal(t.numpy(), v)
    t.fill_(0)
    assert (a[::2, 1::2] == 0).all() and a[1, 1] == 7


def test_asarray_copy_semantics():
    a = np.arange(3.0)
    c = jt.asarray(a, copy=True)
    c[0] = 9
    assert a[0] == 0
    assert jt.asarray(a, copy=False).data_ptr() == a.ctypes.data
    with pytest.raises(ValueError):
        jt.asarray(a, dtype=jt.float32, copy=False)
    with pytest.raises(ValueError):
        jt.asarray([1, 2], copy=False)
    d = jt.asarray(a, dtype=jt.float32)
    assert d.dtype is jt.float32 and d.tolist() == [0.0, 1.0, 2.0]
    t = jt.tensor([1, 2])
    assert jt.asarray(t) is t
    assert jt.asarray(t, copy=True).data_ptr() != t.data_ptr()
    assert jt.asarray(t, dtype=jt.int64) is t


def test_tensor_and_asarray_from_torch():
    r = torch.tensor([[1, 2], [3, 4]], dtype=torch.int32)
    t = jt.tensor(r)
    assert t.dtype is jt.int32 and t.tolist() == [[1, 2], [3, 4]]
    t[0, 0] = 100
    assert r[0, 0].item() == 1  # tensor() copies
    assert jt.tensor(r, dtype=jt.float64).dtype is jt.float64
    v = jt.asarray(r.T)  # asarray() shares memory, strides included
    assert v.stride() == r.T.stride() and v.tolist() == r.T.tolist()
    v[0, 1] = -5
    assert r[1, 0].item() == -5


def test_asarray_copies_when_it_must():
    neg = np.arange(5.0)[::-1]
    t = jt.asarray(neg)
    assert t.tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    neg[0] = 100
    assert t[0].item() == 4.0
    swapped = np.arange(3, dtype=">i4")
    assert jt.asarray(swapped).tolist() == [0, 1, 2]
    assert jt.asarray([1.5, 2]).dtype is jt.float32
    assert jt.asarray(3).shape == ()


# ---- from_numpy ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dt", [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.float16,
                                np.float32, np.float64, np.complex64, np.complex128])
def test_from_numpy_shares_memory(dt):
    a = np.zeros((3, 4), dt)
    t = jt.from_numpy(a)
    assert t.dtype is jt.tensor(np.zeros(1, dt)).dtype
    assert t.data_ptr() == a.ctypes.data and t.stride() == (4, 1)
    t.fill_(1)
    assert (a == 1).all()
    a[2, 3] = 0
    assert t[2, 3].item() == 0
    assert np.shares_memory(t.numpy(), a)


def test_from_numpy_read_only_stays_read_only():
    a = np.arange(4.0)
    a.flags.writeable = False
    t = jt.from_numpy(a)
    assert t.is_readonly
    assert not t.numpy().flags.writeable
    with pytest.raises(ValueError):
        t.fill_(0)
    with pytest.raises(ValueError):
        t.add_(1)
    with pytest.raises(ValueError):
        t[0] = 5
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert (t + 1).tolist() == [1.0, 2.0, 3.0, 4.0]  # reading is fine
    assert not t[1:].numpy().flags.writeable


def test_from_numpy_rejects():
    with pytest.raises(ValueError):
        jt.from_numpy(np.arange(5.0)[::-1])
    with pytest.raises(TypeError):
        jt.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError):
        jt.from_numpy(np.array(["a"]))
    with pytest.raises(ValueError):
        jt.from_numpy(np.arange(3, dtype=">f8"))


def test_from_numpy_zero_dim_and_empty():
    a = np.array(2.5)
    t = jt.from_numpy(a)
    assert t.shape == () and t.item() == 2.5
    t.fill_(1)
    assert a == 1.0
    e = jt.from_numpy(np.zeros((0, 3), np.int32))
    assert e.shape == (0, 3) and e.dtype is jt.int32 and e.numel() == 0


# ---- filled tensors --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["zeros", "ones"])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 4)])
@pytest.mark.parametrize("dtype", [None, torch.float64, torch.int32, torch.bool, torch.complex64, torch.uint8])
def test_zeros_ones(name, shape, dtype):
    kw = {} if dtype is None else {"dtype": jdt(dtype)}
    check_like_torch(getattr(jt, name)(shape, **kw), getattr(torch, name)(shape, dtype=dtype))
    if len(shape) >= 1:  # varargs spelling
        check_like_torch(getattr(jt, name)(*shape, **kw), getattr(torch, name)(*shape, dtype=dtype))


@pytest.mark.parametrize("value", [1, 2.5, True, 1 + 2j, -3])
def test_full_infers_dtype_like_torch(value):
    check_like_torch(jt.full((2, 3), value), torch.full((2, 3), value))


@pytest.mark.parametrize("value,dtype", [(7, torch.float64), (2.9, torch.int32), (-1, torch.int8), (3.5, torch.float16)])
def test_full_with_dtype(value, dtype):
    check_like_torch(jt.full((4,), value, dtype=jdt(dtype)), torch.full((4,), value, dtype=dtype))


def test_empty():
    e = jt.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype is jt.float32 and e.is_contiguous()
    assert jt.empty((4,), dtype=jt.int16).dtype is jt.int16
    assert jt.empty(0).numel() == 0
    with pytest.raises(RuntimeError):
        jt.empty(-1, 2)


def test_like_forms():
    x = jt.tensor([[1, 2, 3]], dtype=jt.int32)
    for fn, ref in [(jt.zeros_like, 0), (jt.ones_like, 1)]:
        y = fn(x)
        assert y.shape == (1, 3) and y.dtype is jt.int32 and y.tolist() == [[ref] * 3]
        assert y.data_ptr() != x.data_ptr()
        assert fn(x, dtype=jt.float64).dtype is jt.float64
    f = jt.full_like(x, 5)
    assert f.dtype is jt.int32 and f.tolist() == [[5, 5, 5]]
    assert jt.full_like(x, 2.5, dtype=jt.float32).tolist() == [[2.5] * 3]
    e = jt.empty_like(x)
    assert e.shape == x.shape and e.dtype is x.dtype and e.data_ptr() != x.data_ptr()
    assert jt.empty_like(x, dtype=jt.bool).dtype is jt.bool


# ---- arange / linspace / eye -----------------------------------------------------------------------

@pytest.mark.parametrize("args", [(5,), (0,), (2, 9), (2, 9, 3), (9, 2, -2), (10, 0, -1), (5, 5),
                                  (0.0, 1.0, 0.1), (1.5,), (-1.0, 1.0, 0.25), (3, 0.5, -0.5), (0, 5, 1.5),
                                  (1, 2.5), (0.0, 1.0, 0.3), (-2**40, -2**40 + 3)])
def test_arange_like_torch(args):
    exact = all(isinstance(a, int) for a in args)
    check_like_torch(jt.arange(*args), torch.arange(*args), exact=exact)


@pytest.mark.parametrize("args", [(-3,), (5, 1), (1, 5, -1), (1.0, 0.0, 0.5)])
def test_arange_empty_range_is_empty(args):
    # torch raises here; jtensor follows NumPy and the Array API (an empty result)
    t = jt.arange(*args)
    assert t.shape == (0,) and t.dtype is (jt.int64 if all(isinstance(a, int) for a in args) else jt.float32)


def test_arange_zero_step():
    with pytest.raises(ValueError):
        jt.arange(0, 5, 0)


@pytest.mark.parametrize("dtype", [torch.float64, torch.int32, torch.int16, torch.float16])
def test_arange_dtype(dtype):
    check_like_torch(jt.arange(0, 12, 2, dtype=jdt(dtype)), torch.arange(0, 12, 2, dtype=dtype))


def test_arange_tensor_bounds():
    assert jt.arange(jt.tensor(4)).tolist() == [0, 1, 2, 3]




@pytest.mark.parametrize("args", [(0, 1, 5), (-2.5, 7.5, 11), (3, -1, 4), (0, 1, 0), (1, 100, 7), (0, 10, 1000),
                                  (2, 2, 3), (0, 1, 2),
                                  (0, 1, 1)])
def test_linspace_like_torch(args):
    t, r = jt.linspace(*args), torch.linspace(*args)
    assert t.dtype is jt.float32 and t.shape == tuple(r.shape)
    np.testing.assert_allclose(t.numpy(), r.numpy(), rtol=1e-6, atol=1e-5)
    if args[2] >= 2:
        assert t[0].item() == r[0].item() and t[-1].item() == r[-1].item()


def test_linspace_dtypes():
    t = jt.linspace(0, 1, 5, dtype=jt.float64)
    np.testing.assert_allclose(t.numpy(), np.linspace(0, 1, 5))
    assert t.dtype is jt.float64
    c = jt.linspace(0, 1 + 1j, 3)
    assert c.dtype is jt.complex64
    np.testing.assert_allclose(c.numpy(), torch.linspace(0, 1 + 1j, 3).numpy())


@pytest.mark.parametrize("args", [(3,), (1,), (0,), (2, 4), (4, 2), (3, 0)])
@pytest.mark.parametrize("dtype", [None, torch.int64, torch.bool, torch.float64])
def test_eye_like_torch(args, dtype):
    kw = {} if dtype is None else {"dtype": jdt(dtype)}
    check_like_torch(jt.eye(*args, **kw), torch.eye(*args, dtype=dtype))


# ---- random ----------------------------------------------------------------------------------------

def test_rand_same_seed_same_values():
    jt.manual_seed(1234)
    a, b, c = jt.rand(100), jt.randn(3, 4), jt.randint(0, 10, (50,))
    jt.manual_seed(1234)
    a2, b2, c2 = jt.rand(100), jt.randn(3, 4), jt.randint(0, 10, (50,))
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    np.testing.assert_array_equal(c.numpy(), c2.numpy())
    jt.manual_seed(4321)
    assert not np.array_equal(jt.rand(100).numpy(), a.numpy())
    assert not np.array_equal(jt.rand(100).numpy(), jt.rand(100).numpy())  # the stream advances




@pytest.mark.parametrize("dtype", [jt.float32, jt.float64,
                                   jt.float16])
def test_rand_range_and_dtype(dtype):
    jt.manual_seed(0)
    x = jt.rand(4000, dtype=dtype)
    assert x.dtype is dtype and x.shape == (4000,)
    v = x.numpy().astype(np.float64)
    assert v.min() >= 0 and v.max() < 1
    assert abs(v.mean() - 0.5) < 0.05 and len(np.unique(v)) > 100


@pytest.mark.parametrize("dtype", [jt.float32, jt.float64])
def test_randn_moments(dtype):
    jt.manual_seed(1)
    x = jt.randn(20000, dtype=dtype)
    assert x.dtype is dtype
    v = x.numpy()
    assert abs(v.mean()) < 0.05 and abs(v.std() - 1) < 0.05 and np.isfinite(v).all()


def test_random_shapes_and_defaults():
    assert jt.rand(2, 3).shape == (2, 3) and jt.rand((2, 3)).dtype is jt.float32
    assert jt.randn(()).shape == ()
    assert jt.rand(()).shape == () and jt.randint(0, 5, ()).shape == () and 0 <= jt.randint(5, ()).item() < 5
    assert jt.rand(0).numel() == 0
    x = jt.tensor([[1.0, 2.0]], dtype=jt.float64)
    assert jt.rand_like(x).shape == (1, 2) and jt.rand_like(x).dtype is jt.float64
    assert jt.randn_like(x, dtype=jt.float32).dtype is jt.float32


@pytest.mark.parametrize("args,lo,hi", [((10, (500,)), 0, 10), ((-5, 5, (500,)), -5, 5), ((3, 4, (20,)), 3, 4)])
def test_randint_range(args, lo, hi):
    jt.manual_seed(7)
    x = jt.randint(*args)
    assert x.dtype is jt.int64 and x.shape == args[-1]
    v = x.numpy()
    assert v.min() >= lo and v.max() < hi
    if hi - lo > 1:
        assert set(v.tolist()) == set(range(lo, hi))  # 500 draws cover every value


def test_randint_dtype_and_errors():
    assert jt.randint(0, 100, (10,), dtype=jt.int16).dtype is jt.int16
    f = jt.randint(0, 5, (100,), dtype=jt.float32)
    assert f.dtype is jt.float32 and (f.numpy() == np.floor(f.numpy())).all()
    with pytest.raises(TypeError):
        jt.randint(10)
