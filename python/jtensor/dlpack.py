"""DLPack exchange, both ways: zero-copy tensors shared with NumPy, PyTorch and any DLPack library.

Export (``Tensor.__dlpack__``, ``to_dlpack``) hands a consumer a PyCapsule holding a
``DLManagedTensorVersioned`` (DLPack 1.x, capsule ``"dltensor_versioned"``, when the consumer passes
``max_version >= (1, 0)``) or a legacy ``DLManagedTensor`` (``"dltensor"``). The struct, its shape
and its strides live in one ``PyMem_Malloc`` block; ``manager_ctx`` holds a strong reference to the
exported tensor, so its memory (NumPy-, Julia- or producer-owned) stays alive until the consumer
calls the deleter, which frees the block and drops that reference. Import (``from_dlpack``) reads a
producer's capsule, renames it ``"used_..."`` once accepted, and wraps the producer's memory as the
tensor's storage; the producer's deleter runs once, when that storage is dropped.

Everything is ctypes over the CPython C API, with no compiled code of our own. The one delicate
part is the code consumers run when they let go: a capsule destructor or a DLPack deleter may run
while a Python exception is in flight (a temporary dropped during unwinding, e.g. ``np.from_dlpack(t)
+ "x"``) and on any thread. A ctypes callback entered with an exception set destroys that exception
and crashes the interpreter, so the callbacks must not be Python code. NumPy (which jtensor requires)
exports its arrays with exactly the C functions we need: a deleter that frees a ``PyMem`` block and
drops the reference in ``manager_ctx`` (taking the GIL itself, callable from any thread), and the
standard capsule destructors that free only an unconsumed capsule. We take their addresses from a
capsule NumPy makes (``PyCapsule_GetDestructor`` and the struct's ``deleter`` field), check their
behaviour once at import, and install them in our capsules. If that check fails (another NumPy),
equivalent CFUNCTYPE callbacks written in Python are used instead (correct, except that they cannot
survive being run while an exception is in flight). Neither path ever calls Julia:
dropping a tensor whose storage is Julia-made only queues its release, which is thread-safe.
"""
import ctypes
import struct
import sys

import numpy as np

from . import dtypes as D
from ._tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]

kDLCPU = 1
_kDLInt, _kDLUInt, _kDLFloat, _kDLBfloat, _kDLComplex, _kDLBool = 0, 1, 2, 4, 5, 6
FLAG_READ_ONLY = 1 << 0
FLAG_IS_COPIED = 1 << 1
DLPACK_VERSION = (1, 0)          # the version our versioned capsules declare

# ---- CPython C API through private prototypes (so other modules' ctypes.pythonapi settings never clash)
_api = ctypes.pythonapi
_P = ctypes.PYFUNCTYPE
_vp, _obj = ctypes.c_void_p, ctypes.py_object
_Malloc = _P(_vp, ctypes.c_size_t)(("PyMem_Malloc", _api))
_Free = _P(None, _vp)(("PyMem_Free", _api))
_RawMalloc = _P(_vp, ctypes.c_size_t)(("PyMem_RawMalloc", _api))
_IncRef = _P(None, _obj)(("Py_IncRef", _api))
_DecRefAddr = _P(None, _vp)(("Py_DecRef", _api))
_CapsuleNew = _P(_obj, _vp, _vp, _vp)(("PyCapsule_New", _api))
_CapsuleGetName = _P(ctypes.c_char_p, _obj)(("PyCapsule_GetName", _api))
_CapsuleGetPointer = _P(_vp, _obj, ctypes.c_char_p)(("PyCapsule_GetPointer", _api))
_CapsuleSetName = _P(ctypes.c_int, _obj, _vp)(("PyCapsule_SetName", _api))
_CapsuleGetDestructor = _P(_vp, _obj)(("PyCapsule_GetDestructor", _api))
# Variants taking the capsule as a bare address: a capsule destructor receives an object whose
# reference count is already zero, which must not be wrapped as a Python object again.
_CapsuleIsValidAddr = _P(ctypes.c_int, _vp, _vp)(("PyCapsule_IsValid", _api))
_CapsuleGetPointerAddr = _P(_vp, _vp, _vp)(("PyCapsule_GetPointer", _api))
_memmove = ctypes.memmove
_string_at = ctypes.string_at


