"""Lowering a partitioned graph to one Python function.

The compiled program is Python source generated from the fx graph, one line per node that runs:
library calls stay calls (`_f3(v_x, v_w)`), each fused group is one call of its `FusedKernel`
(`_k0(v_x, v_y)`), and the members of a group other than its output disappear. The same emitter
writes the eager program used for the first, recording run and for recomputing a group's values
in its backward.
"""
import builtins
import keyword

from .. import autograd
from .. import drivers
from .._tensor import Tensor as _Tensor
from ..autograd import FnNode, _set_output


def var(node):
    """The Python variable holding `node`'s value."""
    return "v_" + node.name


class Emitter:
    """Python source and the globals it needs, built node by node."""

    def __init__(self, root=None):
        self.lines = []
        self.globals = {"_fetch": _fetch, "_root": root}
        self.root = root

    def bind(self, value, prefix):
        """A global name for `value` in the generated code."""
        for k, v in self.globals.items():
            if v is value and k.startswith(prefix):
                return k
        name = f"{prefix}{len(self.globals)}"
        self.globals[name] = value
        return name

    def arg(self, a):
        """Source text of an argument structure (nodes as their variables)."""
        if hasattr(a, "op") and hasattr(a, "users"):
            return var(a)
        if a is None or isinstance(a, (bool, int, str)) or (isinstance(a, float) and a == a and abs(a) != float("inf")):
            return repr(a)
        if type(a) is tuple:
            return "(" + "".join(self.arg(x) + ", " for x in a) + ")"
        if type(a) is list:
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if type(a) is dict and all(isinstance(k, str) for k in a):
            return "{" + ", ".join(f"{k!r}: {self.arg(v)}" for k, v in a.items()) + "}"
        if type(a) is slice:
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        return self.bind(a, "_c")

    def call_args(self, args, kwargs):
        parts = [self.arg(a) for a in args]
        for k, v in kwargs.items():
            if k.isidentifier() and not keyword.iskeyword(k):
                parts.append(f"{k}={self.arg(v)}")
            else:
                parts.append(f"**{{{k!r}: {self.arg(v)}}}")
        return ", ".join(parts)

    def node(self, n):
        """The line computing an ordinary node (not fused)."""
        if n.op == "get_attr":
            return f"{var(n)} = _fetch(_root, {n.target!r})"
        if n.op == "call_function":
            f = n.target
            name = f.__name__ if getattr(builtins, getattr(f, "__name__", ""), None) is f else self.bind(f, "_f")
            return f"{var(n)} = {name}({self.call_args(n.args, n.kwargs)})"
        if n.op == "call_method":
            return f"{var(n)} = {self.arg(n.args[0])}.{n.target}({self.call_args(n.args[1:], n.kwargs)})"
        if n.op == "call_module":
            mod = self.bind(self.root.get_submodule(n.target), "_m")
            return f"{var(n)} = {mod}({self.call_args(n.args, n.kwargs)})"
        raise NotImplementedError(f"jt.compile: cannot lower a {n.op} node")

    def function(self, name, params, body, result):
        src = f"def {name}({', '.join(params)}):\n"
        src += "".join(f"    {line}\n" for line in body) or ""
        src += f"    return {result}\n"
        return src

    def compile(self, name, src):
        ns = dict(self.globals)
        exec(compile(src, f"<jt.compile {name}>", "exec"), ns)
        return ns[name]


def _fetch(root, path):
    """`root.a.b` for the dotted `path` of a get_attr node, read at every call (optimizers and
    users may replace attributes between calls)."""
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _program(em, nodes, name, lines, prologue=()):
    """Compile a function `name` of the graph's placeholders returning its output, whose body is
    `prologue`, then `lines(n)` (a list of source lines) for every other node; returns it and its
    source."""
    params, body, result = [], list(prologue), "None"
    for n in nodes:
        if n.op == "placeholder":
            params.append(var(n))
        elif n.op == "output":
            result = em.arg(n.args[0])
        else:
            body.extend(lines(n))
    src = em.function(name, params, body, result)
    return em.compile(name, src), src


def eager_program(nodes, root, record=None):
    """The graph as a Python function running every node eagerly, and its source. With `record`,
    a dict, each node's value (placeholders included) is also stored there by node name (the
    recording first run)."""
    em = Emitter(root)
    if record is None:
        return _program(em, nodes, "eager", lambda n: [em.node(n)])
    em.globals["_rec"] = record
    prologue = [f"_rec[{n.name!r}] = {var(n)}" for n in nodes if n.op == "placeholder"]
    return _program(em, nodes, "eager", lambda n: [em.node(n), f"_rec[{n.name!r}] = {var(n)}"], prologue)


