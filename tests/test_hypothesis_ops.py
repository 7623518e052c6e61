"""Property tests over random shapes, strides, dtypes and broadcasting: unary, binary, comparison
and reduction ops against the references of the op table (tests/opinfo.py).

Two kinds of test: a few representative ops drawn with many dtypes and examples (the lists below),
and every elementwise row of the table, each with a handful of examples in its primary dtypes
(`test_every_elementwise_op`), so that an op added to the table is covered without being listed.

Every tensor argument is a view of a larger array: its dimensions permuted in memory and each
sliced with a random step and offset, so kernels see arbitrary strides. Values come from the
row's domain (a NumPy generator seeded by hypothesis). The ops and dtypes drawn are kept to a
few, as each new (op, dtype, rank) combination costs a Julia compilation; the settings profile
is registered in tests/conftest.py.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import opinfo as O
from opinfo import A, Sample, check_sample, to_jt, to_np

UNARY = ["exp", "log1p", "sqrt", "sin", "tanh", "sigmoid", "neg", "abs", "square", "sign", "floor", "round",
         "isnan", "logical_not", "bitwise_not"]
BINARY = ["add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "maximum", "minimum", "atan2",
          "logical_xor", "bitwise_and", "bitwise_or", "_relu_backward"]
COMPARE = ["eq", "ne", "lt", "le", "gt", "ge"]
REDUCE_DIMS = ["sum", "mean", "prod", "amax", "amin", "var", "std", "norm", "all", "any", "logsumexp"]
REDUCE_DIM = ["argmax", "argmin", "cumsum", "max", "min", "sort"]
# dtypes drawn for the elementwise tests (intersected with each row's dtypes)
DTYPES = ("bool", "int8", "int32", "int64", "uint8", "float16", "bfloat16", "float32", "float64", "complex64")
MIXED = ("int32", "float32", "float64")

seeds = st.integers(0, 2 ** 32 - 1)


@st.composite
def layouts(draw, ndim):
    """How a view is cut from its base: memory order of the dims, a step and an offset per dim."""
    perm = draw(st.permutations(range(ndim)))
    steps = draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim))
    offsets = draw(st.lists(st.integers(0, 1), min_size=ndim, max_size=ndim))
    return tuple(perm), tuple(steps), tuple(offsets)


def strided_tensor(a, layout):
    """A jtensor view holding `a`'s values: a step/offset slice of a base whose memory holds the
    dims in the order `layout[0]`."""
    v = a.values
    if v.ndim == 0:
        return to_jt(a)
    perm, steps, offsets = layout
    big = [o + s * (n - 1) + 1 if n > 0 else o for n, s, o in zip(v.shape, steps, offsets)]
    inv = tuple(int(i) for i in np.argsort(perm))
    base = np.zeros([big[p] for p in perm], v.dtype)
    idx = tuple(slice(o, o + s * (n - 1) + 1 if n > 0 else o, s) for n, s, o in zip(v.shape, steps, offsets))
    base.transpose(inv)[idx] = v
    t = to_jt(A(base, a.dtype)).permute(*inv)[idx]
    np.testing.assert_array_equal(to_np(t), v)
    return t


def _dtype_for(op, data, pool=DTYPES):
    choices = [d for d in pool if d in op.dtypes] or list(op.dtypes[:1])
    return data.draw(st.sampled_from(choices), label="dtype")


@given(data=st.data(), name=st.sampled_from(UNARY), shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0,
                                                                            max_side=5), seed=seeds)
def test_unary(data, name, shape, seed):
    op = O.BY_NAME[name]
    dt = _dtype_for(op, data)
    a = op.arg(np.random.default_rng(seed), shape, dt, 0)
    t = strided_tensor(a, data.draw(layouts(len(shape))))
    check_sample(op, Sample([a]), "hypothesis", jt_args=[t])


def _binary_case(data, names, seed):
    name = data.draw(st.sampled_from(names), label="op")
    op = O.BY_NAME[name]
    dt = _dtype_for(op, data)
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                                         max_side=4), label="shapes").input_shapes
    # mostly one dtype; sometimes a second one, to exercise promotion with odd strides (not with a
    # 0-d operand against an n-d one: test_ops.py::test_zero_dim_tensor_promotes_like_pytorch)
    mixed = [d for d in MIXED if d in op.dtypes] if (len(shapes[0]) == 0) == (len(shapes[1]) == 0) else []
    dt2 = data.draw(st.sampled_from([dt, dt] + mixed), label="dtype2")
    rng = np.random.default_rng(seed)
    args = [op.arg(rng, shapes[0], dt, 0), op.arg(rng, shapes[1], dt2, 1)]
    targs = [strided_tensor(x, data.draw(layouts(len(x.shape)))) for x in args]
    r = check_sample(op, Sample(args), "hypothesis", jt_args=targs)
    if r is not None:
        assert tuple(r.shape) == np.broadcast_shapes(*shapes)


@given(data=st.data(), seed=seeds)
def test_binary(data, seed):
    _binary_case(data, BINARY, seed)


@given(data=st.data(), seed=seeds)
def test_comparison(data, seed):
    _binary_case(data, COMPARE, seed)


@given(data=st.data(), name=st.sampled_from(REDUCE_DIMS), shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1,
                                                                                  max_side=5),
       keepdim=st.booleans(), seed=seeds)
def test_reduction_over_dims(data, name, shape, keepdim, seed):
    op = O.BY_NAME[name]
    dt = _dtype_for(op, data, ("bool", "int32", "float32", "float64"))
    nd = len(shape)
    dims = data.draw(st.one_of(st.none(), st.lists(st.integers(0, max(nd - 1, 0)), min_size=1, max_size=max(nd, 1),
                                                   unique=True)), label="dims") if nd else None
    if name == "logsumexp" and nd == 0:
        shape, nd = (1,), 1   # it needs a dim; test_ops.py covers 0-d inputs against PyTorch
    if name == "logsumexp" and dims is None:
        dims = list(range(nd))
    if dims is not None and nd:
        dims = tuple(d - nd if data.draw(st.booleans(), label="negative") else d for d in dims)
    kw = {"keepdim": keepdim}
    if dims is not None:
        kw["dim"] = dims
    a = op.arg(np.random.default_rng(seed), shape, dt, 0)
    t = strided_tensor(a, data.draw(layouts(nd)))
    check_sample(op, Sample([a], kw), "hypothesis", jt_args=[t])


@given(data=st.data(), name=st.sampled_from(REDUCE_DIM), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1,
                                                                                 max_side=5), seed=seeds)
def test_reduction_along_dim(data, name, shape, seed):
    op = O.BY_NAME[name]
    dt = _dtype_for(op, data, ("int32", "float32", "float64"))
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    kw = {"dim": dim}
    if name in ("argmax", "argmin", "max", "min"):
        kw["keepdim"] = data.draw(st.booleans(), label="keepdim")
    if name == "sort":
        kw["descending"] = data.draw(st.booleans(), label="descending")
    rng = np.random.default_rng(seed)
    v = O.values(rng, shape, dt, (-3, 3), int_domain=(-3, 3), grid=0.5)   # ties: first index / stable order
    a = A(v, dt)
    t = strided_tensor(a, data.draw(layouts(nd)))
    check_sample(op, Sample([a], kw), "hypothesis", jt_args=[t])


# every unary and binary row whose samples come from its domain (custom samplers build arguments
# the op needs, such as pow's exponents or polygamma's order, that random shapes would not respect)
ELEMENTWISE = [op.name for op in O.OPS if op.kind in ("unary", "binary") and op._sample is None]


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=4)
@given(data=st.data(), seed=seeds)
def test_every_elementwise_op(name, data, seed):
    op = O.BY_NAME[name]
    dt = data.draw(st.sampled_from(op.primary), label="dtype")
    if op.kind == "unary":
        shapes = [data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4), label="shape")]
    else:
        shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0,
                                                             max_side=4), label="shapes").input_shapes
    rng = np.random.default_rng(seed)
    args = [op.arg(rng, shape, dt, i) for i, shape in enumerate(shapes)]
    targs = [strided_tensor(x, data.draw(layouts(len(x.shape)))) for x in args]
    r = check_sample(op, Sample(args, op.kwargs[0]), "hypothesis", jt_args=targs)
    for out in (r if isinstance(r, tuple) else () if r is None else (r,)):
        assert tuple(out.shape) == np.broadcast_shapes(*shapes)
