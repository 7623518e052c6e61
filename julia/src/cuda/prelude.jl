# The C++ that every generated CUDA module starts with: helpers the transpiled code calls
# (bit casts, Julia's defined shift and division semantics, NaN/Inf without <cmath> macros, the
# error word), the shape/stride struct of strided kernels, and vector types of the contiguous
# fast path. It compiles under NVRTC (no #include from disk: NVRTC declares the CUDA math
# functions itself) and, with `__device__` and friends defined away, as host C++ under g++: the
# tests run the transpiled functions on the CPU that way and compare them with the Julia kernels.

"Most dimensions a strided kernel indexes (after collapsing contiguous ones)."
const CUDA_MAXDIM = 8

const CUDA_PRELUDE = """
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
#define JT_FN __device__ inline
#define JT_GLOBAL extern "C" __global__
#define JT_TABLE __device__ const
#define JT_DEVFN __device__ __noinline__   /* transpiled functions: compiled once, called */
__device__ int jt_error_word;
#else   /* host C++: the same source, for testing the transpiled functions on the CPU */
#include <cmath>
#include <cstdio>
#include <cstdint>
#define JT_FN static inline
#define JT_GLOBAL static
#define JT_TABLE static const
#define JT_DEVFN static
#define __device__
#define __global__
#define __restrict__
using std::fma; using std::fmod; using std::rint; using std::nextafter; using std::copysign;
static int jt_error_word;
/* one thread of one block: a host call of a kernel runs its whole grid-stride loop */
struct JtDim3 { unsigned x, y, z; };
static const JtDim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0}, blockDim = {1, 1, 1}, gridDim = {1, 1, 1};
#endif
#define JT_MAXDIM $(CUDA_MAXDIM)

JT_FN void jt_raise() { jt_error_word = 1; }
template <class To, class From> JT_FN To jt_bitcast(From x) { union { From f; To t; } u; u.f = x; return u.t; }
JT_FN float jt_nanf() { return jt_bitcast<float, unsigned int>(0x7fc00000u); }
JT_FN double jt_nan() { return jt_bitcast<double, unsigned long long>(0x7ff8000000000000ull); }
JT_FN float jt_inff() { return jt_bitcast<float, unsigned int>(0x7f800000u); }
JT_FN double jt_inf() { return jt_bitcast<double, unsigned long long>(0x7ff0000000000000ull); }
/* Julia's shifts are defined for every count: past the width, shl/lshr give 0 and ashr the sign. */
template <class T> JT_FN T jt_shl(T x, unsigned long long y) {
  return y >= 8 * sizeof(T) ? (T)0 : (T)(((unsigned long long)x) << y); }
template <class U> JT_FN U jt_lshr(U x, unsigned long long y) { return y >= 8 * sizeof(U) ? (U)0 : (U)(x >> y); }
template <class T> JT_FN T jt_ashr(T x, unsigned long long y) {
  return y >= 8 * sizeof(T) ? (x < 0 ? (T)-1 : (T)0) : (T)(x >> y); }
/* Integer division: a zero divisor raises (Julia's DivideError); typemin / -1 wraps. */
template <class T> JT_FN T jt_sdiv(T a, T b) {
  if (b == 0) { jt_raise(); return (T)0; }
  return b == (T)-1 ? (T)(0ull - (unsigned long long)a) : (T)(a / b); }
template <class T> JT_FN T jt_srem(T a, T b) {
  if (b == 0) { jt_raise(); return (T)0; }
  return b == (T)-1 ? (T)0 : (T)(a % b); }
template <class U> JT_FN U jt_udiv(U a, U b) { if (b == 0) { jt_raise(); return (U)0; } return (U)(a / b); }
template <class U> JT_FN U jt_urem(U a, U b) { if (b == 0) { jt_raise(); return (U)0; } return (U)(a % b); }
template <class T> JT_FN bool jt_fpiseq(T a, T b) { return (a != a && b != b) || a == b && (a != 0 || jt_bitcast<unsigned long long>((double)a) == jt_bitcast<unsigned long long>((double)b)); }
template <class T> JT_FN bool jt_fpislt(T a, T b) {
  if (a != a) return false; if (b != b) return true;
  return a < b || (a == b && a == 0 && jt_bitcast<unsigned long long>((double)a) > jt_bitcast<unsigned long long>((double)b)); }
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
template <class U> JT_FN int jt_popc(U x) { return __popcll((unsigned long long)x); }
template <class U> JT_FN int jt_clz(U x) { return x == 0 ? 8 * (int)sizeof(U) : __clzll((unsigned long long)x) - (64 - 8 * (int)sizeof(U)); }
template <class U> JT_FN int jt_ctz(U x) { return x == 0 ? 8 * (int)sizeof(U) : __ffsll((long long)(unsigned long long)x) - 1; }
#else
template <class U> JT_FN int jt_popc(U x) { return __builtin_popcountll((unsigned long long)x); }
template <class U> JT_FN int jt_clz(U x) { return x == 0 ? 8 * (int)sizeof(U) : __builtin_clzll((unsigned long long)x) - (64 - 8 * (int)sizeof(U)); }
template <class U> JT_FN int jt_ctz(U x) { return x == 0 ? 8 * (int)sizeof(U) : __builtin_ctzll((unsigned long long)x); }
#endif

/* Shape and element strides of a strided call, passed by value: dims innermost first (Julia's
   order), one stride row per operand (the output first). */
template <int K> struct JtIndexer { int nd; long long size[JT_MAXDIM]; long long stride[K][JT_MAXDIM]; };
template <int K> JT_FN void jt_offsets(const JtIndexer<K>& ix, long long i, long long* off) {
  for (int k = 0; k < K; k++) off[k] = 0;
#pragma unroll 1
  for (int d = 0; d < ix.nd; d++) {
    long long c = i % ix.size[d]; i /= ix.size[d];
    for (int k = 0; k < K; k++) off[k] += c * ix.stride[k][d];
  }
}
/* W elements loaded or stored as one 16-byte (or smaller) access on the contiguous fast path. */
template <class T, int W> struct alignas(sizeof(T) * W) JtVec { T v[W]; };
"""
