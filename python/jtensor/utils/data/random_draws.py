"""The random draws behind shuffling: permutations, integers, weighted draws and seeds.

Each takes the `generator=` a sampler or DataLoader was given:
- a `jt.Generator`: drawn with NumPy from a stream seeded by the generator's next key (one draw
  of that generator, python/jtensor/random.py), so its `get_state`/`set_state` and `manual_seed`
  replay the same orders;
- a `torch.Generator`: drawn with torch's own functions (`torch.randperm`, `torch.randint`,
  `torch.multinomial`), so samplers, `random_split` and DataLoader shuffling give exactly the
  orders torch gives for the same generator state;
- None: the same, from `jt.default_generator` (the one ``jt.manual_seed(s)`` seeds), so every
  later shuffle is reproducible. Taking a key runs no Julia, so it is safe in any process.
"""
import numpy as np

from ...random import Generator, default_generator

_INT64_MAX = (1 << 63) - 1


def is_torch_generator(generator):
    return type(generator).__name__ == "Generator" and type(generator).__module__.split(".")[0] == "torch"


def from_global_seed():
    """A new jt.Generator seeded by one draw of the default generator (as torch's samplers seed a
    fresh generator per epoch from the global one)."""
    return Generator().manual_seed(default_generator._next_key())


def _stream(generator):
    """A NumPy stream for one draw of `generator` (None: the default generator)."""
    g = default_generator if generator is None else generator
    if not isinstance(g, Generator):
        raise TypeError(f"generator must be a jt.Generator, a torch.Generator or None, got {type(generator).__name__}")
    return np.random.default_rng(g._next_key())


def randperm(n, generator=None):
    """A random permutation of range(n), as a list."""
    if is_torch_generator(generator):
        import torch
        return torch.randperm(n, generator=generator).tolist()
    return _stream(generator).permutation(n).tolist()


def randint(high, size, generator=None):
    """`size` integers drawn uniformly from range(high), as a list."""
    if is_torch_generator(generator):
        import torch
        return torch.randint(high=high, size=(size,), dtype=torch.int64, generator=generator).tolist()
    return _stream(generator).integers(0, high, size).tolist()


def seed(generator=None):
    """A seed in [0, 2**63) drawn from `generator` (for worker processes' `base_seed`)."""
    if is_torch_generator(generator):
        import torch
        return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())
    return int(_stream(generator).integers(0, _INT64_MAX, endpoint=True))


def multinomial(weights, num_samples, replacement, generator=None):
    """`num_samples` indices drawn with probability proportional to `weights` (a 1-d float64
    NumPy array), with or without replacement, as a list; errors as torch.multinomial's."""
    if is_torch_generator(generator):
        import torch
        return torch.multinomial(torch.from_numpy(weights), num_samples, replacement, generator=generator).tolist()
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = weights.sum()
    if not total > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > weights.size:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rng = _stream(generator)
    if replacement:
        return rng.choice(weights.size, num_samples, replace=True, p=weights / total).tolist()
    # Without replacement, as torch: the largest keys w / Exp(1) (zero weights come last, in any order).
    keys = weights / rng.exponential(size=weights.size)
    return np.argsort(-keys, kind="stable")[:num_samples].tolist()
