"""jtensor: PyTorch-style tensors for Python, computed by the Julia package JTensor.

``import jtensor as jt`` starts Julia inside this process (once), reads the op registry, and
publishes every op as ``jt.<name>``, ``jt.ops.<name>`` and Tensor methods/operators.
"""
import sys as _sys

if _sys.argv[:1] == ["-m"] and "jtensor.sysimage" in getattr(_sys, "orig_argv", ()):
    # `python -m jtensor.sysimage` is importing this package to reach its module: that command
    # manages Julia's system image and must not start Julia (nor need a working one).
    # (While `-m` imports the package, sys.argv[0] is "-m"; it is the module's path afterwards.)
    from .sysimage import main as _main
    raise SystemExit(_main(_sys.argv[1:]))

from . import bridge as _bridge

_bridge.start()

from . import dtypes as _dtypes
from .dtypes import (bool_ as bool, int8, int16, int32, int64, uint8, float16, bfloat16, float32, float64,
                     complex64, complex128, dtype, promote_types, can_cast)
from .errors import JuliaError
from .devices import device, cuda, get_default_device, set_default_device
from . import backends
from . import __config__  # noqa: E402 (jt.__config__.show(): the BLAS in use, as torch.__config__)
from . import autograd
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from ._tensor import Tensor, tensor, asarray, from_numpy, empty
from .creation import (zeros, ones, full, empty_like, zeros_like, ones_like, full_like, arange, linspace,
                       eye, rand, randn, randint, rand_like, randn_like, range, empty_permuted, frombuffer)
from . import random
_MANUAL = ("manual_seed",)   # registry ops whose top-level name is a Python function (ops.publish skips them)
from .random import (Generator, default_generator, manual_seed, seed, initial_seed, get_rng_state,
                     set_rng_state)
from .dlpack import from_dlpack, to_dlpack
from .registry import REGISTRY as _REGISTRY
from . import drivers as _drivers, _tensor as _tensor_mod
from .ops import ops, publish as _publish
from .typeinfo import (Size, finfo, iinfo, get_num_threads, set_num_threads, get_num_interop_threads,
                       set_num_interop_threads, set_flush_denormal)
from .dtypes import get_default_dtype, set_default_dtype
from . import composites as _composites, statistics as _statistics, sampling as _sampling  # noqa: F401 (jt.<name> via ops.composed)
from . import rebind as _rebind, tensor_api as _tensor_api, switches as _switches  # noqa: F401
from . import linalg
from . import fft  # noqa: E402  (torch.fft's transforms)
from . import special  # noqa: E402  (torch.special: ops of namespace "special" are published into it)
from . import order_stats as _order_stats, nn_functions as _nn_functions, matrix_builders as _matrix_builders  # noqa: F401,E402 (jt.<name> via ops.composed)
from . import histograms as _histograms, finite_differences as _finite_differences, spectral as _spectral  # noqa: F401,E402 (jt.<name> via ops.composed)
from . import lowrank as _lowrank  # noqa: F401,E402 (jt.svd_lowrank, jt.pca_lowrank via ops.composed)
from .layouts import (layout, strided, memory_format, contiguous_format, channels_last,  # noqa: E402
                      channels_last_3d, preserve_format)
from . import legacy_tensors as _legacy_tensors  # noqa: E402 (and Tensor.new, via ops.composed)
from . import storage as _storage  # noqa: F401,E402 (Tensor.untyped_storage / storage via ops.composed)
globals().update({cls.__name__: cls for cls in _legacy_tensors.CLASSES.values() if not cls.dtype.is_complex})

_drivers.bind(_tensor_mod)   # before the first sync: the generated functions capture the C fast path
from .user_dtypes import register_dtype, publish as _publish_dtypes  # noqa: E402
if _publish not in _REGISTRY.listeners:   # (a retried import, after a Ctrl-C, runs this again)
    _REGISTRY.listeners.append(_publish)
if _publish_dtypes not in _REGISTRY.listeners:
    _REGISTRY.listeners.append(_publish_dtypes)
if not _REGISTRY.sync():    # already in sync (a retried import): this module object still needs the ops
    _publish(_REGISTRY)
from . import overrides  # noqa: E402
overrides.install_tensor_methods()   # before jt.func copies Tensor's methods onto BatchedTensor

from . import func  # noqa: E402  (BatchedTensor mirrors Tensor's methods, published just above)
from .func import vmap  # noqa: E402  (torch.vmap is torch.func.vmap)
from . import nn  # noqa: E402
from . import fx  # noqa: E402  (jt.fx: graph capture and transformation)
from . import optim  # noqa: E402
from . import julia  # noqa: E402
from .serialization import save, load  # noqa: E402
from . import utils  # noqa: E402
from . import testing  # noqa: E402  (torch.testing's assert_close, make_tensor)
from . import amp  # noqa: E402  (autocast, GradScaler)
from .amp import autocast, is_autocast_enabled, get_autocast_dtype  # noqa: E402
from .amp.autocast_mode import is_autocast_cpu_enabled  # noqa: E402
from . import cpu  # noqa: E402
from . import jit  # noqa: E402  (torch.jit's entry points on jt.compile)
from . import profiler  # noqa: E402
from .autograd import profiler as _autograd_profiler  # noqa: E402,F401  (jt.autograd.profiler)
cuda.amp = amp.device_amp.cuda
from . import distributions  # noqa: E402  (torch.distributions, composed from jt ops)
from .compile import compile  # noqa: E402  (jt.compile: the function; the package is jtensor.compile)
from . import distributed  # noqa: E402  (imports torch only when used)

utils.data.register_collate()   # torch's DataLoader batches jt tensors, fork workers included
from . import _einops  # noqa: E402
_einops.install()   # einops' default path takes jt tensors once einops is imported

half = float16
float = float32
double = float64
long = int64
int = int32
cfloat = complex64
cdouble = complex128
__version__ = "0.1.0"


def result_type(*arrays_and_dtypes):
    """The dtype an op on these tensors, dtypes and Python scalars gives (``torch.result_type``'s
    rule: 0-dim tensors and scalars are weak, see dtypes.result_type)."""
    tensors, zero_dim, scalars = [], [], []
    for a in arrays_and_dtypes:
        if isinstance(a, Tensor):
            (tensors if a.ndim else zero_dim).append(a.dtype)
        elif isinstance(a, _dtypes.dtype):
            tensors.append(a)
        else:
            scalars.append(a)
    return _dtypes.result_type(tensors, scalars, zero_dim)


def is_tensor(x):
    return isinstance(x, Tensor)


def numel(x):
    return x.numel()


overrides.install_namespaces()   # every public function of jt, F, linalg, fft: __jtensor_function__


def __getattr__(name):
    """Ops defined in Julia after import (e.g. from a REPL) appear here on first access. A forked
    child cannot enter Julia (`bridge._forked`), so there it only says the name is missing, and
    `hasattr` answers False as for any module."""
    if not _bridge._forked and _REGISTRY.sync():
        g = globals()
        if name in g:
            return g[name]
    raise AttributeError(f"module 'jtensor' has no attribute {name!r}")
