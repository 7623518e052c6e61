"""Devices: the jt.device API (against PyTorch's answers on a machine without CUDA), and the meta
device: every registry op on meta tensors gives the shape, dtype and strides it gives on the CPU
(elementwise ops, reductions, scans and sorts from the op table in tests/opinfo.py; every other op
from META_SAMPLES below), ops whose result size depends on values refuse meta tensors as PyTorch
does, and models built on the meta device take no memory until `to_empty`.
"""
import copy
import pickle
import zlib

import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.nn as nn
from jtensor.optim.optimizer import FUSED_STEPS
import jtensor.nn.functional as F
from jtensor.registry import REGISTRY

import opinfo as O


# ---- the device API ------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["cpu", "meta", "cuda", "cuda:1", ("cuda", 2), "cpu:0"])
def test_device_objects_match_torch(spec):
    args = spec if isinstance(spec, tuple) else (spec,)
    d, t = jt.device(*args), torch.device(*args)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert d == jt.device(str(d)) and hash(d) == hash(jt.device(str(d)))
    assert pickle.loads(pickle.dumps(d)) == d


def test_a_bare_ordinal_names_a_cuda_device():
    assert jt.device(0) == jt.device("cuda:0")   # torch: the same, where an accelerator exists


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cuda:-1"])
def test_bad_device_strings_raise_runtime_error(bad):
    with pytest.raises(RuntimeError):
        torch.device(bad)
    with pytest.raises(RuntimeError):
        jt.device(bad)


def test_cpu_tensors_and_no_cuda():
    a = jt.ones(2)
    assert a.device == jt.device("cpu") and a.device == "cpu" and a.is_cpu
    assert not a.is_meta and not a.is_cuda
    assert a.cpu() is a and a.to("cpu") is a and a.to(jt.device("cpu"), jt.float64).dtype is jt.float64
    assert not jt.cuda.is_available() and jt.cuda.device_count() == 0
    assert not jt.backends.mps.is_available()
    for make in (lambda: a.cuda(), lambda: a.to("cuda"), lambda: jt.zeros(2, device="cuda"),
                 lambda: nn.Linear(2, 2).cuda(), lambda: jt.set_default_device("cuda")):
        with pytest.raises(AssertionError, match="not compiled with CUDA"):
            make()


@pytest.mark.parametrize("make", [
    lambda d: jt.empty(2, 3, device=d), lambda d: jt.zeros(2, 3, device=d), lambda d: jt.ones((2, 3), device=d),
    lambda d: jt.full((2, 3), 7, device=d), lambda d: jt.rand(2, 3, device=d), lambda d: jt.randn(2, 3, device=d),
    lambda d: jt.randint(0, 5, (2, 3), device=d), lambda d: jt.arange(1, 8, 2, device=d),
    lambda d: jt.arange(0.0, 1.0, 0.3, device=d), lambda d: jt.linspace(0, 1, 5, device=d),
    lambda d: jt.eye(3, 4, device=d), lambda d: jt.tensor([[1, 2], [3, 4]], device=d),
    lambda d: jt.asarray(np.ones((2, 2), np.float32), device=d),
    lambda d: jt.zeros_like(jt.ones(2, 5, dtype=jt.int32), device=d)])
def test_creation_on_meta_matches_cpu(make):
    c, m = make("cpu"), make("meta")
    assert m.is_meta and m.device == jt.device("meta")
    assert (m.shape, m.dtype, m.stride()) == (c.shape, c.dtype, c.stride())


def test_default_device_context_and_like_functions():
    cpu = jt.ones(3)
    with jt.device("meta"):
        assert jt.get_default_device() == jt.device("meta")
        m = jt.zeros(4, 5)
        assert m.is_meta and jt.zeros_like(m).is_meta
        assert not (cpu + 1).is_meta   # ops follow their inputs, not the default device
    assert jt.get_default_device() == jt.device("cpu") and not jt.zeros(2).is_meta
    jt.set_default_device("meta")
    try:
        assert jt.ones(2).is_meta
    finally:
        jt.set_default_device(None)
    assert not jt.ones(2).is_meta


