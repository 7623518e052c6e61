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

"Adam's moment updates, shared by Adam, NAdam and RAdam: m.lerp_(d, 1 - b1) and v * b2 + (1 - b2) * d^2, as torch."
@inline _adam_moments(m::T, v::T, d::T, b1::T, b2::T) where {T} = (m + (one(T) - b1) * (d - m), b2 * v + (one(T) - b2) * d * d)

"The update loop, specialized on the flags and on amsgrad (`VM`), so it vectorizes."
function _adam_loop!(P::Vector{T}, G::Vector{T}, M::Vector{T}, V::Vector{T}, VM, step_size::T, sbc2::T, b1::T, b2::T,
                     ep::T, wd::T, decay::T, ::Val{decoupled}, ::Val{maximize}) where {T,decoupled,maximize}
    @inbounds @simd for i in eachindex(P)
        d = maximize ? -G[i] : G[i]
        x = P[i] * decay
        decoupled || (d += wd * x)
        mi, vi = _adam_moments(M[i], V[i], d, b1, b2)
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

# The optimizers below take their step-dependent scalars (bias corrections, decayed rates) from
# Python, which keeps the per-step bookkeeping torch keeps; each kernel is the elementwise pass.

"The gradient as the updates use it: negated under `maximize`, plus L2 weight decay (`wd`, 0 when none or decoupled)."
@inline _descent(g::T, p::T, wd::T, ::Val{maximize}) where {T,maximize} = (maximize ? -g : g) + wd * p

function _adadelta_step!(p, g, sq, acc, lr, rho, eps, weight_decay, maximize::Bool)
    P, G, S, A = _state_arrays("adadelta", p, g, sq, acc)
    T = eltype(P)
    _adadelta_loop!(P, G, S, A, T(lr), T(rho), T(eps), T(weight_decay), _flag(maximize))
end

function _adadelta_loop!(P::Vector{T}, G::Vector{T}, S::Vector{T}, A::Vector{T}, lr::T, rho::T, ep::T, wd::T,
                         mx::Val) where {T}
    @inbounds @simd for i in eachindex(P)
        d = _descent(G[i], P[i], wd, mx)
        s = rho * S[i] + (one(T) - rho) * d * d
        S[i] = s
        delta = fsqrt(A[i] + ep) / fsqrt(s + ep) * d
        A[i] = rho * A[i] + (one(T) - rho) * delta * delta
        P[i] -= lr * delta
    end
    nothing
end
defop("_adadelta_step_(param: Tensor, grad: Tensor, square_avg: Tensor, acc_delta: Tensor, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-06, weight_decay: float = 0.0, maximize: bool = False) -> Self",
      _adadelta_step!; method = false, doc = "One fused Adadelta update of param and its running averages, in place.")

function _adagrad_step!(p, g, sum, clr, eps, weight_decay, maximize::Bool)
    P, G, S = _state_arrays("adagrad", p, g, sum)
    T = eltype(P)
    _adagrad_loop!(P, G, S, T(clr), T(eps), T(weight_decay), _flag(maximize))
end

function _adagrad_loop!(P::Vector{T}, G::Vector{T}, S::Vector{T}, clr::T, ep::T, wd::T, mx::Val) where {T}
    @inbounds @simd for i in eachindex(P)
        d = _descent(G[i], P[i], wd, mx)
        s = S[i] + d * d
        S[i] = s
        P[i] -= clr * d / (fsqrt(s) + ep)
    end
    nothing
end
defop("_adagrad_step_(param: Tensor, grad: Tensor, state_sum: Tensor, clr: float = 0.01, eps: float = 1e-10, weight_decay: float = 0.0, maximize: bool = False) -> Self",
      _adagrad_step!; method = false, doc = "One fused Adagrad update (rate `clr`, already decayed) of param and its sum of squares, in place.")

