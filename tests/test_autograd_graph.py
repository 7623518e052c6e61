"""jt.autograd.graph (saved-tensor hooks, save_on_cpu, disabling them), anomaly mode and
Variable / is_tensor_like against torch: the unpack hook's result is what backward uses, for
registry ops and custom Functions alike; NaN in backward raises naming the node."""
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt

RNG = np.random.default_rng(0)


def _np(t):
    return np.asarray(t.detach()) if isinstance(t, jt.Tensor) else t.detach().numpy()


def _grads(lib, fn, *arrays, hooks=None):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    if hooks is None:
        out = fn(lib, *xs)
    else:
        with lib.autograd.graph.saved_tensors_hooks(*hooks):
            out = fn(lib, *xs)
    out.backward()
    return [_np(x.grad) for x in xs]


FUNCTIONS = {
    "mul": lambda lib, x, y: (x * y).sum(),
    "exp": lambda lib, x, y: (x.exp() * y).sum(),
    "sin_matmul": lambda lib, x, y: (x.sin() @ y.t()).sum(),
    "tanh_chain": lambda lib, x, y: lib.tanh(x * y).sum(),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_identity_hooks_leave_gradients_unchanged_and_see_saved_tensors(name):
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    seen = []

    def pack(t):
        seen.append(tuple(t.shape))
        return t
    plain = _grads(jt, FUNCTIONS[name], x, y)
    hooked = _grads(jt, FUNCTIONS[name], x, y, hooks=(pack, lambda t: t))
    assert seen, "the pack hook saw no saved tensor"
    for a, b in zip(plain, hooked):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    tseen = []
    _grads(torch, FUNCTIONS[name], x, y, hooks=(lambda t: (tseen.append(1), t)[1], lambda t: t))
    # every tensor torch saves is saved here too (jtensor's sum formula also keeps its input, for the shape)
    assert len(seen) >= len(tseen)


def test_unpacked_value_is_what_backward_uses_like_torch():
    x, y = RNG.standard_normal((5,)), RNG.standard_normal((5,))
    fn = FUNCTIONS["mul"]
    for pack, unpack in [(lambda t: t * 2, lambda p: p), (lambda t: ("box", t.clone()), lambda p: p[1] * 3)]:
        jg = _grads(jt, fn, x, y, hooks=(pack, unpack))
        tg = _grads(torch, fn, x, y, hooks=(pack, unpack))
        for a, b in zip(jg, tg):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_hooks_apply_to_custom_function_saved_tensors():
    def make(lib):
        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a * a

            @staticmethod
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return 2 * a * g
        return Square
    x = RNG.standard_normal(4)
    res = []
    for lib in (jt, torch):
        sq = make(lib)
        res.append(_grads(lib, lambda lib, a: sq.apply(a).sum(), x, hooks=(lambda t: t + 1, lambda p: p)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12)
    np.testing.assert_allclose(res[0][0], 2 * (x + 1), rtol=1e-12)


def test_innermost_hooks_apply_and_are_restored():
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    for lib in (jt, torch):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t * 10, lambda p: p):
            with lib.autograd.graph.saved_tensors_hooks(lambda t: t * 2, lambda p: p):
                z = (a * b).sum()
            w = (a * b).sum()
        z.backward()
        np.testing.assert_allclose(_np(a.grad), 2 * y)
        a.grad = None
        w.backward()
        np.testing.assert_allclose(_np(a.grad), 10 * y)


def test_save_on_cpu_matches_plain_gradients():
    x, y = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    fn = lambda lib, a, b: lib.tanh(a @ b).pow(2).sum()   # noqa: E731
    for lib in (jt, torch):
        plain = _grads(lib, fn, x, y)
        xs = [lib.tensor(a, requires_grad=True) for a in (x, y)]
        with lib.autograd.graph.save_on_cpu(pin_memory=False):
            out = fn(lib, *xs)
        out.backward()
        for p, q in zip(plain, xs):
            np.testing.assert_allclose(p, _np(q.grad), rtol=1e-12)
    assert isinstance(jt.autograd.graph.save_on_cpu(), jt.autograd.graph.saved_tensors_hooks)


def test_disable_saved_tensors_hooks_like_torch():
    for lib in (jt, torch):
        g = lib.autograd.graph
        with g.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="no hooks here"):
                with g.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        with g.saved_tensors_hooks(lambda t: t, lambda t: t):     # enabled again after the block
            with pytest.raises(RuntimeError, match="dis"):
                with g.disable_saved_tensors_hooks("dis"):
                    pass


def test_grad_fn_is_a_graph_node():
    a = jt.ones(2, requires_grad=True)
    assert isinstance((a * 2).grad_fn, jt.autograd.graph.Node)


# ---- anomaly mode -------------------------------------------------------------------------------------

def _nan_backward(lib, case):
    if case == "function":
        class F(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a.clone()

            @staticmethod
            def backward(ctx, g):
                return g * float("nan")
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        return lambda: F.apply(a).sum().backward()
    if case == "sqrt":
        b = lib.tensor([0.0, 1.0], requires_grad=True)
        return lambda: (b.sqrt() * 0).sum().backward()
    b = lib.tensor([0.0, 1.0], requires_grad=True)
    return lambda: (b / b).sum().backward()


@pytest.mark.parametrize("case,pattern", [
    ("function", r"Function 'FBackward' returned nan values in its 0th output\."),
    ("sqrt", r"Function '(Mul|Sqrt)Backward0?' returned nan values in its 0th output\."),
    ("div", r"Function 'DivBackward0?' returned nan values in its 1th output\."),
])
def test_detect_anomaly_raises_on_nan_like_torch(case, pattern):
    for lib in (jt, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with lib.autograd.detect_anomaly():
                with pytest.raises(RuntimeError, match=pattern):
                    _nan_backward(lib, case)()
        _nan_backward(lib, case)()          # off again: no error
        assert not lib.is_anomaly_enabled()


def test_set_detect_anomaly_and_warning():
    for lib in (jt, torch):
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            with lib.autograd.detect_anomaly(check_nan=False):
                assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
                _nan_backward(lib, "function")()       # check_nan=False: no error
        with lib.autograd.set_detect_anomaly(True, check_nan=False):
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
        assert not lib.is_anomaly_enabled() and lib.is_anomaly_check_nan_enabled()
        lib.autograd.set_detect_anomaly(True)
        assert lib.is_anomaly_enabled()
        lib.autograd.set_detect_anomaly(False)
        assert not lib.is_anomaly_enabled()


# ---- Variable, is_tensor_like --------------------------------------------------------------------------

def test_variable_and_is_tensor_like_like_torch():
    for lib in (jt, torch):
        t = lib.ones(2)
        v = lib.autograd.Variable(t)
        assert v is not t and not v.requires_grad and isinstance(t, lib.autograd.Variable)
        assert v.data_ptr() == t.data_ptr()
        w = lib.autograd.Variable(t, requires_grad=True)
        assert w.requires_grad and w.is_leaf and not t.requires_grad
        b = lib.ones(2, requires_grad=True) * 2
        assert lib.autograd.Variable(b).grad_fn is None
        assert tuple(lib.autograd.Variable().shape) == (0,)
        with pytest.raises(TypeError, match="Variable data has to be a tensor, but got int"):
            lib.autograd.Variable(3)
        assert lib.autograd.is_tensor_like(t) and not lib.autograd.is_tensor_like(3)
