"""Gradients of every differentiable op, and the semantics of the autograd engine.

The op table (`ROWS`, OpInfo-style) drives three checks per row:
  (a) `jt.autograd.gradcheck` (finite differences, float64) on the first, small sample;
  (b) gradients equal to `torch.autograd.grad` on the same inputs (float64, tight tolerance), on
      every sample (broadcasting cases included) and on non-contiguous copies of the inputs;
  (c) for rows marked `gg`, second derivatives equal to torch's (grad of a grad with create_graph),
      plus `jt.autograd.gradgradcheck` for a few.
`test_every_op_is_covered` lists every registry op: each has a derivative exercised by some row,
is in NON_DIFFERENTIABLE (with the reason), or is an nn op (ops/nn.jl, tested in
tests/test_nn_functional.py).
"""
import math
import pathlib
import re
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtensor as jt
from jtensor import autograd as AG
from jtensor.optim.optimizer import FUSED_STEPS
from jtensor.registry import REGISTRY

ROOT = pathlib.Path(__file__).resolve().parents[1]
RTOL, ATOL = 1e-7, 1e-9


# ---- sample arguments -------------------------------------------------------------------------------------

class V:
    """A differentiable float64 argument with the given values (ties, zeros, singular matrices...)."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float64)


class C:
    """A constant tensor argument (not differentiable): indices, masks, conditions."""

    def __init__(self, values, dtype=None):
        self.values = np.asarray(values, dtype=dtype)


class Row:
    """One differentiable op: `fn(m, *args)` runs it with module m (jtensor or torch); `tfn` when
    torch spells it differently. A sample is a tuple of arguments: a shape tuple (random float64
    values in `domain`, differentiable), V (given values, differentiable), C (constant tensor) or a
    plain Python value."""

    def __init__(self, name, fn, samples, domain=(-2.0, 2.0), tfn=None, gg=False, gc=True, nc=True,
                 tol=None, torch_ok=True):
        self.name, self.fn, self.samples, self.domain = name, fn, samples, domain
        self.tfn = tfn or fn
        self.gg, self.gc, self.nc, self.torch_ok = gg, gc, nc, torch_ok
        self.rtol, self.atol = tol if tol is not None else (RTOL, ATOL)

    def __repr__(self):
        return self.name


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _values(row, k):
    """NumPy values of sample k: (list of arg specs with arrays, indices of differentiable args)."""
    rng = _rng(row.name, k)
    lo, hi = row.domain
    out, diff = [], []
    for i, a in enumerate(row.samples[k]):
        if isinstance(a, tuple) and all(isinstance(s, int) for s in a):
            out.append(("d", rng.uniform(lo, hi, a)))
            diff.append(i)
        elif isinstance(a, V):
            out.append(("d", a.values))
            diff.append(i)
        elif isinstance(a, C):
            out.append(("c", a.values))
        else:
            out.append(("p", a))
    return out, diff


def _leaf(m, a, noncontig):
    """A float64 leaf requiring grad with a's values; non-contiguous (transposed or strided in
    memory) when asked."""
    if m is torch:
        if noncontig and a.ndim >= 2:
            t = torch.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).mT
        elif noncontig and a.ndim == 1:
            t = torch.tensor(np.repeat(a, 2))[::2]
        else:
            t = torch.tensor(a)
        return t.detach().requires_grad_()
    if noncontig and a.ndim >= 2:
        t = jt.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).mT
    elif noncontig and a.ndim == 1:
        t = jt.tensor(np.repeat(a, 2))[::2]
    else:
        t = jt.tensor(a)
    return t.requires_grad_()


def _build(m, vals, noncontig=False):
    args, leaves = [], []
    for kind, v in vals:
        if kind == "d":
            t = _leaf(m, v, noncontig)
            args.append(t)
            leaves.append(t)
        elif kind == "c":
            args.append(torch.tensor(v) if m is torch else jt.tensor(v))
        else:
            args.append(v)
    return args, leaves


def _is_float(t):
    if isinstance(t, torch.Tensor):
        return t.is_floating_point() or t.is_complex()
    return isinstance(t, jt.Tensor) and t.dtype.kind in "fc"


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _loss(out, seed):
    """sum(out_i * w_i) over the floating-point outputs, w_i fixed random weights."""
    rng = np.random.default_rng(seed)
    total = None
    for o in _flat(out):
        if not _is_float(o):
            continue
        w = rng.uniform(0.5, 1.5, tuple(o.shape))
        wt = torch.tensor(w) if isinstance(o, torch.Tensor) else jt.tensor(w)
        term = (o * wt).sum()
        if o.is_complex():
            term = term.real
        total = term if total is None else total + term
    return total


def _np(g):
    if g is None:
        return None
    if isinstance(g, torch.Tensor):
        return g.detach().numpy(force=True)
    return np.asarray(g.numpy())


def _close(got, exp, rtol, atol, what):
    if got is None or exp is None:
        other = exp if got is None else got
        assert other is None or not np.any(other), f"{what}: one gradient is None, the other nonzero"
        return
    assert got.shape == exp.shape, f"{what}: shape {got.shape} != {exp.shape}"
    scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size else 1.0
    np.testing.assert_allclose(got, exp, rtol=rtol, atol=atol * scale, err_msg=what)


def _grads(m, loss, leaves, create_graph=False):
    if m is torch:
        return torch.autograd.grad(loss, leaves, allow_unused=True, create_graph=create_graph)
    return jt.autograd.grad(loss, leaves, allow_unused=True, create_graph=create_graph)


def _compare(row, k, noncontig=False, second=False):
    vals, _ = _values(row, k)
    res = {}
    for m, fn in ((jt, row.fn), (torch, row.tfn)):
        args, leaves = _build(m, vals, noncontig)
        loss = _loss(fn(m, *args), seed=k)
        g = _grads(m, loss, leaves, create_graph=second)
        if second:
            rng = np.random.default_rng(99 + k)
            loss2 = None
            for gi, leaf in zip(g, leaves):
                if gi is None or not gi.requires_grad:
                    continue
                v = rng.uniform(0.5, 1.5, tuple(gi.shape))
                term = (gi * (torch.tensor(v) if m is torch else jt.tensor(v))).sum()
                loss2 = term if loss2 is None else loss2 + term
            g = [None] * len(leaves) if loss2 is None else _grads(m, loss2, leaves)
        res[m] = [_np(x) for x in g]
    for i, (a, b) in enumerate(zip(res[jt], res[torch])):
        _close(a, b, row.rtol, row.atol, f"{row.name} sample {k} input {i}{' (2nd order)' if second else ''}")


def _gradcheck_fn(row, k):
    vals, diff = _values(row, k)
    inputs = [jt.tensor(vals[i][1]).requires_grad_() for i in diff]

    def f(*xs):
        args = []
        it = iter(xs)
        for kind, v in vals:
            args.append(next(it) if kind == "d" else jt.tensor(v) if kind == "c" else v)
        return row.fn(jt, *args)
    return f, inputs


# ---- the op table ------------------------------------------------------------------------------------------

def F(m):
    """Where the functional spelling lives: torch.nn.functional or jtensor."""
    return TF if m is torch else jt


def eye(m, n):
    return m.eye(n, dtype=m.float64)


BCAST = ((3, 1), (4,))
UNARY = [
    # name, function, domain
    ("exp", lambda m, x: m.exp(x), (-2, 2)),
    ("expm1", lambda m, x: m.expm1(x), (-2, 2)),
    ("log", lambda m, x: m.log(x), (0.5, 3)),
    ("log1p", lambda m, x: m.log1p(x), (-0.5, 2)),
    ("log2", lambda m, x: m.log2(x), (0.5, 3)),
    ("log10", lambda m, x: m.log10(x), (0.5, 3)),
    ("sqrt", lambda m, x: m.sqrt(x), (0.5, 3)),
    ("rsqrt", lambda m, x: m.rsqrt(x), (0.5, 3)),
    ("sin", lambda m, x: m.sin(x), (-3, 3)),
    ("cos", lambda m, x: m.cos(x), (-3, 3)),
    ("tan", lambda m, x: m.tan(x), (-1.2, 1.2)),
    ("asin", lambda m, x: m.asin(x), (-0.9, 0.9)),
    ("acos", lambda m, x: m.acos(x), (-0.9, 0.9)),
    ("atan", lambda m, x: m.atan(x), (-3, 3)),
    ("sinh", lambda m, x: m.sinh(x), (-2, 2)),
    ("cosh", lambda m, x: m.cosh(x), (-2, 2)),
    ("tanh", lambda m, x: m.tanh(x), (-2, 2)),
    ("asinh", lambda m, x: m.asinh(x), (-3, 3)),
    ("acosh", lambda m, x: m.acosh(x), (1.2, 3)),
    ("atanh", lambda m, x: m.atanh(x), (-0.9, 0.9)),
    ("sigmoid", lambda m, x: m.sigmoid(x), (-3, 3)),
    ("erf", lambda m, x: m.erf(x), (-2, 2)),
    ("gelu", lambda m, x: F(m).gelu(x), (-3, 3)),
    ("silu", lambda m, x: F(m).silu(x), (-3, 3)),
    ("softplus", lambda m, x: F(m).softplus(x), (-3, 3)),
    ("reciprocal", lambda m, x: m.reciprocal(x), (0.5, 3)),
    ("neg", lambda m, x: -x, (-2, 2)),
    ("square", lambda m, x: m.square(x), (-2, 2)),
    ("relu", lambda m, x: m.relu(x), (-2, 2)),
    ("abs", lambda m, x: m.abs(x), (-2, 2)),
    ("sign", lambda m, x: m.sign(x), (-2, 2)),
    ("floor", lambda m, x: m.floor(x), (0.1, 0.9)),
    ("ceil", lambda m, x: m.ceil(x), (0.1, 0.9)),
    ("round", lambda m, x: m.round(x), (0.1, 0.4)),
    ("trunc", lambda m, x: m.trunc(x), (0.1, 0.9)),
    ("conj", lambda m, x: m.conj(x) * 1, (-2, 2)),
    ("real", lambda m, x: m.real(x) * 1, (-2, 2)),
]
ROWS = [Row(n, f, [((2, 3),), ((4,),), ((),)], domain=d, gg=True) for n, f, d in UNARY]

BINARY = [
    ("add", lambda m, x, y: m.add(x, y, alpha=2), (-2, 2), (-2, 2)),
    ("sub", lambda m, x, y: m.sub(x, y, alpha=0.5), (-2, 2), (-2, 2)),
    ("mul", lambda m, x, y: x * y, (-2, 2), (-2, 2)),
    ("div", lambda m, x, y: x / y, (-2, 2), (0.5, 2)),
    ("pow", lambda m, x, y: m.pow(x, y), (0.5, 2), (-1.5, 1.5)),
    ("atan2", lambda m, x, y: m.atan2(x, y), (-2, 2), (0.5, 2)),
    ("maximum", lambda m, x, y: m.maximum(x, y), (-2, 2), (-2, 2)),
    ("minimum", lambda m, x, y: m.minimum(x, y), (-2, 2), (-2, 2)),
    ("remainder", lambda m, x, y: m.remainder(x, y), (0.1, 0.9), (1.5, 2)),
    ("logaddexp", lambda m, x, y: m.logaddexp(x, y), (-2, 2), (-2, 2)),
    ("hypot", lambda m, x, y: m.hypot(x, y), (0.5, 2), (-2, -0.5)),
    ("copysign", lambda m, x, y: m.copysign(x, y), (0.5, 2), (-2, 2)),
    ("_relu_backward", lambda m, g, r: m.ops._relu_backward(g, r) if m is jt else
     torch.ops.aten.threshold_backward(g, r, 0), (-2, 2), (-2, 2)),
]

# special functions (julia/src/ops/special.jl); first derivatives only (PyTorch's trigamma, used in its
# second derivatives of lgamma/digamma, is accurate to ~1e-8). torch_ok=False: PyTorch has no derivative.
SPECIAL_UNARY = [
    ("erfc", lambda m, x: m.erfc(x), (-2, 2), True),
    ("erfinv", lambda m, x: m.erfinv(x), (-0.9, 0.9), True),
    ("lgamma", lambda m, x: m.lgamma(x), (0.5, 3), True),
    ("digamma", lambda m, x: m.digamma(x), (0.5, 3), True),
    ("polygamma", lambda m, x: m.polygamma(2, x), (0.5, 3), True),
    ("mvlgamma", lambda m, x: m.mvlgamma(x, 3), (1.5, 4), True),
    ("i0", lambda m, x: m.i0(x), (-3, 3), True),
    ("sinc", lambda m, x: m.sinc(x), (0.2, 2), True),
    ("exp2", lambda m, x: m.exp2(x), (-2, 2), True),
    ("deg2rad", lambda m, x: m.deg2rad(x), (-2, 2), True),
    ("rad2deg", lambda m, x: m.rad2deg(x), (-2, 2), True),
    ("frac", lambda m, x: m.frac(x), (0.1, 0.9), True),
    ("sgn", lambda m, x: m.sgn(x), (0.1, 0.9), True),
    ("logit", lambda m, x: m.logit(x) + m.logit(x, eps=0.3), (0.05, 0.95), True),
    ("frexp", lambda m, x: m.frexp(x).mantissa, (0.6, 0.9), True),
    ("special.entr", lambda m, x: m.special.entr(x), (0.1, 2), True),
    ("special.erfcx", lambda m, x: m.special.erfcx(x), (-2, 2), True),
    ("special.i0e", lambda m, x: m.special.i0e(x), (-3, 3), True),
    ("special.i1", lambda m, x: m.special.i1(x), (-3, 3), True),
    ("special.i1e", lambda m, x: m.special.i1e(x), (-3, 3), True),
    ("special.ndtr", lambda m, x: m.special.ndtr(x), (-3, 3), True),
    ("special.ndtri", lambda m, x: m.special.ndtri(x), (0.05, 0.95), True),
    ("special.log_ndtr", lambda m, x: m.special.log_ndtr(x), (-3, 3), True),
    ("special.bessel_j0", lambda m, x: m.special.bessel_j0(x), (-5, 5), False),
    ("special.bessel_j1", lambda m, x: m.special.bessel_j1(x), (-5, 5), False),
    ("angle", lambda m, x: m.angle(x), (-2, 2), True),     # zero for real inputs, as torch
]
ROWS += [Row(n, f, [((2, 3),), ((4,),), ((),)], domain=d, torch_ok=ok) for n, f, d, ok in SPECIAL_UNARY]
BINARY += [
    ("fmod", lambda m, x, y: m.fmod(x, y), (0.1, 0.9), (1.5, 2)),
    ("xlogy", lambda m, x, y: m.xlogy(x, y), (-2, 2), (0.5, 2)),
    ("ldexp", lambda m, x, y: m.ldexp(x, y), (-2, 2), (-1, 1)),
    ("fmax", lambda m, x, y: m.fmax(x, y), (-2, 2), (-2, 2)),
    ("fmin", lambda m, x, y: m.fmin(x, y), (-2, 2), (-2, 2)),
    ("logaddexp2", lambda m, x, y: m.logaddexp2(x, y), (-2, 2), (-2, 2)),
    ("special.xlog1py", lambda m, x, y: m.special.xlog1py(x, y), (-2, 2), (-0.5, 2)),
]
_A = C([[0.5, 1.5, 3.0], [2.0, 0.8, 5.0]], dtype=np.float64)
ROWS += [
    Row("igamma", lambda m, a, x: m.igamma(a, x), [(_A, (2, 3))], domain=(0.5, 4)),
    Row("igammac", lambda m, a, x: m.igammac(a, x), [(_A, (2, 3))], domain=(0.5, 4)),
    Row("special.zeta", lambda m, s, q: m.special.zeta(s + 1.5, q), [(_A, (2, 3))], domain=(0.5, 4)),
]


def _binary_row(name, f, dx, dy):
    # the two operands take their own domain: fn maps [0, 1) samples into them
    lo1, hi1 = dx
    lo2, hi2 = dy

    def fn(m, x, y):
        return f(m, lo1 + (hi1 - lo1) * x, lo2 + (hi2 - lo2) * y)
    return Row(name, fn, [((2, 3), (2, 3)), BCAST, ((2, 3), ()), ((), (3,))], domain=(0.0, 1.0), gg=True)


ROWS += [_binary_row(*b) for b in BINARY]
ROWS += [
    Row("pow_scalar_exponent", lambda m, x: m.pow(x, 3) + x ** 2 + x ** 0.5, [((2, 3),)], domain=(0.5, 2), gg=True),
    Row("pow_scalar_base", lambda m, x: 2.0 ** x, [((2, 3),)], gg=True),
    Row("lerp", lambda m, a, b, w: m.lerp(a, b, w), [((2, 3), (2, 3), (2, 3)), ((3, 1), (4,), (3, 4))], gg=True),
    Row("lerp_scalar_weight", lambda m, a, b: m.lerp(a, b, 0.3), [((2, 3), (2, 3))], gg=True),
    Row("where", lambda m, c, x, y: m.where(c, x, y),
        [(C([[True, False, True], [False, False, True]]), (2, 3), (2, 3)), (C([True, False, True, False]), (3, 1), (4,))],
        gg=True),
    Row("clamp", lambda m, x, lo, hi: m.clamp(x, lo - 1, hi + 1), [((2, 3), (2, 3), (2, 3)), ((3, 4), (4,), (3, 1))],
        domain=(-1.5, 1.5), gg=True),
    Row("clamp_scalar", lambda m, x: m.clamp(x, -0.5, 0.7) + m.clamp(x, min=0.1) + m.clamp(x, max=-0.2),
        [((3, 4),)], gg=True),
    Row("masked_fill", lambda m, x, mask, v: m.masked_fill(x, mask, v * 1),
        [((2, 3), C([[True, False, True], [False, False, True]]), ()), ((3, 4), C([True, False, False, True]), ())],
        gg=True),
    Row("masked_fill_scalar", lambda m, x, mask: x.masked_fill(mask, 2.0), [((2, 3), C([False, True, True]))], gg=True),
    Row("floor_divide", lambda m, x, y: (m.floor_divide(x, y + 3) + m.floor_divide(2.5, y + 3)) + x * y,
        [((2, 3), (2, 3))], domain=(0.1, 0.9), tfn=lambda m, x, y: x * y),
]

# ---- reductions and scans
ROWS += [
    Row("sum", lambda m, x: (m.sum(x), m.sum(x, 1), m.sum(x, (0, 2), keepdim=True), x.sum(-1)),
        [((2, 3, 4),)], gg=True),
    Row("mean", lambda m, x: (m.mean(x), m.mean(x, 1), m.mean(x, (0, 2), keepdim=True)), [((2, 3, 4),)], gg=True),
    Row("prod", lambda m, x: (m.prod(x), m.prod(x, -1), m.prod(x, 0, keepdim=True)), [((3, 4),), ((5,),)],
        domain=(0.5, 1.5), gg=True),
    Row("prod_with_zeros", lambda m, x: (m.prod(x), m.prod(x, 1), m.prod(x, 0)),
        [(V([[0.0, 2.0, 3.0], [1.5, 0.0, 0.0], [0.5, 2.0, 1.2]]),)], gg=True),
    Row("amax_amin", lambda m, x: (m.amax(x), m.amax(x, 1), m.amin(x, (0, 1)), m.amin(x, 0, keepdim=True)),
        [((3, 4),), (V([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]),)], gg=True),
    Row("max_min", lambda m, x: (m.max(x), m.min(x), m.max(x, 1)[0], m.min(x, 0, keepdim=True).values,
                                 x.max(dim=-1).values),
        [((3, 4),), (V([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]),)], gg=True),
    Row("var", lambda m, x: (m.var(x), m.var(x, 1), m.var(x, (0, 1), correction=0, keepdim=True), m.var(x, 0)),
        [((3, 4),)], gg=True),
    Row("std", lambda m, x: (m.std(x), m.std(x, 1, correction=0), m.std(x, 0, keepdim=True)), [((3, 4),)], gg=True),
    Row("norm", lambda m, x: (m.norm(x), m.norm(x, 1, 1), m.norm(x, float("inf"), 0), m.norm(x, 3, (0, 1)),
                              m.norm(x, 0.5, 1, keepdim=True), m.norm(x, 1.5, 0), m.norm(x, -math.inf, 1)),
        [((3, 4),)], gg=True),
    Row("logsumexp", lambda m, x: (m.logsumexp(x, 1), m.logsumexp(x, (0, 1)), m.logsumexp(x, 0, keepdim=True)),
        [((3, 4),)], gg=True),
    Row("cumsum", lambda m, x: (m.cumsum(x, 0), m.cumsum(x, -1)), [((3, 4),), ((5,),)], gg=True),
    Row("cumprod", lambda m, x: (m.cumprod(x, 0), m.cumprod(x, 1)), [((3, 4),)], domain=(0.5, 1.5), gg=True),
    Row("cumprod_with_zeros", lambda m, x: m.cumprod(x, 1),
        [(V([[1.5, 0.0, 2.0, 3.0], [0.0, 2.0, 0.0, 1.5], [0.5, 2.0, 1.2, 0.0]]),)], gg=True),
    Row("sort", lambda m, x: (m.sort(x, 1), m.sort(x, 0, descending=True)[0]), [((3, 4),)], gg=True),
    Row("topk", lambda m, x: (m.topk(x, 2), m.topk(x, 2, 0, largest=False)[0]), [((3, 4),)], gg=True),
]

# ---- shape ops, gathers and scatters
IDX = C([[0, 2, 1, 0], [2, 1, 0, 1]], dtype=np.int64)
PERM = C([[1, 0, 2, 3], [2, 1, 0, 0], [0, 2, 1, 2]], dtype=np.int64)
ROWS += [
    Row("cat", lambda m, a, b, c: (m.cat([a, b, c], 0), m.cat([a, b], -1)), [((2, 3), (2, 3), (1, 3))], gg=True),
    Row("stack", lambda m, a, b: (m.stack([a, b]), m.stack([a, b], -1)), [((2, 3), (2, 3))], gg=True),
    Row("hstack_vstack", lambda m, a, b, c: (m.hstack([a, b]), m.vstack([a, b, c]), m.hstack([c, c])),
        [((3,), (3,), (2, 3))]),
    Row("hstack_2d", lambda m, a, b: m.hstack([a, b]), [((2, 3), (2, 1))]),
    Row("flip", lambda m, x: (m.flip(x, (0, 1)), m.flip(x, (-1,)), m.fliplr(x), m.flipud(x)), [((3, 4),)], gg=True),
    Row("roll", lambda m, x: (m.roll(x, 1), m.roll(x, (1, -2), (0, 1)), m.roll(x, 2, 1)), [((3, 4),)]),
    Row("repeat", lambda m, x: (x.repeat(2, 1, 3), x.repeat(2, 2)), [((2, 3),)]),
    Row("tile", lambda m, x: (m.tile(x, (2,)), m.tile(x, (3, 1, 2))), [((2, 3),)]),
    Row("pad_constant", lambda m, x: (F(m).pad(x, (1, 2)), F(m).pad(x, (1, 0, 2, 1), value=3.0),
                                      F(m).pad(x, (-1, 1, 0, -1))), [((3, 4),)], gg=True),
    Row("pad_reflect", lambda m, x: (F(m).pad(x, (2, 1, 1, 2), mode="reflect"),
                                     F(m).pad(x, (2, 1, 1, 2), mode="replicate"),
                                     F(m).pad(x, (3, 1, 1, 2), mode="circular")), [((1, 3, 4),)], gg=True),
    Row("tril_triu", lambda m, x: (m.tril(x), m.triu(x, 1), m.tril(x, -1), x.triu(-1)), [((3, 4),), ((2, 3, 3),)]),
    Row("diag", lambda m, x: (m.diag(x), m.diag(x, 1), m.diag(x, -2)), [((3, 4),), ((3,),), ((4, 2),)]),
    Row("diag_embed", lambda m, x: (m.diag_embed(x), m.diag_embed(x, 1), m.diag_embed(x, -1, 0, 2)), [((2, 3),)]),
    Row("gather", lambda m, x, i: (m.gather(x, 0, i), m.gather(x, 1, i)), [((3, 4), IDX)], gg=True),
    Row("scatter", lambda m, x, i, s: m.scatter(x, 1, i, s),
        [((3, 4), C([[1, 3], [0, 2], [3, 0]], dtype=np.int64), (3, 2))], gg=True),
    Row("scatter_src_larger", lambda m, x, i, s: (m.scatter(x, 1, i, s), m.scatter_add(x, 0, i.remainder(3), s)),
        [((3, 4), C([[1, 3], [0, 2]], dtype=np.int64), (3, 3)), ((3, 4), C([[1, 2], [0, 1]], dtype=np.int64), (3, 3))],
        torch_ok=False),   # torch refuses this backward
    Row("scatter_value", lambda m, x, i: m.scatter(x, 0, i, value=1.5), [((3, 4), C([[0, 2, 1, 0]], dtype=np.int64))]),
    Row("scatter_add", lambda m, x, i, s: m.scatter_add(x, 0, i, s), [((3, 4), IDX, (2, 4))], gg=True),
    Row("scatter_reduce_add", lambda m, x, i, s: m.scatter(x, 0, i, s, reduce="add"), [((3, 4), IDX, (2, 4))],
        tfn=lambda m, x, i, s: m.scatter_add(x, 0, i, s)),
    Row("scatter_reduce", lambda m, x, i, s: tuple(m.scatter_reduce(x, 0, i, s, r, include_self=inc)
                                                    for r in ("sum", "prod", "mean", "amax", "amin")
                                                    for inc in (True, False)),
        [((3, 4), IDX, (2, 4))], domain=(0.5, 2.0)),
    Row("scatter_reduce_", lambda m, x, i, s: (x * 1).scatter_reduce_(0, i, s, "amin"),
        [((3, 4), IDX, (2, 4))], domain=(0.5, 2.0)),
    Row("scatter_inplace", lambda m, x, i, s: (x * 1).scatter_(1, i, s),
        [((3, 4), C([[1, 3], [0, 2], [3, 0]], dtype=np.int64), (3, 2))]),
    Row("scatter_add_inplace", lambda m, x, i, s: (x * 2).scatter_add_(0, i, s), [((3, 4), IDX, (2, 4))]),
    Row("index_select", lambda m, x, i: (m.index_select(x, 0, i), m.index_select(x, 1, i)),
        [((3, 4), C([2, 0, 2], dtype=np.int64))], gg=True),
    Row("take", lambda m, x, i: m.take(x, i), [((3, 4), C([[0, -1, 5], [5, 11, 3]], dtype=np.int64))]),
    Row("take_along_dim", lambda m, x, i, j, k: (m.take_along_dim(x, i, 1), m.take_along_dim(x, j),
                                                 m.take_along_dim(x, k, 0)),
        [((3, 4), PERM, C([3, 0, 11, 3], dtype=np.int64), C([[2, 0, 2, 1]], dtype=np.int64))],
        tfn=lambda m, x, i, j, k: (m.take_along_dim(x, i, 1), m.take_along_dim(x.reshape(-1), j),
                                   m.take_along_dim(x, k, 0))),   # torch's dim=None form needs a contiguous x
    Row("masked_select", lambda m, x, mask: (m.masked_select(x, mask), m.masked_select(x, mask[0])),
        [((3, 4), C([[True, False, True, True], [False] * 4, [True, True, False, True]]))]),
    Row("advanced_indexing", lambda m, x, i: (x[i], x[:, [0, 3, 0]], x[x.detach() > 0], x.mT[[1, 1, 2]],
                                              x[1:, i[:2]], x[i, 1:3], x[1].expand(3, 4)[[0, 2, 2]]),
        [((3, 4), C([2, 0, 2, 1], dtype=np.int64))]),
    Row("views", lambda m, x: (x.mT, x[::2], x[:, 1], x.reshape(4, 3), x.unsqueeze(1).expand(3, 2, 4),
                               x.diagonal(), x.permute(1, 0).flatten(), x.T[1:3].unbind(1)[0]), [((3, 4),)], gg=True),
    Row("clone_cast", lambda m, x: (x.clone(), x.to(m.float32).to(m.float64), x.contiguous()), [((3, 4),)], gg=True,
        gc=False),   # float32 rounding defeats finite differences
    Row("_cast", lambda m, x: jt.ops._cast(x, jt.float64), [((3, 4),)], gg=True, tfn=lambda m, x: x.to(m.float64) * 1),
    Row("fill_copy_inplace", lambda m, x, y: ((x * 1).fill_(2.0) * x, (x * 1).copy_(y) * x),
        [((3, 4), (3, 4))]),
    Row("inplace_chain", lambda m, x, y: (x * 2).add_(y).mul_(y).sub_(x), [((3, 4), (3, 4))]),
]

# ---- products and linear algebra
SYM = lambda m, a: (a + a.mT) / 2       # noqa: E731  (eigh reads one triangle: differentiate a symmetric input)
PD = lambda m, a: a @ a.mT + 3 * eye(m, a.shape[-1])   # noqa: E731
ROWS += [
    Row("matmul", lambda m, a, b: a @ b,
        [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)), ((2, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 2))],
        gg=True),
    Row("linalg_matmul", lambda m, a, b: m.linalg.matmul(a, b), [((2, 3), (2, 3, 4))], gg=True),
    Row("mm_bmm", lambda m, a, b, c, d: (m.mm(a, b), m.bmm(c, d)), [((2, 3), (3, 4), (2, 2, 3), (2, 3, 2))], gg=True),
    Row("dot_outer", lambda m, a, b: (m.dot(a, b), m.outer(a, b), m.linalg.outer(a, b)), [((3,), (3,))], gg=True,
        tfn=lambda m, a, b: (m.dot(a, b), m.outer(a, b), m.outer(a, b))),
    Row("einsum", lambda m, a, b: (m.einsum("ij,jk->ik", a, b), m.einsum("ij,jk", a, b), m.einsum("ij->j", a),
                                   m.einsum("ij,kj->ikj", a, b.mT), m.einsum("ij->", a)), [((2, 3), (3, 4))], gg=True),
    Row("einsum_diag", lambda m, a, v: (m.einsum("ii->i", a), m.einsum("ii", a), m.einsum("ii,i->i", a, v),
                                        m.einsum("bii->b", a.unsqueeze(0).expand(2, 3, 3)), m.einsum("i,j->ij", v, v)),
        [((3, 3), (3,))], gg=True),
    Row("einsum_ellipsis", lambda m, a, b: (m.einsum("...ij,...jk->...ik", a, b), m.einsum("b...,b...->...", b, b),
                                            m.einsum("...i->...", a)), [((2, 1, 2, 3), (3, 3, 2))], gg=True),
    Row("tensordot", lambda m, a, b: (m.tensordot(a, b, 2), m.tensordot(a, b.permute(1, 0, 2), ([1, 2], [1, 0])),
                                      m.tensordot(a, b, 0)), [((2, 3, 4), (3, 4, 2))]),
    Row("linalg_tensordot", lambda m, a, b: m.linalg.tensordot(a, b, axes=1), [((2, 3), (3, 4))],
        tfn=lambda m, a, b: m.tensordot(a, b, 1)),
    Row("kron", lambda m, a, b: (m.kron(a, b), m.kron(b, a)), [((2, 3), (3, 2)), ((2,), (2, 3))]),
    Row("cross", lambda m, a, b: (m.cross(a, b, -1), m.linalg.cross(a, b), m.cross(a.mT, b.mT, 0)),
        [((4, 3), (4, 3))], tfn=lambda m, a, b: (m.linalg.cross(a, b), m.linalg.cross(a, b), m.linalg.cross(a.mT, b.mT, dim=0))),
    Row("cross_broadcast", lambda m, a, b: m.linalg.cross(a, b), [((4, 3), (1, 3)), ((2, 1, 3), (1, 4, 3))]),
    Row("vecdot", lambda m, a, b: (m.vecdot(a, b), m.linalg.vecdot(a, b, dim=0)), [((3, 4), (3, 4)), ((3, 4), (4,))],
        tfn=lambda m, a, b: (m.linalg.vecdot(a, b), m.linalg.vecdot(a.broadcast_to((3, 4)), b.broadcast_to((3, 4)), dim=0))),
    Row("trace", lambda m, a: (m.trace(a), m.linalg.trace(a.unsqueeze(0)), m.linalg.trace(a, offset=1)),
        [((3, 4),), ((3, 3),)], gg=True,
        tfn=lambda m, a: (m.trace(a), m.diagonal(a, 0).sum(-1, keepdim=True), m.diagonal(a, 1).sum())),
    Row("linalg_diagonal", lambda m, a: (m.linalg.diagonal(a), m.linalg.diagonal(a, offset=1, dim1=0, dim2=2)),
        [((2, 3, 4),)]),
    Row("matrix_power", lambda m, a: (m.matrix_power(a, 3), m.linalg.matrix_power(a, 1), m.matrix_power(a, 0) * a,
                                      m.linalg.matrix_power(a + 3 * eye(m, 3), -2)), [((3, 3),), ((2, 3, 3),)],
        tol=(1e-7, 1e-8)),
    Row("multi_dot", lambda m, a, b, c, v: (m.linalg.multi_dot([a, b, c]), m.linalg.multi_dot([v, a, b, v[:2]])),
        [((3, 4), (4, 2), (2, 5), (3,))]),
    Row("inv", lambda m, a: (m.linalg.inv(a + 3 * eye(m, 3)), m.inverse(a + 3 * eye(m, 3))), [((3, 3),), ((2, 3, 3),)],
        gg=True),
    Row("det", lambda m, a: (m.linalg.det(a), m.det(a)), [((3, 3),), ((2, 3, 3),)], gg=True),
    # rank n - 1: the gradient is the cofactor matrix (torch gives zeros there; finite differences agree)
    Row("det_singular", lambda m, a: m.linalg.det(a), [(V([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]]),)],
        torch_ok=False),
    Row("slogdet_logdet", lambda m, a: (m.linalg.slogdet(a + 3 * eye(m, 3)), m.slogdet(a - 3 * eye(m, 3))[1],
                                        m.logdet(a + 3 * eye(m, 3))), [((3, 3),), ((2, 3, 3),)], gg=True),
    Row("solve", lambda m, a, b, v: (m.linalg.solve(a + 3 * eye(m, 3), b), m.linalg.solve(a + 3 * eye(m, 3), v),
                                     m.linalg.solve(a + 3 * eye(m, 3), b.mT, left=False)),
        [((3, 3), (3, 2), (3,)), ((2, 3, 3), (3, 4), (2, 3))], gg=True),
    Row("cholesky", lambda m, a: (m.linalg.cholesky(PD(m, a)), m.linalg.cholesky(PD(m, a), upper=True)),
        [((3, 3),), ((2, 3, 3),)], gg=True),
    Row("cholesky_ex", lambda m, a: m.linalg.cholesky_ex(PD(m, a), upper=True)[0], [((2, 3, 3),)]),
    Row("solve_triangular", lambda m, a, b: (
        m.linalg.solve_triangular(a + 3 * eye(m, 3), b, upper=True),
        m.linalg.solve_triangular(a + 3 * eye(m, 3), b.mT, upper=False, left=False),
        m.linalg.solve_triangular(a, b, upper=False, unitriangular=True)),
        [((3, 3), (3, 2)), ((2, 1, 3, 3), (4, 3, 2))], gg=True),
    Row("householder_product", lambda m, a, t: m.linalg.householder_product(a, t),
        [((4, 3), (2,)), ((2, 3, 3), (2, 3))]),
    Row("lu_factor", lambda m, a: m.linalg.lu_factor(a)[0], [((3, 3),), ((2, 4, 2),), ((2, 4),)], gg=True),
    Row("lu", lambda m, a: m.linalg.lu(a)[1:], [((3, 3),), ((4, 2),), ((2, 2, 4),)]),
    Row("lu_solve", lambda m, a, b: tuple(
        m.linalg.lu_solve(*m.linalg.lu_factor(a + 3 * eye(m, 3)), bb, left=left, adjoint=adj)
        for left, bb in ((True, b), (False, b.mT)) for adj in (False, True)), [((3, 3), (3, 2)), ((2, 3, 3), (3, 4))]),
    Row("cholesky_solve", lambda m, a, b: (m.cholesky_solve(b, m.linalg.cholesky(PD(m, a))),
                                           m.cholesky_solve(b, m.linalg.cholesky(PD(m, a)).mT, upper=True)),
        [((3, 3), (3, 2)), ((2, 3, 3), (3, 1))]),
    Row("qr", lambda m, a: tuple(t * t for t in m.linalg.qr(a)), [((4, 3),), ((3, 3),), ((2, 4),)],
        tol=(1e-6, 1e-8)),
    Row("svd", lambda m, a: tuple(t * t if t.ndim > 1 else t for t in m.linalg.svd(a, full_matrices=False)),
        [((4, 3),), ((3, 5),), ((3, 3),)], tol=(1e-6, 1e-8)),
    Row("svd_full", lambda m, a: (lambda U, S, Vh: (U[:, :3] ** 2, S, Vh[:3] ** 2))(*m.linalg.svd(a)),
        [((4, 3),)], gc=False, tol=(1e-6, 1e-8)),
    Row("svdvals", lambda m, a: m.linalg.svdvals(a), [((4, 3),), ((2, 3, 5),)], gg=True),
    Row("eigh", lambda m, a: (lambda w, v: (w, v * v))(*m.linalg.eigh(SYM(m, a))), [((3, 3),), ((2, 4, 4),)],
        tol=(1e-6, 1e-8)),
    Row("eigvalsh", lambda m, a: (m.linalg.eigvalsh(SYM(m, a)), m.linalg.eigvalsh(SYM(m, a), "U")), [((3, 3),)],
        gg=True),
    Row("pinv", lambda m, a: m.linalg.pinv(a), [((3, 4),), ((4, 3),)], tol=(1e-6, 1e-8)),
    Row("vector_norm", lambda m, x: tuple(m.linalg.vector_norm(x, o) for o in (2, 1, math.inf, -math.inf, 3, 0.5))
        + (m.linalg.vector_norm(x, 2, 1), m.linalg.vector_norm(x, 1, (0, 1), keepdim=True)), [((3, 4),)], gg=True),
    Row("matrix_norm", lambda m, a: tuple(m.linalg.matrix_norm(a, o) for o in ("fro", "nuc", 2, -2, 1, -1, math.inf,
                                                                                  -math.inf))
        + (m.linalg.matrix_norm(a, "fro", (0, 1), keepdim=True), m.linalg.norm(a), m.linalg.norm(a, dim=1),
           m.linalg.norm(a[0], 1), m.linalg.matrix_norm(a, 1, (-1, -2))), [((3, 4),), ((2, 3, 3),)],
        tol=(1e-6, 1e-8)),
    Row("cond", lambda m, a: tuple(m.linalg.cond(a + 3 * eye(m, 3), p) for p in (None, -2, "nuc")),
        [((3, 3),)], tol=(1e-6, 1e-8)),
    Row("cond_rectangular", lambda m, a: (m.linalg.cond(a), m.linalg.cond(a, -2)), [((2, 3, 4),)], tol=(1e-6, 1e-8)),
    # torch's own backward fails for these orders (an in-place write in its cond): finite differences only
    Row("cond_norms", lambda m, a: tuple(m.linalg.cond(a + 3 * eye(m, 3), p) for p in ("fro", 1, -1, math.inf, -math.inf)),
        [((3, 3),)], torch_ok=False),
    Row("matrix_transpose", lambda m, a: m.linalg.matrix_transpose(a), [((2, 3, 4),)], tfn=lambda m, a: a.mT * 1),
]

# ---- PyTorch functions composed of registry ops (python/jtensor/composites.py, statistics.py)
DISTINCT = V(np.array([[0.3, -1.2, 2.0, 0.7], [1.5, -0.4, -2.2, 0.1], [-0.9, 1.1, 0.5, -1.7]]))   # no ties
WITH_NAN = V(np.array([[0.3, np.nan, 2.0, 0.7], [1.5, -0.4, -2.2, 0.1], [np.nan, np.nan, np.nan, -1.7]]))
ROWS += [
    Row("addmm_family", lambda m, i, a, b, c, d, v: (m.addmm(i, a, b), m.addmm(i, a, b, beta=0.5, alpha=2.0),
                                                     m.baddbmm(i, c, d, alpha=-1.0), m.addmv(v, a, v, beta=3.0),
                                                     m.mv(a, v), m.inner(a, b.mT), m.inner(v, v)),
        [((3,), (3, 3), (3, 3), (2, 3, 3), (2, 3, 3), (3,))], gg=True),
    Row("addcmul_addcdiv", lambda m, x, a, b: (m.addcmul(x, a, b, value=0.5), m.addcdiv(x, a, b + 3, value=-2.0),
                                               (x * 1).addcmul_(a, b), (x * 1).addcdiv_(a, b + 3, value=2)),
        [((3, 4), (3, 1), (4,))], gg=True),
    Row("median", lambda m, x: (m.median(x), m.median(x, 1).values, x.median(0, keepdim=True)[0],
                                m.nanmedian(x, 1).values), [(DISTINCT,)]),
    Row("nanmedian", lambda m, x: (m.nanmedian(x), m.nanmedian(x, 1).values, m.nanmedian(x, 0).values),
        [(WITH_NAN,)], nc=False),
    Row("quantile", lambda m, x, q: tuple(m.quantile(x, q, 1, interpolation=i) for i in
                                          ("linear", "lower", "higher", "midpoint", "nearest"))
        + (m.quantile(x, 0.3), x.nanquantile(0.7, 0, keepdim=True)),
        [(DISTINCT, C([0.1, 0.5, 0.75]))]),
    Row("nanquantile", lambda m, x: (m.nanquantile(x, 0.4, 1), m.nanquantile(x, 0.5)), [(WITH_NAN,)], nc=False),
    Row("nansum_nanmean", lambda m, x: (m.nansum(x), m.nansum(x, 1), m.nanmean(x, 0), x.nanmean()),
        [(WITH_NAN,), ((3, 4),)], nc=False),
    Row("var_std_unbiased", lambda m, x: (m.var(x, 1, False), x.std(0, True, True), m.var(x, unbiased=False),
                                          *m.var_mean(x, 1), *m.std_mean(x, (0, 1), correction=0)), [((3, 4),)],
        gg=True),
    Row("cdist", lambda m, a, b: tuple(m.cdist(a, b, p) for p in (2.0, 1.0, 3.0, math.inf)),
        [((4, 3), (5, 3)), ((2, 3, 2), (1, 4, 2))]),
    Row("cdist_mm", lambda m, a, b: m.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [((4, 3), (5, 3))]),
    Row("diff", lambda m, x, p: (m.diff(x), m.diff(x, 2, 0), m.diff(x, dim=0, prepend=p), x.diff(3, append=x)),
        [((3, 4), (1, 4))], gg=True),
    Row("repeat_interleave", lambda m, x: (m.repeat_interleave(x, 2), x.repeat_interleave(m.tensor([1, 0, 2]), 0),
                                           m.repeat_interleave(x, 3, 1)), [((3, 2),)]),
    Row("nan_to_num", lambda m, x: (m.nan_to_num(x), m.nan_to_num(x, 1.0, 2.0, -2.0)),
        [(V([[0.5, np.nan, np.inf], [-np.inf, 1.5, -0.3]]),)], gc=False, nc=False),
    Row("index_updates", lambda m, x, s, i: (m.index_add(x, 0, i, s), x.index_add(0, i, s, alpha=2.0),
                                             m.index_copy(x, 0, i[:2], s[:2]), m.index_fill(x, 1, i, -1.0),
                                             (x * 1).index_add_(0, i, s), (x * 1).index_copy_(0, i[1:], s[1:]),
                                             (x * 1).index_fill_(0, i[:1], 2.0)),
        [((3, 4), (3, 4), C([2, 0, 2], dtype=np.int64))], tol=(1e-7, 1e-9)),
    Row("masked_scatter", lambda m, x, s, mask: (x.masked_scatter(mask, s), (x * 1).masked_scatter_(mask[0], s),
                                                 m.masked_scatter(x, mask, s)),
        [((3, 4), (4, 5), C([[True, False, True, True], [False] * 4, [True, True, False, True]]))]),
    Row("lstsq", lambda m, a, b, v: (m.linalg.lstsq(a, b).solution, m.linalg.lstsq(a, v, driver="gelsd").solution,
                                     m.linalg.lstsq(a, b, driver="gels").residuals), [((5, 3), (5, 2), (5,))],
        tol=(1e-6, 1e-8)),
    Row("tril_triu_inplace", lambda m, x: ((x * 1).tril_(), (x * 2).triu_(1)), [((3, 4),)]),
    Row("sum_to_size_views", lambda m, x: (x.sum_to_size(1, 4), x.sum_to_size(3, 1), m.flatten(x, 0),
                                           m.transpose(x, 0, 1), m.movedim(x, 0, 1), m.narrow(x, 1, 1, 2),
                                           m.diagonal(x, 1), m.chunk(x, 2, 1)[1], m.unbind(x)[2],
                                           *m.broadcast_tensors(x, x[:1]), *m.meshgrid(x[0], x[1], indexing="xy"),
                                           m.atleast_3d(x), x.type_as(x)),
        [((3, 4),)], gg=True),
]

# ---- the API surface composed in python/jtensor/tensor_api.py, order_stats.py, matrix_builders.py, rebind.py
SQ = V(np.array([[0.3, -0.5, 0.2], [0.1, 0.4, -0.3], [-0.2, 0.6, 0.1]]))
ROWS += [
    Row("scatter_embeddings", lambda m, x, r, c, d: (m.select_scatter(x, r, 0, 1), m.slice_scatter(x, c, 1, 0, 4, 2),
                                                     m.diagonal_scatter(x, d, 1)),
        [((3, 4), (4,), (3, 2), (3,))], gg=True),
    Row("inplace_views", lambda m, x: ((x * 1).unsqueeze_(0).transpose_(0, 2).squeeze_(2), (x * 2).t_(),
                                       (x + 1).swapdims_(0, 1)), [((3, 4),)], gg=True),
    Row("aliases_clamps", lambda m, x, y: (x.arcsinh(), m.subtract(x, y), x.multiply(y), x.divide(y + 3), x.negative(),
                                           m.clip(x, -0.5, 0.5), x.clamp_min(0.1), m.clamp_max(x, 0.2), x.fix() * x,
                                           (x * 1).clamp_min_(0.0), m.exp_(x * 1)),
        [((3, 4), (4,))], gg=True),
    Row("function_forms", lambda m, x: (m.clone(x), m.t(x), m.ravel(x), m.broadcast_to(x[0], (2, 4)), m.select(x, 1, 2),
                                        x.where(x > 0, -x), m.adjoint(x), x.H, m.positive(x)), [((3, 4),)], gg=True),
    Row("splits_stacks", lambda m, x: (*m.hsplit(x, 2), *m.vsplit(x[:2], [1]), *m.split_with_sizes(x, [1, 2]),
                                       m.dstack([x, x]), m.column_stack([x[0], x[1]]), m.row_stack([x, x])),
        [((3, 4),)], gg=True),
    Row("cum_extremes", lambda m, x: (m.cummax(x, 1).values, m.cummin(x, 0).values, m.logcumsumexp(x, 1),
                                      x.logcumsumexp(0)), [(DISTINCT,)]),
    Row("kth_mode_sort", lambda m, x: (m.kthvalue(x, 2, 1).values, x.kthvalue(1, 0, True).values, m.msort(x),
                                       m.mode(x, 1).values, *m.aminmax(x, dim=0)), [(DISTINCT,)]),
    Row("matrix_builders", lambda m, x, y, v: (m.block_diag(x, y, v), m.cartesian_prod(v, v), m.combinations(v, 2),
                                               m.diagflat(v, 1), m.rot90(x, 1), m.rot90(x, 3, (1, 0))),
        [((3, 4), (2, 2), (3,))]),
    # torch's own vander backward fails (an in-place cumprod on its result): finite differences only
    Row("vander", lambda m, v: (m.vander(v), m.vander(v, 4, True)), [((3,),)], torch_ok=False),
    Row("cov_corrcoef", lambda m, x: (m.cov(x), m.cov(x, correction=0, aweights=m.tensor([1.0, 2.0, 0.5, 1.0])),
                                      m.corrcoef(x)), [((3, 4),)]),
    Row("trapezoid", lambda m, y, t: (m.trapezoid(y), m.trapezoid(y, t), m.trapz(y, dx=0.5, dim=0),
                                      m.cumulative_trapezoid(y, t), m.cumulative_trapezoid(y, dx=2.0)),
        [((3, 4), (4,))], gg=True),
    Row("norms_products", lambda m, x, y, a, b, v, w: (m.renorm(x, 2, 0, 1.0), m.dist(x, y), m.dist(x, y, 3),
                                                       m.vdot(v, v), m.addr(x, v, w, beta=0.5, alpha=2.0),
                                                       m.addbmm(x[:, :3], a, b), m.chain_matmul(x[:, :3], x)),
        [((3, 4), (4,), (2, 3, 2), (2, 2, 3), (3,), (4,))], tfn=None),
    Row("matrix_exp", lambda m, a: (m.matrix_exp(a), m.linalg.matrix_exp(a * 4)), [(SQ,)], tol=(1e-6, 1e-8)),
    Row("flat_writes", lambda m, x, s: (m.put(x, m.tensor([0, 5, 11]), s), m.put(x, m.tensor([1, 1, 2]), s, True),
                                        m.index_put(x, (m.tensor([0, 2, 0]),), s[:1].expand(3, 4) * 1, True),
                                        (x * 1).fill_diagonal_(2.0), (x * 1).put_(m.tensor([1, 1, 2]), s, True),
                                        (x * 1).put_(m.tensor([4, 0, 9]), s),
                                        (x * 1).index_put_((m.tensor([2, 0]), m.tensor([1, 1])), s[:2]),
                                        (x * 1).index_put_((m.tensor([2, 2]),), s[:1].expand(2, 4) * 1, True)),
        [((3, 4), (3,))]),
    Row("inplace_products", lambda m, x, v, w, a, b: ((x * 1).addr_(v, w, beta=0.5),
                                                      (x * 1).addr_(v, w, beta=0, alpha=2.0),
                                                      (x[:, :2] * 1).addbmm_(a, b, alpha=0.5)),
        [((3, 4), (3,), (4,), (2, 3, 5), (2, 5, 2))]),
]

# ---- torch.nn.functional composites (python/jtensor/nn/_functional/grids.py, unpooling.py)
def NNF(m):
    return TF if m is torch else jt.nn.functional


ROWS += [
    Row("grid_sample", lambda m, x, g: tuple(NNF(m).grid_sample(x, g, mode, pad, ac) for mode, pad, ac in
                                             (("bilinear", "zeros", False), ("bilinear", "border", True),
                                              ("bilinear", "reflection", False), ("nearest", "zeros", True))),
        [((2, 2, 4, 5), (2, 3, 2, 2))], domain=(-1.3, 1.3)),
    Row("affine_grid", lambda m, t, t3: (NNF(m).affine_grid(t, (2, 3, 4, 5), False),
                                         NNF(m).affine_grid(t3, (2, 1, 2, 3, 4), True)),
        [((2, 2, 3), (2, 3, 4))], gg=True),
    Row("max_unpool", lambda m, x, y: (NNF(m).max_unpool2d(*NNF(m).max_pool2d(x, 2, return_indices=True), 2),
                                       NNF(m).max_unpool1d(*NNF(m).max_pool1d(y, 2, return_indices=True), 2,
                                                           output_size=(7,))),
        [((2, 3, 4, 6), (2, 6))]),
]
ROW_BY_NAME = {r.name: r for r in ROWS}
assert len(ROW_BY_NAME) == len(ROWS)

CASES = [(r, k) for r in ROWS if r.torch_ok for k in range(len(r.samples))]


@pytest.mark.parametrize("row", [r for r in ROWS if r.gc], ids=repr)
def test_gradcheck(row):
    f, inputs = _gradcheck_fn(row, 0)
    assert jt.autograd.gradcheck(f, inputs, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("row,k", CASES, ids=[f"{r.name}-{k}" for r, k in CASES])
def test_grad_matches_torch(row, k):
    if row.name == "floor_divide":   # torch raises ("not implemented"); jtensor's gradient is zero
        vals, _ = _values(row, k)
        args, leaves = _build(jt, vals)
        g = jt.autograd.grad(row.fn(jt, *args).sum(), leaves)
        x, y = (np.asarray(v) for _, v in vals)
        np.testing.assert_allclose(g[0].numpy(), y)
        np.testing.assert_allclose(g[1].numpy(), x)
        return
    _compare(row, k)


@pytest.mark.parametrize("row", [r for r in ROWS if r.nc and r.torch_ok and r.name != "floor_divide"], ids=repr)
def test_grad_noncontiguous(row):
    _compare(row, 0, noncontig=True)


@pytest.mark.parametrize("row", [r for r in ROWS if r.gg and r.torch_ok], ids=repr)
def test_second_derivative_matches_torch(row):
    _compare(row, 0, second=True)


@pytest.mark.parametrize("name", ["tanh", "log", "pow", "div", "prod", "norm", "logsumexp", "var", "matmul", "inv",
                                  "det", "gather", "cat"])
def test_gradgradcheck(name):
    row = ROW_BY_NAME[name]
    f, inputs = _gradcheck_fn(row, 0)
    first = lambda *xs: [o for o in _flat(f(*xs)) if _is_float(o)][0]   # noqa: E731
    assert jt.autograd.gradgradcheck(first, inputs, atol=1e-5, rtol=1e-3)


# ---- values at non-differentiable points, as torch ------------------------------------------------------------

def _grad_at(fn, x):
    xj = jt.tensor(np.asarray(x, dtype=np.float64)).requires_grad_()
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    gj = jt.autograd.grad(fn(jt, xj).sum(), [xj])[0].numpy()
    gt = torch.autograd.grad(fn(torch, xt).sum(), [xt])[0].numpy()
    return gj, gt


@pytest.mark.parametrize("fn", [
    lambda m, x: m.abs(x), lambda m, x: m.relu(x), lambda m, x: x ** 2, lambda m, x: x ** 0, lambda m, x: x ** 1,
    lambda m, x: m.pow(x, 3.0), lambda m, x: m.sign(x), lambda m, x: m.prod(x), lambda m, x: m.linalg.vector_norm(x),
    lambda m, x: m.linalg.vector_norm(x, 1.5), lambda m, x: m.linalg.vector_norm(x, 0.5), lambda m, x: m.std(x * 0),
    lambda m, x: m.maximum(x, m.zeros_like(x)), lambda m, x: m.clamp(x, 0.0, 1.0), lambda m, x: m.amax(x),
    lambda m, x: m.max(x), lambda m, x: m.minimum(x, x.flip(0)),
    lambda m, x: m.linalg.vector_norm(x * 0) + m.norm(x * 0, 3) + m.linalg.vector_norm(x * 0, 1.5),
], ids=["abs", "relu", "x**2", "x**0", "x**1", "pow3", "sign", "prod", "norm2", "norm1.5", "norm0.5", "std0",
        "maximum_tie", "clamp_edge", "amax_ties", "max_ties", "minimum_tie", "norms_at_zero"])
def test_special_points(fn):
    x = [0.0, 0.0, 1.0, -2.0, 1.0]
    gj, gt = _grad_at(fn, x)
    assert np.all(np.isfinite(gj))
    np.testing.assert_allclose(gj, gt, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim,keepdim", [(-1, False), (0, False), (1, True), ((1, 2), False), ((0, 2), True),
                                         (None, False), ((0, 1, 2), True)])
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_fused_gradient_matches_torch(op, dim, keepdim):
    """The fused `_amax_backward` (trailing dims as contiguous runs, other dims by broadcasting): ties
    share evenly, a NaN extreme gives NaN in its slice, and zeros keep torch's sign, in float32."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (5, 6, 7)).astype(np.float32)   # many ties
    a[1, 2, 3] = np.nan
    g = rng.standard_normal(tuple(getattr(torch, op)(torch.tensor(a), **({} if dim is None else
                                                     {"dim": dim, "keepdim": keepdim})).shape)).astype(np.float32)
    kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    xj, xt = jt.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)
    getattr(jt, op)(xj, **kw).backward(jt.tensor(g))
    getattr(torch, op)(xt, **kw).backward(torch.tensor(g))
    gj, gt = xj.grad.numpy(), xt.grad.numpy()
    np.testing.assert_allclose(gj, gt, rtol=1e-6, atol=0)
    assert np.array_equal(np.signbit(gj), np.signbit(gt))


