"""`DistributedSampler`: each process of a data-parallel job reads its own share of the dataset
(torch.utils.data.distributed's).

Every rank draws the same permutation (from `seed` + the epoch set by `set_epoch`, with a
jt.Generator, so it needs no communication), pads it by repeating its start so that it divides
evenly (or, with `drop_last`, cuts the tail), and takes every `num_replicas`-th index from
position `rank`: the shards are disjoint and, without padding, cover the dataset.
"""
import math

from ...random import Generator
from . import random_draws
from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Indices of rank `rank`'s shard of `dataset` among `num_replicas` processes (by default the
    world size and rank of jt.distributed's default group)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available (" + dist.INSTALL_HINT + ")")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = random_draws.randperm(n, Generator().manual_seed(self.seed + self.epoch))
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Set the epoch, which reseeds the shuffle: call it at the start of every epoch, before
        iterating, or every epoch sees the same order."""
        self.epoch = epoch
