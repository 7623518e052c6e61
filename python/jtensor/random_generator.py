"""`jt.Generator`: a seedable random stream with `torch.Generator`'s interface, for sampling.

A minimal generator, made for `generator=` arguments of the data utilities (`RandomSampler`,
`random_split`, `DataLoader`...): ``jt.Generator().manual_seed(42)`` gives the same draws on every
run, independent of the global stream that `jt.manual_seed` seeds. It draws with NumPy (a PCG64
bit generator seeded with the generator's seed), so it needs no Julia and works in any process,
forked DataLoader workers included. The random ops (`jt.rand`, `jt.randn`, ...) do not take it
yet: they use Julia's global generator.
"""
import os
import pickle

import numpy as np

from .devices import device as _device

_DEFAULT_SEED = 67280421310721   # torch.Generator()'s initial seed
_SEED_MASK = (1 << 64) - 1


class Generator:
    """A random stream with torch.Generator's methods: `manual_seed`, `seed`, `initial_seed`,
    `get_state`, `set_state`, and its `device` attribute (CPU only)."""

    def __init__(self, device="cpu"):
        self.device = _device(device)
        if self.device.type != "cpu":
            raise RuntimeError(f"jt.Generator: only CPU generators exist, got device {self.device}")
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        """Restart the stream from `seed` (an int; negative seeds wrap to 64 bits, as in torch). Returns self."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__}")
        self._seed = int(seed) & _SEED_MASK
        self.numpy = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        """Seed from the operating system's entropy; returns the new seed."""
        seed = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self):
        """The stream's state as a uint8 tensor (for `set_state`), as torch returns a ByteTensor."""
        from ._tensor import from_numpy
        raw = pickle.dumps((self._seed, self.numpy.bit_generator.state))
        return from_numpy(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state returned by `get_state`. Returns self."""
        self._seed, state = pickle.loads(np.asarray(new_state, dtype=np.uint8).tobytes())
        self.numpy = np.random.Generator(np.random.PCG64())
        self.numpy.bit_generator.state = state
        return self

    def __repr__(self):
        return f"<jtensor.Generator device={self.device} initial_seed={self._seed}>"