function _adamax_step!(p, g, m, u, clr, beta1, beta2, eps, weight_decay, maximize::Bool)
    P, G, M, U = _state_arrays("adamax", p, g, m, u)
    T = eltype(P)
    _adamax_loop!(P, G, M, U, T(clr), T(beta1), T(beta2), T(eps), T(weight_decay), _flag(maximize))
end

function _adamax_loop!(P::Vector{T}, G::Vector{T}, M::Vector{T}, U::Vector{T}, clr::T, b1::T, b2::T, ep::T, wd::T,
                       mx::Val) where {T}
    @inbounds @simd for i in eachindex(P)
        d = _descent(G[i], P[i], wd, mx)
        mi = M[i] + (one(T) - b1) * (d - M[i])   # torch: exp_avg.lerp_(grad, 1 - beta1)
        ui = max(b2 * U[i], abs(d) + ep)
        M[i] = mi
        U[i] = ui
        P[i] -= clr * mi / ui
    end
    nothing
end
defop("_adamax_step_(param: Tensor, grad: Tensor, exp_avg: Tensor, exp_inf: Tensor, clr: float = 0.002, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08, weight_decay: float = 0.0, maximize: bool = False) -> Self",
      _adamax_step!; method = false, doc = "One fused Adamax update (rate `clr`, bias-corrected) of param and its moments, in place.")

"""
    _nadam_step!(p, g, m, v, beta1, beta2, eps, weight_decay, decay, bias_correction2, grad_coef, avg_coef, maximize)

One NAdam update: `decay` multiplies the parameter first (decoupled weight decay; 1 without),
`weight_decay` is the L2 term (0 when decoupled); `grad_coef` and `avg_coef` are torch's two
addcdiv factors, from the momentum schedule Python tracks.
"""
function _nadam_step!(p, g, m, v, beta1, beta2, eps, weight_decay, decay, bias_correction2, grad_coef, avg_coef,
                      maximize::Bool)
    P, G, M, V = _state_arrays("nadam", p, g, m, v)
    T = eltype(P)
    _nadam_loop!(P, G, M, V, T(beta1), T(beta2), T(eps), T(weight_decay), T(decay), T(bias_correction2),
                 T(grad_coef), T(avg_coef), _flag(maximize))
end

function _nadam_loop!(P::Vector{T}, G::Vector{T}, M::Vector{T}, V::Vector{T}, b1::T, b2::T, ep::T, wd::T, decay::T,
                      bc2::T, cg::T, cm::T, mx::Val) where {T}
    @inbounds @simd for i in eachindex(P)
        x = P[i] * decay
        d = _descent(G[i], x, wd, mx)
        mi, vi = _adam_moments(M[i], V[i], d, b1, b2)
        M[i] = mi
        V[i] = vi
        den = fsqrt(vi / bc2) + ep
        x += cg * d / den
        P[i] = x + cm * mi / den
    end
    nothing
end
defop("_nadam_step_(param: Tensor, grad: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08, weight_decay: float = 0.0, decay: float = 1.0, bias_correction2: float = 1.0, grad_coef: float = 0.0, avg_coef: float = 0.0, maximize: bool = False) -> Self",
      _nadam_step!; method = false, doc = "One fused NAdam update of param and its moments, in place.")

"""
    _radam_step!(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decay, bias_correction1, bias_correction2, rect, adaptive, maximize)

One RAdam update: with `adaptive` (rho_t > 5) the step is rectified by `rect` and scaled by the
second moment, otherwise it is the bias-corrected momentum times lr. `decay` and `weight_decay`
as in `_nadam_step!`.
"""
function _radam_step!(p, g, m, v, lr, beta1, beta2, eps, weight_decay, decay, bias_correction1, bias_correction2,
                      rect, adaptive::Bool, maximize::Bool)
    P, G, M, V = _state_arrays("radam", p, g, m, v)
    T = eltype(P)
    _radam_loop!(P, G, M, V, T(lr), T(beta1), T(beta2), T(eps), T(weight_decay), T(decay), T(bias_correction1),
                 T(sqrt(bias_correction2)), T(rect), _flag(adaptive), _flag(maximize))
