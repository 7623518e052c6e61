"""Partitioning a captured graph into fused groups.

Every node that calls an elementwise registry op on tensors and Python numbers (targets.py) is
*fusable*. A fusable node whose value leaves the fusable region (a non-fusable node or the graph's
output uses it) is *materialized*: it becomes the output of one group, whose members are its
fusable ancestors up to the first materialized or non-fusable values, which are the group's
inputs. A fusable value used by two groups is recomputed in each rather than stored (elementwise
work is cheap next to a pass over memory). A group of one node stays an ordinary eager call: the
eager op is already one pass, and its call is cheaper than a fused kernel's.

A `sum` or `mean` whose input is a float32/float64 fusable value used by nothing else ends that
value's group: the kernel accumulates the chain's values as it computes them (`_fused_reduce`),
so the chain's output is never written. Such a group may have a single elementwise node
(`(x * y).sum()`), as it still saves that node's output array.

Matrix products, convolutions, other reductions and everything else stay library calls.
"""
import math

from .. import drivers
from ..registry import REGISTRY
from .targets import MapCall, map_call, reduce_call

_INT64 = (-(1 << 63), (1 << 63) - 1)


class TensorMeta:
    """What the partitioner knows of a tensor value: shape, dtype, ndim (recorded by one eager run)."""

    __slots__ = ("shape", "dtype", "ndim", "requires_grad")

    def __init__(self, t):
        self.shape, self.dtype, self.ndim = tuple(t.shape), t.dtype, t.ndim
        self.requires_grad = bool(getattr(t, "requires_grad", False))

    def __repr__(self):
        return f"{self.dtype.name}{list(self.shape)}"


class Group:
    """One fused kernel: `nodes` (topological order) computing `output` from `inputs` (fx nodes).
    With `reduce` (a ReduceCall, its dims made non-negative and sorted, () for every dim), the last
    node is that reduction and the others are the elementwise chain it accumulates."""

    def __init__(self, output, nodes, inputs, calls, reduce=None):
        self.output, self.nodes, self.inputs, self.calls = output, nodes, inputs, calls
        self.reduce = reduce
        self.map_nodes = nodes[:-1] if reduce is not None else nodes

    def names(self):
        """The ops of the group in order (the reduction last)."""
        return [self.calls[n].op.name for n in self.map_nodes] + ([self.reduce.kind] if self.reduce else [])

    def spec(self, meta):
        """The Julia spec of the kernel (julia/src/fusion.jl `fused_kernel`): input dtypes, then per
        node the op, its compute and result dtypes as the eager op's dtype rule gives them, its
        operands and its other parameters."""
        index = {n: f":x{i + 1}" for i, n in enumerate(self.inputs)}
        index.update({n: f":t{i + 1}" for i, n in enumerate(self.nodes)})
        rows = []
        for n in self.map_nodes:
            call = self.calls[n]
            tensors = [meta[a] for a in call.operands if _is_node(a)]
            scalars = [a for a in call.operands if a is not None and not _is_node(a)]
            compute, result = drivers.map_dtypes(call.op, tensors, scalars)
            args = [index[a] if _is_node(a) else _literal(a) for a in call.operands]
            extra = [_literal(e) for e in call.extras]
            rows.append(f'("{call.op.qualname}", "{compute.name}", "{result.name}", {_tuple(args)}, {_tuple(extra)})')
        inputs = ", ".join(f'"{meta[n].dtype.name}"' for n in self.inputs)
        return f"([{inputs}], [{', '.join(rows)}])"

    def describe(self):
        ops = " -> ".join(self.names())
        return f"{self.output.name} = fused[{ops}]({', '.join(n.name for n in self.inputs)})"


def _is_node(x):
    return hasattr(x, "op") and hasattr(x, "users")


def _tuple(items):
    return "(" + "".join(f"{x}, " for x in items) + ")"


def _literal(x):
    """A Python number (or None) as the spec's Julia literal: Bool, Int64 or Float64, as the wire sends it."""
    if x is None:
        return "nothing"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return repr(float(x))


