"""`jt.stft` / `jt.istft` (and the Tensor methods), composed as torch composes them: frames are an
`unfold` view of the (centre-padded) signal, windowed and transformed by jt.fft's `rfft`/`fft`;
the inverse transforms each frame back (`irfft`/`ifft`), windows it again and overlap-adds the
frames with `index_add`, dividing by the overlap-added squared window. Every step is a
differentiable op, so both are differentiable in the signal and the window.
"""
import math
import warnings

import jtensor as jt
from . import fft as _fft
from .ops import composed

_RETURN_COMPLEX_REQUIRED = ("stft requires the return_complex parameter be given for real inputs, and will further "
                            "require that return_complex=True in a future PyTorch release.")


def _window(name, window, n_fft, win_length, dtype):
    """The window padded with zeros on both sides to n_fft (ones of win_length when None)."""
    if win_length <= 0 or win_length > n_fft:
        raise RuntimeError(f"{name}: expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is None:
        window = jt.ones(win_length, dtype=dtype)
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{name}: expected a 1D window tensor of size equal to win_length={win_length}, but got "
                           f"window with size {list(window.shape)}")
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = jt.nn.functional.pad(window, [left, n_fft - win_length - left])
    return window


def _frame_params(name, n_fft, hop_length, win_length):
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if n_fft <= 0:
        raise RuntimeError(f"{name}: expected 0 < n_fft, but got n_fft={n_fft}")
    if hop <= 0:
        raise RuntimeError(f"{name}: expected hop_length > 0, but got hop_length={hop}")
    return hop, win


@composed()
def stft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect",
         normalized=False, onesided=None, return_complex=None):
    """Short-time Fourier transform of a signal (L,) or batch (B, L): (B?, n_freq, n_frames) complex,
    frames of n_fft samples every hop_length (default n_fft // 4), windowed (window of win_length,
    default all ones, zero-padded to n_fft); center pads n_fft // 2 on both sides by pad_mode;
    onesided (default for real input and window) keeps n_fft // 2 + 1 frequencies; normalized
    scales by n_fft^-1/2; return_complex=False gives the real view (..., 2)."""
    name = "stft"
    complex_in = input.is_complex() or (window is not None and window.is_complex())
    if return_complex is None:
        if not complex_in:
            raise RuntimeError(_RETURN_COMPLEX_REQUIRED)
        return_complex = True
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{name}: expected a 1D or 2D tensor, but got {input.ndim}D")
    hop, win = _frame_params(name, n_fft, hop_length, win_length)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied, which is known to cause "
                      "spectral leakage. Other windows such as jt.hann_window or jt.hamming_window are recommended.",
                      UserWarning, stacklevel=2)
    x = input.unsqueeze(0) if input.ndim == 1 else input
    if center:
        p = n_fft // 2
        x = jt.nn.functional.pad(x.unsqueeze(1), [p, p], mode=pad_mode).squeeze(1)
    if not 0 < n_fft <= x.shape[-1]:
        raise RuntimeError(f"{name}: expected 0 < n_fft <= {x.shape[-1]}, but got n_fft={n_fft}")
    w = _window(name, window, n_fft, win, x.dtype if not x.is_complex() else x.real.dtype)
    frames = x.unfold(-1, n_fft, hop) * w                     # (B, n_frames, n_fft)
    onesided = not complex_in if onesided is None else onesided
    if onesided and complex_in:
        raise RuntimeError(f"{name}: Cannot have onesided output if window or input is complex")
    spec = _fft.rfft(frames, dim=-1) if onesided else _fft.fft(frames, dim=-1)
    if normalized:
        spec = spec * (1.0 / math.sqrt(n_fft))
    spec = spec.mT                                           # (B, n_freq, n_frames)
    if input.ndim == 1:
        spec = spec.squeeze(0)
    return spec if return_complex else jt.view_as_real(spec)


@composed()
def istft(input, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False,
          onesided=None, length=None, return_complex=False):
    """Inverse of stft: each frame transformed back, windowed and overlap-added, divided by the
    overlap-added squared window (which must not vanish: the window must satisfy the NOLA
    condition); center removes the n_fft // 2 padding; length trims or zero-pads the result."""
    name = "istft"
    if not input.is_complex():
        raise RuntimeError(f"{name} requires a complex-valued input tensor")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{name}: expected a tensor with 2 or 3 dimensions of complex, but got {input.ndim}D")
    hop, win = _frame_params(name, n_fft, hop_length, win_length)
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied. Please provide the same "
                      "window used by stft to make the inversion lossless.", UserWarning, stacklevel=2)
    spec = input.unsqueeze(0) if input.ndim == 2 else input  # (B, n_freq, n_frames)
    n_freq, n_frames = spec.shape[-2:]
    onesided = n_freq != n_fft if onesided is None else onesided
    if onesided and n_freq != n_fft // 2 + 1:
        raise RuntimeError(f"{name}: expected the frequency dimension (3rd to the last) of the input tensor to match "
                           f"n_fft / 2 + 1 when onesided=True, but got {n_freq}")
    if not onesided and n_freq != n_fft:
        raise RuntimeError(f"{name}: expected the frequency dimension (3rd to the last) of the input tensor to match "
                           f"n_fft when onesided=False, but got {n_freq}")
    if onesided and return_complex:
        raise RuntimeError(f"{name}: cannot have onesided output if window or input is complex")
    real = spec.real.dtype
    w = _window(name, window, n_fft, win, real if window is None or not window.is_complex() else window.dtype)
    if normalized:
        spec = spec * math.sqrt(n_fft)
    frames = _fft.irfft(spec.mT, n=n_fft, dim=-1) if onesided else _fft.ifft(spec.mT, dim=-1)
    if not onesided and not return_complex:
        frames = frames.real
    frames = frames * w                                      # (B, n_frames, n_fft)
    total = n_fft + hop * (n_frames - 1)
    positions = (jt.arange(n_frames).unsqueeze(-1) * hop + jt.arange(n_fft)).reshape(-1)
    y = jt.zeros(frames.shape[0], total, dtype=frames.dtype).index_add(-1, positions, frames.reshape(frames.shape[0], -1))
    wsq = (w * w.conj()).real if w.is_complex() else w * w
    envelope = jt.zeros(total, dtype=wsq.dtype).index_add(0, positions, wsq.expand(n_frames, n_fft).reshape(-1))
    start = n_fft // 2 if center else 0
    end = total - (n_fft // 2 if center else 0) if length is None else start + length
    end = min(end, total)
    y, envelope = y[:, start:end], envelope[start:end]
    if envelope.numel() and float(envelope.abs().amin()) < 1e-11:
        raise RuntimeError(f"{name}: window overlap add min: {float(envelope.abs().amin()):g} (the window must satisfy "
                           "the NOLA condition: its overlap-added square must not vanish)")
    y = y / envelope
    if length is not None and y.shape[-1] < length:
        y = jt.nn.functional.pad(y, [0, length - y.shape[-1]])
    return y.squeeze(0) if input.ndim == 2 else y
