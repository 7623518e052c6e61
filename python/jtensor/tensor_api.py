"""PyTorch's small Tensor API that programs reach for beside the ops: predicates (`is_signed`,
`is_nonzero`...), the function forms of methods (`jt.clone`, `jt.t`...), dtype shorthands
(`byte`, `short`...), one-sided clamps, splits and stacks by axis, the `*_scatter` embeddings
and a few constructors (`scalar_tensor`, `randint_like`). Each composes registry ops or views,
as PyTorch composes them; gradients come from those ops.
"""
import jtensor as jt
from . import dtypes as D
from ._tensor import Tensor
from .ops import composed
from .registry import norm_dim


# ---- function forms of Tensor methods ---------------------------------------------------------------------------
def _function_of(name):
    def function(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)   # looked up per call: composed methods bind at publish
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"`jt.{name}(input, ...)` is `input.{name}(...)`."
    return function


for _name in ("clone", "detach", "detach_", "t", "ravel", "broadcast_to", "select", "is_floating_point", "is_complex",
              "zero_", "as_strided", "as_strided_", "nan_to_num_", "resize_as_", "index_put_", "get_device"):
    composed(_name, method=False)(_function_of(_name))


# ---- predicates -------------------------------------------------------------------------------------------------
@composed()
def is_nonzero(input):
    """The truth of a one-element tensor; RuntimeError for any other size, as PyTorch."""
    n = input.numel()
    if n != 1:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0 else
                           "Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


