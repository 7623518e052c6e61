# Transpile a typed Julia scalar function to C (CUDA C++ and host C++ alike).
#
# A map op's kernel is an ordinary Julia function of scalars. `code_typed(f, types; optimize=true)`
# gives its SSA form with every call inlined down to `Core.Intrinsics` (add_float, bitcast, ...),
# a few builtins (ifelse, tuple, getfield, throw) and `invoke`s of functions that were not inlined.
# Each statement becomes one C assignment; control flow (`gotoifnot`, `GotoNode`, `PhiNode`)
# becomes labels and `goto`s. Every SSA variable is declared at the top of the function, because
# C++ forbids a `goto` over an initialisation. `invoke`s are transpiled recursively into their
# own device functions, except math functions of Base (whose Julia implementations read global
# tables), which call the C math library of the same name (`expf` for Float32). A `throw` sets the
# module's error word (`jt_raise`) and the function returns a zero: a GPU cannot unwind, and a
# trap would poison the whole CUDA context that PyTorch shares.
#
# The result is one source of truth: the C of `exp` is the Julia `fexp` the CPU runs.

"Raised when a function uses something the transpiler cannot express in C."
struct TranspileError <: Exception
    msg::String
end
Base.showerror(io::IO, e::TranspileError) = print(io, "cannot transpile to C: ", e.msg)

"C names of the element types kernels compute in."
const C_TYPES = Dict{Type,String}(
    Bool => "bool", Int8 => "signed char", Int16 => "short", Int32 => "int", Int64 => "long long",
    UInt8 => "unsigned char", UInt16 => "unsigned short", UInt32 => "unsigned int",
    UInt64 => "unsigned long long", Int128 => "__int128", UInt128 => "unsigned __int128",
    Float32 => "float", Float64 => "double")

ctype(T) = haskey(C_TYPES, T) ? C_TYPES[T] : _istuple(T) ? _tuplename(T) :
    throw(TranspileError("type $T has no C equivalent"))
"Whether values of T live in C variables: the element types, and tuples of them (as structs)."
_hasc(T) = haskey(C_TYPES, T) || _istuple(T)
_istuple(T) = T isa DataType && T <: Tuple && isconcretetype(T) && !isempty(T.parameters) && all(_hasc, T.parameters)
_tuplename(T) = "jt_tup_" * join((_cname(ctype(F)) for F in T.parameters), "_")
"The C struct of a tuple type (fields f1, f2, ...)."
_tuplestruct(T) = "struct $(_tuplename(T)) { " * join(("$(ctype(F)) f$k;" for (k, F) in enumerate(T.parameters)), " ") * " };\n"
"Unsigned / signed C type of the same width as T (for unsigned compares, logical shifts, extensions)."
cuns(T) = ctype(T === Bool ? UInt8 : T <: Signed ? unsigned(T) : T <: Unsigned ? T : _intof(T))
csig(T) = ctype(T === Bool ? Int8 : T <: Unsigned ? signed(T) : T <: Signed ? T : signed(_intof(T)))
_intof(::Type{Float32}) = UInt32
_intof(::Type{Float64}) = UInt64
_intof(T) = throw(TranspileError("no integer type of the width of $T"))

"Types whose values occupy no C variable (constant-folded away)."
_isghost(T) = T === Nothing || T === Union{} || (T isa DataType && isdefined(T, :instance) && sizeof(T) == 0 && !(T <: Number))

"A C literal of a Julia number, exact (floats as hexadecimal literals)."
function cliteral(x)
    x isa Bool && return x ? "true" : "false"
    if x isa AbstractFloat
        isnan(x) && return x isa Float32 ? "jt_nanf()" : "jt_nan()"
        isinf(x) && return string(x < 0 ? "-" : "", x isa Float32 ? "jt_inff()" : "jt_inf()")
        s = _hexfloat(Float64(x))
        return x isa Float32 ? "$(s)f" : s
    end
    x isa Int64 && return x == typemin(Int64) ? "(-9223372036854775807LL - 1)" : "$(x)LL"
    x isa UInt64 && return "$(x)ULL"
    x isa Int128 && return "((__int128)$(cliteral(Int64(x))))"
    x isa Union{Int8,Int16,Int32} && return x == typemin(Int32) ? "((int)(-2147483647 - 1))" : "(($(ctype(typeof(x))))$(x))"
    x isa Unsigned && return "(($(ctype(typeof(x))))$(UInt64(x))u)"
    throw(TranspileError("literal $(repr(x)) of type $(typeof(x))"))
