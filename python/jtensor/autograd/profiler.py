"""`jt.autograd.profiler`: torch's older profiler spelling, over `jt.profiler`."""
from ..profiler import record_function, EventList, FunctionEvent, FunctionEventAvg  # noqa: F401
from .. import profiler as _profiler

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile(_profiler.profile):
    """``with jt.autograd.profiler.profile() as prof:`` (torch.autograd.profiler.profile's arguments)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False, with_flops=False,
                 profile_memory=False, with_stack=False, with_modules=False, use_kineto=False, use_cpu=True,
                 experimental_config=None, acc_events=False, custom_trace_id_callback=None):
        super().__init__(activities=[_profiler.ProfilerActivity.CPU] if enabled else [],
                         record_shapes=record_shapes, profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops)

    def table(self, *args, **kwargs):
        return self.key_averages().table(*args, **kwargs)
