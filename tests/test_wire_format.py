"""The word format between Python, Julia and the C fast path has one definition, julia/src/wire.txt:
these tests fail when any side holds something else (a stale C build, Julia constants from an old
precompile cache, an encoder writing fields in another order), and check the device word."""
import struct

import numpy as np
import pytest

import jtensor as jt
from jtensor import bridge, drivers, wire, wire_format
from jtensor._tensor import Tensor
from jtensor.registry import REGISTRY

FMT = wire_format.FORMAT
CONSTANTS = wire_format.constants(FMT)


# ---- the table ------------------------------------------------------------------------------------

def test_table_defines_every_kind_the_encoders_write():
    assert set(FMT.tags) == {"none", "tensor", "int", "float", "bool", "intlist", "complex", "str", "dtype",
                             "tensorlist"}
    assert FMT.devices == {"cpu": 0, "meta": 1, "cuda": 2}
    for (side, kind), fields in wire.WRITTEN.items():
        assert (FMT.args if side == "arg" else FMT.results)[kind].fields == fields
    assert FMT.args["tensor"].offsets == {"tag": 0, "dtype": 1, "ndim": 2, "device": 3, "address": 4}
    assert FMT.args["tensor"].fixed == 5 and FMT.results["tensor"].fixed == 6
    assert wire.RESULT_WORDS == FMT.limits["result_words"] == len(bridge._res)


def test_table_is_shipped_with_the_julia_sources():
    """setup.py copies julia/src into the wheel; the table must be one of the files it ships, and
    the system image key must hash it (an edit makes old images stale)."""
    import os
    from jtensor import _imagestore
    assert os.path.join("src", "wire.txt") in _imagestore.source_files(wire_format.JULIA_DIR)
    assert wire_format.TABLE_PATH == os.path.join(wire_format.JULIA_DIR, "src", "wire.txt")


def test_malformed_tables_are_refused_with_their_line():
    with pytest.raises(ValueError, match=r"t.txt:2: .*cannot read"):
        wire_format.parse("tag none 0\nbogus line\n", "t.txt")
    with pytest.raises(ValueError, match="run shape\\[n\\] must count by an earlier field"):
        wire_format.parse("tag tensor 1\narg tensor tag shape[n]\n")
    with pytest.raises(ValueError, match="share a code"):
        wire_format.parse("tag a 1\ntag b 1\n")


def test_encoders_refuse_a_table_whose_layout_they_do_not_write(monkeypatch):
    moved = wire_format.Layout("tensor", ("tag", "dtype", "ndim", "address", "device", "shape[ndim]", "strides[ndim]"))
    monkeypatch.setitem(FMT.args, "tensor", moved)
    with pytest.raises(ImportError, match="arg tensor as `tag dtype ndim address device"):
        wire._check_table()


# ---- every side holds the table ----------------------------------------------------------------------

def test_c_extension_was_built_from_the_table():
    fp = bridge._fastpath
    if fp is None or not hasattr(fp, "wire_constants"):
        pytest.skip("the C extension is not built")
    assert fp.wire_constants() == CONSTANTS
    assert drivers._fast_map is not None   # and the bridge handed it to the drivers


def test_a_c_extension_from_another_table_is_left_unused(monkeypatch):
    fp = bridge._fastpath
    if fp is None:
        pytest.skip("the C extension is not built")
    import jtensor._fastpath as mod
    monkeypatch.setattr(mod, "wire_constants", lambda: {**CONSTANTS, "TAG_TENSOR": 99})
    with pytest.warns(RuntimeWarning, match="built from another word format"):
        assert bridge.fast_path(Tensor, drivers.FAST_SIGNATURES, set()) is None


def test_generated_header_defines_every_constant():
    header = wire_format.c_header(FMT)
    for name, value in CONSTANTS.items():
        assert f"#define WIRE_{name} {value}\n" in header
        assert f'X("{name}", WIRE_{name})' in header


def test_julia_constants_are_the_table():
    names = [n for n in CONSTANTS if n.startswith(("TAG_", "LIMIT_", "ARG_", "RESULT_", "DEVICE_"))]
    got = jt.julia.eval("string([" + ", ".join(f"JTensor.{n}" for n in names) + "])")
    assert [int(v) for v in got.strip('"[]').split(",")] == [CONSTANTS[n] for n in names]
    assert jt.julia.eval("JTensor.RESULT_WORDS") == FMT.limits["result_words"]


