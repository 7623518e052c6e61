"""Pooling and transposed convolution functions of torch.nn.functional beyond the 2-d and 3-d kernels
in `jtensor.nn.functional`: the 1-d poolings (a 2-d pooling over a height-1 image, as for conv1d),
adaptive max pooling (2-d and 3-d), power-average (LP) pooling and conv_transpose1d/2d/3d (the input
gradient of a convolution, `_conv2d_backward_input` / `_conv3d_backward_input`, which is exactly a
transposed convolution)."""

import numpy as np

from ..._tensor import tensor as _tensor
from ...ops import ops as _ops

__all__ = ["max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices"]


def _F():
    from .. import functional
    return functional


def _one(value, name, fn):
    """An int or a 1-sequence as an int."""
    return _F()._ntuple(value, 1, name, fn)[0]


def _check_1d(input, fn):
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor for input, but got input of shape "
                           f"{list(input.shape)}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """1-d max pooling over (N, C, L) or (C, L); indices are positions along L."""
    _check_1d(input, "max_pool1d")
    k = _one(kernel_size, "kernel_size", "max_pool1d")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _one(stride, "stride", "max_pool1d")
    out = _F().max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(padding, "padding", "max_pool1d")),
                          (1, _one(dilation, "dilation", "max_pool1d")), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-d average pooling over (N, C, L) or (C, L)."""
    _check_1d(input, "avg_pool1d")
    k = _one(kernel_size, "kernel_size", "avg_pool1d")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _one(stride, "stride", "avg_pool1d")
    return _F().avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(padding, "padding", "avg_pool1d")),
                           ceil_mode, count_include_pad).squeeze(-2)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling of (N, C, L) or (C, L) to output_size positions."""
    _check_1d(input, "adaptive_avg_pool1d")
    return _F().adaptive_avg_pool2d(input.unsqueeze(-2), (1, _one(output_size, "output_size",
                                                                   "adaptive_avg_pool1d"))).squeeze(-2)


def _bins(n_in, n_out):
    """Adaptive pooling bins [floor(i n_in / n_out), ceil((i + 1) n_in / n_out)) as an (n_out, width)
    table of input positions (short bins repeat their last position, which changes no maximum)."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)
    width = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(width)[None, :], end[:, None] - 1)