end

function _radam_loop!(P::Vector{T}, G::Vector{T}, M::Vector{T}, V::Vector{T}, lr::T, b1::T, b2::T, ep::T, wd::T,
                      decay::T, bc1::T, sbc2::T, rect::T, ::Val{adaptive}, mx::Val) where {T,adaptive}
    @inbounds @simd for i in eachindex(P)
        x = P[i] * decay
        d = _descent(G[i], x, wd, mx)
        mi, vi = _adam_moments(M[i], V[i], d, b1, b2)
        M[i] = mi
        V[i] = vi
        step = mi / bc1 * lr
        P[i] = adaptive ? x - step * (sbc2 / (fsqrt(vi) + ep)) * rect : x - step
    end
    nothing
end
defop("_radam_step_(param: Tensor, grad: Tensor, exp_avg: Tensor, exp_avg_sq: Tensor, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-08, weight_decay: float = 0.0, decay: float = 1.0, bias_correction1: float = 1.0, bias_correction2: float = 1.0, rect: float = 1.0, adaptive: bool = False, maximize: bool = False) -> Self",
      _radam_step!; method = false, doc = "One fused RAdam update of param and its moments, in place.")

function _asgd_step!(p, g, ax, eta, lambd, mu, weight_decay, maximize::Bool)
    P, G, A = _state_arrays("asgd", p, g, ax)
    T = eltype(P)
    _asgd_loop!(P, G, A, T(eta), T(1 - lambd * eta), T(mu), T(weight_decay), _flag(mu != 1), _flag(maximize))
end

function _asgd_loop!(P::Vector{T}, G::Vector{T}, A::Vector{T}, eta::T, shrink::T, mu::T, wd::T, ::Val{average},
                     mx::Val) where {T,average}
    @inbounds @simd for i in eachindex(P)
        d = _descent(G[i], P[i], wd, mx)
        x = P[i] * shrink - eta * d
        P[i] = x
        A[i] = average ? A[i] + (x - A[i]) * mu : x
    end
    nothing
end
defop("_asgd_step_(param: Tensor, grad: Tensor, ax: Tensor, eta: float = 0.01, lambd: float = 0.0001, mu: float = 1.0, weight_decay: float = 0.0, maximize: bool = False) -> Self",
      _asgd_step!; method = false, doc = "One fused ASGD update of param and its running average `ax`, in place.")

function _rprop_step!(p, g, prev, step_size, etaminus, etaplus, step_size_min, step_size_max, maximize::Bool)
    P, G, PR, SS = _state_arrays("rprop", p, g, prev, step_size)
    T = eltype(P)
    _rprop_loop!(P, G, PR, SS, T(etaminus), T(etaplus), T(step_size_min), T(step_size_max), _flag(maximize))
end

function _rprop_loop!(P::Vector{T}, G::Vector{T}, PR::Vector{T}, SS::Vector{T}, etaminus::T, etaplus::T, lo::T, hi::T,
                      ::Val{maximize}) where {T,maximize}
    @inbounds @simd for i in eachindex(P)
        d = maximize ? -G[i] : G[i]
        s = sign(d * PR[i])
        ss = min(max(SS[i] * (s > 0 ? etaplus : s < 0 ? etaminus : one(T)), lo), hi)
        SS[i] = ss
        d = s < 0 ? zero(T) : d   # after a sign change: no step, and no sign to compare next time
        P[i] -= sign(d) * ss
        PR[i] = d
    end
    nothing
end
defop("_rprop_step_(param: Tensor, grad: Tensor, prev: Tensor, step_size: Tensor, etaminus: float = 0.5, etaplus: float = 1.2, step_size_min: float = 1e-06, step_size_max: float = 50.0, maximize: bool = False) -> Self",
      _rprop_step!; method = false, doc = "One fused Rprop update of param, its step sizes and its last gradient, in place.")
