"""Find a Julia (>= 1.5) to embed, and prepare the process environment before it starts.

Owns: which `julia` binary, where its libjulia and system image are, and the work-arounds a given
Julia build needs on this machine (a libunwind that understands its JIT unwind tables; the OpenBLAS
core type on CPUs its bundled OpenBLAS mis-detects). Must not start Julia: that is bridge.py's job.
"""
import os
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass

INSTALL_HINT = (
    "jtensor needs Julia 1.5 or newer. Run `bash ci/setup.sh` from a jtensor checkout (on Debian/"
    "Ubuntu it installs Debian bullseye's julia package), or install Julia from julialang.org and "
    "put `julia` on PATH or set JTENSOR_JULIA to the julia binary."
)


class JuliaNotFound(RuntimeError):
    """No usable Julia installation was found."""


@dataclass
class JuliaInstall:
    binary: str
    bindir: str
    libjulia: str
    sysimage: str
    libunwind_fix: str  # a libunwind to load first, or "" when none is needed


def data_home():
    """The per-user jtensor data folder (JTENSOR_HOME, else $XDG_DATA_HOME/jtensor)."""
    return os.environ.get("JTENSOR_HOME") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "jtensor")


def _find_binary():
    exe = os.environ.get("JTENSOR_JULIA")
    if exe:
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise JuliaNotFound(f"JTENSOR_JULIA={exe!r} is not an executable file. {INSTALL_HINT}")
        return exe
    exe = shutil.which("julia")
    if not exe:
        raise JuliaNotFound(f"no `julia` on PATH. {INSTALL_HINT}")
    return exe


def _candidates(bindir):
    prefix = os.path.dirname(bindir)
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for lib in ([os.path.join(prefix, "lib", multiarch)] if multiarch else []) + [os.path.join(prefix, "lib")]:
        yield os.path.join(lib, "libjulia.so.1"), os.path.join(lib, "julia", "sys.so")


def _ask_julia(binary):
    code = ('import Libdl; print(Libdl.dlpath("libjulia"), "\\n", '
            'unsafe_string(Base.JLOptions().image_file))')
    out = subprocess.run([binary, "--startup-file=no", "-e", code], capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise JuliaNotFound(f"{binary} failed to report its libjulia: {out.stderr.strip()[:500]}")
    lib, image = out.stdout.strip().splitlines()[:2]
    return lib, image


def _needs_libunwind_fix(libjulia):
    """Distribution builds of Julia 1.5 link the system libunwind; 1.6+ misreads their JIT tables.
    (libjulia's own folder is the system lib folder on Debian, so only its julia/ subfolder counts.)"""
    real = os.path.realpath(libjulia)
    if os.path.exists(os.path.join(os.path.dirname(real), "julia", "libunwind.so.8")):
        return False  # bundled (official binaries) or fixed in place by ci/setup.sh
    return bool(re.search(r"libjulia\.so\.1\.[0-5](\.|$)", real))


def _throw_works(binary):
    """Whether this Julia survives a caught exception as it is (e.g. bullseye's own libunwind 1.3)."""
    code = 'f() = error("x"); try f() catch; println("ok") end'
    try:
        out = subprocess.run([binary, "--startup-file=no", "-e", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "ok" in out.stdout


def locate():
    """Return the JuliaInstall to embed, or raise JuliaNotFound with install instructions."""
    binary = _find_binary()
    bindir = os.path.dirname(os.path.realpath(binary))
    found = next(((l, s) for l, s in _candidates(bindir) if os.path.exists(l) and os.path.exists(s)), None)
    libjulia, sysimage = found or _ask_julia(binary)
    m = re.search(r"libjulia\.so\.1\.(\d+)", os.path.realpath(libjulia))
    if m and int(m.group(1)) < 5:
        raise JuliaNotFound(f"{binary} is Julia 1.{m.group(1)}; {INSTALL_HINT}")
    fix = ""
    if _needs_libunwind_fix(libjulia):
        fix = os.path.join(data_home(), "libunwind", "libunwind.so.8")
        if not os.path.exists(fix) and _throw_works(binary):
            fix = ""
        elif not os.path.exists(fix):
            raise JuliaNotFound(
                f"{libjulia} uses the system libunwind, which crashes on Julia exceptions; "
                f"run `bash ci/setup.sh` to install libunwind 1.3 for it.")
    return JuliaInstall(binary, bindir, libjulia, sysimage, fix)


def cpuinfo():
    """The first processor's block of /proc/cpuinfo ("" where there is none), read once."""
    if cpuinfo.text is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo.text = f.read(16384).split("\n\n", 1)[0]
        except OSError:
            cpuinfo.text = ""
    return cpuinfo.text


cpuinfo.text = None


def _cpu_info():
    text = cpuinfo()
    vendor = re.search(r"vendor_id\s*:\s*(\S+)", text)
    family = re.search(r"cpu family\s*:\s*(\d+)", text)
    flags = re.search(r"flags\s*:\s*(.*)", text)
    return ((vendor.group(1) if vendor else ""), (int(family.group(1)) if family else 0),
            set(flags.group(1).split()) if flags else set())


def blas_coretype(vendor, family, flags):
    """The OPENBLAS_CORETYPE that an OpenBLAS older than 0.3.10 needs on this CPU, or None.

    Those versions take CPUs newer than themselves for old ones: Zen for "Barcelona" (no AVX) and
    Intel cores past Cascade Lake (Sapphire Rapids, Alder Lake...) for "Prescott" (SSE3 only), so
    matmul runs 4-8x slower (a 128x128 float32 product: 270 µs as Prescott, 46 as Haswell, 33 as
    SkylakeX, on a Sapphire Rapids VM). The kernels are chosen from the instruction sets the CPU
    reports."""
    if vendor == "AuthenticAMD" and family >= 0x17:
        return "Haswell"
    if vendor == "GenuineIntel":
        if "avx512f" in flags and "avx512vl" in flags and "avx512bw" in flags and "avx512dq" in flags:
            return "SkylakeX"
        if "avx2" in flags and "fma" in flags:
            return "Haswell"
    return None


def prepare_environment(install):
    """Set the variables Julia and its OpenBLAS read at start-up (only those the user left unset)."""
    old_blas = bool(re.search(r"libjulia\.so\.1\.[0-6](\.|$)", os.path.realpath(install.libjulia)))
    coretype = blas_coretype(*_cpu_info()) if old_blas else None
    if coretype:
        os.environ.setdefault("OPENBLAS_CORETYPE", coretype)
    threads = os.environ.get("JTENSOR_NUM_THREADS") or str(os.cpu_count() or 1)
    os.environ.setdefault("JULIA_NUM_THREADS", threads)
    from . import _blaslib
    _blaslib.choose()
