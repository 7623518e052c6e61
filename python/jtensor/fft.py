"""Discrete Fourier transforms, ``jtensor.fft``, with PyTorch's names and signatures (torch.fft).

    X = jt.fft.fft(x)                       # along the last dim
    y = jt.fft.irfftn(jt.fft.rfftn(x), s=x.shape)

Every transform is built from one registry op, ``_fft_c2c`` (julia/src/ops/fft.jl: the
unnormalized complex DFT along one dim), and ordinary registry ops (padding, slicing, conj,
scaling), so all of them are differentiable. The Array API's ``fft`` extension
(jtensor.array_api_fft) adapts these functions to the standard's argument names.

Conventions (as NumPy and PyTorch): ``n``/``s`` crop or zero-pad the input along the transformed
dims first; ``norm`` is ``"backward"`` (default: forward transforms unscaled, inverse ones divided
by n), ``"ortho"`` (both by sqrt(n)) or ``"forward"`` (forward ones divided by n). Real inputs of
the complex transforms are promoted to complex; integer and bool inputs compute in float32 (complex64),
float16/bfloat16 in float32.
"""
import math

from . import dtypes as _D
from .registry import REGISTRY as _REGISTRY
from .schema import norm_dim as _norm_dim

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2", "rfftn",
           "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]

_NORMS = (None, "backward", "ortho", "forward")


def _op(name):
    op = _REGISTRY.ops.get(name)
    if op is None:
        _REGISTRY.sync()
        op = _REGISTRY.ops[name]
    return op.fn


def _tensor(x, name):
    from ._tensor import Tensor, asarray
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, int, float, complex)) or x is None:
        raise TypeError(f"fft.{name}: expected a tensor, got {type(x).__name__}")
    return asarray(x)


def _complex_input(x, name):
    """x as complex64/complex128 (real float64 -> complex128; other reals -> complex64)."""
    dt = x.dtype
    if dt.kind == "c":
        return x
    if dt is _D.float64:
        return x.astype(_D.complex128)
    return x.astype(_D.complex64)


def _real_input(x, name):
    dt = x.dtype
    if dt.kind == "c":
        raise TypeError(f"fft.{name}: expected a real tensor, got {dt.name}")
    if dt is _D.float64 or dt is _D.float32:
        return x
    return x.astype(_D.float32)


def _check_norm(norm, name):
    if norm not in _NORMS:
        raise ValueError(f"fft.{name}: invalid norm {norm!r} (expected 'backward', 'ortho' or 'forward')")


def _scale(norm, n, forward):
    """The factor a transform of length n applies under `norm`."""
    norm = norm or "backward"
    if norm == "ortho":
        return 1.0 / math.sqrt(n)
    if (norm == "forward") == forward:
        return 1.0 / n
    return 1.0


def _check_n(n, name):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"fft.{name}: the transform length must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"fft.{name}: invalid number of data points ({n}) specified")


def _resize(x, d, n):
    """x cropped or zero-padded at the end of dim d to length n."""
    m = x.shape[d]
    if m == n:
        return x
    if m > n:
        return x.narrow(d, 0, n)
    from .creation import zeros
    pad = zeros(x.shape[:d] + (n - m,) + x.shape[d + 1:], dtype=x.dtype)
    return _op("cat")([x, pad], d)


def _c2c(x, d, n, norm, forward, name):
    """The (normalized) complex transform of x along dim d, after resizing it to n."""
    if x.ndim == 0:
        raise ValueError(f"fft.{name}: expected a tensor with at least one dimension, got a 0-d tensor")
    if n is None:
        n = x.shape[d]
        if n < 1:
            raise ValueError(f"fft.{name}: invalid number of data points ({n}) specified")
    _check_n(n, name)
    x = _resize(x, d, n)
    y = _op("_fft_c2c")(x, d, not forward)
    f = _scale(norm, n, forward)
    return y if f == 1.0 else y * f


def _dims_and_sizes(x, s, dim, name):
    """The dims (non-negative, distinct) and lengths of an n-d transform (s and dim as in torch)."""
    if dim is None:
        dims = list(range(x.ndim)) if s is None else list(range(x.ndim - len(s), x.ndim))
    else:
        dims = [dim] if isinstance(dim, int) else list(dim)
        dims = [_norm_dim(d, x.ndim, f"fft.{name}") for d in dims]
    if len(set(dims)) != len(dims):
        raise ValueError(f"fft.{name}: repeated dims in {dim}")
    if s is None:
        sizes = [None] * len(dims)
    else:
        sizes = list(s)
        if len(sizes) != len(dims):
            raise ValueError(f"fft.{name}: s {tuple(s)} and dim {tuple(dims)} must have the same length")
        sizes = [None if (v is None or v == -1) else v for v in sizes]
    return dims, sizes


