"""PyTorch's functions that are compositions of registry ops, as PyTorch composes them too: the
function forms of Tensor's view methods, fused multiply-adds (`addmm`, `addcmul`...), broadcasting
helpers, index updates (`index_add`, `masked_scatter`...), `Tensor.new_*` and friends.

Gradients come from the registry ops they are made of. Each is registered with `ops.composed`,
which publishes it as `jt.<name>` and/or the Tensor method `<name>`.
"""
import math
import warnings

import numpy as np

import jtensor as jt
from . import dtypes as D
from ._tensor import Tensor, _shape_arg
from .ops import composed
from .registry import broadcast_shapes as _broadcast_shapes, norm_dim
from .typeinfo import Size


# ---- the function forms of Tensor's view methods: one source, the method ---------------------------------
def _function_of(name):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input, *args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`jt.{name}(input, ...)` is `input.{name}(...)`.\n\n{method.__doc__ or ''}"
    return function


for _name in ("flatten", "unsqueeze", "squeeze", "permute", "reshape", "transpose", "chunk", "split", "narrow",
              "movedim", "unbind", "diagonal", "swapaxes", "swapdims", "moveaxis", "tensor_split", "unflatten"):
    if hasattr(Tensor, _name):
        composed(_name, method=False)(_function_of(_name))


# ---- sizes -----------------------------------------------------------------------------------------------
@composed(function=False)
def nelement(self):
    """The number of elements (`numel`)."""
    return self.numel()


@composed(function=False)
def sum_to_size(self, *size):
    """Sum broadcast dimensions away so that the result has shape `size` (which must expand to self's)."""
    size = _shape_arg(size)
    try:
        if _broadcast_shapes(size, self.shape) != tuple(self.shape):
            raise ValueError
    except (ValueError, RuntimeError):
        raise RuntimeError(f"sum_to_size: size {list(size)} is not expandable to size {list(self.shape)}") from None
    from .autograd import sum_to_size as _sum_to
    return _sum_to(self, size)


@composed(method=False)
def broadcast_shapes(*shapes):
    """The shape that tensors of the given shapes (ints count as 1-d shapes) broadcast to."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return Size(_broadcast_shapes(*shapes) if shapes else ())
    except (ValueError, RuntimeError):
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: {shapes}") from None


@composed(method=False)
def broadcast_tensors(*tensors):
    """Views of the tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


@composed(method=False)
def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-d or 1-d tensors: 'ij' (matrix, the default, with PyTorch's warning
    when not given) or 'xy' (Cartesian: the first two outputs' dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
                      "argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    if not tensors:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("torch.meshgrid: expects all tensors to have the same dtype")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    n = len(flat)
    grids = [t.reshape([-1 if j == i else 1 for j in range(n)]).expand(shape) for i, t in enumerate(flat)]
    if swap:   # 'xy': the grids of (y, x, ...) in 'ij' order, the first two given back swapped
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def _atleast(nd, tensors):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for t in tensors:
        if t.ndim == 0:
            t = t.reshape((1,) * nd)
        elif t.ndim == 1 and nd >= 2:
            t = t.unsqueeze(0) if nd == 2 else t.reshape(1, -1, 1)
        elif t.ndim == 2 and nd == 3:
            t = t.unsqueeze(-1)
        out.append(t)
    return out[0] if single else tuple(out)


@composed(method=False)
def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (0-d becomes (1,)); one tensor in, one out; else a tuple."""
    return _atleast(1, tensors)


@composed(method=False)
def atleast_2d(*tensors):
    """Each tensor with at least 2 dims: (n,) becomes (1, n)."""
    return _atleast(2, tensors)


@composed(method=False)
def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    return _atleast(3, tensors)


# ---- fused multiply-adds ------------------------------------------------------------------------------------
def _scaled_sum(input, product, beta, alpha, name):
    """beta * input + alpha * product, with input broadcast to product's shape (and ignored, NaN
    included, when beta is 0), as PyTorch's addmm family."""
    try:
        expanded = input.expand(product.shape) if isinstance(input, Tensor) else input
    except (ValueError, RuntimeError):
        raise RuntimeError(f"{name}: the input of shape {list(input.shape)} cannot be broadcast to the "
                           f"product's shape {list(product.shape)}") from None
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled * 1 if scaled is product else scaled
    return jt.add(scaled, expanded if beta == 1 else expanded * beta)


