"""`jt.nn.Parameter`: a Tensor that a Module registers as one of its parameters.

A Parameter shares its data with the tensor it is built from (no copy), is a leaf of the autograd
graph and requires grad by default. Operations on a Parameter return plain Tensors, as in PyTorch:
its `__jtensor_function__` runs the function with the protocol off and leaves results as they are.
"""
from .. import overrides as _overrides
from .._tensor import Tensor, empty as _empty

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]


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


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` is True for tensors that `Buffer` marked (they stay plain Tensors)."""

    def __instancecheck__(cls, instance):
        if cls is Buffer and isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False):
            return True
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """``Buffer(data=None, *, persistent=True)``: a tensor that assigning as a Module attribute
    registers as a buffer (persistent ones are in the state dict), as ``torch.nn.Buffer``.
    Returns `data` detached (sharing its memory, keeping requires_grad) and marked."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            data = _empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


class UninitializedTensorMixin:
    """A parameter or buffer whose shape is not known yet (a lazy module's, before its first call).

    It holds no data; ops on it raise. ``materialize(shape)`` gives it memory of that shape, in
    place (so optimizers and other holders of the object see the real tensor), and turns it into
    ``cls_to_become``.
    """

    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        kw = {"dtype": dtype or self.dtype}
        if device is not None:
            kw["device"] = device
        new = _empty(shape, **kw)
        self._base, self._baddr, self._offset = new._base, new._baddr, new._offset
        self.shape, self._strides, self.dtype = new.shape, new._strides, new.dtype
        self._version = [0]
        self.__class__ = self.cls_to_become

    def retarget(self, dtype, device):
        """Change the dtype and device it will be materialized with (`Module.to` before the first call)."""
        new = _empty(0, dtype=dtype, device=device)
        self._base, self._baddr, self._offset, self.dtype = new._base, new._baddr, new._offset, new.dtype

    # what may be asked of it before it has data, as PyTorch's `_allowed_methods`
    _ALLOWED = frozenset({"requires_grad_", "__hash__", "size", "dim", "is_floating_point", "is_complex",
                          "get_device", "__format__", "__reduce_ex__", "__deepcopy__"})

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        if name in cls._ALLOWED:
            with _overrides.disabled():
                return func(*args, **(kwargs or {}))
        raise ValueError(f"Attempted to use an uninitialized parameter in {name}. This error happens when you are "
                         "using a `LazyModule` or explicitly manipulating `jtensor.nn.parameter.Uninitialized*` "
                         "objects. When using LazyModules, call `forward` with a dummy batch to initialize the "
                         "parameters before calling jtensor functions")

    def __repr__(self):
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self.requires_grad,))

    def __deepcopy__(self, memo):
        return memo.setdefault(id(self), type(self)(self.requires_grad, dtype=self.dtype))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """``UninitializedParameter(requires_grad=True, device=None, dtype=None)``: a Parameter to be
    materialized by a lazy module on its first call."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        kw = {} if dtype is None else {"dtype": dtype}
        if device is not None:
            kw["device"] = device
        return Parameter.__new__(cls, _empty(0, **kw), requires_grad)

    def __init__(self, requires_grad=True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """``UninitializedBuffer(requires_grad=False, device=None, dtype=None)``: a buffer (running
    statistics) to be materialized by a lazy module on its first call."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None):
        kw = {} if dtype is None else {"dtype": dtype}
        if device is not None:
            kw["device"] = device
        with _overrides.disabled():
            b = _empty(0, **kw).as_subclass(cls)
        if requires_grad:
            b.requires_grad_(True)
        return b

    def __init__(self, requires_grad=False, device=None, dtype=None):
        pass


def is_lazy(value):
    """True for a parameter or buffer that is not materialized yet."""
    return isinstance(value, UninitializedTensorMixin)
