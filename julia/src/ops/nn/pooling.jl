# Pooling over S spatial dims (2 or 3; one generic kernel per kind). Inputs are (N, C, *spatial) or
# (C, *spatial): Julia (spatial..., planes...), width first.

"The spatial letters of an S-d pooling in Python order: \"H, W\", \"D, H, W\"."
_pool_letters(S) = join(reverse(("W", "H", "D")[1:S]), ", ")

function _pool_input(op, S::Int, sz::Tuple)
    (length(sz) == S + 1 || length(sz) == S + 2) || throw(ArgumentError(
        "$op(): expected a $(S + 1)-d (C, $(_pool_letters(S))) or $(S + 2)-d (N, C, $(_pool_letters(S))) input, " *
        "got shape $(_nn_shape(sz))"))
    all(i -> sz[i] >= 1, 1:S) || throw(ArgumentError("$op(): input of shape $(_nn_shape(sz)) has an empty plane"))
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

"""Pooling window geometry, Julia order (width first): input `n`, kernel `k`, stride `s`, padding
`p`, dilation `d`, output `o`."""
struct PoolGeom{S}
    n::NTuple{S,Int}; k::NTuple{S,Int}; s::NTuple{S,Int}; p::NTuple{S,Int}; d::NTuple{S,Int}; o::NTuple{S,Int}
end

"Check a pooling call (sizes in Julia order, the lists in Python order) and return its geometry."
function _pool_params(op, ::Val{S}, sz::Tuple, ks, stride, padding, dilation, ceil_mode) where {S}
    _pool_input(op, S, sz)
    k = _jorder(_pos(op, "kernel_size", _pair(op, "kernel_size", ks, S)), Val(S))
    s = _jorder(_pos(op, "stride", _pair(op, "stride", stride, S)), Val(S))
    p = _jorder(_pair(op, "padding", padding, S), Val(S))
    d = _jorder(_pos(op, "dilation", _pair(op, "dilation", dilation, S)), Val(S))
    n = ntuple(i -> sz[i], Val(S))
    # checked in Python order (height before width), as PyTorch
    o = reverse(ntuple(j -> (i = S + 1 - j; _poollen(op, n[i], k[i], s[i], p[i], d[i], ceil_mode)), Val(S)))
    PoolGeom{S}(n, k, s, p, d, o)
end

"The pooled size (Julia order) of an input of size `sz`."
_pooled_size(g::PoolGeom{S}, sz) where {S} = (g.o..., sz[S+1:end]...)

_planes(x, S) = _prodrange(size(x), S + 1, ndims(x))

"Plane strides (Julia order) of spatial sizes `n`: 1, n[1], n[1] n[2], ..."
_plane_strides(n::NTuple{S,Int}) where {S} = ntuple(a -> _prodrange(n, 1, a - 1), Val(S))

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

"""The maximum of X[xo + i] over the taps K of `box` (kernel positions, width fastest; its plane
index i = Σ (start[a] + (K[a] - 1) dil[a]) st[a]) and its index i. An empty box gives -Inf at the
index of its first position, as PyTorch does."""
@inline function _box_max(X::Vector{T}, xo::Int, start::NTuple{S,Int}, dil::NTuple{S,Int}, st::NTuple{S,Int},
                          box::CartesianIndices{S}, nans::Val) where {T,S}
    r1 = box.indices[1]   # rows along the width, one index computation per row
    row(R) = start[1] + sum(ntuple(a -> (start[a + 1] + (R[a] - 1) * dil[a + 1]) * st[a + 1], Val(S - 1)))
    best = typemin(T); bi = row(Base.tail(first(box).I)) + (first(r1) - 1) * dil[1]
    @inbounds for R in CartesianIndices(Base.tail(box.indices))
        b = row(R)
        for k in r1
            i = b + (k - 1) * dil[1]; v = X[xo + i]
            c = _replaces(v, best, nans)
            best = ifelse(c, v, best); bi = ifelse(c, i, bi)
        end
    end
    best, bi
end