def test_meta_tensors_have_no_data():
    m = jt.empty(3, 4, device="meta")
    assert repr(m) == "tensor(..., device='meta', size=(3, 4))" == repr(torch.empty(3, 4, device="meta"))
    assert repr(jt.empty(2, dtype=jt.int64, device="meta")) == "tensor(..., device='meta', size=(2,), dtype=jtensor.int64)"
    with pytest.raises(TypeError, match="meta"):
        m.numpy()
    with pytest.raises(RuntimeError, match="meta"):
        m.item()
    for read in (m.tolist, m.cpu, lambda: m.to("cpu"), lambda: jt.ones(3, 4).copy_(m)):
        with pytest.raises(NotImplementedError, match="no data"):
            read()
    with pytest.raises(BufferError):
        m.__dlpack__()
    assert m.copy_(jt.ones(4)) is m   # a write into a meta tensor checks shapes only
    assert pickle.loads(pickle.dumps(m)).shape == (3, 4) and copy.deepcopy(m).is_meta
    assert jt.ones(2, 3).to("meta").shape == (2, 3) and jt.ones(2).to("meta", jt.float64).dtype is jt.float64


def test_views_of_meta_tensors():
    m = jt.empty(4, 6, device="meta")
    for view in (lambda t: t[1:, ::2], lambda t: t.T, lambda t: t.view(2, 12), lambda t: t[:, None].expand(4, 3, 6),
                 lambda t: t.unsqueeze(0).permute(2, 0, 1), lambda t: t.narrow(1, 2, 3), lambda t: t.diagonal()):
        c, v = view(jt.zeros(4, 6)), view(m)
        assert v.is_meta and (v.shape, v.stride(), v.storage_offset()) == (c.shape, c.stride(), c.storage_offset())


def test_two_devices_raise_torch_error():
    a, m = jt.ones(3), jt.empty(3, device="meta")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least "
                                           "two devices, (cpu and meta|meta and cpu)"):
        a + m
    with pytest.raises(RuntimeError, match="same device"):
        jt.matmul(jt.ones(2, 3), jt.empty(3, device="meta"))
    assert (m + jt.tensor(2.0)).is_meta   # a 0-d CPU tensor goes with any device, as in PyTorch


# ---- modules ------------------------------------------------------------------------------------------
class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 10)
        self.ln = nn.LayerNorm(10)
        self.emb = nn.Embedding(20, 10)

    def forward(self, x, idx):
        h = self.pool(F.relu(self.bn(self.conv(x))))
        return F.log_softmax(self.ln(self.fc(h.flatten(1)) + self.emb(idx)), dim=-1)


def test_model_built_on_meta_runs_forward_and_backward_shapes():
    import time
    t0 = time.perf_counter()
    with jt.device("meta"):
        big = nn.Linear(20000, 20000)   # 1.6 GB of float32 on the CPU
    assert time.perf_counter() - t0 < 0.5 and big.weight.is_meta and big.weight.shape == (20000, 20000)
    jt.manual_seed(0)
    cpu_net = _Net()
    meta_net = copy.deepcopy(cpu_net).to("meta")
    assert all(p.is_meta and p.requires_grad for p in meta_net.parameters())
    x, idx = jt.randn(2, 3, 8, 8), jt.tensor([1, 5])
    out_c = cpu_net(x, idx)
    out_m = meta_net(x.to("meta"), idx.to("meta"))
    assert out_m.is_meta and (out_m.shape, out_m.dtype) == (out_c.shape, out_c.dtype)
    out_m.sum().backward()
    for p in meta_net.parameters():
        assert p.grad is not None and p.grad.is_meta and p.grad.shape == p.shape
    with pytest.raises(NotImplementedError, match="to_empty"):
        meta_net.to("cpu")
    real = meta_net.to_empty(device="cpu")
    assert all(not p.is_meta for p in real.parameters()) and real(x, idx).shape == out_c.shape


