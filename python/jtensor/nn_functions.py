"""The `torch.<name>` forms of torch.nn.functional's functions (`torch.conv2d`, `torch.layer_norm`,
`torch.dropout`...). Most take the same arguments in the same order as `F.<name>` and are the same
function; `batch_norm`, `instance_norm`, `embedding` and `adaptive_max_pool1d` order or return
differently at the torch level, and are adapted here. torch-level losses take ATen's integer
`reduction` (0 none, 1 mean, 2 sum) where `F` takes a string; the `native_*` forms return the
statistics ATen saves for backward beside the output.
"""
import sys

from .ops import composed

_SAME = ("conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d layer_norm group_norm dropout alpha_dropout "
         "feature_alpha_dropout pdist pairwise_distance cosine_similarity pixel_shuffle pixel_unshuffle "
         "channel_shuffle prelu selu celu rrelu rms_norm bilinear max_pool1d max_pool2d max_pool3d avg_pool1d "
         "adaptive_avg_pool1d max_pool1d_with_indices relu_ selu_ celu_ rrelu_").split()


def _F():
    return sys.modules["jtensor.nn.functional"]


def _forward(name):
    def function(*args, **kwargs):
        return getattr(_F(), name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`jt.{name}` is `jt.nn.functional.{name}` (same arguments)."
    return function


for _name in _SAME:
    composed(_name, method=False)(_forward(_name))
composed("prelu", function=False)(_forward("prelu"))   # also Tensor.prelu(weight), as torch


@composed(method=False)
def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled=True):
    """torch.batch_norm's argument order (weight and bias before the running statistics)."""
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@composed(method=False)
def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
                  cudnn_enabled=True):
    """torch.instance_norm's argument order (weight and bias before the running statistics)."""
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


@composed(method=False)
def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """torch.embedding(weight, indices): the table first, as ATen; padding_idx -1 means none."""
    return _F().embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                          scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


@composed(method=False)
def adaptive_max_pool1d(input, output_size):
    """torch.adaptive_max_pool1d: always (values, indices)."""
    return _F().adaptive_max_pool1d(input, output_size, return_indices=True)


# ---- losses with ATen's integer reduction ------------------------------------------------------------
_REDUCTIONS = {1: "mean", 2: "sum"}


def _reduction(reduction):
    """ATen's Reduction enum as F's string: 1 mean, 2 sum, anything else unreduced (as ATen's
    apply_loss_reduction). torch's Python bindings default these `reduction`s to 0 (none), not to
    the schema's Mean, so the defaults below are 0 too."""
    return _REDUCTIONS.get(reduction, "none")


def _reduce(loss, reduction):
    how = _reduction(reduction)
    return loss.mean() if how == "mean" else loss.sum() if how == "sum" else loss


@composed(method=False)
def kl_div(input, target, reduction=0, *, log_target=False):
    """torch.kl_div: pointwise target * (log target - input) (exp(target) * (target - input) with
    log_target), reduced by ATen's integer reduction (1, mean, averages over every element)."""
    import jtensor as jt
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = jt.xlogy(target, target) - target * input
    return _reduce(loss, reduction)


@composed(method=False)
def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F().margin_ranking_loss(input1, input2, target, margin=margin, reduction=_reduction(reduction))


@composed(method=False)
def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _F().hinge_embedding_loss(input, target, margin=margin, reduction=_reduction(reduction))


@composed(method=False)
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=0):
    return _F().triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, eps=eps, swap=swap,
                                    reduction=_reduction(reduction))


@composed(method=False)
def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F().cosine_embedding_loss(input1, input2, target, margin=margin, reduction=_reduction(reduction))


@composed(method=False)
def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """torch.poisson_nll_loss: every argument required, as ATen's."""
    return _F().poisson_nll_loss(input, target, log_input=log_input, full=full, eps=eps,
                                 reduction=_reduction(reduction))


@composed(method=False)
def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _F().binary_cross_entropy_with_logits(input, target, weight=weight, pos_weight=pos_weight,
                                                 reduction=_reduction(reduction))


@composed(method=False)
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False):
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank,
                         reduction=_reduction(reduction), zero_infinity=zero_infinity)