"""The output positions of a plane (1-based, flat) whose windows lie inside the input, with the
plane indices of their corners; and the other (clipped) positions."""
function _pool_windows(g::PoolGeom{S}, rr) where {S}
    full = Int[]; corner = Int[]; clipped = Int[]; st = _plane_strides(g.n)
    for (j, O) in enumerate(CartesianIndices(g.o))
        if all(a -> rr[a][1][O[a]] == 1 && rr[a][2][O[a]] == g.k[a], 1:S)
            push!(full, j); push!(corner, sum(ntuple(a -> ((O[a] - 1) * g.s[a] - g.p[a]) * st[a], Val(S))))
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
        xo = (q - 1) * prod(g.n) + 1; yo = (q - 1) * prod(g.o)
        @scalar for j in eachindex(full)
            Y[yo + full[j]], I[yo + full[j]] = _window_max(X, xo, corner[j], taps, nans)
        end
    end
end

"""Max pooling of planes `qs` at the output positions `clipped`, whose windows the padding or the
ceil_mode edge clips: each reads its valid taps only (`rr`: the valid kernel ranges per axis)."""
function _max_pool_clipped!(Y::Vector{T}, I::Vector{Int64}, X::Vector{T}, g::PoolGeom{S}, rr,
                            clipped::Vector{Int}, qs::UnitRange{Int}, nans::Val) where {T,S}
    st = _plane_strides(g.n); outs = CartesianIndices(g.o)
    @inbounds for q in qs, j in clipped
        xo = (q - 1) * prod(g.n) + 1; yo = (q - 1) * prod(g.o)
        O = outs[j]
        start = ntuple(a -> (O[a] - 1) * g.s[a] - g.p[a], Val(S))
        box = CartesianIndices(ntuple(a -> rr[a][1][O[a]]:rr[a][2][O[a]], Val(S)))
        Y[yo + j], I[yo + j] = _box_max(X, xo, start, g.d, st, box, nans)
    end
end

function _max_pool(op, S::Val, x, ks, stride, padding, dilation, ceil_mode::Bool)
    _nn_float(op, x)
    g = _pool_params(op, S, size(x), ks, stride, padding, dilation, ceil_mode)
    T = eltype(x); C = compute_type(T)
    X = vec(as_dense(C, x))
    # The common 2×2 and 3×3 windows hold their taps in a tuple, so that loops over them unroll.
    # (Each Val is built from a literal: Val(n) of a runtime n costs microseconds.)
    nt = prod(g.k)
    Y, I = _max_pool_dense(X, g, _planes(x, length(g.k)), nt == 4 ? Val(4) : nt == 9 ? Val(9) : Val(0),
                           _hasnan(X) ? Val(true) : Val(false))
    osz = _pooled_size(g, size(x))
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

"Offset of a window's tap t (in (..., kh, kw) order) from its corner, in a plane."
function _pool_tap(g::PoolGeom{S}, t::Int) where {S}
    K = CartesianIndices(g.k)[t]; st = _plane_strides(g.n)
    sum(ntuple(a -> (K[a] - 1) * g.d[a] * st[a], Val(S)))
end

"""Max pooling of the np planes of a flat dense input: flat values and indices (the function
barrier). The window's taps are a tuple of NT offsets, or a vector when NT is 0."""
function _max_pool_dense(X::Vector{T}, g::PoolGeom{S}, np::Int, ::Val{NT}, nans::Val) where {T,S,NT}
    taps = NT == 0 ? [_pool_tap(g, t) for t in 1:prod(g.k)] : ntuple(t -> _pool_tap(g, t), Val(NT))
    Y = alloc(T, prod(g.o) * np); I = alloc(Int64, length(Y))
    rr = ntuple(a -> _pool_ranges(g.n[a], g.k[a], g.s[a], g.p[a], g.d[a], g.o[a]), Val(S))
    full, corner, clipped = _pool_windows(g, rr)
    _tfor_ranges(np, length(X)) do qs
        _max_pool_full!(Y, I, X, g, full, corner, taps, qs, nans)
        isempty(clipped) || _max_pool_clipped!(Y, I, X, g, rr, clipped, qs, nans)
    end
    Y, I
end
function _max_pool(op, S::Val, x::MetaArray, ks, stride, padding, dilation, ceil_mode::Bool)
    _nn_float(op, x)
    g = _pool_params(op, S, size(x), ks, stride, padding, dilation, ceil_mode)
    osz = _pooled_size(g, size(x))
    meta_like(x, eltype(x), osz), MetaArray{Int64}(osz)
end

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
    np = _planes(x, 2); n = size(x, 1) * size(x, 2); m = size(idx, 1) * size(idx, 2)
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

@inline _adaptive_window(o, out, n) = (fld((o - 1) * n, out), cld(o * n, out))   # 0-based [lo, hi)

