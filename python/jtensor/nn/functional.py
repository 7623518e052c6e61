"""`jt.nn.functional`: torch.nn.functional on jtensor, with PyTorch's signatures and semantics.

Thin wrappers: each normalises PyTorch's arguments (int-or-tuple sizes, padding strings, defaults,
legacy and current reduction modes, unbatched inputs) and composes registry ops. The kernels
(convolution, pooling, softmax, standardization, losses, embedding, dropout masks) are Julia ops in
julia/src/ops/nn/ with their derivatives beside them; the composites here (linear, attention, the
affine part of norms, cross-entropy over log_softmax, most losses) are built from differentiable
registry ops, so autograd differentiates them, to any order, for free. Nothing here touches data
directly.
"""
import math
import warnings

from .. import creation as _creation
from .. import dtypes as _dtypes
from ..autograd import no_grad
from ..ops import ops as _ops
from ..random import stream_key
from . import attention as _sdpa_backends

__all__ = [
    "linear", "conv1d", "conv2d", "conv3d", "max_pool2d", "max_pool3d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "relu", "gelu", "silu",
    "tanh", "sigmoid", "softmax", "log_softmax", "layer_norm", "batch_norm", "group_norm", "embedding",
    "dropout", "scaled_dot_product_attention", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy_with_logits",
]


# ---- argument normalisation --------------------------------------------------------------------

class _ArgumentError(RuntimeError, ValueError):
    """A convolution's or pooling's bad shape or argument: PyTorch raises RuntimeError, and
    jtensor's kernels ValueError (a Julia ArgumentError, itself a RuntimeError too); both `except`
    clauses catch this."""


def _ntuple(value, n, name, fn):
    """An int or a sequence of n ints (a 1-sequence repeats) as a tuple of n ints."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{fn}: {name} must be an int or a sequence of {n} ints, got {value!r}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated size_average/reduce pair, turned into a reduction string."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction instead.",
                  stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


def _reduce(loss, reduction, fn):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: {reduction!r} is not a valid value for reduction (expected 'none', 'mean' or 'sum')")


def _channel_shape(x, c):
    """(1, C, 1, ...) for broadcasting a per-channel vector against an (N, C, ...) tensor."""
    return (1, c) + (1,) * (x.ndim - 2)


# ---- linear and convolution ----------------------------------------------------------------------

def linear(input, weight, bias=None):
    """y = input @ weight.T + bias (torch.nn.functional.linear): one Julia op, `_linear`."""
    return _ops._linear(input, weight, bias)


def _conv_padding(padding, nd, kernel, stride, dilation, fn):
    """Padding as (lo, hi) per spatial dim, flattened; 'same' may be asymmetric, as in PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * nd)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise _ArgumentError(f"{fn}: padding='same' is not supported for strided convolutions")
            out = []
            for d, k in zip(dilation, kernel):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        raise _ArgumentError(f"{fn}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
    p = _ntuple(padding, nd, "padding", fn)
    if any(v < 0 for v in p):
        raise _ArgumentError(f"{fn}: negative padding is not supported, got {padding!r}")
    return tuple(v for v in p for _ in range(2))


def _conv(input, weight, bias, stride, padding, dilation, groups, nd, fn):
    if input.ndim not in (nd + 1, nd + 2):
        raise _ArgumentError(f"{fn}: expected {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, "
                         f"but got input of shape {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise _ArgumentError(f"{fn}: expected a {nd + 2}-d weight (out_channels, in_channels/groups, *kernel), "
                         f"but got weight of shape {list(weight.shape)}")
    stride = _ntuple(stride, nd, "stride", fn)
    dilation = _ntuple(dilation, nd, "dilation", fn)
    pads = _conv_padding(padding, nd, weight.shape[2:], stride, dilation, fn)
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    w = weight
    if nd == 1:   # a 1-d convolution is a 2-d one over a height-1 image
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        stride, dilation, pads = (1,) + stride, (1,) + dilation, (0, 0) + pads
    conv = _ops._conv3d if nd == 3 else _ops._conv2d
    out = conv(x, w, bias, stride, pads, dilation, int(groups))
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d cross-correlation over (N, C, L) or (C, L) input; padding may be an int, a 1-tuple,
    'valid' or 'same' (torch.nn.functional.conv1d)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d cross-correlation over (N, C, H, W) or (C, H, W) input; padding may be an int, a pair,
    'valid' or 'same' (torch.nn.functional.conv2d)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d cross-correlation over (N, C, D, H, W) or (C, D, H, W) input; padding may be an int, a
    triple, 'valid' or 'same' (torch.nn.functional.conv3d)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


# ---- pooling --------------------------------------------------------------------------------------

def _pool_stride(stride, kernel, nd, fn):
    """PyTorch's pooling stride: the kernel size when None or empty."""
    if stride is None or (isinstance(stride, (tuple, list)) and not stride):
        return kernel
    return _ntuple(stride, nd, "stride", fn)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    fn = f"max_pool{nd}d"
    k = _ntuple(kernel_size, nd, "kernel_size", fn)
    pool = _ops._max_pool3d if nd == 3 else _ops._max_pool2d
    values, indices = pool(input, k, _pool_stride(stride, k, nd, fn), _ntuple(padding, nd, "padding", fn),
                           _ntuple(dilation, nd, "dilation", fn), bool(ceil_mode))
    return (values, indices) if return_indices else values


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-d max pooling (torch.nn.functional.max_pool2d); with return_indices, also the flat
    h * W + w position of each maximum in its input plane."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W) (torch.nn.functional.max_pool3d); with
    return_indices, also the flat d * H * W + h * W + w position of each maximum in its input volume."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, nd):
    fn = f"avg_pool{nd}d"
    k = _ntuple(kernel_size, nd, "kernel_size", fn)
    pool = _ops._avg_pool3d if nd == 3 else _ops._avg_pool2d
    return pool(input, k, _pool_stride(stride, k, nd, fn), _ntuple(padding, nd, "padding", fn), bool(ceil_mode),
                bool(count_include_pad), None if divisor_override is None else int(divisor_override))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-d average pooling (torch.nn.functional.avg_pool2d)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W) (torch.nn.functional.avg_pool3d)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3)


