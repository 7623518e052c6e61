"""PyTorch's operations that change which memory, shape or strides a tensor object stands for,
keeping the object: `Tensor.data` (get and set), the in-place view ops (`unsqueeze_`, `t_`,
`transpose_`...), `resize_`/`resize_as_`, `set_`, and the strided constructors (`empty_strided`,
`new_empty_strided`).

A Tensor holds its memory as `_base` (the owning buffer), `_baddr` (its address), `_offset`,
`shape`, `_strides` and `dtype` (python/jtensor/_tensor.py); rebinding replaces those fields, so
every other reference to the same object sees the change, as with PyTorch's TensorImpl.
"""
import numpy as np

from . import autograd
from . import dtypes as D
from ._tensor import Tensor, _contig_strides, _numel, _shape_arg, _host_empty, empty
from .ops import composed

_FIELDS = ("_base", "_baddr", "_offset", "shape", "_strides", "dtype")


def _rebind(self, src, version=None):
    """Make `self` stand for `src`'s memory, shape, strides and dtype."""
    for k in _FIELDS:
        setattr(self, k, getattr(src, k))
    if version is not None:
        self._version = version
    return self


def _get_data(self):
    """A tensor sharing this one's memory, outside autograd, with its own version counter (so
    in-place updates through it, as optimizers do with `p.data.add_(...)`, are not seen by autograd)."""
    return Tensor._make(self._base, self._baddr, self._offset, self.shape, self._strides, self.dtype)


def _set_data(self, new):
    """`t.data = new`: `t` now stands for `new`'s memory (shape and dtype too); autograd state stays."""
    if not isinstance(new, Tensor):
        raise TypeError(f"data must be a Tensor, not {type(new).__name__}")
    if new.device != self.device:
        raise RuntimeError(f"data set to a tensor on {new.device} for a tensor on {self.device}")
    _rebind(self, new)


Tensor.data = property(_get_data, _set_data)


# ---- in-place view ops: the view's geometry becomes self's ---------------------------------------------------
def _inplace_view(self, name, make):
    if self.requires_grad and autograd.is_grad_enabled():
        if self.grad_fn is None:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place operation.")
        source = Tensor._make(self._base, self._baddr, self._offset, self.shape, self._strides, self.dtype)
        source._version, source.requires_grad = self._version, True
        source.grad_fn, source._out_index = self.grad_fn, self._out_index
        out = make(source)        # recorded as a view of self's current geometry, which self then takes
        _rebind(self, out)
        self.grad_fn, self._out_index = out.grad_fn, out._out_index
        return self
    with autograd.no_grad():
        out = make(self)
    return _rebind(self, out)


@composed(function=False)
def unsqueeze_(self, dim):
    """In-place `unsqueeze`: self gains a size-1 dimension at `dim`."""
    return _inplace_view(self, "unsqueeze_", lambda t: t.unsqueeze(dim))


@composed(function=False)
def squeeze_(self, dim=None):
    """In-place `squeeze`."""
    return _inplace_view(self, "squeeze_", lambda t: t.squeeze(dim))


@composed(function=False)
def t_(self):
    """In-place `t`."""
    return _inplace_view(self, "t_", lambda t: t.t())


@composed(function=False)
def transpose_(self, dim0, dim1):
    """In-place `transpose`."""
    return _inplace_view(self, "transpose_", lambda t: t.transpose(dim0, dim1))


Tensor.swapaxes_ = Tensor.swapdims_ = transpose_


@composed(function=False)
def as_strided_(self, size, stride, storage_offset=None):
    """In-place `as_strided`."""
    return _inplace_view(self, "as_strided_", lambda t: t.as_strided(size, stride, storage_offset))


# ---- storage changes --------------------------------------------------------------------------------------------
def _capacity(t):
    """How many elements of t's dtype its buffer holds."""
    return (t._base.size * t._base.itemsize) // t.dtype.itemsize


def _check_resizable(self, name):
    if self.requires_grad:
        raise RuntimeError(f"{name}: cannot resize variables that require grad")
    if self.is_meta:
        raise RuntimeError(f"{name}: resizing a meta tensor is not supported")


