"""The bridge: the one module that touches libjulia and ctypes.

Owns Julia's start-up inside this process, the call path into JTensor's C entry points, turning
Julia errors into Python exceptions, releasing Julia-made buffers, the thread guard and signals.
Everything above it speaks in op ids, argument words and tensors.

Call path: Python packs arguments into a flat buffer of 64-bit words (the format is defined in
julia/src/wire.txt; wire.py encodes and decodes), calls the `jt_call` @cfunction through ctypes,
and reads results from a preallocated word buffer. The C fast path (`_fastpath`, built from
_native/fastpath.c) is loaded here too (`fast_path`): the drivers get its entry points from the
bridge, and it gets the Julia entry points and tables it needs from the bridge. Julia
1.5 cannot be entered from a thread other than the one that started it (it crashes or hangs), nor
from a forked child (its other threads and JIT state did not survive the fork), so every entry
checks first (`_check_thread`) and raises RuntimeError instead. The owner is marked by a
thread-local flag, not by thread id: ids are reused once a thread exits.

Signals (docs/multiprocessing.md, "Signals"): start-up is safe to interrupt and retry; after
`jl_init`, Python gets back its SIGINT handler (whichever thread imports) and the signal mask,
SIGTRAP its pre-Julia disposition (children would inherit Julia's SIG_IGN), and SIGUSR2 a
handler that passes Julia's own thread signals to Julia and treats any other like Python did.
The C fast path adds a SIGINT handler that also raises a flag the engine's loops poll, so Ctrl-C
stops a long kernel; `faulthandler.enable()` after start-up keeps Julia's fault handlers.
"""
import ctypes
import json
import os
import signal
import struct
import sys
import threading

import numpy as np

from . import _imagestore, _locate, wire_format
from . import dtypes as D
from .errors import from_julia
from .wire import RESULT_WORDS, TAG_STR, decode_results

JULIA_DIR = wire_format.JULIA_DIR   # the Julia package: inside an installed jtensor, or the checkout's

_lib = None              # libjulia, set once start-up has completed
_julia = None            # libjulia, set as soon as jl_init has returned (Julia can never start twice)
_owner = threading.local()   # `.julia` is True only on the thread that started Julia
_owner_thread = None     # that thread's threading.Thread (to tell "exited" from "another thread")
_forked = False          # this process is a fork of the one that started Julia
_fastpath = None         # the C fast path module when built (signal handlers, owner flag)
_interrupt = ctypes.c_int(0)  # the flag the engine polls (the C fast path's, once installed)
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
    """Native (OS) id of the thread that started Julia, the only one allowed to call it; 0 if none."""
    return _owner_thread.native_id if _owner_thread is not None else 0


def started():
    return _lib is not None


def _after_fork_in_child():
    """os.register_at_fork hook: a forked child may not enter Julia (see _check_thread)."""
    global _forked, _owner
    if _pre_julia is not None:   # Julia was (or may have been) started before the fork
        _forked = True
        _owner = threading.local()   # no thread of the child owns Julia


os.register_at_fork(after_in_child=_after_fork_in_child)


def start():
    """Start Julia in this process (once) and load JTensor. Safe to call repeatedly, and safe to
    interrupt: a KeyboardInterrupt at any point leaves a state from which the next call goes on."""
    global _lib, install
    if _lib is not None:
        return
    if _forked or "julia" not in _owner.__dict__ and _julia is not None:
        _check_thread()            # an earlier start was interrupted: only its thread may go on
    with _lock:
        if _lib is not None:
            return
        if _julia is None:
            _init_julia()
        _load_package()
        _install_signal_handlers()
        import atexit
        atexit.unregister(_shutdown)
        atexit.register(_shutdown)
        _lib = _julia


_SIGACTION_BYTES = 256   # >= sizeof(struct sigaction) on every Linux ABI; handled as opaque bytes
_libc = ctypes.CDLL(None, use_errno=True)


