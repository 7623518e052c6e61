# Pooling. Inputs are (N, C, H, W) or (C, H, W): Julia (W, H, planes...).

function _pool_input(op, sz::Tuple)
    (length(sz) == 3 || length(sz) == 4) || throw(ArgumentError(
        "$op(): expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got shape $(_nn_shape(sz))"))
    (sz[1] >= 1 && sz[2] >= 1) || throw(ArgumentError("$op(): input of shape $(_nn_shape(sz)) has an empty plane"))
end

"PyTorch's pooling output length (ceil_mode windows must start inside the input or left padding)."
function _poollen(op, n, k, s, p, d, ceil_mode)
    p <= k ÷ 2 || throw(ArgumentError("$op(): pad should be at most half of effective kernel size, but got pad=$p and kernel_size=$k"))
    num = n + 2p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0)
    o = fld(num, s) + 1
    ceil_mode && (o - 1) * s >= n + p && (o -= 1)
    o >= 1 || throw(ArgumentError("$op(): given input size $n, kernel $k, stride $s, padding $p, dilation $d, " *
                                  "the output size $o is too small"))
    o
end

function _pool_params(op, sz::Tuple, ks, stride, padding, dilation, ceil_mode)
    _pool_input(op, sz)
    kH, kW = _pos(op, "kernel_size", _pair(op, "kernel_size", ks))
    sH, sW = _pos(op, "stride", _pair(op, "stride", stride))
    pH, pW = _pair(op, "padding", padding)
    dH, dW = _pos(op, "dilation", _pair(op, "dilation", dilation))
    OH = _poollen(op, sz[2], kH, sH, pH, dH, ceil_mode)
    OW = _poollen(op, sz[1], kW, sW, pW, dW, ceil_mode)
    kH, kW, sH, sW, pH, pW, dH, dW, OH, OW
end

_planes(x) = _prodrange(size(x), 3, ndims(x))

"Pooling window geometry (Julia order is (w, h); fields are per axis)."
struct PoolGeom
    W::Int; H::Int; kW::Int; kH::Int; sW::Int; sH::Int; pW::Int; pH::Int; dW::Int; dH::Int; OW::Int; OH::Int
end

"Valid kernel offsets [lo, hi] (1-based) of each output position along one axis."
function _pool_ranges(n, k, s, p, d, on)
    lo = alloc(Int, on); hi = alloc(Int, on)
    for o in 1:on
        i0 = (o - 1) * s - p
        lo[o] = max(1, cld(-i0, d) + 1)
        hi[o] = min(k, fld(n - 1 - i0, d) + 1)
    end
    lo, hi
end

"""Whether tap value `v` replaces the window's maximum `best` so far, by PyTorch's rule: when it
is larger, or (with `nans`) NaN. So the first maximum wins and NaN propagates; without NaN in the
input the plain comparison gives the same result, and is much faster."""
@inline _replaces(v, best, ::Val{nans}) where {nans} = nans ? (v > best) | isnan(v) : v > best

"""The maximum of X[xo + b + t] over plane offsets `taps` (in (kh, kw) order) and its plane index
b + t. A window starts at -Inf with its first tap's index."""
@inline function _window_max(X::Vector{T}, xo::Int, b::Int, taps, nans::Val) where {T}
    best = typemin(T); bi = b + first(taps)
    @inbounds for t in taps
        i = b + t; v = X[xo + i]
        c = _replaces(v, best, nans)
        best = ifelse(c, v, best); bi = ifelse(c, i, bi)
    end
    best, bi
end

"""The output positions of a plane (1-based, flat) whose windows lie inside the input, with the
plane indices of their corners; and the other (clipped) positions."""
function _pool_windows(g::PoolGeom, rh, rw)
    full = Int[]; corner = Int[]; clipped = Int[]
    for oh in 1:g.OH, ow in 1:g.OW
        j = (oh - 1) * g.OW + ow
        if rh[1][oh] == 1 && rh[2][oh] == g.kH && rw[1][ow] == 1 && rw[2][ow] == g.kW
            push!(full, j); push!(corner, ((oh - 1) * g.sH - g.pH) * g.W + (ow - 1) * g.sW - g.pW)
        else
            push!(clipped, j)
        end
    end
    full, corner, clipped
