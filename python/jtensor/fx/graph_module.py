"""`GraphModule`: a jt.nn.Module whose forward is the Python code generated from a Graph.

As torch.fx's: it takes from `root` (a Module, or a dict of name -> value) only the submodules,
parameters and buffers its graph refers to, at the same dotted paths (so state-dict keys match the
original model's); `recompile()` regenerates `.code` after the graph was edited. Each instance
gets its own class, so that setting `forward` on one does not touch the others. The generated
source is registered with `linecache`, so tracebacks and `inspect` show the real lines.
"""
import copy
import itertools
import linecache

from ..nn import Module, Parameter
from .._tensor import Tensor
from .codegen import base_globals
from .graph import Graph

__all__ = ["GraphModule"]

_counter = itertools.count()


def _copy_attr(from_module, to_module, target):
    """Install `from_module`'s attribute at dotted path `target` on `to_module`, creating empty
    Modules for missing intermediate levels; tensors that are not Parameters become buffers."""
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:   # the whole submodule was installed already
            return
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    orig = getattr(from_module, field)
    if isinstance(orig, Tensor) and not isinstance(orig, Parameter):
        persistent = field not in getattr(from_module, "_non_persistent_buffers_set", ())
        to_module.register_buffer(field, orig, persistent=persistent)
    else:
        setattr(to_module, field, orig)


def _assign_attr(value, to_module, target):
    """Set `value` at dotted path `target` of `to_module` (a dict root's entries)."""
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = Module()
            setattr(to_module, item, t)
        to_module = t
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        to_module.register_buffer(field, value)
    else:
        setattr(to_module, field, value)


def _rebuild_graph_module(state, extra_globals, class_name):
    """Unpickling: run the saved code on a module holding the saved state, and trace it again
    with every submodule kept whole, which gives back the graph."""
    from .tracer import Tracer
    globals_ = dict(base_globals(), **extra_globals)
    exec(compile(state["_code"], f"<{class_name} (unpickled)>", "exec"), globals_)

    class CodeRoot(Module):
        forward = globals_["forward"]

    class KeepModules(Tracer):
        def is_leaf_module(self, m, module_qualified_name):
            return True
    root = CodeRoot.__new__(CodeRoot)
    root.__dict__.update(state)
    gm = GraphModule(root, KeepModules().trace(root), class_name)
    gm.meta = state.get("meta", {})
    return gm


class GraphModule(Module):
    """A Module made from a Graph (torch.fx.GraphModule): `gm(x)` runs `gm.code`."""

    def __new__(cls, *args, **kwargs):
        # one class per instance: `forward` is set on the class by recompile()
        base = next(t for t in cls.__mro__ if t.__dict__.get("_is_instance_class") is not True)

        class GraphModuleImpl(base):
            _is_instance_class = True
        return super().__new__(GraphModuleImpl)

    def __init__(self, root, graph, class_name="GraphModule"):
        super().__init__()
        type(self).__name__ = class_name
        type(self).__qualname__ = class_name
        if isinstance(root, Module):
            self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"Node {node} referenced target {node.target} but that target was "
                                           f"not provided in ``root``!")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")
        self.meta = {}
        self.graph = graph

    @property
    def graph(self):
        """The Graph this module runs; assigning one regenerates the code."""
        return self.__dict__["_graph"]

    @graph.setter
    def graph(self, g):
        if not isinstance(g, Graph):
            raise TypeError(f"expected a jt.fx.Graph, got {type(g).__name__}")
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self):
        """The Python source of `forward`, generated from the graph."""
        return self.__dict__["_code"]

    def recompile(self):
        """Regenerate `forward` from the graph (call it after editing the graph)."""
        python_code = self.graph.python_code(root_module="self")
        src = python_code.src
        self.__dict__["_code"] = src
        self.__dict__["_code_globals"] = python_code.globals
        key = f"<eval_with_key>.{next(_counter)}"
        linecache.cache[key] = (len(src), None, src.splitlines(True), key)
        globals_ = dict(python_code.globals)
        exec(compile(src, key, "exec"), globals_)
        type(self).forward = globals_["forward"]
        return python_code

    def print_readable(self, print_output=True):
        """The module as a class definition with its generated forward (printed unless asked not to)."""
        body = "\n".join("    " + line if line else line for line in self.code.strip("\n").splitlines())
        text = f"class {type(self).__name__}(jt.nn.Module):\n{body}\n"
        if print_output:
            print(text)
        return text

    # ---- submodules ----------------------------------------------------------------------------------------
    def add_submodule(self, target, m):
        """Install module `m` at dotted path `target`, creating empty Modules on the way."""
        *prefix, field = target.split(".")
        mod = self
        for item in prefix:
            sub = getattr(mod, item, None)
            if sub is None:
                sub = Module()
                setattr(mod, item, sub)
            elif not isinstance(sub, Module):
                return False
            mod = sub
        mod.add_module(field, m)
        return True

    def delete_submodule(self, target):
        """Remove the submodule at dotted path `target`; False when there is none."""
        *prefix, field = target.split(".")
        mod = self
        for item in prefix:
            mod = getattr(mod, item, None)
            if not isinstance(mod, Module):
                return False
        if field not in mod._modules:
            return False
        delattr(mod, field)
        return True

    def delete_all_unused_submodules(self):
        """Remove the submodules that no call_module or get_attr node refers to."""
        used = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                parts = node.target.split(".")
                used.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        for name, _ in list(self.named_modules()):
            if name and name not in used and not any(u.startswith(name + ".") for u in used):
                self.delete_submodule(name)

    # ---- copying and printing ------------------------------------------------------------------------------
    def __deepcopy__(self, memo):
        fake = Module()
        fake.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items()
                                          if k not in ("_graph", "_code_globals")}, memo))
        graph = copy.deepcopy(self.graph, memo)
        res = GraphModule(fake, graph, type(self).__name__)
        res.meta = fake.__dict__.get("meta", {})
        return res

    def __reduce__(self):
        # the per-instance class cannot be pickled by name: rebuild from the state and the code
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code_globals")}
        extra = {k: v for k, v in self.__dict__["_code_globals"].items() if k not in base_globals()}
        return _rebuild_graph_module, (state, extra, type(self).__name__)

    def __copy__(self):
        res = GraphModule(self, self.graph, type(self).__name__)
        res.meta = getattr(self, "meta", {})
        return res

    def __str__(self):
        return "\n".join([super().__repr__(), self.code,
                          "# To see more debug info, please use `graph_module.print_readable()`"])
