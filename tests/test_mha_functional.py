"""jt.nn.functional.multi_head_attention_forward (nn/_functional/attention.py) against torch's, with
the same weights: packed and separate projections, bias_k/bias_v, zero attention, static keys and
values, every mask form, need_weights off (scaled_dot_product_attention), unbatched inputs, errors,
and gradients in every input and weight. jt.nn.MultiheadAttention calls it (tests/test_transformer.py)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn.functional as F

E, H, L, S, N = 8, 2, 4, 5, 3


def J(t):
    return None if t is None else jt.tensor(t.detach().numpy())


def _r(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def _weights(kdim=E, vdim=E, bias=True, bias_kv=False, seed=10):
    w = {"in_proj_weight": _r(3 * E, E, seed=seed), "in_proj_bias": _r(3 * E, seed=seed + 1) if bias else None,
         "out_proj_weight": _r(E, E, seed=seed + 2), "out_proj_bias": _r(E, seed=seed + 3) if bias else None,
         "bias_k": _r(1, 1, E, seed=seed + 4) if bias_kv else None,
         "bias_v": _r(1, 1, E, seed=seed + 5) if bias_kv else None}
    if kdim != E or vdim != E:
        w.update(q_proj_weight=_r(E, E, seed=seed + 6), k_proj_weight=_r(E, kdim, seed=seed + 7),
                 v_proj_weight=_r(E, vdim, seed=seed + 8), use_separate_proj_weight=True, in_proj_weight=None)
    return w


def _call(m, q, k, v, w, **kw):
    f = TF.multi_head_attention_forward if m is torch else F.multi_head_attention_forward
    cv = (lambda t: t) if m is torch else (lambda t: J(t) if isinstance(t, torch.Tensor) else t)
    ww = {key: cv(val) for key, val in w.items()}
    return f(cv(q), cv(k), cv(v), E, H, ww.pop("in_proj_weight"), ww.pop("in_proj_bias"), ww.pop("bias_k"),
             ww.pop("bias_v"), kw.pop("add_zero_attn", False), 0.0, ww.pop("out_proj_weight"),
             ww.pop("out_proj_bias"), **ww, **{key: cv(val) for key, val in kw.items()})


def _same(res_j, res_t):
    for a, b in zip(res_j, res_t):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


CASES = {
    "plain": ({}, {}),
    "no_bias": ({"bias": False}, {}),
    "bias_kv_zero_attn": ({"bias_kv": True}, {"add_zero_attn": True}),
    "separate": ({"kdim": 6, "vdim": 7}, {}),
    "bool_masks": ({}, {"attn_mask": torch.rand(L, S, generator=torch.Generator().manual_seed(1)) > 0.7,
                        "key_padding_mask": torch.tensor([[False] * 4 + [True], [False] * 5, [True] + [False] * 4])}),
    "float_3d_mask": ({"bias_kv": True}, {"attn_mask": _r(N * H, L, S, seed=2), "average_attn_weights": False}),
    "no_weights": ({}, {"need_weights": False, "attn_mask": _r(L, S, seed=3)}),
    "no_weights_kpm": ({}, {"need_weights": False,
                            "key_padding_mask": torch.tensor([[False] * 4 + [True], [False] * 5, [False] * 5])}),
    "causal": ({}, {"need_weights": False, "is_causal": True, "attn_mask": torch.ones(L, S).triu(1).bool()}),
}


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case):
    wkw, kw = CASES[case]
    w = _weights(**wkw)
    q = _r(L, N, E, seed=20)
    k, v = _r(S, N, wkw.get("kdim", E), seed=21), _r(S, N, wkw.get("vdim", E), seed=22)
    if case == "causal":
        k, v = k[:L], v[:L]
        kw = dict(kw, attn_mask=torch.ones(L, L).triu(1).bool())
    _same(_call(jt, q, k, v, w, **dict(kw)), _call(torch, q, k, v, w, **dict(kw)))


def test_unbatched_and_static_kv():
    w = _weights()
    q, k, v = _r(L, E, seed=1), _r(S, E, seed=2), _r(S, E, seed=3)
    _same(_call(jt, q, k, v, w, key_padding_mask=torch.tensor([False] * 4 + [True])),
          _call(torch, q, k, v, w, key_padding_mask=torch.tensor([False] * 4 + [True])))
    q, k, v = _r(L, N, E, seed=1), _r(S, N, E, seed=2), _r(S, N, E, seed=3)
    sk, sv = _r(N * H, 6, E // H, seed=4), _r(N * H, 6, E // H, seed=5)
    _same(_call(jt, q, k, v, w, static_k=sk, static_v=sv), _call(torch, q, k, v, w, static_k=sk, static_v=sv))


def test_errors():
    w = _weights()
    q = _r(L, N, E)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        _call(jt, _r(L, N, 6), q, q, w)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        _call(jt, q, _r(S, E), _r(S, E), w)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask is \\[4, 4\\], but should be \\[4, 5\\]"):
        _call(jt, q, _r(S, N, E), _r(S, N, E), w, attn_mask=torch.zeros(L, L))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        _call(jt, q, q, q, w, is_causal=True)
    with pytest.raises(AssertionError, match="bias cannot be added to static key or value"):
        wb = _weights(bias_kv=True)
        _call(jt, q, q, q, wb, static_k=_r(N * H, 3, E // H), static_v=_r(N * H, 3, E // H))


@pytest.mark.parametrize("case", ["plain", "separate", "bias_kv_zero_attn", "no_weights"])
def test_gradients_match_torch(case):
    wkw, kw = CASES[case]
    w = _weights(**wkw)
    q = _r(L, N, E, seed=20)
    k, v = _r(S, N, wkw.get("kdim", E), seed=21), _r(S, N, wkw.get("vdim", E), seed=22)
    leaves_t = {"q": q, "k": k, "v": v, **{n: t for n, t in w.items() if isinstance(t, torch.Tensor)}}
    leaves_t = {n: t.clone().requires_grad_() for n, t in leaves_t.items()}
    leaves_j = {n: J(t).requires_grad_() for n, t in leaves_t.items()}
    for m, leaves in ((torch, leaves_t), (jt, leaves_j)):
        ww = dict(w, **{n: leaves[n] for n in w if n in leaves})
        out, weights = _call(m, leaves["q"], leaves["k"], leaves["v"], ww, **dict(kw))
        loss = out.sin().sum() + (0 if weights is None else (weights * weights).sum())
        loss.backward()
    for n in leaves_t:
        np.testing.assert_allclose(leaves_j[n].grad.numpy(), leaves_t[n].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=n)


def test_module_forward_is_the_function():
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, kdim=6, vdim=7, add_bias_kv=True, batch_first=True).double()
    jm = jt.nn.MultiheadAttention(E, H, kdim=6, vdim=7, add_bias_kv=True, batch_first=True, dtype=jt.float64)
    jm.load_state_dict({k: J(v) for k, v in tm.state_dict().items()})
    q, k, v = _r(N, L, E, seed=1), _r(N, S, 6, seed=2), _r(N, S, 7, seed=3)
    _same(jm(J(q), J(k), J(v)), tm(q, k, v))
    _same(jm(J(q), J(k), J(v), need_weights=False), tm(q, k, v, need_weights=False))
