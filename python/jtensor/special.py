"""``jtensor.special``: PyTorch's ``torch.special`` functions, with its names and signatures.

Three kinds of function live here:

- the registry ops of namespace "special" (julia/src/ops/special.jl, kernels in
  julia/src/specialfuncs.jl), published into this module by jtensor.ops: ``entr``, ``erfcx``,
  ``i0e``, ``i1``, ``i1e``, ``ndtr``, ``ndtri``, ``log_ndtr``, ``xlog1py``, ``zeta``,
  ``bessel_j0``, ``bessel_j1``, ``bessel_y0``, ``bessel_y1``, the ``modified_bessel_k*`` and
  ``scaled_modified_bessel_k*``, ``airy_ai`` and the orthogonal polynomials (``chebyshev_polynomial_t``...,
  ``hermite_polynomial_h``, ``laguerre_polynomial_l``, ``legendre_polynomial_p``; kernels in
  julia/src/orthopolys.jl);
- torch.special's other names for torch-level ops (``gammaln`` is ``lgamma``, ``psi`` is
  ``digamma``, ``expit`` is ``sigmoid``, ``gammainc`` is ``igamma``...), defined below;
- compositions where PyTorch composes too (``round`` with ``decimals``, ``softmax``,
  ``logsumexp``, ``spherical_bessel_j0`` as sinc).

Every function is real-valued and elementwise (except the softmaxes and logsumexp); integer inputs
give the default float dtype, as in PyTorch. Gradients come from the registry's derivative formulas.
"""
import math as _math

__all__ = ["entr", "erf", "erfc", "erfcx", "erfinv", "expit", "exp2", "expm1", "gammaln", "digamma", "psi",
           "polygamma", "multigammaln", "gammainc", "gammaincc", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
           "ndtr", "ndtri", "logit", "logsumexp", "sinc", "round", "softmax", "log_softmax", "xlogy", "xlog1py",
           "zeta", "bessel_j0", "bessel_j1", "modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0",
           "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
           "scaled_modified_bessel_k1", "airy_ai", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
           "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
           "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
           "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]


def _jt():
    import jtensor
    return jtensor


def _elementwise(name, target, doc):
    """torch.special.<name>(input, *, out=None): the torch-level op `target` under torch.special's name."""
    def function(input, *, out=None):
        return getattr(_jt(), target)(input, out=out)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"torch.special.{name}: {doc} (`jt.{target}`)."
    return function


# torch.special name -> (torch-level op, what it computes)
_SAME_AS_TORCH = {
    "erf": ("erf", "the error function"),
    "erfc": ("erfc", "the complementary error function 1 - erf(x)"),
    "erfinv": ("erfinv", "the inverse error function"),
    "expit": ("sigmoid", "the logistic sigmoid 1 / (1 + exp(-x))"),
    "exp2": ("exp2", "2 ** x"),
    "expm1": ("expm1", "exp(x) - 1, accurate near 0"),
    "log1p": ("log1p", "log(1 + x), accurate near 0"),
    "gammaln": ("lgamma", "log |Γ(x)|"),
    "digamma": ("digamma", "the digamma function Γ'(x)/Γ(x)"),
    "psi": ("digamma", "the digamma function Γ'(x)/Γ(x)"),
    "i0": ("i0", "the modified Bessel function of the first kind, order 0"),
    "modified_bessel_i0": ("i0", "the modified Bessel function I0"),
    "sinc": ("sinc", "the normalized sinc sin(πx)/(πx)"),
}
globals().update({_name: _elementwise(_name, _target, _doc) for _name, (_target, _doc) in _SAME_AS_TORCH.items()})


def modified_bessel_i1(input, *, out=None):
    """torch.special.modified_bessel_i1: the modified Bessel function I1 (`jt.special.i1`)."""
    return i1(input, out=out)   # noqa: F821 (published into this module from the registry)


def polygamma(n, input, *, out=None):
    """torch.special.polygamma: the n-th derivative of the digamma function."""
    return _jt().polygamma(n, input, out=out)


def multigammaln(input, p, *, out=None):
    """torch.special.multigammaln: the multivariate log-gamma of dimension p (`jt.mvlgamma`)."""
    return _jt().mvlgamma(input, p, out=out)


def gammainc(input, other, *, out=None):
    """torch.special.gammainc: the regularized lower incomplete gamma P(input, other) (`jt.igamma`)."""
    return _jt().igamma(input, other, out=out)


def gammaincc(input, other, *, out=None):
    """torch.special.gammaincc: the regularized upper incomplete gamma Q(input, other) (`jt.igammac`)."""
    return _jt().igammac(input, other, out=out)


def xlogy(input, other, *, out=None):
    """torch.special.xlogy: input * log(other), 0 where input is 0 (`jt.xlogy`)."""
    return _jt().xlogy(input, other, out=out)


def logit(input, eps=None, *, out=None):
    """torch.special.logit: log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given."""
    return _jt().logit(input, eps, out=out)


def logsumexp(input, dim, keepdim=False, *, out=None):
    """torch.special.logsumexp (`jt.logsumexp`)."""
    return _jt().logsumexp(input, dim, keepdim, out=out)


def softmax(input, dim, *, dtype=None):
    """torch.special.softmax: exp(x) / sum(exp(x)) along dim (`jt.softmax`)."""
    return _jt().softmax(input, dim, dtype)


def log_softmax(input, dim, *, dtype=None):
    """torch.special.log_softmax: x - logsumexp(x) along dim (`jt.log_softmax`)."""
    return _jt().log_softmax(input, dim, dtype)


def round(input, *, decimals=0, out=None):
    """torch.special.round: round half to even; with `decimals`, round(x * 10**d) / 10**d, as PyTorch
    computes it (so results are the nearest floats to the decimal values, not exact)."""
    jt = _jt()
    if decimals == 0:
        return jt.round(input, out=out)
    scale = 10.0 ** decimals
    r = jt.div(jt.round(jt.mul(input, scale)), scale)
    if out is not None:
        return out.copy_(r)
    return r


def spherical_bessel_j0(input, *, out=None):
    """torch.special.spherical_bessel_j0: sin(x)/x (1 at 0), as sinc(x / π)."""
    jt = _jt()
    x = input if isinstance(input, jt.Tensor) else jt.asarray(input)
    if not x.is_floating_point():
        x = x.to(jt.get_default_dtype())
    r = jt.where(jt.isinf(x), 0.0, jt.sinc(jt.div(x, _math.pi)))   # 0 at ±inf, as PyTorch
    return out.copy_(r) if out is not None else r
