"""Bilinear: y = x1^T A x2 + b, with PyTorch's initialisation."""
import math

from .. import functional as F
from .. import init
from ..module import Module
from .linear import _factory_kwargs, weight_and_bias

__all__ = ["Bilinear"]


class Bilinear(Module):
    """y[..., o] = x1 @ weight[o] @ x2 + bias[o]; weight (out, in1, in2) and bias uniform in
    +-1/sqrt(in1_features), as PyTorch."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        weight_and_bias(self, (out_features, in1_features, in2_features), bias, _factory_kwargs(dtype, device))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
