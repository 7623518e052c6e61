"""Developing kernels in Julia from a running Python process: `jt.julia.eval` / `include`, ops
defined in a user's kernel file (published, differentiable, batchable), live redefinition with
`reload()`, the file watcher, and `jt.julia.repl()` driven through a pseudo-terminal as a person
would.

Every op defined here has a `jw_` name, so nothing collides with the library or other tests.
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
import warnings

import numpy as np
import pytest

import jtensor as jt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_DIR = os.path.join(ROOT, "python")


@pytest.fixture
def user_files_only(monkeypatch):
    """`reload()` and the watcher consider only files given to `include` during the test.

    They also re-read changed files under julia/src; other people edit those while tests run, and
    reloading a half-edited library file into this process is not what these tests are about.
    """
    monkeypatch.setattr(jt.julia, "_src_files", lambda: [])


def write(path, text):
    """Write a kernel file so that its modification time differs from the previous version's
    (file times can be coarser than two quick saves), as an editor saving it would."""
    old = os.stat(path).st_mtime_ns if os.path.exists(path) else None
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    if old is not None and os.stat(path).st_mtime_ns == old:
        os.utime(path, ns=(old + 10_000_000, old + 10_000_000))
    return str(path)


# ---- eval --------------------------------------------------------------------------------------------

def test_eval_returns_numbers_and_none():
    assert jt.julia.eval("1 + 2") == 3 and type(jt.julia.eval("1 + 2")) is int
    assert jt.julia.eval("2.5 * 2") == 5.0 and type(jt.julia.eval("2.5")) is float
    assert jt.julia.eval("1 < 2") is True
    assert jt.julia.eval("Int32(7)") == 7
    assert jt.julia.eval("Float32(0.5)") == 0.5
    assert jt.julia.eval("1 + 2im") == complex(1, 2)
    assert jt.julia.eval("nothing") is None


def test_eval_returns_arrays_as_tensors():
    v = jt.julia.eval("[1.0, 2.0, 3.0]")
    assert isinstance(v, jt.Tensor) and v.dtype == jt.float64 and v.tolist() == [1.0, 2.0, 3.0]
    assert jt.julia.eval("Int64[1, 2]").dtype == jt.int64
    assert jt.julia.eval("Float32[1, 2]").dtype == jt.float32
    assert jt.julia.eval("[true, false]").tolist() == [True, False]
    # Julia is column-major: a Julia (2, 3) matrix is a Python (3, 2) tensor over the same bytes.
    m = jt.julia.eval("[1 2 3; 4 5 6]")
    assert m.shape == (3, 2) and m.tolist() == [[1, 4], [2, 5], [3, 6]]
    # Julia made the array; Python keeps it alive across Julia garbage collections.
    big = jt.julia.eval("collect(1.0:1000.0)")
    jt.julia.eval("GC.gc(); nothing")
    assert big.sum().item() == 500500.0 and (big * 2)[-1].item() == 2000.0


def test_eval_returns_repr_of_other_values():
    assert jt.julia.eval('"hi"') == '"hi"'
    assert jt.julia.eval("(1, :a)") == "(1, :a)"
    assert jt.julia.eval("Dict(:k => 1)") == "Dict(:k => 1)"
    assert jt.julia.eval("JTensor.op(\"add\").schema") == \
        '"add(input: Tensor, other: Tensor, *, alpha: Scalar = 1) -> Tensor"'
    assert jt.julia.eval("typeof(1.5)") == "Float64"
    assert jt.julia.eval("JTensor.Strided(zeros(Float32, 2, 3)) isa JTensor.Strided{Float32}") is True


def test_eval_definitions_persist_in_main():
    jt.julia.eval("jw_affine(x) = 2x + 1")
    assert jt.julia.eval("jw_affine(20)") == 41
    assert jt.julia.eval("Main.jw_affine(0.5)") == 2.0


@pytest.mark.parametrize("code, words", [
    ('error("boom")', ["boom"]),
    ('throw(ArgumentError("bad argument"))', ["ArgumentError", "bad argument"]),
    ("sqrt(-1.0)", ["DomainError", "sqrt"]),
    ("jw_undefined_name + 1", ["UndefVarError", "jw_undefined_name"]),
    ("[1, 2][5]", ["BoundsError"]),
    ("function (", ["syntax"]),
])
def test_eval_errors_become_python_exceptions(code, words):
    with pytest.raises(jt.JuliaError) as info:
        jt.julia.eval(code)
    text = str(info.value)
    for w in words:
        assert w in text, text
    assert jt.julia.eval("1 + 1") == 2    # Julia is still usable


# ---- include: a user's kernel file defining ops ----------------------------------------------------

SOFTCLIP = """
    # x / (1 + |x|), with its derivative
    jw_softclip_kernel(x) = x / (one(x) + abs(x))
    JTensor.defmap("jw_softclip(input: Tensor) -> Tensor", jw_softclip_kernel; dtypes = "float",
                   grad = ["input" => "grad / ((1 + abs(input)) * (1 + abs(input)))"],
                   doc = "x / (1 + |x|), elementwise.")

    # sum of squares over dims: a kernel of arrays, built from JTensor's engine and reduction
    function jw_sumsq_kernel(x, dim, keepdim)
        sq = JTensor.apply(v -> v * v, JTensor.compute_type(eltype(x)), eltype(x), x)
        JTensor._sum(sq, dim, keepdim, nothing)
    end
    JTensor.defop("jw_sumsq(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor",
                  jw_sumsq_kernel; batch = "reduce",
                  grad = ["input" => "expand_reduced(grad, input, dim, keepdim) * 2 * input"],
                  doc = "Sum of squares over dim (all dims when None).")
