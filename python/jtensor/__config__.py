"""``jt.__config__``: how this jtensor was built and what it computes with, as ``torch.__config__``
reports it (``show()`` is what bug reports paste)."""


def show():
    """A description of the configuration: Julia, the BLAS that matrix products run in (see
    jtensor._blaslib), and the threads."""
    from . import _blaslib
    blas = _blaslib.info()
    return "\n".join([
        "jtensor:",
        f"  - Julia {_blaslib._julia_string('string(VERSION)')}",
        f"  - BLAS_INFO={blas['library']}",
        f"  - BLAS: {blas['description']} ({blas['threads']} thread)",
        parallel_info().rstrip(),
    ]) + "\n"


def parallel_info():
    """The threads kernels run on (Julia's, fixed at start; BLAS runs single-threaded inside them)."""
    from .typeinfo import get_num_threads
    return f"  - threads: {get_num_threads()} (Julia's; JTENSOR_NUM_THREADS), BLAS: 1 per thread\n"
