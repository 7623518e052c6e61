"""Data types, type promotion and the named dtype rules of elementwise ops.

The wire code of each dtype is its position in `_TABLE`, which must match `DTYPES` in
julia/src/dtypes.jl (checked at start-up against the registry). Promotion is not computed here:
the rule (PyTorch's: the higher of bool < integer < floating < complex wins, within a category the
type that holds both, int8 with uint8 -> int16, float16 with bfloat16 -> float32; Python scalars
are weak, changing only the category: int tensor + 1.5 -> the default float, float16 + 1.5 ->
float16) is defined once, in julia/src/dtypes.jl (`promote_dtype`, `promote_scalar`), because
Julia must promote alone too (`JTensor.call`, kernels). Julia sends it as tables with the registry
(`load_promotion`), and `promote_types`/`result_type` look results up.
"""
import numpy as np


class dtype:
    """A tensor element type (`jt.float32`, ...), built in or a user's Julia type (`register_dtype`).

    `julia_type` is the Julia element type's text; `is_user` says whether it was registered at run
    time (kind "V": stored as raw bytes, NumPy storage `V<itemsize>`, promoted by Julia's
    `promote_type`)."""

    __slots__ = ("name", "code", "itemsize", "kind", "np_storage", "np_dtype", "typestr", "julia_type", "is_user")

    def __init__(self, name, code, itemsize, kind, np_dtype, np_storage, julia_type, is_user=False):
        self.name, self.code, self.itemsize, self.kind = name, code, itemsize, kind
        self.np_dtype = np_dtype          # NumPy's equivalent, or None (bfloat16); user dtypes: raw bytes
        self.np_storage = np_storage      # the NumPy dtype used to hold the bytes
        self.typestr = np.dtype(np_storage).str
        self.julia_type = julia_type
        self.is_user = is_user

    is_floating_point = property(lambda self: self.kind == "f")
    is_complex = property(lambda self: self.kind == "c")
    is_signed = property(lambda self: self.kind in "ifc")
    bits = property(lambda self: self.itemsize * 8)

    def __repr__(self):
        return f"jtensor.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self):
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self):
        return {"float64": complex128}.get(self.name, complex64)


_TABLE = [
    ("bool", 1, "b", np.bool_, "Bool"),
    ("int8", 1, "i", np.int8, "Int8"),
    ("int16", 2, "i", np.int16, "Int16"),
    ("int32", 4, "i", np.int32, "Int32"),
    ("int64", 8, "i", np.int64, "Int64"),
    ("uint8", 1, "u", np.uint8, "UInt8"),
    ("float16", 2, "f", np.float16, "Float16"),
    ("bfloat16", 2, "f", None, "JTensor.BFloat16"),
    ("float32", 4, "f", np.float32, "Float32"),
    ("float64", 8, "f", np.float64, "Float64"),
    ("complex64", 8, "c", np.complex64, "Complex{Float32}"),
    ("complex128", 16, "c", np.complex128, "Complex{Float64}"),
]
ALL = [dtype(n, i, s, k, npd, npd if npd is not None else np.uint16, jl)
       for i, (n, s, k, npd, jl) in enumerate(_TABLE)]       # the built-ins
BY_CODE = list(ALL)     # built-ins, then user dtypes (load_user_dtypes)
BY_NAME = {d.name: d for d in ALL}
(bool_, int8, int16, int32, int64, uint8, float16, bfloat16, float32, float64, complex64, complex128) = ALL
_BY_NP = {np.dtype(d.np_dtype): d for d in ALL if d.np_dtype is not None}

default_float = float32

# PyTorch's C++ ScalarType names: what its kernel errors print ("not implemented for 'Long'") and
# what names the legacy tensor classes (torch.LongTensor) and Tensor.type() strings.
SCALAR_TYPE_NAMES = {"bool": "Bool", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
                     "uint8": "Byte", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                     "float64": "Double", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def scalar_type_name(dt):
    """PyTorch's ScalarType name of a dtype ('Float' for float32); a user dtype's own name."""
    return SCALAR_TYPE_NAMES.get(dt.name, dt.name)


# ---- range checks of values written into a dtype ---------------------------------------------------
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38}


def _int_range(dt):
    """Values an integer dtype accepts from Python, as PyTorch's `overflows`: the type's range,
    and for unsigned types also negatives down to -max (they wrap, -1 -> 255)."""
    info = np.iinfo(dt.np_dtype)
    return (-int(info.max), int(info.max)) if dt.kind == "u" else (int(info.min), int(info.max))


