"""The two drivers that run ops, and what they share: broadcasting, dtype-rule application, alias
checks, plan caching and registering call signatures with the C fast path.

- `run_map` for elementwise ops: broadcasting, promotion (the entry's named dtype rule),
  allocation, `out=` and in-place forms, then one Julia call (through a plan) that fills the output;
- `run_fn` for all other ops: arguments are encoded by their declared types (wire.py) and Julia
  returns new arrays.

Both record on the autograd tape when an input requires grad. The generated op functions
(codegen.py) try the C fast path first; it only runs call signatures these drivers ran and
registered (`_register_fast`), so the drivers stay the one definition of behaviour.
"""
from . import autograd
from . import _autocast_policy as _autocast
from . import bridge
from . import devices as _dev
from . import dtypes as D
from . import overrides
from . import wire as W

_NUMBER = (bool, int, float, complex)

_T = None  # the tensor module, bound at start-up (avoids an import cycle)


def broadcast_shapes(*shapes):
    n = max(map(len, shapes), default=0)
    out = [1] * n
    for s in shapes:
        off = n - len(s)
        for i, v in enumerate(s):
            o = out[off + i]
            if v != o:
                if o == 1:
                    out[off + i] = v
                elif v != 1:
                    raise ValueError(f"shapes {', '.join(str(list(x)) for x in shapes)} cannot be broadcast together")
    return tuple(out)


_PLANS = {}
_INTO = -1   # the last item of an in-place call's plan signature and fast-path key (fastpath.c MAPKEY_INTO)
FAST_SIGNATURES = {}  # read by the C fast path (_native/fastpath.c): see _register_fast
_FAST_KIND = {bool: W.MAP_KINDS["bool"], int: W.MAP_KINDS["int"], float: W.MAP_KINDS["float"]}


def _run_planned(op, sig, words, fmt, context, into=False):
    """Run an elementwise call through its plan, compiling the plan on the first call of its
    signature `sig` (op id plus each argument's dtype code or scalar tag). Returns the plan id, or
    None for a call without a signature (a tensor not on the CPU), which Julia's generic entry runs.
    `into`: an in-place call (its first input is the output): its plan is another (bridge.plan)."""
    f = "".join(fmt)
    if sig is None:
        bridge.call(op.id, f, words, context)
        return None
    if into:
        sig += (_INTO,)
    pid = _PLANS.get(sig)
    if pid is None:
        try:
            pid = bridge.plan(op.id, f, words, context, into)
        except Exception:
            if not into:
                raise
            # a system image from before in-place plans (JTENSOR_SYSIMAGE naming an old one): the
            # ordinary plan computes the same values (an error of the call itself recurs here)
            pid = bridge.plan(op.id, f, words, context)
        _PLANS[sig] = pid
    bridge.run(pid, f, words, context)
    return pid


def _register_fast(op, pid, args, extras, out, compute, into=False):
    """Let the C fast path run this call signature next time: every tensor argument has one dtype,
    the rest are Python bool/int/float. `into`: the in-place form (the plan writes into args[0],
    whose dtype is then the output's); its key ends in _INTO. The key and entry layout are
    fastpath.c's. Only calls the driver ran to the end are registered, so an in-place signature
    whose result can't be cast to self's dtype never is: the driver raises for it every time."""
    Tensor = _T.Tensor
    code = None
    kinds = []
    for a in args:
        if type(a) is Tensor:
            if code is None:
                code = a.dtype.code
            elif a.dtype.code != code:
                return
            kinds.append(W.MAP_KINDS["tensor"])
        else:
            k = _FAST_KIND.get(type(a))
            if k is None:
                return
            kinds.append(k)
    for x in extras:
        k = _FAST_KIND.get(type(x))
        if k is None:
            return
        kinds.append(k)
    if code is not None and (not into or out.dtype.code == code):
        FAST_SIGNATURES[(op.id, code, *kinds, *((_INTO,) if into else ()))] = \
            (pid, out.dtype, compute.code, out.dtype.code)


def fn_failed(op, status, args):
    """The C fast path ran a fn op and Julia reported an error: raise it."""
    raise bridge.last_error(W.describe(op.qualname, args))


def fast_failed(op, status, args, extras):
    """The C fast path ran the op and Julia reported an error: raise it."""
    raise bridge.last_error(W.describe(op.name, tuple(args) + tuple(extras)))


