"""`jt.amp`: automatic mixed precision, as torch.amp: `autocast` regions and `GradScaler`.
`jt.cpu.amp` and `jt.cuda.amp` hold torch's older per-device spellings."""
from .autocast_mode import autocast, is_autocast_available, custom_fwd, custom_bwd  # noqa: F401
from .autocast_mode import is_autocast_enabled, get_autocast_dtype  # noqa: F401
from .grad_scaler import GradScaler  # noqa: F401
from . import device_amp  # noqa: F401

__all__ = ["autocast", "is_autocast_available", "custom_fwd", "custom_bwd", "GradScaler"]
