"""Linear layers: Identity, Linear (and MultiheadAttention's NonDynamicallyQuantizableLinear)."""
import math

from ... import devices as _dev
from ... import dtypes as _D
from ..._tensor import empty as _empty
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter

__all__ = ["Identity", "Linear", "NonDynamicallyQuantizableLinear"]


def _factory_kwargs(dtype, device=None):
    """A layer's `dtype=` and `device=` as keyword arguments for its parameters' creation
    (defaults: the default float dtype and the default device)."""
    return {"dtype": _D.default_float if dtype is None else _D.as_dtype(dtype),
            "device": _dev.for_new_tensor(device)}


def weight_and_bias(module, weight_shape, bias, fk):
    """Register an uninitialised `weight` of weight_shape and, when bias, a `bias` of weight_shape[0]
    (else bias None); `fk`: their dtype and device (`_factory_kwargs`)."""
    module.weight = Parameter(_empty(weight_shape, **fk))
    if bias:
        module.bias = Parameter(_empty(weight_shape[0], **fk))
    else:
        module.register_parameter("bias", None)


def reset_weight_and_bias(module):
    """PyTorch's default initialisation of Linear and Conv: kaiming_uniform_(a=sqrt(5)) weights and
    a bias uniform in +-1/sqrt(fan_in)."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5))
    if module.bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(module.bias, -bound, bound)


class Identity(Module):
    """Returns its input; arguments are accepted and ignored."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features) ~ kaiming_uniform_(a=sqrt(5)),
    bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), as PyTorch."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in_features), bias, _factory_kwargs(dtype, device))
        self.reset_parameters()

    def reset_parameters(self):
        reset_weight_and_bias(self)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under another name: MultiheadAttention's out_proj (PyTorch's class name, kept so that
    reprs match)."""
