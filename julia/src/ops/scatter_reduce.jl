# scatter_reduce / scatter_reduce_: PyTorch's reducing scatter (sum, prod, mean, amax, amin, with or
# without the input's own values), on the scatter loop of shape.jl. Tensor.index_reduce is composed
# from it in python/jtensor/composites.py; the derivatives are scatter_reduce_backward in
# python/jtensor/_derivatives.py.

const _SCATTER_REDUCES = ("sum", "prod", "mean", "amax", "amin")

"The binary reduction of `reduce` and the value it starts from when include_self=False."
function _scatter_reduction(op, reduce, ::Type{T}) where {T}
    reduce in _SCATTER_REDUCES || throw(ArgumentError(
        "$op(): reduce argument must be either sum, prod, mean, amax or amin, got $reduce"))
    if reduce in ("amax", "amin")
        T <: Complex && throw(DTypeError("$op(): reduce=\"$reduce\" is not implemented for complex tensors ($T)"))
        lo = T <: Integer ? typemin(T) : jconvert(T, -Inf)
        hi = T <: Integer ? typemax(T) : jconvert(T, Inf)
        return reduce == "amax" ? (max, lo) : (min, hi)
    end
    reduce == "prod" ? (*, one(T)) : (+, zero(T))
end

function _scatter_reduce_check(op, x, idx, src)
    eltype(src) === eltype(x) || throw(DTypeError(
        "$op(): Expected self.dtype to be equal to src.dtype, got $(_dtname(eltype(x))) and $(_dtname(eltype(src)))"))
end

"Reduce `src` into `out` (a Strided copy of the input, or the input itself) at `idx` along Julia dim d."
function _scatter_reduce_into!(op, out::Strided{T}, d::Int, idx::Strided, src, reduce, include_self::Bool) where {T}
    f, init = _scatter_reduction(op, reduce, T)
    s = _scatter_args(op, out, d, idx, src, nothing)
    include_self || _scatter_kernel!((old, new) -> new, out, d, idx, init)
    _scatter_kernel!(f, out, d, idx, s)
    reduce == "mean" || return nothing
    # PyTorch: divide by the number of values reduced into each position (floor division for integers).
    counts = fill(include_self ? 1 : 0, size(out))
    _scatter_kernel!(+, Strided(counts), d, idx, 1)
    @inbounds for I in CartesianIndices(out)
        c = max(counts[I], 1)
        out[I] = T <: Bool ? out[I] : T <: Integer ? fld(out[I], T(c)) : jconvert(T, out[I] / c)
    end
    nothing
end

function _scatter_reduce(x::Strided, d::Int, idx::Strided, src::Strided, reduce, include_self::Bool)
    _scatter_reduce_check("scatter_reduce", x, idx, src)
    out = _copy_as(eltype(x), x)
    _scatter_reduce_into!("scatter_reduce", Strided(out), d, idx, src, reduce, include_self)
    out
end
function _scatter_reduce!(x::Strided, d::Int, idx::Strided, src::Strided, reduce, include_self::Bool)
    _scatter_reduce_check("scatter_reduce_", x, idx, src)
    _scatter_reduce_into!("scatter_reduce_", x, d, idx, src, reduce, include_self)
end
"The checks of scatter_reduce(_) on meta arrays (those that need no values)."
function _scatter_reduce_meta(op, x, d, idx, src, reduce)
    _index_type(op, idx); _scatter_reduce_check(op, x, idx, src); _scatter_reduction(op, reduce, eltype(x))
    (ndims(x) > 0 || ndims(idx) > 0) && _check_sizes_along(op, x, idx, d)
end
_scatter_reduce(x::MetaArray, d::Int, idx::MetaArray, src::MetaArray, reduce, include_self::Bool) =
    (_scatter_reduce_meta("scatter_reduce", x, d, idx, src, reduce); meta_like(x))
_scatter_reduce!(x::MetaArray, d::Int, idx::MetaArray, src::MetaArray, reduce, include_self::Bool) =
    (_scatter_reduce_meta("scatter_reduce_", x, d, idx, src, reduce); nothing)

const _SCATTER_REDUCE_GRAD = [
    "input" => "scatter_reduce_backward(grad, input, dim, index, src, reduce, include_self, result, 0)",
    "src" => "scatter_reduce_backward(grad, input, dim, index, src, reduce, include_self, result, 1)"]
defop("scatter_reduce(input: Tensor, dim: Dim, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor",
      _scatter_reduce; grad = _SCATTER_REDUCE_GRAD,
      doc = "A copy of input with src reduced into it at index along dim (out[index[i][j]][j] op= src[i][j] for dim 0); " *
            "reduce is 'sum', 'prod', 'mean', 'amax' or 'amin'; include_self=False leaves the input's values at the " *
            "positions scattered to out of the reduction.")
defop("scatter_reduce_(input: Tensor, dim: Dim, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Self",
      _scatter_reduce!; grad = _SCATTER_REDUCE_GRAD,
      doc = "In-place scatter_reduce.")