def test_prod_single_zero_no_nan():
    gj, gt = _grad_at(lambda m, x: m.prod(x), [2.0, 0.0, 3.0, 4.0])
    np.testing.assert_allclose(gj, [0.0, 24.0, 0.0, 0.0])
    np.testing.assert_allclose(gj, gt)


def test_pow_zero_base_exponent_grad():
    x = jt.tensor([0.0, 0.0, 2.0], dtype=jt.float64).requires_grad_()
    y = jt.tensor([2.0, 0.0, 1.5], dtype=jt.float64).requires_grad_()
    gx, gy = jt.autograd.grad(jt.pow(x, y).sum(), [x, y])
    xt = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = torch.tensor([2.0, 0.0, 1.5], dtype=torch.float64, requires_grad=True)
    tx, ty = torch.autograd.grad(torch.pow(xt, yt).sum(), [xt, yt])
    np.testing.assert_allclose(gx.numpy(), tx.numpy())
    np.testing.assert_allclose(gy.numpy(), ty.numpy())
    assert np.all(np.isfinite(gx.numpy())) and np.all(np.isfinite(gy.numpy()))


# ---- complex inputs ----------------------------------------------------------------------------------------------

COMPLEX = [   # (name, function, torch function or None when the same, shape)
    ("unary", lambda m, z: m.real(m.exp(z) + m.log(z) + m.sqrt(z) + m.sin(z) * m.tanh(z) / z + m.reciprocal(z)),
     None, (3, 3)),
    ("unary2", lambda m, z: m.real(m.square(z) * m.pow(z, 2.5) - m.cos(z) + m.sigmoid(z) * m.rsqrt(z)), None, (3, 3)),
    ("real", lambda m, z: m.real(z), None, (3, 3)),
    ("imag", lambda m, z: m.imag(z), None, (3, 3)),
    ("conj_mul", lambda m, z: m.real(m.conj(z) * z), None, (3, 3)),
    ("abs", lambda m, z: m.abs(z), None, (3, 3)),
    ("matmul", lambda m, z: m.real(z @ z.mT), None, (3, 3)),
    ("dot", lambda m, z: m.imag(m.dot(z, z)), None, (3,)),
    ("fft", lambda m, z: m.abs(m.fft.fft(z, n=5, dim=0, norm="ortho")), None, (3, 3)),     # Bluestein length
    ("ifft", lambda m, z: m.imag(m.fft.ifft(z * z, n=4)), None, (3, 3)),                    # radix-2 length
    ("round", lambda m, z: m.real(jt.ops._round_complex(z) * z), lambda m, z: m.real(m.round(z.real.detach()) * z
                                                                                        + 1j * m.round(z.imag.detach()) * z), (3,)),
]


