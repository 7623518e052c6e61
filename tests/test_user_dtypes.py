"""User element types as dtypes (julia/src/dtypes.jl `register_dtype`, python/jtensor/user_dtypes.py).

Three types written as a user would, in files outside the package (examples/extending/):
- float8.jl: an 8-bit float E4M3, checked against torch.float8_e4m3fn (conversions; arithmetic as
  float32 rounded to float8, which is what the Julia type does);
- dual.jl: dual numbers, whose forward-mode derivatives through jtensor's own kernels are checked
  against torch.func.jvp and analytic derivatives;
- interval.jl: intervals with outward rounding, checked to contain the true results.
Also: registration from Python and its refusals, promotion by Julia's promote_type, printing by
Julia's show, raw-byte storage, the C fast path leaving these dtypes alone, and the clear errors
(a missing Julia method, DLPack, NumPy's protocol, conversion to Python floats).
"""
import io
import os
import pickle

import numpy as np
import pytest
import torch

import jtensor as jt

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "extending")


@pytest.fixture(scope="module")
def f8():
    jt.julia.include(os.path.join(EXAMPLES, "float8.jl"))
    return jt.float8_e4m3


@pytest.fixture(scope="module")
def dual():
    jt.julia.include(os.path.join(EXAMPLES, "dual.jl"))
    return jt.dual64


@pytest.fixture(scope="module")
def interval():
    jt.julia.include(os.path.join(EXAMPLES, "interval.jl"))
    return jt.interval


def torch_f8(values):
    """float64 values rounded to E4M3 by torch (the oracle), as float64."""
    return torch.tensor(values, dtype=torch.float64).to(torch.float8_e4m3fn).double().numpy()


F8_VALUES = [0.0, -0.0, 1.0, 1.0625, 1.1875, 3.3, -2.71, 0.3, 448.0, 449.0, 464.0, 470.0, 1e6, -1e6,
             float("inf"), -float("inf"), 2.0 ** -9, 2.0 ** -10, 1.5 * 2.0 ** -9, 2.5 * 2.0 ** -9, 2.0 ** -6,
             0.015, 17.0, 19.0, 100.0, -0.001, 240.0, 250.0]


# ---- the dtype object ------------------------------------------------------------------------------

def test_a_registered_type_is_a_dtype(f8, dual, interval):
    assert isinstance(f8, jt.dtype) and f8.name == "float8_e4m3" and f8.itemsize == 1
    assert f8.julia_type == "Float8E4M3" and f8.is_user and not jt.float32.is_user
    assert (dual.itemsize, dual.julia_type) == (16, "Dual{Float64}")
    assert interval.itemsize == 16 and repr(interval) == "jtensor.interval"
    assert jt.dtypes.as_dtype("float8_e4m3") is f8
    assert pickle.loads(pickle.dumps(f8)) is f8
    assert f8.code >= len(jt.dtypes.ALL)      # after the built-ins, whose codes never change
    x = jt.tensor([1.0, 2.0], dtype=f8)
    assert x.dtype is f8 and x.element_size() == 1 and x.numpy().dtype == np.dtype("V1")


def test_registration_from_python_and_its_refusals(f8):
    jt.julia.eval("struct Meters <: Number; v::Float64; end\n"
                  "Base.:+(a::Meters, b::Meters) = Meters(a.v + b.v)\n"
                  "Base.:*(a::Real, b::Meters) = Meters(a * b.v)\n"
                  "Base.convert(::Type{Meters}, x::Real) = Meters(x)\n"
                  "Base.convert(::Type{Float64}, x::Meters) = x.v\n"
                  "Base.show(io::IO, x::Meters) = print(io, x.v, \" m\")")
    m = jt.register_dtype("meters", "Meters")
    assert m is jt.meters and m.itemsize == 8
    assert jt.register_dtype("meters", "Meters") is m            # again: the same dtype
    x = jt.tensor([1.5, 2.0], dtype=m)
    assert (x + x).tolist() == [3.0, 4.0] and "3.0 m" in repr(x + x)
    with pytest.raises(TypeError, match="meters with float8_e4m3.*promote_rule"):   # promote_type: Number
        x + jt.tensor([1.0, 2.0], dtype=f8)
    assert jt.register_dtype("float8_e4m3", "Float8E4M3") is f8  # registered from Julia, same dtype
    with pytest.raises(ValueError, match="already registered as meters"):
        jt.register_dtype("meters2", "Meters")
    with pytest.raises(ValueError, match="taken"):
        jt.register_dtype("float32", "Int128")
    with pytest.raises(ValueError, match="not an isbits type"):
        jt.register_dtype("big", "BigFloat")
    with pytest.raises(ValueError, match="already exists"):
        jt.register_dtype("zeros", "Main.Interval")              # jt.zeros: a name jtensor has
    with pytest.raises(ValueError, match="not an identifier"):
        jt.register_dtype("a-b", "Main.Interval")


