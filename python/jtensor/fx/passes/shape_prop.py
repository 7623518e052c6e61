"""`ShapeProp`: run a GraphModule once and record each node's shape and dtype (torch.fx's pass).

After `ShapeProp(gm).propagate(*example_inputs)`, every node whose value is a tensor has
`node.meta["tensor_meta"]`, a `TensorMetadata` (shape, dtype, requires_grad, stride, ...); a node
whose value holds several tensors (a tuple, a dict) gets the same structure of `TensorMetadata`.
`node.meta["type"]` is the Python type of the value. Passes read these instead of re-running.
"""
from collections import namedtuple

from ..._tensor import Tensor
from ..interpreter import Interpreter
from ..node import map_aggregate

__all__ = ["ShapeProp", "TensorMetadata"]

TensorMetadata = namedtuple("TensorMetadata", ["shape", "dtype", "requires_grad", "stride", "memory_format",
                                               "is_quantized", "qparams"])


def _extract_tensor_metadata(t):
    """A tensor's metadata (jtensor has one memory format and no quantized tensors)."""
    return TensorMetadata(tuple(t.shape), t.dtype, t.requires_grad, tuple(t.stride()), None, False, {})


class ShapeProp(Interpreter):
    """An Interpreter that stores what it sees on the nodes: `meta["tensor_meta"]` and `meta["type"]`."""

    def run_node(self, n):
        result = super().run_node(n)
        found = []

        def extract(obj):
            if isinstance(obj, Tensor):
                found.append(obj)
                return _extract_tensor_metadata(obj)
            return obj
        meta = map_aggregate(result, extract)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args):
        """Run the graph on `args`, recording shapes; returns the graph's result."""
        return self.run(*args)
