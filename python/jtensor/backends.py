"""``jt.backends``: the switches PyTorch programs read or set before choosing a device.

jtensor computes on the CPU (and describes tensors on the meta device); there is no MPS or CUDA
backend in this build, so the availability queries answer False, and cuDNN's flags are accepted
(programs set ``jt.backends.cudnn.benchmark = True``) and change nothing.
"""
import types

mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cudnn = types.SimpleNamespace(enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
                              is_available=lambda: False, version=lambda: None)
cpu = types.SimpleNamespace(get_cpu_capability=lambda: "DEFAULT")
