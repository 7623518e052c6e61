"""`multi_head_attention_forward`: torch.nn.functional's multi-head attention on (L, N, E) inputs (or
unbatched (L, E)), the computation behind jt.nn.MultiheadAttention (which calls it, as torch's
does): input projections (packed or separate weights), bias_k/bias_v and zero-attention columns,
static keys/values, boolean (True = do not attend) or additive float masks, and the
(attn_output, attn_weights) result, the weights averaged over heads by default. With
need_weights=False the heads run through scaled_dot_product_attention."""
import math

from ... import dtypes as _D
from ...creation import zeros as _zeros
from ...ops import ops as _ops

__all__ = ["multi_head_attention_forward"]


def _canonical_mask(mask, name, dtype):
    """A boolean mask (True = masked out) as an additive float mask (0 / -inf); float masks pass."""
    if mask is None:
        return None
    if mask.dtype is _D.bool_:
        return _zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _in_projection(query, key, value, E, in_proj_weight, in_proj_bias, use_separate, q_w, k_w, v_w):
    from .. import functional as F
    b = in_proj_bias
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    if use_separate:
        if q_w is None or k_w is None or v_w is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                 "v_proj_weight is None")
        wq, wk, wv = q_w, k_w, v_w
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        wq, wk, wv = in_proj_weight[:E], in_proj_weight[E:2 * E], in_proj_weight[2 * E:]
    return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)


def _check_attn_mask(attn_mask, tgt_len, src_len, bsz, H):
    if attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"The shape of the 2D attn_mask is {list(attn_mask.shape)}, but should be "
                               f"{[tgt_len, src_len]}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.ndim == 3:
        if tuple(attn_mask.shape) != (bsz * H, tgt_len, src_len):
            raise RuntimeError(f"The shape of the 3D attn_mask is {list(attn_mask.shape)}, but should be "
                               f"{[bsz * H, tgt_len, src_len]}.")
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")


def _static(name, t, expected_rows, expected_dim):
    if t.shape[0] != expected_rows:
        raise AssertionError(f"expecting {name}.size(0) of {expected_rows}, but got {t.shape[0]}")
    if t.shape[2] != expected_dim:
        raise AssertionError(f"expecting {name}.size(2) of {expected_dim}, but got {t.shape[2]}")
    return t


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention of query (L, N, E) over key/value (S, N, kdim/vdim) (unbatched: no N).
    key_padding_mask (N, S) and attn_mask (L, S) or (N * num_heads, L, S): True (or -inf) forbids a
    position, a float mask is added to the scores. Returns (attn_output (L, N, E), attn_weights
    (N, L, S) averaged over heads, (N, num_heads, L, S) when average_attn_weights=False, or None
    when need_weights=False)."""
    from .. import functional as F
    is_batched = query.ndim == 3
    if not is_batched:
        if query.ndim != 2:
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D "
                                 f"query tensor")
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(f"For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                                 f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    elif key.ndim != 3 or value.ndim != 3:
        raise AssertionError(f"For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                             f"{key.ndim}-D and {value.ndim}-D tensors respectively")
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    H = num_heads
    hd = embed_dim // H
    if hd * H != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {H}")
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {list(key.shape)} does not match value shape {list(value.shape)}")
    dtype = query.dtype

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None   # the hint alone drives scaled_dot_product_attention below
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype)
        if key_padding_mask is not None:
            is_causal = False

    q, k, v = _in_projection(query, key, value, embed_dim, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                             q_proj_weight, k_proj_weight, v_proj_weight)
    if attn_mask is not None:
        attn_mask = _check_attn_mask(attn_mask, tgt_len, key.shape[0], bsz, H)

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = _ops.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = _ops.cat([v, bias_v.expand(1, bsz, embed_dim)])
        if attn_mask is not None:
            attn_mask = _ops.pad(attn_mask, [0, 1])
        if key_padding_mask is not None:
            key_padding_mask = _ops.pad(key_padding_mask, [0, 1])
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    q = q.reshape(tgt_len, bsz * H, hd).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * H, hd).transpose(0, 1) if static_k is None else \
        _static("static_k", static_k, bsz * H, hd)
    v = v.reshape(v.shape[0], bsz * H, hd).transpose(0, 1) if static_v is None else \
        _static("static_v", static_v, bsz * H, hd)

    if add_zero_attn:
        k = _ops.cat([k, _zeros((bsz * H, 1, hd), dtype=k.dtype)], 1)
        v = _ops.cat([v, _zeros((bsz * H, 1, hd), dtype=v.dtype)], 1)
        if attn_mask is not None:
            attn_mask = _ops.pad(attn_mask, [0, 1])
        if key_padding_mask is not None:
            key_padding_mask = _ops.pad(key_padding_mask, [0, 1])

    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, H, 1, src_len).reshape(bsz * H, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = (q * math.sqrt(1.0 / hd)) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = F.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = F.dropout(weights, p=dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        weights = weights.reshape(bsz, H, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.ndim == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, H, -1, src_len)
    q = q.reshape(bsz, H, tgt_len, hd)
    k = k.reshape(bsz, H, src_len, hd)
    v = v.reshape(bsz, H, src_len, hd)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    return (out if is_batched else out.squeeze(1)), None
