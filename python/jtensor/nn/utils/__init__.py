"""`jt.nn.utils`: helpers around modules (torch.nn.utils); `rnn` holds packed sequences."""
from . import rnn

__all__ = ["rnn"]
