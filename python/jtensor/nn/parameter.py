"""`jt.nn.Parameter`: a Tensor that a Module registers as one of its parameters.

A Parameter shares its data with the tensor it is built from (no copy), is a leaf of the autograd
graph and requires grad by default. Operations on a Parameter return plain Tensors, as in PyTorch:
its `__jtensor_function__` runs the function with the protocol off and leaves results as they are.
"""
from .. import overrides as _overrides
from .._tensor import Tensor, empty as _empty

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A tensor that is a module parameter: ``Parameter(data=None, requires_grad=True)``.

    Assigning one as a Module attribute registers it (it then appears in ``parameters()`` and in
    the state dict). ``data`` is shared, not copied, and the Parameter is always a leaf.
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter: data must be a jtensor Tensor, got {type(data).__name__}")
        with _overrides.disabled():
            leaf = data.detach()   # same memory and version counter, no history
        p = leaf.as_subclass(cls)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__ (Tensor.__init__ refuses direct construction)

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        """Run `func` as if the Parameters were plain Tensors; results stay plain Tensors.
        Declines (like Tensor's default) when another overriding type takes part."""
        for t in types:
            if not issubclass(cls, t):
                return NotImplemented
        active = _overrides.active
        prev = active[0]
        active[0] = False
        try:
            return func(*args, **kwargs) if kwargs else func(*args)
        finally:
            active[0] = prev

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        with _overrides.disabled():
            data = self.detach()
        return (_rebuild_parameter, (data, self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        with _overrides.disabled():
            data = self.detach().clone()
        p = type(self)(data, self.requires_grad)
        if self.grad is not None:
            with _overrides.disabled():
                p.grad = self.grad.detach().clone()
        memo[id(self)] = p
        return p


_overrides.transparent(Parameter)   # its handler above only strips the subclass: skip the dispatch


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)
