"""jt.func against torch.func on the same float64 inputs: grad / grad_and_value (argnums, has_aux,
detached aux), vjp, jvp, jacrev (tuple outputs and argnums), hessian; vmap over elementwise ops
with broadcasting, reductions, matmul, F.linear, views and indexing, softmax, stack / cat, with
in_dims / out_dims variants, nesting and the loop fallback for ops without a batching rule (and
its one-time warning); compositions (per-example MLP gradients with vmap(grad), grad(grad),
jacrev(grad), vmap(jacrev), vmap(hessian), vmap(jvp), grad(vmap)); errors.

Each test builds the same function twice, once from each library's namespace (`JT` / `TH`
below), runs it on copies of the same NumPy arrays and compares every output (nested tuples
included) in shape, dtype and value."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.func
import torch.nn.functional as TF

import jtensor as jt
import jtensor.func as jfunc
import jtensor.nn.functional as F

TOL = 1e-10

JT = SimpleNamespace(name="jt", func=jfunc, F=F, linalg=jt.linalg, lib=jt, tensor=jt.tensor)
TH = SimpleNamespace(name="torch", func=torch.func, F=TF, linalg=torch.linalg, lib=torch,
                     tensor=torch.tensor)

# The fallback for ops without a batching rule warns; tests that are not about it ignore that.
no_rule_ok = pytest.mark.filterwarnings("ignore:vmap. no batching rule")


def rnd(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def close(got, exp, tol=TOL):
    """`got` (jtensor results) matches `exp` (torch results): same nesting, shapes, dtypes, values."""
    if isinstance(exp, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(exp), (type(got), got, exp)
        for g, e in zip(got, exp):
            close(g, e, tol)
        return
    if exp is None:
        assert got is None
        return
    assert isinstance(got, jt.Tensor), type(got)
    e = exp.detach().numpy()
    g = got.numpy()
    assert g.shape == e.shape, (g.shape, e.shape)
    assert g.dtype == e.dtype, (g.dtype, e.dtype)
    scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
    np.testing.assert_allclose(g, e, rtol=tol, atol=tol * scale)


def both(build, *arrays, tol=TOL, **kwargs):
    """Run build(JT) on jtensor copies and build(TH) on torch copies of `arrays` (NumPy arrays
    become tensors, anything else is passed as it is) and compare the results."""
    def conv(L):
        return [L.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
    got = build(JT)(*conv(JT), **kwargs)
    exp = build(TH)(*conv(TH), **kwargs)
    close(got, exp, tol)
    return got, exp


def no_graph(res):
    """Results of the outermost transform carry no autograd graph (as in torch.func)."""
    if isinstance(res, (tuple, list)):
        for r in res:
            no_graph(r)
    elif res is not None:
        assert not res.requires_grad and res.grad_fn is None


# ---- grad / grad_and_value ------------------------------------------------------------------------

def f2(a, b):
    return (a.sin() * b).sum() + (a * a * b.exp()).mean()


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,)])
def test_grad_argnums(argnums):
    got, _ = both(lambda L: L.func.grad(f2, argnums=argnums), rnd(5), rnd(5, 1))
    no_graph(got)
    assert isinstance(got, tuple) == isinstance(argnums, tuple)


@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_grad_and_value(argnums):
    got, _ = both(lambda L: L.func.grad_and_value(f2, argnums=argnums), rnd((2, 3)), rnd((2, 3), 1))
    no_graph(got)


def aux_fn(a, b):
    y = (a * b).tanh()
    return (y ** 2).sum(), (y, a.sum())


def test_grad_has_aux():
    got, _ = both(lambda L: L.func.grad(aux_fn, argnums=(0, 1), has_aux=True), rnd(4), rnd(4, 1))
    no_graph(got[0])


def test_grad_and_value_has_aux():
    got, _ = both(lambda L: L.func.grad_and_value(aux_fn, has_aux=True), rnd(4), rnd(4, 1))
    no_graph(got)


@pytest.mark.parametrize("transform", ["grad", "grad_and_value", "vjp", "vmap_grad"])
def test_aux_leaves_without_graph(transform):
    """The aux output of the outermost transform is detached (torch.func unwraps it too)."""
    def run(L, a, b):
        if transform == "grad":
            return L.func.grad(aux_fn, has_aux=True)(a, b)[1]
        if transform == "grad_and_value":
            return L.func.grad_and_value(aux_fn, has_aux=True)(a, b)[1][1]
        if transform == "vjp":
            return L.func.vjp(lambda u: (u.tanh(), (u * 3, [u.sum()])), a, has_aux=True)[2]
        return L.func.vmap(L.func.grad(aux_fn, has_aux=True))(a, b)[1]
    shape = (3, 4) if transform == "vmap_grad" else (4,)
    aux, exp = both(lambda L: lambda a, b: run(L, a, b), rnd(shape), rnd(shape, 1))
    for t in (aux[0], aux[1][0]) if transform == "vjp" else aux:
        assert t.requires_grad is False and t.grad_fn is None
    for t in (exp[0], exp[1][0]) if transform == "vjp" else exp:
        assert t.requires_grad is False


def test_inner_aux_keeps_graph_for_outer_transform():
    """Inside another transform the aux is still differentiable by the outer one."""
    both(lambda L: L.func.grad(lambda a, b: L.func.grad(aux_fn, has_aux=True)(a, b)[1][0].pow(2).sum()),
         rnd(4), rnd(4, 1))


def test_grad_kwargs_pass_through():
    both(lambda L: L.func.grad(lambda a, scale=1.0: (a * a).sum() * scale), rnd(3), scale=2.5)


def test_grad_of_function_ignoring_its_input_is_zero():
    both(lambda L: L.func.grad(lambda a, b: (b * b).sum(), argnums=(0, 1)), rnd(3), rnd(3, 1))


def test_grad_non_scalar_output_raises():
    with pytest.raises(RuntimeError, match="scalar"):
        jfunc.grad(lambda a: a * 2)(jt.tensor(rnd(3)))
    with pytest.raises(RuntimeError, match="scalar"):
        jfunc.grad_and_value(lambda a: a.sum(0, keepdim=True))(jt.tensor(rnd(3)))


def test_grad_leaves_input_alone():
    x = jt.tensor(rnd(3))
    g = jfunc.grad(lambda a: (a ** 3).sum())(x)
    assert not x.requires_grad and x.grad is None
    close(g, torch.tensor(3 * rnd(3) ** 2))


# ---- vjp / jvp ------------------------------------------------------------------------------------

def call_vjp(L, fn, primals, cotangents, has_aux=False):
    res = L.func.vjp(fn, *primals, has_aux=has_aux)
    return (res[0], res[1](cotangents)) + tuple(res[2:])


def test_vjp_single_output():
    def build(L):
        return lambda x, c: call_vjp(L, lambda a: a.sin() * a.sum(), (x,), c)
    got, _ = both(build, rnd((2, 3)), rnd((2, 3), 1))
    no_graph(got)


def test_vjp_multiple_inputs_and_outputs():
    def fn(a, b):
        return a @ b, (a * 2).exp()

    def build(L):
        return lambda a, b, c1, c2: call_vjp(L, fn, (a, b), (c1, c2))
    both(build, rnd((2, 3)), rnd((3, 4), 1), rnd((2, 4), 2), rnd((2, 3), 3))


def test_vjp_has_aux():
    def build(L):
        return lambda x, c: call_vjp(L, lambda a: (a.tanh(), a * 3), (x,), c, has_aux=True)
    both(build, rnd(4), rnd(4, 1))


def test_vjp_fn_can_be_called_again():
    out, fn = jfunc.vjp(lambda a: a.sin() * a, jt.tensor(rnd(4)))
    t_out, t_fn = torch.func.vjp(lambda a: a.sin() * a, torch.tensor(rnd(4)))
    for seed in (1, 2):
        close(fn(jt.tensor(rnd(4, seed))), t_fn(torch.tensor(rnd(4, seed))))


@pytest.mark.parametrize("case", ["unary", "binary", "two_outputs", "matrix"])
def test_jvp(case):
    fns = {"unary": (lambda a: a.sin() * a, [(4,)]),
           "binary": (lambda a, b: (a * b).exp() + a.sum(), [(4,), (4,)]),
           "two_outputs": (lambda a, b: (a * b, a.sum()), [(4,), (4,)]),
           "matrix": (lambda a, b: (a @ b).tanh() @ a, [(3, 3), (3, 3)])}
    fn, shapes = fns[case]
    n = len(shapes)
    arrays = [rnd(s, i) for i, s in enumerate(shapes)] + [rnd(s, 10 + i) for i, s in enumerate(shapes)]

    def build(L):
        return lambda *xs: L.func.jvp(fn, tuple(xs[:n]), tuple(xs[n:]))
    got, _ = both(build, *arrays)
    no_graph(got)


# ---- jacrev / hessian ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["vec_to_vec", "matvec_arg0", "matvec_arg1", "matvec_both",
                                  "mat_to_mat", "to_scalar", "unused_input"])
def test_jacrev(case):
    cases = {
        "vec_to_vec": (lambda a: a.sin() * a.sum(), 0, [(4,)]),
        "matvec_arg0": (lambda m, v: (m @ v).tanh(), 0, [(3, 4), (4,)]),
        "matvec_arg1": (lambda m, v: (m @ v).tanh(), 1, [(3, 4), (4,)]),
        "matvec_both": (lambda m, v: (m @ v).tanh(), (0, 1), [(3, 4), (4,)]),
        "mat_to_mat": (lambda m: m.exp() @ m.mT, 0, [(2, 3)]),
        "to_scalar": (lambda m: (m ** 2).sum(), 0, [(2, 3)]),
        "unused_input": (lambda a, b: a * 2, 1, [(3,), (2,)]),
    }
    fn, argnums, shapes = cases[case]
    got, _ = both(lambda L: L.func.jacrev(fn, argnums=argnums), *[rnd(s, i) for i, s in enumerate(shapes)])
    no_graph(got)


def hfun(a):
    return (a.sin() * a).sum() * a.sum() + (a ** 3).prod()


def test_hessian_vector():
    got, _ = both(lambda L: L.func.hessian(hfun), rnd(4))
    no_graph(got)


def test_hessian_matrix_input():
    both(lambda L: L.func.hessian(lambda m: (m.exp() ** 2).sum() + (m @ m.mT).trace()), rnd((2, 3)))


def test_hessian_argnums_int():
    both(lambda L: L.func.hessian(lambda a, b: (a * b * b).sum().exp(), argnums=1),
         rnd(3, 0, 0.3), rnd(3, 1, 0.3))


def structure(x):
    """The nesting of a result (tuple / list / leaf), compared exactly between the libraries."""
    return (type(x).__name__, [structure(v) for v in x]) if isinstance(x, (tuple, list)) else "leaf"


@pytest.mark.parametrize("argnums", [(0, 1), (1, 0), (1,)])
def test_hessian_argnums_tuple(argnums):
    got, exp = both(lambda L: L.func.hessian(lambda a, b: (a * b * b).sum().exp(), argnums=argnums),
                    rnd(3, 0, 0.3), rnd((2, 3), 1, 0.3))
    assert structure(got) == structure(exp)
    no_graph(got)


def test_hessian_argnums_tuple_skipping_an_argument():
    got, exp = both(lambda L: L.func.hessian(lambda a, b, c: (a.sin() * b).sum() * (c * a).sum(), argnums=(0, 2)),
                    rnd(3), rnd(3, 1), rnd(3, 2))
    assert structure(got) == structure(exp)


JACREV_TUPLES = {   # name: (function, argnums, input shapes)
    "tuple_out_int_argnums": (lambda a, b: (a * b.sum(), (a * a).sum()), 0, [(3,), (2,)]),
    "tuple_out_tuple_argnums": (lambda a, b: (a * b.sum(), (a * a).sum()), (0, 1), [(3,), (2,)]),
    "nested_tuple_and_list": (lambda a, b: (a.exp(), ((a * b[0]).sum(), [a[:2] * b])), (0, 1), [(3,), (2,)]),
    "one_element_tuple": (lambda a: (a.sin(),), 0, [(2, 2)]),
    "output_independent_of_arg": (lambda a, b: (a * 2, b.exp()), (0, 1), [(3,), (2,)]),
    "single_argnum_tuple": (lambda a, b: (a @ b).tanh(), (1,), [(2, 3), (3,)]),
}


@pytest.mark.parametrize("case", list(JACREV_TUPLES))
def test_jacrev_tuple_outputs_and_argnums(case):
    fn, argnums, shapes = JACREV_TUPLES[case]
    got, exp = both(lambda L: L.func.jacrev(fn, argnums=argnums), *[rnd(s, i) for i, s in enumerate(shapes)])
    assert structure(got) == structure(exp)   # outer = outputs, inner = argnums
    no_graph(got)


def test_jacrev_non_tensor_output_raises():
    for L in (JT, TH):
        with pytest.raises(RuntimeError, match="expected f.* to return only tensors, got unsupported type"):
            L.func.jacrev(lambda a: (a * 2, 3))(L.tensor(rnd(3)))


# ---- vmap: in_dims / out_dims -----------------------------------------------------------------------

@pytest.mark.parametrize("in_dims, shapes", [
    (0, [(3, 4), (3, 4)]),
    (1, [(4, 3), (4, 3)]),
    (-1, [(4, 3), (4, 3)]),
    ((0, 1), [(3, 4), (4, 3)]),
    ((-2, None), [(3, 4), (4,)]),
    ((None, 0), [(4,), (3, 4)]),
    ((2, 0), [(2, 4, 3), (3, 2, 4)]),
])
def test_vmap_in_dims(in_dims, shapes):
    both(lambda L: L.func.vmap(lambda a, b: a * b + a.exp(), in_dims=in_dims),
         *[rnd(s, i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("out_dims", [0, 1, -1, 2])
def test_vmap_out_dims_int(out_dims):
    both(lambda L: L.func.vmap(lambda a: a.cos() * 2, out_dims=out_dims), rnd((3, 4, 5)))


def test_vmap_out_dims_tuple_and_multiple_outputs():
    both(lambda L: L.func.vmap(lambda a, b: (a * b, (a + b).sum(), a.mT), in_dims=(0, None),
                               out_dims=(1, 0, -1)), rnd((3, 2, 4)), rnd(4, 1))


def test_vmap_out_dims_none_for_unbatched_output():
    def build(L):
        return lambda x, c: L.func.vmap(lambda a: (a * 2, c * 3), out_dims=(0, None))(x)
    both(build, rnd((3, 2)), rnd(2, 1))


def test_vmap_unbatched_output_is_broadcast():
    def build(L):
        return lambda x, c: L.func.vmap(lambda a: c.exp())(x)
    both(build, rnd((3, 2)), rnd(4, 1))


def test_vmap_non_tensor_arguments_and_kwargs():
    both(lambda L: L.func.vmap(lambda a, k, scale=1.0: a * k * scale, in_dims=(0, None)),
         rnd((3, 4)), 2.0, scale=3.0)


def test_vmap_nested():
    # the outer vmap maps rows of m, the inner one the elements of each row against v
    both(lambda L: L.func.vmap(L.func.vmap(lambda a, b: (a * b).exp()), in_dims=(0, None)),
         rnd((3, 4)), rnd(4, 1))
    both(lambda L: L.func.vmap(L.func.vmap(lambda a, b: a * b, in_dims=(None, 0)), in_dims=(0, None)),
         rnd(3), rnd(4, 1))
    both(lambda L: L.func.vmap(L.func.vmap(lambda a: a.sum(-1), in_dims=1), in_dims=2),
         rnd((2, 3, 4, 5)))


def test_vmap_nested_matmul_with_out_dims():
    both(lambda L: L.func.vmap(L.func.vmap(lambda a, b: a @ b, in_dims=(0, None)), in_dims=(None, 0),
                               out_dims=1), rnd((2, 3, 4)), rnd((5, 4), 1))


@no_rule_ok
def test_vmap_nested_reduction_of_0d_examples():
    both(lambda L: L.func.vmap(L.func.vmap(lambda a, b: (a * b).sum()), in_dims=(0, None)),
         rnd((3, 4)), rnd(4, 1))


# ---- vmap: elementwise, reductions, softmax -------------------------------------------------------

ELEMENTWISE = {
    "unary_chain": (lambda L: lambda a: a.exp().sin() - a.tanh() * 2 + 1, [(3, 4)], 0),
    "binary_batched_both": (lambda L: lambda a, b: a * b - a / (b.abs() + 1), [(3, 4), (3, 4)], 0),
    "broadcast_unbatched_higher_rank": (lambda L: lambda a, b: a + b, [(3, 4), (2, 4)], (0, None)),
    "broadcast_batched_higher_rank": (lambda L: lambda a, b: a * b, [(3, 2, 4), (4,)], (0, None)),
    "broadcast_both_batched": (lambda L: lambda a, b: a - b, [(3, 2, 1), (3, 4)], 0),
    "scalar_python": (lambda L: lambda a: 2.0 * a ** 2 - 1, [(3, 4)], 0),
    "pow_maximum": (lambda L: lambda a, b: L.lib.maximum(a, b) ** 2 + a.pow(3), [(3, 4), (3, 4)], 0),
    "where_compare": (lambda L: lambda a, b: L.lib.where(a > b, a, b * 0.5), [(3, 4), (4,)], (0, None)),
    "clamp_relu_sigmoid": (lambda L: lambda a: L.F.relu(a).clamp(max=0.5) + a.sigmoid(), [(3, 4)], 0),
}


@pytest.mark.parametrize("case", list(ELEMENTWISE))
def test_vmap_elementwise(case):
    build, shapes, in_dims = ELEMENTWISE[case]
    both(lambda L: L.func.vmap(build(L), in_dims=in_dims), *[rnd(s, i) for i, s in enumerate(shapes)])


REDUCTIONS = {
    "sum_all": lambda L: lambda a: a.sum(),
    "sum_dim": lambda L: lambda a: a.sum(0),
    "sum_neg_keepdim": lambda L: lambda a: a.sum(-1, keepdim=True),
    "sum_dims_tuple": lambda L: lambda a: a.sum((0, -1)),
    "mean_all": lambda L: lambda a: a.mean(),
    "mean_dim_keepdim": lambda L: lambda a: a.mean(dim=1, keepdim=True),
    "var_dim": lambda L: lambda a: a.var(0),
    "std_keepdim": lambda L: lambda a: a.std(dim=-1, keepdim=True),
    "amax_amin": lambda L: lambda a: a.amax(-1) - a.amin(1, keepdim=True).squeeze(1),
    "prod_dim": lambda L: lambda a: a.prod(1),
    "logsumexp": lambda L: lambda a: a.logsumexp(-2),
    "norm": lambda L: lambda a: (a.norm(), a.norm(dim=1)),
    "cumsum": lambda L: lambda a: L.lib.cumsum(a, 1),
    "sort": lambda L: lambda a: tuple(L.lib.sort(a, dim=0)),
    "topk": lambda L: lambda a: tuple(L.lib.topk(a, 2)),
    "softmax": lambda L: lambda a: L.F.softmax(a, -1),
    "log_softmax_dim0": lambda L: lambda a: L.F.log_softmax(a, 0),
}


@pytest.mark.parametrize("case", list(REDUCTIONS))
@pytest.mark.parametrize("in_dims", [0, 2])
def test_vmap_reductions(case, in_dims):
    both(lambda L: L.func.vmap(REDUCTIONS[case](L), in_dims=in_dims), rnd((3, 4, 5) if in_dims == 0 else (4, 5, 3)))


@no_rule_ok
@pytest.mark.parametrize("fn", [lambda a: a.sum(), lambda a: a.sum(0), lambda a: a.mean(-1),
                                lambda a: a.softmax(0)], ids=["sum", "sum0", "mean-1", "softmax0"])
def test_vmap_reduction_of_0d_examples(fn):
    both(lambda L: L.func.vmap(fn), rnd(5))


# ---- vmap: matmul and linear ----------------------------------------------------------------------

MATMUL = {   # name: (shape a, shape b, in_dims); B = 3 is the batch
    "bmat@mat": ((3, 4, 5), (5, 2), (0, None)),
    "mat@bmat": ((4, 5), (3, 5, 2), (None, 0)),
    "bmat@bmat": ((3, 4, 5), (3, 5, 2), 0),
    "bvec@mat": ((3, 5), (5, 2), (0, None)),
    "mat@bvec": ((4, 5), (3, 5), (None, 0)),
    "bvec@bvec": ((3, 5), (3, 5), 0),
    "vec@bmat": ((5,), (3, 5, 2), (None, 0)),
    "bmat@vec": ((3, 4, 5), (5,), (0, None)),
    "bvec@bmat": ((3, 5), (3, 5, 2), 0),
    "bmat@bvec": ((3, 4, 5), (3, 5), 0),
    "b3d@mat": ((3, 2, 4, 5), (5, 2), (0, None)),
    "mat@b3d": ((4, 5), (3, 2, 5, 6), (None, 0)),
    "b3d@bmat": ((3, 2, 4, 5), (3, 5, 6), 0),
    "bmat@3d": ((3, 4, 5), (2, 5, 6), (0, None)),
    "3d@bvec": ((2, 4, 5), (3, 5), (None, 0)),
    "bvec@3d": ((3, 4), (2, 4, 5), (0, None)),
    "bmat_dim1@bmat_dim2": ((4, 3, 5), (5, 2, 3), (1, 2)),
}


@pytest.mark.parametrize("case", list(MATMUL))
def test_vmap_matmul(case):
    sa, sb, in_dims = MATMUL[case]
    both(lambda L: L.func.vmap(lambda a, b: a @ b, in_dims=in_dims), rnd(sa), rnd(sb, 1))


def test_vmap_matmul_function_form():
    both(lambda L: L.func.vmap(lambda a, b: L.lib.matmul(a, b).mT, in_dims=(0, None)), rnd((3, 4, 5)), rnd((5, 2), 1))


LINEAR = {   # name: (shape x, shape w, shape b or None, in_dims)
    "shared_weights": ((3, 5), (4, 5), (4,), (0, None, None)),
    "shared_weights_2d_input": ((3, 2, 5), (4, 5), (4,), (0, None, None)),
    "shared_no_bias": ((3, 5), (4, 5), None, (0, None, None)),
    "batched_weight": ((3, 5), (3, 4, 5), (4,), (0, 0, None)),
    "batched_weight_only": ((5,), (3, 4, 5), (4,), (None, 0, None)),
    "batched_all_2d_input": ((3, 2, 5), (3, 4, 5), (3, 4), 0),
    "batched_bias_only": ((3, 5), (4, 5), (3, 4), (0, None, 0)),
    "batched_weight_no_bias": ((3, 2, 5), (3, 4, 5), None, (0, 0, None)),
    "vector_weight": ((3, 5), (3, 5), None, (0, 0, None)),
}


@pytest.mark.parametrize("case", list(LINEAR))
def test_vmap_linear(case):
    sx, sw, sb, in_dims = LINEAR[case]
    b = rnd(sb, 2) if sb is not None else None
    both(lambda L: L.func.vmap(lambda x, w, bias: L.F.linear(x, w, bias), in_dims=in_dims),
         rnd(sx), rnd(sw, 1), b)


# ---- vmap: views and indexing ---------------------------------------------------------------------

VIEWS = {
    "reshape": lambda a: a.reshape(2, 10),
    "reshape_-1": lambda a: a.reshape(-1, 2),
    "view": lambda a: a.view(20),
    "transpose": lambda a: a.transpose(0, 1),
    "transpose_neg": lambda a: a.transpose(-1, -2),
    "mT": lambda a: a.mT,
    "T": lambda a: a.T,
    "permute": lambda a: a.permute(1, 0),
    "unsqueeze": lambda a: a.unsqueeze(-1) * a.unsqueeze(1),
    "squeeze_all": lambda a: a[:, :1].squeeze(),
    "squeeze_dim": lambda a: a.unsqueeze(1).squeeze(1),
    "flatten": lambda a: a.flatten(),
    "flatten_range": lambda a: a.unsqueeze(0).flatten(0, 1),
    "slices": lambda a: a[1:, ::2],
    "int_index": lambda a: a[0] + a[:, -1].sum(),
    "ellipsis_none": lambda a: a[None, ..., 1:3],
    "expand": lambda a: a[:, :1].expand(2, 4, 3),
    "narrow_select": lambda a: a.narrow(1, 1, 2) + a.select(1, 0).unsqueeze(-1),
    "movedim": lambda a: a.movedim(0, 1),
    "chunk_split_unbind": lambda a: (a.chunk(2, 1)[0], a.split(3, 1)[1], a.unbind(0)[2]),
    "diagonal": lambda a: a[:, :4].diagonal(),
    "contiguous_clone": lambda a: a.mT.contiguous().clone(),
}


@pytest.mark.parametrize("case", list(VIEWS))
@pytest.mark.parametrize("in_dims", [0, -1])
def test_vmap_views(case, in_dims):
    both(lambda L: L.func.vmap(VIEWS[case], in_dims=in_dims), rnd((3, 4, 5) if in_dims == 0 else (4, 5, 3)))


def test_vmap_views_then_compute():
    both(lambda L: L.func.vmap(lambda a, w: (a.reshape(2, 6).mT @ w).flatten().softmax(0), in_dims=(0, None)),
         rnd((3, 12)), rnd((2, 4), 1))


# ---- vmap: ops without a batching rule -------------------------------------------------------------

def test_loop_fallback_ops_have_no_rule():
    assert jt.linalg.det._jt_op.batch == ""
    assert jt.flip._jt_op.batch == ""


def test_vmap_loop_fallback_warns_once(monkeypatch):
    monkeypatch.setattr(jfunc, "_warned", set())
    A = rnd((3, 3, 3))
    with pytest.warns(UserWarning, match="no batching rule for 'det'"):
        got = jfunc.vmap(jt.linalg.det)(jt.tensor(A))
    close(got, torch.func.vmap(torch.linalg.det)(torch.tensor(A)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # the second time: no warning
        got = jfunc.vmap(lambda a: jt.linalg.det(a) * 2, in_dims=1)(jt.tensor(A))
    close(got, torch.func.vmap(lambda a: torch.linalg.det(a) * 2, in_dims=1)(torch.tensor(A)))


@no_rule_ok
def test_vmap_loop_fallback_mixed_with_rules():
    both(lambda L: L.func.vmap(lambda a, b: L.lib.flip(a * b, (0,)).sum(-1) + L.linalg.det(a[:, :2] @ a[:, :2].mT),
                               in_dims=(1, None)), rnd((2, 3, 4)), rnd(4, 1))


@no_rule_ok
def test_vmap_grad_through_loop_fallback():
    both(lambda L: L.func.vmap(L.func.grad(lambda a: L.linalg.det(a) + L.lib.flip(a, (1,))[0, 0] * 2)),
         rnd((3, 3, 3)))


# ---- compositions ----------------------------------------------------------------------------------

def mlp_loss(L):
    """The cross-entropy loss of a one-hidden-layer MLP on one example (x: (in,), y: one-hot)."""
    def loss(w1, b1, w2, b2, x, y):
        h = L.F.relu(L.F.linear(x, w1, b1))
        logp = L.F.log_softmax(L.F.linear(h, w2, b2), -1)
        return -(logp * y).sum()
    return loss


def mlp_data(B=6, n_in=5, n_hidden=7, n_out=3):
    params = [rnd((n_hidden, n_in), 1, 0.5), rnd(n_hidden, 2, 0.1), rnd((n_out, n_hidden), 3, 0.5), rnd(n_out, 4, 0.1)]
    x = rnd((B, n_in), 5)
    y = np.eye(n_out)[np.random.default_rng(6).integers(0, n_out, B)]
    return params, x, y


def test_per_example_grads_mlp():
    params, x, y = mlp_data()
    got, exp = both(lambda L: L.func.vmap(L.func.grad(mlp_loss(L), argnums=(0, 1, 2, 3)),
                                          in_dims=(None, None, None, None, 0, 0)), *params, x, y)
    assert tuple(got[0].shape) == (6, 7, 5)
    no_graph(got)
    # the per-example gradients add up to the gradient of the summed loss
    total = jfunc.grad(lambda *p: sum(mlp_loss(JT)(*p, jt.tensor(x[i]), jt.tensor(y[i])) for i in range(6)),
                       argnums=(0, 1, 2, 3))(*[jt.tensor(p) for p in params])
    for g, t in zip(got, total):
        np.testing.assert_allclose(g.numpy().sum(0), t.numpy(), rtol=1e-10, atol=1e-12)


def test_per_example_grad_and_value_mlp():
    params, x, y = mlp_data(B=4)
    got, _ = both(lambda L: L.func.vmap(L.func.grad_and_value(mlp_loss(L), argnums=(0, 2)),
                                        in_dims=(None, None, None, None, 0, 0)), *params, x, y)
    no_graph(got)


def test_per_example_grads_wrt_data():
    params, x, y = mlp_data(B=4)
    both(lambda L: L.func.vmap(L.func.grad(mlp_loss(L), argnums=4), in_dims=(None, None, None, None, 0, 0)),
         *params, x, y)


def scalar_f(t):
    return t.sin() * t ** 3 + (t * 0.5).exp()


def test_grad_of_grad_scalar():
    both(lambda L: L.func.grad(L.func.grad(scalar_f)), np.array(0.7))
    both(lambda L: L.func.grad(L.func.grad(L.func.grad(scalar_f))), np.array(-1.3))


def test_vmap_grad_grad_scalar():
    both(lambda L: L.func.vmap(L.func.grad(L.func.grad(scalar_f))), rnd(5))


def test_jacrev_of_grad_is_hessian():
    x = rnd(4)
    got = jfunc.jacrev(jfunc.grad(hfun))(jt.tensor(x))
    close(got, torch.func.hessian(hfun)(torch.tensor(x)))
    no_graph(got)


def jt_strict(build):
    """`build` whose jtensor function turns any warning into an error (e.g. vmap's "no batching
    rule" fallback); torch's own warnings are left alone."""
    def b(L):
        fn = build(L)
        if L is not JT:
            return fn

        def run(*args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return fn(*args, **kwargs)
        return run
    return b


def test_vmap_jacrev_and_hessian(monkeypatch):
    # jacrev stacks its rows with `stack`: batched natively, so no loop fallback and no warning
    monkeypatch.setattr(jfunc, "_warned", set())
    both(jt_strict(lambda L: L.func.vmap(L.func.jacrev(lambda u: u.sin() * u.sum()))), rnd((3, 4)))
    both(jt_strict(lambda L: L.func.vmap(L.func.hessian(lambda u: u.sin().sum() * u.sum()))), rnd((3, 4)))
    both(jt_strict(lambda L: L.func.vmap(L.func.jacrev(lambda m, v: (m @ v).tanh(), argnums=(0, 1)),
                                         in_dims=(None, 0))), rnd((2, 4)), rnd((3, 4), 1))
    both(jt_strict(lambda L: L.func.vmap(L.func.hessian(lambda a, b: (a * b * b).sum().exp(), argnums=(0, 1)))),
         rnd((3, 2), 0, 0.3), rnd((3, 2), 1, 0.3))


JOINS = {   # name: (function of the library and the unbatched `c`, input shapes, in_dims)
    "stack_dim0": (lambda L, c: lambda a, b: L.lib.stack([a, b, c], 0), [(3, 4), (3, 4)], 0),
    "stack_last": (lambda L, c: lambda a, b: L.lib.stack([a, c.expand(2, 4), b], -1), [(3, 2, 4), (3, 2, 4)], 0),
    "stack_kwarg_dim": (lambda L, c: lambda a, b: L.lib.stack((a * 2, b), dim=1), [(2, 4, 3), (3, 2, 4)], (2, 0)),
    "stack_0d": (lambda L, c: lambda a, b: L.lib.stack([a.sum(), b.sum()]), [(3, 4), (3, 4)], 0),
    "cat_dim0": (lambda L, c: lambda a, b: L.lib.cat([a, c, b], 0), [(3, 4), (3, 4)], 0),
    "cat_neg": (lambda L, c: lambda a, b: L.lib.cat([a, b.unsqueeze(-1)], -1), [(3, 2, 4), (3, 2)], 0),
    "cat_unbatched_second": (lambda L, c: lambda a, b: L.lib.cat([a, b], 0), [(3, 4), (4,)], (0, None)),
}


@pytest.mark.parametrize("case", list(JOINS))
def test_vmap_stack_cat(case, monkeypatch):
    monkeypatch.setattr(jfunc, "_warned", set())
    build, shapes, in_dims = JOINS[case]
    c = rnd(4, 9)
    both(jt_strict(lambda L: L.func.vmap(build(L, L.tensor(c)), in_dims=in_dims)),
         *[rnd(s, i) for i, s in enumerate(shapes)])


def test_vmap_stack_nested(monkeypatch):
    # the inner vmap stacks items batched at the outer level only and unbatched ones
    monkeypatch.setattr(jfunc, "_warned", set())
    def build(L):
        return L.func.vmap(L.func.vmap(lambda a, b, c: L.lib.stack([a, b, c], -1), in_dims=(0, None, None)),
                           in_dims=(None, 0, None))
    both(jt_strict(build), rnd((3, 2)), rnd((4, 2), 1), rnd(2, 2))


@no_rule_ok
def test_vmap_cat_falls_back_for_skipped_empty_items():
    both(lambda L: L.func.vmap(lambda a, e: L.lib.cat([a, e]), in_dims=(0, None)), rnd((3, 4)), np.zeros(0))


def test_vmap_jvp():
    def build(L):
        return L.func.vmap(lambda a, t: L.func.jvp(lambda u: u.sin() * u.sum(), (a,), (t,)))
    got, _ = both(build, rnd((3, 4)), rnd((3, 4), 1))
    no_graph(got)


def test_vmap_jvp_unbatched_tangent():
    def build(L):
        return L.func.vmap(lambda a, t: L.func.jvp(lambda u: (u @ u.mT).tanh(), (a,), (t,)), in_dims=(0, None))
    both(build, rnd((3, 2, 4)), rnd((2, 4), 1))


def test_vmap_vjp():
    def build(L):
        return L.func.vmap(lambda a, c: L.func.vjp(lambda u: u.exp() * u.sum(), a)[1](c))
    both(build, rnd((3, 4)), rnd((3, 4), 1))


def test_grad_of_vmap():
    both(lambda L: L.func.grad(lambda m: L.func.vmap(lambda r: (r.sin() * r).sum())(m).pow(2).sum()),
         rnd((3, 4)))


# ---- errors ----------------------------------------------------------------------------------------

def test_vmap_mismatched_batch_sizes():
    with pytest.raises(ValueError, match="different batch sizes"):
        jfunc.vmap(lambda a, b: a + b)(jt.tensor(rnd((3, 4))), jt.tensor(rnd((4, 4))))
    with pytest.raises(ValueError, match="different batch sizes"):
        jfunc.vmap(lambda a, b: a + b, in_dims=(0, 1))(jt.tensor(rnd((3, 4))), jt.tensor(rnd((3, 4))))


def test_vmap_in_dims_length_mismatch():
    with pytest.raises(ValueError, match="in_dims has 1 entries but the function got 2 arguments"):
        jfunc.vmap(lambda a, b: a + b, in_dims=(0,))(jt.tensor(rnd(3)), jt.tensor(rnd(3)))


def test_vmap_all_in_dims_none():
    with pytest.raises(ValueError, match="at least one argument must be batched"):
        jfunc.vmap(lambda a: a * 2, in_dims=None)(jt.tensor(rnd(3)))
    with pytest.raises(ValueError, match="at least one argument must be batched"):
        jfunc.vmap(lambda a, b: a * b, in_dims=(None, None))(jt.tensor(rnd(3)), jt.tensor(rnd(3)))


def test_vmap_in_dim_out_of_range():
    with pytest.raises(IndexError, match="Dimension out of range"):
        jfunc.vmap(lambda a: a, in_dims=2)(jt.tensor(rnd((3, 4))))


def test_vmap_out_dims_none_for_batched_output():
    with pytest.raises(ValueError, match="out_dims=None"):
        jfunc.vmap(lambda a: a * 2, out_dims=None)(jt.tensor(rnd((3, 4))))


def test_vmap_data_dependent_control_flow_and_item():
    with pytest.raises(RuntimeError, match="data-dependent control flow"):
        jfunc.vmap(lambda a: a if a.sum() > 0 else -a)(jt.tensor(rnd((3, 4))))
    with pytest.raises(RuntimeError, match=r"\.item\(\)"):
        jfunc.vmap(lambda a: a.sum().item())(jt.tensor(rnd((3, 4))))


# ---- per-example cross-entropy (the "cross_entropy" batching rule) ------------------------------------

@pytest.mark.parametrize("kwargs", [dict(), dict(reduction="sum"), dict(reduction="none"), dict(label_smoothing=0.2),
                                    dict(ignore_index=2), dict(ignore_index=2, label_smoothing=0.1, reduction="sum")],
                         ids=["mean", "sum", "none", "smoothing", "ignore", "ignore-smoothing-sum"])
def test_vmap_cross_entropy_per_example(kwargs):
    """One call on the batch (no loop warning), matching torch.func, NaN for an ignored 'mean' included."""
    w, x = rnd((4, 5), 80), rnd((6, 5), 81)
    y = np.array([0, 2, 3, 2, 1, 0])

    def build(L):
        def loss(w_, x_, y_):
            return L.F.cross_entropy(L.F.linear(x_, w_), y_, **kwargs)
        return L.func.vmap(L.func.grad_and_value(loss), in_dims=(None, 0, 0))
    got, _ = both(jt_strict(build), w, x, y)
    if kwargs.get("ignore_index") == 2 and kwargs.get("reduction", "mean") == "mean":
        assert np.isnan(got[1].numpy()[1])
    no_graph(got)


def test_vmap_cross_entropy_shared_logits_and_fallbacks():
    logits, ys = rnd((5,), 82), np.array([1, 4, 0])
    both(jt_strict(lambda L: L.func.vmap(lambda y_: L.F.cross_entropy(L.tensor(logits), y_), in_dims=0)), ys)
    # class weights and batched 2-d logits take the per-example loop: still torch's values
    cw = np.array([0.5, 2.0, 1.0, 1.5, 1.0])
    both(lambda L: L.func.vmap(lambda x_, y_: L.F.cross_entropy(x_, y_, weight=L.tensor(cw))), rnd((3, 5), 83), ys)
    both(lambda L: L.func.vmap(lambda x_, y_: L.F.cross_entropy(x_, y_)), rnd((3, 2, 5), 84), np.array([[1, 4]] * 3))