def _sigaction_get(sig):
    """The raw `struct sigaction` of `sig` (works from any thread, unlike the signal module)."""
    buf = ctypes.create_string_buffer(_SIGACTION_BYTES)
    if _libc.sigaction(int(sig), None, buf) != 0:
        raise OSError(ctypes.get_errno(), f"sigaction({sig}) failed")
    return buf


def _sigaction_set(sig, buf):
    if _libc.sigaction(int(sig), buf, None) != 0:
        raise OSError(ctypes.get_errno(), f"sigaction({sig}) failed")


def _init_julia():
    """Load libjulia and run jl_init, with SIGINT held back until `_julia` records it."""
    global _julia, _owner_thread, install, image_choice
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
    lib.jl_eval_string.argtypes = [ctypes.c_char_p]
    lib.jl_eval_string.restype = ctypes.c_void_p
    lib.jl_string_ptr.argtypes = [ctypes.c_void_p]
    lib.jl_string_ptr.restype = ctypes.c_char_p
    lib.jl_atexit_hook.argtypes = [ctypes.c_int]
    lib.jl_is_initialized.restype = ctypes.c_int
    image = _imagestore.choose(install, JULIA_DIR)
    if image.note:
        sys.stderr.write(image.note + "\n")
    init = getattr(lib, "jl_init_with_image__threading", None) or getattr(lib, "jl_init_with_image")
    init.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    # Start-up must survive a KeyboardInterrupt at any point, and a Ctrl-C reaches Python's
    # handler through any thread that does not block SIGINT (OpenBLAS's), so Python may raise it
    # right after jl_init returns. Hence: libjulia itself says whether Julia is up, everything
    # that must happen before jl_init is recorded before it, and each step after it can be redone.
    global _pre_julia
    if not lib.jl_is_initialized():
        trace = os.environ.get("JTENSOR_TRACE_COMPILE")
        if trace:
            # Record every method Julia compiles: how `jtensor.sysimage` learns what to precompile.
            # The package is then loaded from source, not from (or into) Julia's .ji cache: the
            # image build runs several such processes at once, and none needs the cache again.
            # LLVM runs at -O0: the trace lists the same methods (type inference and inlining, which
            # choose them, run before LLVM), and the workload spends a third less time compiling.
            _parse_julia_options(lib, [f"--trace-compile={trace}", "--compiled-modules=no", "-O0"])
        # Dispositions Julia changes that this process (and its children) must get back: SIGINT
        # is Python's Ctrl-C, SIGTRAP would be inherited as ignored by every child, SIGUSR2 must
        # still end the process when sent from outside (its Python disposition; Julia keeps its use).
        _pre_julia = {"thread": threading.current_thread(), "sigwait": _threads_in_sigwait(),
                      "stdio_blocking": _stdio_blocking(),
                      "actions": {s: _sigaction_get(s) for s in (signal.SIGINT, signal.SIGTRAP, signal.SIGUSR2)}}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
            init(install.bindir.encode(), image.path.encode())   # also blocks SIGINT & co. here
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    elif _pre_julia is None or _pre_julia["thread"] is not threading.current_thread():
        raise RuntimeError("jtensor: Julia was started in this process by other code (or another thread); "
                           "jtensor must start it itself, on the thread that will use it")
    _restore_stdio_blocking(_pre_julia["stdio_blocking"])
    if "julia" not in _pre_julia:      # Julia's handlers, while still there (one assignment)
        listeners = _threads_in_sigwait() - _pre_julia["sigwait"]
        _pre_julia["julia"] = {
            "sigint": _sigaction_get(signal.SIGINT), "listener": listeners.pop() if len(listeners) == 1 else 0,
            "faults": {s: _sigaction_get(s) for s in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE)}}
    for s in (signal.SIGINT, signal.SIGTRAP):
        _sigaction_set(s, _pre_julia["actions"][s])
    image_choice = image
    _owner.julia = True
    _owner_thread = threading.current_thread()
    _julia = lib


