"""DLPack exchange with NumPy and PyTorch, both ways: shared memory, lifetimes, flags and errors.

The fake producer below builds DLPack structs with its own ctypes layouts (not jtensor's), so it
also checks jtensor's struct offsets, and it counts its deleter calls.
"""
import ctypes
import gc
import subprocess
import sys
import os
import threading
import weakref

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

import jtensor as jt
from jtensor import dlpack as dp

NP_DTYPES = [jt.bool, jt.int8, jt.int16, jt.int32, jt.int64, jt.uint8, jt.float16, jt.float32, jt.float64,
             jt.complex64, jt.complex128]                     # NumPy has no bfloat16
ALL_DTYPES = NP_DTYPES[:7] + [jt.bfloat16] + NP_DTYPES[7:]    # PyTorch has them all
TORCH_DTYPE = {jt.bool: torch.bool, jt.int8: torch.int8, jt.int16: torch.int16, jt.int32: torch.int32,
               jt.int64: torch.int64, jt.uint8: torch.uint8, jt.float16: torch.float16,
               jt.bfloat16: torch.bfloat16, jt.float32: torch.float32, jt.float64: torch.float64,
               jt.complex64: torch.complex64, jt.complex128: torch.complex128}
LAYOUTS = ["contiguous", "transposed", "sliced", "expanded", "scalar", "empty"]


def jt_data(dtype, arr):
    """A jtensor of `dtype` holding NumPy array `arr`'s values."""
    if dtype is jt.bfloat16:
        return jt.tensor(arr.astype(np.float32)).to(jt.bfloat16)
    return jt.tensor(arr.astype(dtype.np_dtype))


def one(dtype):
    return True if dtype is jt.bool else 1


def make(dtype, layout):
    """A jtensor view of the given layout whose values are distinct where the dtype allows."""
    base = jt_data(dtype, np.arange(1, 25).reshape(4, 6))
    if layout == "contiguous":
        return base
    if layout == "transposed":
        return base.T
    if layout == "sliced":
        return base[::2, 1::3]
    if layout == "expanded":
        return jt_data(dtype, np.arange(1, 7)).reshape(1, 6).expand(4, 6)
    if layout == "scalar":
        return base[1, 2]
    if layout == "empty":
        return base[:0]
    raise AssertionError(layout)


def values(t):
    """The tensor's values as a new NumPy array (bfloat16 widened to float32)."""
    if t.dtype is jt.bfloat16:
        t = t.to(jt.float32)
    return np.array(np.asarray(t))


def torch_values(x):
    return (x.float() if x.dtype == torch.bfloat16 else x).numpy().copy()


def capsule_name(cap):
    get = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(("PyCapsule_GetName", ctypes.pythonapi))
    return get(cap).decode()


# ---- a DLPack producer written against the DLPack header, independently of jtensor ---------------

class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", DLPackVersion), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER),
                ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


_NEW_CAPSULE = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)(
    ("PyCapsule_New", ctypes.pythonapi))
_NAMES = {False: ctypes.c_char_p(b"dltensor"), True: ctypes.c_char_p(b"dltensor_versioned")}


def test_struct_sizes():
    assert (ctypes.sizeof(DLTensor), ctypes.sizeof(DLManagedTensor), ctypes.sizeof(DLManagedTensorVersioned)) == (48, 64, 80)


