"""Time to first result: jtensor against PyTorch, each measured in fresh processes, 1 thread.

Run: ``python benchmarks/startup.py`` (``--runs N`` fresh processes per case and library, default 5;
``--markdown FILE`` to write the table; ``--no-image`` to run jtensor without its system image).
Each case is one snippet written against the PyTorch API and run twice per round, once with
``import jtensor as L`` and once with ``import torch as L``, alternating, so both see the same
machine load; the table shows medians. Every process is new, so every number includes what a
user's first run pays: Julia's start-up, loading JTensor, and compiling anything the system image
does not hold. (One untimed import of each library first writes Python's bytecode caches, which
an installed package has.)

Cases:
- import + first op: the wall time of a whole ``python -c`` process (interpreter start included);
- 20 first calls: the 20 everyday ops of issue 8 on 64x64 float32, timed inside the process;
- first train step of a small CNN (MNIST-shaped) and of a small transformer block (Adam);
- einsum's first call;
- examples/train_digits.py's MLP and CNN: the first epoch against a later one (jtensor only);
- resident memory after import.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRELUDE = """
import os, sys, time, json, resource
t_start = time.perf_counter()
import {lib} as L
t_import = time.perf_counter() - t_start
if "{lib}" == "torch":
    L.set_num_threads(1)
nn, F = L.nn, L.nn.functional
def report(**kw):
    print("RESULT " + json.dumps(kw))