_pre_julia = None   # what _init_julia recorded before jl_init (and Julia's handlers after it)


def _stdio_blocking():
    """Whether fds 0-2 are in blocking mode (None for a closed one)."""
    out = {}
    for fd in (0, 1, 2):
        try:
            out[fd] = os.get_blocking(fd)
        except OSError:
            out[fd] = None
    return out


def _restore_stdio_blocking(before):
    """Julia's start-up (libuv) puts stdin, stdout and stderr in non-blocking mode; Python's own
    reads and writes then fail (input() from a pipe sees end-of-file at once, a write to a full
    pipe raises BlockingIOError). Give them back the mode they had."""
    for fd, blocking in before.items():
        if blocking is not None:
            try:
                os.set_blocking(fd, blocking)
            except OSError:
                pass


_NR_RT_SIGTIMEDWAIT = {"x86_64": "128", "aarch64": "137"}.get(os.uname().machine, "")


def _threads_in_sigwait():
    """Ids of this process's threads blocked in sigwait (rt_sigtimedwait): how Julia's signal
    listener thread is found (Linux /proc; an empty set elsewhere)."""
    out = set()
    try:
        for t in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{t}/syscall") as f:
                if f.read().split(" ", 1)[0] == _NR_RT_SIGTIMEDWAIT:
                    out.add(int(t))
    except OSError:
        pass
    return out


def _install_signal_handlers():
    """After JTensor is loaded: the C fast path's SIGINT flag (polled by the engine) and SIGUSR2
    filter, and the faulthandler guard. Without the fast path, Ctrl-C still works between calls."""
    global _fastpath, _interrupt
    try:
        from . import _fastpath as fp
    except ImportError:
        fp = None
    if fp is not None and hasattr(fp, "install_signals"):
        fp.mark_owner()
        julia = _pre_julia["julia"]
        addr = fp.install_signals(ctypes.addressof(_pre_julia["actions"][signal.SIGUSR2]),
                                  ctypes.addressof(julia["sigint"]), julia["listener"])
        _interrupt = ctypes.c_int.from_address(addr)
        _fastpath = fp
    _eval_text(f"JTensor.INTERRUPT_FLAG[] = Ptr{{Cint}}({ctypes.addressof(_interrupt)}); nothing")
    _guard_faulthandler()


def _guard_faulthandler():
    """Make `faulthandler.enable()` and `disable()` after start-up keep Julia's SIGSEGV, SIGBUS and
    SIGFPE handlers.

    Julia needs them to run at all: its multi-threaded GC stops threads through a protected page
    (SIGSEGV), stack overflows become StackOverflowError, integer division faults DivideError.
    faulthandler's own handler would turn the first GC safepoint into a fatal error, and disable()
    puts back what was there when faulthandler was first enabled (before Julia: the defaults). So
    both are wrapped: faulthandler keeps SIGILL and SIGABRT and its other features
    (dump_traceback, dump_traceback_later, register), and a real crash on the three is reported
    by Julia instead."""
    import faulthandler
    for name in ("enable", "disable"):
        real = getattr(faulthandler, name)
        if getattr(real, "_jtensor_guard", False):
            continue

        def guarded(*args, _real=real, **kwargs):
            result = _real(*args, **kwargs)
            restore_julia_fault_handlers()
            return result

        guarded.__name__ = name
        guarded.__doc__ = real.__doc__
        guarded.__wrapped__ = real
        guarded._jtensor_guard = True
        setattr(faulthandler, name, guarded)


def restore_julia_fault_handlers():
    """Re-install Julia's SIGSEGV, SIGBUS and SIGFPE handlers (replaced by e.g. faulthandler)."""
    for s, buf in _pre_julia["julia"]["faults"].items():
        _sigaction_set(s, buf)


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
    v = _julia.jl_eval_string(wrapped.encode())
    if not v:
        raise RuntimeError(f"Julia could not evaluate: {code[:200]}")
    text = _julia.jl_string_ptr(v).decode()
    if text.startswith("\x1bERR"):
        from .errors import JuliaError
        raise JuliaError(f"Julia error: {text[4:]}", "", text[4:], "")
    return text