class FakeProducer:
    """Exports `arr`'s memory as DLPack with any field overridden; counts deleter calls."""

    def __init__(self, arr, *, dtype=None, device=(1, 0), claimed_device=None, byte_offset=0, null_strides=False,
                 versioned=True, flags=0, version=(1, 0), modern=True):
        self.arr = arr
        self.dtype = dtype
        self.device = device
        self.claimed_device = claimed_device or device
        self.byte_offset = byte_offset
        self.null_strides = null_strides
        self.versioned = versioned
        self.flags = flags
        self.version = version
        self.deleted = 0
        self.live = {}
        self._deleter = DELETER(self._delete)
        if not modern:   # a pre-1.0 producer: __dlpack__ takes only `stream`
            self.__dlpack__ = lambda stream=None: self._export(False)

    def _delete(self, addr):
        self.deleted += 1
        del self.live[addr]

    def __dlpack_device__(self):
        return self.claimed_device

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self._export(self.versioned and max_version is not None and max_version[0] >= 1)

    def _export(self, versioned):
        arr = self.arr
        nd = arr.ndim
        shape = (ctypes.c_int64 * max(nd, 1))(*arr.shape)
        strides = (ctypes.c_int64 * max(nd, 1))(*(s // arr.itemsize for s in arr.strides))
        m = DLManagedTensorVersioned() if versioned else DLManagedTensor()
        if versioned:
            m.version.major, m.version.minor = self.version
            m.flags = self.flags
        m.deleter = self._deleter
        d = m.dl_tensor
        d.data = arr.ctypes.data - self.byte_offset
        d.byte_offset = self.byte_offset
        d.device.device_type, d.device.device_id = self.device
        d.ndim = nd
        if self.dtype is None:
            code = {"b": 6, "i": 0, "u": 1, "f": 2, "c": 5}[arr.dtype.kind]
            d.dtype.code, d.dtype.bits, d.dtype.lanes = code, arr.itemsize * 8, 1
        else:
            d.dtype.code, d.dtype.bits, d.dtype.lanes = self.dtype
        d.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)) if nd else None
        d.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64)) if nd and not self.null_strides else None
        addr = ctypes.addressof(m)
        self.live[addr] = (m, shape, strides)
        return _NEW_CAPSULE(addr, _NAMES[versioned], None)


# ---- capsule kinds and fields ---------------------------------------------------------------------

def test_capsule_names_and_versions():
    t = jt.arange(6).reshape(2, 3)
    assert capsule_name(t.__dlpack__()) == "dltensor"
    assert capsule_name(jt.to_dlpack(t)) == "dltensor"
    assert capsule_name(t.__dlpack__(max_version=(0, 8))) == "dltensor"
    assert capsule_name(t.__dlpack__(max_version=(1, 0))) == "dltensor_versioned"
    assert capsule_name(t.__dlpack__(max_version=(1, 3))) == "dltensor_versioned"
    info = dp.capsule_info(t.__dlpack__(max_version=(1, 0)))
    assert info["version"] == (1, 0) and info["flags"] == 0
    assert info["device"] == (1, 0) and info["dtype"] == (0, 64, 1)
    assert info["shape"] == (2, 3) and info["strides"] == (3, 1) and info["byte_offset"] == 0
    assert info["data"] == t.data_ptr()
    assert t.__dlpack_device__() == (1, 0)


@pytest.mark.parametrize("dtype,code", [(jt.bool, (6, 8)), (jt.int8, (0, 8)), (jt.int16, (0, 16)),
                                        (jt.int32, (0, 32)), (jt.int64, (0, 64)), (jt.uint8, (1, 8)),
                                        (jt.float16, (2, 16)), (jt.bfloat16, (4, 16)), (jt.float32, (2, 32)),
                                        (jt.float64, (2, 64)), (jt.complex64, (5, 64)), (jt.complex128, (5, 128))])
def test_exported_dtype_codes(dtype, code):
    info = dp.capsule_info(jt_data(dtype, np.arange(2)).__dlpack__(max_version=(1, 0)))
    assert info["dtype"] == code + (1,)


def test_exported_strides_of_views():
    t = jt.arange(24).reshape(4, 6)
    for v, strides, offset in [(t.T, (1, 6), 0), (t[1::2, ::3], (12, 3), 6), (t[:1].expand(5, 6), (0, 1), 0),
                               (t[2, 3], None, 15)]:  # 0-d: NULL shape and strides
        info = dp.capsule_info(v.__dlpack__(max_version=(1, 0)))
        assert info["strides"] == strides and info["shape"] == v.shape
        assert info["data"] == t.data_ptr() + offset * 8


