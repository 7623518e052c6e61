"""`python -m jtensor.sysimage`: build, inspect or remove JTensor's system image.

Julia compiles each method specialization on its first call, which is what made jtensor's first
calls take seconds. A system image holds the JTensor package with the native code of everything
a traced workload compiled, so `import jtensor` starts with it all ready. Building one:

1. trace: run `jtensor._workload` (generated from the op registry) in fresh processes started
   with `--trace-compile`, which writes one `precompile(...)` line per compiled method;
2. compile: replay those lines in `julia --output-o` (julia/sysimage/build.jl), which writes the
   image as an object file;
3. link: the C compiler turns it into a shared library;
4. check: a fresh `import jtensor` loads the new image and runs an op;

and only then is the image moved, atomically, to the name `import jtensor` looks for (see
`jtensor._imagestore`). A failed or interrupted build leaves no image behind, and jtensor keeps
working without one. Builds take a lock, so two at once run one after the other.

Usage:
    python -m jtensor.sysimage            build the image unless a current one exists
    python -m jtensor.sysimage --force    build it even if a current one exists
    python -m jtensor.sysimage --status   which image `import jtensor` uses, and why
    python -m jtensor.sysimage --remove   delete every JTensor image (for all Julias and CPUs)

This module never starts Julia in its own process.
"""
import argparse
import contextlib
import errno
import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from . import _imagestore, _locate

TRACE_SHARDS = 2   # workload processes run side by side (each compiles on its own core)
# How many plans (the typed entry methods of ops: `MapPlan`s and `FnPlan`s) an image holds. Julia
# 1.5 keeps the unoptimised code of everything it writes into an image in memory at once, and each
# plan pulls in its op's whole kernel: about 25 MB of peak memory per plan, on top of about 2.5 GB
# for the rest (measured; see docs/performance.md). 250 plans peaked near 9 GB; 200 built 15 s
# faster but left out plans of everyday ops (maximum, softmax), whose first calls then compile.
# The workload runs what programs meet first first (`everyday_ops` leads), so the budget keeps the
# most useful plans; the rest compile on first use, as without an image (300 was tried: it did not
# bring back the first CNN step's 0.1 s, and built 47 s slower). Other traced methods are all kept.
PLAN_BUDGET = 250
_PLAN_PREFIXES = ("precompile(Tuple{JTensor.MapPlan{", "precompile(Tuple{JTensor.FnPlan{")
# Time estimates for a first build on a 2-core machine; later builds use the last build's times.
DEFAULT_SECONDS = {"trace": 240.0, "compile": 300.0, "link": 10.0, "check": 5.0}


class BuildError(RuntimeError):
    """The image could not be built; the message says why and what to do."""


def _julia_dir():
    # bridge.py owns where JTensor's sources are; importing it does not start Julia.
    from .bridge import JULIA_DIR
    return JULIA_DIR


def _say(msg):
    print(f"jtensor sysimage: {msg}", flush=True)


