"""A crash fuzzer: Hypothesis drives random calls of every public op (from the registry) and of the
Python-level creation functions and Tensor methods, with random shapes (0, 1, small, huge, many
dims), layouts (strided, transposed, expanded, read-only), dtypes and values (NaN, infinities,
ints past int64), in a subprocess (tests/fuzz_worker.py).

Each call must end in a result or in a Python exception of one of PyTorch's kinds; a dead or hung
subprocess, or an internal exception type (KeyError, AttributeError, struct.error ...), fails the
test with the call that caused it. JTENSOR_FUZZ_EXAMPLES sets the number of calls (default 150).
"""
import json
import os
import select
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jtensor.registry import REGISTRY

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = int(os.environ.get("JTENSOR_FUZZ_EXAMPLES", "150"))
TIMEOUT = 120   # seconds one call may take (first calls compile in Julia)
ACCEPTED = {"RuntimeError", "ValueError", "TypeError", "IndexError", "OverflowError", "NotImplementedError",
            "MemoryError", "ZeroDivisionError", "LookupError"}

DTYPES = ["float32", "float64", "int64", "bool", "int32", "int8", "uint8", "int16", "float16", "bfloat16",
          "complex64", "complex128"]
HUGE = [2**40, 2**62, 2**63 - 1]   # too big for any machine: each refusal is quick
ODD_INTS = [-(2**63), 2**63, 2**64, 2**70, -1, -3]

small = st.integers(0, 4)
sizes = st.one_of(small, small, small, st.sampled_from(HUGE))
shapes = st.one_of(
    st.lists(small, max_size=4),                                   # everyday
    st.lists(st.sampled_from([0, 1, 2, 3]), max_size=3).map(lambda s: [2**62] + s + [0]),  # huge but empty
    st.integers(17, 70).map(lambda n: [1] * (n - 2) + [2, 3]),    # many dims
)
tensors = st.builds(lambda sh, dt, lay, seed: {"tensor": [sh, dt, lay, seed]},
                    shapes, st.sampled_from(DTYPES),
                    st.sampled_from(["contiguous", "contiguous", "transposed", "strided", "expanded", "readonly"]),
                    st.integers(0, 2**16))
floats = st.one_of(st.floats(-10, 10), st.sampled_from([float("nan"), float("inf"), -float("inf"), -0.0, 1e308, 5e-324]))
ints = st.one_of(st.integers(-5, 5), st.sampled_from(HUGE + ODD_INTS))
scalars = st.one_of(ints, floats, st.booleans(),
                    st.builds(lambda a, b: {"complex": [a, b]}, st.floats(-3, 3), st.floats(-3, 3)))
dims = st.one_of(st.integers(-4, 4), st.sampled_from([2**62, -(2**63)]))
int_lists = st.lists(st.one_of(st.integers(-3, 4), st.sampled_from(HUGE + [-1, -(2**62)])), max_size=4)
dtypes = st.builds(lambda d: {"dtype": d}, st.sampled_from(DTYPES))
strings = st.sampled_from(["mean", "sum", "none", "constant", "reflect", "replicate", "circular", "L", "U",
                           "reduced", "complete", "r", "fro", "nuc", "left", "right", "ij->ji", "i,i->",
                           "ii->i", "ij,jk->ik", "...i->i", "bogus", ""])


def for_type(t):
    """A strategy for one argument of schema type `t` (see julia/src/registry.jl OpDef)."""
    if t.startswith("Optional["):
        return st.one_of(st.none(), for_type(t[len("Optional["):-1]))
    return {
        "Tensor": tensors, "Scalar": scalars, "int": ints, "float": floats, "bool": st.booleans(),
        "Dim": dims, "Dims": st.one_of(st.none(), dims, st.lists(dims, max_size=3).map(lambda v: {"list": v})),
        "Shape": st.lists(sizes, max_size=4).map(lambda v: {"tuple": v}),
        "IntList": int_lists.map(lambda v: {"tuple": v}), "DType": st.one_of(st.none(), dtypes),
        "str": strings, "TensorList": st.lists(tensors, max_size=3).map(lambda v: {"list": v}),
    }.get(t, scalars)


def op_call(op):
    """Positional arguments for every parameter up to a random point, each of its schema type."""
    params = [p for p in op.params if not p.kwonly]
    kw = [p for p in op.params if p.kwonly]

    def build(n, pos, kwvals):
        return {"call": op.name if not op.namespace else f"{op.namespace}.{op.name}", "args": pos[:n],
                "kwargs": {p.name: v for p, v in zip(kw, kwvals) if v is not None}}
    required = sum(1 for p in params if p.default is None and not p.optional and not p.vararg)
    return st.builds(build, st.integers(max(required - 1, 0), len(params)),
                     st.tuples(*[for_type(p.type) for p in params]).map(list),
                     st.tuples(*[st.one_of(st.none(), for_type(p.type)) for p in kw]))


