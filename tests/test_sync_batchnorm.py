"""jt.nn.SyncBatchNorm against torch's without a process group (the CPU case): outputs, running
statistics and gradients in training and eval, input checks, and convert_sync_batchnorm."""
import numpy as np
import pytest
import torch

import jtensor as jt

RNG = np.random.default_rng(0)


def _pair(**kw):
    tm = torch.nn.SyncBatchNorm(3, **kw).double()
    jm = jt.nn.SyncBatchNorm(3, **kw).double()
    with torch.no_grad():
        if tm.weight is not None:
            tm.weight.copy_(torch.tensor(RNG.standard_normal(3)))
            tm.bias.copy_(torch.tensor(RNG.standard_normal(3)))
    jm.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return jm, tm


@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("kw", [{}, {"affine": False}, {"momentum": None}, {"track_running_stats": False}])
def test_matches_torch_in_training_and_eval(shape, kw):
    jm, tm = _pair(**kw)
    for step in range(2):
        x = RNG.standard_normal(shape)
        jx, tx = jt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        jo, to = jm(jx), tm(tx)
        np.testing.assert_allclose(np.asarray(jo.detach()), to.detach().numpy(), rtol=1e-10, atol=1e-12)
        (jo * jo).sum().backward()
        (to * to).sum().backward()
        np.testing.assert_allclose(np.asarray(jx.grad), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(np.asarray(jm.state_dict()[k]), v.numpy(), rtol=1e-12, err_msg=k)
    jm.eval()
    tm.eval()
    x = RNG.standard_normal(shape)
    np.testing.assert_allclose(np.asarray(jm(jt.tensor(x)).detach()), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def test_checks_and_repr_match_torch():
    jm, tm = _pair()
    assert repr(jm) == repr(tm) and list(jm.state_dict()) == list(tm.state_dict())
    assert jm.process_group is None
    for m, lib in ((jm, jt), (tm, torch)):
        with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
            m(lib.ones(4, dtype=lib.float64))
        with pytest.raises(ValueError, match="number of input channels should be non-zero"):
            lib.nn.SyncBatchNorm(0)(lib.ones(2, 0))


def test_convert_sync_batchnorm_matches_torch():
    def build(lib):
        net = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4),
                                lib.nn.Sequential(lib.nn.Flatten(), lib.nn.BatchNorm1d(4 * 4 * 4, affine=False)))
        net[1].eval()
        return net
    jnet, tnet = build(jt), build(torch)
    jw = jnet[1].weight
    jconv = jt.nn.SyncBatchNorm.convert_sync_batchnorm(jnet)
    tconv = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tnet)
    assert jconv is jnet and repr(jconv) == repr(tconv)
    assert type(jconv[1]) is jt.nn.SyncBatchNorm and jconv[1].weight is jw and not jconv[1].training
    assert type(jconv[2][1]) is jt.nn.SyncBatchNorm
    assert list(jconv.state_dict()) == list(tconv.state_dict())
    single = jt.nn.SyncBatchNorm.convert_sync_batchnorm(jt.nn.BatchNorm1d(5), process_group="pg")
    assert type(single) is jt.nn.SyncBatchNorm and single.process_group == "pg"


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_training_with_a_process_group_refuses_cpu_inputs_like_torch():
    import jtensor.distributed as jd
    jd.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        for lib in (jt, torch):
            m = lib.nn.SyncBatchNorm(3)
            with pytest.raises(ValueError, match="SyncBatchNorm expected input tensor to be on GPU"):
                m(lib.ones(2, 3))
            m.eval()                                  # eval uses the running statistics: no sync needed
            assert tuple(m(lib.ones(2, 3)).shape) == (2, 3)
    finally:
        jd.destroy_process_group()
