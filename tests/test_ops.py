"""Generic tests of the elementwise ops, reductions, scans and sorts, driven by the op table in
tests/opinfo.py: values against NumPy/PyTorch references for every listed dtype, result dtypes
against PyTorch, broadcasting, strided inputs and outputs, 0-d and empty tensors, Python scalars
on either side, out=, in-place forms and Python operators. A new op is tested by adding a row to
the table; `test_every_registry_op_is_tested` fails until it has one (or an entry in
TESTED_ELSEWHERE).
"""
import operator
import os
import pathlib
import subprocess
import sys
import warnings
import zlib

import numpy as np
import pytest
import torch

import jtensor as jt
from jtensor import dtypes as D
from jtensor.registry import REGISTRY

import opinfo as O
from opinfo import (A, KIND, OPS, Sample, check_dtypes, check_outputs, check_sample, fn, is_map, jdt, jt_kwargs,
                    policy, reference, to_jt, to_np, to_torch, torch_dtypes, torch_kwargs, torch_name)


def seed(*parts):
    """A deterministic per-case seed (stable across runs and test selections)."""
    return zlib.crc32(repr(parts).encode())


def layout_dtype(op):
    """The dtype of the layout tests (broadcasting, strides, 0-d, scalars, out=, in-place)."""
    return op.primary[0]


# ---- values and dtypes --------------------------------------------------------------------------------
VALUE_CASES = [pytest.param(op, dt, id=f"{op.name}-{dt}") for op in OPS for dt in op.dtypes]


@pytest.mark.parametrize("op,dtype", VALUE_CASES)
def test_values_and_dtypes(op, dtype):
    rng = np.random.default_rng(seed(op.name, dtype))
    samples = op.samples(rng, dtype, dtype in op.primary)
    assert samples
    for s in samples:
        check_sample(op, s)


def test_every_registry_op_is_tested():
    REGISTRY.sync()
    builtin = [name for name, op in REGISTRY.ops.items() if op.builtin]   # not ops other tests define
    missing = sorted(name for name in builtin if name not in O.BY_NAME and name not in O.TESTED_ELSEWHERE)
    assert not missing, f"registry ops with neither an opinfo row nor a TESTED_ELSEWHERE entry: {missing}"
    stale = sorted(name for name in list(O.BY_NAME) + list(O.TESTED_ELSEWHERE) if name not in REGISTRY.ops)
    assert not stale, f"opinfo names no registry op: {stale}"
    root = pathlib.Path(__file__).parents[1]
    absent = sorted({f for f in O.TESTED_ELSEWHERE.values() if not (root / f).exists()})
    assert not absent, f"TESTED_ELSEWHERE names missing test files: {absent}"


# ---- broadcasting ------------------------------------------------------------------------------------------
BROADCAST_SHAPES = {
    2: [((4, 1, 6), (5, 6)), ((6,), (3, 1)), ((1,), (2, 3)), ((2, 3, 1), ()), ((3, 1, 1), (1, 4, 1))],
    3: [((4, 1, 6), (5, 6), (1,)), ((6,), (3, 1), (1, 1, 6)), ((), (2, 3), (3,))],
}
BROADCAST_CASES = [pytest.param(op, shapes, id=f"{op.name}-{shapes}") for op in OPS if op.broadcasts
                   for shapes in BROADCAST_SHAPES[op.n_tensor_args()]]


@pytest.mark.parametrize("op,shapes", BROADCAST_CASES)
def test_broadcast(op, shapes):
    dt = layout_dtype(op)
    rng = np.random.default_rng(seed(op.name, shapes))
    args = [op.arg(rng, sh, dt, i) for i, sh in enumerate(shapes)]
    r = check_sample(op, Sample(args), "broadcast")
    if isinstance(r, jt.Tensor):
        assert tuple(r.shape) == np.broadcast_shapes(*shapes)


def test_broadcast_mismatch_raises():
    with pytest.raises(ValueError):
        jt.add(jt.zeros(3, 4), jt.zeros(5))
    with pytest.raises(ValueError):
        jt.where(jt.zeros(2, dtype=jt.bool), jt.zeros(3), 1.0)