def _cstr(b):
    """A NUL-terminated copy of `b` in memory that is never freed.

    Capsules keep a bare pointer to their name, and a capsule may outlive this module at interpreter
    exit, so names must not live in Python objects.
    """
    p = _RawMalloc(len(b) + 1)
    _memmove(p, b + b"\0", len(b) + 1)
    return p


_NAME = {False: b"dltensor", True: b"dltensor_versioned"}
_USED = {False: b"used_dltensor", True: b"used_dltensor_versioned"}
_NAME_C = {k: _cstr(v) for k, v in _NAME.items()}
_USED_C = {k: _cstr(v) for k, v in _USED.items()}
_CapsuleType = type(_CapsuleNew(_NAME_C[False], _NAME_C[False], None))

# ---- struct layouts (little-endian x86-64/aarch64, as DLPack's C header on these machines)
# DLTensor: data, device{type,id}, ndim, dtype{code,bits,lanes}, shape*, strides*, byte_offset (48 bytes)
_DLTENSOR = "QiiiBBHQQQ"
_SIZE = {False: 64, True: 80}            # DLManagedTensor / DLManagedTensorVersioned
_FMT = {False: "<" + _DLTENSOR + "QQ",   # DLTensor, manager_ctx, deleter
        True: "<IIQQQ" + _DLTENSOR}      # version{major,minor}, manager_ctx, deleter, flags, DLTensor
_CTX_AT = {False: 48, True: 8}           # offset of manager_ctx
_DELETER_AT = {False: 56, True: 16}      # offset of deleter
_HEADER = struct.Struct("<IIQQQ")
_TENSOR = struct.Struct("<" + _DLTENSOR)
assert struct.calcsize(_FMT[False]) == 64 and struct.calcsize(_FMT[True]) == 80 and _TENSOR.size == 48

_EXPORT_TYPE = {
    "bool": (_kDLBool, 8), "int8": (_kDLInt, 8), "int16": (_kDLInt, 16), "int32": (_kDLInt, 32),
    "int64": (_kDLInt, 64), "uint8": (_kDLUInt, 8), "float16": (_kDLFloat, 16),
    "bfloat16": (_kDLBfloat, 16), "float32": (_kDLFloat, 32), "float64": (_kDLFloat, 64),
    "complex64": (_kDLComplex, 64), "complex128": (_kDLComplex, 128),
}
_EXPORT_TYPE = {D.BY_NAME[n]: v for n, v in _EXPORT_TYPE.items()}
_IMPORT_TYPE = {v: dt for dt, v in _EXPORT_TYPE.items()}
_TYPE_NAMES = {_kDLInt: "int", _kDLUInt: "uint", _kDLFloat: "float", 3: "opaque handle",
               _kDLBfloat: "bfloat", _kDLComplex: "complex", _kDLBool: "bool"}
_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI",
                 10: "ROCm", 11: "ROCm host", 12: "ext_dev", 13: "CUDA managed", 14: "oneAPI",
                 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}

# ---- the deleters and capsule destructors we install ------------------------------------------------
_DELETER_T = ctypes.CFUNCTYPE(None, _vp)        # void (*)(DLManagedTensor[Versioned] *), void (*)(PyObject *)
_PRODUCER_DELETER_T = ctypes.PYFUNCTYPE(None, _vp)  # same, called by us with the GIL held


def _py_deleter(p, versioned):
    """DLPack deleter (Python fallback): free the struct block, then drop the tensor reference."""
    ctx = struct.unpack_from("<Q", _string_at(p + _CTX_AT[versioned], 8))[0]
    _Free(p)
    _DecRefAddr(ctx)


def _py_destructor(cap, versioned):
    """Capsule destructor (Python fallback): run the deleter only if nobody consumed the capsule."""
    if _CapsuleIsValidAddr(cap, _USED_C[versioned]):
        return
    p = _CapsuleGetPointerAddr(cap, _NAME_C[versioned])
    deleter = struct.unpack_from("<Q", _string_at(p + _DELETER_AT[versioned], 8))[0]
    if deleter:
        _PRODUCER_DELETER_T(deleter)(p)


