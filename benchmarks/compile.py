"""jt.compile against jtensor eager, PyTorch eager and torch.compile (inductor), in the same run.

Cases (float32):
- chain5: `tanh(x * y + 1) * x - y` (5 elementwise ops) on 10^7 elements, and the bandwidth the
  fused kernel reaches (2 arrays read, 1 written);
- mse: `((x - y) ** 2).mean()` on 10^7 elements, a chain feeding a reduction (2 arrays read);
- softmax and layer_norm over rows of a 1000x4096 matrix, forward and backward;
- a compiled 2-op call (`x * 2 + 1`) on a 1-element input, against one eager op (`x * 2`);
- one training step (forward, cross-entropy, backward, Adam) of the digits MLP at batch 128;
- the first call of a new graph (capture, recording run, kernel generation and Julia's compile).

Each thread count runs in its own process (Julia's thread count is fixed at start), with
JTENSOR_NUM_THREADS and torch.set_num_threads both set to it. Calls of the compared functions
alternate (benchmarks/timing.py `time_pair`); the table shows the median and (best) call. The machine
is shared: the load (`uptime`) is printed with the table.

Run: `python benchmarks/compile.py [--threads 1 2] [--budget S] [--no-inductor] [--clock wall|cpu] [--markdown FILE]`.
`--clock cpu` times CPU time (time.process_time), which the other agents' load on a shared machine does
not inflate; it adds up the threads' times, so it measures cost, not latency, past 1 thread.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def chain_jt(x, y):
    return (x * y + 1).tanh() * x - y


def mse(x, y):
    """A map chain feeding a reduction: jt.compile accumulates it in the kernel (`_fused_reduce`)."""
    return ((x - y) ** 2).mean()


def child(threads, budget, inductor, clock="wall"):
    """Measure every case in this process; print one JSON object."""
    import jtensor as jt
    import numpy as np
    import torch
    from timing import time_pair
    torch.set_num_threads(threads)
    rows = {}
    F = jt.nn.functional
    tF = torch.nn.functional

    def tcompile(fn):
        return torch.compile(fn) if inductor else None

    timer = time.process_time if clock == "cpu" else time.perf_counter

    def case(name, fns, note="", repeat=1):
        """Time each of `fns`; with `repeat`, one timed sample is `repeat` calls (a call of a few
        µs is then not dominated by the clock's own cost) and the times are per call."""
        fns = {k: v for k, v in fns.items() if v is not None}
        if repeat > 1:
            fns = {k: (lambda f: lambda: [f() for _ in range(repeat)])(f) for k, f in fns.items()}
        times = time_pair(fns, budget, max_calls=200, clock=timer)
        rows[name] = {"times": {k: (b / repeat, m / repeat) for k, (b, m) in times.items()}, "note": note}

    # chain5 on 10^7
    n = 10 ** 7
    rng = np.random.default_rng(0)
    xn, yn = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    x, y = jt.tensor(xn), jt.tensor(yn)
    tx, ty = torch.from_numpy(xn), torch.from_numpy(yn)
    cj = jt.compile(chain_jt)
    tc = tcompile(chain_jt)
    np.testing.assert_allclose(cj(x, y).numpy(), chain_jt(tx, ty).numpy(), rtol=1e-5, atol=1e-5)
    case("chain5 1e7", {"jt eager": lambda: chain_jt(x, y), "jt.compile": lambda: cj(x, y),
                        "torch eager": lambda: chain_jt(tx, ty), "torch.compile": tc and (lambda: tc(tx, ty))},
         note="bytes=%d" % (3 * 4 * n))
    mj, mt = jt.compile(mse), tcompile(mse)
    np.testing.assert_allclose(mj(x, y).item(), mse(tx, ty).item(), rtol=1e-5)
    case("mse mean 1e7", {"jt eager": lambda: mse(x, y), "jt.compile": lambda: mj(x, y),
                          "torch eager": lambda: mse(tx, ty), "torch.compile": mt and (lambda: mt(tx, ty))},
         note="bytes=%d" % (2 * 4 * n))

    # softmax / layer_norm rows, forward + backward
    a = rng.standard_normal((1000, 4096)).astype(np.float32)
    g = rng.standard_normal((1000, 4096)).astype(np.float32)
    for name, jf, tf in (("softmax 1000x4096 fwd+bwd", lambda v: F.softmax(v, -1), lambda v: tF.softmax(v, -1)),
                         ("layer_norm 1000x4096 fwd+bwd", lambda v: F.layer_norm(v, (4096,)),
                          lambda v: tF.layer_norm(v, (4096,)))):
        ja, jg = jt.tensor(a).requires_grad_(True), jt.tensor(g)
        ta, tg = torch.from_numpy(a).requires_grad_(True), torch.from_numpy(g)
        jc, tc = jt.compile(jf), tcompile(tf)

        def step(f, v, grad):
            v.grad = None
            f(v).backward(grad)
        case(name, {"jt eager": lambda: step(jf, ja, jg), "jt.compile": lambda: step(jc, ja, jg),
                    "torch eager": lambda: step(tf, ta, tg), "torch.compile": tc and (lambda: step(tc, ta, tg))})

    # 1-element: a compiled 2-op call vs one eager op
    s, ts = jt.tensor([1.5]), torch.tensor([1.5])
    small = jt.compile(lambda v: v * 2 + 1)
    tsmall = tcompile(lambda v: v * 2 + 1)
    case("1-element call", {"jt eager": lambda: s * 2, "jt.compile": lambda: small(s),
                            "torch eager": lambda: ts * 2, "torch.compile": tsmall and (lambda: tsmall(ts))},
         note="eager columns: one op (x * 2); compiled columns: x * 2 + 1", repeat=100)

    # digits MLP training step, batch 128
    from training import EXAMPLE, digits_batch, torch_mlp
    xb, yb = digits_batch(128, (64,))
    jx, jy = jt.tensor(xb), jt.tensor(yb)
    tx2, ty2 = torch.from_numpy(xb), torch.from_numpy(yb)
    jt.manual_seed(0)
    jm = EXAMPLE["make_mlp"]()
    jmc = jt.compile(EXAMPLE["make_mlp"]())
    tm = torch_mlp()
    tmc = torch_mlp()
    jopt, jcopt = jt.optim.Adam(jm.parameters(), 1e-3), jt.optim.Adam(jmc.parameters(), 1e-3)
    topt, tcopt = torch.optim.Adam(tm.parameters(), 1e-3), torch.optim.Adam(tmc.parameters(), 1e-3)
    tmc_c = tcompile(tmc)

    def jstep(model, opt):
        opt.zero_grad()
        F.cross_entropy(model(jx), jy).backward()
        opt.step()

    def tstep(model, opt):
        opt.zero_grad()
        tF.cross_entropy(model(tx2), ty2).backward()
        opt.step()
    case("digits MLP step b128", {"jt eager": lambda: jstep(jm, jopt), "jt.compile": lambda: jstep(jmc, jcopt),
                                  "torch eager": lambda: tstep(tm, topt),
                                  "torch.compile": tmc_c and (lambda: tstep(tmc_c, tcopt))})

    # first call of a new graph (a chain no earlier case compiled)
    v = jt.randn(1000)
    tv = torch.randn(1000)
    jt.sin(v * 3.5) - jt.cos(v) / 2   # the eager ops' own first-call compilation is not the graph's
    t0 = time.perf_counter()
    jt.compile(lambda q: jt.sin(q * 3.5) - jt.cos(q) / 2)(v)
    first = {"jt.compile": time.perf_counter() - t0}
    if inductor:
        t0 = time.perf_counter()
        torch.compile(lambda q: torch.sin(q * 3.5) - torch.cos(q) / 2)(tv)
        first["torch.compile"] = time.perf_counter() - t0
    rows["first call of a new graph"] = {"times": {k: (t, t) for k, t in first.items()}, "note": "one call"}
    print(json.dumps(rows))


def fmt(s):
    from timing import fmt_time
    return fmt_time(s)


def table(results):
    cols = ["jt eager", "jt.compile", "torch eager", "torch.compile"]
    lines = ["| case | threads | " + " | ".join(cols) + " | jt.compile / torch eager | jt.compile / torch.compile |",
             "|---|---|" + "---|" * (len(cols) + 2)]
    for threads, rows in results:
        for name, row in rows.items():
            t = row["times"]
            cells = [f"{fmt(t[c][1])} ({fmt(t[c][0])})" if c in t else "n/a" for c in cols]
            r1 = f"{t['jt.compile'][1] / t['torch eager'][1]:.2f}" if "torch eager" in t else "n/a"
            r2 = f"{t['jt.compile'][1] / t['torch.compile'][1]:.2f}" if "torch.compile" in t else "n/a"
            label = name
            if "bytes=" in row["note"]:
                gbs = int(row["note"].split("=")[1]) / t["jt.compile"][0] / 1e9
                label += f" (jt.compile best call: {gbs:.1f} GB/s)"
            lines.append(f"| {label} | {threads} | " + " | ".join(cells) + f" | {r1} | {r2} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    p.add_argument("--budget", type=float, default=3.0)
    p.add_argument("--no-inductor", action="store_true")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: time.process_time, the process's CPU time (meaningful at 1 thread)")
    p.add_argument("--markdown")
    p.add_argument("--child", type=int)
    a = p.parse_args()
    if a.child:
        child(a.child, a.budget, not a.no_inductor, a.clock)
        return
    results = []
    for n in a.threads:
        env = dict(os.environ, JTENSOR_NUM_THREADS=str(n))
        cmd = [sys.executable, __file__, "--child", str(n), "--budget", str(a.budget), "--clock", a.clock] + \
              (["--no-inductor"] if a.no_inductor else [])
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode:
            sys.stderr.write(out.stderr)
            raise SystemExit(f"the {n}-thread run failed")
        results.append((n, json.loads(out.stdout.strip().splitlines()[-1])))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    clock = "CPU time (time.process_time)" if a.clock == "cpu" else "wall time"
    text = table(results) + (f"\n\nMedian (best) call, {clock}, float32; ratios of medians. Load while measuring: "
                             f"`{load}`\n")
    print(text)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