def julia_string(text):
    """A Julia string literal for `text` (no interpolation)."""
    return "raw" + json.dumps(text) if "\\" not in text else json.dumps(text).replace("$", "\\$")


def _load_package():
    global _call, _plan, _run, _release, _eval, _error_text, _registry_text, _registry_version
    path = julia_string(JULIA_DIR)   # (a retry after an interrupted import must not add it twice)
    try:
        _eval_text(f"{path} in LOAD_PATH || pushfirst!(LOAD_PATH, {path}); @eval Main using JTensor; nothing")
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
    if _lib is not None and "julia" in _owner.__dict__:   # never in a forked child
        try:
            _lib.jl_atexit_hook(0)
        except Exception:
            pass


def _check_thread():
    """Raise RuntimeError unless this thread may enter Julia (the calls check `_owner` inline)."""
    if "julia" in _owner.__dict__:
        return
    if _forked:
        raise RuntimeError(
            f"jtensor: this process (pid {os.getpid()}) was forked from the one that started Julia, and "
            "Julia cannot run in a forked child (its threads and compiler did not survive the fork). "
            "Here jtensor can still make tensors from NumPy data or lists, take views and call "
            ".numpy(), but not run ops; use the 'spawn' or 'forkserver' start method, or return "
            "NumPy-backed tensors to the parent (see docs/multiprocessing.md).")
    if _owner_thread is not None and not _owner_thread.is_alive():
        raise RuntimeError(
            f"jtensor: the thread that started Julia ({_owner_thread.name}) has exited, and Julia 1.5 "
            "cannot be called from any other thread (it would crash). Import jtensor on a thread "
            "that lives as long as you use it, e.g. the main thread.")
    raise RuntimeError(
        "jtensor: Julia was started on another thread; Julia 1.5 cannot be called from other "
        "Python threads (it would crash). Use jtensor from the thread that first used it.")


def last_error(context=""):
    raw = ctypes.string_at(_error_text())
    jtype, msg, trace, location = (raw.decode("utf-8", "replace").split("\x1e") + ["", "", "", ""])[:4]
    if jtype == "InterruptException" and _fastpath is not None:
        # Ctrl-C stopped a kernel: Python's own handler is pending too. Run it now (it raises
        # KeyboardInterrupt, or whatever the program's handler raises), so one Ctrl-C gives one
        # exception; if it does not raise, the JuliaInterrupt below reports the stopped op.
        _fastpath.check_signals()
    return from_julia(jtype, msg, trace, context, location)


RELOAD_REQUEST = 0   # put in _pending by the file watcher (any thread); handles start at 1
reload_hook = None


fast_drain = None   # the C fast path's drain (see fast_path), tried first


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
    if "julia" not in _owner.__dict__:
        _check_thread()
    _interrupt.value = 0
    if _pending:
        _drain()
    status = _call(opid, struct.pack(fmt, *words), len(words), _res_addr)
    if status:
        raise last_error(context())
    return decode_results(_resmv)


def plan(opid, fmt, words, context, into=False):
    """Compile a plan for an elementwise call signature; returns its id (see julia/src/bridge.jl).
    `into`: the in-place form, whose first input is the output itself (Julia reads it through the
    output, so the loop vectorizes); such a plan may only run calls of that form."""
    if "julia" not in _owner.__dict__:
        _check_thread()
    _interrupt.value = 0
    pid = _plan(-opid if into else opid, struct.pack(fmt, *words), len(words))
    if not pid:
        raise last_error(context())
    return pid


