"""Fractional max pooling (torch.nn.functional.fractional_max_pool2d/3d, Graham 2014): max pooling
whose windows start at pseudo-random positions, so the output can be any size between 1 and
input - kernel + 1. The windows come from one sample in [0, 1) per plane and axis,
`_random_samples` (N, C, 2 or 3), drawn from jt.rand when not given; with the same samples the
result and indices equal PyTorch's exactly. The kernel is the registry op `_fractional_max_pool2d`
/ `_fractional_max_pool3d`; its gradient scatters through the indices."""
from ... import creation as _creation
from ...ops import ops as _ops

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d_with_indices"]


def _F():
    from .. import functional
    return functional


def _fractional(input, kernel_size, output_size, output_ratio, return_indices, samples, nd):
    fn = f"fractional_max_pool{nd}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if nd == 2 and len(output_ratio) > 2:   # len() of a bare float raises TypeError, as in PyTorch
            raise ValueError(f"{fn} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = output_ratio if isinstance(output_ratio, (tuple, list)) and len(output_ratio) == nd else \
            tuple(output_ratio) * nd if isinstance(output_ratio, (tuple, list)) else (output_ratio,) * nd
        output_size = [int(input.shape[i - nd] * r) for i, r in enumerate(ratio)]
    k = _F()._ntuple(kernel_size, nd, "kernel_size", fn)
    size = _F()._ntuple(output_size, nd, "output_size", fn)
    if samples is None:
        batch = 1 if input.ndim == nd + 1 else input.shape[0]
        samples = _creation.rand(batch, input.shape[-nd - 1], nd, dtype=input.dtype, device=input.device)
    pool = _ops._fractional_max_pool3d if nd == 3 else _ops._fractional_max_pool2d
    values, indices = pool(input, k, size, samples)
    return (values, indices) if return_indices else values


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """2-d fractional max pooling of (N, C, H, W) or (C, H, W) to output_size (oH, oW), or to
    output_ratio times the input size; indices are flat h * W + w positions."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """3-d fractional max pooling of (N, C, D, H, W) or (C, D, H, W) to output_size (oD, oH, oW), or
    to output_ratio times the input size; indices are flat d * H * W + h * W + w positions."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, True, _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    return _fractional(input, kernel_size, output_size, output_ratio, True, _random_samples, 3)
