"""The BLAS that matrix products run in (python/jtensor/_blaslib.py, julia/src/blas.jl): NumPy's
bundled OpenBLAS when found, Julia's with JTENSOR_BLAS=julia. Products over the layouts gemm sees
(transposed and sliced views, so leading dims above the rows), dtypes and empty sizes, and the
layers whose kernels pick layouts for it (linear, bmm, conv2d, LSTM, forward and backward), against
PyTorch and NumPy; the same products with the switch off in a subprocess; NumPy's own products."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import jtensor as jt
from jtensor import _blaslib

HERE = os.path.dirname(os.path.abspath(__file__))

SHAPES = [(5, 3, 7), (16, 128, 512), (64, 32, 64), (33, 27, 1024), (0, 4, 3), (4, 0, 3), (4, 5, 0)]
DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


def _rand(rng, shape, dtype):
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _operand(rng, rows, cols, dtype, form):
    """A (rows, cols) operand as gemm meets it: contiguous, a transposed view, or a column slice
    of a wider array (row stride above cols)."""
    if form == "T":
        return _rand(rng, (cols, rows), dtype).T
    if form == "slice":
        return _rand(rng, (rows, cols + 3), dtype)[:, 1:cols + 1]
    return _rand(rng, (rows, cols), dtype)


def products():
    """name -> jtensor's result, for every case (the same seed gives the same operands anywhere)."""
    rng = np.random.default_rng(0)
    out = {}
    for dtype in DTYPES:
        for (m, k, n) in SHAPES:
            for fa in ("C", "T", "slice"):
                for fb in ("C", "T", "slice"):
                    a, b = _operand(rng, m, k, dtype, fa), _operand(rng, k, n, dtype, fb)
                    out[f"mm/{np.dtype(dtype).name}/{m}x{k}x{n}/{fa}{fb}"] = (a, b)
    return out


def _mm_cases():
    return [(name, a, b) for name, (a, b) in products().items()]


def _tol(dtype, k):
    eps = np.finfo(np.dtype(dtype)).eps
    return dict(rtol=50 * eps * max(k, 1) ** 0.5, atol=50 * eps * max(k, 1) ** 0.5)


def test_the_library_in_use_is_reported():
    info = _blaslib.info()
    assert set(info) == {"library", "description", "threads"} and info["threads"] == 1
    shown = jt.__config__.show()
    assert f"BLAS_INFO={info['library']}" in shown
    if os.environ.get("JTENSOR_BLAS", "").lower() == "julia":
        assert info["library"] == "julia"
    elif _blaslib.numpy_openblas() is not None and "JTENSOR_BLAS_PATH" not in os.environ:
        assert info["library"] == _blaslib.numpy_openblas() and "OpenBLAS" in info["description"]


