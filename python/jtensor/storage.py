"""`Tensor.untyped_storage()` and `Tensor.storage()`: the memory under a tensor, as PyTorch's
UntypedStorage (bytes) and deprecated TypedStorage (elements of the tensor's dtype).

A storage shares the tensor's buffer (the NumPy array every view of it references): all views of
one tensor give storages with one data_ptr and nbytes, and writes through a storage are seen by
the tensors. Programs use them to ask whether tensors share memory (safetensors, checkpoint
deduplication: `t.untyped_storage().data_ptr()`), how big the buffer is, or to read raw bytes.
"""
import warnings

import numpy as np

from .ops import composed


class _StorageView:
    """What the two storages share: the buffer and its address, indexing (as elements of the NumPy
    type `item`), len, device."""

    def __init__(self, base, baddr, device, item):
        self._base, self._baddr, self._device, self._item = base, baddr, device, item

    def _items(self):
        if self._item is None:
            raise TypeError(f"{type(self).__name__}: its elements have no NumPy type to read them as")
        return self._base.reshape(-1).view(self._item)

    def data_ptr(self):
        return self._baddr

    def nbytes(self):
        return self._base.nbytes

    @property
    def device(self):
        return self._device

    def __len__(self):
        return self.size()

    def __getitem__(self, i):
        n = self.size()
        if isinstance(i, int) and not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        return self._items()[i].item() if isinstance(i, int) else self._items()[i].tolist()

    def __setitem__(self, i, value):
        self._items()[i] = value

    def tolist(self):
        return self._items().tolist()

    def __repr__(self):
        body = "\n".join(f" {v}" for v in self.tolist())
        return f"{body}\n[{self._describe()} of size {self.size()}]"


class UntypedStorage(_StorageView):
    """A tensor's buffer as bytes: size() and len() count bytes, items are ints 0..255."""

    def __init__(self, base, baddr, device):
        super().__init__(base, baddr, device, np.uint8)

    def size(self):
        return self.nbytes()

    def element_size(self):
        return 1

    def _describe(self):
        return f"jtensor.storage.UntypedStorage(device={self.device})"


class TypedStorage(_StorageView):
    """A tensor's buffer as elements of its dtype (PyTorch's deprecated Tensor.storage())."""

    def __init__(self, base, baddr, device, dtype):
        super().__init__(base, baddr, device, dtype.np_dtype)
        self.dtype = dtype

    def size(self):
        return self.nbytes() // self.dtype.itemsize

    def element_size(self):
        return self.dtype.itemsize

    def untyped(self):
        return UntypedStorage(self._base, self._baddr, self._device)

    def _describe(self):
        return f"jtensor.storage.TypedStorage(dtype={self.dtype}, device={self.device})"


def _check_data(t, what):
    if t.is_meta:
        from . import devices
        raise devices.no_data_error(what)


@composed(function=False)
def untyped_storage(self):
    """The tensor's buffer as bytes, shared with it (and every view of it)."""
    _check_data(self, "untyped_storage of")
    return UntypedStorage(self._base, self._baddr, self.device)


@composed(function=False)
def storage(self):
    """The tensor's buffer as elements of its dtype (deprecated, as PyTorch's: it warns)."""
    warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the only "
                  "storage class. This should only matter to you if you are using storages directly.  To access "
                  "UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()", UserWarning,
                  stacklevel=3)
    _check_data(self, "storage of")
    return TypedStorage(self._base, self._baddr, self.device, self.dtype)
