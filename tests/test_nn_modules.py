"""jt.nn modules against torch.nn: parameter registration, names and order, state dicts, forward
values and gradients after copying torch's weights (float64, tight), train/eval behaviour, hooks,
reprs, initialisation statistics, strict loading errors and the Module API."""
import copy
import math
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import jtensor as jt
import jtensor.nn as nn
from jtensor.nn import init

TOL = 1e-10


def rnd(shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def close(got, exp, tol=TOL):
    got = np.asarray(got.detach().numpy() if hasattr(got, "numpy") else got, dtype=np.float64)
    exp = np.asarray(exp.detach().numpy() if isinstance(exp, torch.Tensor) else exp, dtype=np.float64)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    scale = max(1.0, float(np.max(np.abs(exp)))) if exp.size else 1.0
    np.testing.assert_allclose(got, exp, rtol=tol, atol=tol * scale)


def torch_state_to_jt(tm):
    return {k: jt.from_dlpack(v.detach().contiguous()) for k, v in tm.state_dict().items()}


def copy_torch_weights(tm, jm):
    result = jm.load_state_dict(torch_state_to_jt(tm))
    assert result.missing_keys == [] and result.unexpected_keys == []


def shapes(named):
    return [(k, tuple(v.shape)) for k, v in named]


def same_layout(tm, jm):
    """Same parameter/buffer/module names, order and shapes in torch and jtensor."""
    assert shapes(jm.named_parameters()) == shapes(tm.named_parameters())
    assert shapes(jm.state_dict().items()) == shapes(tm.state_dict().items())
    assert shapes(jm.named_buffers()) == shapes(tm.named_buffers())
    assert [n for n, _ in jm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in jm.named_children()] == [n for n, _ in tm.named_children()]


def strip_module_paths(s):
    return s.replace("torch.Size(", "").replace("])", "]")


def run_pair(tm, jm, arrays, train=False, kwargs=None, grad_inputs=True, index=None, tol=TOL, seed=100):
    """Copy torch's float64 weights into jm, run both on `arrays` (float arrays become inputs that
    require grad), compare outputs, backpropagate the same random gradient and compare the input
    and parameter gradients. Returns (jtensor output, torch output)."""
    tm.double()
    jm.double()
    copy_torch_weights(tm, jm)
    tm.train(train)
    jm.train(train)
    tin, jin = [], []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t, j = torch.tensor(a), jt.tensor(a)
            if a.dtype.kind == "f" and grad_inputs:
                t.requires_grad_()
                j.requires_grad_()
        else:
            t = j = a
        tin.append(t)
        jin.append(j)
    kwargs = kwargs or {}
    to = tm(*tin, **{k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()})
    jo = jm(*jin, **{k: (jt.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()})
    if index is not None:
        to, jo = to[index], jo[index]
    assert type(jo) is jt.Tensor
    close(jo, to, tol)
    if not to.requires_grad:
        return jo, to
    g = rnd(tuple(to.shape), seed)
    to.backward(torch.tensor(g))
    jo.backward(jt.tensor(g))
    for t, j in zip(tin, jin):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            close(j.grad, t.grad, tol)
    tgrads = dict(tm.named_parameters())
    for name, p in jm.named_parameters():
        tp = tgrads[name]
        if tp.grad is None:
            assert p.grad is None, name
        else:
            assert p.grad is not None, name
            close(p.grad, tp.grad, tol)
    return jo, to


# ---- Parameter ------------------------------------------------------------------------------------

def test_parameter_is_a_leaf_sharing_memory():
    x = jt.tensor([1.0, 2.0, 3.0])
    p = nn.Parameter(x)
    assert isinstance(p, nn.Parameter) and isinstance(p, jt.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.data_ptr() == x.data_ptr()
    assert not nn.Parameter(x, requires_grad=False).requires_grad
    # built from a non-leaf: still a leaf, same memory
    y = jt.tensor([1.0, 2.0]).requires_grad_() * 2
    q = nn.Parameter(y)
    assert q.is_leaf and q.grad_fn is None and q.data_ptr() == y.data_ptr()
    assert nn.Parameter().shape == (0,)
    with pytest.raises(TypeError):
        nn.Parameter([1.0, 2.0])


def test_parameter_ops_return_plain_tensors():
    p = nn.Parameter(jt.tensor([[1.0, -2.0], [3.0, 4.0]], dtype=jt.float64))
    for r in (p * 2, p + p, p.sum(), p.reshape(4), p[0], p.T, p.detach(), p.clone(), p.to(jt.float32),
              jt.relu(p), p @ p, -p, p.exp()):
        assert type(r) is jt.Tensor
    assert all(type(r) is jt.Tensor for r in p.unbind(0))
    assert p.to(jt.float64) is p   # no conversion: the object itself, as in torch
    assert p.detach().requires_grad is False
    assert (p * 2).requires_grad and (p * 2).grad_fn is not None


def test_parameter_repr_matches_torch():
    a = np.array([[1.0, -2.5], [3.0, 4.25]], dtype=np.float32)
    assert repr(nn.Parameter(jt.tensor(a))) == repr(tnn.Parameter(torch.tensor(a)))
    assert repr(nn.Parameter(jt.tensor(a), requires_grad=False)) == \
        repr(tnn.Parameter(torch.tensor(a), requires_grad=False))
    assert repr(nn.Parameter(jt.tensor(a))).startswith("Parameter containing:\ntensor(")


def test_parameter_gradient_accumulates_and_deepcopy():
    p = nn.Parameter(jt.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    (p * 3).sum().backward()
    assert p.grad.tolist() == [5.0, 7.0]
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q.tolist() == [1.0, 2.0]
    assert q.data_ptr() != p.data_ptr() and q.grad.tolist() == [5.0, 7.0]


# ---- registration, names and order against torch -------------------------------------------------

class TMLP(tnn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = tnn.Linear(6, 8)
        self.act = tnn.GELU()
        self.drop = tnn.Dropout(0.25)
        self.fc2 = tnn.Linear(8, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.fc1(x))))


class JMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.act = nn.GELU()
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(8, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.drop(self.act(self.fc1(x))))


def make_cnn(lib):
    return lib.Sequential(OrderedDict([
        ("conv1", lib.Conv2d(3, 6, 3, padding=1)),
        ("bn1", lib.BatchNorm2d(6)),
        ("relu1", lib.ReLU()),
        ("pool", lib.MaxPool2d(2)),
        ("conv2", lib.Conv2d(6, 8, (3, 2), stride=(1, 2), padding=(1, 0), bias=False)),
        ("gn", lib.GroupNorm(2, 8)),
        ("act", lib.SiLU()),
        ("avg", lib.AdaptiveAvgPool2d((2, 2))),
        ("flat", lib.Flatten()),
        ("head", lib.Linear(32, 5)),
    ]))


def make_block(lib, batch_first=True):
    class Block(lib.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.Embedding(11, 8, padding_idx=0)
            self.ln1 = lib.LayerNorm(8)
            self.attn = lib.MultiheadAttention(8, 2, batch_first=batch_first)
            self.ln2 = lib.LayerNorm(8, eps=1e-6)
            self.mlp = lib.Sequential(lib.Linear(8, 16), lib.GELU(approximate="tanh"), lib.Linear(16, 8))
            self.heads = lib.ModuleList([lib.Linear(8, 4), lib.Linear(8, 4)])
            self.extra = lib.ModuleDict({"proj": lib.Linear(4, 2), "norm": lib.LayerNorm(2)})

        def forward(self, idx, mask=None):
            x = self.emb(idx)
            h = self.ln1(x)
            a, w = self.attn(h, h, h, key_padding_mask=mask)
            x = x + a
            x = x + self.mlp(self.ln2(x))
            y = self.heads[0](x) + self.heads[1](x)
            return self.extra["norm"](self.extra["proj"](y))
    return Block()


def test_mlp_layout_matches_torch():
    same_layout(TMLP(), JMLP())


def test_cnn_layout_matches_torch():
    tm, jm = make_cnn(tnn), make_cnn(nn)
    same_layout(tm, jm)
    assert "bn1.num_batches_tracked" in jm.state_dict()
    assert jm.state_dict()["bn1.num_batches_tracked"].dtype == jt.int64


def test_transformer_block_layout_matches_torch():
    tm, jm = make_block(tnn), make_block(nn)
    same_layout(tm, jm)
    names = [n for n, _ in jm.named_parameters()]
    assert "attn.in_proj_weight" in names and "attn.in_proj_bias" in names and "attn.out_proj.weight" in names


def test_mha_layouts_match_torch():
    for kw in [dict(), dict(bias=False), dict(kdim=5, vdim=3), dict(add_bias_kv=True)]:
        tm, jm = tnn.MultiheadAttention(8, 4, **kw), nn.MultiheadAttention(8, 4, **kw)
        same_layout(tm, jm)
        assert repr(jm) == repr(tm)


def test_model_forward_and_gradients_match_torch():
    x = rnd((4, 6), 1)
    run_pair(TMLP(), JMLP(), [x])
    run_pair(make_cnn(tnn), make_cnn(nn), [rnd((2, 3, 8, 12), 2)], train=True)
    run_pair(make_cnn(tnn), make_cnn(nn), [rnd((2, 3, 8, 12), 3)], train=False)
    idx = np.array([[1, 4, 2, 0, 0], [3, 3, 9, 10, 1]])
    mask = np.array([[False, False, False, True, True], [False] * 5])
    run_pair(make_block(tnn), make_block(nn), [idx], kwargs=dict(mask=mask))
    run_pair(make_block(tnn, False), make_block(nn, False), [idx.T])


def test_model_trains_like_torch():
    """Three SGD steps on the same data from the same weights: the same weights after."""
    tm, jm = make_cnn(tnn).double(), make_cnn(nn).double()
    copy_torch_weights(tm, jm)
    x, y = rnd((4, 3, 8, 8), 5), np.array([0, 3, 1, 4])
    tloss, jloss = tnn.CrossEntropyLoss(), nn.CrossEntropyLoss()
    for _ in range(3):
        tm.zero_grad()
        jm.zero_grad()
        lt = tloss(tm(torch.tensor(x)), torch.tensor(y))
        lj = jloss(jm(jt.tensor(x)), jt.tensor(y))
        close(lj, lt)
        lt.backward()
        lj.backward()
        with torch.no_grad():
            for p in tm.parameters():
                p -= 0.1 * p.grad
        with jt.no_grad():
            for p in jm.parameters():
                p.sub_(p.grad * 0.1)
    for (k, a), (k2, b) in zip(jm.state_dict().items(), tm.state_dict().items()):
        assert k == k2
        close(a, b, 1e-9)


# ---- each module type -------------------------------------------------------------------------------

MODULE_CASES = [
    # (id, constructor(lib), input arrays, kwargs for run_pair)
    ("linear", lambda L: L.Linear(5, 3), [rnd((4, 5), 1)], {}),
    ("linear_nobias_3d", lambda L: L.Linear(5, 3, bias=False), [rnd((2, 4, 5), 1)], {}),
    ("conv1d", lambda L: L.Conv1d(3, 4, 3), [rnd((2, 3, 9), 2)], {}),
    ("conv1d_args", lambda L: L.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), [rnd((2, 4, 11), 2)], {}),
    ("conv1d_same_unbatched", lambda L: L.Conv1d(3, 2, 5, padding="same", bias=False), [rnd((3, 8), 2)], {}),
    ("conv2d", lambda L: L.Conv2d(3, 4, 3), [rnd((2, 3, 7, 6), 3)], {}),
    ("conv2d_args", lambda L: L.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     [rnd((2, 4, 8, 7), 3)], {}),
    ("conv2d_same", lambda L: L.Conv2d(2, 3, (2, 3), padding="same"), [rnd((2, 2, 6, 5), 3)], {}),
    ("conv2d_valid", lambda L: L.Conv2d(2, 3, 2, padding="valid"), [rnd((1, 2, 5, 5), 3)], {}),
    ("maxpool2d", lambda L: L.MaxPool2d(2), [rnd((2, 3, 6, 7), 4)], {}),
    ("maxpool2d_args", lambda L: L.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True),
     [rnd((2, 2, 7, 8), 4)], {}),
    ("maxpool2d_indices", lambda L: L.MaxPool2d(2, return_indices=True), [rnd((1, 2, 4, 6), 4)], dict(index=0)),
    ("avgpool2d", lambda L: L.AvgPool2d(2), [rnd((2, 3, 6, 7), 5)], {}),
    ("avgpool2d_args", lambda L: L.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
     [rnd((2, 2, 7, 8), 5)], {}),
    ("adaptiveavgpool2d", lambda L: L.AdaptiveAvgPool2d((3, None)), [rnd((2, 3, 7, 5), 5)], {}),
    ("adaptiveavgpool2d_int", lambda L: L.AdaptiveAvgPool2d(2), [rnd((3, 7, 5), 5)], {}),
    ("batchnorm1d_train", lambda L: L.BatchNorm1d(4), [rnd((6, 4), 6)], dict(train=True)),
    ("batchnorm1d_3d_train", lambda L: L.BatchNorm1d(4, affine=False), [rnd((3, 4, 5), 6)], dict(train=True)),
    ("batchnorm1d_eval", lambda L: L.BatchNorm1d(4), [rnd((6, 4), 6)], {}),
    ("batchnorm2d_train", lambda L: L.BatchNorm2d(3, momentum=0.3, eps=1e-3), [rnd((2, 3, 4, 5), 7)],
     dict(train=True)),
    ("batchnorm2d_no_stats", lambda L: L.BatchNorm2d(3, track_running_stats=False), [rnd((2, 3, 4, 5), 7)], {}),
    ("batchnorm2d_eval", lambda L: L.BatchNorm2d(3), [rnd((2, 3, 4, 5), 7)], {}),
    ("layernorm", lambda L: L.LayerNorm(5), [rnd((3, 4, 5), 8)], {}),
    ("layernorm_2d_shape", lambda L: L.LayerNorm([4, 5], eps=1e-3, bias=False), [rnd((3, 4, 5), 8)], {}),
    ("layernorm_no_affine", lambda L: L.LayerNorm(5, elementwise_affine=False), [rnd((2, 5), 8)], {}),
    ("groupnorm", lambda L: L.GroupNorm(2, 6), [rnd((2, 6, 3, 4), 9)], {}),
    ("groupnorm_no_affine", lambda L: L.GroupNorm(3, 3, affine=False), [rnd((2, 3, 5), 9)], {}),
    ("embedding", lambda L: L.Embedding(10, 4), [np.array([[1, 2, 2], [9, 0, 4]])], {}),
    ("embedding_padding", lambda L: L.Embedding(10, 4, padding_idx=2), [np.array([[1, 2, 2], [9, 0, 4]])], {}),
    ("embedding_max_norm", lambda L: L.Embedding(10, 4, max_norm=1.5), [np.array([[1, 2, 2], [9, 0, 4]])], {}),
    ("embedding_freq", lambda L: L.Embedding(6, 3, scale_grad_by_freq=True), [np.array([1, 1, 5, 1])], {}),
    ("dropout_eval", lambda L: L.Dropout(0.5), [rnd((4, 5), 10)], {}),
    ("relu", lambda L: L.ReLU(), [rnd((4, 5), 11)], {}),
    ("gelu", lambda L: L.GELU(), [rnd((4, 5), 11)], {}),
    ("gelu_tanh", lambda L: L.GELU(approximate="tanh"), [rnd((4, 5), 11)], {}),
    ("silu", lambda L: L.SiLU(), [rnd((4, 5), 11)], {}),
    ("tanh", lambda L: L.Tanh(), [rnd((4, 5), 11)], {}),
    ("sigmoid", lambda L: L.Sigmoid(), [rnd((4, 5), 11)], {}),
    ("softmax", lambda L: L.Softmax(dim=1), [rnd((3, 4, 5), 11)], {}),
    ("logsoftmax", lambda L: L.LogSoftmax(dim=-1), [rnd((3, 4, 5), 11)], {}),
    ("identity", lambda L: L.Identity(3, unused=True), [rnd((2, 3), 11)], {}),
    ("flatten", lambda L: L.Flatten(), [rnd((2, 3, 4, 5), 12)], {}),
    ("flatten_range", lambda L: L.Flatten(0, 1), [rnd((2, 3, 4), 12)], {}),
    ("unflatten", lambda L: L.Unflatten(1, (2, 3)), [rnd((4, 6, 2), 12)], {}),
    ("sequential", lambda L: L.Sequential(L.Linear(4, 6), L.Tanh(), L.Linear(6, 2)), [rnd((3, 4), 13)], {}),
    ("mse", lambda L: L.MSELoss(), [rnd((3, 4), 14), rnd((3, 4), 15)], {}),
    ("mse_sum", lambda L: L.MSELoss(reduction="sum"), [rnd((3, 4), 14), rnd((3, 4), 15)], {}),
    ("l1", lambda L: L.L1Loss(reduction="none"), [rnd((3, 4), 14), rnd((3, 4), 15)], {}),
    ("cross_entropy", lambda L: L.CrossEntropyLoss(), [rnd((5, 4), 16), np.array([0, 3, 1, 1, 2])], {}),
    ("cross_entropy_smooth", lambda L: L.CrossEntropyLoss(label_smoothing=0.1, ignore_index=1),
     [rnd((5, 4), 16), np.array([0, 3, 1, 1, 2])], {}),
    ("cross_entropy_probs", lambda L: L.CrossEntropyLoss(reduction="sum"),
     [rnd((3, 4), 16), np.abs(rnd((3, 4), 17))], dict(grad_inputs=True)),
    ("nll", lambda L: L.NLLLoss(reduction="sum"), [rnd((5, 4), 18), np.array([0, 3, 1, 1, 2])], {}),
    ("bce_logits", lambda L: L.BCEWithLogitsLoss(), [rnd((3, 4), 19), (rnd((3, 4), 20) > 0).astype(np.float64)],
     {}),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")   # torch's, asymmetric pad
@pytest.mark.parametrize("name,ctor,arrays,kw", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_module_matches_torch(name, ctor, arrays, kw):
    tm, jm = ctor(tnn), ctor(nn)
    same_layout(tm, jm)
    assert repr(jm) == repr(tm)
    run_pair(tm, jm, arrays, **kw)


def test_weighted_losses_match_torch():
    w = rnd(4, 21) ** 2
    for lib_ctor in (lambda L, W: L.CrossEntropyLoss(weight=W), lambda L, W: L.NLLLoss(weight=W)):
        tm, jm = lib_ctor(tnn, torch.tensor(w)), lib_ctor(nn, jt.tensor(w))
        assert shapes(jm.state_dict().items()) == shapes(tm.state_dict().items()) == [("weight", (4,))]
        run_pair(tm, jm, [rnd((5, 4), 22), np.array([0, 3, 1, 1, 2])])
    pw = np.abs(rnd(4, 23))
    tm = tnn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw))
    jm = nn.BCEWithLogitsLoss(weight=jt.tensor(w), pos_weight=jt.tensor(pw))
    assert list(jm.state_dict()) == list(tm.state_dict()) == ["weight", "pos_weight"]
    run_pair(tm, jm, [rnd((3, 4), 24), (rnd((3, 4), 25) > 0).astype(np.float64)])


def test_conv_padding_modes_match_torch():
    for mode in ("reflect", "replicate", "circular"):
        for ctor, x in ((lambda L: L.Conv2d(2, 3, 3, padding=1, padding_mode=mode), rnd((2, 2, 5, 6), 26)),
                        (lambda L: L.Conv1d(2, 3, 3, padding="same", padding_mode=mode), rnd((2, 2, 7), 27))):
            tm, jm = ctor(tnn), ctor(nn)
            assert repr(jm) == repr(tm)
            run_pair(tm, jm, [x])


MHA_CASES = [
    ("self_batch_first", dict(batch_first=True), "self", (2, 5), {}),
    ("self_seq_first", dict(), "self", (5, 2), {}),
    ("cross", dict(batch_first=True), "cross", (2, 5), {}),
    ("no_bias", dict(bias=False), "self", (4, 3), {}),
    ("kdim_vdim", dict(kdim=5, vdim=3, batch_first=True), "kv", (2, 4), {}),
    ("per_head_weights", dict(batch_first=True), "self", (2, 5), dict(average_attn_weights=False)),
    ("attn_mask_bool", dict(batch_first=True), "self", (2, 5), dict(attn_mask="causal_bool")),
    ("attn_mask_float", dict(), "self", (5, 2), dict(attn_mask="float")),
    ("key_padding_mask", dict(batch_first=True), "self", (2, 5), dict(key_padding_mask="kpm")),
    ("both_masks_no_weights", dict(batch_first=True), "self", (2, 5),
     dict(key_padding_mask="kpm", attn_mask="causal_bool", need_weights=False)),
    ("no_weights", dict(batch_first=True), "cross", (2, 5), dict(need_weights=False)),
    ("causal_hint", dict(batch_first=True), "self", (2, 5),
     dict(attn_mask="causal_bool", is_causal=True, need_weights=False)),
    ("unbatched", dict(), "self", (5,), {}),
    ("unbatched_kpm", dict(), "self", (5,), dict(key_padding_mask="kpm1")),
    ("mask_3d", dict(batch_first=True), "self", (2, 5), dict(attn_mask="3d")),
]


def _mha_inputs(kind, lead, E=8):
    if kind == "self":
        x = rnd(lead + (E,), 30)
        return [x, x, x]
    if kind == "cross":
        src = (lead[0], 3) if len(lead) == 2 else (3,)
        return [rnd(lead + (E,), 31), rnd(src + (E,), 32), rnd(src + (E,), 33)]
    return [rnd(lead + (E,), 34), rnd(lead + (5,), 35), rnd(lead + (3,), 36)]


def _mha_kwargs(kw, L, S, N, H):
    out = {}
    for k, v in kw.items():
        if v == "causal_bool":
            out[k] = np.triu(np.ones((L, S), dtype=bool), 1)
        elif v == "float":
            out[k] = rnd((L, S), 40)
        elif v == "kpm":
            m = np.zeros((N, S), dtype=bool)
            m[0, -2:] = True
            out[k] = m
        elif v == "kpm1":
            out[k] = np.array([False, False, True, False, True])
        elif v == "3d":
            out[k] = rnd((N * H, L, S), 41)
        else:
            out[k] = v
    return out


@pytest.mark.parametrize("name,ctor_kw,kind,lead,fkw", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_multihead_attention_matches_torch(name, ctor_kw, kind, lead, fkw):
    tm, jm = tnn.MultiheadAttention(8, 2, **ctor_kw), nn.MultiheadAttention(8, 2, **ctor_kw)
    arrays = _mha_inputs(kind, lead)
    bf = ctor_kw.get("batch_first", False)
    if len(lead) == 1:
        L, N = lead[0], 1
    else:
        L, N = (lead[1], lead[0]) if bf else (lead[0], lead[1])
    S = arrays[1].shape[-2] if len(lead) == 2 and bf else arrays[1].shape[0]
    kwargs = _mha_kwargs(fkw, L, S, N, 2)
    run_pair(tm, jm, arrays, kwargs=kwargs, index=0)
    # attention weights (when returned) match too
    tm.eval()
    jm.eval()
    tout = tm(*[torch.tensor(a) for a in arrays],
              **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    jout = jm(*[jt.tensor(a) for a in arrays],
              **{k: jt.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    if tout[1] is None:
        assert jout[1] is None
    else:
        close(jout[1], tout[1])


def test_multihead_attention_bias_kv_and_zero_attn():
    for kw in (dict(add_bias_kv=True), dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True)):
        tm, jm = tnn.MultiheadAttention(8, 2, **kw), nn.MultiheadAttention(8, 2, **kw)
        x = rnd((4, 2, 8), 42)
        kpm = np.zeros((2, 4), dtype=bool)
        kpm[1, 0] = True
        run_pair(tm, jm, [x, x, x], kwargs=dict(key_padding_mask=kpm), index=0)
        with torch.no_grad(), jt.no_grad():
            to = tm(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(kpm))
            jo = jm(*[jt.tensor(x)] * 3, key_padding_mask=jt.tensor(kpm))
        close(jo[1], to[1])


def test_multihead_attention_dropout_train_mode():
    jm = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = jt.tensor(rnd((2, 5, 8), 43))
    jm.eval()
    a1, _ = jm(x, x, x)
    a2, _ = jm(x, x, x)
    close(a1, a2.numpy())
    jm.train()
    jt.manual_seed(0)
    _, w = jm(x, x, x, average_attn_weights=False)
    wn = w.numpy()
    assert (wn == 0).mean() > 0.2   # dropped attention probabilities
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(RuntimeError, match="attn_mask"):
        jm(x, x, x, is_causal=True)


# ---- train / eval ------------------------------------------------------------------------------------

def test_dropout_train_and_eval():
    m = nn.Dropout(0.3)
    x = jt.ones(200, 100, dtype=jt.float64)
    jt.manual_seed(3)
    y = m(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    m.eval()
    assert not m.training
    assert m(x) is x
    seq = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    seq.eval()
    assert not seq[1].training and not seq.training
    seq.train()
    assert seq[1].training
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_batchnorm_running_stats_match_torch():
    for mom in (0.1, None):
        tm, jm = tnn.BatchNorm2d(3, momentum=mom).double(), nn.BatchNorm2d(3, momentum=mom).double()
        for step in range(3):
            x = rnd((4, 3, 2, 5), 50 + step, scale=2.0) + step
            close(jm(jt.tensor(x)), tm(torch.tensor(x)))
        for k in ("running_mean", "running_var"):
            close(getattr(jm, k), getattr(tm, k))
        assert int(jm.num_batches_tracked.item()) == 3
        jm.eval()
        tm.eval()
        x = rnd((2, 3, 2, 2), 60)
        close(jm(jt.tensor(x)), tm(torch.tensor(x)))
        before = jm.running_mean.numpy().copy()
        jm(jt.tensor(x))
        np.testing.assert_array_equal(jm.running_mean.numpy(), before)   # eval: no update
        assert int(jm.num_batches_tracked.item()) == 3


def test_batchnorm_without_running_stats_and_input_checks():
    m = nn.BatchNorm1d(4, track_running_stats=False)
    assert m.running_mean is None and list(m.state_dict()) == ["weight", "bias"]
    m.eval()
    x = jt.tensor(rnd((5, 4), 61))
    y = m(x).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)   # batch statistics even in eval
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        m(jt.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(4)(jt.zeros(2, 4))


def test_batchnorm_loads_state_without_num_batches_tracked():
    tm = tnn.BatchNorm1d(3)
    sd = torch_state_to_jt(tm)
    del sd["num_batches_tracked"]
    jm = nn.BatchNorm1d(3)
    r = jm.load_state_dict(sd)   # an old checkpoint: no metadata, the buffer is filled in
    assert r.missing_keys == []
    sd = jm.state_dict()
    del sd["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches_tracked"'):
        nn.BatchNorm1d(3).load_state_dict(sd)   # jtensor's own state dict carries version metadata


# ---- hooks --------------------------------------------------------------------------------------------

def test_forward_hooks():
    m = nn.Linear(3, 2)
    calls = []

    def pre(mod, args):
        calls.append(("pre", mod))
        return args[0] * 0

    def post(mod, args, out):
        calls.append(("post", args[0].sum().item()))
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    x = jt.ones(4, 3)
    y = m(x)
    assert calls == [("pre", m), ("post", 0.0)]
    close(y, np.broadcast_to(m.bias.detach().numpy() + 1, (4, 2)), 1e-6)
    h1.remove()
    h2.remove()
    close(m(x), (x @ m.weight.T + m.bias).detach().numpy(), 1e-6)
    assert len(calls) == 2


def test_forward_hooks_kwargs_prepend_always_call_and_context():
    class Add(nn.Module):
        def forward(self, x, y=0.0):
            if y == -1:
                raise ValueError("boom")
            return x + y

    m = Add()
    order = []
    m.register_forward_hook(lambda mod, a, o: order.append("second"))
    m.register_forward_hook(lambda mod, a, o: order.append("first"), prepend=True)
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {"y": 10.0}), with_kwargs=True)
    seen = []
    m.register_forward_hook(lambda mod, a, kw, o: seen.append(kw["y"]), with_kwargs=True)
    assert m(jt.tensor([1.0]), y=2.0).tolist() == [11.0]
    assert order == ["first", "second"] and seen == [10.0]
    m2 = Add()
    always = []
    m2.register_forward_hook(lambda mod, a, o: always.append(o), always_call=True)
    with pytest.raises(ValueError, match="boom"):
        m2(jt.tensor([1.0]), y=-1)
    assert always == [None]
    with m2.register_forward_pre_hook(lambda mod, a: (a[0] * 2,)):
        assert m2(jt.tensor([1.0])).tolist() == [2.0]
    assert m2(jt.tensor([1.0])).tolist() == [1.0]


def test_hooks_on_submodules_see_activations():
    model = JMLP()
    acts = {}
    for name, mod in model.named_children():
        mod.register_forward_hook(lambda mod, a, o, name=name: acts.__setitem__(name, o.shape))
    model(jt.randn(7, 6))
    assert acts == {"fc1": (7, 8), "act": (7, 8), "drop": (7, 8), "fc2": (7, 3)}


# ---- repr -----------------------------------------------------------------------------------------------

def test_repr_matches_torch_for_models():
    assert repr(JMLP()).replace("JMLP", "TMLP") == repr(TMLP())
    assert repr(make_cnn(nn)) == repr(make_cnn(tnn))
    assert repr(make_block(nn)) == repr(make_block(tnn))


def test_repr_matches_torch_for_module_variants():
    ctors = [
        lambda L: L.Conv2d(3, 6, 3, stride=2, padding=1, dilation=2, groups=3, bias=False, padding_mode="reflect"),
        lambda L: L.Conv1d(2, 4, 5, padding="same"),
        lambda L: L.Embedding(10, 3, padding_idx=-1, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True,
                              sparse=True),
        lambda L: L.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False, track_running_stats=False),
        lambda L: L.LayerNorm((2, 3), elementwise_affine=False),
        lambda L: L.GroupNorm(1, 4, affine=False),
        lambda L: L.ReLU(inplace=True), lambda L: L.SiLU(inplace=True), lambda L: L.Softmax(),
        lambda L: L.Dropout(0.1, inplace=True), lambda L: L.MaxPool2d((2, 3), (1, 2), 1, ceil_mode=True),
        lambda L: L.AvgPool2d(3, 2, 1), lambda L: L.Unflatten(-1, [2, 2]),
        lambda L: L.ModuleList([L.Linear(2, 2), L.Linear(2, 2), L.Linear(2, 2), L.ReLU(), L.Linear(2, 2)]),
        lambda L: L.ModuleList(), lambda L: L.Sequential(), lambda L: L.ModuleDict({"a": L.Tanh()}),
        lambda L: L.CrossEntropyLoss(), lambda L: L.MultiheadAttention(4, 2, kdim=2, vdim=3),
        lambda L: L.Sequential(L.Sequential(L.Linear(1, 2), L.Sequential(L.Sigmoid())), L.Identity()),
    ]
    for ctor in ctors:
        assert repr(ctor(nn)) == repr(ctor(tnn))

    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(1, 1)

        def extra_repr(self):
            return "alpha=1\nbeta=2"

    assert repr(WithExtra()) == ("WithExtra(\n  alpha=1\n  beta=2\n  (inner): Linear(in_features=1, out_features=1, "
                                 "bias=True)\n)")


# ---- init ----------------------------------------------------------------------------------------------

def _stats(t):
    a = t.detach().to(jt.float64).numpy().ravel()
    return a.mean(), a.std(), a.min(), a.max()


def test_init_uniform_normal_constant():
    jt.manual_seed(2)
    t = jt.empty(200, 200)
    mean, std, lo, hi = _stats(init.uniform_(t, -2.0, 3.0))
    assert abs(mean - 0.5) < 0.03 and abs(std - 5 / math.sqrt(12)) < 0.02 and lo >= -2 and hi < 3
    mean, std, _, _ = _stats(init.normal_(t, 1.5, 0.5))
    assert abs(mean - 1.5) < 0.01 and abs(std - 0.5) < 0.01
    assert init.constant_(t, 0.25) is t and set(t.numpy().ravel().tolist()) == {0.25}
    assert set(init.zeros_(t).numpy().ravel().tolist()) == {0.0}
    assert set(init.ones_(t).numpy().ravel().tolist()) == {1.0}
    d = jt.empty(100, 50, dtype=jt.float64)
    assert d.dtype == jt.float64 and abs(_stats(init.normal_(d))[1] - 1) < 0.02
    h = init.uniform_(jt.empty(1000, dtype=jt.bfloat16), 0, 1)
    assert h.dtype == jt.bfloat16 and 0.45 < _stats(h)[0] < 0.55


def test_init_is_seeded_and_in_place_under_no_grad():
    p = nn.Parameter(jt.empty(20, 30))
    jt.manual_seed(7)
    init.kaiming_normal_(p)
    a = p.detach().numpy().copy()
    jt.manual_seed(7)
    init.kaiming_normal_(p)
    np.testing.assert_array_equal(p.detach().numpy(), a)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    jt.manual_seed(11)
    m1 = nn.Linear(5, 4)
    jt.manual_seed(11)
    m2 = nn.Linear(5, 4)
    np.testing.assert_array_equal(m1.weight.detach().numpy(), m2.weight.detach().numpy())


def test_init_fans_and_gains_match_torch():
    for shape in [(3, 4), (5, 2, 3), (6, 3, 2, 4), (2, 3, 1, 1, 2)]:
        assert init._calculate_fan_in_and_fan_out(jt.empty(*shape)) == \
            tnn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(jt.empty(3))
    for args in [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
                 ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu",)]:
        assert init.calculate_gain(*args) == tnn.init.calculate_gain(*args)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


def test_init_xavier_and_kaiming_statistics():
    jt.manual_seed(3)
    t = jt.empty(300, 200)
    fan_in, fan_out = 200, 300
    b = math.sqrt(6 / (fan_in + fan_out)) * 2
    mean, std, lo, hi = _stats(init.xavier_uniform_(t, gain=2))
    assert -b <= lo and hi <= b and abs(std - b / math.sqrt(3)) < 0.01 * b and abs(mean) < 0.01 * b
    s = math.sqrt(2 / (fan_in + fan_out))
    mean, std, _, _ = _stats(init.xavier_normal_(t))
    assert abs(std - s) < 0.01 * s and abs(mean) < 0.01 * s
    w = jt.empty(64, 32, 3, 3)
    fan_in = 32 * 9
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    mean, std, lo, hi = _stats(init.kaiming_uniform_(w, nonlinearity="relu"))
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.02 * bound
    s = math.sqrt(2 / (1 + 0.2 ** 2)) / math.sqrt(64 * 9)
    mean, std, _, _ = _stats(init.kaiming_normal_(w, a=0.2, mode="fan_out"))
    assert abs(std - s) < 0.02 * s and abs(mean) < 0.03 * s
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(w, mode="fan_avg")
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(jt.empty(0, 3))


def test_init_default_linear_and_conv_bounds():
    lin = nn.Linear(50, 200)
    bound = 1 / math.sqrt(50)
    for p in (lin.weight, lin.bias):
        _, std, lo, hi = _stats(p)
        assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.1 * bound
    conv = nn.Conv2d(4, 64, 3)
    bound = 1 / math.sqrt(4 * 9)
    _, std, lo, hi = _stats(conv.weight)
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.05 * bound
    emb = nn.Embedding(300, 20, padding_idx=3)
    mean, std, _, _ = _stats(emb.weight)
    assert abs(std - 1) < 0.05 and abs(mean) < 0.05
    assert emb.weight.detach().numpy()[3].tolist() == [0.0] * 20
    mha = nn.MultiheadAttention(16, 4)
    b = math.sqrt(6 / (16 + 48))
    _, _, lo, hi = _stats(mha.in_proj_weight)
    assert -b <= lo and hi <= b
    assert np.all(mha.in_proj_bias.detach().numpy() == 0) and np.all(mha.out_proj.bias.detach().numpy() == 0)


def _trunc_normal_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)   # noqa: E731
    Phi = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2             # noqa: E731
    Z = Phi(be) - Phi(al)
    m = mean + (phi(al) - phi(be)) / Z * std
    var = std ** 2 * (1 + (al * phi(al) - be * phi(be)) / Z - ((phi(al) - phi(be)) / Z) ** 2)
    return m, math.sqrt(var)


def test_init_trunc_normal_statistics():
    jt.manual_seed(1)
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (0.5, 0.2, 0.0, 0.6), (0.0, 0.02, -0.04, 0.04),
                            (0.0, 1.0, 1.0, 3.0)]:
        t = init.trunc_normal_(jt.empty(200, 200, dtype=jt.float64), mean, std, a, b)
        m, s, lo, hi = _stats(t)
        em, es = _trunc_normal_moments(mean, std, a, b)
        assert a <= lo and hi <= b
        # standard errors are below 0.005 * std with 40000 samples
        assert abs(m - em) < 0.02 * std and abs(s - es) < 0.02 * std, (m, em, s, es)
    f = init.trunc_normal_(jt.empty(1000), std=0.02)
    assert f.dtype == jt.float32 and abs(_stats(f)[1] - 0.02) < 0.002


def test_init_orthogonal_eye_dirac():
    for shape in [(6, 4), (4, 6), (3, 2, 2, 2)]:
        t = init.orthogonal_(jt.empty(*shape, dtype=jt.float64), gain=2.0)
        q = t.numpy().reshape(shape[0], -1)
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, 4 * np.eye(small.shape[0]), atol=1e-10)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(jt.empty(3))
    np.testing.assert_array_equal(init.eye_(jt.empty(3, 5)).numpy(), tnn.init.eye_(torch.empty(3, 5)).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(jt.empty(2, 2, 2))
    for shape, groups in [((4, 4, 3), 1), ((6, 2, 3, 3), 2), ((2, 3, 1, 3, 2), 1)]:
        np.testing.assert_array_equal(init.dirac_(jt.empty(*shape), groups).numpy(),
                                      tnn.init.dirac_(torch.empty(*shape), groups).numpy())


def test_init_works_on_parameters_requiring_grad():
    m = nn.Linear(4, 3)
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_, init.trunc_normal_, init.orthogonal_, init.zeros_, init.ones_, init.eye_):
        assert fn(m.weight) is m.weight
        assert m.weight.is_leaf and m.weight.requires_grad and isinstance(m.weight, nn.Parameter)


# ---- state dict loading ------------------------------------------------------------------------------

def _torch_error(tm, sd, **kw):
    with pytest.raises(RuntimeError) as e:
        tm.load_state_dict(sd, **kw)
    return strip_module_paths(str(e.value))


def _jt_error(jm, sd, **kw):
    with pytest.raises(RuntimeError) as e:
        jm.load_state_dict(sd, **kw)
    return str(e.value)


def test_strict_load_errors_match_torch():
    tm, jm = TMLP(), JMLP()
    tsd, jsd = tm.state_dict(), jm.state_dict()
    # missing and unexpected keys
    tbad = OrderedDict((k, v) for k, v in tsd.items() if k != "fc1.bias")
    tbad["fc3.weight"] = torch.zeros(2)
    tbad["fc1.extra"] = torch.zeros(2)
    jbad = OrderedDict((k, v) for k, v in jsd.items() if k != "fc1.bias")
    jbad["fc3.weight"] = jt.zeros(2)
    jbad["fc1.extra"] = jt.zeros(2)
    msg = _jt_error(jm, jbad)
    assert msg.replace("JMLP", "TMLP") == _torch_error(tm, tbad)
    assert 'Missing key(s) in state_dict: "fc1.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "fc3.weight", "fc1.extra".' in msg
    # shape mismatch
    tbad = OrderedDict(tsd)
    tbad["fc2.weight"] = torch.zeros(3, 7)
    jbad = OrderedDict(jsd)
    jbad["fc2.weight"] = jt.zeros(3, 7)
    msg = _jt_error(jm, jbad)
    assert msg.replace("JMLP", "TMLP") == _torch_error(tm, tbad)
    assert "size mismatch for fc2.weight: copying a param with shape [3, 7] from checkpoint, the shape in " \
           "current model is [3, 8]." in msg
    # non-strict: keys reported, shapes still checked, matching entries copied
    jbad = OrderedDict((k, v) for k, v in jsd.items() if k != "fc1.bias")
    jbad["zzz"] = jt.zeros(1)
    jbad["fc2.weight"] = jt.full((3, 8), 0.5)
    r = jm.load_state_dict(jbad, strict=False)
    assert r.missing_keys == ["fc1.bias"] and r.unexpected_keys == ["zzz"]   # reported, as torch does
    assert set(jm.fc2.weight.detach().numpy().ravel().tolist()) == {0.5}
    r = JMLP().load_state_dict(jsd)
    assert repr(r) == "<All keys matched successfully>" and tuple(r) == ([], [])
    with pytest.raises(TypeError, match="dict-like"):
        jm.load_state_dict([1, 2])
    with pytest.raises(RuntimeError, match="expected jtensor.Tensor"):
        jm.load_state_dict({**jsd, "fc1.bias": [0.0] * 8})


def test_load_state_dict_copies_in_place_and_converts_dtype():
    jm = JMLP()
    w = jm.fc1.weight
    src = {k: (v.to(jt.float64) + 1) for k, v in jm.state_dict().items()}
    jm.load_state_dict(src)
    assert jm.fc1.weight is w and w.dtype == jt.float32 and w.requires_grad and w.is_leaf
    close(w, src["fc1.weight"].numpy(), 1e-6)
    sd = jm.state_dict()
    assert sd["fc1.weight"].data_ptr() == w.data_ptr()      # a view, not a copy
    assert not sd["fc1.weight"].requires_grad and type(sd["fc1.weight"]) is jt.Tensor
    kv = jm.state_dict(keep_vars=True)
    assert kv["fc1.weight"] is w
    assert list(jm.state_dict(prefix="model.")) == ["model." + k for k in sd]


# ---- Module API -------------------------------------------------------------------------------------

def test_setattr_registration_and_errors():
    m = nn.Module()
    m.p = nn.Parameter(jt.zeros(2))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("buf", jt.ones(3))
    m.register_buffer("tmp", jt.ones(1), persistent=False)
    m.plain = jt.zeros(1)
    assert list(m._parameters) == ["p"] and list(m._modules) == ["sub"]
    assert list(m._buffers) == ["buf", "tmp"]
    assert list(m.state_dict()) == ["p", "buf", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_buffers()] == ["buf", "tmp"]
    assert "plain" not in m.state_dict()
    with pytest.raises(TypeError, match="cannot assign 'jtensor.Tensor' as parameter 'p'"):
        m.p = jt.zeros(2)
    m.p = None
    assert m.p is None and "p" not in m.state_dict()
    with pytest.raises(TypeError, match="as child module 'sub'"):
        m.sub = 3
    m.buf = jt.zeros(3)
    assert m.state_dict()["buf"].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="as buffer"):
        m.buf = 3
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", jt.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="parameter 'q'"):
        m.register_parameter("q", jt.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("q", _nonleaf_parameter())
    del m.sub, m.buf
    assert "sub" not in m._modules and "buf" not in m._buffers
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        m.nothing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(jt.zeros(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    # re-assigning a name moves it between kinds
    m2 = nn.Module()
    m2.x = nn.Linear(1, 1)
    m2.x = nn.Parameter(jt.zeros(1))
    assert "x" in m2._parameters and "x" not in m2._modules


def _nonleaf_parameter():
    p = nn.Parameter(jt.zeros(1))
    q = p * 2
    return q.as_subclass(nn.Parameter)


def test_parameters_shared_modules_and_traversal():
    shared = nn.Linear(2, 2)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(m.parameters())) == 2
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in m.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"]
    assert len(list(m.modules())) == 3 and len(list(m.children())) == 2
    assert [n for n, _ in m.named_parameters(prefix="net")] == ["net.0.weight", "net.0.bias"]
    assert list(nn.Sequential(nn.Linear(1, 1)).parameters(recurse=False)) == []
    blk = make_block(nn)
    assert blk.get_submodule("attn.out_proj") is blk.attn.out_proj
    assert blk.get_parameter("mlp.0.weight") is blk.mlp[0].weight
    with pytest.raises(AttributeError):
        blk.get_submodule("mlp.7")
    bn = nn.BatchNorm1d(2)
    assert nn.Sequential(bn).get_buffer("0.running_mean") is bn.running_mean


def test_train_eval_zero_grad_requires_grad_apply():
    m = make_cnn(nn).double()
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m and not any(c.training for c in m.modules())
    m.train()
    y = m(jt.randn(2, 3, 8, 8, dtype=jt.float64)).sum()
    y.backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen[-1] == "Sequential" and seen[0] == "Conv2d"

    def init_linear(mod):
        if isinstance(mod, nn.Linear):
            init.zeros_(mod.weight)
    m.apply(init_linear)
    assert not m.head.weight.detach().numpy().any()


def test_dtype_conversion():
    m = make_cnn(nn)
    w = m.conv1.weight
    assert m.double() is m
    assert all(p.dtype == jt.float64 for p in m.parameters())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in m.parameters())
    assert m.bn1.running_mean.dtype == jt.float64 and m.bn1.num_batches_tracked.dtype == jt.int64
    close(m.conv1.weight, w.detach().numpy(), 1e-7)
    y = m(jt.randn(1, 3, 8, 8, dtype=jt.float64))
    assert y.dtype == jt.float64
    m.float()
    assert m.conv1.weight.dtype == jt.float32
    m.to(jt.float64)
    assert m.conv1.weight.dtype == jt.float64
    m.to("cpu", dtype=jt.float32)
    assert m.conv1.weight.dtype == jt.float32
    p = m.conv1.weight
    assert m.to("cpu") is m and m.conv1.weight is p and m.cpu() is m
    m.to(jt.zeros(1, dtype=jt.float64))
    assert m.head.bias.dtype == jt.float64
    with pytest.raises(TypeError, match="floating point or complex"):
        m.to(jt.int32)
    with pytest.raises(ValueError, match="device"):
        m.to("cuda")
    lin = nn.Linear(2, 2, dtype=jt.float64)
    assert lin.weight.dtype == jt.float64
    lin(jt.ones(1, 2, dtype=jt.float64)).sum().backward()
    lin.float()
    assert lin.weight.grad.dtype == jt.float32


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and isinstance(seq[1], nn.ReLU)
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    assert list(head._modules) == ["0", "1"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]
    y = seq(jt.ones(5, 2))
    assert y.shape == (5, 1) and float(y.detach().min()) > 0
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[1], nn.Linear)
    seq[2] = nn.Tanh()
    assert isinstance(seq[2], nn.Tanh)
    seq.insert(0, nn.Identity())
    assert isinstance(seq[0], nn.Identity) and len(seq) == 4
    assert len(seq + nn.Sequential(nn.ReLU())) == 5
    with pytest.raises(IndexError):
        seq[10]
    named = nn.Sequential(OrderedDict([("a", nn.Linear(1, 2)), ("b", nn.ReLU())]))
    assert list(named.state_dict()) == ["a.weight", "a.bias"]
    assert [type(m).__name__ for m in named] == ["Linear", "ReLU"]

    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(1, nn.Sigmoid())
    assert len(ml) == 6 and isinstance(ml[1], nn.Sigmoid) and isinstance(ml[-1], nn.Tanh)
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight",
                                                     "3.bias"]
    del ml[0]
    assert len(ml) == 5 and isinstance(ml[0], nn.Sigmoid)
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(nn.ReLU())

    md = nn.ModuleDict({"lin": nn.Linear(2, 2), "act": nn.ReLU()})
    md["out"] = nn.Linear(2, 1)
    md.update([("norm", nn.LayerNorm(1))])
    assert list(md.keys()) == ["lin", "act", "out", "norm"] and "act" in md and len(md) == 4
    assert list(md.state_dict()) == ["lin.weight", "lin.bias", "out.weight", "out.bias", "norm.weight",
                                     "norm.bias"]
    assert isinstance(md.pop("act"), nn.ReLU) and "act" not in md
    assert [k for k, _ in md.items()] == list(md) == ["lin", "out", "norm"]


