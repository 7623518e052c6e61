"""PyTorch's functions that build or rearrange matrices, composed of registry ops as PyTorch
composes them: `block_diag`, `cartesian_prod`, `combinations`, `diagflat`, `rot90`, `vander`,
`cov`/`corrcoef`, the trapezoid rule, window functions, `renorm`, `dist`, `vdot`, the `addr` /
`addbmm` fused products, `chain_matmul`, `pinverse`, `matrix_exp`, and the flat-index writes
`fill_diagonal_`, `put_`/`put` and `index_put_`/`index_put`. Gradients come from the ops used.
"""
import itertools
import math
import warnings

import jtensor as jt
from . import autograd
from . import dtypes as D
from ._tensor import Tensor
from .composites import _scaled_sum
from .ops import composed
from .registry import norm_dim


# ---- block structure ----------------------------------------------------------------------------------------------
@composed(method=False)
def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-, 1- or 2-d tensors (promoted to one dtype)."""
    mats = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        mats.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not mats:
        return jt.empty(1, 0)
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = jt.promote_types(dt, m.dtype)
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        rows.append(jt.cat([jt.zeros(r, left, dtype=dt), m.to(dt), jt.zeros(r, width - left - c, dtype=dt)], 1))
        left += c
    return jt.cat(rows, 0)


@composed(method=False)
def cartesian_prod(*tensors):
    """Every combination of one element from each 1-d tensor, one per row (a 1-d tensor for one input)."""
    if len(tensors) == 1:
        return tensors[0]
    grids = jt.meshgrid(*tensors, indexing="ij")
    return jt.stack([g.reshape(-1) for g in grids], 1)


@composed(method=False)
def combinations(input, r=2, with_replacement=False):
    """The length-`r` combinations of the 1-d `input`'s elements, one per row (itertools' order)."""
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return jt.empty(0, dtype=input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(pick(range(input.shape[0]), r))
    if not idx:
        return jt.empty(0, r, dtype=input.dtype)
    return input[jt.tensor(idx, dtype=D.int64)]


@composed()
def diagflat(input, offset=0):
    """A 2-d tensor with the flattened `input` on the `offset` diagonal."""
    return jt.diag(input.reshape(-1), offset)


@composed()
def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees k times in the plane `dims` (from the first axis towards the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    a, b = norm_dim(dims[0], input.ndim, "rot90"), norm_dim(dims[1], input.ndim, "rot90")
    if a == b:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}")
    k %= 4
    if k == 1:
        return input.flip([b]).transpose(a, b)
    if k == 2:
        return input.flip([a, b])
    if k == 3:
        return input.flip([a]).transpose(a, b)
    return input.clone()


@composed(method=False)
def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-d `x`: columns x^(N-1) ... x^0 (ascending with `increasing`);
    integer inputs compute in int64, as PyTorch."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    x = x.to(jt.promote_types(x.dtype, D.int64))
    if n == 0:
        return jt.empty(x.shape[0], 0, dtype=x.dtype)
    cols = increasing_powers(x, n)
    return cols if increasing else cols.flip([1])


def increasing_powers(x, n):
    """x^0, x^1, ..., x^(n-1) along a new last dim (n >= 1), batched over x's dims: a cumulative
    product, so differentiable everywhere (x ** k's derivative is nan at 0 for k = 0). torch.vander
    and linalg.vander are made of it."""
    x = x.unsqueeze(-1)
    return jt.cat([jt.ones_like(x), x.expand(*x.shape[:-1], n - 1)], -1).cumprod(-1)


# ---- statistics of variables in rows ---------------------------------------------------------------------------------
@composed()
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in the rows of `input` (observations in columns),
    with optional integer frequency and float observation weights, as numpy.cov / torch.cov."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if x.dtype.kind not in "fc":
        x = x.to(D.default_float)
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1)
        w_sum = jt.tensor(float(n), dtype=x.dtype)
        norm = w_sum - correction
    else:
        w = w.to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if correction == 0:
            norm = w_sum
        elif aweights is None:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights.to(x.dtype)).sum() / w_sum
    norm = jt.clamp(norm, min=0)
    xm = x - avg.unsqueeze(1)
    c = (xm * w if w is not None else xm) @ xm.mH
    return (c / norm).squeeze() if input.ndim < 2 else c / norm


@composed()
def corrcoef(input):
    """Pearson correlation coefficients of the variables in the rows of `input`, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = jt.diagonal(c)
    stddev = d.real.sqrt() if d.dtype.kind == "c" else d.sqrt()
    c = c / stddev.unsqueeze(1) / stddev.unsqueeze(0)
    return jt.clamp(c, -1, 1) if c.dtype.kind != "c" else c


# ---- the trapezoid rule -------------------------------------------------------------------------------------------
def _spacing(y, x, dx, d):
    if x is None:
        return None, 1 if dx is None else dx
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[d] = x.shape[0]
        x = x.reshape(shape)
    n = x.shape[d]
    return jt.diff(x, dim=d) if n else x, None


@composed(method=False)
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of `y` along `dim` by the trapezoid rule, at points `x` or spacing `dx`."""
    d = norm_dim(dim, y.ndim, "trapezoid")
    if y.shape[d] == 0:
        return y.sum(d)
    dxs, step = _spacing(y, x, dx, d)
    pair = y.narrow(d, 1, y.shape[d] - 1) + y.narrow(d, 0, y.shape[d] - 1)
    return (pair * dxs).sum(d) / 2 if dxs is not None else pair.sum(d) * (step / 2)


@composed(method=False)
def trapz(y, x=None, *, dx=None, dim=-1):
    """`trapezoid` (its older name)."""
    return trapezoid(y, x, dx=dx, dim=dim)


@composed(method=False)
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid-rule integral of `y` along `dim` (one element fewer than `y`)."""
    d = norm_dim(dim, y.ndim, "cumulative_trapezoid")
    if y.shape[d] == 0:
        return y * 1
    dxs, step = _spacing(y, x, dx, d)
    pair = y.narrow(d, 1, y.shape[d] - 1) + y.narrow(d, 0, y.shape[d] - 1)
    return ((pair * dxs) / 2).cumsum(d) if dxs is not None else (pair * (step / 2)).cumsum(d)


# ---- window functions -----------------------------------------------------------------------------------------------
def _window(name, window_length, periodic, dtype, device, requires_grad, body):
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window length, got window_length={window_length}")
    dt = D.default_float if dtype is None else D.as_dtype(dtype)
    if dt.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt.name}")
    if window_length <= 1:
        w = jt.ones(window_length, dtype=dt, device=device)
    else:
        n = window_length + 1 if periodic else window_length
        k = jt.arange(n, dtype=D.float64, device=device)
        w = body(k, n)[:window_length].to(dt)
    return w.requires_grad_(True) if requires_grad else w


