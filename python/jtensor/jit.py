"""`jt.jit`: torch.jit's entry points, mapped onto jt.compile.

Programs call `torch.jit.script(model)` or `torch.jit.trace(model, example)` to get a faster module
with the same results. Here both return `jt.compile(obj)`: the same computation, captured with
jt.fx and fused where it can be (see docs/compile.md); code jt.fx cannot capture runs eagerly, so a
scripted function always computes what the original does. `trace` also runs the example once (and
checks the result against the eager call, as torch's `check_trace` does). TorchScript's
decorators (`ignore`, `unused`, `export`, `interface`) are no-ops, as they are in torch's eager
mode, and `fork`/`wait` run the call at once. What needs TorchScript itself, a serialized program
(`save`, `load`, `freeze`), raises NotImplementedError saying so: use `jt.save` of the state dict.
"""
import warnings

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "interface", "is_scripting",
           "is_tracing", "annotate", "Final", "fork", "wait", "Future", "save", "load", "freeze",
           "optimize_for_inference", "script_if_tracing", "TracerWarning", "Error"]

Error = RuntimeError


class TracerWarning(Warning):
    """Warnings about a trace not matching the eager call (torch.jit.TracerWarning)."""


Final = object   # annotation only: `x: jt.jit.Final[int]` is read by TorchScript, not by Python


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """A function or Module that computes what `obj` does, compiled with jt.compile."""
    from .compile import compile
    from .nn.module import Module
    if isinstance(obj, type):
        return obj   # a scripted class is the class, as in eager mode
    if not (callable(obj) or isinstance(obj, Module)):
        raise RuntimeError(f"jt.jit.script: cannot script an object of type {type(obj).__name__}")
    return compile(obj)


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None, check_tolerance=1e-5,
          strict=True, _force_outplace=False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs=True):
    """`func` compiled with jt.compile and run once on `example_inputs` (a tensor or a tuple)."""
    from . import allclose, no_grad
    from ._tensor import Tensor
    compiled = script(func)
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("jt.jit.trace: example_inputs (or example_kwarg_inputs) must be given")
    args = (example_inputs,) if isinstance(example_inputs, Tensor) else tuple(example_inputs or ())
    kwargs = dict(example_kwarg_inputs or {})
    with no_grad():
        got = compiled(*args, **kwargs)
        if check_trace:
            want = func(*args, **kwargs)
            pairs = list(zip(got, want)) if isinstance(got, (tuple, list)) else [(got, want)]
            for a, b in pairs:
                if isinstance(a, Tensor) and not allclose(a, b, rtol=check_tolerance, atol=check_tolerance,
                                                          equal_nan=True):
                    warnings.warn("Output nr 1. of the traced function does not match the corresponding output "
                                  "of the Python function.", TracerWarning, stacklevel=2)
    return compiled


def trace_module(mod, inputs, **kwargs):
    """`trace` of `mod.forward` with inputs {"forward": example}."""
    return trace(mod, inputs["forward"], **kwargs)


def script_if_tracing(fn):
    return fn


def ignore(drop=False, **kwargs):
    """No-op decorator (TorchScript leaves the function to Python; so does eager mode)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def is_scripting():
    """False: code here always runs as Python."""
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


class Future:
    """The result of `fork`: the call has already run; `wait()` returns its value."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def done(self):
        return True


def fork(func, *args, **kwargs):
    """Run `func(*args, **kwargs)` now and return a Future of its value."""
    return Future(func(*args, **kwargs))


def wait(future):
    return future.wait()


def _no_torchscript(what):
    raise NotImplementedError(f"jt.jit.{what}: jtensor has no TorchScript serialization; save the weights with "
                              f"jt.save(model.state_dict(), path) and rebuild the model in Python")


def save(m, f, _extra_files=None):
    _no_torchscript("save")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    _no_torchscript("load")


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    _no_torchscript("freeze")


def optimize_for_inference(mod, other_methods=None):
    """`mod` compiled for inference (jt.compile), in eval mode."""
    return script(mod.eval())