def _adaptive_size(input, output_size, nd, fn):
    """An adaptive pooling's output size: an int, or nd entries whose None keeps that input size."""
    if input.ndim not in (nd + 1, nd + 2):
        raise _ArgumentError(f"{fn}: expected {nd + 1}-d or {nd + 2}-d input, got shape {list(input.shape)}")
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != nd:
            raise _ArgumentError(f"{fn}: output_size must be an int or {nd} ints, got {output_size!r}")
        return tuple(input.shape[i - nd] if v is None else int(v) for i, v in enumerate(output_size))
    return (int(output_size),) * nd


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size; None in output_size keeps that input size."""
    return _ops._adaptive_avg_pool2d(input, _adaptive_size(input, output_size, 2, "adaptive_avg_pool2d"))


def adaptive_avg_pool3d(input, output_size):
    """3-d average pooling to a fixed (d, h, w) output size; None entries keep that input size."""
    return _ops._adaptive_avg_pool3d(input, _adaptive_size(input, output_size, 3, "adaptive_avg_pool3d"))


# ---- activations ----------------------------------------------------------------------------------

def relu(input, inplace=False):
    """max(input, 0)."""
    return input.relu_() if inplace else _ops.relu(input)


def gelu(input, approximate="none"):
    """GELU: x * Phi(x) ('none') or its tanh approximation ('tanh')."""
    if approximate == "none":
        return _ops.gelu(input)
    if approximate == "tanh":
        return _ops._gelu_tanh(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    """x * sigmoid(x)."""
    return input.silu_() if inplace else _ops.silu(input)


def tanh(input):
    return _ops.tanh(input)


def sigmoid(input):
    return _ops.sigmoid(input)


def _softmax_dim(ndim):
    warnings.warn("Implicit dimension choice for softmax has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum(exp(x)) along dim (a fused, max-shifted kernel); dtype casts the input first."""
    return _ops.softmax(input, _softmax_dim(input.ndim) if dim is None else dim, dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along dim (a fused, numerically stable kernel)."""
    return _ops.log_softmax(input, _softmax_dim(input.ndim) if dim is None else dim, dtype)


# ---- normalization --------------------------------------------------------------------------------

def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Standardize over the trailing normalized_shape dims, then scale and shift elementwise."""
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(v) for v in normalized_shape)
    k = len(ns)
    if k == 0 or k > input.ndim or tuple(input.shape[input.ndim - k:]) != ns:
        raise ValueError(f"layer_norm: given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], but got input of size {list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise ValueError(f"layer_norm: expected {name} of shape {list(ns)}, got {list(t.shape)}")
    return _ops._layer_norm(input, k, weight, bias, float(eps))   # standardize, scale and shift in one kernel


def _check_channel_params(weight, bias, c, fn):
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{fn}: expected {name} of shape [{c}], got {list(t.shape)}")


def _affine_channels(y, weight, bias, c, fn):
    shape = _channel_shape(y, c)
    _check_channel_params(weight, bias, c, fn)
    if weight is not None:
        y = y * weight.reshape(shape)
    return y + bias.reshape(shape) if bias is not None else y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization over (N, C, *) input. Training uses the batch's statistics and, when given,
    updates running_mean/running_var in place: r = (1 - momentum) * r + momentum * batch_stat, with the
    unbiased batch variance. Evaluation uses the running statistics."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of at least 2 dims (N, C, ...), got shape {list(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: expected {name} of shape [{c}], got {list(t.shape)}")
    shape = _channel_shape(input, c)
    if training:
        dims = (0,) + tuple(range(2, input.ndim))
        n = input.numel() // c if c else 0
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {list(input.shape)}")
        _check_channel_params(weight, bias, c, "batch_norm")
        if running_mean is not None or running_var is not None:
            with no_grad():
                mean, var = _ops._channel_norm_stats(input.detach(), c, False)
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
                if running_var is not None:   # the unbiased variance, as torch
                    running_var.mul_(1 - momentum).add_(var.to(running_var.dtype), alpha=momentum * n / (n - 1))
        return _ops._channel_norm(input, c, False, weight, bias, float(eps))   # one fused kernel
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var must be given when training=False")
        y = (input - running_mean.reshape(shape)) * _ops.rsqrt(running_var.reshape(shape) + eps)
    return _affine_channels(y, weight, bias, c, "batch_norm")


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Standardize each group of C/num_groups channels (with all their positions) per sample, then
    scale and shift per channel."""
    if input.ndim < 2:
        raise ValueError(f"group_norm: expected input of at least 2 dims (N, C, ...), got shape {list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise ValueError(f"group_norm: expected number of channels in input to be divisible by num_groups, "
                         f"but got input of shape {list(input.shape)} and num_groups={num_groups}")
    _check_channel_params(weight, bias, c, "group_norm")
    return _ops._channel_norm(input, num_groups, True, weight, bias, float(eps))   # one fused kernel


# ---- embedding, dropout, attention ----------------------------------------------------------------

def _embedding_renorm_(weight, indices, max_norm, norm_type):
    """Rescale, in place, the rows of weight used by indices whose norm exceeds max_norm."""
    with no_grad():
        idx = _ops.unique(indices.reshape(-1))
        rows = weight.index_select(0, idx)
        norms = rows.norm(norm_type, 1, keepdim=True)
        scale = _ops.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[idx] = rows * scale.to(rows.dtype)


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False):
    """Rows of weight at the integer indices in input. padding_idx's row gets no gradient;
    max_norm renormalizes the used rows in place first. Gradients are always dense (sparse=True
    computes the same values)."""
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-d, got shape {list(weight.shape)}")
    num = weight.shape[0]
    if padding_idx is None:
        padding_idx = -1
    elif not -num <= padding_idx < num:
        raise ValueError(f"embedding: padding_idx must be within num_embeddings ({num}), got {padding_idx}")
    elif padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        _embedding_renorm_(weight, input, float(max_norm), float(norm_type))
    return _ops._embedding(weight, input, int(padding_idx), bool(scale_grad_by_freq))


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p); the mask comes from
    jtensor's global generator, so jt.manual_seed makes it reproducible."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    mask = _ops._dropout_mask(input.shape, float(p), input.dtype, stream_key())   # the default generator
    return input.mul_(mask) if inplace else input * mask


def _additive_mask(mask, dtype):
    """A boolean mask (True = attend) as 0 / -inf to add to attention scores."""
    bias = _creation.zeros(mask.shape, dtype=dtype)
    return bias.masked_fill(~mask, float("-inf"))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query @ key.T * scale + mask) @ value over the last two dims (the math of
    torch.nn.functional.scaled_dot_product_attention). attn_mask: bool (True = attend) or float
    (added); is_causal masks key positions after each query's; enable_gqa repeats key/value heads."""
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError("scaled_dot_product_attention: query, key and value need at least 2 dims")
    _sdpa_backends.check_backends(query, key, value, dropout_p)   # as torch's sdpa_kernel restricts them
    L, S = query.shape[-2], key.shape[-2]
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk = query.shape[-3], key.shape[-3]
        if hq % hk:
            raise ValueError(f"scaled_dot_product_attention: {hq} query heads are not a multiple of {hk} key heads")
        rep = hq // hk

        def repeat_heads(t):
            lead = t.shape[:-3]
            e = t.unsqueeze(-3).expand(lead + (hk, rep) + t.shape[-2:])
            return e.reshape(lead + (hq,) + t.shape[-2:])
        key, value = repeat_heads(key), repeat_heads(value)
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    if attn_mask is None:   # scaling, causal mask and softmax in one kernel
        attn = _ops._attention_softmax(query @ key.mT, float(factor), bool(is_causal))
        if dropout_p > 0:
            attn = dropout(attn, dropout_p, True)
        return attn @ value
    scores = (query @ key.mT) * factor
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give either attn_mask or is_causal, not both")
        causal = _creation.ones((L, S), dtype=_dtypes.bool_).tril()
        scores = scores + _additive_mask(causal, scores.dtype)
    if attn_mask is not None:
        scores = scores + (_additive_mask(attn_mask, scores.dtype) if attn_mask.dtype == _dtypes.bool_ else attn_mask)
    attn = _ops.softmax(scores, -1)
    if dropout_p > 0:
        attn = dropout(attn, dropout_p, True)
    return attn @ value


