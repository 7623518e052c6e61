"""jt.optim against torch.optim: the same parameters and gradients give the same updates."""
import numpy as np
import pytest
import torch

import jtensor as jt

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.3, eps=1e-8)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adamax", dict()),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.1)),           # rho_t > 5 from step 2: adaptive steps
    ("RAdam", dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.06), maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5, weight_decay=0.1, maximize=True)),
]


def _pair(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(dtype)
    return jt.tensor(a).requires_grad_(), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CASES)
def test_updates_match_torch(name, kwargs, dtype):
    shapes = [(3, 4), (5,), ()]
    jps, tps = zip(*[_pair(s, dtype, i) for i, s in enumerate(shapes)])
    jo = getattr(jt.optim, name)(list(jps), **kwargs)
    to = getattr(torch.optim, name)(list(tps), **kwargs)
    rng = np.random.default_rng(42)
    for _ in range(6):
        for jp, tp in zip(jps, tps):
            g = rng.standard_normal(tp.shape).astype(dtype)
            jp.grad = jt.tensor(g)
            tp.grad = torch.tensor(g)
        jo.step()
        to.step()
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for jp, tp in zip(jps, tps):
        np.testing.assert_allclose(jp.detach().numpy(), tp.detach().numpy(), rtol=tol, atol=tol)


def test_step_skips_params_without_grad_and_zero_grad():
    a, b = jt.ones(3).requires_grad_(), jt.ones(2).requires_grad_()
    opt = jt.optim.SGD([a, b], lr=0.5)
    a.grad = jt.full((3,), 2.0)
    opt.step()
    assert a.tolist() == [0.0, 0.0, 0.0] and b.tolist() == [1.0, 1.0]
    opt.zero_grad()
    assert a.grad is None
    a.grad = jt.ones(3)
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0, 0.0]


def test_training_loop_with_autograd_matches_torch():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 4)), rng.standard_normal(16)
    w0 = rng.standard_normal(4)
    jw, tw = jt.tensor(w0).requires_grad_(), torch.tensor(w0, requires_grad=True)
    jo, to = jt.optim.Adam([jw], lr=0.05), torch.optim.Adam([tw], lr=0.05)
    jX, jy, tX, ty = jt.tensor(X), jt.tensor(y), torch.tensor(X), torch.tensor(y)
    for _ in range(20):
        jo.zero_grad(); to.zero_grad()
        jl = ((jX @ jw - jy) ** 2).mean(); tl = ((tX @ tw - ty) ** 2).mean()
        jl.backward(); tl.backward()
        jo.step(); to.step()
        assert abs(jl.item() - tl.item()) < 1e-10
    np.testing.assert_allclose(jw.detach().numpy(), tw.detach().numpy(), rtol=1e-10)


