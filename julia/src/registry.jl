# The op registry: one entry per op holds everything about it — Python name and signature, kind,
# dtype rule, kernel, derivative formulas, docs. Python builds its whole API from this table
# (python/jtensor/registry.py), so an op defined here, even live from a REPL, appears in Python.

"""
One registered op.

- `schema`: the Python signature, e.g. `"add(input: Tensor, other: Tensor, *, alpha: Scalar = 1) -> Tensor"`.
  Argument types: `Tensor`, `Scalar`, `int`, `float`, `bool`, `str`, `Dim` (one dimension),
  `Dims` (one, several or None), `Shape` (sizes, given in Python order), `IntList`, `DType`,
  `Optional[...]`; a default of `None` makes an argument optional.
- `kind`: `:map` ops give a scalar function that the engine applies elementwise (Python does the
  broadcasting, type promotion and allocation); `:fn` ops give a function of Julia arrays (in Julia
  dimension order) that returns new arrays or numbers.
- `dtypes`: the name of the dtype rule (see python/jtensor/dtypes.py `RULES`).
- `grad`: derivative formulas, one per differentiable input, written with registered ops (used by
  autograd; empty when the op is not differentiable).
- `batch`: the batching rule used by `jt.func.vmap`: `"elementwise"` (the default of map ops:
  operands broadcast, so a leading batch dimension just rides along), `"reduce"` (`Dim`/`Dims`
  parameters shift past the batch dimension; `None` means every non-batch dimension),
  `"matmul"`, `"linear"` (a shared weight: the batch rides along as a leading dim of the input),
  `"cross_entropy"` (per-example losses of (C,) logits in one call), or `""` (no rule: vmap loops
  over the batch and warns once). The rules themselves are in python/jtensor/func.py
  (`BATCH_RULES`), and `defop` refuses a name that is not there.
- `shortcuts`: for a map op of two tensor parameters, values of the second given as a Python
  number for which the call is a one-input op of the first, as `"2" => "square"` for `pow`:
  `x ** 2` runs `square(x)` (exact, as PyTorch's `x * x`, and one multiply instead of a general
  power). Python takes a shortcut only when the first is a floating-point tensor and there is no
  `out=`; the result, and autograd's record, are the named op's.
"""
mutable struct OpDef
    id::Int
    name::String
    schema::String
    returns::String
    kind::Symbol
    kernel::Any
    dtypes::String
    grad::Vector{Pair{String,String}}
    batch::String
    shortcuts::Vector{Pair{String,String}}
    namespace::String
    method::Bool
    inplace::Bool
    doc::String
    builtin::Bool      # defined by JTensor's own sources (not later, by a user or a test)
end

const REGISTRY = OpDef[]
"True while JTensor's own files are being loaded: ops defined then are the library's built-ins."
const LOADING_BUILTINS = Ref(true)
const BY_NAME = Dict{String,Int}()
"Bumped by every definition, so Python can tell when to re-read the table."
const REGISTRY_VERSION = Ref(0)

# ---- checks made when an op is defined ------------------------------------------------------------
# `defop` checks a definition completely before it touches the table, so a bad one raises an
# ArgumentError naming the op and leaves REGISTRY, BY_NAME and REGISTRY_VERSION as they were.
# Julia checks what it can know on its own (the schema, and that each derivative formula belongs
# to a real parameter); what only Python knows (the names of dtype and batching rules, whose code
# is Python's, and the formulas, which are Python expressions) is checked by Python's own tables
# through `DEFINITION_HOOK`, so each rule has a single source of truth.

"Parameter types a schema may use (`Optional[T]` of each as well); python/jtensor/wire.py encodes them."
const PARAM_TYPES = ("Tensor", "Scalar", "int", "float", "bool", "str", "Dim", "Dims", "Shape", "IntList",
                     "DType", "TensorList")
"Python's keywords: a schema's names become Python identifiers."
const PY_KEYWORDS = ("False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
                     "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
                     "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
                     "try", "while", "with", "yield")

