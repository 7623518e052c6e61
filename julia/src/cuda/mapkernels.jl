# CUDA kernels of the registry's map ops, generated from their scalar kernels.
#
# For each map op and each compute type its dtype rule allows, the scalar kernel is transpiled
# (transpile.jl) and wrapped in two `__global__` entry points:
#   - `<name>_c`: contiguous operands, a grid-stride loop whose body loads and stores W elements
#     at a time (16-byte vector accesses) when every pointer is 16-byte aligned;
#   - `<name>_s`: any shape and strides (broadcast dimensions have stride 0), the offsets from a
#     `JtIndexer` struct passed by value.
# Inputs arrive in the compute type and the output is stored in the kernel's result type; other
# combinations are generated on demand at run time (NVRTC compiles in milliseconds).

"""
Compute types (the `compute` dtype Python's rule returns, python/jtensor/dtypes.py `RULES`) of
each dtype rule, among the types the GPU kernels cover. tests/test_cuda_codegen.py checks this
table against Python's rules.
"""
const CUDA_COMPUTE_TYPES = (Bool, Int32, Int64, Float32, Float64)
function rule_compute_types(rule::AbstractString)
    rule in ("float", "promote_float", "float_real") && return (Float32, Float64)
    rule == "bitwise" && return (Bool, Int32, Int64)
    rule in ("negate", "subtract") && return (Int32, Int64, Float32, Float64)
    CUDA_COMPUTE_TYPES
end

"Short suffix of a type in kernel names."
const TYPE_SUFFIX = Dict{Type,String}(Bool => "b8", Int8 => "i8", Int16 => "i16", Int32 => "i32",
                                      Int64 => "i64", UInt8 => "u8", Float32 => "f32", Float64 => "f64",
                                      Nothing => "none")

"The Julia type a map kernel receives for a non-tensor parameter, when computing in Tc."
function extra_type(ptype::AbstractString, ::Type{Tc}) where {Tc}
    ptype == "float" && return Float64
    ptype == "int" && return Int64
    ptype == "bool" && return Bool
    ptype == "Scalar" && return Tc <: AbstractFloat ? Float64 : Tc === Bool ? Bool : Int64
    nothing
end

"One generated map kernel: op, compute type, argument types of the scalar kernel, result type."
struct MapVariant
    op::String
    name::String          # the C name stem of its two entry points
    Tc::Type
    argtypes::Tuple       # nin tensors in Tc (or Nothing for an absent optional tensor), then extras
    nin::Int
    R::Type
end

"""
    map_variants(op; tensor_types=nothing) -> (variants, skipped)

The kernels of map op `op` for every compute type its rule allows and its kernel's methods
accept: `skipped` holds `(Tc, reason)` for each type left out (no method, an always-throwing
method, or a result type C has no name for).
"""
function map_variants(o::OpDef)
    # copy_/fill_/_cast write into a given destination: their one operand is the source
    # (python/jtensor/drivers.py `_run_writer`), and _cast converts it to any type on store
    writer = o.dtypes in ("copy", "fill", "cast")
    params = writer ? [("Tensor", "src")] : _params_of(o)
    vs, skipped = MapVariant[], Tuple{Type,String}[]
    for Tc in rule_compute_types(o.dtypes)
        types = Type[]
        nin = 0
        ok = true
        for (ptype, _) in params
            if ptype == "Tensor"
                push!(types, Tc); nin += 1
            else
                E = extra_type(ptype, Tc)
                E === nothing && (ok = false; push!(skipped, (Tc, "parameter type $ptype")); break)
                push!(types, E)
            end
        end
        ok || continue
        R = try
            Core.Compiler.return_type(o.kernel, Tuple{types...})
        catch
            Union{}
        end
        if R === Union{}
            push!(skipped, (Tc, "the kernel has no method for $Tc, or always throws"))
        elseif !haskey(C_TYPES, R)
            push!(skipped, (Tc, "result type $R"))
        else
            stem = "jt_map_$(_cname(o.name))_$(TYPE_SUFFIX[Tc])"
            for To in (o.dtypes == "cast" ? CUDA_COMPUTE_TYPES : (R,))
                push!(vs, MapVariant(o.name, To === R ? stem : "$(stem)_to_$(TYPE_SUFFIX[To])", Tc, Tuple(types), nin, To))
            end
        end
    end
    vs, skipped
