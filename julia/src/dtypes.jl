# Element types that cross the Python boundary, their wire codes, and BFloat16.
#
# Julia 1.5 has no BFloat16, so it is defined here as a 16-bit float whose arithmetic goes through
# Float32 (as PyTorch does on the CPU). The code of each type is its index in DTYPES minus one; the
# Python side (python/jtensor/dtypes.py) reads the same table from the registry, so the order below
# is the single source of truth.

primitive type BFloat16 <: AbstractFloat 16 end

Base.Float32(x::BFloat16) = reinterpret(Float32, UInt32(reinterpret(UInt16, x)) << 16)
Base.Float64(x::BFloat16) = Float64(Float32(x))
Base.Float16(x::BFloat16) = Float16(Float32(x))

"Round a Float32 to the nearest BFloat16, ties to even; NaN stays NaN."
function BFloat16(x::Float32)
    isnan(x) && return reinterpret(BFloat16, 0x7fc0)
    u = reinterpret(UInt32, x)
    u += 0x00007fff + ((u >> 16) & 0x00000001)
    reinterpret(BFloat16, (u >> 16) % UInt16)
end
BFloat16(x::BFloat16) = x
BFloat16(x::Real) = BFloat16(Float32(x))
(::Type{T})(x::BFloat16) where {T<:Integer} = T(Float32(x))
Base.Bool(x::BFloat16) = Bool(Float32(x))
Base.convert(::Type{BFloat16}, x::Real) = BFloat16(x)
Base.convert(::Type{BFloat16}, x::BFloat16) = x
Base.promote_rule(::Type{BFloat16}, ::Type{Float32}) = Float32
Base.promote_rule(::Type{BFloat16}, ::Type{Float64}) = Float64
Base.promote_rule(::Type{BFloat16}, ::Type{Float16}) = Float32
Base.promote_rule(::Type{BFloat16}, ::Type{<:Integer}) = BFloat16
Base.promote_rule(::Type{BFloat16}, ::Type{Bool}) = BFloat16
for op in (:+, :-, :*, :/, :^, :rem, :mod, :atan, :min, :max)
    @eval Base.$op(a::BFloat16, b::BFloat16) = BFloat16($op(Float32(a), Float32(b)))
end
for op in (:-, :abs, :sqrt, :exp, :log, :sin, :cos, :tan, :tanh, :floor, :ceil, :trunc, :round)
    @eval Base.$op(a::BFloat16) = BFloat16($op(Float32(a)))
end
for op in (:<, :<=, :(==), :isless, :isequal)
    @eval Base.$op(a::BFloat16, b::BFloat16) = $op(Float32(a), Float32(b))
end
for op in (:isnan, :isinf, :isfinite, :signbit, :iszero)
    @eval Base.$op(a::BFloat16) = $op(Float32(a))
end
Base.zero(::Type{BFloat16}) = reinterpret(BFloat16, 0x0000)
Base.one(::Type{BFloat16}) = reinterpret(BFloat16, 0x3f80)
Base.typemax(::Type{BFloat16}) = reinterpret(BFloat16, 0x7f80)
Base.typemin(::Type{BFloat16}) = reinterpret(BFloat16, 0xff80)
Base.floatmax(::Type{BFloat16}) = reinterpret(BFloat16, 0x7f7f)
Base.eps(::Type{BFloat16}) = reinterpret(BFloat16, 0x3c00)
Base.show(io::IO, x::BFloat16) = print(io, "BFloat16(", Float32(x), ")")

"Wire order of element types; code = index - 1."
const DTYPES = (Bool, Int8, Int16, Int32, Int64, UInt8, Float16, BFloat16, Float32, Float64,
                ComplexF32, ComplexF64)
const DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "float16", "bfloat16",
                     "float32", "float64", "complex64", "complex128")

dtype_of(code::Integer) = code < length(DTYPES) ? DTYPES[code + 1] : user_dtype_of(code)
function dtype_code(::Type{T}) where {T}
    i = findfirst(isequal(T), DTYPES)
    i === nothing && return user_dtype_code(T)
    i - 1
end

# ---- user element types: registered at run time, after the built-ins -------------------------------
# A user's `isbits` type becomes a dtype by `register_dtype`: its code is the next after the
# built-ins (`length(DTYPES) + k - 1` for the k-th registered), so the built-in codes, and the
# system image's tables of them, never change. Python reads the list with the registry (the
# registration bumps its version) and stores such tensors as raw bytes of the type's size.

