"""In-place elementwise ops on the C fast path (python/jtensor/_native/fastpath.c `map` with
into=True), against PyTorch.

The fast path runs an in-place call signature only after the Python driver has run it once and
registered it (drivers.py `_register_fast`), so every check here calls the op once to warm it up
and then checks the call that follows: that it did not reach the driver when it should not
(`driver_calls`), that the values are PyTorch's, and that what the driver guarantees still holds
on the fast path: self's version counter is bumped (a tensor saved for backward and then modified
makes backward raise), views and NumPy arrays sharing self's memory see the write, and every
error (a result self's dtype can't hold, a broadcast that would grow self, a leaf requiring grad,
an expanded self, read-only memory) is still raised, by the driver, which the fast path leaves
such calls to.
"""
import contextlib
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import jtensor as jt
from jtensor import codegen
from jtensor.registry import REGISTRY

import opinfo as O
from opinfo import A, jt_kwargs, to_jt, to_np, to_torch, torch_kwargs
from test_hypothesis_ops import layouts, seeds, strided_tensor
from test_ops import layout_dtype, seed


@contextlib.contextmanager
def driver_calls(name):
    """The calls that the functions of registry op `name` (its in-place form included: they share
    one generated namespace) make to the Python driver while the block runs."""
    REGISTRY.sync()
    ns = codegen._NAMESPACES[REGISTRY.ops[name].qualname]
    real, calls = ns["_run_map"], []

    def spy(*a, **k):
        calls.append(a)
        return real(*a, **k)
    ns["_run_map"] = spy
    try:
        yield calls
    finally:
        ns["_run_map"] = real


def run_twice(name, make_self, args, kwargs=None):
    """Call `self.<name>_(*args, **kwargs)` on a first tensor from `make_self()` (the driver runs
    it and registers the signature), then on a second, counting the driver calls of the second.
    Returns (the second self, what the call returned, its driver calls, version before)."""
    kwargs = kwargs or {}
    getattr(make_self(), name + "_")(*args, **kwargs)
    x = make_self()
    v0 = x._version[0]
    with driver_calls(name) as calls:
        r = getattr(x, name + "_")(*args, **kwargs)
    return x, r, calls, v0


def bound_values(name, others, kwargs):
    """The values of op `name`'s parameters after self in a call `self.<name>_(*others, **kwargs)`,
    defaults included (they reach the fast path too: a None there sends the call to the driver)."""
    params = REGISTRY.ops[name].params[1:]
    given = dict(zip((p.name for p in params), others), **kwargs)
    return [given.get(p.name, p.default) for p in params]


def fast_eligible(x, values):
    """Whether fastpath.c takes a call on self `x` with the other argument `values`: every tensor
    of x's dtype, the rest Python numbers."""
    return all(v.dtype == x.dtype if isinstance(v, jt.Tensor) else type(v) in (bool, int, float) for v in values)


def assert_like_torch(got, want, ctx=""):
    want = want.detach()
    assert got.dtype.name == O.torch_name(want.dtype), ctx
    if want.dtype.is_floating_point or want.dtype.is_complex:
        np.testing.assert_allclose(to_np(got), want.to(torch.float64 if not want.dtype.is_complex
                                                       else torch.complex128).numpy(),
                                   rtol=2e-6 if want.dtype != torch.float16 else 1e-3, atol=1e-6,
                                   equal_nan=True, err_msg=ctx)
    else:
        np.testing.assert_array_equal(to_np(got), want.numpy(), err_msg=ctx)


# ---- every in-place op of the table ----------------------------------------------------------------------------------
INPLACE_ROWS = [op for op in O.OPS if op.inplace and hasattr(torch.Tensor, op.name + "_")
                and REGISTRY.ops[op.name].inplace_fn is not None]


