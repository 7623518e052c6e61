"""jtensor.utils.data against torch.utils.data: the same datasets, samplers, collation and DataLoader
batches (the same orders wherever torch's are determined: sequential loading, and shuffling with a
shared torch.Generator), worker processes included, and torch's errors."""
import collections
import os
import time
import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import jtensor as jt
import jtensor.utils.data as jdata

Point = collections.namedtuple("Point", "x y")


def _dtype_name(dt):
    return str(dt).split(".")[-1]


def assert_same(ours, theirs):
    """`ours` (jt tensors inside) has the structure, types, dtypes and values of `theirs` (torch's)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, jt.Tensor), f"expected a jt tensor, got {type(ours).__name__}"
        assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            assert_same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (ours, theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    else:
        assert type(ours) is type(theirs) and ours == theirs, (ours, theirs)


def batches(loader):
    """The loader's batches as lists (jt or torch tensors), numbers as they are."""
    return [b.tolist() if isinstance(b, (jt.Tensor, torch.Tensor)) else b for b in loader]


# -- datasets -------------------------------------------------------------------------------------------

def test_tensor_dataset_matches_torch():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    ours = jdata.TensorDataset(jt.tensor(x), jt.tensor(y))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 6
    for i in (0, 3, -1):
        assert_same(ours[i], theirs[i])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        jdata.TensorDataset(jt.zeros(3), jt.zeros(4))


class Range(jdata.Dataset):
    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.offset + i


def test_concat_subset_and_add():
    a, b = Range(3), Range(4, offset=100)
    cat = a + b
    assert isinstance(cat, jdata.ConcatDataset) and cat.cumulative_sizes == [3, 7]
    assert [cat[i] for i in range(7)] == [0, 1, 2, 100, 101, 102, 103]
    assert cat[-1] == 103 and cat[-7] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        cat[-8]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        jdata.ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        jdata.ConcatDataset([a, Stream([2])])
    sub = jdata.Subset(cat, [6, 0, 3])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [103, 0, 100]
    assert sub.__getitems__([2, 1]) == [100, 0]
    chain = Stream([2]) + Stream([3])
    assert isinstance(chain, jdata.ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5


def test_random_split_with_torch_generator_matches_torch():
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]):
        ours = jdata.random_split(range(10), lengths, generator=torch.Generator().manual_seed(5))
        theirs = tdata.random_split(range(10), lengths, generator=torch.Generator().manual_seed(5))
        assert [list(s) for s in ours] == [list(s) for s in theirs]
        assert [s.indices for s in ours] == [s.indices for s in theirs]


def test_random_split_reproducible_and_errors():
    g1, g2 = jt.Generator().manual_seed(1), jt.Generator().manual_seed(1)
    a = jdata.random_split(range(20), [0.5, 0.5], generator=g1)
    b = jdata.random_split(range(20), [0.5, 0.5], generator=g2)
    assert [s.indices for s in a] == [s.indices for s in b]
    assert sorted(a[0].indices + a[1].indices) == list(range(20)) and len(a[0]) == 10
    jt.manual_seed(9)
    c = jdata.random_split(range(20), [15, 5])
    jt.manual_seed(9)
    d = jdata.random_split(range(20), [15, 5])
    assert [s.indices for s in c] == [s.indices for s in d]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        jdata.random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 2 is not between 0 and 1"):
        jdata.random_split(range(10), [0.5, 0.6, -0.1])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        jdata.random_split(range(2), [0.9, 0.1])


# -- samplers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(), dict(num_samples=25), dict(num_samples=4),
                                    dict(replacement=True), dict(replacement=True, num_samples=70)])
def test_random_sampler_with_torch_generator_matches_torch(kwargs):
    ours = jdata.RandomSampler(range(10), generator=torch.Generator().manual_seed(3), **kwargs)
    theirs = tdata.RandomSampler(range(10), generator=torch.Generator().manual_seed(3), **kwargs)
    assert len(ours) == len(theirs)
    assert list(ours) == list(theirs)
    assert list(ours) == list(theirs)   # the generator's state advances alike between epochs


