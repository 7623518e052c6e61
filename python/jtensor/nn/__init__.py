"""`jt.nn`: neural-network building blocks, written with public jtensor ops and autograd only.

`jt.nn.functional` holds the functions (their kernels are Julia registry ops); `Module` and the
standard modules (`jt.nn.Linear`, `jt.nn.Conv2d`, ...), `Parameter` and `jt.nn.init` build on them,
with PyTorch's names, signatures, parameter names and state-dict layout.
"""
from . import functional
from . import init
from . import utils
from . import parallel
from . import attention
from . import grad
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter
from .module import Module, RemovableHandle
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all

__all__ = ["functional", "init", "parallel", "attention", "grad", "Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "Module",
           "RemovableHandle"] + list(_modules_all)
