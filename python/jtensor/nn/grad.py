"""`jt.nn.grad`: the gradients of a convolution with respect to its input and to its weight, as
``torch.nn.grad``'s ``conv{1,2,3}d_input`` and ``conv{1,2,3}d_weight``.

A convolution is linear in its input and in its weight, so each is the vector-Jacobian product of
the convolution (`F.conv1d`/`conv2d`/`conv3d`, whose backward is the registry's) at zeros of the
requested size: the result is differentiable further (w.r.t. the weight or input and
`grad_output`) whenever grad mode is on and those require grad.
"""
from .. import autograd as _autograd
from .. import creation as _creation
from . import functional as F

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _vjp(conv, make, other, grad_output, wrt_input, stride, padding, dilation, groups):
    """The gradient of ``conv(input, weight)`` w.r.t. the argument of shape `make`'s, the other
    argument being `other`."""
    create = _autograd.is_grad_enabled() and (other.requires_grad or grad_output.requires_grad)
    with _autograd.enable_grad():
        free = _creation.zeros(tuple(make), dtype=other.dtype, requires_grad=True)
        x, w = (free, other) if wrt_input else (other, free)
        out = conv(x, w, None, stride, padding, dilation, groups)
        if tuple(out.shape) != tuple(grad_output.shape):
            raise RuntimeError(f"conv{len(make) - 2}d_{'input' if wrt_input else 'weight'}: grad_output has shape "
                               f"{list(grad_output.shape)}, but the convolution's output has shape "
                               f"{list(out.shape)}")
        (g,) = _autograd.grad([out], [free], [grad_output], create_graph=create)
    return g


def _pair(conv):
    def grad_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
        return _vjp(conv, input_size, weight, grad_output, True, stride, padding, dilation, groups)

    def grad_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
        return _vjp(conv, weight_size, input, grad_output, False, stride, padding, dilation, groups)
    return grad_input, grad_weight


conv1d_input, conv1d_weight = _pair(F.conv1d)
conv2d_input, conv2d_weight = _pair(F.conv2d)
conv3d_input, conv3d_weight = _pair(F.conv3d)
for _n, _doc in (("input", "the gradient of the convolution with respect to its input, of size `input_size`"),
                 ("weight", "the gradient of the convolution with respect to its weight, of size `weight_size`")):
    for _d in (1, 2, 3):
        _f = globals()[f"conv{_d}d_{_n}"]
        _f.__name__ = _f.__qualname__ = f"conv{_d}d_{_n}"
        _f.__doc__ = f"conv{_d}d: {_doc}."
del _n, _doc, _d, _f
