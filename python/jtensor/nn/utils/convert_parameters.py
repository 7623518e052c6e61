"""Parameters as one flat vector and back (torch.nn.utils's `parameters_to_vector` and
`vector_to_parameters`), e.g. for second-order methods or weight averaging."""
from ..._tensor import Tensor
from ...autograd import no_grad


def parameters_to_vector(parameters):
    """The parameters flattened and concatenated into one 1-d tensor (differentiable)."""
    from ... import cat
    return cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d tensor `vec` into the parameters, in order.

    torch rebinds each ``param.data`` to a view of `vec`; jtensor copies the values in (under
    no_grad), so the parameters keep their own memory and dtype."""
    if not isinstance(vec, Tensor):
        kind = type(vec)
        name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"expected torch.Tensor, but got: {name}")
    pointer = 0
    with no_grad():
        for param in parameters:
            n = param.numel()
            param.copy_(vec[pointer:pointer + n].view_as(param))
            pointer += n
