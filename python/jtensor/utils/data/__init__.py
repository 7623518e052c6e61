"""`jtensor.utils.data`: torch.utils.data for jt tensors (``import jtensor as torch`` and
``torch.utils.data.DataLoader(...)`` work as with PyTorch). See docs/data.md.

Modules: `dataset` (Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, ChainDataset,
random_split), `sampler` (the samplers), `random_draws` (how samplers shuffle), `collation`
(default_collate, default_convert), `fetch` (reading one batch), `worker` (worker processes,
get_worker_info), `dataloader` (DataLoader), `distributed` (DistributedSampler), and `torch_interop` (jt tensors in PyTorch's own
DataLoader: `collate`, `stack`, `register_collate`).
"""
from .collation import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                      random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)
from .torch_interop import collate, register_collate, stack
from . import distributed  # noqa: F401  (jt.utils.data.distributed.DistributedSampler)
from .distributed import DistributedSampler
from .worker import get_worker_info

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
           "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "default_collate", "default_convert", "get_worker_info", "random_split"]
