# einsum: the equation becomes integer labels per Julia dim (letters: their character code;
# ellipsis dims: -1, -2, ... by position in the broadcast block), then the evaluation reduces to
# diagonals (a strided view), sums, permutes/reshapes and batched BLAS products, contracting the
# operands left to right. `tensordot` (ops/linalg.jl) builds labels itself and shares the core.

_lname(l::Int) = l > 0 ? string(Char(l)) : "... (dim $(-l))"

"Items of one subscript term: a character code per letter, 0 for the ellipsis."
function _ein_term(name, t::AbstractString)
    items = Int[]
    i = firstindex(t)
    while i <= lastindex(t)
        c = t[i]
        if c == '.'
            (i + 2 <= lastindex(t) && t[i + 1] == '.' && t[i + 2] == '.') ||
                throw(ArgumentError("$name: invalid ellipsis in subscripts '$t' (expected '...')"))
            0 in items && throw(ArgumentError("$name: more than one ellipsis in subscripts '$t'"))
            push!(items, 0)
            i += 3
        elseif ('a' <= c <= 'z') || ('A' <= c <= 'Z')
            push!(items, Int(c))
            i = nextind(t, i)
        else
            throw(ArgumentError("$name: invalid subscript '$c' in the equation (only letters a-z, A-Z and '...' are allowed)"))
        end
    end
    items
end

function _einsum(eq::AbstractString, ops)
    name = "einsum"
    n = length(ops)
    n >= 1 || throw(ArgumentError("$name: must provide at least one operand"))
    e = filter(c -> !isspace(c), eq)
    parts = split(e, "->")
    length(parts) <= 2 || throw(ArgumentError("$name: the equation '$eq' has more than one '->'"))
    terms = split(parts[1], ',')
    length(terms) == n || throw(ArgumentError(
        "$name: the equation '$eq' has $(length(terms)) operand subscript(s) but $n operand(s) were given"))
    items = [_ein_term(name, t) for t in terms]
    nell = alloc_zeros(Int, n)
    for i in 1:n
        nl = count(x -> x != 0, items[i]); nd = ndims(ops[i])
        if 0 in items[i]
            nd >= nl || throw(ArgumentError(
                "$name: operand $(i - 1) has $nd dimension(s) but its subscripts '$(terms[i])' name $nl"))
            nell[i] = nd - nl
        else
            nd == nl || throw(ArgumentError(
                "$name: the number of subscripts in the equation ($nl) does not match the number of dimensions ($nd) for operand $(i - 1) and no ellipsis was given"))
        end
    end
    E = maximum(nell)
    # Python-order labels per operand; an operand's ellipsis dims are the last nell of the E block.
    pylabels = Vector{Int}[]
    for i in 1:n
        L = Int[]
        for it in items[i]
            it == 0 ? append!(L, [-(E - nell[i] + j) for j in 1:nell[i]]) : push!(L, it)
        end
        push!(pylabels, L)
    end
    letters = [it for its in items for it in its if it != 0]
    if length(parts) == 2
        out = Int[]
        for it in _ein_term(name, parts[2])
            if it == 0
                append!(out, [-j for j in 1:E])
            else
                it in letters || throw(ArgumentError(
                    "$name: output subscript $(Char(it)) does not appear in the equation for any input operand"))
                it in out && throw(ArgumentError("$name: output subscript $(Char(it)) appears more than once in the output"))
                push!(out, it)
            end
        end
    else
        # Implicit output: the ellipsis dims, then the letters used exactly once, in alphabetical
        # (character code) order, as NumPy and PyTorch.
        once = sort(unique([l for l in letters if count(isequal(l), letters) == 1]))
        out = vcat([-j for j in 1:E], once)
    end
    _einsum_arrays(name, ops, [reverse(L) for L in pylabels], reverse(out))
end
# Meta operands: the equation is parsed by the method above (it reads only ndims), and the meta
# method of `_einsum_arrays` gives the result's size.
_einsum(eq::AbstractString, ops::AbstractVector{<:MetaArray}) = invoke(_einsum, Tuple{AbstractString,Any}, eq, ops)
defop("einsum(equation: str, *operands: TensorList) -> Tensor", _einsum; method = false,
      grad = ["operands" => "einsum_backward(grad, equation, operands)"],
      doc = "Einstein summation, e.g. einsum('bij,bjk->bik', a, b): explicit ('->') or implicit output, repeated subscripts (traces, diagonals), '...' broadcasting; contractions run as batched matrix products.")

"Take the diagonal over repeated labels: one dim per distinct label, through a strided view."
function _ein_diag(A::Array{T}, L::Vector{Int}) where {T}
    allunique(L) && return A, L
    U = unique(L)
    st = strides(A)
    sz = Int[]; ss = Int[]
    for u in U
        ds = [d for d in eachindex(L) if L[d] == u]     # equal sizes: checked by _einsum_arrays
        push!(sz, size(A, ds[1]))
        push!(ss, sum(st[d] for d in ds))
    end
    owned(Strided{T,length(U)}(pointer(A), Tuple(sz), Tuple(ss), A)), U
