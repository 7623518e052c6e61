"""jt.Generator and the global random state against torch's: the numbers differ (different
generators), so each test states a property and checks it holds for both libraries alike:
reproducibility from a seed, independence of streams (drawing from one generator never shifts
another's numbers, the default's included), exact restore by get_state / set_state whatever was
drawn in between (dropout too), manual_seed / seed / initial_seed and their return values,
generator= on rand, randn, randint, rand_like and randn_like, fork_rng, pickling, and the errors torch gives."""
import pickle

import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.nn.functional as JF
import torch.nn.functional as TF

LIBS = [pytest.param(jt, id="jt"), pytest.param(torch, id="torch")]
DROPOUT = {jt: JF.dropout, torch: TF.dropout}


def same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b))


def draws(lib, generator=None):
    """One of each random op, from `generator`."""
    kw = {} if generator is None else {"generator": generator}
    like = lib.zeros(3, dtype=lib.float64)
    return [lib.rand(4, **kw), lib.randn(2, 3, **kw), lib.randint(0, 100, (5,), **kw), lib.rand_like(like, **kw),
            lib.randn_like(like, **kw)]


def all_same(xs, ys):
    return all(same(x, y) for x, y in zip(xs, ys))


@pytest.mark.parametrize("lib", LIBS)
def test_seed_reproduces_and_different_seeds_differ(lib):
    lib.manual_seed(123)
    a = draws(lib)
    lib.manual_seed(123)
    b = draws(lib)
    lib.manual_seed(124)
    c = draws(lib)
    assert all_same(a, b) and not same(a[0], c[0])
    g1, g2 = lib.Generator().manual_seed(7), lib.Generator().manual_seed(7)
    assert all_same(draws(lib, g1), draws(lib, g2))


@pytest.mark.parametrize("lib", LIBS)
def test_successive_draws_differ(lib):
    g = lib.Generator().manual_seed(0)
    assert not same(lib.rand(8, generator=g), lib.rand(8, generator=g))


@pytest.mark.parametrize("lib", LIBS)
def test_streams_are_independent(lib):
    lib.manual_seed(5)
    ref = draws(lib)
    lib.manual_seed(5)
    g = lib.Generator().manual_seed(5)
    first = draws(lib)[:1]
    draws(lib, g)                            # another stream in between
    rest = draws(lib)[:2]
    assert all_same(first, ref[:1])
    # the default stream continues as if g had not been used
    lib.manual_seed(5)
    draws(lib)
    assert all_same(rest, draws(lib)[:2])


@pytest.mark.parametrize("lib", LIBS)
def test_state_round_trip(lib):
    g = lib.Generator().manual_seed(11)
    draws(lib, g)
    state = g.get_state()
    assert state.dtype == lib.uint8 and state.ndim == 1
    a = draws(lib, g)
    draws(lib, g)
    g.set_state(state)
    assert all_same(draws(lib, g), a)
    h = lib.Generator()
    h.set_state(state)
    assert all_same(draws(lib, h), a)


@pytest.mark.parametrize("lib", LIBS)
def test_global_rng_state_round_trip_covers_dropout(lib):
    lib.manual_seed(3)
    st = lib.get_rng_state()
    x = lib.ones(64)
    a = [lib.rand(3), DROPOUT[lib](x, 0.5), lib.randn(2)]
    lib.rand(10)
    lib.set_rng_state(st)
    b = [lib.rand(3), DROPOUT[lib](x, 0.5), lib.randn(2)]
    assert all_same(a, b)


@pytest.mark.parametrize("lib", LIBS)
def test_manual_seed_seed_initial_seed(lib):
    g = lib.Generator()
    assert g.manual_seed(42) is g and g.initial_seed() == 42
    assert g.manual_seed(-1).initial_seed() == 2 ** 64 - 1        # negative seeds wrap to uint64
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s
    assert lib.manual_seed(9) is lib.default_generator
    assert lib.initial_seed() == 9 == lib.random.initial_seed()
    s = lib.seed()
    assert lib.initial_seed() == s
    assert str(g.device) == "cpu" and str(lib.Generator("cpu").device) == "cpu"


def test_new_generator_default_seed_as_torch():
    assert jt.Generator().initial_seed() == torch.Generator().initial_seed() == 67280421310721


@pytest.mark.parametrize("lib", LIBS)
def test_fork_rng_restores(lib):
    lib.manual_seed(1)
    ref = lib.rand(5)
    lib.manual_seed(1)
    with lib.random.fork_rng():
        lib.rand(100)
    assert same(lib.rand(5), ref)


def test_pickled_generator_continues_the_stream():
    g = jt.Generator().manual_seed(8)
    jt.rand(3, generator=g)
    h = pickle.loads(pickle.dumps(g))
    assert same(jt.rand(4, generator=g), jt.rand(4, generator=h))


@pytest.mark.parametrize("lib", LIBS)
def test_errors(lib):
    g = lib.Generator()
    with pytest.raises(TypeError, match="expected a .*ByteTensor, but got list"):
        g.set_state([1, 2])
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(lib.zeros(16))
    with pytest.raises(RuntimeError, match="found the input RNG state size to be 10"):
        g.set_state(lib.zeros(10, dtype=lib.uint8))
    with pytest.raises(RuntimeError, match="manual_seed expected a long, but got float"):
        g.manual_seed(1.5)
    with pytest.raises(ValueError, match="Overflow"):
        g.manual_seed(2 ** 64)
    with pytest.raises(RuntimeError):
        lib.Generator(device="meta")
    with pytest.raises(TypeError):
        lib.rand(2, generator=3)


def test_meta_device_draws_nothing():
    g = jt.Generator().manual_seed(0)
    state = g.get_state()
    t = jt.rand(3, generator=g, device="meta")
    assert t.is_meta and same(g.get_state(), state)