def _check_dims(name, **tensors):
    for what, (t, nd) in tensors.items():
        if t.ndim != nd:
            raise RuntimeError(f"{name}: {what} must be a {nd}-D tensor, got {t.ndim}-D (shape {list(t.shape)})")


@composed()
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), for matrices mat1 and mat2."""
    _check_dims("addmm", mat1=(mat1, 2), mat2=(mat2, 2))
    return _scaled_sum(input, jt.mm(mat1, mat2), beta, alpha, "addmm")


@composed()
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), for batches of matrices."""
    _check_dims("baddbmm", batch1=(batch1, 3), batch2=(batch2, 3))
    return _scaled_sum(input, jt.bmm(batch1, batch2), beta, alpha, "baddbmm")


@composed()
def mv(input, vec):
    """Matrix-vector product."""
    _check_dims("mv", input=(input, 2), vec=(vec, 1))
    return jt.matmul(input, vec)


@composed()
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec)."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha, "addmv")


@composed()
def inner(input, other):
    """Inner product over the last dims (a product when either is 0-d)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return jt.tensordot(input, other, ([-1], [-1]))


def _value_for(value, *tensors):
    """addcmul's `value` as PyTorch applies it: truncated to an int when every tensor is integral."""
    if isinstance(value, float) and all(t.dtype.kind in "biu" for t in tensors if isinstance(t, Tensor)):
        return int(value)
    return value


@composed()
def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2 (broadcast, promoted)."""
    return jt.add(input, tensor1 * tensor2, alpha=_value_for(value, input, tensor1, tensor2))


def _check_cdiv(tensor1, tensor2):
    if all(isinstance(t, Tensor) and t.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release addcdiv "
                           "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
                           "be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for "
                           "integer inputs and as (input + value * tensor1 / tensor2) for float inputs.")


@composed()
def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 are refused, as PyTorch)."""
    _check_cdiv(tensor1, tensor2)
    return jt.add(input, tensor1 / tensor2, alpha=value)


@composed(function=False)
def addcmul_(self, tensor1, tensor2, *, value=1):
    """In-place addcmul."""
    return self.add_(tensor1 * tensor2, alpha=_value_for(value, self, tensor1, tensor2))


@composed(function=False)
def addcdiv_(self, tensor1, tensor2, *, value=1):
    """In-place addcdiv."""
    _check_cdiv(tensor1, tensor2)
    return self.add_(tensor1 / tensor2, alpha=value)


# ---- index updates: scatters along one dim ----------------------------------------------------------------------
def _index_along(name, input, dim, index, length_of):
    """`index` (a vector of k positions along `dim`) as a scatter index shaped like `length_of`
    with k along dim (a view: the positions repeat over the other dims)."""
    if index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector, got shape {list(index.shape)}")
    if index.dtype not in (D.int64, D.int32):
        raise IndexError(f"{name}(): Expected dtype int32/int64 for index, got {index.dtype.name}")
    d = norm_dim(dim, max(input.ndim, 1), name)
    index = index.reshape(-1)
    shape = list(length_of.shape) if length_of.ndim else [1]
    shape[d] = index.shape[0]
    view = [1] * len(shape)
    view[d] = -1
    return d, index.to(D.int64).reshape(view).expand(shape)


def _check_source(name, input, d, index, source):
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): self ({input.dtype.name}) and source ({source.dtype.name}) must have the "
                           "same scalar type")
    ishape, sshape = list(input.shape) or [1], list(source.shape) or [1]
    if len(ishape) != len(sshape) or any(a != b for i, (a, b) in enumerate(zip(ishape, sshape)) if i != d) \
            or sshape[d] != index.numel():
        raise RuntimeError(f"{name}(): source of shape {sshape} does not match self of shape {ishape} with "
                           f"{index.numel()} indices along dim {d}")


