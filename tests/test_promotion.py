"""Type promotion and broadcasting: one rule, the same in Python, in Julia and in PyTorch.

The promotion rule is defined once, in julia/src/dtypes.jl (`promote_dtype`, `promote_scalar`);
Python looks it up in tables that Julia sends with the registry. These tests fail when the two
sides drift apart or away from PyTorch: every ordered pair of the 12 dtypes is checked three ways
(Python's table, Julia's function called directly, torch.promote_types), tensors with Python
scalars against torch.result_type, and ops that promote (in Python's driver or inside Julia
kernels) against torch's result dtype. Broadcasting: Python's `broadcast_shapes` and Julia's
`broadcast_size` agree on results and on the error.
"""
import itertools

import numpy as np
import pytest
import torch

import jtensor as jt
from jtensor import dtypes as D
from jtensor.registry import broadcast_shapes

NAMES = [d.name for d in D.ALL]
PAIRS = list(itertools.product(NAMES, NAMES))


def tdt(name):
    return getattr(torch, name)


def julia_list(expr):
    """A Julia expression giving a vector of strings, read back as a Python list."""
    text = jt.julia.eval(f'join({expr}, ",")')
    return text.strip('"').split(",")


@pytest.fixture(scope="module")
def julia_pairs():
    """Julia's `promote_dtype` over every ordered pair, called directly (not through the table)."""
    names = julia_list("[JTensor.DTYPE_NAMES[JTensor.dtype_code(JTensor.promote_dtype(S, T)) + 1] "
                       "for S in JTensor.DTYPES for T in JTensor.DTYPES]")
    return dict(zip(PAIRS, names))


def test_all_twelve_dtypes_are_covered():
    assert len(NAMES) == 12 and len(PAIRS) == 144
    assert julia_list("collect(JTensor.DTYPE_NAMES)") == NAMES


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_pair_python_julia_torch_agree(a, b, julia_pairs):
    expected = str(torch.promote_types(tdt(a), tdt(b))).replace("torch.", "")
    assert D.promote_types(D.BY_NAME[a], D.BY_NAME[b]).name == expected
    assert julia_pairs[(a, b)] == expected
    assert jt.result_type(D.BY_NAME[a], D.BY_NAME[b]).name == expected


def test_key_pairs_literally():
    # the cases where Julia's own promote_type or a naive "wider wins" rule would differ
    P = lambda a, b: D.promote_types(D.BY_NAME[a], D.BY_NAME[b]).name
    assert P("int8", "uint8") == "int16"
    assert P("bool", "uint8") == "uint8"
    assert P("float16", "bfloat16") == "float32"
    assert P("int64", "float16") == "float16"
    assert P("complex64", "float64") == "complex128"
    assert P("uint8", "int64") == "int64"


def test_can_cast_is_no_category_demotion():
    for a, b in PAIRS:
        assert D.can_cast(D.BY_NAME[a], D.BY_NAME[b]) == torch.can_cast(tdt(a), tdt(b)), (a, b)


# ---- tensors with Python scalars: scalars are weak (they change the category, not the precision)
SCALARS = [True, 3, 2.5, 1.5j]


@pytest.mark.parametrize("name", NAMES)
def test_tensor_with_python_scalar(name):
    julia = julia_list("[JTensor.DTYPE_NAMES[JTensor.dtype_code(JTensor.promote_scalar(JTensor.dtype_of(%d), K)) + 1] "
                       "for K in (Bool, Int64, Float64, ComplexF64)]" % D.BY_NAME[name].code)
    for s, jl in zip(SCALARS, julia):
        expected = str(torch.result_type(torch.zeros(2, dtype=tdt(name)), s)).replace("torch.", "")
        if expected == "complex32":      # jtensor has no complex32: float16 with a complex gives complex64
            expected = "complex64"
        t = jt.zeros(2, dtype=D.BY_NAME[name])
        assert jt.result_type(t, s).name == expected, (name, s)
        assert jl == expected, (name, s)


