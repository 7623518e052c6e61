"""Never crash, never silently wrong (issue 9): sizes that overflow, tensors of many dims, values
that do not fit their dtype, read-only and self-overlapping memory, and what pickle and copies keep.

The oracle is PyTorch: each case does what torch 2.13 does (same result, or the same exception
kind). Cases that crashed the process before run in one subprocess, so a regression fails these
tests instead of killing the test run.
"""
import copy
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import jtensor as jt

# ---- sizes past 2^63 elements or bytes: a clean RuntimeError, never a crash -------------------------
HUGE = [
    "jt.empty(2**62)", "jt.zeros(2**31, 2**31)", "jt.full((2**62,), 1.0)",
    "jt.rand(2**62)", "jt.randn(2**31, 2**31)", "jt.randint(0, 5, (2**62,))",
    "jt.arange(0, 2**62)", "jt.arange(0, 2**62, dtype=jt.float32)", "jt.linspace(0, 1, 2**62)",
    "jt.eye(2**31)", "jt.eye(2**62, 4)",
    "jt.ones(1).repeat(2**61)", "jt.ones(4).repeat(2**61, 2)",
    "jt.tile(jt.ones(4), (2**62 + 1,))", "jt.tile(jt.ones(4), (2**61,))",
    "jt.pad(jt.ones(3), (2**62, 0))",
    "jt.ones(1).expand(2**62).contiguous()", "jt.ones(1).expand(2**62) + 1", "jt.ones(1).expand(2**62, 4)",
    "jt.ones(1).expand(2**62, 1) + jt.ones(1, 4)",
    "jt.ones(1).expand(2**61).cumsum(0)", "jt.ones(1).expand(2**61).double()", "jt.ones(1).expand(2**61).sort()",
    "jt.cat([jt.ones(1).expand(2**61)] * 3)", "jt.stack([jt.ones(1).expand(2**61)] * 4)",
    "jt.empty(2**62, 0) @ jt.empty(0, 2**62)",
    "jt.outer(jt.ones(1).expand(2**32), jt.ones(1).expand(2**32))",
    "jt.kron(jt.ones(1).expand(2**32), jt.ones(1).expand(2**32))",
    "jt.einsum('i,j->ij', jt.ones(1).expand(2**32), jt.ones(1).expand(2**32))",
    "jt.diag(jt.ones(1).expand(2**32))",
    "jt.bincount(jt.tensor([0]), minlength=2**62)",
    "jt.empty_like(jt.ones(1).expand(2**62))", "jt.zeros((2**62,), dtype=jt.complex128)",
    "jt.ones(1).expand(2**61).to(jt.complex128)",
]

_RUNNER = """
import json, sys
import jtensor as jt
out = {}
for case in json.loads(sys.argv[1]):
    try:
        r = eval(case)
        out[case] = ["result", str(tuple(getattr(r, "shape", ())))]
    except Exception as e:
        out[case] = [type(e).__name__, str(e), [c.__name__ for c in type(e).__mro__]]
    print(json.dumps({case: out[case]}), flush=True)
"""


@pytest.fixture(scope="module")
def huge_results():
    """Every HUGE case, run in one subprocess: {case: [kind, message, exception mro]}."""
    p = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(HUGE)], capture_output=True, text=True,
                       timeout=900, env=dict(os.environ, PYTHONFAULTHANDLER="1"))
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            results.update(json.loads(line))
    if p.returncode != 0:
        results["<died>"] = [f"exit code {p.returncode}", p.stderr[-2000:]]
    return results


@pytest.mark.parametrize("case", HUGE)
def test_huge_sizes_raise_runtime_error(huge_results, case):
    assert "<died>" not in huge_results, huge_results.get("<died>")
    kind, message, mro = huge_results[case]
    assert "RuntimeError" in mro, (case, kind, message)
    assert "overflow" in message, (case, message)


# ---- any number of dims, through every path (plans, fast path, general path) ------------------------
MANY_DIM_OPS = {
    "add": lambda t: t + t,
    "mul exp": lambda t: (t * 2).exp(),
    "sum": lambda t: t.sum(-1),
    "strided mul": lambda t: t.transpose(0, -2) * 1.5,
}


