"""jt.autograd.Function against torch.autograd.Function: the same Function classes are written once
over a library namespace (`lib` is `torch` or `jtensor`) and run on copies of the same float64
inputs; outputs, gradients (first and second order) and errors are compared.

Covers ctx.save_for_backward / saved_tensors (inputs, outputs, intermediates), needs_input_grad,
non-tensor arguments (None gradients, keyword and default arguments bound as torch binds them),
multiple outputs, mark_non_differentiable, set_materialize_grads, mark_dirty (in-place forward),
an input returned unchanged, the setup_context style, once_differentiable, double backward
through a backward written with differentiable ops, hooks and retain_grad on Function outputs,
jt.func.grad over a Function, vmap with a `vmap` staticmethod / generate_vmap_rule and torch's
errors without, and torch's checks of what backward returns."""
import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.func
from jtensor.autograd.function import once_differentiable as jt_once
from torch.autograd.function import once_differentiable as th_once

LIBS = {"jt": (jt, jt_once), "torch": (torch, th_once)}


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def leaf(lib, a, requires_grad=True):
    return lib.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


def arr(t):
    return None if t is None else np.asarray(t.detach())


def both(build, run):
    """run(lib, classes) for both libraries; returns (jt result, torch result)."""
    out = {}
    for name, (lib, once) in LIBS.items():
        out[name] = run(lib, build(lib, once))
    return out["jt"], out["torch"]


def check(run, tol=1e-10):
    """run(lib, classes) gives the same results with jtensor as with torch."""
    a, b = both(build, run)
    assert_same(a, b, tol)
    return a


def assert_same(a, b, tol=1e-10):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y, tol)
    elif b is None or isinstance(b, (bool, int, float)):
        assert a == b
    else:
        np.testing.assert_allclose(arr(a), arr(b), rtol=tol, atol=tol)
        assert tuple(a.shape) == tuple(b.shape)


# ---- the Functions, once per library ---------------------------------------------------------

def build(lib, once):
    F = lib.autograd.Function

    class Exp(F):
        @staticmethod
        def forward(ctx, x):
            r = x.exp()
            ctx.save_for_backward(r)
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * r     # differentiable: r is the output, so double backward works

    class MulScale(F):   # tensor, tensor, non-tensor (with a default)
        @staticmethod
        def forward(ctx, x, y, scale=2.0):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            ctx.flags = ctx.needs_input_grad
            return x * y * scale

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            gx = g * y * ctx.scale if ctx.needs_input_grad[0] else None
            gy = g * x * ctx.scale if ctx.needs_input_grad[1] else None
            return gx, gy, None

    class SinCos(F):     # two outputs
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    class SortND(F):     # an integer output marked non-differentiable
        @staticmethod
        def forward(ctx, x):
            s, i = x.sort()
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            return s, i

        @staticmethod
        def backward(ctx, gs, gi):
            (i,) = ctx.saved_tensors
            return lib.zeros_like(gs).scatter(0, i, gs)

    class NoMaterialize(F):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.seen = (g1 is None, g2 is None)
            out = 0
            if g1 is not None:
                out = out + 2 * g1
            if g2 is not None:
                out = out + 3 * g2
            return out

    class Materialize(F):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.seen = (g1 is None, g2 is None, float(g2.abs().sum()))
            return 2 * g1 + 3 * g2

    class AddOneInplace(F):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 1

    class Identity(F):   # returns its input unchanged
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return 3 * g

    class Cube(F):       # setup_context style
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * g * x * x

    class CubeVmap(Cube):
        @staticmethod
        def vmap(info, in_dims, x):
            ctx_bs = info.batch_size
            return CubeVmap.apply(x), in_dims[0] if ctx_bs else None

    class CubeGenerated(Cube):
        generate_vmap_rule = True

    class Once(F):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * g * x

    class WrongCount(F):
        @staticmethod
        def forward(ctx, x, n):
            return x * n

        @staticmethod
        def backward(ctx, g):
            return g

    class GradForInt(WrongCount):
        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(F):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return lib.ones(5, dtype=lib.float64)

    class VjpName(F):    # backward under torch's other name
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, g):
            return 2 * g

    class ExtraNones(WrongShape):
        @staticmethod
        def backward(ctx, g):
            return 2 * g, None, None

    return {k: v for k, v in locals().items() if isinstance(v, type)}


# ---- forward values, gradients -----------------------------------------------------------------

def test_saved_output_first_and_second_derivative():
    x0 = rnd(4)

    def run(lib, C):
        x = leaf(lib, x0)
        y = C["Exp"].apply(x)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return y, g, gg, type(y.grad_fn).__name__ if lib is torch else y.grad_fn.name
    a, b = both(build, run)
    assert_same(a[:3], b[:3])
    assert a[3] == b[3] == "ExpBackward"


