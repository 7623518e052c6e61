"""Helpers for the derivative formulas of registry entries (`grad = [...]` in julia/src/ops/*.jl).

Each function here is registered with `autograd.helper`, so a formula can call it by name. They are
built from registry ops only (never from NumPy arithmetic on values that carry gradient), so that
with ``create_graph=True`` the backward computation is itself recorded and second derivatives work.
Index bookkeeping (which positions a gather read) is constant data and is done with NumPy.

Conventions follow PyTorch's derivatives.yaml / FunctionsManual.cpp: ties of max/amax share the
gradient evenly, prod handles zeros exactly, norms are 0 (not NaN) at 0, decompositions use the
formulas of torch.linalg.
"""
import ast
import builtins
import math
import re
import string
import symtable

import numpy as np

from . import autograd as _autograd
from .autograd import helper, no_grad, requires_grad_of, _NS, _ops


# ---- checking formulas when an op is defined -------------------------------------------------------

_GRAD_NAME = re.compile(r"grad\d*$")


def _names_read(src):
    """(names read from the formula's own scope, names read as globals inside its lambdas and
    comprehensions, `<namespace>.<attr>` attributes used for the op namespaces in `_NAMESPACES`)."""
    top = symtable.symtable(src, "<formula>", "eval")
    local, nested = set(), set()

    def walk(table, outermost):
        for s in table.get_symbols():
            if not s.is_referenced():
                continue
            if outermost and not s.is_assigned():
                local.add(s.get_name())
            elif not outermost and s.is_global():
                nested.add(s.get_name())
        for child in table.get_children():
            walk(child, False)

    walk(top, True)
    attrs = {f"{n.value.id}.{n.attr}" for n in ast.walk(ast.parse(src, mode="eval"))
             if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in _NAMESPACES}
    return local, nested, attrs


def formula_problem(op, op_names):
    """The first problem of `op`'s derivative formulas, as a message naming the op, or None.

    A formula must parse as a Python expression, and every name it reads must exist when
    autograd evaluates it (autograd.OpNode.apply): the op's parameters, `result` and its named
    results, `grad`/`grad<i>`, the helpers registered with `autograd.helper`, the ops in
    `op_names` (the registry's qualified names: `linalg.<name>` for namespaced ones). Python's
    builtins are not among them: the evaluation's locals mapping raises NameError for a name it
    lacks, so lookup never reaches the builtins. Inside a lambda or comprehension it is the other
    way round: only builtins and the lambda's own names are visible (the formula's names are
    locals of its evaluation, not globals)."""
    params = {p.name for p in op.params}
    fields = set(op.result_fields or ())
    ops = {n for n in op_names if "." not in n}
    for pname, src in op.grad:
        where = f'op "{op.qualname}": the derivative formula for "{pname}" ({src!r})'
        try:
            compile(src, f"<grad of {op.qualname} wrt {pname}>", "eval")
            local, nested, attrs = _names_read(src)
        except SyntaxError as e:
            return f"{where} does not parse: {e.msg} (column {e.offset})"
        for n in sorted(local):
            if not (n in params or n in fields or n == "result" or _GRAD_NAME.match(n) or n in _NS
                    or n in ops):
                return (f"{where} uses the unknown name {n!r} (not a parameter, result, op or derivative "
                        f"helper)")
        for n in sorted(nested):
            own = n in params or n in fields or n == "result" or _GRAD_NAME.match(n)
            if own or not hasattr(builtins, n):
                return (f"{where} reads {n!r} inside a lambda or comprehension, where only builtins and "
                        f"the lambda's own names are visible")
        for a in sorted(attrs):
            if a not in op_names:
                return f"{where} uses {a}, which is not a registered op"
    return None


def O(name):
    """A registry op's Python function."""
    return _ops()[name].fn


class _NamespaceOps:
    """`linalg.<name>` (`special.<name>`) inside formulas: the registry ops of that namespace."""

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        return O(f"{self._namespace}.{name}")


_NAMESPACES = ("linalg", "special")
for _ns in _NAMESPACES:
    _NS[_ns] = _NamespaceOps(_ns)


def _T():
    from . import _tensor
    return _tensor


def _const(arr, dtype=None):
    """A tensor (no graph) from a NumPy array."""
    return _T().tensor(np.ascontiguousarray(arr), dtype=dtype)


# Constants a formula builds are made on the device of the tensor they combine with (`like`),
# never on the default device: a gradient of meta tensors is a meta tensor.
def _zeros(shape, like):
    from .creation import zeros
    return zeros(tuple(shape), dtype=like.dtype, device=like.device)


def _ones(shape, like):
    from .creation import ones
    return ones(tuple(shape), dtype=like.dtype, device=like.device)


def _eye(n, like):
    from .creation import eye
    return eye(n, dtype=like.dtype, device=like.device)


def _ndims(dim, ndim):
    """Python dims as a sorted tuple of non-negative ints (None: all dims)."""
    if dim is None:
        return tuple(range(ndim))
    ds = dim if isinstance(dim, (tuple, list)) else (dim,)
    n = max(ndim, 1)
    return tuple(sorted({int(d) % n for d in ds})) if ndim > 0 else ()


def _any(t):
    with no_grad():
        return t.numel() > 0 and bool(O("any")(t).item())


@helper
def zeros_like(t):
    """Zeros shaped like `t` (the derivative of piecewise-constant ops: floor, sign, floor_divide...)."""
    return _zeros(t.shape, t)


@helper
def cj(t):
    """conj(t) for complex tensors, `t` itself otherwise (no copy for real ones)."""
    if isinstance(t, complex):
        return t.conjugate()
    return O("conj")(t) if getattr(t, "is_complex", lambda: False)() else t


@helper
def negate(v):
    """-v for an int or a list of ints (roll's shifts)."""
    return -v if isinstance(v, int) else [-int(x) for x in v]


# ---- special functions (julia/src/ops/special.jl) ------------------------------------------------------------