end

"Exact hexadecimal C literal of a finite Float64 (C++17 hexfloat)."
function _hexfloat(x::Float64)
    x == 0 && return signbit(x) ? "-0.0" : "0.0"
    neg = signbit(x)
    x = abs(x)
    e = exponent(x)
    m = significand(x)            # in [1, 2)
    bits = reinterpret(UInt64, m) & 0x000fffffffffffff
    if e < -1022                  # subnormal: m * 2^e stays exact as 0x0.xxxp-1022 form
        bits = reinterpret(UInt64, x) & 0x000fffffffffffff
        return string(neg ? "-" : "", "0x0.", string(bits, base = 16, pad = 13), "p-1022")
    end
    string(neg ? "-" : "", "0x1.", string(bits, base = 16, pad = 13), "p", e)
end

"Math functions of Base that are C library functions of the same name (Float32: name * \"f\")."
const LIBM_NAMES = Set([:exp, :exp2, :expm1, :log, :log2, :log10, :log1p, :sin, :cos, :tan, :asin,
                        :acos, :atan, :sinh, :cosh, :tanh, :asinh, :acosh, :atanh, :sqrt, :cbrt,
                        :hypot, :pow, :fmod, :copysign, :nextafter, :erf, :erfc, :tgamma, :lgamma,
                        :floor, :ceil, :trunc, :rint, :round, :fmin, :fmax, :ldexp, :frexp])
"Julia names of Base functions whose C library function has another name."
const LIBM_RENAMED = Dict{Symbol,Symbol}(Symbol("^") => :pow, :rem => :fmod, :gamma => :tgamma)

"One transpiled function: its C name, result type and source."
struct CFunction
    name::String
    rettype::Type
    source::String
end

"""
    CProgram()

The device functions of one CUDA module: each transpiled function once (callees before callers),
keyed by method instance, and a counter for unique names.
"""
mutable struct CProgram
    funcs::Vector{CFunction}
    by_key::Dict{Any,CFunction}
    tuples::Vector{Type}        # tuple types used, inner ones first (their C structs)
    tables::IdDict{Any,String}  # constant global arrays read by kernels (Base's trig tables) => C name
    tablesrc::IOBuffer
end
CProgram() = CProgram(CFunction[], Dict{Any,CFunction}(), Type[], IdDict{Any,String}(), IOBuffer())

"The C name of a constant global array, emitted once as a table in the module."
function _table!(prog::CProgram, arr::Array)
    get!(prog.tables, arr) do
        name = "jt_table_$(length(prog.tables) + 1)"
        println(prog.tablesrc, "JT_TABLE $(ctype(eltype(arr))) $name[$(length(arr))] = {",
                join(map(cliteral, vec(arr)), ", "), "};")
        name
    end
end

"Record that tuple type T (and the tuples inside it) needs a C struct."
function _need_tuple!(prog::CProgram, T)
    _istuple(T) || return
    T in prog.tuples && return
    foreach(F -> _need_tuple!(prog, F), T.parameters)
    push!(prog.tuples, T)
end

_cname(s) = replace(replace(string(s), r"[^A-Za-z0-9_]" => "_"), r"_+" => "_")