# ---- export: jtensor -> NumPy / PyTorch share memory ---------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: d.name)
def test_export_to_numpy_shares_memory(dtype, layout):
    v = make(dtype, layout)
    a = np.from_dlpack(v)
    assert a.dtype == dtype.np_dtype and a.shape == v.shape
    np.testing.assert_array_equal(a, values(v))
    if v.numel() == 0:
        return
    assert a.__array_interface__["data"][0] == v.data_ptr()
    assert a.strides == tuple(s * dtype.itemsize for s in v.stride())
    a[(-1,) * a.ndim] = 0                          # NumPy writes, jtensor reads
    assert values(v)[(-1,) * v.ndim] == 0
    v.fill_(one(dtype))                            # jtensor writes, NumPy reads
    assert np.all(a == 1)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_export_to_torch_shares_memory(dtype, layout):
    v = make(dtype, layout)
    x = torch.from_dlpack(v)
    assert x.dtype == TORCH_DTYPE[dtype] and tuple(x.shape) == v.shape
    np.testing.assert_array_equal(torch_values(x), values(v))
    if v.numel() == 0:
        return
    assert x.data_ptr() == v.data_ptr()
    assert x.stride() == v.stride()
    x[(-1,) * x.ndim] = 0                          # PyTorch writes, jtensor reads
    assert values(v)[(-1,) * v.ndim] == 0
    v.fill_(one(dtype))                            # jtensor writes, PyTorch reads
    assert bool((x == 1).all())


def test_legacy_capsule_to_old_torch_api():
    t = jt.arange(5.0)
    cap = jt.to_dlpack(t)
    x = torch.utils.dlpack.from_dlpack(cap)
    assert capsule_name(cap) == "used_dltensor"
    assert x.data_ptr() == t.data_ptr()
    x[0] = 42
    assert t[0].item() == 42


# ---- import: NumPy / PyTorch -> jtensor share memory ---------------------------------------------

def np_layout(arr, layout):
    if layout == "contiguous":
        return arr
    if layout == "transposed":
        return arr.T
    if layout == "sliced":
        return arr[::2, 1::3]
    if layout == "expanded":     # writeable stride-0 view (np.broadcast_to would be read-only)
        return np.lib.stride_tricks.as_strided(arr[:1], shape=(4, 6), strides=(0, arr.strides[1]))
    if layout == "scalar":
        return arr[1, 2, ...]
    if layout == "empty":
        return arr[:0]
    raise AssertionError(layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: d.name)
def test_import_from_numpy_shares_memory(dtype, layout):
    arr = np_layout(np.arange(1, 25).reshape(4, 6).astype(dtype.np_dtype), layout)
    t = jt.from_dlpack(arr)
    assert t.dtype is dtype and t.shape == arr.shape and not t.is_readonly
    np.testing.assert_array_equal(values(t), arr)
    if arr.size == 0:
        return
    assert t.data_ptr() == arr.__array_interface__["data"][0]
    assert tuple(s * dtype.itemsize for s in t.stride()) == arr.strides
    arr[(-1,) * arr.ndim] = 0
    assert values(t)[(-1,) * t.ndim] == 0
    t.fill_(one(dtype))
    assert np.all(arr == 1)


def torch_layout(x, layout):
    if layout == "contiguous":
        return x
    if layout == "transposed":
        return x.T
    if layout == "sliced":
        return x[::2, 1::3]
    if layout == "expanded":
        return x[:1].expand(4, 6)
    if layout == "scalar":
        return x[1, 2]
    if layout == "empty":
        return x[:0]
    raise AssertionError(layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: d.name)
def test_import_from_torch_shares_memory(dtype, layout):
    x = torch_layout(torch.arange(1, 25).reshape(4, 6).to(TORCH_DTYPE[dtype]), layout)
    t = jt.from_dlpack(x)
    assert t.dtype is dtype and t.shape == tuple(x.shape)
    np.testing.assert_array_equal(values(t), torch_values(x))
    if x.numel() == 0:
        return
    assert t.data_ptr() == x.data_ptr()
    assert t.stride() == x.stride()
    x[(-1,) * x.ndim] = 0
    assert values(t)[(-1,) * t.ndim] == 0
    t.fill_(one(dtype))
    assert bool((x == 1).all())


