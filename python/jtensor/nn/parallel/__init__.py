"""`jt.nn.parallel`: DistributedDataParallel (`distributed`), over the gradient buckets of `buckets`."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
