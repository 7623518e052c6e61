#!/usr/bin/env bash
# Make this machine able to run jtensor: a Julia >= 1.5 on which exceptions work.
#
#   1. Find Julia (JTENSOR_JULIA, else `julia` on PATH). If there is none, on Debian/Ubuntu (as
#      root or with password-less sudo) install Debian bullseye's `julia` 1.5.3 with apt, from the
#      bullseye suite pinned at priority 100 so that nothing else on the machine changes;
#      elsewhere print how to install Julia and fail.
#   2. If Julia crashes on a thrown exception (Julia 1.5 linked to a system libunwind newer than
#      1.3), install bullseye's libunwind8 1.3.2 where libjulia finds it first (the `julia/` folder
#      next to libjulia), or into $JTENSOR_HOME/libunwind when that folder is not writable.
#   3. Check that Julia catches an exception.
#   4. Install the CUDA wheels (`jtensor[cuda]`: NVRTC, cuBLAS, the CUDA runtime) into the Python
#      (python3, or $PYTHON) when they are missing, so the tests compile the generated kernels
#      with NVRTC (tests/test_cuda_codegen.py); no GPU is needed. If pip cannot install them, say
#      so and go on: those tests then skip, naming the reason. JTENSOR_NO_CUDA_WHEELS=1 skips this.
#
# Idempotent; prints nothing when there is nothing to do. Touches nothing else on the machine.
set -euo pipefail

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/lib.sh
. "$CI_DIR/lib.sh"

BULLSEYE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
BULLSEYE_MIRROR=http://deb.debian.org/debian
LIBUNWIND_VERSION=1.3.2-2

install_hint() {
  cat >&2 <<'EOF'
jtensor needs Julia 1.5 or newer. Install it, then rerun this script:
  - Debian/Ubuntu: run this script as root (or with password-less sudo); it installs Debian
    bullseye's julia 1.5.3 package with apt.
  - Elsewhere: install Julia from https://julialang.org/downloads/ (any release >= 1.5) and put
    `julia` on PATH, or set JTENSOR_JULIA=/path/to/julia/bin/julia.
EOF
}

# "sudo -n" or "" (root); fails when neither works.
root_cmd() {
  if [ "$(id -u)" -eq 0 ]; then
    echo ""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "sudo -n"
  else
    return 1
  fi
}

# True when some apt source already lists the bullseye suite (one-line or deb822 format).
bullseye_in_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -Eqs '^[[:space:]]*deb[[:space:]].*[[:space:]]bullseye([[:space:]]|$)|^[[:space:]]*Suites:.*[[:space:]]bullseye([[:space:]]|$)' "$f" && return 0
  done
  return 1
}