end

"(type, name) of each schema parameter of an op, in order."
function _params_of(o::OpDef)
    _, params, _ = _check_schema(o.schema)
    [(p.type, p.name) for p in params]
end

"The transpiled scalar function of a variant (shared by a cast's variants for every output type)."
_scalar_name(v::MapVariant) = replace(v.name, r"_to_[a-z0-9]+$" => "") * "_f"

"The two `__global__` entry points of a variant, calling its transpiled scalar function `f`."
function map_kernel_source(v::MapVariant, f::CFunction)
    Tc, R = ctype(v.Tc), ctype(v.R)
    ins = [k for k in 1:v.nin if !_isghost(v.argtypes[k])]
    extras = [(k, v.argtypes[k]) for k in v.nin+1:length(v.argtypes) if !_isghost(v.argtypes[k])]
    inparams = join(("const $Tc* __restrict__ x$k" for k in ins), ", ")
    exparams = join(("$(ctype(T)) e$k" for (k, T) in extras), ", ")
    sig(pre) = join(filter(!isempty, [pre, "$R* __restrict__ out", inparams, exparams]), ", ")
    callargs(load) = join(vcat([load(k) for k in ins], ["e$k" for (k, _) in extras]), ", ")
    W = clamp(16 ÷ maximum([sizeof(v.R); [sizeof(v.Tc) for _ in ins]]), 1, 4)   # 16-byte float4-like accesses
    aligned = join(vcat(["(unsigned long long)out"], ["(unsigned long long)x$k" for k in ins]), " | ")
    vecloads = join(("    JtVec<$Tc, $W> a$k = *(const JtVec<$Tc, $W>*)(x$k + v * $W);" for k in ins), "\n")
    K = 1 + length(ins)
    """
    JT_GLOBAL void $(v.name)_c($(sig("long long n"))) {
      long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x, step = (long long)blockDim.x * gridDim.x;
      long long nv = ((($aligned) & 15ull) == 0) ? n / $W : 0;
      for (long long v = t; v < nv; v += step) {
    $vecloads
        JtVec<$R, $W> r;
        for (int j = 0; j < $W; j++) r.v[j] = ($R)$(f.name)($(callargs(k -> "a$k.v[j]")));
        *(JtVec<$R, $W>*)(out + v * $W) = r;
      }
      for (long long i = nv * $W + t; i < n; i += step) out[i] = ($R)$(f.name)($(callargs(k -> "x$k[i]")));
    }
    JT_GLOBAL void $(v.name)_s($(sig("long long n, JtIndexer<$K> ix"))) {
      long long step = (long long)blockDim.x * gridDim.x;
      for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
        long long o[$K]; jt_offsets<$K>(ix, i, o);
        out[o[0]] = ($R)$(f.name)($(callargs(k -> "x$k[o[$(findfirst(==(k), ins))]]")));
      }
    }
    """
end

"""
    generate_map_module(ops=all map ops) -> (source, variants, failures, scalars)

One CUDA module with every map op's kernels: the prelude, the transpiled scalar functions and
the entry points. `failures` lists `(op, Tc, message)` for the variants the transpiler refused;
`scalars` maps each variant's name to the C name of its scalar function (ops with the same
kernel, such as copy_ and _cast, share one).
"""
function generate_map_module(ops = [o for o in REGISTRY if o.kind === :map])
    prog = CProgram()
    entries = String[]
    variants = MapVariant[]
    failures = Tuple{String,Type,String}[]
    scalars = Dict{String,String}()
    for o in ops
        vs, _ = map_variants(o)
        for v in vs
            f = try
                transpile!(prog, o.kernel, v.argtypes; name = _scalar_name(v))
            catch e
                e isa TranspileError || rethrow()
                push!(failures, (o.name, v.Tc, sprint(showerror, e)))
                continue
            end
            push!(variants, v)
            scalars[v.name] = f.name
            push!(entries, map_kernel_source(v, f))
        end
    end
    src = CUDA_PRELUDE * "\n" * program_source(prog) * "\n" * join(entries, "\n")
    src, variants, failures, scalars
end