def test_import_raw_capsules_and_jtensor():
    a = np.arange(6.0).reshape(2, 3)
    for cap in (a.__dlpack__(), a.__dlpack__(max_version=(1, 0))):
        t = jt.from_dlpack(cap)
        assert t.data_ptr() == a.ctypes.data and t.shape == (2, 3)
    s = jt.arange(10)[::3]
    u = jt.from_dlpack(s)
    assert u.data_ptr() == s.data_ptr() and u.stride() == (3,)
    u[0] = 7
    assert s[0].item() == 7


def test_import_from_torch_bool_complex_bfloat16_values():
    x = torch.tensor([True, False, True])
    np.testing.assert_array_equal(values(jt.from_dlpack(x)), [True, False, True])
    z = torch.tensor([1 + 2j, -3j], dtype=torch.complex128)
    np.testing.assert_array_equal(values(jt.from_dlpack(z)), [1 + 2j, -3j])
    b = torch.tensor([1.5, -2.25, 1e30], dtype=torch.bfloat16)
    np.testing.assert_array_equal(values(jt.from_dlpack(b)), b.float().numpy())


def test_import_byte_offset_and_null_strides():
    arr = np.arange(20.0)
    for versioned in (True, False):
        p = FakeProducer(arr[5:11].reshape(2, 3), byte_offset=40, null_strides=True, versioned=versioned)
        t = jt.from_dlpack(p)
        assert t.data_ptr() == arr.ctypes.data + 40 and t.stride() == (3, 1)
        np.testing.assert_array_equal(values(t), arr[5:11].reshape(2, 3))
        t[0, 0] = -1
        assert arr[5] == -1
        del t
        gc.collect()
        assert p.deleted == 1 and not p.live


def test_import_pre_dlpack_1_producer():
    arr = np.arange(4, dtype=np.int32)
    p = FakeProducer(arr, modern=False)
    t = jt.from_dlpack(p)
    assert t.data_ptr() == arr.ctypes.data and values(t).tolist() == [0, 1, 2, 3]
    del t
    gc.collect()
    assert p.deleted == 1


def test_asarray_uses_dlpack_for_torch():
    x = torch.arange(4.0)
    t = jt.asarray(x)
    assert t.data_ptr() == x.data_ptr()


def test_from_dlpack_copy_and_device():
    a = np.arange(3.0)
    c = jt.from_dlpack(a, copy=True)
    assert c.data_ptr() != a.ctypes.data
    c[0] = 9
    assert a[0] == 0
    assert jt.from_dlpack(a, device="cpu").data_ptr() == a.ctypes.data
    with pytest.raises(BufferError, match="device"):
        jt.from_dlpack(a, device="cuda")


# ---- read-only data ---------------------------------------------------------------------------

def test_read_only_import_and_export():
    a = np.arange(5.0)
    a.flags.writeable = False
    t = jt.from_dlpack(a)
    assert t.is_readonly and t.data_ptr() == a.ctypes.data
    with pytest.raises(ValueError, match="read-only"):
        t.add_(1)
    with pytest.raises(ValueError, match="read-only"):
        t[0] = 1
    assert a.tolist() == [0, 1, 2, 3, 4]
    assert jt.from_dlpack(FakeProducer(np.arange(3.0), flags=1)).is_readonly
    # Re-export: versioned capsules say read-only, legacy ones cannot.
    assert dp.capsule_info(t.__dlpack__(max_version=(1, 0)))["flags"] == dp.FLAG_READ_ONLY
    n = np.from_dlpack(t)
    assert not n.flags.writeable and n.ctypes.data == a.ctypes.data
    assert jt.from_dlpack(t).is_readonly
    with pytest.raises(BufferError, match="read-only"):
        t.__dlpack__()
    with pytest.raises(BufferError, match="read-only"):
        jt.to_dlpack(t)
    c = t.__dlpack__(copy=True)                   # a copy is writable: legacy is fine
    assert not jt.from_dlpack(c).is_readonly


# ---- export options -----------------------------------------------------------------------------