def test_random_sampler_global_seed_and_jt_generator():
    s = jdata.RandomSampler(range(50))
    jt.manual_seed(0)
    first, second = list(s), list(s)
    jt.manual_seed(0)
    assert list(s) == first and list(s) == second
    assert sorted(first) == list(range(50)) and first != second
    g = jt.Generator().manual_seed(4)
    r = jdata.RandomSampler(range(50), replacement=True, num_samples=100, generator=g)
    draws = list(r)
    assert len(draws) == 100 and all(0 <= i < 50 for i in draws)
    g.manual_seed(4)
    assert list(r) == draws


def test_sampler_errors_match_torch():
    for cls in (jdata.RandomSampler, tdata.RandomSampler):
        with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=1"):
            cls(range(3), replacement=1)
        with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
            cls(range(3), num_samples=0)
    for cls in (jdata.BatchSampler, tdata.BatchSampler):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
            cls(range(3), 0, False)
        with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=None"):
            cls(range(3), 2, None)
    for cls in (jdata.WeightedRandomSampler, tdata.WeightedRandomSampler):
        with pytest.raises(ValueError, match="weights should be a 1d sequence but given weights have shape"):
            cls([[1.0, 2.0]], 2)
        with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
            cls([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        list(jdata.WeightedRandomSampler([1.0, 2.0], 3, replacement=False))
    with pytest.raises(RuntimeError, match="element < 0"):
        list(jdata.WeightedRandomSampler([1.0, -2.0], 1))


def test_subset_and_weighted_samplers_with_torch_generator_match_torch():
    idx = [5, 9, 2, 7, 11]
    ours = jdata.SubsetRandomSampler(idx, generator=torch.Generator().manual_seed(8))
    theirs = tdata.SubsetRandomSampler(idx, generator=torch.Generator().manual_seed(8))
    assert len(ours) == 5 and list(ours) == list(theirs)
    w = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6]
    for replacement in (True, False):
        ours = jdata.WeightedRandomSampler(w, 5, replacement, generator=torch.Generator().manual_seed(2))
        theirs = tdata.WeightedRandomSampler(w, 5, replacement, generator=torch.Generator().manual_seed(2))
        assert list(ours) == list(theirs) and len(ours) == 5
    assert _dtype_name(ours.weights.dtype) == "float64"


def test_weighted_sampler_draws_follow_weights():
    g = jt.Generator().manual_seed(0)
    draws = list(jdata.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g))
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0 and 0.2 < counts[1] / 4000 < 0.3
    no_repl = list(jdata.WeightedRandomSampler([0.0, 1.0, 3.0, 2.0], 4, replacement=False, generator=g))
    assert sorted(no_repl) == [0, 1, 2, 3] and no_repl[-1] == 0   # a zero weight comes last
    assert sorted(jdata.SubsetRandomSampler([4, 8, 15], generator=g)) == [4, 8, 15]