@pytest.mark.parametrize("name,fn,tfn,shape", COMPLEX, ids=[c[0] for c in COMPLEX])
def test_complex_gradients(name, fn, tfn, shape):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    zj = jt.tensor(a).requires_grad_()
    zt = torch.tensor(a, requires_grad=True)
    gj = jt.autograd.grad(fn(jt, zj).sum(), [zj])[0]
    gt = torch.autograd.grad((tfn or fn)(torch, zt).sum(), [zt])[0]
    assert gj.dtype is jt.complex128
    np.testing.assert_allclose(gj.numpy(), gt.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)


# ---- autograd semantics ----------------------------------------------------------------------------------------

def leaf(values):
    return jt.tensor(np.asarray(values, dtype=np.float64)).requires_grad_()


def test_grad_accumulates_over_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])
    x.grad = None
    x.exp().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0, 3.0]))


def test_second_backward_needs_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        y.backward()
    z = (x.exp() * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * (np.exp([1.0, 2.0]) * np.array([2.0, 3.0])))


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    y.retain_grad()
    z = y * y
    assert y.retains_grad and not z.retains_grad
    z.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [4.0, 8.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0, 24.0])
    assert z.grad is None


def test_register_hook_modifies_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    y = x * 3
    y.register_hook(lambda g: g + 1)      # on a non-leaf: changes what flows on
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [60.0, 60.0])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_detach():
    x = leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    y = x * d                      # d is a constant: d(x * d)/dx = d
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])
    d[0] = 5.0                     # shares memory with x
    assert x.detach().numpy()[0] == 5.0


