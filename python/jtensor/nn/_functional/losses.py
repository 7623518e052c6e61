"""Losses of torch.nn.functional beyond the core ones in `jtensor.nn.functional`.

binary_cross_entropy, smooth_l1_loss / huber_loss and kl_div are fused elementwise registry ops
(julia/src/ops/losses.jl) followed by the reduction; the others are composed of differentiable
registry ops, as PyTorch composes them. Every loss takes PyTorch's legacy size_average / reduce
arguments where PyTorch does and the reductions 'none', 'mean' and 'sum'."""
import math
import warnings

import numpy as np

from ... import creation as _creation
from ..._tensor import tensor as _tensor
from ...autograd import no_grad
from ...ops import ops as _ops
from ..functional import _check_target_size, _legacy_reduction, _reduce

__all__ = [
    "binary_cross_entropy", "smooth_l1_loss", "huber_loss", "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
    "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss", "ctc_loss", "multilabel_margin_loss",
]


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100, as PyTorch); weight
    multiplies each element (broadcast)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({list(target.shape)}) that is different to the input size "
                         f"({list(input.shape)}) is deprecated. Please ensure they have the same size.")
    with no_grad():
        if bool(((input < 0) | (input > 1)).any()):
            raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = _ops._binary_cross_entropy(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2, for d = input - target (beta = 0: L1)."""
    _check_target_size(input, target, "smooth_l1_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _reduce(_ops._huber(input, target, float(beta), 1.0), reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2); optionally weighted elementwise
    (a weighted 'mean' still divides by the element count, as PyTorch's huber_loss)."""
    _check_target_size(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    loss = _ops._huber(input, target, float(delta), float(delta))
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError("Weights and input must have the same size.")
        loss = loss * weight
    return _reduce(loss, reduction, "huber_loss")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence: target * (log(target) - input), input being log-probabilities
    (and target too with log_target). 'batchmean' divides the sum by the batch size, the
    mathematically right reduction; 'mean' (the default) divides by every element and warns, as PyTorch."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    loss = _ops._kl_div(input, target, bool(log_target))
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction, "kl_div")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of target under Poisson(input): exp(input) - target * input with
    log_input, else input - target * log(input + eps); full adds Stirling's term for target > 1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    loss = _ops.exp(input) - target * input if log_input else input - target * _ops.log(input + eps)
    if full:
        stirling = target * _ops.log(target) - target + 0.5 * _ops.log(2 * math.pi * target)
        loss = loss + _ops.where(target > 1, stirling, 0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) with full); var is clamped at eps
    (without gradient through the clamp, as PyTorch) and may omit input's last dim or be broadcast
    along one dim."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _creation.full_like(input, float(var))
    else:
        with no_grad():
            if bool((var < 0).any()):
                raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    with no_grad():
        floor = _ops.where(var < eps, eps - var, 0)   # clamp(var, eps) with the gradient of var itself
    var = var + floor
    loss = 0.5 * (_ops.log(var) + _ops.square(input - target) / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1 (cosine along
    the last dim, each squared norm offset by 1e-12 as PyTorch)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"cosine_embedding_loss: expected 1-d or 2-d inputs of the same shape, got "
                           f"{list(input1.shape)} and {list(input2.shape)}")
    if target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{input1.ndim}D target tensor expects {input1.ndim - 1}D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(target.shape)}.")
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    mag = (_ops.square(input1).sum(-1) + eps) * (_ops.square(input2).sum(-1) + eps)
    cos = dot / _ops.sqrt(mag)
    loss = _ops.where(target == 1, 1 - cos, 0) + _ops.where(target == -1, _ops.relu(cos - margin), 0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None, reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {list(input1.shape)}, input2: {list(input2.shape)}, target: {list(target.shape)} ")
    return _reduce(_ops.relu(-target * (input1 - input2) + margin), reduction, "margin_ranking_loss")


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """input where target is 1, max(0, margin - input) where it is -1."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = _ops.where(target != 1, _ops.relu(margin - input), 0) + _ops.where(target != -1, input, 0)
    return _reduce(loss, reduction, "hinge_embedding_loss")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)), computed as softplus without overflow."""
    _check_target_size(input, target, "soft_margin_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce(_ops.softplus(-target * input), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Per sample, the mean over classes (last dim) of the binary logistic loss of each class;
    weight multiplies each class."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = -(target * _ops._log_sigmoid(input) + (1 - target) * _ops._log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1] if input.ndim else loss
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge loss of (N, C) or (C,) scores against class indices: per sample,
    sum over i != y of max(0, margin - x[y] + x[i])^p / C, times weight[y]."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.ndim > 2 or (input.ndim == 2 and target.shape != input.shape[:1]) or \
            (input.ndim < 2 and target.numel() != 1):
        raise RuntimeError(f"multi_margin_loss: inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    y = target.reshape(-1, 1)
    c = x.shape[1]
    z = _ops.relu(margin - x.gather(1, y) + x)
    if p == 2:
        z = _ops.square(z)
    if weight is not None:
        if weight.ndim != 1 or weight.shape[0] != c:
            raise RuntimeError(f"multi_margin_loss: weight must be 1-d with {c} elements, got {list(weight.shape)}")
        z = z * weight.index_select(0, y.reshape(-1)).reshape(-1, 1)
    not_target = _creation.arange(c).reshape(1, c) != y
    loss = _ops.where(not_target, z, 0).sum(1) / c
    loss = loss.reshape(target.shape)
    return _reduce(loss, reduction, "multi_margin_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, d(a, p) - d(a, n) + margin) with d the p-norm pairwise distance; swap uses
    min(d(a, n), d(p, n))."""
    from .distance import pairwise_distance
    reduction = _legacy_reduction(size_average, reduce, reduction)
    a, pos, neg = anchor.ndim, positive.ndim, negative.ndim
    if not a == pos == neg:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {pos}D, and negative {neg}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(_ops.relu(margin + d_pos - d_neg), reduction, "triplet_margin_loss")


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                      reduction="mean"):
    """triplet_margin_loss with any distance function (default: pairwise_distance)."""
    from .distance import pairwise_distance
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: expected margin to be greater than 0, got {margin} "
                         f"instead")
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = _ops.minimum(d_neg, dist(positive, negative))
    return _reduce(_ops.relu(margin + d_pos - d_neg), reduction, "triplet_margin_with_distance_loss")


_CTC_FLOOR = -1e30   # log 0 for unreachable CTC states: finite, so that logsumexp's gradient stays finite


def _lengths(value, n, name):
    lengths = value.tolist() if hasattr(value, "tolist") else list(value)
    lengths = [int(v) for v in (lengths if isinstance(lengths, list) else [lengths])]
    if len(lengths) != n:
        raise RuntimeError(f"ctc_loss: {name} must have one entry per batch element ({n}), got {len(lengths)}")
    return lengths


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist temporal classification loss of (T, N, C) (or unbatched (T, C)) log-probabilities
    against targets ((N, S) padded, or 1-d concatenated): the negative log of the summed probability
    of every alignment, by the forward (alpha) recursion in log space over the blank-interleaved
    targets, composed of registry ops so that autograd gives its gradient. 'mean' divides each loss
    by its target length, then averages; zero_infinity zeroes impossible alignments' infinite losses.
    The gradient is the exact derivative; PyTorch's adds exp(log_probs) * grad, which the backward of
    the usual log_softmax before it cancels, so gradients to the logits agree."""
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs of 2 or 3 dims (T, [N,] C), got {list(log_probs.shape)}")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    steps, n, c = lp.shape
    t_len = _lengths(input_lengths, n, "input_lengths")
    s_len = _lengths(target_lengths, n, "target_lengths")
    flat = [int(v) for v in np.asarray(targets.tolist()).reshape(-1)]
    if targets.ndim == 2 or (unbatched and targets.ndim == 1 and len(flat) == s_len[0]):
        width = targets.shape[-1]
        labels = [flat[i * width:i * width + s_len[i]] for i in range(n)]
    else:
        starts = np.concatenate([[0], np.cumsum(s_len)[:-1]]).astype(int)
        labels = [flat[starts[i]:starts[i] + s_len[i]] for i in range(n)]
    if any(t > steps or t < 0 for t in t_len):
        raise RuntimeError(f"ctc_loss: input_lengths must be between 0 and {steps}, got {t_len}")
    if not 0 <= blank < c:
        raise RuntimeError(f"ctc_loss: blank must be in label range, got {blank} for {c} classes")
    ext_len = 2 * max(s_len + [0]) + 1
    ext = np.full((n, ext_len), blank, dtype=np.int64)        # blank, l1, blank, l2, ..., blank
    skip = np.zeros((n, ext_len), dtype=bool)                  # may alpha(s - 2) feed alpha(s)?
    for i, lab in enumerate(labels):
        ext[i, 1:2 * len(lab):2] = lab
        for s in range(3, 2 * len(lab), 2):
            skip[i, s] = ext[i, s] != ext[i, s - 2]
    valid = np.arange(ext_len)[None, :] < (2 * np.asarray(s_len) + 1)[:, None]
    index = _tensor(ext)
    skip_t = _tensor(skip)
    floor = _creation.full((n, ext_len), _CTC_FLOOR, dtype=lp.dtype)
    start = np.zeros((n, ext_len), dtype=bool)
    start[:, 0] = True
    start[:, 1] = np.asarray(s_len) > 0
    alpha = _ops.where(_tensor(start & valid), lp[0].gather(1, index), floor)
    edge = _creation.full((n, 1), _CTC_FLOOR, dtype=lp.dtype)
    edge2 = _creation.full((n, 2), _CTC_FLOOR, dtype=lp.dtype)
    live_mask = _tensor(valid)
    for t in range(1, steps):
        prev1 = _ops.cat([edge, alpha[:, :-1]], 1)
        prev2 = _ops.where(skip_t, _ops.cat([edge2, alpha[:, :-2]], 1), floor)
        step = _ops.logsumexp(_ops.stack([alpha, prev1, prev2]), 0) + lp[t].gather(1, index)
        running = _tensor(np.asarray([t < t_len[i] for i in range(n)])).unsqueeze(1)
        alpha = _ops.where(running & live_mask, step, _ops.where(running, floor, alpha))
    last = _tensor(np.asarray([[2 * s, max(2 * s - 1, 0)] for s in s_len]))
    ends = alpha.gather(1, last)
    ends = _ops.where(_tensor(np.asarray(s_len) > 0).unsqueeze(1), ends,
                      _ops.cat([ends[:, :1], _creation.full((n, 1), _CTC_FLOOR, dtype=lp.dtype)], 1))
    loss = -_ops.logsumexp(ends, 1)
    empty_input = _tensor(np.asarray(t_len) == 0)
    impossible = (loss > -_CTC_FLOOR / 2) | empty_input
    loss = _ops.where(impossible, 0.0 if zero_infinity else float("inf"), loss)
    if reduction == "mean":
        denom = _tensor(np.maximum(np.asarray(s_len), 1), dtype=loss.dtype)
        return (loss / denom).mean()
    if unbatched:
        loss = loss.reshape(())
    return _reduce(loss, reduction, "ctc_loss")


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss of (N, C) or (C,) scores: target lists each sample's classes, ended by
    the first -1; per sample, the sum over listed classes j and unlisted classes i of
    max(0, 1 - (x[j] - x[i])), divided by C."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input.ndim > 2 or tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"multilabel_margin_loss: inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(-1, input.shape[-1] if input.ndim else 1)
    n, c = x.shape
    labels = np.asarray(target.tolist(), dtype=np.int64).reshape(n, c)
    counts = np.zeros((n, c))   # how often each class is listed (before the first -1)
    for row, lab in zip(counts, labels):
        for v in lab:
            if v < 0:
                break
            if v >= c:
                raise RuntimeError(f"multilabel_margin_loss: target index {v} is out of bounds for {c} classes")
            row[v] += 1
    listed = _tensor(counts, dtype=x.dtype)
    unlisted = _tensor(counts == 0, dtype=x.dtype)
    hinge = _ops.relu(1 - x.unsqueeze(2) + x.unsqueeze(1))   # [n, j, i]: 1 - (x[j] - x[i])
    loss = (hinge * listed.unsqueeze(2) * unlisted.unsqueeze(1)).sum((1, 2)) / c
    loss = loss.reshape(input.shape[:-1]) if input.ndim else loss.reshape(())
    return _reduce(loss, reduction, "multilabel_margin_loss")
