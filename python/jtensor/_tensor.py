"""The Tensor: a typed, strided view of a storage buffer, with PyTorch/NumPy semantics.

Owns: tensor metadata (shape, strides in elements, offset, dtype), views (which only change
metadata and share the storage), conversion to and from NumPy, printing, and the Python operator
protocol. It computes nothing itself: every value-producing operation is a registry op run in
Julia (`jt.ops`). A CPU tensor's storage is a 1-D NumPy array that owns or keeps alive the memory:
NumPy-allocated, a NumPy array the user gave us, a DLPack producer's buffer, or a Julia-made buffer.
Other devices have their own storage class (python/jtensor/devices.py): a meta tensor's is a byte
count with no data, so everything here that reads values refuses meta tensors as PyTorch does.
"""
import copy
import ctypes
import math
import operator

import numpy as np

from . import autograd
from . import bridge
from . import overrides
from . import _dispatch
from . import dtypes as D
from . import devices as _dev
from .registry import REGISTRY, broadcast_shapes, norm_dim
from .typeinfo import Size


def _size(shape):
    """`shape` (a tuple of ints) as a `jt.Size`, unchecked: the type of `Tensor.shape`, as torch's."""
    return tuple.__new__(Size, shape)


def _contig_strides(shape):
    st = [0] * len(shape)
    s = 1
    for i in range(len(shape) - 1, -1, -1):
        st[i] = s
        s *= max(shape[i], 1)
    return tuple(st)


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


MAX_SIZE = 2**63 - 1   # the most elements or bytes a tensor may have: sizes travel as int64


def check_numel(shape):
    """Refuse a shape of more than MAX_SIZE elements, as PyTorch does (RuntimeError); sizes of 0
    count as 1 (the strides of an empty tensor must fit in 64 bits too)."""
    n = math.prod(shape)
    if n > MAX_SIZE or (n == 0 and math.prod(max(s, 1) for s in shape) > MAX_SIZE):
        raise RuntimeError(f"numel: integer multiplication overflow (sizes {list(shape)})")


_BIG_STRIDE = MAX_SIZE // 16   # strides beyond this may not fit in bytes (complex128 is 16 bytes)


def _fit_strides(shape, strides, itemsize):
    """Strides whose byte counts fit in int64 (the wire format, and NumPy's views): a stride that
    large can only come from a size-0 or size-1 dim (x[0:0:2**62], say), where it never moves,
    so it becomes 1; on a longer dim it would address memory past any buffer (RuntimeError)."""
    out = []
    for n, st in zip(shape, strides):
        if abs(st) * itemsize <= MAX_SIZE:
            out.append(st)
        elif n <= 1:
            out.append(1)
        else:
            raise RuntimeError(f"stride {st} of a view of shape {list(shape)} overflows int64")
    return tuple(out)


def check_storage(shape, itemsize):
    """Refuse to allocate more than MAX_SIZE bytes, with PyTorch's message (RuntimeError). Sizes
    of 0 count as 1, as in PyTorch: the contiguous strides of an empty tensor must fit too."""
    if math.prod(max(s, 1) for s in shape) * itemsize > MAX_SIZE:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")


def _addr(arr):
    return arr.__array_interface__["data"][0]


def address_of_bytes(b):
    return ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p).value


def _op(name):
    return REGISTRY.ops[name].fn


