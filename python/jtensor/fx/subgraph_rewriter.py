"""`replace_pattern`: find every occurrence of a small program in a graph and substitute another.

`pattern` and `replacement` are functions (or GraphModules) with the same inputs; both are traced.
A match is a set of nodes of the graph that computes the pattern's output from some values: node
for node the same ops, targets and constant arguments, the pattern's inputs standing for any
value. A pattern may return several values (a tuple); the replacement then returns as many. Nodes
inside a match other than its outputs must not be used outside it (else removing them would break
those uses). Matches do not overlap; each is replaced by a copy of the replacement's nodes, wired
to the values the pattern's inputs matched, placed before the first use of the match's outputs.
"""
from collections import namedtuple

from .graph_module import GraphModule, _copy_attr
from .node import Node

__all__ = ["Match", "replace_pattern"]

Match = namedtuple("Match", ["anchor", "nodes_map"])
Match.__doc__ = """One replaced occurrence: `anchor` is the pattern's (first) output node, `nodes_map`
maps each pattern node to the graph node it matched."""


def _as_graph_module(fn):
    if isinstance(fn, GraphModule):
        return fn
    from .tracer import symbolic_trace
    return symbolic_trace(fn)


class _Matcher:
    """Matches pattern nodes to graph nodes, from the pattern's outputs (its anchors) backwards."""

    def __init__(self, pattern_graph):
        self.placeholders = [n for n in pattern_graph.nodes if n.op == "placeholder"]
        (output,) = [n for n in pattern_graph.nodes if n.op == "output"]
        result = output.args[0]
        self.anchors = list(result) if isinstance(result, (tuple, list)) else [result]
        if not self.anchors or not all(isinstance(a, Node) and a.op != "placeholder" for a in self.anchors):
            raise ValueError("replace_pattern: the pattern must return computed values (a node, or a "
                             "tuple of nodes)")
        self.inner = [n for n in pattern_graph.nodes if n.op not in ("placeholder", "output")]

    def match(self, gn, graph):
        """The pattern -> graph node map when the pattern's first output can be `gn` (and its
        other outputs some nodes of `graph`), else None."""
        nodes_map = {}
        if not self._node(self.anchors[0], gn, nodes_map):
            return None
        for anchor in self.anchors[1:]:
            if anchor in nodes_map:
                continue
            for candidate in graph.nodes:
                trial = dict(nodes_map)
                if candidate not in trial.values() and self._node(anchor, candidate, trial):
                    nodes_map = trial
                    break
            else:
                return None
        matched = {nodes_map[p] for p in self.inner}
        for p in self.inner:
            if p not in self.anchors and any(u not in matched for u in nodes_map[p].users):
                return None   # an intermediate value is used outside the match
        return nodes_map

    def _node(self, pn, gn, nodes_map):
        if pn in nodes_map:
            return nodes_map[pn] is gn
        if pn.op == "placeholder":
            nodes_map[pn] = gn
            return True
        if gn.op != pn.op or gn.target != pn.target or gn in nodes_map.values():
            return False
        if len(pn.args) != len(gn.args) or set(pn.kwargs) != set(gn.kwargs):
            return False
        nodes_map[pn] = gn
        ok = all(self._arg(a, b, nodes_map) for a, b in zip(pn.args, gn.args)) and \
            all(self._arg(pn.kwargs[k], gn.kwargs[k], nodes_map) for k in pn.kwargs)
        if not ok:
            del nodes_map[pn]
        return ok

    def _arg(self, pa, ga, nodes_map):
        if isinstance(pa, Node):
            if isinstance(ga, Node):
                return self._node(pa, ga, nodes_map)
            # a pattern input may stand for a constant too
            return pa.op == "placeholder" and nodes_map.setdefault(pa, ga) is ga
        if isinstance(pa, (tuple, list)):
            return type(pa) is type(ga) and len(pa) == len(ga) and \
                all(self._arg(a, b, nodes_map) for a, b in zip(pa, ga))
        if isinstance(pa, dict):
            return isinstance(ga, dict) and pa.keys() == ga.keys() and \
                all(self._arg(pa[k], ga[k], nodes_map) for k in pa)
        return not isinstance(ga, Node) and type(pa) is type(ga) and pa == ga


def replace_pattern(gm, pattern, replacement):
    """Replace every (non-overlapping) match of `pattern` in `gm` by `replacement`; returns the
    list of `Match`es, and recompiles `gm`. torch.fx.replace_pattern."""
    pattern_gm = _as_graph_module(pattern)
    replacement_gm = _as_graph_module(replacement)
    matcher = _Matcher(pattern_gm.graph)
    graph = gm.graph

    matches, taken = [], set()
    for gn in graph.nodes:
        nodes_map = matcher.match(gn, graph)
        if nodes_map is None:
            continue
        inner = {nodes_map[p] for p in matcher.inner}
        if inner & taken:
            continue
        taken |= inner
        matches.append(Match(matcher.anchors[0], nodes_map))

    # what the replacement reads from its module (parameters, submodules) must exist on gm
    for node in replacement_gm.graph.nodes:
        if node.op in ("get_attr", "call_module") and not _has_path(gm, node.target):
            _copy_attr(replacement_gm, gm, node.target)

    r_placeholders = [n for n in replacement_gm.graph.nodes if n.op == "placeholder"]
    if len(r_placeholders) != len(matcher.placeholders):
        raise ValueError(f"replace_pattern: the pattern takes {len(matcher.placeholders)} inputs but the "
                         f"replacement takes {len(r_placeholders)}")
    replaced = {}   # outputs of earlier matches -> the values that replaced them
    done = []
    for m in matches:
        val_map = {}
        for rp, pp in zip(r_placeholders, matcher.placeholders):
            if pp in m.nodes_map:
                value = m.nodes_map[pp]
                while isinstance(value, Node) and value in replaced:
                    value = replaced[value]
                val_map[rp] = value
            elif rp.users:
                raise ValueError(f"replace_pattern: replacement input {rp.target} matches an unused pattern input")
        anchors = [m.nodes_map[a] for a in matcher.anchors]
        where = _insertion_point(graph, anchors, [v for v in val_map.values() if isinstance(v, Node)],
                                 {m.nodes_map[p] for p in matcher.inner})
        if where is None:
            continue   # no single place is after every input and before every use
        with graph.inserting_before(where):
            out = graph.graph_copy(replacement_gm.graph, val_map)
        outs = list(out) if len(anchors) > 1 else [out]
        if len(outs) != len(anchors):
            raise ValueError(f"replace_pattern: the pattern returns {len(anchors)} values but the replacement "
                             f"returns {len(outs)}")
        for anchor, new in zip(anchors, outs):
            anchor.replace_all_uses_with(new)
            replaced[anchor] = new
        for pn in reversed(matcher.inner):
            graph.erase_node(m.nodes_map[pn])
        done.append(m)
    gm.recompile()
    return done


def _insertion_point(graph, anchors, inputs, matched):
    """Where the copy of the replacement goes: as torch.fx, before the first use of an output of
    the match; it must come after every input. None when no node satisfies both."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    users = [u for a in anchors for u in a.users if u not in matched]
    first_use = min(users, key=order.__getitem__) if users else max(anchors, key=order.__getitem__).next
    limit = order.get(first_use, len(order))
    if any(order[v] >= limit for v in inputs):
        return None
    return first_use


def _has_path(module, target):
    obj = module
    for atom in target.split("."):
        if not hasattr(obj, atom):
            return False
        obj = getattr(obj, atom)
    return True
