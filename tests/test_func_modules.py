"""jt.func's module tools against torch.func: functional_call (values, gradients, tied weights,
strict), per-example gradients through vmap(grad(functional_call)), model ensembles with
stack_module_state, jacfwd/linearize, and nn.utils.fusion's batch-norm folding."""
import numpy as np
import pytest
import torch

import jtensor as jt


def _pair(seed=0):
    jt.manual_seed(seed)
    jm = jt.nn.Sequential(jt.nn.Linear(3, 5), jt.nn.Tanh(), jt.nn.Linear(5, 2)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for p, q in zip(jm.parameters(), tm.parameters()):
            q.copy_(torch.from_numpy(np.asarray(p.detach())))
    return jm, tm


def _np(t):
    return np.asarray(t.detach())


def test_functional_call_values_and_gradients():
    jm, tm = _pair()
    rng = np.random.default_rng(0)
    new = {k: rng.standard_normal(tuple(v.shape)) for k, v in tm.named_parameters()}
    x = rng.standard_normal((4, 3))
    jp = {k: jt.tensor(v, requires_grad=True) for k, v in new.items()}
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in new.items()}
    jy = jt.func.functional_call(jm, jp, (jt.tensor(x),))
    ty = torch.func.functional_call(tm, tp, (torch.tensor(x),))
    np.testing.assert_allclose(_np(jy), ty.detach().numpy(), rtol=1e-12)
    jy.sum().backward()
    ty.sum().backward()
    for k in new:
        np.testing.assert_allclose(_np(jp[k].grad), tp[k].grad.numpy(), rtol=1e-10, err_msg=k)
    assert all(p.grad is None for p in jm.parameters())          # the module's own are untouched
    np.testing.assert_allclose(_np(jm(jt.tensor(x))), tm(torch.tensor(x)).detach().numpy(), rtol=1e-12)


def test_per_example_gradients_match_torch():
    jm, tm = _pair(1)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    results = []
    for lib, m in ((jt, jm), (torch, tm)):
        params = {k: v.detach() for k, v in m.named_parameters()}

        def loss(p, xi, yi):
            out = lib.func.functional_call(m, p, (xi.unsqueeze(0),))
            return ((out - yi) ** 2).sum()
        g = lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, lib.tensor(x), lib.tensor(y))
        results.append({k: _np(v) for k, v in g.items()})
    for k in results[1]:
        np.testing.assert_allclose(results[0][k], results[1][k], rtol=1e-9, atol=1e-12, err_msg=k)


def test_ensemble_with_stack_module_state():
    models = []
    for s in range(3):
        jt.manual_seed(s)
        models.append(jt.nn.Linear(3, 2).double())
    params, buffers = jt.func.stack_module_state(models)
    assert params["weight"].shape == (3, 2, 3) and params["weight"].requires_grad and buffers == {}
    x = jt.randn(4, 3, dtype=jt.float64)
    base = models[0]
    out = jt.func.vmap(lambda p, b: jt.func.functional_call(base, (p, b), (x,)))(params, buffers)
    for i, m in enumerate(models):
        assert jt.allclose(out[i], m(x))


def test_tied_weights_and_strict():
    class Tied(jt.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = jt.nn.Linear(2, 2, bias=False)
            self.b = jt.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))
    m = Tied()
    w = jt.eye(2) * 2
    assert jt.equal(jt.func.functional_call(m, {"a.weight": w}, (jt.ones(1, 2),)), jt.full((1, 2), 4.0))
    with pytest.raises(RuntimeError, match="Missing key"):
        jt.func.functional_call(jt.nn.Linear(2, 2), {"weight": jt.ones(2, 2)}, (jt.ones(2),), strict=True)
    with pytest.warns(FutureWarning):
        jt.nn.utils.stateless.functional_call(jt.nn.Linear(2, 2), {}, (jt.ones(2),))


def test_jacfwd_and_linearize_match_torch():
    x = np.array([0.3, -1.2, 2.0])
    t = np.array([1.0, 0.5, -2.0])
    f = {jt: lambda z: (z.sin() * z).cumsum(0), torch: lambda z: (z.sin() * z).cumsum(0)}
    jj = jt.func.jacfwd(f[jt])(jt.tensor(x))
    tj = torch.func.jacfwd(f[torch])(torch.tensor(x))
    np.testing.assert_allclose(_np(jj), tj.numpy(), rtol=1e-12)
    jo, jfn = jt.func.linearize(f[jt], jt.tensor(x))
    to, tfn = torch.func.linearize(f[torch], torch.tensor(x))
    np.testing.assert_allclose(_np(jo), to.numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(jfn(jt.tensor(t))), tfn(torch.tensor(t)).numpy(), rtol=1e-12)
    (jac, aux) = jt.func.jacfwd(lambda z: (z * 2, z.sum()), has_aux=True)(jt.tensor(x))
    assert jt.equal(jac, 2 * jt.eye(3, dtype=jt.float64)) and aux.item() == pytest.approx(x.sum())


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "linear"])
def test_batch_norm_folding_matches_torch(kind):
    x = np.random.default_rng(2).standard_normal({"linear": (5, 4), "conv": (2, 2, 6, 6),
                                                  "conv_transpose": (2, 2, 4, 4)}[kind])
    outs = []
    for lib in (jt, torch):
        if kind == "linear":
            layer, bn = lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3)
        elif kind == "conv":
            layer, bn = lib.nn.Conv2d(2, 3, 3), lib.nn.BatchNorm2d(3)
        else:
            layer, bn = lib.nn.ConvTranspose2d(2, 3, 3), lib.nn.BatchNorm2d(3)
        layer, bn = layer.double(), bn.double()
        with lib.no_grad():   # the same weights and statistics in both libraries
            g = np.random.default_rng(3)
            for p in list(layer.parameters()) + [bn.weight, bn.bias, bn.running_mean]:
                p.copy_(lib.tensor(g.standard_normal(tuple(p.shape))))
            bn.running_var.copy_(lib.tensor(g.uniform(0.5, 2.0, tuple(bn.running_var.shape))))
        layer.eval(), bn.eval()
        fuse = lib.nn.utils.fusion
        fused = (fuse.fuse_linear_bn_eval(layer, bn) if kind == "linear"
                 else fuse.fuse_conv_bn_eval(layer, bn, transpose=kind == "conv_transpose"))
        xi = lib.tensor(x)
        np.testing.assert_allclose(_np(fused(xi)), _np(bn(layer(xi))), rtol=1e-10, atol=1e-12)
        outs.append(_np(fused(xi)))
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-10, atol=1e-12)
