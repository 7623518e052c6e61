"""In-place elementwise ops before and after the C fast path's in-place form, against PyTorch.

Run: ``python benchmarks/inplace.py`` (``--rounds N``). "before" is the same build with the fast
path switched off for the ops timed (`codegen.fast_path_off`: their calls go to the Python driver,
as every in-place call did before fastpath.c `map` gained its `into` form); "after" is the default.
Times are CPU time of this process (time.process_time: on a shared machine the time slices other
processes take do not count), both libraries at 1 thread, medians of interleaved batches
(before, after, PyTorch in turn). Also a hand-written SGD-with-momentum step over the parameters
of the digits MLP (examples/train_digits.py), the loop a user writes without torch.optim
(jt.optim.SGD itself runs one fused Julia op per parameter, `_sgd_step_`, and is not affected).
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("JTENSOR_NUM_THREADS", "1")
os.environ.setdefault("JULIA_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402

import jtensor as jt  # noqa: E402
from jtensor import codegen  # noqa: E402
from jtensor.registry import REGISTRY  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import fmt_time, interleaved_batches  # noqa: E402

torch.set_num_threads(1)

# (label, the op whose fast path "before" switches off, the call on (self, other))
CASES = [("x.mul_(2.0)", "mul", lambda x, y: x.mul_(2.0)),
         ("x.add_(y)", "add", lambda x, y: x.add_(y)),
         ("x += y", "add", lambda x, y: x.__iadd__(y)),
         ("x.clamp_(0, 1)", "clamp", lambda x, y: x.clamp_(0, 1)),
         ("x.relu_()", "relu", lambda x, y: x.relu_())]
SIZES = (1, 1000, 10 ** 6)
MLP = [(128, 64), (128,), (64, 128), (64,), (10, 64), (10,)]   # the digits MLP's parameter shapes


def sgd_momentum(params, grads, bufs, lr=0.1, momentum=0.9):
    """One SGD-with-momentum step as a user writes it: buf = momentum * buf + grad; p -= lr * buf."""
    for p, g, b in zip(params, grads, bufs):
        b.mul_(momentum).add_(g)
        p.add_(b, alpha=-lr)


def timed(fns, rounds, calls):
    """Median CPU seconds per call of each function (a dict), batches interleaved round by round."""
    times = interleaved_batches(fns, calls, rounds, clock=time.process_time)
    return {k: statistics.median(v) for k, v in times.items()}


def with_fast_path(ops, on, fn):
    """`fn` wrapped to run with the C fast path of `ops` on or off (off: the driver, as before)."""
    quals = [REGISTRY.ops[o].qualname for o in ops]

    def run():
        codegen.fast_path_off(quals, not on)
        try:
            fn()
        finally:
            codegen.fast_path_off(quals, False)
    return run


def row(label, ops, make, rounds, calls):
    """Before, after and PyTorch for one case: `make(lib)` returns the no-argument call on fresh data."""
    jfn, tfn = make(jt), make(torch)
    before = with_fast_path(ops, False, lambda: [jfn() for _ in range(calls)])
    after = lambda: [jfn() for _ in range(calls)]   # noqa: E731
    tor = lambda: [tfn() for _ in range(calls)]     # noqa: E731
    t = timed({"before": before, "after": after, "torch": tor}, rounds, 1)
    return label, *(t[k] / calls for k in ("before", "after", "torch"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; CPU time, 1 thread, medians of {args.rounds} interleaved batches")
    print(f"{'case':28s} {'before':>10s} {'after':>10s} {'PyTorch':>10s} {'after/PyTorch':>14s}")
    rows = []
    for n in SIZES:
        calls = 2000 if n < 10 ** 5 else 20
        for label, op, call in CASES:
            def make(lib, call=call, n=n):
                x, y = lib.rand(n), lib.rand(n)
                return lambda: call(x, y)
            rows.append(row(f"{label} [{n}]", [op], make, args.rounds, calls))
            print("{:28s} {:>10s} {:>10s} {:>10s} {:14.2f}".format(
                rows[-1][0], *map(fmt_time, rows[-1][1:]), rows[-1][2] / rows[-1][3]), flush=True)

    def make_sgd(lib):
        ps, gs, bs = ([lib.rand(*s) for s in MLP] for _ in range(3))
        return lambda: sgd_momentum(ps, gs, bs)
    r = row("SGD momentum step, MLP", ["mul", "add"], make_sgd, args.rounds, 200)
    print("{:28s} {:>10s} {:>10s} {:>10s} {:14.2f}".format(r[0], *map(fmt_time, r[1:]), r[2] / r[3]))


if __name__ == "__main__":
    main()
