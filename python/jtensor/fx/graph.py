"""`Graph`: the nodes of a captured program, in execution order (torch.fx.Graph).

The nodes form a doubly-linked list around a sentinel `root` node; `graph.nodes` walks it (and
keeps walking correctly when the loop body erases or moves the node it is on). New nodes go at the
insertion point, the end unless `inserting_before`/`inserting_after` moved it. `python_code` (in
codegen.py) turns the graph back into Python source for `GraphModule`.
"""
import builtins
import inspect
import keyword
import operator
import re

from .node import Node, map_arg

__all__ = ["Graph"]

# Functions whose calls dead-code elimination keeps even when their result is unused.
_SIDE_EFFECTFUL = set()


def has_side_effect(fn):
    """Mark `fn` as having side effects, so that `eliminate_dead_code` never removes its calls
    (torch.fx.node.has_side_effect); usable as a decorator."""
    _SIDE_EFFECTFUL.add(fn)
    return fn


has_side_effect(operator.setitem)   # `x[i] = v` on a traced value


def _snake_case(s):
    """`MyModule` -> `my_module` (how torch.fx names nodes after CamelCase targets)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", s).lower()


class _Namespace:
    """Unique, legal Python identifiers for node names: `add`, `add_1`, `add_2`...; names of
    keywords and builtins (`sum`, `getattr`) get a suffix so the generated code can still call them."""

    _ILLEGAL = re.compile(r"[^0-9a-zA-Z_]+")
    _SUFFIX = re.compile(r"(.*)_(\d+)$")
    _RESERVED = {"self", "jtensor", "inf", "nan", "device", "operator", "builtins"}

    def __init__(self):
        self._used = set()
        self._base_count = {}

    def _illegal(self, name):
        return keyword.iskeyword(name) or name in builtins.__dict__ or name in self._RESERVED

    def create_name(self, candidate):
        candidate = self._ILLEGAL.sub("_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = "_" + candidate
        m = self._SUFFIX.match(candidate)
        base, num = (candidate, None) if m is None else (m.group(1), int(m.group(2)))
        if not num:
            num = self._base_count.get(base, 0)
        while candidate in self._used or self._illegal(candidate):
            num += 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        self._base_count[base] = num
        return candidate

    def associate(self, name):
        self._used.add(name)


class _NodeList:
    """`graph.nodes`: iterates the linked list, skipping nodes erased while iterating."""

    def __init__(self, graph, reverse=False):
        self._graph = graph
        self._reverse = reverse

    def __len__(self):
        return self._graph._len

    def __iter__(self):
        root = self._graph._root
        step = "_prev" if self._reverse else "_next"
        cur = getattr(root, step)
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = getattr(cur, step)

    def __reversed__(self):
        return iter(_NodeList(self._graph, not self._reverse))


class _InsertPoint:
    """Sets where new nodes go; as a context manager, restores the previous point on exit."""

    def __init__(self, graph, insert):
        self.graph = graph
        self.previous = graph._insert
        graph._insert = insert

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.graph._insert = self.previous


class Graph:
    """A program as a list of `Node`s (torch.fx.Graph). Build one with `symbolic_trace`, or by
    hand with `placeholder`, `call_function`, ..., `output`; run it through a `GraphModule`."""

    def __init__(self, owning_module=None, tracer_cls=None):
        self._root = Node(self, "", "root", "", (), {})
        self._insert = self._root.prepend
        self._len = 0
        self._namespace = _Namespace()
        self._owning_module = owning_module
        self._tracer_cls = tracer_cls

    @property
    def owning_module(self):
        """The GraphModule this graph belongs to (None for a free-standing graph)."""
        return self._owning_module

    @owning_module.setter
    def owning_module(self, mod):
        self._owning_module = mod

    @property
    def nodes(self):
        """The nodes in order (a live view: it follows edits)."""
        return _NodeList(self)

    def find_nodes(self, *, op, target=None):
        """The nodes with this `op` (and `target`, when given), in order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # ---- creating nodes -----------------------------------------------------------------------------
    def _target_to_str(self, target):
        name = target if isinstance(target, str) else getattr(target, "__name__", type(target).__name__)
        if name.startswith("__") and name.endswith("__") and len(name) > 4:
            name = name[2:-2]
        return _snake_case(name)

    def create_node(self, op, target=None, args=None, kwargs=None, name=None, type_expr=None):
        """Make a node at the insertion point, named `name` (made unique) or after its target."""
        candidate = name if name is not None else self._target_to_str(target)
        node = Node(self, self._namespace.create_name(candidate), op, target, args or (), kwargs or {}, type_expr)
        self._insert(node)
        self._len += 1
        return node

    def placeholder(self, name, type_expr=None, default_value=inspect.Signature.empty):
        """An input of the program, called `name` in the generated signature."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args=args, type_expr=type_expr)

    def get_attr(self, qualified_name, type_expr=None):
        """Fetch a parameter, buffer or other attribute of the owning module by dotted path."""
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name, args=None, kwargs=None, type_expr=None):
        """Call the owning module's submodule at dotted path `module_name`."""
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name, args=None, kwargs=None, type_expr=None):
        """Call method `method_name` on `args[0]`."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None):
        """Call a free function (`jt.relu`, `operator.add`, ...)."""
        return self.create_node("call_function", the_function, args, kwargs, type_expr=type_expr)

    def output(self, result, type_expr=None):
        """The program's return value (nodes, possibly nested in tuples, lists and dicts)."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node, arg_transform=lambda n: n):
        """Copy `node` (from any graph) into this one, mapping its input nodes by `arg_transform`."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        new = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        new.meta = dict(node.meta)
        return new

    def graph_copy(self, g, val_map, return_output_node=False):
        """Copy all of `g`'s nodes into this graph, recording old -> new in `val_map`; returns the
        value `g` outputs (in terms of the new nodes), or the output node itself when asked."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                out = map_arg(node.args[0], lambda n: val_map[n])
                return (out, node) if return_output_node else out
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo=None):
        g = Graph(tracer_cls=self._tracer_cls)
        out = g.graph_copy(self, {}, return_output_node=True)
        if out is not None:
            value, node = out
            g.output(value, type_expr=node.type)
        return g

    # ---- editing --------------------------------------------------------------------------------------
    def erase_node(self, to_erase):
        """Remove a node that nothing uses any more."""
        if len(to_erase.users) > 0:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} "
                               f"users in the graph: {to_erase.users}!")
        if to_erase.graph is not self:
            raise RuntimeError(f"Attempting to remove {to_erase} from wrong graph!")
        if to_erase._erased:
            return
        p, n = to_erase._prev, to_erase._next
        p._next, n._prev = n, p
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})

    def inserting_before(self, n=None):
        """New nodes go right before `n` (the start of the graph when None); use with `with`."""
        if n is None:
            return self.inserting_after(self._root)
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n=None):
        """New nodes go right after `n` (the end of the graph when None). As in torch.fx each one
        goes directly after `n`, so several land in reverse order: nest the calls to chain them."""
        if n is None:
            return self.inserting_before(self._root)
        return _InsertPoint(self, n.append)

    def eliminate_dead_code(self, is_impure_node=None):
        """Erase nodes whose results nothing uses (except impure ones, see `Node.is_impure`);
        returns whether anything changed. Walks backwards, so whole dead chains go at once."""
        changed = False
        for node in reversed(self.nodes):
            impure = is_impure_node(node) if is_impure_node is not None else node.is_impure()
            if not impure and len(node.users) == 0:
                self.erase_node(node)
                changed = True
        return changed

    # ---- checking and printing ------------------------------------------------------------------------
    def lint(self):
        """Check the graph is well formed: nodes belong to it, names are unique, every input is
        defined before use, users match inputs, and targets exist on the owning module."""
        seen_names, seen = set(), set()
        outputs = 0
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            if node.op not in ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output"):
                raise RuntimeError(f"Node {node} had unknown opcode {node.op}!")
            for arg in node.all_input_nodes:
                if arg.graph is not self:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' does not belong to this Graph, but was "
                                       f"used as an argument! If you are copying nodes from another graph, make "
                                       f"sure to use ``arg_transform`` on node_copy() to remap values\n{self}")
                if arg not in seen:
                    raise RuntimeError(f"Argument '{arg}' of Node '{node}' was used before it has been defined! "
                                       f"Please check that Nodes in the graph are topologically ordered\n{self}")
                if node not in arg.users:
                    raise RuntimeError(f"Node '{node}' uses '{arg}' but is missing from its users")
            for user in node.users:
                if node not in user._input_nodes:
                    raise RuntimeError(f"Node '{node}' lists '{user}' as a user, but '{user}' does not use it")
            if node.name in seen_names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            seen_names.add(node.name)
            seen.add(node)
            outputs += node.op == "output"
        if outputs > 1:
            raise RuntimeError(f"Graph has {outputs} output nodes; a graph returns once\n{self}")
        if self.owning_module is not None:
            for node in self.nodes:
                if node.op in ("call_module", "get_attr"):
                    self._check_target(node)

    def _check_target(self, node):
        from ..nn import Module
        obj, seen = self.owning_module, []
        for atom in node.target.split("."):
            if not hasattr(obj, atom):
                where = ".".join(seen) or "the root module"
                raise RuntimeError(f"Node {node} target {node.target} references nonexistent attribute "
                                   f"{atom} of {where}")
            obj = getattr(obj, atom)
            seen.append(atom)
        if node.op == "call_module" and not isinstance(obj, Module):
            raise RuntimeError(f"Node {node} target {node.target} does not reference a jt.nn.Module")

    def python_code(self, root_module="self"):
        """The graph as Python source (`PythonCode(src, globals)`) defining `forward(self, ...)`."""
        from .codegen import python_code
        return python_code(self, root_module)

    def __str__(self):
        lines = ["graph():"] + ["    " + n.format_node() for n in self.nodes]
        return "\n".join(lines)

    def print_tabular(self):
        """Print the nodes as a table: opcode, name, target, args, kwargs (with `tabulate` when it
        is installed, else as aligned columns)."""
        from .node import _format_arg, _qualified_name
        headers = ["opcode", "name", "target", "args", "kwargs"]
        rows = [[n.op, n.name, _qualified_name(n.target) if n.op == "call_function" else n.target,
                 _format_arg(n.args).replace("%", ""), _format_arg(n.kwargs).replace("%", "")] for n in self.nodes]
        try:
            from tabulate import tabulate
        except ImportError:
            widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
            fmt = "  ".join(f"{{:<{w}}}" for w in widths)
            print("\n".join([fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
                            + [fmt.format(*map(str, r)).rstrip() for r in rows]))
        else:
            print(tabulate(rows, headers=headers))

