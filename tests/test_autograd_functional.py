"""jt.autograd.functional against torch.autograd.functional on the same float64 inputs: vjp, jvp,
jacobian, hessian, vhp, hvp with single tensors and tuples of inputs and outputs (results must
have torch's nesting, shapes and values), create_graph (results stay differentiable, compared
through a further gradient), strict mode errors, the accepted vectorize / strategy arguments,
and torch's argument errors."""
import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF

import jtensor as jt
import jtensor.autograd.functional as JAF

TOL = 1e-10


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def close(got, exp, tol=TOL):
    """Same nesting (tuples; torch's forward-mode strategy gives lists), shapes and values."""
    if isinstance(exp, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(exp), (type(got), got)
        for g, e in zip(got, exp):
            close(g, e, tol)
        return
    assert isinstance(got, jt.Tensor), type(got)
    assert tuple(got.shape) == tuple(exp.shape)
    np.testing.assert_allclose(np.asarray(got.detach()), exp.detach().numpy(), rtol=tol, atol=tol)


def both(fn_of_lib, *arrays):
    """Run fn(lib, *tensors) with jt and torch on the same arrays."""
    return (fn_of_lib(jt, *[jt.tensor(a) for a in arrays]),
            fn_of_lib(torch, *[torch.tensor(a) for a in arrays]))


# functions written once for both libraries
def f_single(x):
    return (x.sin() * x).exp()


def f_multi_in(x, y):
    return x.unsqueeze(1) * y.tanh()                  # (3,) , (2,) -> (3, 2)


def f_multi_out(x, y):
    return (x * y.sum()).cos(), (x ** 2).sum() + y.prod()


def scalar(x, y):
    return (x.unsqueeze(1) * y ** 2).sin().sum() + (x ** 3).sum()


def scalar1(x):
    return (x ** 2 * x.sin()).sum()


X, Y, V3, V2, V32 = rnd(3, 1), rnd(2, 2), rnd(3, 3), rnd(2, 4), rnd((3, 2), 5)


@pytest.mark.parametrize("create_graph", [False, True])
def test_vjp(create_graph):
    got, exp = both(lambda L, x, v: L.autograd.functional.vjp(f_single, x, v, create_graph=create_graph), X, V3)
    close(got, exp)
    got, exp = both(lambda L, x, y, v: L.autograd.functional.vjp(f_multi_in, (x, y), v), X, Y, V32)
    close(got, exp)
    got, exp = both(lambda L, x, y, a, b: L.autograd.functional.vjp(f_multi_out, (x, y), (a, b)), X, Y, V3,
                    np.array(0.7))
    close(got, exp)
    got, exp = both(lambda L, x: L.autograd.functional.vjp(scalar1, x), X)   # v=None: scalar output
    close(got, exp)


@pytest.mark.parametrize("create_graph", [False, True])
def test_jvp(create_graph):
    got, exp = both(lambda L, x, v: L.autograd.functional.jvp(f_single, x, v, create_graph=create_graph), X, V3)
    close(got, exp)
    got, exp = both(lambda L, x, y, a, b: L.autograd.functional.jvp(f_multi_in, (x, y), (a, b)), X, Y, V3, V2)
    close(got, exp)
    got, exp = both(lambda L, x, y, a, b: L.autograd.functional.jvp(f_multi_out, (x, y), (a, b)), X, Y, V3, V2)
    close(got, exp)


@pytest.mark.parametrize("kwargs", [{}, {"create_graph": True}, {"vectorize": True},
                                    {"vectorize": True, "strategy": "forward-mode"}])
def test_jacobian(kwargs):
    got, exp = both(lambda L, x: L.autograd.functional.jacobian(f_single, x, **kwargs), X)
    close(got, exp)
    got, exp = both(lambda L, x, y: L.autograd.functional.jacobian(f_multi_in, (x, y), **kwargs), X, Y)
    close(got, exp)
    got, exp = both(lambda L, x, y: L.autograd.functional.jacobian(f_multi_out, (x, y), **kwargs), X, Y)
    close(got, exp)   # tuple of tuples [output][input]
    got, exp = both(lambda L, x: L.autograd.functional.jacobian(lambda t: (t.exp(), t.sum()), x, **kwargs), X)
    close(got, exp)   # tuple of outputs, one input


def test_jacobian_independent_output_gives_zeros_or_raises_in_strict_mode():
    got, exp = both(lambda L, x, y: L.autograd.functional.jacobian(lambda a, b: a * 2, (x, y)), X, Y)
    close(got, exp)
    for L in (jt, torch):
        with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
            L.autograd.functional.jacobian(lambda a, b: a * 2, (L.tensor(X), L.tensor(Y)), strict=True)
        with pytest.raises(RuntimeError, match="does not require gradients"):
            L.autograd.functional.jacobian(lambda a: L.ones(2, dtype=L.float64), L.tensor(X), strict=True)


@pytest.mark.parametrize("kwargs", [{}, {"create_graph": True}, {"vectorize": True},
                                    {"outer_jacobian_strategy": "forward-mode", "vectorize": True}])
def test_hessian(kwargs):
    got, exp = both(lambda L, x: L.autograd.functional.hessian(scalar1, x, **kwargs), X)
    close(got, exp)
    got, exp = both(lambda L, x, y: L.autograd.functional.hessian(scalar, (x, y), **kwargs), X, Y)
    close(got, exp)


@pytest.mark.parametrize("name", ["vhp", "hvp"])
def test_vhp_hvp(name):
    got, exp = both(lambda L, x, v: getattr(L.autograd.functional, name)(scalar1, x, v), X, V3)
    close(got, exp)
    got, exp = both(lambda L, x, y, a, b: getattr(L.autograd.functional, name)(scalar, (x, y), (a, b)), X, Y, V3, V2)
    close(got, exp)


def test_create_graph_results_are_differentiable():
    """With create_graph=True, a result differentiated again gives torch's third-order values."""
    def run(L, x, v):
        x = x.requires_grad_()
        _, h = L.autograd.functional.hvp(scalar1, x, v, create_graph=True)
        jac = L.autograd.functional.jacobian(scalar1, x, create_graph=True)
        g1 = L.autograd.grad(h.sum(), x)[0]
        g2 = L.autograd.grad((jac ** 2).sum(), x)[0]
        return h.requires_grad, g1, g2
    got, exp = both(run, X, V3)
    assert got[0] is exp[0] is True
    close(got[1:], exp[1:])


def test_results_leave_without_graph_by_default():
    x = jt.tensor(X, requires_grad=True)
    out, g = JAF.vjp(f_single, x, jt.tensor(V3))
    assert not out.requires_grad and not g.requires_grad
    assert not JAF.jacobian(f_single, x).requires_grad


@pytest.mark.parametrize("call, message", [
    (lambda L: L.autograd.functional.vjp(f_single, L.tensor(X)), "The vector v can only be None if the user-provided "
                                                                   "function returns a single Tensor with a single"),
    (lambda L: L.autograd.functional.jvp(f_single, L.tensor(X)), "The vector v can only be None if the input to the "
                                                                   "user-provided function is a single Tensor"),
    (lambda L: L.autograd.functional.vjp(f_single, L.tensor(X), L.tensor(V2)), "v has invalid size: should be "
                                                                                  "torch.Size\\(\\[3\\]\\) but got"),
    (lambda L: L.autograd.functional.jvp(f_multi_in, (L.tensor(X), L.tensor(Y)), (L.tensor(V3),)),
     "v is a tuple of invalid length: should be 2 but got 1"),
    (lambda L: L.autograd.functional.hessian(f_single, L.tensor(X)), "should contain a single element"),
    (lambda L: L.autograd.functional.hvp(lambda a: (a.sum(), a.sum()), L.tensor(X), L.tensor(V3)),
     "should return a single Tensor"),
    (lambda L: L.autograd.functional.jvp(lambda a: a.detach() * 2, L.tensor(X), L.tensor(V3), strict=True),
     "Output 0 of the user-provided function does not require gradients"),
    (lambda L: L.autograd.functional.vjp(lambda a, b: a * 2, (L.tensor(X), L.tensor(Y)), L.tensor(V3), strict=True),
     "The output of the user-provided function is independent of input 1"),
    (lambda L: L.autograd.functional.jacobian(f_single, L.tensor(X), strategy="forward-mode"),
     "only implemented for `vectorize=True`"),
])
def test_errors_as_torch(call, message):
    types = []
    for L in (jt, torch):
        with pytest.raises((RuntimeError, ValueError, NotImplementedError)) as info:
            call(L)
        assert info.match(message)
        types.append(info.type)
    assert types[0] is types[1]


def test_non_tensor_inputs_raise_type_error():
    for L in (jt, torch):
        with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
            L.autograd.functional.jacobian(f_single, [L.tensor(X)])
        with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
            L.autograd.functional.vjp(lambda a: [a], L.tensor(X), L.tensor(V3))


def test_inputs_that_require_grad_keep_their_graph_only_with_create_graph():
    x = jt.tensor(X, requires_grad=True)
    jac = JAF.jacobian(lambda t: t ** 3, x * 2, create_graph=True)
    (g,) = jt.autograd.grad(jac.sum(), x)
    xt = torch.tensor(X, requires_grad=True)
    jt_ = TAF.jacobian(lambda t: t ** 3, xt * 2, create_graph=True)
    (gt,) = torch.autograd.grad(jt_.sum(), xt)
    close(g, gt)
