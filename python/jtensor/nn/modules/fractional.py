"""FractionalMaxPool2d and FractionalMaxPool3d: wrappers over jt.nn.functional's fractional max
pooling with PyTorch's attributes, checks and optional fixed `_random_samples` buffer."""
from .. import functional as F
from ..module import Module

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]


class _FractionalMaxPoolNd(Module):
    _nd = 0
    _function = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        if (isinstance(kernel_size, int) and kernel_size <= 0) or (
                isinstance(kernel_size, (tuple, list)) and not all(k > 0 for k in kernel_size)):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = _ntuple(kernel_size, nd)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _ntuple(output_size, nd) if output_size is not None else None
        self.output_ratio = _ntuple(output_ratio, nd) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return type(self)._function(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                                    _random_samples=self._random_samples)


def _ntuple(v, n):
    """PyTorch's _pair/_triple: a sequence as a tuple, a scalar repeated n times."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-d fractional max pooling to output_size or output_ratio (see F.fractional_max_pool2d)."""

    _nd = 2
    _function = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-d fractional max pooling to output_size or output_ratio (see F.fractional_max_pool3d)."""

    _nd = 3
    _function = staticmethod(F.fractional_max_pool3d)
