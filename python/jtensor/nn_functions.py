"""The `torch.<name>` forms of torch.nn.functional's functions (`torch.conv2d`, `torch.layer_norm`,
`torch.dropout`...). Most take the same arguments in the same order as `F.<name>` and are the same
function; `batch_norm`, `instance_norm`, `embedding` and `adaptive_max_pool1d` order or return
differently at the torch level, and are adapted here. (torch-level losses take an integer
`reduction` enum, an ATen internal, and are left to `F`.)
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