@composed(function=False)
def resize_(self, *sizes, memory_format=None):
    """Give self shape `sizes` (contiguous strides), as PyTorch: the elements already in the
    storage keep their place; a larger size grows the storage, the new elements uninitialised."""
    _check_resizable(self, "resize_")
    shape = _shape_arg(sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    need = self._offset + _numel(shape)
    if need > _capacity(self):
        grown = _host_empty((need,), self.dtype)
        old = _capacity(self)
        np.copyto(grown.numpy()[:old], np.ndarray((old,), self.dtype.np_storage, buffer=self._base)
                  if old else np.empty(0, self.dtype.np_storage))
        self._base, self._baddr = grown._base, grown._baddr
    self.shape, self._strides = tuple(shape), _contig_strides(shape)
    return self


@composed(function=False)
def resize_as_(self, the_template, memory_format=None):
    """`resize_` to the shape of `the_template`."""
    return resize_(self, the_template.shape)


@composed(function=False)
def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make self stand for `source`'s memory: all of it (`set_(t)`), or the strided window
    (`set_(t, offset, size, stride)`); `set_()` makes self an empty tensor."""
    if source is None:
        return _rebind(self, empty(0, dtype=self.dtype))
    if not isinstance(source, Tensor):
        raise TypeError(f"set_(): source must be a Tensor, not {type(source).__name__}")
    if source.dtype != self.dtype:
        raise RuntimeError(f"Could not set tensor of type {self.dtype} to a tensor of type {source.dtype}")
    if size is None:
        return _rebind(self, source)
    stride = _contig_strides(tuple(size)) if stride is None else stride
    with autograd.no_grad():
        window = Tensor._make(source._base, source._baddr, 0, (0,), (1,), source.dtype).as_strided(
            size, stride, storage_offset)
    return _rebind(self, window)


@composed(function=False)
def is_set_to(self, tensor):
    """True when both tensors stand for the same memory with the same geometry."""
    return (self._base is tensor._base and self._offset == tensor._offset and self.shape == tensor.shape
            and self._strides == tensor._strides)


def _strided(size, stride, dtype, device):
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} vs {len(stride)}")
    need = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    buf = empty(need, dtype=dtype, device=device)
    with autograd.no_grad():
        return buf.as_strided(size, stride, 0) if need or not size else Tensor._make(
            buf._base, buf._baddr, 0, size, stride, buf.dtype)


@composed(method=False)
def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """An uninitialised tensor of `size` with the given strides, over a buffer just large enough."""
    t = _strided(size, stride, D.default_float if dtype is None else D.as_dtype(dtype), device)
    return t.requires_grad_(True) if requires_grad else t


@composed(function=False)
def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """`empty_strided` with self's dtype and device unless given."""
    t = _strided(size, stride, self.dtype if dtype is None else D.as_dtype(dtype),
                 self.device if device is None else device)
    return t.requires_grad_(True) if requires_grad else t


# ---- memory placement: CPU tensors, as a PyTorch built without an accelerator ------------------------------------
@composed(function=False)
def get_device(self):
    """-1 for a CPU tensor (PyTorch's convention); a device index otherwise."""
    return -1 if self.device.type in ("cpu", "meta") else (self.device.index or 0)


@composed(function=False)
def is_pinned(self, device=None):
    """False: CPU memory is never page-locked here (no accelerator to pin it for)."""
    return False


@composed(function=False)
def pin_memory(self, device=None):
    """As PyTorch without an accelerator: raises RuntimeError (there is nothing to pin for)."""
    raise RuntimeError("Cannot access accelerator device when none is available.")


@composed(function=False)
def share_memory_(self):
    """Mark the storage shared between processes, as PyTorch on the CPU (fork-started workers see
    the buffer already); returns self."""
    self.__dict__["_shared"] = True
    return self


@composed(function=False)
def is_shared(self):
    """Whether `share_memory_` was called on this tensor."""
    return bool(self.__dict__.get("_shared", False))

