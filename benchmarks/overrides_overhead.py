"""What the `__jtensor_function__` check costs a call on exact Tensors, measured in one process.

Each public function that `jtensor.overrides.install` wraps is timed against the function it wraps
(``f.__wrapped__``): same arguments, batches of calls alternating between the two, medians and
best batches. Registry op functions (``jt.add``, ``x.exp()``, ``x + y``) carry the check in their
generated body after the C fast path and are not wrapped, so they are not listed.

Run: ``python benchmarks/overrides_overhead.py``. The machine may be shared: the load (`uptime`)
is printed with the numbers, and the best batch is the less disturbed figure.
"""
import os
import statistics
import sys

import jtensor as jt
import jtensor.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import interleaved_batches  # noqa: E402  (benchmarks/timing.py)


def batches(fns, calls=2000, rounds=15):
    """Per-call seconds of each function (dict name -> fn): (best, median) over `rounds` batches of
    `calls` calls, the functions alternating batch by batch."""
    times = interleaved_batches(fns, calls, rounds, warmup=200)
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def cases():
    x, y, w = jt.randn(8, 8), jt.randn(8, 8), jt.randn(8, 8)
    T = jt.Tensor
    return {
        "F.linear(x, w)": (F.linear, (x, w)),
        "F.relu(x)": (F.relu, (x,)),
        "F.mse_loss(x, y)": (F.mse_loss, (x, y)),
        "jt.zeros_like(x)": (jt.zeros_like, (x,)),
        "jt.linalg.norm(x)": (jt.linalg.norm, (x,)),
        "jt.fft.fftshift(x)": (jt.fft.fftshift, (x,)),
        "x.size()": (T.size, (x,)),
        "x.dim()": (T.dim, (x,)),
        "x.float()": (T.float, (x,)),
    }


def main():
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average), {os.cpu_count()} cores")
    print(f"{'call':22s} {'wrapped':>16s} {'unwrapped':>16s} {'check costs':>12s}   (best / median, µs)")
    for name, (f, args) in cases().items():
        raw = f.__wrapped__
        r = batches({"w": lambda: f(*args), "u": lambda: raw(*args)})
        (wb, wm), (ub, um) = r["w"], r["u"]
        print(f"{name:22s} {wb * 1e6:7.2f} / {wm * 1e6:6.2f} {ub * 1e6:7.2f} / {um * 1e6:6.2f} "
              f"{(wb - ub) * 1e6:+12.2f}")


if __name__ == "__main__":
    main()
