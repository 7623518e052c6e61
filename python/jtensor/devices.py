"""Devices: where a tensor's elements live (``jt.device``), the default device, and each device's storage.

- ``cpu``: storage is a 1-D NumPy array, so ``.numpy()``, NumPy interop and DLPack stay zero-copy.
- ``meta``: storage is a `MetaStorage`, a byte count with no data. Ops on meta tensors compute the
  result's shape, dtype and strides and touch no memory: elementwise ops from the same
  broadcasting and dtype rules as on the CPU (python/jtensor/registry.py drivers), other ops from
  their kernels' meta methods in Julia (julia/src/devices.jl), which dispatch picks by array type.
  ``with jt.device("meta"): model = Net()`` builds a model of any size in microseconds;
  ``model.to_empty(device="cpu")`` then gives it (uninitialised) memory.
- ``cuda``: a name PyTorch programs use. CUDA kernels are generated from the registry (docs/cuda.md),
  but Python tensors in CUDA memory are not wired yet, so, as on a PyTorch built without CUDA,
  ``jt.cuda.is_available()`` is False and making a CUDA tensor raises AssertionError.

Every device has a code (``DEVICE_TYPES``), the word that tells Julia where a tensor lives.
A new device adds a storage class (with ``jt_device``, ``device_code``, ``nbytes``, ``writeable``),
its code, and kernel methods for its array type in Julia.
"""

import numpy as _np

from .wire_format import FORMAT

DEVICE_TYPES = dict(FORMAT.devices)   # name -> code: the word format's table (julia/src/wire.txt)
_NO_CUDA = "Torch not compiled with CUDA enabled (jtensor has no CUDA device in this build)"


class CudaUnavailableError(AssertionError, ValueError):
    """Making or moving to a CUDA tensor: PyTorch built without CUDA raises AssertionError; the
    Array API asks for ValueError on an unsupported device. Both `except` clauses catch this."""


class DeviceStringError(RuntimeError, ValueError):
    """A device string or index that names no device: PyTorch raises RuntimeError; the Array API
    asks for ValueError on an unsupported device. Both `except` clauses catch this."""


class device:
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``,
    ``device("meta")``. ``type`` and ``index`` (None when not given). Also a context manager that
    makes it the default device of creation functions (``with jt.device("meta"): ...``)."""

    __slots__ = ("type", "index", "_previous")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device(): an index cannot be given with a device object")
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type   # as torch: a bare ordinal names a CUDA device
        elif not isinstance(type, str):
            raise TypeError(f"device() expects a string, a device or an int, got {builtin_type(type).__name__}")
        elif ":" in type:
            if index is not None:
                raise ValueError(f"device(): type ({type!r}) must not include an index because index was passed explicitly")
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise DeviceStringError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in DEVICE_TYPES:
            raise DeviceStringError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device string: {type}")
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise DeviceStringError(f"Device index must not be negative, got {index!r}")
            if type == "cpu" and index != 0:
                raise DeviceStringError(f"CPU device index must be -1 or zero, got {index}")
        self.type, self.index = type, index

    @property
    def code(self):
        """The word that tells Julia which device a tensor lives on."""
        return DEVICE_TYPES[self.type]

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):   # friendlier than torch (where it is False), as array libraries compare
            try:
                other = device(other)
            except (RuntimeError, ValueError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        self._previous = _DEFAULT[0]
        set_default_device(self)
        return self

    def __exit__(self, *exc):
        _DEFAULT[0] = self._previous
        return False


builtin_type = type
CPU = device("cpu")
META = device("meta")
_DEFAULT = [CPU]


def as_device(d):
    """`d` (a device, a string such as "cuda:0", an int) as a device; None means the default device."""
    if d is None:
        return _DEFAULT[0]
    return d if isinstance(d, device) else device(d)


def get_default_device():
    """The device creation functions use when given none (``cpu`` unless set)."""
    return _DEFAULT[0]


def set_default_device(d):
    """Make `d` the device of tensors created without ``device=`` (None resets it to the CPU)."""
    d = CPU if d is None else as_device(d)
    if d.type == "cuda":
        raise CudaUnavailableError(_NO_CUDA)
    _DEFAULT[0] = d


def for_new_tensor(d):
    """The device a creation function makes its tensor on: `d`, or the default. A CUDA device raises
    as a PyTorch built without CUDA does."""
    d = as_device(d)
    if d.type == "cuda":
        raise CudaUnavailableError(_NO_CUDA)
    return d


class MetaStorage:
    """The storage of a meta tensor: how many bytes it would hold, and no data."""

    __slots__ = ("nbytes",)
    jt_device = META
    device_code = DEVICE_TYPES["meta"]
    writeable = True

    def __init__(self, nbytes):
        self.nbytes = nbytes

    def __repr__(self):
        return f"MetaStorage(nbytes={self.nbytes})"


def device_of_storage(base):
    """The device a tensor's storage lives on (NumPy arrays are the CPU's)."""
    return getattr(base, "jt_device", CPU)


def call_device(opname, tensors):
    """The device code a call runs on: 0 (the CPU) when every tensor is a CPU tensor, else the one
    other device. Tensors on two devices raise PyTorch's error, except 0-d CPU tensors, which go
    with any device as PyTorch's CPU scalars do."""
    code = 0
    for t in tensors:
        b = t._base
        if b.__class__ is _np.ndarray:
            continue
        c = getattr(b, "device_code", 0)
        if c != code:
            if code:
                raise mixed_devices_error(opname, [device_of_storage(t._base) for t in tensors if t.device_code])
            code = c
    if code:
        cpu = [t for t in tensors if not t.device_code and t.shape != ()]
        if cpu:
            raise mixed_devices_error(opname, [CPU, next(t.device for t in tensors if t.device_code)])
    return code


def no_data_error(what="copy out of"):
    """PyTorch's error for reading a meta tensor's (absent) data."""
    return NotImplementedError(f"Cannot {what} meta tensor; no data!")


def mixed_devices_error(opname, devices):
    """PyTorch's error for an op whose tensors live on two devices, naming the op."""
    a, b = (str(d) for d in devices[:2])
    return RuntimeError(f"{opname}(): Expected all tensors to be on the same device, but found at least two "
                        f"devices, {a} and {b}!")


# ---- jt.cuda: python/jtensor/cuda.py (imported last: it uses this module's names) -------------------

from . import cuda  # noqa: E402