def _overflow(value, dt):
    return RuntimeError(f"value cannot be converted to type {dt.name} without overflow (got {value!r})")


def check_fits(value, dt):
    """Raise PyTorch's RuntimeError when the Python scalar `value` cannot be stored in `dt`:
    out of an integer type's range, NaN or infinite into an integer type, a finite value beyond a
    float type's largest, or a complex value with an imaginary part into a real type."""
    if isinstance(value, bool) or dt.kind in "bc":
        return
    if isinstance(value, complex):
        if value.imag != 0:
            raise _overflow(value, dt)
        value = value.real
    if dt.kind in "iu":
        if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
            raise _overflow(value, dt)
        lo, hi = _int_range(dt)
        try:
            v = int(value)
        except (TypeError, ValueError):
            return   # not a number (a 0-d tensor, say): the op's own conversion decides
        if not lo <= v <= hi:
            raise _overflow(value, dt)
    elif dt.name in _FLOAT_MAX and isinstance(value, (int, float)):
        if value == value and abs(value) != float("inf") and abs(value) > _FLOAT_MAX[dt.name]:
            raise _overflow(value, dt)


def check_array_fits(arr, dt):
    """`check_fits` for every element of the NumPy array `arr` going into integer dtype `dt`
    (floats are truncated toward zero, as a cast does; NaN and infinities are refused)."""
    if dt.kind not in "iu" or arr.size == 0 or arr.dtype.kind not in "biuf":
        return
    lo, hi = _int_range(dt)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise _overflow(arr[~np.isfinite(arr)].flat[0].item(), dt)
        a_lo, a_hi = np.trunc(arr.min()).item(), np.trunc(arr.max()).item()
    else:
        a_lo, a_hi = int(arr.min()), int(arr.max())
    if a_lo < lo or a_hi > hi:
        raise _overflow(a_lo if a_lo < lo else a_hi, dt)
default_int = int64


def _by_name(name):
    return BY_NAME[name]


# ---- user dtypes: Julia types registered at run time (julia/src/dtypes.jl `register_dtype`) ----------

def load_user_dtypes(table):
    """Make a dtype for each user type in the registry JSON `table` that Python lacks (codes after
    the built-ins, in Julia's order); returns the new ones. A registered dtype never changes."""
    new = []
    for i, u in enumerate(table.get("user_dtypes", ())):
        code = len(ALL) + i
        if code < len(BY_CODE):
            d = BY_CODE[code]
            if d.name != u["name"] or d.itemsize != u["itemsize"]:
                raise RuntimeError(f"jtensor: Julia's user dtype {code} is {u['name']} ({u['julia_type']}), "
                                   f"but Python has {d.name}")
            continue
        raw = np.dtype(f"V{u['itemsize']}")     # NumPy's view of the elements: their raw bytes
        d = dtype(u["name"], code, u["itemsize"], "V", raw, raw, u["julia_type"], True)
        BY_CODE.append(d)
        BY_NAME[d.name] = d
        new.append(d)
    return new


def user_dtypes():
    """The registered user dtypes, in code order."""
    return BY_CODE[len(ALL):]


class _NoDtype:
    """A promotion table's entry where Julia's `promote_type` gives a type that is not a dtype (a
    user type with a built-in it has no `promote_rule` for, say): using it as a dtype raises."""

    __slots__ = ("message",)

    def __init__(self, message):
        object.__setattr__(self, "message", message)

    def __getattr__(self, attr):
        raise TypeError(object.__getattribute__(self, "message"))

    def __repr__(self):
        return f"<no dtype: {object.__getattribute__(self, 'message')}>"


def _name_or_refusal(n, what):
    return BY_NAME[n] if n is not None else _NoDtype(
        f"no jtensor dtype for {what}: Julia's promote_type gives a type that is not a registered dtype "
        "(give the user type a promote_rule, or register the type it promotes to)")


def from_numpy(npdtype):
    d = _BY_NP.get(np.dtype(npdtype))
    if d is None:
        raise TypeError(f"jtensor has no dtype for NumPy dtype {np.dtype(npdtype)}")
    return d


def as_dtype(x):
    """Accept a jtensor dtype, a name ('float32'), a NumPy dtype or a Python type."""
    if isinstance(x, dtype):
        return x
    if x is bool:
        return bool_
    if x is int:
        return int64
    if x is float:
        return default_float
    if x is complex:
        return complex64 if default_float is float32 else complex128
    if isinstance(x, str) and x in BY_NAME:
        return BY_NAME[x]
    if type(x).__module__ == "torch" and str(x).startswith("torch."):   # a torch.dtype
        name = str(x)[len("torch."):]
        if name in BY_NAME:
            return BY_NAME[name]
    try:
        return from_numpy(x)
    except TypeError:
        raise TypeError(f"not a jtensor dtype: {x!r}") from None


