"""The CUDA code generator, tested without a GPU (docs/cuda.md).

- Every map op of the registry gets kernels for the compute types its dtype rule allows, and
  every listed reduction has its kernel; the exclusions below are the only ops without one.
- NVRTC compiles the whole map module and the reduction module to cubin for sm_80 and sm_90
  (skipped when the `nvidia-cuda-nvrtc` wheel, `jtensor[cuda]`, is not installed).
- The generated C also compiles as host C++ (g++): every map kernel's transpiled scalar
  function runs on sample operands against the Julia kernel it came from, and every reduction
  kernel runs (one thread per block) against the registry's CPU ops. This is what checks the
  transpiler's numerics here.

Generation, the two g++ builds and the NVRTC compilations run once per session (module fixture).
"""
import os
import shutil
import subprocess

import pytest

import jtensor as jt
from jtensor import bridge, cuda
from jtensor import dtypes as D

# Map ops that get no kernel, and why. Only the complex-only ops may be here: the GPU kernels
# cover bool, int32, int64, float32 and float64.
EXCLUDED = {}

REDUCTIONS = ["sum_rows", "sum_mid", "max_rows", "max_mid", "argmax_rows", "argmax_mid", "var_rows",
              "var_mid", "softmax_rows", "layer_norm_rows", "cross_entropy_rows"]


def test_import_loads_no_cuda_library():
    """`import jtensor` (and asking jt.cuda without a GPU) opens no CUDA library: libcuda, NVRTC and
    cuBLAS load on first use. Runs first in this file, before the tests below load NVRTC."""
    assert not jt.cuda.is_available()
    maps = open("/proc/self/maps").read()
    assert not any(n in maps for n in ("libcuda.so", "libnvrtc", "libcublas"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("cudagen")
    nops = bridge.eval_value(f'JTensor.codegen_inventory("{d}")')
    inventory = {}
    for line in (d / "inventory.tsv").read_text().splitlines():
        name, made, skipped, failed = line.split("\t")
        inventory[name] = (made.split(",") if made else [], skipped, failed)
    assert len(inventory) == nops
    return d, inventory


def test_every_map_op_has_kernels(generated):
    d, inventory = generated    # one line per map op of the Julia registry
    failed = {n: f for n, (_, _, f) in inventory.items() if f}
    assert not failed, f"the transpiler refused: {failed}"
    without = {n for n, (made, _, _) in inventory.items() if not made}
    assert without == set(EXCLUDED), f"ops without a CUDA kernel: {sorted(without)}"
    kernels = (d / "kernels.txt").read_text().split()
    nvariants = sum(len(made) for made, _, _ in inventory.values())
    # two entry points (contiguous, strided) per variant; _cast has one variant per output type
    assert len([k for k in kernels if k.startswith("jt_map_")]) >= 2 * nvariants
    assert len(inventory) >= 100, "the registry has over a hundred map ops"
    for r in REDUCTIONS:
        for t in ("f32", "f64"):
            assert f"jt_{r}_{t}" in kernels


def test_compute_types_match_python_rules():
    """The GPU generator's compute types per dtype rule are the ones Python's rules produce."""
    candidates = [D.bool_, D.int32, D.int64, D.float32, D.float64]
    for rule, fn in D.RULES.items():
        if rule == "first":
            continue   # masked_fill / index_put are not map ops
        python = set()
        for p in candidates:
            try:
                compute, _ = fn("op", p, [p, p])
            except (TypeError, RuntimeError):
                continue
            python.add(compute.name)
        julia = bridge.eval_value(f'join(lowercase.(string.(JTensor.rule_compute_types("{rule}"))), ",")')
        julia = set(julia.strip('"').split(","))   # a Julia string comes back as its repr
        assert python == julia, rule


def _host_build(src, exe):
    return subprocess.Popen(["g++", "-O0", "-std=c++17", "-w", "-o", str(exe), str(src)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.skipif(shutil.which("g++") is None, reason="no g++ to build the host check")
def test_transpiled_kernels_match_julia_on_the_host(generated):
    d, inventory = generated
    builds = [(_host_build(d / f"{n}_host.cpp", d / f"{n}_host"), d / f"{n}_host") for n in ("map", "reductions")]
    results = []
    for proc, exe in builds:
        out, _ = proc.communicate()
        assert proc.returncode == 0, out[-3000:]
        run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-3000:]
        results.append(run.stdout.strip().splitlines()[-1])
    nvariants = sum(len(made) for made, _, _ in inventory.values())
    assert f"results of " in results[0] and results[0].endswith(", 0 mismatches")
    assert int(results[0].split("results of ")[1].split()[0]) >= nvariants - 5   # a variant with no valid sample has no check
    assert results[1].endswith(", 0 mismatches")


NVRTC = cuda.library_paths().get("nvrtc")


@pytest.mark.skipif(NVRTC is None, reason="NVRTC is not installed (pip install jtensor[cuda], or nvidia-cuda-nvrtc)")
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_nvrtc_compiles_every_kernel(generated, arch):
    d, _ = generated
    cuda.configure_libraries()
    for module in ("map.cu", "reductions.cu"):
        size = bridge.eval_value(f'length(JTensor.compile_cached(read("{d / module}", String), "{arch}"))')
        assert size > 10_000, module
    # the cubin holds every reduction kernel by name
    names = "[" + ", ".join(f'"jt_{r}_{t}"' for r in REDUCTIONS for t in ("f32", "f64")) + "]"
    assert bridge.eval_value(f'(c = String(copy(JTensor.compile_cached(read("{d / "reductions.cu"}", String), "{arch}"))); '
                             f'all(n -> occursin(n, c), {names}))') is True


@pytest.mark.skipif(NVRTC is None, reason="NVRTC is not installed (pip install jtensor[cuda], or nvidia-cuda-nvrtc)")
def test_compile_errors_name_nvrtc_log():
    cuda.configure_libraries()
    with pytest.raises(Exception, match="NVRTC"):
        bridge.eval_value('JTensor.nvrtc_compile("extern \\"C\\" __global__ void k() { undefined_thing(); }", "sm_80")')
