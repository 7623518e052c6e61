# Compilation ahead of first use for the nn kernels of this folder.

# Type inference of the common float32/float64 signatures is cached in the precompiled package, so
# a first call only generates code (inference of the conv and norm kernels takes seconds otherwise).
for T in (Float32, Float64)
    S1, S2, S3, S4 = Strided{T,1}, Strided{T,2}, Strided{T,3}, Strided{T,4}
    I2, I4 = NTuple{2,Int}, NTuple{4,Int}
    # the 2-d and 3-d kernels: (forward, gradients, max pool, batch array, per-axis list, padding, size)
    for (conv, bwi, bww, mx, X, I, P, Z) in ((_conv2d, _conv2d_backward_input, _conv2d_backward_weight, _max_pool2d,
                                              S4, I2, I4, I4),
                                             (_conv3d, _conv3d_backward_input, _conv3d_backward_weight, _max_pool3d,
                                              Strided{T,5}, NTuple{3,Int}, NTuple{6,Int}, NTuple{5,Int}))
        for B in (S1, Nothing)
            precompile(conv, (X, X, B, I, P, I, Int))
        end
        precompile(bwi, (X, X, Z, I, P, I, Int))
        precompile(bww, (X, X, Z, I, P, I, Int))
        precompile(mx, (X, I, I, I, I, Bool))
    end
    precompile(_pool2d_scatter, (S4, Strided{Int64,4}, I4))
    for S in (S2, S3, S4)
        precompile(_standardize, (S, NTuple{1,Int}, Float64))
        precompile(_standardize_backward, (S, S, NTuple{1,Int}, Float64))
        precompile(_softmax_kernel, (String, S, Int, Nothing, Bool))
        precompile(_softmax_backward_kernel, (String, S, S, Int, Bool))
    end
    precompile(_standardize, (S4, NTuple{3,Int}, Float64))
    precompile(_standardize_backward, (S4, S4, NTuple{3,Int}, Float64))
    precompile(_cross_entropy, (S2, Strided{Int64,1}, Nothing, Int, Float64, String))
    precompile(_cross_entropy_backward, (Strided{T,0}, S2, Strided{Int64,1}, Nothing, Int, Float64, String))
    for B in (S1, Nothing), X in (S1, S2)
        precompile(_linear, (X, S2, B))
    end
    precompile(_matmul, (S2, S2))
end

# The convolution kernels reach these BLAS and Base methods by dynamic dispatch, and no traced
# workload line names them (they were compiled inside their callers), so they are named here, as
# bridge.jl's `_precompile_glue` does for the entry points' glue.
function _precompile_conv_glue()
    for T in (Float32, Float64)
        C = SubArray{T,2,Matrix{T},Tuple{Base.Slice{Base.OneTo{Int}},UnitRange{Int}},true}
        precompile(gemm!, (Char, Char, T, C, Matrix{T}, T, Matrix{T}))
        precompile(gemm!, (Char, Char, T, Matrix{T}, Matrix{T}, T, C))
        precompile(gemm!, (Char, Char, T, C, Matrix{T}, T, C))
        precompile(gemm!, (Char, Char, T, Matrix{T}, Matrix{T}, T, Matrix{T}))
        precompile(transpose!, (Matrix{T}, Matrix{T}))
        precompile(permutedims, (Matrix{T},))       # the RNN's W_hh, transposed once for gemm! (recurrent.jl)
        precompile(permutedims!, (Array{T,3}, Array{T,3}, NTuple{3,Int}))
        precompile(permutedims!, (Array{T,4}, Array{T,4}, NTuple{4,Int}))
    end
    precompile(get, (Dict{Tuple{DataType,Int},Any}, Tuple{DataType,Int}, Nothing))
    precompile(setindex!, (Dict{Tuple{DataType,Int},Any}, Vector{Float32}, Tuple{DataType,Int}))
    precompile(setindex!, (Dict{Tuple{DataType,Int},Any}, Vector{Float64}, Tuple{DataType,Int}))
    nothing
end
_precompile_conv_glue()
