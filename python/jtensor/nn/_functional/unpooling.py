"""Max unpooling (torch.nn.functional.max_unpool1d/2d/3d): the partial inverse of max pooling.

Each value of the pooled input goes back to the position its index names within its (flattened)
spatial plane; every other position is zero. Composed from `scatter` on the flattened planes, so
autograd gives the input's gradient (a gather at the same indices).
"""
from ... import creation as _creation
from ... import dtypes as _dtypes
from ...ops import ops as _ops

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _F():
    from .. import functional
    return functional


def _output_size(input, nd, kernel_size, stride, padding, output_size, fn):
    """The spatial output size: PyTorch's default (in - 1) * stride - 2 * padding + kernel, or
    `output_size` (its last nd entries), checked against the range that default allows."""
    F = _F()
    kernel = F._ntuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel if stride is None or stride == [] else F._ntuple(stride, nd, "stride", fn)
    padding = F._ntuple(padding, nd, "padding", fn)
    spatial = tuple(input.shape[-nd:])
    default = tuple((i - 1) * s - 2 * p + k for i, s, p, k in zip(spatial, stride, padding, kernel))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == nd + 2 or len(size) == nd + 1:
        size = size[-nd:]
    if len(size) != nd:
        raise ValueError(f"{fn}: output_size should be a sequence containing {nd} or {nd + 2} elements, but it has "
                         f"a length of '{len(size)}'")
    for d, (got, lo, s) in enumerate(zip(size, default, stride)):
        if not lo - s < got < lo + s:
            raise ValueError(f"{fn}: invalid output_size '{list(size)}' (dim {d} must be between {lo - s} and "
                             f"{lo + s})")
    return size


def _max_unpool(input, indices, nd, kernel_size, stride, padding, output_size, fn):
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{fn}: Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    if indices.dtype != _dtypes.int64:
        raise RuntimeError(f"{fn}: elements in indices should be type int64 but got: {indices.dtype}")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}: Expected {nd + 1}D or {nd + 2}D (batch mode) tensor for input, but got input of "
                           f"shape {list(input.shape)}")
    size = _output_size(input, nd, kernel_size, stride, padding, output_size, fn)
    lead = tuple(input.shape[:-nd])
    plane = 1
    for s in size:
        plane *= s
    flat_idx = indices.reshape(lead + (-1,))
    if flat_idx.numel() and (int(flat_idx.min()) < 0 or int(flat_idx.max()) >= plane):
        raise RuntimeError(f"{fn}: Found an invalid max index: {int(flat_idx.max())} (output volumes are of size "
                           f"{'x'.join(map(str, size))})")
    out = _creation.zeros(lead + (plane,), dtype=input.dtype, device=input.device)
    out = _ops.scatter(out, -1, flat_idx, input.reshape(lead + (-1,)))
    return out.reshape(lead + size)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Undo max_pool1d: (N, C, L) or (C, L) values and their indices from max_pool1d(return_indices=True)."""
    return _max_unpool(input, indices, 1, kernel_size, stride, padding, output_size, "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Undo max_pool2d: (N, C, H, W) or (C, H, W) values and their indices (h * W + w)."""
    return _max_unpool(input, indices, 2, kernel_size, stride, padding, output_size, "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Undo a 3-d max pooling: (N, C, D, H, W) or (C, D, H, W) values and their flat indices."""
    return _max_unpool(input, indices, 3, kernel_size, stride, padding, output_size, "max_unpool3d")
