"""`jt.testing`: torch.testing's `assert_close` and `make_tensor`, for tests written against torch.

`assert_close` follows torch's rules: tensors must agree in shape, dtype, device (and strides with
`check_stride=True`) exactly, then elementwise within ``atol + rtol * |expected|`` with tolerances
chosen by dtype; sequences and mappings are compared item by item; Python numbers as scalars. The
messages are torch's, so a test that matches on them keeps passing.
"""
import cmath
import collections.abc
import math

import numpy as np

from . import dtypes as D
from ._tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

# (rtol, atol) by dtype when neither is given: torch.testing's table
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}
_SCALAR_TOLERANCES = {float: (1e-7, 1e-7), complex: (1e-7, 1e-7)}   # Python floats are float64


class _Mismatch(AssertionError):
    """A failed comparison, with where in the nested inputs it happened."""

    def __init__(self, text, path=()):
        super().__init__(text)
        self.text, self.path = text, path


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless `actual` and `expected` are close (torch.testing.assert_close)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan,
                   check_device=check_device, check_dtype=check_dtype, check_stride=check_stride)
    try:
        _compare(actual, expected, (), options)
    except _Mismatch as e:
        text = e.text
        if e.path:
            text += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in e.path)
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise AssertionError(text) from None


def _no_pair(actual, expected):
    return TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _compare(actual, expected, path, options):
    if isinstance(actual, Tensor) or isinstance(expected, Tensor):
        if not (isinstance(actual, Tensor) and isinstance(expected, Tensor)):
            raise _no_pair(actual, expected)
        if not options["allow_subclasses"] and type(actual) is not type(expected):
            raise _no_pair(actual, expected)
        return _compare_tensors(actual, expected, path, options)
    if isinstance(actual, np.ndarray) or isinstance(expected, np.ndarray):
        if not (isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)):
            raise _no_pair(actual, expected)
        return _compare_tensors(_from_array(actual), _from_array(expected), path, options)
    if _is_number(actual) and _is_number(expected):
        return _compare_scalars(actual, expected, path, options)
    if isinstance(actual, collections.abc.Mapping) and isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            raise _Mismatch(f"The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(set(expected) - set(actual), key=repr)}\n"
                            f"Additional keys in the actual mapping: {sorted(set(actual) - set(expected), key=repr)}",
                            path)
        for k in expected:
            _compare(actual[k], expected[k], path + (k,), options)
        return
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        for i, (a, b) in enumerate(zip(actual, expected)):
            _compare(a, b, path + (i,), options)
        return
    if actual is None and expected is None:
        return
    raise _no_pair(actual, expected)


def _is_number(x):
    return isinstance(x, (bool, int, float, complex, np.number, np.bool_))


def _is_sequence(x):
    return isinstance(x, collections.abc.Sequence) and not isinstance(x, (str, bytes))


def _from_array(a):
    from . import from_numpy
    return from_numpy(np.ascontiguousarray(a))


def _compare_scalars(actual, expected, path, options):
    if options["check_dtype"] and type(actual) is not type(expected):
        raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.", path)
    kind = complex if isinstance(actual, complex) or isinstance(expected, complex) else \
        float if isinstance(actual, float) or isinstance(expected, float) else int
    rtol, atol = (options["rtol"], options["atol"]) if options["rtol"] is not None else \
        _SCALAR_TOLERANCES.get(kind, (0.0, 0.0))
    a, b = kind(actual), kind(expected)
    if _scalar_close(a, b, rtol, atol, options["equal_nan"]):
        return
    raise _Mismatch(_scalar_message(a, b, rtol, atol, exact=rtol == 0 and atol == 0), path)


def _scalar_close(a, b, rtol, atol, equal_nan):
    if a == b:
        return True
    isnan = cmath.isnan if isinstance(a, complex) else (lambda v: isinstance(v, float) and math.isnan(v))
    if isnan(a) or isnan(b):
        return equal_nan and isnan(a) and isnan(b)
    inf = cmath.isinf if isinstance(a, complex) else (lambda v: isinstance(v, float) and math.isinf(v))
    if inf(a) or inf(b):
        return False
    return abs(a - b) <= atol + rtol * abs(b)


def _scalar_message(a, b, rtol, atol, exact):
    diff = abs(a - b)
    rel = diff / abs(b) if b != 0 else (math.inf if diff else 0.0)
    if exact:
        return (f"Scalars are not equal!\n\nExpected {b} but got {a}.\nAbsolute difference: {diff}\n"
                f"Relative difference: {rel}")
    return (f"Scalars are not close!\n\nExpected {b} but got {a}.\nAbsolute difference: {diff} (up to {atol} "
            f"allowed)\nRelative difference: {rel} (up to {rtol} allowed)")


