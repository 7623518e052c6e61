# Fused optimizer updates: one pass over a parameter and its state per step, in place, instead of
# the handful of separate elementwise ops (and temporaries) the update would take from Python.
# Each mirrors PyTorch's single-tensor algorithm exactly (same order of operations), computing in
# the parameter's element type; hyperparameters arrive as Float64 and are converted once.

"Contiguous views of the parameter and state tensors an update writes into (no copies)."
function _state_arrays(name, xs...)
    for x in xs
        x === nothing && continue
        iscontiguous(x) || throw(ArgumentError("$name: parameters and optimizer state must be contiguous"))
    end
    map(x -> x === nothing ? nothing : unsafe_wrap(Array, x.ptr, length(x)), xs)
end

"`Val(b)` for a run-time Bool, from literals: `Val(b)` itself builds a type at run time (microseconds)."
_flag(b::Bool) = b ? Val(true) : Val(false)

function _sgd_step!(p, g, buf, lr, momentum, dampening, weight_decay, nesterov::Bool, maximize::Bool, first::Bool)
    P, G, B = _state_arrays("sgd", p, g, buf)
    T = eltype(P)
    _sgd_loop!(P, G, B, T(lr), T(momentum), T(dampening), T(weight_decay), _flag(nesterov), _flag(maximize), _flag(first))
end

"The update loop, specialized on the flags and on whether there is a momentum buffer, so it vectorizes."
function _sgd_loop!(P::Vector{T}, G::Vector{T}, B, lr::T, mom::T, damp::T, wd::T,
                    ::Val{nesterov}, ::Val{maximize}, ::Val{first}) where {T,nesterov,maximize,first}
    @inbounds @simd for i in eachindex(P)
        d = maximize ? -G[i] : G[i]
        d += wd * P[i]
        if B !== nothing
            b = first ? d : mom * B[i] + (one(T) - damp) * d
            B[i] = b
            d = nesterov ? d + mom * b : b
        end
        P[i] -= lr * d
    end
    nothing
end
defop("_sgd_step_(param: Tensor, grad: Tensor, momentum_buffer: Tensor = None, lr: float = 0.001, momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False, first_step: bool = False) -> Self",
      _sgd_step!; method = false, doc = "One fused SGD update of param (and its momentum buffer), in place.")

"""
    _adam_step!(ps, gs, ms, vs, vmaxs, steps, lr, beta1, beta2, eps, weight_decay, decoupled, maximize)

One Adam/AdamW update of every parameter of a group (lists: one call per optimizer step, not one
per parameter); `vmaxs` is nothing without amsgrad, `steps` the parameters' step counts.
"""
function _adam_step!(ps, gs, ms, vs, vmaxs, @nospecialize(steps), lr, beta1, beta2, eps, weight_decay, decoupled::Bool,
                     maximize::Bool)   # `steps` (one Int per parameter) unspecialized: one compile for any model
    n = length(ps)
    (length(gs) == length(ms) == length(vs) == length(steps) == n && (vmaxs === nothing || length(vmaxs) == n)) ||
        throw(ArgumentError("adam: params ($n), grads ($(length(gs))), exp_avgs ($(length(ms))), exp_avg_sqs " *
                            "($(length(vs))) and steps ($(length(steps))) must be lists of one length"))
    for i in 1:n
        _adam_one!(ps[i], gs[i], ms[i], vs[i], vmaxs === nothing ? nothing : vmaxs[i], steps[i], lr, beta1, beta2,
                   eps, weight_decay, decoupled, maximize)
    end
end

function _adam_one!(p, g, m, v, vmax, step::Int, lr, beta1, beta2, eps, weight_decay, decoupled::Bool, maximize::Bool)
    P, G, M, V, VM = _state_arrays("adam", p, g, m, v, vmax)
    T = eltype(P)
    lrT, b1, b2, ep, wd = T(lr), T(beta1), T(beta2), T(eps), T(weight_decay)
    bc1 = one(T) - b1^step
    bc2 = one(T) - b2^step
    decay = decoupled ? one(T) - lrT * wd : one(T)
    _adam_loop!(P, G, M, V, VM, lrT / bc1, sqrt(bc2), b1, b2, ep, wd, decay, _flag(decoupled), _flag(maximize))
end

"The update loop, specialized on the flags and on amsgrad (`VM`), so it vectorizes."
function _adam_loop!(P::Vector{T}, G::Vector{T}, M::Vector{T}, V::Vector{T}, VM, step_size::T, sbc2::T, b1::T, b2::T,
                     ep::T, wd::T, decay::T, ::Val{decoupled}, ::Val{maximize}) where {T,decoupled,maximize}
    @inbounds @simd for i in eachindex(P)
        d = maximize ? -G[i] : G[i]
        x = P[i] * decay
        decoupled || (d += wd * x)
        mi = M[i] + (one(T) - b1) * (d - M[i])   # torch: exp_avg.lerp_(grad, 1 - beta1)
        vi = b2 * V[i] + (one(T) - b2) * d * d
        M[i] = mi
        V[i] = vi
        if VM !== nothing
            vi = max(VM[i], vi)
            VM[i] = vi
        end
        P[i] = x - step_size * mi / (fsqrt(vi) / sbc2 + ep)
    end
    nothing
end
defop("_adam_step_(params: TensorList, grads: TensorList, exp_avgs: TensorList, exp_avg_sqs: TensorList, max_exp_avg_sqs: Optional[TensorList], steps: IntList, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, maximize: bool = False) -> None",
      _adam_step!; method = false, doc = "One fused Adam/AdamW update of each parameter of a group and its moments, in place.")

function _rmsprop_step!(p, g, sq, gavg, buf, lr, alpha, eps, weight_decay, momentum, centered::Bool, maximize::Bool)
    P, G, S, GA, B = _state_arrays("rmsprop", p, g, sq, gavg, buf)
    T = eltype(P)
    _rmsprop_loop!(P, G, S, GA, B, T(lr), T(alpha), T(eps), T(weight_decay), T(momentum), _flag(centered), _flag(maximize))
end

"The update loop, specialized on the flags and on which state buffers exist, so it vectorizes."
function _rmsprop_loop!(P::Vector{T}, G::Vector{T}, S::Vector{T}, GA, B, lr::T, a::T, ep::T, wd::T, mom::T,
                        ::Val{centered}, ::Val{maximize}) where {T,centered,maximize}
    @inbounds @simd for i in eachindex(P)
        d = maximize ? -G[i] : G[i]
        d += wd * P[i]
        s = a * S[i] + (one(T) - a) * d * d
        S[i] = s
        if centered
            ga = a * GA[i] + (one(T) - a) * d
            GA[i] = ga
            avg = fsqrt(s - ga * ga) + ep
        else
            avg = fsqrt(s) + ep
        end
        if B !== nothing
            b = mom * B[i] + d / avg
            B[i] = b
            P[i] -= lr * b
        else
            P[i] -= lr * d / avg
        end
    end
    nothing
end
defop("_rmsprop_step_(param: Tensor, grad: Tensor, square_avg: Tensor, grad_avg: Tensor = None, momentum_buffer: Tensor = None, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-08, weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> Self",
      _rmsprop_step!; method = false, doc = "One fused RMSprop update of param and its state, in place.")
