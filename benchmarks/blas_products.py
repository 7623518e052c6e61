"""Matrix products alone, jtensor against PyTorch at one thread, in thread CPU time: the shapes the
model zoo's layers run (an LSTM step, attention's batched products, conv's im2col products, MLP
layers) and small/medium/large squares. Run it once as is (the BLAS jtensor adopts, see
python/jtensor/_blaslib.py) and once with JTENSOR_BLAS=julia to compare the libraries.

Run: ``python benchmarks/blas_products.py [--budget SECONDS]``; prints a Markdown table.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, HERE)

import jtensor as jt  # noqa: E402  (jtensor before torch: tests/conftest.py explains)
import torch  # noqa: E402
from timing import time_pair  # noqa: E402

# (label, function of the library, operand shapes): PyTorch's row-major shapes
CASES = [
    ("LSTM step h @ W_hh.T (16x128 @ 128x512)", lambda L, h, w: h @ w.t(), [(16, 128), (512, 128)]),
    ("LSTM backward dG @ W_hh (16x512 @ 512x128)", lambda L, g, w: g @ w, [(16, 512), (512, 128)]),
    ("attention q @ k.T (64 heads x 64x32)", lambda L, q, k: q @ k.transpose(-2, -1), [(64, 64, 32), (64, 64, 32)]),
    ("attention p @ v (64 heads x 64x64 @ 64x32)", lambda L, p, v: p @ v, [(64, 64, 64), (64, 64, 32)]),
    ("linear 128x784 -> 256", lambda L, x, w: L.nn.functional.linear(x, w), [(128, 784), (256, 784)]),
    ("linear backward dW = dY.T @ X (256x128 @ 128x784)", lambda L, g, x: g.t() @ x, [(128, 256), (128, 784)]),
    ("conv2d 3->16, 3x3, 32x32, batch 32", lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1),
     [(32, 3, 32, 32), (16, 3, 3, 3)]),
    ("conv2d 16->32, 3x3, 16x16, batch 32", lambda L, x, w: L.nn.functional.conv2d(x, w, padding=1),
     [(32, 16, 16, 16), (32, 16, 3, 3)]),
    ("square 32", lambda L, a, b: a @ b, [(32, 32), (32, 32)]),
    ("square 256", lambda L, a, b: a @ b, [(256, 256), (256, 256)]),
    ("square 1024", lambda L, a, b: a @ b, [(1024, 1024), (1024, 1024)]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per case")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"BLAS: {jt.__config__.show().splitlines()[2].split('=', 1)[1]}; threads {jt.get_num_threads()}; "
          f"load {os.getloadavg()[0]:.1f}")
    print("| product | jtensor | PyTorch | ratio |\n|---|---|---|---|")
    for label, fn, shapes in CASES:
        ts = [torch.randn(s) for s in shapes]
        js = [jt.tensor(t.numpy()) for t in ts]
        res = time_pair({"jt": lambda: fn(jt, *js), "torch": lambda: fn(torch, *ts)}, args.budget,
                        max_calls=2000, clock=time.thread_time)
        jm, tm = res["jt"][1], res["torch"][1]
        print(f"| {label} | {jm * 1e6:.1f} µs | {tm * 1e6:.1f} µs | {jm / tm:.2f} |", flush=True)


if __name__ == "__main__":
    main()
