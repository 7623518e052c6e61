"""`nn.DataParallel`: PyTorch's single-process multi-GPU wrapper, as it behaves without GPUs.

jtensor computes on the CPU, where PyTorch's DataParallel has no devices to split a batch over
and simply calls the wrapped module: programs that wrap their model keep working, and the state
dict keys carry the ``module.`` prefix as PyTorch's do. For training on several processes, see
`jt.nn.parallel.DistributedDataParallel`.
"""
from ..module import Module

__all__ = ["DataParallel"]


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``: runs `module` on the
    CPU (there are no accelerators to scatter the batch to); `module` is its wrapped model."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
