"""`jt.autograd.graph`: hooks on the tensors the autograd graph saves, as ``torch.autograd.graph``.

Inside ``saved_tensors_hooks(pack_hook, unpack_hook)``, every tensor an op saves for its backward
(the inputs or outputs its derivative formula reads, and a custom Function's
``save_for_backward``) is passed to ``pack_hook`` when the op runs, and the graph keeps what it
returns; backward reads the tensor back as ``unpack_hook(packed)``. The innermost pair applies.
``save_on_cpu`` is such a pair that keeps copies on the CPU (here, where every tensor already is,
a copy). ``disable_saved_tensors_hooks(message)`` makes any use of these hooks raise `message`.
Saving goes through `Packed` and `unpacked` in `autograd/__init__.py`, read by the op nodes and
by custom Functions.
"""
import contextlib

from . import Node, SAVED_HOOKS, SAVED_HOOKS_DISABLED

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks", "Node"]


class saved_tensors_hooks:
    """Context manager: pack/unpack hooks for the tensors saved by the graph recorded inside it.
    ``pack_hook(tensor) -> anything``; ``unpack_hook(that) -> tensor`` (same shape and dtype)."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if SAVED_HOOKS_DISABLED[0] is not None:
            raise RuntimeError(SAVED_HOOKS_DISABLED[0])
        SAVED_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        SAVED_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept as copies on the CPU and brought back to their device in backward
    (`pin_memory` is accepted; there is no pinned memory here)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack_to_cpu(tensor):
            return tensor.device, tensor.detach().to("cpu", copy=True)

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device)
        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message):
    """Within the block, entering ``saved_tensors_hooks`` raises RuntimeError(error_message); so
    does entering this block while such hooks are active."""
    if SAVED_HOOKS:
        raise RuntimeError(error_message)
    previous = SAVED_HOOKS_DISABLED[0]
    SAVED_HOOKS_DISABLED[0] = error_message
    try:
        yield
    finally:
        SAVED_HOOKS_DISABLED[0] = previous