"""
    transpile!(prog, f, argtypes; name) -> CFunction

Transpile `f` for argument types `argtypes` (a tuple of types) into `prog`, with its callees, as
a `__device__` function; return it (an earlier translation of the same method instance is reused).
"""
function transpile!(prog::CProgram, @nospecialize(f), argtypes::Tuple; name = nothing)
    key = (f, argtypes)
    haskey(prog.by_key, key) && return prog.by_key[key]
    cis = code_typed(f, argtypes; optimize = true)
    length(cis) == 1 || throw(TranspileError("$(f) has $(length(cis)) methods for $argtypes"))
    ci, R = cis[1]
    fname = name === nothing ? "jt_" * _cname(nameof(f)) * "_" * string(length(prog.funcs) + 1) : name
    src = _emit_function(prog, ci, R, fname, argtypes)
    cf = CFunction(fname, R, src)
    push!(prog.funcs, cf)
    prog.by_key[key] = cf
    cf
end

"The C source of all device functions of `prog`, callees first."
program_source(prog::CProgram) =
    join(map(_tuplestruct, prog.tuples)) * String(copy(prog.tablesrc.data[1:prog.tablesrc.size])) *
    join((c.source for c in prog.funcs), "\n")

mutable struct _Emitter
    prog::CProgram
    ci::Core.CodeInfo
    argtypes::Tuple
    R::Type
    body::IOBuffer
    leaders::Set{Int}
    phis::Dict{Int,Vector{Int}}     # block leader -> phi statements there
end

function _emit_function(prog, ci::Core.CodeInfo, R, fname, argtypes)
    R === Union{} && throw(TranspileError("$fname always throws for $argtypes"))
    code = ci.code
    n = length(code)
    leaders = Set{Int}(1)
    for (i, st) in enumerate(code)
        if st isa Core.GotoNode
            push!(leaders, st.label); i < n && push!(leaders, i + 1)
        elseif st isa Expr && st.head === :gotoifnot
            push!(leaders, st.args[2]); i < n && push!(leaders, i + 1)
        elseif st isa Expr && st.head === :return
            i < n && push!(leaders, i + 1)
        end
    end
    phis = Dict{Int,Vector{Int}}()
    for i in 1:n
        code[i] isa Core.PhiNode || continue
        b = maximum(l for l in leaders if l <= i)
        push!(get!(phis, b, Int[]), i)
    end
    em = _Emitter(prog, ci, argtypes, R, IOBuffer(), leaders, phis)
    params = String[]
    foreach(T -> _need_tuple!(prog, T), (argtypes..., R))
    for (k, T) in enumerate(argtypes)
        _isghost(T) && continue
        push!(params, "$(ctype(T)) a$(k + 1)")
    end
    decls = IOBuffer()
    for i in 1:n
        T = _ssatype(ci, i)
        (T === Nothing || _isghost(T) || !_hasc(T)) && continue
        _need_tuple!(prog, T)
        println(decls, "  ", ctype(T), " v", i, ";")
    end
    for i in 1:n
        i in leaders && i > 1 && println(em.body, " L", i, ":;")
        _emit_stmt(em, i, code[i])
    end
    rt = R === Nothing ? "void" : ctype(R)
    "JT_DEVFN $rt $fname($(join(params, ", "))) {\n" * String(take!(decls)) *
        String(take!(em.body)) * (R === Nothing ? "" : "  return $(_zero(R));\n") * "}\n"
end

function _ssatype(ci, i)
    T = ci.ssavaluetypes[i]
    T isa Core.Compiler.Const && return typeof(T.val)
    T isa Core.Compiler.PartialStruct && return T.typ
    T
end

"The Julia type of an IR value."
function _typeof(em::_Emitter, x)
    x isa Core.SSAValue && return _ssatype(em.ci, x.id)
    x isa Core.SlotNumber && return x.id == 1 ? Nothing : em.argtypes[x.id-1]
    x isa Core.Compiler.Argument && return x.n == 1 ? Nothing : em.argtypes[x.n-1]
    x isa QuoteNode && return typeof(x.value)
    x isa GlobalRef && return typeof(getfield(x.mod, x.name))
    typeof(x)
end