def test_numpy_keeps_its_threads():
    """JTensor's products run the shared library on one thread (its policy: OpenBLAS single-threaded
    inside Julia's threads), and NumPy's thread count, before and after them, stays NumPy's."""
    path = _blaslib.info()["library"]
    if path == "julia":
        pytest.skip("no library adopted")
    code = (
        "import ctypes, numpy as np\n"
        f"lib = ctypes.CDLL({path!r})\n"
        "get = getattr(lib, 'scipy_openblas_get_num_threads64_', None) or lib.openblas_get_num_threads64_\n"
        "set_ = getattr(lib, 'scipy_openblas_set_num_threads64_', None) or lib.openblas_set_num_threads64_\n"
        "set_(2); before = get()\n"
        "import jtensor as jt\n"
        "a = jt.rand(64, 64); (a @ a).sum().item(); (jt.rand(3, 64, 32) @ jt.rand(32, 8)).sum().item()\n"
        "print(before, get())\n")
    env = dict(os.environ, JTENSOR_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["2", "2"]


def test_choose_respects_the_switch(monkeypatch):
    monkeypatch.setenv("JTENSOR_BLAS", "julia")
    monkeypatch.setenv("JTENSOR_BLAS_PATH", "/some/lib.so")
    assert _blaslib.choose() is None and "JTENSOR_BLAS_PATH" not in os.environ
    monkeypatch.delenv("JTENSOR_BLAS")
    monkeypatch.setenv("JTENSOR_BLAS_PATH", "/some/lib.so")
    assert _blaslib.choose() == "/some/lib.so"
    monkeypatch.delenv("JTENSOR_BLAS_PATH")
    assert _blaslib.choose() == _blaslib.numpy_openblas()


@pytest.mark.parametrize("name,a,b", _mm_cases(), ids=[c[0] for c in _mm_cases()])
def test_matmul_layouts_against_numpy(name, a, b):
    got = (jt.from_numpy(a) @ jt.from_numpy(b)).numpy()
    want = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64) @ b
    assert got.dtype == a.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **_tol(a.dtype, a.shape[1]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_layers_forward_and_backward_against_torch(dtype):
    """linear, bmm at attention's shapes, conv2d (groups 1 and 2) and an LSTM: the kernels that
    transpose a weight once for the adopted library, and their gradients' products."""
    torch.manual_seed(0)
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    cases = {
        "linear": (lambda F, x, w, b: F.linear(x, w, b), [(16, 128), (512, 128), (512,)]),
        "bmm": (lambda F, q, k, v: (q @ k.transpose(-2, -1)) @ v, [(8, 64, 32), (8, 64, 32), (8, 64, 32)]),
        "conv2d": (lambda F, x, w, b: F.conv2d(x, w, b, padding=1), [(2, 3, 12, 10), (16, 3, 3, 3), (16,)]),
        "conv2d_groups": (lambda F, x, w, b: F.conv2d(x, w, b, stride=2, groups=2),
                          [(2, 4, 9, 9), (6, 2, 3, 3), (6,)]),
    }
    for name, (fn, shapes) in cases.items():
        ts = [torch.randn(s, dtype=dtype, requires_grad=True) for s in shapes]
        js = [jt.tensor(t.detach().numpy(), requires_grad=True) for t in ts]
        want, got = fn(torch.nn.functional, *ts), fn(jt.nn.functional, *js)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), err_msg=name, **tol)
        gy = torch.randn(want.shape, dtype=dtype)
        want.backward(gy)
        got.backward(jt.tensor(gy.numpy()))
        for t, j in zip(ts, js):
            np.testing.assert_allclose(j.grad.numpy(), t.grad.numpy(), err_msg=name, **tol)


def test_lstm_against_torch():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(32, 128, num_layers=2)
    mine = jt.nn.LSTM(32, 128, num_layers=2)
    mine.load_state_dict({k: jt.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = torch.randn(7, 16, 32, requires_grad=True)
    xj = jt.tensor(x.detach().numpy(), requires_grad=True)
    (y, _), (yj, _) = ref(x), mine(xj)
    np.testing.assert_allclose(yj.detach().numpy(), y.detach().numpy(), rtol=1e-4, atol=1e-5)
    y.sum().backward()
    yj.sum().backward()
    np.testing.assert_allclose(xj.grad.numpy(), x.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (name, p), pj in zip(ref.named_parameters(), mine.parameters()):
        np.testing.assert_allclose(pj.grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)


def test_numpy_products_unchanged_after_jtensor_products():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
    jt.from_numpy(a.astype(np.float32)) @ jt.from_numpy(b.astype(np.float32))
    want = np.einsum("ik,kj->ij", a, b)        # no BLAS
    np.testing.assert_allclose(a @ b, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.astype(np.float32) @ b.astype(np.float32), want, rtol=1e-4, atol=1e-4)


_CHILD = """
import json, sys
import numpy as np
sys.path.insert(0, {here!r})
import jtensor as jt
from jtensor import _blaslib
import test_blas_library as t
res = {{name: (jt.from_numpy(a) @ jt.from_numpy(b)).numpy() for name, (a, b) in t.products().items()}}
np.savez({out!r}, **{{k.replace("/", "|"): v for k, v in res.items()}})
print(json.dumps(_blaslib.info()))
"""


def test_julia_blas_switch_gives_the_same_products(tmp_path):
    """JTENSOR_BLAS=julia in a fresh process: Julia's BLAS is reported and computes what the
    adopted library does (to rounding)."""
    out = str(tmp_path / "products.npz")
    env = dict(os.environ, JTENSOR_BLAS="julia")
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(here=HERE, out=out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["library"] == "julia"
    theirs = np.load(out)
    for name, a, b in _mm_cases():
        mine = (jt.from_numpy(a) @ jt.from_numpy(b)).numpy()
        np.testing.assert_allclose(mine, theirs[name.replace("/", "|")], err_msg=name, **_tol(a.dtype, a.shape[1]))
