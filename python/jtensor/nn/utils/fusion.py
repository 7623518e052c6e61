"""`jt.nn.utils.fusion`: folding an eval-mode batch norm into the convolution or linear layer
before it (torch.nn.utils.fusion), so inference runs one layer instead of two:
w' = w * gamma / sqrt(var + eps) per output channel, b' = (b - mean) * gamma / sqrt(var + eps) + beta."""
import copy

from ... import no_grad, ones_like, zeros_like, rsqrt
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def _scale(bn_rv, bn_eps, bn_w):
    return (bn_w if bn_w is not None else ones_like(bn_rv)) * rsqrt(bn_rv + bn_eps)


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The fused (weight, bias) Parameters; `transpose` for a transposed convolution (its output
    channels are the weight's dim 1)."""
    dtype = conv_w.dtype
    conv_b = conv_b if conv_b is not None else zeros_like(bn_rm)
    bn_b = bn_b if bn_b is not None else zeros_like(bn_rm)
    scale = _scale(bn_rv, bn_eps, bn_w)
    shape = [1] * conv_w.ndim
    shape[1 if transpose else 0] = -1
    w = (conv_w * scale.reshape(shape)).to(dtype)
    b = ((conv_b - bn_rm) * scale + bn_b).to(dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of `conv` computing conv followed by `bn` (both in eval mode)."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("fuse_conv_bn_eval needs batch norm running statistics")
    with no_grad():
        fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                        bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused (weight, bias) Parameters of a linear layer followed by a batch norm."""
    linear_b = linear_b if linear_b is not None else zeros_like(bn_rm)
    scale = _scale(bn_rv, bn_eps, bn_w)
    w = linear_w * scale.unsqueeze(-1)
    b = (linear_b - bn_rm) * scale + (bn_b if bn_b is not None else zeros_like(bn_rm))
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of `linear` computing linear followed by `bn` (both in eval mode)."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if linear.out_features != bn.num_features:
        raise AssertionError("To fuse, linear.out_features must equal bn.num_features")
    fused = copy.deepcopy(linear)
    with no_grad():
        fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                          bn.eps, bn.weight, bn.bias)
    return fused
