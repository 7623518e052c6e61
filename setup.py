"""Build steps that pyproject.toml cannot express.

1. Ship the Julia package inside the Python package. jtensor's compute core is the Julia package in
   julia/ (Project.toml, src/, test/). A built wheel (`pip install .`) carries a copy of it as
   `jtensor/julia/`, where python/jtensor/bridge.py looks first; an editable install
   (`pip install -e .`) copies nothing, and the bridge then falls back to the checkout's julia/
   folder, so edits to the Julia sources take effect at the next import.
   That includes julia/src/wire.txt, the word format table that Python and Julia read at run time.
2. Build the C fast path `jtensor._fastpath` (python/jtensor/_native/fastpath.c, needs NumPy's
   headers), with the header jtensor_wire.h generated here from julia/src/wire.txt (by
   python/jtensor/wire_format.py `c_header`), so the C code holds no copy of the word format. It
   is optional: when it cannot be built (no C compiler), the build goes on and jtensor runs every
   op through its Python driver.
Everything else is configured in pyproject.toml.
"""
import importlib.util
import os
import shutil
import sys

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
JULIA_ITEMS = ("Project.toml", "src", "test", "sysimage")


def julia_files():
    """Paths, relative to the project root, of the Julia package files to ship."""
    out = []
    for item in JULIA_ITEMS:
        top = os.path.join("julia", item)
        if os.path.isfile(os.path.join(ROOT, top)):
            out.append(top)
            continue
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = os.path.relpath(dirpath, ROOT)
            out.extend(os.path.join(rel, f) for f in sorted(filenames)
                       if not f.startswith(".") and not f.endswith((".cov", ".mem")))
    if not out:
        raise RuntimeError(f"no Julia sources found under {os.path.join(ROOT, 'julia')}")
    return out


class build_py_with_julia(build_py):
    """build_py that also copies julia/ into the build as jtensor/julia/ (not for editable installs)."""

    def run(self):
        if not getattr(self, "editable_mode", False):
            # Start from an empty build/lib/jtensor, so that files deleted from the sources since an
            # earlier build in this tree do not linger in the wheel.
            shutil.rmtree(os.path.join(self.build_lib, "jtensor"), ignore_errors=True)
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for rel in julia_files():
            dest = os.path.join(self.build_lib, "jtensor", rel)
            self.mkpath(os.path.dirname(dest))
            self.copy_file(os.path.join(ROOT, rel), dest, preserve_mode=False)

    def get_source_files(self):
        # What an sdist includes (setuptools' sdist asks build_py), so a wheel built from it has them too.
        return super().get_source_files() + julia_files()

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [os.path.join(self.build_lib, "jtensor", rel) for rel in julia_files()]


WIRE_TABLE = os.path.join("julia", "src", "wire.txt")
GENERATED = os.path.join("build", "generated")   # jtensor_wire.h, written at every build


def write_wire_header():
    """Write GENERATED/jtensor_wire.h from the word format table (only when its text changes, so
    an unchanged table does not force a rebuild). wire_format.py is loaded by path: importing the
    jtensor package would start Julia, and it is not built yet."""
    spec = importlib.util.spec_from_file_location(
        "_jtensor_wire_format", os.path.join(ROOT, "python", "jtensor", "wire_format.py"))
    wire_format = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wire_format)
    text = wire_format.c_header(wire_format.load(os.path.join(ROOT, WIRE_TABLE)), WIRE_TABLE)
    path = os.path.join(ROOT, GENERATED, "jtensor_wire.h")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)


def fastpath_extensions():
    try:
        import numpy
    except ImportError:
        print("setup.py: NumPy is not installed, so the C fast path jtensor._fastpath is not built",
              file=sys.stderr)
        return []
    write_wire_header()
    return [Extension("jtensor._fastpath", ["python/jtensor/_native/fastpath.c"],
                      include_dirs=[numpy.get_include(), GENERATED], depends=[WIRE_TABLE], optional=True)]


setup(cmdclass={"build_py": build_py_with_julia}, ext_modules=fastpath_extensions())
