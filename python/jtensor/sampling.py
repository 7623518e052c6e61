"""Random sampling beyond rand/randn/randint: randperm, normal, bernoulli, multinomial, poisson,
binomial (their rejection samplers live in distributions/_samplers.py) and the
in-place fills (`uniform_`, `normal_`, `bernoulli_`, `random_`, `exponential_`, ...).

Every sample is drawn through `jt.rand`/`randn`/`randint`, with `generator=` passed on (by
default the generator `jt.manual_seed` seeds), and transformed as PyTorch transforms its draws: a
permutation is the order of uniform keys, a categorical draw inverts the CDF (with replacement)
or takes the top-k of p / Exp(1) keys (without: the exponential-race form of sequential sampling).
"""
import math
import operator

import jtensor as jt
from . import dtypes as D
from ._tensor import Tensor, _shape_arg
from .creation import _on_meta
from .ops import composed


@composed(method=False)
def randperm(n, *, generator=None, dtype=D.int64, device=None, requires_grad=False, pin_memory=False):
    """A random permutation of 0..n-1."""
    n = operator.index(n)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got {n}")
    dt = D.as_dtype(dtype)
    if _on_meta(device):
        return jt.empty(n, dtype=dt, device=device)
    keys = jt.rand(n, generator=generator, dtype=D.float64)   # float64 keys: ties have probability ~n²/2^53
    return jt.argsort(keys).to(dt)


def _check_std(std):
    """PyTorch's check: every standard deviation (a number or a tensor's elements) is >= 0."""
    if isinstance(std, Tensor):
        if std.is_meta or not std.numel():
            return
        std = float(std.detach().amin())
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")


@composed(method=False)
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False,
           out=None):
    """Normal samples: normal(mean_tensor, std_tensor), normal(mean_tensor, std=1.0),
    normal(mean, std_tensor), or normal(mean, std, size) for Python numbers. Tensor means and stds
    broadcast; the result is differentiable in them (mean + std * eps)."""
    _check_std(std)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal() with float mean and std needs a size: normal(mean, std, size)")
        dt = D.as_dtype(dtype or D.default_float)
        r = jt.randn(_shape_arg((size,)), generator=generator, dtype=dt, device=device) * std + mean
        r = r.requires_grad_(True) if requires_grad else r
    else:
        if size is not None:
            raise TypeError("normal(): size is only accepted with float mean and std")
        shape = jt.broadcast_shapes(*(t.shape for t in tensors))
        dt = D.result_type([t.dtype for t in tensors], [])
        if dt.kind not in "f":
            raise RuntimeError(f"normal expects floating point mean and std, got {dt.name}")
        eps = jt.randn(shape, generator=generator, dtype=dt, device=tensors[0].device)
        r = eps * std + mean
    return r if out is None else out.copy_(r)