def test_scalars_alone():
    # with no tensor, the first scalar's own dtype stands in for one (as jnp/torch.result_type)
    assert jt.result_type(1, 2.5).name == "float32"
    assert jt.result_type(True, 1).name == "int64"
    assert jt.result_type(2.5, 1j).name == "complex64"
    assert jt.julia.eval("JTensor.result_dtype((), (Int64, Float64))") == "Float32"


@pytest.mark.parametrize("name,scalar", [("int8", 300), ("uint8", 2), ("int16", 2.5), ("float16", 2.5),
                                          ("bool", 2), ("float64", 1j), ("bfloat16", 1j), ("int32", True)])
def test_op_with_python_scalar_matches_torch(name, scalar):
    # (int8 * 300: the scalar stays weak, so the result is int8 and wraps, as in PyTorch)
    x = np.array([1, 0, 1])
    got = jt.tensor(x, dtype=D.BY_NAME[name]) * scalar
    ref = torch.tensor(x, dtype=tdt(name)) * scalar
    assert got.dtype.name == str(ref.dtype).replace("torch.", "")
    np.testing.assert_allclose(np.asarray(got.numpy(), dtype=complex), ref.numpy().astype(complex), rtol=1e-2)


# ---- ops on mixed dtypes: the result has torch's dtype --------------------------------------------
MIXED = [("int8", "uint8"), ("bool", "uint8"), ("float16", "bfloat16"), ("int64", "float16"),
         ("complex64", "float64"), ("int32", "float32")]


def make(name, shape=(2, 3)):
    data = (np.arange(np.prod(shape)).reshape(shape) % 3)
    return jt.tensor(data, dtype=D.BY_NAME[name]), torch.tensor(data).to(tdt(name))


def _torch_name(dtype):
    return str(dtype).replace("torch.", "")


@pytest.mark.parametrize("a", NAMES)
def test_zero_dim_tensors_are_weak_as_in_torch(a):
    """A 0-dim tensor changes the category of a tensor with dimensions, not its precision (float32
    tensor + float64 0-dim tensor is float32; int32 + 0-dim float64 is float64), on every pair,
    through jt.result_type and through an op; alone, 0-dim tensors promote as tensors do."""
    for b in NAMES:
        x, tx = make(a, (3,))
        z, tz = make(b, ())
        want = _torch_name(torch.result_type(tx, tz))
        if want == "complex32":
            want = "complex64"    # jtensor has no complex32: a float16 tensor's complex type is complex64
        assert jt.result_type(x, z).name == want, (a, b)
        assert (x + z).dtype.name == want and (z * x).dtype.name == want, (a, b)
        z2, tz2 = make(a, ())
        assert (z2 + z).dtype.name == _torch_name((tz2 + tz).dtype), (a, b)


@pytest.mark.parametrize("a,b", MIXED)
def test_add_and_where(a, b):
    (x, tx), (y, ty) = make(a), make(b, (3,))
    assert (x + y).dtype.name == str((tx + ty).dtype).replace("torch.", "")
    mask = jt.tensor([True, False, True])
    w = jt.where(mask, x, y)
    tw = torch.where(torch.tensor([True, False, True]), tx, ty)
    assert w.dtype.name == str(tw.dtype).replace("torch.", "")
    np.testing.assert_allclose(np.asarray(w.to(jt.complex128).numpy()), tw.to(torch.complex128).numpy())


@pytest.mark.parametrize("a,b", MIXED)
def test_cat_and_stack(a, b):
    (x, tx), (y, ty) = make(a), make(b)
    for f in ("cat", "stack"):
        got, ref = getattr(jt, f)([x, y]), getattr(torch, f)([tx, ty])
        assert got.dtype.name == str(ref.dtype).replace("torch.", ""), f
        np.testing.assert_allclose(np.asarray(got.to(jt.complex128).numpy()), ref.to(torch.complex128).numpy())


