"""Resampling functions of torch.nn.functional: interpolate (and the legacy upsample*), pixel
shuffle / unshuffle and unfold / fold (im2col / col2im).

They are composed of differentiable registry ops (index_select, gather, scatter_add, reshape,
permute), with the index and weight tables computed on the host from the sizes alone, so
autograd differentiates them to any order. interpolate is separable: it resamples one spatial dim
at a time, each output element a weighted sum of 1 (nearest), 2 (linear) or 4 (cubic) input
elements along that dim, with PyTorch's source-index conventions (align_corners, scale_factor)."""
import math
import warnings

import numpy as np

from ... import creation as _creation
from ..._tensor import tensor as _tensor
from ...ops import ops as _ops

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle",
           "channel_shuffle", "unfold", "fold"]

_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2,
          "area": None}
_CUBIC_A = -0.75


def _source_scale(n_in, n_out, align_corners, scale):
    """PyTorch's area_pixel_compute_scale: input pixels per output pixel."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _taps(mode, n_in, n_out, align_corners, scale):
    """(indices, weights): for each output position along one dim, the input positions it reads
    and their weights, as (taps, n_out) arrays."""
    dst = np.arange(n_out, dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        s = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
        off = 0.5 if mode == "nearest-exact" else 0.0
        idx = np.minimum(np.floor((dst + off) * s).astype(np.int64), n_in - 1)
        return idx[None], np.ones((1, n_out))
    s = _source_scale(n_in, n_out, align_corners, scale)
    src = dst * s if align_corners else (dst + 0.5) * s - 0.5
    if mode == "bicubic":
        i = np.floor(src)
        t = src - i
        a = _CUBIC_A
        w = [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
             ((a + 2) * t - (a + 3)) * t * t + 1,
             ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
             ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a]
        idx = [np.clip(i + k, 0, n_in - 1).astype(np.int64) for k in (-1, 0, 1, 2)]
        return np.stack(idx), np.stack(w)
    src = np.maximum(src, 0.0)   # linear: PyTorch clamps negative source positions to 0
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    return np.stack([i0, i1]), np.stack([1 - lam, lam])


def _resample_dim(x, dim, n_out, mode, align_corners, scale):
    idx, w = _taps(mode, x.shape[dim], n_out, align_corners, scale)
    if len(idx) == 1:
        return x.index_select(dim, _tensor(idx[0]))
    shape = [1] * x.ndim
    shape[dim] = n_out
    out = None
    for i, wk in zip(idx, w):
        term = x.index_select(dim, _tensor(i)) * _tensor(wk, dtype=x.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def _per_dim(value, nd, spatial, name, described, letter):
    """A number or a sequence of one per spatial dim, as a list of nd values (PyTorch's message
    when the sequence has the wrong length)."""
    if not isinstance(value, (list, tuple)):
        return [value] * nd
    if len(value) != nd:
        raise ValueError(f"Input and {name} must have the same number of spatial dimensions, but got input with "
                         f"spatial dimensions of {list(spatial)} and {described} {list(value)}. Please provide input "
                         f"tensor in (N, C, d1, d2, ...,dK) format and {described.split(' of')[0]} in "
                         f"({letter}1, {letter}2, ...,{letter}K) format.")
    return list(value)


def _output_sizes(input, size, scale_factor, nd, recompute_scale_factor):
    """The output spatial sizes and the scales the kernels use (None: derived from the sizes)."""
    if (size is None) == (scale_factor is None):
        raise ValueError("either size or scale_factor should be defined" if size is None else
                         "only one of size or scale_factor should be defined")
    spatial = input.shape[2:]
    if size is not None:
        return [int(v) for v in _per_dim(size, nd, spatial, "output", "output size", "o")], [None] * nd
    scales = [float(v) for v in _per_dim(scale_factor, nd, spatial, "scale_factor", "scale_factor of shape", "s")]
    sizes = [int(math.floor(n * s)) for n, s in zip(spatial, scales)]
    return sizes, [None] * nd if recompute_scale_factor else scales


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of an (N, C, *spatial) input to `size` or by `scale_factor`; modes
    nearest, nearest-exact, linear (3-d input), bilinear (4-d), trilinear (5-d), bicubic (4-d) and
    area (adaptive average pooling, 3-d and 4-d)."""
    if mode not in _MODES:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by jtensor")
    nd = input.ndim - 2
    if nd < 1 or nd > 3 or (_MODES[mode] is not None and _MODES[mode] != nd):
        want = {1: "3D", 2: "4D", 3: "5D"}.get(_MODES[mode], "3D, 4D or 5D")
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {want} input")
    sizes, scales = _output_sizes(input, size, scale_factor, nd, recompute_scale_factor)
    if mode == "area":
        from ..functional import adaptive_avg_pool2d
        if nd == 1:
            return adaptive_avg_pool2d(input.unsqueeze(2), (1, sizes[0])).squeeze(2)
        if nd == 2:
            return adaptive_avg_pool2d(input, tuple(sizes))
        raise NotImplementedError("interpolate: mode='area' supports 3-d and 4-d input in jtensor")
    out = input
    for k in range(nd):
        out = _resample_dim(out, 2 + k, sizes[k], mode, align_corners, scales[k])
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (warns, as PyTorch)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _shuffle_factor(input, factor, fn, name):
    """The checked factor of pixel_shuffle / pixel_unshuffle (an input of at least 3 dims)."""
    r = int(factor)
    if input.ndim < 3:
        raise RuntimeError(f"{fn} expects input to have at least 3 dimensions, but got input with {input.ndim} "
                           f"dimension(s)")
    if r <= 0:
        raise RuntimeError(f"{fn} expects a positive {name}, but got {r}")
    return r


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block."""
    r = _shuffle_factor(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of pixel_shuffle."""
    r = _shuffle_factor(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but got "
                           f"input of size {list(input.shape)} and downscale_factor={r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, g * k, *) -> (N, k * g, *): interleave the channels of the g groups."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    g = int(groups)
    n, c = input.shape[:2]
    if g <= 0 or c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)


def _patch_index(size, kernel, dilation, padding, stride, fn):
    """For im2col over a padded (H + 2 ph, W + 2 pw) plane: the flat position of each (kernel
    offset, output position) pair, as a (kh kw * L,) int64 array, and the number of blocks L."""
    from ..functional import _ntuple
    k, d, p, s = (_ntuple(v, 2, name, fn) for v, name in ((kernel, "kernel_size"), (dilation, "dilation"),
                                                           (padding, "padding"), (stride, "stride")))
    if min(k) <= 0 or min(d) <= 0 or min(s) <= 0 or min(p) < 0:
        raise RuntimeError(f"{fn}: kernel_size, dilation and stride must be positive and padding non-negative, got "
                           f"kernel_size={k}, dilation={d}, padding={p}, stride={s}")
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    oh = (hp - d[0] * (k[0] - 1) - 1) // s[0] + 1
    ow = (wp - d[1] * (k[1] - 1) - 1) // s[1] + 1
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"{fn}: given input with spatial size {tuple(size)}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, calculated shape of the array of sliding blocks as ({oh}, {ow}), but its "
                           f"components must be at least one.")
    rows = (np.arange(k[0]) * d[0])[:, None, None, None] + (np.arange(oh) * s[0])[None, None, :, None]
    cols = (np.arange(k[1]) * d[1])[None, :, None, None] + (np.arange(ow) * s[1])[None, None, None, :]
    return (rows * wp + cols).reshape(-1), oh * ow, p, (hp, wp), k[0] * k[1]


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: (N, C, H, W) -> (N, C kh kw, L), the sliding kh x kw blocks as columns."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c = x.shape[:2]
    idx, blocks, p, (hp, wp), kk = _patch_index(x.shape[2:], kernel_size, dilation, padding, stride, "unfold")
    xp = _ops.pad(x, [p[1], p[1], p[0], p[0]]) if any(p) else x
    cols = xp.reshape(n, c, hp * wp).index_select(2, _tensor(idx)).reshape(n, c * kk, blocks)
    return cols.squeeze(0) if unbatched else cols


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im: (N, C kh kw, L) -> (N, C, H, W), summing the blocks where they overlap (the adjoint
    of unfold)."""
    from ..functional import _ntuple
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.ndim}D)")
    unbatched = input.ndim == 2
    x = input.unsqueeze(0) if unbatched else input
    size = _ntuple(output_size, 2, "output_size", "fold")
    idx, blocks, p, (hp, wp), kk = _patch_index(size, kernel_size, dilation, padding, stride, "fold")
    n, ck, length = x.shape
    if ck % kk:
        raise RuntimeError(f"fold: expected size of input's dimension 1 to be divisible by the product of "
                           f"kernel_size, but got input.size(1)={ck} and kernel_size={kk}")
    if length != blocks:
        raise RuntimeError(f"fold: given output_size={size}, kernel_size, dilation, padding and stride, expected "
                           f"size of input's dimension 2 to match the calculated number of sliding blocks {blocks}, "
                           f"but got input.size(2)={length}.")
    c = ck // kk
    index = _tensor(idx).reshape(1, 1, -1).expand(n, c, idx.size)
    out = _creation.zeros((n, c, hp * wp), dtype=x.dtype).scatter_add(2, index, x.reshape(n, c, kk * blocks))
    out = out.reshape(n, c, hp, wp)
    if any(p):
        out = out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out.squeeze(0) if unbatched else out