# ---- float8 E4M3 against torch.float8_e4m3fn --------------------------------------------------------

def test_float8_conversion_rounds_as_torch(f8):
    got = jt.tensor(F8_VALUES, dtype=jt.float64).to(f8).to(jt.float64).numpy()
    np.testing.assert_array_equal(got, torch_f8(F8_VALUES))
    assert jt.tensor(F8_VALUES, dtype=f8).tolist() == torch_f8(F8_VALUES).tolist()   # from Python floats
    assert np.isnan(jt.tensor([float("nan")], dtype=f8).item())
    # every finite bit pattern: the same bytes as torch's
    bits = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(torch.float8_e4m3fn)
    vals = bits.double()
    keep = ~torch.isnan(vals)
    ours = jt.tensor(vals[keep].numpy()).to(f8).numpy().view(np.uint8)
    np.testing.assert_array_equal(ours, bits.view(torch.uint8)[keep].numpy())
    # and float32/int sources
    x32 = np.linspace(-500, 500, 997, dtype=np.float32)
    np.testing.assert_array_equal(jt.tensor(x32).to(f8).to(jt.float32).numpy(),
                                  torch.tensor(x32).to(torch.float8_e4m3fn).float().numpy())
    assert jt.arange(20).to(f8).tolist() == torch.arange(20).to(torch.float8_e4m3fn).float().tolist()


def _f8_pair(f8):
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.uniform(-20, 20, 64)).to(torch.float8_e4m3fn)
    b = torch.tensor(rng.uniform(0.5, 20, 64)).to(torch.float8_e4m3fn)
    return a, b, jt.tensor(a.double().numpy()).to(f8), jt.tensor(b.double().numpy()).to(f8)


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_float8_binary_ops_as_torch_float32_rounded(f8, name):
    a, b, ja, jb = _f8_pair(f8)
    want = getattr(torch, name)(a.float(), b.float()).to(torch.float8_e4m3fn).double().numpy()
    got = getattr(jt, name)(ja, jb)
    assert got.dtype is f8
    np.testing.assert_array_equal(got.to(jt.float64).numpy(), want)


@pytest.mark.parametrize("name", ["neg", "abs", "sqrt", "exp", "tanh", "floor"])
def test_float8_unary_ops_as_torch_float32_rounded(f8, name):
    _, b, _, jb = _f8_pair(f8)
    b = b.float() / 4
    jb = jt.tensor(b.to(torch.float8_e4m3fn).double().numpy()).to(f8)
    want = getattr(torch, name)(b.to(torch.float8_e4m3fn).float()).to(torch.float8_e4m3fn).double().numpy()
    got = getattr(jt, name)(jb).to(jt.float64).numpy()
    # float32 exp/tanh may differ from torch's by a float32 ulp: at most one float8 step apart
    np.testing.assert_allclose(got, want, rtol=2.0 ** -3 if name in ("exp", "tanh") else 0)


def test_float8_strided_views_scalars_and_the_fast_path(f8):
    x = jt.tensor([[1.0, 2.0, 3.0], [4.0, 2.0, 3.0]], dtype=f8)   # every partial sum representable
    assert x.t().contiguous().tolist() == [[1.0, 4.0], [2.0, 2.0], [3.0, 3.0]]
    assert (x[:, ::2] * 2).tolist() == [[2.0, 6.0], [8.0, 6.0]]           # strided view, int scalar
    for _ in range(3):      # repeated calls (a signature the C fast path must leave to the driver)
        y = x + x
        assert y.dtype is f8 and y.tolist() == [[2.0, 4.0, 6.0], [8.0, 4.0, 6.0]]
        assert x.sum().item() == 15.0
    x.add_(x)
    assert x.tolist() == [[2.0, 4.0, 6.0], [8.0, 4.0, 6.0]]
    assert jt.where(x > 5, x, jt.zeros_like(x)).tolist() == [[0.0, 0.0, 6.0], [8.0, 0.0, 6.0]]


def test_float8_reductions_and_matmul(f8):
    x = jt.tensor([[1.0, 2.0, 0.5], [0.5, -3.0, 4.0]], dtype=f8)      # partial sums all representable
    assert x.sum().item() == 5.0 and x.sum().dtype is f8
    assert x.sum(1).tolist() == [3.5, 1.5]
    assert x.amax().item() == 4.0 and x.amin().item() == -3.0 and x.max().item() == 4.0
    assert x.amax(0).tolist() == [1.0, 2.0, 4.0]
    assert jt.tensor([1.0, 2.0, 3.0, 2.0], dtype=f8).mean().item() == 2.0
    a = np.array([[1.0, 2.0], [3.0, 1.0], [0.0, -2.0]])
    b = np.array([[2.0, 1.0, 1.0], [1.0, 2.0, -1.0]])
    got = jt.tensor(a, dtype=f8) @ jt.tensor(b, dtype=f8)
    assert got.dtype is f8
    np.testing.assert_array_equal(got.to(jt.float64).numpy(), a @ b)  # small integers: exact


def test_float8_promotion_follows_julia_promote_rule(f8):
    assert jt.promote_types(f8, jt.float32) is jt.float32       # promote_rule(Float8E4M3, Float32)
    assert jt.promote_types(jt.float16, f8) is jt.float16
    assert jt.promote_types(f8, jt.int64) is f8 and jt.promote_types(f8, jt.bool) is f8
    x = jt.tensor([1.5, 2.0], dtype=f8)
    y = x + jt.tensor([0.1, 0.2])
    assert y.dtype is jt.float32
    np.testing.assert_allclose(y.numpy(), np.array([1.6, 2.2], dtype=np.float32))
    assert (x * 2).dtype is f8                                   # a Python int: Int64, promotes to f8
    assert (x * 2.5).dtype is jt.float64                         # a Python float is a Float64
    assert (x + jt.tensor(1, dtype=jt.int32)).dtype is f8
    assert jt.result_type(x, jt.tensor(1.0)) is jt.float32       # a 0-dim float32: not weak here
    assert (jt.tensor([1, 2]) + x).dtype is f8


def test_float8_printing_and_numbers(f8):
    x = jt.tensor([1.5, -0.25, 448.0], dtype=f8)
    assert repr(x) == "tensor([  1.5, -0.25, 448.0], dtype=jtensor.float8_e4m3)"   # Julia's show of each
    assert repr(jt.tensor(2.0, dtype=f8)) == "tensor(2.0, dtype=jtensor.float8_e4m3)"
    assert "dtype=jtensor.float8_e4m3" in repr(jt.zeros(0, dtype=f8))
    assert repr(jt.zeros(2, 2, dtype=f8)) == "tensor([[0.0, 0.0],\n        [0.0, 0.0]], dtype=jtensor.float8_e4m3)"
    assert x.tolist() == [1.5, -0.25, 448.0] and isinstance(x[0].item(), float)
    assert float(x[1]) == -0.25
    assert x.numpy().view(np.uint8).tolist() == [0x3C, 0xA8, 0x7E]   # raw bytes, sharing memory


def test_float8_refusals(f8):
    x = jt.tensor([1.0, 2.0], dtype=f8)
    with pytest.raises(BufferError, match="float8_e4m3"):
        x.__dlpack__()
    with pytest.raises(BufferError, match="user dtype"):
        torch.from_dlpack(x)
    with pytest.raises(TypeError, match="no NumPy equivalent"):
        np.asarray(x)
    with pytest.raises(RuntimeError, match="can require gradients"):
        x.requires_grad_()
    with pytest.raises(TypeError, match="safetensors has no type"):
        jt.save({"x": x}, io.BytesIO())
    assert (x + jt.tensor([1j], dtype=jt.complex64)).dtype is jt.complex64   # Base's rule for Complex