@composed()
def is_same_size(input, other):
    """Whether both tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


@composed()
def is_signed(input):
    """Whether the dtype holds negative values (every dtype but bool and uint8)."""
    return input.dtype.name not in ("bool", "uint8")


@composed(function=False)
def ndimension(self):
    """The number of dimensions (`dim()`)."""
    return self.ndim


def _constant(name, value, doc):
    def function(input):
        return input if value is _SELF else value
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    composed(name)(function)


_SELF = object()
for _name, _value, _doc in (
        ("is_conj", False, "False: conjugation is computed at once here, never a lazy bit."),
        ("is_neg", False, "False: negation is computed at once here, never a lazy bit."),
        ("is_inference", False, "False: tensors made under `inference_mode` are ordinary tensors here."),
        ("resolve_conj", _SELF, "`input` itself (no lazy conjugation to materialise)."),
        ("resolve_neg", _SELF, "`input` itself (no lazy negation to materialise).")):
    _constant(_name, _value, _doc)


@composed()
def isreal(input):
    """True where the element has no imaginary part (everywhere for real dtypes)."""
    if input.dtype.kind == "c":
        return jt.imag(input) == 0
    return jt.ones_like(input, dtype=D.bool_)


@composed()
def isposinf(input):
    """True where the element is +inf."""
    return jt.logical_and(jt.isinf(input), input > 0)


@composed()
def isneginf(input):
    """True where the element is -inf."""
    return jt.logical_and(jt.isinf(input), input < 0)


# ---- methods of registry ops taking self elsewhere ---------------------------------------------------------------
@composed(function=False)
def where(self, condition, y):
    """`self.where(condition, y)` is `jt.where(condition, self, y)`."""
    return jt.where(condition, self, y)


@composed()
def adjoint(input):
    """The conjugate transpose of the last two dimensions (a view for real tensors), `mH`."""
    return input.mH


Tensor.H = property(lambda self: _two_dim(self, "H").mH, doc="The conjugate transpose of a matrix.")


def _two_dim(t, what):
    if t.ndim not in (0, 2):
        raise RuntimeError(f"tensor.{what} is only supported on matrices (2-D tensors). Got {t.ndim}-D tensor.")
    return t


@composed()
def argwhere(input):
    """The indices of the nonzero elements, one row each (`nonzero()`)."""
    return jt.nonzero(input)


@composed()
def positive(input):
    """`input` itself; refused for bool, as PyTorch."""
    if input.dtype.name == "bool":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


# ---- dtype shorthands -------------------------------------------------------------------------------------------
for _name, _dt in (("byte", D.uint8), ("char", D.int8), ("short", D.int16), ("cfloat", D.complex64),
                   ("cdouble", D.complex128)):
    def _convert(self, memory_format=None, _dt=_dt):
        return self.to(_dt)
    _convert.__name__ = _convert.__qualname__ = _name
    _convert.__doc__ = f"`self.to({_dt.name})`."
    composed(_name, function=False)(_convert)


# ---- one-sided clamps ---------------------------------------------------------------------------------------------
@composed()
def clamp_min(input, min):
    """`clamp(input, min=min)`."""
    return jt.clamp(input, min=min)


@composed()
def clamp_max(input, max):
    """`clamp(input, max=max)`."""
    return jt.clamp(input, max=max)


@composed()
def clamp_min_(input, min):
    """In-place `clamp_min`."""
    return input.clamp_(min=min)


@composed()
def clamp_max_(input, max):
    """In-place `clamp_max`."""
    return input.clamp_(max=max)


# ---- splits and stacks by axis ------------------------------------------------------------------------------------
@composed()
def split_with_sizes(input, split_sizes, dim=0):
    """Views of `input` of the given sizes along `dim` (which must sum to its size)."""
    return input.split(list(split_sizes), dim)


def _split_along(name, input, sections, dim, min_dims):
    if input.ndim < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {input.ndim} dimensions!")
    if isinstance(sections, int) and (sections == 0 or input.shape[dim] % sections):
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension "
                           f"{input.shape[dim]} is not divisible by the split_size {sections}!")
    return input.tensor_split(sections, dim)


@composed()
def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-d tensors) into equal sections or at indices."""
    return _split_along("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


@composed()
def vsplit(input, indices_or_sections):
    """Split along dim 0 into equal sections or at indices."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


@composed()
def dsplit(input, indices_or_sections):
    """Split along dim 2 into equal sections or at indices."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


@composed(method=False)
def dstack(tensors):
    """Stack along the third dimension, after making every tensor at least 3-d."""
    return jt.cat(jt.atleast_3d(*tensors), 2)


@composed(method=False)
def column_stack(tensors):
    """Stack as columns: 0-d and 1-d tensors become (n, 1) columns, then `hstack`."""
    return jt.hstack([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors])


@composed(method=False)
def row_stack(tensors):
    """`vstack`."""
    return jt.vstack(tensors)


# ---- embedding a source into a copy (the inverses of the view ops) ---------------------------------------------------
def _check_embed(name, slot, src):
    if tuple(slot.shape) != tuple(src.shape):
        raise RuntimeError(f"{name}: expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(slot.shape)}")


@composed()
def select_scatter(input, src, dim, index):
    """A copy of `input` with `src` written at `input.select(dim, index)` (differentiable in both)."""
    d = norm_dim(dim, input.ndim, "select_scatter")
    _check_embed("select_scatter", input.select(d, index), src)
    at = jt.tensor([index % input.shape[d]])
    return jt.index_copy(input, d, at, src.unsqueeze(d))


@composed()
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of `input` with `src` written at `input[..., start:end:step, ...]` (along `dim`)."""
    d = norm_dim(dim, input.ndim, "slice_scatter")
    rows = range(input.shape[d])[slice(start, end, step)]
    _check_embed("slice_scatter", input.narrow(d, 0, len(rows)), src)
    return jt.index_copy(input, d, jt.tensor(list(rows), dtype=D.int64), src)


@composed()
def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of `input` with `src` written on `input.diagonal(offset, dim1, dim2)`."""
    _check_embed("diagonal_scatter", input.diagonal(offset, dim1, dim2), src)
    a, b = norm_dim(dim1, input.ndim, "diagonal_scatter"), norm_dim(dim2, input.ndim, "diagonal_scatter")
    moved = input.movedim((a, b), (-2, -1))
    rows, cols = moved.shape[-2:]
    n = src.shape[-1]
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    at = jt.tensor([(r0 + i) * cols + c0 + i for i in range(n)], dtype=D.int64)
    flat = jt.index_copy(moved.reshape(moved.shape[:-2] + (rows * cols,)), -1, at, src)
    return flat.reshape(moved.shape).movedim((-2, -1), (a, b))


# ---- constructors -------------------------------------------------------------------------------------------------
@composed(method=False)
def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False):
    """A 0-d tensor holding `s`, of the default float dtype unless `dtype` is given."""
    return jt.tensor(s, dtype=D.default_float if dtype is None else dtype, device=device,
                     requires_grad=requires_grad)