# ---- promotion: Julia's rule, read as tables ---------------------------------------------------
# The rule is defined once, in julia/src/dtypes.jl (`promote_dtype`, `promote_scalar`), which Julia's
# kernels and `JTensor.call` use directly. Python gets it as tables in the registry's JSON
# (`promotion_tables()` there) on every registry sync, and looks results up: no second copy of the
# rule to drift, and a lookup is as fast as the old computed rule (it is on every op's hot path).

class _NotLoaded:
    """Stands for a table until the registry is first read (promotion before `import jtensor` ends)."""

    def __getitem__(self, i):
        raise RuntimeError("jtensor: dtype promotion is read from Julia's registry, which has not been read yet")


_PAIRS = _NotLoaded()      # _PAIRS[a.code][b.code]: promote_types(a, b)
_SCALARS = _NotLoaded()    # _SCALARS[a.code][kind]: a tensor of dtype a with a Python scalar of kind
_CATEGORY = _NotLoaded()   # _CATEGORY[a.code]: 0 bool, 1 integer, 2 floating, 3 complex


def load_promotion(table):
    """Install the promotion tables from the registry JSON `table` (Julia's `registry_json`):
    `table["promotion"]` holds `pairs`, `scalars` and `default_float` as dtype names in wire order."""
    global _PAIRS, _SCALARS, _CATEGORY
    t = table["promotion"]
    load_user_dtypes(table)
    names = table["dtypes"]
    _PAIRS = tuple(tuple(_name_or_refusal(n, f"{names[i]} with {names[j]}") for j, n in enumerate(row))
                   for i, row in enumerate(t["pairs"]))
    _CATEGORY = tuple(t["categories"])
    _SCALARS = _with_default_float(tuple({k: _name_or_refusal(n, f"{names[i]} with a Python {_KIND_NAMES[k]}")
                                          for k, n in row.items()} for i, row in enumerate(t["scalars"])),
                                   BY_NAME[t["default_float"]], default_float)


_KIND_NAMES = {"b": "bool", "i": "int", "f": "float", "c": "complex"}


def _with_default_float(scalars, julia_default, default):
    """The scalar-promotion rows with `default` as the default float: Julia's tables are made for
    its own (`DEFAULT_FLOAT`); a Python float (or complex) scalar meeting a bool or integer tensor,
    or alone, gives the default float (or its complex type), as in PyTorch."""
    if default is julia_default:
        return scalars
    jc, c = julia_default.to_complex(), default.to_complex()
    return tuple({k: (default if d is julia_default else c if d is jc else d) if 0 <= _CATEGORY[i] < 2 else d
                  for k, d in row.items()} for i, row in enumerate(scalars))


def get_default_dtype():
    """The dtype of Python floats made into tensors, and of float results of integer inputs."""
    return default_float


def set_default_dtype(d):
    """Set the default floating point dtype (PyTorch's `set_default_dtype`): creation functions,
    `tensor(1.5)`, integer tensors with float scalars and float results of integer inputs use it.
    Only floating point dtypes are accepted (TypeError otherwise, as PyTorch)."""
    global default_float, _SCALARS
    d = as_dtype(d)
    if d.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {d.name}")
    if d is default_float:
        return
    _SCALARS = _with_default_float(_SCALARS, default_float, d)
    default_float = d
    from . import drivers   # cached plans and fast-path signatures hold result dtypes of the old default
    drivers._PLANS.clear()
    drivers.FAST_SIGNATURES.clear()


def promote_types(a, b):
    """The dtype of a result computed from tensors of dtypes a and b (jtensor's rule, PyTorch's:
    julia/src/dtypes.jl `promote_dtype`)."""
    return _PAIRS[a.code][b.code]


def scalar_kind(x):
    if isinstance(x, bool):
        return "b"
    if isinstance(x, int):
        return "i"
    if isinstance(x, float):
        return "f"
    if isinstance(x, complex):
        return "c"
    raise TypeError(f"expected a number, got {type(x).__name__}")


def dtype_of_scalar(x):
    """The dtype of a tensor made from the Python scalar x alone (a bool tensor's with x)."""
    return _SCALARS[0][scalar_kind(x)]