end

"Sum A over the dims whose labels are not in `keep`."
function _ein_sumout(A::Array, L::Vector{Int}, keep)
    d = Tuple(k for k in eachindex(L) if !(L[k] in keep))
    isempty(d) && return A, L
    dropdims(sum(A; dims = d); dims = d), L[[k for k in eachindex(L) if L[k] in keep]]
end

_lsize(A, L, l) = size(A, findfirst(isequal(l), L))

"""
    _bmul(A3, ta, B3, tb) -> C3

Batched product C3[:, :, b] = op(A3[:, :, b]) * op(B3[:, :, b]) of an (m, n, nb) result, where
op transposes (no conjugation) when the flag is set: A3 holds (m, k, nb), or (k, m, nb) when ta;
B3 holds (k, n, nb), or (n, k, nb) when tb. The batch slices reach BLAS as plain matrices over the
same memory (`mul!` on views costs seconds of compilation per element type); outer and dot
products take plain loops (a size-1 dim does not change the memory order, so flags don't matter).
"""
function _bmul(A3::Array{T,3}, ta::Bool, B3::Array{T,3}, tb::Bool) where {T}
    m, k = ta ? (size(A3, 2), size(A3, 1)) : (size(A3, 1), size(A3, 2))
    n = tb ? size(B3, 1) : size(B3, 2)
    nb = size(A3, 3)
    C3 = alloc_out(T, (m, n, nb))   # the result, or the one product einsum reshapes into it
    if m * n * nb == 0
        return C3
    elseif k == 0
        fill!(C3, zero(T))
    elseif k == 1                                         # outer products
        A = reshape(A3, m, nb); B = reshape(B3, n, nb)
        @inbounds for b in 1:nb, j in 1:n
            y = B[j, b]
            @simd for i in 1:m
                C3[i, j, b] = A[i, b] * y
            end
        end
    elseif m == 1 && n == 1                               # dot products
        A = reshape(A3, k, nb); B = reshape(B3, k, nb)
        @inbounds for b in 1:nb
            s = zero(T)
            @simd for j in 1:k
                s += A[j, b] * B[j, b]
            end
            C3[1, 1, b] = s
        end
    elseif T <: LinearAlgebra.BlasFloat
        GC.@preserve A3 B3 C3 for b in 1:nb
            _pgemm!(ta ? 'T' : 'N', tb ? 'T' : 'N', one(T), _slice(A3, b), _slice(B3, b), zero(T), _slice(C3, b))
        end
    else
        A3 = ta ? permutedims(A3, (2, 1, 3)) : A3
        B3 = tb ? permutedims(B3, (2, 1, 3)) : B3
        GC.@preserve A3 B3 C3 for b in 1:nb
            _gemm!(_slice(C3, b), _slice(A3, b), _slice(B3, b))
        end
    end
    C3
end

"""
Contract A and B over their shared labels not in `keep`; shared labels in `keep` are batch dims.
Each operand is used in place when its dims already group as (free, contracted, batch) or
(contracted, free, batch) (a BLAS transpose flag covers the second), else permuted; the result
comes out as (free A, free B, batch), or as (free B, free A, batch) when that is the order of
`want` (the output labels, for the last product), by computing Cᵀ = op(B)ᵀ op(A)ᵀ.
"""
function _ein_pair(A::Array{T}, la::Vector{Int}, B::Array{T}, lb::Vector{Int}, keep, want) where {T}
    batch = [l for l in la if l in lb && l in keep]
    aonly = [l for l in la if !(l in lb)]
    bonly = [l for l in lb if !(l in la)]
    contrs = unique([[l for l in la if l in lb && !(l in keep)], [l for l in lb if l in la && !(l in keep)]])
    best = (typemax(Int), Int[], false, false)
    for co in contrs, ta in (false, true), tb in (false, true)
        oa = ta ? vcat(co, aonly, batch) : vcat(aonly, co, batch)
        ob = tb ? vcat(bonly, co, batch) : vcat(co, bonly, batch)
        cost = (oa == la ? 0 : length(A)) + (ob == lb ? 0 : length(B))
        cost < best[1] && (best = (cost, co, ta, tb))
    end
    _, contr, ta, tb = best
    oa = ta ? vcat(contr, aonly, batch) : vcat(aonly, contr, batch)
    ob = tb ? vcat(bonly, contr, batch) : vcat(contr, bonly, batch)
    Ap = oa == la ? A : permutedims(A, [findfirst(isequal(l), la) for l in oa])
    Bp = ob == lb ? B : permutedims(B, [findfirst(isequal(l), lb) for l in ob])
    sa = Int[_lsize(A, la, l) for l in aonly]; sc = Int[_lsize(A, la, l) for l in contr]
    sb = Int[_lsize(B, lb, l) for l in bonly]; sbt = Int[_lsize(A, la, l) for l in batch]
    m, k, n, nb = prod(sa), prod(sc), prod(sb), prod(sbt)
    A3 = reshape(Ap, ta ? (k, m, nb) : (m, k, nb))
    B3 = reshape(Bp, tb ? (n, k, nb) : (k, n, nb))
    if want !== nothing && [l for l in want if l in aonly || l in bonly || l in batch] == vcat(bonly, aonly, batch)
        C = _bmul(B3, !tb, A3, !ta)                       # Cᵀ = op(B)ᵀ op(A)ᵀ
        return reshape(C, (sb..., sa..., sbt...)), vcat(bonly, aonly, batch)
    end
    C = _bmul(A3, ta, B3, tb)
    reshape(C, (sa..., sb..., sbt...)), vcat(aonly, bonly, batch)
