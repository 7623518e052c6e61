"""jt.stft / jt.istft (python/jtensor/spectral.py) against torch: every option over 1-D and batched,
real and complex signals, float32/float64; the round trip; errors; gradients in the signal and the
window against torch.autograd and finite differences."""
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt


def J(t):
    return jt.tensor(t.detach().resolve_conj().numpy())


def jkw(kw):
    return {k: J(v) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}


def close(q, r, tol):
    assert tuple(q.shape) == tuple(r.shape) and q.dtype.name == str(r.dtype)[6:]
    np.testing.assert_allclose(q.numpy(), r.detach().resolve_conj().numpy(), rtol=tol, atol=tol)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _signal(shape, dtype, seed=0):
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


def _cases(dtype):
    real = dtype if not dtype.is_complex else (torch.float32 if dtype == torch.complex64 else torch.float64)
    hann16 = torch.hann_window(16, dtype=real)
    return [
        dict(n_fft=16),
        dict(n_fft=16, hop_length=5, window=hann16),
        dict(n_fft=16, win_length=10, window=torch.hann_window(10, dtype=real), hop_length=3),
        dict(n_fft=15, hop_length=4, window=torch.hamming_window(15, dtype=real), normalized=True),
        dict(n_fft=16, window=hann16, center=False),
        dict(n_fft=16, window=hann16, pad_mode="constant", onesided=False),
        dict(n_fft=8, hop_length=2, window=torch.hann_window(8, dtype=real), pad_mode="replicate", normalized=True),
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex128])
@pytest.mark.parametrize("shape", [(100,), (3, 64)])
def test_stft_and_istft_match_torch(shape, dtype):
    tol = 2e-4 if dtype == torch.float32 else 1e-10
    x = _signal(shape, dtype)
    for kw in _cases(dtype):
        if dtype.is_complex and kw.get("onesided") is None:
            kw = dict(kw, onesided=False)
        r = quiet(torch.stft, x, return_complex=True, **kw)
        q = quiet(jt.stft, J(x), return_complex=True, **jkw(kw))
        close(q, r, tol)
        close(quiet(J(x).stft, return_complex=False, **jkw(kw)), quiet(torch.stft, x, return_complex=False, **kw), tol)
        ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
        if dtype.is_complex:
            ikw["return_complex"] = True
        for length in (None, shape[-1], shape[-1] - 7, shape[-1] + 5):
            try:
                ri = quiet(torch.istft, r, length=length, **ikw)
            except RuntimeError:
                with pytest.raises(RuntimeError, match="window overlap add min"):
                    quiet(jt.istft, q, length=length, **jkw(ikw))
                continue
            qi = quiet(jt.istft, q, length=length, **jkw(ikw))
            close(qi, ri, tol)
            if length == shape[-1]:
                close(qi, x, tol)   # the round trip
            close(quiet(q.istft, length=length, **jkw(ikw)), ri, tol)   # the Tensor method


def test_stft_errors_and_warnings():
    x = jt.randn(50)
    with pytest.raises(RuntimeError, match="stft requires the return_complex parameter be given for real inputs"):
        jt.stft(x, 8, window=jt.ones(8))
    with pytest.raises(RuntimeError, match="expected a 1D window tensor of size equal to win_length"):
        jt.stft(x, 8, window=jt.ones(7), return_complex=True)
    with pytest.raises(RuntimeError, match="expected a 1D or 2D tensor"):
        jt.stft(jt.randn(2, 2, 50), 8, window=jt.ones(8), return_complex=True)
    with pytest.raises(RuntimeError, match="expected 0 < n_fft"):
        jt.stft(x, 80, window=jt.ones(80), center=False, return_complex=True)
    with pytest.warns(UserWarning, match="A window was not provided"):
        jt.stft(x, 8, return_complex=True)
    with pytest.raises(RuntimeError, match="requires a complex-valued input tensor"):
        jt.istft(jt.randn(5, 6), 8, window=jt.ones(8))
    with pytest.raises(RuntimeError, match="n_fft / 2 \\+ 1 when onesided=True"):
        jt.istft(jt.stft(x, 8, window=jt.ones(8), return_complex=True), 10, window=jt.ones(10))


def test_gradients_match_torch():
    x = _signal((2, 40), torch.float64)
    w = torch.hann_window(12, dtype=torch.float64) + 0.1
    xt, wt = x.clone().requires_grad_(), w.clone().requires_grad_()
    xj, wj = J(x).requires_grad_(), J(w).requires_grad_()
    for m, a, b in ((torch, xt, wt), (jt, xj, wj)):
        s = m.stft(a, 12, hop_length=4, window=b, return_complex=True)
        y = m.istft(s * s.abs(), 12, hop_length=4, window=b, length=40)
        (s.abs().sum() + (y * y).sum()).backward()
    close(xj.grad, xt.grad, 1e-9)
    close(wj.grad, wt.grad, 1e-9)


def test_gradcheck():
    x = jt.tensor(_signal((20,), torch.float64).numpy()).requires_grad_()
    w = jt.tensor((torch.hann_window(8, dtype=torch.float64) + 0.2).numpy()).requires_grad_()
    assert jt.autograd.gradcheck(lambda x, w: jt.view_as_real(jt.stft(x, 8, hop_length=3, window=w,
                                                                       return_complex=True)), (x, w))
    s = jt.view_as_real(jt.stft(x.detach(), 8, hop_length=2, window=w.detach(), return_complex=True))
    s = s.contiguous().requires_grad_()   # real and imaginary parts as a real leaf
    assert jt.autograd.gradcheck(
        lambda s, w: jt.istft(jt.view_as_complex(s), 8, hop_length=2, window=w, length=20), (s, w))
