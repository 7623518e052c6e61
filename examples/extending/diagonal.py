"""The Python half of examples/extending/diagonal.jl: a diagonal-matrix type for jtensor.

`Diag(d)` stores only the diagonal `d` (a 1-d tensor). It is not a Tensor; it takes part in
jtensor calls through the `__jtensor_function__` protocol:

- `jt.matmul` / `@` / `jt.mm` go to the op `diag_matmul`, whose Julia kernel wraps the diagonal in
  the Julia type `DiagTensor` and calls `JTensor._matmul`: multiple dispatch picks the O(n·m)
  method diagonal.jl added for it;
- `jt.sum` over everything goes to `diag_sum` (O(n), `JTensor._sum`'s method for DiagTensor);
- every other op falls back to the generic path on the materialised matrix (`diag_dense`).

`Diag.calls` counts which path each call took.
"""
import collections
import os

import jtensor as jt

JULIA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diagonal.jl")


def load():
    """Load the Julia side (DiagTensor and its kernel methods, the diag_* ops)."""
    jt.julia.include(JULIA_FILE)


def _is_plain_sum(args, kwargs):
    return len(args) == 1 or (tuple(args[1:]) in ((None,), (None, False)) and
                              all(v is None for v in kwargs.values()))


class Diag:
    """A square diagonal matrix, stored as its diagonal."""

    calls = collections.Counter()   # "specialised:<op>" / "fallback:<op>"

    def __init__(self, diag):
        diag = jt.asarray(diag)
        if diag.ndim != 1:
            raise ValueError(f"Diag: the diagonal must be 1-d, got shape {tuple(diag.shape)}")
        self.diag = diag

    @property
    def shape(self):
        n = self.diag.shape[0]
        return (n, n)

    @property
    def dtype(self):
        return self.diag.dtype

    @property
    def ndim(self):
        return 2

    def to_dense(self):
        """The full matrix, as a Tensor."""
        return jt.ops.diag_dense(self.diag)

    def __repr__(self):
        return f"Diag({self.diag.tolist()})"

    # Operators go through the jtensor functions, which hand them to __jtensor_function__.
    def __matmul__(self, other):
        return jt.matmul(self, other)

    def __rmatmul__(self, other):
        return jt.matmul(other, self)

    def __add__(self, other):
        return jt.add(self, other)

    def __radd__(self, other):
        return jt.add(other, self)

    def __mul__(self, other):
        return jt.mul(self, other)

    def __rmul__(self, other):
        return jt.mul(other, self)

    def sum(self, dim=None, keepdim=False):
        return jt.sum(self, dim, keepdim)

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", "")
        no_out = kwargs.get("out") is None
        if name in ("matmul", "mm") and len(args) == 2 and no_out:
            a, b = args
            cls.calls[f"specialised:{name}"] += 1
            if isinstance(a, Diag) and isinstance(b, Diag):
                return Diag(a.diag * b.diag)
            return jt.ops.diag_matmul(a.diag if isinstance(a, Diag) else a,
                                      b.diag if isinstance(b, Diag) else b,
                                      isinstance(a, Diag), isinstance(b, Diag))
        if name == "sum" and isinstance(args[0], Diag) and _is_plain_sum(args, kwargs):
            cls.calls["specialised:sum"] += 1
            return jt.ops.diag_sum(args[0].diag)
        cls.calls[f"fallback:{name}"] += 1
        return func(*_densify(args), **{k: _densify(v) for k, v in kwargs.items()})


def _densify(x):
    if isinstance(x, Diag):
        return x.to_dense()
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_densify(v) for v in x)
    return x
