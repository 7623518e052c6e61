"""`Node`: one operation of a `Graph`, with torch.fx's fields and editing methods.

A node has an `op` (placeholder, get_attr, call_function, call_method, call_module, output), a
`target` (the function, method name, module path or attribute path), `args`/`kwargs` that may hold
other nodes (nested in tuples, lists, dicts and slices), and `users`, the nodes that take it as an
input. Nodes sit in their graph's doubly-linked list, so inserting and moving them is O(1).
"""
import builtins

__all__ = ["Node", "map_arg", "map_aggregate"]

_OPS = ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output", "root")


def map_aggregate(a, fn):
    """Apply `fn` to every leaf of `a`, rebuilding tuples (named ones too), lists, dicts and slices."""
    if isinstance(a, tuple):
        t = tuple(map_aggregate(e, fn) for e in a)
        return t if not hasattr(a, "_fields") else type(a)(*t)
    if isinstance(a, list):
        return [map_aggregate(e, fn) for e in a]
    if isinstance(a, dict):
        return {k: map_aggregate(v, fn) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a, fn):
    """Apply `fn` to every Node inside `a` (an argument structure); other values are kept."""
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _qualified_name(obj):
    """`module.qualname` of a function, for printing targets (`operator.add`, `jtensor.relu`)."""
    if getattr(obj, "__module__", None) == "_operator":
        return f"operator.{obj.__name__}"
    if obj is getattr(builtins, getattr(obj, "__name__", ""), None):
        return f"builtins.{obj.__name__}"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    module = getattr(obj, "__module__", None)
    return f"{module}.{name}" if module else name


def _format_arg(arg):
    """An argument as the graph's IR text shows it: nodes as `%name`."""
    if isinstance(arg, Node):
        return "%" + arg.name
    if isinstance(arg, tuple):
        inner = ", ".join(_format_arg(a) for a in arg)
        return f"({inner},)" if len(arg) == 1 else f"({inner})"
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    return str(arg)


class Node:
    """One operation in a `Graph` (torch.fx.Node). Create nodes through the graph's methods
    (`graph.call_function(...)`), which name and place them."""

    def __init__(self, graph, name, op, target, args, kwargs, return_type=None):
        if op not in _OPS:
            raise ValueError(f"Node op must be one of {_OPS[:-1]}, got {op!r}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                             f"{type(target)} but a Callable is expected")
        if op in ("placeholder", "get_attr", "call_method", "call_module") and not isinstance(target, str):
            raise ValueError(f"Node [graph = {graph}, name = '{name}'] target {target} has type "
                             f"{type(target)} but a str is expected")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self.type = return_type
        self._input_nodes = {}
        self.users = {}
        self.meta = {}
        self._prev = self._next = self
        self._erased = False
        self._args = ()
        self._kwargs = {}
        self._update_args_kwargs(args, kwargs)

    # ---- linked-list position ---------------------------------------------------------------------
    @property
    def next(self):
        """The node after this one (the graph's sentinel root after the last)."""
        return self._next

    @property
    def prev(self):
        return self._prev

    def _remove_from_list(self):
        p, n = self._prev, self._next
        p._next, n._prev = n, p
        self._prev = self._next = self

    def prepend(self, x):
        """Put node `x` right before this one (moving it if it is already in the graph)."""
        if self is x:   # already in place (as torch.fx, not an error)
            return
        if x.graph is not self.graph:
            raise RuntimeError("Attempting to move a Node into a different Graph")
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x):
        """Put node `x` right after this one."""
        self._next.prepend(x)

    # ---- arguments and users ----------------------------------------------------------------------
    @property
    def args(self):
        """The positional arguments (nodes and constants). Assigning updates the users of inputs."""
        return self._args

    @args.setter
    def args(self, a):
        self._update_args_kwargs(a, self._kwargs)

    @property
    def kwargs(self):
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k):
        self._update_args_kwargs(self._args, k)

    @property
    def all_input_nodes(self):
        """The distinct nodes among args and kwargs, in order of first appearance."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, args, kwargs):
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = {}
        self._args = tuple(args) if args is not None else ()
        self._kwargs = dict(kwargs) if kwargs is not None else {}

        def collect(n):
            if n.graph is not self.graph and self.op != "root":
                raise RuntimeError(f"Argument '{n}' of Node '{self}' does not belong to this Graph")
            self._input_nodes.setdefault(n)
            return n
        map_arg((self._args, self._kwargs), collect)
        for n in self._input_nodes:
            n.users.setdefault(self)

    def update_arg(self, idx, arg):
        """Set positional argument `idx` to `arg`."""
        args = list(self._args)
        args[idx] = arg
        self.args = tuple(args)

    def insert_arg(self, idx, arg):
        """Insert `arg` at position `idx` of the positional arguments."""
        args = list(self._args)
        args.insert(idx, arg)
        self.args = tuple(args)

    def update_kwarg(self, key, arg):
        kwargs = dict(self._kwargs)
        kwargs[key] = arg
        self.kwargs = kwargs

    def replace_input_with(self, old_input, new_input):
        """Use `new_input` wherever this node takes `old_input`."""
        def swap(n):
            return new_input if n is old_input else n
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(self, replace_with, delete_user_cb=lambda user: True, *, propagate_meta=False):
        """Make every user of this node (for which `delete_user_cb` is true) take `replace_with`
        instead; returns the users changed. `propagate_meta` copies this node's meta over."""
        if propagate_meta:
            if replace_with.meta:
                raise AssertionError("Called node.replace_all_uses_with(replace_with, propagate_meta=True), "
                                     "but replace_with already has .meta keys")
            replace_with.meta.update(self.meta)
        changed = [u for u in list(self.users) if delete_user_cb(u)]
        for user in changed:
            user.replace_input_with(self, replace_with)
        return changed

    def is_impure(self):
        """Whether dead-code elimination must keep this node even when nothing uses it:
        placeholders, the output, side-effectful functions, in-place methods (name ending in `_`,
        which PyTorch's DCE would drop), and modules with `_is_impure` set."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_function":
            from .graph import _SIDE_EFFECTFUL
            name = getattr(self.target, "__name__", "")
            return self.target in _SIDE_EFFECTFUL or (name.endswith("_") and not name.endswith("__")
                                                      and not name.startswith("_"))
        if self.op == "call_method":
            return self.target.endswith("_") and not self.target.endswith("__")
        if self.op == "call_module":
            owner = self.graph.owning_module
            if owner is None:
                return False
            return getattr(owner.get_submodule(self.target), "_is_impure", False)
        return False

    @property
    def stack_trace(self):
        """Where in the traced program this node came from, when a pass recorded it (meta)."""
        return self.meta.get("stack_trace")

    @stack_trace.setter
    def stack_trace(self, trace):
        self.meta["stack_trace"] = trace

    # ---- printing -----------------------------------------------------------------------------------
    def format_node(self):
        """The node as one line of the graph's IR text (`print(graph)`)."""
        head = f"%{self.name} : [num_users={len(self.users)}] = "
        if self.op == "placeholder":
            default = "" if not self.args else f"(default={self.args[0]})"
            return head + f"placeholder[target={self.target}]{default}"
        if self.op == "get_attr":
            return head + f"get_attr[target={self.target}]"
        if self.op == "output":
            return f"return {_format_arg(self.args[0]).replace('%', '')}"
        target = _qualified_name(self.target) if self.op == "call_function" else self.target
        return (head + f"{self.op}[target={target}](args = {_format_arg(self.args)}, "
                f"kwargs = {_format_arg(self.kwargs)})")

    def __repr__(self):
        return self.name