# ---- strides ---------------------------------------------------------------------------------------------------
def strided(a, layout):
    """A jtensor tensor holding the values of `a` in a non-contiguous layout."""
    v = a.values
    if layout == "transposed":
        base = to_jt(A(np.ascontiguousarray(v.T), a.dtype))
        t = base.permute(*reversed(range(v.ndim)))
    elif layout in ("step", "offset-step"):
        start = 1 if layout == "offset-step" else 0
        big = np.zeros(tuple(2 * n + start for n in v.shape), v.dtype)
        idx = tuple(slice(start, None, 2) for _ in v.shape)
        big[idx] = v
        t = to_jt(A(big, a.dtype))[idx]
    else:
        raise ValueError(layout)
    assert v.ndim < 2 or not t.is_contiguous()
    np.testing.assert_array_equal(to_np(t), v)
    return t


LAYOUT_CASES = [pytest.param(op, layout, id=f"{op.name}-{layout}") for op in OPS
                for layout in ("transposed", "step", "offset-step")]


@pytest.mark.parametrize("op,layout", LAYOUT_CASES)
def test_strided_inputs(op, layout):
    rng = np.random.default_rng(seed(op.name, layout))
    s = op.samples(rng, layout_dtype(op), False)[0]
    targs = [strided(a, layout) if isinstance(a, A) and a.values.ndim >= 1 else to_jt(a) for a in s.args]
    check_sample(op, s, layout, jt_args=targs)


@pytest.mark.parametrize("op", [op for op in OPS if op.kind in ("unary", "binary", "ternary")], ids=lambda o: o.name)
def test_expanded_inputs(op):
    """Inputs expanded by zero strides (t.expand) read every element of the broadcast source."""
    dt = layout_dtype(op)
    rng = np.random.default_rng(seed(op.name, "expand"))
    args = [op.arg(rng, (1, 6) if i % 2 == 0 else (4, 1), dt, i) for i in range(op.n_tensor_args())]
    targs = [to_jt(a).expand(4, 6) for a in args]
    full = Sample([A(np.broadcast_to(a.values, (4, 6)).copy(), a.dtype) for a in args])
    check_sample(op, full, "expanded", jt_args=targs)


# ---- 0-d and empty tensors -------------------------------------------------------------------------------------------
ELEMENTWISE = ("unary", "binary", "ternary")


def _shape_samples(op, rng, shape):
    dt = layout_dtype(op)
    args = [op.arg(rng, shape, dt, i) for i in range(op.n_tensor_args())]
    if op.kind in ELEMENTWISE:
        return [Sample(args)]
    if op.name == "topk":
        return [Sample(args, {"k": 0 if 0 in shape else 1})]
    if shape == ():
        # a 0-d tensor reduces over dim None, 0 or -1 (as PyTorch allows)
        def scalar_dims(kw):
            d = kw.get("dim")
            return d is None or set(d if isinstance(d, tuple) else (d,)) <= {0, -1}
        return [Sample(args, kw) for kw in op.kwargs if scalar_dims(kw)][:3]
    return [Sample(args, kw) for kw in op.kwargs[:3]]


