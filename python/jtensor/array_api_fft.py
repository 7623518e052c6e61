"""The Array API ``fft`` extension (2024.12), published as ``jtensor.array_api.fft``.

Each function adapts a ``jtensor.fft`` transform (PyTorch's names: ``dim``, ``n``, ``s``) to the
standard's: positional-only x, keyword-only ``n``/``s``, ``axis``/``axes`` and ``norm``, complex
input required where the standard requires it (fft, ifft, fftn, ifftn, irfft, irfftn, hfft) and
real floating-point input for rfft, rfftn and ihfft. Results have the input's precision.
"""
from . import array_api as _xp, dtypes as _D, fft as _fft
from ._tensor import Tensor as _Tensor

__all__ = ["fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft", "fftfreq",
           "rfftfreq", "fftshift", "ifftshift"]


def _complex(x, name):
    if not isinstance(x, _Tensor):
        raise TypeError(f"fft.{name}: expected an array, got {type(x).__name__}")
    if x.dtype.kind != "c":
        raise TypeError(f"fft.{name}: expected a complex floating-point array, got {x.dtype.name}")
    return x


def _real(x, name):
    if not isinstance(x, _Tensor):
        raise TypeError(f"fft.{name}: expected an array, got {type(x).__name__}")
    if x.dtype.kind != "f" or x.dtype in (_D.float16, _D.bfloat16):
        raise TypeError(f"fft.{name}: expected a real floating-point array (float32 or float64), got {x.dtype.name}")
    return x


def _axes(axes):
    return None if axes is None else tuple(axes)


def fft(x, /, *, n=None, axis=-1, norm="backward"):
    """One-dimensional discrete Fourier transform along axis (complex input)."""
    return _fft.fft(_complex(x, "fft"), n, axis, norm)


def ifft(x, /, *, n=None, axis=-1, norm="backward"):
    """One-dimensional inverse discrete Fourier transform along axis (complex input)."""
    return _fft.ifft(_complex(x, "ifft"), n, axis, norm)


def fftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional transform over axes (all axes, or the last len(s), when None)."""
    return _fft.fftn(_complex(x, "fftn"), s, _axes(axes), norm)


def ifftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional inverse transform over axes (all axes, or the last len(s), when None)."""
    return _fft.ifftn(_complex(x, "ifftn"), s, _axes(axes), norm)


def rfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Transform of real input: the n // 2 + 1 non-negative frequencies."""
    return _fft.rfft(_real(x, "rfft"), n, axis, norm)


def irfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Inverse of rfft: a real signal of length n (2 (m - 1) by default)."""
    return _fft.irfft(_complex(x, "irfft"), n, axis, norm)


def rfftn(x, /, *, s=None, axes=None, norm="backward"):
    """n-dimensional transform of real input (rfft over the last axis of axes)."""
    return _fft.rfftn(_real(x, "rfftn"), s, _axes(axes), norm)


def irfftn(x, /, *, s=None, axes=None, norm="backward"):
    """Inverse of rfftn (irfft over the last axis of axes, of length s[-1] or 2 (m - 1))."""
    return _fft.irfftn(_complex(x, "irfftn"), s, _axes(axes), norm)


def hfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Transform of a Hermitian-symmetric signal given by its first half (real output)."""
    return _fft.hfft(_complex(x, "hfft"), n, axis, norm)


def ihfft(x, /, *, n=None, axis=-1, norm="backward"):
    """Inverse of hfft (real input, complex output of n // 2 + 1 values)."""
    return _fft.ihfft(_real(x, "ihfft"), n, axis, norm)


def fftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """Sample frequencies [0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d n) (default float dtype)."""
    _xp._check_device(device)
    if dtype is not None and _D.as_dtype(dtype).kind != "f":
        raise TypeError(f"fft.fftfreq: dtype must be a real floating-point dtype, got {dtype}")
    return _fft.fftfreq(n, d, dtype=dtype)


def rfftfreq(n, /, *, d=1.0, dtype=None, device=None):
    """Sample frequencies of rfft's output: [0, 1, ..., n // 2] / (d n)."""
    _xp._check_device(device)
    if dtype is not None and _D.as_dtype(dtype).kind != "f":
        raise TypeError(f"fft.rfftfreq: dtype must be a real floating-point dtype, got {dtype}")
    return _fft.rfftfreq(n, d, dtype=dtype)


def fftshift(x, /, *, axes=None):
    """x rolled so that the zero frequency is at the centre of each of axes (all by default)."""
    return _fft.fftshift(x, None if axes is None else (axes if isinstance(axes, int) else tuple(axes)))


def ifftshift(x, /, *, axes=None):
    """The inverse of fftshift."""
    return _fft.ifftshift(x, None if axes is None else (axes if isinstance(axes, int) else tuple(axes)))
