"""`jt.compile(fn_or_module)`: capture, guard, compile, cache.

The first call with a new *guard key* (each tensor argument's shape, dtype and requires_grad; the
value of every other argument; grad mode; a module's training flag) traces the function with
jt.fx, runs the graph eagerly once recording every value's shape and dtype (that run's result
is the call's result), partitions the graph into fused groups, asks Julia for one kernel per
group and generates the Python program that calls them. Later calls with that key run the
program. A new key compiles again, up to `config.cache_size_limit` compilations per function;
past it a `RecompileWarning` names the guard that kept failing and new keys run eagerly.

What jt.fx cannot trace (control flow on tensor values, `.item()`, non-tensor arguments of a
module...) is a *graph break*. Unlike torch.compile, which splits the function at a break and
compiles the pieces, here the whole function then runs eagerly for that guard key; with
`fullgraph=True` it raises `Unsupported` naming the construct instead.
"""
import builtins
import time
import warnings
import weakref

from .. import autograd
from .. import bridge
from .. import drivers
from .. import wire as W
from .. import _tensor as _T
from ..nn import Module
from ..registry import REGISTRY
from .partition import TensorMeta, partition
from .program import FusedKernel, eager_program, fused_program, var


class Unsupported(RuntimeError):
    """A construct `jt.compile(..., fullgraph=True)` cannot capture (torch._dynamo.exc.Unsupported)."""


class RecompileWarning(UserWarning):
    """A compiled function keeps meeting new guard values (its cache limit was reached)."""


class _Config:
    """`jt.compile.config`: `cache_size_limit`, the compilations kept per function (torch's is 8)."""

    def __init__(self):
        self.cache_size_limit = 8


config = _Config()
_LIVE = weakref.WeakSet()   # compiled functions, for reset()


def reset():
    """Forget every compilation (torch.compiler.reset): the next calls compile again."""
    for cf in list(_LIVE):
        cf._cache.clear()
        cf._hot = _miss
        cf._recompiles.clear()


