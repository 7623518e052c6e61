"""jt.autograd.grad's options and the Tensor autograd methods against torch: allow_unused,
materialize_grads, grad_outputs (and their shape check), is_grads_batched, retain_graph,
create_graph; register_hook (leaf and non-leaf, a hook replacing the gradient, handle.remove),
register_post_accumulate_grad_hook,
retain_grad / retains_grad, requires_grad_ and detach_, backward(inputs=). Each scenario runs
with both libraries and compares values, or the exception type and message start."""
import numpy as np
import pytest
import torch

import jtensor as jt


def outcome(f):
    """f()'s value as nested lists, or (exception type name, message start)."""
    try:
        r = f()
    except Exception as e:   # noqa: BLE001  (the exception is the result compared)
        return type(e).__name__, str(e)[:60]
    return _plain(r)


def _plain(v):
    if isinstance(v, (tuple, list)):
        return tuple(_plain(x) for x in v)
    if hasattr(v, "tolist"):
        return ("tensor", v.detach().tolist())
    return v


def xy(L):
    return L.tensor([1.0, 2.0, 3.0], requires_grad=True), L.tensor([4.0, 5.0, 6.0], requires_grad=True)


SCENARIOS = {
    "unused_raises": lambda L, x, y: L.autograd.grad((x * 2).sum(), [x, y]),
    "allow_unused": lambda L, x, y: L.autograd.grad((x * 2).sum(), [x, y], allow_unused=True),
    "materialize_grads": lambda L, x, y: L.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True),
    "materialize_with_allow_unused_false": lambda L, x, y: L.autograd.grad((x * 2).sum(), [x, y],
                                                                           materialize_grads=True, allow_unused=False),
    "grad_outputs": lambda L, x, y: L.autograd.grad(x * y, (x, y), L.tensor([1.0, 0.0, 2.0])),
    "grad_outputs_wrong_shape": lambda L, x, y: L.autograd.grad(x * 2, x, L.tensor([1.0, 0.0])),
    "non_scalar_needs_grad_outputs": lambda L, x, y: L.autograd.grad(x * 2, x),
    "is_grads_batched": lambda L, x, y: L.autograd.grad(x * y, (x, y), L.eye(3), is_grads_batched=True),
    "input_not_requiring_grad": lambda L, x, y: L.autograd.grad((x * 2).sum(), L.tensor([1.0])),
    "create_graph_second_order": lambda L, x, y: L.autograd.grad(
        L.autograd.grad((x ** 3 * y).sum(), x, create_graph=True)[0].sum(), (x, y)),
    "output_without_grad": lambda L, x, y: L.autograd.grad(L.ones(2).sum(), x),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_grad_options_as_torch(name):
    got = outcome(lambda: SCENARIOS[name](jt, *xy(jt)))
    exp = outcome(lambda: SCENARIOS[name](torch, *xy(torch)))
    assert got == exp


@pytest.mark.parametrize("lib", [jt, torch], ids=["jt", "torch"])
def test_retain_graph(lib):
    x, y = xy(lib)
    w = (x * y).sum()
    (gx,) = lib.autograd.grad(w, x, retain_graph=True)
    (gy,) = lib.autograd.grad(w, y)
    assert gx.tolist() == [4.0, 5.0, 6.0] and gy.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="(?i)trying to backward through the graph a second time"):
        lib.autograd.grad(w, y)


def hooks_scenario(L):
    a = L.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = a.register_hook(lambda g: seen.append(g.tolist()) or g * 2)
    (a * 3).sum().backward()
    first = (a.grad.tolist(), list(seen))
    handle.remove()
    a.grad = None
    (a * 3).sum().backward()
    removed = a.grad.tolist()
    b = a * 1
    b.retain_grad()
    b.register_hook(lambda g: g + 1)
    a.grad = None
    (b * b).sum().backward()
    return first, removed, b.grad.tolist(), b.retains_grad, a.grad.tolist(), a.is_leaf, b.is_leaf


def test_hooks_and_retain_grad_as_torch():
    assert hooks_scenario(jt) == hooks_scenario(torch)


def post_accumulate_scenario(L):
    """Post-accumulate-grad hooks: once per pass after all of a leaf's contributions (a leaf used
    three times, one used through a view, one the pass does not reach), before the next pass adds
    to .grad; not for autograd.grad; removed by the handle."""
    a = L.tensor([1.0, 2.0], requires_grad=True)
    b = L.tensor([3.0], requires_grad=True)
    unused = L.tensor([5.0], requires_grad=True)
    seen = []
    for t, name in ((a, "a"), (b, "b"), (unused, "unused")):
        t.register_post_accumulate_grad_hook(lambda t, name=name: seen.append((name, t.grad.tolist())))
    handle = a.register_post_accumulate_grad_hook(lambda t: seen.append(("a2", t.grad.sum().item())))
    (a * a * b + a[0:1] * 4).sum().backward()
    (a * 2).sum().backward()              # accumulates: the hook sees the sum of both passes
    L.autograd.grad((a * b).sum(), [a])   # no accumulation, no hook
    handle.remove()
    a.sum().backward()                    # a leaf as the root: one call
    return seen, a.grad.tolist(), b.grad.tolist(), unused.grad


