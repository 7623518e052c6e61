"""``python -m jtensor.distributed.run [torchrun options] script.py [args]``: torchrun, for jtensor.

It replaces this process with ``python -m torch.distributed.run`` and the same arguments
(``--nproc_per_node``, ``--nnodes``, ``--rdzv_endpoint``...), so the launcher holds no Julia
while the workers run. torchrun starts each worker as a fresh process (never a fork), so each
imports jtensor and starts its own Julia, and finds its group through RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT (``jt.distributed.init_process_group()`` reads them).
"""
import importlib.util
import os
import sys

from ._torch import INSTALL_HINT


def command(argv):
    """The torchrun command line that `argv` (this module's arguments) becomes."""
    return [sys.executable, "-m", "torch.distributed.run", *argv]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if importlib.util.find_spec("torch") is None:
        sys.exit("python -m jtensor.distributed.run: " + INSTALL_HINT)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command(argv))


if __name__ == "__main__":
    main()
