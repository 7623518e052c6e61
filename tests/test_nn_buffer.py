"""jt.nn.Buffer against torch.nn.Buffer: assigning one registers a buffer with its persistence,
it stays a plain tensor that isinstance recognizes, and the errors of the attribute protocol."""
import numpy as np
import pytest
import torch

import jtensor as jt


@pytest.mark.parametrize("lib", [jt, torch], ids=["jt", "torch"])
def test_buffer_assignment_registers_with_persistence(lib):
    m = lib.nn.Module()
    b = lib.nn.Buffer(lib.ones(2), persistent=False)
    assert type(b) is lib.Tensor and isinstance(b, lib.nn.Buffer) and not isinstance(lib.ones(1), lib.nn.Buffer)
    assert b.persistent is False and not b.requires_grad
    m.x = b
    m.y = lib.nn.Buffer(lib.zeros(3))
    m.plain = lib.ones(1)                      # a plain tensor is not registered
    assert m.x is b
    assert list(dict(m.named_buffers())) == ["x", "y"]
    assert list(m.state_dict()) == ["y"]
    m.y = lib.full((3,), 2.0)                  # re-assigning a buffer keeps it a buffer
    assert list(m.state_dict()) == ["y"] and float(m.y.sum()) == 6.0
    m.x = lib.nn.Buffer(lib.ones(2))           # a persistent Buffer over a non-persistent one
    assert list(m.state_dict()) == ["x", "y"]


@pytest.mark.parametrize("lib", [jt, torch], ids=["jt", "torch"])
def test_buffer_data_and_errors(lib):
    t = lib.ones(2, requires_grad=True)
    b = lib.nn.Buffer(t)
    assert b.requires_grad and b.is_leaf and b.data_ptr() == t.data_ptr()
    assert tuple(lib.nn.Buffer().shape) == (0,)
    m = lib.nn.Module()
    m.z = 3
    with pytest.raises(KeyError, match="attribute 'z' already exists"):
        m.z = lib.nn.Buffer(lib.ones(1))
    m.p = lib.nn.Parameter(lib.ones(1))
    with pytest.raises(TypeError, match="cannot assign"):
        m.p = lib.nn.Buffer(lib.ones(1))


def test_buffer_state_dict_loads_from_torch():
    class M(jt.nn.Module):
        def __init__(self):
            super().__init__()
            self.stats = jt.nn.Buffer(jt.zeros(3))
            self.scratch = jt.nn.Buffer(jt.zeros(3), persistent=False)

    class T(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stats = torch.nn.Buffer(torch.arange(3.0))
            self.scratch = torch.nn.Buffer(torch.zeros(3), persistent=False)
    m = M()
    m.load_state_dict({k: jt.tensor(v.numpy()) for k, v in T().state_dict().items()})
    np.testing.assert_array_equal(np.asarray(m.stats), [0.0, 1.0, 2.0])
