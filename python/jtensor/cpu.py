"""`jt.cpu`: torch.cpu's device functions (the CPU is always there) and `jt.cpu.amp`."""
from .amp.device_amp import cpu as amp  # noqa: F401

__all__ = ["is_available", "device_count", "current_device", "synchronize", "amp"]


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """Nothing to wait for: CPU kernels finish before they return."""