@helper
def not_implemented_derivative(op, param):
    """The derivative of `op` with respect to `param` that PyTorch does not implement either (igamma's
    and zeta's first argument): raised at backward, with PyTorch's exception type and message."""
    raise NotImplementedError(f"the derivative for '{op}: {param}' is not implemented.")


@helper
def sgn_backward(grad, input, result):
    """sgn's derivative: zero for real inputs (piecewise constant); for complex z, sgn(z) = z/|z| gives
    i·sgn(z)·Im(conj(sgn(z))·grad)/|z| (PyTorch's convention for non-holomorphic functions), 0 at 0."""
    if not input.is_complex():
        return _zeros(grad.shape, grad)
    a = O("abs")(input)
    g = O("mul")(O("mul")(result, O("imag")(O("mul")(O("conj")(result), grad))), 1j)
    return O("where")(O("eq")(a, 0), 0, O("div")(g, a))


@helper
def mvlgamma_backward(grad, input, p):
    """d/dx log Γ_p(x) = Σ_{i<p} digamma(x - i/2)."""
    total = O("digamma")(input)
    for i in range(1, p):
        total = O("add")(total, O("digamma")(O("sub")(input, i / 2)))
    return O("mul")(grad, total)


@helper
def logit_backward(grad, input, eps):
    """grad / (x (1 - x)), and 0 where eps clamped the input (outside [eps, 1 - eps]), as PyTorch."""
    g = O("div")(grad, O("mul")(input, O("sub")(1, input)))
    if eps is None:
        return g
    outside = O("logical_or")(O("lt")(input, eps), O("gt")(input, 1 - eps))
    return O("where")(outside, 0, g)


# ---- elementwise ----------------------------------------------------------------------------------------

def _is_tensor(x):
    return hasattr(x, "_strides")


@helper
def pow_backward_input(grad, input, exponent):
    """d(input ** exponent)/d input, 0 where exponent == 0 (also at input == 0, as PyTorch)."""
    if not _is_tensor(exponent):
        if exponent == 0:
            return zeros_like(grad)
        return grad * cj(exponent * O("pow")(input, exponent - 1))
    return O("where")(exponent == 0, 0, grad * cj(exponent * O("pow")(input, exponent - 1)))


@helper
def pow_backward_exponent(grad, input, exponent, result):
    """d(input ** exponent)/d exponent = result * log(input), 0 where input == 0 and exponent >= 0."""
    where = O("where")
    if not _is_tensor(input):
        logb = math.log(input) if input > 0 else (-math.inf if input == 0 else math.nan)
        g = grad * cj(result * logb)
        return where(exponent >= 0, 0, g) if input == 0 else g
    return where(O("logical_and")(input == 0, exponent >= 0), 0, grad * cj(result * O("log")(input)))


@helper
def clamp_min_backward(grad, input, min, max):
    """Gradient of clamp's tensor `min` bound (PyTorch: where input < min, unless max < min)."""
    if max is None:
        return O("where")(input < min, grad, 0)
    return O("where")(O("logical_and")(input < min, min < max), grad, 0)


@helper
def clamp_max_backward(grad, input, min, max):
    """Gradient of clamp's tensor `max` bound (where input > max, or everywhere max < min)."""
    if min is None:
        return O("where")(input > max, grad, 0)
    return O("where")(O("logical_or")(input > max, max < min), grad, 0)


@helper
def max_tie_backward(grad, input, other):
    """maximum/minimum: the gradient of the chosen operand, split evenly on ties (PyTorch)."""
    return O("where")(input == other, grad / 2, grad)


# ---- reductions ---------------------------------------------------------------------------------------------

@helper
def amax_backward(grad, input, dim, keepdim, result):
    """amax/amin/max()/min(): the gradient goes to the extreme elements, split evenly among ties.
    One fused kernel (`_amax_backward`); under create_graph the composition of differentiable ops."""
    if not _autograd.is_grad_enabled():
        return O("_amax_backward")(input, grad, result, dim, keepdim)   # input first: dims are its
    expand = _NS["expand_reduced"]
    mask = input == expand(result, input, dim, keepdim)
    count = mask.sum(dim, keepdim=keepdim)
    # PyTorch's scale_grad_by_count: the division on the reduced shape, one full-size multiply
    return expand(grad / count, input, dim, keepdim) * mask


def _exclusive_cumprod(x):
    """prod of x[..., :i] for each i along the last dim (1 for i = 0)."""
    n = x.shape[-1]
    first = _ones(x.shape[:-1] + (1,), x)
    if n <= 1:
        return first if n == 1 else x
    return O("cat")([first, O("cumprod")(x.narrow(-1, 0, n - 1), -1)], -1)


def _prod_others(x, dims):
    """prod over `dims` of x leaving out each element in turn (exact with zeros)."""
    rest = [d for d in range(x.ndim) if d not in dims]
    perm = rest + list(dims)
    xp = x.permute(perm)
    lead = xp.shape[:len(rest)]
    flat = xp.reshape(lead + (-1,))
    left = _exclusive_cumprod(flat)
    right = O("flip")(_exclusive_cumprod(O("flip")(flat, -1)), -1)
    out = (left * right).reshape(xp.shape)
    back = [perm.index(d) for d in range(x.ndim)]
    return out.permute(back)


@helper
def prod_backward(grad, input, dim, keepdim, result):
    """prod: grad * result / input without zeros; the product of the other elements otherwise."""
    expand = _NS["expand_reduced"]
    g = expand(grad, input, dim, keepdim)
    if input.ndim == 0:
        return g
    if input.numel() == 0:
        return zeros_like(input)
    if not _any(input == 0):
        return g * expand(result, input, dim, keepdim) / input
    return g * _prod_others(input, _ndims(dim, input.ndim))