# ---- losses ---------------------------------------------------------------------------------------

def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood of class-index targets given log-probabilities (N, C, ...) or (C,)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _ops._nll_loss(input, target, weight, int(ignore_index), reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits (N, C, ...) or (C,) against class indices (with ignore_index) or
    class probabilities (same shape as input); label_smoothing mixes in the uniform distribution."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension (classes)")
    if not target.dtype.is_floating_point:   # class indices: one fused kernel, forward and backward
        return _ops._cross_entropy(input, target, weight, int(ignore_index), float(label_smoothing), reduction)
    cdim = 0 if input.ndim == 1 else 1       # class probabilities
    c = input.shape[cdim]
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"cross_entropy: probability targets must have the input's shape {list(input.shape)}, "
                         f"got {list(target.shape)}")
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = _ops.log_softmax(input, cdim)
    if weight is None and reduction in ("mean", "sum"):
        # the per-row sums would only be added up: one sum over every element instead
        total = -(logp * target).sum()
        return total / (input.numel() // c if c else 1) if reduction == "mean" else total
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((c,) + (1,) * (input.ndim - cdim - 1))
    loss = -prod.sum(cdim)
    if reduction == "mean":
        return loss.sum() / (input.numel() // c if c else 1)
    return _reduce(loss, reduction, "cross_entropy")


def _pointwise_loss(diff, weight, input, reduction, fn):
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError(f"{fn}: weights and input must have the same size")
        diff = diff * weight
        if reduction == "mean":
            return diff.sum() / weight.sum()
    return _reduce(diff, reduction, fn)


def _check_target_size(input, target, fn):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"{fn}: using a target size ({list(target.shape)}) that is different to the input size "
                      f"({list(input.shape)}); this will likely lead to incorrect results due to broadcasting.",
                      stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (optionally weighted elementwise; weighted 'mean' divides by the weights' sum)."""
    _check_target_size(input, target, "mse_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _pointwise_loss(_ops.square(input - target), weight, input, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error (optionally weighted elementwise; weighted 'mean' divides by the weights' sum)."""
    _check_target_size(input, target, "l1_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _pointwise_loss(_ops.abs(input - target), weight, input, reduction, "l1_loss")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross-entropy of logits, computed without overflow; pos_weight weighs the positive term
    (broadcast over the class dim), weight each element."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"binary_cross_entropy_with_logits: target size ({list(target.shape)}) must be the same "
                         f"as input size ({list(input.shape)})")
    loss = _ops._binary_cross_entropy_with_logits(input, target, 1.0 if pos_weight is None else pos_weight)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# ---- the other families, one module each under nn/_functional (they use the helpers above) --------
from ._functional import activations as _activations  # noqa: E402
from ._functional.activations import *  # noqa: E402,F401,F403
from ._functional import distance as _distance  # noqa: E402
from ._functional.distance import *  # noqa: E402,F401,F403
from ._functional import losses as _losses  # noqa: E402
from ._functional.losses import *  # noqa: E402,F401,F403
from ._functional import layers as _layers  # noqa: E402
from ._functional.layers import *  # noqa: E402,F401,F403
from ._functional import grids as _grids  # noqa: E402
from ._functional.grids import *  # noqa: E402,F401,F403
from ._functional import resampling as _resampling  # noqa: E402
from ._functional.resampling import *  # noqa: E402,F401,F403
from ._functional import pooling as _pooling  # noqa: E402
from ._functional.pooling import *  # noqa: E402,F401,F403
from ._functional import fractional as _fractional  # noqa: E402
from ._functional.fractional import *  # noqa: E402,F401,F403
from ._functional import unpooling as _unpooling  # noqa: E402
from ._functional.unpooling import *  # noqa: E402,F401,F403
from ._functional import norms as _norms  # noqa: E402
from ._functional.norms import *  # noqa: E402,F401,F403
from ._functional import attention as _attention  # noqa: E402
from ._functional.attention import *  # noqa: E402,F401,F403

__all__ += (_activations.__all__ + _distance.__all__ + _losses.__all__ + _layers.__all__ + _resampling.__all__
            + _pooling.__all__ + _fractional.__all__ + _norms.__all__ + _grids.__all__ + _unpooling.__all__
            + _attention.__all__)