@pytest.mark.parametrize("op", list(MANY_DIM_OPS))
def test_many_dims_after_a_cached_plan(op):
    """100 dims (more than the 64 slots plans once had): the values of the same op on the (2, 3)
    tensor without the leading size-1 dims, from torch (whose reductions stop at 64 dims)."""
    f = MANY_DIM_OPS[op]
    a = jt.ones(2)
    f(a.reshape(2, 1))   # caches the elementwise plan with few dims first
    for nd in (17, 65, 100):
        shape = [1] * (nd - 2) + [2, 3]
        r = f(jt.arange(6.0).reshape(*shape))
        e = f(torch.arange(6.0).reshape(1, 2, 3))
        assert r.ndim == nd - (op == "sum")
        np.testing.assert_allclose(r.reshape(-1).tolist(), e.reshape(-1).tolist(), rtol=1e-6)


def test_many_dims_results_of_fn_ops():
    x = jt.arange(6.0).reshape(*([1] * 98 + [2, 3]))
    s = x.cumsum(-1)
    assert s.shape == x.shape
    assert s.reshape(-1).tolist() == [0, 1, 3, 3, 7, 12]


# ---- values as PyTorch checks them ------------------------------------------------------------------
VALUE_CASES = [
    # (jtensor call, torch call): same result or same exception kind
    ("jt.tensor([300], dtype=jt.int8)", "torch.tensor([300], dtype=torch.int8)"),
    ("jt.tensor([1e10], dtype=jt.int32)", "torch.tensor([1e10], dtype=torch.int32)"),
    ("jt.tensor([2.7, -2.7], dtype=jt.int64)", "torch.tensor([2.7, -2.7], dtype=torch.int64)"),
    ("jt.tensor([True, 300], dtype=jt.int8)", "torch.tensor([True, 300], dtype=torch.int8)"),
    ("jt.full((2,), float('nan'), dtype=jt.int64)", "torch.full((2,), float('nan'), dtype=torch.int64)"),
    ("jt.full((1,), float('inf'), dtype=jt.int32)", "torch.full((1,), float('inf'), dtype=torch.int32)"),
    ("jt.full((1,), 300, dtype=jt.uint8)", "torch.full((1,), 300, dtype=torch.uint8)"),
    ("jt.full((1,), -1, dtype=jt.uint8)", "torch.full((1,), -1, dtype=torch.uint8)"),
    ("jt.full((1,), 1e40, dtype=jt.float32)", "torch.full((1,), 1e40, dtype=torch.float32)"),
    ("jt.full((1,), 2, dtype=jt.bool)", "torch.full((1,), 2, dtype=torch.bool)"),
    ("jt.zeros(2, dtype=jt.int8).fill_(300)", "torch.zeros(2, dtype=torch.int8).fill_(300)"),
    ("jt.empty(2.5)", "torch.empty(2.5)"),
    ("jt.zeros(True)", "torch.zeros(True)"),
    ("jt.ones(2).reshape(2.0)", "torch.ones(2).reshape(2.0)"),
    ("jt.tensor(3.).sum(dim=5)", "torch.tensor(3.).sum(dim=5)"),
    ("jt.tensor(3.).sum(dim=-1)", "torch.tensor(3.).sum(dim=-1)"),
    ("jt.tensor(3.).mean(dim=0)", "torch.tensor(3.).mean(dim=0)"),
    ("jt.tensor(3.).sum(dim=1)", "torch.tensor(3.).sum(dim=1)"),
    ("-jt.tensor([True])", "-torch.tensor([True])"),
    ("jt.tensor([True]) - jt.tensor([True])", "torch.tensor([True]) - torch.tensor([True])"),
    ("jt.tensor([True]) - 1", "torch.tensor([True]) - 1"),
    ("jt.tensor([1]) - jt.tensor([True])", "torch.tensor([1]) - torch.tensor([True])"),
    ("jt.tensor([True]) + jt.tensor([True])", "torch.tensor([True]) + torch.tensor([True])"),
    ("jt.ones(2) + 2**70", "torch.ones(2) + 2**70"),
    ("jt.ones(2, dtype=jt.int64) + 2**70", "torch.ones(2, dtype=torch.int64) + 2**70"),
    ("jt.tensor([2**70])", "torch.tensor([2**70])"),
    ("jt.exp(None)", "torch.exp(None)"),
    ("jt.ones(3).sum(dim=2**70)", "torch.ones(3).sum(dim=2**70)"),
]


def _outcome(src, ns):
    try:
        r = eval(src, ns)
    except (RuntimeError, ValueError, TypeError, IndexError, OverflowError) as e:
        return "error", e
    return "value", r


