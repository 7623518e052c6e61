"""PyTorch's legacy typed-tensor classes (`jt.FloatTensor`, `jt.LongTensor`, ...), the legacy
constructor they share with `Tensor.new`, and `Tensor.type`'s 'torch.FloatTensor' strings.

As in PyTorch, the classes are not Tensor subclasses: their metaclass `tensortype` makes
`isinstance(t, jt.FloatTensor)` true for a float32 tensor, and calling one builds a tensor of its
dtype: FloatTensor(2, 3) (uninitialized, shape (2, 3)), FloatTensor([1, 2]) (from data),
FloatTensor() (empty), FloatTensor(tensor) (that tensor, which must have the class's dtype).
"""
import numbers

from . import dtypes as D
from .ops import composed


def legacy_new(dtype, args, device=None):
    """The legacy constructor: () empty, sizes (ints or one Size/tuple) uninitialized, a sequence or
    array data, a tensor of `dtype` itself."""
    import jtensor as jt
    from ._tensor import Tensor
    if not args:
        return jt.empty(0, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        t = args[0]
        if t.dtype is not dtype:
            raise TypeError(f"expected {D.scalar_type_name(dtype)} tensor (got {D.scalar_type_name(t.dtype)} tensor)")
        return t
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return jt.empty(*args, dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], jt.Size):
        return jt.empty(args[0], dtype=dtype, device=device)
    if len(args) == 1:
        return jt.tensor(args[0], dtype=dtype, device=device)
    raise TypeError(f"new(): invalid arguments {tuple(type(a).__name__ for a in args)}: expected sizes (ints), "
                    f"a Size, data (a sequence) or a tensor")


class tensortype(type):
    """The metaclass of the legacy classes: instance checks compare dtypes, calls construct."""

    def __instancecheck__(cls, obj):
        from ._tensor import Tensor
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        return legacy_new(cls.dtype, args, device)

    def __repr__(cls):
        return f"<class 'jtensor.{cls.__name__}'>"


def _legacy_class(dt):
    name = D.scalar_type_name(dt) + "Tensor"
    return tensortype(name, (), {"dtype": dt, "__module__": "jtensor", "is_sparse": False, "is_cuda": False,
                                 "__doc__": f"Legacy constructor and instance check of {dt} tensors."})


CLASSES = {dt: _legacy_class(dt) for dt in D.ALL}
BY_NAME = {cls.__name__: cls for cls in CLASSES.values()}


def type_name(dt):
    """Tensor.type()'s string: 'torch.FloatTensor' for float32, PyTorch's own string, since programs
    compare it with literals (Tensor.type also reads 'jtensor.FloatTensor')."""
    return f"torch.{D.scalar_type_name(dt)}Tensor"


def tensor_type(t, dtype=None, non_blocking=False, **kwargs):
    """Tensor.type: with no argument the type string ('torch.FloatTensor'); else t converted to a
    dtype, a legacy class or a type string ('torch.DoubleTensor')."""
    if dtype is None:
        return type_name(t.dtype)
    if isinstance(dtype, str):
        prefix = next((p for p in ("torch.", "jtensor.") if dtype.startswith(p)), None)
        name = dtype[len(prefix):] if prefix else None
        if name not in BY_NAME:
            raise ValueError(f"invalid type: {dtype!r}")
        dtype = BY_NAME[name].dtype
    elif isinstance(dtype, tensortype):
        dtype = dtype.dtype
    return t.to(D.as_dtype(dtype), non_blocking=non_blocking)


@composed(function=False)
def new(self, *args, device=None):
    """Tensor.new: the legacy constructor with self's dtype (new(2, 3) uninitialized, new([1, 2])
    from data, new() empty)."""
    return legacy_new(self.dtype, args, self.device if device is None else device)
