"""The ResNet step of benchmarks/models.py op by op: CPU time per call of jtensor and PyTorch (1
thread, medians of 7 interleaved batches) at the model's shapes (batch 32, float32): each convolution
forward and forward + backward (input and weight gradients), batch norm in training mode, relu and
the residual add + relu. Run: ``python benchmarks/resnet_ops.py [conv|bn]``."""
import os, sys, time, statistics
os.environ.setdefault("JTENSOR_NUM_THREADS", "1")
import numpy as np, torch
import jtensor as jt
torch.set_num_threads(int(os.environ["JTENSOR_NUM_THREADS"]))
clock = time.process_time
def tm(fn, n=20, rounds=7):
    for _ in range(3): fn()
    ts = []
    for _ in range(rounds):
        t0 = clock()
        for _ in range(n): fn()
        ts.append((clock() - t0) / n)
    return statistics.median(ts)
rng = np.random.default_rng(0)
rows = []
def case(name, build):
    """build(lib) -> fn"""
    fj, ft = build(jt), build(torch)
    js, ts = [], []
    for _ in range(3):   # interleaved: load changes hit both libraries alike
        js.append(tm(fj, rounds=3)); ts.append(tm(ft, rounds=3))
    j, t = statistics.median(js), statistics.median(ts)
    rows.append((name, j, t)); print(f"{name:40s} {j*1e3:8.3f} {t*1e3:8.3f} {j/t:6.2f}", flush=True)
def T(lib, a, rg=False):
    x = lib.tensor(a) if lib is jt else torch.from_numpy(a.copy())
    if rg: x.requires_grad_(True)
    return x
convs = [("stem 3->16 32x32", 3, 16, 32, 3, 1), ("16->16 32x32", 16, 16, 32, 3, 1), ("16->32 s2 32x32", 16, 32, 32, 3, 2),
         ("down 1x1 16->32 s2", 16, 32, 32, 1, 2), ("32->32 16x16", 32, 32, 16, 3, 1)]
which = sys.argv[1] if len(sys.argv) > 1 else "all"
for nm, ci, co, hw, k, s in convs:
    if which not in ("all", "conv"): break
    xa = rng.standard_normal((32, ci, hw, hw), dtype=np.float32); wa = rng.standard_normal((co, ci, k, k), dtype=np.float32) * 0.1
    def fwd(lib):
        x, w = T(lib, xa), T(lib, wa)
        return lambda: lib.nn.functional.conv2d(x, w, None, s, k // 2)
    case(f"conv fwd {nm}", fwd)
    def fb(lib):
        x, w = T(lib, xa, True), T(lib, wa, True)
        def f():
            y = lib.nn.functional.conv2d(x, w, None, s, k // 2); y.sum().backward()
        return f
    case(f"conv fwd+bwd {nm}", fb)
for c, hw in ((16, 32), (32, 16)):
    if which not in ("all", "bn"): break
    xa = rng.standard_normal((32, c, hw, hw), dtype=np.float32)
    def fwd(lib):
        x = T(lib, xa); w = lib.ones(c); b = lib.zeros(c); rm = lib.zeros(c); rv = lib.ones(c)
        return lambda: lib.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5)
    case(f"bn fwd {c}x{hw}", fwd)
    def fb(lib):
        x = T(lib, xa, True); w = lib.ones(c).requires_grad_(True); b = lib.zeros(c).requires_grad_(True); rm = lib.zeros(c); rv = lib.ones(c)
        g = T(lib, xa)
        def f():
            y = lib.nn.functional.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5); y.backward(g)
        return f
    case(f"bn fwd+bwd {c}x{hw}", fb)
    def rl(lib):
        x = T(lib, xa, True); g = T(lib, xa)
        def f():
            y = lib.relu(x); y.backward(g)
        return f
    case(f"relu fwd+bwd {c}x{hw}", rl)
    def ad(lib):
        x = T(lib, xa, True); x2 = T(lib, xa, True); g = T(lib, xa)
        def f():
            y = lib.relu(x + x2); y.backward(g)
        return f
    case(f"add+relu fwd+bwd {c}x{hw}", ad)
