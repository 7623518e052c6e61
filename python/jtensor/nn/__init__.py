"""`jt.nn`: neural-network building blocks, written with public jtensor ops and autograd only.

`jt.nn.functional` holds the functions (their kernels are Julia registry ops); modules, parameters
and initialisation build on them.
"""
from . import functional
