"""`jt.autograd.detect_anomaly` and `set_detect_anomaly`, as torch.autograd's anomaly mode.

While it is on (with check_nan), a backward node whose gradients contain NaN raises
RuntimeError naming the node and which of its outputs (`autograd._check_nan`). The switch itself
lives in `jt.switches` (`set_anomaly_enabled`, `is_anomaly_enabled`)."""
import functools
import warnings

from .. import switches

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class _AnomalyContext:
    """Sets the anomaly switch for a block (or a decorated function) and restores it after."""

    def __init__(self, mode, check_nan):
        self.mode, self.check_nan = bool(mode), bool(check_nan)
        self.prev = None

    def __enter__(self):
        self.prev = (switches.is_anomaly_enabled(), switches.is_anomaly_check_nan_enabled())
        switches.set_anomaly_enabled(self.mode, self.check_nan)
        return self

    def __exit__(self, *exc):
        switches.set_anomaly_enabled(*self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)
        return wrapper


class detect_anomaly(_AnomalyContext):
    """Anomaly detection on for the block: ``with jt.autograd.detect_anomaly(): ...``."""

    def __init__(self, check_nan=True):
        super().__init__(True, check_nan)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", stacklevel=2)

    def _args(self):
        return (self.check_nan,)


class set_detect_anomaly(_AnomalyContext):
    """Turn anomaly detection on or off; takes effect at once (as a function call) and, used as a
    context manager, is undone on exit."""

    def __init__(self, mode, check_nan=True):
        super().__init__(mode, check_nan)
        self.prev = (switches.is_anomaly_enabled(), switches.is_anomaly_check_nan_enabled())
        switches.set_anomaly_enabled(self.mode, self.check_nan)

    def __enter__(self):
        return self

    def _args(self):
        return (self.mode, self.check_nan)