"The constant value of an IR value as `Some(value)`, or `nothing` when it is not a constant."
function _const(em, x)
    x isa QuoteNode && return Some(x.value)
    x isa GlobalRef && return isconst(x.mod, x.name) ? Some(getfield(x.mod, x.name)) : nothing
    if x isa Core.SSAValue
        st = em.ci.code[x.id]
        (st isa GlobalRef || st isa QuoteNode) && return _const(em, st)
        t = em.ci.ssavaluetypes[x.id]
        return t isa Core.Compiler.Const ? Some(t.val) : nothing
    end
    (x isa Core.SlotNumber || x isa Core.Compiler.Argument || x isa Expr) && return nothing
    Some(x)
end

"The C expression of an IR value."
function _val(em::_Emitter, x)
    if x isa Core.SSAValue
        T = _ssatype(em.ci, x.id)
        t = em.ci.ssavaluetypes[x.id]
        t isa Core.Compiler.Const && t.val isa Union{Number} && return cliteral(t.val)
        _hasc(T) || throw(TranspileError("value %$(x.id) of type $T used in C"))
        return "v$(x.id)"
    end
    x isa Core.SlotNumber && return "a$(x.id)"
    x isa Core.Compiler.Argument && return "a$(x.n)"
    x isa QuoteNode && return cliteral(x.value)
    x isa GlobalRef && return cliteral(getfield(x.mod, x.name))
    x isa Number && return cliteral(x)
    throw(TranspileError("value $(repr(x))"))
end

function _emit_stmt(em::_Emitter, i::Int, st)
    io = em.body
    if st isa Core.GotoNode
        _phi_moves(em, i, st.label)
        println(io, "  goto L", st.label, ";")
    elseif st isa Expr && st.head === :gotoifnot
        println(io, "  if (!(", _val(em, st.args[1]), ")) {")
        _phi_moves(em, i, st.args[2])
        println(io, "  goto L", st.args[2], "; }")
        _fallthrough(em, i)
    elseif st isa Expr && st.head === :return
        v = st.args[1]
        T = _typeof(em, v)
        if T === Union{} || (em.R !== Nothing && T === Nothing)
            println(io, "  return ", _zero(em.R), ";")
        else
            println(io, em.R === Nothing ? "  return;" : "  return " * _convert_to(em.R, T, _val(em, v)) * ";")
        end
    elseif st isa Core.PhiNode
        # assigned on the incoming edges (`_phi_moves`)
        _fallthrough(em, i)
    elseif st isa Core.PiNode
        _assign(em, i, _val(em, st.val))
        _fallthrough(em, i)
    elseif st isa Expr && st.head === :call
        _emit_call(em, i, st)
        _fallthrough(em, i)
    elseif st isa Expr && st.head === :invoke
        _emit_invoke(em, i, st)
        _fallthrough(em, i)
    elseif st isa Expr && st.head === :foreigncall
        _emit_foreigncall(em, i, st)
        _fallthrough(em, i)
    elseif st isa Expr && st.head === :unreachable
        println(io, "  return ", _zero(em.R), ";")
    elseif st isa Expr && st.head in (:meta, :inbounds, :loopinfo, :code_coverage_effect, :gc_preserve_end)
        _fallthrough(em, i)
    elseif st === nothing || st isa Number || st isa QuoteNode || st isa GlobalRef || st isa Core.SSAValue
        T = _ssatype(em.ci, i)
        _hasc(T) && st !== nothing && _assign(em, i, _val(em, st))
        _fallthrough(em, i)
    elseif st isa Expr && st.head === :new
        _isghost(_ssatype(em.ci, i)) || _is_exception_value(em, i) ||
            throw(TranspileError("object construction $(st)"))
        _fallthrough(em, i)
    else
        throw(TranspileError("statement $(st)"))
    end
end

_zero(R) = R === Nothing ? "" : R === Bool ? "false" : _istuple(R) ? "$(ctype(R)){}" : "(($(ctype(R)))0)"

"Values that only feed a `throw` (exception objects, messages) need no C."
_is_exception_value(em, i) = !_hasc(_ssatype(em.ci, i))

function _assign(em, i, expr)
    T = _ssatype(em.ci, i)
    _hasc(T) || return
    println(em.body, "  v", i, " = ", expr, ";")
end