"""

CASES = {
    "import + first op": ("process", "L.ones(3).add(1).sum().item()"),
    "20 first calls (64x64 float32)": ("inner", """
        x, y, w = L.rand(64, 64), L.rand(64, 64), L.rand(32, 64)
        t0 = time.perf_counter()
        r = [x + y, x * y, L.exp(x), L.tanh(x), x @ y, x.sum(), x.sum(dim=1), x.mean(dim=0),
             L.softmax(x, dim=1), L.relu(x), L.cat([x, y]), x.T.contiguous(), x[x > 0.5],
             L.sort(x, dim=1), L.argmax(x, dim=1), F.linear(x, w), L.where(x > 0.5, x, y),
             x.to(L.float64), L.linalg.norm(x), L.maximum(x, y)]
        report(seconds=time.perf_counter() - t0)
    """),
    "CNN first train step (MNIST-shaped, Adam)": ("inner", """
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128),
                              nn.ReLU(), nn.Linear(128, 10))
        opt = L.optim.Adam(model.parameters(), lr=1e-3)
        x, y = L.rand(16, 1, 28, 28), L.randint(0, 10, (16,))
        t0 = time.perf_counter()
        opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward(); opt.step(); loss.item()
        report(seconds=time.perf_counter() - t0)
    """),
    "transformer block first train step (AdamW)": ("inner", """
        class Block(nn.Module):
            def __init__(self, d=64, h=4):
                super().__init__()
                self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
                self.attn = nn.MultiheadAttention(d, h, batch_first=True)
                self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d), nn.Dropout(0.1))
            def forward(self, x):
                h = self.ln1(x)
                x = x + self.attn(h, h, h, need_weights=False)[0]
                return x + self.mlp(self.ln2(x))
        emb, block, head = nn.Embedding(65, 64), Block(), nn.Linear(64, 65)
        params = list(emb.parameters()) + list(block.parameters()) + list(head.parameters())
        opt = L.optim.AdamW(params, lr=1e-3)
        idx, tgt = L.randint(0, 65, (16, 32)), L.randint(0, 65, (16, 32))
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(head(block(emb(idx))).reshape(-1, 65), tgt.reshape(-1))
        loss.backward(); opt.step(); loss.item()
        report(seconds=time.perf_counter() - t0)
    """),
    "einsum first call": ("inner", """
        a, b = L.rand(8, 16, 32), L.rand(8, 32, 16)
        t0 = time.perf_counter()
        L.einsum("bij,bjk->bik", a, b).sum().item()
        report(seconds=time.perf_counter() - t0)
    """),
    "resident memory after import (MB)": ("inner", """
        report(mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """),
}

DIGITS = """
import sys, time, json
sys.path.insert(0, {examples!r})
import numpy as np
import jtensor as jt
import train_digits as td
xtr, ytr, _, _ = td.load_data()
out = {{}}
for name, (make, shape, lr) in td.MODELS.items():
    jt.manual_seed(0)
    x = xtr.reshape((-1,) + shape)
    _, times = td.train(make(), x, ytr, 3, 64, lr, np.random.default_rng(0), name, show_progress=False)
    out[name] = times
print("RESULT " + json.dumps(out))
"""


def run(code, env):
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"benchmark process failed:\n{p.stderr[-3000:]}")
    results = [json.loads(ln[7:]) for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    return wall, (results[-1] if results else {})


def environment(no_image):
    env = dict(os.environ, JTENSOR_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # An installed package has its bytecode compiled (pip does it); let the checkout's be cached too,
    # so that neither library pays for compiling Python source (see warm_up).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.path.join(ROOT, "python") + os.pathsep + env.get("PYTHONPATH", "")
    if no_image:
        env["JTENSOR_SYSIMAGE"] = "0"
    return env


def warm_up(env):
    """One untimed import per library: writes Python bytecode caches and fills the OS file cache,
    as any installed, used-before library has them."""
    for lib in ("jtensor", "torch"):
        run(PRELUDE.format(lib=lib), env)


def measure(runs, no_image):
    env = environment(no_image)
    warm_up(env)
    rows = []
    for name, (kind, body) in CASES.items():
        samples = {"jtensor": [], "torch": []}
        for _ in range(runs):
            for lib in ("jtensor", "torch"):
                code = PRELUDE.format(lib=lib) + textwrap.dedent(body)
                wall, result = run(code, env)
                samples[lib].append(wall if kind == "process" else result.get("seconds", result.get("mb")))
        j, t = statistics.median(samples["jtensor"]), statistics.median(samples["torch"])
        rows.append((name, j, t))
        print(f"{name:45s} jtensor {j:8.3f}   torch {t:8.3f}   ratio {j / t:6.2f}", flush=True)
    digits = [run(DIGITS.format(examples=os.path.join(ROOT, "examples")), env)[1] for _ in range(max(1, runs // 2))]
    for model in ("mlp", "cnn"):
        first = statistics.median(d[model][0] for d in digits)
        later = statistics.median(statistics.median(d[model][1:]) for d in digits)
        rows.append((f"digits {model.upper()}: first epoch / later epoch (s)", first, later))
        print(f"digits {model}: first epoch {first:.3f} s, later epoch {later:.3f} s, "
              f"target first <= {1.5 * later + 0.3:.3f} s", flush=True)
    return rows


def markdown(rows, runs, no_image):
    load = os.getloadavg()[0]
    lines = [f"Medians of {runs} fresh processes per library, 1 thread, load {load:.1f}; jtensor "
             f"{'without' if no_image else 'with'} its system image.", "",
             "| case | jtensor | PyTorch | jtensor / PyTorch |", "|---|---|---|---|"]
    for name, j, t in rows:
        unit = "" if "MB" in name else " s"
        if name.startswith("digits"):
            lines.append(f"| {name} | {j:.3f} s first | {t:.3f} s later | target: first <= {1.5 * t + 0.3:.2f} s |")
        else:
            lines.append(f"| {name} | {j:.3f}{unit} | {t:.3f}{unit} | {j / t:.2f} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--markdown", help="write the table to this file")
    ap.add_argument("--no-image", action="store_true", help="run jtensor without its system image")
    args = ap.parse_args()
    rows = measure(args.runs, args.no_image)
    table = markdown(rows, args.runs, args.no_image)
    print()
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)


if __name__ == "__main__":
    main()
