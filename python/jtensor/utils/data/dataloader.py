"""`DataLoader`: batches from a dataset, in the main process or in worker processes (torch's).

It combines a dataset, a sampler (which indices, in which order; `shuffle=True` makes a
`RandomSampler`), a `BatchSampler` (groups them) and a collate function (stacks a batch). With
``num_workers=N > 0``, N worker processes read and collate batches (see `worker` for what they
may run), up to ``prefetch_factor`` batches ahead each, and batches are returned in the sampler's
order, as torch does (for an IterableDataset, tasks go round-robin to the workers whose stream has
not ended, so the batches interleave as in torch).
"""
import itertools
import math
import multiprocessing
import multiprocessing.context
import os
import pickle
import queue
import threading
import time

from . import random_draws
from .collation import default_collate, default_convert
from .dataset import is_iterable_dataset
from .fetch import make_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import CHECK_INTERVAL, ExceptionWrapper, Resume, StreamEnd, worker_loop


class _InfiniteConstantSampler(Sampler):
    """An IterableDataset's 'sampler': None forever (the dataset decides what comes next)."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over `dataset` in batches (torch.utils.data.DataLoader's arguments and defaults).

    ``pin_memory`` and ``pin_memory_device`` are accepted and do nothing (CPU only).
    ``in_order=False`` is accepted; batches still come in order (allowed, never required)."""

    _frozen = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")
    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers=False, pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers "
                             "> 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._is_iterable = is_iterable_dataset(dataset)
        if self._is_iterable:
            for name, value, unset in (("shuffle", shuffle, (None, False)), ("sampler", sampler, (None,)),
                                       ("batch_sampler", batch_sampler, (None,))):
                if not any(value is u for u in unset):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterator = None
        self.__initialized = True

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        if context is not None:
            if self.num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(context, str):
                if context not in multiprocessing.get_all_start_methods():
                    raise ValueError("multiprocessing_context option should specify a valid start method in "
                                     f"{multiprocessing.get_all_start_methods()!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            elif not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context object or a string "
                                f"specifying the start method, but got multiprocessing_context={context}")
        self.__multiprocessing_context = context

    def __setattr__(self, name, value):
        if self.__initialized and name in self._frozen:
            raise ValueError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self):
        if not self._is_iterable:
            return len(self._index_sampler)
        length = len(self.dataset)   # a TypeError where the stream has no length, as in torch
        if self.batch_size is not None:
            length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
        return length


class _BaseIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._index_sampler = loader._index_sampler
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        self._sampler_iter = iter(self._index_sampler)
        # Drawn as torch draws it (even without workers), so that a shared generator gives torch's orders.
        self._base_seed = random_draws.seed(loader.generator)
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _next_index(self):
        return next(self._sampler_iter)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        return data

    def __len__(self):
        return len(self._index_sampler)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = make_fetcher(self._dataset, self._auto_collation, self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(self._next_index())   # StopIteration ends the epoch


class _MultiProcessIter(_BaseIter):
    """Workers each read tasks from their own index queue and answer on one shared data queue.
    `_task_info` maps a task number to (worker,) while it is pending, or (worker, batch) once it
    arrived ahead of its turn; `_rcvd_idx` is the next task to return."""

    def __init__(self, loader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._shutdown = False
        self._owner_pid = os.getpid()   # a forked copy of this iterator must not stop these workers
        self._owner_thread = threading.get_ident()
        self._epoch = 0
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._data_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues, self._workers = [], []
        for worker_id in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()
            w = context.Process(target=worker_loop, daemon=True, args=(
                self._dataset, index_queue, self._data_queue, self._done_event, self._auto_collation, self._collate_fn,
                self._drop_last, self._base_seed, loader.worker_init_fn, worker_id, self._num_workers,
                os.getpid()))
            w.start()
            self._index_queues.append(index_queue)
            self._workers.append(w)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        if not first_iter:   # persistent workers: a new epoch over the same workers
            self._sampler_iter = iter(self._index_sampler)
            self._num_yielded = 0
            self._epoch += 1
            for q in self._index_queues:
                q.put(Resume())
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers   # False: the worker's stream ended
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        if self._tasks_outstanding >= self._prefetch_factor * self._num_workers:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return
        self._index_queues[worker_id].put(((self._epoch, self._send_idx), index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:   # skip tasks of workers whose stream ended
                info = self._task_info.get(self._rcvd_idx)
                if info is not None:
                    if len(info) == 2 or self._workers_status[info[0]]:
                        break
                    del self._task_info[self._rcvd_idx]
                    self._tasks_outstanding -= 1
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                data = self._task_info.pop(self._rcvd_idx)[1]
                return self._process_data(data)
            (epoch, idx), data = self._get_data()
            if epoch != self._epoch:   # left over from an epoch that was not iterated to its end
                continue
            self._tasks_outstanding -= 1
            if isinstance(data, StreamEnd):
                del self._task_info[idx]
                self._workers_status[data.worker_id] = False
                if not self._persistent:
                    self._index_queues[data.worker_id].put(None)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                self._task_info[idx] += (data,)
            else:
                del self._task_info[idx]
                return self._process_data(data)

    def _process_data(self, data):
        self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get_data(self):
        """The next answer from any worker; RuntimeError on `timeout` or when a worker died."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = CHECK_INTERVAL if deadline is None else min(CHECK_INTERVAL, deadline - time.monotonic())
            try:
                key, payload = self._data_queue.get(timeout=max(wait, 0))
                return key, pickle.loads(payload)
            except queue.Empty:
                pass
            dead = [w.pid for w, active in zip(self._workers, self._workers_status) if active and not w.is_alive()]
            if dead:
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _shutdown_workers(self, wait=True):
        """Tell the workers to stop; with `wait`, reap them (terminating one that does not exit
        within two CHECK_INTERVALs, e.g. one still inside a slow __getitem__)."""
        if self._shutdown or os.getpid() != self._owner_pid:
            return
        self._shutdown = True
        self._done_event.set()
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for w in self._workers if wait else ():
            w.join(timeout=2 * CHECK_INTERVAL)
            if w.is_alive():
                w.terminate()
                w.join()
        for q in (*self._index_queues, self._data_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        # The garbage collector may run this on any thread, even on a queue's feeder thread, which
        # must return before that queue sends the workers their stop message: wait only on the
        # thread that made the iterator. Workers not waited for exit by themselves (daemons, reaped
        # by multiprocessing).
        if getattr(self, "_workers", None) is not None:
            self._shutdown_workers(wait=threading.get_ident() == self._owner_thread)