@pytest.mark.parametrize("a,b", [("int8", "uint8"), ("bool", "uint8"), ("int32", "float32"), ("complex64", "float64")])
def test_products_promote_inside_julia(a, b):
    # matmul, kron and einsum decide their dtype in Julia (`promote_dtype`); torch's matmul refuses
    # mixed dtypes, so its oracle is the product of inputs cast to torch.promote_types
    x, tx = make(a, (2, 3))
    y, ty = make(b, (3, 2))
    want = torch.promote_types(tdt(a), tdt(b))
    for got, ref in ((jt.matmul(x, y), tx.to(want) @ ty.to(want)),
                     (jt.kron(x, y), torch.kron(tx.to(want), ty.to(want))),
                     (jt.einsum("ij,jk->ik", x, y), tx.to(want) @ ty.to(want))):
        assert got.dtype.name == str(want).replace("torch.", "")
        np.testing.assert_allclose(np.asarray(got.to(jt.complex128).numpy()), ref.to(torch.complex128).numpy())


def test_julia_call_uses_the_rule():
    # JTensor.call runs map ops from Julia alone; it promotes as Python does (Julia's promote_type
    # would give UInt8 here), scalars are weak, and an int's exp is the default float.
    assert jt.julia.eval('eltype(JTensor.call("add", Int8[1, 2], UInt8[200, 3], 1))') == "Int16"
    assert jt.julia.eval('JTensor.call("add", Int8[1, 2], UInt8[200, 3], 1)').tolist() == [201, 5]
    assert jt.julia.eval('eltype(JTensor.call("mul", Int8[1, 2], 2.5))') == "Float32"
    assert jt.julia.eval('eltype(JTensor.call("mul", Float16[1, 2], 2.5))') == "Float16"
    assert jt.julia.eval('eltype(JTensor.call("mul", Int16[1, 2], 3))') == "Int16"
    assert jt.julia.eval('eltype(JTensor.call("exp", [1, 2]))') == "Float32"
    assert jt.julia.eval('eltype(JTensor.call("abs", ComplexF32[1, 2]))') == "Float32"
    assert jt.julia.eval('eltype(JTensor.call("eq", [1, 2], [1.0, 3.0]))') == "Bool"


# ---- broadcasting: Python's broadcast_shapes and Julia's broadcast_size agree ---------------------
SHAPES = [((2, 3), (3,)), ((4, 1, 3), (5, 1)), ((), (2, 2)), ((0,), (1,)), ((1, 0), (3, 1)),
          ((2, 3), (2,)), ((0,), (3,)), ((2, 1, 4), (3, 5))]


def julia_broadcast(a, b):
    """Julia's broadcast_size on Python shapes (reversed into Julia order and back)."""
    r = jt.julia.eval(f"reverse(JTensor.broadcast_size({tuple(reversed(a))!r}, {tuple(reversed(b))!r}))")
    return tuple(int(v) for v in r.strip("()").split(",") if v.strip())


@pytest.mark.parametrize("a,b", SHAPES)
def test_broadcast_python_julia_torch(a, b):
    try:
        ref = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        ref = None
    if ref is None:
        with pytest.raises(ValueError) as py_err:
            broadcast_shapes(a, b)
        with pytest.raises(ValueError) as jl_err:
            julia_broadcast(a, b)
        assert str(py_err.value) in str(jl_err.value)
        with pytest.raises(ValueError, match="cannot be broadcast"):
            jt.zeros(a) + jt.zeros(b)
    else:
        assert broadcast_shapes(a, b) == ref
        assert julia_broadcast(a, b) == ref
        assert (jt.zeros(a) + jt.zeros(b)).shape == ref


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32", "bool"])
@pytest.mark.parametrize("call", [lambda m, x: x - True, lambda m, x: m.sub(x, True), lambda m, x: x.sub_(True),
                                  lambda m, x: True - x, lambda m, x: x - m.tensor(True)])
def test_subtraction_with_a_bool_refused_like_torch(dtype, call):
    # PyTorch checks a Python bool as a bool tensor: subtracting it is refused, whatever the other dtype
    for m in (torch, jt):
        x = m.ones(3, dtype=getattr(m, dtype))
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator"):
            call(m, x)
