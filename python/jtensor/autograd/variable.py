"""`jt.autograd.Variable`: torch's pre-0.4 wrapper, now an alias. ``Variable(t, requires_grad=...)``
returns a tensor sharing `t`'s memory without its history, and every Tensor is an instance of it."""
from ..overrides import is_tensor_like

__all__ = ["Variable", "is_tensor_like"]


class _VariableMeta(type):
    def __instancecheck__(cls, other):
        from .._tensor import Tensor
        return isinstance(other, Tensor)

    def __call__(cls, data=None, requires_grad=False, volatile=False):
        from .._tensor import Tensor
        from .. import creation
        if data is None:
            data = creation.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


class Variable(metaclass=_VariableMeta):
    """``Variable(data=None, requires_grad=False)``: `data` detached (an empty tensor if None)."""
