"""jt.fx: tracing functions and modules into graphs, the generated code, graph editing, and the
passes (Interpreter, Transformer, replace_pattern, ShapeProp, dead-code elimination, lint).

Oracles: eager jtensor (a traced program computes what the program computes), torch.fx on the
same program written in torch (the same node ops, targets and names), and the actual shapes."""
import copy
import operator

import numpy as np
import pytest
import torch
import torch.fx

import jtensor as jt
import jtensor.fx as fx
import jtensor.nn.functional as F


def close(a, b, tol=1e-5):
    if not isinstance(a, jt.Tensor):
        return a == b
    return np.allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()), atol=tol, rtol=tol)


def summary(graph):
    """(op, target name) per node: what a jt graph and a torch.fx graph are compared on."""
    def name(n):
        t = n.target
        return t if isinstance(t, str) else t.__name__
    return [(n.op, name(n)) for n in graph.nodes]


def roundtrip(gm, *args, tol=1e-5):
    """`gm.code` runs to the traced module's result, and re-tracing it gives an equivalent graph."""
    again = fx.symbolic_trace(gm)
    assert summary(again.graph) == summary(gm.graph)
    assert again.code == gm.code
    out, out2 = gm(*args), again(*args)
    for a, b in zip(out if isinstance(out, tuple) else (out,), out2 if isinstance(out2, tuple) else (out2,)):
        assert close(a, b, tol)
    return again


# ---- models, in jtensor and (same program) torch ----------------------------------------------------------
def mlp(nn):
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def cnn_class(nn, F):
    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return F.log_softmax(self.fc(x), dim=-1)
    return CNN


def block_class(nn):
    class Block(nn.Module):
        """A pre-norm transformer block from nn's layers."""

        def __init__(self, d=8, heads=2):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(d, 16), nn.GELU(), nn.Linear(16, d))

        def forward(self, x):
            h = self.ln1(x)
            a, _ = self.attn(h, h, h, need_weights=False)
            x = x + a
            return x + self.ff(self.ln2(x))
    return Block


def test_trace_function_records_operators_methods_and_functions():
    def f(x, y):
        z = jt.relu(x + y) * 2
        return z.sum(dim=1), x.shape[0], -z, z[:, 1:], z @ y.T

    def tf(x, y):
        z = torch.relu(x + y) * 2
        return z.sum(dim=1), x.shape[0], -z, z[:, 1:], z @ y.T
    gm = fx.symbolic_trace(f)
    tg = torch.fx.symbolic_trace(tf)
    assert [n.name for n in gm.graph.nodes] == [n.name for n in tg.graph.nodes]
    assert [n.op for n in gm.graph.nodes] == [n.op for n in tg.graph.nodes]
    assert summary(gm.graph) == summary(tg.graph)
    x, y = jt.randn(3, 4), jt.randn(3, 4)
    got, want = gm(x, y), f(x, y)
    assert got[1] == 3 and all(close(a, b) for a, b in zip(got[:1] + got[2:], want[:1] + want[2:]))
    roundtrip(gm, x, y)


def test_trace_mlp_sequential():
    model = mlp(jt.nn)
    gm = fx.symbolic_trace(model)
    assert summary(gm.graph) == summary(torch.fx.symbolic_trace(mlp(torch.nn)).graph)
    assert [n.op for n in gm.graph.nodes] == ["placeholder"] + ["call_module"] * 3 + ["output"]
    x = jt.randn(5, 4)
    assert close(gm(x), model(x))
    assert list(gm.state_dict()) == list(model.state_dict())
    assert len(list(gm.parameters())) == 4
    roundtrip(gm, x)


def test_trace_cnn_with_batchnorm_train_and_eval():
    model = cnn_class(jt.nn, F)()
    gm = fx.symbolic_trace(model)
    tmodel = cnn_class(torch.nn, torch.nn.functional)()
    assert summary(gm.graph) == summary(torch.fx.symbolic_trace(tmodel).graph)
    x = jt.randn(2, 3, 6, 6)
    gm.eval(); model.eval()
    assert close(gm(x), model(x))
    # the GraphModule holds the model's own submodules: training mode and running stats are shared
    gm.train()
    assert gm.bn.training and gm.bn is model.bn
    gm(x)
    assert close(gm.bn.running_mean, model.bn.running_mean)
    roundtrip(gm.eval(), x)


def test_trace_transformer_block():
    model = block_class(jt.nn)().eval()
    gm = fx.symbolic_trace(model)
    assert summary(gm.graph) == summary(torch.fx.symbolic_trace(block_class(torch.nn)()).graph)
    x = jt.randn(2, 5, 8)
    assert close(gm(x), model(x))
    roundtrip(gm, x)


def test_trace_transformer_encoder_layer_with_concrete_args():
    layer = jt.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True).eval()
    concrete = {"src_mask": None, "src_key_padding_mask": None, "is_causal": False}
    gm = fx.symbolic_trace(layer, concrete_args=concrete)
    x = jt.randn(2, 5, 8)
    assert close(gm(x), layer(x))
    assert "self_attn" in gm.code and "linear1" in gm.code
