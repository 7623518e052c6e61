"""Where JTensor's system images live, what makes one current, and which image `import jtensor` loads.

A system image holds the JTensor package and the native code of the specializations a traced
workload compiled (see `jtensor.sysimage`, which builds them). An image is only valid for the
Julia that built it, the CPU it was compiled for (`-C native`) and the exact JTensor sources it
holds, so its file name carries two hashes:

    <data home>/sysimage/JTensor-<env>-<loc>-<src>.so

- `env`: the Julia build (libjulia and stock image, by path, size and time), the CPU (model and
  flags from /proc/cpuinfo) and `FORMAT`, bumped whenever the build recipe changes. Loading an
  image built for another CPU would abort the process, so this part is never guessed.
- `loc`: where those sources are (the real path of their folder). An image records the path of
  every method's file (`functionloc`, backtraces, `jt.julia` edits read them), so each checkout
  or installed copy gets its own image, and a build replaces only its own location's old images.
- `src`: JTensor's Project.toml and every file under julia/src.

An image appears under its final name only once it is complete and has loaded in a test run
(`os.replace` of a finished file), so a file with the right name is never half-written.
Nothing here starts Julia; choosing costs about a millisecond (hashing ~0.5 MB of sources).
"""
import hashlib
import json
import os

from . import _locate

FORMAT = 1   # bump when the image recipe (build.jl, linking, what is traced) changes incompatibly
OFF_VALUES = ("0", "no", "off", "false")


def image_dir():
    return os.path.join(_locate.data_home(), "sysimage")


def _cpu_identity():
    """Model name and feature flags of the first CPU: what `-C native` code depends on."""
    keep = [ln for ln in _locate.cpuinfo().splitlines()
            if ln.split(":")[0].strip() in ("vendor_id", "model name", "flags")]
    return "\n".join(keep) or "unknown-cpu"


def _file_stamp(path):
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:missing"
    return f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}"


def env_hash(install):
    """Hash of what an image's machine code depends on besides JTensor's sources."""
    h = hashlib.sha256()
    for part in (f"format={FORMAT}", _file_stamp(install.libjulia), _file_stamp(install.sysimage), _cpu_identity()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def source_files(julia_dir):
    """JTensor's source files that an image embeds, as sorted paths relative to `julia_dir`."""
    out = ["Project.toml"]
    src = os.path.join(julia_dir, "src")
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, julia_dir)
        out.extend(os.path.join(rel, f) for f in sorted(filenames) if f.endswith((".jl", ".txt")))   # .txt: wire.txt
    return out


def source_hash(julia_dir):
    h = hashlib.sha256()
    for rel in source_files(julia_dir):
        h.update(rel.encode())
        h.update(b"\0")
        try:
            with open(os.path.join(julia_dir, rel), "rb") as f:
                h.update(f.read())
        except OSError:
            h.update(b"<unreadable>")
        h.update(b"\0")
    return h.hexdigest()[:12]


def location_hash(julia_dir):
    """Hash of where JTensor's sources are: the real path of their folder."""
    return hashlib.sha256(os.path.realpath(julia_dir).encode()).hexdigest()[:8]


def image_path(install, julia_dir, env=None):
    """Where the image for this Julia, CPU and these sources lives (whether or not it exists);
    `env` is env_hash(install), when the caller has it already."""
    name = f"JTensor-{env or env_hash(install)}-{location_hash(julia_dir)}-{source_hash(julia_dir)}.so"
    return os.path.join(image_dir(), name)


def images_for_env(install, env=None, julia_dir=None):
    """Complete images built for this Julia and CPU, whatever sources they hold; only those of
    the sources at `julia_dir` when it is given."""
    prefix = f"JTensor-{env or env_hash(install)}-"
    if julia_dir is not None:
        prefix += location_hash(julia_dir) + "-"
    try:
        names = os.listdir(image_dir())
    except OSError:
        return []
    return sorted(os.path.join(image_dir(), n) for n in names if n.startswith(prefix) and n.endswith(".so"))


def _intact(path):
    """False when the build's record (the .json beside the image) gives another size than the file
    has: Julia aborts the whole process on a damaged image, so such a file is never loaded."""
    try:
        with open(path[:-3] + ".json") as f:
            recorded = json.load(f).get("size")
    except (OSError, ValueError):
        return True   # no record to compare with (images named by hand through JTENSOR_SYSIMAGE)
    return recorded is None or recorded == os.path.getsize(path)


class Choice:
    """The image `import jtensor` loads, and why (`reason`, one line for `--status`).

    `note` is a line to tell the user at import (only when an image exists but does not match
    the sources, so the package loads without it); None otherwise.
    """

    def __init__(self, path, custom, reason, note=None):
        self.path, self.custom, self.reason, self.note = path, custom, reason, note

    def __repr__(self):
        return f"Choice({self.path!r}, custom={self.custom}, reason={self.reason!r})"


def choose(install, julia_dir):
    """Pick the system image to start Julia with (see the module docstring)."""
    setting = os.environ.get("JTENSOR_SYSIMAGE", "").strip()
    if setting.lower() in OFF_VALUES:
        return Choice(install.sysimage, False, "JTENSOR_SYSIMAGE=0 turns the JTensor image off")
    if setting and setting.lower() not in ("1", "yes", "on", "true", "auto"):
        if not os.path.isfile(setting):
            raise FileNotFoundError(f"JTENSOR_SYSIMAGE={setting!r} is neither 0 nor an image file")
        return Choice(setting, True, "JTENSOR_SYSIMAGE names this image")
    env = env_hash(install)
    want = image_path(install, julia_dir, env)
    if os.path.isfile(want):
        if not _intact(want):
            return Choice(install.sysimage, False, "the image's size differs from what its build recorded",
                          note=f"jtensor: the system image {want} looks damaged (its size changed since it was "
                               f"built), so the package loads without it; rebuild it with "
                               f"`python -m jtensor.sysimage --force`")
        return Choice(want, True, "the image matches this Julia, this CPU and JTensor's sources")
    if images_for_env(install, env, julia_dir):
        return Choice(install.sysimage, False,
                      "JTensor's Julia sources changed since the image was built",
                      note="jtensor: JTensor's Julia sources changed since its system image was built, so "
                           "the package loads without it and first calls compile; rebuild it with "
                           "`python -m jtensor.sysimage`")
    return Choice(install.sysimage, False,
                  "no JTensor image has been built for this Julia and CPU (`python -m jtensor.sysimage` builds one)")
