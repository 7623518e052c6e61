"""Per-op speed sweep: every registry op (and the public functions built on them) against PyTorch.

Run: ``python benchmarks/ops.py`` (``--quick``: medium shapes only, shorter batches; ``--only A,B``:
cases whose name contains one of the texts; ``--sizes small,large``; ``--markdown FILE`` writes the
table; ``--limit 2.0`` the ratio that fails the run; ``--cpu-time`` times the thread's CPU time, for
a loaded machine). Each case runs at a small, a medium and a
large typical shape for its kind of op (elementwise, reduction, matmul-like, conv/pool, norm, loss,
indexing, shape op), forward and, where the op is differentiable, forward + backward. jtensor and
PyTorch run in the same process at the same thread count (1 unless ``--threads``): JTENSOR_NUM_THREADS
and JULIA_NUM_THREADS are set before jtensor starts, torch.set_num_threads after.

Timing: after warm-up calls (so Julia's compilation is not timed), batches of calls of the two
libraries alternate, and each library's time is the median of its batches; a ratio above the limit
is re-timed with more batches (the machine may be shared and noisy) and the lower ratio is kept.

The case list is generated from the registry: every elementwise (map) op gets its case from its
arity and domain; every other public op and every private op appears in SPECS, directly or through
the public function that calls it (`VIA`). Ops with no case are printed, so coverage stays visible.
Exit status is 1 when any op is slower than ``--limit`` x PyTorch (they are listed), else 0.
"""
import argparse
import gc
import math
import os
import statistics
import sys
import time

_THREADS = "1"
for _i, _a in enumerate(sys.argv):
    if _a == "--threads" and _i + 1 < len(sys.argv):
        _THREADS = sys.argv[_i + 1]
    elif _a.startswith("--threads="):
        _THREADS = _a.split("=", 1)[1]
os.environ["JTENSOR_NUM_THREADS"] = _THREADS
os.environ["JULIA_NUM_THREADS"] = _THREADS
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import jtensor as jt  # noqa: E402
import jtensor.nn.functional as JF  # noqa: E402
from jtensor.registry import REGISTRY  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt_time  # noqa: E402  (benchmarks/timing.py: one time format for every benchmark)

torch.set_num_threads(int(_THREADS))

SIZES = ("small", "medium", "large")


class Lib:
    """What a case calls: the top-level module (`m.T`) and its nn.functional (`m.F`)."""

    def __init__(self, name, top, functional):
        self.name, self.T, self.F = name, top, functional


JT = Lib("jtensor", jt, JF)
TORCH = Lib("torch", torch, TF)


# ---- inputs --------------------------------------------------------------------------------------

class In:
    """An input made from a shape: kind 'f' (float32 uniform in [lo, hi)), 'i' (int64 in [lo, hi)),
    'b' (bool), 'spd' (symmetric positive definite over the last two dims); grad marks the float
    inputs that backward differentiates."""

    def __init__(self, shape, kind="f", lo=-1.0, hi=1.0, grad=True):
        self.shape, self.kind, self.lo, self.hi, self.grad = tuple(shape), kind, lo, hi, grad

    def array(self, rng):
        if self.kind == "f":
            return rng.uniform(self.lo, self.hi, self.shape).astype(np.float32)
        if self.kind == "i":
            return rng.integers(int(self.lo), int(self.hi), self.shape).astype(np.int64)
        if self.kind == "i32":
            return rng.integers(int(self.lo), int(self.hi), self.shape).astype(np.int32)
        if self.kind == "b":
            return rng.random(self.shape) < 0.5
        if self.kind == "spd":
            a = rng.standard_normal(self.shape).astype(np.float32)
            n = self.shape[-1]
            return (a @ np.swapaxes(a, -1, -2) / n + np.eye(n, dtype=np.float32)).astype(np.float32)
        raise ValueError(self.kind)

    @property
    def differentiable(self):
        return self.grad and self.kind in ("f", "spd")


class Spec:
    """One case: `call(lib, *inputs)`; `inputs(size)` gives the In list for 'small'/'medium'/'large';
    `kind` groups the table; `grad` says whether forward + backward is timed too."""

    def __init__(self, name, kind, call, inputs, grad=True, label=None):
        self.name, self.kind, self.call, self.inputs, self.grad = name, kind, call, inputs, grad
        self.label = label or {}


def by_size(small, medium, large):
    return lambda size: {"small": small, "medium": medium, "large": large}[size]


EW = by_size((16, 16), (256, 256), (1024, 1024))           # elementwise operands
RED = EW                                                      # reductions over the last dim
MAT = by_size(16, 128, 512)                                   # square matrix sides
LINALG = by_size(8, 32, 128)                                  # decompositions
IMG = by_size((2, 3, 16, 16), (16, 16, 32, 32), (32, 32, 32, 32))   # (N, C, H, W)


def _ew_inputs(arity, lo, hi, kind="f"):
    return lambda size: [In(EW(size), kind, lo, hi) for _ in range(arity)]