# CFUNCTYPE objects must stay alive as long as any capsule may call them: module level, never freed.
_py_callbacks = {
    "deleter": {v: _DELETER_T(lambda p, v=v: _py_deleter(p, v)) for v in (False, True)},
    "destructor": {v: _DELETER_T(lambda c, v=v: _py_destructor(c, v)) for v in (False, True)},
}
_PY_FUNCS = {v: (ctypes.cast(_py_callbacks["deleter"][v], _vp).value,
                 ctypes.cast(_py_callbacks["destructor"][v], _vp).value) for v in (False, True)}


def _probe_numpy():
    """NumPy's C (deleter, capsule destructor) addresses per capsule kind, or None if unusable.

    They are taken from capsules NumPy exports and accepted only if NumPy's struct matches what
    its deleter is known to assume (NumPy >= 2: one PyMem block holding struct, shape and strides;
    ``manager_ctx`` is the owning object) and a trial run on a block we made drops exactly one
    reference to the object in ``manager_ctx``.
    """
    try:
        if int(np.__version__.split(".")[0]) < 2:
            return None
        arr = np.zeros(2)
        funcs = {}
        for versioned in (False, True):
            cap = arr.__dlpack__(max_version=(1, 0)) if versioned else arr.__dlpack__()
            if _CapsuleGetName(cap) != _NAME[versioned]:
                return None
            p = _CapsuleGetPointer(cap, _NAME[versioned])
            fields = struct.unpack(_FMT[versioned], _string_at(p, _SIZE[versioned]))
            shape_ptr = fields[12] if versioned else fields[7]
            ctx, deleter = (fields[2], fields[3]) if versioned else (fields[10], fields[11])
            destructor = _CapsuleGetDestructor(cap)
            del cap
            if shape_ptr != p + _SIZE[versioned] or ctx != id(arr) or not deleter or not destructor:
                return None
            # Trial run of the deleter on a block of ours.
            owner = object()
            before = sys.getrefcount(owner)
            block = _Malloc(_SIZE[versioned] + 16)
            _IncRef(owner)
            _memmove(block + _CTX_AT[versioned], struct.pack("<Q", id(owner)), 8)
            _PRODUCER_DELETER_T(deleter)(block)
            if sys.getrefcount(owner) != before:
                return None
            funcs[versioned] = (deleter, destructor)
        return funcs
    except Exception:
        return None


_NATIVE_FUNCS = _probe_numpy()
_funcs = _NATIVE_FUNCS or _PY_FUNCS     # (deleter, destructor) by versioned; tests may switch


def uses_native_deleters():
    """True when exported capsules use NumPy's C deleter/destructor (safe with in-flight exceptions)."""
    return _funcs is _NATIVE_FUNCS


# ---- export ---------------------------------------------------------------------------------------