# ---- the encoders write what the table describes -------------------------------------------------------

def _read(words, i, side):
    """The argument (or result) at words[i] as (kind, {field: value, or list for a run}), read by
    the table's layouts alone, and the index after it."""
    kind = {code: name for name, code in FMT.tags.items()}[words[i]]
    fields = {}
    for f in (FMT.args if side == "arg" else FMT.results)[kind].fields:
        if "[" not in f:
            fields[f] = words[i]
            i += 1
            continue
        name, count = f[:-1].split("[")
        if kind == "tensorlist":   # a run of arguments
            fields[name] = []
            for _ in range(fields[count]):
                item, i = _read(words, i, side)
                fields[name].append(item)
        else:
            fields[name] = list(words[i:i + fields[count]])
            i += fields[count]
    return (kind, fields), i


def _walk(words, side="arg"):
    out, i = [], 0
    while i < len(words):
        item, i = _read(words, i, side)
        out.append(item)
    return out


def test_tensor_words_follow_the_table():
    t = jt.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))[:, 1:, ::2]
    words, fmt = [], []
    wire.encode_tensor(t, words, fmt)
    assert len("".join(fmt)) == len(words)
    [(kind, f)] = _walk(words)
    assert kind == "tensor" and f["dtype"] == jt.float32.code and f["ndim"] == 3
    assert f["device"] == wire.DEVICE_CPU and f["address"] == t.data_ptr()
    assert f["shape"] == [2, 2, 2] and f["strides"] == list(t._strides)


def test_scalar_and_list_words_follow_the_table():
    class P:   # a schema parameter
        def __init__(self, t):
            self.name, self.type, self.optional = "p", t, True
    a, b = jt.ones(2), jt.zeros(3, dtype=jt.int32)
    words, fmt, keep = [], [], []
    for p, x in ((P("int"), 7), (P("float"), 2.5), (P("bool"), True), (P("Tensor"), None),
                 (P("Shape"), (2, 3)), (P("Any"), 1 - 2j), (P("str"), "héllo"), (P("DType"), jt.int16),
                 (P("TensorList"), [a, b])):
        wire.encode_arg(p, x, 1, "probe", words, fmt, keep)
    packed = struct.unpack(f"{len(words)}q", struct.pack("".join(fmt), *words))
    got = _walk(list(packed))
    assert [k for k, _ in got] == ["int", "float", "bool", "none", "intlist", "complex", "str", "dtype", "tensorlist"]
    f = [fields for _, fields in got]
    as_float = wire._as_float
    assert f[0]["value"] == 7 and as_float(f[1]["value"]) == 2.5 and f[2]["value"] == 1
    assert f[4] == {"tag": wire.TAG_INTLIST, "count": 2, "items": [3, 2]}     # a Shape goes in Julia order
    assert (as_float(f[5]["re"]), as_float(f[5]["im"])) == (1.0, -2.0)
    assert f[6]["length"] == len("héllo".encode()) and f[7]["code"] == jt.int16.code
    items = f[8]["tensors"]
    assert [x[1]["shape"] for x in items] == [[2], [3]] and [x[1]["address"] for x in items] == [a.data_ptr(), b.data_ptr()]


def test_result_words_decode_by_the_table(monkeypatch):
    """Tensor results carry their device; one not on the CPU is made by Tensor._device_result."""
    r = [3,
         wire.TAG_TENSOR, jt.float32.code, 2, wire.DEVICE_META, 0, 0, 4, 5,
         wire.TAG_INT, -3,
         wire.TAG_COMPLEX, *struct.unpack("qq", struct.pack("dd", 0.5, 2.0))]
    meta, i, c = wire.decode_results(r)
    assert meta == wire.TensorResult(jt.float32.code, wire.DEVICE_META, 0, 0, (4, 5))
    assert i == -3 and c == 0.5 + 2j
    calls = []
    monkeypatch.setattr(Tensor, "_device_result", classmethod(lambda cls, *a: calls.append(a) or "made"),
                        raising=False)
    assert drivers.tensor_of(meta) == "made" and calls == [(wire.DEVICE_META, (4, 5), jt.float32)]


# ---- the device word ------------------------------------------------------------------------------------

class _Storage:
    """Tensor storage that is not a NumPy ndarray (as another device's is): the C fast path must
    leave such tensors to Python."""

    def __init__(self, arr):
        self.arr = arr