"One parameter of a schema, as `_check_schema` reads it."
struct SchemaParam
    name::String
    type::String          # without `Optional[...]`
    optional::Bool
    default::Union{Nothing,String}
    kwonly::Bool
    vararg::Bool
end

_is_identifier(s::AbstractString) = occursin(r"^[A-Za-z_][A-Za-z0-9_]*$", s) && !(s in PY_KEYWORDS)

"Split `s` at the commas outside brackets and string literals."
function _split_top(s::AbstractString)
    parts = String[]
    depth, quote_char, start = 0, '\0', 1
    for (i, c) in pairs(s)
        if quote_char != '\0'
            c == quote_char && (quote_char = '\0')
        elseif c == '"' || c == '\''
            quote_char = c
        elseif c in "([{"
            depth += 1
        elseif c in ")]}"
            depth -= 1
        elseif c == ',' && depth == 0
            push!(parts, s[start:prevind(s, i)])
            start = nextind(s, i)
        end
    end
    push!(parts, s[start:end])
    parts
end

"""
    _check_schema(schema) -> (name, params::Vector{SchemaParam}, returns)

Read a schema `"name(params) -> Return"`, throwing an ArgumentError that names the op for
anything Python could not turn into a function signature: a parameter that is not
`name: Type [= default]`, `*`, `/` or `*name: Type`; an unknown type; a repeated name or a
Python keyword; a positional parameter without default after one with a default; an empty
default. (Python's own parser, run through `DEFINITION_HOOK`, then checks the defaults are
Python literals.)
"""
function _check_schema(schema::AbstractString)
    m = match(r"^\s*([^\s(]*)\s*\((.*)\)\s*->\s*(.+?)\s*$", schema)
    m === nothing && throw(ArgumentError("bad op schema \"$schema\": expected \"name(args) -> Return\""))
    name, inner, returns = String(m.captures[1]), String(m.captures[2]), String(m.captures[3])
    bad(why) = throw(ArgumentError("op \"$name\": bad schema \"$schema\": $why"))
    _is_identifier(name) || bad("the op name \"$name\" is not a Python identifier")
    params = SchemaParam[]
    kwonly, seen_default = false, false
    parts = strip.(_split_top(inner))
    parts == [""] && (parts = SubString{String}[])
    for (k, p) in enumerate(parts)
        isempty(p) && bad("empty parameter (two commas in a row?)")
        if p == "/"   # the parameters before it are positional-only, as in Python
            (k == 1 || kwonly || any(q -> q == "/", parts[1:k-1])) && bad("misplaced \"/\"")
            continue
        end
        if p == "*"
            kwonly && bad("more than one \"*\"")
            k == length(parts) && bad("\"*\" must be followed by keyword parameters")
            kwonly = true
            continue
        end
        vararg = startswith(p, "*")
        vararg && (kwonly && bad("\"$p\" after \"*\""); p = lstrip(p[2:end]))
        pm = match(r"^([^:=]*?)\s*(?::\s*([^=]*?)\s*)?(?:=\s*(.*))?$", p)
        pname, ptype, default = String(pm.captures[1]), pm.captures[2], pm.captures[3]
        _is_identifier(pname) || bad("parameter \"$p\" is not of the form \"name: Type\"" *
                                     (occursin(' ', pname) ? " (missing colon?)" : ""))
        any(q -> q.name == pname, params) && bad("parameter \"$pname\" appears twice")
        ptype === nothing && bad("parameter \"$pname\" has no type: write \"$pname: Type\"")
        t = String(ptype)
        optional = startswith(t, "Optional[") && endswith(t, "]")
        optional && (t = strip(t[10:end-1]))
        t in PARAM_TYPES || bad("parameter \"$pname\" has unknown type \"$ptype\" (known: $(join(PARAM_TYPES, ", ")), and Optional[...] of each)")
        if default !== nothing
            default = strip(default)
            isempty(default) && bad("parameter \"$pname\" has an empty default")
            vararg && bad("the variadic parameter \"*$pname\" cannot have a default")
        end
        if !kwonly && !vararg
            default === nothing && seen_default && bad("parameter \"$pname\" has no default but follows one that has")
            seen_default |= default !== nothing
        end
        push!(params, SchemaParam(pname, t, optional || default == "None",
                                  default === nothing ? nothing : String(default), kwonly, vararg))
        vararg && (kwonly = true)   # what follows *args is keyword-only, as in Python
    end
    _check_returns(returns) || bad("the return \"$returns\" is not a type name or a tuple \"(name: Type, ...)\"")
    name, params, returns
