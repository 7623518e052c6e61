"""Lazy modules (nn/modules/lazy.py) against PyTorch's: shapes inferred from the first input, the
class they become, results with the same weights, optimizers made before the first call, state
dicts, conversions and the error on using an uninitialized parameter."""
import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.nn as nn

CASES = [  # (name, constructor args, input shape)
    ("LazyLinear", (5,), (3, 7)),
    ("LazyLinear", (5, False), (2, 3, 7)),
    ("LazyConv1d", (4, 3), (2, 3, 9)),
    ("LazyConv1d", (4, 3, 1, 1, 1, 2), (2, 6, 9)),        # groups=2
    ("LazyConv2d", (4, 3), (2, 3, 8, 8)),
    ("LazyConv2d", (4, 3), (3, 8, 8)),                    # unbatched
    ("LazyConvTranspose1d", (2, 3), (3, 4, 5)),
    ("LazyConvTranspose2d", (2, 3, 2), (1, 4, 5, 5)),
    ("LazyBatchNorm1d", (), (4, 6)),
    ("LazyBatchNorm2d", (), (4, 3, 5, 5)),
    ("LazyBatchNorm3d", (), (2, 3, 2, 3, 3)),
    ("LazyInstanceNorm1d", (), (2, 3, 5)),
    ("LazyInstanceNorm2d", (), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), (2, 3, 2, 3, 3)),
]


@pytest.mark.parametrize("name,args,shape", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_matches_torch(name, args, shape, rng):
    jm, tm = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(jm) == repr(tm)
    x = rng.standard_normal(shape).astype(np.float32)
    tm(torch.tensor(x))                       # materialize torch's, then copy its weights over
    jm(jt.tensor(x))
    assert type(jm).__name__ == type(tm).__name__ and repr(jm) == repr(tm)
    assert not isinstance(jm, nn.modules.lazy.LazyModuleMixin)
    tsd = tm.state_dict()
    assert list(jm.state_dict()) == list(tsd)
    for k, v in jm.state_dict().items():
        assert tuple(v.shape) == tuple(tsd[k].shape), k
    jm.load_state_dict({k: jt.tensor(v.numpy()) for k, v in tsd.items()})
    got, want = jm(jt.tensor(x)), tm(torch.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_optimizer_made_before_the_first_call_trains_the_real_parameters():
    jt.manual_seed(0)
    m = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))
    opt = jt.optim.SGD(m.parameters(), lr=0.1)
    x, y = jt.randn(8, 3, 6, 6), jt.randint(0, 2, (8,))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert [tuple(p.shape) for p in opt.param_groups[0]["params"]] == [
        (4, 3, 3, 3), (4,), (4,), (4,), (2, 64), (2,)]


def test_unbatched_instance_norm_takes_channels_from_dim_0():
    # PyTorch 2.13 reads dim 1 here, then raises on its own check; the channels are dim 0
    m = nn.LazyInstanceNorm1d()
    x = jt.randn(3, 5)
    got = m(x)
    assert m.num_features == 3 and tuple(m.weight.shape) == (3,)
    want = torch.nn.functional.instance_norm(torch.tensor(x.numpy())[None])[0]
    np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-4, atol=1e-5)


def test_state_dict_loads_into_a_lazy_module():
    src = nn.Linear(7, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    assert type(m) is nn.LazyLinear and tuple(m.weight.shape) == (3, 7)   # as PyTorch's, until called
    x = jt.randn(2, 7)
    m(x)
    assert type(m) is nn.Linear and m.in_features == 7
    np.testing.assert_array_equal(m(x).detach().numpy(), src(x).detach().numpy())


def test_conversion_before_the_first_call_sets_the_dtype():
    m = nn.LazyLinear(3).double()
    assert m(jt.randn(2, 4, dtype=jt.float64)).dtype == jt.float64
    assert m.weight.dtype == jt.float64
    assert nn.LazyLinear(3, dtype=jt.float64)(jt.randn(2, 4, dtype=jt.float64)).dtype == jt.float64


def test_using_an_uninitialized_parameter_raises():
    w = nn.LazyLinear(3).weight
    assert isinstance(w, nn.UninitializedParameter) and repr(w) == "<UninitializedParameter>"
    with pytest.raises(ValueError, match="uninitialized parameter in add"):
        w + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        jt.matmul(jt.ones(2, 2), w)


def test_custom_lazy_module_with_the_mixin():
    class LazyScale(nn.modules.lazy.LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.UninitializedParameter()

        def initialize_parameters(self, x):
            self.scale.materialize(x.shape[-1:])
            with jt.no_grad():
                self.scale.fill_(2.0)

        def forward(self, x):
            return x * self.scale

    m = LazyScale()
    assert m.has_uninitialized_params()
    np.testing.assert_array_equal(m(jt.ones(2, 3)).detach().numpy(), np.full((2, 3), 2.0))
    assert not m.has_uninitialized_params() and tuple(m.scale.shape) == (3,)
