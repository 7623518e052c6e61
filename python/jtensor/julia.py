"""`jt.julia`: work on JTensor's Julia code from the running Python process.

- `eval(code)` / `include(path)`: define or change Julia code now; ops defined with `defop` /
  `defmap` appear in `jt.ops` (and as `jt.<name>`) at once, differentiable when they declare a
  derivative.
- `reload()`: re-read every changed file under julia/src and every file given to `include`, so
  an edited kernel takes effect without restarting Python; existing tensors stay valid (their
  memory never belongs to the code being replaced). `watch()` does it automatically.
- `repl(**tensors)`: Julia's interactive REPL inside this process, with the named tensors bound
  as Julia arrays over the same memory (no copy); definitions made there stay after it exits.
"""
import ctypes
import os
import threading
import time

from . import bridge
from .drivers import tensor_of
from .registry import REGISTRY, definition_hook
from .wire import TensorResult

_JULIA_SRC = os.path.join(bridge.JULIA_DIR, "src")
_user_files = []          # files given to include(), in order
_mtimes = {}              # path -> mtime at its last (re)load


def _sync():
    REGISTRY.sync()


_hook_installed = [False]


def _install_hook():
    """From now on, Julia's `defop` asks Python's checks (registry.py `check_entry`) before it
    accepts a definition. Installed before the first call here that can define ops rather than at
    start-up, which so pays nothing for it."""
    if not _hook_installed[0]:
        addr = ctypes.cast(definition_hook, ctypes.c_void_p).value
        bridge.eval_julia(f"JTensor.DEFINITION_HOOK[] = Ptr{{Cvoid}}({addr}); nothing")
        _hook_installed[0] = True


def eval(code):
    """Evaluate Julia source in module Main; returns its value (numbers, arrays as tensors,
    `None`, or the `repr` text of anything else). Registry changes are published at once.
    A refused op definition raises (a ValueError naming the op and the problem)."""
    _install_hook()
    try:
        v = bridge.eval_value(code)
    finally:
        _sync()
    if isinstance(v, TensorResult):
        return tensor_of(v)
    return v


def _src_files():
    out = []
    for root, _, files in os.walk(_JULIA_SRC):
        out.extend(os.path.join(root, f) for f in files if f.endswith(".jl"))
    return sorted(out)


def _snapshot():
    for p in _src_files() + _user_files:
        if p not in _mtimes:
            _mtimes[p] = os.stat(p).st_mtime_ns


_snapshot()   # the library files as Julia loaded them at start-up: later edits count as changes


def include(path):
    """Load a Julia file into Main (e.g. your own kernels); `reload()` re-reads it when it changes."""
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    _snapshot()
    _install_hook()
    try:
        bridge.eval_julia(f"Base.include(Main, {bridge.julia_string(path)})")
    finally:
        _sync()
    if path not in _user_files:
        _user_files.append(path)
    _mtimes[path] = os.stat(path).st_mtime_ns


def changed_files():
    """Files under julia/src and included user files modified since they were last loaded."""
    _snapshot()
    out = []
    for p in _src_files() + _user_files:
        try:
            m = os.stat(p).st_mtime_ns
        except FileNotFoundError:
            continue
        if m != _mtimes.get(p):
            out.append(p)
    return out


# Files holding the running bridge's state (op table, plans, handles, entry points): re-including
# them would reset that state under live tensors, so changes to them need a restart.
_STATEFUL = {os.path.join(_JULIA_SRC, f) for f in ("JTensor.jl", "bridge.jl", "registry.jl")}


def reload(files=None):
    """Re-read changed Julia files (package files into module JTensor, user files into Main) and
    publish any registry changes. Returns the list of files re-read. JTensor.jl, bridge.jl and
    registry.jl hold the running state and are skipped with a warning (restart Python)."""
    files = changed_files() if files is None else [os.path.abspath(f) for f in files]
    stateful = [p for p in files if p in _STATEFUL]
    if stateful:
        import warnings
        warnings.warn(f"jt.julia.reload: {', '.join(os.path.basename(p) for p in stateful)} hold(s) the "
                      f"running bridge's state and cannot be reloaded; restart Python to use the change",
                      RuntimeWarning, stacklevel=2)
        for p in stateful:
            _mtimes[p] = os.stat(p).st_mtime_ns
        files = [p for p in files if p not in _STATEFUL]
    if not files:
        return files
    _install_hook()
    try:
        for p in files:
            module = "JTensor" if p.startswith(_JULIA_SRC + os.sep) else "Main"
            code = f"Base.include({module}, {bridge.julia_string(p)})"
            if module == "JTensor":   # ops re-read from the library's own files stay built-ins
                code = f"JTensor.LOADING_BUILTINS[] = true; try {code} finally JTensor.LOADING_BUILTINS[] = false end"
            try:
                bridge.eval_julia(code)
            finally:
                _mtimes[p] = os.stat(p).st_mtime_ns
    finally:   # what a failing file defined before its error is published too
        _sync()
    return files


class _Watcher:
    def __init__(self, interval):
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="jtensor-julia-watch", daemon=True)

    def _run(self):
        # Never calls Julia (this is not Julia's thread): it only asks the next op call to reload.
        while not self.stop_event.wait(self.interval):
            if changed_files() and bridge.RELOAD_REQUEST not in bridge._pending:
                bridge._pending.append(bridge.RELOAD_REQUEST)


_watcher = None


def watch(interval=0.5):
    """Reload changed Julia files automatically: a background thread polls file times and the
    next jtensor call (on Julia's thread) re-reads them. Call `unwatch()` to stop."""
    global _watcher
    unwatch()
    _snapshot()
    bridge.reload_hook = reload
    _watcher = _Watcher(interval)
    _watcher.thread.start()
    return _watcher


def unwatch():
    global _watcher
    if _watcher is not None:
        _watcher.stop_event.set()
        _watcher.thread.join()
        _watcher = None


def repl(**tensors):
    """Run Julia's REPL here, with each keyword tensor bound to a Julia global of that name (a
    `JTensor.Strided` array over the tensor's memory, in Julia dimension order: a Python (a, b)
    tensor is a Julia (b, a) array). Leave with Ctrl-D or `exit()`."""
    _install_hook()
    bind = REGISTRY.ops["_bind_global"].fn
    for name, t in tensors.items():
        if not name.isidentifier():
            raise ValueError(f"repl: {name!r} is not a valid Julia name")
        bind(name, t)
    try:
        bridge.run_repl()
    finally:
        for name in tensors:
            bind(name, None)
        for t in tensors.values():
            t._bump()   # the REPL may have written into it
        _sync()
