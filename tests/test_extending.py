"""Extending jtensor after the fact, from code outside the library (examples/extending/):

a. a new element type (dual numbers) running through JTensor's generic kernels, with a new method
   of an existing kernel (`JTensor.fgelu`) for it;
b. a new Julia tensor type (`DiagTensor`) with faster methods of the kernel functions JTensor's
   ops call, a generic fallback for the rest, and a Python wrapper routing ops to them;
c. `__jtensor_function__`: a logging Tensor subclass and a tracer that computes nothing;
d. replacing a built-in kernel for one dtype (gelu for float32) and putting it back;

and the tutorial docs/extending.md, whose ```python blocks are run here, in order.
"""
import functools
import importlib.util
import os
import re
import sys
import time

import numpy as np
import pytest

import jtensor as jt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples", "extending")
DOC = os.path.join(ROOT, "docs", "extending.md")

_spec = importlib.util.spec_from_file_location("diagonal_example", os.path.join(EXAMPLES, "diagonal.py"))
diagonal = importlib.util.module_from_spec(_spec)   # examples/extending/diagonal.py
_spec.loader.exec_module(diagonal)


@pytest.fixture
def user_files_only(monkeypatch):
    """`reload()` considers only files given to `include` (not julia/src, which others edit)."""
    monkeypatch.setattr(jt.julia, "_src_files", lambda: [])