def _compare_tensors(actual, expected, path, options):
    if actual.shape != expected.shape:
        raise _Mismatch(f"The values for attribute 'shape' do not match: {_torch_repr(actual.shape)} != "
                        f"{_torch_repr(expected.shape)}.", path)
    if options["check_device"] and actual.device != expected.device:
        raise _Mismatch(f"The values for attribute 'device' do not match: {actual.device} != {expected.device}.",
                        path)
    if options["check_dtype"] and actual.dtype != expected.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: {_torch_repr(actual.dtype)} != "
                        f"{_torch_repr(expected.dtype)}.", path)
    if options["check_stride"] and actual.stride() != expected.stride():
        raise _Mismatch(f"The values for attribute 'stride()' do not match: {actual.stride()} != "
                        f"{expected.stride()}.", path)
    if options["rtol"] is not None:
        rtol, atol = options["rtol"], options["atol"]
    else:
        ta = _TOLERANCES.get(actual.dtype.name, (0.0, 0.0))
        tb = _TOLERANCES.get(expected.dtype.name, (0.0, 0.0))
        rtol, atol = max(ta[0], tb[0]), max(ta[1], tb[1])
    a, b = _host(actual), _host(expected)
    if actual.ndim == 0:
        a0, b0 = a.reshape(()).item(), b.reshape(()).item()
        if not _scalar_close(a0, b0, rtol, atol, options["equal_nan"]):
            raise _Mismatch(_scalar_message(a0, b0, rtol, atol, exact=rtol == 0 and atol == 0), path)
        return
    ok = _elementwise_close(a, b, rtol, atol, options["equal_nan"])
    if ok.all():
        return
    raise _Mismatch(_tensor_message(a, b, ok, rtol, atol, exact=rtol == 0 and atol == 0), path)


def _torch_repr(x):
    """torch's spelling of a shape or dtype in messages (jtensor's own repr says jtensor)."""
    return repr(x).replace("jtensor.", "torch.")


def _host(t):
    """A NumPy array of the tensor's values in its own precision (bfloat16 as float32), so that
    reported differences are those torch reports."""
    t = t.detach()
    if t.is_meta:
        raise ValueError("assert_close: meta tensors hold no values to compare")
    if t.dtype == D.bfloat16:
        t = t.to(D.float32)
    return np.asarray(t.cpu().numpy())


def _elementwise_close(a, b, rtol, atol, equal_nan):
    if a.dtype.kind in "iub" and b.dtype.kind in "iub" and rtol == 0 and atol == 0:
        return a == b
    wide = np.complex128 if "c" in (a.dtype.kind, b.dtype.kind) else np.float64
    a, b = a.astype(wide), b.astype(wide)
    with np.errstate(invalid="ignore", over="ignore"):
        finite = np.isfinite(a) & np.isfinite(b)
        close = np.where(finite, np.abs(a - b) <= atol + rtol * np.abs(b), a == b)   # infinities: exactly
        nan = np.isnan(a) | np.isnan(b)
        if equal_nan:
            close = np.where(nan, np.isnan(a) & np.isnan(b), close)
        else:
            close &= ~nan
    return close


def _tensor_message(a, b, ok, rtol, atol, exact):
    bad = ~ok
    n_bad, n = int(bad.sum()), bad.size
    common = np.result_type(a, b)
    if common.kind in "iub":   # differences of integers in float32, as torch reports them
        a, b, common = a.astype(np.int64), b.astype(np.int64), np.dtype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(a - b)
        rel = np.abs(diff.astype(common) if diff.dtype.kind in "iu" else diff) / np.abs(b).astype(common)
    # the greatest difference among the mismatches (a NaN counts as the greatest, as in torch)
    order_a = np.where(bad, np.where(np.isnan(diff), np.inf, diff), -1)
    order_r = np.where(bad, np.where(np.isnan(rel), np.inf, rel), -1)
    ia, ir = np.unravel_index(np.argmax(order_a), a.shape), np.unravel_index(np.argmax(order_r), a.shape)
    da = diff[ia]
    da = int(da) if diff.dtype.kind in "iu" else float(da)
    head = "Tensor-likes are not equal!" if exact else "Tensor-likes are not close!"
    allowed_a = "" if exact else f" (up to {atol} allowed)"
    allowed_r = "" if exact else f" (up to {rtol} allowed)"
    return (f"{head}\n\nMismatched elements: {n_bad} / {n} ({100 * n_bad / n:.1f}%)\n"
            f"Greatest absolute difference: {da} at index {tuple(int(i) for i in ia)}{allowed_a}\n"
            f"Greatest relative difference: {float(rel[ir])} at index {tuple(int(i) for i in ir)}{allowed_r}")


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False, noncontiguous=False,
                exclude_zero=False, memory_format=None):
    """A tensor of `shape` filled with uniform random values in [low, high) (torch.testing.make_tensor):
    floats default to [-9, 9), integers to [-9, 10), unsigned to [0, 10), bools are random."""
    from . import rand, randint, zeros
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if low is not None and high is not None and low > high:
        raise ValueError(f"make_tensor: low must be less than or equal to high, but got low={low} and "
                         f"high={high}")
    if dtype == D.bool_:
        t = randint(0, 2, shape).to(D.bool_)
    elif dtype.kind in "iu":
        info = np.iinfo(dtype.np_dtype)
        lo = max(int(math.ceil(low)) if low is not None else (0 if dtype.kind == "u" else -9), int(info.min))
        hi = min(int(math.ceil(high)) if high is not None else 10, int(info.max))
        t = randint(lo, max(hi, lo + 1), shape, dtype=D.int64).to(dtype)
    else:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        part = D.float64 if dtype.kind == "c" else dtype
        t = rand(shape, dtype=D.float64) * (hi - lo) + lo
        if dtype.kind == "c":
            t = (t + 1j * (rand(shape, dtype=D.float64) * (hi - lo) + lo)).to(dtype)
        else:
            t = t.to(part)
    if exclude_zero:
        from .typeinfo import finfo
        t = t.masked_fill(t == 0, 1 if dtype.kind in "iub" else finfo(dtype).tiny)
    if noncontiguous and t.numel() > 1:
        wide = zeros(shape[:-1] + (shape[-1] * 2,) if shape else (2,), dtype=dtype)
        wide[..., ::2] = t
        t = wide[..., ::2]
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t