# ---- padding and convolution ---------------------------------------------------------------------------
@composed(method=False)
def constant_pad_nd(input, pad, value=0):
    """Pad with `value`: pad lists (before, after) pairs from the last dimension backwards; negative
    amounts crop."""
    return _F().pad(input, list(pad), mode="constant", value=value)


@composed(method=False)
def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """ATen's generic convolution: conv{1,2,3}d, or conv_transpose{1,2,3}d when `transposed`, picked
    by the weight's number of spatial dimensions."""
    n = weight.ndim - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-, 4- or 5-d weight, got shape {list(weight.shape)}")
    F = _F()
    if transposed:
        return getattr(F, f"conv_transpose{n}d")(input, weight, bias, stride, padding, output_padding, groups,
                                                 dilation)
    return getattr(F, f"conv{n}d")(input, weight, bias, stride, padding, dilation, groups)


@composed(method=False)
def conv_tbc(input, weight, bias, pad=0):
    """1-d convolution in time-batch-channel layout: input (T, B, C_in), weight (K, C_in, C_out),
    bias (C_out) -> (T + 2 pad - K + 1, B, C_out)."""
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise RuntimeError(f"conv_tbc: expected a 3-d input and weight and a 1-d bias, got shapes "
                           f"{list(input.shape)}, {list(weight.shape)}, {list(bias.shape)}")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError(f"conv_tbc: Input dim 2 (input channels) is not == dim 1 in the weight tensor "
                           f"({input.shape[2]} vs {weight.shape[1]})")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError(f"conv_tbc: Bias has wrong size: expected {weight.shape[2]}, got {bias.shape[0]}")
    out = _F().conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


# ---- dropout variants ----------------------------------------------------------------------------------
def _layers():
    return sys.modules["jtensor.nn._functional.layers"]


@composed(method=False)
def dropout_(input, p, train):
    return _F().dropout(input, p, train, inplace=True)


@composed(method=False)
def alpha_dropout_(input, p, train):
    return _F().alpha_dropout(input, p, train, inplace=True)


@composed(method=False)
def feature_alpha_dropout_(input, p, train):
    return _F().feature_alpha_dropout(input, p, train, inplace=True)


@composed(method=False)
def feature_dropout(input, p, train):
    """Zero whole channels (dim 1) of an input of any rank >= 2, scaling the rest by 1 / (1 - p)."""
    return _layers()._feature_dropout(input, p, train, False, input.ndim, "feature_dropout")


@composed(method=False)
def feature_dropout_(input, p, train):
    return _layers()._feature_dropout(input, p, train, True, input.ndim, "feature_dropout_")


@composed(method=False)
def native_dropout(input, p, train):
    """(output, mask): mask is True where an element was kept. train None counts as True; with train
    False the output is the input and the mask all True."""
    import jtensor as jt
    if train is False:
        return input.clone(), jt.ones(input.shape, dtype=jt.bool)
    if p == 1:
        return input * 0, jt.zeros(input.shape, dtype=jt.bool)
    mask = _F().dropout(jt.ones(input.shape, dtype=input.dtype), p, True)   # 1 / (1 - p) kept, 0 dropped
    return input * mask, mask != 0


# ---- normalizations returning their saved statistics ---------------------------------------------------
@composed(method=False)
def native_layer_norm(input, normalized_shape, weight, bias, eps):
    """(output, mean, rstd): mean and 1/sqrt(var + eps) over the normalized dimensions, kept as size 1."""
    dims = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    mean = input.mean(dims, keepdim=True)
    rstd = (input.var(dims, unbiased=False, keepdim=True) + eps).rsqrt()
    return _F().layer_norm(input, list(normalized_shape), weight, bias, eps), mean, rstd


def _channel_stats(input, eps):
    dims = tuple(d for d in range(input.ndim) if d != 1)
    return input.mean(dims), (input.var(dims, unbiased=False) + eps).rsqrt()


