"""`jt.layout` / `jt.strided` and `jt.memory_format` (`contiguous_format`, `channels_last`,
`channels_last_3d`, `preserve_format`): PyTorch's descriptors of how a tensor lies in memory.

Every jtensor tensor is dense and strided, so `strided` is the only layout. The memory formats
are real: channels_last is the (N, C, H, W) tensor whose memory runs N, H, W, C (strides
(H W C, 1, W C, C)), channels_last_3d the same for (N, C, D, H, W); `Tensor.contiguous` and
`Tensor.is_contiguous` take them (see `strides_for`, `is_contiguous_as`, `contiguous_as`).
"""
from .ops import composed


class _Descriptor:
    """A named singleton that prints and pickles as its module-level name."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"jtensor.{self.name}"

    def __reduce__(self):
        return self.name   # pickles as the module-level singleton


class layout(_Descriptor):
    """A tensor layout; `jt.strided` (dense, strided) is jtensor's only one."""
    __slots__ = ()


class memory_format(_Descriptor):
    """A memory format: the order of a tensor's dims in memory, outermost first."""
    __slots__ = ()


strided = layout("strided")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

_CHANNELS_LAST_RANK = {channels_last: 4, channels_last_3d: 5}


def _order(fmt, ndim, what):
    """Dims outermost first for `fmt` (None: row-major). channels_last needs a 4-d tensor,
    channels_last_3d a 5-d one (PyTorch's RuntimeError otherwise)."""
    if fmt in (None, contiguous_format, preserve_format):
        return list(range(ndim))
    if fmt in _CHANNELS_LAST_RANK:
        rank = _CHANNELS_LAST_RANK[fmt]
        if ndim != rank:
            raise RuntimeError(f"required rank {rank} tensor to use {fmt.name} format ({what})")
        return [0] + list(range(2, ndim)) + [1]
    raise TypeError(f"memory_format must be a jt.memory_format, got {fmt!r}")


def strides_for(shape, fmt):
    """The strides of a dense tensor of `shape` laid out in memory format `fmt`."""
    strides = [0] * len(shape)
    step = 1
    for d in reversed(_order(fmt, len(shape), "strides")):
        strides[d] = step
        step *= max(shape[d], 1)
    return tuple(strides)


def is_contiguous_as(t, fmt):
    """Whether tensor t is dense in memory format `fmt` (size-1 dims' strides do not matter)."""
    if fmt in (None, contiguous_format, preserve_format):
        return t.is_contiguous()
    if fmt not in _CHANNELS_LAST_RANK:
        raise TypeError(f"memory_format must be a jt.memory_format, got {fmt!r}")
    if t.ndim != _CHANNELS_LAST_RANK[fmt]:
        return False
    if t.numel() == 0:
        return True
    want = strides_for(t.shape, fmt)
    return all(n == 1 or s == w for n, s, w in zip(t.shape, t.stride(), want))


def clone_as(t, fmt):
    """A copy of t laid out in memory format `fmt` (preserve_format: as Tensor.clone())."""
    if fmt is preserve_format:
        return t.clone()
    order = _order(fmt, t.ndim, "clone")
    inverse = [order.index(d) for d in range(t.ndim)]
    return t.permute(*order).clone().permute(*inverse)


def contiguous_as(t, fmt):
    """t itself when already dense in `fmt`, else a copy laid out in `fmt` (same values)."""
    return t if is_contiguous_as(t, fmt) else clone_as(t, fmt)


def dim_order(t):
    """The dims of t from outermost to innermost in memory (largest stride first; ties keep
    the dims' order), as Tensor.dim_order."""
    return tuple(sorted(range(t.ndim), key=lambda d: -t.stride()[d]))


@composed("dim_order", function=False)
def _dim_order_method(self, *, ambiguity_check=False):
    """Tensor.dim_order: dims from outermost to innermost in memory; with ambiguity_check, a
    RuntimeError when that order is not unique (a size-1 dim, or two dims with one stride)."""
    if ambiguity_check and (1 in self.shape or len(set(self.stride())) != self.ndim):
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given "
                           "memory formats.")
    return dim_order(self)
