# Embedding: rows of a (num_embeddings, dim) table at integer indices, and its gradient.

function _embedding_gather(op, w, idx, padding_idx::Int, sbf::Bool, masked::Bool)
    ndims(w) == 2 || throw(ArgumentError("$op(): weight must be 2-d (num_embeddings, embedding_dim), got shape $(_nn_shape(w))"))
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    Dm, V = size(w)
    I = dense(idx)
    @inbounds for v in I
        0 <= v < V || _oob("$op(): index $v is out of range for an embedding table of $V rows")
    end
    Wd = dense(w)
    cnt = masked && sbf ? _embedding_counts(I, V) : nothing
    O = alloc(eltype(w), Dm, length(I))
    @inbounds for (n, v) in enumerate(I)
        zero_row = masked && v == padding_idx
        s = masked && sbf ? one(eltype(w)) / cnt[v + 1] : one(eltype(w))
        for d in 1:Dm
            O[d, n] = zero_row ? zero(eltype(w)) : (masked && sbf ? Wd[d, v + 1] * s : Wd[d, v + 1])
        end
    end
    reshape(O, (Dm, size(I)...))
end

function _embedding_counts(I, V)
    cnt = alloc_zeros(Int, V)
    @inbounds for v in I
        cnt[v + 1] += 1
    end
    cnt
end

function _embedding_backward(g, idx, num_weights::Int, padding_idx::Int, sbf::Bool)
    op = "embedding_backward"
    _nn_float(op, g)
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    (ndims(g) == ndims(idx) + 1 && size(g)[2:end] == size(idx)) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match indices of shape $(_nn_shape(idx))"))
    I = dense(idx)
    @inbounds for v in I
        0 <= v < num_weights || _oob("$op(): index $v is out of range for an embedding table of $num_weights rows")
    end
    T = eltype(g); Tc = compute_type(T)
    Dm = size(g, 1)
    G = reshape(as_dense(Tc, g), Dm, length(I))
    cnt = sbf ? _embedding_counts(I, num_weights) : nothing
    O = alloc_zeros(Tc, Dm, num_weights)
    @inbounds for (n, v) in enumerate(I)
        v == padding_idx && continue
        s = sbf ? one(Tc) / cnt[v + 1] : one(Tc)
        @simd for d in 1:Dm
            O[d, v + 1] += G[d, n] * s
        end
    end
    _restore(T, O)
end
# Meta: the checks on shapes and dtypes (index values are data, unchecked).
function _embedding_gather(op, w::MetaArray, idx::MetaArray, padding_idx::Int, sbf::Bool, masked::Bool)
    ndims(w) == 2 || throw(ArgumentError("$op(): weight must be 2-d (num_embeddings, embedding_dim), got shape $(_nn_shape(w))"))
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    meta_like(w, eltype(w), (size(w, 1), size(idx)...))
end
function _embedding_backward(g::MetaArray, idx::MetaArray, num_weights::Int, padding_idx::Int, sbf::Bool)
    op = "embedding_backward"
    _nn_float(op, g)
    eltype(idx) <: Integer && !(eltype(idx) <: Bool) ||
        throw(DTypeError("$op(): indices must be an integer tensor, got $(_dtname(idx))"))
    (ndims(g) == ndims(idx) + 1 && size(g)[2:end] == size(idx)) || throw(DimensionMismatch(
        "$op(): grad_output of shape $(_nn_shape(g)) does not match indices of shape $(_nn_shape(idx))"))
    meta_like(g, eltype(g), (size(g, 1), num_weights))
end
_embedding(w, i, p, s) = _embedding_gather("embedding", w, i, p, s, false)
_embedding(w::MetaArray, i::MetaArray, p, s) = _embedding_gather("embedding", w, i, p, s, false)
_embedding_backward_adjoint(w, i, p, s) = _embedding_gather("embedding_backward_adjoint", w, i, p, s, true)
_embedding_backward_adjoint(w::MetaArray, i::MetaArray, p, s) = _embedding_gather("embedding_backward_adjoint", w, i, p, s, true)
defop("_embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False) -> Tensor",
      _embedding; method = false,
      grad = ["weight" => "_embedding_backward(grad, indices, weight.shape[0], padding_idx, scale_grad_by_freq)"],
      doc = "Rows of weight at indices (result shape indices.shape + (embedding_dim,)); padding_idx and " *
            "scale_grad_by_freq only shape the gradient.")
defop("_embedding_backward(grad_output: Tensor, indices: Tensor, num_weights: int, padding_idx: int = -1, " *
      "scale_grad_by_freq: bool = False) -> Tensor", _embedding_backward; method = false,
      grad = ["grad_output" => "_embedding_backward_adjoint(grad, indices, padding_idx, scale_grad_by_freq)"],
      doc = "Gradient of _embedding: grad_output rows summed into a (num_weights, dim) table, skipping " *
            "padding_idx and divided by each index's count when scale_grad_by_freq.")
defop("_embedding_backward_adjoint(input: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False) -> Tensor",
      _embedding_backward_adjoint; method = false,
      grad = ["input" => "_embedding_backward(grad, indices, input.shape[0], padding_idx, scale_grad_by_freq)"],
      doc = "The adjoint of _embedding_backward: rows of input at indices, zero at padding_idx and divided " *
            "by each index's count when scale_grad_by_freq.")