def _index_scatter(name, input, dim, index, source, inplace, alpha=1, reduce=None, include_self=True):
    d, idx = _index_along(name, input, dim, index, source)
    _check_source(name, input, d, index, source)
    src = source if alpha == 1 else source * alpha
    x, src = (input, src) if input.ndim else (input.reshape(1), src.reshape(1))
    if name.startswith("index_add"):
        r = x.scatter_add_(d, idx, src) if inplace else jt.scatter_add(x, d, idx, src)
    elif name.startswith("index_reduce"):
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(f"{name}(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
        r = x.scatter_reduce_(d, idx, src, reduce, include_self=include_self) if inplace else \
            jt.scatter_reduce(x, d, idx, src, reduce, include_self=include_self)
    else:
        r = x.scatter_(d, idx, src) if inplace else jt.scatter(x, d, idx, src)
    return input if inplace else r.reshape(input.shape)


@composed()
def index_add(input, dim, index, source, *, alpha=1):
    """input with alpha * source's slices along dim added at the positions `index` (repeats accumulate)."""
    return _index_scatter("index_add", input, dim, index, source, False, alpha)


@composed(function=False)
def index_add_(self, dim, index, source, *, alpha=1):
    """In-place index_add."""
    return _index_scatter("index_add_", self, dim, index, source, True, alpha)


@composed()
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """input with source's slices along dim reduced ('prod', 'mean', 'amax', 'amin') into the positions
    `index`; include_self=False leaves input's values at those positions out of the reduction."""
    return _index_scatter("index_reduce", input, dim, index, source, False, reduce=reduce, include_self=include_self)


@composed(function=False)
def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
    """In-place index_reduce."""
    return _index_scatter("index_reduce_", self, dim, index, source, True, reduce=reduce, include_self=include_self)


@composed()
def index_copy(input, dim, index, source):
    """input with source's slices along dim written at the positions `index`."""
    return _index_scatter("index_copy", input, dim, index, source, False)


@composed(function=False)
def index_copy_(self, dim, index, source):
    """In-place index_copy."""
    return _index_scatter("index_copy_", self, dim, index, source, True)


def _index_fill(name, input, dim, index, value, inplace):
    d, idx = _index_along(name, input, dim, index, input)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"{name}(): only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        value = value.item()
    x = input if input.ndim else input.reshape(1)
    r = x.scatter_(d, idx, value=value) if inplace else jt.scatter(x, d, idx, value=value)
    return input if inplace else r.reshape(input.shape)


@composed()
def index_fill(input, dim, index, value):
    """input with the slices along dim at the positions `index` set to `value`."""
    return _index_fill("index_fill", input, dim, index, value, False)


@composed(function=False)
def index_fill_(self, dim, index, value):
    """In-place index_fill."""
    return _index_fill("index_fill_", self, dim, index, value, True)


def _scattered(input, mask, source):
    """(the mask broadcast to input's shape, a tensor holding source's first elements, in order, at
    the mask's True positions and 0 elsewhere): masked_scatter's checks and gather."""
    if mask.dtype is not D.bool_:
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype {mask.dtype.name}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got "
                           f"{input.dtype.name} and {source.dtype.name}")
    shape = broadcast_shapes(input.shape, mask.shape)
    m = mask.expand(shape)
    count = int(m.sum())
    if count > source.numel():
        raise RuntimeError(f"masked_scatter: expected source to have at least {count} elements (the mask's True "
                           f"count), got {source.numel()}")
    taken = (m.reshape(-1).cumsum(0) - 1).clamp(min=0).reshape(shape)
    picked = jt.take(source, taken) if source.numel() else jt.zeros(shape, dtype=input.dtype)
    return m, jt.where(m, picked, jt.zeros((), dtype=input.dtype))


# In-place forms write through the registry's in-place ops (masked_fill_, add_, scatter_...), which
# rebase self's autograd history; a result computed from self and copied back would make a cycle.

@composed()
def masked_scatter(input, mask, source):
    """input with its elements where `mask` (broadcast) is True replaced, in order, by source's
    first elements."""
    m, picked = _scattered(input, mask, source)
    return jt.where(m, picked, input)