end

"""
    _label_sizes(name, ops, labels) -> Dict(label => size)

The size of each label, checking that repeats within an operand have equal sizes and that operands
broadcast (sizes equal or 1).
"""
function _label_sizes(name, ops, labels::Vector{Vector{Int}})
    for (i, x) in enumerate(ops), (d, l) in enumerate(labels[i])   # repeats within an operand: equal sizes
        d0 = findfirst(isequal(l), labels[i])
        size(x, d) == size(x, d0) || throw(DimensionMismatch(
            "$name: subscript $(_lname(l)) is repeated for operand $(i - 1) but the sizes don't match, $(size(x, d)) != $(size(x, d0))"))
    end
    sizes = Dict{Int,Int}()
    for (i, x) in enumerate(ops), (d, l) in enumerate(labels[i])
        s = size(x, d); p = get(sizes, l, 1)
        if p == 1
            sizes[l] = s
        elseif s != p && s != 1
            throw(DimensionMismatch("$name: operands do not broadcast: subscript $(_lname(l)) has size $p in one operand and $s in operand $(i - 1)"))
        end
    end
    sizes
end

"The meta shape function of `_einsum_arrays`: the output labels' sizes, in the promoted type."
function _einsum_arrays(name, ops::AbstractVector{<:MetaArray}, labels::Vector{Vector{Int}}, out::Vector{Int})
    sizes = _label_sizes(name, ops, labels)
    MetaArray{_promote_all(ops)}(Tuple(get(sizes, l, 1) for l in out))
end

"""
    _einsum_arrays(name, ops, labels, out)

Evaluate the contraction of `ops` (arrays in Julia dim order) whose dims carry `labels` into the
labels `out` (Julia order). Labels of the same value must have equal sizes within an operand and
equal or 1 (broadcast) across operands. Returns a new array of the operands' promoted type.
"""
function _einsum_arrays(name, ops, labels::Vector{Vector{Int}}, out::Vector{Int})
    R = _promote_all(ops)
    T = _acc(R)
    sizes = _label_sizes(name, ops, labels)
    check_size(R, Tuple(get(sizes, l, 1) for l in out))   # before any operand is copied
    arrs = Array{T}[]; labs = Vector{Int}[]
    for (i, x) in enumerate(ops)
        A, L = _ein_diag(as_dense(T, x), labels[i])
        # A size-1 dim against a larger size is a broadcast: the operand is constant along it.
        kd = [d for d in eachindex(L) if !(size(A, d) == 1 && sizes[L[d]] != 1)]
        if length(kd) != length(L)
            A = reshape(A, ntuple(j -> size(A, kd[j]), length(kd)))
            L = L[kd]
        end
        push!(arrs, A); push!(labs, L)
    end
    for i in eachindex(arrs)      # labels used by one operand only and not kept: sum them first
        others = Set(vcat(out, Int[l for j in eachindex(labs) if j != i for l in labs[j]]))
        arrs[i], labs[i] = _ein_sumout(arrs[i], labs[i], others)
    end
    cur, lc = arrs[1], labs[1]
    for i in 2:length(arrs)
        keep = Set(vcat(out, Int[l for j in i + 1:length(labs) for l in labs[j]]))
        cur, lc = _ein_sumout(cur, lc, union(keep, labs[i]))
        B, lb = _ein_sumout(arrs[i], labs[i], union(keep, lc))
        cur, lc = _ein_pair(cur, lc, B, lb, keep, i == length(arrs) ? out : nothing)
    end
    # Every label left is an output label; order them as the output. A product is new memory; a
    # single operand may still be its input's, so it is always copied.
    perm = [findfirst(isequal(l), lc) for l in out if l in lc]
    C = length(arrs) > 1 && perm == 1:length(perm) ? cur :
        ndims(cur) == 0 ? copy(cur) : permutedims(cur, perm)
    shp = ntuple(k -> out[k] in lc ? sizes[out[k]] : 1, length(out))
    C = reshape(C, shp)
    full = ntuple(k -> sizes[out[k]], length(out))
    if full != shp                                        # output labels only broadcast operands had
        C = owned(broadcast_to(C, full))
    end
    _restore(R, C)
end