def result_type(tensor_dtypes, scalars=(), zero_dim=()):
    """Promoted dtype of tensor dtypes, 0-dim tensor dtypes and Python scalars, by PyTorch's three
    tiers. Scalars are weak (julia/src/dtypes.jl `promote_scalar`): they change the category, not
    the precision (int8 tensor + 1 -> int8, int tensor + 1.5 -> the default float, float16 + 1.5 ->
    float16). 0-dim tensors (`zero_dim`) are weak against tensors with dimensions in the same way,
    but bring their own precision when their category is higher (float32 tensor + float64 0-dim
    tensor -> float32; int32 tensor + float64 0-dim tensor -> float64)."""
    tensor_dtypes = list(tensor_dtypes)
    zero_dim = list(zero_dim)
    if not tensor_dtypes:
        tensor_dtypes, zero_dim = zero_dim, []
    if not tensor_dtypes:
        tensor_dtypes = [dtype_of_scalar(s) for s in scalars[:1]]
        scalars = scalars[1:]
    r = _promote_all(tensor_dtypes)
    if zero_dim:
        z = _promote_all(zero_dim)
        cz = _CATEGORY[z.code]
        if cz > _CATEGORY[r.code]:
            # a complex 0-dim tensor keeps a floating tensor's precision, as a complex scalar does
            r = _SCALARS[r.code]["c"] if z.is_complex and r.is_floating_point else _PAIRS[r.code][z.code]
        elif cz < 0:    # a user dtype (category -1) is not weak: Julia's promote_type
            r = _PAIRS[r.code][z.code]
    for s in scalars:
        r = _SCALARS[r.code][scalar_kind(s)]
    return r


def _promote_all(dtypes):
    r = dtypes[0]
    for d in dtypes[1:]:
        r = _PAIRS[r.code][d.code]
    return r


def can_cast(src, dst):
    """Whether a result of dtype src may be written to dst in place (PyTorch's rule: no category
    demotion, e.g. no float result into an integer tensor)."""
    return _CATEGORY[src.code] <= _CATEGORY[dst.code]


# ---- named dtype rules of elementwise ops --------------------------------------------------------
# Each takes (op name, promoted dtype of the inputs, input dtypes: the tensors', then bool_ for each
# Python bool, which PyTorch checks as a bool tensor) and returns (compute, result).

def _float(name, p, ins):
    return (default_float, default_float) if p.kind in "biu" else (p, p)


def _same(name, p, ins):
    return p, p


def _abs(name, p, ins):
    return p, p.to_real()


def _float_real(name, p, ins):
    """Integers give the default float, complex inputs a real result (angle)."""
    return (default_float, default_float) if p.kind in "biu" else (p, p.to_real())


def _rounding(name, p, ins):
    if p.kind == "c":
        raise TypeError(f"{name}: not supported for complex dtype {p.name}")
    return p, p


def _real_only(name, p, ins):
    if p.kind == "c":
        raise TypeError(f"{name}: not supported for complex dtype {p.name}")
    return p, p


def _to_bool(name, p, ins):
    return p, bool_


def _bitwise(name, p, ins):
    if p.kind not in "biu":
        raise TypeError(f"{name}: only integer and bool tensors are supported, got {p.name}")
    return p, p


def _promote_float(name, p, ins):
    if p.kind in "biu":
        return default_float, default_float
    return p, p


def _negate(name, p, ins):
    """Arithmetic negation: refused on bool, as PyTorch does (a mask is inverted with `~`)."""
    if p.kind == "b":
        raise RuntimeError(f"{name}: Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return p, p


def _subtract(name, p, ins):
    """Subtraction: refused when an operand is bool (a tensor or a Python bool), as PyTorch does."""
    nbool = sum(d.kind == "b" for d in ins)
    if nbool >= 2 or (nbool and p.kind == "b"):
        raise RuntimeError(f"{name}: Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if nbool:
        raise RuntimeError(f"{name}: Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
    return p, p


def _where(name, p, ins):
    return p, p


def _first(name, p, ins):
    """The result keeps the first input's dtype (masked_fill, index_put: other inputs are cast)."""
    return ins[0], ins[0]


RULES = {
    "first": _first,
    "same": _same,
    "float": _float,
    "abs": _abs,
    "float_real": _float_real,
    "real_part": _abs,
    "rounding": _rounding,
    "predicate": _to_bool,
    "to_bool": _to_bool,
    "bitwise": _bitwise,
    "promote": _same,
    "negate": _negate,
    "subtract": _subtract,
    "promote_float": _promote_float,
    "promote_real": _real_only,
    "compare": _to_bool,
    "logical": _to_bool,
    "where": _where,
}
