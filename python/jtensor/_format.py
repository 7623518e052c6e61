"""PyTorch-style printing of tensors: ``tensor([1.0000, 2.5000], dtype=jtensor.float64)``."""
import numpy as np

from . import dtypes as D

_DEFAULT = {D.float32, D.int64, D.bool_, D.complex64}


def _float_formatter(values):
    finite = values[np.isfinite(values)] if values.size else values
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max(initial=0) < 1e8:
        return lambda v: (f"{v:.0f}." if np.isfinite(v) else str(v).replace("inf", "inf"))
    big = np.abs(finite).max(initial=0)
    small = np.abs(finite[finite != 0]).min(initial=1) if finite.size else 1
    if big >= 1e8 or small < 1e-4:
        return lambda v: f"{v:.4e}"
    return lambda v: f"{v:.4f}"


def format_tensor(t):
    if t.dtype is D.bfloat16:
        arr = np.asarray(t.to(D.float32))
    else:
        arr = t.numpy()
    if arr.dtype.kind == "f":
        fmt = _float_formatter(arr.astype(np.float64).ravel())
        body = np.array2string(arr, separator=", ", formatter={"float_kind": fmt}, prefix="tensor(",
                               threshold=1000, edgeitems=3)
    elif arr.dtype.kind == "c":
        body = np.array2string(arr, separator=", ", precision=4, prefix="tensor(", threshold=1000, edgeitems=3)
    else:
        body = np.array2string(arr, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    extras = []
    if t.numel() == 0 and t.ndim != 1:
        extras.append(f"size={tuple(t.shape)}")
    if t.dtype not in _DEFAULT:
        extras.append(f"dtype=jtensor.{t.dtype.name}")
    if getattr(t, "requires_grad", False):
        extras.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
