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
  over the batch and warns once). The rules themselves are in python/jtensor/func.py.
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

function _parse_schema(schema::AbstractString)
    m = match(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\((.*)\)\s*->\s*(.+?)\s*$", schema)
    m === nothing && throw(ArgumentError("bad op schema \"$schema\": expected \"name(args) -> Return\""))
    String(m.captures[1]), String(m.captures[3])
end

"""
    defop(schema, kernel; kind=:fn, dtypes="none", grad=[], namespace="", method=true,
          inplace=false, doc="")

Register (or redefine, keeping its id) the op described by `schema`. See [`OpDef`](@ref).
Returns the entry.
"""
function defop(schema::AbstractString, kernel; kind::Symbol = :fn, dtypes::AbstractString = "none",
               grad = Pair{String,String}[], namespace::AbstractString = "", method::Bool = true,
               inplace::Bool = false, doc::AbstractString = "",
               batch::AbstractString = kind === :map ? "elementwise" : "")
    kind in (:map, :fn) || throw(ArgumentError("op kind must be :map or :fn, got :$kind"))
    name, returns = _parse_schema(schema)
    key = isempty(namespace) ? name : string(namespace, ".", name)
    grads = Pair{String,String}[String(first(p)) => String(last(p)) for p in grad]
    id = get(BY_NAME, key, length(REGISTRY) + 1)
    op = OpDef(id, name, String(schema), returns, kind, kernel, String(dtypes), grads, String(batch),
               String(namespace), method, inplace, String(doc), LOADING_BUILTINS[])
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
broadcast and allocate their result in the promoted type of their array arguments.
"""
function call(name::AbstractString, args...)
    o = op(name)
    o.kind === :map || return o.kernel(args...)
    # As Python does: `Tensor` parameters are the broadcast operands, the rest go to the kernel after them.
    types = _param_types(o.schema)
    istensor = [i <= length(types) && types[i] == "Tensor" for i in 1:length(args)]
    operands = Tuple(a for (a, t) in zip(args, istensor) if t)
    extra = Tuple(a for (a, t) in zip(args, istensor) if !t)
    arrays = [a for a in operands if a isa AbstractArray]
    T = promote_type(map(a -> a isa AbstractArray ? eltype(a) : typeof(a), isempty(arrays) ? collect(operands) : arrays)...)
    R = Base.promote_op(o.kernel, map(a -> compute_type(a isa AbstractArray ? eltype(a) : typeof(a)), operands)...,
                        map(typeof, extra)...)
    # The kernel's own result type only when it changes the kind (a predicate's Bool, exp of an Int,
    # abs of a complex); otherwise the arrays' promoted type, as Python's rules give.
    kind_changes = isconcretetype(R) && (R === Bool || (T <: Integer && !(R <: Integer)) || (T <: Complex && R <: Real))
    apply(o.kernel, compute_type(T), kind_changes ? R : T, operands...; extra = extra)
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

"The registry as JSON: dtype table and one object per op (kernels excluded)."
function registry_json()
    ops = [Dict("id" => o.id, "name" => o.name, "schema" => o.schema, "kind" => o.kind,
                "dtypes" => o.dtypes, "grad" => [[first(p), last(p)] for p in o.grad], "batch" => o.batch,
                "namespace" => o.namespace, "method" => o.method, "builtin" => o.builtin, "inplace" => o.inplace,
                "doc" => o.doc) for o in REGISTRY]
    io = IOBuffer()
    _json(io, Dict("version" => REGISTRY_VERSION[], "dtypes" => collect(DTYPE_NAMES), "ops" => ops))
    String(take!(io))
end
