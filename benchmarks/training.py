"""Training benchmarks: jtensor against PyTorch (CPU) in the same process.

Cases (float32, batch 128 unless --batch says otherwise):
- one training step (zero_grad, forward, cross-entropy, backward, Adam step) of the MLP and of the
  CNN of examples/train_digits.py, on digits images, from the same initial weights;
- per-example gradients of a small model written functionally (a linear classifier and a one-hidden-
  layer MLP): ``jt.func.vmap(jt.func.grad(loss))`` against ``torch.func.vmap(torch.func.grad(loss))``.

Run: ``python benchmarks/training.py`` (``--quick`` for shorter timing, ``--markdown FILE`` to write
the table, ``--profile`` to see where jtensor's time goes: Julia kernels, by op, against Python).
Ratios are jtensor time / PyTorch time: below 1 means jtensor is faster. Both libraries use the same
number of threads (the core count unless JTENSOR_NUM_THREADS says otherwise), BLAS included. Calls
of the two alternate, so that a busy machine slows both alike; the table shows the best call (the
cost of the code) and the median call (what a shared machine leaves of it). Each case first checks
that both libraries compute the same loss or gradients.
"""
import argparse
import cProfile
import gc
import io
import os
import pstats
import runpy
import sys
import time
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "python"))

import jtensor as jt  # noqa: E402  (first: starts Julia; see tests/conftest.py on import order)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from timing import fmt_time, time_pair  # noqa: E402  (benchmarks/timing.py)

THREADS = int(os.environ.get("JTENSOR_NUM_THREADS") or os.cpu_count() or 1)
torch.set_num_threads(THREADS)   # PyTorch's intra-op pool, its BLAS included
# JTENSOR_NUM_THREADS sets Julia's threads; with several, large products are split across them and
# Julia's OpenBLAS runs single-threaded inside (JTensor.__init__).

EXAMPLE = runpy.run_path(os.path.join(ROOT, "examples", "train_digits.py"), run_name="train_digits_bench")


# ---- models and data -----------------------------------------------------------------------------

def torch_mlp():
    tnn = torch.nn
    return tnn.Sequential(tnn.Linear(64, 128), tnn.ReLU(), tnn.Linear(128, 64), tnn.ReLU(), tnn.Linear(64, 10))


def torch_cnn():
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(128, 10))


def digits_batch(batch, shape):
    x, y, _, _ = EXAMPLE["load_data"]()
    idx = np.random.default_rng(0).choice(len(x), batch, replace=False)
    return np.ascontiguousarray(x[idx].reshape((-1,) + shape)), y[idx]