def _cosine_sum(coefs):
    def body(k, n):
        arg = k * (2 * math.pi / (n - 1))
        return sum(c * jt.cos(arg * j) for j, c in enumerate(coefs))
    return body


@composed(method=False)
def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                requires_grad=False):
    """The Hann window: 0.5 - 0.5 cos(2 pi n / (N - 1)) (N = length + 1 when periodic)."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad, _cosine_sum((0.5, -0.5)))


@composed(method=False)
def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   pin_memory=False, requires_grad=False):
    """The Hamming window: alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((alpha, -beta)))


@composed(method=False)
def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                    requires_grad=False):
    """The Blackman window: 0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((0.42, -0.5, 0.08)))


@composed(method=False)
def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, pin_memory=False,
                    requires_grad=False):
    """The Bartlett (triangular) window: 1 - |2n / (N - 1) - 1|."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda k, n: 1 - jt.abs(k * (2 / (n - 1)) - 1))


def _bessel_i0(x):
    """I0(x) by its power series sum ((x/2)^2k / (k!)^2), in float64; exact to rounding for the
    |x| <= ~30 that window parameters give (the terms peak near k = |x|/2 and then fall fast)."""
    q = (x / 2) ** 2
    term, total = jt.ones_like(x), jt.ones_like(x)
    for k in range(1, 120):
        term = term * q / (k * k)
        total = total + term
    return total


@composed(method=False)
def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  pin_memory=False, requires_grad=False):
    """The Kaiser window: I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)."""
    def body(k, n):
        r = k * (2 / (n - 1)) - 1
        return _bessel_i0(beta * jt.sqrt(jt.clamp(1 - r * r, min=0))) / _bessel_i0(jt.tensor(float(beta),
                                                                                      dtype=D.float64))
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, body)


# ---- norms, products --------------------------------------------------------------------------------------------------
@composed()
def renorm(input, p, dim, maxnorm):
    """Each slice along `dim` whose p-norm exceeds `maxnorm` scaled down to norm `maxnorm`."""
    return input * _renorm_factor(input, p, dim, maxnorm)


