"""Op definitions are checked when they are made (julia/src/registry.jl `defop`, with Python's
tables through python/jtensor/registry.py `check_entry`): a bad one raises from the call that made
it, naming the op and the problem, and leaves the registry as it was, in Julia and in Python.
Also: a type-unstable map kernel warns at definition, Julia errors carry the file:line of the
code that raised, and a syntax error in JTensor's sources fails the import naming file and line.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import jtensor as jt
from jtensor import bridge
from jtensor.errors import TypeInstabilityWarning
from jtensor.registry import REGISTRY, check_entry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def state():
    """The registry as Julia and Python see it, for before/after comparisons."""
    julia = jt.julia.eval("(JTensor.REGISTRY_VERSION[], length(JTensor.REGISTRY), length(JTensor.BY_NAME))")
    REGISTRY.sync()
    return julia, REGISTRY.version, dict(REGISTRY.ops)


def refused(code, *parts):
    """`code` (Julia) must raise a ValueError whose message holds each of `parts`, leaving the
    registry unchanged; returns the exception."""
    before = state()
    with pytest.raises(ValueError) as info:
        jt.julia.eval(code)
    after = state()
    assert after[:2] == before[:2]
    assert after[2].keys() == before[2].keys() and all(after[2][k] is before[2][k] for k in before[2])
    for p in parts:
        assert p in str(info.value), (p, str(info.value))
    return info.value


# ---- the schema ---------------------------------------------------------------------------------------

def test_schema_missing_a_colon_is_refused_and_later_calls_work():
    e = refused('JTensor.defop("cd_badcolon(x Tensor) -> Tensor", x -> x)', 'op "cd_badcolon"', '"x Tensor"',
                "missing colon")
    assert isinstance(e, jt.JuliaError)
    assert jt.julia.eval("1 + 1") == 2           # used to raise a bare SyntaxError until redefined
    assert "cd_badcolon" not in REGISTRY


@pytest.mark.parametrize("schema, parts", [
    ("cd_s1(x: Tensr) -> Tensor", ['unknown type "Tensr"']),
    ("cd_s2(x) -> Tensor", ["no type"]),
    ("cd_s3(x: Tensor, x: int) -> Tensor", ["appears twice"]),
    ("cd_s4(x: Tensor, k: int = 1, j: int) -> Tensor", ['"j"', "follows one that has"]),
    ("cd_s5(x: Tensor, in: int) -> Tensor", ['"in: int"']),
    ("cd_s6 x: Tensor -> Tensor", ["bad op schema"]),
])
def test_bad_schemas_are_refused(schema, parts):
    refused(f'JTensor.defop("{schema}", x -> x)', *parts)


def test_schema_julia_accepts_but_python_cannot_use_is_refused():
    # the default is not a Python literal: only Python's parser (ast.literal_eval) knows
    refused('JTensor.defop("cd_default(x: Tensor, k: int = foo) -> Tensor", (x, k) -> x)',
            'op "cd_default"', "bad schema")


def test_sync_leaves_out_an_entry_it_cannot_use():
    """An entry made without Python's checks (the hook off, as in a definition Julia accepts on its
    own) no longer breaks every later call: sync leaves it out with a warning."""
    jt.julia.eval("1")   # the hook is installed by the first call of jt.julia
    bridge.eval_julia("JTensor.DEFINITION_HOOK[] = C_NULL")
    try:
        bridge.eval_julia('JTensor.defop("cd_unusable(x: Tensor, k: int = foo) -> Tensor", (x, k) -> x)')
    finally:
        jt.julia._hook_installed[0] = False
    with pytest.warns(RuntimeWarning, match="cd_unusable"):
        assert jt.julia.eval("1 + 1") == 2
    assert "cd_unusable" not in REGISTRY and "exp" in REGISTRY
    assert jt.exp(jt.zeros(1)).item() == 1.0
    bridge.eval_julia('JTensor.defop("cd_unusable(x: Tensor, k: int = 1) -> Tensor", (x, k) -> copy(x))')
    REGISTRY.sync()
    assert jt.cd_unusable(jt.ones(2)).tolist() == [1.0, 1.0]


# ---- dtype and batching rules ------------------------------------------------------------------------------

def test_unknown_dtype_rule_is_refused_at_definition():
    refused('JTensor.defmap("cd_rule(input: Tensor) -> Tensor", x -> x * x; dtypes = "flaot")',
            'op "cd_rule"', 'unknown dtype rule "flaot"', "float")
    assert not hasattr(jt, "cd_rule")


def test_every_dtype_rule_name_is_accepted():
    from jtensor.registry import dtype_rule_names
    for i, rule in enumerate(sorted(dtype_rule_names())):
        jt.julia.eval(f'JTensor.defop("cd_rule_ok{i}(input: Tensor) -> Tensor", x -> x; dtypes = "{rule}")')
        assert REGISTRY.ops[f"cd_rule_ok{i}"].rule == rule


def test_misspelt_batching_rule_is_refused():
    refused('JTensor.defop("cd_batch(input: Tensor, dim: Dims = None) -> Tensor", (x, d) -> x; batch = "reduc")',
            'op "cd_batch"', 'unknown batching rule "reduc"', "reduce")


def test_known_batching_rule_is_used_by_vmap():
    jt.julia.eval('JTensor.defop("cd_rowsum(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor", '
                  '(x, d, k) -> JTensor._sum(x, d, k, nothing); batch = "reduce")')
    x = jt.arange(6.).reshape(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a rule, not the loop (which warns)
        r = jt.func.vmap(lambda v: jt.cd_rowsum(v, 0))(x)
    np.testing.assert_allclose(r.numpy(), x.numpy().sum(1))


# ---- derivative formulas ------------------------------------------------------------------------------------

def test_gradient_for_a_parameter_that_does_not_exist_is_refused():
    refused('JTensor.defmap("cd_g1(input: Tensor) -> Tensor", x -> x * x; grad = ["inptu" => "2 * grad * input"])',
            'op "cd_g1"', '"inptu"', "not a parameter")


def test_unknown_name_in_a_formula_is_refused_at_definition():
    e = refused('JTensor.defmap("cd_g2(input: Tensor) -> Tensor", x -> x * x; grad = ["input" => "2 * grad * inptu"])',
                'op "cd_g2"', "'inptu'", '"input"')
    assert "jtensor.julia.eval:1" in str(e)      # where the definition was made


@pytest.mark.parametrize("formula, part", [
    ("2 * grad * (input", "does not parse"),
    ("[g * input for g in [grad]]", "inside a lambda or comprehension"),   # the builtin input()
    ("sum_to_size([g * scale for g in [grad]][0], input.shape)", "'scale'"),
    ("linalg.nosuchop(grad)", "linalg.nosuchop"),
    ("grad * len(input)", "'len'"),   # builtins are not visible at the formula's own level
])
def test_formulas_that_would_fail_at_backward_are_refused(formula, part):
    refused(f'JTensor.defmap("cd_g3(input: Tensor) -> Tensor", x -> x * x; grad = ["input" => "{formula}"])',
            'op "cd_g3"', part)


def test_formulas_using_ops_helpers_results_and_lambdas_are_accepted():
    jt.julia.eval('JTensor.defmap("cd_g4(input: Tensor, other: Tensor) -> Tensor", (a, b) -> a * exp(b); '
                  'grad = ["input" => "grad * exp(other)", "other" => "sum_to_size(grad * result, '
                  '(lambda s: tuple(int(v) for v in s))(other.shape)) + zeros_like(other)"])')
    a = jt.tensor([0.5, -1.0], dtype=jt.float64, requires_grad=True)
    b = jt.tensor([0.25, 2.0], dtype=jt.float64, requires_grad=True)
    jt.cd_g4(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(b.detach().numpy()))
    np.testing.assert_allclose(b.grad.numpy(), a.detach().numpy() * np.exp(b.detach().numpy()))


def test_every_builtin_entry_passes_the_checks():
    """The library's own ops are not checked at load (they are loaded before Python can be asked):
    this is where they are."""
    table = json.loads(bridge.registry_json())
    names = [f"{e['namespace']}.{e['name']}" if e["namespace"] else e["name"] for e in table["ops"]]
    problems = [check_entry(e, names) for e in table["ops"] if e["builtin"]]
    assert len(problems) > 200 and [p for p in problems if p] == []


# ---- a refused definition leaves the registry as it was ----------------------------------------------------------

def test_refused_redefinition_keeps_the_old_op():
    jt.julia.eval('JTensor.defmap("cd_keep(input: Tensor) -> Tensor", x -> x + one(x); '
                  'grad = ["input" => "grad"])')
    op = REGISTRY.ops["cd_keep"]
    refused('JTensor.defmap("cd_keep(input: Tensor) -> Tensor", x -> 2x; grad = ["input" => "2 * gard"])', "'gard'")
    assert REGISTRY.ops["cd_keep"] is op
    x = jt.tensor([1.0, 2.0], requires_grad=True)
    jt.cd_keep(x).sum().backward()
    assert jt.cd_keep(x).tolist() == [2.0, 3.0] and x.grad.tolist() == [1.0, 1.0]


def test_an_include_stops_at_the_refused_definition(tmp_path):
    f = tmp_path / "ops.jl"
    f.write_text('JTensor.defmap("cd_inc1(input: Tensor) -> Tensor", x -> x + one(x))\n'
                 '\n'
                 'JTensor.defmap("cd_inc2(input: Tensor) -> Tensor", x -> x; dtypes = "flaot")\n'
                 'JTensor.defmap("cd_inc3(input: Tensor) -> Tensor", x -> x)\n')
    with pytest.raises(ValueError, match="flaot") as info:
        jt.julia.include(str(f))
    assert f"{f}:3" in str(info.value)           # the file and line of the refused defmap
    assert "cd_inc1" in REGISTRY and "cd_inc2" not in REGISTRY and "cd_inc3" not in REGISTRY


# ---- type-unstable kernels warn ------------------------------------------------------------------------------------

def test_type_unstable_map_kernel_warns_at_definition():
    with pytest.warns(TypeInstabilityWarning, match=r'"cd_unstable".*Union\{Float32, Int64\}') as rec:
        jt.julia.eval('JTensor.defmap("cd_unstable(input: Tensor) -> Tensor", x -> x > 0 ? x : 0)')
    assert issubclass(TypeInstabilityWarning, UserWarning)
    assert rec[0].filename == __file__           # it points at the user's call
    assert jt.cd_unstable(jt.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]   # still defined


def test_stable_kernels_do_not_warn_and_the_check_is_cheap():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jt.julia.eval('JTensor.defmap("cd_stable(input: Tensor, k: float = 2.0) -> Tensor", '
                      '(x, k) -> x > 0 ? x * oftype(x, k) : zero(x))')
        jt.julia.eval('JTensor.defmap("cd_intonly(input: Tensor) -> Tensor", (x::Integer) -> x ÷ 2; dtypes = "bitwise")')
    t = []
    for i in range(3):
        t0 = time.perf_counter()
        jt.julia.eval(f'JTensor.defmap("cd_timed{i}(input: Tensor, other: Tensor) -> Tensor", (a, b) -> a * b + {i})')
        t.append(time.perf_counter() - t0)
    print(f"\ndefmap with the stability check: {min(t) * 1e3:.1f} ms")
    assert min(t) < 1.0


def test_warning_made_an_error_refuses_the_definition():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TypeInstabilityWarning)
        refused('JTensor.defmap("cd_unstable2(input: Tensor) -> Tensor", x -> x > 0 ? x : 0)', "cd_unstable2")


# ---- where errors come from ------------------------------------------------------------------------------------------

def test_kernel_errors_show_the_julia_file_and_line(tmp_path):
    f = tmp_path / "kernels.jl"
    f.write_text("cd_check(x) = x < 5 ? x : error(\"too big: $x\")\n"
                 "\n"
                 "cd_kernel(a) = cd_check.(a)\n"
                 'JTensor.defop("cd_kernel(input: Tensor) -> Tensor", cd_kernel)\n')
    jt.julia.include(str(f))
    assert jt.cd_kernel(jt.tensor([1.0])).tolist() == [1.0]
    with pytest.raises(jt.JuliaError, match="too big") as info:
        jt.cd_kernel(jt.tensor([1.0, 7.0]))
    assert f"(at {f}:1)" in str(info.value) and info.value.julia_location == f"{f}:1"
    with pytest.raises(jt.JuliaError, match=r"nope \(at jtensor\.julia\.eval:2\)"):
        jt.julia.eval('x = 1\nerror("nope")')


def test_syntax_error_in_an_included_file_names_file_and_line(tmp_path):
    f = tmp_path / "broken.jl"
    f.write_text("a = 1\n\nf(x = \n")
    with pytest.raises(jt.JuliaError, match="syntax") as info:
        jt.julia.include(str(f))
    assert f"{f}:3" in str(info.value)


def test_syntax_error_in_a_library_file_fails_the_import_naming_file_and_line(tmp_path):
    """A copy of the package whose julia/src holds a syntax error: `import jtensor` raises an
    ImportError naming the file and line (it used to end in `ValueError: dictionary update
    sequence element #0`)."""
    shutil.copytree(os.path.join(ROOT, "julia"), tmp_path / "julia")
    shutil.copytree(os.path.join(ROOT, "python", "jtensor"), tmp_path / "python" / "jtensor",
                    ignore=shutil.ignore_patterns("__pycache__"))
    src = tmp_path / "julia" / "src" / "ops" / "shape.jl"
    n = src.read_text().count("\n")
    with open(src, "a") as fh:
        fh.write("\nfunction broken(x\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "python"))
    run = subprocess.run([sys.executable, "-c", "import jtensor"], env=env, capture_output=True, text=True,
                         timeout=600, cwd=str(tmp_path))
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: jtensor: JTensor's Julia sources do not parse"), last
    assert f"{src}:{n + 2}" in last and "dictionary update" not in run.stderr


def test_reload_of_a_file_with_a_refused_definition_publishes_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(jt.julia, "_src_files", lambda: [])      # only this file, not julia/src
    f = tmp_path / "reloaded.jl"
    f.write_text('JTensor.defmap("cd_rel1(input: Tensor) -> Tensor", x -> x + one(x))\n')
    jt.julia.include(str(f))
    assert jt.cd_rel1(jt.tensor([1.0])).tolist() == [2.0]       # (its plan now holds this kernel)
    f.write_text('JTensor.defmap("cd_rel1(input: Tensor) -> Tensor", x -> x + 2one(x))\n'
                 'JTensor.defmap("cd_rel2(input: Tensor) -> Tensor", x -> x; batch = "elementwsie")\n')
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(ValueError, match=f'unknown batching rule "elementwsie".*{f}:2'):
        jt.julia.reload()
    assert jt.cd_rel1(jt.tensor([1.0])).tolist() == [3.0]       # published despite the error
    assert "cd_rel2" not in REGISTRY
