"""The embedding's sharp edges: Julia errors, foreign threads, signals, import order, memory.

Anything that could crash or hang runs in a fresh interpreter (`run_child`) with a timeout, so a
failure fails the test instead of killing pytest. Children run with `-X faulthandler` (enabled
before Julia starts, as pytest does for this process) so nothing here depends on it being off.
"""
import faulthandler
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import jtensor as jt
from jtensor.errors import JuliaError

# Signals and timeouts in child processes: run alone (see the `serial` marker in conftest.py).
pytestmark = pytest.mark.serial

PYTHON_DIR = str(Path(__file__).resolve().parents[1] / "python")
CHILD_ENV = {**os.environ, "PYTHONPATH": PYTHON_DIR, "PYTHONFAULTHANDLER": "1"}
TIMEOUT = 240  # generous: the machine is shared and a child may re-precompile JTensor


def run_child(code, timeout=TIMEOUT):
    """Run `code` in a fresh Python that imports jtensor from this checkout; return CompletedProcess."""
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=CHILD_ENV)


def child_json(code, timeout=TIMEOUT):
    """Run `code`, which prints one JSON line starting with 'RESULT ', and return the decoded object."""
    r = run_child(code, timeout)
    assert r.returncode == 0, f"child exited {r.returncode}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    lines = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def start_child(code):
    return subprocess.Popen([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=CHILD_ENV)


def wait_for_line(p, marker, timeout=TIMEOUT):
    """Read the child's stdout until a line starting with `marker` (the child must print it, flushed)."""
    import threading
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        # read with the deadline: a child that loops silently (a signal it never saw) fails the
        # test instead of blocking readline forever (the reader ends when the child is killed)
        box = []
        reader = threading.Thread(target=lambda: box.append(p.stdout.readline()), daemon=True)
        reader.start()
        reader.join(max(0.0, end - time.monotonic()))
        if not box:
            break
        line = box[0]
        if line.startswith(marker):
            return line
        if not line and p.poll() is not None:
            break
    p.kill()
    out, err = p.communicate()
    pytest.fail(f"child never printed {marker!r} (exit {p.returncode}):\n{out[-2000:]}\n{err[-2000:]}")


def still_works():
    assert (jt.ones(2, 2) @ jt.ones(2, 2)).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert jt.arange(5).sum().item() == 10


# ---- errors: each Julia exception type becomes the right Python exception ---------------------------

def check_julia_error(exc, builtin, julia_type, *fragments):
    assert isinstance(exc, builtin) and isinstance(exc, JuliaError)
    assert exc.julia_type == julia_type
    assert exc.julia_message  # Julia's own text
    assert isinstance(exc.julia_backtrace, str) and exc.julia_backtrace.strip()
    for f in fragments:
        assert f in str(exc), (f, str(exc))


def test_dimension_mismatch_is_value_error():
    with pytest.raises(ValueError) as ei:
        jt.ones(2, 3) @ jt.ones(4, 5)
    check_julia_error(ei.value, ValueError, "DimensionMismatch", "matmul", "[2, 3]", "[4, 5]", "float32")
    still_works()


def test_dtype_error_is_type_error():
    with pytest.raises(TypeError) as ei:
        jt.tensor([1, 2, 3]).mean()
    check_julia_error(ei.value, TypeError, "DTypeError", "mean", "[3]", "int64")
    still_works()


@pytest.mark.parametrize("expr", ["x // 0", "x // jt.tensor([1, 0, 2])", "x % 0"])
def test_divide_error_is_zero_division_error(expr):
    x = jt.tensor([5, 6, 7])
    with pytest.raises(ZeroDivisionError) as ei:
        eval(expr)
    check_julia_error(ei.value, ZeroDivisionError, "DivideError", "[3]", "int64")
    assert "floor_divide" in str(ei.value) or "remainder" in str(ei.value)
    still_works()


def test_errors_do_not_accumulate_state():
    for _ in range(50):
        with pytest.raises(ValueError):
            jt.ones(2, 3) @ jt.ones(4, 5)
    still_works()


def test_julia_errors_in_a_child():
    """Types no built-in op throws, via a throwaway op defined from Python (in a child, so this
    process's registry stays as it is)."""
    res = child_json(r'''
        import json, jtensor as jt
        from jtensor.bridge import eval_julia
        eval_julia('JTensor.defop("_test_throw(kind: int) -> None", k -> (k == 1 ? throw(InterruptException()) : '
                   'k == 2 ? throw(BoundsError([1], 5)) : k == 3 ? throw(MethodError(+, ("a",))) : '
                   'k == 4 ? throw(DimensionMismatch("dm")) : k == 5 ? throw(OutOfMemoryError()) : error("boom")))')
        eval_julia('_test_deep(k) = k == 0 ? 0 : 1 + _test_deep(k - 1)')
        eval_julia('JTensor.defop("_test_recurse(n: int) -> int", n -> Main._test_deep(n))')
        out = {}
        def probe(name, f):
            try:
                f()
                out[name] = None
            except BaseException as e:
                out[name] = {"classes": [c.__name__ for c in type(e).__mro__], "text": str(e),
                             "julia_type": getattr(e, "julia_type", None), "msg": getattr(e, "julia_message", ""),
                             "bt": bool(getattr(e, "julia_backtrace", "").strip())}
            out[name + "/after"] = (jt.ones(3) + 1).sum().item()  # the process keeps working
        for k in range(1, 7):
            probe(f"throw{k}", lambda: jt.ops._test_throw(k))
        probe("oom", lambda: jt.ops._rand((2**45,), jt.float32, 0))
        probe("stack", lambda: jt.ops._test_recurse(10**9))
        probe("eval", lambda: eval_julia("error(\"evalboom\")"))
        out["recurse_ok"] = jt.ops._test_recurse(10)
        print("RESULT " + json.dumps(out))
    ''')
    expect = {"throw1": ("KeyboardInterrupt", "InterruptException"), "throw2": ("IndexError", "BoundsError"),
              "throw3": ("TypeError", "MethodError"), "throw4": ("ValueError", "DimensionMismatch"),
              "throw5": ("MemoryError", "OutOfMemoryError"), "throw6": ("JuliaError", "ErrorException"),
              "oom": ("MemoryError", "OutOfMemoryError"), "stack": ("JuliaError", "StackOverflowError"),
              "eval": ("JuliaError", "ErrorException")}   # eval's LoadError wrapper is unwrapped
    for name, (builtin, jtype) in expect.items():
        e = res[name]
        assert e is not None, f"{name} did not raise"
        assert builtin in e["classes"], (name, e["classes"])
        if builtin == "KeyboardInterrupt":   # must not be swallowed by `except Exception`
            assert "Exception" not in e["classes"], (name, e["classes"])
        else:
            assert "JuliaError" in e["classes"], (name, e["classes"])
        assert e["julia_type"] == jtype, (name, e)
        assert e["bt"] and e["msg"], (name, e)
        assert res[name + "/after"] == 6.0
    assert res["throw2"]["text"].startswith("_test_throw(2)")  # the op and its arguments
    assert "35184372088832" in res["oom"]["text"] and "float32" in res["oom"]["text"]
    assert "boom" in res["throw6"]["text"] and "ErrorException: boom" in res["throw6"]["text"]
    assert res["recurse_ok"] == 10


# ---- threads ---------------------------------------------------------------------------------------

def test_foreign_threads_are_refused_cleanly():
    res = child_json(r'''
        import gc, json, threading, jtensor as jt, numpy as np, torch
        a = jt.ones(3, 4)
        owned = [a.sum(0) for _ in range(20)] + [jt.ones(1000).sum(0) for _ in range(20)]  # Julia-made storage
        shared = [torch.from_dlpack(a.sum(1))]  # a Julia-made buffer held by torch
        out = {}
        def attempt(name, f):
            try:
                f()
                out[name] = "ok"
            except RuntimeError as e:
                out[name] = "RuntimeError: " + str(e)
            except BaseException as e:
                out[name] = type(e).__name__ + ": " + str(e)
        def worker():
            attempt("add", lambda: a + a)
            attempt("sum", lambda: a.sum())
            attempt("ones", lambda: jt.ones(2))
            attempt("matmul", lambda: a @ a.T)
            attempt("setitem", lambda: a.__setitem__(0, 5.0))
            attempt("eval", lambda: jt.bridge.eval_julia("1 + 1"))
            attempt("numpy", lambda: a.numpy().sum())  # no Julia involved: allowed
            attempt("repr", lambda: repr(a))
            attempt("ops", lambda: jt.ops.add)  # registry lookup: must not crash
            # dropping Julia-made tensors (and torch's hold on one) on this thread only queues them
            del owned[:]
            del shared[:]
            gc.collect()
        th = threading.Thread(target=worker)
        th.start()
        th.join(120)
        out["joined"] = not th.is_alive()
        out["queued"] = len(jt.bridge._pending)
        out["after"] = (a + 1).sum().item()   # the main thread still works, and drains the queue
        out["drained"] = len(jt.bridge._pending)
        print("RESULT " + json.dumps(out))
    ''')
    assert res["joined"]
    for op in ("add", "sum", "ones", "matmul", "setitem", "eval"):
        assert res[op].startswith("RuntimeError") and "thread" in res[op], (op, res[op])
    assert res["numpy"] == "ok" and res["repr"] == "ok"
    assert res["ops"] == "ok" or res["ops"].startswith("RuntimeError")
    assert res["queued"] >= 40  # released on the worker, queued for the Julia thread
    assert res["after"] == 24.0 and res["drained"] <= 2  # (the temporaries of that last line)


def test_thread_error_in_this_process():
    import threading
    errors = []

    def worker():
        try:
            jt.ones(2) + 1
        except RuntimeError as e:
            errors.append(str(e))

    th = threading.Thread(target=worker)
    th.start()
    th.join(60)
    assert not th.is_alive() and len(errors) == 1 and "thread" in errors[0]
    still_works()


# ---- signals ---------------------------------------------------------------------------------------

SIGNAL_CHILD = r"""
    import subprocess, sys, time, jtensor as jt
    a = jt.ones(64, 64)
    for _ in range(5):
        (a + a).sum()          # compile before the parent starts signalling
    sleeper = subprocess.Popen(["sleep", "30"])
    status = open(f"/proc/{sleeper.pid}/status").read()
    sleeper.kill()
    sleeper.wait()
    blk = [l.split()[1] for l in status.splitlines() if l.startswith("SigBlk:")][0]
    own = [l.split()[1] for l in open("/proc/self/status").read().splitlines() if l.startswith("SigBlk:")][0]
    print("SIGBLK", blk, own, flush=True)
    print("READY", flush=True)
    caught, n, last, told = 0, 0, None, False
    while True:  # KeyboardInterrupt may surface at any bytecode, so the whole loop is inside the try
        try:
            try:
                while last is None or time.monotonic() - last < 5.0:  # until 5 s pass without one
                    (a + a).sum()
                    n += 1
                    if caught and not told:
                        told = True
                        print("CAUGHT", caught, flush=True)
                break
            except KeyboardInterrupt:
                caught += 1
                last = time.monotonic()
        except KeyboardInterrupt:  # one more arrived while the first was being handled
            caught += 1
            last = time.monotonic()
    (a + 1).sum()
    print("ALIVE", caught, n, flush=True)
    while True:                                          # now an unhandled one ends the process
        (a + a).sum()
"""


@pytest.fixture(scope="module")
def signal_run():
    """One child for all the signal checks: 1 SIGINT, then 5 quick ones, then an unhandled one."""
    p = start_child(SIGNAL_CHILD)
    try:
        blk = wait_for_line(p, "SIGBLK").split()
        wait_for_line(p, "READY")
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        first = wait_for_line(p, "CAUGHT")
        for _ in range(5):  # jl_init's own handler would exit on five quick Ctrl-C
            p.send_signal(signal.SIGINT)
            time.sleep(0.02)
        alive = wait_for_line(p, "ALIVE").split()
        time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=TIMEOUT)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return {"sigblk_child": blk[1], "sigblk_self": blk[2], "first": first.split(), "caught": int(alive[1]),
            "returncode": p.returncode, "stderr": err}