PYTHON_CALLS = {
    "zeros": [st.lists(sizes, max_size=3).map(lambda v: {"tuple": v})],
    "ones": [st.lists(sizes, max_size=3).map(lambda v: {"tuple": v})],
    "empty": [st.lists(st.one_of(sizes, floats), max_size=3).map(lambda v: {"tuple": v})],
    "full": [st.lists(sizes, max_size=3).map(lambda v: {"tuple": v}), scalars],
    "rand": [st.lists(sizes, max_size=3).map(lambda v: {"tuple": v})],
    "randn": [st.lists(sizes, max_size=3).map(lambda v: {"tuple": v})],
    "randint": [ints, ints, st.lists(sizes, max_size=3).map(lambda v: {"tuple": v})],
    "arange": [scalars, scalars, scalars],
    "linspace": [scalars, scalars, ints],
    "eye": [ints, ints],
    "tensor": [st.lists(scalars, max_size=4).map(lambda v: {"list": v})],
    "Tensor.reshape": [tensors, st.lists(st.one_of(sizes, st.just(-1)), max_size=4).map(lambda v: {"tuple": v})],
    "Tensor.view": [tensors, st.lists(st.one_of(sizes, st.just(-1)), max_size=4).map(lambda v: {"tuple": v})],
    "Tensor.expand": [tensors, st.lists(st.one_of(sizes, st.just(-1)), max_size=4).map(lambda v: {"tuple": v})],
    "Tensor.permute": [tensors, int_lists.map(lambda v: {"tuple": v})],
    "Tensor.transpose": [tensors, dims, dims],
    "Tensor.unsqueeze": [tensors, dims],
    "Tensor.squeeze": [tensors, dims],
    "Tensor.narrow": [tensors, dims, ints, ints],
    "Tensor.as_strided": [tensors, st.lists(sizes, max_size=3).map(lambda v: {"tuple": v}),
                          int_lists.map(lambda v: {"tuple": v}), ints],
    "Tensor.to": [tensors, dtypes],
    "Tensor.split": [tensors, ints, dims],
    "Tensor.chunk": [tensors, ints, dims],
    "Tensor.getitem": [tensors, st.one_of(ints, st.builds(lambda a, b, c: {"slice": [a, b, c]}, ints, ints, ints))],
    "Tensor.setitem": [tensors, st.one_of(ints, st.builds(lambda a, b, c: {"slice": [a, b, c]}, ints, ints, ints)),
                       st.one_of(scalars, tensors)],
    "Tensor.item": [tensors], "Tensor.tolist": [tensors], "Tensor.numpy": [tensors],
}


def python_call(name):
    return st.builds(lambda args: {"call": name, "args": list(args)}, st.tuples(*PYTHON_CALLS[name]))


PUBLIC_OPS = [op for op in REGISTRY.ops.values() if not op.name.startswith("_") and op.name != "manual_seed"]
calls = st.one_of(st.sampled_from(PUBLIC_OPS).flatmap(op_call),
                  st.sampled_from(sorted(PYTHON_CALLS)).flatmap(python_call))


class Worker:
    """tests/fuzz_worker.py in a subprocess, restarted after it dies."""

    def __init__(self):
        self.proc = None
        self.history = []   # the calls this worker process has run, for the report of its death

    def start(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fuzz_worker.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                     env=dict(os.environ, PYTHONFAULTHANDLER="1"))

    def run(self, case):
        """The worker's answer to `case`, or a failure description if it died or hung."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            self.history = []
        self.history.append(case)
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if line:
            return json.loads(line)
        self.proc.kill()
        rc = self.proc.wait()
        err = self.proc.stderr.read()[-3000:]
        self.proc = None
        earlier = "\n".join(json.dumps(c) for c in self.history[-6:-1])
        return {"dead": "hung" if not ready else f"exit code {rc}",
                "stderr": f"{err}\nthe calls before it in the same process:\n{earlier}"}

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(case=calls)
def test_random_calls_never_crash(worker, case):
    out = worker.run(case)
    assert "dead" not in out, f"the call {json.dumps(case)} killed or hung the process:\n{out.get('stderr', '')}"
    if "error" in out:
        assert ACCEPTED & set(out["mro"]), (
            f"the call {json.dumps(case)} raised an internal exception type {out['error']}: {out['message']}")
