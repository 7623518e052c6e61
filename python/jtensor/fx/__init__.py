"""`jt.fx`: programs as graphs that Python passes can read and rewrite (torch.fx's API).

`symbolic_trace(model)` runs the model on `Proxy` values and records a `Graph` of `Node`s
(placeholder, get_attr, call_function, call_method, call_module, output); the `GraphModule` it
returns runs Python code generated from that graph (`gm.code`). A pass edits `gm.graph` and calls
`gm.recompile()`, or runs the graph node by node with an `Interpreter` / `Transformer`.
`replace_pattern` rewrites subgraphs, `passes.shape_prop.ShapeProp` records shapes and dtypes.
A pass written for torch.fx ports by changing the import. See docs/fx.md.
"""
from .graph import Graph, has_side_effect
from .graph_module import GraphModule
from .interpreter import Interpreter, Transformer
from .node import Node, map_arg, map_aggregate
from .proxy import Attribute, Proxy, TraceError
from .tracer import PH, Tracer, symbolic_trace, wrap
from .subgraph_rewriter import Match, replace_pattern
from . import passes

__all__ = ["Graph", "GraphModule", "Node", "Proxy", "Attribute", "TraceError", "Tracer", "symbolic_trace",
           "wrap", "PH", "map_arg", "map_aggregate", "Interpreter", "Transformer", "replace_pattern", "Match", "passes",
           "has_side_effect"]