def test_forward_not_implemented_and_unexpected_init_args():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(jt.zeros(1))
    with pytest.raises(TypeError):
        nn.Module(3)


def test_state_dict_interchanges_with_torch_both_ways():
    tm, jm = make_block(tnn), make_block(nn)
    jm.load_state_dict(torch_state_to_jt(tm))
    tm2 = make_block(tnn)
    tm2.load_state_dict({k: torch.from_dlpack(v) for k, v in jm.state_dict().items()})
    idx = np.array([[1, 2, 3]])
    tm.eval()
    tm2.eval()
    jm.eval()
    ref = tm(torch.tensor(idx))
    close(tm2(torch.tensor(idx)), ref, 1e-6)
    close(jm(jt.tensor(idx)), ref, 1e-5)
    assert re.fullmatch(r"_IncompatibleKeys\(missing_keys=\[.*\], unexpected_keys=\[\]\)",
                        repr(jm.load_state_dict({"emb.weight": jm.emb.weight.detach()}, strict=False)))


def test_deepcopy_and_pickle_modules():
    import pickle
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    m(jt.randn(5, 3, dtype=jt.float64))   # running statistics move
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
        assert clone[0].weight.data_ptr() != m[0].weight.data_ptr()
        assert list(clone.state_dict()) == list(m.state_dict())
        for (k, a), (_, b) in zip(clone.state_dict().items(), m.state_dict().items()):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        clone.eval()
        m.eval()
        x = jt.randn(2, 3, dtype=jt.float64)
        np.testing.assert_array_equal(clone(x).detach().numpy(), m(x).detach().numpy())
        m.train()
