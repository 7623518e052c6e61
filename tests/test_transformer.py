"""jt.nn Transformer layers against torch.nn: submodule and parameter layout (state dicts
interchange), outputs and the gradients of inputs and every parameter after copying torch's
float64 weights, in train mode (dropout 0) and eval mode, post-norm and pre-norm, relu/gelu/
callable activations, batch_first, unbatched inputs, attention and key padding masks, causal
hints, and scaled_dot_product_attention's masks against torch's."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from torch_compare import close, leaves, load_torch_weights, rnd, same_output_and_input_grads


def pair(tm, jm):
    """torch's float64 module and the jt one with its weights, the same layout checked first."""
    tm, jm = tm.double(), jm.double()
    load_torch_weights(tm, jm)
    return tm, jm


def as_pair(mask):
    if mask is None:
        return None, None
    return torch.tensor(mask), jt.tensor(mask)


def check(tm, jm, tins, jins, tkw, jkw, train):
    tm.train(train)
    jm.train(train)
    same_output_and_input_grads(tm(*tins, **tkw), jm(*jins, **jkw), tins, jins)
    tparams = dict(tm.named_parameters())
    for name, p in jm.named_parameters():
        close(p.grad, tparams[name].grad)


def make(lib, cls, *args, **kwargs):
    torch.manual_seed(0)
    return getattr(lib, cls)(*args, **kwargs)