def test_param_groups_and_state_dict_round_trip():
    a, b = jt.ones(2).requires_grad_(), jt.ones(3).requires_grad_()
    opt = jt.optim.Adam([{"params": [a], "lr": 0.1}, {"params": [b]}], lr=0.01)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    for p in (a, b):
        p.grad = jt.ones(p.shape)
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1] and sd["param_groups"][0]["params"] == [0]
    assert sd["state"][0]["step"] == 1
    a2, b2 = jt.ones(2).requires_grad_(), jt.ones(3).requires_grad_()
    opt2 = jt.optim.Adam([{"params": [a2], "lr": 0.5}, {"params": [b2]}], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1
    np.testing.assert_allclose(opt2.state[a2]["exp_avg"].numpy(), opt.state[a]["exp_avg"].numpy())
    assert opt2.state[a2]["exp_avg"].data_ptr() != opt.state[a]["exp_avg"].data_ptr()


def test_invalid_arguments():
    p = jt.ones(2).requires_grad_()
    with pytest.raises(ValueError, match="learning rate"):
        jt.optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        jt.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta"):
        jt.optim.Adam([p], betas=(1.5, 0.9))
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        jt.optim.NAdam([p], betas=(0.5, 1.0))
    with pytest.raises(ValueError, match="rho"):
        jt.optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="eta values"):
        jt.optim.Rprop([p], etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        jt.optim.Adagrad([p], initial_accumulator_value=-1)
    with pytest.raises(ValueError, match="parameter groups"):
        jt.optim.LBFGS([{"params": [p]}, {"params": [jt.ones(1).requires_grad_()]}])
    with pytest.raises(TypeError, match="iterable"):
        jt.optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        jt.optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        jt.optim.SGD([], lr=0.1)
    q = (p * 2)
    with pytest.raises(ValueError, match="leaf"):
        jt.optim.SGD([q], lr=0.1)


SCHEDULERS = {
    "StepLR": lambda o, M: M.StepLR(o, step_size=3, gamma=0.5),
    "CosineAnnealingLR": lambda o, M: M.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingLR-short": lambda o, M: M.CosineAnnealingLR(o, T_max=3),
    "LinearLR-up": lambda o, M: M.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
    "LinearLR-down": lambda o, M: M.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=6),
    "LambdaLR": lambda o, M: M.LambdaLR(o, lr_lambda=lambda e: 0.9 ** e + 0.1 * (e % 3)),
    "LambdaLR-per-group": lambda o, M: M.LambdaLR(o, lr_lambda=[lambda e: 1 / (e + 1), lambda e: 0.95 ** e]),
    "MultiplicativeLR": lambda o, M: M.MultiplicativeLR(o, lr_lambda=lambda e: 0.9 if e % 2 else 0.97),
    "MultiStepLR": lambda o, M: M.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ConstantLR": lambda o, M: M.ConstantLR(o, factor=0.4, total_iters=4),
    "ExponentialLR": lambda o, M: M.ExponentialLR(o, gamma=0.85),
    "PolynomialLR": lambda o, M: M.PolynomialLR(o, total_iters=8, power=2.0),
    "CosineAnnealingWarmRestarts": lambda o, M: M.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    "CosineAnnealingWarmRestarts-T_mult1": lambda o, M: M.CosineAnnealingWarmRestarts(o, T_0=4),
    "SequentialLR": lambda o, M: M.SequentialLR(o, [M.LinearLR(o, start_factor=0.1, total_iters=3),
                                                    M.ExponentialLR(o, gamma=0.9), M.StepLR(o, 2)], milestones=[3, 8]),
    "ChainedScheduler": lambda o, M: M.ChainedScheduler([M.ConstantLR(o, factor=0.5, total_iters=4),
                                                         M.ExponentialLR(o, gamma=0.9)]),
    "CyclicLR": lambda o, M: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=2),
    "CyclicLR-triangular2": lambda o, M: M.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3,
                                                    mode="triangular2", base_momentum=0.7),
    "CyclicLR-exp_range": lambda o, M: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range",
                                                  gamma=0.9, cycle_momentum=False),
    "CyclicLR-scale_fn": lambda o, M: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                 scale_fn=lambda x: 1 / (x + 1), scale_mode="iterations"),
    "OneCycleLR": lambda o, M: M.OneCycleLR(o, max_lr=0.5, total_steps=16),
    "OneCycleLR-linear-3phase": lambda o, M: M.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=4,
                                                          anneal_strategy="linear", three_phase=True, pct_start=0.25),
}


def _scheduler_pair(name, optim_name="SGD"):
    kw = dict(lr=0.2, momentum=0.9) if optim_name == "SGD" else dict(lr=0.2)
    jps = [jt.ones(1).requires_grad_(), jt.ones(2).requires_grad_()]
    tps = [torch.ones(1, requires_grad=True), torch.ones(2, requires_grad=True)]
    groups = lambda ps: [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}]
    jo, to = getattr(jt.optim, optim_name)(groups(jps), **kw), getattr(torch.optim, optim_name)(groups(tps), **kw)
    return jo, to, SCHEDULERS[name](jo, jt.optim.lr_scheduler), SCHEDULERS[name](to, torch.optim.lr_scheduler)


def _assert_groups_match(jo, to, js, ts):
    assert js.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-13, abs=1e-16)
    for jg, tg in zip(jo.param_groups, to.param_groups):
        assert jg["lr"] == pytest.approx(tg["lr"], rel=1e-13, abs=1e-16)
        for key in ("momentum", "betas"):
            if key in tg:
                assert jg[key] == pytest.approx(tg[key], rel=1e-13)


@pytest.mark.parametrize("optim_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_schedulers_match_torch(name, optim_name):
    """The lr (and cycled momentum / beta1) of every group, step by step, as torch's."""
    jo, to, js, ts = _scheduler_pair(name, optim_name)
    for _ in range(16):
        _assert_groups_match(jo, to, js, ts)
        jo.step(); to.step()
        js.step(); ts.step()
    _assert_groups_match(jo, to, js, ts)


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "LinearLR-up", "ConstantLR",
                                  "ExponentialLR", "PolynomialLR"])
def test_schedulers_closed_form_with_epoch_like_torch(name):
    jo, to, js, ts = _scheduler_pair(name)
    jo.step(); to.step()
    for epoch in [3, 1, 7, 2, 9]:
        with pytest.warns(UserWarning, match="epoch parameter"):
            js.step(epoch)
        with pytest.warns(UserWarning):
            ts.step(epoch)
        _assert_groups_match(jo, to, js, ts)


