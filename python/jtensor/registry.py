"""The op registry as seen from Python: reads JTensor's table and keeps one Python function per op.

`Registry.sync` re-reads Julia's registry whenever its version changes, parses each entry
(schema.py `Op`) and generates its function (codegen.py), keeping the functions of unchanged
entries. Julia's `defop` asks Python about a new definition before it changes the registry
(`definition_hook` -> `check_entry`). The rest of the op machinery lives in modules named for
what they do: schema.py (signatures), wire.py (the word format), drivers.py (running ops) and
codegen.py (the generated functions).
"""
import ctypes
import json
import os
import sys
import warnings

from . import bridge
from . import dtypes as D
from . import drivers
from .codegen import build_function
from .schema import Op
# Names other modules import from here: _tensor.py reads `broadcast_shapes` and `norm_dim`.
from .drivers import broadcast_shapes  # noqa: F401
from .schema import norm_dim  # noqa: F401


# ---- checking a definition ----------------------------------------------------------------------------
# Julia's `defop` checks what it knows itself (the schema's form, derivative formulas keyed by real
# parameters) and asks Python, through `definition_hook`, about what only Python knows, reading
# Python's own tables, so that each list has one source of truth: the dtype rules (dtypes.py
# `RULES`, plus the writers' and "none"), the batching rules (func.py `BATCH_RULES`), the
# derivative formulas (Python expressions: `_derivatives.formula_problem`) and whether the op's
# Python function can be generated at all. A refused definition raises in Julia, inside `defop`,
# so the registry is left as it was and the error surfaces from the call that made it.

def dtype_rule_names():
    """Every name an entry's `dtypes` may hold."""
    return set(D.RULES) | set(drivers._WRITERS) | {"none"}


def _entry_label(entry):
    """The qualified name (`namespace.name`) of a registry entry dict, as `Op.qualname` gives it."""
    return f"{entry['namespace']}.{entry['name']}" if entry.get("namespace") else entry["name"]


def check_entry(entry, op_names):
    """What is wrong with a registry entry (a dict as in Julia's `registry_json`), as a message
    naming the op, or None. `op_names`: the qualified names the registry will hold with it."""
    from . import func
    from ._derivatives import formula_problem
    label = _entry_label(entry)
    try:
        op = Op(entry)
    except Exception as e:   # ast's SyntaxError / ValueError on a schema Julia let through
        return f'op "{label}": bad schema {entry["schema"]!r}: {type(e).__name__}: {e}'
    if op.rule not in dtype_rule_names():
        return (f'op "{label}": unknown dtype rule "{op.rule}" (known: '
                f'{", ".join(sorted(dtype_rule_names()))}; see python/jtensor/dtypes.py RULES)')
    if op.batch and op.batch not in func.BATCH_RULES:
        return (f'op "{label}": unknown batching rule "{op.batch}" (known: {", ".join(func.BATCH_RULES)}, '
                f'or "" for none; see python/jtensor/func.py BATCH_RULES)')
    problem = formula_problem(op, set(op_names))
    if problem is not None:
        return problem
    if op.shortcuts and (op.kind != "map" or len(op.tensor_params) != 2):
        return f'op "{label}": shortcuts need a map op of two Tensor parameters'
    missing = sorted(set(op.shortcuts.values()) - set(op_names))
    if missing:
        return f'op "{label}": shortcut to unknown op(s) {", ".join(missing)}'
    try:
        build_function(op, trial=True)   # as `Registry.sync` will
    except Exception as e:
        return f'op "{label}": its Python function cannot be generated: {type(e).__name__}: {e}'
    return None


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_stacklevel():
    """The `stacklevel` of warnings.warn that names the first frame outside jtensor (the user's
    `jt.julia.eval` or `include` call), counted from the caller of this function."""
    f, level = sys._getframe(1), 1
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR):
        f, level = f.f_back, level + 1
    return level


_hook_reply = [None]   # the last refusal's bytes: Julia copies them before Python runs again


def _definition_hook(payload, size):
    """Called by Julia's `defop` (registry.jl `DEFINITION_HOOK`) on the thread that runs Julia, with
    the new entry as JSON: returns 0 to accept it, or the address of a refusal message. No
    exception may leave (it would cross Julia's frames): any becomes the refusal."""
    label = "?"
    try:
        p = json.loads(ctypes.string_at(payload, size))
        entry = p["entry"]
        label = _entry_label(entry)
        problem = check_entry(entry, p["ops"])
        if problem is None and p.get("warning"):
            from .errors import TypeInstabilityWarning
            warnings.warn(p["warning"], TypeInstabilityWarning, stacklevel=_caller_stacklevel())
    except BaseException as e:   # a warning turned into an error by a filter is a refusal too
        problem = f'op "{label}": {type(e).__name__}: {e}'
    if problem is None:
        return None
    _hook_reply[0] = ctypes.create_string_buffer(problem.encode("utf-8", "replace"))
    return ctypes.addressof(_hook_reply[0])


definition_hook = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)(_definition_hook)


class Registry:
    """All ops by qualified name, rebuilt from Julia whenever Julia's registry version changes."""

    def __init__(self):
        self.ops = {}
        self.version = -1
        self.listeners = []

    def sync(self, force=False):
        bridge._check_thread()
        v = bridge.registry_version()
        if v == self.version and not force:
            return False
        table = json.loads(bridge.registry_json())
        names = [d.name for d in D.ALL]
        if table["dtypes"][:len(names)] != names:   # the built-ins; user dtypes follow (load_promotion)
            raise RuntimeError(f"jtensor: Julia dtype table {table['dtypes']} does not match Python's {names}")
        D.load_promotion(table)
        ops = {}
        refused = []
        for entry in table["ops"]:
            try:
                op = Op(entry)
                old = self.ops.get(op.qualname)
                if old is not None and old.schema == op.schema and old.doc == op.doc and old.id == op.id \
                        and old.rule == op.rule and old.grad == op.grad and old.batch == op.batch \
                        and old.shortcuts == op.shortcuts and old.builtin == op.builtin:
                    op = old  # unchanged: keep the function object (and anything bound to it)
                else:
                    build_function(op)
            except Exception as e:
                # Julia's defop checks definitions (with Python's help when Python runs it), so this
                # is an entry made without those checks: leave it out rather than fail every sync
                refused.append(f"{entry.get('name')!r} ({type(e).__name__}: {e})")
                continue
            ops[op.qualname] = op
        self.ops = ops
        self.version = table["version"]
        if refused:
            warnings.warn(f"jtensor: registry entries that Python cannot use were left out: {'; '.join(refused)}",
                          RuntimeWarning, stacklevel=2)
        drivers._PLANS.clear()  # plans capture kernels: a redefined op must get new ones
        drivers.FAST_SIGNATURES.clear()
        for f in self.listeners:
            f(self)
        return True

    def __getitem__(self, name):
        return self.ops[name]

    def __contains__(self, name):
        return name in self.ops


REGISTRY = Registry()