@composed(function=False)
def renorm_(self, p, dim, maxnorm):
    """In-place `renorm`."""
    source = self.clone() if self.requires_grad and autograd.is_grad_enabled() else self   # the norm saves it
    return self.mul_(_renorm_factor(source, p, dim, maxnorm))


def _renorm_factor(input, p, dim, maxnorm):
    """maxnorm / norm for the slices along `dim` whose p-norm exceeds maxnorm, else 1 (PyTorch adds
    1e-7 to the norm)."""
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = norm_dim(dim, input.ndim, "renorm")
    norm = jt.linalg.vector_norm(input, p, [i for i in range(input.ndim) if i != d], True)
    return jt.where(norm > maxnorm, maxnorm / (norm + 1e-7), jt.ones_like(norm))


@composed()
def dist(input, other, p=2):
    """The p-norm of `input - other` (broadcast)."""
    return jt.linalg.vector_norm(input - other, p)


@composed()
def vdot(input, other):
    """The dot product of two 1-d tensors, the first conjugated."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected both vectors to have same dtype, but found {input.dtype.name} and "
                           f"{other.dtype.name}")
    return jt.dot(input.conj() if input.dtype.kind == "c" else input, other)


@composed()
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2)."""
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1 and vec2, but got {vec1.ndim}-D and {vec2.ndim}-D")
    return _scaled_sum(input, jt.outer(vec1, vec2), beta, alpha, "addr")


def _scaled_sum_(self, product, beta, alpha):
    """In place: self = beta * self + alpha * product (self ignored, NaN included, when beta is 0),
    by the recorded in-place ops so that gradients reach self's history."""
    if beta == 0:
        self.masked_fill_(jt.ones(self.shape, dtype=D.bool_), 0)
    elif beta != 1:
        self.mul_(beta)
    return self.add_(product, alpha=alpha)


@composed(function=False)
def addr_(self, vec1, vec2, *, beta=1, alpha=1):
    """In-place `addr`."""
    return _scaled_sum_(self, jt.outer(vec1, vec2), beta, alpha)


@composed()
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (the sum over the batch of batch1[i] @ batch2[i])."""
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor, batch2 must be a 3D tensor (got {batch1.ndim}D and "
                           f"{batch2.ndim}D)")
    return _scaled_sum(input, jt.bmm(batch1, batch2).sum(0), beta, alpha, "addbmm")


@composed(function=False)
def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    """In-place `addbmm`."""
    return _scaled_sum_(self, jt.bmm(batch1, batch2).sum(0), beta, alpha)


@composed(function=False)
def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
    """In-place `addmm`."""
    return _scaled_sum_(self, jt.mm(mat1, mat2), beta, alpha)


@composed()
def addmv_(self, mat, vec, *, beta=1, alpha=1):
    """In-place `addmv`."""
    return _scaled_sum_(self, jt.mv(mat, vec), beta, alpha)


@composed(function=False)
def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
    """In-place `baddbmm`."""
    return _scaled_sum_(self, jt.bmm(batch1, batch2), beta, alpha)


@composed(method=False)
def chain_matmul(*matrices):
    """The product of the matrices (deprecated by PyTorch for `linalg.multi_dot`)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. "
                  "Use torch.linalg.multi_dot instead", UserWarning, stacklevel=2)
    if len(matrices) == 1:
        return matrices[0].clone()
    return jt.linalg.multi_dot(list(matrices))


@composed()
def pinverse(input, rcond=1e-15):
    """The Moore-Penrose pseudo-inverse, singular values below rcond * the largest cut."""
    return jt.linalg.pinv(input, rtol=rcond)


@composed()
def matrix_exp(input):
    """exp of square matrices (batched): scaling and squaring of a degree-18 Taylor polynomial,
    which is accurate to float64 rounding once the scaled norm is below 1/2."""
    if input.ndim < 2 or input.shape[-1] != input.shape[-2]:
        raise RuntimeError(f"linalg.matrix_exp: A must be batches of square matrices, but they are "
                           f"{input.shape[-2] if input.ndim >= 2 else 0} by {input.shape[-1] if input.ndim else 0}")
    n = input.shape[-1]
    with autograd.no_grad():
        norm = float(input.detach().abs().sum(-2).amax()) if input.numel() else 0.0
    s = max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    a = input / (2 ** s) if s else input
    eye = jt.eye(n, dtype=input.dtype).expand(input.shape)
    result, term = eye, eye
    for k in range(1, 19):
        term = term @ a / k
        result = result + term
    for _ in range(s):
        result = result @ result
    return result


jt.linalg.matrix_exp = matrix_exp