# ---- every registry op on the meta device -----------------------------------------------------------------
def _to_meta(x):
    if isinstance(x, jt.Tensor):
        return x.to("meta")
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, jt.Tensor) for v in x):
        return type(x)(v.to("meta") for v in x)
    return x


def _same_metadata(cpu, meta, ctx):
    if isinstance(cpu, tuple):
        assert isinstance(meta, tuple) and len(meta) == len(cpu), ctx
        for c, m in zip(cpu, meta):
            _same_metadata(c, m, ctx)
        return
    if not isinstance(cpu, jt.Tensor):
        return
    assert meta.is_meta, ctx
    assert (meta.shape, meta.dtype, meta.stride()) == (cpu.shape, cpu.dtype, cpu.stride()), ctx


def _check_call(f, args, kwargs, ctx):
    cpu = f(*args, **kwargs)
    meta = f(*[_to_meta(a) for a in args], **kwargs)
    _same_metadata(cpu, meta, ctx)


TABLE_CASES = [pytest.param(op, id=op.name) for op in O.OPS]


@pytest.mark.parametrize("op", TABLE_CASES)
def test_meta_matches_cpu_on_the_op_table(op):
    if op.name in META_REFUSED:
        pytest.skip("its result depends on the values (test_value_dependent_ops_refuse_meta)")
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    for dtype in op.primary:
        for s in op.samples(rng, dtype, True)[:6]:
            args = [O.to_jt(a) for a in s.args]
            try:
                O.fn(op)(*args, **O.jt_kwargs(s.kwargs))
            except (TypeError, RuntimeError, ValueError):
                continue   # refused on the CPU (tested in test_ops.py)
            _check_call(O.fn(op), args, O.jt_kwargs(s.kwargs), f"{op.name}{s}")


def _r(*shape, dtype=jt.float32):
    return jt.randn(*shape, dtype=dtype)


def _spd(n, batch=()):
    a = jt.randn(*batch, n, n, dtype=jt.float64)
    return a @ a.mT + n * jt.eye(n, dtype=jt.float64)


def _i(high, *shape):
    return jt.randint(0, high, shape)


