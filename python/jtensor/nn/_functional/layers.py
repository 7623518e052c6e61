"""Layer functions of torch.nn.functional: one_hot, pad, channel-wise dropout (dropout1d/2d/3d),
alpha dropout, feature alpha dropout and bilinear; composed of registry ops (the dropout masks
come from `_dropout_mask` with the default generator's stream key, so jt.manual_seed makes them reproducible)."""
import math
import warnings

from ... import creation as _creation
from ... import dtypes as _dtypes
from ...autograd import no_grad
from ...ops import ops as _ops
from ...random import stream_key

__all__ = ["one_hot", "pad", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
           "bilinear"]


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each index; num_classes=-1
    takes the largest index plus one."""
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == _dtypes.bool_:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel():
        with no_grad():
            lo, hi = int(tensor.min()), int(tensor.max())
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    classes = _creation.arange(num_classes)
    return (tensor.unsqueeze(-1) == classes).to(_dtypes.int64)


def pad(input, pad, mode="constant", value=None):
    """Pad (or crop, with negative sizes) the last len(pad) // 2 dims: pad = (left, right) pairs from
    the last dim backwards; modes constant (with value), reflect, replicate, circular."""
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant" and value not in (None, 0, 0.0):
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    return _ops.pad(input, list(pad), mode, value)


def _feature_dropout(input, p, training, inplace, batched_ndim, fn):
    """Zero whole channels (dim 1 of a batched input, dim 0 of an unbatched one) with probability p,
    scaling the rest by 1 / (1 - p)."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    unbatched = input.ndim == batched_ndim - 1
    lead = 1 if unbatched else 2
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    mask = _ops._dropout_mask(shape, float(p), input.dtype, stream_key())
    return input.mul_(mask) if inplace else input * mask


def _warn_unusual_rank(input, spatial):
    """PyTorch's deprecation warning for dropout2d / dropout3d on an input of another rank."""
    if input.ndim not in (spatial + 1, spatial + 2):
        fn = f"dropout{spatial}d"
        warnings.warn(f"{fn}: Received a {input.ndim}-D input to {fn}, which is deprecated and will result in an "
                      f"error in a future release. To retain the behavior and silence this warning, please use "
                      f"dropout instead. Note that {fn} exists to provide channel-wise dropout on inputs with "
                      f"{spatial} spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
                      f"{spatial + 1}D or {spatial + 2}D inputs).", stacklevel=3)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero entire channels of a (N, C, L) or (C, L) input."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           f"dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           f"channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, inplace, 3, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero entire channels of a (N, C, H, W) or (C, H, W) input. As PyTorch, a 3-d input is
    treated as batched (N, C, L), with a warning."""
    _warn_unusual_rank(input, 2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
        return _feature_dropout(input, p, training, inplace, 3, "dropout2d")
    return _feature_dropout(input, p, training, inplace, max(input.ndim, 2), "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero entire channels of a (N, C, D, H, W) or (C, D, H, W) input."""
    _warn_unusual_rank(input, 3)
    return _feature_dropout(input, p, training, inplace, 5 if input.ndim in (4, 5) else max(input.ndim, 2),
                            "dropout3d")


_SELU_ALPHA_PRIME = 1.7580993408473766   # -scale * alpha of SELU: the value a dropped unit takes


def _alpha_dropout(input, p, training, inplace, feature):
    """Dropout that keeps SELU's zero mean and unit variance: dropped units take SELU's negative
    saturation value, then an affine map a * x + b restores the moments (PyTorch's constants)."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input.mul_(0) if inplace else input * 0
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else tuple(input.shape)
    keep = _ops._dropout_mask(shape, float(p), input.dtype, stream_key()) * (1 - p)   # 1 kept, 0 dropped
    alpha = _SELU_ALPHA_PRIME
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    b = (keep - 1) * (alpha * a) + alpha * a * p
    out = input * (keep * a) + b
    return input.copy_(out) if inplace else out


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of each element (for SELU networks)."""
    return _alpha_dropout(input, p, training, inplace, False)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (dim 1)."""
    return _alpha_dropout(input, p, training, inplace, True)


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-d (out, in1, in2), got shape {list(weight.shape)}")
    o, i, j = weight.shape
    if input1.shape[-1] != i or input2.shape[-1] != j or tuple(input1.shape[:-1]) != tuple(input2.shape[:-1]):
        raise RuntimeError(f"bilinear(): input sizes {list(input1.shape)} and {list(input2.shape)} do not match "
                           f"weight of shape {list(weight.shape)}")
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, i)
    t = (x1 @ weight.permute(1, 0, 2).reshape(i, o * j)).reshape(-1, o, j)   # x1 W: (B, o, j)
    y = (t * input2.reshape(-1, 1, j)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, o)