@composed(function=False)
def masked_scatter_(self, mask, source):
    """In-place masked_scatter (the mask must not need broadcasting beyond self's shape)."""
    m, picked = _scattered(self, mask, source)
    return self.masked_fill_(m, 0).add_(picked)


def _outside_triangle(self, diagonal, lower):
    """The mask of the elements that tril (lower) / triu zero, over the last two dims."""
    if self.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}_: input tensor must have at least 2 dimensions")
    ones = jt.ones(self.shape[-2:], dtype=D.bool_)
    return jt.triu(ones, diagonal + 1) if lower else jt.tril(ones, diagonal - 1)


@composed(function=False)
def tril_(self, diagonal=0):
    """In-place tril."""
    return self.masked_fill_(_outside_triangle(self, diagonal, True), 0)


@composed(function=False)
def triu_(self, diagonal=0):
    """In-place triu."""
    return self.masked_fill_(_outside_triangle(self, diagonal, False), 0)


# ---- element-wise compositions ---------------------------------------------------------------------------
@composed()
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by `nan`, `posinf` and `neginf` (default: the dtype's largest
    and lowest finite values). Integer and bool tensors come back unchanged (a copy)."""
    if input.dtype.kind in "biu":
        return input.clone()
    if input.dtype.kind == "c":
        return jt.complex(nan_to_num(input.real, nan, posinf, neginf), nan_to_num(input.imag, nan, posinf, neginf))
    from .typeinfo import finfo
    info = finfo(input.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    r = jt.where(input == math.inf, jt.full((), posinf, dtype=input.dtype), input)
    r = jt.where(input == -math.inf, jt.full((), neginf, dtype=input.dtype), r)
    return jt.where(jt.isnan(input), jt.full((), nan, dtype=input.dtype), r)


@composed(function=False)
def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    """In-place nan_to_num (real floating tensors; integer tensors are left as they are)."""
    if self.dtype.kind in "biu":
        return self
    if self.dtype.kind == "c":
        raise RuntimeError("nan_to_num_: complex tensors are not supported in place; use nan_to_num")
    from .typeinfo import finfo
    info = finfo(self.dtype)
    masks = (jt.isnan(self), self == math.inf, self == -math.inf)   # all read before the first write
    for m, v in zip(masks, (nan, info.max if posinf is None else posinf, info.min if neginf is None else neginf)):
        self.masked_fill_(m, v)
    return self


@composed()
def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along dim (after concatenating prepend and append there);
    bool tensors give `!=` of neighbours, as PyTorch."""
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = norm_dim(dim, input.ndim, "diff")
    parts = [t if isinstance(t, Tensor) else jt.tensor(t, dtype=input.dtype).expand(
        input.shape[:d] + (1,) + input.shape[d + 1:]) for t in (prepend, input, append) if t is not None]
    x = jt.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        if x.shape[d] == 0:
            break
        a, b = x.narrow(d, 1, x.shape[d] - 1), x.narrow(d, 0, x.shape[d] - 1)
        x = jt.ne(a, b) if x.dtype is D.bool_ else a - b
    return x


