"""The workload traced to build JTensor's system image (see `jtensor.sysimage`).

A system image holds native code only for the method specializations it was built with, and those
are the ones Python really reaches: plans specialised on dtypes and dims, entry paths, argument
types. So the workload is generated from the op registry rather than listed by hand:

- every public op, at float32, float64, int64 and bool, on tensors of 0 to 4 dims, contiguous
  and strided, with its required arguments filled from their declared types, along a `dim` when
  it takes one, and with Python scalars for binary elementwise ops;
- the same with autograd (backward through each float op), and under `jt.func.grad` and `vmap`;
- mixed-dtype elementwise calls (int with float, float32 with float64, bool with anything);
- what programs do around the ops: nn modules and functional forms, optimizers and training
  loops like examples/train_digits.py and benchmarks/training.py, creation functions, indexing,
  printing, DLPack and NumPy conversion.

Most calls succeed; a call whose generated arguments do not fit the op (a matrix op given a
vector, say) raises, and that is fine: it is tracing, not testing. Run it as
`python -m jtensor._workload`; it prints how many calls ran and failed.
"""
import itertools
import sys
import time

import numpy as np

import jtensor as jt
from jtensor import nn
from jtensor.nn import functional as F
from jtensor.schema import _MISSING

DTYPES = (jt.float32, jt.float64, jt.int64, jt.bool)
FLOATS = (jt.float32, jt.float64)
SHAPES = {0: (), 1: (4,), 2: (4, 4), 3: (2, 4, 4), 4: (2, 2, 4, 4)}


class Counter:
    def __init__(self):
        self.ok = self.failed = 0

    def run(self, fn, *args, **kwargs):
        """Call fn, swallowing any error; returns its result or None."""
        try:
            r = fn(*args, **kwargs)
        except Exception:
            self.failed += 1
            return None
        self.ok += 1
        return r


def sample(dtype, ndim, strided=False):
    """A tensor of `dtype` with SHAPES[ndim]: contiguous, or a transposed/sliced view of the same shape."""
    shape = SHAPES[ndim]
    if strided and ndim >= 1:
        big = jt.arange(int(np.prod(shape)) * 2, dtype=jt.float64).reshape(*shape[:-1], shape[-1] * 2)
        base = (big % 7 - 3).to(dtype)[..., ::2]
        return base.transpose(-1, -2) if ndim >= 2 else base
    data = (np.arange(int(np.prod(shape))) % 7 - 3).reshape(shape) / (2 if dtype in FLOATS else 1)
    return jt.tensor(data.astype(np.float64)).to(dtype)


def _value(param, t):
    """An argument for a required parameter of declared type `param.type`, for sample tensor t."""
    kind = param.type.replace("Optional[", "").rstrip("]")
    if kind == "Tensor" and param.name in ("index", "indices", "offsets"):
        return jt.zeros(tuple(t.shape), dtype=jt.int64)
    if kind == "Tensor" and param.name in ("mask", "condition"):
        return jt.ones(tuple(t.shape), dtype=jt.bool)
    return {
        "Tensor": t, "Scalar": 2, "int": 1, "float": 0.5, "bool": False, "Dim": -1, "Dims": -1,
        "Shape": tuple(t.shape) or (1,), "IntList": (1,) * max(t.ndim, 1), "TensorList": [t, t],
        "DType": jt.float64, "str": "ij,jk->ik",
    }.get(kind, t)


SHARD = (0, 1)   # (this process's index, number of processes) when the work is split (--shard)


def public_ops():
    """Registry ops users call by name (not the `_`-prefixed helpers that functional code calls),
    this shard's share of them."""
    ops = [op for op in jt._REGISTRY.ops.values() if not op.name.startswith("_") and op.fn is not None
           and op.name not in ("manual_seed",)]
    i, n = SHARD
    return ops[i::n]


def call_op(c, op, t, **extra):
    args = []
    kwargs = dict(extra)
    for p in op.params:
        if p.name in kwargs or (p.default is not _MISSING and not p.vararg):
            continue
        v = _value(p, t)
        if p.kwonly:
            kwargs[p.name] = v
        elif p.vararg:
            args.extend(v if isinstance(v, tuple) else [v])
        else:
            args.append(v)
    return c.run(op.fn, *args, **kwargs)


def _takes(op, name):
    return any(p.name == name for p in op.params)


