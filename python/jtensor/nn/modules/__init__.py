"""The standard modules, one file per family."""
from .activation import GELU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh
from .activation_more import *  # noqa: F401,F403
from .activation_more import __all__ as _activation_more
from .attention import MultiheadAttention
from .distance import *  # noqa: F401,F403
from .distance import __all__ as _distance
from .loss_more import *  # noqa: F401,F403
from .loss_more import __all__ as _loss_more
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .bilinear import Bilinear
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear, NonDynamicallyQuantizableLinear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss, NLLLoss2d
from .data_parallel import DataParallel
from .padding import *  # noqa: F401,F403
from .padding import __all__ as _padding
from .parameter_containers import ParameterDict, ParameterList
from .resampling import *  # noqa: F401,F403
from .resampling import __all__ as _resampling
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .pooling import AdaptiveAvgPool2d, AdaptiveAvgPool3d, AvgPool2d, AvgPool3d, MaxPool2d, MaxPool3d
from .pooling_more import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from .lazy import __all__ as _lazy
from .pooling_more import __all__ as _pooling_more
from .fractional import FractionalMaxPool2d, FractionalMaxPool3d
from .normalization_more import *  # noqa: F401,F403
from .normalization_more import __all__ as _normalization_more
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .sparse import Embedding, EmbeddingBag
from .sync_batchnorm import SyncBatchNorm
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)

__all__ = [
    "GELU", "LogSoftmax", "ReLU", "Sigmoid", "SiLU", "Softmax", "Tanh", "MultiheadAttention", "ModuleDict",
    "ModuleList", "Sequential", "Conv1d", "Conv2d", "Dropout", "Flatten", "Unflatten", "Identity", "Linear",
    "NonDynamicallyQuantizableLinear", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss",
    "BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm", "AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d",
    "Embedding", "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer",
]
__all__ += _activation_more + _loss_more + _distance + _padding + _resampling + _lazy + [
    "Bilinear", "AlphaDropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout", "ParameterDict",
    "ParameterList", "ConvTranspose1d", "ConvTranspose2d", "EmbeddingBag", "Conv3d", "ConvTranspose3d", "MaxPool3d",
    "AvgPool3d", "AdaptiveAvgPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d", "NLLLoss2d", "DataParallel", "SyncBatchNorm", "AdaptiveLogSoftmaxWithLoss"] + _pooling_more + _normalization_more
