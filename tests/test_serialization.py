"""jt.save / jt.load in the safetensors format: round trips for every dtype (bfloat16 and complex128
included), metadata and non-tensor entries, file objects, and interchange with PyTorch through
safetensors.torch (a torch-saved model reproduces its outputs in jtensor and vice versa)."""
import io
import json
from collections import OrderedDict

import numpy as np
import pytest
import safetensors
import safetensors.torch as st
import torch
import torch.nn as tnn

import jtensor as jt
import jtensor.nn as nn

ALL_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16", "float32", "float64",
              "complex64", "complex128"]


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def sample(dtype_name, shape, seed):
    a = rnd(shape, seed) * 50
    if dtype_name == "bool":
        return jt.tensor(a > 0)
    if dtype_name in ("complex64", "complex128"):
        return jt.tensor(a + 1j * rnd(shape, seed + 1), dtype=getattr(jt, dtype_name))
    if dtype_name == "uint8":
        return jt.tensor(np.abs(a).astype(np.uint8))
    return jt.tensor(a).to(getattr(jt, dtype_name))


def as_exact(t):
    """Values as a NumPy array that compares exactly (bfloat16 via float32, which holds it exactly)."""
    return (t.to(jt.float32) if t.dtype == jt.bfloat16 else t).numpy()


def assert_same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(as_exact(a), as_exact(b))


@pytest.mark.parametrize("dtype_name", ALL_DTYPES)
def test_round_trip_every_dtype(tmp_path, dtype_name):
    d = OrderedDict()
    d["matrix"] = sample(dtype_name, (3, 4), 1)
    d["scalar"] = sample(dtype_name, (), 2)
    d["empty"] = sample(dtype_name, (0, 5), 3)
    d["strided"] = sample(dtype_name, (4, 6), 4)[::2, 1::2]      # not contiguous
    d["transposed"] = sample(dtype_name, (2, 3, 5), 5).permute(2, 0, 1)
    path = tmp_path / "t.safetensors"
    jt.save(d, path)
    back = jt.load(path)
    assert list(back) == list(d)
    for k in d:
        assert_same(back[k], d[k])


