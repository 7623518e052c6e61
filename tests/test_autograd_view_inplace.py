"""In-place writes into views of tensors that require grad (PyTorch's CopySlices), compared with
PyTorch running the same program: the forward values and every input's gradient must agree.

Each scenario is a function of the library (torch or jtensor) and the input tensors; it returns
the tensor whose sum is differentiated.
"""
import numpy as np
import pytest
import torch

import jtensor as jt


def _run(lib, scenario, arrays, double=False):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = scenario(lib, *xs)
    if double:   # the gradient's own gradient (create_graph) through the write
        g = (lib.autograd.grad(out.sum(), xs[0], create_graph=True)[0] ** 2).sum()
        return out, list(lib.autograd.grad(g, xs, allow_unused=True))
    out.sum().backward()
    return out, [x.grad for x in xs]


def _np(t):
    return None if t is None else np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach())


def _check(scenario, *shapes, double=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    t_out, t_grads = _run(torch, scenario, arrays, double)
    j_out, j_grads = _run(jt, scenario, arrays, double)
    np.testing.assert_allclose(_np(j_out), _np(t_out), rtol=1e-10, atol=1e-12)
    for i, (jg, tg) in enumerate(zip(j_grads, t_grads)):
        if tg is None:
            assert jg is None or not np.any(_np(jg)), f"input {i}: torch gives no gradient"
            continue
        np.testing.assert_allclose(_np(jg), _np(tg), rtol=1e-9, atol=1e-12, err_msg=f"input {i}")


def slice_mul(lib, x):
    y = x * 2
    y[1:].mul_(3)
    return y


def view_of_view(lib, x):
    y = x * 1.5
    v = y.view(2, 3)
    v[0].add_(1)
    v[:, 1].mul_(v[:, 2].detach().clone())
    return y * y


def formula_reads_input(lib, x):
    y = x + 0
    y[::2].sin_()
    return y


def other_input_needs_grad(lib, x, w):
    y = x * 1
    y[2:5].mul_(w)
    return y


def base_without_grad(lib, w):
    buf = lib.zeros(4, 3, dtype=lib.float64)
    for i in range(4):
        buf[i].copy_(w * (i + 1))
    return buf.tanh()


def transposed_view(lib, x):
    y = x.reshape(3, 4) * 1
    y.t()[1].add_(y[:, 0].detach())
    y.T[2].mul_(2)
    return y


def sibling_views(lib, x):
    y = x * 3
    a, b = y[:2], y[2:]
    a.mul_(2)
    return b * y[:4].sum() + a.sum()


def setitem_on_view(lib, x, w):
    y = x.reshape(2, 6) * 1
    row = y[1]
    row[2:4] = w
    return y.sin()


def diagonal_write(lib, x):
    m = x.reshape(3, 3) + 0
    m.diagonal().mul_(3)
    m.diagonal()[1:].add_(m[0, 1].detach().clone())
    return m


def selected_rows(lib, x):
    y = x.reshape(3, 2) * 1
    for i in range(3):
        y.select(0, i).mul_(i + 2)
    return y.cumsum(0)


@pytest.mark.parametrize("scenario,shapes", [
    (slice_mul, [(4,)]),
    (view_of_view, [(6,)]),
    (formula_reads_input, [(7,)]),
    (other_input_needs_grad, [(8,), (3,)]),
    (base_without_grad, [(3,)]),
    (transposed_view, [(12,)]),
    (sibling_views, [(5,)]),
    (setitem_on_view, [(12,), (2,)]),
    (diagonal_write, [(9,)]),
    (selected_rows, [(6,)]),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_write_into_view_matches_torch(scenario, shapes):
    _check(scenario, *shapes)


@pytest.mark.parametrize("scenario,shapes", [(formula_reads_input, [(7,)]), (other_input_needs_grad, [(8,), (3,)])],
                         ids=lambda v: v.__name__ if callable(v) else None)
def test_second_derivative_through_a_view_write(scenario, shapes):
    _check(scenario, *shapes, double=True)


def test_view_of_a_leaf_refuses_in_place_writes():
    x = jt.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[1:].mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[1:][0] = 3.0
    with jt.no_grad():   # as in an optimizer step
        x[1:].mul_(2)
    assert x.tolist() == [1.0, 2.0, 2.0, 2.0]


def test_a_saved_base_changed_through_its_view_is_detected():
    x = jt.ones(4, dtype=jt.float64, requires_grad=True)
    y = x.exp()
    y[0].add_(1)   # exp's backward reads y, now changed
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_detach_is_not_a_view_for_autograd():
    x = jt.ones(3, dtype=jt.float64, requires_grad=True)
    y = x * 2
    d = y.detach()
    d.mul_(5)   # changes y's memory but not its history, as in PyTorch
    (y * x).sum().backward()
    assert x.grad.tolist() == [12.0, 12.0, 12.0]


@pytest.mark.parametrize("program", ["y.mul_(y)", "y.mul_(y.detach())", "y[:2].mul_(y[2:])"])
def test_an_operand_changed_by_the_write_it_feeds_is_detected(program):
    """The formula of y.mul_(other) reads `other`; when `other` shares y's memory the write changes
    it, so backward refuses, as in PyTorch (whose message both match)."""
    for lib in (torch, jt):
        x = lib.ones(4, dtype=lib.float64, requires_grad=True)
        y = x * 2
        exec(program, {"y": y})
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_leaf_gradients_own_their_memory():
    """A leaf's .grad is laid out as the leaf and shares memory with nothing else (PyTorch copies a
    gradient its AccumulateGrad cannot steal), so in-place updates of it (an optimizer step,
    clip_grad_norm_) neither fail on a broadcast view nor change another tensor."""
    w = jt.ones(3, requires_grad=True)
    w.sum().backward()                      # sum's backward gives an expanded view
    assert w.grad.stride() == (1,)
    w.grad.mul_(2)
    a, b = jt.ones(3, requires_grad=True), jt.ones(3, requires_grad=True)
    (a + b).sum().backward()                # add's backward hands both the same gradient
    a.grad.mul_(2)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    x, v = jt.ones(3, requires_grad=True), jt.ones(3)
    (x + 0).backward(v)                     # the caller's gradient passes through unchanged
    x.grad.mul_(5)
    assert v.tolist() == [1.0, 1.0, 1.0]
    m = jt.ones(3, 4, requires_grad=True)
    (m.t() * 1).sum().backward()
    assert m.grad.stride() == (4, 1)
    p = jt.ones(2, requires_grad=True)
    jt.autograd.backward([(p + 0).sum()], inputs=[p])
    q = jt.ones(2, requires_grad=True)
    (p + q).sum().backward()
    assert p.grad.tolist() == [2.0, 2.0] and q.grad.tolist() == [1.0, 1.0]
