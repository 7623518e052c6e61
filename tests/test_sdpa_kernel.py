"""jt.nn.attention.sdpa_kernel against torch.nn.attention on the CPU: which calls of
scaled_dot_product_attention work or raise (and warn) under each allowed set of backends, that
results equal the unrestricted ones, and that the previous state comes back on exit."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention as tattn

import jtensor as jt
import jtensor.nn.attention as jattn

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


CALLS = {
    "plain": ((_x(2, 3, 4, 8),) * 3, {}),
    "causal": ((_x(2, 3, 4, 8),) * 3, {"is_causal": True}),
    "float_mask": ((_x(2, 3, 4, 8),) * 3, {"attn_mask": _x(4, 4)}),
    "bool_mask": ((_x(2, 3, 4, 8),) * 3, {"attn_mask": RNG.random((4, 4)) > 0.3}),
    "longer_keys": ((_x(2, 3, 4, 8), _x(2, 3, 6, 8), _x(2, 3, 6, 8)), {}),
    "gqa": ((_x(2, 4, 4, 8), _x(2, 2, 4, 8), _x(2, 2, 4, 8)), {"enable_gqa": True}),
    "3d": ((_x(3, 4, 8),) * 3, {}),
    "value_dim": ((_x(2, 3, 4, 8), _x(2, 3, 4, 8), _x(2, 3, 4, 6)), {}),
    "broadcast_batch": ((_x(2, 3, 4, 8), _x(1, 3, 4, 8), _x(1, 3, 4, 8)), {}),
    "dropout": ((_x(2, 3, 4, 8),) * 3, {"dropout_p": 0.5}),
}

BACKENDS = {
    "math": "MATH",
    "flash": "FLASH_ATTENTION",
    "efficient": "EFFICIENT_ATTENTION",
    "cudnn": "CUDNN_ATTENTION",
    "flash+efficient": ["FLASH_ATTENTION", "EFFICIENT_ATTENTION"],
    "math+flash": ["MATH", "FLASH_ATTENTION"],
    "none": [],
}


def _attempt(lib, mod, call, backends):
    (q, k, v), kw = CALLS[call]
    names = backends if isinstance(backends, list) else [backends]
    chosen = [getattr(mod.SDPBackend, n) for n in names]
    kw = {key: lib.tensor(val) if isinstance(val, np.ndarray) else val for key, val in kw.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with mod.sdpa_kernel(chosen if isinstance(backends, list) else chosen[0]) as r:
                assert r == {}
                out = lib.nn.functional.scaled_dot_product_attention(lib.tensor(q), lib.tensor(k), lib.tensor(v),
                                                                     **kw)
        except RuntimeError as e:
            return ("raises", str(e)), [str(w.message).split(" (Triggered")[0] for w in caught]
    return ("ok", None if kw.get("dropout_p") else np.asarray(out)), []


@pytest.mark.parametrize("backends", sorted(BACKENDS))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_outcome_matches_torch(call, backends):
    (jkind, jval), jwarn = _attempt(jt, jattn, call, BACKENDS[backends])
    (tkind, tval), twarn = _attempt(torch, tattn, call, BACKENDS[backends])
    assert jkind == tkind
    if jkind == "raises":
        assert jval == tval
        assert [w for w in jwarn if "kernel" in w or "kernels" in w or "Flash" in w] == \
            [w for w in twarn if "kernel" in w or "kernels" in w or "Flash" in w]
    elif tval is not None:
        np.testing.assert_allclose(jval, tval, rtol=1e-5, atol=1e-5)


def test_state_is_restored_and_priority_set():
    before = jattn._cur_sdpa_kernel_backends()
    assert [int(b) for b in before] == [int(b) for b in tattn._cur_sdpa_kernel_backends()]
    with jattn.sdpa_kernel([jattn.SDPBackend.MATH, jattn.SDPBackend.FLASH_ATTENTION], set_priority=True):
        assert jattn._cur_sdpa_kernel_backends(with_priority=True) == [jattn.SDPBackend.MATH,
                                                                       jattn.SDPBackend.FLASH_ATTENTION]
    assert jattn._cur_sdpa_kernel_backends() == before
    with pytest.raises(RuntimeError):
        with jattn.sdpa_kernel(jattn.SDPBackend.CUDNN_ATTENTION):
            raise RuntimeError("inside")
    assert jattn._cur_sdpa_kernel_backends() == before


def test_enum_and_argument_check_match_torch():
    assert {m.name: int(m) for m in jattn.SDPBackend} == {n: int(m) for n, m in tattn.SDPBackend.__members__.items()}
    for mod in (jattn, tattn):
        with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend"):
            with mod.sdpa_kernel("MATH"):
                pass
