"""JTensor's system image: which image is chosen, and builds that fail or overlap leave jtensor working.

Building a real image takes minutes, so the suite does not build one; CI builds it before the
tests (ci/test.sh) and sets JTENSOR_EXPECT_SYSIMAGE=1, and then `test_suite_runs_on_the_image`
checks that this very process loaded it. Everything else here works on stand-in files in a
temporary JTENSOR_HOME, in this process (choosing an image never starts Julia) or in fresh ones.
"""
import errno
import os
import subprocess
import sys
import textwrap

import pytest

import jtensor as jt
from jtensor import _imagestore, bridge, sysimage


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty jtensor data folder for this test (images live under it)."""
    monkeypatch.setenv("JTENSOR_HOME", str(tmp_path))
    monkeypatch.delenv("JTENSOR_SYSIMAGE", raising=False)
    return tmp_path


@pytest.fixture
def install():
    """The Julia installation this process started (locating it again could depend on JTENSOR_HOME)."""
    return bridge.install


def _fake_image(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"not really an image")
    return path


def run_python(code, **env):
    """Run code in a fresh Python; returns (exit code, stdout+stderr)."""
    full = dict(os.environ, **{k: str(v) for k, v in env.items()})
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                       timeout=600, env=full, cwd="/")
    return p.returncode, p.stdout + p.stderr


def test_suite_runs_on_the_image():
    if os.environ.get("JTENSOR_EXPECT_SYSIMAGE") != "1":
        pytest.skip("the image was not built for this run (CI builds it and sets JTENSOR_EXPECT_SYSIMAGE=1)")
    choice = bridge.image_choice
    assert choice.custom, choice
    assert choice.path == _imagestore.image_path(bridge.install, bridge.JULIA_DIR)


def test_no_image_means_the_stock_one_silently(home, install):
    choice = _imagestore.choose(install, bridge.JULIA_DIR)
    assert not choice.custom and choice.path == install.sysimage and choice.note is None
    assert "no JTensor image" in choice.reason


def test_a_current_image_is_chosen(home, install):
    want = _fake_image(_imagestore.image_path(install, bridge.JULIA_DIR))
    choice = _imagestore.choose(install, bridge.JULIA_DIR)
    assert choice.custom and choice.path == want


def test_a_stale_image_is_not_loaded(home, install, tmp_path):
    """An image built from other sources: the stock image is used, with a one-line note."""
    src = tmp_path / "pkg"
    (src / "src").mkdir(parents=True)
    (src / "Project.toml").write_text('name = "JTensor"\n')
    (src / "src" / "JTensor.jl").write_text("module JTensor end\n")
    _fake_image(_imagestore.image_path(install, str(src)))
    (src / "src" / "JTensor.jl").write_text("module JTensor\nf() = 1\nend\n")   # a developer's edit
    choice = _imagestore.choose(install, str(src))
    assert not choice.custom and choice.path == install.sysimage
    assert choice.note and "\n" not in choice.note and "python -m jtensor.sysimage" in choice.note


def test_a_damaged_image_is_not_loaded(home, install):
    """An image whose size is not the one its build recorded is skipped, with a note."""
    want = _fake_image(_imagestore.image_path(install, bridge.JULIA_DIR))
    with open(want[:-3] + ".json", "w") as f:
        f.write('{"size": %d}' % (os.path.getsize(want) + 1))
    choice = _imagestore.choose(install, bridge.JULIA_DIR)
    assert not choice.custom and "damaged" in choice.note
    with open(want[:-3] + ".json", "w") as f:
        f.write('{"size": %d}' % os.path.getsize(want))
    assert _imagestore.choose(install, bridge.JULIA_DIR).custom


def _fake_sources(folder, body="module JTensor end\n"):
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "Project.toml").write_text('name = "JTensor"\n')
    (folder / "src" / "JTensor.jl").write_text(body)
    return str(folder)


def test_each_location_of_the_sources_has_its_own_image(home, install, tmp_path):
    """Two copies of the same sources (a second checkout, an installed copy) never share an image:
    an image records its methods' file paths, which point into the copy that built it."""
    a = _fake_sources(tmp_path / "a")
    b = _fake_sources(tmp_path / "b")
    assert _imagestore.source_hash(a) == _imagestore.source_hash(b)
    image_a = _fake_image(_imagestore.image_path(install, a))
    assert _imagestore.image_path(install, b) != image_a
    choice = _imagestore.choose(install, b)
    assert not choice.custom and choice.note is None   # b has no image; a's is not a stale one of b's
    assert _imagestore.images_for_env(install, julia_dir=b) == []
    assert _imagestore.images_for_env(install, julia_dir=a) == [image_a]
    assert _imagestore.choose(install, a).path == image_a


def test_source_hash_follows_every_source_file(tmp_path):
    (tmp_path / "src" / "ops").mkdir(parents=True)
    (tmp_path / "Project.toml").write_text("x")
    (tmp_path / "src" / "ops" / "a.jl").write_text("a")
    h0 = _imagestore.source_hash(str(tmp_path))
    (tmp_path / "src" / "ops" / "a.jl").write_text("b")
    h1 = _imagestore.source_hash(str(tmp_path))
    (tmp_path / "src" / "new.jl").write_text("")
    h2 = _imagestore.source_hash(str(tmp_path))
    assert len({h0, h1, h2}) == 3