def _constant_key(x):
    """A hashable stand-in for a non-tensor argument, guarded by value; None when it cannot be."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return (type(x), x)
    if isinstance(x, (tuple, list)):
        items = tuple(_constant_key(v) for v in x)
        return None if any(i is None for i in items) else (type(x), items)
    if hasattr(x, "itemsize") and hasattr(x, "is_floating_point"):   # a jt.dtype
        return ("dtype", x)
    return None


class _Entry:
    """One compilation: the program and what explain() shows of it."""

    def __init__(self, program, source, graph_text, groups, kernels, compile_s, reason=None):
        self.program, self.source, self.graph_text = program, source, graph_text
        self.groups, self.kernels, self.compile_s, self.reason = groups, kernels, compile_s, reason
        self.hot = None


class CompiledFunction:
    """The result of `jt.compile(fn)`: call it as `fn`. `explain()` prints what was compiled."""

    def __init__(self, fn, fullgraph=False, dynamic=False, module=None):
        self._fn = fn
        self._module = module
        self._fullgraph = fullgraph
        self._dynamic = bool(dynamic)
        self._cache = {}
        self._hot = _miss   # the guards of the last compilation used, specialized (_hot_guard)
        self._recompiles = []
        self._warned = False
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        _LIVE.add(self)

    # ---- guards ----
    def _key(self, args, kwargs):
        Tensor = _T.Tensor
        dynamic = self._dynamic
        key = [autograd._enabled[0]]
        if self._module is not None:
            key.append(self._module.training)
        for x in args:
            if isinstance(x, Tensor):
                key.append((x.ndim if dynamic else x.shape, x.dtype, x.requires_grad, x._base.__class__))
            else:
                k = _constant_key(x)
                if k is None:
                    return None
                key.append(k)
        for name in sorted(kwargs):
            x = kwargs[name]
            if isinstance(x, Tensor):
                key.append((name, x.ndim if dynamic else x.shape, x.dtype, x.requires_grad, x._base.__class__))
            else:
                k = _constant_key(x)
                if k is None:
                    return None
                key.append((name, k))
        return tuple(key)

    def __call__(self, *args, **kwargs):
        if not kwargs:
            r = self._hot(args)
            if r is not _MISS:
                return r
        key = self._key(args, kwargs)
        entry = self._cache.get(key) if key is not None else None
        if entry is not None:
            if entry.program is None:
                return self._fn(*args, **kwargs)
            if entry.hot is not None:
                self._hot = entry.hot
            return entry.program(*_tensor_args(args, kwargs))
        if key is None:
            return self._break("an argument that is neither a tensor nor a Python constant "
                               "(number, string, dtype, or tuple of them)", args, kwargs)
        if len(self._cache) >= config.cache_size_limit:
            if not self._warned:
                self._warned = True
                last = self._recompiles[-1] if self._recompiles else "guards failed"
                warnings.warn(f"jt.compile: {self.__name__} reached cache_size_limit "
                              f"({config.cache_size_limit}) compilations; the last recompile was because "
                              f"{last}. New guard values now run eagerly (raise jt.compile.config."
                              f"cache_size_limit, or compile with dynamic=True when shapes vary).",
                              RecompileWarning, stacklevel=2)
            return self._fn(*args, **kwargs)
        if self._cache:
            self._recompiles.append(self._why(key))
        return self._compile(key, args, kwargs)

    def _why(self, key):
        """Which guards the new key fails, against the nearest compilation (fewest differences)."""
        olds = [k for k in self._cache if k is not None and len(k) == len(key)]
        if not olds:
            return "the number of arguments changed"
        old = min(olds, key=lambda k: sum(a != b for a, b in zip(k, key)))
        names = ["grad mode"] + (["training"] if self._module is not None else [])
        diffs = []
        for i, (a, b) in enumerate(zip(old, key)):
            if a != b:
                what = names[i] if i < len(names) else f"argument {i - len(names)}"
                diffs.append(f"{what} changed from {a!r} to {b!r}")
        return "; ".join(diffs) or "guards failed"

    def _break(self, why, args, kwargs, key=None, error=None):
        """A graph break: raise under fullgraph, else run (and, by key, keep running) eagerly."""
        if self._fullgraph:
            raise Unsupported(f"jt.compile(fullgraph=True): cannot capture {self.__name__}: {why}") from error
        if key is not None:
            self._cache[key] = _Entry(None, None, None, [], [], 0.0, reason=why)
        return self._fn(*args, **kwargs)

    # ---- compiling ----
    def _trace(self, args, kwargs):
        from .. import fx
        if self._module is not None:
            return fx.symbolic_trace(self._module)
        tensor_pos = [i for i, x in enumerate(args) if isinstance(x, _T.Tensor)]
        tensor_kw = [k for k in sorted(kwargs) if isinstance(kwargs[k], _T.Tensor)]
        names = [f"a{i}" for i in range(len(tensor_pos) + len(tensor_kw))]
        fn = self._fn

        def call(values):
            a, k = list(args), dict(kwargs)
            for i, v in zip(tensor_pos, values):
                a[i] = v
            for name, v in zip(tensor_kw, values[len(tensor_pos):]):
                k[name] = v
            return fn(*a, **k)
        ns = {"_call": call}
        exec(f"def captured({', '.join(names)}):\n    return _call(({''.join(n + ', ' for n in names)}))\n", ns)
        ns["captured"].__name__ = self.__name__
        return fx.symbolic_trace(ns["captured"])

    def _compile(self, key, args, kwargs):
        t0 = time.perf_counter()
        if self._module is not None and (kwargs or not all(isinstance(x, _T.Tensor) for x in args)):
            return self._break("a compiled module's forward takes only tensor arguments here", args, kwargs, key)
        try:
            gm = self._trace(args, kwargs)
        except Exception as e:   # what jt.fx cannot trace: a graph break
            return self._break(f"{type(e).__name__}: {e}", args, kwargs, key, e)
        nodes = list(gm.graph.nodes)
        root = self._module if self._module is not None else gm   # a function's constants live on gm
        values = {}
        run, _ = eager_program(nodes, root, record=values)
        tensors = _tensor_args(args, kwargs)
        result = run(*tensors)
        meta = {}
        for n in nodes:
            v = values.get(n.name)
            meta[n] = TensorMeta(v) if isinstance(v, _T.Tensor) else None
        values.clear()
        groups = partition(nodes, meta, root, max_inputs=len(fused_op().tensor_params))
        kernels = []
        for g in groups:
            kid = _define(g.spec(meta))
            kernels.append(FusedKernel(kid, g, meta, root, fused_op(g.reduce is not None).fn, _fast_key(kid, g, meta)))
        program, source = fused_program(nodes, root, groups, kernels)
        graph_text = _graph_text(nodes, meta)
        entry = self._cache[key] = _Entry(program, source, graph_text, groups, kernels, time.perf_counter() - t0)
        entry.hot = _hot_guard(key, args, kwargs, self._module, program)
        if entry.hot is not None:
            self._hot = entry.hot
        return result

    # ---- inspection ----
    def explain(self, file=None):
        """Print (and return) each compilation: its guards, the captured graph with each value's
        dtype and shape, the fused groups, the Julia source of each kernel and the Python program."""
        out = []
        for i, (key, e) in enumerate(self._cache.items()):
            out.append(f"=== compilation {i} of {self.__name__}: guards {key}")
            if e.program is None:
                out.append(f"graph break, runs eagerly: {e.reason}")
                continue
            out.append(f"compile time: {e.compile_s * 1e3:.1f} ms")
            out.append("--- graph ---")
            out.append(e.graph_text)
            out.append(f"--- {len(e.groups)} fused group(s) ---")
            for g, k in zip(e.groups, e.kernels):
                out.append(f"{g.describe()}   [Julia kernel {k.kid}]")
                out.append(kernel_source(k.kid))
            out.append("--- program ---")
            out.append(e.source.rstrip())
        if self._recompiles:
            out.append("--- recompiles ---")
            out.extend(self._recompiles)
        text = "\n".join(out)
        print(text, file=file)
        return text


_MISS = object()   # a specialized guard's answer when the call does not match its compilation


def _miss(args):
    return _MISS


def _hot_guard(key, args, kwargs, module, program):
    """The compilation's guards specialized to its key, fused with the call of its program: a
    function of the positional arguments tuple that returns the program's result when every
    guard holds, else `_MISS` (the general path then computes the key). It checks what `_key`
    builds, identity, equality and tuple compares only: grad mode, the module's training flag, each
    tensor's exact class, shape (its ndim when dynamic), dtype, requires_grad and storage class,
    and each constant by its `_constant_key`. The last compilation used answers first, so a
    steady call skips building the key (a third of a small compiled call). None for a call with
    keyword arguments (those take the general path)."""
    if kwargs:
        return None
    ns = {"_MISS": _MISS, "_Tensor": _T.Tensor, "_grad": autograd._enabled, "_program": program,
          "_ck": _constant_key, "_mod": module}
    pos = 1 if module is None else 2
    checks = [f"_grad[0] == {key[0]!r}"]
    if module is not None:
        checks.append(f"_mod.training == {key[1]!r}")
    tensors = []
    for i, (x, k) in enumerate(zip(args, key[pos:])):
        if isinstance(x, _T.Tensor):
            shape_or_ndim, dtype, rg, base = k
            ns[f"_s{i}"], ns[f"_d{i}"], ns[f"_b{i}"] = shape_or_ndim, dtype, base
            shape = f"len(a{i}.shape) == _s{i}" if isinstance(shape_or_ndim, int) else f"a{i}.shape == _s{i}"
            checks.append(f"a{i}.__class__ is _Tensor and {shape} and a{i}.dtype is _d{i} and "
                          f"a{i}.requires_grad == {rg!r} and a{i}._base.__class__ is _b{i}")
            tensors.append(f"a{i}")
        else:
            ns[f"_k{i}"] = k
            checks.append(f"_ck(a{i}) == _k{i}")
    params = "".join(f"a{i}, " for i in range(len(args)))
    src = (f"def hot(args):\n"
           f"    if len(args) != {len(args)}:\n        return _MISS\n"
           + (f"    ({params}) = args\n" if args else "")
           + f"    if {' and '.join(checks)}:\n"
           f"        return _program({', '.join(tensors)})\n"
           f"    return _MISS\n")
    exec(builtins.compile(src, "<jt.compile guards>", "exec"), ns)
    return ns["hot"]


def _tensor_args(args, kwargs):
    """The tensors among the arguments, in the order the traced function takes them."""
    Tensor = _T.Tensor
    ts = [x for x in args if isinstance(x, Tensor)]
    if kwargs:
        ts += [kwargs[k] for k in sorted(kwargs) if isinstance(kwargs[k], Tensor)]
    return ts


def _graph_text(nodes, meta):
    rows = []
    for n in nodes:
        target = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", repr(n.target))
        m = meta.get(n)
        rows.append(f"{var(n):<16} {n.op:<14} {str(target):<20} {m if m is not None else ''}")
    return "\n".join(rows)


def _julia_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _define(spec):
    """The Julia kernel id for a group's spec (generated, or found in Julia's cache)."""
    return int(bridge.eval_value(f"JTensor.fused_kernel({_julia_string(spec)})"))


_FAST_PLANS = {}   # (kernel id, input dtype code) -> its map plan's id (julia/src/fusion.jl `fused_plan`)


def _fast_key(kid, group, meta):
    """Register kernel `kid` with the C fast path (fastpath.c `fp_map`) as a map op of its own and
    return its key there (the op id slot holds `("_fused", kid)`), or None when the fast path cannot
    run the group: it ends in a reduction, or its inputs have more than one dtype (fp_map sends
    every tensor in one dtype). The entry is fp_map's: plan id, result dtype, compute code (which
    the fused plan ignores), result dtype code."""
    if group.reduce is not None or drivers._fast_map is None:
        return None
    dtypes = {meta[n].dtype for n in group.inputs}
    if len(dtypes) != 1:
        return None
    dtype = next(iter(dtypes))
    code = dtype.code
    out = meta[group.output].dtype
    n = len(group.inputs)
    pid = _FAST_PLANS.get((kid, code))   # one kernel may serve inputs of several dtypes (fusion.jl)
    if pid is None:
        names = "[" + ", ".join([f'"{dtype.name}"'] * n) + "]"
        pid = _FAST_PLANS[(kid, code)] = int(bridge.eval_value(f"JTensor.fused_plan({int(kid)}, {names})"))
    op = ("_fused", kid)
    drivers.FAST_SIGNATURES[(op, code) + (W.MAP_KINDS["tensor"],) * n] = (pid, out, out.code, out.code)
    return op


def kernel_source(kid):
    """The Julia source Julia generated for kernel `kid`."""
    s = bridge.eval_value(f"JTensor.fused_kernel_source({int(kid)})")
    if isinstance(s, str) and s.startswith('"'):
        import ast
        s = ast.literal_eval(s.replace("\\$", "$"))
    return s


def fused_op(reduce=False):
    """The registry op that runs a fused kernel (julia/src/fusion.jl `_fused`), or one ending in a
    sum or mean (`_fused_reduce`)."""
    return REGISTRY["_fused_reduce" if reduce else "_fused"]


class OptimizedModule(Module):
    """`jt.compile(module)`: the module with its forward compiled. Parameters, buffers and
    submodules are the original's (under `_orig_mod`, as torch names them), so optimizers and
    state dicts see the same tensors."""

    def __init__(self, mod, fullgraph=False, dynamic=False):
        super().__init__()
        self._orig_mod = mod
        self._compiled = CompiledFunction(mod, fullgraph=fullgraph, dynamic=dynamic, module=mod)

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def explain(self, file=None):
        """What was compiled (CompiledFunction.explain)."""
        return self._compiled.explain(file)


def compile(model=None, *, fullgraph=False, dynamic=False, backend="jtensor", mode=None, options=None,
            disable=False):
    """Compile a function or `jt.nn.Module` (torch.compile's signature; usable as a decorator,
    with or without arguments). `backend`, `mode` and `options` are accepted for compatibility and
    not used; `disable=True` returns `model` unchanged. See docs/compile.md."""
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, Module):
        return OptimizedModule(model, fullgraph=fullgraph, dynamic=dynamic)
    if not callable(model):
        raise TypeError(f"jt.compile: expected a function or a Module, got {type(model).__name__}")
    return CompiledFunction(model, fullgraph=fullgraph, dynamic=dynamic)


def explain(compiled, file=None):
    """`compiled.explain()` for a compiled function or module."""
    return compiled.explain(file)