def fused_program(nodes, root, groups, kernels):
    """The graph with each group replaced by one call of its kernel (`kernels[i]` for `groups[i]`):
    a Python function and its source. A group member whose value something outside the kernels
    still needs (an eager node, say one a group too large to fuse left eager) is computed eagerly too."""
    em = Emitter(root)
    members = set()
    by_output = {}
    for g, k in zip(groups, kernels):
        members.update(n for n in g.nodes if n is not g.output)
        by_output[g.output] = (g, k)
    run = set()    # the nodes that get a line, found backwards from the output
    live = set()
    for n in reversed(nodes):
        if n.op == "output":
            live.update(n.all_input_nodes)
        elif n in by_output:
            run.add(n)
            live.update(by_output[n][0].inputs)
        elif n.op != "placeholder" and (n not in members or n in live):
            run.add(n)
            live.update(n.all_input_nodes)

    def lines(n):
        if n in by_output:
            g, k = by_output[n]
            return [f"{var(n)} = {em.bind(k, '_k')}({', '.join(var(i) for i in g.inputs)})  # {k.label}"]
        return [em.node(n)] if n in run else []
    return _program(em, nodes, "forward", lines)


def _any_requires_grad(xs):
    for x in xs:
        if x.requires_grad:
            return True
    return False


class FusedKernel:
    """One fused group at run time: `run(kid, *inputs)` (the registry op `_fused`) makes the output
    and runs Julia kernel `kid` over the inputs in one pass. A kernel with a map plan (`fast`) is
    first offered to the C fast path, which runs the plan as it runs an eager op's: a 1-element
    call then costs about what one eager op does, instead of the op driver's extra microseconds. When an input requires grad (and grad mode is on), the output gets one
    autograd node whose backward recomputes the group's values eagerly from the saved inputs and
    applies the registry's derivative formulas to them (elementwise values are recomputed, not
    stored)."""

    def __init__(self, kid, group, meta, root, run, fast=None):
        self.kid = kid
        self._fast = fast   # its key in the C fast path's signatures (frontend._fast_key), or None
        self.group = group
        self.dtype = meta[group.output].dtype
        self._float = self.dtype.kind == "f"
        self.label = " -> ".join(group.names())
        r = group.reduce
        self._run = run   # the kernel op: `_fused`, or `_fused_reduce` for a group ending in a reduction
        self._lead = (kid,) if r is None else (kid, r.kind, list(r.dims), r.keepdim)
        self._root = root
        self._eager = None

    def __call__(self, *xs):
        if self._fast is not None:
            fast = drivers._fast_map   # None while __jtensor_dispatch__ hooks are active
            if fast is not None:
                # the C fast path, as an eager map op runs: None (or a Julia error's status, which the
                # op path below raises) when it cannot, e.g. an input requires grad
                out = fast(self._fast, xs, (), False)
                if out.__class__ is _Tensor:
                    return out
        grad = autograd._enabled
        if grad[0] and self._float and _any_requires_grad(xs):
            grad[0] = False
            try:
                out = self._run(*self._lead, *xs)
            finally:
                grad[0] = True
            self._attach(out, xs)
            return out
        return self._run(*self._lead, *xs)

    def eager(self):
        """The group as an eager Python function of its inputs (built on first use)."""
        if self._eager is None:
            em = Emitter(self._root)
            body = [em.node(n) for n in self.group.nodes]
            src = em.function("group", [var(n) for n in self.group.inputs], body, var(self.group.output))
            self._eager = em.compile("group", src)
        return self._eager

    def _attach(self, out, xs):
        eager = self.eager()
        wanted = [i for i, x in enumerate(xs) if getattr(x, "requires_grad", False) and x.dtype.kind in "fc"]

        def backward(grads):
            g = grads[0]
            if g is None:
                return [None] * len(wanted)
            with autograd.enable_grad():
                ins = [x.detach().requires_grad_(True) if i in wanted else x.detach() for i, x in enumerate(xs)]
                y = eager(*ins)
                gs = autograd.grad(y, [ins[i] for i in wanted], g, allow_unused=True, materialize_grads=True)
            return list(gs)

        node = FnNode("FusedBackward", [(f"x{i}", xs[i]) for i in wanted], backward)
        node.save([xs[i] for i in wanted])
        _set_output(out, node, 0)