def test_no_grad_and_enable_grad():
    x = leaf([1.0, 2.0])
    with jt.no_grad():
        y = x * 2
        with jt.enable_grad():
            z = x * 2
        assert not jt.is_grad_enabled()
    assert jt.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None

    @jt.no_grad()
    def f(t):
        return t * 2

    @jt.enable_grad()
    def g(t):
        return t * 2
    assert not f(x).requires_grad
    with jt.no_grad():
        assert g(x).requires_grad
        assert not (x * 2).requires_grad
    with jt.set_grad_enabled(False):
        assert not (x * 2).requires_grad


def test_autograd_grad_allow_unused():
    x, y, unused = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0])
    out = (x * y).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        jt.autograd.grad(out, [x, unused], retain_graph=True)
    gx, gu = jt.autograd.grad(out, [x, unused], allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    assert gu is None
    assert x.grad is None and y.grad is None       # grad() does not touch .grad
    gy, = jt.autograd.grad(out, y)
    np.testing.assert_allclose(gy.numpy(), [1.0, 2.0])


def test_inplace_on_saved_tensor_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_legal_inplace_works():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    x.grad = None
    z = x.sin()
    z.mul_(3)                        # sin's formula reads its input, not z
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.cos([1.0, 2.0]))
    x.grad = None
    w = (x * 1).exp_()               # exp_'s formula reads its result: later changes are caught
    w.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]))
    w2 = (x * 1).exp_()
    w2.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        w2.sum().backward()


