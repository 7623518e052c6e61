"""Model zoo: one training step of each model, jtensor against PyTorch in the same process.

Models (float32): the MLP and the CNN of examples/train_digits.py (batch 128, Adam); the character
transformer of tests/ported/char_transformer.py (2 layers, 4 heads, 64 wide, context 32, batch 16,
dropout 0.1, AdamW, gradient clipping); an LSTM language model (vocabulary 65, embedding 64, 2 layers
of 128, sequence 32, batch 16, Adam, gradient clipping); and a small ResNet (a 3x3 stem, two basic
blocks of 16 channels, two of 32 with a strided downsampling, batch norm, 32x32 images, batch 32,
SGD with momentum and weight decay).

Each model is written once and built by both libraries from the same code, PyTorch's weights
copied into jtensor's; before timing, both compute the same loss in eval mode. A step is
zero_grad, forward, loss, backward (and clipping), optimizer step. Steps of the two libraries
alternate (benchmarks/timing.py), 1 and 2 threads by default, each thread count in a fresh process
(Julia's thread count is fixed when it starts).

Run: ``python benchmarks/models.py`` (``--quick``, ``--only NAME``, ``--threads 1``,
``--markdown FILE``). Ratio = jtensor / PyTorch; the target is at most 1.0 at 1 thread.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")


def _libraries():
    """jtensor first (it starts Julia; see tests/conftest.py on import order), then torch."""
    sys.path.insert(0, os.path.join(ROOT, "python"))
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import jtensor
    import torch
    return jtensor, torch


# ---- the models, written once for either library -------------------------------------------------

def mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def cnn(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10))


def resnet(lib):
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.down is None else self.down(x)))

    class ResNet(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.layers = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16), BasicBlock(16, 32, 2), BasicBlock(32, 32))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(32, classes)

        def forward(self, x):
            return self.fc(lib.flatten(self.pool(self.layers(self.stem(x))), 1))

    return ResNet()


def lstm_lm(lib):
    nn = lib.nn

    class LSTMLanguageModel(nn.Module):
        def __init__(self, vocab=65, embed=64, hidden=128, layers=2):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx):
            out, _ = self.lstm(self.embed(idx))
            return self.head(out)

    return LSTMLanguageModel()


def char_transformer(lib):
    from ported.programs import load
    program = load("char_transformer", lib.__name__)
    lib.manual_seed(0)
    return program.BigramLanguageModel()


# ---- one training step ----------------------------------------------------------------------------

def _batches(rng):
    """The inputs and targets of each model, as NumPy arrays both libraries take."""
    import numpy as np
    tokens = rng.integers(0, 65, size=(16, 33))
    return {
        "mlp": (rng.standard_normal((128, 64), dtype=np.float32), rng.integers(0, 10, 128)),
        "cnn": (rng.standard_normal((128, 1, 8, 8), dtype=np.float32), rng.integers(0, 10, 128)),
        "resnet": (rng.standard_normal((32, 3, 32, 32), dtype=np.float32), rng.integers(0, 10, 32)),
        "lstm": (tokens[:, :-1], tokens[:, 1:]),
        "transformer": (tokens[:, :-1] % 40, tokens[:, 1:] % 40),   # the program's vocabulary is smaller
    }


MODELS = {   # name -> (builder, optimizer, clip)
    "mlp": ("MLP 64-128-64-10 (Adam, batch 128)", mlp, lambda o, p: o.Adam(p, lr=1e-3), None),
    "cnn": ("CNN conv16-conv32-linear (Adam, batch 128)", cnn, lambda o, p: o.Adam(p, lr=3e-3), None),
    "transformer": ("char transformer 2x4 heads, 64 wide (AdamW, clip)", char_transformer,
                    lambda o, p: o.AdamW(p, lr=1e-3), 1.0),
    "lstm": ("LSTM LM 2x128, seq 32, batch 16 (Adam, clip)", lstm_lm, lambda o, p: o.Adam(p, lr=1e-3), 1.0),
    "resnet": ("ResNet 4 blocks, 32x32, batch 32 (SGD momentum)", resnet,
               lambda o, p: o.SGD(p, lr=0.05, momentum=0.9, weight_decay=5e-4), None),
}


def _loss(lib, name, model, x, y):
    F = lib.nn.functional
    if name == "transformer":
        return model(x, y)[1]
    out = model(x)
    if name == "lstm":
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
    return F.cross_entropy(out, y)


def make_case(jt, torch, name):
    """Step functions of both libraries for model `name`, from the same initial weights."""
    import numpy as np
    _, build, make_opt, clip = MODELS[name]
    torch.manual_seed(0)
    tmodel = build(torch)
    jmodel = build(jt)
    jmodel.load_state_dict({k: jt.from_dlpack(v.detach().clone()) for k, v in tmodel.state_dict().items()})
    x, y = _batches(np.random.default_rng(0))[name]
    data = {"torch": (torch.from_numpy(x), torch.from_numpy(y)), "jtensor": (jt.tensor(x), jt.tensor(y))}
    tmodel.eval(), jmodel.eval()
    with torch.no_grad(), jt.no_grad():
        lt, lj = _loss(torch, name, tmodel, *data["torch"]).item(), _loss(jt, name, jmodel, *data["jtensor"]).item()
    assert abs(lj - lt) <= 1e-4 * max(1.0, abs(lt)), f"{name}: jtensor's loss {lj} differs from PyTorch's {lt}"
    tmodel.train(), jmodel.train()

    def stepper(lib, model):
        opt = make_opt(lib.optim, model.parameters())
        xs, ys = data[lib.__name__]

        def step():
            opt.zero_grad()
            loss = _loss(lib, name, model, xs, ys)
            loss.backward()
            if clip is not None:
                lib.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            return loss
        return step

    return {"jtensor": stepper(jt, jmodel), "torch": stepper(torch, tmodel)}


def run_child(names, quick, cpu_time=False):
    """Time the models at this process's thread count; print one JSON line per model. With
    `cpu_time`, CPU time instead of wall time: the calling thread's at 1 thread (where jtensor's
    Julia and PyTorch both compute on it), the process's otherwise."""
    jt, torch = _libraries()
    from timing import time_pair
    threads = int(os.environ.get("JTENSOR_NUM_THREADS") or os.cpu_count() or 1)
    torch.set_num_threads(threads)
    for name in names:
        clock = (time.thread_time if threads == 1 else time.process_time) if cpu_time else time.perf_counter
        res = time_pair(make_case(jt, torch, name), 1.5 if quick else 5.0, max_calls=100 if quick else 300, clock=clock)
        (jb, jm), (tb, tm) = res["jtensor"], res["torch"]
        print(json.dumps({"name": name, "threads": threads, "jt_best": jb, "torch_best": tb,
                          "jt_median": jm, "torch_median": tm, "load": os.getloadavg()[0]}), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="time each model for 1.5 s instead of 5 s")
    ap.add_argument("--only", default="", help="the models whose key contains this text: " + ", ".join(MODELS))
    ap.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    ap.add_argument("--markdown", default="", help="also write the table to this Markdown file")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time CPU time (the thread's at 1 thread), which other processes' load does not inflate")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    names = [n for n in MODELS if args.only in n]
    if args.child:
        return run_child(names, args.quick, args.cpu_time)
    sys.path.insert(0, HERE)
    from timing import fmt_time
    rows = []
    print(f"{'model':52s} {'thr':>3s} {'jtensor':>10s} {'PyTorch':>10s} {'ratio':>6s}   "
          f"{'median jt':>10s} {'PyTorch':>10s} {'ratio':>6s}  load")
    for threads in [int(t) for t in args.threads.split(",")]:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", "--only", args.only] + (["--quick"] if args.quick else []) + \
            (["--cpu-time"] if args.cpu_time else [])
        env = dict(os.environ, JTENSOR_NUM_THREADS=str(threads))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            r = json.loads(line)
            rows.append(r)
            print(f"{MODELS[r['name']][0]:52s} {threads:3d} {fmt_time(r['jt_best']):>10s} {fmt_time(r['torch_best']):>10s} "
                  f"{r['jt_best'] / r['torch_best']:6.2f}   {fmt_time(r['jt_median']):>10s} "
                  f"{fmt_time(r['torch_median']):>10s} {r['jt_median'] / r['torch_median']:6.2f}  {r['load']:.1f}", flush=True)
        if proc.wait() != 0:
            raise SystemExit(f"models.py: the {threads}-thread run failed (exit code {proc.returncode})")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| model | threads | jtensor best | PyTorch best | ratio | jtensor median | PyTorch median | ratio |\n"
                    "|---|---|---|---|---|---|---|---|\n")
            for r in rows:
                f.write(f"| {MODELS[r['name']][0]} | {r['threads']} | {fmt_time(r['jt_best'])} | {fmt_time(r['torch_best'])} | "
                        f"{r['jt_best'] / r['torch_best']:.2f} | {fmt_time(r['jt_median'])} | "
                        f"{fmt_time(r['torch_median'])} | {r['jt_median'] / r['torch_median']:.2f} |\n")
    return rows


if __name__ == "__main__":
    main()
