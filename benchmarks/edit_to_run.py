"""The edit-to-run loop: how long from saving a one-line change to a kernel to having its result.

jtensor: write a kernel file, `jt.julia.include` it, run the op (first load); then, repeatedly,
change one line, `jt.julia.reload()`, run the op; the time from the edit (the file write) to the
result, median of `--repeat` edits. Also with `jt.julia.watch()` instead of an explicit reload
(the edit is picked up by the next jtensor call).

PyTorch: the same elementwise kernel as a C++ extension built with
`torch.utils.cpp_extension.load_inline` in a temporary build directory: the first build, then the
same one-line change rebuilt, loaded and run (median of `--torch-rebuilds`).

Run: ``python benchmarks/edit_to_run.py`` (``--quick`` for fewer repeats). Prints a table.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402

import jtensor as jt  # noqa: E402  (before torch: see tests/conftest.py)

N = 1 << 20            # elements of the input
CHANGED_LINE = "e2r_kernel(v) = v * v + {c}f0"
JULIA_KERNEL = f"""\
# the kernel under test; the benchmark rewrites the next line
{CHANGED_LINE}
JTensor.defmap("e2r(input: Tensor) -> Tensor", e2r_kernel; dtypes = "same")
"""
CPP_KERNEL = """\
#include <torch/extension.h>

torch::Tensor e2r(torch::Tensor x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const float* in = xc.data_ptr<float>();
    float* out = y.data_ptr<float>();
    const int64_t n = xc.numel();
    for (int64_t i = 0; i < n; ++i) {
        const float v = in[i];
        out[i] = v * v + %(c)s.0f;   // the line that changes
    }
    return y;
}
"""


def expected(x, c):
    return x * x + np.float32(c)


def cpu_seconds():
    """CPU time of this process and its finished children (the compiler, for PyTorch)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Clock:
    """Wall and CPU time since creation. On a loaded machine the wall time includes waiting for a
    core; the CPU time is the work itself."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()

    def stop(self):
        return time.perf_counter() - self.wall, cpu_seconds() - self.cpu


def save(path, text):
    """Write `text` as an editor saving the file would; returns a Clock started just before."""
    clock = Clock()
    with open(path, "w") as f:
        f.write(text)
    return clock


def jtensor_loop(repeat, workdir):
    path = os.path.join(workdir, "e2r.jl")
    x = jt.tensor(np.random.default_rng(0).standard_normal(N).astype(np.float32))
    xn = x.numpy()
    clock = save(path, JULIA_KERNEL.format(c=1))
    jt.julia.include(path)
    y = jt.e2r(x)
    first = clock.stop()
    assert np.array_equal(y.numpy(), expected(xn, 1))

    def edit(c):
        time.sleep(0.05)        # an edit is never in the same file-time tick as the last load
        return save(path, JULIA_KERNEL.format(c=c))

    reload_times = []
    for c in range(2, 2 + repeat):
        clock = edit(c)
        reread = jt.julia.reload()
        y = jt.e2r(x)
        reload_times.append(clock.stop())
        assert path in reread and np.array_equal(y.numpy(), expected(xn, c)), c
        if len(reread) > 1:
            print(f"note: reload() also re-read {reread[1:]} (changed library files)", file=sys.stderr)

    watch_times = []
    jt.julia.watch(interval=0.02)
    try:
        for c in range(100, 100 + repeat):
            clock = edit(c)
            while True:         # keep calling, as a program using the op would
                y = jt.e2r(x)
                if y[0].item() == expected(xn[:1], c)[0]:
                    break
                if time.perf_counter() - clock.wall > 30:
                    raise RuntimeError("watch() did not pick up the edit within 30 s")
            watch_times.append(clock.stop())
            assert np.array_equal(y.numpy(), expected(xn, c)), c
    finally:
        jt.julia.unwatch()
    return first, reload_times, watch_times


def torch_loop(rebuilds, workdir):
    import torch
    from torch.utils import cpp_extension

    torch.set_num_threads(1)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(N).astype(np.float32))
    xn = x.numpy()
    build = os.path.join(workdir, "torch_build")
    os.makedirs(build)

    def build_and_run(c):
        clock = Clock()
        mod = cpp_extension.load_inline("e2r_ext", cpp_sources=CPP_KERNEL % {"c": c}, functions=["e2r"],
                                        build_directory=build, verbose=False)
        y = mod.e2r(x)
        dt = clock.stop()
        assert np.array_equal(y.numpy(), expected(xn, c)), c
        return dt

    first = build_and_run(1)
    return first, [build_and_run(c) for c in range(2, 2 + rebuilds)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="edits timed for jtensor (median reported)")
    ap.add_argument("--torch-rebuilds", type=int, default=3, help="rebuilds timed for PyTorch")
    ap.add_argument("--quick", action="store_true", help="3 jtensor edits, 1 PyTorch rebuild")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch C++ extension")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.torch_rebuilds = 3, 1
    workdir = tempfile.mkdtemp(prefix="jt_edit_to_run_")

    def row(name, times):
        """(name, median wall, median cpu, the runs) for a list of (wall, cpu) pairs."""
        times = times if isinstance(times, list) else [times]
        walls, cpus = [t[0] for t in times], [t[1] for t in times]
        runs = "" if len(times) == 1 else f"median of {len(times)}: " + ", ".join(f"{w:.2f}" for w in walls)
        return name, statistics.median(walls), statistics.median(cpus), runs

    try:
        first, reloads, watches = jtensor_loop(args.repeat, workdir)
        rows = [row("jtensor: write, include, run (first load)", first),
                row("jtensor: edit one line, reload(), run", reloads),
                row("jtensor: edit one line, watch() picks it up", watches)]
        if not args.no_torch:
            tfirst, rebuilds = torch_loop(args.torch_rebuilds, workdir)
            rows += [row("PyTorch C++ extension: first build, load, run", tfirst),
                     row("PyTorch C++ extension: edit one line, rebuild, load, run", rebuilds)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"\nedit-to-run, elementwise kernel y = x*x + c on {N} float32 elements "
          f"({os.cpu_count()} CPUs, load average {load:.1f}, "
          f"JTENSOR_NUM_THREADS={os.environ.get('JTENSOR_NUM_THREADS', 'all')})\n")
    w = max(len(r[0]) for r in rows)
    print(f"| {'step':<{w}} | wall s | CPU s | wall times |")
    print(f"|{'-' * (w + 2)}|--------|-------|------------|")
    for name, wall, cpu, runs in rows:
        print(f"| {name:<{w}} | {wall:6.2f} | {cpu:5.2f} | {runs} |")
    target = statistics.median([t[0] for t in reloads])
    print(f"\njtensor edit-to-result {target:.2f} s (wall): {'under' if target < 1 else 'OVER'} the 1 s target")


if __name__ == "__main__":
    main()