"Phi assignments on the edge from statement `from` into the block starting at `to`."
function _phi_moves(em::_Emitter, from::Int, to::Int)
    ps = get(em.phis, to, nothing)
    ps === nothing && return
    moves = Tuple{Int,String}[]
    for p in ps
        phi = em.ci.code[p]::Core.PhiNode
        k = findfirst(==(from), phi.edges)
        k === nothing && continue
        isassigned(phi.values, k) || continue
        T = _ssatype(em.ci, p)
        _hasc(T) || continue
        v = phi.values[k]
        push!(moves, (p, _convert_to(T, _typeof(em, v), _val(em, v))))
    end
    isempty(moves) && return
    # parallel copy: read every incoming value before writing any phi
    println(em.body, "  {", join(("$(ctype(_ssatype(em.ci, p))) t$p = $e;" for (p, e) in moves), " "),
            " ", join(("v$p = t$p;" for (p, _) in moves), " "), "}")
end

"Phi moves when statement `i` falls through into a new block."
function _fallthrough(em::_Emitter, i::Int)
    (i + 1) in em.leaders && _phi_moves(em, i, i + 1)
end

_convert_to(T, S, e) = T === S || S === Union{} ? e : "(($(ctype(T)))($e))"

# ---- calls of intrinsics and builtins ---------------------------------------------------------------

_fname(em, f) = (c = _const(em, f); c === nothing ? throw(TranspileError("call of a non-constant function $f")) : something(c))

"C for the intrinsic `name` applied to typed operands (values `a`, types `ts`), result type R."
function _intrinsic(name::Symbol, a::Vector{String}, ts::Vector, R, em)
    bin(op) = "($(a[1]) $op $(a[2]))"
    T1 = isempty(ts) ? Nothing : ts[1]
    isf = T1 === Float32
    # integer arithmetic wraps, as Julia's: computed unsigned (signed overflow is undefined in C)
    wrap(op) = "(($(ctype(R)))(($(cuns(R)))$(a[1]) $op ($(cuns(R)))$(a[2])))"
    name === :add_int && return R === Bool ? "((bool)($(a[1]) ^ $(a[2])))" : wrap("+")
    name === :sub_int && return R === Bool ? "((bool)($(a[1]) ^ $(a[2])))" : wrap("-")
    name === :mul_int && return R === Bool ? bin("&") : wrap("*")
    name in (:add_float, :add_float_fast) && return bin("+")
    name in (:sub_float, :sub_float_fast) && return bin("-")
    name in (:mul_float, :mul_float_fast) && return bin("*")
    name in (:div_float, :div_float_fast) && return bin("/")
    name === :rem_float && return (isf ? "fmodf" : "fmod") * "($(a[1]), $(a[2]))"
    name === :neg_int && return R === Bool ? a[1] : "(($(ctype(R)))(0ull - (unsigned long long)($(a[1]))))"
    name in (:neg_float, :neg_float_fast) && return "(-$(a[1]))"
    name in (:sdiv_int, :checked_sdiv_int) && return "jt_sdiv<$(ctype(R))>($(a[1]), $(a[2]))"
    name in (:srem_int, :checked_srem_int) && return "jt_srem<$(ctype(R))>($(a[1]), $(a[2]))"
    name in (:udiv_int, :checked_udiv_int) && return "(($(ctype(R)))jt_udiv(($(cuns(R)))$(a[1]), ($(cuns(R)))$(a[2])))"
    name in (:urem_int, :checked_urem_int) && return "(($(ctype(R)))jt_urem(($(cuns(R)))$(a[1]), ($(cuns(R)))$(a[2])))"
    name in (:fma_float, :muladd_float) && return (isf ? "fmaf" : "fma") * "($(a[1]), $(a[2]), $(a[3]))"
    name in (:eq_float, :eq_int, :eq_float_fast, :fpiseq) && return name === :fpiseq ?
        "jt_fpiseq($(a[1]), $(a[2]))" : bin("==")
    name in (:ne_float, :ne_int, :ne_float_fast) && return bin("!=")
    name in (:lt_float, :slt_int, :lt_float_fast) && return bin("<")
    name in (:le_float, :sle_int, :le_float_fast) && return bin("<=")
    name === :fpislt && return "jt_fpislt($(a[1]), $(a[2]))"
    name === :ult_int && return "(($(cuns(T1)))$(a[1]) < ($(cuns(T1)))$(a[2]))"
    name === :ule_int && return "(($(cuns(T1)))$(a[1]) <= ($(cuns(T1)))$(a[2]))"
    name === :and_int && return "(($(ctype(R)))$(bin("&")))"
    name === :or_int && return "(($(ctype(R)))$(bin("|")))"
    name === :xor_int && return "(($(ctype(R)))$(bin("^")))"
    name === :not_int && return R === Bool ? "(!$(a[1]))" : "(($(ctype(R)))~$(a[1]))"
    name === :shl_int && return "jt_shl<$(ctype(R))>($(a[1]), (unsigned long long)($(cuns(ts[2])))$(a[2]))"
    name === :lshr_int && return "(($(ctype(R)))jt_lshr<$(cuns(R))>(($(cuns(R)))$(a[1]), (unsigned long long)($(cuns(ts[2])))$(a[2])))"
    name === :ashr_int && return "jt_ashr<$(ctype(R))>($(a[1]), (unsigned long long)($(cuns(ts[2])))$(a[2]))"
    name === :sqrt_llvm && return (isf ? "sqrtf" : "sqrt") * "($(a[1]))"
    name === :abs_float && return (isf ? "fabsf" : "fabs") * "($(a[1]))"
    name === :copysign_float && return (isf ? "copysignf" : "copysign") * "($(a[1]), $(a[2]))"
    name === :floor_llvm && return (isf ? "floorf" : "floor") * "($(a[1]))"
    name === :ceil_llvm && return (isf ? "ceilf" : "ceil") * "($(a[1]))"
    name === :trunc_llvm && return (isf ? "truncf" : "trunc") * "($(a[1]))"
    name === :rint_llvm && return (isf ? "rintf" : "rint") * "($(a[1]))"
    name === :flipsign_int && return "(($(ctype(R)))(($(a[2])) < 0 ? -$(a[1]) : $(a[1])))"
    name === :ctpop_int && return "(($(ctype(R)))jt_popc(($(cuns(T1)))$(a[1])))"
    name === :ctlz_int && return "(($(ctype(R)))jt_clz<$(cuns(T1))>(($(cuns(T1)))$(a[1])))"
    name === :cttz_int && return "(($(ctype(R)))jt_ctz<$(cuns(T1))>(($(cuns(T1)))$(a[1])))"
    throw(TranspileError("intrinsic $name"))
