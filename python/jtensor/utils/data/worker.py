"""DataLoader worker processes: the loop each worker runs, `get_worker_info`, and how a worker's
errors reach the main process.

A worker is started by the DataLoader's multiprocessing context: by default on Linux a fork of the
main process. Julia cannot run in a forked child (docs/multiprocessing.md), so a fork worker must
not run jt ops; it need not: reading samples (NumPy, lists, views of the parent's tensors) and
`default_collate` (which stacks with NumPy) need no Julia. Each batch is pickled in the worker and
unpickled in the main process into NumPy-backed jt tensors, which ops then use without a copy.
With ``multiprocessing_context="spawn"`` (or "forkserver") each worker imports jtensor and starts
its own Julia, so `__getitem__` may run ops there, and the worker's jt generator is seeded.
"""
import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np

from .fetch import IterableFetcher, make_fetcher

CHECK_INTERVAL = 0.5   # seconds between checks that the other side is still alive (or stopping)


class WorkerInfo:
    """What `get_worker_info()` returns in a worker: `id`, `num_workers`, `seed`, `dataset` (the
    worker's copy). Read-only, as torch's."""

    __initialized = False

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val):
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info = None


def get_worker_info():
    """In a DataLoader worker process, its `WorkerInfo`; None in the main process. An
    IterableDataset uses it to give each worker its own share of the stream."""
    return _worker_info


class KeyErrorMessage(str):
    """A KeyError's message printed as is (KeyError would print the repr of a multi-line text)."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as its type and traceback text."""

    def __init__(self, exc_info=None, where="in background"):
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the exception again: same type, the worker's traceback in the message (a
        RuntimeError where the type cannot be made from one message)."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:   # no cycle through this frame: the DataLoader iterator is freed (workers shut down) with it
            del exception


class StreamEnd:
    """A worker's IterableDataset copy is exhausted for this epoch."""

    def __init__(self, worker_id):
        self.worker_id = worker_id


class Resume:
    """Persistent workers: a new epoch starts (streams start over)."""


def _seed(seed, base_seed, worker_id):
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    from .collation import _julia_usable
    if _julia_usable():   # a spawned worker runs its own Julia
        from ...random import manual_seed
        manual_seed(seed & ((1 << 63) - 1))   # base_seed + id may pass the int64 range


def _pickled(data, where):
    """`data` pickled here, where an error can still be reported (a queue's feeder thread would
    only print it, and the main process would wait forever)."""
    try:
        return pickle.dumps(data, pickle.HIGHEST_PROTOCOL)
    except Exception:
        if isinstance(data, ExceptionWrapper):   # e.g. an exception class defined in a function
            data.exc_type = RuntimeError
            return pickle.dumps(data, pickle.HIGHEST_PROTOCOL)
        return pickle.dumps(ExceptionWrapper(where=f"{where} while pickling its batch"), pickle.HIGHEST_PROTOCOL)


def worker_loop(dataset, index_queue, data_queue, done_event, auto_collation, collate_fn, drop_last,
                base_seed, init_fn, worker_id, num_workers, parent_pid):
    """Serve ``((epoch, task), index)`` requests from `index_queue` with ``((epoch, task), pickled
    batch)`` on `data_queue` until None arrives or the main process is gone. `done_event` is set
    when the main process shuts the workers down (and no longer reads)."""
    global _worker_info
    where = f"in DataLoader worker process {worker_id}"
    try:
        seed = base_seed + worker_id
        _seed(seed, base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        error = fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            error = ExceptionWrapper(where=where)   # sent as the answer to the first request
        ended = False
        while True:
            try:
                task = index_queue.get(timeout=CHECK_INTERVAL)
            except queue.Empty:
                # done_event too: the stop message may never come when the main process's queue is
                # garbage-collected together with its iterator (its feeder thread is gone).
                if done_event.is_set() or os.getppid() != parent_pid:
                    break
                continue
            if task is None:
                break
            if isinstance(task, Resume):
                ended = False
                if error is None:
                    fetcher = make_fetcher(dataset, auto_collation, collate_fn, drop_last)
                continue
            if ended or done_event.is_set():
                continue
            key, index = task
            if error is not None:
                data, error = error, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not isinstance(fetcher, IterableFetcher):
                        data = ExceptionWrapper(where=where)
                    else:
                        data, ended = StreamEnd(worker_id), True
                except Exception:
                    data = ExceptionWrapper(where=where)
            data_queue.put((key, _pickled(data, where)))
            del data
    except KeyboardInterrupt:
        pass
    # The queue's feeder thread writes under a lock shared by all workers: exiting while it holds
    # the lock would block the other workers forever, so wait for it to finish, unless the main
    # process is shutting down and stopped reading (then nothing is waited for).
    if done_event.is_set():
        data_queue.cancel_join_thread()
    data_queue.close()