def test_a_base_fallback_that_recurses_is_named(f8):
    # float8.jl has no `sin`: Base's sin(x::AbstractFloat) calls sin(float(x)), i.e. itself
    with pytest.raises(jt.JuliaError, match=r"sin\(Tensor\(shape=\[2\], dtype=float8_e4m3\)\): "
                                             r"StackOverflowError: stack overflow in sin\(::Float8E4M3\)"):
        jt.sin(jt.tensor([1.0, 2.0], dtype=f8))


def test_meta_tensors_of_a_user_dtype(f8):
    x = jt.empty(3, 4, dtype=f8, device="meta")
    y = (x * x).sum(0)
    assert y.is_meta and y.shape == (4,) and y.dtype is f8


# ---- dual numbers: forward-mode derivatives --------------------------------------------------------

def _jvp_torch(f, x, t):
    return torch.func.jvp(f, (torch.tensor(x),), (torch.tensor(t),))


@pytest.mark.parametrize("name", ["exp", "tanh", "sin", "cos", "sigmoid", "log1p", "sqrt", "gelu", "square", "relu"])
def test_dual_derivatives_through_elementwise_kernels(dual, name):
    rng = np.random.default_rng(1)
    x, t = rng.uniform(0.1, 2.0, 7), rng.normal(size=7)
    if name not in ("sqrt", "log1p"):
        x[::2] *= -1
    tf = getattr(torch.nn.functional, name) if name == "gelu" else getattr(torch, name)
    val, der = _jvp_torch(tf, x, t)
    v, p = jt.dual_parts(getattr(jt, name)(jt.dual(jt.tensor(x), jt.tensor(t))))
    np.testing.assert_allclose(v.numpy(), val.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p.numpy(), der.numpy(), rtol=1e-10, atol=1e-12)


def test_dual_derivatives_of_a_composite_with_broadcasting_and_scalars(dual):
    rng = np.random.default_rng(2)
    x, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    w = rng.normal(size=4)

    def f(z, lib, wt):
        return lib.tanh(z) * lib.exp(z / 3) + wt * z * z - 1.5

    val, der = _jvp_torch(lambda z: f(z, torch, torch.tensor(w)), x, t)
    d = jt.dual(jt.tensor(x), jt.tensor(t))
    r = f(d, jt, jt.tensor(w))                                 # float64 tensor w: promotes to dual64
    assert r.dtype is dual
    v, p = jt.dual_parts(r)
    np.testing.assert_allclose(v.numpy(), val.numpy(), rtol=1e-12)
    np.testing.assert_allclose(p.numpy(), der.numpy(), rtol=1e-10)


def test_dual_reductions_and_matmul(dual):
    rng = np.random.default_rng(3)
    A, dA, B, dB = (rng.normal(size=s) for s in ((3, 4), (3, 4), (4, 2), (4, 2)))
    a, b = jt.dual(jt.tensor(A), jt.tensor(dA)), jt.dual(jt.tensor(B), jt.tensor(dB))
    v, p = jt.dual_parts(a @ b)
    np.testing.assert_allclose(v.numpy(), A @ B, rtol=1e-12)
    np.testing.assert_allclose(p.numpy(), dA @ B + A @ dB, rtol=1e-12)
    v, p = jt.dual_parts(a.sum(1))
    np.testing.assert_allclose(p.numpy(), dA.sum(1), rtol=1e-12)
    v, p = jt.dual_parts(a.mean())
    np.testing.assert_allclose([v.item(), p.item()], [A.mean(), dA.mean()], rtol=1e-12)
    v, p = jt.dual_parts(a.amax(1))
    i = A.argmax(1)
    np.testing.assert_allclose(p.numpy(), dA[np.arange(3), i])