# ---- flat-index writes -----------------------------------------------------------------------------------------------
@composed(function=False)
def fill_diagonal_(self, fill_value, wrap=False):
    """Fill the main diagonal (every dimension of equal length when ndim > 2); `wrap` continues a
    tall matrix's diagonal after each N+1 rows, as NumPy. Differentiable (through a mask) when
    self records gradients."""
    if self.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if self.ndim > 2 and len(set(self.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    if self.requires_grad and autograd.is_grad_enabled():
        return self.masked_fill_(_fill_diagonal(jt.zeros(self.shape, dtype=D.bool_), True, wrap), fill_value)
    return _fill_diagonal(self, fill_value, wrap)


def _fill_diagonal(t, value, wrap):
    """Write `value` on t's diagonal elements, found through t's own strides."""
    step = sum(t._strides)
    t.as_strided((min(t.shape),), (step,), t._offset).fill_(value)
    if wrap and t.ndim == 2 and t.shape[0] > t.shape[1] + 1:
        rows, cols = t.shape
        for start in range(cols + 1, rows, cols + 1):
            m = min(cols, rows - start)
            t.as_strided((m,), (step,), t._offset + start * t._strides[0]).fill_(value)
    return t


def _flat_positions(name, self, index):
    numel = self.numel()
    idx = index.reshape(-1).long()
    if idx.numel() and (int(idx.amax()) >= numel or int(idx.amin()) < -numel):
        raise IndexError(f"{name}: index out of range for tensor of {numel} elements")
    return jt.remainder(idx, numel) if numel else idx


def _write_into(self, place, source, accumulate):
    """In-place write of `source` at the positions `place(base, values)` puts values into a copy
    of `base`: built on zeros (so the result depends on `source` only) and applied with the
    recorded in-place ops `add_` / `masked_fill_`, which keeps gradients right for both."""
    canvas = place(jt.zeros_like(self), source)
    if accumulate:
        return self.add_(canvas)
    written = place(jt.zeros(self.shape, dtype=D.bool_), jt.ones(source.shape, dtype=D.bool_))
    return self.masked_fill_(written, 0).add_(canvas)


def _put(name, input, index, source, accumulate):
    if index.numel() != source.numel():
        raise IndexError(f"{name}(): Expected source and index to have the same number of elements, but got "
                         f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    at = _flat_positions(name, input, index)
    flat, src = input.reshape(-1), source.reshape(-1).to(input.dtype)
    flat = flat.index_add(0, at, src) if accumulate else flat.index_copy(0, at, src)
    return flat.reshape(input.shape)


@composed(function=False)
def put_(self, index, source, accumulate=False):
    """Write (or with `accumulate` add) `source` at the flat row-major positions `index`."""
    return _write_into(self, lambda base, src: _put("put_", base, index, src, accumulate), source, accumulate)


@composed()
def put(input, index, source, accumulate=False):
    """A copy of `input` with `source` written (or added) at the flat positions `index`."""
    return _put("put", input, index, source, accumulate)


def _index_put(input, indices, values, accumulate):
    idx = []
    for i in tuple(indices):
        if i.dtype.name == "bool":
            idx.extend(jt.nonzero(i).unbind(1))
        else:
            idx.append(i.long())
    k = len(idx)
    if k > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
    idx = jt.broadcast_tensors(*idx)
    lead, rest = input.shape[:k], tuple(input.shape[k:])
    linear = jt.zeros(idx[0].shape, dtype=D.int64)
    for i, n in zip(idx, lead):
        linear = linear * n + jt.remainder(i, n)
    flat = input.reshape((math.prod(lead),) + rest)
    vals = (values if isinstance(values, Tensor) else jt.tensor(values)).to(input.dtype)
    vals = vals.expand(tuple(linear.shape) + rest).reshape((linear.numel(),) + rest)
    at = linear.reshape(-1)
    flat = flat.index_add(0, at, vals) if accumulate else flat.index_copy(0, at, vals)
    return flat.reshape(input.shape)


@composed(function=False)
def index_put_(self, indices, values, accumulate=False):
    """`self[indices] = values` for a tuple of index tensors (integer or bool) over the leading
    dimensions; with `accumulate`, repeated positions add up."""
    if not isinstance(values, Tensor):
        values = jt.tensor(values, dtype=self.dtype)
    return _write_into(self, lambda base, v: _index_put(base, indices, v, accumulate), values, accumulate)


@composed()
def index_put(input, indices, values, accumulate=False):
    """A copy of `input` with `values` written (or added) at `indices` (see `index_put_`)."""
    return _index_put(input, indices, values, accumulate)
