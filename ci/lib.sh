# shellcheck shell=bash
# Shared helpers for ci/setup.sh, ci/test.sh and ci/demo.sh (sourced, not run).
#
# Finding Julia follows python/jtensor/_locate.py: JTENSOR_JULIA, else `julia` on PATH. Julia 1.5
# from a distribution (Debian bullseye's package) is linked to the system libunwind, and
# libunwind 1.6+ crashes on every Julia exception; ci/setup.sh installs libunwind 1.3 either next
# to libjulia (in its `julia/` subdir, searched first through libjulia's RUNPATH) or, when that is
# not writable, into $JTENSOR_HOME/libunwind, which jtensor preloads and `jt_julia` below puts on
# LD_LIBRARY_PATH for the `julia` command.

JT_MIN_MINOR=5   # Julia 1.5 or newer

jt_log() { echo "jtensor setup: $*" >&2; }
jt_die() { echo "jtensor setup: error: $*" >&2; exit 1; }

jt_home() { echo "${JTENSOR_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/jtensor}"; }

# Print "MAJOR.MINOR.PATCH" of the julia binary $1 (`--version` never throws, so it is safe even
# before the libunwind fix).
jt_julia_version() {
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  out=${out##* }
  [[ $out =~ ^[0-9]+\.[0-9]+ ]] || return 1
  echo "$out"
}

# True when version $1 is at least 1.$JT_MIN_MINOR.
jt_version_ok() {
  local major minor
  major=${1%%.*}; minor=${1#*.}; minor=${minor%%.*}
  [ "$major" -gt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -ge "$JT_MIN_MINOR" ]; }
}

# Print the path of the Julia to use; return 1 when there is none, 2 when JTENSOR_JULIA is unusable.
# /usr/bin/julia is also tried so that a Julia that setup just installed with apt is found even
# when an older `julia` shadows it on PATH.
jt_find_julia() {
  local exe v
  if [ -n "${JTENSOR_JULIA:-}" ]; then
    if [ ! -f "$JTENSOR_JULIA" ] || [ ! -x "$JTENSOR_JULIA" ]; then
      echo "jtensor setup: error: JTENSOR_JULIA=$JTENSOR_JULIA is not an executable file" >&2
      return 2
    fi
    v=$(jt_julia_version "$JTENSOR_JULIA") && jt_version_ok "$v" || {
      echo "jtensor setup: error: JTENSOR_JULIA=$JTENSOR_JULIA is Julia ${v:-of unknown version}; jtensor needs 1.$JT_MIN_MINOR or newer" >&2
      return 2
    }
    echo "$JTENSOR_JULIA"
    return 0
  fi
  for exe in "$(command -v julia 2>/dev/null || true)" /usr/bin/julia; do
    [ -n "$exe" ] && [ -x "$exe" ] || continue
    v=$(jt_julia_version "$exe") && jt_version_ok "$v" && { echo "$exe"; return 0; }
  done
  return 1
}

# libjulia.so.1 as the dynamic loader resolves it for the julia binary $1.
jt_libjulia() {
  ldd "$1" 2>/dev/null | awk '$1 ~ /^libjulia\.so/ && $3 ~ /^\// {print $3; exit}'
}

# The folder libjulia searches first for its libraries: the `julia/` subdir of its own folder
# (RUNPATH `$ORIGIN/julia:$ORIGIN` in both Debian's and the official builds).
jt_private_libdir() {
  local lib
  lib=$(jt_libjulia "$1") || return 1
  [ -n "$lib" ] || return 1
  echo "$(dirname "$(readlink -f "$lib")")/julia"
}

# The libunwind 1.3 that setup installed for a Julia whose own folder was not writable, if the
# julia binary $1 needs it: printed as a folder for LD_LIBRARY_PATH, or nothing.
jt_unwind_dir() {
  local priv fix
  fix="$(jt_home)/libunwind"
  [ -e "$fix/libunwind.so.8" ] || return 0
  priv=$(jt_private_libdir "$1") || return 0
  [ -e "$priv/libunwind.so.8" ] && return 0
  echo "$fix"
}

# Run the julia binary $1 with the rest as arguments, with the libunwind fix when it needs one.
jt_julia() {
  local exe=$1 dir
  shift
  dir=$(jt_unwind_dir "$exe")
  if [ -n "$dir" ]; then
    LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$exe" "$@"
  else
    "$exe" "$@"
  fi
}

# True when Julia catches an exception thrown in JIT-compiled code (the libunwind symptom).
jt_throw_ok() {
  local out
  out=$( { ulimit -c 0; jt_julia "$1" --startup-file=no -e 'f()=error("x"); try f() catch; println("ok") end'; } 2>&1) || true
  [ "$(printf '%s' "$out" | tail -n 1)" = ok ]
}

# ---- Python -------------------------------------------------------------------------------------
# jt_python_env SPEC...: make the Python packages SPEC importable (pip requirement specs; a package
# that is already installed, at any version, is skipped), then build and install jtensor from this
# checkout (a regular install, not editable, so that the packaging is what gets tested). Sets VPY to
# the python to run.
# - When python3 (or $PYTHON) runs inside a virtual environment, everything goes there.
# - Otherwise jtensor goes into the virtual environment $JTENSOR_VENV (default .venv), which sees
#   the base Python's packages; missing packages go into the base Python (so that a fresh clone
#   does not install PyTorch again), or into the venv where the base Python refuses (PEP 668).
# Run ci/setup.sh, then point JULIA and JTENSOR_JULIA (read by jtensor) at the Julia it set up.
jt_setup_julia() {
  bash "$ROOT/ci/setup.sh"
  JULIA=$(jt_find_julia) || jt_die "no Julia found after ci/setup.sh"
  export JTENSOR_JULIA="$JULIA"
}

jt_python_env() {
  local py=${PYTHON:-python3} root venv
  root=$(pwd)
  command -v "$py" >/dev/null 2>&1 || jt_die "no $py; install Python >= 3.10 (or set PYTHON)"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || jt_die "$py is older than Python 3.10"
  "$py" -m pip --version >/dev/null 2>&1 || jt_die "$py has no pip; install it (Debian: apt-get install python3-pip python3-venv)"
  if "$py" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
    VPY=$("$py" -c 'import sys; print(sys.executable)')
    venv=""
  else
    venv=${JTENSOR_VENV:-$root/.venv}
    if [ ! -x "$venv/bin/python" ]; then
      "$py" -m venv --system-site-packages --without-pip "$venv" || jt_die "could not create the virtual environment $venv"
    fi
    VPY="$venv/bin/python"
  fi
  _jt_missing() {
    local s n
    for s in "$@"; do
      n=${s%%[=<>!~ ]*}
      "$VPY" -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$n" 2>/dev/null || echo "$s"
    done
  }
  local missing
  missing=$(_jt_missing "$@")
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    jt_log "installing" $missing
    # shellcheck disable=SC2086
    if [ -z "$venv" ] || ! grep -qs '^include-system-site-packages *= *true' "$venv/pyvenv.cfg" ||
       ! "$py" -m pip install -q $missing 2>/dev/null; then
      [ -n "$venv" ] && jt_log "$py would not take them (externally managed?): installing into $venv"
      "$VPY" -m pip install -q $missing || jt_die "could not install" $missing
    fi
    missing=$(_jt_missing "$@")
    # shellcheck disable=SC2086
    [ -z "$missing" ] || jt_die "still not importable from $VPY after installing:" $missing
  fi
  local iso=()
  if "$VPY" - 2>/dev/null <<'PYEOF'
import importlib.util, numpy, setuptools
v = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
assert v >= (64, 0) and (v >= (70, 1) or importlib.util.find_spec("wheel"))
PYEOF
  then
    iso=(--no-build-isolation)   # the build needs only setuptools and numpy, both present: no download
  fi
  "$VPY" -m pip install -q --no-deps --force-reinstall "${iso[@]}" "$root" ||
    jt_die "could not build and install jtensor from $root"
}

# Build JTensor's system image for the installed jtensor unless a current one exists (python -m
# jtensor.sysimage; minutes the first time, nothing after). A failed build leaves jtensor working
# with slower first calls, so this warns instead of stopping; JT_SYSIMAGE_OK says which happened.
jt_sysimage() {
  JT_SYSIMAGE_OK=1
  (cd / && JTENSOR_JULIA="$JULIA" "$VPY" -m jtensor.sysimage) || {
    JT_SYSIMAGE_OK=0
    jt_log "warning: the JTensor system image was not built (see above); jtensor runs without it, compiling on first use"
  }
}