def best_time(fn, repeat=5):
    """Fastest of `repeat` runs after one warm-up, in seconds (the least disturbed by other load)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ---- a. a new element type: dual numbers ---------------------------------------------------------------

@pytest.fixture(scope="module")
def dual():
    jt.julia.include(os.path.join(EXAMPLES, "dual.jl"))


def test_generic_kernels_run_on_the_new_element_type(dual):
    # the elementwise engine on Dual arrays: map_into! through JTensor.call and apply, with a
    # broadcast operand and a Python-style scalar that the engine converts with jconvert
    jt.julia.eval('D = [Dual(1.0, 1.0) Dual(2.0, 3.0); Dual(4.0, 0.5) Dual(-1.0, 2.0)]; nothing')
    assert jt.julia.eval("eltype(JTensor.call(\"mul\", D, 2.0))") == "Dual{Float64}"
    assert jt.julia.eval("partial.(JTensor.call(\"mul\", D, 2.0))").tolist() == [[2.0, 1.0], [6.0, 4.0]]
    assert jt.julia.eval("partial.(JTensor.call(\"add\", D, [Dual(0.0, 1.0)], 1))").tolist() == \
        [[2.0, 1.5], [4.0, 3.0]]
    assert jt.julia.eval("value.(JTensor.apply(x -> x * x, Dual{Float64}, Dual{Float64}, D))").tolist() == \
        [[1.0, 16.0], [4.0, 1.0]]
    # reductions on Julia arrays: sum over Julia dim 1 and the max (which compares values)
    s = jt.julia.eval('r = JTensor.call("sum", D, (1,), false, nothing); [value.(r) partial.(r)]')
    assert s.tolist() == [[5.0, 1.0], [1.5, 5.0]]
    assert jt.julia.eval('m = JTensor.call("amax", D, nothing, false)[]; (value(m), partial(m))') == "(4.0, 0.5)"
    # the generic (non-BLAS) matmul loop: d(A·B) = dA·B + A·dB
    got = jt.julia.eval('C = JTensor.call("matmul", D, D); [value.(C) partial.(C)]')
    V = np.array([[1.0, 2.0], [4.0, -1.0]])      # D's values and partials, indexed as in Julia
    P = np.array([[1.0, 3.0], [0.5, 2.0]])
    # Python's D @ D is Julia's D * D; the Julia (2, 4) hcat arrives as its (4, 2) transpose
    expect = np.concatenate([V @ V, P @ V + V @ P], axis=1).T
    np.testing.assert_allclose(got.numpy(), expect)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "gelu", "softplus", "silu"])
def test_dual_jvp_of_builtin_ops_matches_autograd(dual, name, rng):
    x = jt.tensor(rng.standard_normal(7) * 2)
    t = jt.tensor(rng.standard_normal(7))
    primal, tangent = jt.dual_jvp(name, [x], [t])
    xg = x.clone().requires_grad_(True)
    y = getattr(jt, name)(xg)
    (g,) = jt.autograd.grad([y], [xg], [jt.ones_like(y)])
    np.testing.assert_allclose(primal.numpy(), y.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(tangent.numpy(), (g * t).numpy(), rtol=1e-12, atol=1e-14)


def test_new_method_of_an_existing_kernel_is_picked_by_dispatch(dual):
    # gelu's generic method would evaluate erf in Float64 and lose the partial; dual.jl's method wins
    assert jt.julia.eval("which(JTensor.fgelu, Tuple{Dual{Float64}}).module") == "Main"
    assert jt.julia.eval("which(JTensor.fgelu, Tuple{Float64}).module") == "JTensor"
    assert jt.julia.eval("partial(JTensor.fgelu(Dual(0.0, 1.0)))") == 0.5


def test_dual_jvp_of_binary_and_matrix_ops(dual, rng):
    a, b, da, db = (jt.tensor(rng.standard_normal((3, 4))) for _ in range(4))
    _, t = jt.dual_jvp("mul", [a, b], [da, db])
    np.testing.assert_allclose(t.numpy(), (da * b + a * db).numpy(), rtol=1e-12)
    m, dm = jt.tensor(rng.standard_normal((4, 2))), jt.tensor(rng.standard_normal((4, 2)))
    p, t = jt.dual_jvp("matmul", [a, m], [da, dm])
    np.testing.assert_allclose(p.numpy(), (a @ m).numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.numpy(), (da @ m + a @ dm).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="tangent"):
        jt.dual_jvp("exp", [a], [m])


# ---- b. a new tensor type: DiagTensor ------------------------------------------------------------------

@pytest.fixture(scope="module")
def diag():
    diagonal.load()
    return diagonal.Diag


def test_diag_specialised_paths_agree_with_dense(diag, rng):
    d = jt.tensor(rng.standard_normal(5))
    D, dense = diag(d), diag(d).to_dense()
    np.testing.assert_array_equal(dense.numpy(), np.diag(d.numpy()))
    x = jt.tensor(rng.standard_normal((5, 3)))
    v = jt.tensor(rng.standard_normal(5))
    diag.calls.clear()
    np.testing.assert_allclose((D @ x).numpy(), (dense @ x).numpy(), rtol=1e-12)
    np.testing.assert_allclose((x.T @ D).numpy(), (x.T @ dense).numpy(), rtol=1e-12)
    np.testing.assert_allclose(jt.matmul(D, v).numpy(), (dense @ v).numpy(), rtol=1e-12)
    np.testing.assert_allclose((v @ D).numpy(), (v @ dense).numpy(), rtol=1e-12)
    np.testing.assert_allclose(jt.mm(D, x[:, :2]).numpy(), (dense @ x[:, :2]).numpy(), rtol=1e-12)
    DD = D @ D
    assert isinstance(DD, diag)
    np.testing.assert_allclose(DD.to_dense().numpy(), (dense @ dense).numpy(), rtol=1e-12)
    np.testing.assert_allclose(jt.sum(D).item(), dense.sum().item(), rtol=1e-12)
    np.testing.assert_allclose(D.sum().item(), dense.sum().item(), rtol=1e-12)
    assert diag.calls == {"specialised:matmul": 5, "specialised:mm": 1, "specialised:sum": 2}
    with pytest.raises(ValueError, match="cannot be multiplied"):
        D @ jt.ones(4, 2, dtype=jt.float64)


def test_diag_other_ops_fall_back_to_the_dense_path(diag, rng):
    d = jt.tensor(rng.standard_normal(4))
    D, dense = diag(d), diag(d).to_dense()
    y = jt.tensor(rng.standard_normal((4, 4)))
    batch = jt.tensor(rng.standard_normal((2, 4, 3)))
    diag.calls.clear()
    np.testing.assert_allclose(jt.exp(D).numpy(), jt.exp(dense).numpy())
    np.testing.assert_allclose((D + y).numpy(), (dense + y).numpy())
    np.testing.assert_allclose((2 * D).numpy(), (2 * dense).numpy())
    np.testing.assert_allclose(jt.sum(D, 0).numpy(), dense.sum(0).numpy())
    np.testing.assert_allclose(jt.linalg.inv(D).numpy(), np.diag(1 / d.numpy()), rtol=1e-12)
    np.testing.assert_allclose(jt.cat([D, y]).numpy(), np.concatenate([dense.numpy(), y.numpy()]))
    assert set(diag.calls) == {"fallback:exp", "fallback:add", "fallback:mul", "fallback:sum",
                               "fallback:inv", "fallback:cat"}
    # batched matmul: the Julia method itself falls back to JTensor's generic kernel
    np.testing.assert_allclose((D @ batch).numpy(), (dense @ batch).numpy(), rtol=1e-12)


def test_diag_julia_dispatch(diag):
    assert jt.julia.eval("which(JTensor._matmul, Tuple{DiagTensor{Float64,Vector{Float64}}, Matrix{Float64}}).module") \
        == "Main"
    assert jt.julia.eval("which(JTensor._matmul, Tuple{Matrix{Float64}, Matrix{Float64}}).module") == "JTensor"
    # from Julia, the registered ops dispatch on the new type too: specialised matmul...
    assert jt.julia.eval('JTensor.call("matmul", DiagTensor([1.0, 2.0]), [1.0 2.0; 3.0 4.0])').tolist() == \
        [[1.0, 3.0], [4.0, 8.0]]
    assert jt.julia.eval('JTensor.call("matmul", DiagTensor([1.0, 2.0]), DiagTensor([3.0, 4.0])).diag') \
        .tolist() == [3.0, 8.0]
    # ...and the generic path for map ops and reductions it has no method for
    assert jt.julia.eval('JTensor.call("exp", DiagTensor([0.0, 0.0]))').tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert jt.julia.eval('JTensor.call("amax", DiagTensor([-1.0, -2.0]), nothing, false)[]') == 0.0


def test_diag_specialised_matmul_is_faster(diag, rng):
    n = 1500
    d = jt.tensor(rng.standard_normal(n).astype(np.float32))
    x = jt.tensor(rng.standard_normal((n, n)).astype(np.float32))
    D, dense = diag(d), diag(d).to_dense()
    np.testing.assert_allclose((D @ x).numpy(), (dense @ x).numpy(), rtol=1e-4, atol=1e-4)
    t_special = best_time(lambda: D @ x)
    t_dense = best_time(lambda: dense @ x)
    t_materialise = best_time(lambda: D.to_dense() @ x)
    print(f"\nDiag({n}) @ ({n}, {n}) float32: specialised {t_special * 1e3:.2f} ms, dense matmul "
          f"{t_dense * 1e3:.1f} ms ({t_dense / t_special:.0f}x), materialise + matmul "
          f"{t_materialise * 1e3:.1f} ms ({t_materialise / t_special:.0f}x)")
    assert t_dense > 3 * t_special


# ---- c. __jtensor_function__ ------------------------------------------------------------------------------

class LoggingTensor(jt.Tensor):
    """Logs the name of every jtensor function, operator and method called on it."""

    log = []

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        cls.log.append(func.__name__)
        return super().__jtensor_function__(func, types, args, kwargs)


def test_logging_subclass_sees_every_kind_of_call():
    a = jt.arange(6.).reshape(2, 3).as_subclass(LoggingTensor)
    b = jt.ones(2, 3).as_subclass(LoggingTensor)
    LoggingTensor.log.clear()
    results = {
        "add": a + b, "exp": jt.exp(a), "sum": a.sum(), "reshape": a.reshape(3, 2), "__getitem__": a[0],
        "matmul": a @ b.T, "mul": 2 * a, "neg": -a, "gt": a > 1, "mean": a.mean(dim=1),
        "where": jt.where(b > 0, a, b), "cat": jt.cat([a, b]), "transpose": a.transpose(0, 1),
    }
    for name, r in results.items():
        assert name in LoggingTensor.log
        assert type(r) is LoggingTensor, name
    assert LoggingTensor.log[:5] == ["add", "exp", "sum", "reshape", "__getitem__"]
    # conversions are intercepted too
    LoggingTensor.log.clear()
    assert a.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and float(a[1, 2]) == 5.0
    assert LoggingTensor.log == ["tolist", "__getitem__", "__float__"]   # float() hands over __float__, as torch


def test_logging_subclass_results_keep_working():
    a = jt.arange(6.).reshape(2, 3).as_subclass(LoggingTensor)
    plain = jt.arange(6.).reshape(2, 3)
    r = ((a + 1) * a).exp().sum(1) / 10
    assert type(r) is LoggingTensor
    np.testing.assert_allclose(r.numpy(), (((plain + 1) * plain).exp().sum(1) / 10).numpy())
    r[0] = 0.0
    assert r[0].item() == 0.0 and isinstance(r.numpy(), np.ndarray)
    mixed = a + plain          # a subclass operand makes the result a subclass, either side
    assert type(mixed) is LoggingTensor and type(plain + a) is LoggingTensor
    w = jt.ones(3, dtype=jt.float64, requires_grad=True).as_subclass(LoggingTensor)
    LoggingTensor.log.clear()
    loss = (w * w * 3).sum()
    loss.backward()
    assert LoggingTensor.log == ["mul", "mul", "sum", "backward"]
    assert w.grad.tolist() == [6.0, 6.0, 6.0]


class Graph:
    """The calls recorded by tracing a function with `Tracer` inputs; `run` replays them."""

    def __init__(self):
        self.nodes = []            # (func, args, kwargs) with Tracers in place of values

    def input(self, name):
        self.nodes.append(("input", name, None))
        return Tracer(self, len(self.nodes) - 1)

    def record(self, func, args, kwargs):
        self.nodes.append((func, args, kwargs))
        return Tracer(self, len(self.nodes) - 1)

    def names(self):
        return [f if f == "input" else f.__name__ for f, _, _ in self.nodes]

    def run(self, **inputs):
        values = []

        def sub(x):
            if isinstance(x, Tracer):
                return values[x.index]
            if isinstance(x, (list, tuple)):
                return type(x)(sub(v) for v in x)
            return x

        for func, args, kwargs in self.nodes:
            if func == "input":
                values.append(inputs[args])
            else:
                values.append(func(*sub(args), **{k: sub(v) for k, v in kwargs.items()}))
        return values[-1]


class Tracer:
    """Stands for a tensor; every jtensor call on it is recorded in its graph, nothing computed."""

    def __init__(self, graph, index):
        self.graph, self.index = graph, index

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        graph = next(x.graph for x in _flatten(list(args) + list(kwargs.values())) if isinstance(x, Tracer))
        return graph.record(func, args, kwargs)

    def __getattr__(self, name):
        # Tensor's own methods dispatch through the protocol when `self` is not a Tensor
        method = None if name.startswith("__") else getattr(jt.Tensor, name, None)
        if not callable(method):
            raise AttributeError(f"'Tracer' object has no attribute {name!r}")
        return functools.partial(method, self)


def _flatten(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


for _dunder in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                "__matmul__", "__pow__", "__neg__", "__gt__", "__getitem__"):
    setattr(Tracer, _dunder, (lambda name: lambda self, *args: getattr(jt.Tensor, name)(self, *args))(_dunder))


def test_tracer_records_without_computing(monkeypatch):
    graph = Graph()
    x = graph.input("x")
    zeros, ones = jt.zeros(2, 3), jt.ones(2, 2)
    julia_calls = []
    for entry in ("call", "plan", "run"):      # every way Python computes in Julia
        monkeypatch.setattr(jt.bridge, entry, lambda *a, entry=entry: julia_calls.append(entry))
    y = (x * 2 + 1).exp()
    z = jt.where(y > 3, y, zeros).sum(dim=1)
    w = x.reshape(3, 2)[0] @ ones
    out = jt.stack([z, w - x.mean()]) ** 2
    monkeypatch.undo()
    assert julia_calls == []
    assert isinstance(out, Tracer) and not isinstance(out, jt.Tensor)
    assert graph.names() == ["input", "mul", "add", "exp", "gt", "where", "sum", "reshape", "__getitem__",
                             "matmul", "mean", "sub", "stack", "pow"]
    # the graph is faithful: replaying it on a tensor gives the eager result
    t = jt.tensor([[0.0, 0.5, 1.0], [-1.0, 0.25, 2.0]])
    ye = (t * 2 + 1).exp()
    eager = jt.stack([jt.where(ye > 3, ye, zeros).sum(dim=1), t.reshape(3, 2)[0] @ ones - t.mean()]) ** 2
    np.testing.assert_allclose(graph.run(x=t).numpy(), eager.numpy(), rtol=1e-6)


def test_tracer_and_subclass_together():
    graph = Graph()
    x = graph.input("x")
    a = jt.arange(3.).as_subclass(LoggingTensor)
    r = a + x           # LoggingTensor's inherited handler declines (a non-Tensor type takes part)
    assert isinstance(r, Tracer) and graph.names()[-1] == "add"
    assert type(graph.run(x=jt.ones(3))) is LoggingTensor
    assert graph.run(x=jt.ones(3)).tolist() == [1.0, 2.0, 3.0]


# ---- d. a dtype-specific override of a built-in kernel ----------------------------------------------------

def test_gelu_float32_override_and_restore(rng):
    x = jt.tensor(rng.standard_normal(10 ** 7).astype(np.float32) * 3)
    x64 = x.to(jt.float64)
    small = jt.tensor(np.linspace(-6, 6, 1001, dtype=np.float32))
    before32, before64, before_small = jt.gelu(x), jt.gelu(x64), jt.gelu(small)
    t_before = best_time(lambda: jt.gelu(x))
    jt.julia.include(os.path.join(EXAMPLES, "gelu_tanh.jl"))
    try:
        after_small = jt.gelu(small)
        t_after = best_time(lambda: jt.gelu(x))
        s = small.numpy().astype(np.float64)
        tanh_form = 0.5 * s * (1 + np.tanh(np.sqrt(2 / np.pi) * (s + 0.044715 * s ** 3)))
        np.testing.assert_allclose(after_small.numpy(), tanh_form, rtol=1e-5, atol=1e-6)
        diff = np.abs(after_small.numpy() - before_small.numpy())
        assert 1e-4 < diff.max() < 1e-3          # the tanh form, not the exact erf form
        assert not np.array_equal(jt.gelu(x).numpy(), before32.numpy())
        np.testing.assert_array_equal(jt.gelu(x64).numpy(), before64.numpy())   # float64 untouched
        y = x[:1000].clone()
        y.gelu_()                                  # the in-place form uses the same kernel
        np.testing.assert_array_equal(y.numpy(), jt.gelu(x[:1000]).numpy())
    finally:
        jt.julia.eval("restore_gelu_f32()")
    np.testing.assert_array_equal(jt.gelu(x).numpy(), before32.numpy())
    np.testing.assert_array_equal(jt.gelu(small).numpy(), before_small.numpy())
    assert jt.julia.eval("which(JTensor.fgelu, Tuple{Float32}).module") == "JTensor"
    print(f"\njt.gelu on 10^7 float32: JTensor's kernel {t_before * 1e3:.1f} ms, "
          f"user's Float32 tanh form {t_after * 1e3:.1f} ms ({t_before / t_after:.1f}x)")


# ---- the tutorial ----------------------------------------------------------------------------------------

_FENCE = re.compile(r"^```([A-Za-z]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)


def doc_blocks(lang):
    """(first line number, source) of each fenced block of language `lang` in docs/extending.md."""
    with open(DOC) as f:
        text = f.read()
    return [(text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in _FENCE.finditer(text)
            if m.group(1) == lang]


def test_docs_julia_files_exist():
    with open(DOC) as f:
        text = f.read()
    referenced = set(re.findall(r"examples/extending/[\w.]+", text))
    assert {"examples/extending/softclip.jl", "examples/extending/dual.jl", "examples/extending/diagonal.jl",
            "examples/extending/diagonal.py", "examples/extending/gelu_tanh.jl"} <= referenced
    for path in referenced:
        assert os.path.isfile(os.path.join(ROOT, path)), path
    python = "".join(src for _, src in doc_blocks("python"))
    for path in referenced:
        if path.endswith(".jl"):
            assert path in python, f"{path} is not loaded by any python block"


def _squash(text):
    return "\n".join(line.strip() for line in text.strip().splitlines() if line.strip())


def test_docs_julia_excerpts_are_verbatim():
    sources = []
    for folder in (EXAMPLES, os.path.join(ROOT, "julia", "src")):
        for base, _, files in os.walk(folder):
            for name in files:
                if name.endswith(".jl"):
                    with open(os.path.join(base, name)) as f:
                        sources.append(_squash(f.read()))
    excerpts = [(line, src) for line, src in doc_blocks("julia") if "julia>" not in src]
    assert len(excerpts) >= 4
    for line, src in excerpts:
        assert any(_squash(src) in s for s in sources), f"docs/extending.md:{line}: not found in the sources"


def test_docs_python_blocks_run_in_order(monkeypatch, user_files_only):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "path", list(sys.path))     # the doc adds examples/extending itself
    blocks = doc_blocks("python")
    assert len(blocks) >= 10
    namespace = {"__name__": "docs_extending"}
    for line, src in blocks:
        assert "assert" in src, f"docs/extending.md:{line}: a block without an assert"
        code = compile("\n" * (line - 1) + src, DOC, "exec")    # tracebacks point into the doc
        exec(code, namespace)
    assert jt.julia.eval("which(JTensor.fgelu, Tuple{Float32}).module") == "JTensor"   # restored