def test_half_written_images_are_never_chosen(home, install):
    """Builds write under a temporary name; only a finished, checked image is renamed into place."""
    final = _imagestore.image_path(install, bridge.JULIA_DIR)
    folder = os.path.dirname(final)
    _fake_image(os.path.join(folder, ".build-999999", "image.so"))
    _fake_image(final + ".partial")
    choice = _imagestore.choose(install, bridge.JULIA_DIR)
    assert not choice.custom
    sysimage._remove_leftovers(folder)   # a dead build's folder is cleaned up by the next build
    assert not os.path.exists(os.path.join(folder, ".build-999999"))


def test_off_switch(home, install, monkeypatch):
    _fake_image(_imagestore.image_path(install, bridge.JULIA_DIR))
    for off in ("0", "off", "no"):
        monkeypatch.setenv("JTENSOR_SYSIMAGE", off)
        choice = _imagestore.choose(install, bridge.JULIA_DIR)
        assert not choice.custom and choice.path == install.sysimage and "JTENSOR_SYSIMAGE=0" in choice.reason
    monkeypatch.setenv("JTENSOR_SYSIMAGE", "/no/such/image.so")
    with pytest.raises(FileNotFoundError, match="JTENSOR_SYSIMAGE"):
        _imagestore.choose(install, bridge.JULIA_DIR)


def test_off_switch_in_a_fresh_process():
    code, out = run_python("""
        import jtensor as jt
        assert not jt.bridge.image_choice.custom, jt.bridge.image_choice
        assert (jt.ones(2) + 1).sum().item() == 4.0
        print("ok")
    """, JTENSOR_SYSIMAGE="0")
    assert code == 0 and "ok" in out, out


def test_edits_on_top_of_the_image_take_effect():
    """Ops (re)defined live after start-up replace what the image holds, plans included."""
    x = jt.tensor([1.0, 2.0, 3.0])
    assert jt.add(x, x).tolist() == [2.0, 4.0, 6.0]
    jt.julia.eval('JTensor.defmap("_test_image_edit(input: Tensor, other: Tensor) -> Tensor", (a, b) -> a + b)')
    assert jt.ops._test_image_edit(x, x).tolist() == [2.0, 4.0, 6.0]
    jt.julia.eval('JTensor.defmap("_test_image_edit(input: Tensor, other: Tensor) -> Tensor", (a, b) -> a * b)')
    assert jt.ops._test_image_edit(x, x).tolist() == [1.0, 4.0, 9.0]


def test_missing_c_compiler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sysimage.shutil, "which", lambda name: None)
    with pytest.raises(sysimage.BuildError, match="no C compiler"):
        sysimage._c_compiler()


def test_full_disk_is_a_clear_error_and_leaves_nothing(home, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(sysimage, "_build_in", full)
    with pytest.raises(sysimage.BuildError, match="disk .* is full"):
        sysimage.build()
    folder = _imagestore.image_dir()
    assert [n for n in os.listdir(folder) if not n.startswith(".build.lock")] == []


def test_two_builds_at_once_wait_for_each_other(home, tmp_path):
    """A second build waits for the lock (saying so) instead of writing the same files."""
    folder = _imagestore.image_dir()
    release = tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import os, time
        from jtensor.sysimage import _build_lock
        with _build_lock({folder!r}):
            print("locked", flush=True)
            deadline = time.monotonic() + 300
            while not os.path.exists({str(release)!r}) and time.monotonic() < deadline:
                time.sleep(0.05)
    """)], stdout=subprocess.PIPE, text=True, cwd="/")
    waiter = None
    try:
        assert holder.stdout.readline().strip() == "locked"
        waiter = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            from jtensor.sysimage import _build_lock
            with _build_lock({folder!r}):
                print("got the lock", flush=True)
        """)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/")
        first = waiter.stdout.readline()
        assert "another build is running (pid" in first, first
        release.write_text("")                      # the first build ends ...
        rest = waiter.communicate(timeout=120)[0]   # ... and only then does the second go on
        assert waiter.returncode == 0 and "got the lock" in rest, rest
    finally:
        release.write_text("")
        holder.wait(timeout=60)
        if waiter is not None and waiter.poll() is None:
            waiter.kill()


@pytest.mark.serial   # times a Ctrl-C in a child build (it timed out beside another test worker)
def test_interrupted_build_installs_nothing(home):
    """Killing a build (here during its first step) leaves jtensor loading as before."""
    proc = subprocess.Popen([sys.executable, "-m", "jtensor.sysimage"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd="/", env=dict(os.environ))
    try:
        for line in proc.stdout:
            if "[1/4]" in line:
                break
        proc.send_signal(2)   # Ctrl-C
        out = proc.communicate(timeout=120)[0]
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    assert "interrupted; no image was installed" in out
    folder = _imagestore.image_dir()
    assert not [n for n in os.listdir(folder) if n.endswith(".so") or n.startswith(".build-")]


def test_status_and_remove(home, install):
    _fake_image(_imagestore.image_path(install, bridge.JULIA_DIR))
    p = subprocess.run([sys.executable, "-m", "jtensor.sysimage", "--status"], capture_output=True,
                       text=True, cwd="/", env=dict(os.environ))
    assert p.returncode == 0, p.stderr
    assert "the image matches" in p.stdout and "JTensor-" in p.stdout
    p = subprocess.run([sys.executable, "-m", "jtensor.sysimage", "--remove"], capture_output=True,
                       text=True, cwd="/", env=dict(os.environ))
    assert p.returncode == 0 and "removed 1 files" in p.stdout, p.stdout + p.stderr
    assert _imagestore.images_for_env(install) == []