def test_export_copy_flag():
    t = jt.arange(4.0)
    info = dp.capsule_info(t.__dlpack__(max_version=(1, 0), copy=True))
    assert info["flags"] == dp.FLAG_IS_COPIED and info["data"] != t.data_ptr()
    c = jt.from_dlpack(t.__dlpack__(max_version=(1, 0), copy=True))
    c[0] = 100
    assert t[0].item() == 0 and c[0].item() == 100
    assert dp.capsule_info(t.__dlpack__(max_version=(1, 0), copy=False))["data"] == t.data_ptr()
    n = np.from_dlpack(t, copy=True)
    assert n.ctypes.data != t.data_ptr() and n.tolist() == [0, 1, 2, 3]
    assert np.from_dlpack(t, copy=False).ctypes.data == t.data_ptr()


def test_export_device_and_stream():
    t = jt.arange(3)
    assert dp.capsule_info(t.__dlpack__(dl_device=(1, 0)))["device"] == (1, 0)
    with pytest.raises(BufferError, match="device"):
        t.__dlpack__(dl_device=(2, 0))
    with pytest.raises(BufferError, match="device"):
        t.__dlpack__(dl_device=(1, 1))
    for stream in (0, 1, -1):
        with pytest.raises(BufferError, match="stream"):
            t.__dlpack__(stream=stream)
    assert np.from_dlpack(t, device="cpu").ctypes.data == t.data_ptr()
    with pytest.raises(TypeError, match="Tensor"):
        jt.to_dlpack(np.arange(3))


# ---- lifetimes and deleters ---------------------------------------------------------------------

def test_exported_memory_outlives_the_tensor():
    t = jt.arange(1000) * 3
    ref = weakref.ref(t)
    a = np.from_dlpack(t)
    x = torch.from_dlpack(t)
    del t
    gc.collect()
    assert ref() is not None                      # the exporters hold it
    junk = [jt.ones(1000) for _ in range(20)]     # churn allocations, then read
    np.testing.assert_array_equal(a, np.arange(1000) * 3)
    assert x[999].item() == 2997
    del junk, a
    gc.collect()
    assert ref() is not None                      # PyTorch still holds it
    assert int(x.sum()) == 3 * 999 * 1000 // 2
    del x
    gc.collect()
    assert ref() is None                          # both deleters ran: the tensor is gone


@pytest.mark.parametrize("consumer", ["numpy", "torch", "torch-legacy", "jtensor"])
def test_export_deleter_drops_exactly_one_reference(consumer):
    t = jt.arange(10)
    before = sys.getrefcount(t)
    if consumer == "numpy":
        y = np.from_dlpack(t)
    elif consumer == "torch":
        y = torch.from_dlpack(t)
    elif consumer == "torch-legacy":
        cap = jt.to_dlpack(t)
        y = torch.utils.dlpack.from_dlpack(cap)
        assert capsule_name(cap) == "used_dltensor"
        del cap                                   # a consumed capsule frees nothing
        gc.collect()
    else:
        y = jt.from_dlpack(t)
    assert sys.getrefcount(t) == before + 1
    del y
    gc.collect()
    assert sys.getrefcount(t) == before           # dropped once, not twice


def test_unconsumed_capsule_frees_itself():
    t = jt.arange(10)
    ref = weakref.ref(t)
    before = sys.getrefcount(t)
    caps = [t.__dlpack__(), t.__dlpack__(max_version=(1, 0))]
    assert sys.getrefcount(t) == before + 2
    assert [capsule_name(c) for c in caps] == ["dltensor", "dltensor_versioned"]
    del caps
    assert sys.getrefcount(t) == before
    del t
    gc.collect()
    assert ref() is None


def test_python_fallback_deleters_run_exactly_once(monkeypatch):
    """The CFUNCTYPE deleter/destructor used when NumPy's C ones are unavailable."""
    calls = []
    real = dp._py_deleter
    monkeypatch.setattr(dp, "_funcs", dp._PY_FUNCS)
    monkeypatch.setattr(dp, "_py_deleter", lambda p, v: (calls.append(v), real(p, v)))
    t = jt.arange(6.0)
    before = sys.getrefcount(t)
    a = np.from_dlpack(t)
    x = torch.from_dlpack(t)
    u = jt.from_dlpack(t)
    cap = t.__dlpack__()                          # unconsumed
    consumed = t.__dlpack__()
    y = torch.utils.dlpack.from_dlpack(consumed)
    assert sys.getrefcount(t) == before + 5
    a[0] = 5
    assert x[0].item() == 5 and u[0].item() == 5 and y[0].item() == 5
    del a, x, u, cap, consumed, y
    gc.collect()
    assert sys.getrefcount(t) == before
    assert sorted(calls) == [False, False, True, True, True]