def _cases(dtypes, ranks):
    """(dtype, ndim, strided) to call each op with. Ranks matter to non-elementwise ops, whose
    plans are typed by each tensor's rank; elementwise plans are not (they run at rank 2 only)."""
    for dtype in dtypes:
        for ndim in ranks:
            yield dtype, ndim, False
            if ndim == 2:
                yield dtype, 2, True


def _every_op(c, dtypes, ranks, variants=True):
    """Each public op at each case of _cases; with `variants`, also along a dim, with keepdim, and
    binary elementwise ops with a Python int, float and bool."""
    for op in public_ops():
        for dtype, ndim, strided in _cases(dtypes, ranks):
            if op.kind == "map" and ndim != 2:
                continue
            t = sample(dtype, ndim, strided)
            call_op(c, op, t)
            if variants and not strided and ndim >= 2 and _takes(op, "dim"):
                call_op(c, op, t, dim=1)
            if variants and not strided and ndim >= 1 and _takes(op, "keepdim"):
                call_op(c, op, t, dim=-1, keepdim=True)
        if variants and op.kind == "map" and len(op.tensor_params) == 2:
            for dtype, scalar in itertools.product(dtypes, (2, 0.5, True)):
                c.run(op.fn, sample(dtype, 2), scalar)


def every_op_float32_matrix(c):
    """Each public op on a float32 matrix, contiguous and strided, with its defaults."""
    _every_op(c, (jt.float32,), (2,), variants=False)


def every_op_float32_variants(c):
    """float32 matrices along a dim, with keepdim, and with Python scalars."""
    _every_op(c, (jt.float32,), (2,))


def every_op_float32_other_ranks(c):
    """The same on float32 vectors, 3-d and 4-d tensors and scalars (0-d)."""
    _every_op(c, (jt.float32,), (1, 3, 4, 0))


def every_op_other_dtypes(c):
    """The same at float64, int64 and bool, on matrices and vectors."""
    _every_op(c, (jt.float64, jt.int64, jt.bool), (2, 1))


BROADCAST_OPS = ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
                 "copy_")


def broadcast_operands(c):
    """Binary elementwise ops with an operand broadcast along the inner run: a column (N, 1), as in
    `x - x.mean(-1, keepdim=True)`, and a 0-d tensor, in either position. The engine reads such an
    operand once per run, in loops compiled for each combination when first met, on runs of
    HOIST_MIN elements or more (julia/src/engine.jl `run_raw!`), so the image needs them traced:
    the everyday binary ops (BROADCAST_OPS) at float32, the arithmetic ones at float64 too, and
    add, sub and mul at int64 (index arithmetic). Every binary op would add
    minutes to the image's build for combinations few programs meet; theirs compile on first use."""
    for op in public_ops():
        if op.name not in BROADCAST_OPS:
            continue
        dtypes = (jt.float32, jt.float64, jt.int64) if op.name in ("add", "sub", "mul") else \
            (jt.float32, jt.float64) if op.name == "div" else (jt.float32,)
        for dtype in dtypes:
            x = (jt.arange(64 * 64) % 7 - 3).reshape(64, 64).to(dtype)   # runs of HOIST_MIN or more
            for other in (x[:, :1], x[0, 0]):
                c.run(op.fn, x, other)
                c.run(op.fn, other, x)


def with_autograd(c):
    """Backward through each float op (the derivative formulas run registered ops too)."""
    for op in public_ops():
        for dtype, ndim in ((jt.float32, 2), (jt.float64, 2), (jt.float32, 3)):
            t = sample(dtype, ndim).requires_grad_()
            r = call_op(c, op, t)
            if isinstance(r, tuple):
                r = r[0]
            if isinstance(r, jt.Tensor) and r.requires_grad and r.dtype in FLOATS:
                c.run(lambda: r.sum().backward())