def _run_writer(op, args, extras):
    """copy_/fill_/_cast: the destination is given (or made from the dtype argument), not inferred."""
    Tensor = _T.Tensor
    if op.rule == "cast":
        src, dt = args[0], D.as_dtype(extras[0])
        dst, ins, extras = _T.empty_on(src.device_code, src.shape, dt), (src,), ()
    else:
        dst = args[0]
        ins = args[1:]
        if ins and not isinstance(ins[0], Tensor):
            ins = (ins[0] if isinstance(ins[0], _NUMBER) else _T.asarray(ins[0]),)
    dev = _dev.call_device(op.name, [dst] + [a for a in ins if isinstance(a, Tensor)])
    dst._check_writable(op.name, aliases_ok=op.rule == "fill")
    compute = ins[0].dtype if ins and isinstance(ins[0], Tensor) else dst.dtype
    shape = dst.shape
    for a in ins:
        if isinstance(a, Tensor) and a.shape != shape and broadcast_shapes(a.shape, shape) != shape:
            raise RuntimeError(f"{op.name}: source of shape {list(a.shape)} cannot be broadcast to {list(shape)}")
    if dev:   # no data to write: the destination's metadata is the result
        return dst
    words, fmt, sig = W.encode_map_args(op, dst, compute, ins, extras, shape, Tensor)
    _run_planned(op, sig, words, fmt, lambda: W.describe(op.name, tuple(args) + tuple(extras)))
    dst._bump()
    return dst


_WRITERS = ("copy", "fill", "cast")


def _map_params(op, args, extras):
    """Parameter name -> value for an elementwise call (tensor parameters, then the others)."""
    names_t = [p.name for p in op.params if p.type == "Tensor"]
    names_e = [p.name for p in op.params if p.type != "Tensor"]
    d = dict(zip(names_t, args))
    d.update(zip(names_e, extras))
    return d


def _unaliased(a, out):
    """`a`, or a copy of it when it shares memory with `out` in a different layout (x += x.T):
    reading it while the output is written would see half-updated values."""
    if not isinstance(a, _T.Tensor) or not _T._overlaps(a, out):
        return a
    if a.data_ptr() == out.data_ptr() and a._strides == out._strides and a.shape == out.shape:
        return a   # element i reads exactly what it then overwrites: safe
    return a.clone()


def run_map(op, args, extras, out=None, inplace=False):
    """Elementwise driver. `args` are the tensor-position arguments (tensors, scalars or None)."""
    if autograd._enabled[0] and autograd.needs_grad(args):
        params = _map_params(op, args, extras)
        if op.rule in _WRITERS and op.rule != "cast" or inplace:
            return autograd.record_inplace(op, params, args[0],
                                           lambda: _run_map(op, args, extras, out, inplace))
        if out is not None:
            raise RuntimeError(f"{op.name}(): functions with out=... arguments don't support automatic "
                               f"differentiation, but one of the arguments requires grad.")
        return autograd.record(op, params, lambda: _map_ungraded(op, args, extras))
    return _run_map(op, args, extras, out, inplace)


def _map_ungraded(op, args, extras):
    """The value of an elementwise call whose graph `autograd.record` attaches: by the C fast path
    when the signature has one (inputs that require grad are fine there), else by the driver."""
    if _fast_map is not None:
        r = _fast_map(op.id, args, extras, True)
        if r is not None:
            return r if r.__class__ is _T.Tensor else fast_failed(op, r, args, extras)
    return _run_map(op, args, extras, None, False)


def map_dtypes(op, tensors, scalars):
    """(compute dtype, result dtype) of elementwise `op` over `tensors` (anything with `dtype` and
    `ndim`) and the Python numbers `scalars`: promotion, then the op's dtype rule. jt.compile's
    fused kernels ask the same question of each node they fuse."""
    if len(tensors) == 1:
        promoted = tensors[0].dtype if not scalars else D.result_type([tensors[0].dtype], scalars)
    else:
        promoted = D.result_type([t.dtype for t in tensors if t.ndim], scalars,
                                 [t.dtype for t in tensors if not t.ndim])
    bools = [D.bool_ for s in scalars if isinstance(s, bool)]
    return D.RULES[op.rule](op.name, promoted, [t.dtype for t in tensors] + bools)