def _fusable_value(x, meta):
    if x is None:
        return True
    if _is_node(x):
        m = meta.get(x)
        return isinstance(m, TensorMeta) and m.dtype.kind != "c"
    if isinstance(x, bool) or isinstance(x, float):
        return True
    return isinstance(x, int) and _INT64[0] <= x <= _INT64[1]


def fusable_calls(nodes, meta, root=None):
    """{node: MapCall} for the nodes that can join a fused kernel."""
    calls = {}
    for n in nodes:
        m = meta.get(n)
        if not isinstance(m, TensorMeta) or m.dtype.kind == "c":
            continue
        call = map_call(n, root)
        if call is None or not any(_is_node(a) for a in call.operands):
            continue
        if all(_fusable_value(a, meta) for a in call.operands) and \
                all(_fusable_value(e, meta) and not _is_node(e) for e in call.extras):
            tensors = [meta[a] for a in call.operands if _is_node(a)]
            scalars = [a for a in call.operands if a is not None and not _is_node(a)]
            try:
                compute, _ = drivers.map_dtypes(call.op, tensors, scalars)
            except Exception:
                continue   # eager raises here: leave it to eager, which raises the same error
            if compute.kind != "c":
                calls[n] = _shortcut(call, meta)
    return calls


def _shortcut(call, meta):
    """`call`, or the one-input call it is by its op's shortcuts (`x ** 2` is `square(x)`), as the
    eager op takes them (schema.py `Op.shortcut`)."""
    if not call.op.shortcuts or not _is_node(call.operands[0]) or _is_node(call.operands[1]):
        return call
    name = call.op.shortcut(meta[call.operands[0]].dtype, call.operands[1])
    return call if name is None else MapCall(REGISTRY.ops[name], call.operands[:1], [])


def partition(nodes, meta, root=None, max_inputs=8):
    """The fused groups of the graph whose nodes (in order) are `nodes`, with recorded `meta`; a
    group needing more than `max_inputs` inputs (the kernel op's tensor parameters) stays eager."""
    calls = fusable_calls(nodes, meta, root)
    reductions = _fusable_reductions(nodes, meta, calls)
    materialized = [n for n in nodes if n in calls and any(u not in calls for u in n.users)]
    cut = set(materialized)
    groups = []
    for out in materialized:
        members, inputs = set(), []

        def visit(n):
            if n in members:
                return
            members.add(n)
            for a in calls[n].operands:
                if not _is_node(a):
                    continue
                if a in calls and a not in cut:
                    visit(a)
                elif a not in inputs:
                    inputs.append(a)
        members.add(out)
        for a in calls[out].operands:
            if _is_node(a):
                if a in calls and a not in cut:
                    visit(a)
                elif a not in inputs:
                    inputs.append(a)
        reduce = reductions.get(out)
        if len(members) < (1 if reduce else 2) or len(inputs) > max_inputs:
            continue
        ordered = [n for n in nodes if n in members]
        if reduce is not None:
            groups.append(Group(reduce[0], ordered + [reduce[0]], inputs, calls, reduce[1]))
        else:
            groups.append(Group(out, ordered, inputs, calls))
    return groups


def _fusable_reductions(nodes, meta, calls):
    """{fusable value: (reduction node, ReduceCall with normalized dims)} for each sum/mean that can
    end the value's group: the value is float32 or float64, the reduction its only user, and the
    reduction keeps its dtype."""
    found = {}
    for n in nodes:
        r = reduce_call(n)
        if r is None or r.input not in calls or len(r.input.users) != 1:
            continue
        m, out = meta.get(r.input), meta.get(n)
        if not isinstance(out, TensorMeta) or m.dtype.name not in ("float32", "float64") or out.dtype != m.dtype:
            continue
        if r.dims is None:
            dims = ()
        else:
            if any(not -m.ndim <= d < m.ndim for d in r.dims):
                continue   # eager raises the error
            dims = tuple(sorted({d % m.ndim for d in r.dims}))
        r.dims = dims
        found[r.input] = (n, r)
    return found
