"""`jt.optim`: optimizers with PyTorch's interface; each update is one fused Julia kernel per
parameter (julia/src/ops/optim.jl)."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from . import lr_scheduler