def _without_nan(a):
    """`a` with NaNs made 0.5 (jtensor's sign(nan) is NaN, PyTorch's 0: a difference of the op,
    not of the path, which test_ops.py checks against its reference)."""
    if isinstance(a, A) and a.values.dtype.kind == "f" and np.isnan(a.values).any():
        return A(np.where(np.isnan(a.values), 0.5, a.values), a.dtype)
    return a


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("op", INPLACE_ROWS, ids=lambda o: o.name)
def test_every_inplace_op(op, layout):
    """Each in-place method of the table, on a contiguous and on a transposed self: PyTorch's values
    or PyTorch's refusal, the version bumped once, and no driver call when the fast path applies."""
    dt = layout_dtype(op)
    s = op.samples(np.random.default_rng(seed(op.name, "inplace-fast")), dt, False)[0]
    s.args = [_without_nan(a) for a in s.args]
    x0 = s.args[0]

    def make_self():
        if layout == "contiguous" or x0.values.ndim < 2:
            return to_jt(x0)
        return to_jt(A(np.ascontiguousarray(x0.values.T), x0.dtype)).t()
    others = [to_jt(a) for a in s.args[1:]]
    kw = jt_kwargs(s.kwargs)
    tx = to_torch(x0)
    try:
        getattr(tx, op.name + "_")(*[to_torch(a) for a in s.args[1:]], **torch_kwargs(s.kwargs))
    except RuntimeError:   # the result does not fit self's dtype: refused both times, nothing written
        for _ in range(2):
            x = make_self()
            with pytest.raises(RuntimeError):
                getattr(x, op.name + "_")(*others, **kw)
            np.testing.assert_array_equal(to_np(x), x0.values)
        return
    x, r, calls, v0 = run_twice(op.name, make_self, others, kw)
    assert r is x
    assert x._version[0] == v0 + 1
    assert_like_torch(x, tx, f"{op.name}_ ({layout})")
    if fast_eligible(x, bound_values(op.name, others, kw)):
        assert calls == [], f"{op.name}_ went to the driver"


# ---- random shapes, strides, dtypes and broadcasting --------------------------------------------------------------------
BINARY = ["add", "sub", "mul", "div", "bitwise_and", "logical_or", "atan2"]
DTYPES = ("bool", "int32", "int64", "float32", "float64")


def _torch_inplace(name, tx, *args, **kw):
    try:
        return getattr(tx, name + "_")(*args, **kw), None
    except RuntimeError as e:
        return None, e


@given(name=st.sampled_from(BINARY), dtype=st.sampled_from(DTYPES), ndim=st.integers(0, 3), data=st.data(),
       sd=seeds)
def test_random_layouts_and_broadcasting(name, dtype, ndim, data, sd):
    """self a strided view (permuted, stepped, offset) of random shape; other of a shape that
    broadcasts to self's (dims dropped or set to 1), or a Python number: PyTorch's values, through
    the fast path once warm."""
    rng = np.random.default_rng(sd)
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    drop = data.draw(st.integers(0, ndim))
    oshape = tuple(n if data.draw(st.booleans()) else 1 for n in shape[drop:])
    # (PyTorch's logical_or_ and atan2_ take no number, jtensor's do: a difference of the op, not the path)
    scalar = data.draw(st.sampled_from([None, 2, 1.5, True] if name in ("add", "sub", "mul", "div") else [None]))
    layout = data.draw(layouts(ndim))
    xa = A(O.values(rng, shape, dtype, (-3, 3), (-5, 5)), dtype)
    other = scalar if scalar is not None else to_jt(A(O.values(rng, oshape, dtype, (-3, 3), (-5, 5)), dtype))
    tother = scalar if scalar is not None else to_torch(A(np.asarray(other), dtype))
    tx = to_torch(xa)
    want, err = _torch_inplace(name, tx, tother)
    if err is not None:
        # (jtensor refuses bitwise ops on floats with a TypeError, PyTorch with a RuntimeError:
        # the op's check, made before any path is chosen)
        with pytest.raises((RuntimeError, TypeError)):
            getattr(strided_tensor(xa, layout), name + "_")(other)
        return
    x, r, calls, v0 = run_twice(name, lambda: strided_tensor(xa, layout), [other])
    assert r is x and x._version[0] == v0 + 1
    assert_like_torch(x, want, f"{name}_ {dtype} {shape} <- {oshape if scalar is None else scalar!r}")
    assert calls == []