def run(pid, fmt, words, context):
    """Run a compiled plan on packed argument words (the fast path of elementwise ops)."""
    if "julia" not in _owner.__dict__:
        _check_thread()
    _interrupt.value = 0
    if _pending:
        _drain()
    if _run(pid, struct.pack(fmt, *words)):
        raise last_error(context())


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
    until NumPy lets go of it (`fast_path` replaces this and JuliaOwned by the C versions)."""
    return np.asarray(JuliaOwned(ptr, count, typestr, handle))


def fast_path(tensor_type, signatures, transparent):
    """Load the C fast path if it was built (python/jtensor/_native/fastpath.c) and hand it what it
    reads: the Tensor type (its slots), the dtype table, Julia's `run`, `release` and `call` entry
    points, the release queue, the elementwise signatures the drivers register (`signatures`) and
    the Tensor subclasses that act as Tensors (`transparent`). Returns the module, or None (no C
    compiler at build time, or an extension built from another word format table: it would
    garble every call, so it is left unused with a warning)."""
    global wrap_owned, JuliaOwned, fast_drain
    try:
        from . import _fastpath
    except ImportError:
        return None
    built = getattr(_fastpath, "wire_constants", lambda: {})()
    if built != wire_format.constants(wire_format.FORMAT):
        import warnings
        warnings.warn(f"jtensor: the C fast path {_fastpath.__file__} was built from another word format than "
                      f"{wire_format.TABLE_PATH}; running without it (rebuild: python setup.py build_ext --inplace)",
                      RuntimeWarning, stacklevel=2)
        return None
    # D.BY_CODE itself: user dtypes registered later are appended to it (fastpath.c `new_array`)
    _fastpath.init(tensor_type, D.BY_CODE, [d.itemsize for d in D.ALL],
                   [np.dtype(d.np_storage).num for d in D.ALL], entry_address("run"),
                   entry_address("release"), entry_address("call"), owner_thread(),
                   _pending, signatures, transparent)
    wrap_owned, JuliaOwned, fast_drain = _fastpath.wrap, _fastpath.JuliaOwned, _fastpath.drain
    return _fastpath


def release_later(handle):
    """Queue a Julia handle for release; safe from any thread, GC callbacks included."""
    _pending.append(handle)


class _CtrlCToJulia:
    """Around Julia user code (eval, REPL): Ctrl-C is handled by Julia itself, which throws
    InterruptException into the running code at its next safe point, as in the julia program
    (a loop that never allocates needs Ctrl-C pressed twice quickly: Julia then forces it)."""

    def __enter__(self):
        _interrupt.value = 0
        self.prev = _fastpath.sigint_to_julia(True) if _fastpath is not None else False

    def __exit__(self, *exc):
        if _fastpath is not None:
            _fastpath.sigint_to_julia(self.prev)


def eval_julia(code):
    """Evaluate Julia source in module Main (definitions persist); raise on error."""
    start()
    _check_thread()
    data = code.encode()
    with _CtrlCToJulia():
        status = _eval(data, len(data))
    if status:
        raise last_error("julia.eval")


def eval_value(code):
    """Evaluate Julia source in Main and return its value (numbers, arrays as tensors, else repr)."""
    start()
    _check_thread()
    if _pending:
        _drain()
    data = code.encode()
    f = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_char_p, ctypes.c_int64, ctypes.c_void_p)(int(_entries["eval_value"]))
    with _CtrlCToJulia():
        status = f(data, len(data), _res_addr)
    if status:
        raise last_error("julia.eval")
    r = _resmv
    if r[1] == TAG_STR:   # words from 1: the result count, then the result
        at = _RESULT_STR
        text = ctypes.string_at(r[1 + at["address"]], r[1 + at["length"]]).decode("utf-8", "replace")
        release_later(r[1 + at["handle"]])
        return text
    return decode_results(r)[0]


_RESULT_STR = wire_format.FORMAT.results["str"].offsets


def run_repl():
    """Run Julia's interactive REPL on this terminal until the user leaves it."""
    start()
    _check_thread()
    f = ctypes.CFUNCTYPE(ctypes.c_int64)(int(_entries["repl"]))
    with _CtrlCToJulia():
        status = f()
    if status:
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