def to_dlpack(t, *, stream=None, max_version=None, dl_device=None, copy=None):
    """Export tensor `t` as a DLPack capsule that shares its memory (the ``__dlpack__`` protocol).

    Without ``max_version`` (or with one below ``(1, 0)``) the capsule is a legacy ``"dltensor"``,
    as the old ``torch.utils.dlpack.from_dlpack(capsule)`` API expects; ``max_version >= (1, 0)``
    gives a DLPack 1.0 ``"dltensor_versioned"`` capsule, which can also mark the data read-only.
    ``copy=True`` exports a fresh copy (flagged IS_COPIED), ``copy=False``/``None`` never copies.
    jtensor lives on the CPU: ``stream`` must be None and ``dl_device`` None or ``(1, 0)``, as the
    Array API standard requires, else BufferError. A read-only tensor cannot be exported in a
    legacy capsule (it cannot say so): BufferError.

    The capsule owns a strong reference to the exported tensor until the consumer calls the
    deleter (or, if nobody consumes it, until the capsule is destroyed).
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"to_dlpack expects a jtensor Tensor, got {type(t).__name__}")
    if t.dtype.is_user:
        raise BufferError(f"__dlpack__: dtype {t.dtype.name} is a user dtype (Julia {t.dtype.julia_type}), "
                          "which DLPack has no type code for; convert it first, e.g. t.to(jtensor.float32)")
    if stream is not None:
        raise BufferError(f"__dlpack__: stream must be None for CPU tensors (got {stream!r}); "
                          "the Array API standard allows no stream on devices without streams")
    if dl_device is not None:
        try:
            dev = (int(dl_device[0]), int(dl_device[1]))
        except (TypeError, ValueError, IndexError):
            raise BufferError(f"__dlpack__: dl_device must be a (device_type, device_id) tuple, got {dl_device!r}") from None
        if dev != (kDLCPU, 0):
            raise BufferError(f"__dlpack__: cannot export to device {dev} "
                              f"({_DEVICE_NAMES.get(dev[0], 'unknown')}); jtensor tensors live on the CPU, (1, 0)")
    versioned = max_version is not None and int(max_version[0]) >= 1
    copied = bool(copy)
    if not copied and any(s < 0 and n > 1 for n, s in zip(t.shape, t._strides)):
        # a negative-step view (x[::-1]): DLPack consumers such as PyTorch cannot take negative
        # strides (PyTorch aborts the process), so copy=None exports a copy, as the standard allows
        if copy is False:
            raise BufferError(f"__dlpack__: a view with negative strides {t._strides} cannot be exported "
                              "without a copy (copy=False)")
        copied = True
    if copied:
        t = t.clone()
    readonly = not t._base.flags.writeable
    if readonly and not versioned:
        raise BufferError("__dlpack__: a read-only tensor cannot be exported as a legacy DLPack capsule, "
                          "which cannot mark it read-only; the consumer must pass max_version=(1, 0), "
                          "or export a copy (copy=True or t.clone())")
    code, bits = _EXPORT_TYPE[t.dtype]
    shape, strides = t.shape, t._strides
    nd = len(shape)
    size = _SIZE[versioned]
    p = _Malloc(size + 16 * nd)
    if not p:
        raise MemoryError("__dlpack__: cannot allocate the DLPack struct")
    dims = p + size if nd else 0
    deleter, destructor = _funcs[versioned]
    data = t._baddr + t._offset * t.dtype.itemsize
    if versioned:
        flags = (FLAG_READ_ONLY if readonly else 0) | (FLAG_IS_COPIED if copied else 0)
        head = struct.pack(_FMT[True], DLPACK_VERSION[0], DLPACK_VERSION[1], id(t), deleter, flags,
                           data, kDLCPU, 0, nd, code, bits, 1, dims, dims + 8 * nd if nd else 0, 0)
    else:
        head = struct.pack(_FMT[False], data, kDLCPU, 0, nd, code, bits, 1, dims, dims + 8 * nd if nd else 0, 0,
                           id(t), deleter)
    if nd:
        head += struct.pack(f"<{2 * nd}q", *shape, *strides)
    _memmove(p, head, len(head))
    _IncRef(t)                       # released by the deleter
    try:
        return _CapsuleNew(p, _NAME_C[versioned], destructor)
    except BaseException:
        _PRODUCER_DELETER_T(deleter)(p)
        raise


# ---- import ---------------------------------------------------------------------------------------

def _call_producer_deleter(addr, managed, _callers={}, _T=_PRODUCER_DELETER_T):
    """Call a producer's DLPack deleter (C function at `addr`) on `managed`, holding the GIL.

    Callers are cached per address; defaults bind what it needs, so it still works while the
    interpreter tears modules down at exit.
    """
    f = _callers.get(addr)
    if f is None:
        f = _callers[addr] = _T(addr)
    f(managed)


class _DLPackStorage:
    """A producer's memory, seen by NumPy through ``__array_interface__`` (the tensor's ``_base``).

    Holds the producer's managed tensor and calls its deleter exactly once, when NumPy's array over
    it is dropped. That may happen on any thread; the deleter is the producer's code and never
    enters Julia.
    """

    __slots__ = ("__array_interface__", "_managed", "_deleter", "_keep")

    def __init__(self, addr, count, typestr, readonly, managed, deleter, keep):
        self.__array_interface__ = {"data": (addr, readonly), "shape": (count,), "typestr": typestr, "version": 3}
        self._managed = managed
        self._deleter = deleter
        self._keep = keep              # the producer object, when its deleter is NULL

    def __del__(self, _call=_call_producer_deleter):
        deleter, self._deleter = self._deleter, 0
        if deleter:
            _call(deleter, self._managed)


def _read_capsule(cap):
    """Check a capsule's name and decode its struct, without consuming it.

    Returns (versioned, pointer, version, flags, deleter, manager_ctx, DLTensor fields tuple).
    """
    name = _CapsuleGetName(cap)
    if name == b"dltensor_versioned":
        versioned = True
    elif name == b"dltensor":
        versioned = False
    elif name == b"used_dltensor" or name == b"used_dltensor_versioned":
        raise ValueError("from_dlpack: this DLPack capsule was already consumed (its name is "
                         f"{name.decode()!r}); a capsule can be imported only once, call __dlpack__() again")
    else:
        raise TypeError(f"from_dlpack: not a DLPack capsule (capsule name {name!r})")
    p = _CapsuleGetPointer(cap, name)
    if versioned:
        raw = _string_at(p, 80)
        major, minor, ctx, deleter, flags = _HEADER.unpack_from(raw)
        return True, p, (major, minor), flags, deleter, ctx, _TENSOR.unpack_from(raw, 32)
    raw = _string_at(p, 64)
    ctx, deleter = _CTX_DELETER.unpack_from(raw, 48)
    return False, p, None, 0, deleter, ctx, _TENSOR.unpack_from(raw)


_CTX_DELETER = struct.Struct("<QQ")


def _dims(addr, nd):
    return struct.unpack(f"<{nd}q", _string_at(addr, 8 * nd))


def capsule_info(cap):
    """Decode a DLPack capsule without consuming it (for inspection and tests).

    Returns a dict: name, versioned, version, flags, device, dtype (code, bits, lanes), ndim, shape,
    strides (None if NULL), byte_offset, data, manager_ctx and deleter.
    """
    versioned, _, version, flags, deleter, ctx, dlt = _read_capsule(cap)
    data, dev_type, dev_id, nd, code, bits, lanes, shape_p, strides_p, byte_offset = dlt
    return {"name": _NAME[versioned].decode(), "versioned": versioned, "version": version, "flags": flags,
            "device": (dev_type, dev_id), "dtype": (code, bits, lanes), "ndim": nd,
            "shape": _dims(shape_p, nd) if nd else (),
            "strides": (_dims(strides_p, nd) if nd else ()) if strides_p else None,
            "byte_offset": byte_offset, "data": data, "manager_ctx": ctx, "deleter": deleter}


def _capsule_from(x):
    """The DLPack capsule for `x`: `x` itself, or ``x.__dlpack__(...)`` after a device check."""
    if type(x) is _CapsuleType:
        return x
    try:
        exporter = x.__dlpack__
    except AttributeError:
        raise TypeError(f"from_dlpack: {type(x).__name__} is neither a DLPack producer (no __dlpack__) "
                        "nor a DLPack capsule") from None
    get_device = getattr(x, "__dlpack_device__", None)
    if get_device is not None:
        dev = get_device()
        if int(dev[0]) != kDLCPU:
            raise BufferError(f"from_dlpack: the {type(x).__name__} is on device {tuple(int(d) for d in dev)} "
                              f"({_DEVICE_NAMES.get(int(dev[0]), 'unknown')}); jtensor can only import CPU memory "
                              "(device type 1); move it to the CPU first")
    try:
        return exporter(max_version=DLPACK_VERSION)
    except TypeError:
        return exporter()        # a producer that predates DLPack 1.0's keywords


def from_dlpack(x, *, device=None, copy=None):
    """A tensor sharing the memory of `x`: any object with ``__dlpack__`` (NumPy arrays, PyTorch
    tensors, jtensor tensors...) or a DLPack capsule.

    Zero-copy for contiguous and strided data (byte offsets, NULL strides and 0-d/empty tensors
    included); writes through either side are seen by the other. Data the producer marked read-only
    gives a read-only tensor, whose in-place ops raise ValueError. The producer's deleter runs
    once, when the tensor's storage is dropped. ``copy=True`` returns an independent copy instead;
    ``device`` may only be None, "cpu" or (1, 0).

    Raises BufferError for data jtensor cannot view (non-CPU device, unsupported dtype or vector
    lanes, negative strides, DLPack major version other than 1), ValueError for a capsule that
    was already consumed, TypeError for objects that are not DLPack producers. A refused capsule is
    left unconsumed, so its own destructor frees it.
    """
    if device is not None and str(device) != "cpu" and not (isinstance(device, tuple) and tuple(map(int, device)) == (kDLCPU, 0)):
        raise BufferError(f"from_dlpack: unsupported device {device!r} (jtensor runs on the CPU)")
    cap = _capsule_from(x)
    versioned, p, version, flags, deleter, _, dlt = _read_capsule(cap)
    data, dev_type, dev_id, nd, code, bits, lanes, shape_p, strides_p, byte_offset = dlt
    if versioned and version[0] != 1:
        raise BufferError(f"from_dlpack: DLPack version {version} is not supported (jtensor reads 1.x)")
    if dev_type != kDLCPU:
        raise BufferError(f"from_dlpack: the DLPack tensor is on device {(dev_type, dev_id)} "
                          f"({_DEVICE_NAMES.get(dev_type, 'unknown')}); jtensor can only import CPU memory (device type 1)")
    dt = _IMPORT_TYPE.get((code, bits))
    if dt is None or lanes != 1:
        what = f"{_TYPE_NAMES[code]}{bits}" if code in _TYPE_NAMES else f"type code {code} ({bits} bits)"
        what += f" x{lanes} lanes" if lanes != 1 else ""
        raise BufferError(f"from_dlpack: unsupported DLPack dtype {what} (code={code}, bits={bits}, lanes={lanes}); "
                          f"jtensor supports {', '.join(d.name for d in D.ALL)} with lanes=1")
    if nd < 0:
        raise BufferError(f"from_dlpack: invalid ndim {nd}")
    shape = _dims(shape_p, nd) if nd else ()
    contig = [1] * nd                    # C-contiguous strides, as jtensor makes them
    numel = step = 1
    for i in range(nd - 1, -1, -1):
        n = shape[i]
        if n < 0:
            raise BufferError(f"from_dlpack: invalid shape {shape}")
        contig[i] = step
        step *= n or 1
        numel *= n
    if strides_p and nd and numel:
        strides = _dims(strides_p, nd)
        span = 1
        fixed = None
        for i in range(nd):
            n, s = shape[i], strides[i]
            if n > 1:
                if s < 0:
                    raise BufferError(f"from_dlpack: negative strides {strides} (shape {shape}) are not supported: "
                                      "from_dlpack wraps only memory that lies after the data pointer, and never copies; "
                                      "pass a copy of the data (e.g. arr.copy() or t.contiguous())")
                span += (n - 1) * s
            elif s < 0:                  # a length-1 dim never uses its stride: keep ours non-negative
                if fixed is None:
                    fixed = list(strides)
                fixed[i] = contig[i]
        if fixed is not None:
            strides = tuple(fixed)
    else:                                # NULL strides mean C-contiguous; empty tensors need none
        strides = tuple(contig)
        span = numel
    readonly = bool(flags & FLAG_READ_ONLY)
    # Accepted: consume the capsule so that neither its destructor nor anybody else frees it.
    if _CapsuleSetName(cap, _USED_C[versioned]):
        raise RuntimeError("from_dlpack: could not mark the DLPack capsule as used")
    if numel == 0:
        if deleter:
            _call_producer_deleter(deleter, p)
        base = np.empty(0, dt.np_storage)
        if readonly:
            base.flags.writeable = False
        t = Tensor._make(base, base.__array_interface__["data"][0], 0, shape, strides, dt)
    else:
        addr = data + byte_offset
        base = np.asarray(_DLPackStorage(addr, span, dt.typestr, readonly, p, deleter, None if deleter else x))
        t = Tensor._make(base, addr, 0, shape, strides, dt)
    return t.clone() if copy else t
