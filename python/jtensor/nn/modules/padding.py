"""Padding modules: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2 and
3 dims, each F.pad with a fixed padding (an int pads every side) and mode."""
from .. import functional as F
from ..module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
           for n in (1, 2, 3)]


def _sides(padding, n):
    """PyTorch's _pair / _quadruple / _ntuple(6): an int repeated for both sides of n dims."""
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n:
        raise ValueError(f"padding must be an int or a {2 * n}-tuple, got {padding!r}")
    return padding


class _PadNd(Module):
    """F.pad(input, padding, mode) over the last `_dims` dims."""

    _mode = "constant"
    _dims = 1

    def __init__(self, padding):
        super().__init__()
        self.padding = _sides(padding, self._dims)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


def _make(kind, base, mode, n):
    doc = f"{kind} padding of the last {n} dim{'s' if n > 1 else ''} (F.pad with mode {mode!r})."
    return type(f"{kind}Pad{n}d", (base,), {"_mode": mode, "_dims": n, "__doc__": doc, "__module__": __name__})


for _n in (1, 2, 3):
    for _kind, _base, _mode in (("Zero", _ZeroPadNd, "constant"), ("Constant", _ConstantPadNd, "constant"),
                                ("Reflection", _PadNd, "reflect"), ("Replication", _PadNd, "replicate"),
                                ("Circular", _PadNd, "circular")):
        globals()[f"{_kind}Pad{_n}d"] = _make(_kind, _base, _mode, _n)