def test_bfloat16_bits_are_written_raw_and_read_by_torch(tmp_path):
    x = jt.tensor([1.0, -2.5, 3.140625, 1e-3, 65280.0, float("inf")]).to(jt.bfloat16)
    path = tmp_path / "bf16.safetensors"
    jt.save({"x": x}, path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    assert header["x"]["dtype"] == "BF16" and header["x"]["shape"] == [6]
    t = st.load_file(str(path))["x"]
    assert t.dtype == torch.bfloat16
    np.testing.assert_array_equal(t.float().numpy(), x.to(jt.float32).numpy())
    # and torch's bfloat16 comes back bit for bit
    tt = torch.randn(7, 3).to(torch.bfloat16)
    st.save_file({"w": tt}, str(path))
    w = jt.load(path)["w"]
    assert w.dtype == jt.bfloat16
    np.testing.assert_array_equal(w.to(jt.float32).numpy(), tt.float().numpy())


def test_every_torch_dtype_loads(tmp_path):
    g = torch.Generator().manual_seed(0)
    tensors = {
        "f16": torch.randn(3, 2, generator=g).half(), "f32": torch.randn(4, generator=g),
        "f64": torch.randn(2, 2, generator=g, dtype=torch.float64), "bf16": torch.randn(5, generator=g).bfloat16(),
        "i8": torch.tensor([-3, 4], dtype=torch.int8), "i16": torch.tensor([300, -2], dtype=torch.int16),
        "i32": torch.tensor([[1 << 20]], dtype=torch.int32), "i64": torch.tensor(1 << 40),
        "u8": torch.tensor([255, 0], dtype=torch.uint8), "b": torch.tensor([True, False]),
        "c64": torch.randn(3, generator=g, dtype=torch.complex64),
    }
    path = str(tmp_path / "torch.safetensors")
    st.save_file(tensors, path)
    back = jt.load(path)
    assert sorted(back) == sorted(tensors)
    for k, t in tensors.items():
        j = back[k]
        assert j.dtype.name == str(t.dtype).replace("torch.", ""), k
        assert tuple(j.shape) == tuple(t.shape)
        expect = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
        np.testing.assert_array_equal(as_exact(j), expect)


def test_jtensor_files_load_in_torch_for_its_dtypes(tmp_path):
    d = {n: sample(n, (2, 3), 7) for n in ALL_DTYPES if n != "complex128"}
    path = str(tmp_path / "j.safetensors")
    jt.save(d, path)
    back = st.load_file(path)
    for k, v in d.items():
        t = back[k]
        assert str(t.dtype) == "torch." + k
        got = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
        np.testing.assert_array_equal(got, as_exact(v))


def test_metadata_non_tensor_entries_and_file_objects(tmp_path):
    d = {"w": jt.arange(6).reshape(2, 3), "epoch": 7, "config": {"lr": 0.1, "layers": [2, 3]}, "name": "run"}
    buf = io.BytesIO()
    jt.save(d, buf, metadata={"format": "pt", "note": "hello"})
    buf.seek(0)
    back, meta = jt.load(buf, return_metadata=True)
    assert meta == {"format": "pt", "note": "hello"}
    assert back["epoch"] == 7 and back["config"] == {"lr": 0.1, "layers": [2, 3]} and back["name"] == "run"
    assert back["w"].tolist() == [[0, 1, 2], [3, 4, 5]] and back["w"].dtype == jt.int64
    # the file is a valid safetensors file whose metadata the library reads
    path = tmp_path / "m.safetensors"
    path.write_bytes(buf.getvalue())
    with safetensors.safe_open(str(path), framework="numpy") as f:
        assert f.metadata()["note"] == "hello" and list(f.keys()) == ["w"]
    assert jt.load(str(path))["name"] == "run"


def test_save_errors():
    with pytest.raises(TypeError, match="dict of name"):
        jt.save([jt.zeros(1)], io.BytesIO())
    with pytest.raises(TypeError, match="neither a Tensor nor JSON"):
        jt.save({"x": object()}, io.BytesIO())
    with pytest.raises(TypeError, match="keys must be strings"):
        jt.save({1: jt.zeros(1)}, io.BytesIO())
    with pytest.raises(TypeError, match="str to str"):
        jt.save({"x": jt.zeros(1)}, io.BytesIO(), metadata={"a": 1})


def test_loaded_tensors_are_writable_and_independent(tmp_path):
    path = tmp_path / "w.safetensors"
    jt.save({"a": jt.zeros(3)}, path)
    a = jt.load(path)["a"]
    a.add_(1)
    assert a.tolist() == [1.0, 1.0, 1.0]
    assert jt.load(path)["a"].tolist() == [0.0, 0.0, 0.0]


# ---- whole models across libraries -------------------------------------------------------------------

def make_net(lib):
    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.Sequential(
                lib.Conv2d(3, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
                lib.Conv2d(4, 6, 3), lib.GroupNorm(2, 6), lib.GELU(), lib.AdaptiveAvgPool2d(1), lib.Flatten())
            self.emb = lib.Embedding(7, 6)
            self.norm = lib.LayerNorm(6)
            self.attn = lib.MultiheadAttention(6, 2, batch_first=True)
            self.head = lib.Linear(6, 3)

        def forward(self, img, idx):
            f = self.features(img).unsqueeze(1)           # (N, 1, 6)
            tokens = self.norm(self.emb(idx) + f)           # (N, T, 6)
            a, _ = self.attn(tokens, tokens, tokens)
            return self.head(a.mean(1))
    return Net()


def _train_torch_bn(tm):
    """A few training batches so that BatchNorm's running statistics are not the defaults."""
    tm.train()
    with torch.no_grad():
        for s in range(2):
            tm(torch.tensor(rnd((4, 3, 8, 8), 80 + s), dtype=torch.float32), torch.tensor(np.array([[1, 2, 3]] * 4)))
    tm.eval()


def test_torch_saved_model_loads_into_jtensor(tmp_path):
    torch.manual_seed(0)
    tm = make_net(tnn)
    _train_torch_bn(tm)
    path = str(tmp_path / "torch_model.safetensors")
    st.save_file(tm.state_dict(), path)
    jm = make_net(nn)
    sd = jt.load(path)
    assert sorted(sd) == sorted(tm.state_dict())
    result = jm.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    jm.eval()
    img, idx = rnd((2, 3, 8, 8), 90), np.array([[0, 5, 6], [2, 2, 1]])
    with torch.no_grad():
        ref = tm(torch.tensor(img, dtype=torch.float32), torch.tensor(idx)).numpy()
    got = jm(jt.tensor(img, dtype=jt.float32), jt.tensor(idx))
    np.testing.assert_allclose(got.detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    assert jm.features[1].num_batches_tracked.item() == 2


def test_jtensor_saved_model_loads_into_torch(tmp_path):
    jt.manual_seed(1)
    jm = make_net(nn)
    jm.train()
    with jt.no_grad():   # move BatchNorm's running statistics away from their defaults
        jm(jt.tensor(rnd((4, 3, 8, 8), 91), dtype=jt.float32), jt.tensor(np.array([[1, 2, 3]] * 4)))
    jm.eval()
    path = str(tmp_path / "jt_model.safetensors")
    jt.save(jm.state_dict(), path)
    tm = make_net(tnn)
    tsd = st.load_file(path)
    assert list(tsd) == list(tm.state_dict()) or sorted(tsd) == sorted(tm.state_dict())
    tm.load_state_dict(tsd)
    tm.eval()
    img, idx = rnd((3, 3, 8, 8), 92), np.array([[0, 5, 6], [2, 2, 1], [4, 4, 4]])
    with torch.no_grad():
        ref = tm(torch.tensor(img, dtype=torch.float32), torch.tensor(idx)).numpy()
    got = jm(jt.tensor(img, dtype=jt.float32), jt.tensor(idx))
    np.testing.assert_allclose(got.detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    # and the round trip within jtensor restores every entry exactly, in state_dict order
    back = jt.load(path)
    assert list(back) == list(jm.state_dict())
    for k, v in jm.state_dict().items():
        assert_same(back[k], v)


def test_bfloat16_model_round_trip(tmp_path):
    jm = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3)).bfloat16()
    path = str(tmp_path / "bf16_model.safetensors")
    jt.save(jm.state_dict(), path)
    tm = tnn.Sequential(tnn.Linear(4, 3), tnn.LayerNorm(3)).bfloat16()
    tm.load_state_dict(st.load_file(path))
    for (k, a), (k2, b) in zip(jm.state_dict().items(), tm.state_dict().items()):
        assert k == k2 and b.dtype == torch.bfloat16
        np.testing.assert_array_equal(a.to(jt.float32).numpy(), b.float().numpy())
    st.save_file(tm.state_dict(), path)
    jm2 = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3)).bfloat16()
    jm2.load_state_dict(jt.load(path))
    for a, b in zip(jm.parameters(), jm2.parameters()):
        assert_same(a.detach(), b.detach())