@composed()
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along dim) repeated `repeats` times (an int, or one count per element);
    `repeat_interleave(counts)` alone gives each index i repeated counts[i] times. `dim=None`
    flattens the input first."""
    if repeats is None:   # repeat_interleave(repeats): the indices 0..n-1, repeated
        counts = input
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave: repeats must be a 1-d integer tensor")
        return repeat_interleave(jt.arange(counts.shape[0], dtype=counts.dtype), counts, 0, output_size=output_size)
    x, d = (input.reshape(-1), 0) if dim is None else (input, norm_dim(dim, max(input.ndim, 1), "repeat_interleave"))
    x = x if x.ndim else x.reshape(1)
    n = x.shape[d]
    counts = np.asarray(repeats.tolist() if isinstance(repeats, Tensor) else repeats, dtype=np.int64).reshape(-1)
    if counts.size == 1:
        counts = np.repeat(counts, n)
    if counts.size != n:
        raise RuntimeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.size} and input.size({d}) = {n}")
    if (counts < 0).any():
        raise RuntimeError("repeat_interleave: repeats can not be negative")
    idx = np.repeat(np.arange(n, dtype=np.int64), counts)
    if output_size is not None and output_size != idx.size:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the repeats' sum {idx.size}")
    return jt.index_select(x, d, jt.tensor(idx))


@composed()
def equal(input, other):
    """True when both tensors have the same shape and equal elements (NaN is not equal to itself)."""
    if input.shape != other.shape:
        return False
    return bool(jt.eq(input, other).all())


# ---- making tensors -----------------------------------------------------------------------------------------
@composed(method=False)
def as_tensor(data, *, dtype=None, device=None):
    """`data` as a tensor, sharing memory when it already is one (or a NumPy array) of the asked
    dtype and device; otherwise a converted copy."""
    import numpy as _np
    if isinstance(data, Tensor):
        if (dtype is None or D.as_dtype(dtype) is data.dtype) and (device is None or jt.device(device) == data.device):
            return data
        return data.to(device=device if device is not None else data.device, dtype=dtype or data.dtype)
    if isinstance(data, _np.ndarray) and device in (None, "cpu") and data.dtype.isnative:
        try:
            t = jt.from_numpy(data)
        except (TypeError, ValueError):
            t = None
        if t is not None:
            return t if dtype is None or D.as_dtype(dtype) is t.dtype else t.to(dtype)
    return jt.tensor(data, dtype=dtype, device=device)


@composed(method=False)
def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """`steps` values base ** x for x evenly spaced from start to end, both included."""
    exps = jt.linspace(start, end, steps, dtype=D.float64, device=device)
    r = (jt.full((), base, dtype=D.float64, device=device) ** exps).to(D.as_dtype(dtype or D.default_float))
    return r.requires_grad_(True) if requires_grad else r


def _tri_indices(name, row, col, offset, dtype, device, lower):
    if row < 0 or col < 0:
        raise RuntimeError(f"{name}: row and col must be non-negative, got row={row}, col={col}")
    r, c = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return jt.tensor(np.stack([r, c]).astype(np.int64).reshape(2, -1), dtype=dtype, device=device)


@composed(method=False)
def tril_indices(row, col, offset=0, *, dtype=D.int64, device=None):
    """The (row, col) indices of the lower triangle of a row × col matrix, as a 2 × N tensor."""
    return _tri_indices("tril_indices", row, col, offset, dtype, device, True)


@composed(method=False)
def triu_indices(row, col, offset=0, *, dtype=D.int64, device=None):
    """The (row, col) indices of the upper triangle of a row × col matrix, as a 2 × N tensor."""
    return _tri_indices("triu_indices", row, col, offset, dtype, device, False)


def _new(self, dtype, device):
    return dict(dtype=self.dtype if dtype is None else dtype, device=self.device if device is None else device)


@composed(function=False)
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of shape `size`, with self's dtype and device unless given."""
    return jt.zeros(_shape_arg(size), **_new(self, dtype, device), requires_grad=requires_grad)


@composed(function=False)
def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    """Ones of shape `size`, with self's dtype and device unless given."""
    return jt.ones(_shape_arg(size), **_new(self, dtype, device), requires_grad=requires_grad)


@composed(function=False)
def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of shape `size`, with self's dtype and device unless given."""
    return jt.empty(_shape_arg(size), **_new(self, dtype, device), requires_grad=requires_grad)


@composed(function=False)
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of shape `size` filled with fill_value, with self's dtype and device unless given."""
    return jt.full(_shape_arg((size,)), fill_value, **_new(self, dtype, device), requires_grad=requires_grad)


@composed(function=False)
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of `data` as a tensor with self's dtype and device unless given."""
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() "
                      "or sourceTensor.clone().detach().requires_grad_(True), rather than "
                      "tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
        data = data.detach()
    return jt.tensor(data, **_new(self, dtype, device), requires_grad=requires_grad)


@composed(function=False)
def type_as(self, other):
    """self converted to other's dtype (and device)."""
    return self.to(other.device, other.dtype)