"""


@pytest.fixture(scope="module")
def softclip_file(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("kernels") / "softclip.jl", SOFTCLIP)
    jt.julia.include(path)
    return path


def np_softclip(a):
    return a / (1 + np.abs(a))


def test_included_map_op_is_published_everywhere(softclip_file, rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    x = jt.tensor(a)
    expect = np_softclip(a)
    for result in (jt.jw_softclip(x), jt.ops.jw_softclip(x), x.jw_softclip()):
        assert result.dtype == jt.float32
        np.testing.assert_allclose(result.numpy(), expect, rtol=1e-6)
    assert "x / (1 + |x|)" in jt.jw_softclip.__doc__
    # the engine supplies the rest: int → float, broadcasting and strides, out=, in-place
    assert jt.jw_softclip(jt.tensor([1, -3])).tolist() == [0.5, -0.75]
    np.testing.assert_allclose(jt.jw_softclip(x.T).numpy(), expect.T, rtol=1e-6)
    out = jt.empty((3, 4))
    jt.jw_softclip(x, out=out)
    np.testing.assert_allclose(out.numpy(), expect, rtol=1e-6)
    y = x.clone()
    y.jw_softclip_()
    np.testing.assert_allclose(y.numpy(), expect, rtol=1e-6)


def test_included_map_op_is_differentiable_and_batchable(softclip_file, rng):
    x = jt.tensor(rng.standard_normal(5), dtype=jt.float64, requires_grad=True)
    assert jt.autograd.gradcheck(jt.jw_softclip, (x,))
    xs = jt.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # a loop fallback would warn: this must batch
        batched = jt.func.vmap(lambda t: jt.jw_softclip(t) * 2)(xs)
    np.testing.assert_allclose(batched.numpy(), 2 * np_softclip(xs.numpy()), rtol=1e-6)


def test_included_array_op_is_differentiable_and_batchable(softclip_file, rng):
    a = rng.standard_normal((3, 4))
    x = jt.tensor(a)
    np.testing.assert_allclose(jt.jw_sumsq(x).item(), (a ** 2).sum())
    np.testing.assert_allclose(x.jw_sumsq(1).numpy(), (a ** 2).sum(1))
    np.testing.assert_allclose(jt.ops.jw_sumsq(x, 0, keepdim=True).numpy(), (a ** 2).sum(0, keepdims=True))
    xg = jt.tensor(a, requires_grad=True)
    assert jt.autograd.gradcheck(lambda t: jt.jw_sumsq(t, 1), (xg,))
    assert jt.autograd.gradcheck(lambda t: jt.jw_sumsq(t), (xg,))
    b = rng.standard_normal((5, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batched = jt.func.vmap(lambda t: jt.jw_sumsq(t, 0))(jt.tensor(b))
    np.testing.assert_allclose(batched.numpy(), (b ** 2).sum(1))


def test_include_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        jt.julia.include(str(tmp_path / "missing.jl"))
    bad = write(tmp_path / "bad.jl", """
        jw_fine(x) = x
        JTensor.defmap("jw_fine(input: Tensor) -> Tensor", jw_fine)
        error("kernel file is broken on purpose")
    """)
    with pytest.raises(jt.JuliaError) as info:
        jt.julia.include(bad)
    assert "kernel file is broken on purpose" in str(info.value)
    assert "bad.jl" in str(info.value)
    # what the file defined before the error is live and published
    assert jt.jw_fine(jt.tensor([1.5])).tolist() == [1.5]
    bad_schema = write(tmp_path / "bad_schema.jl", 'JTensor.defop("jw no parens", identity)\n')
    with pytest.raises(jt.JuliaError, match="bad op schema"):
        jt.julia.include(bad_schema)


# ---- live redefinition -------------------------------------------------------------------------------

SCALE_V1 = """
    jw_scale_kernel(x) = 2x
    JTensor.defmap("jw_scale(input: Tensor) -> Tensor", jw_scale_kernel)
    jw_ramp_kernel(n) = collect(1.0:n) .* 2
    JTensor.defop("jw_ramp(n: int) -> Tensor", jw_ramp_kernel)
