"""`jt.nn.parallel`: DistributedDataParallel (`distributed`, over the gradient buckets of
`buckets`), and DataParallel (nn/modules/data_parallel.py), as torch.nn.parallel has them."""
from ..modules.data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