end

"C for a conversion intrinsic (first argument is the target type)."
function _conversion(name::Symbol, R, x::String, S)
    name === :bitcast && return R === S ? x : "jt_bitcast<$(ctype(R)), $(ctype(S))>($x)"
    if name in (:sext_int, :sitofp)
        return "(($(ctype(R)))($(csig(S)))$x)"
    elseif name in (:zext_int, :uitofp)
        return "(($(ctype(R)))($(cuns(S)))$x)"
    elseif name === :trunc_int
        return R === Bool ? "((bool)(($x) & 1))" : "(($(ctype(R)))$x)"
    elseif name in (:fptosi, :fptoui, :fptrunc, :fpext)
        return "(($(ctype(R)))$x)"
    end
    nothing
end

function _emit_call(em::_Emitter, i::Int, st::Expr)
    f = _fname(em, st.args[1])
    args = st.args[2:end]
    R = _ssatype(em.ci, i)
    if f === Core.throw || f === Base.throw
        println(em.body, "  jt_raise();")
        return
    end
    if f isa Core.IntrinsicFunction
        name = Symbol(f)
        if name in (:bitcast, :sext_int, :zext_int, :trunc_int, :fptosi, :fptoui, :sitofp, :uitofp, :fptrunc, :fpext)
            S = _typeof(em, args[2])
            return _assign(em, i, _conversion(name, R, _val(em, args[2]), S))
        end
        _assign(em, i, _intrinsic(name, [_val(em, a) for a in args], Any[_typeof(em, a) for a in args], R, em))
    elseif f === Core.ifelse
        _assign(em, i, "(($(_val(em, args[1]))) ? $(_convert_to(R, _typeof(em, args[2]), _val(em, args[2]))) : " *
                       "$(_convert_to(R, _typeof(em, args[3]), _val(em, args[3]))))")
    elseif f === (===)
        _assign(em, i, "($(_val(em, args[1])) == $(_val(em, args[2])))")
    elseif f === Core.typeassert || f === Core.isa
        f === Core.typeassert ? _assign(em, i, _val(em, args[1])) :
            throw(TranspileError("isa in a kernel"))
    elseif f === Core.tuple
        _assign(em, i, "$(ctype(R)){" * join((_val(em, a) for a in args), ", ") * "}")
    elseif f === Core.getfield && _istuple(_typeof(em, args[1]))
        k = _const(em, args[2])
        k !== nothing && something(k) isa Int || throw(TranspileError("getfield with a non-constant index"))
        _assign(em, i, "($(_val(em, args[1]))).f$(something(k))")
    elseif f === Core.arrayref
        arr = _const(em, args[2])
        arr !== nothing && something(arr) isa Array && haskey(C_TYPES, eltype(something(arr))) ||
            throw(TranspileError("arrayref of an array that is not a constant global"))
        _assign(em, i, "$(_table!(em.prog, something(arr)))[($(_val(em, args[3]))) - 1]")
    elseif f === Core.sizeof
        _assign(em, i, cliteral(sizeof(_typeof(em, args[1]))))
    elseif _is_exception_value(em, i)
        # building an exception's message (string, tuple of Any): no C needed
    else
        throw(TranspileError("call of $f"))
    end