@helper
def var_backward(grad, input, dim, correction, keepdim):
    """var: 2 (x - mean) / (N - correction), for the N elements reduced."""
    dims = _ndims(dim, input.ndim)
    n = 1
    for d in dims:
        n *= input.shape[d]
    g = _NS["expand_reduced"](grad, input, dim, keepdim)
    mu = O("mean")(input, dims if dims else None, True)
    return g * 2 * (input - mu) / max(n - correction, 0)


@helper
def std_grad_to_var(grad, result):
    """std = sqrt(var): the incoming gradient as var's (0 where std is 0, as PyTorch)."""
    return O("where")(result == 0, 0, grad / (2 * result))


@helper
def norm_backward(grad, input, p, dim, keepdim, result):
    """Vector p-norm over dim (PyTorch's norm_backward: 0 rather than NaN at a zero norm)."""
    expand = _NS["expand_reduced"]
    p = float(p)
    g = expand(grad, input, dim, keepdim)
    r = expand(result, input, dim, keepdim)
    where, sign, pw, absf = O("where"), O("sign"), O("pow"), O("abs")
    if p == 0:
        return zeros_like(input)
    if p == 1:
        return sign(input) * g
    if p == 2:
        return input * where(r == 0, 0, g / r)
    if math.isinf(p):
        mask = absf(input) == r
        count = mask.sum(dim, keepdim=True)
        return sign(input) * (g / count) * mask
    if p < 1:
        scaled = where(input == 0, 0, sign(input) * pw(absf(input), p - 1))
        return scaled * g * pw(r, 1 - p)
    scaled = sign(input) * pw(absf(input), p - 1) if p < 2 else input * pw(absf(input), p - 2)
    return scaled * where(r == 0, 0, g / pw(r, p - 1))


@helper
def cumsum_backward(grad, dim):
    """cumsum: the reversed cumulative sum of the gradient."""
    if grad.ndim == 0:
        return grad
    flip = O("flip")
    return flip(O("cumsum")(flip(grad, dim), dim), dim)


@helper
def cumprod_backward(grad, input, dim, result):
    """cumprod: reverse cumsum(grad * result) / input without zeros; exact O(n²) products otherwise."""
    if input.ndim == 0 or input.numel() == 0:
        return grad
    if not _any(input == 0):
        return cumsum_backward(grad * result, dim) / input
    d = int(dim) % input.ndim
    x = input.movedim(d, -1)
    g = grad.movedim(d, -1)
    n = x.shape[-1]
    where = O("where")
    left = _exclusive_cumprod(x)                                     # prod_{j<i} x_j
    i = np.arange(n)
    after = _const(i[None, :] > i[:, None])                          # [i, k]: k > i
    upto = _const(i[None, :] >= i[:, None])                          # [i, k]: k >= i
    between = O("cumprod")(where(after, x.unsqueeze(-2), 1.0), -1)   # prod_{i<j<=k} x_j
    dy_dx = where(upto, between, 0.0) * left.unsqueeze(-1)           # d y_k / d x_i
    return (dy_dx * g.unsqueeze(-2)).sum(-1).movedim(-1, d)


# ---- gathers and scatters -------------------------------------------------------------------------------------

def _scatter_flat(grad, shape, flat_index):
    """zeros(prod(shape)) with grad added at flat positions `flat_index` (NumPy ints), reshaped."""
    n = int(np.prod(shape, dtype=np.int64))
    z = _zeros((n,), grad)
    idx = _const(np.asarray(flat_index, dtype=np.int64).reshape(-1))
    return O("scatter_add")(z, 0, idx, grad.reshape(-1)).reshape(tuple(shape))


def _source_positions(input, fn):
    """The flat position in `input` that each element of fn(input) was read from (fn a pure gather)."""
    n = input.numel()
    idx = _const(np.arange(n, dtype=np.int64).reshape(input.shape))
    with no_grad():
        return np.asarray(fn(idx))


@helper
def gather_like_backward(grad, input, fn):
    """Gradient of an op that only gathers elements of input: scatter-add grad to their sources."""
    return _scatter_flat(grad, input.shape, _source_positions(input, fn))