def test_cosine_warm_restarts_fractional_epochs_like_torch():
    jo, to, js, ts = _scheduler_pair("CosineAnnealingWarmRestarts")
    for epoch in [0.5, 1.25, 4.0, 9.5, 2.0, 22.3]:
        js.step(epoch); ts.step(epoch)
        _assert_groups_match(jo, to, js, ts)


@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", factor=0.5, patience=1, cooldown=2),
                                    dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=[0.01, 0.04]),
                                    dict(mode="max", threshold_mode="abs", patience=2, eps=0.05)])
def test_reduce_lr_on_plateau_like_torch(kwargs):
    jo, to, *_ = _scheduler_pair("StepLR")
    js = jt.optim.lr_scheduler.ReduceLROnPlateau(jo, **kwargs)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, **kwargs)
    metrics = [1.0, 0.9, 0.91, 0.92, 0.95, 0.89, 0.9, 0.9, 0.5, 0.6, 0.7, 0.8, 0.81, 0.82] * 3
    for m in metrics:
        js.step(m); ts.step(torch.tensor(m))
        _assert_groups_match(jo, to, js, ts)
        assert js.num_bad_epochs == ts.num_bad_epochs and js.cooldown_counter == ts.cooldown_counter


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_state_dict_from_torch_continues_like_torch(name):
    """A torch scheduler's state dict (after 5 steps) loaded into a jt scheduler continues torch's
    sequence; the jt scheduler's own state dict has the same entries as torch's."""
    jo, to, js, ts = _scheduler_pair(name)
    for _ in range(5):
        to.step(); ts.step()
        jo.step(); js.step()
    assert set(js.state_dict()) == set(ts.state_dict())
    jo2, _, js2, _ = _scheduler_pair(name)
    jo2.load_state_dict({"state": {}, "param_groups": to.state_dict()["param_groups"]})
    js2.load_state_dict(ts.state_dict())
    for _ in range(8):
        jo2.step(); to.step()
        js2.step(); ts.step()
        _assert_groups_match(jo2, to, js2, ts)


def test_scheduler_state_dict():
    p = jt.ones(1).requires_grad_()
    o = jt.optim.SGD([p], lr=1.0)
    s = jt.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.1)
    for _ in range(3):
        o.step()
        s.step()
    st = s.state_dict()
    o2 = jt.optim.SGD([jt.ones(1).requires_grad_()], lr=1.0)
    s2 = jt.optim.lr_scheduler.StepLR(o2, step_size=2, gamma=0.1)
    s2.load_state_dict(st)
    assert s2.last_epoch == 3 and s2.get_last_lr() == s.get_last_lr()


