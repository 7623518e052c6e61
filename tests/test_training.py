"""End-to-end training: the digits example (examples/train_digits.py), and jt.nn + autograd +
jt.optim against PyTorch step by step (same initial weights, same batches, float64).

The example runs in a child process, as a user runs it. The in-process comparisons keep every
kernel below Julia's threading threshold (JTensor's THREAD_MIN elements): pytest enables
faulthandler *after* conftest.py has started Julia, which replaces Julia's SIGSEGV handler, and
Julia's multi-threaded GC uses SIGSEGV for its safepoints, so a garbage collection during a
threaded kernel (e.g. a batch-64 conv2d of the digits CNN) kills the pytest process.
"""
import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest
import torch

import jtensor as jt

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "train_digits.py")
SMALL = 16   # evaluation chunk: keeps the digits CNN's kernels single-threaded (see above)


@pytest.fixture(scope="module")
def example():
    """The example's namespace (its main() not run): models, data loading, main."""
    return runpy.run_path(EXAMPLE, run_name="train_digits_example")


def _accuracy(model, x, y):
    model.eval()
    with jt.no_grad():
        pred = np.concatenate([model(jt.tensor(x[i:i + SMALL])).argmax(1).numpy() for i in range(0, len(x), SMALL)])
    return float((pred == y).mean())


# ---- (a) the example ---------------------------------------------------------------------------------

def test_train_digits_quick(example, tmp_path):
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-X", "faulthandler", EXAMPLE, "--quick", "--out", str(out)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert "MLP: test accuracy" in r.stdout and "CNN: test accuracy" in r.stdout
    assert "44/44" in r.stdout   # the progress bars reached 2 epochs x 22 mini-batches

    # outputs: the weights of both models, the loss plot and the metrics
    png = out / "digits_training_loss.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    res = json.loads((out / "digits_metrics.json").read_text())
    assert res["args"]["quick"] and res["args"]["epochs"] == 2 and res["plot"] == str(png)
    x_train, y_train, x_test, y_test = example["load_data"]()
    for name, make, shape in (("mlp", example["make_mlp"], (64,)), ("cnn", example["make_cnn"], (1, 8, 8))):
        m = res["models"][name]
        assert m["weights"] == str(out / f"digits_{name}.safetensors")
        sd, meta = jt.load(m["weights"], return_metadata=True)
        assert meta["model"] == name and meta["epochs"] == "2"
        assert all(isinstance(v, jt.Tensor) and v.dtype == jt.float32 for v in sd.values())
        fresh = make()
        assert list(sd) == list(fresh.state_dict())
        result = fresh.load_state_dict(sd)
        assert not result.missing_keys and not result.unexpected_keys
        # the loaded model reproduces the reported accuracy, which is far above chance (10%)
        acc = _accuracy(fresh, x_test.reshape((-1,) + shape), y_test)
        # (at most one prediction may flip: the child evaluated the whole test set as one batch)
        assert abs(acc - m["test_accuracy"]) <= 1 / len(y_test) + 1e-9, (name, acc, m["test_accuracy"])
        assert m["test_accuracy"] > 0.6, (name, m["test_accuracy"])
        # one loss per mini-batch, finite, and going down
        losses = m["losses"]
        assert len(losses) == 2 * ((len(x_train) + 63) // 64)
        assert all(np.isfinite(losses))
        assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10]), name


def test_training_is_deterministic(example):
    """jt.manual_seed fixes the initial weights; the same batches then give the same losses, bit for bit."""
    x, y, _, _ = example["load_data"]()

    def run(seed):
        jt.manual_seed(seed)
        model = example["make_mlp"]()
        losses, _ = example["train"](model, x[:96], y[:96], 2, 32, 1e-3, np.random.default_rng(seed), "",
                                     show_progress=False)
        return losses, model.state_dict()

    (l1, s1), (l2, s2), (l3, _) = run(5), run(5), run(6)
    assert l1 == l2 and len(l1) == 6
    assert all(np.array_equal(s1[k].numpy(), s2[k].numpy()) for k in s1)
    assert l1 != l3


def test_train_digits_args(example):
    parse = example["parse_args"]
    assert parse(["--quick"]).epochs == 2
    assert parse([]).epochs == 12
    a = parse(["--epochs", "3", "--seed", "7", "--out", "x"])
    assert (a.epochs, a.seed, a.out, a.quick) == (3, 7, "x", False)
    with pytest.raises(SystemExit):
        parse(["--epochs", "0"])


# ---- (b), (c) step-by-step agreement with PyTorch ----------------------------------------------------

def _state_to_jt(tmodel):
    """A torch state dict as jtensor tensors, through DLPack (copied, so nothing is shared)."""
    return {k: jt.from_dlpack(v.detach().clone()) for k, v in tmodel.state_dict().items()}