end

"""Max pooling of planes `qs` of `X` into `Y` and `I` (all flat, planes one after another) at the
output positions `full`, whose windows lie inside the input and read their taps at offsets `taps`
from `corner`."""
function _max_pool_full!(Y::Vector{T}, I::Vector{Int64}, X::Vector{T}, g::PoolGeom, full::Vector{Int},
                         corner::Vector{Int}, taps, qs::UnitRange{Int}, nans::Val) where {T}
    @inbounds for q in qs
        xo = (q - 1) * g.W * g.H + 1; yo = (q - 1) * g.OW * g.OH
        @scalar for j in eachindex(full)
            Y[yo + full[j]], I[yo + full[j]] = _window_max(X, xo, corner[j], taps, nans)
        end
    end
end

"""Max pooling of planes `qs` at the output positions `clipped`, whose windows the padding or the
ceil_mode edge clips: each reads its valid taps only. An empty window (possible with dilation)
gives -Inf at the index of its first tap position inside the padded input, as PyTorch does."""
function _max_pool_clipped!(Y::Vector{T}, I::Vector{Int64}, X::Vector{T}, g::PoolGeom, rh, rw,
                            clipped::Vector{Int}, qs::UnitRange{Int}, nans::Val) where {T}
    khlo, khhi = rh; kwlo, kwhi = rw
    @inbounds for q in qs, j in clipped
        xo = (q - 1) * g.W * g.H + 1; yo = (q - 1) * g.OW * g.OH
        oh, ow = divrem(j - 1, g.OW) .+ 1
        h0 = (oh - 1) * g.sH - g.pH; w0 = (ow - 1) * g.sW - g.pW
        best = typemin(T); bi = (h0 + (khlo[oh] - 1) * g.dH) * g.W + w0 + (kwlo[ow] - 1) * g.dW
        for kh in khlo[oh]:khhi[oh]
            rowi = (h0 + (kh - 1) * g.dH) * g.W + w0
            for kw in kwlo[ow]:kwhi[ow]
                i = rowi + (kw - 1) * g.dW; v = X[xo + i]
                c = _replaces(v, best, nans)
                best = ifelse(c, v, best); bi = ifelse(c, i, bi)
            end
        end
        Y[yo + j] = best; I[yo + j] = bi
    end
end

function _max_pool2d(x, ks, stride, padding, dilation, ceil_mode::Bool)
    op = "max_pool2d"
    _nn_float(op, x)
    kH, kW, sH, sW, pH, pW, dH, dW, OH, OW = _pool_params(op, size(x), ks, stride, padding, dilation, ceil_mode)
    T = eltype(x); C = compute_type(T)
    g = PoolGeom(size(x, 1), size(x, 2), kW, kH, sW, sH, pW, pH, dW, dH, OW, OH)
    X = vec(as_dense(C, x))
    # The common 2×2 and 3×3 windows hold their taps in a tuple, so that loops over them unroll.
    # (Each Val is built from a literal: Val(n) of a runtime n costs microseconds.)
    nt = kH * kW
    Y, I = _max_pool_dense(X, g, _planes(x), nt == 4 ? Val(4) : nt == 9 ? Val(9) : Val(0),
                           _hasnan(X) ? Val(true) : Val(false))
    osz = (OW, OH, Base.tail(Base.tail(size(x)))...)
    _restore(T, reshape(Y, osz)), reshape(I, osz)
end

"Whether `X` holds a NaN (one vectorized pass)."
function _hasnan(X::Vector{<:AbstractFloat})
    f = false
    @inbounds @simd for i in eachindex(X)
        f |= isnan(X[i])
    end
    f
end

"Offset of a window's tap t (in (kh, kw) order) from its corner, in a plane."
_pool_tap(g::PoolGeom, t::Int) = ((t - 1) ÷ g.kW * g.dH) * g.W + (t - 1) % g.kW * g.dW