def test_scheduler_stepped_before_the_optimizer_warns_like_torch():
    import warnings
    o = jt.optim.SGD([jt.ones(1).requires_grad_()], lr=0.1)
    s = jt.optim.lr_scheduler.StepLR(o, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()
    o2 = jt.optim.SGD([jt.ones(1).requires_grad_()], lr=0.1)
    s2 = jt.optim.lr_scheduler.ExponentialLR(o2, 0.5)
    o2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s2.step()
    assert s2.get_last_lr() == [0.05]


def test_optimizer_deepcopies_with_a_scheduler_attached():
    import copy
    p = jt.ones(2).requires_grad_()
    o = jt.optim.LBFGS([p])
    jt.optim.lr_scheduler.StepLR(o, 2)
    o2 = copy.deepcopy(o)
    assert o2.param_groups[0]["lr"] == 1 and len(o2._params) == 1 and o2._params[0] is not p


def test_scheduler_argument_errors_like_torch():
    M = jt.optim.lr_scheduler
    o = jt.optim.SGD([jt.ones(1).requires_grad_()], lr=0.1)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        M.StepLR(object(), 2)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        M.ReduceLROnPlateau(o, factor=1.5)
    with pytest.raises(ValueError, match="cycle_momentum"):
        M.CyclicLR(jt.optim.Adagrad([jt.ones(1).requires_grad_()]), 0.01, 0.1)
    with pytest.raises(ValueError, match="total_steps OR"):
        M.OneCycleLR(o, max_lr=0.1)
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s = M.OneCycleLR(o, max_lr=0.1, total_steps=3)
        o.step()
        for _ in range(4):
            s.step()
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        M.SequentialLR(o, [M.StepLR(o, 2)], milestones=[3])
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas"):
        M.LambdaLR(o, [lambda e: 1.0, lambda e: 1.0])
    with pytest.warns(UserWarning, match="get_last_lr"):
        M.StepLR(o, 2).get_lr()


def test_fused_adam_checks_its_lists():
    p, g = jt.zeros(3), jt.ones(3)
    with pytest.raises(ValueError, match="adam: params"):
        jt.ops._adam_step_([p, p], [g], [jt.zeros(3)], [jt.zeros(3)], None, [1])
    jt.ops._adam_step_([p], [g], [jt.zeros(3)], [jt.zeros(3)], None, [1], lr=0.1)
    np.testing.assert_allclose(p.numpy(), -0.1 * np.ones(3), rtol=1e-5)   # first step moves by lr


# -- state_dict interchange with torch.optim ---------------------------------------------------------
def _to_torch(value):
    """A jt state dict as torch would hold it: jt tensors become torch tensors through DLPack."""
    if isinstance(value, jt.Tensor):
        return torch.from_dlpack(value).clone()
    if isinstance(value, dict):
        return {k: _to_torch(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_torch(v) for v in value)
    return value


def _assert_same_layout(jsd, tsd):
    assert sorted(jsd["state"]) == sorted(tsd["state"])
    for i, ts in tsd["state"].items():
        js = jsd["state"][i]
        assert sorted(js) == sorted(ts)
        for k, tv in ts.items():
            if isinstance(tv, torch.Tensor):
                assert isinstance(js[k], jt.Tensor) and tuple(js[k].shape) == tuple(tv.shape), k
                assert str(js[k].dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], k
    for jg, tg in zip(jsd["param_groups"], tsd["param_groups"]):
        assert jg == pytest.approx(tg), (jg, tg)


def _run(jo, to, jps, tps, rng, steps):
    for _ in range(steps):
        for jp, tp in zip(jps, tps):
            g = rng.standard_normal(tp.shape)
            jp.grad = jt.tensor(g)
            tp.grad = torch.tensor(g)
        jo.step()
        to.step()


INTERCHANGE = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict()),
               ("RMSprop", dict(momentum=0.5, centered=True)), ("Adadelta", dict()), ("Adagrad", dict(lr_decay=0.1)),
               ("Adamax", dict()), ("NAdam", dict()), ("RAdam", dict()), ("Rprop", dict()),
               ("ASGD", dict(t0=1)), ("Adafactor", dict())]


@pytest.mark.parametrize("direction", ["torch_to_jt", "jt_to_torch"])
@pytest.mark.parametrize("name,kwargs", INTERCHANGE)
def test_state_dict_interchanges_with_torch(name, kwargs, direction):
    """Run 3 steps on one side, load its state dict into fresh optimizers of both libraries (torch
    tensors into jt, jt tensors through DLPack into torch) and run 3 more steps: the parameters
    agree, so jt loads state as torch loads its own (torch casts state to the parameter's dtype)."""
    rng = np.random.default_rng(1)
    shapes = [(2, 3), (4,)]
    jps, tps = zip(*[_pair(s, np.float64, i) for i, s in enumerate(shapes)])
    groups = lambda ps: [{"params": [ps[0]], "lr": 0.02}, {"params": [ps[1]]}]
    jo, to = getattr(jt.optim, name)(groups(jps), **kwargs), getattr(torch.optim, name)(groups(tps), **kwargs)
    _run(jo, to, jps, tps, rng, 3)
    _assert_same_layout(jo.state_dict(), to.state_dict())
    jo2, to2 = getattr(jt.optim, name)(groups(jps), **kwargs), getattr(torch.optim, name)(groups(tps), **kwargs)
    if direction == "torch_to_jt":
        sd = to.state_dict()
        jo2.load_state_dict(sd)
        to2.load_state_dict(sd)
    else:
        sd = jo.state_dict()
        jo2.load_state_dict(sd)
        to2.load_state_dict(_to_torch(sd))
    _run(jo2, to2, jps, tps, rng, 3)
    for jp, tp in zip(jps, tps):
        np.testing.assert_allclose(jp.detach().numpy(), tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_load_state_dict_casts_state_to_the_parameter_dtype_and_copies():
    tp = torch.ones(3, dtype=torch.float64, requires_grad=True)
    to = torch.optim.Adam([tp], lr=0.1)
    tp.grad = torch.ones(3, dtype=torch.float64)
    to.step()
    jp = jt.ones(3, dtype=jt.float32).requires_grad_()
    jo = jt.optim.Adam([jp], lr=0.5)
    sd = to.state_dict()
    jo.load_state_dict(sd)
    assert jo.param_groups[0]["lr"] == 0.1 and jo.state[jp]["step"] == 1
    assert jo.state[jp]["exp_avg"].dtype == jt.float32
    sd["state"][0]["exp_avg"].fill_(7.0)   # the loaded state is a copy
    np.testing.assert_allclose(jo.state[jp]["exp_avg"].numpy(), 0.1 * np.ones(3), rtol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adadelta", "Rprop"])
def test_non_contiguous_gradient_like_torch(name):
    g = np.arange(12.0).reshape(4, 3) / 7
    jp, tp = jt.ones((3, 4), dtype=jt.float64).requires_grad_(), torch.ones(3, 4, dtype=torch.float64, requires_grad=True)
    jp.grad, tp.grad = jt.tensor(g).t(), torch.tensor(g).t()
    getattr(jt.optim, name)([jp], lr=0.1).step()
    getattr(torch.optim, name)([tp], lr=0.1).step()
    np.testing.assert_allclose(jp.detach().numpy(), tp.detach().numpy(), rtol=1e-12)


def test_named_parameters_like_torch():
    jo = jt.optim.Adam([("w", jt.ones(2).requires_grad_()), ("b", jt.ones(1).requires_grad_())])
    to = torch.optim.Adam([("w", torch.ones(2, requires_grad=True)), ("b", torch.ones(1, requires_grad=True))])
    assert jo.param_groups[0]["param_names"] == to.param_groups[0]["param_names"] == ["w", "b"]
    assert jo.state_dict()["param_groups"][0]["param_names"] == to.state_dict()["param_groups"][0]["param_names"]


def test_add_param_group_and_closure_loss():
    a, b = jt.ones(2).requires_grad_(), jt.ones(3).requires_grad_()
    opt = jt.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})

    def closure():
        opt.zero_grad()
        loss = (a * a).sum() + (b * b).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert a.tolist() == pytest.approx([0.8, 0.8]) and b.tolist() == pytest.approx([0.0, 0.0, 0.0])