@helper
def take_offsets_backward(grad, input, offsets):
    """Advanced indexing (_take_offsets): offsets count memory elements from input's first one;
    they are mapped back to logical positions through input's strides."""
    off = np.asarray(offsets).astype(np.int64)
    shape, strides = input.shape, input._strides
    dims = sorted((d for d in range(input.ndim) if shape[d] > 1 and strides[d] > 0), key=lambda d: -strides[d])
    span = 0
    for d in reversed(dims):   # smallest stride first: each must exceed the extent of the smaller ones
        if strides[d] <= span:
            raise RuntimeError("advanced indexing of an overlapping view is not differentiable; "
                               "index a .contiguous() copy instead")
        span += (shape[d] - 1) * strides[d]
    cstr = np.ones(max(input.ndim, 1), dtype=np.int64)
    for d in range(input.ndim - 2, -1, -1):
        cstr[d] = cstr[d + 1] * shape[d + 1]
    logical = np.zeros_like(off)
    rest = off.copy()
    for d in dims:
        q = np.minimum(rest // strides[d], shape[d] - 1)
        rest -= q * strides[d]
        logical += q * cstr[d]
    # dims of stride 0 (expanded views) keep position 0: the view's own backward sums them anyway
    return _scatter_flat(grad, shape, logical)


@helper
def index_select_backward(grad, input, dim, index):
    if input.ndim == 0:
        return grad.reshape(())
    d = int(dim) % input.ndim
    shape = [1] * input.ndim
    shape[d] = -1
    idx = index.reshape(shape).expand(grad.shape)
    return O("scatter_add")(_zeros(input.shape, grad), d, idx, grad)


@helper
def take_backward(grad, input, index):
    n = input.numel()
    idx = np.asarray(index).astype(np.int64).reshape(-1)
    return _scatter_flat(grad, input.shape, np.where(idx < 0, idx + n, idx))


@helper
def take_along_dim_backward(grad, input, indices, dim):
    if dim is None:
        return take_backward(grad, input, indices)
    from .drivers import broadcast_shapes
    if input.ndim == 0:
        return grad.reshape(())
    d = int(dim) % input.ndim
    a = list(input.shape); a[d] = 1
    b = list(indices.shape); b[d] = 1
    bs = list(broadcast_shapes(tuple(a), tuple(b)))
    ishape, jshape = list(bs), list(bs)
    ishape[d], jshape[d] = input.shape[d], indices.shape[d]
    z = _zeros(ishape, grad)
    return O("scatter_add")(z, d, indices.expand(jshape), grad)   # summed to input's shape after


@helper
def masked_select_backward(grad, input, mask):
    from .drivers import broadcast_shapes
    shape = broadcast_shapes(input.shape, mask.shape)
    m = np.broadcast_to(np.asarray(mask), shape).reshape(-1)
    return _scatter_flat(grad, shape, np.nonzero(m)[0])


@helper
def gather_src_backward(grad, dim, index, src, reduce=None):
    """scatter/scatter_add: src's gradient is grad gathered at index (zero where src is not read)."""
    if reduce not in (None, "add"):
        raise RuntimeError(f"the derivative of scatter with reduce='{reduce}' is not implemented")
    g = O("gather")(grad, dim, index)
    return g if src is None else _pad_to(g, src)


@helper
def scatter_self_backward(grad, dim, index, reduce):
    """scatter: the overwritten positions of the original get no gradient (reduce='add': all do)."""
    if reduce is None:
        return O("scatter")(grad, dim, index, None, value=0)
    if reduce == "add":
        return grad
    raise RuntimeError(f"the derivative of scatter with reduce='{reduce}' is not implemented")


def _pad_to(g, like):
    """`g` (index-shaped) zero-padded at the end of each dim to `like`'s shape."""
    if g.shape == like.shape:
        return g
    pad = []
    for d in reversed(range(like.ndim)):
        pad += [0, like.shape[d] - g.shape[d]]
    return O("pad")(g, pad)


@helper
def scatter_reduce_backward(grad, input, dim, index, src, reduce, include_self, result, which):
    """PyTorch's scatter_reduce_backward: sum passes grad through, mean divides by the counts, prod
    by the factor (zeros handled exactly: a single zero gets the product of the others), and
    amax/amin share the gradient evenly among the values equal to the result. include_self=False:
    the input's scattered-to positions get none. Returns input's gradient (which=0) or src's (1)."""
    gather, scatter, scatter_reduce = O("gather"), O("scatter"), O("scatter_reduce")
    src_used = src[tuple(slice(0, n) for n in index.shape)] if src.shape != index.shape else src
    if reduce == "sum":
        g_self, g_src = grad, gather(grad, dim, index)
    elif reduce == "mean":
        n = zeros_like(input) + 1 if include_self else zeros_like(input)
        n = O("scatter_add")(n, dim, index, zeros_like(src_used) + 1)
        n = O("masked_fill")(n, n == 0, 1)
        g_self = grad / n
        g_src = gather(g_self, dim, index)
    elif reduce == "prod":
        masked_self = O("masked_fill")(input, input == 0, 1)
        g_self = grad * scatter_reduce(masked_self, dim, index, src_used, "prod", include_self=include_self) / masked_self
        src_zero = src_used == 0
        n_zeros = gather(O("scatter_add")(zeros_like(input), dim, index, src_zero.to(input.dtype)), dim, index)
        single_zero = O("logical_and")(src_zero, n_zeros == 1)
        others = scatter_reduce(input, dim, index, O("masked_fill")(src_used, single_zero, 1), "prod",
                                include_self=include_self)
        g_src = O("where")(single_zero, gather(grad * others, dim, index),
                           gather(grad * result, dim, index) / O("masked_fill")(src_used, src_zero, 1))
    elif reduce in ("amax", "amin"):
        self_is = (input == result).to(grad.dtype)
        src_is = (src_used == gather(result, dim, index)).to(grad.dtype)
        shared = grad / O("scatter_add")(self_is, dim, index, src_is)
        g_self = self_is * shared
        g_src = src_is * gather(shared, dim, index)
    else:
        raise RuntimeError(f"scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if which == 0:
        return g_self if include_self else scatter(g_self, dim, index, None, value=0)
    return _pad_to(g_src, src)


# ---- shape ops -----------------------------------------------------------------------------------------------

@helper
def repeat_backward(grad, input, repeats):
    """repeat/tile: view the gradient as (r0, n0, r1, n1, ...) and sum the repeat axes."""
    r = tuple(int(x) for x in (repeats if isinstance(repeats, (tuple, list)) else (repeats,)))
    if len(r) < input.ndim:   # tile pads the repeats with leading 1s
        r = (1,) * (input.ndim - len(r)) + r
    s = (1,) * (len(r) - input.ndim) + tuple(input.shape)
    if not r:
        return grad
    inter = []
    for ri, si in zip(r, s):
        inter += [ri, si]
    return grad.reshape(inter).sum(tuple(range(0, 2 * len(r), 2))).reshape(input.shape)


@helper
def pad_backward(grad, input, pad, mode, value):
    """pad: constant mode crops the gradient back (negative pads grow it); the other modes
    scatter-add it to the positions each padded element was read from."""
    if mode == "constant":
        return O("pad")(grad, [-int(p) for p in pad])
    return gather_like_backward(grad, input, lambda i: O("pad")(i, list(pad), mode))


@helper
def diag_backward(grad, input, diagonal):
    if input.ndim == 1:
        return O("diag")(grad, diagonal)
    return gather_like_backward(grad, input, lambda i: O("diag")(i, diagonal))


@helper
def diagonal_backward(grad, input, offset, dim1, dim2):
    return gather_like_backward(grad, input, lambda i: O("linalg.diagonal")(i, offset=offset, dim1=dim1, dim2=dim2))


@helper
def trace_backward(grad, input, offset):
    diag = lambda i: O("linalg.diagonal")(i, offset=offset, dim1=-2, dim2=-1)   # noqa: E731
    pos = _source_positions(input, diag)
    return _scatter_flat(grad.unsqueeze(-1).expand(pos.shape), input.shape, pos)


def _cat_pieces(grad, shapes, dim):
    out, start = [], 0
    for s in shapes:
        if len(s) == 1 and s[0] == 0 and grad.ndim != 1:   # skipped by cat
            out.append(_zeros(s, grad))
            continue
        n = s[dim]
        out.append(grad.narrow(dim, start, n))
        start += n
    return out


@helper
def hstack_backward(grad, tensors):
    shapes = [t.shape if t.ndim else (1,) for t in tensors]
    dim = 0 if len(shapes[0]) == 1 else 1
    return [g.reshape(t.shape) for g, t in zip(_cat_pieces(grad, shapes, dim), tensors)]


@helper
def vstack_backward(grad, tensors):
    shapes = [t.shape if t.ndim >= 2 else (1, t.numel()) for t in tensors]
    return [g.reshape(t.shape) for g, t in zip(_cat_pieces(grad, shapes, 0), tensors)]


# ---- products ------------------------------------------------------------------------------------------------

def _einsum_parse(equation, shapes):
    """Operand and output subscripts with '...' spelled out as letters, and the unused letters."""
    eq = "".join(equation.split())
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    used = {c for c in eq if c.isalpha()}
    free = [c for c in string.ascii_letters if c not in used]
    nell = []
    for t, s in zip(terms, shapes):
        nell.append(len(s) - len(t.replace("...", "")) if "..." in t else 0)
    e = max(nell, default=0)
    ell, free = "".join(free[:e]), free[e:]
    ins = [t.replace("...", ell[e - k:]) for t, k in zip(terms, nell)]
    if arrow:
        out = rhs.replace("...", ell)
    else:
        letters = [c for t in terms for c in t if c.isalpha()]
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return ins, out, free


@helper
def einsum_backward(grad, equation, operands, only=None):
    """The gradient of each operand of an einsum (None for those not requiring grad, or all but
    `only`): the einsum of the gradient with the other operands, written to the operand's
    subscripts. Repeated subscripts (diagonals) multiply by identity matrices, subscripts summed
    within the operand alone by vectors of ones; broadcast '...' dims are summed afterwards."""
    operands = list(operands)
    ins, out, free = _einsum_parse(equation, [t.shape for t in operands])
    sizes = {}
    for t, x in zip(ins, operands):
        for c, n in zip(t, x.shape):
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    einsum = O("einsum")
    res = []
    for k, x in enumerate(operands):
        if (only is not None and k != only) or (only is None and not requires_grad_of(x)):
            res.append(None)
            continue
        terms, ops = [], []
        for j, (t, y) in enumerate(zip(ins, operands)):
            if j == k:
                continue
            full = tuple(sizes[c] for c in t)
            terms.append(t)
            ops.append(y if y.shape == full else y.expand(full))
        terms.append(out)
        ops.append(grad)
        have = set("".join(terms))
        fresh = list(free)
        target, seen = [], set()
        for c in ins[k]:
            if c in seen:   # a diagonal: the gradient sits on it
                f = fresh.pop(0)
                target.append(f)
                terms.append(c + f)
                ops.append(_eye(sizes[c], grad))
            else:
                seen.add(c)
                target.append(c)
        for c in seen:
            if c not in have:   # summed within this operand only: the gradient is broadcast
                terms.append(c)
                ops.append(_ones((sizes[c],), grad))
        res.append(einsum(",".join(terms) + "->" + "".join(target), *ops))
    return res


@helper
def tensordot_backward(grad, a, b, dims, which):
    if hasattr(dims, "tolist"):
        dims = dims.tolist()
    if isinstance(dims, (list, tuple)) and len(dims) == 1 and isinstance(dims[0], int):
        dims = dims[0]
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    da = [int(d) % a.ndim for d in da]
    db = [int(d) % b.ndim for d in db]
    letters = iter(string.ascii_letters)
    la, lb = [None] * a.ndim, [None] * b.ndim
    for i, j in zip(da, db):
        la[i] = lb[j] = next(letters)
    for i in range(a.ndim):
        la[i] = la[i] or next(letters)
    for j in range(b.ndim):
        lb[j] = lb[j] or next(letters)
    out = [la[i] for i in range(a.ndim) if i not in da] + [lb[j] for j in range(b.ndim) if j not in db]
    eq = "".join(la) + "," + "".join(lb) + "->" + "".join(out)
    return einsum_backward(grad, eq, [a, b], only=which)[which]


@helper
def kron_backward(grad, input, other, which):
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    inter = []
    for x, y in zip(sa, sb):
        inter += [x, y]
    g = grad.reshape(inter)
    if which == 0:
        bb = other.reshape([v for y in sb for v in (1, y)])
        return (g * cj(bb)).sum(tuple(range(1, 2 * n, 2))).reshape(input.shape)
    aa = input.reshape([v for x in sa for v in (x, 1)])
    return (g * cj(aa)).sum(tuple(range(0, 2 * n, 2))).reshape(other.shape)


@helper
def vecdot_backward(grad, x, y, dim, which):
    """vecdot = sum(conj(x) * y, dim): dim counts against x's dims (as the kernel does)."""
    from .drivers import broadcast_shapes
    nd = max(x.ndim, 1)
    d = int(dim) % nd - nd          # negative: valid for the broadcast result as well
    g = grad.unsqueeze(d)
    shape = broadcast_shapes(x.shape, y.shape)
    return (y * cj(g) if which == 0 else g * x).expand(shape)   # summed to the operand's shape after


def _mm(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a @ b


@helper
def matrix_power_backward(grad, input, n):
    if n == 0:
        return zeros_like(input)
    if n < 0:
        inv = O("linalg.inv")(input)
        g = matrix_power_backward(grad, inv, -n)
        return -(inv.mH @ g @ inv.mH)
    ah = input.mH
    powers = [None, ah]
    for _ in range(2, n):
        powers.append(powers[-1] @ ah)
    total = None
    for k in range(n):
        term = _mm(_mm(powers[k], grad), powers[n - 1 - k])
        total = term if total is None else total + term
    return total


@helper
def multi_dot_backward(grad, tensors):
    k = len(tensors)
    mats = []
    for i, t in enumerate(tensors):
        mats.append(t if t.ndim == 2 else (t.unsqueeze(0) if i == 0 else t.unsqueeze(-1)))
    g = grad
    if tensors[0].ndim == 1:
        g = g.unsqueeze(0)
    if tensors[-1].ndim == 1:
        g = g.unsqueeze(-1)
    left = [None] * k
    for i in range(1, k):
        left[i] = mats[0] if i == 1 else left[i - 1] @ mats[i - 1]
    right = [None] * k
    for i in range(k - 2, -1, -1):
        right[i] = mats[k - 1] if i == k - 2 else mats[i + 1] @ right[i + 1]
    out = []
    for i, t in enumerate(tensors):
        if not requires_grad_of(t):
            out.append(None)
            continue
        gi = _mm(_mm(None if left[i] is None else left[i].mH, g), None if right[i] is None else right[i].mH)
        out.append(gi.reshape(t.shape))
    return out


# ---- linear algebra --------------------------------------------------------------------------------------------

def _unsq2(t):
    return t.unsqueeze(-1).unsqueeze(-1)


@helper
def det_backward(grad, A, result):
    """det: grad * det * inv(A)ᴴ; through the SVD (the adjugate) when a matrix is singular."""
    if A.shape[-1] == 0:
        return zeros_like(A)
    if not _any(result == 0):
        return _unsq2(grad * cj(result)) * O("linalg.inv")(A).mH
    U, S, Vh = O("linalg.svd")(A, False)
    det = O("linalg.det")
    others = _prod_others(S, (S.ndim - 1,))                 # prod of the other singular values
    sign = det(U) * det(Vh)
    adjt = (U * others.unsqueeze(-2)) @ Vh                 # = adj(A)ᵀ / (det U det Vh)
    return _unsq2(grad * cj(sign)) * cj(adjt)


@helper
def slogdet_backward(grad_sign, grad_logabsdet, A, sign):
    """slogdet: (g_logabs - i Im(conj(g_sign) sign)) * inv(A)ᴴ (the sign is constant for real A)."""
    g = grad_logabsdet
    if A.is_complex() and grad_sign is not None:
        s = O("imag")(cj(grad_sign) * sign) * (-1j)
        g = s if g is None else g + s
    if g is None:
        return zeros_like(A)
    return _unsq2(g) * O("linalg.inv")(A).mH


@helper
def solve_backward(grad, A, B, left, X, which):
    """linalg.solve: gB = A⁻ᴴ G (G A⁻ᴴ when left=False); gA = -gB Xᴴ (-Xᴴ gB)."""
    solve = O("linalg.solve")
    vec = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    gB = solve(A.mH, grad, left=left)
    if which == 1:
        return gB
    if vec:
        return -(gB.unsqueeze(-1) * cj(X).unsqueeze(-2))
    return -(gB @ X.mH) if left else -(X.mH @ gB)


@helper
def cholesky_backward(grad, L, upper):
    """PyTorch's cholesky_backward: L⁻ᴴ Φ(Lᴴ gL) L⁻¹, symmetrized (Φ: lower triangle, half diagonal)."""
    if upper:
        L, grad = L.mH, grad.mH
    linv = O("linalg.inv")(L)
    phi = L.mH @ grad
    phi = O("tril")(phi) - 0.5 * O("diag_embed")(phi.diagonal(0, -2, -1))
    ga = linv.mH @ phi @ linv
    return 0.5 * (ga + ga.mH)


def _lu_backward(gL, gU, P, L, U):
    """PyTorch's linalg_lu_backward: the gradient of A = P L U from those of L (m, k) and U (k, n),
    pulled back through the two triangular solves; the extra block of a tall L or wide U passes
    straight through. gL or gU may be None."""
    st, tril, triu, cat = O("linalg.solve_triangular"), O("tril"), O("triu"), O("cat")
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m == n:
        gA = None if gL is None else tril(L.mH @ gL, -1)
        if gU is not None:
            up = triu(gU @ U.mH)
            gA = up if gA is None else gA + up
        gA = st(U.mH, gA, upper=False, left=False)
        gA = st(L.mH, gA, upper=True, unitriangular=True)
    elif m < n:
        gA = None if gL is None else L.mH @ gL
        if gU is not None:
            t = -(triu(gU) @ U.mH)
            gA = t if gA is None else gA + t
        gA = st(U[..., :k].mH, tril(gA, -1), upper=False, left=False)
        if gU is not None:
            gA = cat([gA + triu(gU[..., :k]), gU[..., k:]], -1)
        gA = st(L.mH, gA, upper=True, unitriangular=True)
        if gU is None:
            gA = cat([gA, zeros_like(U[..., k:])], -1)
    else:
        gA = None if gU is None else gU @ U.mH
        if gL is not None:
            t = -(L.mH @ tril(gL, -1))
            gA = t if gA is None else gA + t
        gA = st(L[..., :k, :].mH, triu(gA), upper=True, unitriangular=True)
        if gL is not None:
            gA = cat([gA + tril(gL[..., :k, :], -1), gL[..., k:, :]], -2)
        gA = st(U.mH, gA, upper=False, left=False)
        if gL is None:
            gA = cat([gA, zeros_like(L[..., k:, :])], -2)
    return P @ gA


@helper
def lu_factor_ex_backward(grad, LU, pivots):
    """linalg.lu_factor_ex: the packed gradient splits into L's (strictly lower) and U's (upper) parts."""
    from .linalg_solvers import lu_unpack
    P, L, U = lu_unpack(LU, pivots)
    k = min(LU.shape[-2], LU.shape[-1])
    return _lu_backward(grad[..., :, :k], grad[..., :k, :], P, L, U)


@helper
def solve_triangular_backward(grad, A, X, upper, left, unitriangular, which):
    """linalg.solve_triangular: gB solves the adjoint system; gA = -gB Xᴴ (-Xᴴ gB), kept to A's triangle."""
    gB = O("linalg.solve_triangular")(A.mH, grad, upper=not upper, left=left, unitriangular=unitriangular)
    if which == 1:
        return gB
    gA = -(gB @ X.mH) if left else -(X.mH @ gB)
    return O("triu")(gA, 1 if unitriangular else 0) if upper else O("tril")(gA, -1 if unitriangular else 0)


def _copyltu(M):
    """The Hermitian matrix with M's lower triangle (real diagonal)."""
    low = O("tril")(M, -1)
    d = M.diagonal(0, -2, -1)
    return low + low.mH + O("diag_embed")(O("real")(d) if M.is_complex() else d)


def _qr_backward_tall(gQ, gR, Q, R):
    """m >= n: gA = (gQ + Q copyltu(M)) R⁻ᴴ with M = R gRᴴ - gQᴴ Q."""
    M = None
    if gR is not None:
        M = R @ gR.mH
    if gQ is not None:
        M = -(gQ.mH @ Q) if M is None else M - gQ.mH @ Q
    b = Q @ _copyltu(M)
    if gQ is not None:
        b = b + gQ
    return O("linalg.solve")(R.mH, b, left=False)


@helper
def qr_backward(gQ, gR, Q, R, mode):
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                           "Use linalg.qr(A, mode='reduced') to differentiate through linalg.qr.")
    m, n = Q.shape[-2], R.shape[-1]
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    if m >= n:
        return _qr_backward_tall(gQ, gR, Q, R)
    # wide: A = [X | Y] with X = Q U square, Y = Q V
    U, V = R.narrow(-1, 0, m), R.narrow(-1, m, n - m)
    Y = Q @ V
    gU = None if gR is None else gR.narrow(-1, 0, m)
    gV = None if gR is None else gR.narrow(-1, m, n - m)
    gQ2 = gQ if gV is None else (Y @ gV.mH if gQ is None else gQ + Y @ gV.mH)
    gX = _qr_backward_tall(gQ2, gU, Q, U)
    gY = Q @ gV if gV is not None else zeros_like(Y)
    return O("cat")([gX, gY], -1)


@helper
def svd_backward(gU, gS, gVh, U, S, Vh, full_matrices=False):
    """PyTorch's svd_backward (distinct singular values assumed; full_matrices: the first k columns)."""
    if gU is None and gS is None and gVh is None:
        return None
    k = S.shape[-1]
    if full_matrices:
        U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
        gU = None if gU is None else gU.narrow(-1, 0, k)
        gVh = None if gVh is None else gVh.narrow(-2, 0, k)
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        return U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh
    skew = lambda X: X - X.mH   # noqa: E731
    s2 = S * S
    n_s = s2.shape[-1]
    eye = _eye(n_s, s2)
    E = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye   # 1 on the diagonal
    if gU is not None and gVh is not None:
        ret = (skew(U.mH @ gU) * S.unsqueeze(-2) + S.unsqueeze(-1) * skew(Vh @ gVh.mH)) / E
    elif gU is not None:
        ret = skew(U.mH @ gU) * (S.unsqueeze(-2) / E)
    else:
        ret = S.unsqueeze(-1) * (skew(Vh @ gVh.mH) / E)
    if gS is not None:
        ret = ret + O("diag_embed")(gS)
    if U.is_complex() and gU is not None:
        ret = ret + O("diag_embed")(O("imag")(skew(U.mH @ gU).diagonal(0, -2, -1)) * 1j / (2 * S))
    if m > n and gU is not None:
        gA = U @ ret
        gUSinv = gU / S.unsqueeze(-2)
        gA = gA + gUSinv - U @ (U.mH @ gUSinv)
        return gA @ Vh
    if m < n and gVh is not None:
        gA = ret @ Vh
        SinvgVh = gVh / S.unsqueeze(-1)
        gA = gA + SinvgVh - (SinvgVh @ Vh.mH) @ Vh
        return U @ gA
    return U @ (ret @ Vh) if m >= n else (U @ ret) @ Vh


@helper
def svdvals_backward(grad, A):
    U, S, Vh = O("linalg.svd")(A, False)
    return svd_backward(None, grad, None, U, S, Vh)


@helper
def eigh_backward(gL, gV, L, V):
    """PyTorch's eigh backward: V (skew(Vᴴ gV)/2 / E + diag(gL)) Vᴴ, E[i, j] = L[j] - L[i]."""
    if gL is None and gV is None:
        return None
    if gV is None:
        return V @ (gL.unsqueeze(-1) * V.mH)
    vhgv = V.mH @ gV
    n = L.shape[-1]
    E = L.unsqueeze(-2) - L.unsqueeze(-1) + _eye(n, L)
    ret = 0.5 * (vhgv - vhgv.mH) / E
    if gL is not None:
        ret = ret + O("diag_embed")(gL)
    return V @ ret @ V.mH


@helper
def eigvalsh_backward(grad, A, UPLO):
    L, V = O("linalg.eigh")(A, UPLO)
    return eigh_backward(grad, None, L, V)


@helper
def pinv_backward(grad, pinvA, A):
    """PyTorch's pinv_backward (full-rank inputs)."""
    m, n = A.shape[-2], A.shape[-1]
    pinvAh = pinvA.mH
    gradh = grad.mH
    if m <= n:
        K = gradh @ pinvA
        KpinvAh = K @ pinvAh
        return -(pinvA @ K).mH + KpinvAh - (A @ pinvA) @ KpinvAh + (pinvAh @ pinvA) @ (gradh - K @ A)
    K = pinvA @ gradh
    pinvAhK = pinvAh @ K
    return -(K @ pinvA).mH + (gradh - A @ K) @ pinvA @ pinvAh + pinvAhK - pinvAhK @ pinvA @ A


def _ord_value(ord):
    return ord if ord in ("fro", "nuc") else float(ord)


@helper
def matrix_norm_backward(grad, A, ord, dim, keepdim, result):
    """linalg._matrix_norm (dim: Julia dims (rows, columns), as the kernel receives them)."""
    nd = A.ndim
    r, c = nd - int(dim[0]), nd - int(dim[1])
    o = _ord_value(ord)
    if o == "fro":
        return norm_backward(grad, A, 2, (r, c), keepdim, result)
    g = grad
    if keepdim:
        g = g.squeeze((r, c))
    if o in ("nuc", 2.0, -2.0):
        Am = A.movedim((r, c), (-2, -1))
        k = min(Am.shape[-2], Am.shape[-1])
        if o == "nuc":
            gS = g.unsqueeze(-1).expand(g.shape + (k,))
        else:
            hot = np.zeros(k)
            hot[0 if o == 2.0 else k - 1] = 1
            gS = g.unsqueeze(-1) * _const(hot, g.dtype)
        return svdvals_backward(gS, Am).movedim((-2, -1), (r, c))
    # ±1: max/min over columns of the absolute column sums; ±inf: over rows of the row sums
    inner, outer = (r, c) if abs(o) == 1 else (c, r)
    sums = O("abs")(A).sum(inner, keepdim=True)
    red = (sums.amax if o > 0 else sums.amin)(outer, keepdim=True)
    gsum = amax_backward(g.unsqueeze(min(r, c)).unsqueeze(max(r, c)), sums, outer, True, red)
    return O("sign")(A) * gsum


def _matrix_norm(A, ord):
    return O("linalg._matrix_norm")(A, ord, [2, 1], False)


@helper
def cond_backward(grad, A, p):
    """linalg.cond: σmax/σmin (p = ±2) through the singular values, else norm(A) norm(A⁻¹)."""
    o = _ord_value(p)
    if o in (2.0, -2.0):
        S = O("linalg.svdvals")(A)
        k = S.shape[-1]
        hi, lo = S.narrow(-1, 0, 1).squeeze(-1), S.narrow(-1, k - 1, 1).squeeze(-1)
        num, den = (hi, lo) if o == 2.0 else (lo, hi)
        gnum, gden = grad / den, -grad * num / (den * den)
        first, last = (gnum, gden) if o == 2.0 else (gden, gnum)
        e0, e1 = np.zeros(k), np.zeros(k)
        e0[0] = 1
        e1[k - 1] = 1
        gS = first.unsqueeze(-1) * _const(e0, grad.dtype) + last.unsqueeze(-1) * _const(e1, grad.dtype)
        return svdvals_backward(gS, A)
    B = O("linalg.inv")(A)
    nA, nB = _matrix_norm(A, p), _matrix_norm(B, p)
    gA = matrix_norm_backward(grad * nB, A, p, [2, 1], False, nA)
    gB = matrix_norm_backward(grad * nA, B, p, [2, 1], False, nB)
    return gA - B.mH @ gB @ B.mH


# ---- fused normalizations (_layer_norm, _channel_norm) ---------------------------------------------

def _norm_view(kind, input, args):
    """(input viewed for `_standardize`, its dims, the shape a per-channel parameter broadcasts as)."""
    if kind == "layer":
        return input, tuple(range(input.ndim - args, input.ndim)), None
    groups, per_sample = args
    view = input.reshape(input.shape[0], groups, -1)
    return view, (2,) if per_sample else (0, 2), (input.shape[1],) + (1,) * (input.ndim - 2)


def _norm_composed_vjp(kind, which, grad, input, args, weight, eps):
    """The gradient through `_standardize` and the affine ops the fused kernels replace: recorded under
    create_graph, so the derivative is differentiable again (the fused backward kernels are not)."""
    view, dims, pshape = _norm_view(kind, input, args)
    w = weight if weight is None or pshape is None else weight.reshape(pshape)
    if which == "input":
        gh = grad if w is None else grad * w
        return O("_standardize_backward")(gh.reshape(view.shape), view, dims, eps).reshape(input.shape)
    g = grad
    if which == "weight":
        g = grad * O("_standardize")(view, dims, eps).reshape(input.shape)
    if pshape is None:
        return g.sum(tuple(range(input.ndim - args))) if input.ndim > args else g
    return g.sum((0,) + tuple(range(2, input.ndim)))


@helper
def norm_vjp(kind, which, grad, input, args, weight, bias, eps):
    """Gradient of `_layer_norm` (kind 'layer', args = normalized_ndim) or `_channel_norm` ('channel',
    args = (groups, per_sample)) with respect to `which` (input, weight or bias): the fused backward
    kernels, or under create_graph the composition of differentiable ops."""
    if _autograd.is_grad_enabled():
        return _norm_composed_vjp(kind, which, grad, input, args, weight, eps)
    pre = "_layer_norm" if kind == "layer" else "_channel_norm"
    rest = (args,) if kind == "layer" else tuple(args)
    if which == "input":
        return O(pre + "_backward")(grad, input, *rest, weight, eps)
    p = weight if which == "weight" else bias
    return O(pre + "_param_grad")(grad, input, *rest, eps, which == "bias").reshape(p.shape)


@helper
def pool_scatter(grad, indices, shape, nd):
    """The input gradient of an nd-d max pooling (max_pool2d/3d, fractional_max_pool2d/3d): zeros
    of the input's shape with each output gradient added at its flat plane index. An nd-d plane is
    one flat row for `_pool2d_scatter`, whose own derivative (a gather) gives second derivatives."""
    if nd == 2:
        return O("_pool2d_scatter")(grad, indices, shape)
    lead, plane = tuple(shape[:-nd]), math.prod(shape[-nd:])
    flat = lead + (1, -1)
    out = O("_pool2d_scatter")(grad.reshape(flat), indices.reshape(flat), lead + (1, plane))
    return out.reshape(tuple(shape))
