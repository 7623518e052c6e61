"""Shared helpers for the tests of jt.nn against torch.nn (test_nn_activations.py, test_nn_losses.py,
test_nn_layers.py): random inputs, a tolerance-aware comparison, a function run on both libraries
(forward values and gradients for the same upstream gradient) and a module run on both after
copying torch's parameters and buffers into the jtensor module."""
import numpy as np
import torch

import jtensor as jt

TOL = {np.float64: 1e-9, np.float32: 3e-5}


def rnd(shape, seed=0, scale=1.0):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale)


def to_np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def close(got, exp, tol=1e-9, nan_ok=False):
    got, exp = np.asarray(to_np(got), np.float64), np.asarray(to_np(exp), np.float64)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    finite = np.abs(exp[np.isfinite(exp)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(got, exp, rtol=tol, atol=tol * scale, equal_nan=nan_ok)


def _pair(a, dtype, requires_grad):
    if isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        j, t = jt.tensor(a), torch.tensor(a)
        if requires_grad:
            j.requires_grad_()
            t.requires_grad_()
        return j, t
    return a, a


def run_both(jfn, tfn, arrays, grad=(), dtype=np.float64, tol=None, seed=0, nan_ok=False):
    """jfn on jtensor copies and tfn on torch copies of `arrays` (float arrays cast to dtype, other
    values passed as they are); compares outputs and, for the indices in `grad`, gradients for a
    random upstream gradient. Returns both outputs."""
    tol = TOL[dtype] if tol is None else tol
    pairs = [_pair(a, dtype, i in grad) for i, a in enumerate(arrays)]
    jin, tin = [p[0] for p in pairs], [p[1] for p in pairs]
    jo, to = jfn(*jin), tfn(*tin)
    close(jo, to, tol, nan_ok)
    if grad:
        go = rnd(tuple(to.shape), seed + 1).astype(dtype)
        jg = jt.autograd.grad(jo, [jin[i] for i in grad], jt.tensor(go))
        tg = torch.autograd.grad(to, [tin[i] for i in grad], torch.tensor(go))
        for a, b in zip(jg, tg):
            close(a, b, tol, nan_ok)
    return jo, to


def copy_params(tm, jm):
    """Load torch module tm's state dict into jtensor module jm (every key must match)."""
    state = {k: jt.from_dlpack(v.detach().contiguous()) for k, v in tm.state_dict().items()}
    result = jm.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []


def run_modules(jm, tm, arrays, tol=1e-9, grad_inputs=True):
    """Run the jtensor and torch modules (torch's weights copied in, float64) on the same inputs;
    compare outputs, input gradients and parameter gradients."""
    tm = tm.double()
    jm = jm.to(jt.float64)
    copy_params(tm, jm)
    run_both(jm, tm, arrays, grad=tuple(i for i, a in enumerate(arrays)
                                        if grad_inputs and isinstance(a, np.ndarray) and a.dtype.kind == "f"),
             tol=tol)
    jp, tp = dict(jm.named_parameters()), dict(tm.named_parameters())
    assert list(jp) == list(tp)
    if tp:
        pairs = [_pair(a, np.float64, False) for a in arrays]
        jo, to = jm(*[p[0] for p in pairs]), tm(*[p[1] for p in pairs])
        go = rnd(tuple(to.shape), 7)
        jg = jt.autograd.grad(jo, list(jp.values()), jt.tensor(go))
        tg = torch.autograd.grad(to, list(tp.values()), torch.tensor(go))
        for name, a, b in zip(jp, jg, tg):
            close(a, b, tol)
    assert repr(jm) == repr(tm)
