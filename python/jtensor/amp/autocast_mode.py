"""`jt.autocast` / `jt.amp.autocast`: mixed precision regions, as torch's.

On the CPU the matrix products, convolutions and linear layers inside the region compute in
bfloat16 (or float16 when asked) and the losses in float32 (the op lists and how the casts are
applied: `jtensor/_autocast_policy.py`). This build has no CUDA device, so a CUDA region does
nothing and warns once, as torch does on a machine without CUDA. Regions nest; leaving one
restores the state it found. (Julia has no fast bfloat16 matrix kernels: inside a CPU region the
products are correct but slower than in float32; autocast is for programs that ask for it.)
"""
import functools
import warnings

from .. import _autocast_policy as _policy
from .. import codegen, dtypes as D

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

_CPU_DTYPES = ("bfloat16", "float16")
_DEVICE_TYPES = ("cpu", "cuda", "xpu", "mps", "hpu", "xla", "meta", "ipu", "mtia", "maia")


def is_autocast_available(device_type):
    """Whether autocast can act on `device_type` here: only the CPU."""
    return device_type == "cpu"


def _set_dtype(value):
    """Make `value` (a dtype or None) the CPU autocast state, switching the fast path of the
    affected registry ops off while it is on."""
    was = _policy.dtype[0]
    _policy.dtype[0] = value
    if (was is None) != (value is None):
        codegen.fast_path_off(_policy.REGISTRY_OPS, value is not None)


class autocast:
    """``with jt.autocast("cpu"):`` (or as a decorator). `dtype` defaults to bfloat16 on the CPU."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"Invalid device string: '{device_type}'")
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else (D.bfloat16 if device_type == "cpu" else D.float16)
        self._enabled = bool(enabled)
        self._cache_enabled = cache_enabled
        if self._enabled and device_type != "cpu":
            warnings.warn(f"User provided device_type of '{device_type}', but this jtensor build has no "
                          f"{device_type.upper()} device. Disabling autocast.", stacklevel=2)
            self._enabled = False
        if self._enabled and getattr(self.fast_dtype, "name", None) not in _CPU_DTYPES:
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                          "CPU Autocast only supports dtypes of jtensor.bfloat16, jtensor.float16 currently.",
                          stacklevel=2)
            self._enabled = False
        self._saved = []

    def __enter__(self):
        self._saved.append(_policy.dtype[0])
        _set_dtype(self.fast_dtype if self._enabled else None)
        return self

    def __exit__(self, *exc):
        _set_dtype(self._saved.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with autocast(self.device, dtype=self.fast_dtype, enabled=self._enabled,
                          cache_enabled=self._cache_enabled):
                return fn(*args, **kwargs)
        return wrapped


def is_autocast_enabled(device_type=None):
    """Whether autocast is on for `device_type`; without it, for CUDA (torch's legacy meaning),
    which this build never enables."""
    return _policy.dtype[0] is not None and device_type == "cpu"


def is_autocast_cpu_enabled():
    return is_autocast_enabled("cpu")


def get_autocast_dtype(device_type):
    """The dtype autocast uses on `device_type` (its default when no region is open)."""
    if device_type == "cpu":
        return _policy.dtype[0] or D.bfloat16
    return D.float16


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom `autograd.Function`'s forward: with `cast_inputs`, inside an
    enabled region the floating point tensor arguments are cast to it and forward runs with
    autocast off; the state seen by forward is remembered for `custom_bwd`."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorated(*args, **kwargs):
        from .._tensor import Tensor
        ctx = args[0] if args else None
        on = is_autocast_enabled(device_type)
        if ctx is not None:
            ctx._fwd_autocast = _policy.dtype[0] if on and cast_inputs is None else None
        if cast_inputs is None or not on:
            return fwd(*args, **kwargs)

        def cast(x):
            return x.to(cast_inputs) if isinstance(x, Tensor) and x.dtype.kind == "f" else x
        with autocast(device_type, enabled=False):
            return fwd(*[cast(a) for a in args], **{k: cast(v) for k, v in kwargs.items()})
    return decorated


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom Function's backward: it runs with the autocast state its forward had."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorated(ctx, *grads):
        dtype = getattr(ctx, "_fwd_autocast", None)
        with autocast(device_type, dtype=dtype, enabled=dtype is not None):
            return bwd(ctx, *grads)
    return decorated