def _torch_reference(op, s):
    """PyTorch's result for a 0-d / empty reduction sample (float64; the edges where NumPy's
    conventions differ, such as a 0-d tensor's dim 0, follow PyTorch)."""
    targs = [torch.from_numpy(O.widen(a.values, policy(op))) if isinstance(a, A) else a for a in s.args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # var/std: "degrees of freedom is <= 0"
        r = op.torch_fn(*targs, **torch_kwargs(s.kwargs))
    return tuple(x.numpy() for x in r) if isinstance(r, tuple) else r.numpy()


SHAPE_CASES = [pytest.param(op, shape, id=f"{op.name}-{shape}") for op in OPS
               for shape in (((), (0,), (2, 0, 3)) if op.kind in ELEMENTWISE else ((), (2, 0, 3)))]


@pytest.mark.parametrize("op,shape", SHAPE_CASES)
def test_zero_dim_and_empty(op, shape):
    rng = np.random.default_rng(seed(op.name, shape))
    for s in _shape_samples(op, rng, shape):
        ctx = f"shape={shape}"
        if op.kind in ELEMENTWISE or op.torch_fn is None:
            r = check_sample(op, s, ctx)
            assert r is None or not isinstance(r, jt.Tensor) or tuple(r.shape) == np.broadcast_shapes(shape)
            continue
        try:
            expected = _torch_reference(op, s)
        except TypeError:
            expected = reference(op, s.args, s.kwargs)   # PyTorch's API lacks the call (prod over dims)
        except (RuntimeError, IndexError, ValueError):
            # PyTorch refuses (amax of an empty tensor, ...): so must jtensor
            with pytest.raises((RuntimeError, IndexError, ValueError)):
                fn(op)(*[to_jt(a) for a in s.args], **jt_kwargs(s.kwargs))
            continue
        actual = fn(op)(*[to_jt(a) for a in s.args], **jt_kwargs(s.kwargs))
        check_outputs(op, actual, expected, s, f"{op.name}{s} {ctx}")
        check_dtypes(op, s.args, s.kwargs, actual, f"{op.name}{s} {ctx}")


# ---- Python scalars (weak promotion) ---------------------------------------------------------------------------------
def _scalar_for(op, dtype, right):
    """A Python scalar operand that suits the op (nonzero divisor, small shift, ...)."""
    if op.name.startswith("bitwise"):
        return 3 if right else 6
    if KIND[dtype] in "iu" or op.name in ("remainder", "floor_divide"):
        return 3 if right else -7
    return 2.5 if right else -1.5


def _scalar_cases():
    # every row with scalar positions: its primary dtype, one scalar per position
    for op in OPS:
        for pos in op.scalar_positions:
            dt = layout_dtype(op)
            yield pytest.param(op, pos, dt, _scalar_for(op, dt, pos > 0), id=f"{op.name}-arg{pos}-{dt}")
    # the weak-promotion matrix on add and eq: a scalar of each kind against tensors of each kind
    for name in ("add", "eq"):
        for dt in ("bool", "int8", "uint8", "float16", "bfloat16", "float64", "complex64"):
            for sc in (True, 3, -1.5, 2 + 1j):
                if name == "eq" and isinstance(sc, complex) and dt == "bfloat16":
                    continue   # PyTorch has no bfloat16-complex comparison kernel
                yield pytest.param(O.BY_NAME[name], 1, dt, sc, id=f"{name}-{dt}-{sc!r}")
    for sc in (True, 2 + 1j):
        yield pytest.param(O.BY_NAME["add"], 0, "float32", sc, id=f"add-{sc!r}-left")


@pytest.mark.parametrize("op,pos,dtype,scalar", list(_scalar_cases()))
def test_python_scalar_operands(op, pos, dtype, scalar):
    rng = np.random.default_rng(seed(op.name, pos, dtype))
    args = [op.arg(rng, (3, 4), dtype, i) for i in range(op.n_tensor_args())]
    args[pos] = scalar
    if op.torch_fn is not None and torch_dtypes(op, args, {}) is None:
        # PyTorch refuses (an unsupported dtype for this op): so must jtensor
        with pytest.raises((TypeError, ValueError, RuntimeError)):
            fn(op)(*[to_jt(a) for a in args])
        return
    r = check_sample(op, Sample(args), f"scalar at {pos}")
    assert not isinstance(r, jt.Tensor) or tuple(r.shape) == (3, 4)


SCALARS = (True, 3, -1.5, 2 + 1j, 0, 1000, -2, 1e300)


@pytest.mark.parametrize("dtype", list(O.ALL))
def test_result_type_with_scalars(dtype):
    """jt.result_type with Python scalars on either side matches torch.result_type."""
    t = to_jt(A(np.zeros(3), dtype))
    tt = to_torch(A(np.zeros(3), dtype))
    for sc in SCALARS:
        assert jt.result_type(t, sc).name == torch_name(torch.result_type(tt, sc)), (dtype, sc)
        assert jt.result_type(sc, t).name == torch_name(torch.result_type(sc, tt)), (dtype, sc)
    for other in O.ALL:
        o, to = to_jt(A(np.zeros(3), other)), to_torch(A(np.zeros(3), other))
        assert jt.result_type(t, o).name == torch_name(torch.result_type(tt, to)), (dtype, other)


# ---- mixed dtypes ---------------------------------------------------------------------------------------------------------
PROMOTION_PAIRS = [("bool", "int8"), ("int8", "uint8"), ("int16", "int32"), ("uint8", "int64"),
                   ("int32", "float16"), ("float16", "bfloat16"), ("bfloat16", "float32"), ("float32", "float64"),
                   ("int64", "float32"), ("float32", "complex64"), ("float64", "complex64"),
                   ("complex64", "complex128"), ("bool", "float16"), ("uint8", "bfloat16"), ("int8", "complex128")]
PROMOTION_CASES = ([pytest.param("add", a, b, id=f"add-{a}-{b}") for a, b in PROMOTION_PAIRS]
                   + [pytest.param(name, a, b, id=f"{name}-{a}-{b}") for name in ("div", "eq", "maximum", "where")
                      for a, b in PROMOTION_PAIRS[::3]])


@pytest.mark.parametrize("name,a,b", PROMOTION_CASES)
def test_mixed_dtype_promotion(name, a, b):
    op = O.BY_NAME[name]
    rng = np.random.default_rng(seed(name, a, b))
    x = A(O.values(rng, (3, 4), a, (-3, 3)), a)
    y = A(O.values(rng, (3, 4), b, (0.5, 3), nonzero=True), b)
    cond = [A(rng.random((3, 4)) < 0.5, "bool")] if name == "where" else []
    orders = ([x, y], [y, x]) if name == "add" else ([x, y],)   # each order is one more compilation
    for args in (cond + o for o in orders):
        if torch_dtypes(op, args, {}) is None:
            with pytest.raises((TypeError, RuntimeError)):
                fn(op)(*[to_jt(v) for v in args])
            continue
        check_sample(op, Sample(args), "mixed dtypes")


def test_zero_dim_tensors_are_weak_as_in_pytorch():
    """As PyTorch: a 0-d tensor changes an n-d operand's category but not its precision within it;
    Python scalars likewise (the Array API namespace keeps the standard's rule: test_array_api.py)."""
    x = jt.tensor(np.arange(3, dtype=np.int32))
    y = jt.tensor(np.array(5, dtype=np.int64))
    assert (x + y).dtype is jt.int32
    assert (x + 5).dtype is jt.int32
    assert (jt.ones(2, dtype=jt.float32) + jt.tensor(np.array(1.0))).dtype is jt.float32
    assert (x + jt.tensor(np.array(1.0))).dtype is jt.float64   # a higher category brings its precision
    assert (y + jt.tensor(np.array(2, dtype=np.int8))).dtype is jt.int64   # both 0-d: plain promotion


# ---- out= ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", [op for op in OPS if op.name != "allclose"], ids=lambda o: o.name)
def test_out(op):
    rng = np.random.default_rng(seed(op.name, "out"))
    s = op.samples(rng, layout_dtype(op), False)[0]
    targs = [to_jt(a) for a in s.args]
    kw = jt_kwargs(s.kwargs)
    ref = fn(op)(*targs, **kw)
    refs = O.results(ref)
    outs = tuple(jt.empty(r.shape, dtype=r.dtype) for r in refs)
    got = fn(op)(*targs, **kw, out=outs if isinstance(ref, tuple) else outs[0])
    if isinstance(ref, tuple):
        assert all(g is o for g, o in zip(got, outs))
    else:
        assert got is outs[0]
    for o, r in zip(outs, refs):
        np.testing.assert_array_equal(to_np(o), to_np(r))
    if is_map(op):
        # a strided out= view is written through to its base, and nothing else is touched
        base = jt.zeros(*(refs[0].shape + (2,)), dtype=refs[0].dtype)
        view = base[..., 1]
        assert fn(op)(*targs, **kw, out=view) is view
        np.testing.assert_array_equal(to_np(base)[..., 1], to_np(refs[0]))
        assert not to_np(base)[..., 0].any()
        with pytest.raises((RuntimeError, ValueError)):
            fn(op)(*targs, **kw, out=jt.empty(7, dtype=refs[0].dtype))


@pytest.mark.parametrize("name", ["add", "exp", "eq"])
def test_out_dtype_rules(name):
    """out= may be of a wider dtype than the result (PyTorch's rule) but not of a lower kind."""
    op = O.BY_NAME[name]
    rng = np.random.default_rng(seed(name, "outdt"))
    s = op.samples(rng, "float32", False)[0]
    targs = [to_jt(a) for a in s.args]
    ref = fn(op)(*targs)
    wide = jt.empty(ref.shape, dtype=jt.float64 if ref.dtype.kind != "b" else jt.int32)
    assert fn(op)(*targs, out=wide) is wide
    np.testing.assert_allclose(to_np(wide), to_np(ref).astype(to_np(wide).dtype), rtol=1e-6)
    if ref.dtype.kind == "f":
        with pytest.raises(RuntimeError):
            fn(op)(*targs, out=jt.empty(ref.shape, dtype=jt.int32))
        with pytest.raises(RuntimeError):
            op.torch_fn(*[to_torch(a) for a in s.args], out=torch.empty(ref.shape, dtype=torch.int32))


# ---- in-place ---------------------------------------------------------------------------------------------------------------
INPLACE_OPS = [op for op in OPS if op.inplace]


def _assert_cast_equal(op, got, expected, dtype, ctx):
    """`got` (of `dtype`) holds the reference result cast to `dtype`."""
    exp = np.asarray(expected)
    if KIND[dtype] in "biu":
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(got, exp.astype(O.np_storage(dtype)), err_msg=ctx)
        return
    wide = np.complex128 if KIND[dtype] == "c" else np.float64
    e = exp.astype(dtype).astype(wide) if KIND[dtype] == "c" else O.round_to(exp.astype(np.float64), dtype).astype(wide)
    np.testing.assert_allclose(got.astype(wide), e, *op.tolerance(dtype), equal_nan=True, err_msg=ctx)


@pytest.mark.parametrize("op", INPLACE_OPS, ids=lambda o: o.name)
def test_inplace(op):
    dt = layout_dtype(op)
    rng = np.random.default_rng(seed(op.name, "inplace"))
    s = op.samples(rng, dt, False)[0]
    targs = [to_jt(a) for a in s.args]
    x = targs[0]
    method = getattr(jt.Tensor, op.name + "_")
    result = fn(op)(*[to_jt(a) for a in s.args], **jt_kwargs(s.kwargs))
    if not D.can_cast(result.dtype, x.dtype):
        # the result's kind does not fit the input (exp_ of an integer tensor): PyTorch refuses too
        with pytest.raises(RuntimeError):
            method(*targs, **jt_kwargs(s.kwargs))
        with pytest.raises(RuntimeError):
            getattr(to_torch(s.args[0]), op.name + "_")(*[to_torch(a) for a in s.args[1:]], **O.torch_kwargs(s.kwargs))
        np.testing.assert_array_equal(to_np(x), s.args[0].values)   # nothing was written
        return
    r = method(*targs, **jt_kwargs(s.kwargs))
    assert r is x
    assert x.dtype.name == s.args[0].dtype
    _assert_cast_equal(op, to_np(x), reference(op, s.args, s.kwargs), dt, f"{op.name}_")


@pytest.mark.parametrize("op", [op for op in INPLACE_OPS if op.kind != "unary"], ids=lambda o: o.name)
def test_inplace_broadcast_into_view(op):
    """x.op_(y) with y broadcast to x, x a strided view: the base sees the writes, nothing else
    changes; a y that x cannot hold (larger shape) is refused."""
    dt = layout_dtype(op)
    rng = np.random.default_rng(seed(op.name, "inplace-view"))
    n = op.n_tensor_args()
    x = op.arg(rng, (4, 6), dt, 0)
    others = [op.arg(rng, (6,), dt, i) for i in range(1, n)]
    base = to_jt(A(np.stack([x.values, x.values], axis=1), x.dtype))   # (4, 2, 6)
    view = base[:, 1]
    method = getattr(jt.Tensor, op.name + "_")
    if not D.can_cast(fn(op)(*[to_jt(a) for a in [x] + others]).dtype, jdt(dt)):
        with pytest.raises(RuntimeError):
            method(view, *[to_jt(o) for o in others])
        return
    assert method(view, *[to_jt(o) for o in others]) is view
    got = to_np(base)
    _assert_cast_equal(op, got[:, 1], reference(op, [x] + others, {}), dt, f"{op.name}_ into a view")
    np.testing.assert_array_equal(got[:, 0], x.values)
    small = to_jt(op.arg(rng, (6,), dt, 0))
    with pytest.raises((RuntimeError, ValueError)):
        method(small, *[to_jt(A(np.resize(o.values, (4, 6)), o.dtype)) for o in others])


def test_inplace_kind_demotion_raises():
    x = jt.tensor(np.arange(4, dtype=np.int64))
    for f in (lambda: x.add_(jt.tensor(np.ones(4, np.float32))), lambda: x.add_(1.5), lambda: x.div_(2),
              lambda: x.exp_()):
        with pytest.raises(RuntimeError):
            f()
    with pytest.raises(RuntimeError):
        torch.arange(4).add_(1.5)
    np.testing.assert_array_equal(to_np(x), np.arange(4))   # nothing was written
    f16 = jt.tensor(np.arange(4, dtype=np.float16))
    assert f16.add_(jt.tensor(np.ones(4, np.int64))) is f16
    assert f16.dtype is jt.float16
    np.testing.assert_array_equal(to_np(f16), np.arange(4) + 1)
    b = jt.tensor(np.array([True, False]))
    with pytest.raises(RuntimeError):
        b.add_(1)


# ---- Python operators --------------------------------------------------------------------------------------------------
BINOPS = {"+": (operator.add, operator.iadd), "-": (operator.sub, operator.isub), "*": (operator.mul, operator.imul),
          "/": (operator.truediv, operator.itruediv), "//": (operator.floordiv, operator.ifloordiv),
          "%": (operator.mod, operator.imod), "**": (operator.pow, operator.ipow),
          "&": (operator.and_, operator.iand), "|": (operator.or_, operator.ior), "^": (operator.xor, operator.ixor),
          "<<": (operator.lshift, operator.ilshift), ">>": (operator.rshift, operator.irshift),
          "==": (operator.eq, None), "!=": (operator.ne, None), "<": (operator.lt, None), "<=": (operator.le, None),
          ">": (operator.gt, None), ">=": (operator.ge, None)}
INTONLY = {"&", "|", "^", "<<", ">>"}


def _operands(sym):
    """(dtype, x, y, scalar): y and scalar are valid right operands, x and scalar valid left ones."""
    rng = np.random.default_rng(seed(sym))
    if sym in INTONLY:
        dt = "int64"
        x = O.values(rng, (3, 4), dt, int_domain=(-50, 50))
        y = O.values(rng, (3, 4), dt, int_domain=(0, 6))
        return dt, x, y, 3
    dt = "float32"
    if sym == "**":
        return dt, O.values(rng, (3, 4), dt, (0.5, 2.0)), O.values(rng, (3, 4), dt, (-1.0, 2.0)), 1.5
    return dt, O.values(rng, (3, 4), dt, (0.5, 5)), O.values(rng, (3, 4), dt, (0.5, 4)), 2.5


OPERATOR_CASES = [pytest.param(sym, form, id=f"{sym}-{form}") for sym in BINOPS
                  for form in ("tensor-tensor", "tensor-scalar", "scalar-tensor")]
OPERATOR_CASES += [pytest.param(sym, form, id=f"{sym}-{form}") for sym in ("+", "-", "*", "/", "**", "<", "==")
                   for form in ("tensor-ndarray", "ndarray-tensor")]


@pytest.mark.parametrize("sym,form", OPERATOR_CASES)
def test_python_operators(sym, form):
    """Operators (and their reflected forms) give PyTorch's dtype and values."""
    f = BINOPS[sym][0]
    dt, x, y, sc = _operands(sym)
    jx, jy, tx, ty = to_jt(A(x, dt)), to_jt(A(y, dt)), to_torch(A(x, dt)), to_torch(A(y, dt))
    arr = y.astype(np.float64)   # a NumPy array of another dtype: not weak, promotes like a tensor
    jargs, targs = {
        "tensor-tensor": ((jx, jy), (tx, ty)),
        "tensor-scalar": ((jx, sc), (tx, sc)),
        "scalar-tensor": ((sc, jy), (sc, ty)),
        "tensor-ndarray": ((jx, arr), (tx, torch.from_numpy(arr))),
        "ndarray-tensor": ((arr, jy), (torch.from_numpy(arr), ty)),
    }[form]
    want, got = f(*targs), f(*jargs)
    assert isinstance(got, jt.Tensor), f"{sym} {form} gave {type(got).__name__}"
    assert got.dtype.name == torch_name(want.dtype), f"{sym} {form}: {got.dtype.name}, PyTorch {want.dtype}"
    w = want.numpy()
    if w.dtype.kind == "f":
        np.testing.assert_allclose(to_np(got), w, rtol=2e-6, atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(to_np(got), w)


@pytest.mark.parametrize("sym", [s for s in BINOPS if BINOPS[s][1] is not None])
def test_inplace_operators(sym):
    """x op= y updates x itself and keeps its dtype."""
    iop = BINOPS[sym][1]
    dt, x, y, sc = _operands(sym)
    for other_j, other_t in ((to_jt(A(y, dt)), to_torch(A(y, dt))), (sc, sc)):
        jx, tx = to_jt(A(x, dt)), to_torch(A(x, dt))
        keep = jx
        jx = iop(jx, other_j)
        tx = iop(tx, other_t)
        assert jx is keep, f"{sym}= must update in place"
        assert jx.dtype.name == dt
        np.testing.assert_allclose(to_np(jx), tx.numpy(), rtol=2e-6)


def test_unary_operators():
    x = np.array([[-2.5, 0.0, 3.0], [1.5, -0.0, -7.0]], np.float32)
    jx, tx = jt.tensor(x), torch.from_numpy(x)
    for f in (operator.neg, operator.pos, abs):
        got, want = f(jx), f(tx)
        assert got.dtype.name == torch_name(want.dtype)
        np.testing.assert_array_equal(to_np(got), want.numpy())
    i = np.array([0, -1, 5, 127], np.int8)
    for f in (operator.neg, operator.invert, abs):
        got, want = f(jt.tensor(i)), f(torch.from_numpy(i))
        assert got.dtype.name == torch_name(want.dtype)
        np.testing.assert_array_equal(to_np(got), want.numpy())
    b = np.array([True, False])
    assert (~jt.tensor(b)).dtype is jt.bool
    np.testing.assert_array_equal(to_np(~jt.tensor(b)), ~b)
    with pytest.raises(TypeError):
        ~jt.tensor(x)


def test_matmul_operator():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
    got = jt.tensor(a) @ jt.tensor(b)
    assert got.dtype is jt.float32
    np.testing.assert_allclose(to_np(got), a @ b, rtol=1e-5, atol=1e-5)
    got = a @ jt.tensor(b)   # reflected: a NumPy array on the left defers to the tensor
    assert isinstance(got, jt.Tensor)
    np.testing.assert_allclose(to_np(got), a @ b, rtol=1e-5, atol=1e-5)


def test_operators_refuse_unknown_operands():
    x = jt.tensor(np.ones(3, np.float32))
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        object() * x
    assert (x == "a") is False   # NotImplemented both ways: Python's identity comparison


# ---- documented edges and errors -----------------------------------------------------------------------------------------
def test_activation_limits():
    """gelu/silu at +-inf give their limits (PyTorch computes inf * 0 = NaN there)."""
    x = jt.tensor(np.array([np.inf, -np.inf, np.nan], np.float32))
    for name, at_inf in (("gelu", np.inf), ("silu", np.inf), ("softplus", np.inf), ("sigmoid", 1.0)):
        r = to_np(getattr(jt, name)(x))
        assert r[0] == at_inf and r[1] == 0 and np.isnan(r[2]), (name, r)


def test_integer_division_by_zero_raises():
    x = jt.tensor(np.array([1, 2, 3], np.int32))
    z = jt.tensor(np.array([1, 0, 1], np.int32))
    for f in (jt.floor_divide, jt.remainder):
        with pytest.raises(ZeroDivisionError):
            f(x, z)
    with pytest.raises(ZeroDivisionError):
        x // 0
    with pytest.raises((ZeroDivisionError, RuntimeError)):
        torch.tensor([1, 2]) // 0
    # float division by zero follows IEEE
    r = to_np(jt.div(jt.tensor(np.array([1.0, -1.0, 0.0], np.float32)), 0.0))
    assert r[0] == np.inf and r[1] == -np.inf and np.isnan(r[2])


def test_integer_overflow_edges_wrap():
    """typemin // -1 and typemin % -1 wrap (NumPy and PyTorch), abs/neg of typemin stay typemin."""
    for dt in ("int8", "int64"):
        lo = np.iinfo(dt).min
        x = jt.tensor(np.array([lo, lo], dt))
        m1 = jt.tensor(np.array([-1, -1], dt))
        np.testing.assert_array_equal(to_np(jt.floor_divide(x, m1)), [lo, lo])
        np.testing.assert_array_equal(to_np(jt.remainder(x, m1)), [0, 0])
        np.testing.assert_array_equal(to_np(jt.neg(x)), [lo, lo])
        np.testing.assert_array_equal(to_np(jt.abs(x)), [lo, lo])


UNSUPPORTED = [("bitwise_and", "float32"), ("bitwise_not", "float64"), ("bitwise_left_shift", "bfloat16"),
               ("floor_divide", "complex64"), ("remainder", "complex128"), ("maximum", "complex128"),
               ("floor", "complex64"), ("round", "complex128"), ("lt", "complex64"), ("mean", "int32"),
               ("var", "int64"), ("std", "bool"), ("amax", "complex64"), ("sort", "complex64"),
               ("norm", "int32"), ("argmax", "complex64"), ("max", "complex128"), ("topk", "complex64"),
               ("clamp", "complex64"), ("atan2", "complex64"), ("erf", "complex64")]


@pytest.mark.parametrize("name,dtype", UNSUPPORTED, ids=[f"{n}-{d}" for n, d in UNSUPPORTED])
def test_unsupported_dtype_raises_type_error(name, dtype):
    op = O.BY_NAME[name]
    n = op.n_tensor_args()
    extra = {"k": 1} if name == "topk" else {}
    with pytest.raises(TypeError):
        fn(op)(*[to_jt(A(np.ones((2, 3)), dtype))] * n, **extra)
    with pytest.raises((TypeError, RuntimeError, NotImplementedError)):
        op.torch_fn(*[to_torch(A(np.ones((2, 3)), dtype))] * n, **extra)


def test_reduction_dim_errors():
    x = jt.zeros(2, 3)
    with pytest.raises(IndexError):
        jt.sum(x, 2)
    with pytest.raises(IndexError):
        jt.amax(x, -3)
    with pytest.raises(RuntimeError):
        jt.sum(x, (0, 0))
    with pytest.raises(ValueError):
        jt.topk(x, 4)


def test_cpp_exceptions_survive_import_order():
    """NumPy, then jtensor, then PyTorch: a PyTorch (C++) error is still an exception. (libjulia's
    libunwind, loaded RTLD_GLOBAL, used to take over C++ unwinding and abort the process.)"""
    code = ("import numpy, jtensor, torch\n"
            "try:\n    torch.ones(2).view(3)\nexcept RuntimeError:\n    print('caught')\n")
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(jt.__file__).parents[1])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0 and "caught" in r.stdout, r.stderr[-2000:]
