# Ops that move data between layouts: gathers and scatters behind advanced indexing, nonzero.
# (Views — reshape, permute, slicing — change only metadata and live on the Python side.)

"""
    _take_offsets(src, offsets) -> Array

`out[i] = src[offsets[i]]`, where offsets count elements from `src`'s first element (the
advanced-indexing gather; Python computes and bounds-checks the offsets).
"""
function _take_offsets(src::Strided{T}, offs) where {T}
    O = dense(offs)
    out = Array{T}(undef, size(O))
    p = src.ptr
    GC.@preserve src @inbounds for i in eachindex(O)
        out[i] = unsafe_load(p, O[i] + 1)
    end
    out
end
defop("_take_offsets(input: Tensor, offsets: Tensor) -> Tensor", _take_offsets; method = false,
      doc = "Gather elements of input at element offsets (advanced indexing).")

"Scatter: `dst[offsets[i]] = values[i]` (values broadcast to the offsets' shape). Later writes win."
function _put_offsets(dst::Strided{T}, offs, vals) where {T}
    O = dense(offs)
    V = broadcast_to(Strided(vals), size(O))
    p = dst.ptr
    GC.@preserve dst @inbounds for (i, I) in zip(eachindex(O), CartesianIndices(O))
        unsafe_store!(p, jconvert(T, V[I]), O[i] + 1)
    end
    nothing
end
defop("_put_offsets(input: Tensor, offsets: Tensor, values: Tensor) -> None", _put_offsets; method = false,
      doc = "Scatter values into input at element offsets (advanced-index assignment).")

"Python-order indices (0-based) of nonzero elements, as an (n, ndim) int64 matrix."
function _nonzero(x)
    A = dense(x)
    nd = ndims(A)
    idx = findall(!iszero, vec(A))
    out = Array{Int64}(undef, nd, length(idx))   # Julia (ndim, n) = Python (n, ndim)
    ci = CartesianIndices(size(A))
    for (k, li) in enumerate(idx)
        I = ci[li]
        for d in 1:nd
            out[nd - d + 1, k] = I[d] - 1
        end
    end
    out
end
defop("nonzero(input: Tensor) -> Tensor", _nonzero;
      doc = "Indices of nonzero elements as an (n, ndim) int64 tensor, in row-major order.")
