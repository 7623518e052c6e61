"""Shared test setup: the hypothesis profile, jtensor started once, and a seeded `rng` fixture."""
import faulthandler
import os
import signal

# A shell starts background jobs (`cmd &`, nohup) with SIGINT ignored, and children inherit an
# ignored signal across exec: the Ctrl-C tests' child processes would then never see the SIGINT
# they are sent. Give this process a handler instead (a handler is reset to the default in every
# child), so the suite runs as it does from a terminal. A foreground run is unchanged.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Python's crash handler must be installed before Julia starts: installed after (as pytest does
# once conftest is imported), it replaces the SIGSEGV handler that Julia's multi-threaded GC
# relies on, and threaded kernels that allocate then crash the process.
faulthandler.enable()

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import jtensor  # noqa: F401  (starts Julia once, before the test modules are imported)

# Few examples and no deadline: every new dtype/rank combination costs a Julia compilation.
settings.register_profile("jtensor", max_examples=30, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "jtensor"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "serial: times signals or terminals in child processes; ci/test.sh runs these "
                   "after the parallel part, alone, so that the other worker's load cannot delay them")


# Files too big to be one xdist work unit: `--dist loadfile` sends each other file whole to one
# worker, but these are split per op (their tests' first parameter): test_ops.py alone is a
# quarter of the suite's tests and its slowest per test, and as one unit it would keep one worker
# busy after the other ran out of files. An op's tests stay together, on one worker: its kernels
# compile once (compiling, not running, is what these tests spend their time on). Neither file
# has module-scoped fixtures that would then be set up twice.
SPLIT_PER_OP = ("tests/test_ops.py", "tests/test_gradients.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except that SPLIT_PER_OP's files are one work unit per op."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LoadFileSplitPerOp(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path, _, test = nodeid.partition("::")
            if path not in SPLIT_PER_OP or "[" not in test:
                return path
            # test_x[add-int64] and test_y[add] -> add (op names hold no "-")
            return f"{path}::{test.split('[', 1)[1].split('-', 1)[0].rstrip(']')}"

    return LoadFileSplitPerOp(config, log)


@pytest.fixture
def rng():
    """A NumPy Generator with a fixed seed (each test gets a fresh one)."""
    return np.random.default_rng(20240531)
