# orthopolys.jl -- scalar kernels of the classical orthogonal polynomials of torch.special
# (chebyshev_polynomial_t/u/v/w, their shifted forms, hermite_polynomial_h/he,
# laguerre_polynomial_l, legendre_polynomial_p), as functions of (x, n).
#
# They follow PyTorch's definitions value for value: the degree n arrives in the compute dtype
# and is truncated to an integer (NaN and out-of-range degrees, like negative ones, give 0);
# each polynomial is evaluated by its three-term recurrence in the compute dtype (Float32 for
# float32, as PyTorch), except the Chebyshev ones of degree > 6 inside (-1, 1), which use their
# trigonometric forms (cos nθ, ...; accurate for large n where the recurrence accumulates
# rounding); ±1 (0 and 1 for the shifted forms) give their closed-form values.
# Like the kernels of specialfuncs.jl they never throw and read no global arrays.

"The degree: n truncated to Int64; NaN and |n| >= 2^63 give typemin (a negative degree), as C's cast on x86."
@inline _op_degree(n::AbstractFloat) = ifelse(abs(n) < 9.2e18, unsafe_trunc(Int64, ifelse(abs(n) < 9.2e18, n, zero(n))), typemin(Int64))

"""
    _op_chebyshev(kind, y, n)

The Chebyshev polynomial of the first (`kind` 1, T), second (2, U), third (3, V) or fourth (4, W)
kind at y (y = 2x - 1 for the shifted forms): p_0 = 1, p_1 = 2y + (0, -1, +1) (y for T),
p_{k+1} = 2y p_k - p_{k-1}; at y = ±1 its closed form, and for n > 6 with |y| < 1, θ = acos y:
T = cos nθ, U = sin((n+1)θ)/sin θ, V = cos((n+½)θ)/cos(θ/2), W = sin((n+½)θ)/sin(θ/2).
"""
@inline function _op_chebyshev(kind::Int, y::T, n::Int64) where {T<:AbstractFloat}
    n < 0 && return zero(T)
    odd = isodd(n)
    if abs(y) == one(T)
        # T: 1, (-1)^n   U: n+1, (-1)^n (n+1)   V: 1, (-1)^n (2n+1)   W: 2n+1, (-1)^n
        up = kind == 2 ? T(n + 1) : kind == 4 ? T(2n + 1) : one(T)
        down = kind == 2 ? T(n + 1) : kind == 3 ? T(2n + 1) : one(T)
        return y > zero(T) ? up : ifelse(odd, -down, down)
    end
    if n > 6 && abs(y) < one(T)
        t = acos(y)
        kind == 1 && return cos(T(n) * t)
        kind == 2 && return sin(T(n + 1) * t) / sin(t)
        h = T(n) + T(0.5)
        return kind == 3 ? cos(h * t) / cos(t / 2) : sin(h * t) / sin(t / 2)
    end
    n == 0 && return one(T)
    p = one(T)
    q = kind == 1 ? y : kind == 2 ? y + y : kind == 3 ? y + y - one(T) : y + y + one(T)
    k = 2
    while k <= n
        p, q = q, (y + y) * q - p
        k += 1
    end
    q
end

@inline op_chebyshev_t(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(1, x, _op_degree(n))
@inline op_chebyshev_u(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(2, x, _op_degree(n))
@inline op_chebyshev_v(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(3, x, _op_degree(n))
@inline op_chebyshev_w(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(4, x, _op_degree(n))
@inline op_shifted_chebyshev_t(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(1, x + x - one(T), _op_degree(n))
@inline op_shifted_chebyshev_u(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(2, x + x - one(T), _op_degree(n))
@inline op_shifted_chebyshev_v(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(3, x + x - one(T), _op_degree(n))
@inline op_shifted_chebyshev_w(x::T, n::T) where {T<:AbstractFloat} = _op_chebyshev(4, x + x - one(T), _op_degree(n))

"""
    _op_three_term(family, x, n)

p_n(x) for n >= 1 by the three-term recurrence of `family`, from p_0 = 1:
1 physicists' Hermite (H_1 = 2x, H_{k+1} = 2x H_k - 2k H_{k-1}), 2 probabilists' Hermite
(He_1 = x, He_{k+1} = x He_k - k He_{k-1}), 3 Laguerre (L_1 = 1 - x,
(k+1) L_{k+1} = (2k + 1 - x) L_k - k L_{k-1}), 4 Legendre (P_1 = x, (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}).
"""
@inline function _op_three_term(family::Int, x::T, n::Int64) where {T<:AbstractFloat}
    p = one(T)
    q = family == 1 ? x + x : family == 3 ? one(T) - x : x
    k = 1
    while k < n
        r = family == 1 ? (x + x) * q - T(2k) * p :
            family == 2 ? x * q - T(k) * p :
            family == 3 ? ((T(2k) + (one(T) - x)) * q - T(k) * p) / T(k + 1) :
                          (T(2k + 1) * x * q - T(k) * p) / T(k + 1)
        p, q = q, r
        k += 1
    end
    q
end

"Hermite H_n, He_n (`family` 1, 2 of `_op_three_term`); negative degrees give 0."
@inline function _op_hermite(family::Int, x::T, nf::T) where {T<:AbstractFloat}
    n = _op_degree(nf)
    n < 0 && return zero(T)
    n == 0 && return one(T)
    _op_three_term(family, x, n)
end
@inline op_hermite_h(x::T, n::T) where {T<:AbstractFloat} = _op_hermite(1, x, n)
@inline op_hermite_he(x::T, n::T) where {T<:AbstractFloat} = _op_hermite(2, x, n)

"Laguerre L_n(x); L_n(0) = 1."
@inline function op_laguerre_l(x::T, nf::T) where {T<:AbstractFloat}
    n = _op_degree(nf)
    n < 0 && return zero(T)
    (n == 0 || x == zero(T)) && return one(T)
    _op_three_term(3, x, n)
end

"Legendre P_n(x); P_n(±1) = (±1)^n."
@inline function op_legendre_p(x::T, nf::T) where {T<:AbstractFloat}
    n = _op_degree(nf)
    n < 0 && return zero(T)
    abs(x) == one(T) && return ifelse(x > zero(T) || iseven(n), one(T), -one(T))
    n == 0 && return one(T)
    _op_three_term(4, x, n)
end
