"""`__jtensor_function__` over the whole public namespace, as torch's test_overrides does.

Every overridable function of jt, jt.nn.functional, jt.linalg, jt.fft and every Tensor method
(`jt.overrides.get_overridable_functions`, counted, not sampled) is called with a tensor-like
argument in each required position; the handler must see the very object that was called, once.
What torch's ``__torch_function__`` sees for the same call is compared where torch has the
function. Every public function is either overridable or in `get_ignored_functions` (the one
maintained exclusion list). Results keep the subclass by torch's `_convert` rules, checked against
torch's own default ``__torch_function__`` on the same calls.
"""
import inspect
import sys
import types as _types

import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.nn.functional as F
from jtensor import overrides

SENTINEL = object()


class Seen(jt.Tensor):
    """Records each function its handler is given, and returns a sentinel without running it."""
    log = []

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        cls.log.append(func)
        return SENTINEL


class Sub(jt.Tensor):
    """Records the functions handed to it; the default handler runs them."""
    calls = []

    @classmethod
    def __jtensor_function__(cls, func, types, args=(), kwargs=None):
        cls.calls.append(func)
        return super().__jtensor_function__(func, types, args, kwargs)


class TorchSeen:
    """torch's counterpart: a tensor-like that records what ``__torch_function__`` is given."""
    log = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        cls.log.append(func)
        return SENTINEL


