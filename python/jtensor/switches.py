"""PyTorch's global switches that programs set at start-up: print options, determinism, matmul
precision, anomaly detection, warn-always, the deprecated default tensor type, and the small
type queries `typename` / `is_storage`. Each has PyTorch's signature and validation; where a
switch selects between kernels that this CPU build does not have (TF32, nondeterministic
atomics), it is recorded and reported back, which is what PyTorch does on a CPU as well.
"""
import warnings

from . import _format
from . import dtypes as D
from ._tensor import Tensor
from .ops import composed

_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)}


@composed(method=False)
def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Set how tensors print (PyTorch's options and profiles "default", "short", "full");
    `sci_mode` True/False forces scientific notation on/off, None lets the values decide."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}")
        p = _PROFILES[profile]
        _format._PRECISION, _format._THRESHOLD = p["precision"], p["threshold"]
        _format._EDGEITEMS, _format._LINEWIDTH = p["edgeitems"], p["linewidth"]
    if precision is not None:
        _format._PRECISION = int(precision)
    if threshold is not None:
        _format._THRESHOLD = threshold
    if edgeitems is not None:
        _format._EDGEITEMS = int(edgeitems)
    if linewidth is not None:
        _format._LINEWIDTH = int(linewidth)
    _format._SCI_MODE = sci_mode


_DETERMINISTIC = {"on": False, "warn_only": False}


@composed(method=False)
def use_deterministic_algorithms(mode, *, warn_only=False):
    """Ask for deterministic algorithms. Every jtensor kernel is deterministic on the CPU, so this
    only records the choice (read back by `are_deterministic_algorithms_enabled`)."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}")
    _DETERMINISTIC["on"], _DETERMINISTIC["warn_only"] = mode, bool(warn_only)


@composed(method=False)
def are_deterministic_algorithms_enabled():
    """Whether `use_deterministic_algorithms(True)` is in force."""
    return _DETERMINISTIC["on"]


@composed(method=False)
def is_deterministic_algorithms_warn_only_enabled():
    """Whether deterministic mode was set with `warn_only=True`."""
    return _DETERMINISTIC["warn_only"]


@composed(method=False)
def set_deterministic_debug_mode(debug_mode):
    """`use_deterministic_algorithms` by level: 0/"default" off, 1/"warn" warn only, 2/"error" on."""
    levels = {"default": 0, "warn": 1, "error": 2}
    level = levels.get(debug_mode, debug_mode) if isinstance(debug_mode, str) else debug_mode
    if level not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected one of 0, 1, 2, but got {debug_mode}")
    use_deterministic_algorithms(level > 0, warn_only=level == 1)


@composed(method=False)
def get_deterministic_debug_mode():
    """0, 1 or 2, as `set_deterministic_debug_mode` took it."""
    return 0 if not _DETERMINISTIC["on"] else (1 if _DETERMINISTIC["warn_only"] else 2)


_MATMUL_PRECISION = ["highest"]


@composed(method=False)
def set_float32_matmul_precision(precision):
    """"highest", "high" or "medium": recorded; float32 matmuls here always compute in float32.
    Any other value warns and changes nothing, as PyTorch."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      f"setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _MATMUL_PRECISION[0] = precision


@composed(method=False)
def get_float32_matmul_precision():
    """The value last given to `set_float32_matmul_precision` ("highest" by default)."""
    return _MATMUL_PRECISION[0]


_ANOMALY = {"on": False, "check_nan": True}


@composed(method=False)
def set_anomaly_enabled(enabled, check_nan=True):
    """Turn anomaly detection on or off. While on (and check_nan), a backward node that produces
    NaN raises RuntimeError naming it, as PyTorch's anomaly mode does (autograd.run_backward)."""
    _ANOMALY["on"], _ANOMALY["check_nan"] = bool(enabled), bool(check_nan)


@composed(method=False)
def is_anomaly_enabled():
    """Whether anomaly detection is on."""
    return _ANOMALY["on"]


@composed(method=False)
def is_anomaly_check_nan_enabled():
    """Whether anomaly detection also checks for NaN."""
    return _ANOMALY["check_nan"]


@composed(method=False)
def is_inference_mode_enabled():
    """Whether an `inference_mode()` block is active."""
    from .autograd import inference_mode
    return inference_mode.depth[0] > 0


_WARN_ALWAYS = [False]


@composed(method=False)
def set_warn_always(b):
    """Record whether PyTorch-style one-time warnings should repeat (read by `is_warn_always_enabled`)."""
    _WARN_ALWAYS[0] = bool(b)


@composed(method=False)
def is_warn_always_enabled():
    """The flag `set_warn_always` set."""
    return _WARN_ALWAYS[0]


_TENSOR_TYPES = {"torch.FloatTensor": D.float32, "torch.DoubleTensor": D.float64, "torch.HalfTensor": D.float16,
                 "torch.BFloat16Tensor": D.bfloat16}


@composed(method=False)
def set_default_tensor_type(t):
    """Deprecated in PyTorch (use `set_default_dtype`): sets the default float dtype from a tensor
    type name ("torch.DoubleTensor") or a dtype. CUDA tensor types are refused as without CUDA."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "name", None)
    if isinstance(name, str) and name.startswith("torch.cuda."):
        raise TypeError("type torch.cuda.FloatTensor not available. Torch not compiled with CUDA enabled.")
    d = _TENSOR_TYPES.get(name) if isinstance(t, str) else D.as_dtype(t)
    if d is None:
        raise TypeError(f"invalid type: {t!r}")
    D.set_default_dtype(d)


_TYPE_NAMES = {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
               "bfloat16": "torch.BFloat16Tensor", "int64": "torch.LongTensor", "int32": "torch.IntTensor",
               "int16": "torch.ShortTensor", "int8": "torch.CharTensor", "uint8": "torch.ByteTensor",
               "bool": "torch.BoolTensor", "complex64": "torch.ComplexFloatTensor",
               "complex128": "torch.ComplexDoubleTensor"}


@composed(method=False)
def typename(obj):
    """PyTorch's type name of a tensor ("torch.FloatTensor"), else the object's qualified type name."""
    if isinstance(obj, Tensor):
        return _TYPE_NAMES[obj.dtype.name]
    module = getattr(type(obj), "__module__", "")
    qual = type(obj).__qualname__
    return qual if module in ("builtins", "__builtin__", None) else f"{module}.{qual}"


@composed(method=False)
def is_storage(obj):
    """False: jtensor has no storage objects (tensors own NumPy buffers)."""
    return False