"User element types registered as dtypes, in code order after `DTYPES`; their names in `USER_DTYPE_NAMES`."
const USER_DTYPES = DataType[]
const USER_DTYPE_NAMES = String[]

@noinline function user_dtype_of(code::Integer)
    k = code - length(DTYPES) + 1
    1 <= k <= length(USER_DTYPES) || throw(ArgumentError("no jtensor dtype has code $code"))
    USER_DTYPES[k]
end
@noinline function user_dtype_code(::Type{T}) where {T}
    k = findfirst(isequal(T), USER_DTYPES)
    k === nothing && throw(ArgumentError("element type $T has no jtensor dtype (register it with JTensor.register_dtype)"))
    length(DTYPES) + k - 1
end

"Whether `T` is the element type of a jtensor dtype (built-in or registered)."
is_dtype(::Type{T}) where {T} = T in DTYPES || T in USER_DTYPES

"The dtype name of element type `T` (built-in or registered)."
dtype_name(::Type{T}) where {T} = (c = dtype_code(T); c < length(DTYPES) ? DTYPE_NAMES[c + 1] : USER_DTYPE_NAMES[c - length(DTYPES) + 1])

"All dtype names in code order: the built-ins, then the registered user types."
all_dtype_names() = String[DTYPE_NAMES..., USER_DTYPE_NAMES...]
"All dtype element types in code order."
all_dtypes() = Any[DTYPES..., USER_DTYPES...]

"""
    register_dtype(T; name) -> code

Make the `isbits` type `T` a jtensor dtype called `name` (a Python identifier, e.g.
`"float8_e4m3"`): Python then has `jtensor.<name>`, tensors of it store each element as `sizeof(T)`
raw bytes, and every op whose kernel has methods for `T` runs on them. Its promotion with other
dtypes is Julia's `promote_type` (the type's own `promote_rule`s), not the built-in categories.
Registering the same type under the same name again returns its code; a different type or name
for one already taken is an error. Returns the dtype's wire code.
"""
function register_dtype(::Type{T}; name::AbstractString) where {T}
    isbitstype(T) || throw(ArgumentError("register_dtype: $T is not an isbits type (a concrete immutable type of plain data): its elements cannot be stored as raw bytes"))
    sizeof(T) > 0 || throw(ArgumentError("register_dtype: $T has no data (sizeof 0)"))
    occursin(r"^[A-Za-z_][A-Za-z0-9_]*$", name) || throw(ArgumentError("register_dtype: name $(repr(name)) is not an identifier"))
    T in DTYPES && throw(ArgumentError("register_dtype: $T is already the built-in dtype $(dtype_name(T))"))
    k = findfirst(isequal(T), USER_DTYPES)
    j = findfirst(isequal(name), all_dtype_names())
    if k !== nothing
        USER_DTYPE_NAMES[k] == name && return length(DTYPES) + k - 1
        throw(ArgumentError("register_dtype: $T is already registered as $(USER_DTYPE_NAMES[k])"))
    end
    j === nothing || throw(ArgumentError("register_dtype: the name $name is taken by $(all_dtypes()[j])"))
    # outside the built-in rule's categories, whatever T subtypes: it promotes by promote_type
    T <: Union{Bool,Integer,AbstractFloat,Complex} && Core.eval(@__MODULE__, :(dtype_category(::Type{$T}) = -1))
    push!(USER_DTYPES, T)
    push!(USER_DTYPE_NAMES, String(name))
    REGISTRY_VERSION[] += 1      # Python re-reads the dtype and promotion tables
    length(DTYPES) + length(USER_DTYPES) - 1
end

"""
    float_like(T)

Whether ops that need a floating point or complex input (mean, var, std, norm) take element type
`T`: every type but the integers and Bool, so that a user's number type (a float8, a dual number,
an interval) is taken and its own methods decide what works.
"""
float_like(::Type{T}) where {T} = !(T <: Integer)

"""
    compute_type(T)

The type an elementwise kernel computes in for stored element type `T`: the half-precision
types widen to Float32 (their results are rounded back on store), everything else is itself.
"""
compute_type(::Type{T}) where {T} = T
compute_type(::Type{Float16}) = Float32
compute_type(::Type{BFloat16}) = Float32

