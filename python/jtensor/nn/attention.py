"""`jt.nn.attention`: choosing the backends of ``scaled_dot_product_attention``, as
``torch.nn.attention``.

``sdpa_kernel(backends)`` restricts, for its duration, which backends attention may use. On the
CPU torch has two: the math one (any inputs) and a fused flash kernel, which takes only 4-d
inputs of equal batch size and head dim and no dropout; the other backends are CUDA ones and
never run here. jtensor computes attention one way (the math), so what this module reproduces is
torch's CPU behaviour that a program can observe: with the math backend allowed every call
works; with only flash allowed a call the flash kernel cannot take raises (after warning why, as
torch does) and the others work; with neither allowed every call raises.
"""
import contextlib
import enum
import warnings

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    """The backends of scaled dot-product attention (torch's numbering)."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_BACKEND_NAMES = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
                  "mem_efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH,
                  "overrideable": SDPBackend.OVERRIDEABLE}
_enabled = set(_BACKEND_NAMES.values())
_priority = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH,
             SDPBackend.CUDNN_ATTENTION, SDPBackend.OVERRIDEABLE]


def _cur_sdpa_kernel_backends(with_priority=False):
    """The enabled backends (in priority order with `with_priority`)."""
    backends = [b for b in _BACKEND_NAMES.values() if b in _enabled]
    return sorted(backends, key=_priority.index) if with_priority else backends


def _sdpa_kernel(backends, set_priority=False):
    _enabled.clear()
    _enabled.update(backends)
    if set_priority:
        _priority[:] = list(backends) + [b for b in _priority if b not in backends]


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Allow only `backends` (one SDPBackend or a list) for scaled dot-product attention within
    the block; with `set_priority` their order is also their priority. The previous state comes
    back on exit."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
                             f"got {type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous = _cur_sdpa_kernel_backends(with_priority=set_priority)
    try:
        _sdpa_kernel(backends, set_priority)
        yield {}
    finally:
        _sdpa_kernel(previous, set_priority)


def _flash_refusal(query, key, value, dropout_p):
    """Why torch's CPU flash kernel cannot take these inputs (its warning's text), or None."""
    if dropout_p > 0.0:
        return "Both fused kernels do not support non-zero dropout."
    if not (query.ndim == key.ndim == value.ndim == 4):
        return (f"All fused kernels requires query, key and value to be 4 dimensional, but got Query dim: "
                f"{query.ndim}, Key dim: {key.ndim}, Value dim: {value.ndim} instead.")
    if not (query.shape[0] == key.shape[0] == value.shape[0]):
        return (f"For dense inputs, both fused kernels require query, key and value to have the same batch_size. "
                f"Query.sizes(): {list(query.shape)}, Key.sizes(): {list(key.shape)}, Value.sizes(): "
                f"{list(value.shape)} instead. To broadcast dense inputs, try using unsqueeze and expand_to before "
                f"passing them into the kernel.")
    if not (query.shape[-1] == key.shape[-1] == value.shape[-1]):
        return (f"Flash attention requires q,k,v to have the same last dimension. Got Query.size(-1): "
                f"{query.shape[-1]}, Key.size(-1): {key.shape[-1]}, Value.size(-1): {value.shape[-1]} instead.")
    return None


def check_backends(query, key, value, dropout_p):
    """Raise as torch's CPU backend selection does when no allowed backend takes these inputs
    (``scaled_dot_product_attention`` calls this first)."""
    if SDPBackend.MATH in _enabled:
        return
    if SDPBackend.FLASH_ATTENTION not in _enabled:
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This is likely due to "
                           "turning off both the math kernel and the fused kernels.")
    reason = _flash_refusal(query, key, value, dropout_p)
    if reason is not None:
        warnings.warn("Flash attention kernel not used because:", UserWarning, stacklevel=3)
        warnings.warn(reason, UserWarning, stacklevel=3)
        raise RuntimeError("No available kernel.  Aborting execution.")