# -- LBFGS ---------------------------------------------------------------------------------------------
def _rosenbrock(lib, xy):
    return (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2


@pytest.mark.parametrize("kwargs", [dict(line_search_fn="strong_wolfe"),
                                    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7),
                                    dict(lr=0.05, max_iter=10)])
def test_lbfgs_minimises_rosenbrock_like_torch(kwargs):
    start = np.array([-1.5, 2.0])
    jx, tx = jt.tensor(start).requires_grad_(), torch.tensor(start, requires_grad=True)
    jo, to = jt.optim.LBFGS([jx], **kwargs), torch.optim.LBFGS([tx], **kwargs)

    def closure(opt, x, lib):
        def f():
            opt.zero_grad()
            loss = _rosenbrock(lib, x)
            loss.backward()
            return loss
        return f

    # Rosenbrock's curved valley amplifies last-bit differences (1e-16 after one step, up to 1e-7
    # after five): the iterates agree to 1e-6 and the searches take the same branches (same evaluations)
    for _ in range(8):
        jl, tl = jo.step(closure(jo, jx, jt)), to.step(closure(to, tx, torch))
        assert jl.item() == pytest.approx(tl.item(), rel=1e-6, abs=1e-6)
        np.testing.assert_allclose(jx.detach().numpy(), tx.detach().numpy(), rtol=1e-6, atol=1e-6)
        assert jo.state[jx]["func_evals"] == to.state[tx]["func_evals"]
    assert jo.state[jx]["n_iter"] == to.state[tx]["n_iter"]
    if kwargs.get("line_search_fn"):
        np.testing.assert_allclose(jx.detach().numpy(), [1.0, 1.0], atol=1e-5)
    # the state (history lists, 0-dim tensors) carries over to torch and back
    to2 = torch.optim.LBFGS([tx], **kwargs)
    to2.load_state_dict(_to_torch(jo.state_dict()))
    jo2 = jt.optim.LBFGS([jx], **kwargs)
    jo2.load_state_dict(to.state_dict())
    jl, tl = jo2.step(closure(jo2, jx, jt)), to2.step(closure(to2, tx, torch))
    assert jl.item() == pytest.approx(tl.item(), rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(jx.detach().numpy(), tx.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert jo2.state[jx]["func_evals"] == to2.state[tx]["func_evals"]


def test_lbfgs_rejects_unknown_line_search():
    x = jt.ones(2).requires_grad_()
    opt = jt.optim.LBFGS([x], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(jt, x * 0.5)
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="strong_wolfe"):
        opt.step(closure)
