"""jt tensors in PyTorch's own DataLoader, including its fork-started worker processes.

(jtensor's own `jtensor.utils.data.DataLoader` needs none of this; this module is for code that
keeps using ``torch.utils.data.DataLoader`` over datasets of jt tensors.)

A DataLoader worker started by fork (the default on Linux) cannot run Julia: it is a copy of a
process whose Julia threads did not survive the fork (python/jtensor/bridge.py refuses every op
there with a clear RuntimeError). What a dataset usually does still works there, because it does
not need Julia: making tensors from NumPy arrays or lists (`jt.tensor`, `jt.from_numpy`,
`jt.asarray` of NumPy data), taking views (`t[i]`, slices, `.view`) and `.numpy()`. What remained
was batching: torch's `default_collate` knows torch tensors and NumPy arrays, not jt tensors.

`collate` batches jt tensors with NumPy (`collation.stack`), so it runs in any worker, and otherwise
does what `default_collate` does (tuples, dicts, numbers...). `import jtensor` registers it in
torch's collate table (`torch.utils.data._utils.collate.default_collate_fn_map`), now or when
torch.utils.data is first imported, so a plain ``DataLoader(ds, batch_size=32, num_workers=2)``
over a dataset returning jt tensors yields batches of jt tensors in the parent (NumPy-backed,
pickled over the worker's queue). See docs/multiprocessing.md.
"""
import importlib.abc
import importlib.machinery
import sys

from .collation import stack

_COLLATE_MODULE = "torch.utils.data._utils.collate"


def _collate_tensors(batch, *, collate_fn_map=None):
    return stack(batch)


def collate(batch):
    """torch's `default_collate`, with jt tensors stacked by `stack` (works in fork workers).

    Use it as ``DataLoader(..., collate_fn=jtensor.utils.data.collate)`` where the automatic
    registration does not apply (e.g. a DataLoader class other than torch's)."""
    from torch.utils.data._utils.collate import collate as torch_collate, default_collate_fn_map
    from ..._tensor import Tensor
    table = {Tensor: _collate_tensors, **default_collate_fn_map}
    return torch_collate(batch, collate_fn_map=table)


def _register(module):
    from ..._tensor import Tensor
    table = getattr(module, "default_collate_fn_map", None)
    if isinstance(table, dict) and Tensor not in table:
        table[Tensor] = _collate_tensors


class _RegisterOnImport(importlib.abc.MetaPathFinder):
    """Registers `collate` for jt tensors once torch's collate module has been imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _COLLATE_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        real_exec = loader.exec_module

        def exec_module(module):
            real_exec(module)
            _register(module)
            _uninstall()

        loader.exec_module = exec_module
        return spec


_finder = _RegisterOnImport()


def _uninstall():
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def register_collate():
    """Teach torch's default_collate to batch jt tensors (called by ``import jtensor``)."""
    module = sys.modules.get(_COLLATE_MODULE)
    if module is not None:
        _register(module)
    elif _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