"""Window means between `Y` (o..., np) and `X` (n..., np), for average and adaptive average pooling:
`Val(:forward)` sets each Y to the sum of its window of X over the divisor, `Val(:backward)` adds
each Y over the divisor to its window of X (the adjoint; X starts at zero). `win(a, o)` gives the
window of output o along axis a, a clipped 0-based [lo, hi) and its unclipped length;
`divisor(lens, count)` the divisor from those lengths and the clipped window's size. Empty windows give 0."""
function _window_mean!(::Val{D}, Y::Array{E,N}, X::Array{E,N}, win::W, divisor::F) where {D,E,N,W,F}
    o = ntuple(a -> size(Y, a), Val(N - 1)); np = size(Y, N)
    st = ntuple(a -> _prodrange(size(X), 1, a - 1), Val(N))   # X's strides
    wins = ntuple(a -> [win(a, i) for i in 1:o[a]], Val(N - 1))   # each axis's windows, once
    _tfor(np, max(length(X), length(Y))) do q
        y = (q - 1) * length(Y) ÷ np
        # output rows along the width: the window's other axes are fixed along one
        @inbounds for OR in CartesianIndices(Base.tail(o))
            wt = ntuple(a -> @inbounds(wins[a + 1][OR[a]]), Val(N - 2))
            rows = CartesianIndices(ntuple(a -> wt[a][1]+1:wt[a][2], Val(N - 2)))
            for o1 in 1:o[1]
                y += 1
                w1 = wins[1][o1]; r1 = w1[1]+1:w1[2]
                if isempty(r1) || isempty(rows)
                    D === :forward && (Y[y] = zero(E))
                    continue
                end
                div = E(divisor((w1[3], ntuple(a -> wt[a][3], Val(N - 2))...), length(r1) * length(rows)))
                v = D === :forward ? zero(E) : Y[y] / div
                for R in rows
                    b = (q - 1) * st[N] + sum(ntuple(a -> (R[a] - 1) * st[a + 1], Val(N - 2)))
                    for i in r1
                        D === :forward ? (v += X[b + i]) : (X[b + i] += v)
                    end
                end
                D === :forward && (Y[y] = v / div)
            end
        end
    end
end

function _avg_pool_params(op, S::Val, sz, ks, stride, padding, ceil_mode, divisor_override)
    g = _pool_params(op, S, sz, ks, stride, padding, ntuple(_ -> 1, S), ceil_mode)
    divisor_override === nothing || divisor_override != 0 ||
        throw(ArgumentError("$op(): divisor_override must be nonzero"))
    g
end

"The window and divisor rules of average pooling, for `_window_mean!`."
function _avg_rules(g::PoolGeom, count_include_pad::Bool, divisor_override)
    win = (a, o) -> _avg_window(o, g.s[a], g.p[a], g.k[a], g.n[a])
    div = divisor_override !== nothing ? (let d = Int(divisor_override); (lens, count) -> d; end) :
          count_include_pad ? (lens, count) -> prod(lens) : (lens, count) -> count
    win, div
end