# name -> list of (args, kwargs); args may hold tensors and lists of tensors. Inputs are made on
# the CPU and copied to meta, so both runs see the same shapes.
META_SAMPLES = {
    "matmul": [((_r(3, 4), _r(4, 5)), {}), ((_r(2, 3, 4), _r(4)), {}), ((_r(4), _r(2, 4, 5)), {}), ((_r(4), _r(4)), {})],
    "linalg.matmul": [((_r(5, 3, 4), _r(1, 4, 2)), {})],
    "mm": [((_r(3, 4), _r(4, 5)), {})],
    "bmm": [((_r(2, 3, 4), _r(2, 4, 5)), {})],
    "dot": [((_r(4), _r(4)), {})],
    "outer": [((_r(3), _r(4)), {})], "linalg.outer": [((_r(3), _r(4)), {})],
    "kron": [((_r(2, 3), _r(4, 5)), {})],
    "tensordot": [((_r(2, 3, 4), _r(3, 4, 5)), {}), ((_r(2, 3), _r(3, 4)), {"dims": 1})],
    "linalg.tensordot": [((_r(2, 3, 4), _r(3, 4, 5)), {})],
    "trace": [((_r(3, 4),), {})], "linalg.trace": [((_r(2, 3, 3),), {})],
    "cross": [((_r(4, 3), _r(4, 3)), {})], "linalg.cross": [((_r(2, 3), _r(1, 3)), {})],
    "linalg.vecdot": [((_r(2, 5), _r(5)), {})], "vecdot": [((_r(3, 4), _r(3, 4)), {"dim": 0})],
    "matrix_power": [((_r(3, 3), 3), {})], "linalg.matrix_power": [((_r(2, 3, 3), 0), {})],
    "linalg.multi_dot": [(([_r(2, 3), _r(3, 4), _r(4, 5)],), {})],
    "einsum": [(("bij,bjk->bik", _r(2, 3, 4), _r(2, 4, 5)), {}), (("ii", _r(3, 3)), {}), (("i,j", _r(3), _r(4)), {})],
    "det": [((_r(3, 3),), {})], "linalg.det": [((_r(2, 3, 3),), {})],
    "logdet": [((_spd(3),), {})],
    "slogdet": [((_r(3, 3),), {})], "linalg.slogdet": [((_r(2, 3, 3),), {})],
    "inverse": [((_spd(3),), {})], "linalg.inv": [((_spd(3, (2,)),), {})],
    "linalg.solve": [((_spd(3), _r(3, 2, dtype=jt.float64)), {}), ((_spd(3), _r(3, dtype=jt.float64)), {})],
    "linalg.cholesky": [((_spd(4, (2,)),), {})],
    "linalg.cholesky_ex": [((_spd(4, (2,)),), {"upper": True})],
    "linalg.lu_factor_ex": [((_r(2, 5, 3),), {}), ((_r(3, 4),), {})],
    "linalg.solve_triangular": [((_r(2, 1, 3, 3), _r(4, 3, 2, dtype=jt.float64)), {"upper": True}),
                                ((_r(3, 3), _r(2, 3)), {"upper": False, "left": False})],
    "linalg.ldl_factor_ex": [((_spd(3, (2,)),), {"hermitian": True})],
    "linalg.ldl_solve": [((_spd(3, (2,)), jt.tensor([[1, 2, 3], [1, 2, 3]], dtype=jt.int32), _r(4, 1, 3, 2, dtype=jt.float64)), {})],
    "geqrf": [((_r(2, 5, 3),), {}), ((_r(3, 4),), {})],
    "_lu_permutation": [((jt.tensor([[2, 2, 3], [1, 3, 3]], dtype=jt.int32), 4), {})],
    "linalg.qr": [((_r(5, 3),), {}), ((_r(5, 3),), {"mode": "complete"})],
    "linalg.svd": [((_r(5, 3),), {}), ((_r(5, 3),), {"full_matrices": False})],
    "linalg.svdvals": [((_r(2, 5, 3),), {})],
    "linalg.eigh": [((_spd(3),), {})], "linalg.eigvalsh": [((_spd(3),), {})],
    "linalg.eig": [((_r(3, 3),), {})], "linalg.eigvals": [((_r(3, 3),), {})],
    "linalg.pinv": [((_r(4, 3),), {})], "linalg.matrix_rank": [((_r(2, 4, 3),), {})],
    "linalg.vector_norm": [((_r(3, 4),), {}), ((_r(3, 4), 1.0, 1, True), {})],
    "linalg._matrix_norm": [((_r(2, 3, 4), "fro", [2, 1], False), {})],   # Julia dims (python/jtensor/linalg.py)
    "linalg._cond": [((_spd(3), "2"), {})],
    "linalg.diagonal": [((_r(2, 3, 4),), {"offset": 1})],
    "linalg.matrix_transpose": [((_r(2, 3, 4),), {})],
    "diag": [((_r(4),), {"diagonal": 1}), ((_r(3, 5),), {"diagonal": -1})],
    "diag_embed": [((_r(2, 3),), {})],
    "cat": [(([_r(2, 3), _r(4, 3)],), {}), (([_r(2, 3), _r(2, 1, dtype=jt.float64)], 1), {})],
    "stack": [(([_r(2, 3), _r(2, 3)], 1), {})],
    "hstack": [(([_r(3), _r(2)],), {})], "vstack": [(([_r(3), _r(2, 3)],), {})],
    "flip": [((_r(2, 3, 4), [0, 2]), {})], "fliplr": [((_r(2, 3),), {})], "flipud": [((_r(2, 3),), {})],
    "roll": [((_r(2, 3), [1], [1]), {}), ((_r(2, 3), [2]), {})],
    "repeat": [((_r(2, 3), 2, 1, 3), {})], "tile": [((_r(2, 3), [2]), {})],
    "pad": [((_r(2, 3, 4), [1, 2, 0, 1]), {}), ((_r(1, 2, 5), [2, 2], "reflect"), {})],
    "tril": [((_r(3, 4),), {})], "triu": [((_r(2, 3, 4), 1), {})],
    "gather": [((_r(3, 4), 1, _i(4, 3, 2)), {})],
    "scatter": [((_r(3, 4), 1, _i(4, 3, 2), _r(3, 2)), {})],
    "scatter_": [((_r(3, 4), 1, _i(4, 3, 2), _r(3, 2)), {})],
    "scatter_add": [((_r(3, 4), 0, _i(3, 2, 4), _r(2, 4)), {})],
    "scatter_add_": [((_r(3, 4), 0, _i(3, 2, 4), _r(2, 4)), {})],
    "scatter_reduce": [((_r(3, 4), 0, _i(3, 2, 4), _r(2, 5), "amax"), {"include_self": False})],
    "scatter_reduce_": [((_r(3, 4), 1, _i(4, 3, 2), _r(3, 2), "mean"), {})],
    "index_select": [((_r(3, 4), 1, _i(4, 5)), {})],
    "take": [((_r(3, 4), _i(12, 2, 2)), {})],
    "take_along_dim": [((_r(3, 4), _i(4, 3, 2), 1), {}), ((_r(3, 4), _i(12, 5)), {})],
    "searchsorted": [((jt.arange(5.0), _r(2, 3)), {})],
    "_take_offsets": [((_r(3, 4), _i(12, 2, 3)), {})],
    "softmax": [((_r(2, 5), 1), {})], "log_softmax": [((_r(2, 5), 0), {"dtype": jt.float64})],
    "_softmax_backward": [((_r(2, 5), _r(2, 5), 1), {})], "_log_softmax_backward": [((_r(2, 5), _r(2, 5), 0), {})],
    "_conv2d": [((_r(2, 3, 8, 8), _r(4, 3, 3, 3), _r(4), [1, 1], [1, 1, 1, 1], [1, 1], 1), {}),
                ((_r(1, 4, 9, 7), _r(6, 2, 3, 2), None, [2, 1], [0, 0, 1, 1], [1, 2], 2), {})],
    "_conv2d_backward_input": [((_r(2, 4, 8, 8), _r(4, 3, 3, 3), [2, 3, 8, 8], [1, 1], [1, 1, 1, 1], [1, 1], 1), {})],
    "_conv2d_backward_weight": [((_r(2, 4, 8, 8), _r(2, 3, 8, 8), [4, 3, 3, 3], [1, 1], [1, 1, 1, 1], [1, 1], 1), {})],
    "_max_pool2d": [((_r(2, 3, 8, 8), [2, 2], [2, 2], [0, 0], [1, 1], False), {}),
                    ((_r(1, 1, 7, 7), [3, 3], [2, 2], [1, 1], [1, 1], True), {})],
    "_avg_pool2d": [((_r(2, 3, 8, 8), [2, 2], [2, 2], [0, 0], False, True), {})],
    "_avg_pool2d_backward": [((_r(2, 3, 4, 4), [2, 3, 8, 8], [2, 2], [2, 2], [0, 0], False, True), {})],
    "_adaptive_avg_pool2d": [((_r(2, 3, 8, 7), [3, 2]), {})],
    "_adaptive_avg_pool2d_backward": [((_r(2, 3, 3, 2), [2, 3, 8, 7]), {})],
    "_conv3d": [((_r(2, 3, 5, 6, 4), _r(4, 3, 3, 2, 2), _r(4), [1, 2, 1], [1, 1, 0, 0, 1, 1], [1, 1, 2], 1), {}),
                ((_r(1, 4, 5, 4, 3), _r(2, 4, 2, 2, 1), None, [1, 1, 1], [0] * 6, [1, 1, 1], 1), {})],
    "_conv3d_backward_input": [((_r(2, 4, 4, 5, 3), _r(4, 3, 3, 2, 2), [2, 3, 4, 4, 2], [1, 1, 1], [1, 1, 1, 1, 1, 1],
                                 [1, 1, 1], 1), {})],
    "_conv3d_backward_weight": [((_r(2, 4, 4, 5, 3), _r(2, 3, 4, 4, 2), [4, 3, 3, 2, 2], [1, 1, 1],
                                  [1, 1, 1, 1, 1, 1], [1, 1, 1], 1), {})],
    "_max_pool3d": [((_r(2, 3, 4, 6, 6), [2, 2, 2], [2, 2, 2], [0, 0, 0], [1, 1, 1], False), {}),
                    ((_r(1, 5, 7, 7), [3, 3, 2], [2, 2, 1], [1, 1, 0], [1, 2, 1], True), {})],
    "_avg_pool3d": [((_r(2, 3, 4, 6, 6), [2, 2, 2], [2, 2, 1], [1, 0, 0], False, True), {})],
    "_avg_pool3d_backward": [((_r(2, 3, 2, 3, 3), [2, 3, 4, 6, 6], [2, 2, 2], [2, 2, 2], [0, 0, 0], False, True), {})],
    "_adaptive_avg_pool3d": [((_r(2, 3, 5, 8, 7), [2, 3, 2]), {})],
    "_adaptive_avg_pool3d_backward": [((_r(2, 3, 2, 3, 2), [2, 3, 5, 8, 7]), {})],
    "_fractional_max_pool2d": [((_r(2, 3, 8, 7), [2, 2], [4, 3], jt.rand(2, 3, 2)), {})],
    "_fractional_max_pool3d": [((_r(3, 5, 8, 7), [2, 2, 3], [3, 4, 3], jt.rand(1, 3, 3)), {})],
    "_pool2d_gather": [((_r(2, 3, 8, 8), _i(64, 2, 3, 4, 4)), {})],
    "_pool2d_scatter": [((_r(2, 3, 4, 4), _i(64, 2, 3, 4, 4), [2, 3, 8, 8]), {})],
    "_nll_loss": [((_r(4, 5), _i(5, 4)), {}), ((_r(4, 5), _i(5, 4)), {"reduction": "none"})],
    "_nll_loss_backward": [((_r(()), _i(5, 4), [4, 5]), {})],
    "_cross_entropy": [((_r(4, 5), _i(5, 4), None, -100, 0.0, "mean"), {}),
                       ((_r(4, 5), _i(5, 4), None, -100, 0.1, "none"), {})],
    "_cross_entropy_backward": [((_r(()), _r(4, 5), _i(5, 4), None, -100, 0.0, "mean"), {})],
    "_cross_entropy_targets": [((_i(5, 4), [4, 5], None, -100, 0.0, "mean", jt.float32), {})],
    "_embedding": [((_r(10, 3), _i(10, 2, 4)), {})],
    "_embedding_backward": [((_r(2, 4, 3), _i(10, 2, 4), 10), {})],
    "_embedding_backward_adjoint": [((_r(10, 3), _i(10, 2, 4)), {})],
    "_standardize": [((_r(2, 3, 4), [2], 1e-5), {})],
    "_standardize_backward": [((_r(2, 3, 4), _r(2, 3, 4), [2], 1e-5), {})],
    "_standardize_double_backward": [((_r(2, 3, 4), _r(2, 3, 4), _r(2, 3, 4), [1, 2], 1e-5), {})],
    "_layer_norm": [((_r(2, 3, 4), 1, _r(4), _r(4), 1e-5), {}), ((_r(2, 3, 4), 2, None, None, 1e-5), {})],
    "_layer_norm_backward": [((_r(2, 3, 4), _r(2, 3, 4), 1, _r(4), 1e-5), {})],
    "_amax_backward": [((_r(2, 3, 4), _r(2), _r(2), (1, 2)), {}), ((_r(2, 3, 4), _r(2, 1, 4), _r(2, 1, 4), 1, True), {})],
    "_layer_norm_param_grad": [((_r(2, 3, 4), _r(2, 3, 4), 2, 1e-5, False), {})],
    "_channel_norm": [((_r(2, 4, 3), 2, True, _r(4), _r(4), 1e-5), {}), ((_r(2, 4), 4, False, None, None, 1e-5), {})],
    "_channel_norm_backward": [((_r(2, 4, 3), _r(2, 4, 3), 4, False, _r(4), 1e-5), {})],
    "_channel_norm_param_grad": [((_r(2, 4, 3), _r(2, 4, 3), 2, True, 1e-5, True), {})],
    "_channel_norm_stats": [((_r(2, 4, 3), 2, True), {})],
    "_attention_softmax": [((_r(2, 3, 4), 0.5, True), {})],
    "_linear": [((_r(2, 3, 4), _r(5, 4), _r(5)), {}), ((_r(4), _r(5, 4)), {})],
    "_rnn_layer": [(("lstm", [_r(6, 8), _r(2, 2), _r(2, 2), _r(8, 2), _r(8)], [2, 2, 1, 1], False), {}),
                   (("gru", [_r(4, 6), _r(2, 2), _r(0), _r(6, 2), _r(0)], [2, 1, 1], True), {})],
    "_rnn_layer_backward": [(("lstm", [_r(6, 8), _r(2, 2), _r(2, 2), _r(8, 2), _r(8)], _r(6, 2), _r(6, 10), _r(6, 2),
                              None, _r(2, 2), [2, 2, 1, 1], False), {})],
    "_fft_c2c": [((_r(4, 6, dtype=jt.complex64), 1, False), {})],
    "_view_backward": [((_r(3, 2), [4, 3], [3, 1], 1), {})],
}

