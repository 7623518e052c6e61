#!/usr/bin/env bash
# Packaging check: `pip install .` into a fresh virtual environment that does NOT see the system's
# site-packages, then `import jtensor` and a smoke test in it. Every runtime dependency must be
# declared in pyproject.toml for this to pass (the set-up's own venv sees the system's packages,
# so it would hide an undeclared one). Needs PyPI for numpy and the declared dependencies.
#   bash ci/clean_install.sh [python]      (default: python3, or $PYTHON)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${1:-${PYTHON:-python3}}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jtensor-clean-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "== clean install: pip install . into $WORK/venv (no system site-packages)"
"$PY" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q --disable-pip-version-check --no-cache-dir "$ROOT"
# From a folder outside the checkout, so that the installed package (not python/) is imported.
cd "$WORK"
"$VPY" - <<'EOF'
import sys
assert not any("site-packages" in p and "venv" not in p for p in sys.path), sys.path
import jtensor as jt
x = jt.arange(6.0).reshape(2, 3)
y = (x @ x.T).sum().item()
assert y == 83.0, y   # [[5, 14], [14, 50]]
jt.save({"x": x}, "x.safetensors")
assert jt.load("x.safetensors")["x"].tolist() == x.tolist()
print("clean install: import jtensor and a smoke test passed with", jt.__file__)
EOF
