# Shared pieces of the meta device's shape functions (the `MetaArray` methods of kernels, written
# beside each op's CPU kernel). Each answers a question the CPU kernel answers from an array, from a
# MetaArray's size and element type alone, so that both raise the same errors.

"The element type jtensor promotes tensors of types `Ts` to (the result type of a CPU kernel that
promotes its operands): one place to follow jtensor's promotion rule in the meta methods."
_meta_promote(T::Type, Ts::Type...) = foldl(promote_dtype, Ts; init = T)

"The dtype name of a meta array, for error messages (as `_dtname` of a CPU array)."
_dtname(x::MetaArray) = _dtname(eltype(x))
