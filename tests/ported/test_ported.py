"""Ported PyTorch programs: each file in this folder is a PyTorch program whose only change is
its imports (``import jtensor as torch`` and friends). Each test runs the program as written, at a
small step count, and runs it again with the imports put back to PyTorch's, as the oracle: both
must train alike (random initial weights, dropout masks and batch orders differ between the two
libraries, so the losses are compared as curves, not digit for digit).
"""
import pytest

from .programs import PROGRAMS, load, source


def test_the_programs_change_only_their_imports():
    """The files import jtensor where PyTorch's would import torch, and nothing else says jtensor."""
    for name in PROGRAMS:
        for line in source(name).splitlines():
            if "jtensor" in line:
                assert line.startswith(("import jtensor", "from jtensor")), (name, line)


def _mean(xs):
    return sum(xs) / len(xs)


def test_mnist_cnn():
    args = ["--epochs", "2", "--limit", "384", "--batch-size", "32", "--test-batch-size", "100", "--quiet"]
    runs = {lib: load("mnist_cnn", lib).main(args) for lib in ("jtensor", "torch")}
    for lib, (losses, test_loss, accuracy) in runs.items():
        assert _mean(losses[-3:]) < 0.8 * _mean(losses[:3]), (lib, losses)
        assert accuracy > 0.5, (lib, accuracy)
    (jl, jt_test, jt_acc), (tl, torch_test, torch_acc) = runs["jtensor"], runs["torch"]
    assert len(jl) == len(tl)
    assert jt_test < 2.0 * torch_test + 0.1 and jt_acc > torch_acc - 0.2, (runs["jtensor"][1:], runs["torch"][1:])


def test_char_transformer():
    runs = {lib: load("char_transformer", lib).main(max_iters=120, eval_interval=60, new_tokens=40, quiet=True)
            for lib in ("jtensor", "torch")}
    for lib, (history, sample) in runs.items():
        first, last = history[0], history[-1]
        assert last[1] < first[1] - 0.5, (lib, history)       # the training loss falls
        assert len(sample) == 41 and isinstance(sample, str)
    j, t = runs["jtensor"][0][-1], runs["torch"][0][-1]
    assert abs(j[1] - t[1]) < 0.35 * t[1], (runs["jtensor"][0], runs["torch"][0])


def test_linear_regression():
    runs = {lib: load("linear_regression", lib).main(quiet=True) for lib in ("jtensor", "torch")}
    for lib, fits in runs.items():
        for w, b, loss in fits:
            assert w.flatten().tolist() == pytest.approx([3.0, -2.0], abs=0.02), lib
            assert b.item() == pytest.approx(0.5, abs=0.02), lib
            assert loss < 1e-3, lib
