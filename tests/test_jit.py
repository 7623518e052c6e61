"""jt.jit: script and trace give the eager results (through jt.compile), TorchScript's decorators
are no-ops as in torch's eager mode, and serialization refuses clearly."""
import numpy as np
import pytest
import torch

import jtensor as jt


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.GELU(), lib.nn.Linear(8, 2))


@pytest.mark.parametrize("how", ["script", "trace"])
def test_compiled_module_computes_what_torch_does(how):
    jm, tm = _mlp(jt), _mlp(torch)
    with torch.no_grad():
        for p, q in zip(jm.parameters(), tm.parameters()):
            q.copy_(torch.from_numpy(np.asarray(p.detach())))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    if how == "script":
        jc, tc = jt.jit.script(jm), torch.jit.script(tm)
    else:
        jc, tc = jt.jit.trace(jm, jt.tensor(x)), torch.jit.trace(tm, torch.tensor(x))
    for _ in range(2):
        np.testing.assert_allclose(np.asarray(jc(jt.tensor(x)).detach()), tc(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-6)
    loss = jc(jt.tensor(x)).sum()     # trains like the module itself
    loss.backward()
    assert all(p.grad is not None for p in jm.parameters())


def test_script_function_with_python_control_flow_runs_eagerly():
    @jt.jit.script
    def f(x):
        if x.sum() > 0:
            return x * 2
        return -x
    assert f(jt.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert f(-jt.ones(3)).tolist() == [1.0, 1.0, 1.0]


def test_trace_warns_when_the_function_is_not_repeatable():
    with pytest.warns(jt.jit.TracerWarning):
        jt.jit.trace(lambda x: x + jt.rand(3), jt.ones(3))


def test_decorators_fork_and_refusals():
    assert jt.jit.ignore(len) is len and jt.jit.unused(len) is len and jt.jit.export(len) is len
    assert jt.jit.ignore(drop=True)(len) is len
    assert not jt.jit.is_scripting() and not jt.jit.is_tracing()
    assert jt.jit.annotate(list, [1]) == [1]
    fut = jt.jit.fork(lambda a, b: a + b, jt.ones(2), 1)
    assert jt.jit.wait(fut).tolist() == [2.0, 2.0]
    with pytest.raises(NotImplementedError, match="jt.save"):
        jt.jit.save(jt.jit.script(_mlp(jt)), "model.pt")
    with pytest.raises(RuntimeError, match="example_inputs"):
        jt.jit.trace(lambda x: x)