def test_non_tensor_argument_default_and_keyword():
    x0, y0 = rnd(3, 1), rnd(3, 2)

    def run(lib, C):
        res = []
        for kwargs in ({}, {"scale": 0.5}):
            x, y = leaf(lib, x0), leaf(lib, y0)
            out = C["MulScale"].apply(x, y, **kwargs)
            out.sum().backward()
            res += [out, x.grad, y.grad]
        x, y = leaf(lib, x0), leaf(lib, y0, requires_grad=False)
        out = C["MulScale"].apply(x, y, 4.0)
        out.sum().backward()
        res += [out, x.grad, out.grad_fn is not None]
        return res
    check(run)


def test_needs_input_grad():
    def run(lib, C):
        x, y = leaf(lib, [1.0]), leaf(lib, [2.0], requires_grad=False)
        seen = []
        orig = C["MulScale"].forward

        class Spy(C["MulScale"]):
            @staticmethod
            def forward(ctx, *args):
                r = orig(ctx, *args)
                seen.append(tuple(ctx.needs_input_grad))
                return r
        Spy.apply(x, y, 3.0)
        with lib.no_grad():
            Spy.apply(x, y, 3.0)
        return seen
    a, b = both(build, run)
    assert a == b == [(True, False, False), (True, False, False)]   # torch: the inputs' flags, even under no_grad


def test_two_outputs_one_or_both_used():
    x0 = rnd(5, 3)

    def run(lib, C):
        res = []
        for use in ("sin", "cos", "both"):
            x = leaf(lib, x0)
            s, c = C["SinCos"].apply(x)
            loss = {"sin": s.sum(), "cos": (c * c).sum(), "both": (s * c).sum()}[use]
            loss.backward()
            res += [s, c, x.grad]
        return res
    check(run)


def test_mark_non_differentiable():
    def run(lib, C):
        x = leaf(lib, rnd(6, 4))
        s, i = C["SortND"].apply(x)
        (s * lib.arange(6, dtype=lib.float64)).sum().backward()
        return s, i.to(lib.float64), x.grad, s.requires_grad, i.requires_grad
    check(run)


def test_materialize_grads_on_and_off():
    x0 = rnd(3, 5)

    def run(lib, C):
        x = leaf(lib, x0)
        a, b_ = C["NoMaterialize"].apply(x)
        a.sum().backward()
        seen_off = a.grad_fn.ctx.seen if lib is jt else None
        g_off = x.grad
        x = leaf(lib, x0)
        a, b_ = C["Materialize"].apply(x)
        a.sum().backward()
        return g_off, x.grad, seen_off
    a, b = both(build, run)
    assert_same(a[:2], b[:2])
    assert a[2] == (False, True)   # torch's ctx is not reachable the same way; the gradient proves it there


def test_mark_dirty_inplace_forward():
    x0 = rnd(4, 6)

    def run(lib, C):
        x = leaf(lib, x0)
        z = x * 2
        w = C["AddOneInplace"].apply(z)
        same = w is z
        (w * w).sum().backward()
        return w, x.grad, same, z._version if lib is torch else z._version[0]
    a, b = both(build, run)
    assert_same(a[:3], b[:3])
    assert a[3] >= 1 and b[3] >= 1


def test_mark_dirty_on_leaf_raises():
    for lib, C in ((jt, build(jt, jt_once)), (torch, build(torch, th_once))):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            C["AddOneInplace"].apply(leaf(lib, [1.0, 2.0]))


def test_input_returned_unchanged_is_a_new_output():
    def run(lib, C):
        x = leaf(lib, [1.0, 2.0])
        y = C["Identity"].apply(x)
        (g,) = lib.autograd.grad(y.sum(), x)
        return y, g, y is x, y.grad_fn is not None
    a = check(run)
    assert a[2] is False and a[3] is True


def test_setup_context_style_and_func_grad():
    x0 = rnd(4, 7)

    def run(lib, C):
        x = leaf(lib, x0)
        y = C["Cube"].apply(x)
        y.sum().backward()
        fg = lib.func.grad(lambda t: C["Cube"].apply(t).sum())(lib.tensor(x0))
        return y, x.grad, fg
    check(run)


def test_vmap_with_vmap_staticmethod_and_generated_rule():
    x0 = rnd((3, 4), 8)

    def run(lib, C):
        return (lib.func.vmap(C["CubeVmap"].apply)(lib.tensor(x0)),
                lib.func.vmap(C["CubeGenerated"].apply)(lib.tensor(x0)),
                lib.func.vmap(lib.func.grad(lambda t: C["CubeGenerated"].apply(t).sum()))(lib.tensor(x0)))
    check(run)


