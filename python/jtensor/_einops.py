"""einops on jt tensors, on einops' default path (`einops.rearrange(t, ...)`, not only `einops.array_api`).

einops finds the backend for a tensor among the subclasses of its `AbstractBackend` whose
framework is imported. So jtensor defines such a subclass, but only once einops itself is
imported: jtensor never imports einops (that would cost every user its import time). If einops is
already imported, the backend is defined at once; otherwise a meta-path finder waits for
`einops._backends` to be loaded and defines it right after.
"""
import importlib.abc
import importlib.machinery
import sys

_MODULE = "einops._backends"
_defined = []


def _define_backend(backends):
    """Define jtensor's einops backend class (once), as a subclass of einops' AbstractBackend."""
    if _defined:
        return
    import jtensor as jt

    class JTensorBackend(backends.AbstractBackend):
        framework_name = "jtensor"

        def is_appropriate_type(self, tensor):
            return isinstance(tensor, jt.Tensor)

        def from_numpy(self, x):
            t = jt.from_numpy(x)
            if t.is_floating_point():
                t.requires_grad_(True)
            return t

        def to_numpy(self, x):
            return x.detach().numpy()

        def arange(self, start, stop):
            return jt.arange(start, stop, dtype=jt.int64)

        def reduce(self, x, operation, reduced_axes):
            if operation in ("min", "max"):
                return getattr(x, "a" + operation)(dim=reduced_axes)
            if operation in ("sum", "mean"):
                return getattr(x, operation)(dim=reduced_axes)
            if operation in ("any", "all", "prod"):   # one dim at a time, as PyTorch's
                for i in sorted(reduced_axes)[::-1]:
                    x = getattr(x, operation)(dim=i)
                return x
            raise NotImplementedError(f"einops reduction {operation!r} on jtensor")

        def transpose(self, x, axes):
            return x.permute(axes)

        def stack_on_zeroth_dimension(self, tensors):
            return jt.stack(tensors)

        def add_axes(self, x, n_axes, pos2len):
            repeats = [-1] * n_axes
            for axis_position, axis_length in pos2len.items():
                x = jt.unsqueeze(x, axis_position)
                repeats[axis_position] = axis_length
            return x.expand(repeats)

        def add_axis(self, x, new_position):
            return jt.unsqueeze(x, new_position)

        def tile(self, x, repeats):
            return x.repeat(repeats)

        def concat(self, tensors, axis):
            return jt.cat(tensors, dim=axis)

        def is_float_type(self, x):
            return x.dtype.is_floating_point

        def einsum(self, pattern, *x):
            return jt.einsum(pattern, *x)

    _defined.append(JTensorBackend)


class _AfterImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Loads `einops._backends` with its own loader, then defines jtensor's backend."""

    def find_spec(self, name, path, target=None):
        if name != _MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        _define_backend(module)


def install():
    """Make einops' default path accept jt tensors, now or when einops gets imported."""
    if _MODULE in sys.modules:
        _define_backend(sys.modules[_MODULE])
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport())
