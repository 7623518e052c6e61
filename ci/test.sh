#!/usr/bin/env bash
# The test suite, as CI runs it:
#   1. ci/setup.sh (Julia >= 1.5 on which exceptions work);
#   2. the Python test dependencies, installed into the Python (python3, or $PYTHON) where missing;
#   3. jtensor itself, built and installed (not editable) into a virtual environment, .venv, that
#      sees that Python's packages (or into the virtual environment python3 runs in, if any): the
#      tests exercise the installed package, Julia sources and C fast path included;
#   4. JTensor's system image (python -m jtensor.sysimage), built unless a current one exists;
#   5. the packaging check (ci/clean_install.sh: pip install . into a venv that does not see the
#      system's packages, then import jtensor and a smoke test);
#   6. the Julia tests (julia/test/runtests.jl) and the Python tests (pytest tests, on that image,
#      in two pytest-xdist workers, then the `serial` tests alone), all three run even when
#      another fails.
# Exits non-zero when any step or test fails. See jt_python_env in ci/lib.sh for the details.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=ci/lib.sh
. ci/lib.sh

jt_setup_julia

jt_python_env torch==2.13.0 numpy hypothesis pytest pytest-xdist safetensors scikit-learn tqdm matplotlib einops
# Where jtensor was installed (found without importing it, which would start Julia).
PKG=$(cd / && "$VPY" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("jtensor").origin))')
compgen -G "$PKG/_fastpath*.so" >/dev/null ||
  jt_die "the C fast path jtensor._fastpath was not built (see the pip output above; is gcc installed?)"
# Every Python module of the checkout must have been installed (packaging check).
lost=$(cd python/jtensor && find . -name '*.py' -not -path './_native/*' | while read -r f; do
  [ -f "$PKG/$f" ] || echo "$f"; done)
[ -z "$lost" ] || jt_die "modules missing from the installed package (check pyproject.toml):" $lost
[ -f "$PKG/julia/src/JTensor.jl" ] || jt_die "the Julia sources are missing from the installed package"

echo "== JTensor system image"
t0=$SECONDS
jt_sysimage
echo "system image: $((SECONDS - t0)) s"
# tests/test_sysimage.py then checks that the suite really runs on the image
[ "$JT_SYSIMAGE_OK" = 1 ] && export JTENSOR_EXPECT_SYSIMAGE=1

# Packaging: every runtime dependency declared (a venv that does not see the system's packages).
clean_rc=0
bash ci/clean_install.sh "${PYTHON:-python3}" || clean_rc=$?

echo "== Julia tests ($("$JULIA" --version))"
t0=$SECONDS
julia_rc=0
jt_julia "$JULIA" --startup-file=no --threads=2 --project=julia julia/test/runtests.jl || julia_rc=$?
echo "Julia tests: $((SECONDS - t0)) s, exit code $julia_rc"

echo "== Python tests (jtensor installed in $PKG)"
# -p no:cacheprovider: no .pytest_cache in the work tree. pytest's summary line closes the output
# unless the Julia tests failed.
# Two workers (pytest-xdist), one warm Julia each, whole files per worker (test_ops.py and
# test_gradients.py: whole ops, see tests/conftest.py); then the tests marked
# `serial` (signals and terminals timed in child processes) alone. JT_TEST_WORKERS=0 runs serially.
workers=${JT_TEST_WORKERS:-2}
py_rc=0
if [ "$workers" -gt 0 ]; then
  "$VPY" -m pytest tests -q -rfE -p no:cacheprovider --durations=10 -n "$workers" --dist loadfile \
    -m "not serial" || py_rc=$?
  "$VPY" -m pytest tests -q -rfE -p no:cacheprovider --durations=5 -m serial || py_rc=$((py_rc ? py_rc : $?))
else
  "$VPY" -m pytest tests -q -rfE -p no:cacheprovider --durations=10 || py_rc=$?
fi
if [ "$clean_rc" -ne 0 ]; then
  echo "ci/test.sh: pip install . into a clean virtual environment failed (exit code $clean_rc, see above)" >&2
  exit 1
fi
if [ "$julia_rc" -ne 0 ]; then
  echo "ci/test.sh: the Julia tests failed (exit code $julia_rc, see above)" >&2
  exit 1
fi
exit "$py_rc"
