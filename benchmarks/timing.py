"""Timing helpers shared by the benchmarks that compare jtensor with PyTorch call by call."""
import gc
import statistics
import time


def time_pair(fns, budget, max_calls=400, clock=time.perf_counter):
    """Seconds per call of each function in `fns` (a dict) as (best, median) over single calls that
    alternate between the functions, until `budget` seconds have passed (or `max_calls` each). The
    cases take milliseconds, so one call is timed precisely; on a shared machine the best call shows
    the cost of the code and the median what the load leaves of it. `clock` times each call: wall
    time by default; `time.process_time` gives the CPU time the process spent, which other agents'
    load does not inflate (with one thread; with more it adds the threads' times)."""
    for fn in fns.values():   # warm-up: compilation, caches, optimizer state
        for _ in range(3):
            fn()
    times = {k: [] for k in fns}
    gc.collect()
    end = time.perf_counter() + budget
    while time.perf_counter() < end or min(len(v) for v in times.values()) < 5:
        for k, fn in fns.items():
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
        if min(len(v) for v in times.values()) >= max_calls:
            break
    return {k: (min(v), statistics.median(v)) for k, v in times.items()}


def interleaved_batches(fns, calls, rounds, clock=time.perf_counter, warmup=3):
    """Seconds per call of each function in `fns` (a dict), one list per function: `rounds` batches
    of `calls` calls, the functions alternating batch by batch (so load changes hit them alike),
    after `warmup` calls of each."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = clock()
            for _ in range(calls):
                fn()
            times[k].append((clock() - t0) / calls)
    return times


def fmt_time(s):
    """A duration in the unit that keeps it readable."""
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"
