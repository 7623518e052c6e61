"""A tour of jtensor: creation, broadcasting, views, matmul, reductions, indexing, and zero-copy
exchange with NumPy and PyTorch through DLPack.

Run with `bash ci/demo.sh` (sets up Julia and installs jtensor first), or `python examples/demo.py`
where jtensor is installed. Every step checks its result, so a broken build fails the demo.
"""
import time

t0 = time.perf_counter()
import jtensor as jt  # starts Julia inside this process and loads the JTensor package

import numpy as np
import torch


def show(title, *values):
    print(f"--- {title}")
    for value in values:
        print(value)


print(f"jtensor {jt.__version__}: Julia started and JTensor loaded in {time.perf_counter() - t0:.1f} s\n")

# Creation
x = jt.arange(6, dtype=jt.float32).reshape(2, 3)
show("x = jt.arange(6, dtype=jt.float32).reshape(2, 3)", x)
assert x.shape == (2, 3) and x.dtype == jt.float32
assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
show("jt.ones(2, 2, dtype=jt.int64)", jt.ones(2, 2, dtype=jt.int64))
assert jt.ones(2, 2, dtype=jt.int64).tolist() == [[1, 1], [1, 1]]

# Broadcasting and elementwise math
row = jt.tensor([10.0, 20.0, 30.0])
col = jt.tensor([[1.0], [2.0]])
y = x * 2 + row
show("x * 2 + [10, 20, 30]   (shape (3,) broadcasts over the rows)", y)
assert y.tolist() == [[10.0, 22.0, 34.0], [16.0, 28.0, 40.0]]
show("col + row   ((2, 1) with (3,) -> (2, 3))", col + row)
assert (col + row).shape == (2, 3) and (col + row).tolist()[1] == [12.0, 22.0, 32.0]
e = jt.exp(jt.tensor([0.0, 1.0]))
show("jt.exp([0, 1])", e)
assert abs(e.tolist()[1] - 2.718281828) < 1e-6
show("int tensor + 0.5 promotes to float", jt.tensor([1, 2]) + 0.5)
assert (jt.tensor([1, 2]) + 0.5).dtype == jt.float32

# Views share memory
v = x.T
show("x.T (a view: no copy)", v)
v[0, 1] = 100.0
show("after x.T[0, 1] = 100, x is", x)
assert x[1, 0].item() == 100.0
s = x[:, 1]
s += 1
show("after s = x[:, 1]; s += 1, x is", x)
assert x.tolist() == [[0.0, 2.0, 2.0], [100.0, 5.0, 5.0]]
x[1, 0] = 3.0   # back to 0..5
x[:, 1] -= 1
assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]

# Matrix products
a = jt.arange(6, dtype=jt.float64).reshape(2, 3)
b = jt.arange(12, dtype=jt.float64).reshape(3, 4)
c = a @ b
show("a (2, 3) @ b (3, 4)", c)
assert c.shape == (2, 4)
np.testing.assert_allclose(c.numpy(), np.arange(6.0).reshape(2, 3) @ np.arange(12.0).reshape(3, 4))

# Reductions
show("x, x.sum(), x.sum(dim=0), x.mean(dim=1)", x, x.sum(), x.sum(dim=0), x.mean(dim=1))
assert x.sum().item() == 15.0
assert x.sum(dim=0).tolist() == [3.0, 5.0, 7.0]
assert x.mean(dim=1).tolist() == [1.0, 4.0]
show("b.max(), b.argmax()", b.max(), b.argmax())
assert b.max().item() == 11.0 and b.argmax().item() == 11

# Indexing
show("b[1], b[:, ::2], b[b > 8]", b[1], b[:, ::2], b[b > 8])
assert b[1].tolist() == [4.0, 5.0, 6.0, 7.0]
assert b[:, ::2].tolist() == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0]]
assert b[b > 8].tolist() == [9.0, 10.0, 11.0]
show("b[[0, 2], 1] (integer-array indexing)", b[[0, 2], 1])
assert b[[0, 2], 1].tolist() == [1.0, 9.0]

# NumPy, both ways, without copies (DLPack)
n = np.from_dlpack(x)
n[0, 0] = -1.0
show("np.from_dlpack(x), after n[0, 0] = -1: x is", x)
assert x[0, 0].item() == -1.0
arr = np.linspace(0.0, 1.0, 5)
t = jt.from_dlpack(arr)
arr[4] = 42.0
show("jt.from_dlpack(np.linspace(0, 1, 5)), after arr[4] = 42", t)
assert t.dtype == jt.float64 and t[4].item() == 42.0

# PyTorch, both ways, without copies (DLPack)
pt = torch.from_dlpack(y)
pt.mul_(10)
show("torch.from_dlpack(y).mul_(10): y is", y)
assert y.tolist() == [[100.0, 220.0, 340.0], [160.0, 280.0, 400.0]]
src = torch.arange(4, dtype=torch.int32)
jt_view = jt.from_dlpack(src)
src[0] = 7
show("jt.from_dlpack(torch.arange(4)), after src[0] = 7", jt_view)
assert jt_view.dtype == jt.int32 and jt_view.tolist() == [7, 1, 2, 3]
back = torch.from_dlpack(jt.sqrt(jt.from_dlpack(torch.tensor([4.0, 9.0]))))
show("torch -> jt.sqrt -> torch", back)
assert torch.equal(back, torch.tensor([2.0, 3.0]))

print(f"\ndemo OK ({time.perf_counter() - t0:.1f} s)")
