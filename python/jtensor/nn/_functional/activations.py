"""Activation functions of torch.nn.functional (leaky_relu, elu, selu, celu, prelu, softplus, the
shrinks, threshold, hardtanh/relu6, hardswish/hardsigmoid, logsigmoid, mish, glu, softmin, rrelu),
and gumbel_softmax (a softmax of noisy logits).

Each is one fused registry op from julia/src/ops/activations.jl (with its derivative there); these
wrappers check PyTorch's arguments and give the `inplace=True` forms."""
import warnings

from ... import creation as _creation
from ...autograd import no_grad
from ...ops import ops as _ops
from ...registry import REGISTRY

__all__ = [
    "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_", "celu", "celu_", "prelu", "softplus", "softsign",
    "softshrink", "hardshrink", "tanhshrink", "threshold", "threshold_", "hardtanh", "hardtanh_", "relu6",
    "hardswish", "hardsigmoid", "logsigmoid", "mish", "glu", "softmin", "rrelu", "rrelu_", "relu_",
    "gumbel_softmax",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _apply(name, input, args, inplace):
    """Registry op `name` on input, or its in-place form writing into input."""
    if inplace:
        REGISTRY.sync()
        return REGISTRY.ops[name].inplace_fn(input, *args)
    return getattr(_ops, name)(input, *args)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """input where positive, else negative_slope * input."""
    return _apply("_leaky_relu", input, (float(negative_slope),), inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def elu(input, alpha=1.0, inplace=False):
    """input where positive, else alpha * (exp(input) - 1)."""
    return _apply("_elu", input, (float(alpha), 1.0, 1.0), inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def selu(input, inplace=False):
    """scale * elu(input, alpha) with the self-normalizing constants of Klambauer et al."""
    return _apply("_elu", input, (_SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input):
    return selu(input, True)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha must not be 0."""
    if alpha == 0:
        raise ValueError("celu: ZeroDivisionError, alpha cannot be 0 for CELU")
    return _apply("_elu", input, (float(alpha), 1.0, 1.0 / alpha), inplace)


def celu_(input, alpha=1.0):
    return celu(input, alpha, True)


def prelu(input, weight):
    """input where positive, else weight * input; weight holds 1 value or one per channel (dim 1)."""
    n = weight.numel()
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: weight must be 0-d or 1-d, got shape {list(weight.shape)}")
    if n == 1:
        weight = weight.reshape(())   # the result keeps input's shape, a 0-d one included
    else:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {channels}.")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    return _ops._prelu(input, weight)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""
    return _ops._softplus(input, float(beta), float(threshold))


def softsign(input):
    """x / (1 + |x|)."""
    return _ops._softsign(input)


def _check_lambd(lambd, fn):
    if lambd < 0:
        raise RuntimeError(f"{fn}: lambda must be greater or equal to 0, but found to be {lambd}.")


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    _check_lambd(lambd, "softshrink")
    return _ops._softshrink(input, float(lambd))


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    return _ops.hardshrink(input, float(lambd))


def tanhshrink(input):
    """x - tanh(x)."""
    return _ops._tanhshrink(input)


def threshold(input, threshold, value, inplace=False):
    """input where input > threshold, else value."""
    return _apply("threshold", input, (float(threshold), float(value)), inplace)


def threshold_(input, threshold, value):
    return _apply("threshold", input, (float(threshold), float(value)), True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """input clamped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("hardtanh: min_val cannot be greater than max_val")
    return _apply("_hardtanh", input, (float(min_val), float(max_val)), inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, True)


def relu6(input, inplace=False):
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6."""
    return _apply("_hardswish", input, (), inplace)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6."""
    return _apply("_hardsigmoid", input, (), inplace)


def logsigmoid(input):
    """log(sigmoid(x)), computed as -softplus(-x)."""
    return _ops._log_sigmoid(input)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    return _apply("_mish", input, (), inplace)


def glu(input, dim=-1):
    """a * sigmoid(b), where a and b are the two halves of input along dim."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size {n}")
    a, b = input.split(n // 2, dim)
    return _ops._glu(a, b)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-input) along dim."""
    from ..functional import softmax
    return softmax(-input if dtype is None else -input.to(dtype), dim)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training, each negative element is scaled by a slope drawn
    uniformly from [lower, upper] (jtensor's generator); in evaluation, by (lower + upper) / 2."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    with no_grad():
        slope = _creation.rand(input.shape, dtype=input.dtype) * (upper - lower) + lower
    out = _ops.where(input >= 0, input, input * slope)
    return input.copy_(out) if inplace else out


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)


def relu_(input):
    """In-place relu."""
    return input.relu_()


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample of the Gumbel-softmax distribution over `dim`: softmax((logits + g) / tau) with g
    standard Gumbel noise (drawn from jtensor's default generator). With hard=True the result is
    one-hot at the argmax, with the soft sample's gradient (straight-through), as PyTorch's."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -_creation.empty_like(logits).exponential_().log()
    soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return soft
    index = soft.max(dim, keepdim=True)[1]
    one_hot = _creation.zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft
