"""`Interpreter` runs a GraphModule node by node; `Transformer` does so on proxies to build a new one.

Both are torch.fx's: subclass and override `call_function`, `call_module`, ... (one method per
node op, each given the node's target and its evaluated args/kwargs), or `run_node` for
everything. The Interpreter drops each value after its last use, so running a graph holds no more
memory than running the generated code.
"""
import inspect

from .graph import Graph
from .graph_module import GraphModule
from .node import map_aggregate, map_arg
from .proxy import Proxy
from .tracer import Tracer

__all__ = ["Interpreter", "Transformer"]


class Interpreter:
    """Run `module`'s graph (or `graph`) on concrete values, one overridable method per node op."""

    def __init__(self, module, garbage_collect_values=True, graph=None):
        self.module = module
        self.submodules = dict(module.named_modules())
        self.graph = graph if graph is not None else module.graph
        self.env = {}
        self.name = "Interpreter"
        self.garbage_collect_values = garbage_collect_values
        self.extra_traceback = True
        if garbage_collect_values:
            # the node after which each value is no longer needed
            last_use = {}
            for node in self.graph.nodes:
                for inp in node.all_input_nodes:
                    last_use[inp] = node
            self.user_to_last_uses = {}
            for value, user in last_use.items():
                self.user_to_last_uses.setdefault(user, []).append(value)

    def run(self, *args, initial_env=None, enable_io_processing=True):
        """Run the graph on `args` (one per placeholder); returns what the output node returns.
        `initial_env` maps nodes to values that are taken as already computed."""
        self.env = dict(initial_env) if initial_env is not None else {}
        self.args_iter = iter(args)
        for node in self.graph.nodes:
            if node in self.env:
                continue
            try:
                self.env[node] = self.run_node(node)
            except Exception as e:
                if self.extra_traceback:
                    e.add_note(f"While executing {node.format_node()}")
                raise
            if self.garbage_collect_values:
                for dead in self.user_to_last_uses.get(node, []):
                    self.env.pop(dead, None)
            if node.op == "output":
                return self.env[node]
        return None

    def boxed_run(self, args_list):
        """`run` taking its arguments as a list, which it empties (so the values can be freed)."""
        args = list(args_list)
        args_list.clear()
        return self.run(*args)

    def run_node(self, n):
        """Evaluate node `n`: fetch its inputs from the environment, call the method for its op."""
        args, kwargs = self.fetch_args_kwargs_from_env(n)
        return getattr(self, n.op)(n.target, args, kwargs)

    # ---- one method per node op ----------------------------------------------------------------------------
    def placeholder(self, target, args, kwargs):
        """The next positional input (or the rest of them, for `*args`); else the default."""
        if target.startswith("**"):
            raise RuntimeError("Interpreter.run takes positional inputs only; a **kwargs placeholder "
                               "cannot be fed")
        if target.startswith("*"):
            return list(self.args_iter)
        try:
            return next(self.args_iter)
        except StopIteration:
            if args:
                return args[0]
            raise RuntimeError(f"Expected positional argument for parameter {target}, but one was not passed in!")

    def get_attr(self, target, args, kwargs):
        return self.fetch_attr(target)

    def call_function(self, target, args, kwargs):
        return target(*args, **kwargs)

    def call_method(self, target, args, kwargs):
        self_obj, *rest = args
        return getattr(self_obj, target)(*rest, **kwargs)

    def call_module(self, target, args, kwargs):
        return self.fetch_attr(target)(*args, **kwargs)

    def output(self, target, args, kwargs):
        return args[0]

    # ---- helpers ------------------------------------------------------------------------------------------------
    def fetch_attr(self, target):
        """The attribute of the module at dotted path `target`."""
        obj = self.module
        for i, atom in enumerate(target.split(".")):
            if not hasattr(obj, atom):
                raise RuntimeError(f"Node referenced nonexistent target {'.'.join(target.split('.')[:i + 1])}")
            obj = getattr(obj, atom)
        return obj

    def fetch_args_kwargs_from_env(self, n):
        """Node `n`'s args and kwargs with each input node replaced by its value."""
        return self.map_nodes_to_values(n.args, n), self.map_nodes_to_values(n.kwargs, n)

    def map_nodes_to_values(self, args, n):
        def load(node):
            if node not in self.env:
                raise RuntimeError(f"Node {n} referenced nonexistent value {node}! Run Graph.lint() "
                                   f"to diagnose such issues")
            return self.env[node]
        return map_arg(args, load)


class _TransformerTracer(Tracer):
    """The tracer a Transformer records with: every module call stays one call_module node."""

    def __init__(self, graph, root):
        super().__init__(autowrap_modules=())
        self.graph = graph
        self.root = root
        self._module_paths = {id(m): name for name, m in root.named_modules()}
        self._tensor_paths = self._collect_tensor_paths(root)

    def is_leaf_module(self, m, module_qualified_name):
        return True


class Transformer(Interpreter):
    """Run a GraphModule on proxies to produce a new one (torch.fx.Transformer): each override of
    `call_function` etc. returns what the new graph should compute for that node, typically by
    calling the replacement on its (proxy) arguments. `transform()` returns the new GraphModule."""

    def __init__(self, module):
        super().__init__(module)
        self.new_graph = Graph()
        self.tracer = _TransformerTracer(self.new_graph, module)

    def placeholder(self, target, args, kwargs):
        default = args[0] if args else inspect.Signature.empty
        return Proxy(self.new_graph.placeholder(target, default_value=default), self.tracer)

    def get_attr(self, target, args, kwargs):
        return self.tracer.create_proxy("get_attr", target, args, kwargs)

    def call_module(self, target, args, kwargs):
        submod = self.fetch_attr(target)
        return self.tracer.call_module(submod, submod.forward, args, kwargs)

    def call_function(self, target, args, kwargs):
        return self.tracer.create_proxy("call_function", target, args, kwargs)

    def call_method(self, target, args, kwargs):
        return self.tracer.create_proxy("call_method", target, args, kwargs)

    def run_node(self, n):
        result = super().run_node(n)
        if isinstance(result, Proxy) and n.op != "output":
            # keep what earlier passes recorded (shapes, ...) where a node maps to one new node
            for k, v in n.meta.items():
                result.node.meta.setdefault(k, v)
        return result

    def transform(self):
        """Run the transformation; the new GraphModule shares this module's submodules and state."""
        result = self.run(enable_io_processing=False)
        if result is not None:
            self.new_graph.output(map_aggregate(result, lambda v: v.node if isinstance(v, Proxy) else v))
        return GraphModule(self.module, self.new_graph)