# ---- one-dimensional transforms ------------------------------------------------------------------------

def fft(input, n=None, dim=-1, norm=None):
    """The discrete Fourier transform of input along dim: X_k = Σ_j x_j exp(-2πi jk/n)."""
    _check_norm(norm, "fft")
    x = _complex_input(_tensor(input, "fft"), "fft")
    return _c2c(x, _norm_dim(dim, x.ndim, "fft.fft"), n, norm, True, "fft")


def ifft(input, n=None, dim=-1, norm=None):
    """The inverse discrete Fourier transform along dim: x_j = (1/n) Σ_k X_k exp(2πi jk/n)."""
    _check_norm(norm, "ifft")
    x = _complex_input(_tensor(input, "ifft"), "ifft")
    return _c2c(x, _norm_dim(dim, x.ndim, "fft.ifft"), n, norm, False, "ifft")


def rfft(input, n=None, dim=-1, norm=None):
    """The transform of real input along dim, its n // 2 + 1 non-negative frequencies only."""
    _check_norm(norm, "rfft")
    x = _real_input(_tensor(input, "rfft"), "rfft")
    d = _norm_dim(dim, x.ndim, "fft.rfft")
    y = _c2c(_complex_input(x, "rfft"), d, n, norm, True, "rfft")
    return y.narrow(d, 0, y.shape[d] // 2 + 1)


def _hermitian_full(X, d, n):
    """The n-point spectrum whose first n // 2 + 1 values are X's (cropped or zero-padded) and
    whose others are their conjugate mirror images, X[n - k] = conj(X[k])."""
    X = _resize(X, d, n // 2 + 1)
    tail = (n + 1) // 2 - 1                     # the mirrored values X[1 .. (n + 1) // 2 - 1]
    if tail <= 0:
        return X
    mirror = _op("flip")(X.narrow(d, 1, tail), (d,)).conj()
    return _op("cat")([X, mirror], d)


def irfft(input, n=None, dim=-1, norm=None):
    """The inverse of rfft: the real n-point signal (n = 2 (m - 1) by default for m input values)
    whose spectrum's non-negative half is input (the imaginary parts of the zero and, for even n,
    Nyquist frequencies are ignored)."""
    _check_norm(norm, "irfft")
    X = _complex_input(_tensor(input, "irfft"), "irfft")
    d = _norm_dim(dim, X.ndim, "fft.irfft")
    if n is None:
        n = 2 * (X.shape[d] - 1)
    _check_n(n, "irfft")
    return _c2c(_hermitian_full(X, d, n), d, n, norm, False, "irfft").real


def _swap(norm):
    return {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}[norm]


def hfft(input, n=None, dim=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half (real output of
    length n = 2 (m - 1) by default): irfft(conj(input)) scaled as a forward transform."""
    _check_norm(norm, "hfft")
    x = _complex_input(_tensor(input, "hfft"), "hfft")
    return irfft(x.conj(), n, dim, _swap(norm))


def ihfft(input, n=None, dim=-1, norm=None):
    """The inverse of hfft: conj(rfft(input)) scaled as an inverse transform."""
    _check_norm(norm, "ihfft")
    return rfft(input, n, dim, _swap(norm)).conj()


# ---- n-dimensional transforms ---------------------------------------------------------------------------

def _c2c_n(x, s, dim, norm, forward, name):
    dims, sizes = _dims_and_sizes(x, s, dim, name)
    for d, n in zip(dims, sizes):
        x = _c2c(x, d, n, norm, forward, name)
    return x


def fftn(input, s=None, dim=None, norm=None):
    """The n-dimensional transform over dim (all dims, or the last len(s), when None)."""
    _check_norm(norm, "fftn")
    x = _complex_input(_tensor(input, "fftn"), "fftn")
    return _c2c_n(x, s, dim, norm, True, "fftn")


def ifftn(input, s=None, dim=None, norm=None):
    """The n-dimensional inverse transform over dim (all dims, or the last len(s), when None)."""
    _check_norm(norm, "ifftn")
    x = _complex_input(_tensor(input, "ifftn"), "ifftn")
    return _c2c_n(x, s, dim, norm, False, "ifftn")


def fft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional transform over dim (the last two by default)."""
    return fftn(input, s, dim, norm)


def ifft2(input, s=None, dim=(-2, -1), norm=None):
    """The two-dimensional inverse transform over dim (the last two by default)."""
    return ifftn(input, s, dim, norm)


def rfftn(input, s=None, dim=None, norm=None):
    """The n-dimensional transform of real input: rfft over the last of dim, then fft over the others."""
    _check_norm(norm, "rfftn")
    x = _real_input(_tensor(input, "rfftn"), "rfftn")
    dims, sizes = _dims_and_sizes(x, s, dim, "rfftn")
    if not dims:
        raise ValueError("fft.rfftn: at least one dim must be transformed")
    x = rfft(x, sizes[-1], dims[-1], norm)
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _c2c(x, d, n, norm, True, "rfftn")
    return x


def irfftn(input, s=None, dim=None, norm=None):
    """The inverse of rfftn: ifft over all but the last of dim, then irfft over the last (of
    length s[-1], or 2 (m - 1) by default)."""
    _check_norm(norm, "irfftn")
    x = _complex_input(_tensor(input, "irfftn"), "irfftn")
    dims, sizes = _dims_and_sizes(x, s, dim, "irfftn")
    if not dims:
        raise ValueError("fft.irfftn: at least one dim must be transformed")
    for d, n in zip(dims[:-1], sizes[:-1]):
        x = _c2c(x, d, n, norm, False, "irfftn")
    return irfft(x, sizes[-1], dims[-1], norm)


def rfft2(input, s=None, dim=(-2, -1), norm=None):
    return rfftn(input, s, dim, norm)


def irfft2(input, s=None, dim=(-2, -1), norm=None):
    return irfftn(input, s, dim, norm)


def hfftn(input, s=None, dim=None, norm=None):
    """The n-dimensional transform of a Hermitian-symmetric signal given by half of its last dim
    (real output): irfftn(conj(input)) scaled as a forward transform."""
    _check_norm(norm, "hfftn")
    x = _complex_input(_tensor(input, "hfftn"), "hfftn")
    return irfftn(x.conj(), s, dim, _swap(norm))


def ihfftn(input, s=None, dim=None, norm=None):
    """The inverse of hfftn: conj(rfftn(input)) scaled as an inverse transform."""
    _check_norm(norm, "ihfftn")
    return rfftn(input, s, dim, _swap(norm)).conj()


def hfft2(input, s=None, dim=(-2, -1), norm=None):
    return hfftn(input, s, dim, norm)


def ihfft2(input, s=None, dim=(-2, -1), norm=None):
    return ihfftn(input, s, dim, norm)


# ---- helpers ---------------------------------------------------------------------------------------------

def _freq_dtype(dtype):
    return _D.default_float if dtype is None else _D.as_dtype(dtype)


def fftfreq(n, d=1.0, *, dtype=None, requires_grad=False):
    """The sample frequencies of an n-point transform with sample spacing d:
    [0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d n)."""
    _check_n(n, "fftfreq")
    from .creation import arange
    k = arange(n, dtype=_D.int64)
    k = _op("where")(k < (n + 1) // 2, k, k - n)
    out = (k.astype(_D.float64) / (d * n)).astype(_freq_dtype(dtype))
    return out.requires_grad_() if requires_grad else out


def rfftfreq(n, d=1.0, *, dtype=None, requires_grad=False):
    """The sample frequencies of rfft's output: [0, 1, ..., n // 2] / (d n)."""
    _check_n(n, "rfftfreq")
    from .creation import arange
    out = (arange(n // 2 + 1, dtype=_D.float64) / (d * n)).astype(_freq_dtype(dtype))
    return out.requires_grad_() if requires_grad else out


def _shift(x, dim, inverse, name):
    x = _tensor(x, name)
    dims = list(range(x.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    dims = [_norm_dim(d, x.ndim, f"fft.{name}") for d in dims]
    if not dims:
        return x.clone()
    shifts = [(-(x.shape[d] // 2) if inverse else x.shape[d] // 2) for d in dims]
    return _op("roll")(x, tuple(shifts), tuple(dims))


def fftshift(input, dim=None):
    """input rolled so that the zero frequency is in the middle of each dim (all dims by default)."""
    return _shift(input, dim, False, "fftshift")


def ifftshift(input, dim=None):
    """The inverse of fftshift."""
    return _shift(input, dim, True, "ifftshift")