def test_children_have_no_blocked_signals(signal_run):
    # jl_init blocks SIGINT & co.; jtensor restores the mask, so `sleep 30` started later obeys Ctrl-C
    assert int(signal_run["sigblk_child"], 16) == 0, signal_run["sigblk_child"]
    assert int(signal_run["sigblk_self"], 16) == 0, signal_run["sigblk_self"]


def test_sigint_raises_keyboard_interrupt(signal_run):
    assert signal_run["first"] == ["CAUGHT", "1"]


def test_five_quick_sigints_do_not_kill_the_process(signal_run):
    # signals arriving within one Julia call coalesce into one interrupt, as in plain Python
    assert 2 <= signal_run["caught"] <= 6, signal_run


def test_unhandled_sigint_ends_like_python(signal_run):
    # Python's own ending for an unhandled KeyboardInterrupt: the traceback, then death by SIGINT
    err = signal_run["stderr"]
    assert signal_run["returncode"] == -signal.SIGINT, (signal_run["returncode"], err[-2000:])
    assert "KeyboardInterrupt" in err and "Segmentation fault" not in err and "fatal" not in err.lower()


# ---- import order ----------------------------------------------------------------------------------

IMPORT_CHILD = r'''
    import json
    {imports}
    import numpy as np
    out = {{}}
    a = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)
    ref = a @ b
    tj = jt.asarray(a) @ jt.asarray(b)
    tt = torch.from_numpy(a) @ torch.from_numpy(b)
    out["jt_matmul"] = bool(np.allclose(tj.numpy(), ref, atol=1e-5))
    out["torch_matmul"] = bool(np.allclose(tt.numpy(), ref, atol=1e-5))
    try:                                    # a C++ exception inside torch after Julia is loaded
        torch.ones(2).view(3)
    except RuntimeError:
        out["torch_error"] = "caught"
    try:                                    # and a Julia one
        jt.ones(2, 3) @ jt.ones(4, 5)
    except ValueError:
        out["jt_error"] = "caught"
    try:
        back = jt.from_dlpack(tt)            # torch -> jtensor, zero-copy
        again = torch.from_dlpack(tj)       # jtensor -> torch, zero-copy
        back[0, 0] = 123.0
        out["dlpack"] = bool(tt[0, 0].item() == 123.0 and np.allclose(again.numpy(), tj.numpy())
                             and again.data_ptr() == tj.data_ptr())
    except NotImplementedError:             # DLPack not available: fall back to NumPy conversion
        back = jt.asarray(tt.numpy())
        out["dlpack"] = "numpy-fallback:" + str(bool(np.allclose(back.numpy(), ref, atol=1e-5)))
    out["torch_threads"] = torch.get_num_threads()
    x = torch.randn(200, 200)
    out["torch_big_matmul"] = bool(torch.allclose(x @ x, torch.from_numpy((jt.asarray(x.numpy()) @ jt.asarray(x.numpy())).numpy()), atol=1e-3))
    print("RESULT " + json.dumps(out))
'''


