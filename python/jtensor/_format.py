"""PyTorch-style printing of tensors: ``tensor([1.0000, 2.5000], dtype=jtensor.float64)``."""
import numpy as np

from . import dtypes as D
from .user_dtypes import element_texts

_LINEWIDTH, _THRESHOLD, _EDGEITEMS, _PRECISION = 80, 1000, 3, 4  # torch's print options
_SCI_MODE = None   # None: chosen from the values; True/False: forced (jt.set_printoptions(sci_mode=))


class _Formatter:
    """Chooses one width and notation (int-valued, fixed, scientific) for all values, as torch does."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        values = values.ravel()
        if not floating:
            self.max_width = max([len(str(v)) for v in np.unique(values).tolist()] or [1])
            return
        nz = np.unique(values[np.isfinite(values) & (values != 0)])
        if nz.size == 0:
            return
        mag = np.abs(nz)
        lo, hi = mag.min(), mag.max()
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if _SCI_MODE is None else _SCI_MODE
        vals = nz.tolist()
        if self.sci_mode:
            self.max_width = max(len(f"{v:.{_PRECISION}e}") for v in vals)
        elif self.int_mode:
            self.max_width = max(len(f"{v:.0f}") + 1 for v in vals)
        else:
            self.max_width = max(len(f"{v:.{_PRECISION}f}") for v in vals)

    def format(self, v):
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.max_width}.{_PRECISION}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("" if np.isinf(v) or np.isnan(v) else ".")
            else:
                s = f"{v:.{_PRECISION}f}"
        else:
            s = f"{v}"
        return (self.max_width - len(s)) * " " + s


class _TextFormatter:
    """Right-aligns ready-made element texts (a user dtype's, by Julia's `show`) to one width."""

    def __init__(self, texts):
        self.max_width = max((len(x) for x in texts.ravel().tolist()), default=1)

    def format(self, text):
        return text.rjust(self.max_width)


def _summarized(arr):
    """The edge items that a summarized print shows (what torch sizes its formatter on)."""
    idx = [np.r_[0:_EDGEITEMS, n - _EDGEITEMS:n] if n > 2 * _EDGEITEMS else np.arange(n) for n in arr.shape]
    return arr[np.ix_(*idx)] if idx else arr


def _value_str(v, f1, f2):
    if f2 is None:
        return f1.format(v)
    re_s = f1.format(v.real)
    im_s = (f2.format(v.imag) + "j").lstrip()
    return re_s + im_s if im_s[0] in "+-" else re_s + "+" + im_s


def _body(arr, indent, summarize, f1, f2):
    if arr.ndim == 0:
        return _value_str(arr.item(), f1, f2)
    n = arr.shape[0]
    cut = summarize and n > 2 * _EDGEITEMS
    if arr.ndim == 1:
        width = f1.max_width + 2 + (f2.max_width + 1 if f2 is not None else 0)
        per_line = max(1, (_LINEWIDTH - indent) // width)
        items = arr.tolist()
        if cut:
            data = [_value_str(v, f1, f2) for v in items[:_EDGEITEMS]] + [" ..."] + \
                   [_value_str(v, f1, f2) for v in items[-_EDGEITEMS:]]
        else:
            data = [_value_str(v, f1, f2) for v in items]
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = list(range(_EDGEITEMS)) + [None] + list(range(n - _EDGEITEMS, n)) if cut else range(n)
    parts = ["..." if i is None else _body(arr[i], indent + 1, summarize, f1, f2) for i in rows]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_tensor(t):
    """torch's ``repr`` layout: one formatter per tensor, 80 columns, summarised above 1000 elements."""
    prefix = "tensor("
    indent = len(prefix)
    if t.is_meta:   # no values to show: PyTorch's layout for data-less tensors
        extra = "" if t.dtype is D.default_float else f", dtype=jtensor.{t.dtype.name}"
        grad = ", requires_grad=True" if getattr(t, "requires_grad", False) else ""
        return f"tensor(..., device='meta', size={tuple(t.shape)}{extra}{grad})"
    default_complex = D.complex128 if D.default_float is D.float64 else D.complex64
    suffixes = []
    if t.numel() == 0:
        body = "[]"
        if t.ndim != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype is not D.default_float:
            suffixes.append(f"dtype=jtensor.{t.dtype.name}")
    elif t.dtype.is_user:   # Julia's `show` of each element, laid out as torch lays out numbers
        texts = element_texts(t)
        summarize = texts.size > _THRESHOLD
        body = _body(texts, indent, summarize, _TextFormatter(_summarized(texts) if summarize else texts), None)
        suffixes.append(f"dtype=jtensor.{t.dtype.name}")
    else:
        arr = np.asarray(t.to(D.float32)) if t.dtype is D.bfloat16 else t.numpy()
        summarize = arr.size > _THRESHOLD
        shown = _summarized(arr) if summarize else arr
        if arr.dtype.kind == "c":
            f1 = _Formatter(shown.real.astype(np.float64), True)
            f2 = _Formatter(shown.imag.astype(np.float64), True)
        else:
            f1 = _Formatter(shown.astype(np.float64) if arr.dtype.kind == "f" else shown, arr.dtype.kind == "f")
            f2 = None
        body = _body(arr, indent, summarize, f1, f2)
        if t.dtype not in (D.default_float, default_complex, D.int64, D.bool_):
            suffixes.append(f"dtype=jtensor.{t.dtype.name}")
    if getattr(t, "requires_grad", False):
        suffixes.append("requires_grad=True")
    out = [prefix + body]
    last = len(out[0]) - out[0].rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"