def _call_args(f, x, skip_self=False):
    """Positional and keyword arguments filling every required parameter of `f` with `x` (a vararg
    gets one `x`); None when `f` has no inspectable signature."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return (x,), {}
    args, kwargs = [], {}
    params = list(sig.parameters.values())
    for i, p in enumerate(params):
        if p.kind is p.VAR_POSITIONAL:
            args.append(x)
        elif p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            args.append(x)
        elif p.default is p.empty and p.kind is p.KEYWORD_ONLY:
            kwargs[p.name] = x
    if not args:
        args = [x]
    return tuple(args), kwargs


def _all_overridable():
    out = []
    for ns, fns in overrides.get_overridable_functions().items():
        label = "Tensor" if ns is jt.Tensor else ns.__name__
        for f in fns:
            out.append((label, f))
    return out


ALL = _all_overridable()
TORCH_NS = {"jtensor": torch, "jtensor.nn.functional": torch.nn.functional, "jtensor.linalg": torch.linalg,
            "jtensor.fft": torch.fft, "jtensor.special": torch.special, "Tensor": torch.Tensor}


def _public_name(label, f):
    if label == "Tensor":
        return next(n for n, v in vars(jt.Tensor).items()
                    if v is f or isinstance(v, property) and v.fget is f)
    mod = sys.modules[label]
    return next(n for n in dir(mod) if getattr(mod, n, None) is f)


def test_every_public_function_is_overridable_or_ignored():
    ignored = overrides.get_ignored_functions()
    missing = []
    for modname in overrides.NAMESPACES:
        mod = sys.modules[modname]
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for n in names:
            f = getattr(mod, n)
            if isinstance(f, (_types.FunctionType, _types.BuiltinFunctionType)):
                if not getattr(f, "_jt_overridable", False) and f not in ignored:
                    missing.append(f"{modname}.{n}")
    for n, v in vars(jt.Tensor).items():
        f = v.fget if isinstance(v, property) else v
        if not isinstance(f, _types.FunctionType) or n in overrides.IGNORED_TENSOR:
            continue
        if (not n.startswith("_") or n in overrides.TENSOR_DUNDERS) and not getattr(f, "_jt_overridable", False):
            missing.append(f"Tensor.{n}")
    assert missing == []
    # the count the whole-namespace test below iterates over: every namespace is there, in full
    counts = {getattr(ns, "__name__", ns): len(fns) for ns, fns in overrides.get_overridable_functions().items()}
    assert counts["jtensor.nn.functional"] >= len(F.__all__) - 1     # (F.__all__ has no ignored names but no_grad)
    assert counts["Tensor"] > 300 and counts["jtensor"] > 200 and counts["jtensor.linalg"] > 25
    assert counts["jtensor.fft"] == len(jt.fft.__all__) - 2          # fftfreq, rfftfreq take no tensor


def test_each_overridable_function_is_seen_as_itself():
    """The handler sees the object called, for every overridable function (counted), and torch's
    handler sees the function of the same name where torch has it."""
    x = jt.ones(2).as_subclass(Seen)
    tx = TorchSeen()
    checked, wrong, torch_same, torch_differs = 0, [], 0, []
    for label, f in ALL:
        args, kwargs = _call_args(f, x)
        Seen.log.clear()
        try:
            r = f(*args, **kwargs)
        except Exception as e:                          # noqa: BLE001 (reported below)
            wrong.append(f"{label}.{getattr(f, '__name__', f)}: raised {type(e).__name__}: {e}")
            continue
        checked += 1
        if r is not SENTINEL or len(Seen.log) != 1 or Seen.log[0] is not f:
            wrong.append(f"{label}.{f.__name__}: handler saw {[getattr(g, '__name__', type(g).__name__) for g in Seen.log]}")
            continue
        name = _public_name(label, f)
        tf = getattr(TORCH_NS[label], name, None)
        if tf is None:
            continue
        if isinstance(tf, property):
            tf = tf.__get__
        targs, tkwargs = _call_args(f, tx)
        TorchSeen.log.clear()
        try:
            tr = tf(*targs, **tkwargs)
        except Exception:                               # noqa: BLE001 (torch's signature differs)
            continue
        if tr is SENTINEL and TorchSeen.log:
            tname = getattr(TorchSeen.log[0], "__name__", "")
            if TorchSeen.log[0] is tf or tname in (name, f.__name__) or tname.lstrip("_") == name.lstrip("_"):
                torch_same += 1
            else:
                torch_differs.append((f"{label}.{name}", tname))
    assert wrong == []
    assert checked == len(ALL) and checked > 650
    # where the API matches, torch's handler is given the same public function
    assert torch_same > 340
    # torch's upsample* are Python wrappers without their own check: torch hands over the
    # interpolate they call; jtensor hands over the function called, as the protocol promises
    assert sorted(torch_differs) == [(f"jtensor.nn.functional.{n}", "interpolate")
                                     for n in ("upsample", "upsample_bilinear", "upsample_nearest")]


def test_operators_reach_the_handler():
    """Python operators hand over the op they run, as torch's `Tensor.__add__` hands over `Tensor.add`."""
    x = jt.ones(2).as_subclass(Seen)
    cases = {"add": lambda: x + 1, "sub": lambda: x - 1, "mul": lambda: x * 2, "div": lambda: x / 2,
             "floor_divide": lambda: x // 2, "remainder": lambda: x % 2, "pow": lambda: x ** 2,
             "matmul": lambda: x @ x, "eq": lambda: x == 1, "ne": lambda: x != 1, "lt": lambda: x < 1,
             "le": lambda: x <= 1, "gt": lambda: x > 1, "ge": lambda: x >= 1, "neg": lambda: -x,
             "abs": lambda: abs(x), "bitwise_and": lambda: x & 1, "bitwise_or": lambda: x | 1,
             "bitwise_xor": lambda: x ^ 1, "bitwise_not": lambda: ~x, "__getitem__": lambda: x[0],
             "__len__": lambda: len(x) if False else x.__len__(), "__repr__": lambda: x.__repr__()}
    for name, call in cases.items():
        Seen.log.clear()
        assert call() is SENTINEL, name
        assert [f.__name__ for f in Seen.log] == [name]
    Seen.log.clear()
    assert (2 + x) is SENTINEL and Seen.log[0] is jt.add       # reflected: the op, operands swapped


# ---- torch's rules ----------------------------------------------------------------------------------

def _priority_scenario(base, run_add, run_linear):
    """One scenario, written for jtensor or torch (`base` is the Tensor class): a subclass B of A
    that declines, a foreign type that declines; returns what happened, for comparison."""
    order = []
    attr = "__jtensor_function__" if base is jt.Tensor else "__torch_function__"

    def a_handler(cls, func, types, args=(), kwargs=None):
        order.append(("A", tuple(t.__name__ for t in types)))
        return getattr(super(A, cls), attr)(func, types, args, kwargs)

    def declines(name):
        def handler(cls, func, types, args=(), kwargs=None):
            order.append((name, tuple(t.__name__ for t in types)))
            return NotImplemented
        return classmethod(handler)

    A = type("A", (base,), {attr: classmethod(a_handler)})
    B = type("B", (A,), {attr: declines("B")})
    Other = type("Other", (), {attr: declines("Other")})
    outcome = []
    for call in (lambda: run_add(A, A), lambda: run_add(A, B), lambda: run_linear(Other(), B)):
        order.clear()
        try:
            r = call()
            outcome.append((list(order), type(r).__name__))
        except TypeError as e:
            declined = "no implementation found" in str(e) or "returned NotImplemented" in str(e)
            outcome.append((list(order), "TypeError" if declined else str(e)))
    return outcome