@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_and_sequential_samplers_match_torch(drop_last):
    ours = jdata.BatchSampler(jdata.SequentialSampler(range(10)), 3, drop_last)
    theirs = tdata.BatchSampler(tdata.SequentialSampler(range(10)), 3, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_generator():
    g = jt.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed() and g.device == jt.device("cpu")
    assert g.manual_seed(11) is g and g.initial_seed() == 11
    state = g.get_state()
    a = jdata.random_draws.randperm(20, g)
    g.set_state(state)
    assert jdata.random_draws.randperm(20, g) == a
    assert jdata.random_draws.randperm(20, jt.Generator().manual_seed(11)) == a
    assert g.seed() == g.initial_seed()
    with pytest.raises(TypeError, match="generator must be"):
        list(jdata.RandomSampler(range(3), generator=object()))


# -- collation ------------------------------------------------------------------------------------------

def _samples(tensor):
    """Samples of every kind default_collate knows, with `tensor` as the tensor constructor."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(3):
        out.append({
            "t": tensor(rng.standard_normal((2, 3)).astype(np.float32)),
            "ti": tensor([i, i + 1]),
            "np": rng.standard_normal(4),
            "np_scalar": np.float32(i) / 2,
            "np_int": np.int32(i),
            "f": i / 3,
            "i": i,
            "b": i % 2 == 0,
            "s": f"item{i}",
            "pair": (i, f"s{i}"),
            "point": Point(float(i), [i, 2 * i]),
            "nested": [{"k": np.array([i, i], dtype=np.int16)}, 7],
        })
    return out


def test_default_collate_nested_structures_match_torch():
    assert_same(jdata.default_collate(_samples(jt.tensor)), tdata.default_collate(_samples(torch.tensor)))


@pytest.mark.parametrize("batch", [[1, 2.5], [True, False], [np.float64(1), np.float64(2)], ["a", "b"],
                                   [(1, 2), (3, 4)], [[1, 2], [3, 4]], [np.array(1.0), np.array(2.0)]])
def test_default_collate_leaves_match_torch(batch):
    assert_same(jdata.default_collate(batch), tdata.default_collate(batch))


def test_default_collate_promotes_like_torch_stack():
    ours = jdata.default_collate([jt.tensor([1, 2]), jt.tensor([0.5, 1.5])])
    theirs = tdata.default_collate([torch.tensor([1, 2]), torch.tensor([0.5, 1.5])])
    assert_same(ours, theirs)


def test_default_collate_keeps_autograd_in_the_main_process():
    x = jt.ones(3, requires_grad=True)
    out = jdata.default_collate([x, x * 2])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_default_collate_errors_match_torch():
    cases = [([object(), object()], TypeError, "batch must contain tensors, numpy arrays, numbers, dicts or lists"),
             ([[1, 2], [3]], RuntimeError, "each element in list of batch should be of equal size"),
             ([np.array(["a"]), np.array(["b"])], TypeError, "found <U1"),
             ([jt.zeros(2), jt.zeros(3)], RuntimeError, r"stack expects each tensor to be equal size, but got \[2\] "
                                                       r"at entry 0 and \[3\] at entry 1")]
    for batch, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            jdata.default_collate(batch)
        theirs = [torch.zeros(len(b)) for b in batch] if isinstance(batch[0], jt.Tensor) else batch
        with pytest.raises(exc, match=msg):
            tdata.default_collate(theirs)


def test_default_convert_matches_torch():
    arr = np.arange(3.0)
    sample = (arr, [np.ones(2, np.float32)], "a", 3, {"k": np.int64(4)}, Point(np.zeros(1), "p"), np.array(["s"]))
    ours = jdata.default_convert(sample)
    assert_same(ours[:-1], tdata.default_convert(sample)[:-1])
    assert ours[-1] is sample[-1]        # string arrays pass through
    ours[0][0] = 10.0                    # NumPy arrays are shared, as torch.as_tensor shares them
    assert arr[0] == 10.0


# -- DataLoader -------------------------------------------------------------------------------------------

class Items(jdata.Dataset):
    """(x, y) samples of jt tensors made from NumPy, as a typical dataset makes them (no ops)."""

    def __init__(self, n, fail_at=None, exc=ValueError):
        self.x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
        self.fail_at, self.exc = fail_at, exc

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise self.exc(f"bad item {i}")
        return jt.from_numpy(self.x[i]), i


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (1, False), (10, True)])
def test_sequential_batches_match_torch(num_workers, batch_size, drop_last):
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    ours = jdata.DataLoader(jdata.TensorDataset(jt.tensor(x), jt.arange(10)), batch_size=batch_size,
                            drop_last=drop_last, num_workers=num_workers)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.arange(10)), batch_size=batch_size,
                              drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert_same(a, b)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shuffle_with_torch_generator_matches_torch(num_workers):
    ours = jdata.DataLoader(range(23), batch_size=5, shuffle=True, num_workers=num_workers,
                            generator=torch.Generator().manual_seed(7))
    theirs = tdata.DataLoader(range(23), batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(7))
    for _ in range(2):   # two epochs: the generator advances alike
        assert batches(ours) == batches(theirs)


def test_shuffle_reproducible_with_manual_seed():
    loader = jdata.DataLoader(Items(20), batch_size=6, shuffle=True)
    jt.manual_seed(123)
    a = [b[1].tolist() for b in loader]
    jt.manual_seed(123)
    b = [b[1].tolist() for b in loader]
    assert a == b and sorted(sum(a, [])) == list(range(20)) and a != [list(range(6))]
    g = jt.Generator().manual_seed(5)
    loader = jdata.DataLoader(Items(20), batch_size=6, shuffle=True, generator=g, num_workers=2)
    c = [b[1].tolist() for b in loader]
    g.manual_seed(5)
    assert [b[1].tolist() for b in loader] == c


def test_samplers_batch_sampler_and_no_batching():
    ds = Items(8)
    out = batches(jdata.DataLoader(range(8), sampler=[7, 1, 3], batch_size=2))
    assert out == [[7, 1], [3]]
    loader = jdata.DataLoader(range(8), batch_sampler=[[0, 5], [2, 2, 2]])
    assert batches(loader) == [[0, 5], [2, 2, 2]] and len(loader) == 2
    unbatched = list(jdata.DataLoader(ds, batch_size=None))
    assert len(unbatched) == 8 and unbatched[3][1] == 3 and list(unbatched[3][0].shape) == [2]
    np_items = list(jdata.DataLoader([np.ones(2)] * 3, batch_size=None))   # default_convert
    assert all(isinstance(t, jt.Tensor) for t in np_items)
    collated = list(jdata.DataLoader(range(5), batch_size=2, collate_fn=lambda b: sum(b)))
    assert collated == [1, 5, 4]


def test_pin_memory_and_in_order_accepted():
    loader = jdata.DataLoader(range(5), batch_size=2, pin_memory=True, pin_memory_device="", in_order=False)
    assert batches(loader) == [[0, 1], [2, 3], [4]]


def test_loader_argument_errors_match_torch():
    bad = [dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
           dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
           dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
           dict(num_workers=1, prefetch_factor=-1), dict(multiprocessing_context="spawn"),
           dict(num_workers=1, multiprocessing_context="nope")]
    for kwargs in bad:
        with pytest.raises(ValueError) as theirs:
            tdata.DataLoader(range(4), **kwargs)
        with pytest.raises(ValueError) as ours:
            jdata.DataLoader(range(4), **kwargs)
        assert str(ours.value) == str(theirs.value), kwargs
    for loader in (jdata.DataLoader(range(4)), tdata.DataLoader(range(4))):
        with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
            loader.batch_size = 3
        loader.num_workers = 0   # other attributes may change


class Stream(jdata.IterableDataset):
    """Worker w yields lengths[w] items w*100, w*100+1, ... (the whole stream without workers)."""

    def __init__(self, lengths, get_worker_info=jdata.get_worker_info):
        self.lengths, self.get_worker_info = lengths, get_worker_info

    def __iter__(self):
        info = self.get_worker_info()
        w = 0 if info is None else info.id
        return iter(range(w * 100, w * 100 + self.lengths[w]))

    def __len__(self):
        return sum(self.lengths)


class TorchStream(tdata.IterableDataset):
    __init__, __iter__, __len__ = Stream.__init__, Stream.__iter__, Stream.__len__


@pytest.mark.parametrize("batch_size,drop_last", [(2, False), (2, True), (None, False)])
@pytest.mark.parametrize("lengths", [[5, 2], [0, 3], [4, 4]])
def test_iterable_dataset_with_workers_matches_torch(lengths, batch_size, drop_last):
    ours = jdata.DataLoader(Stream(lengths), batch_size=batch_size, drop_last=drop_last, num_workers=2)
    theirs = tdata.DataLoader(TorchStream(lengths, tdata.get_worker_info), batch_size=batch_size,
                              drop_last=drop_last, num_workers=2)
    assert batches(ours) == batches(theirs)


def test_iterable_dataset_single_process_and_len():
    loader = jdata.DataLoader(Stream([7]), batch_size=3)
    assert batches(loader) == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    assert len(jdata.DataLoader(Stream([7]), batch_size=3, drop_last=True)) == 2
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        jdata.DataLoader(Stream([1]), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        jdata.DataLoader(Stream([1]), sampler=[0])


class WorkerIds(jdata.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = jdata.get_worker_info()
        return np.array([i, info.id, info.num_workers, info.seed - SEEDS.get(info.id, 0), os.getpid()])


SEEDS = {}


def _record_seed(worker_id):
    SEEDS[worker_id] = jdata.get_worker_info().seed - worker_id   # base seed, in the worker's memory


def test_workers_are_processes_with_worker_info():
    assert jdata.get_worker_info() is None
    loader = jdata.DataLoader(WorkerIds(), batch_size=2, num_workers=2, worker_init_fn=_record_seed)
    rows = np.concatenate([b.numpy() for b in loader])
    assert rows[:, 0].tolist() == list(range(8))
    assert rows[:, 1].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]   # batches go round-robin to the workers
    assert set(rows[:, 2]) == {2} and rows[:, 3].tolist() == rows[:, 1].tolist()   # seed = base + id
    assert os.getpid() not in set(rows[:, 4]) and len(set(rows[:, 4])) == 2


def test_worker_batches_are_jt_tensors_ready_for_ops():
    ds = jdata.TensorDataset(jt.randn(12, 3), jt.arange(12))   # Julia-made memory, read in the workers
    total = 0.0
    for xb, yb in jdata.DataLoader(ds, batch_size=5, num_workers=2):
        assert isinstance(xb, jt.Tensor) and isinstance(yb, jt.Tensor)
        total += (xb * 2).sum().item()
    np.testing.assert_allclose(total, ds.tensors[0].sum().item() * 2, rtol=1e-5)


@pytest.mark.parametrize("exc", [ValueError, KeyError, IndexError])
def test_worker_error_reraised_with_worker_traceback(exc):
    loader = jdata.DataLoader(Items(10, fail_at=6, exc=exc), batch_size=2, num_workers=2)
    with pytest.raises(exc) as info:
        list(loader)
    text = str(info.value)
    assert f"Caught {exc.__name__} in DataLoader worker process 1" in text
    assert "Original Traceback (most recent call last)" in text and "bad item 6" in text
    assert "in __getitem__" in text


class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def test_worker_error_of_unbuildable_type_becomes_runtime_error():
    loader = jdata.DataLoader(Items(4, fail_at=0, exc=lambda m: TwoArgError(m, 1)), batch_size=2, num_workers=1)
    with pytest.raises(RuntimeError, match="Caught TwoArgError in DataLoader worker process 0"):
        list(loader)


class RunsOps(jdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return jt.ones(2) * i


def test_ops_in_fork_worker_raise_clear_error():
    with pytest.raises(RuntimeError, match="forked from the one that started Julia"):
        list(jdata.DataLoader(RunsOps(), batch_size=2, num_workers=1))
    assert batches(jdata.DataLoader(RunsOps(), batch_size=2))[1] == [[2.0, 2.0], [3.0, 3.0]]


def test_ops_in_spawn_worker_run():
    loader = jdata.DataLoader(RunsOps(), batch_size=2, num_workers=1, multiprocessing_context="spawn")
    assert batches(loader) == [[[0.0, 0.0], [1.0, 1.0]], [[2.0, 2.0], [3.0, 3.0]]]


class Dies(jdata.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


class Slow(jdata.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        time.sleep(5)
        return i


def test_dead_worker_and_timeout():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(jdata.DataLoader(Dies(), num_workers=1))
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        list(jdata.DataLoader(Slow(), num_workers=1, timeout=0.5))
    assert time.monotonic() - t0 < 4


def test_persistent_workers_and_prefetch():
    loader = jdata.DataLoader(WorkerIds(), batch_size=4, num_workers=2, persistent_workers=True, prefetch_factor=1)
    pids = [set(b.numpy()[:, 4].tolist()) for _ in range(2) for b in loader]
    assert len(set().union(*pids)) == 2   # the same two processes served both epochs
    assert len(list(loader)) == 2
    half = iter(loader)
    next(half)                            # an epoch left unfinished, then a fresh one
    assert [b.numpy()[:, 0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    streams = jdata.DataLoader(Stream([3, 1]), batch_size=2, num_workers=2, persistent_workers=True)
    assert batches(streams) == batches(streams) == [[0, 1], [100], [2]]


def test_torch_dataloader_still_batches_jt_tensors():
    batch = next(iter(tdata.DataLoader(Items(4), batch_size=4)))
    assert isinstance(batch[0], jt.Tensor) and batch[1].tolist() == [0, 1, 2, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jdata.collate([jt.ones(2), jt.zeros(2)]).tolist() == [[1.0, 1.0], [0.0, 0.0]]