def with_transforms(c):
    """Elementwise and reduction ops under jt.func.grad and vmap(grad), float32."""
    for op in public_ops():
        if op.kind != "map" and not _takes(op, "dim"):
            continue
        x = sample(jt.float32, 2)
        c.run(lambda: jt.func.grad(lambda v: call_op(c, op, v).sum())(x))
        c.run(lambda: jt.func.vmap(lambda v: call_op(c, op, v))(sample(jt.float32, 3)))
    w = sample(jt.float32, 2)
    xs = sample(jt.float32, 3)
    c.run(lambda: jt.func.vmap(jt.func.grad(lambda w, x: (x @ w).tanh().sum()), in_dims=(None, 0))(w, xs))
    c.run(lambda: jt.func.jacrev(lambda v: v.sin() * 2)(sample(jt.float32, 1)))
    c.run(lambda: jt.func.hessian(lambda v: (v ** 3).sum())(sample(jt.float32, 1)))
    c.run(lambda: jt.func.jvp(lambda v: v.exp(), (sample(jt.float32, 1),), (sample(jt.float32, 1),)))
    c.run(lambda: jt.func.vjp(lambda v: v.exp(), sample(jt.float32, 1))[1](sample(jt.float32, 1)))


def _create(c, dtype, shape):
    """The common creation functions once at `dtype` (`shape` for those that take one)."""
    for make in (jt.zeros, jt.ones, jt.empty, jt.rand, jt.randn):
        c.run(make, *shape, dtype=dtype)
    c.run(jt.full, shape, 2, dtype=dtype)
    c.run(jt.randint, 0, 5, shape, dtype=dtype)
    c.run(jt.arange, 10, dtype=dtype)
    c.run(jt.eye, 3, dtype=dtype)


def creation_defaults(c):
    """Creation functions at the default float32 and at int64, as nearly every program starts."""
    for dtype in (jt.float32, jt.int64):
        for shape in ((3,), (3, 4)):
            _create(c, dtype, shape)
    c.run(jt.tensor, [[1.0, 2.0], [3.0, 4.0]])
    c.run(jt.tensor, [1, 2])
    c.run(jt.manual_seed, 0)


def tensor_basics(c, dtype=jt.float32):
    """What programs do around ops, on float32 matrices: indexing (ints, slices, index and mask
    tensors), comparisons with Python numbers, conversions, views, printing."""
    x = sample(dtype, 2)
    for other in DTYPES:
        c.run(x.to, other)
    for cmp in ("__gt__", "__lt__", "__ge__", "__le__", "__eq__", "__ne__"):
        for v in (0.5, 0):
            c.run(getattr(x, cmp), v)
    idx = jt.tensor([0, 2])
    for key in (0, (1, 2), slice(1, 3), (slice(None), 1), idx, (idx, idx), x > 0, (Ellipsis, None), -1):
        c.run(lambda: x[key])
        c.run(x.__setitem__, key, 1)
    c.run(lambda: x[x > 0].sum().item())
    c.run(lambda: float(x.sum()))
    c.run(lambda: x.view(16).reshape(2, 8).permute(1, 0).contiguous())
    c.run(lambda: x.unsqueeze(0).squeeze(0).flatten().expand(2, 16).clone())
    c.run(lambda: jt.cat([x, x], dim=1))
    c.run(lambda: jt.stack([x, x]))
    c.run(lambda: x.chunk(2) + x.split(2))
    c.run(lambda: jt.linalg.norm(x))
    c.run(lambda: F.linear(x, x))
    c.run(repr, x)
    c.run(x.tolist)
    c.run(np.from_dlpack, x)


def everyday_ops(c):
    """The ops nearly every program calls first, at float32 matrices, with and without autograd:
    traced early so that their plans always fall within the image's plan budget (the budget keeps
    the first plans traced, and the registry-wide parts after this one grow with every new op)."""
    x, y, w = sample(jt.float32, 2), sample(jt.float32, 2) + 1, sample(jt.float32, 2)
    calls = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b,
             lambda a, b: a @ b, lambda a, b: jt.maximum(a, b), lambda a, b: jt.minimum(a, b),
             lambda a, b: jt.where(a > 0.5, a, b), lambda a, b: F.linear(a, b), lambda a, b: jt.cat([a, b]),
             lambda a, b: jt.einsum("ij,jk->ik", a, b), lambda a, b: jt.einsum("ij,ij->i", a, b),
             lambda a, b: jt.exp(a), lambda a, b: jt.tanh(a), lambda a, b: jt.relu(a), lambda a, b: jt.sigmoid(a),
             lambda a, b: a.sum(), lambda a, b: a.sum(dim=1), lambda a, b: a.mean(dim=0), lambda a, b: a.mean(),
             lambda a, b: jt.softmax(a, dim=1), lambda a, b: F.log_softmax(a, dim=1),
             lambda a, b: jt.sort(a, dim=1), lambda a, b: jt.argmax(a, dim=1), lambda a, b: a.max(dim=1),
             lambda a, b: jt.linalg.norm(a), lambda a, b: a.T.contiguous(), lambda a, b: a[a > 0.5],
             # in place (their plans read self through the output: plans of their own)
             lambda a, b: a.clone().add_(b), lambda a, b: a.clone().mul_(0.5), lambda a, b: a.clone().sub_(b),
             lambda a, b: a.clone().div_(b), lambda a, b: a.clone().mul_(b), lambda a, b: a.clone().add_(b, alpha=0.1),
             lambda a, b: a.clone().clamp_(0, 1), lambda a, b: a.clone().relu_()]
    for f in calls:
        c.run(f, x, y)
        c.run(f, x.T, w)   # strided operands
        xg, yg = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
        out = c.run(f, xg, yg)
        if out is not None and getattr(out, "requires_grad", False):
            c.run(lambda: out.sum().backward() if not isinstance(out, tuple) else out[0].sum().backward())