"""
    jconvert(T, x)

C-style conversion used when storing results and casting: float→integer truncates, integer→integer
wraps, anything→Bool is `x != 0`, complex→real drops the imaginary part. Never throws, matching
NumPy's and PyTorch's `astype`.
"""
@inline jconvert(::Type{T}, x::T) where {T} = x
# any other pair (a user's element type): the type's own `convert` methods
@inline jconvert(::Type{T}, x) where {T} = convert(T, x)
@inline jconvert(::Type{Bool}, x::Number) = !iszero(x)
@inline jconvert(::Type{Bool}, x::Bool) = x
for S in (Integer, AbstractFloat, Complex)   # resolve ambiguities with the methods below
    @eval @inline jconvert(::Type{Bool}, x::$S) = !iszero(x)
end
@inline jconvert(::Type{T}, x::AbstractFloat) where {T<:Integer} =
    isfinite(x) ? unsafe_trunc(T, x) : (isnan(x) ? zero(T) : (x > 0 ? typemax(T) : typemin(T)))
@inline jconvert(::Type{T}, x::Integer) where {T<:Integer} = x % T
@inline jconvert(::Type{T}, x::Bool) where {T<:Integer} = T(x)
@inline jconvert(::Type{T}, x::Complex) where {T<:Real} = jconvert(T, real(x))
@inline jconvert(::Type{T}, x::Complex) where {T<:Complex} = convert(T, x)
@inline jconvert(::Type{T}, x::Real) where {T<:Complex} = T(x, 0)
@inline jconvert(::Type{T}, x::Real) where {T<:AbstractFloat} = convert(T, x)
@inline jconvert(::Type{BFloat16}, x::Real) = BFloat16(Float32(x))
@inline jconvert(::Type{BFloat16}, x::Float64) = BFloat16(Float32(x))
@inline jconvert(::Type{T}, x::BFloat16) where {T<:Integer} = jconvert(T, Float32(x))
@inline jconvert(::Type{T}, x::BFloat16) where {T<:AbstractFloat} = convert(T, Float32(x))
@inline jconvert(::Type{BFloat16}, x::BFloat16) = x
@inline jconvert(::Type{Bool}, x::BFloat16) = !iszero(x)

# ---- type promotion: the one rule --------------------------------------------------------------
# jtensor's promotion rule (PyTorch's) is defined here and nowhere else: Julia kernels and
# `JTensor.call` use `promote_dtype`/`promote_scalar`, and Python reads the same rule as tables
# (`promotion_tables`, sent in the registry's JSON; python/jtensor/dtypes.py `load_promotion`).
# It differs from Julia's `promote_type`, which gives UInt8 for Int8 with UInt8 (jtensor: Int16).

"The element type of a Python `float` scalar or float-made tensor (PyTorch's default dtype)."
const DEFAULT_FLOAT = Float32

"Promotion category: bool < integer < floating < complex; -1 for other types (a user's element type)."
dtype_category(::Type) = -1
dtype_category(::Type{Bool}) = 0
dtype_category(::Type{<:Integer}) = 1
dtype_category(::Type{<:AbstractFloat}) = 2
dtype_category(::Type{<:Complex}) = 3

"""
    promote_dtype(S, T)

The element type of a result computed from tensors of element types `S` and `T`:
- the higher category wins (bool < integer < floating < complex), except that complex64 with
  float64 gives complex128 (the complex type that holds the float);
- integers: the smallest type holding both (int8 with uint8 gives int16, uint8 with a wider
  signed type gives that type);
- floats: the wider, and float16 with bfloat16 gives float32; complex: the wider.
Symmetric, and constant-folded by the compiler for known types. Element types outside the
rule's categories (a user's `Dual`, say) promote by Julia's `promote_type`, i.e. their own rules.
"""
@inline function promote_dtype(::Type{S}, ::Type{T}) where {S,T}
    S === T && return S
    cs, ct = dtype_category(S), dtype_category(T)
    (cs < 0 || ct < 0) && return promote_type(S, T)
    cs < ct && return _promote_across(T, S)
    cs > ct && return _promote_across(S, T)
    cs == 1 && return _promote_ints(S, T)
    cs == 2 && ((S === Float16 && T === BFloat16) || (S === BFloat16 && T === Float16)) && return Float32
    sizeof(S) >= sizeof(T) ? S : T
end
promote_dtype(::Type{S}, ::Type{T}, ::Type{U}, more::Type...) where {S,T,U} =
    promote_dtype(promote_dtype(S, T), U, more...)

"`hi` from a higher category than `lo`: hi, or complex128 when a complex meets float64."
@inline _promote_across(::Type{H}, ::Type{L}) where {H,L} = H <: Complex && L === Float64 ? ComplexF64 : H