# Ops whose result size depends on the values: PyTorch has no meta kernel for them either.
META_REFUSED = {
    "nonzero": ((_r(3, 4),), {}), "masked_select": ((_r(3, 4), _r(3, 4) > 0), {}), "unique": ((_r(5),), {}),
    "bincount": ((_i(4, 6),), {}), "allclose": ((_r(3), _r(3)), {}),
}
# Ops with no tensor inputs (creation and random numbers: tested above through jt.zeros(..., device=)),
# that write in place into their arguments (the optimizer steps, _put_offsets: what a meta tensor
# has no place for), that run jt.compile's kernels (made for CPU tensors), that bind a Julia global,
# or that print values (_show_elements).
META_NOT_APPLICABLE = ("_arange", "_linspace", "_eye", "_rand", "_randn", "_randint", "manual_seed", "_dropout_mask",
                       *FUSED_STEPS, "_put_offsets", "_bind_global", "_show_elements", "_fused",
                       "_fused_reduce")


def test_every_registry_op_has_a_meta_case():
    REGISTRY.sync()
    covered = set(O.BY_NAME) | set(META_SAMPLES) | set(META_REFUSED) | set(META_NOT_APPLICABLE)
    map_ops = {n for n, op in REGISTRY.ops.items() if op.kind == "map"}   # derived from the elementwise rules
    missing = sorted(n for n, op in REGISTRY.ops.items() if op.builtin and n not in covered and n not in map_ops)
    assert not missing, f"registry ops without a meta case: {missing}"


@pytest.mark.parametrize("name", sorted(META_SAMPLES))
def test_meta_matches_cpu(name):
    f = REGISTRY.ops[name].fn
    for args, kwargs in META_SAMPLES[name]:
        _check_call(f, args, kwargs, f"{name}{[getattr(a, 'shape', a) for a in args]} {kwargs}")


@pytest.mark.parametrize("name", sorted(META_REFUSED))
def test_value_dependent_ops_refuse_meta(name):
    args, kwargs = META_REFUSED[name]
    with pytest.raises(NotImplementedError, match=name):
        REGISTRY.ops[name].fn(*[_to_meta(a) for a in args], **kwargs)


def test_meta_shape_errors_match_cpu():
    for f, args in ((jt.matmul, (_r(3, 4), _r(5, 6))), (jt.cat, ([_r(2, 3), _r(2, 4)],)),
                    (lambda a, b: a + b, (_r(3), _r(4)))):
        with pytest.raises(Exception) as cpu_err:
            f(*args)
        with pytest.raises(type(cpu_err.value)):
            f(*[_to_meta(a) for a in args])
