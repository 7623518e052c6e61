# linear: the product with the weight read transposed in place (_matmul in ops/linalg.jl), plus bias.

"""
    _linear(x, w, b)

`x @ w.T + b` (torch.nn.functional.linear): Julia-order `w` is (in, out), read transposed by gemm
in place; the bias is added into the fresh product. A 1-d `w` gives `x @ w + b`.
"""
function _linear(x, w, b)
    ndims(x) >= 1 && ndims(w) in (1, 2) || throw(ArgumentError(
        "linear: expected input of at least 1 dim and a 1-d or 2-d weight, got shapes $(_pyshape(x)) and $(_pyshape(w))"))
    size(x, 1) == size(w, 1) || throw(DimensionMismatch(
        "linear: input of shape $(_pyshape(x)) and weight of shape $(_pyshape(w)) cannot be multiplied ($(size(x, 1)) != $(size(w, 1)))"))
    W = w isa Strided ? w : Strided(dense(w))
    Wt = ndims(W) == 2 ? Strided{eltype(W),2}(W.ptr, (W.size[2], W.size[1]), (W.strides[2], W.strides[1]), W.owner) : W
    y = GC.@preserve W _matmul(x, Wt)
    b === nothing && return y
    y isa Array && eltype(b) === eltype(y) && ndims(b) == 1 && length(b) == size(y, 1) && return _add_bias!(y, b)
    T = promote_dtype(eltype(y), eltype(b))
    apply(+, compute_type(T), T, Strided(y isa Array ? y : fill(y)), b)
end

function _linear(x::MetaArray, w::MetaArray, b::Union{Nothing,MetaArray})
    ndims(x) >= 1 && ndims(w) in (1, 2) || throw(ArgumentError(
        "linear: expected input of at least 1 dim and a 1-d or 2-d weight, got shapes $(_pyshape(x)) and $(_pyshape(w))"))
    size(x, 1) == size(w, 1) || throw(DimensionMismatch(
        "linear: input of shape $(_pyshape(x)) and weight of shape $(_pyshape(w)) cannot be multiplied ($(size(x, 1)) != $(size(w, 1)))"))
    y = _matmul(x, ndims(w) == 2 ? meta_like(w, eltype(w), reverse(size(w))) : w)
    b === nothing && return y
    eltype(b) === eltype(y) && ndims(b) == 1 && length(b) == size(y, 1) && return y
    meta_like(y, _meta_promote(eltype(y), eltype(b)), broadcast_size(size(y), size(b)))
end

"y[:, j] += b for every column j (y is the fresh product, b a vector of its length)."
function _add_bias!(y::Array{T}, b::AbstractVector{T}) where {T}
    n = size(y, 1)
    n == 0 && return y   # no output features: nothing to add (and no column step)
    @inbounds for j in 0:n:length(y) - 1, i in 1:n
        y[j + i] += b[i]
    end
    y
end

defop("_linear(input: Tensor, weight: Tensor, bias: Tensor = None) -> Tensor", _linear; method = false,
      batch = "linear",
      grad = ["input" => "linear_backward_input(grad, input, weight)",
              "weight" => "linear_backward_weight(grad, input, weight)",
              "bias" => "sum_to_size(grad, bias.shape)"],
      doc = "y = input @ weight.T + bias in one gemm, with no transposed copy of the weight (torch.nn.functional.linear).")