def test_vmap_without_rule_raises_as_torch():
    for lib, C in ((jt, build(jt, jt_once)), (torch, build(torch, th_once))):
        with pytest.raises(RuntimeError, match="does not have vmap support"):
            lib.func.vmap(C["Cube"].apply)(lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="must override the setup_context staticmethod"):
            lib.func.vmap(C["Exp"].apply)(lib.ones(2, 3))


def test_once_differentiable():
    x0 = rnd(3, 9)

    def run(lib, C):
        x = leaf(lib, x0)
        y = C["Once"].apply(x)
        v = leaf(lib, np.ones(3))   # a cotangent that requires grad: backward's result must too
        (g,) = lib.autograd.grad(y, x, v, create_graph=True)
        with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                               "@once_differentiable"):
            g.sum().backward()
        x2 = leaf(lib, x0)
        C["Once"].apply(x2).sum().backward()
        return g, x2.grad, g.requires_grad
    check(run)


def test_double_backward_through_function_in_a_larger_graph():
    x0, y0 = rnd(3, 10), rnd(3, 11)

    def run(lib, C):
        x, y = leaf(lib, x0), leaf(lib, y0)
        out = (C["MulScale"].apply(x.sin(), C["Exp"].apply(y), 1.5) ** 2).sum()
        gx, gy = lib.autograd.grad(out, (x, y), create_graph=True)
        hx, hy = lib.autograd.grad((gx * gy).sum(), (x, y))
        return out, gx, gy, hx, hy
    check(run, 1e-9)


def test_jt_gradcheck_and_gradgradcheck_on_functions():
    C = build(jt, jt_once)
    x = jt.tensor(rnd(3, 12), requires_grad=True)
    assert jt.autograd.gradcheck(C["Exp"].apply, (x,))
    assert jt.autograd.gradgradcheck(C["Exp"].apply, (x,))
    assert jt.autograd.gradcheck(lambda t: C["SinCos"].apply(t)[1], (x,))


def test_hooks_and_retain_grad_on_function_outputs():
    x0 = rnd(3, 13)

    def run(lib, C):
        x = leaf(lib, x0)
        y = C["Exp"].apply(x)
        y.retain_grad()
        y.register_hook(lambda g: g * 10)
        (y * y).sum().backward()
        return y.grad, x.grad
    check(run)


def test_no_graph_without_grad():
    def run(lib, C):
        y = C["Exp"].apply(lib.tensor([1.0, 2.0], dtype=lib.float64))
        with lib.no_grad():
            z = C["Exp"].apply(leaf(lib, [1.0]))
        return y, y.requires_grad, z.requires_grad, y.grad_fn is None
    check(run)


def test_retain_graph_and_freed_saved_tensors():
    for lib, C in ((jt, build(jt, jt_once)), (torch, build(torch, th_once))):
        x = leaf(lib, [0.5, 1.5])
        y = C["Exp"].apply(x)
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        np.testing.assert_allclose(arr(x.grad), 2 * np.exp([0.5, 1.5]))
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()


def test_inplace_change_of_saved_tensor_raises():
    for lib, C in ((jt, build(jt, jt_once)), (torch, build(torch, th_once))):
        x = leaf(lib, [0.5, 1.5])
        y = C["Exp"].apply(x)
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("name, pattern", [
    ("WrongCount", "returned an incorrect number of gradients \\(expected 2, got 1\\)"),
    ("GradForInt", "returned a gradient different than None at position 2, but the corresponding forward input "
                   "was not a Variable"),
    ("WrongShape", "returned an invalid gradient at index 0 - got \\[5\\] but expected shape compatible with \\[2\\]"),
])
def test_backward_result_checks(name, pattern):
    for lib, C in ((jt, build(jt, jt_once)), (torch, build(torch, th_once))):
        args = (leaf(lib, [1.0, 2.0]),) + ((3,) if name != "WrongShape" else ())
        with pytest.raises(RuntimeError, match=pattern):
            C[name].apply(*args).sum().backward()


def test_extra_trailing_none_gradients_are_allowed():
    def run(lib, C):
        x = leaf(lib, [1.0, 2.0])
        return lib.autograd.grad(C["ExtraNones"].apply(x).sum(), x)
    check(run)


def test_backward_named_vjp():
    def run(lib, C):
        x = leaf(lib, [1.0, 2.0])
        return lib.autograd.grad(C["VjpName"].apply(x).sum(), x)
    check(run)


def test_imports_match_torch():
    from jtensor.autograd import Function, FunctionCtx  # noqa: F401
    from jtensor.autograd.function import once_differentiable, FunctionCtx as F2  # noqa: F401
    assert jt.autograd.Function is Function and FunctionCtx is F2