def transposes(c):
    """Loops with a transposed operand at a size where the engine runs them in tiles
    (julia/src/engine.jl `tiled_range!`, compiled when first met): copies out of transposed views
    at the common dtypes, the arithmetic ops on a transposed operand, and a transposed view's
    gradient (a strided write)."""
    for dtype in (jt.float32, jt.float64, jt.int64, jt.bool):
        x = jt.ones(64, 64, dtype=dtype)
        c.run(lambda: x.T.contiguous())
    x, y = jt.rand(64, 64), jt.rand(64, 64)
    for f in (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b):
        c.run(f, x.T, y)
        c.run(f, x, y.T)
    xg = x.clone().requires_grad_(True)
    c.run(lambda: (xg.T * y).sum().backward())


def large_operands(c):
    """The everyday elementwise ops, forward, backward and in place, on a tensor large enough
    (512x512) for the engine to split the loop across Julia's threads (julia/src/engine.jl
    `run_threaded!`): those loops compile when a plan first runs such a job, which the small
    samples of the other parts never do. Nothing to trace when Julia runs one thread."""
    x, y = jt.rand(512, 512) + 0.5, jt.rand(512, 512) + 0.5
    calls = (lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
             lambda a, b: a * 0.5, lambda a, b: jt.exp(a), lambda a, b: jt.tanh(a), lambda a, b: jt.relu(a),
             lambda a, b: jt.sigmoid(a), lambda a, b: jt.where(a > b, a, b), lambda a, b: a.clone().add_(b),
             lambda a, b: a.clone().mul_(0.9), lambda a, b: a.clone().add_(b, alpha=0.1))
    for f in calls:
        c.run(f, x, y)
        xg = x.clone().requires_grad_(True)
        out = c.run(f, xg, y)
        if out is not None and out.requires_grad:
            c.run(lambda: out.sum().backward())


def creation_and_tensor(c):
    """Creation functions, conversions, indexing, printing and DLPack, as programs use them."""
    for dtype in DTYPES + (jt.int32, jt.uint8, jt.int8, jt.int16, jt.float16, jt.complex64, jt.complex128):
        _create(c, dtype, (3, 4))
        c.run(jt.arange, 0, 5, 0.5, dtype=dtype)
        c.run(jt.linspace, 0, 1, 5, dtype=dtype)
        t = c.run(jt.ones, 3, 4, dtype=dtype)
        if t is None:
            continue
        for other in DTYPES:
            c.run(t.to, other)
        c.run(repr, t)
        c.run(t.tolist)
        c.run(t.numpy)
        c.run(np.from_dlpack, t)
        c.run(jt.from_dlpack, t)
    for dtype in DTYPES:
        tensor_basics(c, dtype)
    c.run(jt.tensor, [[1, 2], [3, 4]])
    c.run(jt.tensor, [1.5, 2.5])
    c.run(jt.tensor, [True, False])
    c.run(jt.from_numpy, np.ones((2, 3), np.float32))
    c.run(jt.manual_seed, 0)


def nn_layers_float32(c):
    """nn modules and functional forms, forward and backward, in float32 (the default)."""
    _nn_layers(c, jt.float32)


def nn_layers_float64(c):
    """The same in float64."""
    _nn_layers(c, jt.float64)


