"""The bridge: the one module that touches libjulia and ctypes.

Owns Julia's start-up inside this process, the call path into JTensor's C entry points, turning
Julia errors into Python exceptions, releasing Julia-made buffers, the thread guard and signals.
Everything above it speaks in op ids, argument words and tensors.

Call path: Python packs arguments into a flat buffer of 64-bit words (`pack`), calls the
`jt_call` @cfunction through ctypes, and reads results from a preallocated word buffer. Julia
1.5 cannot be entered from a thread other than the one that started it (it crashes or hangs), so
every entry checks the thread first and raises RuntimeError instead.
"""
import ctypes
import json
import os
import signal
import struct
import sys
import threading

import numpy as np

from . import _imagestore, _locate
from .errors import from_julia

TAG_NONE, TAG_TENSOR, TAG_INT, TAG_FLOAT, TAG_BOOL, TAG_INTLIST, TAG_COMPLEX, TAG_STR, TAG_DTYPE, TAG_TENSORLIST = range(10)
RESULT_WORDS = 4096
JULIA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "julia")
if not os.path.isdir(JULIA_DIR):  # a source checkout: python/jtensor/../../julia
    JULIA_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "julia"))

_lib = None
_owner_thread = None
_call = None
_plan = None
_run = None
_release = None
_eval = None
_error_text = None
_registry_text = None
_registry_version = None
_res = (ctypes.c_int64 * RESULT_WORDS)()
_res_addr = ctypes.addressof(_res)
_resmv = memoryview(_res).cast("B").cast("q")
_pending = []          # Julia handles whose Python owners died; released on the Julia thread
_lock = threading.Lock()
install = None
image_choice = None    # the _imagestore.Choice Julia was started with
_entries = {}


def entry_address(name):
    """Address of a JTensor C entry point (for the C fast path)."""
    return int(_entries[name])


def owner_thread():
    """Identifier of the thread that started Julia (the only one allowed to call it)."""
    return _owner_thread


def started():
    return _lib is not None


def start():
    """Start Julia in this process (once) and load JTensor. Safe to call repeatedly."""
    global _lib, _owner_thread, install
    if _lib is not None:
        return
    with _lock:
        if _lib is not None:
            return
        install = _locate.locate()
        _locate.prepare_environment(install)
        mode = ctypes.RTLD_GLOBAL
        # libjulia brings a libunwind whose _Unwind_* symbols would otherwise serve the C++
        # exceptions of libraries loaded later (PyTorch), which then crash: make GCC's unwinder
        # the global provider of that ABI first.
        try:
            ctypes.CDLL("libgcc_s.so.1", mode)
        except OSError:
            pass
        if install.libunwind_fix:
            ctypes.CDLL(install.libunwind_fix, mode)
        lib = ctypes.CDLL(install.libjulia, mode)
        on_main = threading.current_thread() is threading.main_thread()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        old_int = signal.getsignal(signal.SIGINT) if on_main else None
        image = _imagestore.choose(install, JULIA_DIR)
        if image.note:
            sys.stderr.write(image.note + "\n")
        trace = os.environ.get("JTENSOR_TRACE_COMPILE")
        if trace:
            # Record every method Julia compiles: how `jtensor.sysimage` learns what to precompile.
            # The package is then loaded from source, not from (or into) Julia's .ji cache: the
            # image build runs several such processes at once, and none needs the cache again.
            _parse_julia_options(lib, [f"--trace-compile={trace}", "--compiled-modules=no"])
        init = getattr(lib, "jl_init_with_image__threading", None) or getattr(lib, "jl_init_with_image")
        init.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        init(install.bindir.encode(), image.path.encode())
        global image_choice
        image_choice = image
        # jl_init blocks SIGINT & co. and takes over Ctrl-C: give both back to Python.
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if on_main and old_int is not None:
            signal.signal(signal.SIGINT, old_int)
        lib.jl_eval_string.argtypes = [ctypes.c_char_p]
        lib.jl_eval_string.restype = ctypes.c_void_p
        lib.jl_string_ptr.argtypes = [ctypes.c_void_p]
        lib.jl_string_ptr.restype = ctypes.c_char_p
        lib.jl_atexit_hook.argtypes = [ctypes.c_int]
        _lib = lib
        _owner_thread = threading.get_ident()
        _load_package()
        import atexit
        atexit.register(_shutdown)