def test_dual_promotion_printing_and_conversions(dual):
    d = jt.dual(jt.tensor([1.0, -2.0]), jt.tensor([0.5, 1.0]))
    assert jt.promote_types(dual, jt.float64) is dual and jt.promote_types(jt.int32, dual) is dual
    assert (d + 1.5).dtype is dual and (d * jt.tensor([2.0], dtype=jt.float32)).dtype is dual
    assert repr(d) == "tensor([ 1.0 + 0.5ε, -2.0 + 1.0ε], dtype=jtensor.dual64)"
    assert jt.dual_parts(jt.tensor([3.0]).to(dual))[1].tolist() == [0.0]     # convert(Dual, x): no partial
    assert d.numpy().view(np.float64).tolist() == [1.0, 0.5, -2.0, 1.0]      # the struct's bytes
    e = pickle.loads(pickle.dumps(d[::-1]))                                   # pickled as raw bytes
    assert e.dtype is dual and e.numpy().view(np.float64).tolist() == [-2.0, 1.0, 1.0, 0.5]
    with pytest.raises(TypeError, match=r"convert\(Float64, ::Dual\{Float64\}\)"):
        d.tolist()
    with pytest.raises(TypeError, match=r"no method matching Float32\(::Dual\{Float64\}\)"):
        d.to(jt.float32)
    # autograd: a cast of a tensor that requires grad into a user dtype leaves the graph
    x = jt.tensor([1.0, 2.0], requires_grad=True)
    assert not x.to(dual).requires_grad


# ---- intervals: the true result is contained ---------------------------------------------------------

def _interval(lo, hi):
    return jt.interval_tensor(jt.tensor(lo), jt.tensor(hi))


def _check_contains(r, truth):
    lo, hi = (b.numpy() for b in jt.interval_bounds(r))
    assert np.all(lo <= truth) and np.all(truth <= hi), (lo, truth, hi)
    return lo, hi


def test_interval_elementwise_results_contain_the_true_values(interval):
    rng = np.random.default_rng(4)
    lo = rng.uniform(0.1, 3.0, 20)
    hi = lo + rng.uniform(0, 0.5, 20)
    x = _interval(lo, hi)
    for s in (0.0, 0.37, 1.0):                      # points inside each input interval
        p = lo + s * (hi - lo)
        _check_contains(jt.exp(x) * x + 1, np.exp(p) * p + 1)
        _check_contains(jt.sqrt(x) - x / 3, np.sqrt(p) - p / 3)
        _check_contains(jt.tanh(-x), np.tanh(-p))
    r_lo, r_hi = _check_contains(x + x, 2 * lo)
    assert np.all(r_hi - r_lo < 2 * (hi - lo) + 1e-12)   # tight: only one ulp outward each side


def test_interval_reductions_and_matmul_contain_the_true_values(interval):
    rng = np.random.default_rng(5)
    A = rng.normal(size=(3, 5))
    B = rng.normal(size=(5, 2))
    a, b = _interval(A, A + 1e-3), _interval(B, B + 1e-3)
    for s in (0.0, 0.5, 1.0):
        PA, PB = A + s * 1e-3, B + s * 1e-3
        _check_contains(a @ b, PA @ PB)
        _check_contains(a.sum(0), PA.sum(0))
        _check_contains(a.sum(), PA.sum())
    # exact point intervals: a float64 product, rounded, lies in the computed bounds
    _check_contains(_interval(A, A) @ _interval(B, B), A @ B)


def test_interval_missing_methods_raise_naming_op_type_and_method(interval):
    x = _interval([1.0, 2.0], [1.5, 2.5])
    assert repr(x) == "tensor([[1.0, 1.5], [2.0, 2.5]], dtype=jtensor.interval)"
    with pytest.raises(TypeError, match=r"sin\(Tensor\(shape=\[2\], dtype=interval\)\).*no method matching sin\(::Interval\)"):
        jt.sin(x)
    with pytest.raises(TypeError, match=r"convert\(Float64, ::Interval\)"):
        x.tolist()
    with pytest.raises(TypeError, match="no method matching"):
        jt.atan2(x, x)
    lohi = x.numpy().view(np.float64).reshape(2, 2)      # raw bytes: the struct's two Float64 fields
    np.testing.assert_array_equal(lohi, [[1.0, 1.5], [2.0, 2.5]])
