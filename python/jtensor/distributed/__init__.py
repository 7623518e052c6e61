"""`jt.distributed`: torch.distributed for jt tensors (docs/distributed.md).

PyTorch's process groups, backends (gloo on CPUs), launcher (torchrun) and fault handling do the
work; jt tensors cross to them through DLPack without copies. torch is an optional dependency:
this package imports without it, and its functions then raise ModuleNotFoundError saying what to
install (`is_available()` and `is_initialized()` answer False).

Modules: `_torch` (importing torch, jt tensors as torch tensors), `process_group` (groups, ranks,
world sizes), `collectives` (the collectives, send/recv, `Work`), `run` (``python -m
jtensor.distributed.run``, torchrun). `ReduceOp`, `group`, `GroupMember`, `Backend`,
`ProcessGroup` and torch's `Dist*Error` exception types are torch's own, looked up on first use.
"""
from .collectives import (Work, all_gather, all_gather_into_tensor, all_gather_object, all_reduce, barrier,
                          broadcast, broadcast_object_list, gather, irecv, isend, recv, reduce,
                          reduce_scatter_tensor, scatter, send)
from .process_group import (destroy_process_group, get_backend, get_rank, get_world_size, init_process_group,
                            is_available, is_initialized, new_group)
from ._torch import INSTALL_HINT, torch_modules as _torch_modules

_FROM_TORCH = ("ReduceOp", "group", "GroupMember", "Backend", "ProcessGroup", "DistError", "DistBackendError",
               "DistNetworkError", "DistStoreError")

__all__ = ["Work", "all_gather", "all_gather_into_tensor", "all_gather_object", "all_reduce", "barrier", "broadcast",
           "broadcast_object_list", "destroy_process_group", "gather", "get_backend", "get_rank", "get_world_size",
           "init_process_group", "irecv", "is_available", "is_initialized", "isend", "new_group", "recv", "reduce",
           "reduce_scatter_tensor", "scatter", "send", "INSTALL_HINT"] + list(_FROM_TORCH)


def __getattr__(name):
    """torch.distributed's own types and constants (ReduceOp, group.WORLD...), imported on first use."""
    if name in _FROM_TORCH:
        return getattr(_torch_modules()[1], name)
    raise AttributeError(f"module 'jtensor.distributed' has no attribute {name!r}")