def _parse_julia_options(lib, options):
    """Set Julia command-line options (before jl_init) through libjulia's own parser."""
    argv = [b"julia"] + [o.encode() for o in options]
    arr = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
    argc = ctypes.c_int(len(argv))
    argvp = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
    lib.jl_parse_opts(ctypes.byref(argc), ctypes.byref(argvp))
    _parse_julia_options.keep = (arr, argv)   # jl_options keeps pointers into these strings


def _eval_text(code):
    """Evaluate Julia code at top level; return its String result, or raise on error."""
    # (the error marker must not hold a NUL: jl_string_ptr's text is read up to the first one)
    wrapped = ("try\n begin\n" + code + "\n end |> string\ncatch e\n \"\\x1bERR\" * sprint(showerror, e)\nend")
    v = _lib.jl_eval_string(wrapped.encode())
    if not v:
        raise RuntimeError(f"Julia could not evaluate: {code[:200]}")
    text = _lib.jl_string_ptr(v).decode()
    if text.startswith("\x1bERR"):
        from .errors import JuliaError
        raise JuliaError(f"Julia error: {text[4:]}", "", text[4:], "")
    return text


def julia_string(text):
    """A Julia string literal for `text` (no interpolation)."""
    return "raw" + json.dumps(text) if "\\" not in text else json.dumps(text).replace("$", "\\$")


def _load_package():
    global _call, _plan, _run, _release, _eval, _error_text, _registry_text, _registry_version
    try:
        _eval_text(f"pushfirst!(LOAD_PATH, {julia_string(JULIA_DIR)}); @eval Main using JTensor; nothing")
    except Exception as e:
        from ._julia_sources import first_syntax_error
        where = first_syntax_error(_eval_text, julia_string(os.path.join(JULIA_DIR, "src")))
        if where is not None:
            raise ImportError(f"jtensor: JTensor's Julia sources do not parse: syntax error at {where}") from e
        raise ImportError(f"jtensor: loading JTensor's Julia sources failed: {e}") from e
    global _entries
    table = _entries = dict(kv.split("=") for kv in _eval_text("JTensor.entry_table()").split(";"))
    fn = ctypes.CFUNCTYPE
    _call = fn(ctypes.c_int64, ctypes.c_int64, ctypes.c_char_p, ctypes.c_int64, ctypes.c_void_p)(int(table["call"]))
    _plan = fn(ctypes.c_int64, ctypes.c_int64, ctypes.c_char_p, ctypes.c_int64)(int(table["plan"]))
    _run = fn(ctypes.c_int64, ctypes.c_int64, ctypes.c_char_p)(int(table["run"]))
    _release = fn(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)(int(table["release"]))
    _eval = fn(ctypes.c_int64, ctypes.c_char_p, ctypes.c_int64)(int(table["eval"]))
    _error_text = fn(ctypes.c_void_p)(int(table["error_text"]))
    _registry_text = fn(ctypes.c_void_p)(int(table["registry"]))
    _registry_version = ctypes.c_int64.from_address(int(table["registry_version"]))   # Julia's counter


def _shutdown():
    if _lib is not None and threading.get_ident() == _owner_thread:
        try:
            _lib.jl_atexit_hook(0)
        except Exception:
            pass


def _check_thread():
    if threading.get_ident() != _owner_thread:
        raise RuntimeError(
            "jtensor: Julia was started on another thread; Julia 1.5 cannot be called from other "
            "Python threads (it would crash). Use jtensor from the thread that first used it.")


def last_error(context=""):
    raw = ctypes.string_at(_error_text())
    jtype, msg, trace, location = (raw.decode("utf-8", "replace").split("\x1e") + ["", "", "", ""])[:4]
    return from_julia(jtype, msg, trace, context, location)


RELOAD_REQUEST = 0   # put in _pending by the file watcher (any thread); handles start at 1
reload_hook = None


fast_drain = None   # the C fast path's drain (registry.enable_fast_path), tried first


def _drain():
    if fast_drain is not None and fast_drain():
        return
    n = len(_pending)
    handles = _pending[:n]
    if RELOAD_REQUEST in handles:
        _pending[:] = [h for h in _pending if h != RELOAD_REQUEST]
        n -= handles.count(RELOAD_REQUEST)
        handles = [h for h in handles if h != RELOAD_REQUEST]
        if reload_hook is not None:
            reload_hook()
    if not handles:
        return
    buf = (ctypes.c_int64 * len(handles))(*handles)
    status = _release(ctypes.addressof(buf), len(handles))
    del _pending[:n]   # only once Julia has them: an interrupt before this leaves them queued
    if status:
        raise last_error("release")