end

function _check_returns(r::AbstractString)
    _is_identifier(r) && return true
    r in ("None", "Self") && return true
    startswith(r, "(") && endswith(r, ")") || return false
    fields = strip.(_split_top(r[2:end-1]))
    all(f -> occursin(r"^([A-Za-z_][A-Za-z0-9_]*\s*:\s*)?[A-Za-z_][A-Za-z0-9_\[\]]*$", f), fields)
end

"Each derivative formula is keyed by a parameter of the schema, once, and is not empty."
function _check_grads(name::AbstractString, params, grads)
    pnames = [p.name for p in params]
    for (i, (k, f)) in enumerate(grads)
        k in pnames || throw(ArgumentError("op \"$name\": a derivative formula is given for \"$k\", which is not a " *
                                           "parameter (the parameters are: $(join(pnames, ", ")))"))
        any(j -> first(grads[j]) == k, 1:i-1) && throw(ArgumentError("op \"$name\": two derivative formulas for \"$k\""))
        isempty(strip(f)) && throw(ArgumentError("op \"$name\": the derivative formula for \"$k\" is empty"))
    end
end

"""
Python's checks, set by python/jtensor/julia.py (`registry.definition_hook`) when Python runs
this Julia: called by `defop` with the new entry as JSON (and the registry's op names, and the
type-stability warning if any); returns C_NULL to accept it or a NUL-terminated message to
refuse it. Python checks there, against its own tables, the dtype rule name (dtypes.py `RULES`),
the batching rule name (func.py `BATCH_RULES`), that every derivative formula parses and uses
only names that exist, and that it can build the op's Python function; it turns the warning
into a Python warning. C_NULL (plain Julia): those are not checked, and the warning is `@warn`ed.
"""
const DEFINITION_HOOK = Ref{Ptr{Cvoid}}(C_NULL)

function _run_hook(op::OpDef, key::AbstractString, warning)
    hook = DEFINITION_HOOK[]
    hook == C_NULL && return false
    io = IOBuffer()
    names = collect(keys(BY_NAME))
    key in names || push!(names, key)
    _json(io, Dict("entry" => _entry_dict(op), "ops" => names, "warning" => something(warning, "")))
    payload = String(take!(io))
    reply = GC.@preserve payload ccall(hook, Ptr{UInt8}, (Ptr{UInt8}, Int64), pointer(payload), sizeof(payload))
    reply == C_NULL || throw(ArgumentError(unsafe_string(reply)))
    true
end

"Julia types a map kernel receives for a schema parameter that is not a tensor (nothing: not checked)."
const _EXTRA_TYPES = Dict("float" => Float64, "int" => Int64, "bool" => Bool, "Scalar" => Float64)

"""
A warning when a map kernel's inferred result type is not concrete for Float32 or Float64
operands (so the engine would box every element, tens of times slower), else `nothing`.
Kernels that have no method for floats (integer-only ops) infer `Union{}` and are not flagged.
"""
function _stability_warning(name::AbstractString, kernel, params)
    any(p -> p.vararg || (p.type == "Tensor" && p.optional), params) && return nothing
    extra = Type[]
    for p in params
        p.type == "Tensor" && continue
        T = get(_EXTRA_TYPES, p.type, nothing)
        T === nothing && return nothing
        push!(extra, p.optional ? Union{T,Nothing} : T)
    end
    any(T -> !isconcretetype(T), extra) && return nothing
    ntensor = count(p -> p.type == "Tensor", params)
    for T in (Float32, Float64)
        R = try
            Core.Compiler.return_type(kernel, Tuple{ntuple(_ -> T, ntensor)..., extra...})
        catch
            return nothing
        end
        (R === Union{} || isconcretetype(R)) && continue
        return "op \"$name\": its kernel's inferred result type for $T arguments is $R, not a concrete " *
               "type, so every element is boxed (typically tens of times slower); make every branch " *
               "return the same type (e.g. `zero(x)`, not `0`)"
    end
    nothing
