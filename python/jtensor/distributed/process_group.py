"""Process groups: torch.distributed's, used as they are.

`init_process_group` starts torch's default group (gloo: jtensor tensors live on the CPU), from
the environment that ``torchrun`` sets (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or from
explicit arguments. Groups are torch's ``ProcessGroup`` objects, so code that mixes jt and torch
collectives shares them. The default group's size is kept here, so that a collective at world
size 1 returns without touching torch.
"""
from ._torch import torch_available, torch_modules

_default_size = [None]     # world size of the default group, once known (None: ask torch)


def _check_backend(backend):
    if backend is None:
        return "gloo"
    name = str(backend).lower()
    if "nccl" in name:
        raise RuntimeError(f"jt.distributed: backend {backend!r} needs CUDA tensors, and jtensor has none yet "
                           "(its tensors live on the CPU); use backend='gloo'")
    return backend


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Start the default process group (``torch.distributed.init_process_group``).

    `backend` defaults to ``"gloo"``. Without `init_method` or `store`, the group is found through
    the environment (``env://``: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, as torchrun sets
    them). `timeout` (a ``datetime.timedelta``) bounds every collective: a peer that died or
    stopped answering makes the others raise within it instead of waiting forever.
    """
    _, dist = torch_modules()
    kwargs = dict(backend=_check_backend(backend), init_method=init_method, world_size=world_size, rank=rank,
                  store=store, group_name=group_name, pg_options=pg_options)
    if timeout is not None:
        kwargs["timeout"] = timeout
    if device_id is not None:
        kwargs["device_id"] = device_id
    dist.init_process_group(**kwargs)
    _default_size[0] = dist.get_world_size()


def destroy_process_group(group=None):
    """Shut down `group`, or (None) every group and the default one."""
    _, dist = torch_modules()
    if group is None:
        _default_size[0] = None
    dist.destroy_process_group(group)


def is_available():
    """True when jt.distributed can work: torch with torch.distributed is installed."""
    return torch_available()


def is_initialized():
    """True when the default process group exists (False when torch is not installed)."""
    if not torch_available():
        return False
    return torch_modules()[1].is_initialized()


def get_rank(group=None):
    """This process's rank in `group` (default: the world); -1 outside `group`."""
    return torch_modules()[1].get_rank(group)


def get_world_size(group=None):
    """The number of processes in `group` (default: the world); -1 outside `group`. The default
    group's size is cached (collectives ask it on every call, for the world-size-1 fast path)."""
    if group is None:
        if _default_size[0] is None:
            _default_size[0] = torch_modules()[1].get_world_size()
        return _default_size[0]
    return torch_modules()[1].get_world_size(group)


def get_backend(group=None):
    """The backend of `group` ("gloo")."""
    return torch_modules()[1].get_backend(group)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None):
    """A group of the given world ranks (every process must call it, with the same ranks)."""
    _, dist = torch_modules()
    kwargs = dict(ranks=ranks, backend=_check_backend(backend) if backend is not None else None,
                  pg_options=pg_options, use_local_synchronization=use_local_synchronization)
    if timeout is not None:
        kwargs["timeout"] = timeout
    if group_desc is not None:
        kwargs["group_desc"] = group_desc
    return dist.new_group(**kwargs)
