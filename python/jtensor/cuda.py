"""``jt.cuda``: the CUDA device, as ``torch.cuda``.

Everything goes through the CUDA driver API that the Julia core calls by ``ccall``
(julia/src/cuda/driver.jl), in the device's primary context (PyTorch's). Nothing CUDA is loaded
by ``import jtensor``: the first question here tries ``libcuda.so.1`` from Python (it exists only
on a machine with a GPU driver) and only then asks Julia. Without a driver every answer is that of
a PyTorch built without CUDA, as before.

The kernels are generated from the op registry (docs/cuda.md). Python tensors in CUDA memory are
not wired to the bridge yet, so ``is_available()`` stays False until they are, even with a GPU
(a program that picks ``"cuda"`` when it is available must be able to make tensors there);
``driver_available()`` gives the driver's own answer, and the Julia-level device tests use it.
"""
import ctypes
import os

from .devices import CudaUnavailableError, _NO_CUDA

_DRIVER = [None]          # None: not asked yet; else the answer
_TENSORS_WIRED = False    # CUDA tensors from Python (storage, .to("cuda")) exist in this build


def _julia(code):
    from . import bridge
    return bridge.eval_value(code)


def library_paths():
    """Absolute paths of libnvrtc and libcublas, as a dict (a library not installed is absent):
    from the CUDA 13 wheels of ``jtensor[cuda]`` (``nvidia/cu13/lib``), else from the CUDA 12
    wheels a CUDA build of PyTorch installs (``nvidia/cuda_nvrtc/lib``, ``nvidia/cublas/lib``)."""
    import importlib.util
    out = {}
    layouts = [("nvidia.cu13", "lib", {"nvrtc": "libnvrtc.so.13", "cublas": "libcublas.so.13"}),
               ("nvidia.cuda_nvrtc", "lib", {"nvrtc": "libnvrtc.so.12"}),
               ("nvidia.cublas", "lib", {"cublas": "libcublas.so.12"})]
    for module, sub, libs in layouts:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        for base in (spec.submodule_search_locations or []) if spec else []:
            for key, name in libs.items():
                p = os.path.join(base, sub, name)
                if key not in out and os.path.exists(p):
                    out[key] = p
    return out


def configure_libraries():
    """Tell the Julia core where NVRTC and cuBLAS are (nothing is loaded until they are used).
    Returns the paths given."""
    paths = library_paths()
    for key, ref in (("nvrtc", "NVRTC_PATH"), ("cublas", "CUBLAS_PATH")):
        if key in paths:
            _julia(f'JTensor.{ref}[] = "{paths[key]}"; nothing')
    return paths


def driver_available():
    """True when the CUDA driver loads and reports a device (asked once per process)."""
    if _DRIVER[0] is None:
        try:
            ctypes.CDLL("libcuda.so.1")
        except OSError:
            _DRIVER[0] = False
            return False
        _DRIVER[0] = bool(_julia("JTensor.cuda_available()"))
        if _DRIVER[0]:
            configure_libraries()
    return _DRIVER[0]


def is_available():
    """Whether tensors can live on a CUDA device (False without a driver, and in this build, see
    the module's docstring)."""
    return _TENSORS_WIRED and driver_available()


def device_count():
    """The number of CUDA devices the driver reports (0 without a driver)."""
    return int(_julia("JTensor.cuda_device_count()")) if driver_available() else 0


def is_initialized():
    return bool(_DRIVER[0])


def _require():
    if not driver_available():
        raise CudaUnavailableError(_NO_CUDA)


def current_device():
    _require()
    return 0


def synchronize(device=None):
    """Wait for all work on the device (raises as PyTorch without CUDA when there is none)."""
    _require()
    _julia("JTensor.cuda_synchronize(); nothing")


def manual_seed(seed):
    """Seed of the CUDA random generator; accepted and ignored without a device, as PyTorch does."""
    _SEED[0] = int(seed)


manual_seed_all = manual_seed
_SEED = [0]


def initial_seed():
    return _SEED[0]


def memory_allocated(device=None):
    """Bytes of device memory held by jtensor's tensors (0 without a device)."""
    return int(_julia("JTensor.CUDA_ALLOCATED[]")) if _DRIVER[0] else 0


def empty_cache():
    """Return unused pooled device memory to the driver; nothing to do without a device."""
    if _DRIVER[0]:
        _julia("JTensor.cuda_empty_cache(); nothing")


class Stream:
    """A CUDA stream (``torch.cuda.Stream``): ``cuda_stream`` is its ``CUstream`` handle,
    ``synchronize()`` waits for it, ``wait_event``/``record_event`` order it with events."""

    def __init__(self, device=None, priority=0, *, _handle=None):
        _require()
        self.cuda_stream = _handle if _handle is not None else int(_julia("Int(JTensor.cuda_stream_create())"))

    def synchronize(self):
        _julia(f"JTensor.cuda_stream_synchronize(Ptr{{Cvoid}}({self.cuda_stream})); nothing")

    def wait_event(self, event):
        _julia(f"JTensor.cuda_stream_wait_event(Ptr{{Cvoid}}({self.cuda_stream}), Ptr{{Cvoid}}({event._handle})); nothing")

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other):
        return isinstance(other, Stream) and other.cuda_stream == self.cuda_stream

    def __hash__(self):
        return hash(self.cuda_stream)


def current_stream(device=None):
    """The stream jtensor launches on (PyTorch's current stream when set, else the default)."""
    _require()
    return Stream(_handle=int(_julia("Int(JTensor.CURRENT_STREAM[])")))


def set_stream(stream):
    _require()
    _julia(f"JTensor.CURRENT_STREAM[] = Ptr{{Cvoid}}({stream.cuda_stream}); nothing")


class Event:
    """A CUDA event (``torch.cuda.Event``): ``record``, ``synchronize``, ``elapsed_time`` (ms)."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        _require()
        self._handle = int(_julia(f"Int(JTensor.cuda_event_create({str(bool(enable_timing)).lower()}))"))

    def record(self, stream=None):
        s = current_stream() if stream is None else stream
        _julia(f"JTensor.cuda_event_record(Ptr{{Cvoid}}({self._handle}), Ptr{{Cvoid}}({s.cuda_stream})); nothing")

    def synchronize(self):
        _julia(f"JTensor.cuda_event_synchronize(Ptr{{Cvoid}}({self._handle})); nothing")

    def elapsed_time(self, end):
        return float(_julia(f"JTensor.cuda_event_elapsed_ms(Ptr{{Cvoid}}({self._handle}), Ptr{{Cvoid}}({end._handle}))"))
