"""einops' default path on jt tensors (jtensor/_einops.py), against the same calls on torch tensors."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import jtensor as jt

einops = pytest.importorskip("einops")

PATTERNS = [
    ("rearrange", "b c h w -> b (c h w)", {}),
    ("rearrange", "b c h w -> w b h c", {}),
    ("rearrange", "b (c k) h w -> b c k h w", {"k": 2}),
    ("repeat", "b c h w -> b c h w r", {"r": 3}),
    ("repeat", "b c h w -> (r b) c h w", {"r": 2}),
    ("reduce", "b c h w -> b c", {"reduction": "mean"}),
    ("reduce", "b c (h h2) (w w2) -> b c h w", {"reduction": "max", "h2": 2, "w2": 2}),
    ("reduce", "b c h w -> c", {"reduction": "min"}),
    ("reduce", "b c h w -> b h w", {"reduction": "sum"}),
    ("reduce", "b c h w -> b", {"reduction": "prod"}),
]


def _pair(rng):
    a = rng.standard_normal((2, 4, 6, 4)).astype(np.float32)
    return jt.tensor(a), torch.tensor(a)


@pytest.mark.parametrize("fn,pattern,kw", PATTERNS, ids=[f"{f}:{p}" for f, p, _ in PATTERNS])
def test_matches_torch(fn, pattern, kw, rng):
    x, xt = _pair(rng)
    kw = dict(kw)
    if fn == "reduce":
        red = kw.pop("reduction")
        got, want = einops.reduce(x, pattern, red, **kw), einops.reduce(xt, pattern, red, **kw)
    else:
        got, want = getattr(einops, fn)(x, pattern, **kw), getattr(einops, fn)(xt, pattern, **kw)
    assert isinstance(got, jt.Tensor)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_pack_unpack_and_einsum(rng):
    x, xt = _pair(rng)
    p, ps = einops.pack([x, x[:, :1]], "b * w")
    pt, _ = einops.pack([xt, xt[:, :1]], "b * w")
    np.testing.assert_array_equal(p.numpy(), pt.numpy())
    parts = einops.unpack(p, ps, "b * w")
    assert [tuple(u.shape) for u in parts] == [(2, 4, 6, 4), (2, 1, 6, 4)]
    got = einops.einsum(x, x, "b c h w, b d h w -> b c d")
    want = einops.einsum(xt, xt, "b c h w, b d h w -> b c d")
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_gradient_flows_through_rearrange(rng):
    x = jt.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    (einops.rearrange(x, "a b c -> c (a b)") * jt.arange(24.).reshape(4, 6)).sum().backward()
    want = np.arange(24.).reshape(4, 6).reshape(4, 2, 3).transpose(1, 2, 0)
    np.testing.assert_allclose(x.grad.numpy(), want)


def test_einops_imported_before_jtensor():
    """The other import order: the backend is defined at `import jtensor`."""
    code = ("import einops, jtensor as jt; x = jt.ones(2, 3); "
            "print(tuple(einops.rearrange(x, 'a b -> b a').shape), type(einops.reduce(x, 'a b -> a', 'sum')).__name__)")
    python_dir = os.path.dirname(os.path.dirname(os.path.abspath(jt.__file__)))
    env = dict(os.environ, PYTHONPATH=python_dir)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[-2] == "(3, 2) Tensor", r.stdout
