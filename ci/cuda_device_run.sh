#!/usr/bin/env bash
# The prepared run on a lent GPU machine (docs/cuda.md): that machine has Python 3.12, no Julia and
# no network, and receives at most 64 MiB of working tree. So this script
#   1. records the machine (nvidia-smi, Python, the CUDA wheels and system libraries it has);
#   2. unpacks Julia 1.5.3 from the Debian debs carried in .cuda-device/debs (fetched here by
#      `ci/cuda_device_run.sh --fetch`) into a private prefix, with libunwind 1.3.2 beside libjulia;
#   3. runs the `cuda` tests (tests/test_cuda.py) and benchmarks/cuda.py,
# each step under its own time limit, writing logs and results to $OUT (or .cuda-device/out).
# Exit status: that of the tests.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEBS=$ROOT/.cuda-device/debs
PACKAGES="julia libjulia1 libllvm9 libz3-4 julia-common libgfortran5 libquadmath0 libunwind8=1.3.2-2 libffi7
          libedit2 libutf8proc2 libdsfmt-19937-1 libopenlibm3 libgmp10 libmpfr6 libpcre2-8-0"

if [ "${1:-}" = --fetch ]; then   # on a machine with apt and a network: fill .cuda-device/debs (~57 MB)
  mkdir -p "$DEBS" && cd "$DEBS" || exit 1
  for p in $PACKAGES; do apt-get download -qq "$p" || { echo "cannot download $p" >&2; exit 1; }; done
  du -sh "$DEBS"
  exit 0
fi

OUT=${OUT:-$ROOT/.cuda-device/out}
PREFIX=${JT_DEVICE_PREFIX:-/tmp/jtensor-julia}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 ))s] $*" | tee -a "$OUT/steps.log"; }

stamp "machine"
{
  nvidia-smi 2>&1 | head -20
  "$PY" --version
  "$PY" -c 'import numpy; print("numpy", numpy.__version__)' 2>&1
  "$PY" -c 'import torch; print("torch", torch.__version__, torch.version.cuda, torch.cuda.is_available())' 2>&1
  ls -d "$("$PY" -c 'import site; print(site.getsitepackages()[0])')"/nvidia/* 2>&1
  ldconfig -p | grep -E 'libcuda\.so|libstdc\+\+|libgmp|libmpfr|libpcre2-8|libblas|libopenblas' 2>&1
} >"$OUT/machine.txt" 2>&1

stamp "unpack Julia 1.5.3"
ls "$DEBS"/*.deb >/dev/null 2>&1 || { stamp "no debs in $DEBS (run ci/cuda_device_run.sh --fetch here first)"; exit 2; }
rm -rf "$PREFIX" && mkdir -p "$PREFIX"
# dpkg-deb where the image has it, else Python (a .deb is an ar archive holding data.tar.*)
undeb() {
  command -v dpkg-deb >/dev/null 2>&1 && { dpkg-deb -x "$1" "$2"; return; }
  "$PY" - "$1" "$2" <<'PYEOF'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
i = 8
while i < len(data):
    name, size = data[i:i + 16].decode().strip().rstrip("/"), int(data[i + 48:i + 58].decode())
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(data[i + 60:i + 60 + size])).extractall(sys.argv[2])
    i += 60 + size + (size & 1)
PYEOF
}
for d in "$DEBS"/*.deb; do undeb "$d" "$PREFIX" || { stamp "cannot unpack $d"; exit 2; }; done
LIB=$PREFIX/usr/lib/x86_64-linux-gnu
cp -P "$LIB"/libunwind.so.8* "$LIB/julia/"    # libunwind 1.3.2 where jtensor's locator looks for it
export LD_LIBRARY_PATH=$LIB/julia:$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export JTENSOR_JULIA=$PREFIX/usr/bin/julia JTENSOR_SYSIMAGE=0
export JULIA_DEPOT_PATH=$PREFIX/depot JTENSOR_CUDA_CACHE=$OUT/cubins
export PYTHONPATH=$ROOT/python${PYTHONPATH:+:$PYTHONPATH}
timeout 120 "$JTENSOR_JULIA" --startup-file=no -e 'f() = error("x"); try f() catch; println("julia ok ", VERSION) end' \
  >"$OUT/julia.txt" 2>&1
stamp "$(tail -1 "$OUT/julia.txt")"
( cd "$ROOT" && timeout 120 "$PY" setup.py build_ext --inplace -q >"$OUT/build_ext.txt" 2>&1 ) ||
  stamp "no C fast path (optional): see build_ext.txt"

stamp "import jtensor and ask the driver"
timeout 300 "$PY" -c 'import jtensor as jt; print("driver", jt.cuda.driver_available(), "devices", jt.cuda.device_count(), jt.cuda.library_paths())' \
  >"$OUT/import.txt" 2>&1
stamp "$(tail -1 "$OUT/import.txt")"

stamp "cuda tests"
( cd "$ROOT" && timeout "${JT_TEST_TIMEOUT:-300}" "$PY" -m pytest tests/test_cuda.py -m cuda -q -p no:cacheprovider -rs \
    --junitxml="$OUT/cuda_tests.xml" >"$OUT/cuda_tests.txt" 2>&1 )
rc=$?
stamp "tests exit $rc: $(tail -1 "$OUT/cuda_tests.txt")"

stamp "benchmark"
( cd "$ROOT" && timeout "${JT_BENCH_TIMEOUT:-180}" "$PY" benchmarks/cuda.py "$OUT/cuda_bench.json" >"$OUT/cuda_bench.txt" 2>&1 )
stamp "benchmark exit $?"
cat "$OUT/cuda_bench.txt" 2>/dev/null | tail -12
exit $rc