def _training_case(make_jt, make_torch, shape, batch, lr):
    torch.manual_seed(0)
    tmodel = make_torch()
    jmodel = make_jt()
    jmodel.load_state_dict({k: jt.from_dlpack(v.detach().clone()) for k, v in tmodel.state_dict().items()})
    x, y = digits_batch(batch, shape)
    jx, jy = jt.tensor(x), jt.tensor(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    jopt = jt.optim.Adam(jmodel.parameters(), lr=lr)
    topt = torch.optim.Adam(tmodel.parameters(), lr=lr)
    jF, tF = jt.nn.functional, torch.nn.functional

    def jstep():
        jopt.zero_grad()
        loss = jF.cross_entropy(jmodel(jx), jy)
        loss.backward()
        jopt.step()
        return loss

    def tstep():
        topt.zero_grad()
        loss = tF.cross_entropy(tmodel(tx), ty)
        loss.backward()
        topt.step()
        return loss

    for _ in range(2):   # same start, same loss (float32)
        lj, lt = jstep().item(), tstep().item()
        assert abs(lj - lt) <= 1e-4 * max(1.0, abs(lt)), (lj, lt)
    return {"jtensor": jstep, "torch": tstep}


def case_mlp(batch):
    return _training_case(EXAMPLE["make_mlp"], torch_mlp, (64,), batch, 1e-3)


def case_cnn(batch):
    return _training_case(EXAMPLE["make_cnn"], torch_cnn, (1, 8, 8), batch, 3e-3)


# Per-example gradients. The loss of one example is written with one-hot targets and log_softmax;
# --ce adds the same model through F.cross_entropy with class indices (batched by its own rule).

def _per_example_case(hidden, batch, ce=False):
    rng = np.random.default_rng(0)
    x, y = digits_batch(batch, (64,))
    onehot = np.eye(10, dtype=np.float32)[y]
    if hidden:
        params = [rng.standard_normal((hidden, 64)) / 8, np.zeros(hidden),
                  rng.standard_normal((10, hidden)) / hidden ** 0.5, np.zeros(10)]
    else:
        params = [rng.standard_normal((10, 64)) / 8, np.zeros(10)]
    params = [p.astype(np.float32) for p in params]
    n = len(params)

    def make_loss(lib, F):
        def loss(*args):
            ps, xi, ti = args[:n], args[n], args[n + 1]
            h = xi
            for i in range(0, n - 2, 2):
                h = lib.relu(F.linear(h, ps[i], ps[i + 1]))
            logits = F.linear(h, ps[n - 2], ps[n - 1])
            if ce:
                return F.cross_entropy(logits, ti)
            return -(F.log_softmax(logits, -1) * ti).sum()
        return loss

    in_dims = (None,) * n + (0, 0)
    argnums = tuple(range(n))
    jfn = jt.func.vmap(jt.func.grad(make_loss(jt, jt.nn.functional), argnums=argnums), in_dims=in_dims)
    tfn = torch.func.vmap(torch.func.grad(make_loss(torch, torch.nn.functional), argnums=argnums), in_dims=in_dims)
    target = y if ce else onehot
    jargs = [jt.tensor(p) for p in params] + [jt.tensor(x), jt.tensor(target)]
    targs = [torch.from_numpy(p) for p in params] + [torch.from_numpy(x), torch.from_numpy(target)]
    for gj, gt in zip(jfn(*jargs), tfn(*targs)):   # same per-example gradients
        assert tuple(gj.shape) == tuple(gt.shape) == (batch,) + tuple(gt.shape[1:])
        np.testing.assert_allclose(gj.numpy(), gt.numpy(), rtol=1e-4, atol=1e-5)
    return {"jtensor": lambda: jfn(*jargs), "torch": lambda: tfn(*targs)}


def case_per_example_linear(batch):
    return _per_example_case(0, batch)


def case_per_example_mlp(batch):
    return _per_example_case(128, batch)


def case_per_example_mlp_ce(batch):
    return _per_example_case(128, batch, ce=True)


CASES = [
    ("MLP 64-128-64-10 train step (Adam)", case_mlp, "mlp"),
    ("CNN conv16-conv32-linear train step (Adam)", case_cnn, "cnn"),
    ("per-example grads, linear 64-10 (vmap(grad))", case_per_example_linear, "pe-linear"),
    ("per-example grads, MLP 64-128-10 (vmap(grad))", case_per_example_mlp, "pe-mlp"),
]
CE_CASE = ("per-example grads, MLP, F.cross_entropy", case_per_example_mlp_ce, "pe-mlp-ce")


# ---- profiling -----------------------------------------------------------------------------------

def profile(name, fn, steps):
    """Where jtensor's time goes in `steps` calls of fn: Julia (bridge calls, by op) against Python."""
    from jtensor import bridge
    from jtensor.registry import REGISTRY
    names = {op.id: op.name for op in REGISTRY.ops.values()}
    julia_time = defaultdict(float)
    julia_calls = defaultdict(int)
    real_call, real_run = bridge.call, bridge.run

    def call(opid, *a):
        t0 = time.perf_counter()
        try:
            return real_call(opid, *a)
        finally:
            key = names.get(opid, f"op {opid}")
            julia_time[key] += time.perf_counter() - t0
            julia_calls[key] += 1

    def run(pid, *a):
        t0 = time.perf_counter()
        try:
            return real_run(pid, *a)
        finally:
            julia_time["(elementwise plans)"] += time.perf_counter() - t0
            julia_calls["(elementwise plans)"] += 1

    for _ in range(3):
        fn()
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    plain = (time.perf_counter() - t0) / steps
    gc_ns = "Base.gc_num().total_time"
    bridge.call, bridge.run = call, run
    try:
        gc0 = bridge.eval_value(gc_ns)
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        wrapped = time.perf_counter() - t0
        gc_time = (bridge.eval_value(gc_ns) - gc0) / 1e9
    finally:
        bridge.call, bridge.run = real_call, real_run
    total_julia = sum(julia_time.values())
    ncalls = sum(julia_calls.values())
    print(f"\n== profile: {name} (jtensor, {steps} calls)")
    print(f"per call: {plain * 1e3:.2f} ms; in Julia through bridge.call/run {total_julia / steps * 1e3:.2f} ms "
          f"({total_julia / wrapped:.0%}) in {ncalls / steps:.0f} calls; the rest (Python: autograd, "
          f"modules, argument packing, C fast-path calls) {(wrapped - total_julia) / steps * 1e3:.2f} ms; "
          f"Julia's GC {gc_time / steps * 1e3:.2f} ms (inside the Julia time)")
    print(f"{'op':34s} {'calls/step':>10s} {'ms/step':>9s} {'share':>6s}")
    for key, t in sorted(julia_time.items(), key=lambda kv: -kv[1])[:12]:
        print(f"{key:34s} {julia_calls[key] / steps:10.1f} {t / steps * 1e3:9.3f} {t / total_julia:6.1%}")
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(steps):
        fn()
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(12)
    print("cProfile, by own time:")
    print("\n".join(s.getvalue().splitlines()[4:]))


# ---- main ----------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="time each case for 1 s instead of 4 s")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--only", default="", help="run the cases whose key (mlp, cnn, pe-linear, pe-mlp, "
                    "pe-mlp-ce) or name contains this text")
    ap.add_argument("--ce", action="store_true", help="also time per-example grads through F.cross_entropy")
    ap.add_argument("--markdown", default="", help="also write the table to this Markdown file")
    ap.add_argument("--profile", action="store_true", help="profile jtensor's side of each case")
    args = ap.parse_args(argv)
    budget = 1.0 if args.quick else 4.0
    cases = CASES + ([CE_CASE] if args.ce else [])
    print(f"threads: PyTorch {torch.get_num_threads()}, Julia {jt.bridge.eval_value('Threads.nthreads()')}, "
          f"Julia's BLAS {jt.bridge.eval_value('ccall((:openblas_get_num_threads64_, Base.libblas_name), Cint, ())')}; "
          f"cores: {os.cpu_count()}; batch {args.batch}; torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.1f}")
    header = (f"{'case':48s} {'jtensor':>10s} {'PyTorch':>10s} {'jt/torch':>8s}   "
              f"{'median: jtensor':>15s} {'PyTorch':>10s} {'jt/torch':>8s}")
    print(f"{'':48s} {'best call':^30s}   {'median call':^35s}")
    print(header)
    rows = []
    for name, make, key in cases:
        if args.only and args.only not in key and args.only not in name:
            continue
        fns = make(args.batch)
        res = time_pair(fns, budget)
        (jb, jm), (tb, tm) = res["jtensor"], res["torch"]
        rows.append((name, jb, tb, jm, tm))
        print(f"{name:48s} {fmt_time(jb):>10s} {fmt_time(tb):>10s} {jb / tb:8.2f}   "
              f"{fmt_time(jm):>15s} {fmt_time(tm):>10s} {jm / tm:8.2f}", flush=True)
        if args.profile:
            profile(name, fns["jtensor"], 5 if args.quick else 20)
            print(header)
        del fns
        gc.collect()
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"Batch {args.batch}, float32, {THREADS} thread(s) for both libraries, {os.cpu_count()} cores, "
                    f"load average {os.getloadavg()[0]:.1f}. Times per call; ratio = jtensor / PyTorch.\n\n")
            f.write("| case | jtensor best | PyTorch best | ratio | jtensor median | PyTorch median | ratio |\n"
                    "|---|---|---|---|---|---|---|\n")
            for name, jb, tb, jm, tm in rows:
                f.write(f"| {name} | {fmt_time(jb)} | {fmt_time(tb)} | {jb / tb:.2f} | {fmt_time(jm)} | "
                        f"{fmt_time(tm)} | {jm / tm:.2f} |\n")
    return rows


if __name__ == "__main__":
    main()