def _run_map(op, args, extras, out=None, inplace=False):
    if _dispatch_hooked[0]:   # __jtensor_dispatch__: below autograd, above the kernel (_dispatch.py)
        r = _dispatch.intercept_map(op, args, extras, out, inplace)
        if r is not None:
            return r[0]
    if op.rule in _WRITERS:
        return _run_writer(op, args, extras)
    Tensor = _T.Tensor
    tensors = []
    scalars = []
    conv = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            tensors.append(a)
        elif a is None or isinstance(a, _NUMBER):
            if a is not None:
                scalars.append(a)
        else:
            a = _T.asarray(a)
            if conv is None:
                conv = list(args)
            conv[i] = a
            tensors.append(a)
    if conv is not None:
        args = tuple(conv)
    if not tensors:
        first = args[0] if args else None
        raise TypeError(f"{op.name}(): argument '{op.params[0].name}' (position 1) must be Tensor, "
                        f"not {type(first).__name__}")
    if len(tensors) == 1:
        shape = tensors[0].shape
    else:
        try:
            shape = broadcast_shapes(*[t.shape for t in tensors])
        except ValueError as e:
            raise ValueError(f"{W.describe(op.name, args)}: {e}") from None
    compute, result = map_dtypes(op, tensors, scalars)
    dev = _dev.call_device(op.name, tensors if out is None else tensors + [out])
    if out is not None:
        if inplace:
            if shape != out.shape and broadcast_shapes(shape, out.shape) != out.shape:
                raise RuntimeError(f"{op.name}_: output with shape {list(out.shape)} doesn't match the broadcast shape {list(shape)}")
            shape = out.shape
        elif out.shape != shape:
            raise RuntimeError(f"{op.name}: out= has shape {list(out.shape)} but the result has shape {list(shape)}")
        if not D.can_cast(result, out.dtype):
            raise RuntimeError(f"{op.name}: result type {result.name} can't be cast to the desired output type {out.dtype.name}")
        out._check_writable(op.name)
        if dev:
            return out
        args = tuple(_unaliased(a, out) for a in args)
    fresh = out is None
    if fresh:
        out = _T.empty_on(dev, shape, result)
        if dev:   # the meta device: shape and dtype are the result, and Julia is not called
            return out
    words, fmt, sig = W.encode_map_args(op, out, compute, args, extras, shape, Tensor)
    pid = _run_planned(op, sig, words, fmt, lambda: W.describe(op.name, args + tuple(extras)),
                       inplace and not fresh and args[0] is out)
    if pid is not None and (fresh or inplace):
        _register_fast(op, pid, args, extras, out, compute, into=not fresh)
    out._bump()
    return out


_keep = []

_CONST_TENSORS = {}
_CONST_MAX = 256


def const_tensor(x):
    """`x` for a Tensor parameter whose default is a number (tensordot's `dims`): a tensor as it is;
    a number, or a (nested) list or tuple of ints, as one cached CPU tensor per value, made as the
    driver would make it (`asarray`), so the call can take the C fast path (a tensor made per call
    and the driver cost 40-60 µs of tensordot's 60 on small operands). Kernels only read such
    arguments, so the cached tensor is never written. Anything else is returned unchanged."""
    if x.__class__ is _T.Tensor:
        return x
    key = _const_key(x)
    if key is None:
        return x
    t = _CONST_TENSORS.get(key)
    if t is None:
        t = _T.asarray(x, device="cpu")   # read on the host even beside device operands
        if len(_CONST_TENSORS) < _CONST_MAX:
            _CONST_TENSORS[key] = t
    return t


def _const_key(x):
    """A hashable key for a number or a nested list/tuple of ints (with its types), else None."""
    if x.__class__ in (int, float, bool):
        return (x.__class__, x)
    if isinstance(x, (list, tuple)):
        ks = [_const_key(v) for v in x]
        if all(k is not None and k[0] in (int, list, tuple) for k in ks):
            return (list if isinstance(x, list) else tuple, tuple(ks))
    return None


def run_fn(op, args, out=None):
    """Driver for ops whose Julia function returns new arrays (reductions, linear algebra, ...)."""
    if _autocast.dtype[0] is not None:
        args = _autocast.cast_args(op.qualname, tuple(args))[0]
    if autograd._enabled[0] and autograd.needs_grad(args):
        params = {p.name: v for p, v in zip(op.params, args)}
        if op.returns == "Self":
            return autograd.record_inplace(op, params, args[0], lambda: _run_fn(op, args, None))
        if out is not None:
            raise RuntimeError(f"{op.name}(): functions with out=... arguments don't support automatic "
                               f"differentiation, but one of the arguments requires grad.")
        return autograd.record(op, params, lambda: _fn_ungraded(op, args))
    return _run_fn(op, args, out)


