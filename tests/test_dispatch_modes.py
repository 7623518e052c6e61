"""`__jtensor_dispatch__` and dispatch modes (jt.utils._python_dispatch), ported from PyTorch's
documented ``__torch_dispatch__`` examples: a logging mode that sees every primitive of a training
step (forward, backward and optimizer step), and a FakeTensor wrapper subclass that runs a model on
the meta device, without data. Values are checked against the same program run without the mode,
and against torch for the training step."""
import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.nn.functional as F
from jtensor import nn
from jtensor.utils._python_dispatch import (JTensorDispatchMode, LoggingMode, _get_current_dispatch_mode,
                                            _get_current_dispatch_mode_stack, _pop_mode, _push_mode)


def tree_map(f, v):
    if hasattr(v, "_fields"):
        return type(v)(*[tree_map(f, x) for x in v])
    if isinstance(v, (list, tuple)):
        return type(v)(tree_map(f, x) for x in v)
    if isinstance(v, dict):
        return {k: tree_map(f, x) for k, x in v.items()}
    return f(v)


def _mlp(seed=0):
    jt.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def _train_step(model, opt, x, y):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss


def _names(log):
    return [line.split("(")[0] for line in log]


def test_logging_mode_sees_every_primitive_of_a_training_step():
    rng = np.random.default_rng(0)
    x, y = jt.tensor(rng.standard_normal((3, 4)), dtype=jt.float32), jt.tensor(rng.standard_normal((3, 2)), dtype=jt.float32)
    model = _mlp()
    opt = jt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with LoggingMode() as mode:
        assert _get_current_dispatch_mode() is mode
        loss = F.mse_loss(model(x), y)
        forward = list(mode.log)
        loss.backward()
        backward = mode.log[len(forward):]
        opt.step()
        step = mode.log[len(forward) + len(backward):]
    assert _get_current_dispatch_mode() is None
    # the forward: the registry ops F.linear, relu and mse_loss decompose into, with shapes
    assert forward == [
        "jt.ops._linear(float32[3, 4], float32[8, 4], float32[8]) -> float32[3, 8]",
        "jt.ops.relu(float32[3, 8]) -> float32[3, 8]",
        "jt.ops._linear(float32[3, 8], float32[2, 8], float32[2]) -> float32[3, 2]",
        "jt.ops.sub(float32[3, 2], float32[3, 2], 1) -> float32[3, 2]",
        "jt.ops.square(float32[3, 2]) -> float32[3, 2]",
        "jt.ops.mean(float32[3, 2], None, False, None) -> float32[]",
    ]
    # the backward runs primitives too: the derivatives' matmuls and reductions, relu's backward,
    # the transposes (views: as_strided)
    b = _names(backward)
    assert b[0] == "jt.ops.fill_"                       # the seed gradient, ones
    for name in ("jt.ops.matmul", "jt.ops._relu_backward", "jt.ops.sum", "jt.ops.as_strided", "jt.ops.mul"):
        assert name in b, name
    assert b.count("jt.ops.matmul") == 3              # both weights' gradients and the hidden layer's
    # the optimizer: one fused SGD step per parameter
    assert _names(step).count("jt.ops._sgd_step_") == 4
    # the mode only watches: the same step without it gives the same parameters
    model2 = _mlp()
    opt2 = jt.optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)
    _train_step(model2, opt2, x, y)
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_training_under_a_mode_matches_torch():
    rng = np.random.default_rng(1)
    xs, ys = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 2)).astype(np.float32)
    model = _mlp()
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        for p, q in zip(tmodel.parameters(), model.parameters()):
            p.copy_(torch.from_numpy(q.detach().numpy()))
    opt = jt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    with LoggingMode():
        for _ in range(3):
            _train_step(model, opt, jt.tensor(xs), jt.tensor(ys))
    for _ in range(3):
        loss = torch.nn.functional.mse_loss(tmodel(torch.from_numpy(xs)), torch.from_numpy(ys))
        loss.backward()
        topt.step()
        topt.zero_grad()
    for p, q in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_modes_nest_and_the_fast_path_comes_back():
    fast = jt.drivers._fast_map
    outer, inner = LoggingMode(), LoggingMode()
    x = jt.ones(2)
    with outer:
        with inner:
            assert _get_current_dispatch_mode_stack() == [outer, inner]
            r = jt.exp(x)
        jt.neg(r)
    # the inner mode sees exp first; running it reaches the outer mode, which then sees it too
    assert _names(inner.log) == ["jt.ops.exp"]
    assert _names(outer.log) == ["jt.ops.exp", "jt.ops.neg"]
    assert jt.drivers._fast_map is fast
    assert not jt.codegen._NAMESPACES or all(ns["_fast"] is fast for ns in jt.codegen._NAMESPACES.values())
    m = _push_mode(LoggingMode())
    try:
        jt.add(x, 1)
    finally:
        assert _pop_mode() is m
    assert _names(m.log) == ["jt.ops.add"]


def test_a_mode_can_change_results_and_decline():
    class DoubleExp(JTensorDispatchMode):
        def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
            if func.__name__ == "exp":
                return func(*args, **(kwargs or {})) * 2
            return NotImplemented           # everything else runs as usual

    x = jt.tensor([0.0, 1.0])
    with DoubleExp():
        y = jt.exp(x)
        z = jt.neg(x)
    np.testing.assert_allclose(y.numpy(), 2 * np.exp([0.0, 1.0]), rtol=1e-6)
    np.testing.assert_array_equal(z.numpy(), [-0.0, -1.0])