def test_inplace_overwrite_cuts_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.fill_(3.0)
    (y * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])   # as torch: the filled values are constants


def test_leaf_inplace_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with jt.no_grad():
        x.add_(1)                     # allowed without recording
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])


def test_non_differentiable_outputs_need_no_derivative():
    x = leaf([1.0, -2.0, 3.0])
    for r in (x > 0, x.argmax(), jt.isnan(x), jt.nonzero(x), x.argsort(), jt.eq(x, x)):
        assert not r.requires_grad and r.grad_fn is None
    y = x * (x > 0)                    # relu-style masks compose
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 1.0])


def test_op_without_derivative_raises_naming_the_op():
    x = leaf([1.0, 2.0, 2.0])
    u = jt.unique(x)
    assert u.requires_grad
    with pytest.raises(RuntimeError, match="derivative of 'unique'.*not implemented"):
        u.sum().backward()
    e = jt.linalg.eigvals(leaf([[1.0, 2.0], [3.0, 4.0]]))
    with pytest.raises(RuntimeError, match="derivative of 'linalg.eigvals'"):
        e.real.sum().backward()
    n = jt.nextafter(x, x + 1)
    with pytest.raises(RuntimeError, match="nextafter"):
        n.sum().backward()


def test_multi_output_second_output_only():
    a = leaf(np.random.default_rng(0).standard_normal((3, 3)))
    s = (a + a.mT) / 2
    w, v = jt.linalg.eigh(s)
    (v * v).sum().backward()          # only the eigenvectors carry gradient
    at = torch.tensor(a.detach().numpy(), requires_grad=True)
    wt, vt = torch.linalg.eigh((at + at.mT) / 2)
    (vt * vt).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy(), atol=1e-10)
    b = leaf([[2.0, 1.0], [1.0, 3.0]])
    sign, logabs = jt.linalg.slogdet(b)
    (sign * 5).sum().backward()       # the sign is locally constant
    np.testing.assert_allclose(b.grad.numpy(), np.zeros((2, 2)))