@composed(method=False)
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False,
                 memory_format=None):
    """Uniform integers in [low, high) with `input`'s shape (and dtype unless given):
    `randint_like(x, high)` or `randint_like(x, low, high)`."""
    if high is None:
        low, high = 0, low
    return jt.randint(low, high, tuple(input.shape), generator=generator,
                      dtype=input.dtype if dtype is None else dtype,
                      device=input.device if device is None else device, requires_grad=requires_grad)


# ---- layouts and backends this build does not have: the predicates answer False, as torch on a CPU --------------
for _name in ("is_sparse", "is_sparse_csr", "is_quantized", "is_mkldnn", "is_nested", "is_xla", "is_xpu", "is_mps",
              "is_ipu", "is_maia", "is_mtia", "is_vulkan"):
    setattr(Tensor, _name, property(lambda self: False, doc="False: jtensor tensors are dense, on the CPU or meta."))


# ---- `*_copy`: the view op's result as a fresh tensor (PyTorch's functionalised view ops) ---------------------------
def _copy_of(view):
    def function(input, *args, **kwargs):
        r = getattr(input, view)(*args, **kwargs)
        return tuple(t.clone() for t in r) if isinstance(r, (tuple, list)) else r.clone()
    function.__name__ = function.__qualname__ = view + "_copy"
    function.__doc__ = f"`input.{view}(...)`, copied into new memory."
    return function


for _name in ("detach", "diagonal", "expand", "permute", "select", "split", "split_with_sizes", "squeeze", "t",
              "transpose", "unbind", "unfold", "unsqueeze", "view", "as_strided", "narrow"):
    composed(_name + "_copy", method=_name == "narrow")(_copy_of(_name))


@composed(method=False)
def alias_copy(input):
    """A copy of `input` (the copy form of `alias`, an identity view)."""
    return input.clone()


for _name, _target in (("unsafe_chunk", "chunk"), ("unsafe_split", "split"),
                       ("unsafe_split_with_sizes", "split_with_sizes")):
    composed(_name)(_function_of(_target) if _target != "split_with_sizes" else split_with_sizes)


@composed()
def ger(input, vec2):
    """`outer` (its deprecated name)."""
    return jt.outer(input, vec2)


@composed(method=False)
def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    return jt.sub(other, input, alpha=alpha)


@composed(method=False)
def fill(input, value):
    """A new tensor of input's shape and dtype filled with `value`."""
    return jt.full_like(input, value)


@composed(method=False)
def view_as_real(input):
    """A complex tensor seen as real pairs: shape + (2,), sharing memory (a copy when it records
    gradients, so that autograd sees the real and imaginary parts)."""
    if input.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    if input.requires_grad:
        return jt.stack([input.real, input.imag], -1)
    real = D.float32 if input.dtype is D.complex64 else D.float64
    return Tensor._make(input._base, input._baddr, input._offset * 2, tuple(input.shape) + (2,),
                        tuple(2 * s for s in input._strides) + (1,), real)