"""`_max_pool2d` of the np planes of a flat dense input: flat values and indices (the function
barrier). The window's taps are a tuple of NT offsets, or a vector when NT is 0."""
function _max_pool_dense(X::Vector{T}, g::PoolGeom, np::Int, ::Val{NT}, nans::Val) where {T,NT}
    taps = NT == 0 ? [_pool_tap(g, t) for t in 1:g.kH * g.kW] : ntuple(t -> _pool_tap(g, t), Val(NT))
    Y = alloc(T, g.OW * g.OH * np); I = alloc(Int64, length(Y))
    rh = _pool_ranges(g.H, g.kH, g.sH, g.pH, g.dH, g.OH); rw = _pool_ranges(g.W, g.kW, g.sW, g.pW, g.dW, g.OW)
    full, corner, clipped = _pool_windows(g, rh, rw)
    _tfor_ranges(np, length(X)) do qs
        _max_pool_full!(Y, I, X, g, full, corner, taps, qs, nans)
        isempty(clipped) || _max_pool_clipped!(Y, I, X, g, rh, rw, clipped, qs, nans)
    end
    Y, I
end
function _max_pool2d(x::MetaArray, ks, stride, padding, dilation, ceil_mode::Bool)
    op = "max_pool2d"
    _nn_float(op, x)
    _, _, _, _, _, _, _, _, OH, OW = _pool_params(op, size(x), ks, stride, padding, dilation, ceil_mode)
    osz = (OW, OH, Base.tail(Base.tail(size(x)))...)
    meta_like(x, eltype(x), osz), MetaArray{Int64}(osz)
end
defop("_max_pool2d(input: Tensor, kernel_size: IntList, stride: IntList, padding: IntList, dilation: IntList, " *
      "ceil_mode: bool) -> (values: Tensor, indices: Tensor)", _max_pool2d; method = false,
      grad = ["input" => "_pool2d_scatter(grad, indices, input.shape)"],
      doc = "2-d max pooling over (N, C, H, W) or (C, H, W) input (padding is -inf); indices are flat " *
            "positions h*W + w in each input plane. Sizes are (h, w).")

"""Check integer indices into planes of size sz[1]×sz[2]: one vectorized pass, and a search for
the first offending index only for the error message."""
function _pool_index_check(op, idx, sz)
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) || throw(DTypeError("$op(): indices must be integers, got $(_dtname(idx))"))
    n = sz[1] * sz[2]
    _anyoutside(idx, n) || return
    v = idx[findfirst(v -> !(0 <= v < n), idx)]
    _oob("$op(): index $v is out of bounds for an input plane of $n elements")
end

"Whether an integer array has an entry outside 0:n-1 (one unsigned comparison each, vectorized)."
function _anyoutside(A::Array{<:Integer}, n::Int)
    bad = false
    @inbounds @simd for i in eachindex(A)
        bad |= (A[i] % UInt64) >= (n % UInt64)
    end
    bad
end

function _pool2d_scatter(g, idx, sz)
    op = "pool2d_scatter"
    size(g) == size(idx) || throw(DimensionMismatch("$op(): input $(_nn_shape(g)) and indices $(_nn_shape(idx)) differ in shape"))
    (length(sz) == ndims(g) && length(sz) >= 2 && sz[3:end] == size(g)[3:end]) || throw(DimensionMismatch(
        "$op(): output shape $(_nn_shape(sz)) does not fit input $(_nn_shape(g))"))
    I = dense(idx)
    _pool_index_check(op, I, sz)
    T = eltype(g); C = compute_type(T)
    np = _prodrange(sz, 3, length(sz))
    _restore(T, reshape(_pool_scatter_dense(vec(as_dense(C, g)), vec(I), size(g, 1) * size(g, 2), sz[1] * sz[2], np), sz))
end

"""Zeros of np planes of n elements with the m values of each plane of `G` added at their
(checked) flat indices `I`: `_pool2d_scatter` on dense arrays (the function barrier)."""
function _pool_scatter_dense(G::Vector{T}, I::Vector{<:Integer}, m::Int, n::Int, np::Int) where {T}
    O = alloc_zeros(T, n * np)
    _tfor_ranges(np, length(O)) do qs
        @inbounds for q in qs, p in (q - 1) * m + 1:q * m
            O[(q - 1) * n + I[p] + 1] += G[p]
        end
    end
    O
