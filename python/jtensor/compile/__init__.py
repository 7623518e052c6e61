"""`jt.compile`: torch.compile for jtensor. A function or module is captured as a jt.fx graph, its
elementwise chains are fused into Julia kernels (julia/src/fusion.jl), and the rest of the graph
runs as library calls, from generated Python (docs/compile.md).

- `frontend.py`: `compile`, the compiled function and module, guards and the cache of compilations;
- `targets.py`: which nodes are elementwise registry ops;
- `partition.py`: grouping them into kernels;
- `program.py`: the generated Python program and the fused kernels' run-time objects (autograd).
"""
from .frontend import (compile, CompiledFunction, OptimizedModule, Unsupported, RecompileWarning, config,
                       explain, reset)

__all__ = ["compile", "CompiledFunction", "OptimizedModule", "Unsupported", "RecompileWarning", "config",
           "explain", "reset"]
