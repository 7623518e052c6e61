"""Helpers around jtensor that mirror ``torch.utils``: `data` (datasets and loaders) and
`checkpoint` (activation checkpointing)."""
from . import data  # noqa: F401
from . import checkpoint  # noqa: F401
from . import _python_dispatch  # noqa: F401  (dispatch modes; gives Tensor._make_wrapper_subclass)
