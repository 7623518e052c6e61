"""jt.nn recurrent layers (RNN, LSTM, GRU, their cells) and jt.nn.utils.rnn packing against torch:
parameter names, shapes and order (state dicts interchange), outputs, final states and the
gradients of inputs, initial states and every parameter after copying torch's float64 weights;
batch_first, unbatched, bidirectional, multi-layer, projected LSTM, packed sequences."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.utils.rnn as trnn

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.utils.rnn as jrnn
from torch_compare import close, leaves, load_torch_weights, rnd


def pair(cls_name, *args, **kwargs):
    """The torch module (float64) and the jt one with torch's weights loaded."""
    torch.manual_seed(0)
    tm = getattr(tnn, cls_name)(*args, **kwargs).double()
    jm = getattr(nn, cls_name)(*args, **kwargs).double()
    load_torch_weights(tm, jm)
    return tm, jm


def flat(out):
    """The tensors of a (possibly nested) RNN result, PackedSequence data included."""
    if isinstance(out, (tuple, list)) and not hasattr(out, "shape"):
        if isinstance(out, (trnn.PackedSequence, jrnn.PackedSequence)):
            return [out.data]
        return [t for o in out for t in flat(o)]
    return [out]


def check_backward(tm, jm, touts, jouts, tins, jins, seed=7):
    """Backward a random weighting of all outputs; compare input and parameter gradients."""
    tflat, jflat = flat(touts), flat(jouts)
    for a, b in zip(jflat, tflat):
        close(a, b)
    weights = [rnd(tuple(t.shape), seed + i) for i, t in enumerate(tflat)]
    sum(((t * torch.tensor(w)).sum() for t, w in zip(tflat, weights)), torch.zeros((), dtype=torch.float64)).backward()
    total = None
    for t, w in zip(jflat, weights):
        term = (t * jt.tensor(w)).sum()
        total = term if total is None else total + term
    total.backward()
    for a, b in zip(jins, tins):
        close(a.grad, b.grad)
    tparams = dict(tm.named_parameters())
    for name, p in jm.named_parameters():
        close(p.grad, tparams[name].grad)


CASES = [
    ("RNN", dict(nonlinearity="tanh")),
    ("RNN", dict(nonlinearity="relu", num_layers=2)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=3, num_layers=2)),
    ("LSTM", dict(bias=False, batch_first=True)),
    ("GRU", dict()),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
]