@composed(method=False)
def native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(output, save_mean, save_invstd): the batch's per-channel mean and 1/sqrt(var + eps) when
    training (running statistics updated in place, as F.batch_norm), empty tensors in evaluation."""
    import jtensor as jt
    out = _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = jt.empty(0, dtype=input.dtype)
        return out, empty, empty.clone()
    mean, invstd = _channel_stats(input, eps)
    return out, mean, invstd


@composed(method=False)
def native_group_norm(input, weight, bias, N, C, HxW, group, eps):
    """(output, mean, rstd) with mean and rstd of shape (N, group)."""
    grouped = input.reshape(N, group, -1)
    mean = grouped.mean(-1)
    rstd = (grouped.var(-1, unbiased=False) + eps).rsqrt()
    return _F().group_norm(input, group, weight, bias, eps), mean, rstd


# ---- recurrent layers and cells (ATen's flat-parameter forms) ------------------------------------------
def _rnn():
    return sys.modules["jtensor.nn.modules.rnn"]


def _recurrent(mode, args):
    """The two ATen forms of lstm / gru / rnn_tanh / rnn_relu: padded (input, hx, params, has_biases,
    num_layers, dropout, train, bidirectional, batch_first) or packed (data, batch_sizes, hx, params,
    has_biases, num_layers, dropout, train, bidirectional). params lists per layer and direction
    w_ih, w_hh, then b_ih, b_hh when has_biases, then w_hr for a projected LSTM (h smaller than c)."""
    from ._tensor import Tensor
    packed = isinstance(args[1], Tensor) and isinstance(args[3], (list, tuple))
    if packed:
        data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional = args
        batch_first = False
        sizes = [int(b) for b in batch_sizes.tolist()]
    else:
        data, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
        if data.ndim != 3:
            raise RuntimeError(f"{mode.lower()}: expected a 3-d input, got shape {list(data.shape)}")
        if batch_first:
            data = data.transpose(0, 1)
        sizes = [data.shape[1]] * data.shape[0]
    is_lstm = mode == "LSTM"
    h0, c0 = (hx[0], hx[1]) if is_lstm else (hx, None)
    projected = is_lstm and h0.shape[-1] != c0.shape[-1]
    per = 2 + (2 if has_biases else 0) + (1 if projected else 0)
    D = 2 if bidirectional else 1
    if len(params) != per * num_layers * D:
        raise RuntimeError(f"{mode.lower()}: expected {per * num_layers * D} parameters for {num_layers} layer(s) "
                           f"and {D} direction(s), got {len(params)}")

    def layer_weights(layer, direction):
        w = list(params[(layer * D + direction) * per:(layer * D + direction + 1) * per])
        w_ih, w_hh = w[0], w[1]
        b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
        return w_ih, w_hh, b_ih, b_hh, (w[-1] if projected else None)

    output, h_n, c_n = _rnn()._run_layers(mode, data, h0, c0, layer_weights, num_layers, D,
                                          float(dropout) if train else 0.0, sizes, packed)
    if batch_first:
        output = output.transpose(0, 1)
    return (output, h_n, c_n) if is_lstm else (output, h_n)


def _recurrent_op(name, mode, returns):
    def function(*args):
        return _recurrent(mode, args)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"torch.{name}: {returns} of a multi-layer {mode} with flat parameters (see _recurrent)."
    return function


for _name, _mode, _returns in (("lstm", "LSTM", "(output, h_n, c_n)"), ("gru", "GRU", "(output, h_n)"),
                               ("rnn_tanh", "RNN_TANH", "(output, h_n)"), ("rnn_relu", "RNN_RELU", "(output, h_n)")):
    composed(_name, method=False)(_recurrent_op(_name, _mode, _returns))


def _cell(mode, input, hx, w_ih, w_hh, b_ih, b_hh):
    return _rnn()._STEPS[mode](_F().linear(input, w_ih, b_ih), hx, w_hh, b_hh)[1]


def _cell_op(name, mode):
    def function(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
        return _cell(mode, input, tuple(hx) if mode == "LSTM" else hx, w_ih, w_hh, b_ih, b_hh)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"torch.{name}: one {mode} step, " +
                        ("hx = (h, c), returning (h', c')." if mode == "LSTM" else "returning h'."))
    return function


for _name, _mode in (("lstm_cell", "LSTM"), ("gru_cell", "GRU"), ("rnn_tanh_cell", "RNN_TANH"),
                     ("rnn_relu_cell", "RNN_RELU")):
    composed(_name, method=False)(_cell_op(_name, _mode))