bullseye_pinned() {
  grep -Eqs 'release.*n=bullseye' /etc/apt/preferences /etc/apt/preferences.d/* 2>/dev/null
}

install_julia_apt() {
  local sudo codename=""
  sudo=$(root_cmd) || {
    jt_log "no Julia found, and installing one with apt needs root or password-less sudo."
    install_hint
    exit 1
  }
  [ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  export DEBIAN_FRONTEND=noninteractive
  if [ "$codename" = bullseye ]; then
    jt_log "installing Julia (Debian bullseye's julia package) with apt..."
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq julia >/dev/null
    return
  fi
  jt_log "installing Julia 1.5.3 from Debian bullseye with apt (suite pinned at priority 100)..."
  if [ ! -f "$BULLSEYE_KEYRING" ]; then
    # Ubuntu: the Debian archive keys come in the debian-archive-keyring package.
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq debian-archive-keyring >/dev/null ||
      jt_die "could not install debian-archive-keyring (needed to verify Debian's julia package)"
    [ -f "$BULLSEYE_KEYRING" ] || jt_die "$BULLSEYE_KEYRING is missing after installing debian-archive-keyring"
  fi
  if ! bullseye_in_sources; then
    printf 'Types: deb\nURIs: %s\nSuites: bullseye\nComponents: main\nSigned-By: %s\n' \
      "$BULLSEYE_MIRROR" "$BULLSEYE_KEYRING" | $sudo tee /etc/apt/sources.list.d/jtensor-bullseye.sources >/dev/null
    jt_log "added /etc/apt/sources.list.d/jtensor-bullseye.sources"
  fi
  if ! bullseye_pinned; then
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' |
      $sudo tee /etc/apt/preferences.d/jtensor-bullseye >/dev/null
    jt_log "added /etc/apt/preferences.d/jtensor-bullseye (Pin-Priority 100)"
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq -t bullseye julia >/dev/null
}

# Download bullseye's libunwind8 .deb into the current folder. Uses the configured apt sources
# when they list it; otherwise a private apt configuration (works without root, changes nothing).
fetch_libunwind_deb() {
  apt-get download -qq "libunwind8=$LIBUNWIND_VERSION" >/dev/null 2>&1 && return 0
  [ -f "$BULLSEYE_KEYRING" ] || jt_die "cannot fetch libunwind8 $LIBUNWIND_VERSION: no apt source lists it and $BULLSEYE_KEYRING is missing"
  local a="$PWD/apt"
  mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
  echo "deb [signed-by=$BULLSEYE_KEYRING] $BULLSEYE_MIRROR bullseye main" >"$a/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$a/sources.list" -o "Dir::Etc::SourceParts=$a/none"
              -o "Dir::State::Lists=$a/lists" -o "Dir::Cache=$a/cache" -o Debug::NoLocking=1
              -o APT::Sandbox::User="$(id -un)")
  apt-get "${opts[@]}" update -qq >/dev/null &&
    apt-get "${opts[@]}" download -qq "libunwind8=$LIBUNWIND_VERSION" >/dev/null ||
    jt_die "could not download libunwind8 $LIBUNWIND_VERSION from Debian bullseye"
}

# Install libunwind 1.3 for the julia binary $1; prints where.
install_libunwind_fix() {
  local exe=$1 priv dest tmp
  command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
    jt_die "Julia crashes on exceptions (its libunwind is too new) and apt/dpkg are not available to fetch libunwind 1.3; install Julia from https://julialang.org/downloads/ instead"
  priv=$(jt_private_libdir "$exe") || jt_die "cannot find libjulia for $exe"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && chmod 755 . && fetch_libunwind_deb)
  dpkg -x "$tmp"/libunwind8_*.deb "$tmp/x"
  local src
  src=$(dirname "$(find "$tmp/x" -name 'libunwind.so.8' | head -n 1)")
  [ -e "$src/libunwind.so.8" ] || jt_die "libunwind.so.8 not found in the libunwind8 package"
  if [ -d "$priv" ] && [ -w "$priv" ]; then
    dest=$priv
  else
    dest="$(jt_home)/libunwind"
    mkdir -p "$dest"
  fi
  cp -P "$src"/libunwind.so.8* "$dest/"
  rm -rf "$tmp"
  trap - EXIT
  jt_log "installed libunwind $LIBUNWIND_VERSION for Julia into $dest"
}

# The nvidia-* wheels of jtensor[cuda] (pyproject.toml), where pip can install them.
install_cuda_wheels() {
  local py=${PYTHON:-python3}
  [ "${JTENSOR_NO_CUDA_WHEELS:-0}" = 1 ] && return 0
  command -v "$py" >/dev/null 2>&1 || return 0
  "$py" -c 'import nvidia.cu13, os, sys; sys.exit(not any(os.path.exists(os.path.join(p, "lib", "libnvrtc.so.13")) for p in nvidia.cu13.__path__))' \
    2>/dev/null && return 0
  jt_log "installing the CUDA wheels (NVRTC, cuBLAS, CUDA runtime) for the CUDA code generator's tests..."
  "$py" -m pip install -q nvidia-cuda-nvrtc nvidia-cublas nvidia-cuda-runtime >/dev/null 2>&1 ||
    jt_log "note: could not install the CUDA wheels; the NVRTC tests will skip (the suite needs no GPU)"
}

main() {
  local julia rc=0 version
  julia=$(jt_find_julia) || rc=$?
  [ "$rc" -eq 2 ] && exit 1
  if [ "$rc" -ne 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
      install_julia_apt
      julia=$(jt_find_julia) || jt_die "Julia >= 1.$JT_MIN_MINOR still not found after installing it with apt"
      jt_log "using $julia (Julia $(jt_julia_version "$julia"))"
      case "$(command -v julia 2>/dev/null || true)" in
        "$julia"|"") ;;
        *) jt_log "note: an older \`julia\` comes first on PATH; set JTENSOR_JULIA=$julia" ;;
      esac
    else
      jt_log "no Julia >= 1.$JT_MIN_MINOR found."
      install_hint
      exit 1
    fi
  fi

  if ! jt_throw_ok "$julia"; then
    version=$(jt_julia_version "$julia")
    local minor=${version#*.}
    minor=${minor%%.*}
    if [ "${version%%.*}" -eq 1 ] && [ "$minor" -le 5 ]; then
      install_libunwind_fix "$julia"
    else
      jt_die "$julia (Julia $version) crashes when an exception is thrown; it is not the known libunwind problem of Julia 1.5, so setup cannot fix it"
    fi
  fi

  if ! jt_throw_ok "$julia"; then
    jt_log "check failed: this Julia did not catch an exception:"
    jt_julia "$julia" --startup-file=no -e 'f()=error("x"); try f() catch; println("ok") end' || true
    exit 1
  fi
  install_cuda_wheels
}

main "$@"
