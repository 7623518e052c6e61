"""Helpers the module tests share to compare a jt module with its torch twin: seeded arrays,
tight float64 comparison, leaf pairs, and loading torch's weights after checking the layout."""
import numpy as np
import torch

import jtensor as jt

TOL = 1e-10


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def close(got, exp, tol=TOL):
    got = np.asarray(got.detach().numpy(), dtype=np.float64)
    exp = np.asarray(exp.detach().numpy(), dtype=np.float64)
    assert got.shape == exp.shape, (got.shape, exp.shape)
    np.testing.assert_allclose(got, exp, rtol=tol, atol=tol)


def leaves(*arrays):
    """Each array as a torch and a jt leaf requiring grad: ([torch...], [jt...])."""
    return [torch.tensor(a, requires_grad=True) for a in arrays], [jt.tensor(a, requires_grad=True) for a in arrays]


def load_torch_weights(tm, jm):
    """Check that jm has tm's state-dict keys and shapes and submodule names, then load tm's weights."""
    layout = lambda m: ([(k, tuple(v.shape)) for k, v in m.state_dict().items()],  # noqa: E731
                        [n for n, _ in m.named_modules()])
    assert layout(jm) == layout(tm)
    result = jm.load_state_dict({k: jt.from_dlpack(v.detach().contiguous()) for k, v in tm.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []


def same_output_and_input_grads(tout, jout, tins, jins, seed=9):
    """jout == tout, then backward of a random weighting of the output: the inputs' gradients agree."""
    close(jout, tout)
    w = rnd(tuple(tout.shape), seed)
    (tout * torch.tensor(w)).sum().backward()
    (jout * jt.tensor(w)).sum().backward()
    for a, b in zip(jins, tins):
        close(a.grad, b.grad)