def test_func_carries_name_and_schema_and_runs_below_autograd():
    seen = {}

    class Capture(JTensorDispatchMode):
        def __jtensor_dispatch__(self, func, types, args=(), kwargs=None):
            seen.setdefault(func.__name__, (func, args))
            return func(*args, **(kwargs or {}))

    x = jt.ones(2, 3, requires_grad=True)
    with Capture():
        y = (x * 3).sum(1)
    func, args = seen["mul"]
    assert func.name() == "jt.ops.mul" and func.schema.startswith("mul(") and "Tensor" in func.schema
    assert func.op.name == "mul"
    assert y.grad_fn is not None                      # autograd recorded above the mode
    # calling func runs the op below autograd: no graph even on inputs that require grad
    r = func(x, 2.0)
    assert r.grad_fn is None and r.tolist() == [[2.0] * 3] * 2
    assert seen["sum"][1][1:] == (1, False, None)


# ---- a wrapper subclass: FakeTensor on the meta device ------------------------------------------------

class FakeTensor(jt.Tensor):
    """A tensor with a shape, dtype and device but no data: every primitive runs on the meta device
    (shapes and dtypes only), as PyTorch's FakeTensor does."""
    __jtensor_function__ = jt.overrides._disabled_jtensor_function_impl    # only the dispatch level
    ops = []

    def __new__(cls, inner):
        t = jt.Tensor._make_wrapper_subclass(cls, inner.shape, inner.dtype, strides=inner.stride(),
                                             storage_offset=inner.storage_offset())
        t.inner = inner
        return t

    def __init__(self, inner):
        pass

    def __repr__(self):
        return f"FakeTensor(size={tuple(self.shape)}, dtype={self.dtype})"

    __str__ = __repr__

    @classmethod
    def __jtensor_dispatch__(cls, func, types, args=(), kwargs=None):
        cls.ops.append(func.__name__)

        def unwrap(v):
            if isinstance(v, FakeTensor):
                return v.inner
            if isinstance(v, jt.Tensor) and not v.is_meta:     # real tensors (weights) meet fakes
                return v.detach().to("meta")
            return v
        out = func(*tree_map(unwrap, args), **tree_map(unwrap, kwargs or {}))
        if func.variant == "inplace":
            return args[0]
        return tree_map(lambda v: FakeTensor(v) if isinstance(v, jt.Tensor) else v, out)


def test_fake_tensor_runs_a_model_without_data():
    FakeTensor.ops.clear()
    jt.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    x = FakeTensor(jt.empty(100000, 64, device="meta"))      # 25 MB of input that never exists
    assert x.device == jt.device("cpu") and x.shape == (100000, 64)
    out = model(x)
    assert type(out) is FakeTensor and out.shape == (100000, 10) and out.dtype == jt.float32
    assert out.inner.is_meta and out.grad_fn is not None
    target = FakeTensor(jt.empty(100000, dtype=jt.int64, device="meta"))
    loss = F.cross_entropy(out, target)
    assert type(loss) is FakeTensor and loss.shape == ()
    loss.backward()
    for p in model.parameters():
        assert type(p.grad) is FakeTensor and p.grad.shape == p.shape
    computed = [o for o in FakeTensor.ops if o != "detach"]    # (autograd saves outputs by detach)
    assert computed[:4] == ["_linear", "relu", "_linear", "_cross_entropy"]
    assert "_cross_entropy_backward" in FakeTensor.ops and "_relu_backward" in FakeTensor.ops
    # views are primitives too
    v = x[:10].T
    assert type(v) is FakeTensor and v.shape == (64, 10) and FakeTensor.ops[-1] == "as_strided"
    with pytest.raises(Exception):
        x.numpy()                                           # no data to read


def test_fake_tensor_matches_real_shapes_for_conv_net():
    real = jt.randn(2, 3, 16, 16)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 5))
    fake_out = net(FakeTensor(jt.empty(2, 3, 16, 16, device="meta")))
    real_out = net(real)
    assert type(fake_out) is FakeTensor and fake_out.shape == real_out.shape and fake_out.dtype == real_out.dtype


def test_dispatch_subclass_priority_and_not_implemented():
    order = []

    class A(jt.Tensor):
        __jtensor_function__ = jt.overrides._disabled_jtensor_function_impl

        @classmethod
        def __jtensor_dispatch__(cls, func, types, args=(), kwargs=None):
            order.append(("A", [t.__name__ for t in types]))
            plain = tree_map(lambda v: v.as_subclass(jt.Tensor) if isinstance(v, jt.Tensor) else v, args)
            return func(*plain, **(kwargs or {}))

    class B(A):
        @classmethod
        def __jtensor_dispatch__(cls, func, types, args=(), kwargs=None):
            order.append(("B", [t.__name__ for t in types]))
            return NotImplemented

    a = jt.ones(2).as_subclass(A)
    b = jt.ones(2).as_subclass(B)
    r = jt.mul(a, b)
    assert order == [("B", ["B", "A"]), ("A", ["B", "A"])]    # the subclass first, then its base
    assert type(r) is jt.Tensor and r.tolist() == [1.0, 1.0]

    class C(jt.Tensor):
        __jtensor_function__ = jt.overrides._disabled_jtensor_function_impl

        @classmethod
        def __jtensor_dispatch__(cls, func, types, args=(), kwargs=None):
            return NotImplemented
    with pytest.raises(TypeError, match="no implementation found for 'jt.ops.neg'"):
        jt.neg(jt.ones(2).as_subclass(C))


def test_plain_tensors_are_untouched_by_defined_dispatch_subclasses():
    # defining subclasses with __jtensor_dispatch__ (above) does not change plain programs
    x = jt.arange(6.).reshape(2, 3)
    np.testing.assert_allclose((x.exp() @ x.T).numpy(), np.exp(x.numpy()) @ x.numpy().T, rtol=1e-6)