@inline function _promote_ints(::Type{S}, ::Type{T}) where {S,T}
    S <: Signed && T <: Signed && return sizeof(S) >= sizeof(T) ? S : T
    S <: Unsigned && T <: Unsigned && return sizeof(S) >= sizeof(T) ? S : T
    U, I = S <: Unsigned ? (S, T) : (T, S)          # one unsigned, one signed
    sizeof(I) > sizeof(U) ? I : _signed_of_size(2 * sizeof(U))
end
_signed_of_size(n) = n == 2 ? Int16 : n == 4 ? Int32 : Int64

"""
    promote_scalar(T, K)

The element type of a tensor of element type `T` combined with a Python scalar of type `K`
(`Bool`, an `Integer`, an `AbstractFloat`, a `Complex`). Scalars are weak: they change only the
category, never the precision within it (int8 tensor + 1 stays int8, float16 + 1.5 stays
float16); a higher category gives its default type (int64; `DEFAULT_FLOAT`; complex128 for a
float64 tensor, else the default complex). Types outside the categories: Julia's `promote_type`.
"""
@inline function promote_scalar(::Type{T}, ::Type{K}) where {T,K}
    ck, ct = dtype_category(K), dtype_category(T)
    (ck < 0 || ct < 0) && return promote_type(T, K)
    ck <= ct && return T
    ck == 1 && return Int64
    ck == 2 && return DEFAULT_FLOAT
    T === Float64 ? ComplexF64 : complex(DEFAULT_FLOAT)
end

"The element type of a Python scalar of type `K` on its own (a tensor made from it)."
scalar_dtype(::Type{K}) where {K} = promote_scalar(Bool, K)

"""
    result_dtype(tensor_types, scalar_types)

The promoted element type of tensors (a tuple of element types) and weak Python scalars (a tuple of
their types), as an elementwise op's inputs: tensors first, then each scalar by `promote_scalar`;
with no tensors, the first scalar's own type takes their place.
"""
function result_dtype(tensor_types::Tuple, scalar_types::Tuple)
    isempty(tensor_types) && isempty(scalar_types) && throw(ArgumentError("result_dtype: no inputs"))
    isempty(tensor_types) && return result_dtype((scalar_dtype(scalar_types[1]),), Base.tail(scalar_types))
    R = foldl(promote_dtype, tensor_types)
    foldl(promote_scalar, scalar_types; init = R)
end

"Python's scalar kinds (python/jtensor/dtypes.py `scalar_kind`) and the Julia type standing for each."
const SCALAR_KINDS = ("b" => Bool, "i" => Int64, "f" => Float64, "c" => ComplexF64)

"""
    promotion_tables()

The rule as tables of dtype names, for Python: `"pairs"` (row S, column T: `promote_dtype(S, T)`,
in wire order), `"scalars"` (per tensor dtype, the result with a scalar of each kind in
`SCALAR_KINDS`), `"categories"` (`dtype_category` of each) and `"default_float"`.
"""
function promotion_tables()
    isempty(USER_DTYPES) && return _builtin_promotion_tables()
    # with user types: a promotion to a type that is not a dtype is `nothing` (Python refuses it)
    name(T) = T isa DataType && is_dtype(T) ? dtype_name(T) : nothing
    Ts = all_dtypes()
    Dict("pairs" => [[name(_promote_or_any(promote_dtype, S, T)) for T in Ts] for S in Ts],
         "scalars" => [Dict(k => name(_promote_or_any(promote_scalar, S, K)) for (k, K) in SCALAR_KINDS) for S in Ts],
         "categories" => [dtype_category(S) for S in Ts], "default_float" => name(DEFAULT_FLOAT))
end

"`promote(S, T)`, or `Any` when a user type's promotion throws (an ambiguous `promote_rule`)."
_promote_or_any(promote, S, T) = try promote(S, T) catch; Any end

function _builtin_promotion_tables()
    name(T) = DTYPE_NAMES[dtype_code(T) + 1]
    Dict("pairs" => [[name(promote_dtype(S, T)) for T in DTYPES] for S in DTYPES],
         "scalars" => [Dict(k => name(promote_scalar(S, K)) for (k, K) in SCALAR_KINDS) for S in DTYPES],
         "categories" => [dtype_category(S) for S in DTYPES], "default_float" => name(DEFAULT_FLOAT))
end

"The user dtypes for Python's registry JSON: name, item size and the Julia type's text, in code order."
user_dtypes_json() = [Dict("name" => n, "itemsize" => sizeof(T), "julia_type" => string(T),
                           "floating" => T <: AbstractFloat)
                      for (n, T) in zip(USER_DTYPE_NAMES, USER_DTYPES)]
