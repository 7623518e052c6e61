"""`jt.autograd.functional`: Jacobians, Hessians and their products (``torch.autograd.functional``).

Every function here is a few calls of the engine's `grad` (this package): ``vjp`` one backward,
``jvp`` the double-backward trick (the vjp is linear in its cotangent, so differentiating it
with respect to the cotangent gives J·v), ``jacobian`` one backward per output element,
``vhp``/``hvp`` a backward of a gradient, ``hessian`` the jacobian of the jacobian.

Conventions are torch's: `inputs` is a Tensor or a tuple of Tensors and results mirror that
(a tuple of inputs gives tuples, a tuple of outputs too, both give tuples of tuples
``[output][input]``). Results leave without their graph unless ``create_graph=True``; with
``strict=True`` an output independent of an input raises instead of giving zeros.
``vectorize`` and the strategies are accepted; the values are the same either way.
"""
from . import grad as _engine_grad, enable_grad, set_grad_enabled, is_grad_enabled, _size


def _Tensor():
    from .._tensor import Tensor
    return Tensor


def _zeros_like(t, requires_grad=False):
    from ..creation import zeros_like
    return zeros_like(t, requires_grad=requires_grad)


def _as_tuple(inp, arg_name, fn_name):
    """(was it a tuple, the tensors as a tuple); anything but tensors raises TypeError."""
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, _Tensor()):
            where = f"the value at index {i}" if is_tuple else "the given"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"{where} {arg_name} has type {type(el)}.")
    return is_tuple, items


def _tuple_postprocess(res, to_unpack):
    """Unwrap the tuples the caller did not pass: `to_unpack` is (outputs were a tuple,
    inputs were a tuple) for tuple-of-tuple results, or one flag."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """Inputs to differentiate at: with create_graph, a requires-grad input stays connected to
    its own graph (a view of it); otherwise a detached copy that requires grad if needed."""
    res = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            res.append(inp.view_as(inp))
        else:
            t = inp.detach()
            if need_graph and t.dtype.kind in "fc":
                t.requires_grad_(True)
            res.append(t)
    return tuple(res)


def _grad_postprocess(inputs, create_graph):
    if isinstance(inputs[0], _Tensor()):
        return inputs if create_graph else tuple(i.detach() for i in inputs)
    return tuple(_grad_postprocess(i, create_graph) for i in inputs)


def _validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if tuple(el_v.shape) != tuple(el_other.shape):
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {_size(el_other.shape)} but got "
                               f"{_size(el_v.shape)}.")


def _check_requires_grad(inputs, input_type, strict):
    if not strict:
        return
    if input_type not in ("outputs", "grad_inputs", "jacobian", "hessian"):
        raise RuntimeError("Invalid input_type to _check_requires_grad")
    for i, inp in enumerate(inputs):
        if inp is None:
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is not "
                               f"allowed in strict mode.")
        if not inp.requires_grad:
            if input_type == "hessian":
                raise RuntimeError(f"The hessian of the user-provided function with respect to input {i} is "
                                   f"independent of the input. This is not allowed in strict mode. You should ensure "
                                   f"that your function is thrice differentiable and that the hessian depends on "
                                   f"the inputs.")
            if input_type == "jacobian":
                raise RuntimeError(f"While computing the hessian, found that the jacobian of the user-provided "
                                   f"function with respect to input {i} is independent of the input. This is not "
                                   f"allowed in strict mode. You should ensure that your function is twice "
                                   f"differentiable and that the jacobian depends on the inputs (this would be "
                                   f"violated by a linear function for example).")
            if input_type == "grad_inputs":
                raise RuntimeError(f"The gradient with respect to input {i} is independent of the inputs of the "
                                   f"user-provided function. This is not allowed in strict mode.")
            raise RuntimeError(f"Output {i} of the user-provided function does not require gradients. The outputs "
                               f"must be computed in a differentiable manner from the input when running in strict "
                               f"mode.")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """The engine's grad over the outputs that require grad (None for inputs none depends on)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _engine_grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs], allow_unused=True,
                        create_graph=create_graph, retain_graph=retain_graph)


_STRICT_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in "
            "strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs when "
                  "using the double backward trick to compute forward mode gradients. This is not allowed in "
                  "strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This is not allowed "
                   "in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the grad_jacobian. "
                         "This is not allowed in strict mode as it prevents from using the double backward trick to "
                         "replace forward mode AD.",
}


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    """Zeros where no gradient flowed (or, in strict mode, the error for `stage`)."""
    res = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(_STRICT_MESSAGES[stage].format(i=i))
            g = _zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. This is "
                               f"not allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _call(func, inputs, fn_name, strict):
    outputs = func(*inputs)
    is_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    return is_tuple, outputs


