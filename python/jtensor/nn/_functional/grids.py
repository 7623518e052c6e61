"""Spatial transformer functions of torch.nn.functional: `affine_grid` and `grid_sample`.

Both are composed from differentiable registry ops, so autograd gives the gradients with respect
to the input and the grid (or theta) that PyTorch's kernels compute. `grid_sample` unnormalizes
the grid's [-1, 1] coordinates to pixel positions, applies the padding mode to them (border
clips, reflection reflects, zeros masks the taps that fall outside), then gathers the four (or,
for "nearest", one) neighbouring pixels of each output position from the flattened image.
"""
import warnings

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...ops import ops as _ops

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


def _align(align_corners):
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(n, align_corners, like):
    """The n sample positions along one dim of the output grid, in [-1, 1]."""
    if n <= 1:
        return _creation.zeros(n, dtype=like.dtype, device=like.device)
    steps = _creation.linspace(-1.0, 1.0, n, dtype=like.dtype, device=like.device)
    return steps if align_corners else steps * ((n - 1) / n)


def affine_grid(theta, size, align_corners=None):
    """The sampling grid of the affine maps `theta`, (N, 2, 3) for a 4-d `size` (N, C, H, W) or
    (N, 3, 4) for a 5-d one (N, C, D, H, W): (N, H, W, 2) or (N, D, H, W, 3) coordinates (x first)."""
    align_corners = _align(align_corners)
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    spatial = len(size) - 2
    if spatial not in (2, 3):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {list(size)}.")
    want = (size[0], spatial, spatial + 1)
    if theta.ndim != 3 or tuple(theta.shape) != want:
        raise ValueError(f"Expected a batch of {spatial}D affine matrices of shape Nx{spatial}x{spatial + 1} for "
                         f"size {list(size)}. Got {list(theta.shape)}.")
    if min(size[2:]) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    dims = size[2:][::-1]                       # x (width) first, as the grid's last axis
    axes = [_base_coords(n, align_corners, theta) for n in dims]
    count = 1
    for n in dims:
        count *= n
    columns = []
    for i, a in enumerate(axes):               # coordinate i varies along output dim -(i+1)
        shape = [1] * spatial
        shape[spatial - 1 - i] = dims[i]
        columns.append(a.reshape(shape).expand(size[2:]).reshape(count, 1))
    columns.append(_creation.ones(count, 1, dtype=theta.dtype, device=theta.device))
    base = _ops.cat(columns, 1)                          # (count, spatial + 1)
    grid = _ops.matmul(base, theta.transpose(1, 2))      # (N, count, spatial)
    return grid.reshape((size[0],) + size[2:] + (spatial,))


def _reflect(coord, low2, high2):
    """PyTorch's reflect_coordinates: reflect into [low2 / 2, high2 / 2] (twice the bounds)."""
    if low2 == high2:
        return coord * 0
    low, span = low2 / 2, (high2 - low2) / 2
    c = _ops.abs(coord - low)
    extra = _ops.remainder(c, span)
    flips = _ops.floor(c / span)
    even = _ops.remainder(flips, 2) == 0
    return _ops.where(even, extra + low, span - extra + low)


def _pixel_coords(coord, size, align_corners, padding_mode):
    """Grid coordinates in [-1, 1] as pixel positions along a dim of `size`, after padding."""
    if align_corners:
        pos = (coord + 1) / 2 * (size - 1)
    else:
        pos = ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        pos = _ops.clamp(pos, 0, size - 1)
    elif padding_mode == "reflection":
        pos = _reflect(pos, 0, 2 * (size - 1)) if align_corners else _reflect(pos, -1, 2 * size - 1)
        pos = _ops.clamp(pos, 0, size - 1)
    return pos


def _gather(flat, ix, iy, width, height, n, c):
    """Pixels (N, C, P) of the flattened image at integer positions (N, P); zero where outside."""
    inside = (ix >= 0) & (ix <= width - 1) & (iy >= 0) & (iy <= height - 1)
    index = (_ops.clamp(iy, 0, height - 1) * width + _ops.clamp(ix, 0, width - 1)).to(_dtypes.int64)
    index = index.unsqueeze(1).expand(n, c, index.shape[-1])
    values = _ops.gather(flat, 2, index)
    return values * inside.unsqueeze(1).to(flat.dtype)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample the 4-d `input` (N, C, H, W) at the positions of `grid` (N, Ho, Wo, 2), given as x, y
    in [-1, 1], with bilinear or nearest interpolation: an (N, C, Ho, Wo) result."""
    align_corners = _align(align_corners)
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample(): expected 4D input (N, C, H, W) and a grid (N, H_out, W_out, 2) with the "
                           f"same batch size, but got input of shape {list(input.shape)} and grid of shape "
                           f"{list(grid.shape)} (5-D volumetric input is not supported in this build)")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample(): mode='bicubic' is not supported in this build; use 'bilinear' or "
                                  "'nearest'")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sample(): expected input and grid to have same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    n, c, height, width = input.shape
    ho, wo = grid.shape[1], grid.shape[2]
    g = grid.reshape(n, ho * wo, 2)
    x = _pixel_coords(g[..., 0], width, align_corners, padding_mode)
    y = _pixel_coords(g[..., 1], height, align_corners, padding_mode)
    flat = input.reshape(n, c, height * width)
    if mode == "nearest":
        out = _gather(flat, _ops.round(x), _ops.round(y), width, height, n, c)
    else:
        x0, y0 = _ops.floor(x), _ops.floor(y)
        wx1, wy1 = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
        wx0, wy0 = 1 - wx1, 1 - wy1
        out = (_gather(flat, x0, y0, width, height, n, c) * (wx0 * wy0)
               + _gather(flat, x0 + 1, y0, width, height, n, c) * (wx1 * wy0)
               + _gather(flat, x0, y0 + 1, width, height, n, c) * (wx0 * wy1)
               + _gather(flat, x0 + 1, y0 + 1, width, height, n, c) * (wx1 * wy1))
    return out.reshape(n, c, ho, wo)
