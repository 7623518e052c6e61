"""Discrete Fourier transforms: jtensor.fft (torch.fft's names) and the Array API's fft extension
(jtensor.array_api.fft), against numpy.fft and torch.fft: float32/float64 and complex inputs,
power-of-two, even, odd and prime lengths (the radix-2 and Bluestein paths of
julia/src/ops/fft.jl), cropping and zero-padding (n, s), several axes, every norm, and
gradients against torch.autograd.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import jtensor as jt
import jtensor.array_api as xp

RNG = np.random.default_rng(7)
NORMS = [None, "backward", "ortho", "forward"]


def close(res, ref, dtype):
    """res (a jtensor tensor) matches ref (NumPy/PyTorch) in shape, precision and value, with a
    tolerance relative to the transform's scale."""
    ref = ref.resolve_conj().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
    got = np.asarray(res)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    single = np.dtype(dtype) in (np.float32, np.complex64)
    assert got.dtype.itemsize == ref.dtype.itemsize and got.dtype.kind == ref.dtype.kind, (got.dtype, ref.dtype)
    scale = max(1.0, float(np.abs(ref).max())) if ref.size else 1.0
    np.testing.assert_allclose(got, ref, rtol=0, atol=(2e-5 if single else 1e-12) * scale)


def signal(shape, dtype):
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


@pytest.mark.parametrize("n", [1, 2, 5, 8, 12, 13, 16, 17, 30])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_fft_ifft_lengths(n, dtype):
    x = signal((2, n), dtype)
    close(jt.fft.fft(jt.asarray(x)), np.fft.fft(x), dtype)
    close(jt.fft.ifft(jt.asarray(x)), np.fft.ifft(x), dtype)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_dimensional_transforms_and_norms(norm, dtype):
    x = signal((3, 11), dtype)
    z = signal((3, 11), np.complex64 if dtype == np.float32 else np.complex128)
    t, tz = jt.asarray(x), jt.asarray(z)
    for n in (None, 7, 16):                        # as given, cropped, zero-padded
        for dim in (-1, 0):
            kw = dict(n=n, norm=norm)
            close(jt.fft.fft(t, dim=dim, **kw), torch.fft.fft(torch.tensor(x), dim=dim, **kw), dtype)
            close(jt.fft.ifft(tz, dim=dim, **kw), torch.fft.ifft(torch.tensor(z), dim=dim, **kw), dtype)
            close(jt.fft.rfft(t, dim=dim, **kw), torch.fft.rfft(torch.tensor(x), dim=dim, **kw), dtype)
            close(jt.fft.irfft(tz, dim=dim, **kw), torch.fft.irfft(torch.tensor(z), dim=dim, **kw), dtype)
            close(jt.fft.hfft(tz, dim=dim, **kw), torch.fft.hfft(torch.tensor(z), dim=dim, **kw), dtype)
            close(jt.fft.ihfft(t, dim=dim, **kw), torch.fft.ihfft(torch.tensor(x), dim=dim, **kw), dtype)


@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_n_dimensional_transforms(norm):
    x = signal((3, 4, 5), np.float64)
    z = signal((3, 4, 5), np.complex128)
    t, tz = jt.asarray(x), jt.asarray(z)
    for s, dim in ((None, None), ((6, 3), None), (None, (0, 2)), ((2, 7), (2, 0)), ((5,), (1,))):
        kw = dict(s=s, dim=dim, norm=norm)
        close(jt.fft.fftn(tz, **kw), torch.fft.fftn(torch.tensor(z), **kw), np.float64)
        close(jt.fft.ifftn(tz, **kw), torch.fft.ifftn(torch.tensor(z), **kw), np.float64)
        close(jt.fft.rfftn(t, **kw), torch.fft.rfftn(torch.tensor(x), **kw), np.float64)
        close(jt.fft.irfftn(tz, **kw), torch.fft.irfftn(torch.tensor(z), **kw), np.float64)
        close(jt.fft.hfftn(tz, **kw), torch.fft.hfftn(torch.tensor(z), **kw), np.float64)
        close(jt.fft.ihfftn(t, **kw), torch.fft.ihfftn(torch.tensor(x), **kw), np.float64)
    close(jt.fft.fft2(tz, norm=norm), torch.fft.fft2(torch.tensor(z), norm=norm), np.float64)
    close(jt.fft.ifft2(tz, norm=norm), torch.fft.ifft2(torch.tensor(z), norm=norm), np.float64)
    close(jt.fft.rfft2(t, norm=norm), torch.fft.rfft2(torch.tensor(x), norm=norm), np.float64)
    close(jt.fft.irfft2(tz, s=(4, 5), norm=norm), torch.fft.irfft2(torch.tensor(z), s=(4, 5), norm=norm), np.float64)
    close(jt.fft.hfft2(tz, norm=norm), torch.fft.hfft2(torch.tensor(z), norm=norm), np.float64)
    close(jt.fft.ihfft2(t, norm=norm), torch.fft.ihfft2(torch.tensor(x), norm=norm), np.float64)
    # round trips
    close(jt.fft.irfftn(jt.fft.rfftn(t, norm=norm), s=x.shape, norm=norm), x, np.float64)
    close(jt.fft.ifftn(jt.fft.fftn(tz, norm=norm), norm=norm), z, np.float64)