@pytest.mark.parametrize("dtype", ["bool", "int64", "float32"])
def test_scalar_other_and_operators(dtype):
    """x.op_(number) and the augmented operators (x += y, x *= c) on each kind of dtype."""
    rng = np.random.default_rng(seed("scalar", dtype))
    xv = O.values(rng, (3, 5), dtype, (-3, 3), (-5, 5))
    yv = O.values(rng, (5,), dtype, (-3, 3), (-5, 5))
    c = {"bool": True, "int64": 3, "float32": 0.5}[dtype]
    cases = [("mul", lambda t, o: t.mul_(c)), ("add", lambda t, o: t.add_(o)), ("mul", lambda t, o: t.__imul__(o))]
    if dtype != "bool":
        cases += [("add", lambda t, o: t.__iadd__(c)), ("sub", lambda t, o: t.__isub__(o))]
    for name, f in cases:
        tx = torch.from_numpy(xv.copy())
        f(tx, torch.from_numpy(yv.copy()))
        f(jt.tensor(xv), jt.tensor(yv))   # warm
        x = jt.tensor(xv)
        with driver_calls(name) as calls:
            assert f(x, jt.tensor(yv)) is x
        assert calls == []
        assert_like_torch(x, tx, f"{name} {dtype}")


# ---- errors: still raised (by the driver) ------------------------------------------------------------------------------------
def test_result_that_self_cannot_hold_raises():
    x = jt.arange(4)
    x.mul_(2)   # the int signature is registered; a float one never is
    for _ in range(2):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            x.mul_(2.5)
        with pytest.raises(RuntimeError, match="can't be cast"):
            x.div_(jt.arange(1, 5))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
        torch.arange(4).mul_(2.5)
    np.testing.assert_array_equal(to_np(x), [0, 2, 4, 6])


def test_broadcast_that_would_grow_self_raises():
    x = jt.ones(3)
    x.add_(jt.ones(3))
    for big in (jt.ones(2, 3), jt.ones(1, 3)):
        with pytest.raises(RuntimeError):
            x.add_(big)
        with pytest.raises(RuntimeError):
            torch.ones(3).add_(torch.ones(*big.shape))
    np.testing.assert_array_equal(to_np(x), [2, 2, 2])


