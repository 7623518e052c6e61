# CUDA reduction kernels: sum, mean, max, argmax, var, softmax, log_softmax, layer_norm and
# cross_entropy, generated per element type. Their arithmetic is the registry's: the combining
# and elementwise functions (`+`, `fmaximum`, `fexp`, `flog`, `frsqrt`) are transpiled from the
# same Julia functions the CPU kernels call (transpile.jl); only the parallel skeleton is C here.
#
# Layouts (the launcher makes the operand contiguous first):
#   - `_rows`: a [rows, n] row-major array reduced along n: one block per row, each thread folds a
#     strided slice, then warp shuffles (`__shfl_xor_sync`) and one shared-memory step combine;
#   - `_mid`: a [outer, n, inner] array reduced along n: one thread per (outer, inner) pair, its
#     loads coalesced across `inner` (a reduction over any dimension but the last).
# On the host build (tests), a block is one thread, so the shuffle steps vanish and each row is
# folded sequentially by the same code.

"Element types of the reduction kernels."
const REDUCTION_TYPES = (Float32, Float64)
"The reductions generated for each type (tests/test_cuda_codegen.py counts them)."
const REDUCTION_KERNELS = ("sum_rows", "sum_mid", "max_rows", "max_mid", "argmax_rows", "argmax_mid",
                           "var_rows", "var_mid", "softmax_rows", "layer_norm_rows", "cross_entropy_rows")

const REDUCTION_SKELETON = """
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
template <class T, class Op> __device__ inline T jt_warp_reduce(T v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
/* The reduction of v over the block, returned to every thread (blockDim.x a multiple of 32). */
template <class T, class Op> __device__ inline T jt_block_reduce(T v, Op op, T init) {
  __shared__ T sh[33];
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  v = jt_warp_reduce(v, op);
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  v = lane < (int)(blockDim.x >> 5) ? sh[lane] : init;
  v = jt_warp_reduce(v, op);
  return v;
}
#else
template <class T, class Op> static inline T jt_block_reduce(T v, Op op, T init) { return v; }
#endif
/* Welford's running (count, mean, M2) and Chan's rule for combining two of them. */
template <class T> struct JtWelford { T n, mean, m2; };
template <class T> JT_FN JtWelford<T> jt_welford_add(JtWelford<T> a, T x) {
  a.n += 1; T d = x - a.mean; a.mean += d / a.n; a.m2 += d * (x - a.mean); return a; }
template <class T> struct JtWelfordOp {
  __device__ JtWelford<T> operator()(JtWelford<T> a, JtWelford<T> b) const {
    if (a.n == 0) return b; if (b.n == 0) return a;
    T n = a.n + b.n, d = b.mean - a.mean;
    JtWelford<T> r; r.n = n; r.mean = a.mean + d * (b.n / n); r.m2 = a.m2 + b.m2 + d * d * (a.n * b.n / n);
    return r; } };
/* (value, index) of a running argmax: the larger value wins, NaN beats every number, ties keep the lower index. */
template <class T> struct JtArg { T v; long long i; };
template <class T> struct JtArgmaxOp {
  __device__ JtArg<T> operator()(JtArg<T> a, JtArg<T> b) const {
    if (b.i < 0) return a; if (a.i < 0) return b;
    bool an = a.v != a.v, bn = b.v != b.v;
    if (an || bn) return an && (!bn || a.i < b.i) ? a : b;
    if (a.v != b.v) return a.v > b.v ? a : b;
    return a.i < b.i ? a : b; } };
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
template <class T> __device__ inline JtWelford<T> __shfl_xor_sync(unsigned m, JtWelford<T> a, int o) {
  JtWelford<T> r; r.n = __shfl_xor_sync(m, a.n, o); r.mean = __shfl_xor_sync(m, a.mean, o); r.m2 = __shfl_xor_sync(m, a.m2, o); return r; }
template <class T> __device__ inline JtArg<T> __shfl_xor_sync(unsigned m, JtArg<T> a, int o) {
  JtArg<T> r; r.v = __shfl_xor_sync(m, a.v, o); r.i = __shfl_xor_sync(m, a.i, o); return r; }
#endif
"""