def call(opid, fmt, words, context):
    """Run registry op `opid` on packed argument words; returns the decoded results.

    `context` is a callable giving the op name and argument description for error messages.
    """
    if threading.get_ident() != _owner_thread:
        _check_thread()
    if _pending:
        _drain()
    status = _call(opid, struct.pack(fmt, *words), len(words), _res_addr)
    if status:
        raise last_error(context())
    return _decode_results()


def plan(opid, fmt, words, context):
    """Compile a plan for an elementwise call signature; returns its id (see julia/src/bridge.jl)."""
    if threading.get_ident() != _owner_thread:
        _check_thread()
    pid = _plan(opid, struct.pack(fmt, *words), len(words))
    if not pid:
        raise last_error(context())
    return pid


def run(pid, fmt, words, context):
    """Run a compiled plan on packed argument words (the fast path of elementwise ops)."""
    if threading.get_ident() != _owner_thread:
        _check_thread()
    if _pending:
        _drain()
    if _run(pid, struct.pack(fmt, *words)):
        raise last_error(context())


def _decode_results():
    r = _resmv
    n = r[0]
    out = []
    i = 1
    for _ in range(n):
        tag = r[i]
        if tag == TAG_TENSOR:
            nd = r[i + 2]
            out.append((TAG_TENSOR, r[i + 1], r[i + 3], r[i + 4], tuple(r[i + 5:i + 5 + nd])))
            i += 5 + nd
        elif tag == TAG_INT:
            out.append(r[i + 1]); i += 2
        elif tag == TAG_BOOL:
            out.append(bool(r[i + 1])); i += 2
        elif tag == TAG_FLOAT:
            out.append(struct.unpack("d", struct.pack("q", r[i + 1]))[0]); i += 2
        elif tag == TAG_COMPLEX:
            re_, im_ = struct.unpack("dd", struct.pack("qq", r[i + 1], r[i + 2]))
            out.append(complex(re_, im_)); i += 3
        elif tag == TAG_NONE:
            out.append(None); i += 1
        else:
            raise RuntimeError(f"bridge: unknown result tag {tag}")
    return out


class JuliaOwned:
    """A buffer made by Julia, exposed to NumPy; its handle is released when NumPy lets go of it."""

    __slots__ = ("__array_interface__", "handle")

    def __init__(self, ptr, count, typestr, handle):
        self.__array_interface__ = {"data": (ptr, False), "shape": (count,), "typestr": typestr, "version": 3}
        self.handle = handle

    def __del__(self):
        _pending.append(self.handle)


def wrap_owned(ptr, count, code, typestr, handle):
    """A 1-d NumPy array over `count` elements of Julia-made memory at `ptr`, rooted by `handle`
    until NumPy lets go of it (the C fast path installs a faster version of this and JuliaOwned)."""
    return np.asarray(JuliaOwned(ptr, count, typestr, handle))


def release_later(handle):
    """Queue a Julia handle for release; safe from any thread, GC callbacks included."""
    _pending.append(handle)


def eval_julia(code):
    """Evaluate Julia source in module Main (definitions persist); raise on error."""
    start()
    _check_thread()
    data = code.encode()
    if _eval(data, len(data)):
        raise last_error("julia.eval")


def eval_value(code):
    """Evaluate Julia source in Main and return its value (numbers, arrays as tensors, else repr)."""
    start()
    _check_thread()
    if _pending:
        _drain()
    data = code.encode()
    f = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_char_p, ctypes.c_int64, ctypes.c_void_p)(int(_entries["eval_value"]))
    if f(data, len(data), _res_addr):
        raise last_error("julia.eval")
    r = _resmv
    if r[1] == TAG_STR:
        text = ctypes.string_at(r[2], r[3]).decode("utf-8", "replace")
        release_later(r[4])
        return text
    return _decode_results()[0]


def run_repl():
    """Run Julia's interactive REPL on this terminal until the user leaves it."""
    start()
    _check_thread()
    f = ctypes.CFUNCTYPE(ctypes.c_int64)(int(_entries["repl"]))
    if f():
        raise last_error("julia.repl")


def registry_json():
    start()
    _check_thread()
    p = _registry_text()
    if not p:
        raise last_error("registry")
    return ctypes.string_at(p).decode()


def registry_version():
    return _registry_version.value
