"""`jt.Generator` and the global random state (``torch.Generator`` and ``torch.random``).

Random numbers are drawn in Julia from one xoshiro256++ generator (``RNG`` in
julia/src/ops/creation.jl). A `Generator` here is a *stream key* over it: its state is a 64-bit
seed and a counter of the draws made from it. Every random op seeds the Julia generator with a key
mixed from (seed, counter) right before it draws, and the counter advances. So

- each generator is an independent stream: draws from one never shift another's numbers;
- a state is 16 bytes (``get_state`` returns them as a uint8 tensor, as torch returns its
  ByteTensor) and ``set_state`` restores it exactly, whatever was drawn in between;
- the state is plain Python: pickling, ``fork_rng`` and forked children need no call into Julia;
- `jt.manual_seed`, `jt.get_rng_state` ... act on `default_generator`, the stream of every op
  called without ``generator=``.

Seeding xoshiro costs nanoseconds (a MersenneTwister's ~19 µs made ``jt.rand(10)`` 30x torch's).
The registry's random ops (``_rand``, ``_randn``, ``_randint``, ``_dropout_mask``) take the key as
their ``seed`` argument and seed in the same call, so a draw is one call into Julia:

    _op("_rand")(shape, dtype, stream_key(generator))

A random op composed of other calls draws inside ``with drawing(generator):``, which seeds the
Julia generator first (one more call), e.g.

    def randperm(n, *, generator=None, dtype=None, ...):
        with drawing(generator):
            return _op("_randperm")(n, ...)

``stream_key(None)`` and ``drawing(None)`` draw from `default_generator`; anything but a
Generator raises TypeError.
"""
import contextlib
import functools
import os
import struct

from . import devices as _dev

DEFAULT_SEED = 67280421310721    # torch's default seed for a new CPU generator
_U64 = (1 << 64) - 1


def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & _U64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _U64
    return x ^ (x >> 31)


_STEP = 0xD1B54A32D192ED03   # odd; far from the multiples of splitmix64's increment that xoshiro's seeding steps by


@functools.lru_cache(maxsize=64)
def _seed_hash(seed):
    return _splitmix64(seed)


def _key(seed, counter):
    """The Julia seed of draw `counter` of stream `seed`: the seed's hash plus `counter` odd steps,
    63 bits (Julia seeds are non-negative). Julia's seeding hashes it again (splitmix64), so nearby
    keys give unrelated xoshiro states; this stays cheap because it runs once per random op."""
    return ((_seed_hash(seed) + counter * _STEP) & _U64) >> 1


def _seed_julia(key):
    from .registry import REGISTRY
    REGISTRY.ops["manual_seed"].fn(key)


def _check_seed(seed, what="manual_seed"):
    if isinstance(seed, bool) or not isinstance(seed, int):
        if hasattr(seed, "__index__") and not isinstance(seed, float):
            seed = seed.__index__()
        else:
            raise RuntimeError(f"{what} expected a long, but got {type(seed).__name__}")
    if not -(1 << 63) <= seed <= _U64:
        raise ValueError("Overflow when unpacking long long")
    return seed & _U64   # negative seeds wrap, as torch's uint64 seed


class Generator:
    """A random stream (``torch.Generator``): ``manual_seed``, ``seed``, ``initial_seed``,
    ``get_state`` / ``set_state``; pass it as ``generator=`` to random ops."""

    def __init__(self, device="cpu"):
        dev = _dev.device(device)
        if dev.type != "cpu":
            raise RuntimeError(f"{dev.type.upper()} device type not an accelerator." if dev.type == "meta" else
                               f"Generator: no {dev.type} generator in this build (only the CPU)")
        self.device = dev
        self._seed = DEFAULT_SEED
        self._counter = 0

    def manual_seed(self, seed):
        """Restart this stream from `seed`; returns the generator."""
        self._seed = _check_seed(seed)
        self._counter = 0
        return self

    def seed(self):
        """Seed from the operating system's entropy; returns the new seed."""
        s = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (16 bytes: seed and draw counter)."""
        from ._tensor import tensor
        from . import dtypes as D
        return tensor(list(struct.pack("<QQ", self._seed, self._counter)), dtype=D.uint8)

    def set_state(self, new_state):
        from ._tensor import Tensor
        from . import dtypes as D
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype is not D.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if tuple(new_state.shape) != (16,):
            raise RuntimeError(f"Expected a Generator state of size 16 but found the input RNG state size to be "
                               f"{new_state.numel()}")
        self._seed, self._counter = struct.unpack("<QQ", bytes(new_state.tolist()))
        return self

    def clone_state(self):
        g = Generator(self.device)
        g._seed, g._counter = self._seed, self._counter
        return g

    def _next_key(self):
        k = _key(self._seed, self._counter)
        self._counter = (self._counter + 1) & _U64
        return k

    def __reduce__(self):
        return (_rebuild_generator, (str(self.device), self._seed, self._counter))

    def __repr__(self):
        return f"<jtensor.Generator object at {hex(id(self))}>"


def _rebuild_generator(device, seed, counter):
    g = Generator(device)
    g._seed, g._counter = seed, counter
    return g


default_generator = Generator()


def stream_key(generator=None):
    """The key of one random op's draws from `generator` (None: the default generator), advancing
    it: the ``seed`` argument of the registry's random ops."""
    g = default_generator if generator is None else generator
    if g.__class__ is not Generator and not isinstance(g, Generator):
        raise TypeError(f"expected a jtensor.Generator as generator=, but got {type(generator).__name__}")
    return g._next_key()


@contextlib.contextmanager
def drawing(generator=None):
    """Run the draws of one random op composed of several calls from `generator` (None: the
    default generator): the Julia generator is seeded with its next key first."""
    _seed_julia(stream_key(generator))
    yield


def manual_seed(seed):
    """Seed the default generator (every random op without ``generator=``); returns it."""
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices", device_type="cpu"):
    """Draws inside the block leave the default generator as it was (``torch.random.fork_rng``)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed", "get_rng_state",
           "set_rng_state", "fork_rng", "drawing", "stream_key"]