@composed()
def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples (in input's dtype) that are 1 with probability `p`, or input's values when p is
    not given. Not differentiable (PyTorch's gradient is zero)."""
    prob = input.detach() if p is None else p
    _check_probability("bernoulli", prob)
    r = (jt.rand(input.shape, generator=generator, dtype=D.float64, device=input.device) < prob).to(input.dtype)
    return r if out is None else out.copy_(r)


@composed(method=False)
def poisson(input, generator=None):
    """Poisson draws with rates `input` (float, >= 0), in its shape and dtype. Not differentiable
    (PyTorch's gradient is zero)."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"poisson_cpu" not implemented for \'{D.scalar_type_name(input.dtype)}\'')
    if input.numel() and not input.is_meta and not bool((input.detach() >= 0).all()):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    from .distributions._samplers import poisson as draw
    return draw(input, generator)


@composed(method=False)
def binomial(count, prob, generator=None):
    """Binomial(count, prob) draws (the number of successes in `count` trials), of the broadcast
    shape, in prob's dtype; count and prob floating point of one dtype. Not differentiable."""
    if not count.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{D.scalar_type_name(count.dtype)}")
    if count.dtype is not prob.dtype:
        raise RuntimeError(f"Found dtype {D.scalar_type_name(prob.dtype)} but expected {D.scalar_type_name(count.dtype)}")
    from .distributions._samplers import binomial as draw
    return draw(count, prob, generator)


def _check_probability(name, p):
    if isinstance(p, Tensor):
        if p.numel() and not p.is_meta and not bool(jt.logical_and(p >= 0, p <= 1).all()):
            raise RuntimeError(f"{name}: Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    elif not 0 <= p <= 1:
        raise RuntimeError(f"{name}_ expects p to be in [0, 1], but got p={p}")


@composed()
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """num_samples category indices per row of the (1-d or 2-d) non-negative weights `input`, drawn
    with or without replacement; int64, shape (num_samples,) or (rows, num_samples)."""
    if input.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {input.ndim}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype.name}")
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples, got {num_samples}")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"({num_samples} > {n})")
    p = input.detach().reshape(-1, n).to(D.float64)
    if not bool(jt.logical_and(jt.isfinite(p), p >= 0).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool((p.sum(-1) <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rows = p.shape[0]
    if replacement:   # invert the CDF at uniform draws scaled by the row's total
        cdf = p.cumsum(-1)
        u = jt.rand(rows, num_samples, generator=generator, dtype=D.float64) * cdf[:, -1:]
        r = jt.searchsorted(cdf, u, right=True).clamp(max=n - 1)
    else:   # zero-weight categories come last, once the others are drawn (as PyTorch)
        exp = -jt.log(jt.rand(rows, n, generator=generator, dtype=D.float64))   # Exp(1) keys: the exponential race
        r = jt.topk(p / exp, num_samples, -1).indices
    r = r.reshape(input.shape[:-1] + (num_samples,))
    return r if out is None else out.copy_(r)


# ---- in-place fills -----------------------------------------------------------------------------------------
def _fill(self, values):
    """Write the drawn `values` into self (its dtype; no history: a random fill has no gradient)."""
    if not self.is_meta:
        with jt.no_grad():
            self.copy_(values)
    return self


def _bounds(name, bounds, kw, defaults):
    """(from, to) given positionally or as the keywords `from` and `to` (a Python keyword, so
    they arrive in **kw), with defaults."""
    unknown = set(kw) - {"from", "to"}
    if unknown or len(bounds) > 2:
        raise TypeError(f"{name}() takes (from, to); got {len(bounds)} positional arguments and {sorted(kw)}")
    got = list(bounds) + list(defaults[len(bounds):])
    return kw.get("from", got[0]), kw.get("to", got[1])


def _uniform(self, low, high, generator):
    dt = self.dtype if self.dtype.kind == "f" else D.float64
    return jt.rand(self.shape, generator=generator, dtype=dt) * (high - low) + low


@composed(function=False)
def uniform_(self, *bounds, generator=None, **kw):
    """Fill with uniform samples in [from, to) (default [0, 1)): uniform_(from, to)."""
    low, to = _bounds("uniform_", bounds, kw, (0.0, 1.0))
    if low > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={to}")
    return _fill(self, _uniform(self, low, to, generator))


@composed(function=False)
def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal samples."""
    _check_std(std)
    dt = self.dtype if self.dtype.kind == "f" else D.float64
    return _fill(self, jt.randn(self.shape, generator=generator, dtype=dt) * std + mean)


@composed(function=False)
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples that are 1 with probability p (a float or a tensor broadcast to self)."""
    _check_probability("bernoulli", p)
    u = jt.rand(self.shape, generator=generator, dtype=D.float64)
    return _fill(self, u < (p.detach() if isinstance(p, Tensor) else p))


@composed(function=False)
def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential samples of rate lambd."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, -jt.log1p(-jt.rand(self.shape, generator=generator, dtype=D.float64)) / lambd)


@composed(function=False)
def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with Cauchy samples."""
    u = jt.rand(self.shape, generator=generator, dtype=D.float64)
    return _fill(self, median + sigma * jt.tan(math.pi * (u - 0.5)))


@composed(function=False)
def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with samples whose log is normal(mean, std)."""
    _check_std(std)
    return _fill(self, jt.exp(jt.randn(self.shape, generator=generator, dtype=D.float64) * std + mean))


@composed(function=False)
def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill(self, jt.ceil(jt.log1p(-jt.rand(self.shape, generator=generator, dtype=D.float64)) / math.log1p(-p)))


def _random_bound(dt):
    """random_()'s exclusive upper bound: 2^mantissa + 1 for floats (every integer below is
    exact), the type's max + 1 for integers (int64: its max), 2 for bool."""
    if dt.kind == "f":
        return 2 ** {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}[dt.name] + 1
    if dt.kind == "b":
        return 2
    from .typeinfo import iinfo
    return min(iinfo(dt).max + 1, 2 ** 63 - 1)


@composed(function=False)
def random_(self, *bounds, generator=None, **kw):
    """Fill with integers uniform in [from, to): random_(to), random_(from, to), or random_() for
    [0, 2^mantissa] (floats) / [0, max] (integers)."""
    if len(bounds) == 1 and not kw:
        bounds = (0,) + bounds   # random_(to)
    low, high = _bounds("random_", bounds, kw, (0, None))
    high = _random_bound(self.dtype) if high is None else high
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _fill(self, jt.randint(low, high, self.shape, generator=generator, dtype=D.int64))