@pytest.mark.parametrize("cls_name,kwargs", CASES)
@pytest.mark.parametrize("with_hx", [False, True])
def test_rnn_layers_match_torch(cls_name, kwargs, with_hx):
    tm, jm = pair(cls_name, 4, 5, **kwargs)
    L, N = 6, 3
    D = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    x = rnd((N, L, 4) if kwargs.get("batch_first") else (L, N, 4), 1)
    arrays = [x]
    if with_hx:
        arrays.append(rnd((layers * D, N, kwargs.get("proj_size") or 5), 2))
        if cls_name == "LSTM":
            arrays.append(rnd((layers * D, N, 5), 3))
    tins, jins = leaves(*arrays)
    hx = lambda ins: None if not with_hx else (tuple(ins[1:]) if cls_name == "LSTM" else ins[1])  # noqa: E731
    touts, jouts = tm(tins[0], hx(tins)), jm(jins[0], hx(jins))
    check_backward(tm, jm, touts, jouts, tins, jins)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(cls_name):
    tm, jm = pair(cls_name, 3, 4, num_layers=2, bidirectional=True)
    tins, jins = leaves(rnd((5, 3), 4))
    check_backward(tm, jm, tm(tins[0]), jm(jins[0]), tins, jins)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_sequences_through_layers(cls_name, enforce_sorted, batch_first):
    tm, jm = pair(cls_name, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    x = rnd((4, 5, 3) if batch_first else (5, 4, 3), 5)
    tins, jins = leaves(x)
    tp = trnn.pack_padded_sequence(tins[0], lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    jp = jrnn.pack_padded_sequence(jins[0], lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    close(jp.data, tp.data)
    assert jp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    if not enforce_sorted:
        assert jp.sorted_indices.tolist() == tp.sorted_indices.tolist()
        assert jp.unsorted_indices.tolist() == tp.unsorted_indices.tolist()
    tout, th = tm(tp)
    jout, jh = jm(jp)
    assert isinstance(jout, jrnn.PackedSequence)
    tpad, tlen = trnn.pad_packed_sequence(tout, batch_first=batch_first, total_length=6)
    jpad, jlen = jrnn.pad_packed_sequence(jout, batch_first=batch_first, total_length=6)
    assert jlen.tolist() == tlen.tolist()
    check_backward(tm, jm, (tpad, th), (jpad, jh), tins, jins)


def test_packed_projected_lstm():
    """The projected LSTM runs the Python step loop: packed batches shrink and (reversed) grow there."""
    tm, jm = pair("LSTM", 3, 5, proj_size=2, bidirectional=True)
    lengths = [4, 1, 3]
    tins, jins = leaves(rnd((4, 3, 3), 9))
    tp = trnn.pack_padded_sequence(tins[0], lengths, enforce_sorted=False)
    jp = jrnn.pack_padded_sequence(jins[0], lengths, enforce_sorted=False)
    tout, th = tm(tp)
    jout, jh = jm(jp)
    check_backward(tm, jm, (tout.data, th), (jout.data, jh), tins, jins)


def test_packed_with_initial_state_unsorted():
    tm, jm = pair("LSTM", 3, 4)
    lengths = [2, 4, 3]
    tins, jins = leaves(rnd((4, 3, 3), 6), rnd((1, 3, 4), 7), rnd((1, 3, 4), 8))
    tp = trnn.pack_padded_sequence(tins[0], lengths, enforce_sorted=False)
    jp = jrnn.pack_padded_sequence(jins[0], lengths, enforce_sorted=False)
    check_backward(tm, jm, tm(tp, tuple(tins[1:])), jm(jp, tuple(jins[1:])), tins, jins)


def test_pack_sequence_and_unpack():
    arrays = [rnd((n, 2), 10 + n) for n in (3, 5, 1)]
    tins, jins = leaves(*arrays)
    tp = trnn.pack_sequence(tins, enforce_sorted=False)
    jp = jrnn.pack_sequence(jins, enforce_sorted=False)
    close(jp.data, tp.data)
    assert jp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in zip(jrnn.unpack_sequence(jp), trnn.unpack_sequence(tp)):
        close(a, b)
    tpad, _ = trnn.pad_packed_sequence(tp, padding_value=-1.0)
    jpad, _ = jrnn.pad_packed_sequence(jp, padding_value=-1.0)
    close(jpad, tpad)
    (tpad * torch.tensor(rnd(tuple(tpad.shape), 3))).sum().backward()
    (jpad * jt.tensor(rnd(tuple(tpad.shape), 3))).sum().backward()
    for a, b in zip(jins, tins):
        close(a.grad, b.grad)


def test_packing_errors_match_torch():
    x = jt.zeros((3, 2, 1))
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        jrnn.pack_padded_sequence(x, [1, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        jrnn.pack_padded_sequence(x, [3, 0])
    p = jrnn.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="total_length"):
        jrnn.pad_packed_sequence(p, total_length=2)


@pytest.mark.parametrize("cls_name,kwargs", [("RNNCell", dict(nonlinearity="relu")), ("RNNCell", dict()),
                                             ("LSTMCell", dict()), ("GRUCell", dict(bias=False)),
                                             ("GRUCell", dict())])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(cls_name, kwargs, batched):
    tm, jm = pair(cls_name, 3, 4, **kwargs)
    lead = (2,) if batched else ()
    arrays = [rnd(lead + (3,), 1), rnd(lead + (4,), 2)] + ([rnd(lead + (4,), 3)] if cls_name == "LSTMCell" else [])
    tins, jins = leaves(*arrays)
    hx = lambda ins: tuple(ins[1:]) if cls_name == "LSTMCell" else ins[1]  # noqa: E731
    check_backward(tm, jm, tm(tins[0], hx(tins)), jm(jins[0], hx(jins)), tins, jins)
    # no state given: zeros
    for a, b in zip(flat(jm(jins[0])), flat(tm(tins[0]))):
        close(a, b)


def test_dropout_between_layers_only_in_training():
    tm, jm = pair("LSTM", 3, 4, num_layers=3, dropout=0.5)
    x = rnd((5, 2, 3), 1)
    jm.eval()
    tm.eval()
    for a, b in zip(flat(jm(jt.tensor(x))), flat(tm(torch.tensor(x)))):
        close(a, b)
    jm.train()
    jt.manual_seed(0)
    out1, _ = jm(jt.tensor(x))
    jt.manual_seed(1)
    out2, _ = jm(jt.tensor(x))
    assert not np.allclose(out1.numpy(), out2.numpy())


def test_layout_repr_and_init():
    for cls_name, kwargs in CASES + [("RNNCell", {}), ("LSTMCell", {}), ("GRUCell", {})]:
        tm, jm = getattr(tnn, cls_name)(4, 5, **kwargs), getattr(nn, cls_name)(4, 5, **kwargs)
        assert [(k, tuple(v.shape)) for k, v in jm.named_parameters()] == \
            [(k, tuple(v.shape)) for k, v in tm.named_parameters()]
        assert repr(jm) == repr(tm)
    m = nn.LSTM(8, 100)
    w = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(w).max() <= 0.1 and np.abs(w).max() > 0.09 and abs(w.mean()) < 0.01


def test_argument_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(3, 4, dropout=2)
    m = nn.GRU(3, 4)
    with pytest.raises(RuntimeError, match="input_size"):
        m(jt.zeros((2, 1, 5)))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        m(jt.zeros((2, 1, 3)), jt.zeros((2, 1, 4)))


def test_lstm_language_model_trains_like_torch():
    """Embedding -> 2-layer LSTM -> Linear, three SGD steps from the same weights: same losses."""
    def model(lib):
        class LM(lib.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.Embedding(11, 6)
                self.rnn = lib.LSTM(6, 8, num_layers=2, batch_first=True)
                self.out = lib.Linear(8, 11)

            def forward(self, idx):
                y, _ = self.rnn(self.emb(idx))
                return self.out(y)
        return LM().double()
    torch.manual_seed(0)
    tm, jm = model(tnn), model(nn)
    load_torch_weights(tm, jm)
    idx = np.random.default_rng(0).integers(0, 11, (3, 7))
    topt = torch.optim.SGD(tm.parameters(), lr=0.5)
    jopt = jt.optim.SGD(jm.parameters(), lr=0.5)
    for step in range(3):
        tl = tnn.functional.cross_entropy(tm(torch.tensor(idx[:, :-1])).reshape(-1, 11),
                                          torch.tensor(idx[:, 1:]).reshape(-1))
        jl = nn.functional.cross_entropy(jm(jt.tensor(idx[:, :-1])).reshape(-1, 11),
                                         jt.tensor(idx[:, 1:]).reshape(-1))
        close(jl, tl, 1e-9)
        for opt, loss in ((topt, tl), (jopt, jl)):
            opt.zero_grad()
            loss.backward()
            opt.step()


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_float32_layers(cls_name):
    torch.manual_seed(1)
    tm = getattr(tnn, cls_name)(3, 6, num_layers=2, bidirectional=True)
    jm = getattr(nn, cls_name)(3, 6, num_layers=2, bidirectional=True)
    load_torch_weights(tm, jm)
    x = rnd((7, 2, 3), 2).astype(np.float32)
    tins, jins = leaves(x)
    tout, jout = tm(tins[0]), jm(jins[0])
    assert jout[0].dtype == jt.float32
    for a, b in zip(flat(jout), flat(tout)):
        close(a, b, 1e-5)
    tout[0].sum().backward()
    jout[0].sum().backward()
    close(jins[0].grad, tins[0].grad, 1e-5)


@pytest.mark.parametrize("cls_name", ["RNN", "LSTM", "GRU"])
def test_meta_device_shapes(cls_name):
    m = getattr(nn, cls_name)(3, 5, num_layers=2, bidirectional=True, device="meta")
    out, h = m(jt.empty((7, 2, 3), device="meta"))
    assert out.shape == (7, 2, 10) and out.device.type == "meta"
    hs = h if isinstance(h, tuple) else (h,)
    assert all(t.shape == (4, 2, 5) for t in hs)


def test_fused_layer_op_errors():
    x, h = jt.zeros((6, 8)), jt.zeros((2, 2))
    e = jt.zeros((0,))
    with pytest.raises(ValueError, match="batch_sizes"):
        jt.ops._rnn_layer("lstm", [x, h, h, jt.zeros((8, 2)), e], [2, 3], False)
    with pytest.raises(ValueError, match="unknown mode"):
        jt.ops._rnn_layer("lstmx", [x, h, h, jt.zeros((8, 2)), e], [2, 2, 2], False)
    with pytest.raises(TypeError, match="float32 or float64"):
        jt.ops._rnn_layer("rnn_tanh", [jt.zeros((2, 2), dtype=jt.int64)] * 4 + [e], [2], False)