@composed(method=False)
def view_as_complex(input):
    """Real pairs (last dim of size 2, stride 1) seen as a complex tensor, sharing memory (a copy
    when it records gradients)."""
    if input.dtype.name not in ("float32", "float64"):
        raise RuntimeError("view_as_complex is only supported for float and double tensors, but got a tensor "
                           f"of scalar type: {input.dtype.name}")
    if input.ndim == 0 or input.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if input._strides[-1] != 1 or input._offset % 2 or any(s % 2 for s in input._strides[:-1]):
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if input.requires_grad:
        return complex(input[..., 0], input[..., 1])
    cplx = D.complex64 if input.dtype is D.float32 else D.complex128
    return Tensor._make(input._base, input._baddr, input._offset // 2, tuple(input.shape[:-1]),
                        tuple(s // 2 for s in input._strides[:-1]), cplx)


@composed(method=False)
def complex(real, imag):
    """real + i * imag (float32 -> complex64, float64 -> complex128)."""
    if real.dtype != imag.dtype or real.dtype.name not in ("float32", "float64", "float16"):
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got {real.dtype.name} and "
                           f"{imag.dtype.name}")
    return real + imag * 1j


@composed(method=False)
def polar(abs, angle):
    """abs * (cos(angle) + i sin(angle))."""
    return complex(abs * jt.cos(angle), abs * jt.sin(angle))


# ---- in-place cumulative ops, Python-callable maps, deprecated out-of-place resizes ------------------------
def _cumulative_(self, name, dim, dtype):
    if dtype is not None and D.as_dtype(dtype) is not self.dtype:
        raise RuntimeError(f"Bad in-place call: input tensor dtype {self.dtype} and output tensor dtype "
                           f"{D.as_dtype(dtype)} should match")
    # cumprod's backward keeps its input: give it a copy, which the write into self leaves intact
    source = self.clone() if name == "cumprod" and self.requires_grad else self
    return self.copy_(getattr(source, name)(dim))


@composed(function=False)
def cumsum_(self, dim, *, dtype=None):
    """In-place cumsum along dim (dtype, if given, must be self's)."""
    return _cumulative_(self, "cumsum", dim, dtype)


@composed(function=False)
def cumprod_(self, dim, *, dtype=None):
    """In-place cumprod along dim (dtype, if given, must be self's)."""
    return _cumulative_(self, "cumprod", dim, dtype)


def _python_map(self, name, fn, others):
    """self[i] = fn(self[i], *(o[i] for o in others)) elementwise through Python, in place; others
    broadcast to self's shape and must have its dtype. Not differentiable (as PyTorch: refused on a
    tensor that requires grad)."""
    if self.requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use var.detach().{name}() "
                           f"instead.")
    for o in others:
        if o.dtype is not self.dtype:
            raise TypeError(f"{name}: expected {self.type()} for 'other' (got {o.type()})")
    columns = [self.reshape(-1).tolist()] + [o.expand(*self.shape).reshape(-1).tolist() for o in others]
    values = [fn(*vs) for vs in zip(*columns)]
    return self.copy_(jt.tensor(values, dtype=self.dtype).reshape(self.shape))


@composed(function=False)
def apply_(self, callable):
    """Replace each element x by callable(x) (a Python function, called per element)."""
    return _python_map(self, "apply_", callable, [])


@composed(function=False)
def map_(self, tensor, callable):
    """Replace each element x by callable(x, y), y the matching element of `tensor` (broadcast)."""
    return _python_map(self, "map_", callable, [tensor])


@composed(function=False)
def map2_(self, x, y, callable):
    """Replace each element s by callable(s, x_i, y_i), x and y broadcast to self's shape."""
    return _python_map(self, "map2_", callable, [x, y])


def _resize_deprecated(self, sizes, what):
    import warnings
    warnings.warn(f"non-inplace {what} is deprecated", UserWarning, stacklevel=4)
    numel = 1
    for s in sizes:
        numel *= s
    if numel != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, sizes))} ({numel} elements in total), but the "
                           f"given tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} elements). "
                           f"autograd's resize can only change the shape of a given tensor, while preserving the "
                           f"number of elements. ")
    return self.contiguous().clone().view(*sizes)


@composed(function=False)
def resize(self, *sizes):
    """Deprecated out-of-place resize: a copy of self with shape `sizes` (same number of elements)."""
    return _resize_deprecated(self, sizes, "resize")


@composed(function=False)
def resize_as(self, tensor):
    """Deprecated out-of-place resize_as: a copy of self with tensor's shape (same number of elements)."""
    return _resize_deprecated(self, tuple(tensor.shape), "resize_as")