def _train_both(jmodel, tmodel, jopt, topt, batches):
    """Losses of `len(batches)` steps of forward, cross-entropy, backward and step in both."""
    jlosses, tlosses = [], []
    for x, y in batches:
        jloss = jt.nn.functional.cross_entropy(jmodel(jt.tensor(x)), jt.tensor(y))
        jopt.zero_grad()
        jloss.backward()
        jopt.step()
        jlosses.append(jloss.item())
        tloss = torch.nn.functional.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        tlosses.append(tloss.item())
    return np.array(jlosses), np.array(tlosses)


def _digit_batches(example, shape, steps, batch, seed):
    x, y, _, _ = example["load_data"]()
    x = x.astype(np.float64).reshape((-1,) + shape)
    rng = np.random.default_rng(seed)
    picks = [rng.choice(len(x), batch, replace=False) for _ in range(steps)]
    return [(np.ascontiguousarray(x[i]), y[i]) for i in picks]


def _assert_same_params(jmodel, tmodel, tol):
    tsd = tmodel.state_dict()
    for k, v in jmodel.state_dict().items():
        np.testing.assert_allclose(v.numpy(), tsd[k].numpy(), rtol=0, atol=tol, err_msg=k)


@pytest.mark.parametrize("optim", ["Adam", "SGD"])
def test_mlp_matches_torch(example, optim):
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10)).double()
    jmodel = example["make_mlp"](dtype=jt.float64)
    jmodel.load_state_dict(_state_to_jt(tmodel))
    _assert_same_params(jmodel, tmodel, 0)
    kw = dict(lr=1e-2) if optim == "Adam" else dict(lr=0.1, momentum=0.9)
    jopt = getattr(jt.optim, optim)(jmodel.parameters(), **kw)
    topt = getattr(torch.optim, optim)(tmodel.parameters(), **kw)
    jl, tl = _train_both(jmodel, tmodel, jopt, topt, _digit_batches(example, (64,), 20, 32, 1))
    np.testing.assert_allclose(jl, tl, rtol=0, atol=1e-5)
    assert tl[-5:].mean() < 0.5 * tl[:5].mean()   # it trained (so the comparison means something)
    _assert_same_params(jmodel, tmodel, 1e-5)


@pytest.mark.parametrize("optim", ["Adam", "SGD"])
def test_cnn_matches_torch(example, optim):
    """A tiny CNN with conv2d (padding), max_pool2d, flatten, linear and cross-entropy."""
    torch.manual_seed(1)
    tnn, jnn = torch.nn, jt.nn
    tmodel = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(4, 8, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(8, 10)).double()
    jmodel = jnn.Sequential(
        jnn.Conv2d(1, 4, 3, padding=1, dtype=jt.float64), jnn.ReLU(), jnn.MaxPool2d(2),
        jnn.Conv2d(4, 8, 3, dtype=jt.float64), jnn.ReLU(), jnn.MaxPool2d(2), jnn.Flatten(),
        jnn.Linear(8, 10, dtype=jt.float64))
    jmodel.load_state_dict(_state_to_jt(tmodel))
    kw = dict(lr=3e-2) if optim == "Adam" else dict(lr=0.1, momentum=0.9)
    jopt = getattr(jt.optim, optim)(jmodel.parameters(), **kw)
    topt = getattr(torch.optim, optim)(tmodel.parameters(), **kw)
    jl, tl = _train_both(jmodel, tmodel, jopt, topt, _digit_batches(example, (1, 8, 8), 20, 32, 2))
    np.testing.assert_allclose(jl, tl, rtol=0, atol=1e-5)
    assert tl[-5:].mean() < 0.95 * tl[:5].mean()
    _assert_same_params(jmodel, tmodel, 1e-5)


def test_digits_cnn_matches_torch(example):
    """The example's CNN itself (float64), 20 Adam steps, against the same network in PyTorch
    (batches of 16: single-threaded kernels, see the module docstring)."""
    torch.manual_seed(2)
    tnn = torch.nn
    tmodel = tnn.Sequential(
        tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(128, 10)).double()
    jmodel = example["make_cnn"](dtype=jt.float64)
    jmodel.load_state_dict(_state_to_jt(tmodel))
    jopt = jt.optim.Adam(jmodel.parameters(), lr=3e-3)
    topt = torch.optim.Adam(tmodel.parameters(), lr=3e-3)
    jl, tl = _train_both(jmodel, tmodel, jopt, topt, _digit_batches(example, (1, 8, 8), 20, SMALL, 3))
    np.testing.assert_allclose(jl, tl, rtol=0, atol=1e-5)
    _assert_same_params(jmodel, tmodel, 1e-5)
