"""The subprocess of tests/test_crash_fuzzer.py: runs one jtensor call per input line, never dies.

Reads JSON cases from stdin, one per line: {"call": name, "args": [...], "kwargs": {...}}, where
each value is encoded as in `decode` below (tensors as specs: shape, dtype, layout, seed). Prints
one JSON line per case: {"ok": description} when the call returned (its tensor results are read
back, so a result over bad memory crashes here rather than later), or {"error": type name,
"mro": [...], "message": ...} when it raised. A crash or a hang shows up as no line at all,
which is what the test looks for.
"""
import gc
import json
import sys

import numpy as np

import jtensor as jt
from jtensor.registry import REGISTRY

# Calls that are not registry ops: Python-level creation functions and Tensor methods, each a
# callable taking the decoded arguments.
PYTHON_CALLS = {
    "zeros": jt.zeros, "ones": jt.ones, "empty": jt.empty, "full": jt.full,
    "rand": jt.rand, "randn": jt.randn, "randint": jt.randint,
    "arange": jt.arange, "linspace": jt.linspace, "eye": jt.eye, "tensor": jt.tensor,
    "Tensor.reshape": lambda t, s: t.reshape(s), "Tensor.view": lambda t, s: t.view(s),
    "Tensor.expand": lambda t, s: t.expand(s), "Tensor.permute": lambda t, s: t.permute(s),
    "Tensor.transpose": lambda t, a, b: t.transpose(a, b), "Tensor.unsqueeze": lambda t, d: t.unsqueeze(d),
    "Tensor.squeeze": lambda t, d: t.squeeze(d), "Tensor.narrow": lambda t, d, s, n: t.narrow(d, s, n),
    "Tensor.as_strided": lambda t, s, st, o: t.as_strided(s, st, o),
    "Tensor.to": lambda t, d: t.to(d), "Tensor.split": lambda t, n, d: t.split(n, d),
    "Tensor.chunk": lambda t, n, d: t.chunk(n, d), "Tensor.getitem": lambda t, i: t[i],
    "Tensor.setitem": lambda t, i, v: t.__setitem__(i, v), "Tensor.item": lambda t: t.item(),
    "Tensor.tolist": lambda t: t.tolist(), "Tensor.numpy": lambda t: t.numpy(),
}


def make_tensor(shape, dtype, layout, seed):
    """A tensor of `shape` and `dtype` laid out as `layout`: contiguous, transposed (a permuted
    view of a bigger array), strided (every other element), expanded (stride 0 along its first
    dim) or readonly (over an immutable NumPy buffer)."""
    dt = getattr(jt, dtype)
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape)) if all(s < 2**20 for s in shape) else 0

    def values(count):
        v = rng.standard_normal(count) * 3
        return jt.tensor(v.tolist() if count else [], dtype=jt.float64).to(dt)

    if n == 0:
        return jt.empty(shape, dtype=dt)
    if layout == "transposed" and len(shape) >= 2:
        s = list(shape)
        s[-1], s[-2] = s[-2], s[-1]
        return values(n).reshape(s).transpose(-1, -2)
    if layout == "strided":
        return values(2 * n)[::2].reshape(shape) if len(shape) <= 1 else values(2 * n).reshape(*shape[:-1], 2 * shape[-1])[..., ::2]
    if layout == "expanded" and len(shape) >= 1:
        return values(n // shape[0]).reshape(1, *shape[1:]).expand(*shape)
    if layout == "readonly" and dt.np_dtype is not None:
        arr = np.asarray(values(n).reshape(shape)).copy()
        buf = bytes(arr.tobytes())
        return jt.from_numpy(np.frombuffer(buf, dtype=arr.dtype).reshape(shape))
    return values(n).reshape(shape)


def decode(v):
    if isinstance(v, dict):
        if "tensor" in v:
            return make_tensor(*v["tensor"])
        if "list" in v:
            return [decode(x) for x in v["list"]]
        if "tuple" in v:
            return tuple(decode(x) for x in v["tuple"])
        if "complex" in v:
            return complex(*v["complex"])
        if "dtype" in v:
            return getattr(jt, v["dtype"])
        if "slice" in v:
            return slice(*v["slice"])
    return v


def callable_for(name):
    if name in PYTHON_CALLS:
        return PYTHON_CALLS[name]
    return REGISTRY.ops[name].fn


def touch(r):
    """Read every result back (a tensor over bad memory fails here, in this process)."""
    if isinstance(r, jt.Tensor):
        if r.dtype is jt.bfloat16:
            r = r.to(jt.float32)
        np.asarray(r).copy()
        return f"Tensor{list(r.shape)}"
    if isinstance(r, (tuple, list)):
        return "(" + ", ".join(touch(x) for x in r) + ")"
    return type(r).__name__


def main():
    for line in sys.stdin:
        case = json.loads(line)
        try:
            args = [decode(a) for a in case["args"]]
            kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
            out = {"ok": touch(callable_for(case["call"])(*args, **kwargs))}
        except Exception as e:   # noqa: BLE001 - every Python exception is an acceptable outcome
            out = {"error": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
                   "message": str(e)[:300]}
        # Collect now, so that a call that corrupted memory dies here, not during a later call.
        del case
        gc.collect()
        jt.julia.eval("GC.gc(true)")
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
