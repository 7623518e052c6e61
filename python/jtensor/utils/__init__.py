"""Helpers around jtensor that mirror ``torch.utils`` (see `jtensor.utils.data`)."""
from . import data  # noqa: F401
