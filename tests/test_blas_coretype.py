"""OPENBLAS_CORETYPE chosen for Julia's old OpenBLAS (python/jtensor/_locate.py): the CPU families it
misdetects get the kernels their instruction sets support, the others are left alone."""
from jtensor._locate import blas_coretype

AVX2 = {"sse3", "avx", "avx2", "fma"}
AVX512 = AVX2 | {"avx512f", "avx512vl", "avx512bw", "avx512dq"}


def test_zen_gets_haswell():
    assert blas_coretype("AuthenticAMD", 0x17, AVX2) == "Haswell"
    assert blas_coretype("AuthenticAMD", 0x19, AVX512) == "Haswell"


def test_intel_by_instruction_set():
    assert blas_coretype("GenuineIntel", 6, AVX512) == "SkylakeX"
    assert blas_coretype("GenuineIntel", 6, AVX2) == "Haswell"
    assert blas_coretype("GenuineIntel", 6, AVX2 | {"avx512f"}) == "Haswell"   # partial AVX-512: not SkylakeX's


def test_old_or_unknown_cpus_left_to_openblas():
    assert blas_coretype("GenuineIntel", 6, {"sse3", "avx"}) is None
    assert blas_coretype("AuthenticAMD", 0x15, AVX2) is None
    assert blas_coretype("", 0, set()) is None