def test_frequencies_and_shifts():
    for n in (1, 6, 7):
        for d in (1.0, 0.25):
            close(jt.fft.fftfreq(n, d), torch.fft.fftfreq(n, d), np.float32)
            close(jt.fft.rfftfreq(n, d, dtype=jt.float64), torch.fft.rfftfreq(n, d, dtype=torch.float64), np.float64)
    x = np.arange(30.0).reshape(5, 6)
    for dim in (None, 0, (1,), (0, 1)):
        close(jt.fft.fftshift(jt.asarray(x), dim), torch.fft.fftshift(torch.tensor(x), dim), np.float64)
        close(jt.fft.ifftshift(jt.asarray(x), dim), torch.fft.ifftshift(torch.tensor(x), dim), np.float64)


def test_integer_input_and_errors():
    i = np.arange(6)
    close(jt.fft.fft(jt.asarray(i)), torch.fft.fft(torch.tensor(i)), np.complex64)   # complex64, as torch
    with pytest.raises(ValueError):
        jt.fft.fft(jt.ones(4), n=0)
    with pytest.raises(ValueError):
        jt.fft.fft(jt.ones(4), norm="sideways")
    with pytest.raises(TypeError):
        jt.fft.rfft(jt.ones(4, dtype=jt.complex64))
    with pytest.raises(IndexError):
        jt.fft.fft(jt.ones(4), dim=3)
    with pytest.raises(ValueError):
        jt.fft.fftn(jt.ones((2, 2)), s=(2, 2), dim=(0,))
    with pytest.raises(ValueError):
        jt.fft.fftn(jt.ones((2, 2)), dim=(0, 0))
    assert jt.fft.fft(jt.ones((0, 4))).shape == (0, 4)


@pytest.mark.parametrize("name, args", [
    ("fft", dict(n=9, norm="ortho")), ("ifft", dict(n=6)), ("rfft", dict(n=6)), ("irfft", dict(n=7)),
    ("hfft", dict(n=5, norm="forward")), ("ihfft", dict()), ("fftn", dict(s=(4, 5))), ("irfftn", dict()),
])
def test_gradients_match_torch(name, args):
    x = RNG.standard_normal((3, 7))
    if name in ("ifft", "irfft", "hfft", "irfftn"):
        x = x + 1j * RNG.standard_normal((3, 7))
    a, b = jt.asarray(x).requires_grad_(), torch.tensor(x, requires_grad=True)
    ya, yb = getattr(jt.fft, name)(a, **args), getattr(torch.fft, name)(b, **args)
    w = RNG.standard_normal(tuple(yb.shape))
    # a real loss: weights times |y| (complex outputs) or y (real outputs)
    (ya.abs() if ya.dtype.kind == "c" else ya).mul(jt.asarray(w)).sum().backward()
    (yb.abs() if yb.is_complex() else yb).mul(torch.tensor(w)).sum().backward()
    close(a.grad, b.grad, np.float64)