def _adaptive_max_pool(input, output_size, return_indices, nd):
    """Max pooling of the last nd dims to output_size (None entries keep the input size): the bins of
    each axis gathered with index_select, their maximum over the flattened window; with
    return_indices, also the flat position of each maximum in its input plane."""
    fn = f"adaptive_max_pool{nd}d"
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}: Expected {nd + 1}D or {nd + 2}D tensor, but got {list(input.shape)}")
    n = tuple(input.shape[-nd:])
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != nd:
            raise RuntimeError(f"{fn}: output_size must be an int or {nd} ints, got {output_size!r}")
        o = tuple(n[i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        o = (int(output_size),) * nd
    if min(n) == 0 or min(o) <= 0:
        raise RuntimeError(f"{fn}: expected a non-empty input and positive output_size, got input "
                           f"{list(input.shape)} and output_size {o}")
    bins = [_bins(a, b) for a, b in zip(n, o)]
    lead = tuple(input.shape[:-nd])
    x = input
    for i, b in enumerate(bins):
        x = x.index_select(i - nd, _tensor(b.reshape(-1)))
    x = x.reshape(*lead, *(v for b in bins for v in b.shape))            # lead, o1, k1, o2, k2, ...
    m = len(lead)
    order = list(range(m)) + [m + 2 * i for i in range(nd)] + [m + 2 * i + 1 for i in range(nd)]
    window = int(np.prod([b.shape[1] for b in bins]))
    values, arg = x.permute(*order).reshape(*lead, *o, window).max(-1)
    if not return_indices:
        return values
    strides = [int(np.prod(n[i + 1:])) for i in range(nd)]
    flat = sum(b.reshape((1,) * i + (b.shape[0],) + (1,) * (nd - 1 - i) + (1,) * i + (b.shape[1],)
                         + (1,) * (nd - 1 - i)) * st for i, (b, st) in enumerate(zip(bins, strides)))
    table = _tensor(flat.reshape(int(np.prod(o)), window))      # (positions, window taps) -> flat index
    pos = arg.reshape(-1, int(np.prod(o))).mT                     # (positions, planes)
    return values, table.gather(1, pos).mT.reshape(values.shape)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling of (N, C, H, W) or (C, H, W) to output_size (None entries keep the input size);
    with return_indices, also the flat h * W + w position of each maximum."""
    return _adaptive_max_pool(input, output_size, return_indices, 2)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W) to output_size (None entries keep the input
    size); with return_indices, also the flat d * H * W + h * W + w position of each maximum."""
    return _adaptive_max_pool(input, output_size, return_indices, 3)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling of (N, C, L) or (C, L) to output_size positions."""
    _check_1d(input, "adaptive_max_pool1d")
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, _one(output_size, "output_size", "adaptive_max_pool1d")),
                              return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _lp(avg, norm_type, count):
    """(sign(avg) * relu(|avg|) * count) ** (1 / p): PyTorch's composition after the average pool."""
    return (_ops.sign(avg) * _ops.relu(_ops.abs(avg)) * count) ** (1.0 / norm_type)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, nd):
    """(sum over each window of x^p)^(1/p) over the last nd dims; p = ±inf is the max (min) of |x|."""
    F = _F()
    k = F._ntuple(kernel_size, nd, "kernel_size", f"lp_pool{nd}d")
    max_pool = {1: max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    if norm_type == float("inf"):
        return max_pool(input.abs(), k, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool(-input.abs(), k, stride, 0, 1, ceil_mode)
    avg_pool = {1: avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
    return _lp(avg_pool(input ** norm_type, k, stride, 0, ceil_mode), norm_type, int(np.prod(k)))


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), 1-d."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), 2-d."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each window of x^p)^(1/p), 3-d."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, nd, fn):
    F = _F()
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}: expected {nd + 1}-d (unbatched) or {nd + 2}-d (batched) input, but got input of "
                           f"shape {list(input.shape)}")
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{fn}: expected a {nd + 2}-d weight (in_channels, out_channels/groups, *kernel), but got "
                           f"weight of shape {list(weight.shape)}")
    s, p, op, d = (F._ntuple(v, nd, name, fn) for v, name in ((stride, "stride"), (padding, "padding"),
                                                              (output_padding, "output_padding"),
                                                              (dilation, "dilation")))
    if any(o >= max(si, di) for o, si, di in zip(op, s, d)):
        raise RuntimeError(f"{fn}: output padding must be smaller than either stride or dilation, but got "
                           f"output_padding={op}, stride={s}, dilation={d}")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"{fn}: input with {x.shape[1]} channels does not match weight of shape "
                           f"{list(weight.shape)} (expected {weight.shape[0]} input channels)")
    w = weight
    if nd == 1:   # a height-1 image, as conv1d
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        s, p, op, d = (1,) + s, (0,) + p, (0,) + op, (1,) + d
    k = w.shape[2:]
    size = [x.shape[0], w.shape[1] * groups] + [(n - 1) * si - 2 * pi + di * (ki - 1) + oi + 1
                                                for n, si, pi, di, ki, oi in zip(x.shape[2:], s, p, d, k, op)]
    if min(size[2:]) <= 0:
        raise RuntimeError(f"{fn}: the computed output size {size[2:]} is too small for input {list(input.shape)}")
    pads = tuple(v for v in p for _ in range(2))
    conv_input_grad = _ops._conv3d_backward_input if nd == 3 else _ops._conv2d_backward_input
    out = conv_input_grad(x, w, size, s, pads, d, int(groups))
    if bias is not None:
        out = out + bias.reshape((1, -1) + (1,) * (out.ndim - 2))
    if nd == 1:
        out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-d transposed convolution of (N, C_in, L) or (C_in, L) with an (C_in, C_out/groups, k) weight."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution of (N, C_in, H, W) or (C_in, H, W) with an (C_in, C_out/groups, kh, kw)
    weight."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-d transposed convolution of (N, C_in, D, H, W) or (C_in, D, H, W) with an
    (C_in, C_out/groups, kd, kh, kw) weight."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 3,
                           "conv_transpose3d")


# PyTorch's explicit (values, indices) forms.
def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _F().max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return _F().max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)