def test_post_accumulate_grad_hooks_as_torch():
    assert post_accumulate_scenario(jt) == post_accumulate_scenario(torch)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (jt.tensor([1.0], requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)


TENSOR_METHODS = {
    "hook_without_grad": lambda L, a: L.tensor([1.0]).register_hook(lambda g: g),
    "retain_grad_without_grad": lambda L, a: L.tensor([1.0]).retain_grad(),
    "requires_grad_int": lambda L, a: L.tensor([1]).requires_grad_(),
    "requires_grad_false_on_non_leaf": lambda L, a: (a * 2).requires_grad_(False),
    "requires_grad_true_on_non_leaf": lambda L, a: (a * 2).requires_grad_(True).requires_grad,
    "detach_": lambda L, a: (lambda d: (d.detach_() is d, d.requires_grad, d.grad_fn is None, d.is_leaf))(a * 2),
    "detach_view": lambda L, a: a[0:1].detach_(),
    "retain_grad_on_leaf": lambda L, a: (a.retain_grad(), a.retains_grad),
    "backward_inputs": lambda L, a: (lambda q: ((a * q).sum().backward(inputs=[a]), a.grad, q.grad))(
        L.tensor([3.0, 4.0], requires_grad=True)),
}


@pytest.mark.parametrize("name", list(TENSOR_METHODS))
def test_tensor_autograd_methods_as_torch(name):
    def run(L):
        return outcome(lambda: TENSOR_METHODS[name](L, L.tensor([1.0, 2.0], requires_grad=True)))
    got, exp = run(jt), run(torch)
    if isinstance(exp, tuple) and len(exp) == 2 and exp[0] == "RuntimeError":
        assert got[0] == exp[0] and got[1][:30].lower() == exp[1][:30].lower()   # messages differ in detail
    else:
        assert got == exp


def test_batched_grads_equal_rows_of_the_jacobian():
    x = jt.tensor(np.linspace(0.5, 2.0, 4), requires_grad=True)
    (jac,) = jt.autograd.grad(x.sin() * x, x, jt.eye(4, dtype=jt.float64), is_grads_batched=True)
    np.testing.assert_allclose(np.asarray(jac), np.diag(np.cos(x.detach().numpy()) * x.detach().numpy()
                                                        + np.sin(x.detach().numpy())), rtol=1e-12)


# ---- in-place ops after the tensor was used: nodes keep the history their inputs had ---------------
def _inplace_programs(m):
    """Programs mixing earlier uses of a tensor with later in-place changes of it (or of its base)."""
    out = {}
    a = m.tensor([1.0, 2.0], requires_grad=True)
    x = a * 1
    y = x + 5            # uses x before the in-place changes: its gradient must not pass through them
    x.add_(3)
    x.mul_(2)
    (y.sum() + x.sum()).backward()
    out["earlier use"] = a.grad
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    p = a * 1
    v = p[0:2]
    w = v + 3            # the view's old values
    p.mul_(2)            # the view now holds doubled values
    (w.sum() + v.sum() * 10).backward()
    out["view of a rebased base"] = a.grad
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    p = a * 1
    vv = p[1:][1:]
    p.add_(1)
    p.mul_(a)
    vv.sum().backward()
    out["view of a view"] = a.grad
    return out


def _same_gradients_as_torch(programs):
    """Run `programs(m)` with jtensor and with torch; each named gradient must agree."""
    got, want = programs(jt), programs(torch)
    for k in want:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), err_msg=k)


def test_inplace_after_use_matches_torch():
    _same_gradients_as_torch(_inplace_programs)


# ---- t[key] = value with autograd (PyTorch's CopySlices) --------------------------------------------
def _setitem_programs(m):
    out = {}
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = a * 2
    x[1:] = a[:2] * 5                    # overwrite part of a tensor that requires grad
    (x * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    out["overwrite a slice"] = a.grad
    a = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    buf = m.zeros(2, 2)                  # a buffer without grad, filled with values that have it
    for i in range(2):
        buf[:, i] = a[:, i] * (i + 1)
    (buf ** 2).sum().backward()
    out["fill a buffer"] = a.grad
    a = m.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    b = m.tensor([10.0, 20.0], requires_grad=True)
    x = a + 1
    x[m.tensor([0, 2])] = b              # advanced index
    (x * x).sum().backward()
    out["index tensor: a"], out["index tensor: b"] = a.grad, b.grad
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = m.tensor(7.0, requires_grad=True)
    x = a * 1
    x[0] = s * 2
    x[2] = 0.5                           # a number: cuts that element's gradient
    x[a > 1.5] = a[a > 1.5] * 3          # a boolean mask
    x.sum().backward()
    out["scalars and masks: a"], out["scalars and masks: s"] = a.grad, s.grad
    a = m.tensor([1.0, 2.0], requires_grad=True)
    x = m.zeros(3, 2)
    x[1] = a
    (x * 3).sum().backward()
    out["broadcast row"] = a.grad
    return out


def test_setitem_records_like_torch():
    _same_gradients_as_torch(_setitem_programs)


def test_setitem_gradcheck():
    def f(a, b):
        x = a * 1
        x[1:3] = b * b
        x[0] = x[3] * 2                  # reads the tensor it writes: mul by a number saves nothing
        return x
    a = jt.tensor(np.random.default_rng(0).standard_normal(5), requires_grad=True)
    b = jt.tensor(np.random.default_rng(1).standard_normal(2), requires_grad=True)
    assert jt.autograd.gradcheck(f, (a, b))


def test_setitem_errors_stay_clear():
    leaf = jt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf[0] = 2.0
    a = jt.ones(2, 3, requires_grad=True)
    x = a * 1
    w = jt.ones(2, requires_grad=True)
    x[0][1:] = w * 3                     # a write into a view rebases x too (PyTorch's CopySlices)
    (x * x).sum().backward()
    assert w.grad.tolist() == [18.0, 18.0]
    assert a.grad.tolist() == [[2.0, 0.0, 0.0], [2.0, 2.0, 2.0]]
    with pytest.raises(RuntimeError, match="floating point"):
        jt.zeros(3, dtype=jt.int64)[0] = jt.ones((), requires_grad=True)
    with jt.no_grad():
        leaf[0] = 2.0                    # no recording under no_grad, as torch
    assert leaf[0].item() == 2.0