def _foreign(t, device_code=None):
    storage = _Storage(t._base)
    if device_code is not None:
        storage.device_code = device_code   # a tensor's device is its storage's
    return Tensor._make(storage, t._baddr, t._offset, t.shape, t._strides, t.dtype)


def test_c_fast_path_sends_only_numpy_backed_tensors():
    if drivers._fast_map is None:
        pytest.skip("the C extension is not built")
    a, b = jt.ones(4), jt.arange(4.0, dtype=jt.float32)
    add = REGISTRY.ops["add"]
    a + b   # registers the signature
    assert type(drivers._fast_map(add.id, (a, b), (1,))) is Tensor
    assert drivers._fast_map(add.id, (_foreign(a), b), (1,)) is None
    lin = REGISTRY.ops["_linear"]
    x, w = jt.ones(2, 3), jt.ones(4, 3)
    assert type(drivers._fast_call(lin.id, lin.fast_kinds, (x, w, None), False)) is Tensor
    assert drivers._fast_call(lin.id, lin.fast_kinds, (x, _foreign(w), None), False) is None


def test_python_driver_runs_foreign_storage_tensors_as_the_cpu():
    a = jt.arange(4.0, dtype=jt.float32)
    np.testing.assert_array_equal((_foreign(a) + a).numpy(), [0, 2, 4, 6])


def test_map_calls_with_a_non_cpu_tensor_get_no_plan_signature():
    class Op:
        id = 1
    a = jt.ones(3)
    out = jt.empty(3)
    _, _, sig = wire.encode_map_args(Op, out, jt.float32, (a, 2.0), (), (3,), Tensor)
    assert sig == (1, jt.float32.code, jt.float32.code, jt.float32.code, 100 + wire.TAG_FLOAT)
    words, _, sig = wire.encode_map_args(Op, out, jt.float32, (_foreign(a, wire.DEVICE_META), 2.0), (), (3,), Tensor)
    tensor_at = len(words) - 2 - (5 + 2 * 1)   # the input tensor's words, before the float's two
    assert sig is None and words[tensor_at + FMT.args["tensor"].offsets["device"]] == wire.DEVICE_META


@pytest.fixture(scope="module")
def meta_probe():
    """An op whose kernel has a method for meta arrays: returns the argument it was given."""
    jt.julia.eval('JTensor.defop("_wire_meta_probe(x: Tensor) -> Tensor", '
                  '(x::JTensor.MetaArray) -> x; method = false, doc = "tests/test_wire_format.py")')
    return REGISTRY.ops["_wire_meta_probe"]


def test_meta_tensors_cross_both_ways(meta_probe, monkeypatch):
    """A tensor with device code meta arrives in Julia as a MetaArray of its Julia-order size and
    strides (and no plan); a MetaArray result comes back through Tensor._device_result."""
    made = []
    monkeypatch.setattr(Tensor, "_device_result",
                        classmethod(lambda cls, dev, shape, dtype: made.append((dev, shape, dtype)) or "meta tensor"),
                        raising=False)
    x = jt.empty(2, 3, 5, dtype=jt.float64)[:, :, 1:]
    assert meta_probe.fn(_foreign(x, wire.DEVICE_META)) == "meta tensor"
    assert made == [(wire.DEVICE_META, (2, 3, 4), jt.float64)]


def test_meta_arrays_have_python_shape_in_julia_order():
    x = jt.empty(2, 3, 5, dtype=jt.float64)[:, :, 1:]
    got = jt.julia.eval("let x = " + _julia_words(_foreign(x, wire.DEVICE_META)) +
                        "; a, n = GC.@preserve x JTensor.decode_arg(pointer(x), 1); "
                        "string(nameof(typeof(a)), eltype(a), size(a), strides(a), n == length(x) + 1) end")
    assert got.strip("\"") == "MetaArrayFloat64(4, 3, 2)(1, 5, 15)true"


def test_tensors_of_other_devices_are_refused_by_name():
    x = jt.ones(2)
    # CUDA arrays reach Julia now (julia/src/cuda/); an op with no CUDA method says so by name
    with pytest.raises(NotImplementedError, match="Could not run 'sum' with arguments from the 'cuda:0' backend"):
        REGISTRY.ops["sum"].fn(_foreign(x, wire.DEVICE_CUDA))


def _julia_words(t):
    words, fmt = [], []
    wire.encode_tensor(t, words, fmt)
    return "Int64[" + ", ".join(str(w) for w in words) + "]"