"The reduction kernels of element type T, calling the transpiled functions `fs`."
function reduction_source(::Type{T}, fs) where {T}
    t, s = ctype(T), TYPE_SUFFIX[T]
    add, mx, ex, lg, rs = fs.add.name, fs.max.name, fs.exp.name, fs.log.name, fs.rsqrt.name
    ninf = T === Float32 ? "(-jt_inff())" : "(-jt_inf())"
    """
    struct JtAdd_$s { __device__ $t operator()($t a, $t b) const { return $add(a, b); } };
    struct JtMax_$s { __device__ $t operator()($t a, $t b) const { return $mx(a, b); } };
    /* max and sum of exp(x - max) of a row, over the block (softmax and cross entropy's logsumexp) */
    __device__ inline void jt_row_max_sumexp_$s(const $t* xr, long long n, $t* m_out, $t* z_out) {
      $t m = $ninf;
      for (long long j = threadIdx.x; j < n; j += blockDim.x) m = $mx(xr[j], m);
      m = jt_block_reduce(m, JtMax_$s(), $ninf);
      $t z = 0;
      for (long long j = threadIdx.x; j < n; j += blockDim.x) z = $add(z, $ex(xr[j] - m));
      *m_out = m; *z_out = jt_block_reduce(z, JtAdd_$s(), ($t)0);
    }
    #define JT_ROWS for (long long r = blockIdx.x; r < rows; r += gridDim.x)
    #define JT_MID for (long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x; q < outer * inner; q += (long long)blockDim.x * gridDim.x)
    JT_GLOBAL void jt_sum_rows_$s(long long rows, long long n, const $t* __restrict__ x, $t* __restrict__ out, int mean) {
      JT_ROWS {
        $t acc = 0;
        for (long long j = threadIdx.x; j < n; j += blockDim.x) acc = $add(acc, x[r * n + j]);
        acc = jt_block_reduce(acc, JtAdd_$s(), ($t)0);
        if (threadIdx.x == 0) out[r] = mean ? acc / ($t)n : acc;
      }
    }
    JT_GLOBAL void jt_sum_mid_$s(long long outer, long long n, long long inner, const $t* __restrict__ x, $t* __restrict__ out, int mean) {
      JT_MID {
        long long o = q / inner, i = q % inner; $t acc = 0;
        for (long long j = 0; j < n; j++) acc = $add(acc, x[(o * n + j) * inner + i]);
        out[q] = mean ? acc / ($t)n : acc;
      }
    }
    JT_GLOBAL void jt_max_rows_$s(long long rows, long long n, const $t* __restrict__ x, $t* __restrict__ out) {
      JT_ROWS {
        $t acc = $ninf;
        for (long long j = threadIdx.x; j < n; j += blockDim.x) acc = $mx(x[r * n + j], acc);
        acc = jt_block_reduce(acc, JtMax_$s(), $ninf);
        if (threadIdx.x == 0) out[r] = acc;
      }
    }
    JT_GLOBAL void jt_max_mid_$s(long long outer, long long n, long long inner, const $t* __restrict__ x, $t* __restrict__ out) {
      JT_MID {
        long long o = q / inner, i = q % inner; $t acc = $ninf;
        for (long long j = 0; j < n; j++) acc = $mx(x[(o * n + j) * inner + i], acc);
        out[q] = acc;
      }
    }
    JT_GLOBAL void jt_argmax_rows_$s(long long rows, long long n, const $t* __restrict__ x, long long* __restrict__ out) {
      JT_ROWS {
        JtArg<$t> acc = {$ninf, -1}; JtArgmaxOp<$t> op;
        for (long long j = threadIdx.x; j < n; j += blockDim.x) { JtArg<$t> e = {x[r * n + j], j}; acc = op(acc, e); }
        JtArg<$t> none = {$ninf, -1};
        acc = jt_block_reduce(acc, op, none);
        if (threadIdx.x == 0) out[r] = acc.i;
      }
    }
    JT_GLOBAL void jt_argmax_mid_$s(long long outer, long long n, long long inner, const $t* __restrict__ x, long long* __restrict__ out) {
      JT_MID {
        long long o = q / inner, i = q % inner; JtArg<$t> acc = {$ninf, -1}; JtArgmaxOp<$t> op;
        for (long long j = 0; j < n; j++) { JtArg<$t> e = {x[(o * n + j) * inner + i], j}; acc = op(acc, e); }
        out[q] = acc.i;
      }
    }
    JT_GLOBAL void jt_var_rows_$s(long long rows, long long n, const $t* __restrict__ x, $t* __restrict__ out, double correction) {
      JT_ROWS {
        JtWelford<$t> w = {0, 0, 0};
        for (long long j = threadIdx.x; j < n; j += blockDim.x) w = jt_welford_add(w, x[r * n + j]);
        JtWelford<$t> zero = {0, 0, 0};
        w = jt_block_reduce(w, JtWelfordOp<$t>(), zero);
        if (threadIdx.x == 0) out[r] = w.m2 / ($t)((double)n - correction);
      }
    }
    JT_GLOBAL void jt_var_mid_$s(long long outer, long long n, long long inner, const $t* __restrict__ x, $t* __restrict__ out, double correction) {
      JT_MID {
        long long o = q / inner, i = q % inner; JtWelford<$t> w = {0, 0, 0};
        for (long long j = 0; j < n; j++) w = jt_welford_add(w, x[(o * n + j) * inner + i]);
        out[q] = w.m2 / ($t)((double)n - correction);
      }
    }
    /* softmax (log_softmax when `logarithm`) along the rows: max, then the sum of exp(x - max). */
    JT_GLOBAL void jt_softmax_rows_$s(long long rows, long long n, const $t* __restrict__ x, $t* __restrict__ out, int logarithm) {
      JT_ROWS {
        const $t* xr = x + r * n; $t* yr = out + r * n;
        $t m, z; jt_row_max_sumexp_$s(xr, n, &m, &z);
        $t lz = $lg(z);
        for (long long j = threadIdx.x; j < n; j += blockDim.x)
          yr[j] = logarithm ? (xr[j] - m) - lz : $ex(xr[j] - m) / z;
      }
    }
    /* layer_norm over the last n elements; weight and bias may be null; mean and rstd saved for backward. */
    JT_GLOBAL void jt_layer_norm_rows_$s(long long rows, long long n, const $t* __restrict__ x, const $t* __restrict__ w,
                                         const $t* __restrict__ b, double eps, $t* __restrict__ out,
                                         $t* __restrict__ mean_out, $t* __restrict__ rstd_out) {
      JT_ROWS {
        const $t* xr = x + r * n; $t* yr = out + r * n;
        JtWelford<$t> acc = {0, 0, 0};
        for (long long j = threadIdx.x; j < n; j += blockDim.x) acc = jt_welford_add(acc, xr[j]);
        JtWelford<$t> zero = {0, 0, 0};
        acc = jt_block_reduce(acc, JtWelfordOp<$t>(), zero);
        $t rstd = $rs(acc.m2 / ($t)n + ($t)eps);
        for (long long j = threadIdx.x; j < n; j += blockDim.x) {
          $t y = (xr[j] - acc.mean) * rstd;
          if (w) y = y * w[j];
          if (b) y = y + b[j];
          yr[j] = y;
        }
        if (threadIdx.x == 0) { if (mean_out) mean_out[r] = acc.mean; if (rstd_out) rstd_out[r] = rstd; }
      }
    }
    /* Per-row cross entropy of logits [rows, C] and class targets: logsumexp - x[target]; 0 where the
       target is ignore_index. A target out of range sets the error word. */
    JT_GLOBAL void jt_cross_entropy_rows_$s(long long rows, long long C, const $t* __restrict__ x,
                                            const long long* __restrict__ target, long long ignore_index, $t* __restrict__ loss) {
      JT_ROWS {
        const $t* xr = x + r * C;
        $t m, z; jt_row_max_sumexp_$s(xr, C, &m, &z);
        if (threadIdx.x == 0) {
          long long t = target[r];
          if (t == ignore_index) loss[r] = 0;
          else if (t < 0 || t >= C) { jt_raise(); loss[r] = 0; }
          else loss[r] = (m + $lg(z)) - xr[t];
        }
      }
    }
    #undef JT_ROWS
    #undef JT_MID
    """
end

"""
    generate_reduction_module() -> (source, kernel names)

One CUDA module with the reduction kernels of every type in `REDUCTION_TYPES`.
"""
function generate_reduction_module()
    prog = CProgram()
    parts = String[]
    names = String[]
    for T in REDUCTION_TYPES
        s = TYPE_SUFFIX[T]
        fs = (add = transpile!(prog, +, (T, T); name = "jt_add_$s"),
              max = transpile!(prog, fmaximum, (T, T); name = "jt_fmaximum_$s"),
              exp = transpile!(prog, fexp, (T,); name = "jt_fexp_$s"),
              log = transpile!(prog, flog, (T,); name = "jt_flog_$s"),
              rsqrt = transpile!(prog, frsqrt, (T,); name = "jt_frsqrt_$s"))
        push!(parts, reduction_source(T, fs))
        append!(names, ("jt_$(k)_$s" for k in REDUCTION_KERNELS))
    end
    CUDA_PRELUDE * program_source(prog) * REDUCTION_SKELETON * join(parts, "\n"), names
end
