"""torch's per-device spellings of autocast and GradScaler: `jt.cpu.amp` and `jt.cuda.amp` (the
latter disabled, with torch's warning, as on a machine without CUDA)."""
import types
import warnings

from .. import dtypes as D
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


def _namespace(device, default_dtype):
    class autocast(_autocast):
        def __init__(self, enabled=True, dtype=default_dtype, cache_enabled=True):
            warnings.warn(f"`jt.{device}.amp.autocast(args...)` is deprecated. Please use "
                          f"`jt.amp.autocast('{device}', args...)` instead.", FutureWarning, stacklevel=2)
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
    autocast.__qualname__ = f"{device}.amp.autocast"

    class GradScaler(_GradScaler):
        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            warnings.warn(f"`jt.{device}.amp.GradScaler(args...)` is deprecated. Please use "
                          f"`jt.amp.GradScaler('{device}', args...)` instead.", FutureWarning, stacklevel=2)
            super().__init__(device, init_scale, growth_factor, backoff_factor, growth_interval, enabled)
    GradScaler.__qualname__ = f"{device}.amp.GradScaler"
    return types.SimpleNamespace(autocast=autocast, GradScaler=GradScaler)


cpu = _namespace("cpu", D.bfloat16)
cuda = _namespace("cuda", D.float16)