def _fn_ungraded(op, args):
    """The value of a fn-op call whose graph `autograd.record` attaches: by the C fast path when the
    signature is simple (inputs that require grad are fine there), else by the driver."""
    if _fast_call is not None and op.fast_kinds is not None:
        fast = tuple(const_tensor(a) if i in op.const_params else a for i, a in enumerate(args)) \
            if op.const_params else tuple(args)
        r = _fast_call(op.id, op.fast_kinds, fast, True)
        if r is not None:
            return r if r.__class__ is _T.Tensor else fn_failed(op, r, args)
    return _run_fn(op, args, None)


def _tensor_args(op, args):
    """The tensors among a fn-op call's arguments (tensor lists flattened)."""
    Tensor = _T.Tensor
    ts = [args[i] for i in op.tensor_params if args[i] is not None]
    for i, p in enumerate(op.params):
        if p.type == "TensorList" and args[i] is not None:
            ts.extend(x for x in args[i] if isinstance(x, Tensor))
    return ts


def _run_fn(op, args, out=None):
    if _dispatch_hooked[0]:   # __jtensor_dispatch__: below autograd, above the kernel (_dispatch.py)
        r = _dispatch.intercept_fn(op, args, out)
        if r is not None:
            return r[0]
    Tensor = _T.Tensor
    args = list(args)
    ref_ndim = None
    for i in op.tensor_params:
        a = args[i]
        if a is not None and not isinstance(a, Tensor):
            a = args[i] = _T.asarray(a)
        if ref_ndim is None and a is not None:
            ref_ndim = a.ndim
    for i, p in enumerate(op.params):
        if p.type == "TensorList" and args[i] is not None:
            args[i] = [x if isinstance(x, Tensor) else _T.asarray(x) for x in args[i]]
            if ref_ndim is None and args[i]:
                ref_ndim = args[i][0].ndim
    ref_ndim = ref_ndim or 0
    dev = _dev.call_device(op.qualname, _tensor_args(op, args))
    if op.returns == "Self":   # an in-place op writes into its first argument
        args[0]._check_writable(op.name)
        if dev:   # the result is its first argument, whose metadata does not change
            return args[0]
    words = []
    fmt = []
    for p, x in zip(op.params, args):
        W.encode_arg(p, x, ref_ndim, op.name, words, fmt, _keep)
    try:
        results = bridge.call(op.id, "".join(fmt), words, lambda: W.describe(op.qualname, args))
    finally:
        _keep.clear()
    if op.returns == "Self":  # an in-place op: the kernel wrote into its first argument
        args[0]._bump()
        return args[0]
    vals = [tensor_of(r) if isinstance(r, W.TensorResult) else r for r in results]
    if out is not None:
        targets = out if isinstance(out, (tuple, list)) else (out,)
        for o, v in zip(targets, vals):
            o.copy_(v)
        return out
    if len(vals) == 1:
        return vals[0]
    if op.result_type is not None and len(vals) == len(op.result_fields):
        return op.result_type(*vals)
    return tuple(vals) if vals else None


def tensor_of(r):
    """The Tensor for a tensor result (`wire.TensorResult`): Julia-made CPU memory is wrapped without
    a copy; a tensor of another device is made by `Tensor._device_result`."""
    if r.device == W.DEVICE_CPU:
        return _T.from_julia(r.dtype_code, r.address, r.handle, r.shape)
    return _T.Tensor._device_result(r.device, r.shape, D.BY_CODE[r.dtype_code])


_fast_map = None    # the C fast path's map and call (bridge.fast_path), or None
_fast_call = None


_dispatch = None          # jtensor._dispatch, bound with the Tensor module
_dispatch_hooked = [False]


def bind(tensor_module):
    """Bind the drivers to the Tensor module (imported after this one: it imports the registry) and
    to the C fast path, which the bridge loads and hands the tables it reads. Call before the
    registry's first sync: the generated op functions capture the fast path."""
    global _T, _fast_map, _fast_call
    _T = tensor_module
    from . import _dispatch as dispatch_level
    global _dispatch, _dispatch_hooked
    _dispatch, _dispatch_hooked = dispatch_level, dispatch_level.hooked
    dispatch_level.bind(tensor_module.Tensor)
    fp = bridge.fast_path(tensor_module.Tensor, FAST_SIGNATURES, overrides._TRANSPARENT)
    _fast_map, _fast_call = (fp.map, fp.call) if fp is not None else (None, None)
    return fp is not None