def test_advanced_index_assignment_is_differentiable_like_torch():
    """t[index] = value with autograd (CopySlices, autograd.record_setitem), against torch."""
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = x * 2
        y[m.tensor([0])] = 5.0                  # cuts element 0's gradient
        z = m.zeros(3, dtype=m.float64)
        z[[0, 2]] = x[:2] * x[:2]               # a buffer filled with values that require grad
        (y * m.tensor([1.0, 2.0, 3.0], dtype=m.float64) + z).sum().backward()
        return x.grad.numpy()
    np.testing.assert_allclose(run(jt), run(torch))
    y = leaf([1.0, 2.0, 3.0]) * 2
    with jt.no_grad():
        y[[1]] = 7.0
    np.testing.assert_allclose(y.detach().numpy(), [2.0, 7.0, 6.0])


def test_scatter_reduce_multiply_not_differentiable():
    x = leaf(np.ones((2, 3)))
    y = jt.scatter(x, 0, jt.tensor([[0, 1, 0]]), jt.tensor(np.full((1, 3), 2.0)), reduce="multiply")
    with pytest.raises(RuntimeError, match="reduce='multiply' is not implemented"):
        y.sum().backward()


# ---- coverage ------------------------------------------------------------------------------------------------

NON_DIFFERENTIABLE = {
    # comparisons, predicates and logical ops: bool results (no gradient, as torch); heaviside (a step,
    # PyTorch defines no derivative)
    "heaviside",
    "eq", "ne", "lt", "le", "gt", "ge", "isclose", "allclose", "isnan", "isinf", "isfinite", "signbit",
    "logical_and", "logical_or", "logical_xor", "logical_not", "all", "any",
    # integer results (indices, counts, ranks)
    "argmax", "argmin", "argsort", "nonzero", "searchsorted", "linalg.matrix_rank", "_lu_permutation",
    # LAPACK's packed QR and LDL: not differentiable in torch either (householder_product, composed, is)
    "geqrf", "linalg.ldl_factor_ex", "linalg.ldl_solve",
    # bitwise ops and gcd/lcm: integer and bool tensors only
    "gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
    # no tensor inputs: creation, random numbers, the RNG seed
    "_arange", "_linspace", "_eye", "_rand", "_randn", "_randint", "manual_seed",
    # writes outside autograd: advanced-index assignment (its formula would need the scatter's
    # target history), optimizer steps (run under no_grad), binding Julia globals
    "_put_offsets", *FUSED_STEPS, "_bind_global",
    "_fused", "_fused_reduce",   # jt.compile's kernels: FusedBackward applies each node's own formula (test_compile.py)
    "_show_elements",  # prints a user dtype's elements (a string, not a tensor)
    # the fused norms' backward kernels: under create_graph, norm_vjp (_derivatives.py) differentiates
    # the _standardize composition instead, so these are never recorded with a graph
    "_layer_norm_backward", "_layer_norm_param_grad", "_channel_norm_backward", "_channel_norm_param_grad",
    # the same for amax/amin's fused gradient (amax_backward composes differentiable ops under create_graph)
    "_amax_backward",
    # derivative not implemented, as in torch (backward raises an error naming the op): unique,
    # bincount (weights), nextafter; eig/eigvals have complex outputs of real inputs, whose
    # gradient needs complex autograd conventions through every op (torch implements it)
    "unique", "bincount", "nextafter", "linalg.eig", "linalg.eigvals",
    # torch.special functions that torch defines without a derivative (its results never require grad;
    # jtensor's raise at backward, naming the op)
    "special.airy_ai", "special.bessel_y0", "special.bessel_y1", "special.modified_bessel_k0",
    "special.modified_bessel_k1", "special.scaled_modified_bessel_k0", "special.scaled_modified_bessel_k1",
    "special.chebyshev_polynomial_t", "special.chebyshev_polynomial_u", "special.chebyshev_polynomial_v",
    "special.chebyshev_polynomial_w", "special.shifted_chebyshev_polynomial_t",
    "special.shifted_chebyshev_polynomial_u", "special.shifted_chebyshev_polynomial_v",
    "special.shifted_chebyshev_polynomial_w", "special.hermite_polynomial_h", "special.hermite_polynomial_he",
    "special.laguerre_polynomial_l", "special.legendre_polynomial_p",
}