# ---- division with a rounding mode ---------------------------------------------------------------------
_ROUNDING_MODES = (None, "trunc", "floor")


def _rounded_quotient(input, other, rounding_mode, name):
    """input / other rounded toward zero ('trunc') or down ('floor'); integer inputs stay integer."""
    from .ops import ops
    if rounding_mode not in _ROUNDING_MODES:
        raise ValueError(f"{name} expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")
    if rounding_mode is None:
        return ops.div(input, other)
    if rounding_mode == "floor":
        return ops.floor_divide(input, other)
    q = ops.div(input, other)
    if q.dtype.is_floating_point or q.dtype.is_complex:
        result = jt.result_type(input, other)
        if result.is_floating_point or result.is_complex:
            return ops.trunc(q)
    # integers: the floor quotient, one up where the remainder is non-zero and the signs differ
    f = ops.floor_divide(input, other)
    wrong = (f * other != input) & ((jt.as_tensor(input) < 0) != (jt.as_tensor(other) < 0))
    return jt.where(wrong, f + 1, f)


@composed("div")
def div(input, other, *, rounding_mode=None):
    """input / other (true division), or with `rounding_mode` 'trunc' or 'floor' its quotient
    rounded toward zero or down, as torch.div; integer inputs then give integers."""
    return _rounded_quotient(input, other, rounding_mode, "div")


@composed("divide")
def divide(input, other, *, rounding_mode=None):
    """Alias of `div`."""
    return _rounded_quotient(input, other, rounding_mode, "divide")


def _div_inplace(name):
    def method(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return Tensor.__itruediv__(self, other)
        return self.copy_(_rounded_quotient(self, other, rounding_mode, name))
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place `{name[:-1]}`: self = self / other, rounded as `rounding_mode` says."
    return method


for _name in ("div_", "divide_"):
    composed(_name, function=False)(_div_inplace(_name))


# ---- Tensor.clip: the method form takes no `out=`, as torch's ------------------------------------------
@composed("clip", function=False)
def clip(self, min=None, max=None):
    """`clamp(self, min, max)`. Like torch's method it takes no `out=`, so `np.clip(t, ...)`, which
    tries `t.clip(..., out=None)` first, falls back to NumPy's own path (refusing a tensor that
    requires grad with torch's message) as it does for torch tensors."""
    from .ops import ops
    return ops.clamp(self, min, max)


# ---- special functions whose argument order differs from the registry's ------------------------------------
@composed(function=False)
def polygamma(self, n):
    """`x.polygamma(n)` is `jt.polygamma(n, x)` (the registry op takes n first, as torch.polygamma)."""
    return jt.polygamma(n, self)


@composed(function=False)
def polygamma_(self, n):
    """In-place `x.polygamma_(n)`: x becomes polygamma(n, x) (x must be floating point)."""
    return self.copy_(jt.polygamma(n, self))


def _float_power_dtype(input, exponent):
    complex_ = any(isinstance(v, complex) or (isinstance(v, Tensor) and v.is_complex()) for v in (input, exponent))
    return D.complex128 if complex_ else D.float64


@composed()
def float_power(input, exponent, *, out=None):
    """input ** exponent computed in double precision: both are converted to float64 (complex128 if
    either is complex) first, as torch.float_power."""
    dt = _float_power_dtype(input, exponent)
    cast = [v.to(dt) if isinstance(v, Tensor) else v for v in (input, exponent)]
    if not isinstance(cast[0], Tensor) and not isinstance(cast[1], Tensor):
        raise TypeError("float_power(): at least one of input and exponent must be a tensor")
    if not isinstance(cast[0], Tensor):
        cast[0] = jt.tensor(cast[0], dtype=dt)
    return jt.pow(cast[0], cast[1], out=out)


@composed(function=False)
def float_power_(self, exponent):
    """In-place float_power: self must already be float64 (complex128), as PyTorch requires."""
    dt = _float_power_dtype(self, exponent)
    if self.dtype != dt:
        raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype.name} but the operation's "
                           f"result requires dtype {dt.name}")
    return self.copy_(float_power(self, exponent))
