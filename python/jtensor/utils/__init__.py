"""Helpers around jtensor that mirror ``torch.utils`` (see `jtensor.utils.data`)."""
from . import data  # noqa: F401
from . import _python_dispatch  # noqa: F401  (dispatch modes; gives Tensor._make_wrapper_subclass)