end

function _emit_invoke(em::_Emitter, i::Int, st::Expr)
    mi = st.args[1]::Core.MethodInstance
    R = _ssatype(em.ci, i)
    fname = mi.def.name
    argsv = st.args[3:end]
    ts = Any[_typeof(em, a) for a in argsv]
    if R === Union{} || startswith(string(fname), "throw")
        println(em.body, "  jt_raise();")
        return
    end
    _is_exception_value(em, i) && return
    lib = fname in LIBM_NAMES ? fname : get(LIBM_RENAMED, fname, fname)
    if mi.def.module in (Base.Math, Base) && lib in LIBM_NAMES && !isempty(ts) &&
       all(T -> T === Float32 || T === Float64, ts)
        suffix = ts[1] === Float32 ? "f" : ""
        return _assign(em, i, "$(lib)$(suffix)($(join((_val(em, a) for a in argsv), ", ")))")
    end
    fval = _fname(em, st.args[2])
    cf = transpile!(em.prog, fval, Tuple(ts))
    call = "$(cf.name)($(join((_val(em, a) for (a, T) in zip(argsv, ts) if !_isghost(T)), ", ")))"
    R === Nothing ? println(em.body, "  ", call, ";") : _assign(em, i, call)
end

function _emit_foreigncall(em::_Emitter, i::Int, st::Expr)
    target = st.args[1]
    name = target isa Tuple ? target[1] : target isa QuoteNode ? target.value : target
    name isa Tuple && (name = name[1])
    name isa QuoteNode && (name = name.value)
    name isa String && (name = Symbol(name))
    name isa Symbol || throw(TranspileError("foreign call $(st.args[1])"))
    m = match(r"^llvm\.(\w+)\.f(32|64)$", string(name))   # LLVM's own math intrinsics (llvm.pow.f64)
    m === nothing || (name = Symbol(m.captures[1] * (m.captures[2] == "32" ? "f" : "")))
    base = Symbol(replace(string(name), r"f$" => ""))
    (name in LIBM_NAMES || base in LIBM_NAMES) || throw(TranspileError("foreign call of $name"))
    nargs = length(st.args[3])
    vals = [_val(em, st.args[5+k]) for k in 1:nargs]
    _assign(em, i, "$(name)($(join(vals, ", ")))")
end