@pytest.mark.parametrize("jsrc,tsrc", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_as_torch(jsrc, tsrc):
    jkind, jv = _outcome(jsrc, {"jt": jt})
    tkind, tv = _outcome(tsrc, {"torch": torch})
    assert jkind == tkind, (jsrc, jv, tv)
    if tkind == "error":
        # the same exception kind, except that jtensor refuses ints beyond int64 with OverflowError
        # everywhere (torch says ValueError for dims)
        if isinstance(tv, OverflowError) or "Overflow when unpacking" in str(tv):
            assert isinstance(jv, (OverflowError, IndexError)), (jsrc, jv)
        else:
            assert isinstance(jv, type(tv)) or type(tv).__name__ in [c.__name__ for c in type(jv).__mro__], (jsrc, jv, tv)
    else:
        assert jv.tolist() == tv.tolist(), (jsrc, jv, tv)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
@pytest.mark.parametrize("shift", [-1, 0, 1, 7, 8, 31, 63, 64, 100])
def test_shifts_as_torch(dtype, shift):
    vals = [8, -8, 1, -1, 127] if dtype != "uint8" else [8, 248, 1, 255, 127]
    x, tx = jt.tensor(vals, dtype=getattr(jt, dtype)), torch.tensor(vals, dtype=getattr(torch, dtype))
    assert (x << shift).tolist() == (tx << shift).tolist()
    assert (x >> shift).tolist() == (tx >> shift).tolist()


# ---- read-only memory and self-overlapping writes -----------------------------------------------------
def _readonly():
    b = bytes(32)
    return b, jt.from_numpy(np.frombuffer(b, dtype=np.float32))


def _step(opt_cls, t, **kw):
    p = jt.nn.Parameter(t)
    p.grad = jt.ones(8)
    opt_cls([p], lr=0.1, **kw).step()


READONLY_WRITERS = {
    "scatter_": lambda t: t.scatter_(0, jt.tensor([0]), jt.tensor([5.0])),
    "scatter_add_": lambda t: t.scatter_add_(0, jt.tensor([0]), jt.tensor([5.0])),
    "add_": lambda t: t.add_(1),
    "fill_": lambda t: t.fill_(1),
    "copy_": lambda t: t.copy_(jt.ones(8)),
    "setitem": lambda t: t.__setitem__(0, 1.0),
    "masked_fill_": lambda t: t.masked_fill_(jt.ones(8, dtype=jt.bool), 1.0),
    "SGD": lambda t: _step(jt.optim.SGD, t),
    "SGD momentum": lambda t: _step(jt.optim.SGD, t, momentum=0.9),
    "Adam": lambda t: _step(jt.optim.Adam, t),
    "AdamW": lambda t: _step(jt.optim.AdamW, t),
    "RMSprop": lambda t: _step(jt.optim.RMSprop, t),
    "nn.init.normal_": lambda t: jt.nn.init.normal_(t),
}


@pytest.mark.parametrize("name", list(READONLY_WRITERS))
def test_every_writer_refuses_read_only_memory(name):
    b, t = _readonly()
    with pytest.raises(ValueError, match="read-only"):
        READONLY_WRITERS[name](t)
    assert b == bytes(32)


OVERLAP_WRITERS = {
    "add_": (lambda m: m.zeros(3).expand(4, 3).add_(1)),
    "mul_": (lambda m: m.ones(3, 1).expand(3, 4).mul_(2)),
    "copy_": (lambda m: m.zeros(3).expand(4, 3).copy_(m.ones(4, 3))),
    "scatter_": (lambda m: m.zeros(1, 3).expand(4, 3).scatter_(0, m.tensor([[0, 0, 0]]), m.ones(1, 3))),
}


@pytest.mark.parametrize("name", list(OVERLAP_WRITERS))
def test_writes_into_expanded_views_raise_as_torch(name):
    with pytest.raises(RuntimeError, match="single memory location"):
        OVERLAP_WRITERS[name](torch)
    with pytest.raises(RuntimeError, match="single memory location"):
        OVERLAP_WRITERS[name](jt)


def test_fill_into_an_expanded_view_is_allowed_as_in_torch():
    for m in (torch, jt):
        x = m.zeros(3)
        x.expand(4, 3).fill_(2)
        assert x.tolist() == [2, 2, 2]


def test_writes_into_views_without_overlap_still_work():
    x = jt.zeros(3)
    x.expand(1, 3).add_(1)             # a size-1 expanded dim has no aliases
    x.unsqueeze(0).expand(1, 3)[0, 1:].mul_(5)
    assert x.tolist() == [1, 5, 5]


# ---- pickle, copy and deepcopy -----------------------------------------------------------------------
def _leaf(m):
    x = m.arange(4.0).requires_grad_()
    x.grad = m.full((4,), 7.0)
    return x


@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_copies_keep_what_torch_keeps(how):
    do = {"pickle": lambda x: pickle.loads(pickle.dumps(x)), "copy": copy.copy, "deepcopy": copy.deepcopy}[how]
    for m in (torch, jt):
        x = _leaf(m)
        y = do(x)
        kept = (y.requires_grad, y.grad is not None, y.tolist(), y.is_leaf)
        if m is torch:
            expected = kept
            shares = y.data_ptr() == x.data_ptr()
            if y.grad is not None:
                expected_grad = y.grad.tolist()
        else:
            assert kept == expected, (how, kept, expected)
            assert (y.data_ptr() == x.data_ptr()) == shares
            if y.grad is not None:
                assert y.grad.tolist() == expected_grad


def test_deepcopy_keeps_views_sharing_their_copied_base():
    base = jt.arange(6.0)
    view = base[2:4]
    b2, v2 = copy.deepcopy([base, view])
    b2[2] = 100
    assert v2.tolist() == [100, 3]
    assert base.tolist() == [0, 1, 2, 3, 4, 5]


def test_deepcopy_of_a_non_leaf_raises_as_torch():
    for m in (torch, jt):
        x = m.ones(2, requires_grad=True) * 2
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(x)


def test_deepcopy_of_a_module_keeps_parameters():
    m = jt.nn.Linear(3, 2)
    m2 = copy.deepcopy(m)
    assert type(m2.weight) is jt.nn.Parameter and m2.weight.requires_grad
    assert m2.weight.tolist() == m.weight.tolist()
    m2.weight.data.fill_(0) if hasattr(m2.weight, "data") else None
    assert m.weight.data_ptr() != m2.weight.data_ptr()


def test_pickle_of_a_read_only_tensor_and_bfloat16():
    _, t = _readonly()
    u = pickle.loads(pickle.dumps(t))
    u.add_(1)   # the copy is writable
    assert u.tolist() == [1.0] * 8
    h = jt.tensor([1.5, -2.0], dtype=jt.bfloat16)
    h2 = pickle.loads(pickle.dumps(h))
    assert h2.dtype is jt.bfloat16 and h2.float().tolist() == [1.5, -2.0]


# ---- the standard streams stay as Python had them -----------------------------------------------------
def test_stdin_from_a_pipe_still_blocks_after_julia_starts():
    """Julia's start-up made fds 0-2 non-blocking: input() from a pipe then saw end-of-file at
    once (a line written later was lost) and writes to a full pipe could fail."""
    code = ("import os, sys, jtensor as jt\n"
            "(jt.ones(2) + 1).sum().item()\n"
            "print([os.get_blocking(fd) for fd in (0, 1, 2)], flush=True)\n"
            "print(repr(sys.stdin.readline()), flush=True)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()          # Julia is up; the line below is written only now
    p.stdin.write("a line written later\n")
    p.stdin.flush()
    out, err = p.communicate(timeout=300)
    assert first.strip() == "[True, True, True]", (first, err)
    assert out.strip() == repr("a line written later\n"), (out, err)


@pytest.mark.parametrize("src", [
    "{m}.empty(2**62, 4, 0)", "{m}.empty(2**62, 0) * {m}.empty(2**62, 2, 1, 0)", "{m}.empty(0).view(2**62, 4, 0)",
    "{m}.empty(0).reshape(2**62, 4, 0)", "{m}.empty(2**62, 0).expand(4, 2**62, 0)"])
def test_empty_tensors_whose_strides_overflow_raise_as_torch(src):
    """No elements, but contiguous strides past int64: PyTorch refuses these, and jtensor used
    to fail with struct.error when passing them to Julia (found by the crash fuzzer)."""
    with pytest.raises(RuntimeError, match="overflow"):
        eval(src.format(m="torch"))
    with pytest.raises(RuntimeError, match="overflow"):
        eval(src.format(m="jt"))


@pytest.mark.parametrize("index", [(slice(0, 0, 2**62),), (slice(None), slice(1, 2, 2**62)),
                                   (slice(None, None, 2**62),), (slice(1, None, 2**62),),
                                   (slice(None, None, -(2**62)),)])
@pytest.mark.parametrize("dtype", ["float32", "complex128"])
def test_slices_with_huge_steps_as_numpy(index, dtype):
    """A step past 2^62 gives a size-0 or size-1 dim whose stride does not fit in 64-bit bytes;
    jtensor used to fail with struct.error (found by the crash fuzzer). NumPy is the oracle (torch
    overflows the stride itself)."""
    a = np.arange(6.0).reshape(2, 3).astype(dtype)
    r = jt.asarray(a)[index]
    e = a[index]
    assert r.shape == e.shape
    np.testing.assert_array_equal(np.asarray(r + 0), e)