def test_priority_not_implemented_and_super_as_torch():
    def jt_add(ca, cb):
        return jt.add(jt.ones(2).as_subclass(ca), jt.ones(2).as_subclass(cb))

    def torch_add(ca, cb):
        return torch.add(torch.ones(2).as_subclass(ca), torch.ones(2).as_subclass(cb))

    ours = _priority_scenario(jt.Tensor, jt_add, lambda o, cb: F.linear(o, jt.ones(2, 2).as_subclass(cb)))
    theirs = _priority_scenario(torch.Tensor, torch_add,
                                lambda o, cb: torch.nn.functional.linear(o, torch.ones(2, 2).as_subclass(cb)))
    assert ours == theirs
    # and what that is: the subclass first although it is the right operand; its NotImplemented
    # passes to A, whose default declines because B is not its base: TypeError
    assert ours[1] == ([("B", ("B", "A")), ("A", ("B", "A"))], "TypeError")
    assert ours[0] == ([("A", ("A",))], "A")


def test_nested_public_calls_dispatch_once():
    calls = [F.linear, F.dropout, F.mse_loss, F.layer_norm, F.max_pool2d, jt.zeros_like, jt.ones_like]
    args = {F.linear: (jt.randn(5, 8),), F.dropout: (0.5,), F.layer_norm: ((8,),), F.max_pool2d: (2,)}
    x = jt.randn(2, 3, 8, 8).as_subclass(Sub)
    Sub.calls.clear()
    for f in calls:
        extra = args.get(f, (x,) if f is F.mse_loss else ())
        assert type(f(x, *extra)) is Sub
    assert Sub.calls == calls              # each once, as itself: not the registry ops they run
    # a handler may turn the protocol back on for the calls it makes
    seen = []

    class Reentrant(jt.Tensor):
        @classmethod
        def __jtensor_function__(cls, func, types, args=(), kwargs=None):
            seen.append(func.__name__)
            with overrides.disabled(), overrides.enabled():
                return func.__wrapped__(*args, **(kwargs or {})) if hasattr(func, "__wrapped__") else \
                    super().__jtensor_function__(func, types, args, kwargs)

    F.mse_loss(jt.ones(3).as_subclass(Reentrant), jt.zeros(3))
    assert seen[0] == "mse_loss" and "sub" in seen and "mean" in seen


def test_from_dlpack_is_intercepted():
    seen = []

    class Capsule:
        @classmethod
        def __jtensor_function__(cls, func, types, args=(), kwargs=None):
            seen.append(func)
            return jt.from_dlpack.__wrapped__(torch.arange(3.0))

    r = jt.from_dlpack(Capsule())
    assert seen == [jt.from_dlpack] and r.tolist() == [0.0, 1.0, 2.0]


def test_introspection_helpers():
    x = jt.ones(2)
    s = x.as_subclass(Seen)
    assert not overrides.has_jtensor_function((x, 1, [x])) and overrides.has_jtensor_function((x, [s]))
    assert overrides.is_tensor_like(x) and overrides.is_tensor_like(s) and overrides.is_tensor_like(TorchSeen()) is False
    with overrides.disabled():
        assert not overrides.has_jtensor_function((s,)) and not overrides.is_jtensor_function_enabled()

    def my_op(a, b=1):
        if overrides.has_jtensor_function((a,)):
            return overrides.handle_jtensor_function(my_op, (a,), a, b=b)
        return a * b
    Seen.log.clear()
    assert my_op(s, b=2) is SENTINEL and Seen.log == [my_op]
    assert my_op(x, b=2).tolist() == [2.0, 2.0]
    ignored = overrides.get_ignored_functions()
    assert jt.zeros in ignored and jt.manual_seed in ignored and jt.fft.fftfreq in ignored and jt.add not in ignored
    testing = overrides.get_testing_overrides()
    assert set(testing) == {f for _, f in ALL}
    lam = testing[F.linear]
    assert list(inspect.signature(lam).parameters) == ["input", "weight", "bias"] and lam(1, 2) == -1