def _fmt(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@contextlib.contextmanager
def _build_lock(folder):
    """Hold the build lock; waits (saying so) while another build holds it."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, ".build.lock")
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            other = f.read().strip() or "another process"
            _say(f"another build is running ({other}); waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)


def _remove_leftovers(folder):
    """Delete temporary folders of builds whose process is gone (interrupted or killed)."""
    for name in os.listdir(folder):
        if not name.startswith(".build-"):
            continue
        try:
            pid = int(name.split("-", 1)[1])
            os.kill(pid, 0)
            alive = pid != os.getpid()
        except (ValueError, ProcessLookupError):
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


class _Step:
    """Runs one build step with a progress line every `every` seconds (or a live one on a terminal)."""

    def __init__(self, number, name, title, estimate, every=30.0):
        self.number, self.name, self.title, self.estimate, self.every = number, name, title, estimate, every
        self.t0 = None
        self._done = threading.Event()

    def __enter__(self):
        self.t0 = time.monotonic()
        _say(f"[{self.number}/4] {self.title} (about {_fmt(self.estimate)})")
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def _tick(self):
        tty = sys.stdout.isatty()
        while not self._done.wait(1.0 if tty else self.every):
            spent = time.monotonic() - self.t0
            line = f"      {self.name}: {_fmt(spent)} of about {_fmt(max(self.estimate, spent))}"
            print("\r" + line if tty else line, end="" if tty else "\n", flush=True)

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        if sys.stdout.isatty():
            print("\r", end="")
        self.seconds = time.monotonic() - self.t0
        return False


def _run(what, commands, log_path):
    """Run `commands`, each (argv, env, cwd), side by side with their output in `log_path`; on
    failure raise BuildError saying `what` failed, with the log's tail. Ctrl-C kills them all."""
    with open(log_path, "ab") as log:
        procs = [subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
                 for argv, env, cwd in commands]
        try:
            codes = [p.wait() for p in procs]
        except BaseException:
            for p in procs:
                p.kill()
                p.wait()
            raise
    if any(codes):
        with open(log_path, "rb") as f:
            tail = f.read()[-3000:].decode("utf-8", "replace")
        raise BuildError(f"{what} failed (exit codes {codes}); the end of its output ({log_path}):\n{tail}")


def _c_compiler():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return shutil.which(cc)
    raise BuildError("no C compiler found (tried $CC, cc, gcc, clang); it links the image. Install "
                     "one (Debian: apt-get install gcc) and run `python -m jtensor.sysimage` again. "
                     "jtensor works without the image, with slower first calls.")


def _trace(tmp, log):
    """Run the workload in TRACE_SHARDS processes; returns the statements file (see `budget`), its
    line count and how many methods were traced in all."""
    env = dict(os.environ, JTENSOR_SYSIMAGE="0", PYTHONDONTWRITEBYTECODE="1")
    files = [os.path.join(tmp, f"trace-{i}.jl") for i in range(TRACE_SHARDS)]
    _run("the traced workload",
         [([sys.executable, "-m", "jtensor._workload", "--shard", f"{i}/{TRACE_SHARDS}"],
           dict(env, JTENSOR_TRACE_COMPILE=trace), tmp) for i, trace in enumerate(files)], log)
    traces = []
    for trace in files:
        with open(trace, encoding="utf-8", errors="replace") as f:
            traces.append([ln for ln in f if ln.startswith("precompile(")])
    lines = budget(traces)
    merged = os.path.join(tmp, "statements.jl")
    with open(merged, "w") as f:
        f.writelines(lines)
    return merged, len(lines), sum(map(len, traces))


def budget(traces, plans=None):
    """The statements to build from: the shards' traces interleaved line by line (each is in the
    workload's order of importance), without repeats, keeping the first `plans` plans
    (PLAN_BUDGET) and every other method."""
    plans = PLAN_BUDGET if plans is None else plans
    seen, out, kept = set(), [], 0
    for group in itertools.zip_longest(*traces):
        for line in group:
            if line is None or line in seen:
                continue
            seen.add(line)
            if line.startswith(_PLAN_PREFIXES):
                if kept >= plans:
                    continue
                kept += 1
            out.append(line)
    return out


def _last_times(folder):
    """Step times of the most recent build recorded in this folder, else the defaults."""
    best, when = dict(DEFAULT_SECONDS), 0
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name.startswith("JTensor-") and name.endswith(".json"):
                with contextlib.suppress(OSError, ValueError):
                    with open(os.path.join(folder, name)) as f:
                        info = json.load(f)
                    if info.get("built_at", 0) > when and isinstance(info.get("seconds"), dict):
                        when = info["built_at"]
                        best.update(info["seconds"])
    return best


def build(force=False):
    """Build the image for this Julia, CPU and JTensor's sources; returns its path."""
    install = _locate.locate()
    julia_dir = _julia_dir()
    final = _imagestore.image_path(install, julia_dir)
    folder = os.path.dirname(final)
    cc = _c_compiler()
    with _build_lock(folder):
        if os.path.isfile(final) and not force:
            _say(f"the image is current: {final}")
            return final
        _remove_leftovers(folder)
        tmp = os.path.join(folder, f".build-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        try:
            path = _build_in(tmp, install, julia_dir, final, cc)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise BuildError(f"the disk holding {folder} is full; the image needs about 500 MB while it "
                                 f"is built (set JTENSOR_HOME to build it elsewhere)") from None
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for old in _imagestore.images_for_env(install, julia_dir=julia_dir):   # stale: older sources here
            if old != final:
                for stale in (old, old[:-3] + ".json"):
                    with contextlib.suppress(OSError):
                        os.remove(stale)
        return path


def _build_in(tmp, install, julia_dir, final, cc):
    est = _last_times(os.path.dirname(final))
    log = os.path.join(tmp, "build.log")
    seconds = {}
    t_all = time.monotonic()
    _say(f"building the JTensor system image for {install.binary} (about {_fmt(sum(est.values()))} in all)")

    with _Step(1, "trace", "running the workload generated from the op registry, tracing what Julia compiles",
               est["trace"]) as s:
        statements, count, traced = _trace(tmp, log)
    seconds["trace"] = s.seconds
    _say(f"      {traced} methods traced in {_fmt(s.seconds)}; the image takes {count} of them "
         f"(the first {PLAN_BUDGET} op plans and every other method)")

    obj = os.path.join(tmp, "image.o")
    cmd = [install.binary, "--startup-file=no", "--history-file=no", "-J", install.sysimage, "-C", "native",
           "-O2", "--sysimage-native-code=yes", f"--output-o={obj}",
           os.path.join(julia_dir, "sysimage", "build.jl"), julia_dir, statements]
    env = dict(os.environ, JULIA_NUM_THREADS="1")
    if install.libunwind_fix:
        env["LD_LIBRARY_PATH"] = os.path.dirname(install.libunwind_fix) + os.pathsep + env.get("LD_LIBRARY_PATH", "")
    with _Step(2, "compile", f"compiling them into an image with {os.path.basename(install.binary)} --output-o",
               est["compile"]) as s:
        _run(f"{os.path.basename(install.binary)} --output-o", [(cmd, env, tmp)], log)
    seconds["compile"] = s.seconds

    lib = os.path.join(tmp, "image.so")
    libdir = os.path.dirname(os.path.realpath(install.libjulia))
    with _Step(3, "link", "linking it into a shared library", est["link"]) as s:
        _run("linking", [([cc, "-shared", "-o", lib, "-Wl,--whole-archive", obj, "-Wl,--no-whole-archive",
                           f"-L{libdir}", f"-Wl,-rpath,{libdir}", "-l:" + os.path.basename(install.libjulia)],
                          None, None)], log)
    seconds["link"] = s.seconds
    os.remove(obj)

    check = ("import jtensor as jt, sys; x = jt.ones(3) + 1; assert x.sum().item() == 6.0; "
             "assert jt.bridge.image_choice.custom, jt.bridge.image_choice")
    with _Step(4, "check", "checking that a fresh `import jtensor` loads it", est["check"]) as s:
        _run("loading the new image",
             [([sys.executable, "-c", check], dict(os.environ, JTENSOR_SYSIMAGE=lib), tmp)], log)
    seconds["check"] = s.seconds

    info = {"image": os.path.basename(final), "julia": install.binary, "libjulia": install.libjulia,
            "sources": julia_dir, "statements": count, "traced": traced, "built_at": time.time(), "seconds": seconds,
            "size": os.path.getsize(lib)}
    with open(final[:-3] + ".json", "w") as f:
        json.dump(info, f, indent=1)
    os.replace(lib, final)   # the image appears under its final name only now, complete and checked
    _say(f"done in {_fmt(time.monotonic() - t_all)}: {final} ({info['size'] / 1e6:.0f} MB)")
    return final


def status():
    """Lines saying which image `import jtensor` would load, why, and which images exist."""
    install = _locate.locate()
    choice = _imagestore.choose(install, _julia_dir())
    lines = [f"in use:  {choice.path}" + ("" if choice.custom else "  (Julia's stock image)"),
             f"why:     {choice.reason}"]
    folder = _imagestore.image_dir()
    images = sorted(n for n in os.listdir(folder) if n.endswith(".so")) if os.path.isdir(folder) else []
    lines.append(f"images in {folder}: {len(images) or 'none'}")
    for name in images:
        path = os.path.join(folder, name)
        detail = ""
        with contextlib.suppress(OSError, ValueError):
            with open(path[:-3] + ".json") as f:
                info = json.load(f)
            detail = (f", built {time.strftime('%Y-%m-%d %H:%M', time.localtime(info['built_at']))} from "
                      f"{info['statements']} traced methods in {_fmt(sum(info['seconds'].values()))}")
        lines.append(f"  {name}  {os.path.getsize(path) / 1e6:.0f} MB{detail}")
    return lines


def remove():
    """Delete every image (and build leftovers); returns the paths removed."""
    folder = _imagestore.image_dir()
    removed = []
    if not os.path.isdir(folder):
        return removed
    with _build_lock(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.startswith("JTensor-") and name.endswith((".so", ".json")):
                os.remove(path)
                removed.append(path)
            elif name.startswith(".build-"):
                shutil.rmtree(path, ignore_errors=True)
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m jtensor.sysimage",
                                     description="Build, inspect or remove JTensor's Julia system image.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--status", action="store_true", help="say which image `import jtensor` uses, and why")
    group.add_argument("--remove", action="store_true", help="delete every JTensor image")
    group.add_argument("--force", action="store_true", help="rebuild even if a current image exists")
    args = parser.parse_args(argv)
    try:
        if args.status:
            print("\n".join(status()))
        elif args.remove:
            removed = remove()
            _say(f"removed {len(removed)} files" + "".join(f"\n  {p}" for p in removed))
        else:
            build(force=args.force)
    except (BuildError, _locate.JuliaNotFound) as e:
        _say(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        _say("interrupted; no image was installed (jtensor works without one)")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