function _avg_pool(op, S::Val, x, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    _nn_float(op, x)
    g = _avg_pool_params(op, S, size(x), ks, stride, padding, ceil_mode, divisor_override)
    T = eltype(x); C = compute_type(T); np = _planes(x, length(g.n))
    Y = alloc(C, g.o..., np)
    _window_mean!(Val(:forward), Y, reshape(as_dense(C, x), g.n..., np), _avg_rules(g, count_include_pad, divisor_override)...)
    _restore(T, reshape(Y, _pooled_size(g, size(x))))
end

"""The checks of an average pooling's backward (grad_output against the input size); the pooling
geometry, as `_avg_pool_params` gives it."""
function _avg_pool_backward_checks(op, S::Val, g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    _nn_float(op, g)
    length(xsize) == ndims(g) || throw(DimensionMismatch("$op(): input size $(_nn_shape(Tuple(xsize))) does not fit grad_output $(_nn_shape(g))"))
    pg = _avg_pool_params(op, S, Tuple(xsize), ks, stride, padding, ceil_mode, divisor_override)
    size(g) == _pooled_size(pg, Tuple(xsize)) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match the pooled shape of input $(_nn_shape(Tuple(xsize)))"))
    pg
end

function _avg_pool_backward(op, S::Val, g, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    pg = _avg_pool_backward_checks(op, S, g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    T = eltype(g); C = compute_type(T); np = _prodrange(xsize, length(pg.n) + 1, length(xsize))
    DX = alloc_zeros(C, pg.n..., np)
    _window_mean!(Val(:backward), reshape(as_dense(C, g), pg.o..., np), DX, _avg_rules(pg, count_include_pad, divisor_override)...)
    _restore(T, reshape(DX, Tuple(xsize)))
end
function _avg_pool(op, S::Val, x::MetaArray, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    _nn_float(op, x)
    g = _avg_pool_params(op, S, size(x), ks, stride, padding, ceil_mode, divisor_override)
    meta_like(x, eltype(x), _pooled_size(g, size(x)))
end
function _avg_pool_backward(op, S::Val, g::MetaArray, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override)
    _avg_pool_backward_checks(op, S, g, xsize, ks, stride, padding, ceil_mode, divisor_override)
    meta_like(g, eltype(g), Tuple(xsize))
end

"The window and divisor rules of adaptive average pooling (output sizes `o`, input `n`), for `_window_mean!`."
_adaptive_rules(o, n) = ((a, i) -> (w = _adaptive_window(i, o[a], n[a]); (w[1], w[2], w[2] - w[1])),
                         (lens, count) -> count)

"Check an adaptive pooling's input and output_size (Python order); the output size in Julia order."
function _adaptive_size(op, S::Val{D}, x, output_size) where {D}
    _nn_float(op, x)
    _pool_input(op, D, size(x))
    _jorder(_pos(op, "output_size", _pair(op, "output_size", output_size, D)), S)
end

function _adaptive_avg_pool(op, S::Val{D}, x, output_size) where {D}
    o = _adaptive_size(op, S, x, output_size)
    n = ntuple(i -> size(x, i), S)
    T = eltype(x); C = compute_type(T); np = _planes(x, D)
    Y = alloc(C, o..., np)
    _window_mean!(Val(:forward), Y, reshape(as_dense(C, x), n..., np), _adaptive_rules(o, n)...)
    _restore(T, reshape(Y, (o..., size(x)[D+1:end]...)))
end

function _adaptive_avg_pool_backward_checks(op, ::Val{D}, g, xsize) where {D}
    _nn_float(op, g)
    (length(xsize) == ndims(g) && ndims(g) >= D + 1 && size(g)[D+1:end] == Tuple(xsize)[D+1:end]) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not fit input size $(_nn_shape(Tuple(xsize)))"))
end

function _adaptive_avg_pool_backward(op, S::Val{D}, g, xsize) where {D}
    _adaptive_avg_pool_backward_checks(op, S, g, xsize)
    T = eltype(g); C = compute_type(T)
    o = ntuple(i -> size(g, i), S); n = ntuple(i -> Int(xsize[i]), S)
    np = _prodrange(xsize, D + 1, length(xsize))
    DX = alloc_zeros(C, n..., np)
    _window_mean!(Val(:backward), reshape(as_dense(C, g), o..., np), DX, _adaptive_rules(o, n)...)
    _restore(T, reshape(DX, Tuple(xsize)))
end
function _adaptive_avg_pool(op, S::Val{D}, x::MetaArray, output_size) where {D}
    o = _adaptive_size(op, S, x, output_size)
    meta_like(x, eltype(x), (o..., size(x)[D+1:end]...))
end
function _adaptive_avg_pool_backward(op, S::Val, g::MetaArray, xsize)
    _adaptive_avg_pool_backward_checks(op, S, g, xsize)
    meta_like(g, eltype(g), Tuple(xsize))
end

# Fractional max pooling (Graham, 2014), as PyTorch: each plane's windows start at pseudo-random
# positions that one sample u in [0, 1) per axis and plane fixes.

"""PyTorch's fractional window starts (0-based) along one axis of length n, for output length o
and window k, from the sample u (computed in u's type, as ATen's `generate_intervals`):
α = (n - k) / (o - 1), start i = trunc((i + u) α) - trunc(u α), and the last one n - k."""
function _fractional_starts(u::E, n::Int, o::Int, k::Int) where {E}
    v = Vector{Int}(undef, o)
    if o > 1
        alpha = E(n - k) / E(o - 1)
        for i in 0:o-2
            v[i + 1] = unsafe_trunc(Int, (E(i) + u) * alpha) - unsafe_trunc(Int, u * alpha)
        end
    end
    v[o] = n - k
    v
end

"""The axis (Julia order) that sample j of a plane drives: ATen takes a 2-d plane's samples as
(width, height) and a 3-d one's as (depth, height, width)."""
_sample_axis(::Val{2}, j) = j
_sample_axis(::Val{3}, j) = 4 - j

"""Check a fractional max pooling (kernel_size and output_size in Python order; the samples (N', C,
S) with N' at least the batch size, 1 for an unbatched input) with PyTorch's messages; the kernel
and output sizes in Julia order and the number of planes."""
function _fractional_params(op, S::Val{D}, x, ks, output_size, samples) where {D}
    _nn_float(op, x)
    eltype(samples) === eltype(x) || throw(DTypeError("$op(): Expect _random_samples to have the same dtype as input"))
    _pool_input(op, D, size(x))
    k = _jorder(_pos(op, "kernel_size", _pair(op, "kernel_size", ks, D)), S)
    o = _jorder(_pos(op, "output_size", _pair(op, "output_size", output_size, D)), S)
    for a in D:-1:1
        o[a] + k[a] - 1 <= size(x, a) || throw(ArgumentError(
            "$op(): pool $(_AXES[a]) $(k[a]) too large relative to input $(_AXES[a]) $(size(x, a))"))
    end
    C = size(x, D + 1); N = ndims(x) == D + 2 ? size(x, D + 2) : 1
    ndims(samples) == 3 || throw(DimensionMismatch("$op(): Expect _random_samples to have 3 dimensions, got $(ndims(samples))"))
    size(samples, 1) == D || throw(DimensionMismatch("$op(): Expect _random_samples.size(2) equals to $D; got $(size(samples, 1))."))
    size(samples, 2) == C || throw(DimensionMismatch("$op(): Expect _random_samples.size(1) equals to input channel size."))
    size(samples, 3) >= N || throw(DimensionMismatch("$op(): Expect _random_samples.size(0) no less then input batch size."))
    k, o, C * N
end

function _fractional_max_pool(op, S::Val{D}, x, ks, output_size, samples) where {D}
    k, o, np = _fractional_params(op, S, x, ks, output_size, samples)
    T = eltype(x); C = compute_type(T)
    X = vec(as_dense(C, x)); U = reshape(as_dense(C, samples), D, :)
    # a sample outside [0, 1) would start windows outside the input
    for j in 1:D * np
        0 <= U[j] < 1 || throw(ArgumentError("$op(): _random_samples must lie in [0, 1), got $(U[j])"))
    end
    Y, I = _fractional_dense(X, U, np, ntuple(i -> size(x, i), S), k, o,
                             _hasnan(X) ? Val(true) : Val(false))
    osz = (o..., size(x)[D+1:end]...)
    _restore(T, reshape(Y, osz)), reshape(I, osz)
end

"`_fractional_max_pool` of the np planes of a flat dense input, given each plane's samples (the columns of `U`)."
function _fractional_dense(X::Vector{E}, U::Matrix{E}, np::Int, n::NTuple{S,Int}, k::NTuple{S,Int}, o::NTuple{S,Int},
                           nans::Val) where {E,S}
    st = _plane_strides(n)
    Y = alloc(E, prod(o) * np); I = alloc(Int64, length(Y))
    box = CartesianIndices(k); ones_ = ntuple(_ -> 1, Val(S)); outs = CartesianIndices(o)
    _tfor(np, length(X)) do q
        u = ntuple(a -> U[findfirst(j -> _sample_axis(Val(S), j) == a, 1:S), q], Val(S))
        starts = ntuple(a -> _fractional_starts(u[a], n[a], o[a], k[a]), Val(S))
        xo = (q - 1) * prod(n) + 1; yo = (q - 1) * prod(o)
        @inbounds for (j, O) in enumerate(outs)
            Y[yo + j], I[yo + j] = _box_max(X, xo, ntuple(a -> starts[a][O[a]], Val(S)), ones_, st, box, nans)
        end
    end
    Y, I
end
function _fractional_max_pool(op, S::Val{D}, x::MetaArray, ks, output_size, samples::MetaArray) where {D}
    _, o, _ = _fractional_params(op, S, x, ks, output_size, samples)
    osz = (o..., size(x)[D+1:end]...)
    meta_like(x, eltype(x), osz), MetaArray{Int64}(osz)
end

# The registry ops, per spatial rank, each a named forwarder to the generic kernel (the op name goes
# into error messages). Max pooling's gradient scatters through its indices (`pool_scatter`).
const _AVG_ARGS = "kernel_size: IntList, stride: IntList, padding: IntList, ceil_mode: bool, count_include_pad: bool, divisor_override: int = None"
const _AVG_PASS = "kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override"
for S in (2, 3)
    mx, avg, avgb = Symbol("_max_pool$(S)d"), Symbol("_avg_pool$(S)d"), Symbol("_avg_pool$(S)d_backward")
    ada, adab, frac = Symbol("_adaptive_avg_pool$(S)d"), Symbol("_adaptive_avg_pool$(S)d_backward"),
                      Symbol("_fractional_max_pool$(S)d")
    @eval begin
        $mx(x::AnyArray, ks, stride, padding, dilation, ceil_mode::Bool) =
            _max_pool($("max_pool$(S)d"), Val($S), x, ks, stride, padding, dilation, ceil_mode)
        $avg(x::AnyArray, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override) =
            _avg_pool($("avg_pool$(S)d"), Val($S), x, ks, stride, padding, ceil_mode, count_include_pad, divisor_override)
        $avgb(g::AnyArray, xsize, ks, stride, padding, ceil_mode::Bool, count_include_pad::Bool, divisor_override) =
            _avg_pool_backward($("avg_pool$(S)d_backward"), Val($S), g, xsize, ks, stride, padding, ceil_mode,
                               count_include_pad, divisor_override)
        $ada(x::AnyArray, output_size) = _adaptive_avg_pool($("adaptive_avg_pool$(S)d"), Val($S), x, output_size)
        $adab(g::AnyArray, xsize) = _adaptive_avg_pool_backward($("adaptive_avg_pool$(S)d_backward"), Val($S), g, xsize)
        $frac(x::AnyArray, ks, output_size, samples) =
            _fractional_max_pool($("fractional_max_pool$(S)d"), Val($S), x, ks, output_size, samples)
    end
    f(name) = getfield(@__MODULE__, name)
    shape = S == 2 ? "(N, C, H, W) or (C, H, W)" : "(N, C, D, H, W) or (C, D, H, W)"
    sizes = S == 2 ? "(h, w)" : "(d, h, w)"
    flat = S == 2 ? "h*W + w" : "d*H*W + h*W + w"
    defop("_max_pool$(S)d(input: Tensor, kernel_size: IntList, stride: IntList, padding: IntList, dilation: IntList, " *
          "ceil_mode: bool) -> (values: Tensor, indices: Tensor)", f(mx); method = false,
          grad = ["input" => "pool_scatter(grad, indices, input.shape, $S)"],
          doc = "$(S)-d max pooling over $shape input (padding is -inf); indices are flat positions $flat in " *
                "each input plane. Sizes are $sizes.")
    defop("_avg_pool$(S)d(input: Tensor, $_AVG_ARGS) -> Tensor", f(avg); method = false,
          grad = ["input" => "_avg_pool$(S)d_backward(grad, input.shape, $_AVG_PASS)"],
          doc = "$(S)-d average pooling over $shape input; sizes are $sizes.")
    defop("_avg_pool$(S)d_backward(grad_output: Tensor, input_size: Shape, $_AVG_ARGS) -> Tensor", f(avgb);
          method = false, grad = ["grad_output" => "_avg_pool$(S)d(grad, $_AVG_PASS)"],
          doc = "Gradient of _avg_pool$(S)d (its adjoint): each output gradient spread evenly over its window.")
    defop("_adaptive_avg_pool$(S)d(input: Tensor, output_size: IntList) -> Tensor", f(ada); method = false,
          grad = ["input" => "_adaptive_avg_pool$(S)d_backward(grad, input.shape)"],
          doc = "Average pooling to a fixed $sizes output size; window o spans [floor(o*n/out), ceil((o+1)*n/out)).")
    defop("_adaptive_avg_pool$(S)d_backward(grad_output: Tensor, input_size: Shape) -> Tensor", f(adab);
          method = false, grad = ["grad_output" => "_adaptive_avg_pool$(S)d(grad, grad_output.shape[-$S:])"],
          doc = "Gradient of _adaptive_avg_pool$(S)d (its adjoint).")
    defop("_fractional_max_pool$(S)d(input: Tensor, kernel_size: IntList, output_size: IntList, random_samples: Tensor) " *
          "-> (values: Tensor, indices: Tensor)", f(frac); method = false,
          grad = ["input" => "pool_scatter(grad, indices, input.shape, $S)"],
          doc = "$(S)-d fractional max pooling of $shape input to output_size $sizes, with PyTorch's window " *
                "starts from random_samples (N, C, $S) in [0, 1); indices as _max_pool$(S)d's.")
end