class Tensor:
    """An n-dimensional array whose operations run in Julia.

    Mirrors ``torch.Tensor``: row-major shapes, strides counted in elements, views that share
    memory, broadcasting operators and in-place forms (``add_``). Create one with
    ``jt.tensor``, ``jt.asarray``, ``jt.zeros`` ... rather than calling the class.
    """

    __slots__ = ("_base", "_baddr", "_offset", "shape", "_strides", "dtype", "_version", "__weakref__", "__dict__")
    __array_priority__ = 1000  # NumPy defers to our reflected operators

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def _make(cls, base, baddr, offset, shape, strides, dtype):
        t = object.__new__(cls)
        t._base = base
        t._baddr = baddr
        t._offset = offset
        t.shape = shape if shape.__class__ is Size else _size(shape)
        t._strides = strides
        t.dtype = dtype
        t._version = [0]
        return t

    def _view_below(self, shape, strides, offset):
        """The view itself (below autograd and `__jtensor_dispatch__`): same storage and version."""
        t = Tensor._make(self._base, self._baddr, offset, tuple(shape), tuple(strides), self.dtype)
        t._version = self._version
        return t

    def _detach_below(self):
        t = Tensor._make(self._base, self._baddr, self._offset, self.shape, self._strides, self.dtype)
        t._version = self._version
        return t

    @classmethod
    def _device_result(cls, device_code, shape, dtype):
        """A result the bridge got from Julia for a device other than the CPU (no host buffer)."""
        if device_code == _dev.DEVICE_TYPES["meta"]:
            return _meta_tensor(shape, dtype)
        raise RuntimeError(f"bridge: a result on device code {device_code}, which this build cannot hold")

    def _view(self, shape, strides, offset):
        check_numel(shape)
        if strides and (max(strides) > _BIG_STRIDE or min(strides) < -_BIG_STRIDE):
            strides = _fit_strides(shape, strides, self.dtype.itemsize)
        r = _dispatch.intercept_view(self, shape, strides, offset) if _dispatch.hooked[0] else None
        t = self._view_below(shape, strides, offset) if r is None else r[0]
        t._view_of = self if self._view_of is None else self._view_of   # PyTorch's `_base`: in-place
        if self.requires_grad and autograd._enabled[0]:                  # writes into t rebase it
            autograd.record_view(self, t, autograd.view_geometry(self, t.shape, t._strides, offset))
        return t

    # -- autograd ------------------------------------------------------------------------------------
    requires_grad = False   # instance attributes once set; class defaults keep plain tensors light
    grad = None
    grad_fn = None
    _out_index = 0
    _view_of = None   # the tensor a view was taken of (the first non-view one), for autograd

    @property
    def is_leaf(self):
        return self.grad_fn is None

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point and complex dtype can require gradients (got {self.dtype.name})")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """A tensor sharing this one's memory, cut from the autograd graph."""
        r = _dispatch.intercept_detach(self) if _dispatch.hooked[0] else None
        return self._detach_below() if r is None else r[0]

    def detach_(self):
        """Cut this tensor from the graph in place (a view cannot be: use detach())."""
        if getattr(self.grad_fn, "name", None) == "ViewBackward":
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        import weakref
        if self.grad_fn.retained is None:
            self.grad_fn.retained = {}
        self.grad_fn.retained[self._out_index] = weakref.ref(self)

    @property
    def retains_grad(self):
        r = self.grad_fn.retained if self.grad_fn is not None else None
        return bool(r) and self._out_index in r and r[self._out_index]() is self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            hooks = self.__dict__.setdefault("_hooks", [])
        else:
            if self.grad_fn.pre_hooks is None:
                self.grad_fn.pre_hooks = {}
            hooks = self.grad_fn.pre_hooks.setdefault(self._out_index, [])
        hooks.append(hook)

        class _Handle:
            def remove(self_inner):
                if hook in hooks:
                    hooks.remove(hook)
        return _Handle()

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` once per backward pass, after every contribution of that pass has
        been accumulated into this leaf's ``.grad`` (``torch.Tensor.register_post_accumulate_grad_hook``).

        The hook returns None; it may read or replace ``tensor.grad``. It does not run for
        ``autograd.grad`` (which accumulates nothing). DistributedDataParallel starts a bucket's
        all-reduce from these hooks, while the rest of backward still runs."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = self.__dict__.setdefault("_post_accumulate_hooks", [])
        hooks.append(hook)
        autograd.post_accumulate_hooks_added(1)

        class _Handle:
            def remove(self_inner):
                if hook in hooks:
                    hooks.remove(hook)
                    autograd.post_accumulate_hooks_added(-1)
        return _Handle()

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate the gradient of this tensor into the leaves' ``.grad``."""
        autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def __init__(self, *args, **kwargs):
        raise TypeError("create tensors with jt.tensor(...), jt.asarray(...), jt.zeros(...) and friends")

    # -- metadata --------------------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    def dim(self):
        return len(self.shape)

    def size(self, dim=None):
        """The shape as a `jt.Size`, or the size of dimension `dim`."""
        return self.shape if dim is None else self.shape[norm_dim(dim, self.ndim, "size")]

    def stride(self, dim=None):
        return self._strides if dim is None else self._strides[norm_dim(dim, self.ndim, "stride")]

    def numel(self):
        return _numel(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def element_size(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.numel() * self.dtype.itemsize

    def storage_offset(self):
        return self._offset

    def data_ptr(self):
        return self._baddr + self._offset * self.dtype.itemsize

    @property
    def device(self):
        """The ``jt.device`` this tensor's storage lives on."""
        return _dev.device_of_storage(self._base)

    @property
    def device_code(self):
        """The word that tells Julia where this tensor lives (devices.DEVICE_TYPES)."""
        return getattr(self._base, "device_code", 0)

    @property
    def is_meta(self):
        return self._base.__class__ is _dev.MetaStorage

    @property
    def is_cpu(self):
        return self.device_code == 0

    is_cuda = False   # this build has no CUDA tensors (jt.cuda.is_available() is False)

    def _require_data(self, what):
        """Refuse to read a meta tensor's values (it has none), with PyTorch's error."""
        if self.is_meta:
            raise _dev.no_data_error(what)

    @property
    def is_readonly(self):
        return not _writeable(self._base)

    @property
    def output_nr(self):
        """Which output of the op that made this tensor it is (0 for a leaf), as PyTorch's."""
        return self._out_index

    @property
    def layout(self):
        """Always `jt.strided`: jtensor tensors are dense and strided."""
        from .layouts import strided
        return strided

    def is_contiguous(self, memory_format=None):
        if memory_format is not None:   # channels_last & co. (jtensor.layouts)
            from .layouts import is_contiguous_as
            return is_contiguous_as(self, memory_format)
        if self.numel() == 0:
            return True  # as torch: an empty tensor is contiguous whatever its strides
        s = 1
        for n, st in zip(reversed(self.shape), reversed(self._strides)):
            if n != 1 and st != s:
                return False
            s *= n
        return True

    def _check_writable(self, opname, aliases_ok=False):
        """Refuse a write into read-only memory, or into a tensor whose elements share memory (an
        expanded view: the write would land once per alias) unless `aliases_ok` (a fill writes the
        same value to every alias). PyTorch's errors and kinds."""
        if not _writeable(self._base):
            raise ValueError(f"{opname}: tensor is read-only (it shares memory with a read-only producer)")
        if aliases_ok:
            return
        for n, st in zip(self.shape, self._strides):
            if st == 0 and n > 1:
                raise RuntimeError(
                    f"{opname}: unsupported operation: more than one element of the written-to tensor (shape "
                    f"{list(self.shape)}, strides {list(self._strides)}) refers to a single memory location. "
                    "Please clone() the tensor before performing the operation.")

    def _bump(self):
        self._version[0] += 1

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_complex(self):
        return self.dtype.is_complex

    # -- conversion ---------------------------------------------------------------------------------------
    def numpy(self, *, force=False):
        """A NumPy array sharing this tensor's memory (bfloat16 has no NumPy dtype: use ``.float()``;
        a user dtype's elements come as their raw bytes, NumPy dtype ``V<itemsize>``)."""
        if self.is_meta:
            raise TypeError("can't convert meta device type tensor to numpy: a meta tensor has no data")
        if self.dtype is D.bfloat16:
            raise TypeError("numpy() has no bfloat16; convert first, e.g. t.to(jt.float32).numpy()")
        isz = self.dtype.itemsize
        if self.numel() == 0:
            return np.empty(self.shape, self.dtype.np_dtype)
        return np.ndarray(self.shape, self.dtype.np_dtype, buffer=self._base, offset=self._offset * isz,
                          strides=tuple(s * isz for s in self._strides))

    # -- NumPy protocol, as torch.Tensor has it: NumPy functions read the tensor through
    # __array__ (which refuses a tensor that requires grad: NumPy would drop its graph), and a
    # ufunc's result comes back as a tensor through __array_wrap__. There is no
    # __array_ufunc__ / __array_function__: np.exp(t) is a tensor, np.concatenate([t]) an array.
    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.dtype.is_user:
            from .user_dtypes import refuse_numpy
            refuse_numpy(self)
        return self._host_array(dtype, copy)

    def _host_array(self, dtype=None, copy=None):
        """The values as a NumPy array (bfloat16 as float32, a user dtype as float64 by its Julia
        `convert(Float64, x)`), whatever requires_grad says."""
        if self.dtype is D.bfloat16:
            a = self.to(D.float32).numpy()
        elif self.dtype.is_user:
            from .user_dtypes import as_float64
            a = as_float64(self).numpy()
        else:
            a = self.numpy()
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """A NumPy ufunc's result as a tensor; a bool result becomes uint8, as torch does."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return from_numpy(np.ascontiguousarray(array) if any(s < 0 for s in array.strides) else array)

    def tolist(self):
        self._require_data("copy out of")
        return self._host_array().tolist()

    def item(self):
        if self.is_meta:
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        if self.numel() != 1:
            raise ValueError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._host_array().reshape(()).item()

    def __bool__(self):
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {'no' if self.numel() == 0 else 'more than one'} values is ambiguous")
        return bool(self.item())

    def __int__(self):
        return int(self.item())

    def __float__(self):
        return float(self.item())

    def __complex__(self):
        return complex(self.item())

    def __index__(self):
        if self.dtype.kind not in "biu" or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from ._format import format_tensor
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    # pickle, copy and deepcopy keep what PyTorch keeps: the values, dtype and requires_grad (and
    # for deepcopy the gradient and the sharing between a base and its views copied together).
    def __reduce__(self):
        if self.is_meta:
            return (_rebuild_meta, (self.shape, self.dtype.name, self.requires_grad))
        if self.dtype.is_user:   # its raw bytes: exact, and no conversion the type may lack
            return (_rebuild_raw, (self.contiguous().numpy().tobytes(), self.shape, self.dtype.name))
        arr = self._host_array(copy=True)
        return (_rebuild, (arr, self.dtype.name, self.requires_grad))

    def __copy__(self):
        """A tensor sharing this one's memory (as ``copy.copy`` of a torch tensor), a leaf that keeps
        requires_grad but not the gradient."""
        return self._leaf_like_self(self.detach())

    def _leaf_like_self(self, t):
        """`t` (a new leaf over this tensor's geometry) with this tensor's class and requires_grad,
        as copies keep them."""
        if type(self) is not Tensor:
            t = t.as_subclass(type(self))
        if self.requires_grad:
            t.requires_grad_(True)
        return t

    def __deepcopy__(self, memo):
        """A copy of the values; views copied together (in one deepcopy call) keep sharing memory."""
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment. If you were attempting to deepcopy a module, this may be "
                               "because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if self.is_meta:
            t = self._leaf_like_self(_meta_tensor(self.shape, self.dtype))
            memo[id(self)] = t
            return t
        key = ("jtensor storage", id(self._base))
        base = memo.get(key)
        if base is None:
            base = np.array(self._base, copy=True)   # writable, owned by NumPy
            memo[key] = base
            memo.setdefault("jtensor keep", []).append(self._base)   # keeps id(self._base) unique
        baddr = _addr(base) + (self._baddr - _addr(self._base))
        t = self._leaf_like_self(Tensor._make(base, baddr, self._offset, self.shape, self._strides, self.dtype))
        memo[id(self)] = t
        if self.grad is not None:
            t.grad = copy.deepcopy(self.grad, memo)
        return t

    # -- copies and dtype ---------------------------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False, memory_format=None):
        """``t.to(dtype)``, ``t.to(device)``, ``t.to(device, dtype)``, ``t.to(other)`` (other's device
        and dtype). Returns this tensor when nothing changes (unless ``copy``). CPU to meta gives a meta
        tensor of the same shape and dtype; meta to CPU raises (a meta tensor has no data).
        memory_format=jt.channels_last (& co.) lays the result out in that format."""
        if memory_format is not None:
            r = self.to(*args, dtype=dtype, device=device, copy=copy, non_blocking=non_blocking)
            return r.contiguous(memory_format=memory_format)
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, _dev.device) or (isinstance(a, int) and not isinstance(a, bool)):
                device = a
            elif isinstance(a, str):
                try:
                    device = _dev.device(a)
                except RuntimeError:
                    try:
                        dtype = D.as_dtype(a)
                    except TypeError:
                        raise ValueError(f"to(): {a!r} is neither a device nor a dtype") from None
            else:
                try:
                    dtype = D.as_dtype(a)
                except TypeError:
                    raise TypeError(f"to(): expected a device, a dtype or a tensor, got {type(a).__name__}") from None
        if device is not None:
            target = _dev.for_new_tensor(device)
            if target.type != self.device.type:
                return self._to_device(target, self.dtype if dtype is None else D.as_dtype(dtype))
        if dtype is None or D.as_dtype(dtype) is self.dtype:
            return self.clone() if copy else self
        return self.astype(dtype)

    def _to_device(self, target, dtype):
        """A copy of this tensor on another device (with dtype `dtype`)."""
        if self.is_meta:
            raise _dev.no_data_error("copy out of")
        if target.type == "meta":
            return _meta_tensor(self.shape, dtype)
        raise NotImplementedError(f"to(): copying a {self.device} tensor to {target} is not supported")

    def astype(self, dtype):
        dt = D.as_dtype(dtype)
        out = empty_on(self.device_code, self.shape, dt)
        REGISTRY.ops["copy_"].fn(out, self)
        return out

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """'torch.FloatTensor' & co. without an argument; else self converted to a dtype, a legacy
        class (jt.DoubleTensor) or a type string (jtensor.legacy_tensors)."""
        from .legacy_tensors import tensor_type
        return tensor_type(self, dtype, non_blocking, **kwargs)

    def float(self):
        return self.to(D.float32)

    def double(self):
        return self.to(D.float64)

    def half(self):
        return self.to(D.float16)

    def bfloat16(self):
        return self.to(D.bfloat16)

    def int(self):
        return self.to(D.int32)

    def long(self):
        return self.to(D.int64)

    def bool(self):
        return self.to(D.bool_)

    def cpu(self):
        return self.to(_dev.CPU)

    def cuda(self, device=None, non_blocking=False):
        """As on a PyTorch built without CUDA: raises AssertionError."""
        return self.to(_dev.device("cuda") if device is None else device)

    def clone(self, *, memory_format=None):
        if memory_format is not None:   # a channels_last (& co.) copy: jtensor.layouts
            from .layouts import clone_as
            return clone_as(self, memory_format)
        out = empty_on(self.device_code, self.shape, self.dtype)
        REGISTRY.ops["copy_"].fn(out, self)
        return out

    def contiguous(self, memory_format=None):
        if memory_format is not None:   # channels_last & co. (jtensor.layouts)
            from .layouts import contiguous_as
            return contiguous_as(self, memory_format)
        return self if self.is_contiguous() else self.clone()

    def copy_(self, src):
        if isinstance(src, Tensor) and src.device != self.device:
            if src.is_meta:
                raise _dev.no_data_error("copy out of")
            if self.is_meta:   # as PyTorch: copying into a meta tensor checks shapes and writes nothing
                broadcast_shapes(self.shape, src.shape)
                return self
        if isinstance(src, Tensor) and _overlaps(self, src) and (src.data_ptr() != self.data_ptr()
                                                                 or src._strides != self._strides):
            src = src.clone()  # the kernel writes as it reads: read all of src first, as NumPy does
        return REGISTRY.ops["copy_"].fn(self, src)

    def fill_(self, value):
        D.check_fits(value, self.dtype)
        return REGISTRY.ops["fill_"].fn(self, value)

    def zero_(self):
        return self.fill_(0)

    # -- views -------------------------------------------------------------------------------------------
    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], D.dtype):
            raise TypeError("view(dtype) is not supported; use .to(dtype)")
        shape = _infer_shape(_shape_arg(shape), self.numel())
        st = _view_strides(self.shape, self._strides, shape)
        if st is None:
            raise RuntimeError(f"view size {list(shape)} is not compatible with input tensor's size {list(self.shape)} "
                               f"and stride {list(self._strides)}; use .reshape(...) instead")
        return self._view(shape, st, self._offset)

    def reshape(self, *shape):
        shape = _infer_shape(_shape_arg(shape), self.numel())
        st = _view_strides(self.shape, self._strides, shape)
        if st is not None:
            return self._view(shape, st, self._offset)
        return self.clone().view(shape)

    def view_as(self, other):
        return self.view(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s = norm_dim(start_dim, self.ndim, "flatten")
        e = norm_dim(end_dim, self.ndim, "flatten")
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self  # as torch: nothing to merge, strides stay as they are
        return self.reshape(self.shape[:s] + (_numel(self.shape[s:e + 1]),) + self.shape[e + 1:])

    def unflatten(self, dim, sizes):
        d = norm_dim(dim, self.ndim, "unflatten")
        sizes = _infer_shape(tuple(sizes), self.shape[d])
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def ravel(self):
        return self.reshape(-1)

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if len(dims) != self.ndim:
            raise RuntimeError(f"permute: number of dims {len(dims)} doesn't match the tensor's {self.ndim}")
        nd = [norm_dim(d, self.ndim, "permute") for d in dims]
        if len(set(nd)) != len(nd):
            raise RuntimeError("permute: repeated dim")
        return self._view([self.shape[d] for d in nd], [self._strides[d] for d in nd], self._offset)

    def transpose(self, dim0, dim1):
        if self.ndim == 0:
            return self
        a, b = norm_dim(dim0, self.ndim, "transpose"), norm_dim(dim1, self.ndim, "transpose")
        shape, strides = list(self.shape), list(self._strides)
        shape[a], shape[b] = shape[b], shape[a]
        strides[a], strides[b] = strides[b], strides[a]
        return self._view(shape, strides, self._offset)

    swapaxes = swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError("t() expects a tensor with <= 2 dimensions")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):
        return self.permute(list(range(self.ndim))[::-1])

    @property
    def mT(self):
        if self.ndim < 2:
            raise RuntimeError("mT requires a tensor with at least 2 dimensions")
        return self.transpose(-2, -1)

    @property
    def mH(self):
        return self.mT.conj() if self.is_complex() else self.mT

    def movedim(self, source, destination):
        src = [source] if isinstance(source, int) else list(source)
        dst = [destination] if isinstance(destination, int) else list(destination)
        src = [norm_dim(s, self.ndim, "movedim") for s in src]
        dst = [norm_dim(d, self.ndim, "movedim") for d in dst]
        order = [d for d in range(self.ndim) if d not in src]
        perm = [None] * self.ndim
        for s, d in zip(src, dst):
            perm[d] = s
        it = iter(order)
        perm = [p if p is not None else next(it) for p in perm]
        return self.permute(perm)

    moveaxis = movedim

    def squeeze(self, dim=None):
        if dim is None:
            dims = [i for i, s in enumerate(self.shape) if s == 1]
        else:
            ds = dim if isinstance(dim, (tuple, list)) else (dim,)
            dims = [d for d in (norm_dim(x, self.ndim, "squeeze") for x in ds) if self.ndim and self.shape[d] == 1]
        keep = [i for i in range(self.ndim) if i not in dims]
        return self._view([self.shape[i] for i in keep], [self._strides[i] for i in keep], self._offset)

    def unsqueeze(self, dim):
        d = norm_dim(dim, self.ndim + 1, "unsqueeze")
        st = self._strides[d] * self.shape[d] if d < self.ndim else 1
        return self._view(self.shape[:d] + (1,) + self.shape[d:], self._strides[:d] + (st,) + self._strides[d:], self._offset)

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({self.ndim})")
        off = len(sizes) - self.ndim
        shape, st = [0] * len(sizes), [0] * len(sizes)
        for i in range(len(sizes) - 1, -1, -1):  # from the last dim, as torch (strides of new dims)
            s = sizes[i]
            if i < off:
                if s < 0:
                    raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
                shape[i] = s
                if s == 1 and self.ndim:  # a new size-1 dim gets the stride an unsqueeze would give it
                    st[i] = shape[i + 1] * st[i + 1]
                continue
            cur = self.shape[i - off]
            if s == -1 or s == cur:
                shape[i], st[i] = cur, self._strides[i - off]
            elif cur == 1:
                shape[i] = s
            else:
                raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the existing size ({cur}) at non-singleton dimension {i}")
        return self._view(shape, st, self._offset)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(_shape_arg((shape,)))

    def narrow(self, dim, start, length):
        d = norm_dim(dim, self.ndim, "narrow")
        n = self.shape[d]
        if not -n <= start <= n:
            raise IndexError(f"narrow: start out of range (expected to be in range of [{-n}, {n}], but got {start})")
        if start < 0:
            start += n
        if not (0 <= length and start + length <= n):
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})")
        shape = list(self.shape)
        shape[d] = length
        return self._view(shape, self._strides, self._offset + start * self._strides[d])

    def select(self, dim, index):
        d = norm_dim(dim, self.ndim, "select")
        n = self.shape[d]
        if not -n <= index < n:
            raise IndexError(f"select: index {index} is out of bounds for dimension {d} with size {n}")
        index %= n
        return self._view(self.shape[:d] + self.shape[d + 1:], self._strides[:d] + self._strides[d + 1:],
                          self._offset + index * self._strides[d])

    def diagonal(self, offset=0, dim1=0, dim2=1):
        a, b = norm_dim(dim1, self.ndim, "diagonal"), norm_dim(dim2, self.ndim, "diagonal")
        if a == b:
            raise RuntimeError("diagonal dimensions cannot be identical")
        start = self._offset
        if offset >= 0:
            n = max(0, min(self.shape[a], self.shape[b] - offset))
            start += offset * self._strides[b] if n else 0
        else:
            n = max(0, min(self.shape[a] + offset, self.shape[b]))
            start += -offset * self._strides[a] if n else 0
        keep = [i for i in range(self.ndim) if i not in (a, b)]
        return self._view([self.shape[i] for i in keep] + [n], [self._strides[i] for i in keep] + [self._strides[a] + self._strides[b]], start)

    def unbind(self, dim=0):
        d = norm_dim(dim, self.ndim, "unbind")
        return tuple(self.select(d, i) for i in range(self.shape[d]))

    def split(self, split_size_or_sections, dim=0):
        d = norm_dim(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            s = split_size_or_sections
            if s <= 0 and n > 0:
                raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
            sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise RuntimeError(f"split: sections {sizes} don't sum to the dimension size {n}")
        out, start = [], 0
        for s in sizes:
            out.append(self.narrow(d, start, s))
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        d = norm_dim(dim, self.ndim, "chunk")
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        return self.split(max(1, -(-self.shape[d] // chunks)), d)

    def tensor_split(self, indices_or_sections, dim=0):
        d = norm_dim(dim, self.ndim, "tensor_split")
        n = self.shape[d]
        if isinstance(indices_or_sections, int):
            k = indices_or_sections
            if k <= 0:
                raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
            q, r = divmod(n, k)
            bounds = [i * q + min(i, r) for i in range(k + 1)]
        else:
            # indices are slice bounds: negative ones count from the end, as in torch
            bounds = [0] + [min(max(int(i) + n if int(i) < 0 else int(i), 0), n) for i in indices_or_sections] + [n]
        return tuple(self.narrow(d, a, max(b - a, 0)) for a, b in zip(bounds, bounds[1:]))

    def unfold(self, dimension, size, step):
        d = norm_dim(dimension, self.ndim, "unfold")
        if step <= 0:
            raise RuntimeError(f"unfold: step is {step} but must be > 0")
        if not 0 <= size <= (self.shape[d] if self.ndim else 1):
            raise RuntimeError(f"unfold: size {size} must be in [0, {self.shape[d] if self.ndim else 1}] (the size of dimension {d})")
        if self.ndim == 0:
            return self._view((size,), (1,), self._offset)
        n = (self.shape[d] - size) // step + 1
        shape = list(self.shape); shape[d] = n
        st = list(self._strides); st[d] = self._strides[d] * step
        return self._view(shape + [size], st + [self._strides[d]], self._offset)

    def as_strided(self, size, stride, storage_offset=None):
        off = self._offset if storage_offset is None else storage_offset
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(size) != len(stride):
            raise RuntimeError(f"as_strided: mismatch in length of strides {len(stride)} and shape {len(size)}")
        if off < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
            raise RuntimeError("as_strided: negative sizes, strides and storage offsets are not supported")
        # never let a view reach outside the storage (that would read or write foreign memory)
        need = off + 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
        have = (self._base.size * self._base.itemsize) // self.dtype.itemsize
        if need > have:
            raise RuntimeError(f"as_strided: sizes {list(size)}, strides {list(stride)} and storage offset {off} need "
                               f"a storage of {need} elements, but it holds {have}")
        return self._view(size, stride, off)

    # -- indexing ------------------------------------------------------------------------------------------
    def __getitem__(self, key):
        from .indexing import getitem
        return getitem(self, key)

    def __setitem__(self, key, value):
        from .indexing import setitem
        setitem(self, key, value)

    # -- Array API ---------------------------------------------------------------------------------------
    def __array_namespace__(self, *, api_version=None):
        """Array API: the namespace (jtensor.array_api, revision 2024.12, which also serves the
        earlier revisions named by api_version)."""
        from . import array_api
        if api_version is not None and api_version not in array_api._API_VERSIONS:
            raise ValueError(f"unsupported Array API version {api_version!r} "
                             f"(supported: {', '.join(array_api._API_VERSIONS)})")
        return array_api

    def to_device(self, device, /, *, stream=None):
        """Array API: this tensor on `device` (itself when it is there already)."""
        return self.to(device)

    # -- DLPack ---------------------------------------------------------------------------------------------
    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        if self.is_meta:
            raise BufferError("__dlpack__: a meta tensor has no data to share")
        from .dlpack import to_dlpack
        return to_dlpack(self, stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


def _byte_span(t):
    """[first, last] byte addresses that tensor `t` can touch."""
    lo = hi = t.data_ptr()
    for n, st in zip(t.shape, t._strides):
        if st > 0:
            hi += (n - 1) * st * t.dtype.itemsize
        else:
            lo += (n - 1) * st * t.dtype.itemsize
    return lo, hi + t.dtype.itemsize - 1


def _overlaps(a, b):
    """Whether tensors a and b may share memory (conservative: compares address ranges)."""
    if a.numel() == 0 or b.numel() == 0:
        return False
    (alo, ahi), (blo, bhi) = _byte_span(a), _byte_span(b)
    return alo <= bhi and blo <= ahi


def _writeable(base):
    """Whether a tensor's storage accepts writes (NumPy's flag; other storages say so themselves)."""
    flags = getattr(base, "flags", None)
    return flags.writeable if flags is not None else base.writeable


def _meta_tensor(shape, dtype):
    """A contiguous meta tensor: shape, dtype and strides, with no data."""
    shape = tuple(shape)
    check_storage(shape, dtype.itemsize)
    return Tensor._make(_dev.MetaStorage(_numel(shape) * dtype.itemsize), 0, 0, shape, _contig_strides(shape), dtype)


def _rebuild_meta(shape, dtype_name, requires_grad=False):
    t = _meta_tensor(shape, D.BY_NAME[dtype_name])
    return t.requires_grad_(True) if requires_grad else t


def _rebuild_raw(data, shape, dtype_name):
    """A tensor of a user dtype from its elements' raw bytes (the unpickling process must have
    registered the dtype too)."""
    dt = D.as_dtype(dtype_name)
    t = _host_empty(tuple(shape), dt)
    t.numpy()[...] = np.frombuffer(data, dt.np_storage).reshape(shape)
    return t


def _rebuild(arr, dtype_name, requires_grad=False):
    t = asarray(arr).to(D.BY_NAME[dtype_name])
    return t.requires_grad_(True) if requires_grad else t


def _shape_arg(shape):
    """A shape given as sizes or as one sequence, as a tuple of ints: sizes must be integers (a
    float such as 2.5 is a TypeError, as in PyTorch), and 0-d integer tensors count."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(s if type(s) is int else _size_index(s) for s in shape)


def _size_index(s):
    index = getattr(type(s), "__index__", None)
    if index is None or isinstance(s, bool):
        raise TypeError(f"size must be a tuple of ints, but got an element of type {type(s).__name__}")
    return index(s)


def _infer_shape(shape, numel):
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        rest = _numel([s for s in shape if s != -1])
        if rest == 0 or numel % rest:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // rest if s == -1 else s for s in shape)
    if any(s < 0 for s in shape) or _numel(shape) != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _view_strides(old_shape, old_strides, new_shape):
    """Strides viewing a tensor of old shape/strides at new_shape without copying, or None."""
    if _numel(old_shape) == 0 and tuple(old_shape) == tuple(new_shape):
        return tuple(old_strides)  # as torch's computeStride: strides are arbitrary here, keep them
    if _numel(old_shape) == 0 or not old_shape:
        return _contig_strides(new_shape)
    # Group old dims into contiguous chunks and match new dims against them (PyTorch's computeStride).
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1]
    tensor_numel = 1
    view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = old_strides[d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


# ---- making tensors ---------------------------------------------------------------------------------------

def _from_storage(base, shape, dtype):
    return Tensor._make(base, _addr(base), 0, tuple(shape), _contig_strides(shape), dtype)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor (NumPy-allocated storage on the CPU; no data on the meta device)."""
    shape = _shape_arg(shape)
    dt = D.default_float if dtype is None else D.as_dtype(dtype)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"empty: negative dimension in shape {list(shape)}")
    if (device is not None or _dev._DEFAULT[0] is not _dev.CPU) and _dev.for_new_tensor(device).type == "meta":
        t = _meta_tensor(shape, dt)
    else:
        t = _host_empty(shape, dt)
    return t.requires_grad_(True) if requires_grad else t


def _host_empty(shape, dt):
    check_storage(shape, dt.itemsize)
    base = np.empty(_numel(shape), dt.np_storage)
    return Tensor._make(base, base.__array_interface__["data"][0], 0, shape, _contig_strides(shape), dt)


def empty_on(device_code, shape, dt):
    """An uninitialised contiguous tensor on the device with code `device_code` (what the drivers
    allocate results with: the inputs' device, never the default device)."""
    return _host_empty(shape, dt) if device_code == 0 else _meta_tensor(shape, dt)


def from_julia(code, ptr, handle, shape):
    """Wrap a Julia-made array (rooted under `handle`) as a tensor; Julia frees it when unused."""
    dt = D.BY_CODE[code]
    n = _numel(shape)
    if n == 0:
        bridge.release_later(handle)
        base = np.empty(0, dt.np_storage)
        return Tensor._make(base, _addr(base), 0, shape, _contig_strides(shape), dt)
    base = bridge.wrap_owned(ptr, n, code, dt.typestr, handle)   # (the C wrap reads typestr for user dtypes)
    return Tensor._make(base, ptr, 0, shape, _contig_strides(shape), dt)


def from_numpy(arr):
    """A tensor sharing `arr`'s memory (writes are seen by both); read-only arrays give read-only tensors."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(arr).__name__}")
    if not arr.dtype.isnative:
        raise ValueError("from_numpy: byte-swapped (non-native) arrays are not supported")
    dt = D.from_numpy(arr.dtype)
    isz = arr.itemsize
    if any(s < 0 for s in arr.strides):
        raise ValueError("from_numpy: arrays with negative strides are not supported; pass arr.copy()")
    if any(s % isz for s in arr.strides):
        raise ValueError("from_numpy: strides must be multiples of the element size")
    strides = tuple(s // isz for s in arr.strides)
    if arr.size == 0:
        base = np.empty(0, arr.dtype)
        return Tensor._make(base, _addr(base), 0, arr.shape, _contig_strides(arr.shape), dt)
    span = 1 + sum((n - 1) * s for n, s in zip(arr.shape, strides))
    base = np.lib.stride_tricks.as_strided(arr, shape=(span,), strides=(isz,), writeable=arr.flags.writeable)
    if base.dtype != dt.np_storage:
        base = base.view(dt.np_storage)
    return Tensor._make(base, _addr(arr), 0, tuple(arr.shape), strides, dt)


def _infer_dtype(data):
    if isinstance(data, np.ndarray):
        return D.from_numpy(data.dtype)
    return None


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (nested lists, scalars, NumPy arrays, tensors)."""
    t = _tensor_copy(data, dtype, device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _tensor_copy(data, dtype, device):
    if device is not None or _dev._DEFAULT[0] is not _dev.CPU:
        target = _dev.for_new_tensor(device)
        if target.type != "cpu":   # the values are read (and checked) on the CPU, then moved
            return _tensor_copy(data, dtype, _dev.CPU).to(target)
    if isinstance(data, Tensor):
        t = data.clone() if dtype is None else data.to(dtype, copy=True)
        return t
    if hasattr(data, "__dlpack__") and not isinstance(data, (np.ndarray, np.generic)):
        from .dlpack import from_dlpack
        t = from_dlpack(data)
        return t.clone() if dtype is None else t.to(dtype, copy=True)
    dt = None if dtype is None else D.as_dtype(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        src = np.asarray(data)  # NumPy arrays and scalars keep their dtype, as in torch
        if not src.dtype.isnative:
            src = src.astype(src.dtype.newbyteorder("="))
        if dt is None:
            dt = D.from_numpy(src.dtype)
            out = empty(src.shape, dtype=dt)
            out.numpy()[...] = src
            return out
    else:
        inferred = _leaf_dtype(data) if dt is None else None
        src = np.asarray(_unwrap_nested(data))
        if src.dtype == np.uint64 or (src.dtype == object and _has_big_int(data)):
            raise OverflowError("tensor(): Python int too large to convert to int64")
        if src.dtype.kind not in "biufc":
            raise TypeError(f"tensor(): cannot make a tensor from {type(data).__name__} data")
        if dt is not None:
            D.check_array_fits(src, dt)   # Python values are range-checked (NumPy arrays cast as given)
        if dt is None:
            dt = inferred if inferred is not None else D.default_float  # [] -> float32, as torch
            if dt.np_dtype is not None:
                out = empty(src.shape, dtype=dt)
                out.numpy()[...] = src  # NumPy assignment converts every leaf to dt
                return out
            src = src.astype(np.float32)  # bfloat16 leaves come back as float32
    # (np.ascontiguousarray makes 0-d arrays 1-d: reshape back)
    t = from_numpy(np.ascontiguousarray(src).reshape(src.shape)) if src.dtype.kind in "biufc" else None
    if t is None:
        raise TypeError(f"tensor(): cannot convert {type(data).__name__}")
    return t.to(dt) if t.dtype is not dt else t.clone()


_PY_KINDS = {bool: "b", int: "i", float: "f", complex: "c"}


def _leaf_dtype(data):
    """torch.tensor's dtype for Python data: the promotion of every leaf's dtype, where Python
    floats/complexes count as the default float/complex dtype, ints as int64, and NumPy scalars,
    arrays and tensors keep their own dtype. None when there are no leaves (empty lists)."""
    found = set()

    def walk(x):
        if isinstance(x, (list, tuple)):
            for ty in set(map(type, x)):
                if ty in _PY_KINDS:
                    found.add(D.dtype_of_scalar(ty()))
                else:
                    for y in x:
                        if type(y) is ty:
                            walk(y)
        elif isinstance(x, Tensor):
            found.add(x.dtype)
        elif isinstance(x, (np.ndarray, np.generic)):
            if x.dtype.kind in "biufc":
                found.add(D.from_numpy(x.dtype))
        elif isinstance(x, (bool, int, float, complex)):
            found.add(D.dtype_of_scalar(x))

    walk(data)
    if not found:
        return None
    found = sorted(found, key=lambda d: d.code)
    r = found[0]
    for d in found[1:]:
        r = D.promote_types(r, d)
    return r


def _has_big_int(data):
    if isinstance(data, (list, tuple)):
        return any(_has_big_int(x) for x in data)
    return isinstance(data, int) and not -2**63 <= data < 2**63


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._host_array()
    if isinstance(data, (list, tuple)):
        if any(isinstance(x, (Tensor, list, tuple)) for x in data):
            return [_unwrap_nested(x) for x in data]
    return data


def asarray(obj, dtype=None, device=None, copy=None):
    """Convert to a tensor, sharing memory when possible (Array API ``asarray``)."""
    if device is not None:
        target = _dev.for_new_tensor(device)
        if not (isinstance(obj, Tensor) and obj.device == target):
            return asarray(obj, dtype, None, copy).to(target)
    dt = None if dtype is None else D.as_dtype(dtype)
    if isinstance(obj, Tensor):
        t = obj
    elif isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc" and not any(s < 0 for s in obj.strides) \
            and obj.dtype.isnative and obj.dtype != np.uint64 and obj.dtype.kind + str(obj.itemsize) not in ("u2", "u4", "u8"):
        t = from_numpy(obj)
    elif hasattr(obj, "__dlpack__") and not isinstance(obj, (np.ndarray, np.generic)):
        from .dlpack import from_dlpack
        t = from_dlpack(obj)
    else:
        if copy is False:
            raise ValueError("asarray(copy=False): the input cannot be viewed without a copy")
        return tensor(obj, dtype=dt)
    if dt is not None and dt is not t.dtype:
        if copy is False:
            raise ValueError("asarray(copy=False): a dtype change needs a copy")
        return t.to(dt)
    if copy:
        return t.clone()
    return t


# ---- __jtensor_function__ for Tensor methods that are not registry ops (views, conversions) ------
def _as_subclass(self, cls):
    """This tensor's data and metadata as an instance of a Tensor subclass `cls` (no copy)."""
    t = object.__new__(cls)
    for k in ("_base", "_baddr", "_offset", "shape", "_strides", "dtype", "_version"):
        setattr(t, k, getattr(self, k))
    if self.requires_grad:
        t.requires_grad = True
        t.grad_fn = self.grad_fn
        t._out_index = self._out_index
    return t


Tensor.__jtensor_function__ = classmethod(overrides.default_jtensor_function)
Tensor.as_subclass = _as_subclass
overrides._Tensor = Tensor
_OVERRIDABLE = ("view", "reshape", "view_as", "reshape_as", "flatten", "unflatten", "ravel", "permute",
                "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis", "squeeze", "unsqueeze",
                "expand", "expand_as", "broadcast_to", "narrow", "select", "diagonal", "unbind", "split",
                "chunk", "tensor_split", "unfold", "as_strided", "__getitem__", "__setitem__", "contiguous",
                "clone", "to", "astype", "detach", "copy_", "fill_", "zero_", "numpy", "item", "tolist",
                "backward")
for _name in _OVERRIDABLE:
    setattr(Tensor, _name, overrides.overridable(getattr(Tensor, _name)))
for _name in ("T", "mT", "mH"):
    _prop = getattr(Tensor, _name)
    setattr(Tensor, _name, property(overrides.overridable(_prop.fget)))
del _name, _prop
