"""Python source from a `Graph`: the `forward` that `GraphModule` runs and shows as `.code`.

One statement per node, in torch.fx's style: operators as operators (`add = x + 1`), attribute
reads as attribute reads (`getattr_1 = x.shape`), jtensor functions by their public path
(`jtensor.relu(add)`), methods as methods, submodules as `self.<path>(...)`. Values are released
(`x = None`) after their last use, so a long program does not hold every intermediate. Objects
with no Python spelling (user functions, tensors) become globals of the generated code.
"""
import builtins
import keyword
import math
import operator
from collections import namedtuple

from .graph import _Namespace
from .node import Node

__all__ = ["PythonCode", "python_code", "base_globals"]

PythonCode = namedtuple("PythonCode", ["src", "globals"])

# operator.<name> -> how Python writes it (torch.fx's magic-method table)
_BINARY = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//", "truediv": "/", "mod": "%", "pow": "**",
           "lshift": "<<", "rshift": ">>", "and_": "&", "or_": "|", "xor": "^", "matmul": "@",
           "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}
_UNARY = {"neg": "-", "pos": "+", "invert": "~"}


def _is_identifier(s):
    return isinstance(s, str) and s.isidentifier() and not keyword.iskeyword(s)


def attr_path(base, dotted):
    """`self.a.b`, with `getattr(self.seq, "0")` for atoms that are not identifiers."""
    expr = base
    for atom in dotted.split("."):
        expr = f"{expr}.{atom}" if _is_identifier(atom) else f'getattr({expr}, "{atom}")'
    return expr


def base_globals():
    """The names every generated forward can use."""
    import jtensor
    return {"jtensor": jtensor, "operator": operator, "inf": math.inf, "nan": math.nan}


# where a jtensor function is spelled first, when it is found there: `jtensor.nn.functional.gelu`
# rather than the module that defines it
_PUBLIC_NAMESPACES = ("jtensor", "jtensor.nn.functional", "jtensor.linalg", "jtensor.fft", "jtensor.special")


class _Globals:
    """The names the generated code refers to besides its locals: `jtensor` itself, `operator`,
    and one unique name per other object (a user function, a tensor constant)."""

    def __init__(self, namespace):
        self.ns = namespace
        self.values = base_globals()
        self._names = {}

    def add(self, obj, hint):
        key = id(obj)
        if key not in self._names:
            name = self.ns.create_name(hint)
            self.values[name] = obj
            self._names[key] = name
        return self._names[key]

    def public_path(self, obj):
        """`jtensor.<path>` for an object reachable that way from the jtensor package, else None."""
        name = getattr(obj, "__name__", None)
        candidates = [f"{ns}.{name}" for ns in _PUBLIC_NAMESPACES if _is_identifier(name)]
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if module and qualname and module.split(".")[0] == "jtensor" and "<" not in qualname:
            candidates.append(f"{module}.{qualname}")
            candidates.append(f"jtensor.{qualname}")
        op = getattr(obj, "_jt_op", None)
        if op is not None:
            candidates.append(f"jtensor.ops.{op.qualname}")
        for path in candidates:
            try:
                if eval(path, {"jtensor": self.values["jtensor"]}) is obj:
                    return path
            except Exception:   # not reachable by that path
                continue
        return None

    def function(self, fn):
        """How the generated code names a callable."""
        path = self.public_path(fn)
        if path is not None:
            return path
        name = getattr(fn, "__name__", None)
        if getattr(fn, "__module__", None) == "_operator" and getattr(operator, name or "", None) is fn:
            return f"operator.{name}"
        if name and getattr(builtins, name, None) is fn:
            return name
        return self.add(fn, name if name and name != "<lambda>" else "fn")


def _format_float(x):
    if math.isfinite(x):
        return repr(x)
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


