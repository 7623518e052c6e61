"""User element types as dtypes: a Julia `isbits` type registered with `register_dtype` becomes
a `jt.dtype` (`jt.<name>`), its tensors stored as raw bytes and run by the same registry ops.

The registration lives in Julia (julia/src/dtypes.jl `register_dtype`, which gives the type the
next wire code after the built-ins and bumps the registry version); Python learns of it, from
either side, at the next registry sync (dtypes.py `load_user_dtypes`, called with the promotion
tables), and `publish` below binds the new dtypes as attributes of `jtensor`.

What Python adds for such dtypes: printing by Julia's `show` (`element_texts`), and clear
refusals where a built-in-only path would misread the bytes (NumPy's `__array__`, DLPack).
"""
import re
import sys
import warnings

import numpy as np

from . import dtypes as D

_published = set()


def register_dtype(name, julia_type):
    """Make the Julia `isbits` type `julia_type` (Julia source naming it, e.g. ``"Main.Float8E4M3"``
    or ``"Dual{Float64}"``, evaluated in `Main`) the jtensor dtype `name`; returns the dtype, also
    published as ``jtensor.<name>``. The type's methods (arithmetic, `convert`, `promote_rule`,
    `show`) must already be defined in Julia (`jt.julia.include` the file that defines them).
    Registering the same type under the same name again returns the same dtype."""
    from . import julia
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"register_dtype: name {name!r} is not an identifier")
    existing = D.BY_NAME.get(name)
    top = sys.modules["jtensor"]
    if existing is None and name in vars(top):
        raise ValueError(f"register_dtype: jtensor.{name} already exists; choose another name")
    if not isinstance(julia_type, str):
        raise TypeError(f"register_dtype: julia_type must be Julia source text naming the type, "
                        f"got {type(julia_type).__name__}")
    julia.eval(f"JTensor.register_dtype({julia_type}; name = {_julia_string(name)}); nothing")
    return D.BY_NAME[name]


def _julia_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def publish(registry):
    """Registry listener: bind each user dtype not yet published as ``jtensor.<name>`` (one that a
    Julia-side `JTensor.register_dtype` made, too), unless the name is taken by something else."""
    top = sys.modules["jtensor"]
    for d in D.user_dtypes():
        if d.name in _published:
            continue
        _published.add(d.name)
        if getattr(top, d.name, d) is not d:
            warnings.warn(f"jtensor: user dtype {d.name} ({d.julia_type}) is not published as jtensor.{d.name}, "
                          f"a name jtensor already has; reach it as jtensor.dtypes.BY_NAME[{d.name!r}]",
                          RuntimeWarning, stacklevel=2)
            continue
        setattr(top, d.name, d)


def element_texts(t):
    """Each element of the CPU tensor `t` (of a user dtype) as Julia's `show` writes it, as a NumPy
    object array of `t`'s shape."""
    from .ops import ops
    raw = ops._show_elements(t).numpy().tobytes().decode("utf-8", "replace")
    texts = raw.split("\x1f") if t.numel() else []
    arr = np.empty(len(texts), dtype=object)
    arr[:] = texts
    return arr.reshape(t.shape)


def refuse_numpy(t):
    """NumPy's protocol (`np.asarray(t)`) on a user dtype: NumPy has no such type, and its bytes
    read as numbers would be garbage."""
    raise TypeError(f"a tensor of user dtype {t.dtype.name} ({t.dtype.julia_type}) has no NumPy equivalent: "
                    f"convert it first (t.to(jtensor.float64)), or use t.numpy() for its raw bytes "
                    f"(NumPy dtype {np.dtype(t.dtype.np_storage)})")


def as_float64(t):
    """`t` (a user dtype) as float64 by the type's Julia `convert(Float64, x)`: how `.tolist()` and
    `.item()` give Python floats; a type without that conversion raises a TypeError saying so."""
    from .errors import JuliaTypeError
    try:
        return t.detach().to(D.float64)
    except JuliaTypeError as e:
        raise TypeError(f"tensor of user dtype {t.dtype.name}: its values become Python floats by Julia's "
                        f"convert(Float64, ::{t.dtype.julia_type}), which has no method "
                        f"({e.julia_message.strip().splitlines()[0]})") from None
