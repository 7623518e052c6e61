"""jtensor benchmarks: each case timed for jtensor, NumPy and PyTorch in the same process.

Run: ``python benchmarks/run.py`` (add ``--quick`` for smaller sizes, ``--markdown FILE`` to write
the table, ``--only NAME`` to run a subset). Ratios are jtensor time / other time: below 1 means
jtensor is faster. Thread pools are set to the same count for all three libraries (the machine's
core count unless JTENSOR_NUM_THREADS says otherwise), since jtensor, OpenBLAS and PyTorch would
otherwise oversubscribe the cores.
"""
import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import jtensor as jt  # noqa: E402
from timing import fmt_time  # noqa: E402  (benchmarks/timing.py)

THREADS = int(os.environ.get("JTENSOR_NUM_THREADS") or os.cpu_count() or 1)
torch.set_num_threads(THREADS)


def timeit(fn, min_time=0.3, repeat=5):
    """Median seconds per call over `repeat` batches, each batch at least `min_time` long."""
    fn()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / repeat or n >= 1 << 20:
            break
        n *= 4
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def case_call_overhead(q):
    a, b = jt.ones(1), jt.ones(1)
    na, nb = np.ones(1, np.float32), np.ones(1, np.float32)
    ta, tb = torch.ones(1), torch.ones(1)
    return {"jtensor": lambda: a + b, "numpy": lambda: na + nb, "torch": lambda: ta + tb}


def case_elementwise_chain(q):
    n = 10 ** 6 if q else 10 ** 7
    x = jt.rand(n)
    nx = x.numpy().copy()
    tx = torch.from_numpy(nx.copy())
    return {
        "jtensor": lambda: ((x * 2.0 + 1.0).exp() - x).tanh(),
        "numpy": lambda: np.tanh(np.exp(nx * 2.0 + 1.0) - nx),
        "torch": lambda: ((tx * 2.0 + 1.0).exp() - tx).tanh(),
    }


def _unary(name, q):
    n = 10 ** 6 if q else 10 ** 7
    x = jt.rand(n) + 0.5
    nx = x.numpy().copy()
    tx = torch.from_numpy(nx.copy())
    npf = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "sin": np.sin}[name]
    return {"jtensor": lambda: getattr(jt, name)(x), "numpy": lambda: npf(nx),
            "torch": lambda: getattr(torch, name)(tx)}


def case_exp(q):
    return _unary("exp", q)


def case_log(q):
    return _unary("log", q)


def case_tanh(q):
    return _unary("tanh", q)


def case_sum(q):
    n = 10 ** 6 if q else 10 ** 7
    x = jt.rand(n)
    nx = x.numpy().copy()
    tx = torch.from_numpy(nx.copy())
    return {"jtensor": lambda: x.sum(), "numpy": lambda: nx.sum(), "torch": lambda: tx.sum()}


def case_softmax(q):
    shape = (256, 1000) if q else (1000, 4096)
    x = jt.randn(*shape)
    nx = x.numpy().copy()
    tx = torch.from_numpy(nx.copy())

    def jsm():
        e = (x - x.amax(-1, keepdim=True)).exp()
        return e / e.sum(-1, keepdim=True)

    def nsm():
        e = np.exp(nx - nx.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    def tsm():
        e = (tx - tx.amax(-1, keepdim=True)).exp()
        return e / e.sum(-1, keepdim=True)
    return {"jtensor": jsm, "numpy": nsm, "torch": tsm}


def case_matmul(q):
    n = 512 if q else 2048
    a, b = jt.randn(n, n), jt.randn(n, n)
    na, nb = a.numpy().copy(), b.numpy().copy()
    ta, tb = torch.from_numpy(na.copy()), torch.from_numpy(nb.copy())
    return {"jtensor": lambda: a @ b, "numpy": lambda: na @ nb, "torch": lambda: ta @ tb}


def case_transpose_copy(q):
    n = 1024 if q else 4096
    x = jt.rand(n, n)
    nx = x.numpy().copy()
    tx = torch.from_numpy(nx.copy())
    return {"jtensor": lambda: x.T.contiguous(), "numpy": lambda: np.ascontiguousarray(nx.T),
            "torch": lambda: tx.T.contiguous()}


def _dlpack(nbytes):
    x = jt.empty(nbytes // 4, dtype=jt.float32)
    nx = np.empty(nbytes // 4, np.float32)
    tx = torch.empty(nbytes // 4)
    return {
        "jtensor": lambda: jt.from_dlpack(np.from_dlpack(x)),
        "numpy": lambda: np.from_dlpack(np.from_dlpack(nx)),
        "torch": lambda: torch.from_dlpack(torch.from_dlpack(tx)),
    }


def case_dlpack_1kb(q):
    return _dlpack(1024)


def case_dlpack_1gb(q):
    return _dlpack(1 << 24 if q else 1 << 30)


CASES = [
    ("1-element add (per-call overhead)", case_call_overhead),
    ("5 elementwise ops, float32 chain", case_elementwise_chain),
    ("exp, float32", case_exp),
    ("log, float32", case_log),
    ("tanh, float32", case_tanh),
    ("sum, float32", case_sum),
    ("softmax rows, float32", case_softmax),
    ("matmul 2048x2048 float32", case_matmul),
    ("transposed copy 4096x4096 float32", case_transpose_copy),
    ("DLPack export+import 1 KB", case_dlpack_1kb),
    ("DLPack export+import 1 GB", case_dlpack_1gb),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--only", default="", help="run cases whose name contains this text")
    ap.add_argument("--markdown", default="", help="also write the table to this Markdown file")
    args = ap.parse_args()
    rows = []
    header = f"{'case':40s} {'jtensor':>12s} {'numpy':>12s} {'torch':>12s} {'jt/np':>7s} {'jt/torch':>9s}"
    print(f"threads: {THREADS}; jtensor julia threads: {os.environ.get('JULIA_NUM_THREADS')}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')}")
    print(header)
    for name, make in CASES:
        if args.only and args.only not in name:
            continue
        fns = make(args.quick)
        res = {}
        for lib, fn in fns.items():
            gc.collect()
            res[lib] = timeit(fn)
        r_np = res["jtensor"] / res["numpy"]
        r_t = res["jtensor"] / res["torch"]
        rows.append((name, res, r_np, r_t))
        print(f"{name:40s} {fmt_time(res['jtensor']):>12s} {fmt_time(res['numpy']):>12s} "
              f"{fmt_time(res['torch']):>12s} {r_np:7.2f} {r_t:9.2f}", flush=True)
        del fns
        gc.collect()
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| case | jtensor | NumPy | PyTorch | jtensor/NumPy | jtensor/PyTorch |\n|---|---|---|---|---|---|\n")
            for name, res, r_np, r_t in rows:
                f.write(f"| {name} | {fmt_time(res['jtensor'])} | {fmt_time(res['numpy'])} | "
                        f"{fmt_time(res['torch'])} | {r_np:.2f} | {r_t:.2f} |\n")


if __name__ == "__main__":
    main()