def _nn_ops():
    """Ops defined in julia/src/ops/nn/ and the other nn files (tested with gradients in
    tests/test_nn_functional.py, test_nn_activations.py, test_nn_losses.py, test_nn_layers.py and
    test_recurrent.py)."""
    ops = ROOT / "julia" / "src" / "ops"
    files = sorted((ops / "nn").glob("*.jl")) + [ops / f for f in ("activations.jl", "losses.jl", "recurrent.jl")]
    src = "".join(f.read_text() for f in files)
    fused_norms = re.findall(r'_defnorm\(\s*"\w+",\s*"(\w+)"', src)   # three ops each (fused_norms.jl's _defnorm)
    # conv.jl and pooling.jl define each op once per spatial rank, in a loop `for S in (2, 3)`
    names = re.findall(r'def(?:op|map)\(\s*"((?:[A-Za-z0-9_.]|\$\(S\))+)\(', src)
    return {n.replace("$(S)", str(s)) for n in names for s in (2, 3)} | \
        {n + suffix for n in fused_norms for suffix in ("", "_backward", "_param_grad")}


def _recorded_ops():
    """Registry ops that record a derivative while running every row once (forward and backward)."""
    seen = set()
    orig, orig_inplace = AG.record, AG.record_inplace

    def record(op, params, run):
        seen.add(op.qualname)
        return orig(op, params, run)

    def record_inplace(op, params, target, run):
        seen.add(op.qualname)
        return orig_inplace(op, params, target, run)
    AG.record, AG.record_inplace = record, record_inplace   # the op drivers call them through the module
    try:
        for row in ROWS:
            for k in range(len(row.samples)):
                vals, _ = _values(row, k)
                args, leaves = _build(jt, vals)
                loss = _loss(row.fn(jt, *args), seed=k)
                jt.autograd.grad(loss, leaves, allow_unused=True)
        for _, fn, _, shape in COMPLEX:
            z = jt.tensor(np.ones(shape) + 1j * np.ones(shape)).requires_grad_()
            jt.autograd.grad(fn(jt, z).sum(), [z])
    finally:
        AG.record, AG.record_inplace = orig, orig_inplace
    return seen