end

"""
    defop(schema, kernel; kind=:fn, dtypes="none", grad=[], namespace="", method=true,
          inplace=false, doc="")

Register (or redefine, keeping its id) the op described by `schema`. See [`OpDef`](@ref).
Returns the entry.

The definition is checked first (`_check_schema`, `_check_grads`, and Python's checks through
`DEFINITION_HOOK` when Python runs this Julia); a refused one throws an ArgumentError naming the
op and leaves the registry as it was. A map kernel whose inferred result type is not concrete for
Float32/Float64 operands is accepted with a warning (not checked for the library's own ops).
"""
function defop(schema::AbstractString, kernel; kind::Symbol = :fn, dtypes::AbstractString = "none",
               grad = Pair{String,String}[], namespace::AbstractString = "", method::Bool = true,
               inplace::Bool = false, doc::AbstractString = "",
               batch::AbstractString = kind === :map ? "elementwise" : "",
               shortcuts = Pair{String,String}[])
    # every check comes before the table changes: a refused definition leaves it as it was
    name, params, returns = _check_schema(schema)
    kind in (:map, :fn) || throw(ArgumentError("op \"$name\": kind must be :map or :fn, got :$kind"))
    isempty(namespace) || occursin(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", namespace) ||
        throw(ArgumentError("op \"$name\": namespace \"$namespace\" is not a dotted Python name"))
    key = isempty(namespace) ? name : string(namespace, ".", name)
    grads = Pair{String,String}[String(first(p)) => String(last(p)) for p in grad]
    _check_grads(name, params, grads)
    id = get(BY_NAME, key, length(REGISTRY) + 1)
    cuts = Pair{String,String}[String(first(p)) => String(last(p)) for p in shortcuts]
    op = OpDef(id, name, String(schema), returns, kind, kernel, String(dtypes), grads, String(batch), cuts,
               String(namespace), method, inplace, String(doc), LOADING_BUILTINS[])
    # the type-stability check runs type inference: skipped for the library's own ops at load
    warning = kind === :map && !LOADING_BUILTINS[] ? _stability_warning(key, kernel, params) : nothing
    _run_hook(op, key, warning) || warning === nothing || @warn warning
    if id > length(REGISTRY)
        push!(REGISTRY, op)
        BY_NAME[key] = id
    else
        REGISTRY[id] = op
    end
    REGISTRY_VERSION[] += 1
    op
end

"""
    defmap(schema, f; dtypes="same", kwargs...)

Register an elementwise op from a scalar function `f`; the engine gives it broadcasting, strides,
threads, in-place and `out=` forms.
"""
defmap(schema::AbstractString, f; dtypes::AbstractString = "same", inplace::Bool = true, kwargs...) =
    defop(schema, f; kind = :map, dtypes = dtypes, inplace = inplace, kwargs...)

"Look an op up by its (namespaced) Python name."
op(name::AbstractString) = REGISTRY[BY_NAME[name]]

"""
    call(name, args...)

Run a registered op from Julia on Julia arrays (Julia dimension order), as Python would. Map ops
broadcast and allocate their result in the type jtensor's rule gives (`result_dtype`: arrays
promote by `promote_dtype`, number arguments are weak scalars as Python's are), or in the kernel's
own result type where that changes the category (a predicate's Bool, `abs` of a complex).
"""
function call(name::AbstractString, args...)
    o = op(name)
    o.kind === :map || return run_kernel(o.kernel, o.name, args)
    # As Python does: `Tensor` parameters are the broadcast operands, the rest go to the kernel after them.
    types = _param_types(o.schema)
    istensor = [i <= length(types) && types[i] == "Tensor" for i in 1:length(args)]
    operands = Tuple(a for (a, t) in zip(args, istensor) if t)
    extra = Tuple(a for (a, t) in zip(args, istensor) if !t)
    T = result_dtype(Tuple(eltype(a) for a in operands if a isa AbstractArray),
                     Tuple(typeof(a) for a in operands if !(a isa AbstractArray)))
    R = Base.promote_op(o.kernel, map(a -> compute_type(a isa AbstractArray ? eltype(a) : typeof(a)), operands)...,
                        map(typeof, extra)...)
    To = !isconcretetype(R) ? T :
         R === Bool ? Bool :                                     # predicates, comparisons
         T <: Complex && R <: Real ? real(T) :                   # abs, real part
         dtype_category(T) >= 0 && dtype_category(R) > max(dtype_category(T), 1) ?
             promote_scalar(T, R) : T                            # exp of an int: the default float, as Python's rule
    apply(o.kernel, compute_type(T), To, operands...; extra = extra)
end

"The declared types of an op's parameters, in order (`Tensor`, `Scalar`, `float`, ...)."
function _param_types(schema::AbstractString)
    inner = match(r"\((.*)\)\s*->", schema).captures[1]
    types = String[]
    for part in split(inner, ',')
        p = strip(part)
        (isempty(p) || p == "*") && continue
        m = match(r":\s*([A-Za-z_]+)", p)
        push!(types, m === nothing ? "Any" : String(m.captures[1]))
    end
    types
end

# ---- JSON, for handing the table to Python (no package for it on Julia 1.5 offline) ----------
_json(io::IO, s::AbstractString) = (print(io, '"'); for c in s
        if c == '"' || c == '\\'
            print(io, '\\', c)
        elseif c == '\n'
            print(io, "\\n")
        elseif c == '\t'
            print(io, "\\t")
        elseif c < ' '
            print(io, "\\u", string(UInt16(c), base = 16, pad = 4))
        else
            print(io, c)
        end
    end; print(io, '"'))
_json(io::IO, x::Union{Integer,Bool}) = print(io, x)
_json(io::IO, ::Nothing) = print(io, "null")
_json(io::IO, x::Symbol) = _json(io, string(x))
function _json(io::IO, v::Union{AbstractVector,Tuple})
    print(io, '[')
    for (i, x) in enumerate(v)
        i > 1 && print(io, ',')
        _json(io, x)
    end
    print(io, ']')
end
function _json(io::IO, d::AbstractDict)
    print(io, '{')
    for (i, (k, v)) in enumerate(d)
        i > 1 && print(io, ',')
        _json(io, string(k)); print(io, ':'); _json(io, v)
    end
    print(io, '}')
end

"One entry as a Dict for JSON (kernel excluded)."
_entry_dict(o::OpDef) =
    Dict("id" => o.id, "name" => o.name, "schema" => o.schema, "kind" => o.kind, "dtypes" => o.dtypes,
         "grad" => [[first(p), last(p)] for p in o.grad], "batch" => o.batch,
         "shortcuts" => [[first(p), last(p)] for p in o.shortcuts], "namespace" => o.namespace,
         "method" => o.method, "builtin" => o.builtin, "inplace" => o.inplace, "doc" => o.doc)

"The registry as JSON: dtype table (user dtypes with their item sizes), promotion rule (`promotion_tables`) and one object per op (kernels excluded)."
function registry_json()
    ops = [_entry_dict(o) for o in REGISTRY]
    io = IOBuffer()
    _json(io, Dict("version" => REGISTRY_VERSION[], "dtypes" => all_dtype_names(),
                   "user_dtypes" => user_dtypes_json(), "promotion" => promotion_tables(), "ops" => ops))
    String(take!(io))
end