end

function _pool2d_gather(x, idx)
    op = "pool2d_gather"
    (ndims(idx) == ndims(x) && ndims(x) >= 2 && size(idx)[3:end] == size(x)[3:end]) || throw(DimensionMismatch(
        "$op(): indices $(_nn_shape(idx)) do not fit input $(_nn_shape(x))"))
    I = dense(idx)
    _pool_index_check(op, I, size(x))
    np = _planes(x); n = size(x, 1) * size(x, 2); m = size(idx, 1) * size(idx, 2)
    X = reshape(dense(x), n, np); I2 = reshape(I, m, np)
    O = alloc(eltype(x), m, np)
    @inbounds for q in 1:np, p in 1:m
        O[p, q] = X[I2[p, q] + 1, q]
    end
    reshape(O, size(idx))
end
# Meta: the shape and dtype checks; index values are data, unchecked.
_pool_index_check(op, idx::MetaArray, sz) = eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
    throw(DTypeError("$op(): indices must be integers, got $(_dtname(idx))"))
function _pool2d_scatter(g::MetaArray, idx::MetaArray, sz)
    op = "pool2d_scatter"
    size(g) == size(idx) || throw(DimensionMismatch("$op(): input $(_nn_shape(g)) and indices $(_nn_shape(idx)) differ in shape"))
    (length(sz) == ndims(g) && length(sz) >= 2 && sz[3:end] == size(g)[3:end]) || throw(DimensionMismatch(
        "$op(): output shape $(_nn_shape(sz)) does not fit input $(_nn_shape(g))"))
    _pool_index_check(op, idx, sz)
    meta_like(g, eltype(g), Tuple(sz))
end
function _pool2d_gather(x::MetaArray, idx::MetaArray)
    op = "pool2d_gather"
    (ndims(idx) == ndims(x) && ndims(x) >= 2 && size(idx)[3:end] == size(x)[3:end]) || throw(DimensionMismatch(
        "$op(): indices $(_nn_shape(idx)) do not fit input $(_nn_shape(x))"))
    _pool_index_check(op, idx, size(x))
    meta_like(x, eltype(x), size(idx))
end
defop("_pool2d_scatter(input: Tensor, indices: Tensor, size: Shape) -> Tensor", _pool2d_scatter; method = false,
      grad = ["input" => "_pool2d_gather(grad, indices)"],
      doc = "Zeros of the given (…, H, W) size with each input value added at its flat plane index " *
            "(indices shaped like input, same leading dims): the gradient of max pooling.")
defop("_pool2d_gather(input: Tensor, indices: Tensor) -> Tensor", _pool2d_gather; method = false,
      grad = ["input" => "_pool2d_scatter(grad, indices, input.shape)"],
      doc = "The values of each (…, H, W) input plane at flat plane indices (the adjoint of _pool2d_scatter).")

"Window of output position o (1-based) along one axis: clipped 0-based [lo, hi) and the divisor length."
@inline function _avg_window(o, s, p, k, n)
    lo = (o - 1) * s - p
    hi = min(lo + k, n + p)
    len = hi - lo
    max(lo, 0), min(hi, n), len
end

function _avg_pool_params(op, sz, ks, stride, padding, ceil_mode, divisor_override)
    r = _pool_params(op, sz, ks, stride, padding, (1, 1), ceil_mode)
    divisor_override === nothing || divisor_override != 0 ||
        throw(ArgumentError("$op(): divisor_override must be nonzero"))
    r
end