def _vector(v, against, is_tuple, create_graph, fn_name, none_message):
    """The tensors of `v`, checked against `against`; None only where `against` is one element."""
    if v is None:
        if len(against) != 1 or against[0].numel() != 1:
            raise RuntimeError(none_message)
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
    _validate_v(v, against, is_tuple)
    return v


def _last_backward(outputs, diff_outputs, wrt, v, like, create_graph, strict, stage):
    """The final backward of vjp, jvp and vhp/hvp: d(diff_outputs)/d(wrt) contracted with v,
    recorded only with create_graph, zeros (or strict mode's error) where nothing flowed; returns
    (the function's outputs, the result) in torch's structure. `outputs` and `like` (the tensors
    whose shapes the result has) come as (tensors, were they a tuple)."""
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = _fill_in_zeros(_autograd_grad(diff_outputs, wrt, v, create_graph=create_graph), like[0], strict,
                             create_graph, stage)
    return (_tuple_postprocess(_grad_postprocess(outputs[0], create_graph), outputs[1]),
            _tuple_postprocess(_grad_postprocess(res, create_graph), like[1]))


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ·J)``: the vector-Jacobian product at `inputs`."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp", strict)
        v = _vector(v, outputs, is_outputs_tuple, create_graph, "vjp",
                    "The vector v can only be None if the user-provided function returns a single Tensor with a "
                    "single element.")
    return _last_backward((outputs, is_outputs_tuple), outputs, inputs, v, (inputs, is_inputs_tuple), create_graph,
                          strict, "back")


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J·v)``: the Jacobian-vector product, by the double-backward trick."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _vector(v, inputs, is_inputs_tuple, create_graph, "jvp",
                    "The vector v can only be None if the input to the user-provided function is a single Tensor "
                    "with a single element.")
        is_outputs_tuple, outputs = _call(func, inputs, "jvp", strict)
        grad_outputs = tuple(_zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    return _last_backward((outputs, is_outputs_tuple), grad_inputs, grad_outputs, v, (outputs, is_outputs_tuple),
                          create_graph, strict, "back_trick")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of `func` at `inputs`: ``output.shape + input.shape`` per (output, input)
    pair, nested as ``[output][input]`` when they are tuples."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("torch.autograd.functional.jacobian: `create_graph=True` and "
                                      "`strategy=\"forward-mode\"` are not supported together (yet). Please either "
                                      "set `create_graph=False` or `strategy=\"reverse-mode\"`.")
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                      "only implemented for `vectorize=True`.")
    from ..func import _jacobian_block
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        is_outputs_tuple, outputs = _call(func, inputs, "jacobian", strict)
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for j in range(flat.shape[0]):
                grads = _autograd_grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
                for k, (g, inp) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is independent of input "
                                               f"{k}. This is not allowed in strict mode.")
                        g = _zeros_like(inp)
                    rows[k].append(g)
            jac.append(tuple(_jacobian_block(r, out, inp) for r, inp in zip(rows, inputs)))
        jac = _grad_postprocess(tuple(jac), create_graph)
        return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: ``input.shape + input.shape``, or the tuple of
    tuples ``H[i][j]`` for a tuple of inputs."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple or not isinstance(out, _Tensor()):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy="reverse-mode")
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _second_order(func, inputs, v, create_graph, strict, fn_name):
    """``(func(inputs), vᵀ·H)`` for a scalar `func`: a backward of the gradient contracted with v
    (H is symmetric, so this is H·v too)."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
        inputs = _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)
        v = _vector(v, inputs, is_inputs_tuple, create_graph, fn_name,
                    "The vector v can only be None if the input to the user-provided function is a single Tensor "
                    "with a single element.")
        is_outputs_tuple, outputs = _call(func, inputs, fn_name, strict)
        if is_outputs_tuple or not isinstance(outputs[0], _Tensor()):
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
        if outputs[0].numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
    return _last_backward((outputs, is_outputs_tuple), jac, inputs, v, (inputs, is_inputs_tuple), create_graph,
                          strict, "double_back")


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ·H)``: vector-Hessian product of a scalar function."""
    return _second_order(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H·v)``: Hessian-vector product of a scalar function."""
    return _second_order(func, inputs, v, create_graph, strict, "hvp")


__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]