@pytest.mark.parametrize("imports", ["import torch\nimport jtensor as jt", "import jtensor as jt\nimport torch"],
                         ids=["torch-first", "jtensor-first"])
def test_import_order_with_torch(imports):
    res = child_json(IMPORT_CHILD.format(imports=textwrap.indent(imports, "    ").strip()))
    assert res["jt_matmul"] and res["torch_matmul"] and res["torch_big_matmul"]
    assert res.get("torch_error") == "caught" and res.get("jt_error") == "caught"
    assert res["dlpack"] is True or res["dlpack"] == "numpy-fallback:True"
    assert res["torch_threads"] >= 1


# ---- memory ----------------------------------------------------------------------------------------

def test_memory_stays_bounded():
    res = child_json(r'''
        import gc, json, os, jtensor as jt
        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        out = {}
        a, b = jt.ones(64), jt.ones(64)
        for _ in range(1000):                          # warm-up: compile, fill allocator pools
            (a + b).sum()
        gc.collect()
        r0 = rss()
        for _ in range(20000):                         # each sum's storage is made by Julia
            (a + b).sum()
        gc.collect()
        out["small_growth"] = rss() - r0
        out["pending"] = len(jt.bridge._pending)
        x = jt.zeros(1, 25_000_000, dtype=jt.float64)   # x.sum(0) is a 200 MB Julia-made result
        s = x.sum(0); del s
        gc.collect()
        r1 = rss()
        peak = r1
        for _ in range(20):
            s = x.sum(0)
            assert s.nbytes == 200_000_000
            del s
            peak = max(peak, rss())
        gc.collect()
        (a + b).sum()                                   # drains the release queue
        out["big_growth"] = rss() - r1
        out["big_peak"] = peak - r1
        print("RESULT " + json.dumps(out))
    ''')
    MB = 1e6
    assert res["small_growth"] < 50 * MB, res
    assert res["pending"] < 10, res
    # 20 results of 200 MB: leaking them would be 4 GB; Julia's GC may keep a couple alive
    assert res["big_peak"] < 900 * MB and res["big_growth"] < 900 * MB, res


def test_julia_buffers_freed_after_python_drops_them():
    import gc
    s = jt.ones(4, 1000).sum(0)  # Julia-made storage
    owner = s._base.base
    assert isinstance(owner, jt.bridge.JuliaOwned)   # the C version when the fast path is built
    handle = owner.handle
    view = s[10:20]  # a view keeps the storage alive
    del s, owner
    gc.collect()
    assert handle not in jt.bridge._pending
    assert view.sum().item() == 40.0
    del view
    gc.collect()
    assert handle in jt.bridge._pending  # queued by the destructor, not released from it
    still_works()
    assert handle not in jt.bridge._pending


def test_interrupted_release_loses_no_buffers(monkeypatch):
    import gc
    x = jt.ones(3)
    s = jt.ones(4, 100).sum(0)
    handle = s._base.base.handle
    del s
    gc.collect()
    assert handle in jt.bridge._pending

    def interrupted(addr, n):  # as if SIGINT arrived right before the release call
        raise KeyboardInterrupt

    # the Python release path (the C fast path releases in one C call, which no signal interrupts)
    monkeypatch.setattr(jt.bridge, "fast_drain", None)
    real = jt.bridge._release
    monkeypatch.setattr(jt.bridge, "_release", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            # through the Python driver: `x.sum()` itself now takes the C fast path, which drains
            # the queue in C
            jt.drivers._run_fn(jt.registry.REGISTRY.ops["sum"], (x, None, False, None))
    finally:
        monkeypatch.setattr(jt.bridge, "_release", real)
    try:
        assert handle in jt.bridge._pending  # still queued: released by the next call
    finally:
        still_works()


# ---- faulthandler ----------------------------------------------------------------------------------

def test_pytest_faulthandler_is_on_and_harmless():
    assert faulthandler.is_enabled()  # conftest enabled it before jtensor started
    still_works()


def test_faulthandler_enabled_after_import_keeps_stack_overflow_catchable():
    # faulthandler.enable() after Julia started would replace the SIGSEGV handler Julia turns
    # stack overflows into StackOverflowError with; bridge.py wraps it to put Julia's back
    import resource

    def small_stack():  # fewer frames for Julia to print when it dies
        resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, 1 << 20))

    r = subprocess.run([sys.executable, "-c", textwrap.dedent(r'''
        import faulthandler, jtensor as jt
        faulthandler.enable()
        jt.bridge.eval_julia('_test_deep(k) = k == 0 ? 0 : 1 + _test_deep(k - 1)')
        jt.bridge.eval_julia('JTensor.defop("_test_recurse(n: int) -> int", n -> Main._test_deep(n))')
        try:
            jt.ops._test_recurse(10**9)
        except jt.JuliaError as e:
            print("CAUGHT", e.julia_type)
    ''')], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=TIMEOUT,
                       env={**os.environ, "PYTHONPATH": PYTHON_DIR}, preexec_fn=small_stack)
    assert r.returncode == 0 and "CAUGHT StackOverflowError" in r.stdout, r.returncode
