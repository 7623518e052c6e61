#!/usr/bin/env bash
# The demo: set up Julia (ci/setup.sh), install jtensor into .venv (as ci/test.sh does, with NumPy,
# PyTorch and what the training example needs), build JTensor's system image, then run examples/demo.py and
# examples/train_digits.py (an MLP and a CNN trained on scikit-learn's digits; outputs in examples/out/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=ci/lib.sh
. ci/lib.sh

jt_setup_julia
jt_python_env torch==2.13.0 numpy safetensors scikit-learn tqdm matplotlib
jt_sysimage
"$VPY" examples/demo.py
echo
exec "$VPY" examples/train_digits.py "$@"
