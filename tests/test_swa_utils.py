"""jt.optim.swa_utils against torch.optim.swa_utils: the same training run with SWA and EMA averages,
SWALR's rates step by step, and update_bn's recomputed statistics."""
import numpy as np
import pytest
import torch

import jtensor as jt


def _model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6), lib.nn.ReLU(), lib.nn.Linear(6, 2)).double()


def _same_weights(jm, tm):
    with torch.no_grad():
        for p, q in zip(jm.state_dict().values(), tm.state_dict().values()):
            q.copy_(torch.from_numpy(np.asarray(p)))


def _run(lib, model, averaged_kwargs, strategy):
    rng = np.random.default_rng(1)
    data = [lib.tensor(rng.standard_normal((8, 4))) for _ in range(6)]
    swa = lib.optim.swa_utils.AveragedModel(model, **averaged_kwargs(lib))
    opt = lib.optim.SGD(model.parameters(), lr=0.5)
    sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy=strategy)
    rates = []
    for x in data:
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        swa.update_parameters(model)
        sched.step()
        rates.append(sched.get_last_lr()[0])
    lib.optim.swa_utils.update_bn(data, swa)
    return swa, rates


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("kind", ["swa", "ema", "ema_multi", "buffers"])
def test_averages_rates_and_bn_match_torch(kind, strategy):
    kwargs = {"swa": lambda lib: {},
              "ema": lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.9)},
              "ema_multi": lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)},
              "buffers": lambda lib: {"use_buffers": True}}[kind]
    jm, tm = _model(jt), _model(torch)
    _same_weights(jm, tm)
    (jswa, jrates), (tswa, trates) = _run(jt, jm, kwargs, strategy), _run(torch, tm, kwargs, strategy)
    np.testing.assert_allclose(jrates, trates, rtol=1e-12)
    for (name, a), b in zip(jswa.state_dict().items(), tswa.state_dict().values()):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_argument_errors():
    m = jt.nn.Linear(2, 2)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        jt.optim.swa_utils.AveragedModel(m, avg_fn=lambda *a: a[0], multi_avg_fn=lambda *a: None)
    opt = jt.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        jt.optim.swa_utils.SWALR(opt, swa_lr=0.01, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs"):
        jt.optim.swa_utils.SWALR(opt, swa_lr=0.01, anneal_epochs=-1)
