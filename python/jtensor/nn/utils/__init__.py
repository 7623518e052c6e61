"""`jt.nn.utils`: torch.nn.utils's gradient clipping (`clip_grad`), flattening parameters to one
vector and back (`convert_parameters`), padding of variable-length sequences (`rnn`),
parametrizations (`parametrize`, `parametrizations`) and the older hook-based weight and spectral
normalization (`norm_hooks`), batch-norm folding (`fusion`), `stateless.functional_call` and pruning by masks (`prune`)."""
from . import rnn
from . import parametrize, parametrizations, fusion, stateless, prune
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .norm_hooks import weight_norm, remove_weight_norm, spectral_norm, remove_spectral_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "rnn", "vector_to_parameters", "parametrize", "parametrizations",
           "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm", "fusion", "stateless", "prune"]