def test_import_deleter_runs_once_when_storage_dies():
    arr = np.arange(12.0).reshape(3, 4)
    p = FakeProducer(arr)
    t = jt.from_dlpack(p)
    v = t[1:, ::2]                                # views share the storage
    del t
    gc.collect()
    assert p.deleted == 0
    assert values(v).tolist() == [[4, 6], [8, 10]]
    del v
    gc.collect()
    assert p.deleted == 1 and not p.live
    e = FakeProducer(np.zeros((0, 3)))
    z = jt.from_dlpack(e)                         # nothing to view: released at once
    assert z.shape == (0, 3) and e.deleted == 1


def test_imported_memory_outlives_the_producer():
    x = torch.arange(100.0) * 2
    t = jt.from_dlpack(x)
    a = np.arange(50) + 1
    u = jt.from_dlpack(a)
    del x, a
    gc.collect()
    junk = [torch.ones(100) for _ in range(50)] + [np.ones(50) for _ in range(50)]
    assert values(t).tolist() == [2.0 * i for i in range(100)]
    assert values(u).tolist() == list(range(1, 51))
    assert (t + 1)[99].item() == 199.0            # a Julia op reads the imported memory
    del junk


def test_deleters_on_another_thread():
    """Consumers may release on any thread; that must not enter Julia (it would crash)."""
    t = jt.arange(8)
    before = sys.getrefcount(t)
    holders = [np.from_dlpack(t), torch.from_dlpack(t), jt.from_dlpack(t),
               jt.from_dlpack(torch.arange(5)), jt.from_dlpack(FakeProducer(np.arange(3.0)))]
    assert sys.getrefcount(t) == before + 3

    def drop():
        holders.clear()
        gc.collect()

    th = threading.Thread(target=drop)
    th.start()
    th.join()
    assert sys.getrefcount(t) == before
    assert (jt.arange(3) + 1).tolist() == [1, 2, 3]   # Julia is still fine