def _nn_layers(c, *dtypes):
    for dtype in dtypes:
        kw = {"dtype": dtype}
        x2, x4 = jt.randn(8, 16, dtype=dtype), jt.randn(2, 3, 8, 8, dtype=dtype)
        x8 = jt.randn(2, 8, 8, 8, dtype=dtype)   # channels enough for the im2col path (not planar)
        seq = jt.randn(2, 5, 16, dtype=dtype)
        layers = [
            (nn.Linear(16, 8, **kw), x2), (nn.Linear(16, 8, bias=False, **kw), x2),
            (nn.Conv2d(3, 4, 3, padding=1, **kw), x4), (nn.Conv2d(3, 4, 3, stride=2, **kw), x4),
            (nn.Conv2d(8, 32, 3, padding=1, **kw), x8),
            (nn.Conv1d(5, 4, 3, **kw), seq), (nn.MaxPool2d(2), x4), (nn.AvgPool2d(2), x4),
            (nn.AdaptiveAvgPool2d(1), x4), (nn.BatchNorm2d(3, **kw), x4), (nn.BatchNorm1d(16, **kw), x2),
            (nn.LayerNorm(16, **kw), seq), (nn.GroupNorm(1, 3, **kw), x4), (nn.Dropout(0.5), x4),
            (nn.ReLU(), x2), (nn.GELU(), x2), (nn.GELU("tanh"), x2), (nn.SiLU(), x2), (nn.Tanh(), x2),
            (nn.Sigmoid(), x2), (nn.Softmax(-1), seq), (nn.LogSoftmax(-1), x2), (nn.Flatten(), x4),
            (nn.MultiheadAttention(16, 2, batch_first=True, **kw), seq), (nn.Identity(), x2),
            (nn.LSTM(16, 8, 2, batch_first=True, **kw), seq), (nn.GRU(16, 8, batch_first=True, **kw), seq),
            (nn.RNN(16, 8, **kw), seq), (nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, **kw), seq),
            (nn.LeakyReLU(), x2), (nn.ELU(), x2), (nn.Softplus(), x2), (nn.Hardswish(), x2), (nn.Mish(), x2),
            (nn.ReLU6(), x2), (nn.PReLU(**kw), x2), (nn.ConvTranspose2d(3, 4, 3, stride=2, **kw), x4),
            (nn.Upsample(scale_factor=2), x4), (nn.InstanceNorm2d(3, **kw), x4), (nn.RMSNorm(16, **kw), seq),
            (nn.ZeroPad2d(1), x4), (nn.MaxPool1d(2), seq), (nn.AvgPool1d(2), seq),
        ]
        for layer, x in layers:
            for train in (True, False):
                layer.train(train)
                inp = x.clone().requires_grad_()
                args = (inp, inp, inp) if isinstance(layer, nn.MultiheadAttention) else (inp,)
                out = c.run(layer, *args)
                if isinstance(out, tuple):
                    out = out[0]
                if out is not None:
                    c.run(lambda: out.sum().backward())
        emb = nn.Embedding(10, 16, **kw)
        c.run(lambda: emb(jt.tensor([[1, 2, 3]])).sum().backward())
        target = jt.tensor([1, 0, 3, 2, 1, 0, 3, 2])
        logits = jt.randn(8, 4, dtype=dtype, requires_grad=True)
        for loss in (lambda: F.cross_entropy(logits, target), lambda: F.cross_entropy(logits, target, label_smoothing=0.1),
                     lambda: F.nll_loss(F.log_softmax(logits, dim=1), target),
                     lambda: F.mse_loss(logits, logits.detach() * 2), lambda: F.l1_loss(logits, logits.detach()),
                     lambda: F.binary_cross_entropy_with_logits(logits, (logits.detach() > 0).to(dtype)),
                     lambda: nn.CrossEntropyLoss()(logits, target), lambda: nn.MSELoss()(logits, logits.detach()),
                     lambda: F.smooth_l1_loss(logits, logits.detach() * 2), lambda: F.huber_loss(logits, logits.detach()),
                     lambda: F.kl_div(F.log_softmax(logits, 1), F.softmax(logits.detach(), 1), reduction="batchmean"),
                     lambda: F.binary_cross_entropy(logits.sigmoid(), (logits.detach() > 0).to(dtype))):
            c.run(lambda: loss().backward())
        q = jt.randn(2, 2, 5, 8, dtype=dtype, requires_grad=True)
        c.run(lambda: F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward())
        c.run(lambda: F.layer_norm(seq, (16,)).sum())
        c.run(lambda: F.dropout(x4, 0.1).sum())