class _Writer:
    """Source text for argument values and node expressions."""

    def __init__(self, namespace):
        self.globals = _Globals(namespace)

    def arg(self, a):
        """An argument value as source text."""
        if isinstance(a, Node):
            return a.name
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            cls = self.globals.add(type(a), type(a).__name__)
            return f"{cls}({', '.join(self.arg(x) for x in a)})"
        if isinstance(a, tuple):
            inner = ", ".join(self.arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, list):
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{self.arg(k)}: {self.arg(v)}" for k, v in a.items()) + "}"
        if isinstance(a, slice):
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        if a is Ellipsis:
            return "..."
        if isinstance(a, float) and type(a) is float:
            return _format_float(a)
        if a is None or type(a) in (bool, int, str, bytes, complex):
            return repr(a)
        from ..dtypes import dtype
        if isinstance(a, dtype) and eval(repr(a), {"jtensor": self.globals.values["jtensor"]}) is a:
            return repr(a)     # jtensor.float32
        path = self.globals.public_path(a)
        return path if path is not None else self.globals.add(a, _hint_for(a))

    def operand(self, a, method=False):
        """An operand of an operator, or the object of a method call: a negative literal is
        parenthesized (`(-2) ** x`, not `-2 ** x`), as is a number before a `.method()`."""
        text = self.arg(a)
        if not isinstance(a, Node) and (text.startswith("-") or method and isinstance(a, (int, float, complex))):
            return f"({text})"
        return text

    def index(self, key):
        """A subscript the way it would be typed: `x[:, 1:]`, `x[..., None]`."""
        def one(k):
            if isinstance(k, slice):
                parts = ["" if v is None else self.arg(v) for v in (k.start, k.stop, k.step)]
                return ":".join(parts[:2]) + (f":{parts[2]}" if k.step is not None else "")
            return self.arg(k)
        if isinstance(key, tuple) and not hasattr(key, "_fields"):
            if len(key) == 0:
                return "()"
            return ", ".join(one(k) for k in key) + ("," if len(key) == 1 else "")
        return one(key)

    def call_args(self, args, kwargs):
        return ", ".join([self.arg(a) for a in args] + [f"{k} = {self.arg(v)}" for k, v in kwargs.items()])

    def expression(self, node, root_module):
        op, target, args, kwargs = node.op, node.target, node.args, node.kwargs
        if op == "get_attr":
            return attr_path(root_module, target)
        if op == "call_module":
            return f"{attr_path(root_module, target)}({self.call_args(args, kwargs)})"
        if op == "call_method":
            return f"{self.operand(args[0], method=True)}.{target}({self.call_args(args[1:], kwargs)})"
        # call_function
        if not kwargs:
            name = getattr(target, "__name__", None)
            if getattr(operator, name or "", None) is target:
                if name in _BINARY and len(args) == 2:
                    return f"{self.operand(args[0])} {_BINARY[name]} {self.operand(args[1])}"
                if name in _UNARY and len(args) == 1:
                    return f"{_UNARY[name]}{self.operand(args[0])}"
                if name == "getitem" and len(args) == 2:
                    return f"{self.operand(args[0])}[{self.index(args[1])}]"
            if target is builtins.getattr and len(args) == 2 and _is_identifier(args[1]):
                return f"{self.arg(args[0])}.{args[1]}"
        return f"{self.globals.function(target)}({self.call_args(args, kwargs)})"


def _hint_for(obj):
    from .._tensor import Tensor
    if isinstance(obj, Tensor):
        return "_tensor_constant"
    return "_" + type(obj).__name__.lower()


def python_code(graph, root_module="self"):
    """`PythonCode(src, globals)`: `def forward(self, <placeholders>):` and one line per node."""
    namespace = _Namespace()
    for node in graph.nodes:
        namespace.associate(node.name)
    writer = _Writer(namespace)

    # where each value is used for the last time, so the code can drop it there
    last_use = {}
    for node in graph.nodes:
        for inp in node.all_input_nodes:
            last_use[inp] = node
    release = {}
    for value, user in last_use.items():
        release.setdefault(user, []).append(value)

    signature, body = [], []
    for node in graph.nodes:
        if node.op == "placeholder":
            default = f" = {writer.arg(node.args[0])}" if node.args else ""
            signature.append(f"{node.target}{default}")
            raw = node.target.lstrip("*")
            if raw != node.name:
                body.append(f"{node.name} = {raw}")
            continue
        if node.op == "output":
            body.append(f"return {writer.arg(node.args[0])}")
            continue
        line = f"{node.name} = {writer.expression(node, root_module)}"
        dead = release.get(node, []) + ([node] if not node.users else [])
        if dead:
            line += ";  " + " = ".join(v.name for v in dead) + " = None"
        body.append(line)
    if not body or not body[-1].startswith("return"):
        body.append("return None")
    src = f"\n\ndef forward({', '.join([root_module] + signature)}):\n" + "".join(f"    {l}\n" for l in body)
    return PythonCode(src, writer.globals.values)