# ---- results keep the subclass, as torch's default __torch_function__ does -----------------------------

class TSub(torch.Tensor):
    pass


def _kinds(r, tensor_cls, sub_cls):
    """The structure of a result with each tensor replaced by 'sub' or 'base'."""
    if isinstance(r, tensor_cls):
        return "sub" if isinstance(r, sub_cls) else "base"
    if isinstance(r, (tuple, list)):
        return tuple(_kinds(v, tensor_cls, sub_cls) for v in r)
    return type(r).__name__ if not isinstance(r, (int, float, bool)) else "number"


RESULT_CASES = {
    "F.linear": lambda m, x, w: m.nn.functional.linear(x, w),
    "F.max_pool2d": lambda m, x, w: m.nn.functional.max_pool2d(x, 2),
    "F.max_pool2d indices": lambda m, x, w: m.nn.functional.max_pool2d(x, 2, return_indices=True),
    "F.dropout": lambda m, x, w: m.nn.functional.dropout(x, 0.5),
    "F.layer_norm": lambda m, x, w: m.nn.functional.layer_norm(x, (4,)),
    "F.mse_loss": lambda m, x, w: m.nn.functional.mse_loss(x, x),
    "F.softmax": lambda m, x, w: m.nn.functional.softmax(x, -1),
    "F.avg_pool2d": lambda m, x, w: m.nn.functional.avg_pool2d(x, 2),
    "zeros_like": lambda m, x, w: m.zeros_like(x),
    "ones_like": lambda m, x, w: m.ones_like(x),
    "full_like": lambda m, x, w: m.full_like(x, 3.0),
    "add": lambda m, x, w: m.add(x, 1),
    "x + plain": lambda m, x, w: x + w.sum(),
    "sort": lambda m, x, w: m.sort(x, -1),
    "max dim": lambda m, x, w: m.max(x, -1),
    "median dim": lambda m, x, w: m.median(x, -1),
    "split": lambda m, x, w: m.split(x, 2, -1),
    "unbind": lambda m, x, w: x.unbind(0),
    "linalg.norm": lambda m, x, w: m.linalg.norm(x),
    "linalg.qr": lambda m, x, w: m.linalg.qr(x[0, 0]),
    "linalg.svd": lambda m, x, w: m.linalg.svd(x[0, 0]),
    "fft.fft": lambda m, x, w: m.fft.fft(x),
    "fft.rfft2": lambda m, x, w: m.fft.rfft2(x),
    "reshape": lambda m, x, w: x.reshape(-1),
    "T view": lambda m, x, w: x[0, 0].T,
    "size": lambda m, x, w: x.size(),
    "item": lambda m, x, w: x.sum().item(),
    "tolist": lambda m, x, w: x[0, 0, 0].tolist(),
    "dim": lambda m, x, w: x.dim(),
    "clone": lambda m, x, w: x.clone(),
    "detach": lambda m, x, w: x.detach(),
    "float": lambda m, x, w: x.float(),
    "to double": lambda m, x, w: x.to(m.float64),
    "matmul plain weight": lambda m, x, w: x @ w,
}


@pytest.mark.parametrize("case", sorted(RESULT_CASES))
def test_results_keep_the_subclass_as_torch_does(case):
    rng = np.random.default_rng(0)
    xs, ws = rng.standard_normal((2, 3, 4, 4)).astype(np.float32), rng.standard_normal((4, 4)).astype(np.float32)
    jt.manual_seed(0)
    ours = RESULT_CASES[case](jt, jt.tensor(xs).as_subclass(Sub), jt.tensor(ws))
    torch.manual_seed(0)
    theirs = RESULT_CASES[case](torch, torch.from_numpy(xs).as_subclass(TSub), torch.from_numpy(ws))
    assert _kinds(ours, jt.Tensor, Sub) == _kinds(theirs, torch.Tensor, TSub)