function _avg_pool2d(x, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    op = "avg_pool2d"
    _nn_float(op, x)
    kH, kW, sH, sW, pH, pW, _, _, OH, OW = _avg_pool_params(op, size(x), ks, stride, padding, ceil_mode, divisor_override)
    T = eltype(x); C = compute_type(T)
    W, H = size(x, 1), size(x, 2); np = _planes(x)
    X = reshape(as_dense(C, x), W, H, np)
    Y = alloc(C, OW, OH, np)
    _tfor(np, length(X)) do q
        E = eltype(X)
        @inbounds for oh in 1:OH
            h0, h1, lh = _avg_window(oh, sH, pH, kH, H)
            for ow in 1:OW
                w0, w1, lw = _avg_window(ow, sW, pW, kW, W)
                s = zero(E)
                for ih in h0:h1-1, iw in w0:w1-1
                    s += X[iw + 1, ih + 1, q]
                end
                div = divisor_override !== nothing ? divisor_override :
                      count_include_pad ? lh * lw : (h1 - h0) * (w1 - w0)
                Y[ow, oh, q] = (h0 >= h1 || w0 >= w1) ? zero(E) : s / E(div)
            end
        end
    end
    _restore(T, reshape(Y, (OW, OH, size(x)[3:end]...)))
end

"""The checks of avg_pool2d's backward (grad_output against the input size); the pooling
parameters, as `_avg_pool_params` gives them."""
function _avg_pool2d_backward_checks(g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    op = "avg_pool2d_backward"
    _nn_float(op, g)
    length(xsize) == ndims(g) || throw(DimensionMismatch("$op(): input size $(_nn_shape(xsize)) does not fit grad_output $(_nn_shape(g))"))
    params = _avg_pool_params(op, xsize, ks, stride, padding, ceil_mode, divisor_override)
    OH, OW = params[9], params[10]
    (size(g, 1), size(g, 2)) == (OW, OH) && size(g)[3:end] == xsize[3:end] || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match the pooled shape of input $(_nn_shape(xsize))"))
    params
end

function _avg_pool2d_backward(g, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    kH, kW, sH, sW, pH, pW, _, _, OH, OW = _avg_pool2d_backward_checks(g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    T = eltype(g); C = compute_type(T)
    W, H = xsize[1], xsize[2]; np = _prodrange(xsize, 3, length(xsize))
    G = reshape(as_dense(C, g), OW, OH, np)
    DX = alloc_zeros(C, W, H, np)
    _tfor(np, length(DX)) do q
        E = eltype(DX)
        @inbounds for oh in 1:OH
            h0, h1, lh = _avg_window(oh, sH, pH, kH, H)
            for ow in 1:OW
                w0, w1, lw = _avg_window(ow, sW, pW, kW, W)
                (h0 >= h1 || w0 >= w1) && continue
                div = divisor_override !== nothing ? divisor_override :
                      count_include_pad ? lh * lw : (h1 - h0) * (w1 - w0)
                v = G[ow, oh, q] / E(div)
                for ih in h0:h1-1, iw in w0:w1-1
                    DX[iw + 1, ih + 1, q] += v
                end
            end
        end
    end
    _restore(T, reshape(DX, xsize))
end
function _avg_pool2d(x::MetaArray, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    op = "avg_pool2d"
    _nn_float(op, x)
    _, _, _, _, _, _, _, _, OH, OW = _avg_pool_params(op, size(x), ks, stride, padding, ceil_mode, divisor_override)
    meta_like(x, eltype(x), (OW, OH, size(x)[3:end]...))
end
function _avg_pool2d_backward(g::MetaArray, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    _avg_pool2d_backward_checks(g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    meta_like(g, eltype(g), Tuple(xsize))
end
const _AVG_ARGS = "kernel_size: IntList, stride: IntList, padding: IntList, ceil_mode: bool, count_include_pad: bool, divisor_override: int = None"
const _AVG_PASS = "kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override"
defop("_avg_pool2d(input: Tensor, $_AVG_ARGS) -> Tensor", _avg_pool2d; method = false,
      grad = ["input" => "_avg_pool2d_backward(grad, input.shape, $_AVG_PASS)"],
      doc = "2-d average pooling over (N, C, H, W) or (C, H, W) input; sizes are (h, w).")
defop("_avg_pool2d_backward(grad_output: Tensor, input_size: Shape, $_AVG_ARGS) -> Tensor", _avg_pool2d_backward;
      method = false, grad = ["grad_output" => "_avg_pool2d(grad, $_AVG_PASS)"],
      doc = "Gradient of _avg_pool2d (its adjoint): each output gradient spread evenly over its window.")

@inline _adaptive_window(o, out, n) = (fld((o - 1) * n, out), cld(o * n, out))   # 0-based [lo, hi)

function _adaptive_avg_pool2d(x, output_size)
    op = "adaptive_avg_pool2d"
    _nn_float(op, x)
    _pool_input(op, size(x))
    OH, OW = _pos(op, "output_size", _pair(op, "output_size", output_size))
    T = eltype(x); C = compute_type(T)
    W, H = size(x, 1), size(x, 2); np = _planes(x)
    X = reshape(as_dense(C, x), W, H, np)
    Y = alloc(C, OW, OH, np)
    _tfor(np, length(X)) do q
        E = eltype(X)
        @inbounds for oh in 1:OH
            h0, h1 = _adaptive_window(oh, OH, H)
            for ow in 1:OW
                w0, w1 = _adaptive_window(ow, OW, W)
                s = zero(E)
                for ih in h0:h1-1, iw in w0:w1-1
                    s += X[iw + 1, ih + 1, q]
                end
                Y[ow, oh, q] = s / E((h1 - h0) * (w1 - w0))
            end
        end
    end
    _restore(T, reshape(Y, (OW, OH, size(x)[3:end]...)))
end

function _adaptive_avg_pool2d_backward(g, xsize)
    op = "adaptive_avg_pool2d_backward"
    _nn_float(op, g)
    (length(xsize) == ndims(g) && ndims(g) >= 3 && size(g)[3:end] == xsize[3:end]) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not fit input size $(_nn_shape(xsize))"))
    T = eltype(g); C = compute_type(T)
    OW, OH = size(g, 1), size(g, 2); W, H = xsize[1], xsize[2]
    np = _prodrange(xsize, 3, length(xsize))
    G = reshape(as_dense(C, g), OW, OH, np)
    DX = alloc_zeros(C, W, H, np)
    _tfor(np, length(DX)) do q
        E = eltype(DX)
        @inbounds for oh in 1:OH
            h0, h1 = _adaptive_window(oh, OH, H)
            for ow in 1:OW
                w0, w1 = _adaptive_window(ow, OW, W)
                v = G[ow, oh, q] / E((h1 - h0) * (w1 - w0))
                for ih in h0:h1-1, iw in w0:w1-1
                    DX[iw + 1, ih + 1, q] += v
                end
            end
        end
    end
    _restore(T, reshape(DX, xsize))
end
function _adaptive_avg_pool2d(x::MetaArray, output_size)
    op = "adaptive_avg_pool2d"
    _nn_float(op, x)
    _pool_input(op, size(x))
    OH, OW = _pos(op, "output_size", _pair(op, "output_size", output_size))
    meta_like(x, eltype(x), (OW, OH, size(x)[3:end]...))
end
function _adaptive_avg_pool2d_backward(g::MetaArray, xsize)
    op = "adaptive_avg_pool2d_backward"
    _nn_float(op, g)
    (length(xsize) == ndims(g) && ndims(g) >= 3 && size(g)[3:end] == xsize[3:end]) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not fit input size $(_nn_shape(xsize))"))
    meta_like(g, eltype(g), Tuple(xsize))
end
defop("_adaptive_avg_pool2d(input: Tensor, output_size: IntList) -> Tensor", _adaptive_avg_pool2d; method = false,
      grad = ["input" => "_adaptive_avg_pool2d_backward(grad, input.shape)"],
      doc = "Average pooling to a fixed (h, w) output size; window o spans [floor(o*n/out), ceil((o+1)*n/out)).")
defop("_adaptive_avg_pool2d_backward(grad_output: Tensor, input_size: Shape) -> Tensor", _adaptive_avg_pool2d_backward;
      method = false, grad = ["grad_output" => "_adaptive_avg_pool2d(grad, grad_output.shape[-2:])"],
      doc = "Gradient of _adaptive_avg_pool2d (its adjoint).")