def test_release_with_an_exception_in_flight():
    """Consumers drop temporaries while an exception propagates; that must neither crash nor
    lose the exception (a Python-level ctypes deleter would do both). Run in a fresh process."""
    code = """
import sys, jtensor as jt, numpy as np, torch
def g(a, b): pass
assert jt.dlpack.uses_native_deleters()
for _ in range(3):
    try:
        np.from_dlpack(jt.arange(3)) + "x"
    except TypeError:
        pass
    try:
        torch.from_dlpack(jt.arange(3)) + "x"
    except TypeError:
        pass
    try:
        g(jt.arange(3).__dlpack__(max_version=(1, 0)), 1 / 0)
    except ZeroDivisionError:
        pass
print("survived")
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(os.path.dirname(__file__), "..", "python"),
                                         env.get("PYTHONPATH", "")])
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "survived" in r.stdout, r.stderr[-2000:]


# ---- errors -----------------------------------------------------------------------------------

def test_capsule_used_twice():
    cap = np.arange(3).__dlpack__()
    jt.from_dlpack(cap)
    assert capsule_name(cap) == "used_dltensor"
    with pytest.raises(ValueError, match="already consumed"):
        jt.from_dlpack(cap)
    tcap = jt.arange(3).__dlpack__(max_version=(1, 0))
    torch.from_dlpack(tcap)
    with pytest.raises(ValueError, match="already consumed"):
        jt.from_dlpack(tcap)


def test_wrong_device():
    with pytest.raises(BufferError, match="device"):
        jt.from_dlpack(FakeProducer(np.arange(3.0), claimed_device=(2, 0)))
    p = FakeProducer(np.arange(3.0), device=(2, 0), claimed_device=(1, 0))   # struct says CUDA
    cap = p.__dlpack__(max_version=(1, 0))
    with pytest.raises(BufferError, match="CUDA"):
        jt.from_dlpack(cap)
    assert capsule_name(cap) == "dltensor_versioned" and p.deleted == 0   # refused: not consumed


@pytest.mark.parametrize("dlpack_dtype,match", [((1, 16, 1), "uint16"), ((2, 32, 4), "lanes"),
                                                ((2, 8, 1), "float8"), ((9, 32, 1), "code 9")])
def test_unsupported_dtype(dlpack_dtype, match):
    p = FakeProducer(np.arange(4, dtype=np.float32), dtype=dlpack_dtype)
    cap = p.__dlpack__(max_version=(1, 0))
    with pytest.raises(BufferError, match=match):
        jt.from_dlpack(cap)
    assert capsule_name(cap) == "dltensor_versioned" and p.deleted == 0


def test_unsupported_dtypes_from_libraries():
    with pytest.raises(BufferError, match="uint16"):
        jt.from_dlpack(np.arange(3, dtype=np.uint16))
    with pytest.raises(BufferError, match="uint32"):
        jt.from_dlpack(torch.tensor([1, 2], dtype=torch.uint32))


def test_negative_strides():
    with pytest.raises(BufferError, match="negative strides"):
        jt.from_dlpack(np.arange(5.0)[::-1])
    p = FakeProducer(np.arange(6.0).reshape(2, 3)[:, ::-1])
    cap = p.__dlpack__(max_version=(1, 0))
    with pytest.raises(BufferError, match="negative strides"):
        jt.from_dlpack(cap)
    assert p.deleted == 0
    # A length-1 dim's stride is never used, so a negative one there is harmless.
    q = FakeProducer(np.arange(3.0).reshape(3, 1)[:, ::-1])
    t = jt.from_dlpack(q)
    assert values(t).ravel().tolist() == [0, 1, 2] and min(t.stride()) >= 0


def test_unsupported_version_and_non_producers():
    p = FakeProducer(np.arange(3.0), version=(2, 0))
    cap = p.__dlpack__(max_version=(1, 0))
    with pytest.raises(BufferError, match="version"):
        jt.from_dlpack(cap)
    assert p.deleted == 0
    with pytest.raises(TypeError, match="DLPack"):
        jt.from_dlpack([1, 2, 3])


# ---- property-based round trips -------------------------------------------------------------

@st.composite
def strided_views(draw):
    nd = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=nd, max_size=nd)))
    dtype = draw(st.sampled_from([jt.float32, jt.int64, jt.uint8, jt.complex128, jt.bool, jt.float16]))
    index = []
    for n in shape:
        start = draw(st.integers(0, n))
        stop = draw(st.integers(start, n))
        index.append(slice(start, stop, draw(st.integers(1, 3))))
    perm = draw(st.permutations(range(nd)))
    return shape, dtype, tuple(index), perm


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strided_views())
def test_round_trip_preserves_values_and_memory(case):
    shape, dtype, index, perm = case
    n = int(np.prod(shape))
    base = jt_data(dtype, np.arange(n).reshape(shape) if shape else np.array(5))
    v = base[index].permute(perm) if shape else base
    expected = values(v)
    # jtensor -> NumPy -> jtensor
    a = np.from_dlpack(v)
    back = jt.from_dlpack(a)
    # jtensor -> PyTorch -> jtensor
    x = torch.from_dlpack(v)
    back2 = jt.from_dlpack(x)
    for w in (back, back2):
        assert w.shape == v.shape and w.dtype is v.dtype
        np.testing.assert_array_equal(values(w), expected)
    np.testing.assert_array_equal(a, expected)
    np.testing.assert_array_equal(torch_values(x), expected)
    if v.numel():
        assert a.ctypes.data == x.data_ptr() == back.data_ptr() == back2.data_ptr() == v.data_ptr()
        assert back.stride() == back2.stride() == x.stride()
        back.fill_(False if dtype is jt.bool else 0)
        assert not values(v).any() and not a.any() and not bool(x.any())