ACTIVATIONS = {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"), "callable": (torch.tanh, jt.tanh),
               "module": (tnn.GELU(approximate="tanh"), nn.GELU(approximate="tanh"))}


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("train", [True, False])
def test_encoder_layer(norm_first, activation, batch_first, train):
    ta, ja = ACTIVATIONS[activation]
    kw = dict(dim_feedforward=12, dropout=0.0, norm_first=norm_first, batch_first=batch_first)
    tm, jm = pair(make(tnn, "TransformerEncoderLayer", 8, 2, activation=ta, **kw),
                  make(nn, "TransformerEncoderLayer", 8, 2, activation=ja, **kw))
    S, N = 5, 3
    x = rnd((N, S, 8) if batch_first else (S, N, 8), 1)
    pad = np.zeros((N, S), bool)
    pad[1, 3:] = True
    tins, jins = leaves(x)
    (tp, jp) = as_pair(pad)
    check(tm, jm, tins, jins, dict(src_key_padding_mask=tp), dict(src_key_padding_mask=jp), train)


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal_hint", "causal_mask", "per_head"])
def test_encoder_masks(mask_kind):
    tm, jm = pair(make(tnn, "TransformerEncoderLayer", 8, 2, dim_feedforward=10, dropout=0.0),
                  make(nn, "TransformerEncoderLayer", 8, 2, dim_feedforward=10, dropout=0.0))
    S, N = 6, 2
    tins, jins = leaves(rnd((S, N, 8), 2))
    kw = {}
    if mask_kind == "bool":
        m = rnd((S, S), 3) > 0.5
        np.fill_diagonal(m, False)
        kw = dict(src_mask=m)
    elif mask_kind == "float":
        kw = dict(src_mask=rnd((S, S), 4))
    elif mask_kind in ("causal_hint", "causal_mask"):
        kw = dict(src_mask=tnn.Transformer.generate_square_subsequent_mask(S, dtype=torch.float64).numpy())
        if mask_kind == "causal_hint":
            kw["is_causal"] = True
    elif mask_kind == "per_head":
        kw = dict(src_mask=rnd((N * 2, S, S), 5))
    tkw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    jkw = {k: (jt.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    check(tm, jm, tins, jins, tkw, jkw, True)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_with_masks(norm_first, batch_first):
    kw = dict(dim_feedforward=12, dropout=0.0, norm_first=norm_first, batch_first=batch_first, activation="gelu")
    tm, jm = pair(make(tnn, "TransformerDecoderLayer", 8, 4, **kw), make(nn, "TransformerDecoderLayer", 8, 4, **kw))
    T, S, N = 4, 6, 2
    shape = lambda L: (N, L, 8) if batch_first else (L, N, 8)  # noqa: E731
    tins, jins = leaves(rnd(shape(T), 1), rnd(shape(S), 2))
    tgt_mask = np.triu(np.ones((T, T), bool), 1)
    mem_pad = np.zeros((N, S), bool)
    mem_pad[0, 4:] = True
    tgt_pad = np.zeros((N, T), bool)
    tgt_pad[1, 3] = True
    mem_mask = rnd((T, S), 3)
    masks = dict(tgt_mask=tgt_mask, memory_mask=mem_mask, tgt_key_padding_mask=tgt_pad,
                 memory_key_padding_mask=mem_pad)
    check(tm, jm, tins, jins, {k: torch.tensor(v) for k, v in masks.items()},
          {k: jt.tensor(v) for k, v in masks.items()}, True)


def test_stacks_with_final_norm_and_causal_detection():
    enc_t = tnn.TransformerEncoder(make(tnn, "TransformerEncoderLayer", 8, 2, 16, 0.0), 2, tnn.LayerNorm(8),
                                   enable_nested_tensor=False)
    enc_j = nn.TransformerEncoder(make(nn, "TransformerEncoderLayer", 8, 2, 16, 0.0), 2, nn.LayerNorm(8),
                                  enable_nested_tensor=False)
    tm, jm = pair(enc_t, enc_j)
    S, N = 5, 2
    causal_t = tnn.Transformer.generate_square_subsequent_mask(S, dtype=torch.float64)
    causal_j = nn.Transformer.generate_square_subsequent_mask(S, dtype=jt.float64)
    close(causal_j, causal_t)
    tins, jins = leaves(rnd((S, N, 8), 1))
    check(tm, jm, tins, jins, dict(mask=causal_t), dict(mask=causal_j), True)
    dec_t = tnn.TransformerDecoder(make(tnn, "TransformerDecoderLayer", 8, 2, 16, 0.0), 3, tnn.LayerNorm(8))
    dec_j = nn.TransformerDecoder(make(nn, "TransformerDecoderLayer", 8, 2, 16, 0.0), 3, nn.LayerNorm(8))
    tm, jm = pair(dec_t, dec_j)
    tins, jins = leaves(rnd((4, N, 8), 2), rnd((S, N, 8), 3))
    check(tm, jm, tins, jins, dict(tgt_mask=causal_t[:4, :4]), dict(tgt_mask=causal_j[:4, :4]), False)


@pytest.mark.parametrize("batch_first", [False, True])
def test_full_transformer(batch_first):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0,
              batch_first=batch_first)
    tm, jm = pair(make(tnn, "Transformer", **kw), make(nn, "Transformer", **kw))
    S, T, N = 5, 4, 3
    shape = lambda L: (N, L, 8) if batch_first else (L, N, 8)  # noqa: E731
    tins, jins = leaves(rnd(shape(S), 1), rnd(shape(T), 2))
    pad = np.zeros((N, S), bool)
    pad[2, 3:] = True
    tmask = tnn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    jmask = nn.Transformer.generate_square_subsequent_mask(T, dtype=jt.float64)
    check(tm, jm, tins, jins, dict(tgt_mask=tmask, src_key_padding_mask=torch.tensor(pad),
                                   memory_key_padding_mask=torch.tensor(pad)),
          dict(tgt_mask=jmask, src_key_padding_mask=jt.tensor(pad), memory_key_padding_mask=jt.tensor(pad)), True)


def test_unbatched_inputs():
    tm, jm = pair(make(tnn, "Transformer", 8, 2, 1, 1, 16, 0.0), make(nn, "Transformer", 8, 2, 1, 1, 16, 0.0))
    tins, jins = leaves(rnd((5, 8), 1), rnd((3, 8), 2))
    check(tm, jm, tins, jins, {}, {}, False)


def test_dropout_is_active_in_training_only():
    m = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = jt.randn(4, 2, 8)
    m.eval()
    assert np.array_equal(m(x).numpy(), m(x).numpy())
    m.train()
    assert not np.array_equal(m(x).numpy(), m(x).numpy())


def test_transformer_init_and_errors():
    m = nn.Transformer(16, 2, 1, 1, 32)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 32))   # xavier_uniform_ on every matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    with pytest.raises(RuntimeError, match="batch number"):
        m(jt.zeros((3, 2, 16)), jt.zeros((3, 1, 16)))
    with pytest.raises(RuntimeError, match="feature number"):
        m(jt.zeros((3, 2, 8)), jt.zeros((3, 2, 8)))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    assert m.encoder.layers[0].activation_relu_or_gelu == 1


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
@pytest.mark.parametrize("scale", [None, 0.3])
def test_scaled_dot_product_attention_matches_torch(mask, scale):
    tins, jins = leaves(rnd((2, 3, 4, 5), 1), rnd((2, 3, 6, 5), 2), rnd((2, 3, 6, 7), 3))
    kw_t, kw_j = {}, {}
    if mask == "bool":
        m = rnd((4, 6), 4) > -0.5
        kw_t, kw_j = dict(attn_mask=torch.tensor(m)), dict(attn_mask=jt.tensor(m))
    elif mask == "float":
        m = rnd((3, 4, 6), 5)
        kw_t, kw_j = dict(attn_mask=torch.tensor(m)), dict(attn_mask=jt.tensor(m))
    elif mask == "causal":
        kw_t, kw_j = dict(is_causal=True), dict(is_causal=True)
    tout = TF.scaled_dot_product_attention(*tins, scale=scale, **kw_t)
    jout = F.scaled_dot_product_attention(*jins, scale=scale, **kw_j)
    same_output_and_input_grads(tout, jout, tins, jins)


def test_scaled_dot_product_attention_dropout():
    q = jt.randn(2, 4, 8)
    full = F.scaled_dot_product_attention(q, q, q)
    jt.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert dropped.shape == full.shape and not np.allclose(dropped.numpy(), full.numpy())