# Elementwise domains: default uniform in [-1, 1); these need another.
_DOMAIN = {"log": (0.1, 2.0), "log2": (0.1, 2.0), "log10": (0.1, 2.0), "sqrt": (0.1, 2.0),
           "rsqrt": (0.1, 2.0), "log1p": (0.1, 2.0), "acosh": (1.1, 3.0), "reciprocal": (0.5, 2.0),
           "pow": (0.5, 2.0), "div": (0.5, 2.0), "remainder": (0.5, 2.0), "floor_divide": (0.5, 2.0),
           "atanh": (-0.9, 0.9), "acos": (-0.9, 0.9), "asin": (-0.9, 0.9)}
_INT_OPS = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
            "bitwise_right_shift"}
_BOOL_OPS = {"logical_and", "logical_or", "logical_xor", "logical_not"}
# map ops whose call is not `op(*tensors)` of one dtype
_MAP_SPECIAL = {
    "where": Spec("where", "elementwise", lambda m, c, x, y: m.T.where(c, x, y),
                  lambda s: [In(EW(s), "b"), In(EW(s)), In(EW(s))]),
    "masked_fill": Spec("masked_fill", "elementwise", lambda m, x, c: x.masked_fill(c, 0.5),
                        lambda s: [In(EW(s)), In(EW(s), "b")]),
    "clamp": Spec("clamp", "elementwise", lambda m, x: m.T.clamp(x, -0.5, 0.5), lambda s: [In(EW(s))]),
    "fill_": Spec("fill_", "elementwise", lambda m, x: x.fill_(0.5), lambda s: [In(EW(s), grad=False)], grad=False),
    "copy_": Spec("copy_", "elementwise", lambda m, x, y: x.copy_(y),
              lambda s: [In(EW(s), grad=False), In(EW(s), grad=False)], grad=False),
    "bitwise_left_shift": Spec("bitwise_left_shift", "elementwise", lambda m, x, y: m.T.bitwise_left_shift(x, y),
                               lambda s: [In(EW(s), "i32", 0, 1000), In(EW(s), "i32", 0, 8)], grad=False),
    "bitwise_right_shift": Spec("bitwise_right_shift", "elementwise", lambda m, x, y: m.T.bitwise_right_shift(x, y),
                                lambda s: [In(EW(s), "i32", 0, 1000), In(EW(s), "i32", 0, 8)], grad=False),
    "round": Spec("round", "elementwise", lambda m, x: m.T.round(x), lambda s: [In(EW(s))]),
    "real": Spec("real", "elementwise", lambda m, x: m.T.real(x), lambda s: [In(EW(s))], grad=False),
    "imag": Spec("imag", "elementwise", lambda m, x: m.T.imag(x.to(m.T.complex64)), lambda s: [In(EW(s), grad=False)],
                 grad=False),
    "conj": Spec("conj", "elementwise", lambda m, x: m.T.conj(x.to(m.T.complex64)).resolve_conj() if m is TORCH
                 else m.T.conj(x.to(m.T.complex64)), lambda s: [In(EW(s), grad=False)], grad=False),
    "gelu": Spec("gelu", "elementwise", lambda m, x: m.F.gelu(x), lambda s: [In(EW(s))]),
    "softplus": Spec("softplus", "elementwise", lambda m, x: m.F.softplus(x) if m is TORCH else m.T.softplus(x),
                     lambda s: [In(EW(s))]),
    "silu": Spec("silu", "elementwise", lambda m, x: m.F.silu(x), lambda s: [In(EW(s))]),
    "nextafter": Spec("nextafter", "elementwise", lambda m, x, y: m.T.nextafter(x, y),
                      lambda s: [In(EW(s)), In(EW(s))], grad=False),
    "isclose": Spec("isclose", "elementwise", lambda m, x, y: m.T.isclose(x, y),
                    lambda s: [In(EW(s)), In(EW(s))], grad=False),
}

# In-place forms, which take the C fast path's `into` form (fastpath.c map): an optimizer's or a user's update
INPLACE_SPECS = [
    Spec("mul_", "elementwise", lambda m, x: x.mul_(2.0), lambda s: [In(EW(s), grad=False)], grad=False),
    Spec("add_", "elementwise", lambda m, x, y: x.add_(y),
         lambda s: [In(EW(s), grad=False), In(EW(s), grad=False)], grad=False),
    Spec("iadd", "elementwise", lambda m, x, y: x.__iadd__(y),
         lambda s: [In(EW(s), grad=False), In(EW(s), grad=False)], grad=False),
    Spec("clamp_", "elementwise", lambda m, x: x.clamp_(0, 1), lambda s: [In(EW(s), grad=False)], grad=False),
    Spec("relu_", "elementwise", lambda m, x: x.relu_(), lambda s: [In(EW(s), grad=False)], grad=False),
]

_NO_GRAD_MAP = {"eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "signbit", "sign", "floor",
                "ceil", "trunc", "floor_divide", "remainder", "copysign"} | _INT_OPS | _BOOL_OPS


def map_spec(op):
    """The case of an elementwise registry op: its tensors, all of one shape, in its domain."""
    if op.name in _MAP_SPECIAL:
        return _MAP_SPECIAL[op.name]
    arity = len(op.tensor_params)
    kind = "i32" if op.name in _INT_OPS else "b" if op.name in _BOOL_OPS else "f"
    lo, hi = (0, 1000) if kind == "i32" else _DOMAIN.get(op.name, (-1.0, 1.0))
    name = op.name
    return Spec(name, "elementwise", lambda m, *xs: getattr(m.T, name)(*xs), _ew_inputs(arity, lo, hi, kind),
                grad=name not in _NO_GRAD_MAP and kind == "f")