def test_leaf_requiring_grad_raises_unless_no_grad():
    w, tw = jt.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    with jt.no_grad():
        w.mul_(2.0)
        with driver_calls("mul") as calls:
            assert w.mul_(2.0) is w   # an optimizer's update: the fast path, grad mode being off
        assert calls == []
    with torch.no_grad():
        tw.mul_(4.0)
    assert_like_torch(w.detach(), tw)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w.mul_(2.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        tw.mul_(2.0)
    assert w.requires_grad and w.grad_fn is None


def test_expanded_self_raises():
    for _ in range(2):
        x = jt.ones(1, 3).expand(4, 3)
        with pytest.raises(RuntimeError, match="single memory location"):
            x.add_(1.0)
    with pytest.raises(RuntimeError, match="single memory location"):
        torch.ones(1, 3).expand(4, 3).add_(1.0)


def test_read_only_memory_raises():
    n = np.arange(4, dtype=np.float32)
    jt.from_numpy(n.copy()).add_(1.0)   # warm
    n.flags.writeable = False
    with warnings.catch_warnings():   # (PyTorch warns of a non-writable array here; jtensor refuses writes)
        warnings.simplefilter("ignore")
        t = jt.from_numpy(n)
    for _ in range(2):
        with pytest.raises(ValueError, match="read-only"):
            t.add_(1.0)
    np.testing.assert_array_equal(n, [0, 1, 2, 3])


# ---- what the driver guarantees, on the fast path ------------------------------------------------------------------------
def test_saved_tensor_modified_in_place_makes_backward_raise():
    """mul saves its other operand; modifying it in place (grad mode on, it requiring no grad: the
    fast path) bumps its version, and backward refuses, as in PyTorch."""
    jt.ones(3).mul_(2.0)
    for lib in (jt, torch):
        w = lib.ones(3, requires_grad=True)
        x = lib.full((3,), 2.0)
        y = (w * x).sum()
        if lib is jt:
            with driver_calls("mul") as calls:
                x.mul_(2.0)
            assert calls == []
        else:
            x.mul_(2.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_views_share_the_write_and_the_version():
    base = jt.arange(12.0).reshape(3, 4)
    col = base[:, 1]
    base.add_(1.0)
    base.add_(1.0)
    col.mul_(10.0)
    col.mul_(10.0)
    tbase = torch.arange(12.0).reshape(3, 4)
    tbase.add_(2.0)
    tbase[:, 1].mul_(100.0)
    assert_like_torch(base, tbase)
    assert_like_torch(col, tbase[:, 1])
    assert base._version is col._version and base._version[0] == 4


def test_operands_overlapping_self():
    """x.add_(x) reads each element before writing it (the fast path); x[1:].add_(x[:-1]) overlaps
    in another layout: the driver copies the operand first, so the values are those of x + shifted x."""
    x = jt.arange(6.0)
    x.add_(x)
    with driver_calls("add") as calls:
        x.add_(x)
    assert calls == []
    np.testing.assert_array_equal(to_np(x), np.arange(6.0) * 4)
    y = jt.arange(6.0)
    with driver_calls("add") as calls:
        y[1:].add_(y[:-1])
    assert len(calls) == 1
    np.testing.assert_array_equal(to_np(y), [0, 1, 3, 5, 7, 9])


def test_numpy_and_dlpack_memory_sees_the_write():
    n = np.arange(6, dtype=np.float32)
    t = jt.from_numpy(n)
    t.mul_(2.0)
    t.mul_(2.0)
    np.testing.assert_array_equal(n, np.arange(6) * 4)
    m = np.arange(6, dtype=np.float64).reshape(2, 3)
    d = jt.from_dlpack(m)
    d.add_(jt.ones(3, dtype=jt.float64))
    with driver_calls("add") as calls:
        d.add_(jt.ones(3, dtype=jt.float64))
    assert calls == []
    np.testing.assert_array_equal(m, np.arange(6).reshape(2, 3) + 2)


def test_julia_without_in_place_plans(monkeypatch):
    """With a Julia that refuses in-place plans (a system image from before them, named by
    JTENSOR_SYSIMAGE), in-place calls get the ordinary plan and the same values."""
    from jtensor import bridge, drivers
    real, refused = bridge.plan, []

    def old_julia(opid, fmt, words, context, into=False):
        if into:
            refused.append(opid)
            raise RuntimeError("bridge: no in-place plans in this image")
        return real(opid, fmt, words, context)
    monkeypatch.setattr(bridge, "plan", old_julia)
    monkeypatch.setattr(drivers, "_PLANS", {})
    registered = dict(drivers.FAST_SIGNATURES)   # (the dict the C fast path reads: emptied, then restored)
    drivers.FAST_SIGNATURES.clear()
    try:
        x, tx = jt.arange(12.0).reshape(3, 4).t(), torch.arange(12.0).reshape(3, 4).t()
        for _ in range(2):
            x.mul_(3.0).add_(jt.ones(3))
            tx.mul_(3.0).add_(torch.ones(3))
    finally:
        drivers.FAST_SIGNATURES.clear()
        drivers.FAST_SIGNATURES.update(registered)
    assert len(refused) == 2   # mul_ and add_ asked once each
    assert_like_torch(x, tx)


@pytest.mark.parametrize("transposed", [False, True])
def test_other_broadcast_along_the_inner_dim(transposed):
    """x (4, 6) += y (4, 1): the engine's loop that reads y once per row, with self as an operand."""
    def make_self(lib):
        x = lib.arange(24.0).reshape(6, 4).t() if transposed else lib.arange(24.0).reshape(4, 6)
        return x.contiguous() if not transposed else x
    y = jt.arange(4.0).reshape(4, 1)
    x, r, calls, v0 = run_twice("add", lambda: make_self(jt), [y])
    assert calls == [] and r is x
    assert_like_torch(x, make_self(torch).add_(torch.arange(4.0).reshape(4, 1)))