def every_optimizer():
    """A maker for each optimizer class jt.optim exports, at its defaults (lr=1e-3 where required)."""
    classes = [getattr(jt.optim, n) for n in dir(jt.optim)]
    classes = [k for k in classes if isinstance(k, type) and issubclass(k, jt.optim.Optimizer) and k is not jt.optim.Optimizer]
    return tuple((lambda k: lambda p: k(p, lr=1e-3))(k) for k in classes)


def training_loops(c):
    """A few steps of the MLP and CNN of examples/train_digits.py, and an MLP with each optimizer."""
    jt.manual_seed(0)
    mlp = lambda: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    cnn = lambda: nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(16 * 2 * 2, 10))
    xs = {"mlp": jt.rand(32, 64), "cnn": jt.rand(32, 1, 8, 8)}
    y = jt.randint(0, 10, (32,))
    optimizers = (lambda p: jt.optim.SGD(p, lr=0.1, momentum=0.9),) + every_optimizer()
    for (name, make), opt_fn in itertools.product((("mlp", mlp), ("cnn", cnn)), optimizers):
        model = make()
        opt = opt_fn(model.parameters())
        model.train()
        for k in range(2):
            def step():
                idx = jt.tensor(np.arange(k, 32, 2))   # a mini-batch, as the digits example picks them

                def closure():
                    opt.zero_grad()
                    loss = F.cross_entropy(model(xs[name][idx]), y[idx])
                    loss.backward()
                    return loss
                return opt.step(closure).item()   # every optimizer takes a closure (LBFGS needs one)
            c.run(step)
        model.eval()
        with jt.no_grad():
            c.run(lambda: (model(xs[name]).argmax(dim=1) == y).float().mean().item())
        c.run(model.state_dict)
    # per-example gradients, as benchmarks/training.py times them
    w, b = jt.randn(10, 64), jt.randn(10)
    loss = lambda w, b, x, t: F.cross_entropy(F.linear(x.unsqueeze(0), w, b), t.unsqueeze(0))
    c.run(lambda: jt.func.vmap(jt.func.grad(loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(w, b, xs["mlp"], y))


# The parts in order of importance: the image builder keeps a budget of the traced methods, in the
# order they were first compiled, so what programs meet first comes first. Each part is split by op
# across shards ("per op") or run whole by one shard.
PARTS = ((creation_defaults, "whole"), (everyday_ops, "whole"), (tensor_basics, "whole"), (training_loops, "whole"),
         (nn_layers_float32, "whole"),
         (every_op_float32_matrix, "per op"), (broadcast_operands, "per op"), (with_autograd, "per op"),
         (every_op_float32_variants, "per op"), (nn_layers_float64, "whole"),
         (every_op_float32_other_ranks, "per op"), (creation_and_tensor, "whole"),
         (every_op_other_dtypes, "per op"), (with_transforms, "per op"),
         (transposes, "whole"), (large_operands, "whole"))
# The last two make no plans (so the plan budget is not their concern); whole parts alternate
# between shards, which this keeps balanced. A part whose every method would fall past the plan
# budget only lengthens the build: binary ops on two different dtypes (all plans) were such a part,
# 28% of the tracing time in a build of 2026-12-08 for nothing kept, and are no longer run.


def main(argv=None):
    import argparse
    import warnings
    parser = argparse.ArgumentParser(prog="python -m jtensor._workload")
    parser.add_argument("--shard", default="0/1", help="I/N: run the I-th of N shares of the work")
    args = parser.parse_args(argv)
    global SHARD
    i, n = (int(v) for v in args.shard.split("/"))
    SHARD = (i, n)
    warnings.simplefilter("ignore")
    c = Counter()
    whole = [p for p, how in PARTS if how == "whole"]
    mine = [p for p, how in PARTS if how == "per op" or whole.index(p) % n == i]
    for part in mine:
        t0 = time.perf_counter()
        ok, failed = c.ok, c.failed
        part(c)
        print(f"workload {part.__name__}: {c.ok - ok} calls ran, {c.failed - failed} raised, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
