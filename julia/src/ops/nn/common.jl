# Shared helpers of the neural-network kernels behind `jt.nn.functional`, which live beside this
# file, one file a family: convolution, pooling, softmax, standardization (the core of
# layer/batch/group norm), fused norms, class losses, embedding, dropout masks, linear. Every
# backward pass that needs its own kernel is an op too, and declares its own derivative (the
# adjoint of a linear backward is the forward kernel, as NNlib does for ∇conv_data/∇conv_filter),
# so second derivatives work. Composites (linear, attention, the affine part of norms, most losses) are
# written in Python from these and other registry ops.
#
# Layout: kernels see Julia dimension order, so a Python (N, C, H, W) batch is a Julia (W, H, C, N)
# array and a Python (Cout, Cin/groups, kH, kW) weight is a Julia (kW, kH, Cin/groups, Cout) one.
# Integer-list parameters (kernel_size, stride, padding, dilation) arrive in Python order.
# Float16/BFloat16 compute in Float32; statistics accumulate in Float64.

_nn_float(op, x) = eltype(x) <: AbstractFloat ||
    throw(DTypeError("$op(): expected a floating point tensor, got $(_dtname(x))"))
function _nn_same_dtype(op, x, others...)
    _nn_float(op, x)
    for o in others
        o === nothing || eltype(o) === eltype(x) || throw(DTypeError(
            "$op(): expected all tensors to have dtype $(_dtname(x)), but got $(_dtname(o))"))
    end
end
"A Julia-order size (or an array's) as the Python shape string \"[a, b, c]\"."
_nn_shape(sz::Tuple) = string("[", join(reverse(sz), ", "), "]")
_nn_shape(x::AbstractArray) = _nn_shape(size(x))
_nn_shape(x::MetaArray) = _nn_shape(size(x))
_pair(op, name, v, n = 2) = (length(v) == n && all(>=(0), v)) ? v :
    throw(ArgumentError("$op(): $name must be $n non-negative integers, got $(collect(v))"))
_pos(op, name, v) = all(>(0), v) ? v : throw(ArgumentError("$op(): $name must be positive, got $(collect(v))"))

"Run `f(i)` for i in 1:n, over Julia's threads when `work` (elements touched) is large enough."
function _tfor(f::F, n::Int, work::Int) where {F}
    if Threads.nthreads() > 1 && n > 1 && work >= THREAD_MIN
        Threads.@threads for i in 1:n
            f(i)
        end
    else
        for i in 1:n
            f(i)
        end
    end
    nothing
end

"""Run `f(qs)` over ranges `qs` that cover 1:n: one range, or one per thread when `work` is large
enough. For many small items (pooling planes), where a call per item would cost more than the item."""
function _tfor_ranges(f::F, n::Int, work::Int) where {F}
    nc = Threads.nthreads() > 1 && work >= THREAD_MIN ? min(n, Threads.nthreads()) : 1
    _tfor(c -> f((c - 1) * n ÷ nc + 1:c * n ÷ nc), nc, work)
end

"""
    @simd_short for ... end

`@simd` for loops only a few vectors long, such as the runs of a convolution's columns: one vector
per iteration. (Plain `@simd` lets LLVM interleave four AVX-512 vectors per iteration, so a loop of
fewer than 64 Float32 never enters its vector body.)
"""
macro simd_short(loop)
    Meta.isexpr(loop, :for) || throw(ArgumentError("@simd_short expects a for loop"))
    info = Expr(:loopinfo, Symbol("julia.simdloop"), (Symbol("llvm.loop.interleave.count"), 1))
    Expr(:for, esc(loop.args[1]), Expr(:block, esc(loop.args[2]), info))
end

"""
    @scalar for ... end

A loop that LLVM must not vectorize: one with strided loads or stores (a transpose), whose vector
form gathers or scatters, which is slower than scalar code on some CPUs (AMD Zen 4).
"""
macro scalar(loop)
    Meta.isexpr(loop, :for) || throw(ArgumentError("@scalar expects a for loop"))
    info = Expr(:loopinfo, (Symbol("llvm.loop.vectorize.enable"), false))
    Expr(:for, esc(loop.args[1]), Expr(:block, esc(loop.args[2]), info))
end

"Product of a tuple's entries from `lo` to `hi` (1 when empty)."
_prodrange(sz, lo, hi) = (p = 1; for d in lo:hi; p *= sz[d]; end; p)