"""


def test_reload_runs_the_new_kernel_and_keeps_old_tensors(tmp_path, user_files_only):
    path = write(tmp_path / "scale.jl", SCALE_V1)
    jt.julia.include(path)
    x = jt.arange(4.)
    doubled = jt.jw_scale(x)          # a Python-allocated result
    ramp = jt.jw_ramp(3)              # a Julia-allocated result, rooted in Julia for Python
    view = ramp[1:]
    assert doubled.tolist() == [0.0, 2.0, 4.0, 6.0] and ramp.tolist() == [2.0, 4.0, 6.0]
    assert jt.julia.reload() == []    # nothing changed yet

    write(path, SCALE_V1.replace("2x", "3x").replace(".* 2", ".* 10"))
    assert jt.julia.changed_files() == [path]
    assert jt.julia.reload() == [path]
    assert jt.jw_scale(x).tolist() == [0.0, 3.0, 6.0, 9.0]
    assert x.jw_scale().tolist() == [0.0, 3.0, 6.0, 9.0]
    assert jt.jw_ramp(2).tolist() == [10.0, 20.0]
    jt.julia.eval("GC.gc(); nothing")
    assert doubled.tolist() == [0.0, 2.0, 4.0, 6.0]     # earlier results: still valid, unchanged
    assert ramp.tolist() == [2.0, 4.0, 6.0] and view.tolist() == [4.0, 6.0]
    assert (ramp + doubled[:3]).tolist() == [2.0, 6.0, 10.0]
    assert jt.julia.reload() == []


def test_reload_can_change_an_ops_signature(tmp_path, user_files_only):
    path = write(tmp_path / "affine.jl", """
        jw_affine_kernel(x) = x + 1
        JTensor.defmap("jw_affine_op(input: Tensor) -> Tensor", jw_affine_kernel)
    """)
    jt.julia.include(path)
    assert jt.jw_affine_op(jt.ones(2)).tolist() == [2.0, 2.0]
    write(path, """
        jw_affine_kernel(x, scale) = scale * x + 1
        JTensor.defmap("jw_affine_op(input: Tensor, scale: float = 1.0) -> Tensor", jw_affine_kernel)
    """)
    jt.julia.reload()
    assert jt.jw_affine_op(jt.ones(2), 5.0).tolist() == [6.0, 6.0]
    assert jt.jw_affine_op(jt.ones(2), scale=-1.0).tolist() == [0.0, 0.0]
    assert "scale" in jt.jw_affine_op.__doc__


def test_watch_picks_up_an_edit_on_the_next_calls(tmp_path, user_files_only):
    path = write(tmp_path / "watched.jl", """
        jw_watched_kernel(x) = x + 1
        JTensor.defmap("jw_watched(input: Tensor) -> Tensor", jw_watched_kernel)
    """)
    jt.julia.include(path)
    x = jt.zeros(3)
    assert jt.jw_watched(x).tolist() == [1.0, 1.0, 1.0]

    def calls_until(value, seconds):
        """Make jtensor calls for up to `seconds`; the first result equal to `value`, or the last."""
        end = time.monotonic() + seconds
        while True:
            got = jt.jw_watched(x).tolist()
            if got == value or time.monotonic() > end:
                return got
            time.sleep(0.05)

    jt.julia.watch(interval=0.1)
    try:
        write(path, """
            jw_watched_kernel(x) = x + 2
            JTensor.defmap("jw_watched(input: Tensor) -> Tensor", jw_watched_kernel)
        """)
        assert calls_until([2.0, 2.0, 2.0], 2.0) == [2.0, 2.0, 2.0]
    finally:
        jt.julia.unwatch()
    assert jt.julia._watcher is None
    write(path, """
        jw_watched_kernel(x) = x + 3
        JTensor.defmap("jw_watched(input: Tensor) -> Tensor", jw_watched_kernel)
    """)
    assert calls_until([3.0, 3.0, 3.0], 0.6) == [2.0, 2.0, 2.0]     # not watching any more
    assert jt.julia.reload() == [path]
    assert jt.jw_watched(x).tolist() == [3.0, 3.0, 3.0]


# ---- the REPL, on a terminal ----------------------------------------------------------------------------

_ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")


class Terminal:
    """A child process on a pseudo-terminal, read the way a person reads the screen."""

    def __init__(self, argv, env, rows=40, cols=200):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.raw = b""
        self.closed = False

    @property
    def screen(self):
        """What the terminal shows, without colours and cursor movements."""
        return _ANSI.sub(b"", self.raw).replace(b"\r", b"").decode("utf-8", "replace")

    def _read(self, timeout):
        if self.closed:
            time.sleep(timeout)
            return False
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:          # EIO: the child closed the terminal
            data = b""
        if not data:
            self.closed = True
            return False
        self.raw += data
        return True

    def wait_for(self, text, timeout, start=0):
        """Wait until `text` is on the screen (after character `start`); False on timeout."""
        end = time.monotonic() + timeout
        while text not in self.screen[start:]:
            if time.monotonic() > end or (self.closed and text not in self.screen[start:]):
                return False
            self._read(0.1)
        return True

    def at_prompt(self, start, timeout=60, quiet=0.5):
        """Wait until the screen (after character `start`) ends with a `julia>` prompt and nothing
        more has been written for `quiet` seconds: the REPL is idle, waiting for input."""
        end = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < end and not self.closed:
            if self._read(0.05):
                last = time.monotonic()
            elif time.monotonic() - last >= quiet and self.screen[start:].rstrip().endswith("julia>"):
                return True
        return False

    def lines(self, start):
        return [line.strip() for line in self.screen[start:].splitlines()]

    def type(self, keys):
        os.write(self.fd, keys.encode())

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        os.close(self.fd)


REPL_SCRIPT = ("import jtensor as jt; x = jt.arange(4.); jt.julia.repl(x=x); "
               "print('AFTER', x.tolist(), jt.ops.triple(jt.ones(2)).tolist())")
AFTER = "AFTER [0.0, 42.0, 2.0, 3.0] [3.0, 3.0]"


def _repl_session(leave):
    """Start Python on a terminal, use the REPL as a person would and leave it by typing `leave`.
    Returns the screen from that point on and the child's exit status (None if it did not end)."""
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, TERM="xterm")
    term = Terminal([sys.executable, "-c", REPL_SCRIPT], env)
    try:
        assert term.at_prompt(0, timeout=180), f"no julia> prompt; the screen shows:\n{term.screen}"
        mark = len(term.screen)
        term.type("x[2] = 42.0\r")          # Julia index 2 of the 1-d tensor = Python index 1
        assert term.at_prompt(mark) and "42.0" in term.lines(mark), term.screen[mark:]
        mark = len(term.screen)
        term.type('JTensor.defmap("triple(input: Tensor) -> Tensor", v -> 3v)\r')
        assert term.at_prompt(mark) and any(line.startswith("JTensor.OpDef(") for line in term.lines(mark)), \
            term.screen[mark:]
        mark = len(term.screen)
        term.type(leave)
        end = time.monotonic() + 60
        while time.monotonic() < end and not term.closed and AFTER not in term.screen[mark:]:
            if "ERROR" in term.screen[mark:] and term.at_prompt(mark, timeout=5):
                break                  # the REPL answered with an error and is still running
            term._read(0.1)
        status = None
        if AFTER in term.screen[mark:]:
            try:
                status = term.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
            term.wait_for("\n", 1, len(term.screen))   # whatever is left to read
        return term.screen[mark:], status
    finally:
        term.close()


@pytest.mark.serial   # times a terminal session
def test_repl_on_a_terminal_ctrl_d():
    screen, status = _repl_session("\x04")      # Ctrl-D at an empty prompt
    assert AFTER in screen, f"after Ctrl-D the screen shows:\n{screen}"
    assert status == 0


@pytest.mark.serial   # times a terminal session
def test_repl_on_a_terminal_exit():
    screen, status = _repl_session("exit()\r")
    assert AFTER in screen, f"after exit() the screen shows:\n{screen}"
    assert status == 0
