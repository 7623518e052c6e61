"""Autocast's state and op lists (kept apart from `jtensor.amp` so the drivers and the public
wrappers can read them at no import cost).

While CPU autocast is on (`jt.autocast("cpu")`), the ops PyTorch runs in lower precision on the CPU
(matrix products, convolutions, linear, attention) cast their float32 tensor arguments to the
autocast dtype, and the losses cast float16/bfloat16 arguments up to float32, as torch's CPU
autocast does; every other op runs on what it is given (mixed inputs promote as usual). The casts
are ordinary differentiable `.to` calls, so gradients reach the float32 parameters as float32.
Registry ops are cast in the driver (`drivers.run_fn`, with the C fast path switched off for them
while autocast is on); Python-composed public functions by their public wrapper
(`overrides.public`). Names are registry qualnames and public function names; the two kinds of
entry meet on the same tensor at most twice, and a second cast is a no-op.
"""

dtype = [None]   # the autocast dtype while CPU autocast is on, else None

LOWER = frozenset({
    # registry ops
    "matmul", "mm", "bmm", "linalg.matmul", "einsum", "tensordot", "linalg.tensordot", "vecdot",
    "linalg.vecdot", "_linear", "_conv2d", "_conv2d_backward_input", "_conv3d", "_conv3d_backward_input", "_prelu",
    # Python-composed public functions
    "addmm", "baddbmm", "addbmm", "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "prelu", "scaled_dot_product_attention",
})
FP32 = frozenset({
    "_cross_entropy", "_nll_loss", "_binary_cross_entropy", "_binary_cross_entropy_with_logits",
    "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
    "multilabel_margin_loss", "cosine_embedding_loss", "triplet_margin_loss", "multi_margin_loss",
    "ctc_loss",
})
REGISTRY_OPS = frozenset(n for n in LOWER | FP32 if n.startswith("_") or n in (
    "matmul", "mm", "bmm", "linalg.matmul", "einsum", "tensordot", "linalg.tensordot", "vecdot", "linalg.vecdot"))


def policy(name):
    """'lower', 'fp32' or None for a registry qualname or public function name."""
    return "lower" if name in LOWER else "fp32" if name in FP32 else None


def _cast(x, kind, target):
    from ._tensor import Tensor
    if isinstance(x, Tensor):
        k = x.dtype.name
        if kind == "lower" and k == "float32" or kind == "fp32" and k in ("float16", "bfloat16"):
            return x.to(target)
        return x
    if isinstance(x, (list, tuple)) and x and any(isinstance(v, Tensor) for v in x):
        return type(x)(_cast(v, kind, target) for v in x)
    return x


def cast_args(name, args, kwargs=None):
    """`args` (and `kwargs`) with the casts the op `name` gets under autocast."""
    kind = policy(name)
    if kind is None or dtype[0] is None:
        return args, kwargs
    from . import dtypes as D
    target = dtype[0] if kind == "lower" else D.float32
    args = type(args)(_cast(a, kind, target) for a in args)
    if kwargs:
        kwargs = {k: _cast(v, kind, target) for k, v in kwargs.items()}
    return args, kwargs