def test_fft_kernel_gradcheck():
    """Finite differences through the kernel op itself (the derivative formula of _fft_c2c)."""
    from jtensor.autograd import gradcheck

    def parts(t):                                 # real and imaginary parts of a complex transform
        y = jt.fft.fft(t, norm="ortho")           # (5: Bluestein; 4: radix-2)
        return jt.stack([y.real, y.imag])

    for n in (5, 4):
        assert gradcheck(parts, (jt.asarray(RNG.standard_normal((2, n))).requires_grad_(),))
        assert gradcheck(lambda t: jt.fft.irfft(jt.fft.rfft(t) * jt.fft.rfft(t)), (jt.asarray(RNG.standard_normal(n)).requires_grad_(),))


# ---- the Array API extension ----------------------------------------------------------------------------

def test_array_api_fft_extension():
    F = xp.fft
    assert F is __import__("jtensor.array_api.fft", fromlist=["fft"])
    assert set(F.__all__) == {"fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft",
                              "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"}
    z = signal((4, 6), np.complex128)
    x = signal((4, 6), np.float32)
    for norm in ("backward", "ortho", "forward"):
        close(F.fft(xp.asarray(z), n=5, axis=0, norm=norm), np.fft.fft(z, n=5, axis=0, norm=norm), np.float64)
        close(F.ifft(xp.asarray(z), norm=norm), np.fft.ifft(z, norm=norm), np.float64)
        close(F.fftn(xp.asarray(z), s=(3, 8), axes=(1, 0), norm=norm),
              np.fft.fftn(z, s=(3, 8), axes=(1, 0), norm=norm), np.float64)
        close(F.ifftn(xp.asarray(z), norm=norm), np.fft.ifftn(z, norm=norm), np.float64)
        close(F.rfft(xp.asarray(x), norm=norm), np.fft.rfft(x, norm=norm).astype(np.complex64), np.float32)
        close(F.irfft(xp.asarray(z), n=9, norm=norm), np.fft.irfft(z, n=9, norm=norm), np.float64)
        close(F.rfftn(xp.asarray(x), norm=norm), np.fft.rfftn(x, norm=norm).astype(np.complex64), np.float32)
        close(F.irfftn(xp.asarray(z), s=(4, 7), norm=norm), np.fft.irfftn(z, s=(4, 7), axes=(0, 1), norm=norm), np.float64)
        close(F.hfft(xp.asarray(z), norm=norm), np.fft.hfft(z, norm=norm), np.float64)
        close(F.ihfft(xp.asarray(x), norm=norm), np.fft.ihfft(x, norm=norm).astype(np.complex64), np.float32)
    close(F.fftfreq(7, d=0.5), np.fft.fftfreq(7, d=0.5).astype(np.float32), np.float32)
    close(F.rfftfreq(8, dtype=xp.float64), np.fft.rfftfreq(8), np.float64)
    close(F.fftshift(xp.asarray(x), axes=1), np.fft.fftshift(x, axes=1), np.float32)
    close(F.ifftshift(xp.asarray(x)), np.fft.ifftshift(x), np.float32)
    # the standard's dtype requirements and keyword-only arguments
    with pytest.raises(TypeError):
        F.fft(xp.asarray(x))                     # real input: complex transforms need complex
    with pytest.raises(TypeError):
        F.rfft(xp.asarray(z))
    with pytest.raises(TypeError):
        F.fft(xp.asarray(z), 4)
    with pytest.raises(TypeError):
        F.fftfreq(4, dtype=xp.int64)


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
       data=st.data())
def test_hypothesis_fftn_matches_numpy(shape, data):
    """Random shapes, axes, lengths and norms: fftn and irfftn against NumPy (complex128)."""
    ndim = len(shape)
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True), label="axes")
    s = data.draw(st.lists(st.integers(1, 14), min_size=len(axes), max_size=len(axes)), label="s")
    norm = data.draw(st.sampled_from(["backward", "ortho", "forward"]), label="norm")
    z = signal(shape, np.complex128)
    close(xp.fft.fftn(xp.asarray(z), s=s, axes=axes, norm=norm), np.fft.fftn(z, s=s, axes=axes, norm=norm),
          np.float64)
    close(xp.fft.irfftn(xp.asarray(z), s=s, axes=axes, norm=norm), np.fft.irfftn(z, s=s, axes=axes, norm=norm),
          np.float64)