def _red(name, call, grad=True):
    return Spec(name, "reduction", call, lambda s: [In(RED(s))], grad)


def _sq(n, **kw):
    return In((n, n), **kw)


_CONV_W = by_size((8, 3, 3, 3), (32, 16, 3, 3), (64, 32, 3, 3))
_EMB = by_size((100, 16, (8,)), (1000, 64, (32, 32)), (10000, 256, (64, 128)))
_CE = by_size((8, 10), (64, 100), (512, 1000))
_SEQ = by_size((2, 2, 8, 16), (4, 4, 64, 32), (8, 8, 256, 64))   # attention (N, heads, L, E)

# Every other op: name -> Spec. Private ops are reached through the public function that calls
# them (VIA below).
SPECS = [
    # reductions and scans (over the last dim)
    _red("sum", lambda m, x: x.sum(-1)),
    _red("sum_all", lambda m, x: x.sum()),
    _red("mean", lambda m, x: x.mean(-1)),
    _red("prod", lambda m, x: x.prod(-1)),
    _red("amax", lambda m, x: x.amax(-1)),
    _red("amin", lambda m, x: x.amin(-1)),
    _red("max", lambda m, x: x.max(-1)[0]),
    _red("min", lambda m, x: x.min(-1)[0]),
    _red("argmax", lambda m, x: x.argmax(-1), grad=False),
    _red("argmin", lambda m, x: x.argmin(-1), grad=False),
    _red("all", lambda m, x: (x > 0).all(-1), grad=False),
    _red("any", lambda m, x: (x > 0).any(-1), grad=False),
    _red("var", lambda m, x: x.var(-1)),
    _red("std", lambda m, x: x.std(-1)),
    _red("norm", lambda m, x: x.norm(2, -1)),
    _red("linalg.vector_norm", lambda m, x: m.T.linalg.vector_norm(x, 2, -1)),
    _red("logsumexp", lambda m, x: m.T.logsumexp(x, -1)),
    _red("softmax", lambda m, x: m.T.softmax(x, -1)),
    _red("log_softmax", lambda m, x: m.T.log_softmax(x, -1)),
    _red("cumsum", lambda m, x: m.T.cumsum(x, -1)),
    _red("cumprod", lambda m, x: m.T.cumprod(x, -1)),
    _red("sort", lambda m, x: m.T.sort(x, -1)[0]),
    _red("argsort", lambda m, x: m.T.argsort(x, -1), grad=False),
    _red("topk", lambda m, x: m.T.topk(x, 5, -1)[0]),
    _red("unique", lambda m, x: m.T.unique((x * 100).round()), grad=False),
    _red("nonzero", lambda m, x: m.T.nonzero(x > 0), grad=False),
    _red("allclose", lambda m, x: m.T.allclose(x, x), grad=False),
    Spec("bincount", "reduction", lambda m, x: m.T.bincount(x), lambda s: [In((EW(s)[0] * EW(s)[1],), "i", 0, 100)],
         grad=False),
    Spec("searchsorted", "reduction", lambda m, s, v: m.T.searchsorted(s, v),
         lambda s: [In((EW(s)[1],), "f", grad=False), In(EW(s), grad=False)], grad=False),
    # matmul-like
    Spec("matmul", "matmul", lambda m, a, b: a @ b, lambda s: [_sq(MAT(s)), _sq(MAT(s))]),
    Spec("mm", "matmul", lambda m, a, b: m.T.mm(a, b), lambda s: [_sq(MAT(s)), _sq(MAT(s))]),
    Spec("bmm", "matmul", lambda m, a, b: m.T.bmm(a, b),
         lambda s: [In((8, MAT(s) // 2, MAT(s) // 2)), In((8, MAT(s) // 2, MAT(s) // 2))]),
    Spec("linalg.matmul", "matmul", lambda m, a, b: m.T.linalg.matmul(a, b), lambda s: [_sq(MAT(s)), _sq(MAT(s))]),
    Spec("linear", "matmul", lambda m, x, w, b: m.F.linear(x, w, b),
         lambda s: [In((MAT(s), MAT(s))), In((MAT(s), MAT(s))), In((MAT(s),))]),
    Spec("dot", "matmul", lambda m, a, b: m.T.dot(a, b), lambda s: [In((MAT(s) ** 2,)), In((MAT(s) ** 2,))]),
    Spec("vecdot", "matmul", lambda m, a, b: m.T.vecdot(a, b) if m is JT else m.T.linalg.vecdot(a, b),
         lambda s: [In(EW(s)), In(EW(s))]),
    Spec("linalg.vecdot", "matmul", lambda m, a, b: m.T.linalg.vecdot(a, b), lambda s: [In(EW(s)), In(EW(s))]),
    Spec("outer", "matmul", lambda m, a, b: m.T.outer(a, b), lambda s: [In((MAT(s),)), In((MAT(s),))]),
    Spec("linalg.outer", "matmul", lambda m, a, b: m.T.linalg.outer(a, b) if m is JT else m.T.outer(a, b),
         lambda s: [In((MAT(s),)), In((MAT(s),))]),
    Spec("kron", "matmul", lambda m, a, b: m.T.kron(a, b),
         lambda s: [_sq(MAT(s) // 8), _sq(8)]),
    Spec("tensordot", "matmul", lambda m, a, b: m.T.tensordot(a, b, 2),
         lambda s: [In((MAT(s), 8, 8)), In((8, 8, MAT(s)))]),
    Spec("linalg.tensordot", "matmul", lambda m, a, b: m.T.tensordot(a, b, dims=2) if m is TORCH
         else m.T.linalg.tensordot(a, b, axes=2), lambda s: [In((MAT(s), 8, 8)), In((8, 8, MAT(s)))]),
    Spec("einsum", "matmul", lambda m, a, b: m.T.einsum("bij,bjk->bik", a, b),
         lambda s: [In((8, MAT(s) // 2, MAT(s) // 2)), In((8, MAT(s) // 2, MAT(s) // 2))]),
    Spec("linalg.multi_dot", "matmul", lambda m, a, b, c: m.T.linalg.multi_dot([a, b, c]),
         lambda s: [_sq(MAT(s)), _sq(MAT(s)), _sq(MAT(s))]),
    Spec("matrix_power", "matmul", lambda m, a: m.T.matrix_power(a, 3), lambda s: [_sq(MAT(s), lo=-0.1, hi=0.1)]),
    Spec("linalg.matrix_power", "matmul", lambda m, a: m.T.linalg.matrix_power(a, 3),
         lambda s: [_sq(MAT(s), lo=-0.1, hi=0.1)]),
    Spec("cross", "matmul", lambda m, a, b: m.T.cross(a, b, dim=-1),
         lambda s: [In((EW(s)[0] * EW(s)[1] // 3, 3)), In((EW(s)[0] * EW(s)[1] // 3, 3))]),
    Spec("linalg.cross", "matmul", lambda m, a, b: m.T.linalg.cross(a, b),
         lambda s: [In((EW(s)[0] * EW(s)[1] // 3, 3)), In((EW(s)[0] * EW(s)[1] // 3, 3))]),
    Spec("trace", "matmul", lambda m, a: m.T.trace(a), lambda s: [_sq(MAT(s))]),
    Spec("linalg.trace", "matmul", lambda m, a: m.T.linalg.trace(a) if m is JT else m.T.trace(a),
         lambda s: [_sq(MAT(s))]),
    Spec("linalg.diagonal", "matmul", lambda m, a: m.T.linalg.diagonal(a).contiguous(), lambda s: [_sq(MAT(s))]),
    Spec("linalg.matrix_transpose", "matmul", lambda m, a: m.T.linalg.matrix_transpose(a).contiguous() if m is JT
         else a.mT.contiguous(), lambda s: [_sq(MAT(s))]),
    # decompositions and solvers (symmetric positive definite inputs)
    *[Spec(n, "linalg", c, lambda s: [In((LINALG(s), LINALG(s)), "spd")], grad=g) for n, c, g in [
        ("det", lambda m, a: m.T.det(a), True),
        ("linalg.det", lambda m, a: m.T.linalg.det(a), True),
        ("logdet", lambda m, a: m.T.logdet(a), True),
        ("slogdet", lambda m, a: m.T.slogdet(a)[1], True),
        ("linalg.slogdet", lambda m, a: m.T.linalg.slogdet(a)[1], True),
        ("inverse", lambda m, a: m.T.inverse(a), True),
        ("linalg.inv", lambda m, a: m.T.linalg.inv(a), True),
        ("linalg.cholesky", lambda m, a: m.T.linalg.cholesky(a), True),
        ("linalg.qr", lambda m, a: m.T.linalg.qr(a)[1], True),
        ("linalg.svd", lambda m, a: m.T.linalg.svd(a, full_matrices=False)[1], True),
        ("linalg.svdvals", lambda m, a: m.T.linalg.svdvals(a), True),
        ("linalg.eigh", lambda m, a: m.T.linalg.eigh(a)[0], True),
        ("linalg.eigvalsh", lambda m, a: m.T.linalg.eigvalsh(a), True),
        ("linalg.eig", lambda m, a: m.T.linalg.eig(a)[0], False),
        ("linalg.eigvals", lambda m, a: m.T.linalg.eigvals(a), False),
        ("linalg.pinv", lambda m, a: m.T.linalg.pinv(a), True),
        ("linalg.matrix_rank", lambda m, a: m.T.linalg.matrix_rank(a), False),
        ("linalg._cond", lambda m, a: m.T.linalg.cond(a), True),
        ("linalg._matrix_norm", lambda m, a: m.T.linalg.matrix_norm(a), True),
    ]],
    Spec("linalg.solve", "linalg", lambda m, a, b: m.T.linalg.solve(a, b),
         lambda s: [In((LINALG(s), LINALG(s)), "spd"), In((LINALG(s), 4))]),
    # convolution and pooling
    Spec("conv2d", "conv/pool", lambda m, x, w, b: m.F.conv2d(x, w, b, padding=1),
         lambda s: [In(IMG(s)[:1] + (_CONV_W(s)[1],) + IMG(s)[2:]), In(_CONV_W(s)), In(_CONV_W(s)[:1])]),
    Spec("conv1d", "conv/pool", lambda m, x, w: m.F.conv1d(x, w, padding=1),
         lambda s: [In((IMG(s)[0], _CONV_W(s)[1], IMG(s)[2] * IMG(s)[3])), In(_CONV_W(s)[:3])]),
    Spec("max_pool2d", "conv/pool", lambda m, x: m.F.max_pool2d(x, 2), lambda s: [In(IMG(s))]),
    Spec("avg_pool2d", "conv/pool", lambda m, x: m.F.avg_pool2d(x, 2), lambda s: [In(IMG(s))]),
    Spec("adaptive_avg_pool2d", "conv/pool", lambda m, x: m.F.adaptive_avg_pool2d(x, 5), lambda s: [In(IMG(s))]),
    # normalizations, dropout, attention
    Spec("layer_norm", "norm", lambda m, x, w, b: m.F.layer_norm(x, (x.shape[-1],), w, b),
         lambda s: [In(by_size((4, 8, 32), (16, 32, 64), (64, 128, 256))(s)),
                    In(by_size((32,), (64,), (256,))(s)), In(by_size((32,), (64,), (256,))(s))]),
    Spec("batch_norm", "norm", lambda m, x, w, b: m.F.batch_norm(x, None, None, w, b, training=True),
         lambda s: [In(IMG(s)), In(IMG(s)[1:2]), In(IMG(s)[1:2])]),
    Spec("group_norm", "norm", lambda m, x, w, b: m.F.group_norm(x, 4 if IMG("small")[1] != x.shape[1] else 3, w, b),
         lambda s: [In(IMG(s)), In(IMG(s)[1:2]), In(IMG(s)[1:2])]),
    Spec("dropout", "norm", lambda m, x: m.F.dropout(x, 0.1),
         lambda s: [In(by_size((4, 8, 32), (16, 32, 64), (64, 64, 12, 12))(s))]),
    Spec("scaled_dot_product_attention", "norm",
         lambda m, q, k, v: m.F.scaled_dot_product_attention(q, k, v, is_causal=True),
         lambda s: [In(_SEQ(s)), In(_SEQ(s)), In(_SEQ(s))]),
    Spec("embedding", "indexing", lambda m, i, w: m.F.embedding(i, w),
         lambda s: [In(_EMB(s)[2], "i", 0, _EMB(s)[0]), In(_EMB(s)[:2])]),
    # losses
    Spec("cross_entropy", "loss", lambda m, x, t: m.F.cross_entropy(x, t),
         lambda s: [In(_CE(s)), In(_CE(s)[:1], "i", 0, _CE(s)[1])]),
    Spec("cross_entropy_probs", "loss", lambda m, x, t: m.F.cross_entropy(x, t),
         lambda s: [In(_CE(s)), In(_CE(s), lo=0, hi=1, grad=False)]),
    Spec("cross_entropy_smoothing", "loss", lambda m, x, t: m.F.cross_entropy(x, t, label_smoothing=0.1),
         lambda s: [In(_CE(s)), In(_CE(s)[:1], "i", 0, _CE(s)[1])]),
    Spec("nll_loss", "loss", lambda m, x, t: m.F.nll_loss(x, t),
         lambda s: [In(_CE(s)), In(_CE(s)[:1], "i", 0, _CE(s)[1])]),
    Spec("mse_loss", "loss", lambda m, x, y: m.F.mse_loss(x, y), lambda s: [In(EW(s)), In(EW(s))]),
    Spec("l1_loss", "loss", lambda m, x, y: m.F.l1_loss(x, y), lambda s: [In(EW(s)), In(EW(s))]),
    Spec("binary_cross_entropy_with_logits", "loss",
         lambda m, x, y: m.F.binary_cross_entropy_with_logits(x, y),
         lambda s: [In(EW(s)), In(EW(s), lo=0, hi=1, grad=False)]),
    # indexing
    Spec("gather", "indexing", lambda m, x, i: m.T.gather(x, 1, i),
         lambda s: [In(EW(s)), In(EW(s), "i", 0, EW(s)[1])]),
    Spec("take_along_dim", "indexing", lambda m, x, i: m.T.take_along_dim(x, i, 1),
         lambda s: [In(EW(s)), In(EW(s), "i", 0, EW(s)[1])]),
    Spec("index_select", "indexing", lambda m, x, i: m.T.index_select(x, 0, i),
         lambda s: [In(EW(s)), In((EW(s)[0],), "i", 0, EW(s)[0])]),
    Spec("take", "indexing", lambda m, x, i: m.T.take(x, i),
         lambda s: [In(EW(s)), In(EW(s), "i", 0, EW(s)[0] * EW(s)[1])]),
    Spec("getitem_tensor", "indexing", lambda m, x, i: x[i],
         lambda s: [In(EW(s)), In((EW(s)[0],), "i", 0, EW(s)[0])]),
    Spec("getitem_mask", "indexing", lambda m, x, c: x[c], lambda s: [In(EW(s)), In(EW(s), "b")]),
    Spec("masked_select", "indexing", lambda m, x, c: m.T.masked_select(x, c), lambda s: [In(EW(s)), In(EW(s), "b")]),
    Spec("scatter", "indexing", lambda m, x, i, v: m.T.scatter(x, 1, i, v),
         lambda s: [In(EW(s)), In(EW(s), "i", 0, EW(s)[1]), In(EW(s))]),
    Spec("scatter_add", "indexing", lambda m, x, i, v: m.T.scatter_add(x, 1, i, v),
         lambda s: [In(EW(s)), In(EW(s), "i", 0, EW(s)[1]), In(EW(s))]),
    Spec("scatter_", "indexing", lambda m, x, i, v: x.scatter_(1, i, v),
         lambda s: [In(EW(s), grad=False), In(EW(s), "i", 0, EW(s)[1]), In(EW(s), grad=False)], grad=False),
    Spec("scatter_add_", "indexing", lambda m, x, i, v: x.scatter_add_(1, i, v),
         lambda s: [In(EW(s), grad=False), In(EW(s), "i", 0, EW(s)[1]), In(EW(s), grad=False)], grad=False),
    Spec("setitem_tensor", "indexing", lambda m, x, i, v: x.__setitem__(i, v),
         lambda s: [In(EW(s), grad=False), In((EW(s)[0] // 2,), "i", 0, EW(s)[0]),
                    In((EW(s)[0] // 2, EW(s)[1]), grad=False)], grad=False),
    # shape ops
    Spec("cat", "shape", lambda m, a, b, c, d: m.T.cat([a, b, c, d], 0), lambda s: [In(EW(s)) for _ in range(4)]),
    Spec("cat_lastdim", "shape", lambda m, a, b, c, d: m.T.cat([a, b, c, d], -1),
         lambda s: [In(EW(s)) for _ in range(4)]),
    Spec("stack", "shape", lambda m, a, b, c, d: m.T.stack([a, b, c, d], 1), lambda s: [In(EW(s)) for _ in range(4)]),
    Spec("hstack", "shape", lambda m, a, b: m.T.hstack([a, b]), lambda s: [In(EW(s)), In(EW(s))]),
    Spec("vstack", "shape", lambda m, a, b: m.T.vstack([a, b]), lambda s: [In(EW(s)), In(EW(s))]),
    Spec("flip", "shape", lambda m, x: m.T.flip(x, (0,)), lambda s: [In(EW(s))]),
    Spec("fliplr", "shape", lambda m, x: m.T.fliplr(x), lambda s: [In(EW(s))]),
    Spec("flipud", "shape", lambda m, x: m.T.flipud(x), lambda s: [In(EW(s))]),
    Spec("roll", "shape", lambda m, x: m.T.roll(x, 3, 1), lambda s: [In(EW(s))]),
    Spec("repeat", "shape", lambda m, x: x.repeat(2, 2), lambda s: [In(EW(s))]),
    Spec("tile", "shape", lambda m, x: m.T.tile(x, (2, 2)), lambda s: [In(EW(s))]),
    Spec("tril", "shape", lambda m, x: m.T.tril(x), lambda s: [In(EW(s))]),
    Spec("triu", "shape", lambda m, x: m.T.triu(x), lambda s: [In(EW(s))]),
    Spec("diag", "shape", lambda m, x: m.T.diag(x), lambda s: [_sq(MAT(s))]),
    Spec("diag_embed", "shape", lambda m, x: m.T.diag_embed(x), lambda s: [In((8, MAT(s)))]),
    Spec("pad", "shape", lambda m, x: m.F.pad(x, (1, 1, 1, 1)), lambda s: [In(IMG(s))]),
    Spec("pad_reflect", "shape", lambda m, x: m.F.pad(x, (1, 1, 1, 1), mode="reflect"), lambda s: [In(IMG(s))]),
    Spec("transpose_contiguous", "shape", lambda m, x: x.T.contiguous(), lambda s: [In(EW(s))]),
    Spec("permute_contiguous", "shape", lambda m, x: x.permute(0, 2, 3, 1).contiguous(), lambda s: [In(IMG(s))]),
    # creation and random numbers
    *[Spec(n, "creation", c, lambda s: [In(EW(s), grad=False)], grad=False) for n, c in [
        ("rand", lambda m, x: m.T.rand(x.shape)),
        ("randn", lambda m, x: m.T.randn(x.shape)),
        ("randint", lambda m, x: m.T.randint(0, 10, x.shape)),
        ("rand_like", lambda m, x: m.T.rand_like(x)),
        ("randn_like", lambda m, x: m.T.randn_like(x)),
        ("bernoulli_mask", lambda m, x: m.T.rand(x.shape) < 0.9),
        ("zeros", lambda m, x: m.T.zeros(x.shape)),
        ("ones", lambda m, x: m.T.ones(x.shape)),
        ("full", lambda m, x: m.T.full(x.shape, 2.0)),
        ("arange", lambda m, x: m.T.arange(x.numel())),
        ("arange_float", lambda m, x: m.T.arange(0, x.numel() * 0.5, 0.5)),
        ("linspace", lambda m, x: m.T.linspace(0, 1, x.numel())),
        ("eye", lambda m, x: m.T.eye(x.shape[0])),
        ("clone", lambda m, x: x.clone()),
        ("to_float64", lambda m, x: x.to(m.T.float64)),
    ]],
    # the same ops at the operand layouts programs produce: a column broadcast along rows (x -
    # x.mean(-1, keepdim=True)), a 0-d tensor (a loss scale, sum's gradient), transposed views,
    # and copies out of expanded and permuted views
    Spec("sub_column", "layout", lambda m, x, c: x - c, lambda s: [In(EW(s)), In((EW(s)[0], 1))]),
    Spec("mul_0d", "layout", lambda m, x, c: x * c, lambda s: [In(EW(s)), In(())]),
    Spec("div_0d_first", "layout", lambda m, c, x: c / x, lambda s: [In(()), In(EW(s), lo=0.5, hi=2.0)]),
    Spec("add_transposed", "layout", lambda m, x, y: x.T + y.T, lambda s: [In(EW(s)), In(EW(s))]),
    Spec("expand_contiguous", "layout", lambda m, c: c.expand(c.shape[0], c.shape[0]).contiguous(),   # EW is square
         lambda s: [In((EW(s)[0], 1))]),
    Spec("permute_contiguous", "layout", lambda m, x: x.permute(2, 1, 0).contiguous(),
         lambda s: [In((16, EW(s)[0] // 8, EW(s)[1] // 2))]),
]

# Private registry ops, by the case that runs them.
VIA = {
    "_adaptive_avg_pool2d": "adaptive_avg_pool2d", "_adaptive_avg_pool2d_backward": "adaptive_avg_pool2d",
    "_arange": "arange", "_avg_pool2d": "avg_pool2d", "_avg_pool2d_backward": "avg_pool2d",
    "_binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
    "_conv2d": "conv2d", "_conv2d_backward_input": "conv2d", "_conv2d_backward_weight": "conv2d",
    "_cross_entropy": "cross_entropy", "_cross_entropy_backward": "cross_entropy",
    "_cross_entropy_targets": "cross_entropy_smoothing", "_dropout_mask": "dropout",
    "_embedding": "embedding", "_embedding_backward": "embedding", "_eye": "eye", "_fft_c2c": None,
    "_gelu_tanh": None, "_linear": "linear", "_linspace": "linspace", "_log_softmax_backward": "log_softmax",
    "_max_pool2d": "max_pool2d", "_nll_loss": "nll_loss", "_nll_loss_backward": "nll_loss",
    "_pool2d_scatter": "max_pool2d", "_put_offsets": "setitem_tensor", "_rand": "rand", "_randint": "randint",
    "_randn": "randn", "_softmax_backward": "softmax", "_standardize": "layer_norm",
    "_standardize_backward": "layer_norm", "_take_offsets": "getitem_tensor", "_view_backward": "transpose_contiguous",
    "_pool2d_gather": None, "_embedding_backward_adjoint": None, "_standardize_double_backward": None,
    "_round_complex": None, "_cast": "to_float64", "_relu_backward": "relu_F", "_bind_global": None, "manual_seed": None,
    "_adam_step_": None, "_sgd_step_": None, "_rmsprop_step_": None,   # benchmarks/training.py times them
    "std": "std",
}
NOT_TIMED_REASON = {
    "_fft_c2c": "jt.fft is timed by its own tests", "_pool2d_gather": "double backward of max_pool2d only",
    "_embedding_backward_adjoint": "double backward of embedding only",
    "_standardize_double_backward": "double backward of norms only", "_round_complex": "complex round only",
    "_bind_global": "not a computation", "manual_seed": "not a computation",
    "_adam_step_": "benchmarks/training.py", "_sgd_step_": "benchmarks/training.py",
    "_rmsprop_step_": "benchmarks/training.py", "_gelu_tanh": "gelu(approximate='tanh'), same kernel family as gelu",
}


def build_specs():
    """All cases: the map ops from the registry, then SPECS; plus the registry ops that have none."""
    specs, names = [], set()
    for name, op in sorted(REGISTRY.ops.items()):
        if op.kind == "map" and name not in VIA:
            specs.append(map_spec(op))
            names.add(name)
    specs.append(Spec("relu_F", "elementwise", lambda m, x: m.F.relu(x), lambda s: [In(EW(s))]))
    specs += INPLACE_SPECS
    specs += SPECS
    names |= {s.name for s in SPECS}
    missing = sorted(n for n in REGISTRY.ops if n not in names and n not in VIA)
    return specs, missing


# ---- timing -------------------------------------------------------------------------------------

def make_runner(spec, lib, arrays, backward):
    """A no-argument function running the case once on `lib` (forward, or forward + backward)."""
    ins = spec.inputs_cache
    args = []
    for a, inp in zip(arrays, ins):
        t = torch.from_numpy(a.copy()) if lib is TORCH else jt.tensor(a.copy())
        if backward and inp.differentiable:
            t.requires_grad_(True)
        args.append(t)
    if not backward:
        return lambda: spec.call(lib, *args)
    leaves = [t for t, inp in zip(args, ins) if backward and inp.differentiable]

    def first(out):
        return out[0] if isinstance(out, (tuple, list)) else out
    out = first(spec.call(lib, *args))
    grad = lib.T.ones_like(out)

    def run():
        for t in leaves:
            t.grad = None
        first(spec.call(lib, *args)).backward(grad)
    return run


CLOCK = [time.perf_counter]   # --cpu-time: time.thread_time


def _batch(fn, n):
    clock = CLOCK[0]
    t0 = clock()
    for _ in range(n):
        fn()
    return (clock() - t0) / n


def time_pair(fj, ft, rounds, batch_s):
    """Median seconds per call of each, from `rounds` alternating batches of about `batch_s`."""
    for f in (fj, ft, fj, ft):   # warm-up (Julia compiles on the first calls)
        f()
    n = {}
    for key, f in (("jt", fj), ("torch", ft)):
        k = 1
        while True:
            dt = _batch(f, k) * k
            if dt >= batch_s / 4 or k >= 1 << 16:
                break
            k *= 4
        n[key] = max(1, int(k * batch_s / max(dt, 1e-9) / 4) if dt > 0 else k)
    tj, tt = [], []
    for _ in range(rounds):
        gc.collect()
        tj.append(_batch(fj, n["jt"]))
        tt.append(_batch(ft, n["torch"]))
    return statistics.median(tj), statistics.median(tt)


def run_case(spec, size, backward, rounds, batch_s, limit):
    rng = np.random.default_rng(0)
    spec.inputs_cache = spec.inputs(size)
    arrays = [inp.array(rng) for inp in spec.inputs_cache]
    fj = make_runner(spec, JT, arrays, backward)
    ft = make_runner(spec, TORCH, arrays, backward)
    tj, tt = time_pair(fj, ft, rounds, batch_s)
    if tj / tt > limit:   # confirm: a shared machine inflates single measurements
        tj2, tt2 = time_pair(fj, ft, rounds + 4, batch_s * 2)
        if tj2 / tt2 < tj / tt:
            tj, tt = tj2, tt2
    return tj, tt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="medium shapes only, shorter batches")
    ap.add_argument("--only", default="", help="comma-separated texts: run cases whose name contains one")
    ap.add_argument("--sizes", default="", help="comma-separated subset of small,medium,large")
    ap.add_argument("--markdown", default="", help="also write the table to this Markdown file")
    ap.add_argument("--limit", type=float, default=2.0, help="fail when jtensor/torch exceeds this (default 2)")
    ap.add_argument("--threads", default=_THREADS, help="thread count of both libraries (default 1)")
    ap.add_argument("--no-backward", action="store_true", help="forward only")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time this thread's CPU time instead of wall time (on a loaded machine: time "
                         "slices lost to other processes don't count; 1 thread only)")
    args = ap.parse_args()
    if args.cpu_time:
        CLOCK[0] = time.thread_time
    sizes = [s for s in (args.sizes.split(",") if args.sizes else (["medium"] if args.quick else SIZES))]
    rounds, batch_s = (5, 0.02) if args.quick else (7, 0.05)
    only = [t for t in args.only.split(",") if t]
    specs, missing = build_specs()
    print(f"threads: jtensor {os.environ['JTENSOR_NUM_THREADS']}, torch {torch.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.1f}; {len(specs)} cases; sizes {','.join(sizes)}", flush=True)
    if missing:
        print("registry ops with no case: " + ", ".join(missing), flush=True)
    rows, slow, failed = [], [], []
    print(f"{'case':34s} {'size':7s} {'pass':9s} {'jtensor':>10s} {'torch':>10s} {'ratio':>6s}", flush=True)
    for spec in specs:
        if only and not any(t in spec.name for t in only):
            continue
        for size in sizes:
            for bwd in ((False, True) if spec.grad and not args.no_backward else (False,)):
                what = "fwd+bwd" if bwd else "fwd"
                try:
                    tj, tt = run_case(spec, size, bwd, rounds, batch_s, args.limit)
                except Exception as e:   # an op that fails is reported, not hidden
                    failed.append(f"{spec.name} {size} {what}: {type(e).__name__}: {str(e)[:200]}")
                    print(f"{spec.name:34s} {size:7s} {what:9s} FAILED {type(e).__name__}: {str(e)[:120]}",
                          flush=True)
                    continue
                r = tj / tt
                rows.append((spec.kind, spec.name, size, what, tj, tt, r))
                mark = "  <-- SLOW" if r > args.limit else ""
                print(f"{spec.name:34s} {size:7s} {what:9s} {fmt_time(tj):>10s} {fmt_time(tt):>10s} {r:6.2f}{mark}",
                      flush=True)
                if r > args.limit:
                    slow.append(f"{spec.name} ({size}, {what}): {r:.2f}x")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"threads {os.environ['JTENSOR_NUM_THREADS']}, load average {os.getloadavg()[0]:.1f}\n\n")
            f.write("| kind | case | size | pass | jtensor | PyTorch | jtensor/PyTorch |\n|---|---|---|---|---|---|---|\n")
            for kind, name, size, what, tj, tt, r in rows:
                rs = f"**{r:.2f}**" if r > 1.5 else f"{r:.2f}"
                f.write(f"| {kind} | {name} | {size} | {what} | {fmt_time(tj)} | {fmt_time(tt)} | {rs} |\n")
    if rows:
        ratios = [r[-1] for r in rows]
        print(f"\n{len(rows)} timings; median ratio {statistics.median(ratios):.2f}; "
              f"geometric mean {math.exp(statistics.mean(math.log(r) for r in ratios)):.2f}")
    if failed:
        print("\nFAILED cases:\n  " + "\n  ".join(failed))
    if slow:
        print(f"\nSLOWER THAN {args.limit}x PyTorch:\n  " + "\n  ".join(slow))
    sys.exit(1 if slow or failed else 0)


if __name__ == "__main__":
    main()