def test_every_op_is_covered():
    REGISTRY.sync()
    nn_ops = _nn_ops()
    assert "softmax" in nn_ops
    ops = {k: v for k, v in REGISTRY.ops.items() if v.builtin}   # not ops other tests define
    unknown = NON_DIFFERENTIABLE - set(ops)
    assert not unknown, f"NON_DIFFERENTIABLE names ops that do not exist: {sorted(unknown)}"
    with_grad = {name for name, op in ops.items() if op.grad}
    wrongly = with_grad & NON_DIFFERENTIABLE
    assert not wrongly, f"ops listed as non-differentiable have a grad formula: {sorted(wrongly)}"
    missing = set(ops) - with_grad - NON_DIFFERENTIABLE - nn_ops
    assert not missing, f"ops with no derivative and no reason: {sorted(missing)}"
    exercised = _recorded_ops()
    untested = with_grad - exercised - nn_ops - {"_view_backward"}
    assert not untested, f"ops with a grad formula that no gradient test runs: {sorted(untested)}"


def test_view_backward_is_differentiable():
    # the gradient of every view goes through _view_backward: its own derivative gives second order
    x = leaf(np.arange(12.0).reshape(3, 4))
    g, = jt.autograd.grad((x.mT[1:] ** 3).sum(), [x], create_graph=True)
    h, = jt.autograd.grad(g.sum(), [x])
    mask = np.zeros((3, 4))
    mask[:, 1:] = 1
    np.testing.assert_allclose(h.numpy(), 6 * np.arange(12.0).reshape(3, 4) * mask)


@pytest.mark.parametrize("geometry", [
    ((4, 3), (1, 3), 0),          # a transpose: covers the whole array, one strided copy
    ((2, 2), (3, 1), 4),          # a slice: zeros elsewhere
    ((3,), (4,), 1),              # a select of a column
    ((2, 3), (0, 1), 0),          # an expand: two indices reach each slot, summed over the expanded dim
    ((2, 3), (0, 4), 1),          # an expand of a strided column slice
    ((2, 3, 2), (0, 4, 1), 0),    # an expand of a 3x2 block, then a strided copy
    ((3, 2, 2), (4, 0, 1), 2),    # expanded along a middle dim, with an offset
    ((3, 2), (2, 1), 0),          # as_strided with overlapping windows
    ((0, 3), (3, 1), 0),          # empty
])
def test_view_backward_scatters_like_numpy(geometry):
    # the oracle: add each element of g at the offset the view's geometry gives it
    shape, strides, offset = geometry
    g = np.random.default_rng(0).standard_normal(shape)
    want = np.zeros(12)
    for idx in np.ndindex(*shape):
        want[offset + sum(i * s for i, s in zip(idx, strides))] += g[idx]
    got = jt.ops._view_backward(jt.tensor(g), [3, 4], list(strides), offset)
    np.testing.assert_array_equal(got.numpy(), want.reshape(3, 4))
    strided = jt.tensor(np.ascontiguousarray(g.T)).mT if len(shape) == 2 else jt.tensor(g)   # a strided gradient
    np.testing.assert_array_equal(jt.ops._view_backward(strided, [3, 4], list(strides), offset).numpy(),
                                  want.reshape(3, 4))
