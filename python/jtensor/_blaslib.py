"""Which BLAS library JTensor's matrix products use (julia/src/blas.jl).

NumPy 2.x wheels bundle scipy-openblas (OpenBLAS 0.3.2x-0.3.3x, ILP64), whose small-shape kernels
run products such as an LSTM step or attention's batched 64x32 ones 1.4-2x as fast as the OpenBLAS
0.3.9 that Julia 1.5 ships. Before Julia starts, `choose()` finds NumPy's library and names it in
JTENSOR_BLAS_PATH, which JTensor's `__init__` adopts; without one (NumPy built on MKL or
Accelerate, or an OpenBLAS without the ILP64 symbols) Julia's OpenBLAS does every product.

Switches, read when jtensor is imported:
  JTENSOR_BLAS=julia       Julia's own OpenBLAS, nothing adopted (NumPy's library left untouched).
  JTENSOR_BLAS_PATH=<.so>  adopt this ILP64 OpenBLAS instead of NumPy's.

JTensor's products in the adopted library run on one thread, as in Julia's (JTensor.jl `__init__`):
large products are split across Julia's threads instead. NumPy calls the same loaded library, so
its thread count is left as it is: blas.jl's `gemm!` lowers it to one around each of its calls and
puts it back.
"""
import glob
import importlib.util
import os


def numpy_openblas():
    """The path of NumPy's bundled scipy-openblas (ILP64) library, or None (NumPy absent, or built
    on another BLAS). Finds the files without importing NumPy."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    pkg = list(spec.submodule_search_locations)[0]
    site = os.path.dirname(pkg)
    patterns = (os.path.join(site, "numpy.libs", "libscipy_openblas64_*.so*"),          # manylinux wheels
                os.path.join(pkg, ".dylibs", "libscipy_openblas64_*.dylib"),             # macOS wheels
                os.path.join(site, "scipy_openblas64", "lib", "libscipy_openblas64_*.so*"))  # the pip package
    for pattern in patterns:
        found = sorted(glob.glob(pattern))
        if found:
            return os.path.realpath(found[0])
    return None


def choose():
    """Name the BLAS for Julia to adopt in JTENSOR_BLAS_PATH (called before Julia starts): the
    user's JTENSOR_BLAS_PATH, else NumPy's OpenBLAS; none when JTENSOR_BLAS=julia. Returns it, or None."""
    if os.environ.get("JTENSOR_BLAS", "").strip().lower() == "julia":
        os.environ.pop("JTENSOR_BLAS_PATH", None)
        return None
    path = os.environ.get("JTENSOR_BLAS_PATH") or numpy_openblas()
    if path:
        os.environ["JTENSOR_BLAS_PATH"] = path
    return path


def info():
    """Which BLAS jtensor's matrix products run in: {'library': 'julia' or the adopted path,
    'description': the library's own description (OpenBLAS's build configuration), 'threads': 1, the threads of each of JTensor's products}."""
    path, desc = _julia_string("JTensor.BLAS_PATH[]"), _julia_string("JTensor.blas_info()")
    return {"library": path or "julia", "description": desc.split(": ", 1)[-1], "threads": 1}


def _julia_string(expr):
    """The String value of a Julia expression (the bridge hands Strings back as their Julia repr)."""
    import ast
    from . import bridge
    text = str(bridge.eval_value(expr))
    return ast.literal_eval(text.replace("\\$", "$")) if text.startswith('"') else text
