"""`jt.optim`: optimizers with PyTorch's interface, numerics and state_dict layout. SGD, Adam/AdamW
and RMSprop update through fused Julia kernels (julia/src/ops/optim.jl); the others compose
elementwise ops in torch's order of operations."""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adamax import Adamax
from .nadam import NAdam
from .radam import RAdam
from .rprop import Rprop
from .asgd import ASGD
from .lbfgs import LBFGS
from .adafactor import Adafactor
from . import lr_scheduler
from . import swa_utils  # noqa: E402
