"""Normalization and bag functions of torch.nn.functional: instance_norm, rms_norm,
local_response_norm and embedding_bag, composed of differentiable registry ops (`_standardize`,
`_embedding`, reductions, scatter_add), as PyTorch composes most of them."""
import numpy as np

from ... import creation as _creation
from ..._tensor import tensor as _tensor
from ...autograd import no_grad
from ...ops import ops as _ops

__all__ = ["instance_norm", "rms_norm", "local_response_norm", "embedding_bag"]

_EPS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23, "float64": 2.0 ** -52}


def _F():
    from .. import functional
    return functional


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Standardize each channel of each sample over its spatial positions (N, C, *spatial), then
    scale and shift per channel. With use_input_stats and running buffers, they move toward the
    batch's average instance mean and unbiased variance; without use_input_stats, the running
    statistics normalize instead."""
    F = _F()
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input of at least 3 dims (N, C, *spatial), got shape "
                         f"{list(input.shape)}")
    c = input.shape[1]
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("Expected running_mean and running_var to be defined when use_input_stats is false")
        return F.batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    n_spatial = int(np.prod(input.shape[2:]))
    if n_spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(input.shape)}")
    F._check_channel_params(weight, bias, c, "instance_norm")
    if running_mean is not None or running_var is not None:
        with no_grad():   # the batch's average instance mean and unbiased variance
            mean, var = _ops._channel_norm_stats(input.detach(), c, True)
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.mean(0).to(running_mean.dtype), alpha=momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(var.mean(0).to(running_var.dtype),
                                                    alpha=momentum * n_spatial / (n_spatial - 1))
    return _ops._channel_norm(input, c, True, weight, bias, float(eps))   # one fused kernel


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """input / sqrt(mean(input^2) + eps) over the trailing normalized_shape dims, times weight;
    eps None is the dtype's machine epsilon, as PyTorch."""
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else tuple(int(v) for v in normalized_shape)
    k = len(ns)
    if k == 0 or k > input.ndim or tuple(input.shape[input.ndim - k:]) != ns:
        raise RuntimeError(f"rms_norm: given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size {list(input.shape)}")
    if weight is not None and tuple(weight.shape) != ns:
        raise RuntimeError(f"rms_norm: expected weight of shape {list(ns)}, got {list(weight.shape)}")
    if eps is None:
        eps = _EPS.get(str(input.dtype).split(".")[-1], 2.0 ** -23)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * _ops.rsqrt(_ops.square(input).mean(dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """input / (k + alpha * mean of input^2 over `size` neighbouring channels)^beta (channels dim 1,
    zero-padded at the ends), as PyTorch composes it."""
    F = _F()
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    n, c = input.shape[:2]
    sq = _ops.square(input).reshape(n, 1, c, -1)   # channels as the height of a 1-channel image
    sq = F.pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = F.avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    return input / (div * alpha + k) ** beta


def _bags(input, offsets, include_last_offset, fn):
    """(flat indices, bag id of each, number of bags) for embedding_bag's two input layouts."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             "fixed length sequences.")
        b, length = input.shape
        return input.reshape(-1), np.repeat(np.arange(b), length), b
    if input.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    offs = np.asarray(offsets.tolist(), dtype=np.int64)
    total = input.shape[0]
    if offs.size and offs[0] != 0:
        raise RuntimeError(f"{fn}: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                           f"from position 0. However, got {offs[0]}")
    if np.any(np.diff(offs) < 0) or (offs.size and offs[-1] > total):
        raise RuntimeError(f"{fn}: offsets must be non-decreasing and at most the input length {total}")
    bounds = np.append(offs, total) if not include_last_offset else offs
    b = len(bounds) - 1
    counts = np.diff(bounds)
    if include_last_offset:   # elements past the last offset belong to no bag
        input = input[:int(bounds[-1])]
    return input, np.repeat(np.arange(b), counts), b


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embedding rows: the rows of each row of a 2-d input, or of
    each input[offsets[i]:offsets[i+1]] of a 1-d one. padding_idx entries count in no bag; an empty
    bag gives zeros; per_sample_weights (mode 'sum' only) scale each row first."""
    F = _F()
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                      f"on GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: If per_sample_weights ({list(per_sample_weights.shape)}) is not None, "
                             f"then it must have the same shape as the input ({list(input.shape)})")
    flat, bag, b = _bags(input, offsets, include_last_offset, "embedding_bag")
    num, dim = weight.shape
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    rows = F.embedding(flat, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[:rows.shape[0]].unsqueeze(1)
    if padding_idx is not None:   # padding entries belong to no bag
        used = np.asarray(flat.reshape(-1).tolist(), dtype=np.int64) != padding_idx
        if not used.all():
            rows, bag = rows.index_select(0, _tensor(np.nonzero(used)[0])), bag[used]
    counts = np.bincount(bag, minlength=b)
    if mode == "max":
        width = max(int(counts.max()) if counts.size else 0, 1)
        pos = np.full((b, width), rows.shape[0], dtype=np.int64)   # the last row: a -inf filler
        start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        for i in range(b):
            pos[i, :counts[i]] = np.arange(start[i], start[i] + counts[i])
        filler = _creation.full((1, dim), float("-inf"), dtype=weight.dtype)
        table = _ops.cat([rows, filler]).index_select(0, _tensor(pos.reshape(-1))).reshape(b, width, dim)
        values = table.max(1)[0]
        return _ops.where(_tensor(counts > 0).unsqueeze(1), values, 0) if (counts == 0).any() else values
    index = _tensor(bag).unsqueeze(1).expand(len(bag), dim)
    out = _creation.zeros((b, dim), dtype=rows.dtype).scatter_add(0, index, rows)
    if mode == "mean":
        out = out / _tensor(np.maximum(counts, 1), dtype=out.dtype).unsqueeze(1)
    return out
