"""`jt.nn.utils.parametrize`: a module's tensor computed from other tensors, as torch's.

`register_parametrization(module, "weight", P())` replaces the parameter `weight` by
`module.parametrizations.weight.original` and makes `module.weight` a property that returns
``P()(original)`` each time it is read (so gradients reach `original`); assigning to
`module.weight` sets `original` through ``P().right_inverse`` when P has one. Further
parametrizations of the same name chain. The property lives on a subclass made for that module
object alone, as torch does it, so other instances of the class are untouched.
"""
import contextlib

from ... import no_grad
from ..._tensor import Tensor
from ..module import Module
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList", "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache = {}


@contextlib.contextmanager
def cached():
    """Inside, each parametrized tensor is computed once (on first read) and reused: for a
    parametrized weight read many times in one forward (a recurrent layer)."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to `original` (or to `original0`,
    `original1`... when the first one's right_inverse splits the tensor in several)."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        first = modules[0]
        with no_grad():
            new = first.right_inverse(original) if hasattr(first, "right_inverse") else original
        grad = original.requires_grad
        if isinstance(new, Tensor):
            self.is_tensor, self.ntensors = True, 1
            if not unsafe and (new.shape != original.shape or new.dtype != original.dtype):
                raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the dtype or shape.\n"
                                 f"original.shape: {original.shape}, right_inverse(original).shape: {new.shape}")
            if new is not original:
                with no_grad():
                    original.set_(new)
            self._register_original("original", original, grad)
        else:
            new = tuple(new)
            self.is_tensor, self.ntensors = False, len(new)
            for i, t in enumerate(new):
                self._register_original(f"original{i}", t.detach(), grad)
        if not unsafe:
            value = self()
            if value.shape != original.shape or value.dtype != original.dtype:
                raise ValueError(f"Registering a parametrization may not change the shape or dtype of the tensor: "
                                 f"{original.shape} {original.dtype} became {value.shape} {value.dtype}")

    def _register_original(self, name, t, grad):
        if isinstance(t, Parameter):
            self.register_parameter(name, t)
        elif grad:
            self.register_parameter(name, Parameter(t))
        else:
            self.register_buffer(name, t)

    def originals(self):
        return [self.original] if self.is_tensor else [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def forward(self):
        x = self[0](*self.originals()) if not self.is_tensor else self[0](self.original)
        for m in list(self)[1:]:
            x = m(x)
        return x

    def right_inverse(self, value):
        """Set the originals so that `self()` gives `value` (each parametrization's right_inverse,
        last to first)."""
        with no_grad():
            for m in reversed(list(self)):
                if not hasattr(m, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(m).__name__} does not implement right_inverse.")
                value = m.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.shape != self.original.shape or value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has shape {value.shape} and dtype "
                                     f"{value.dtype}; the original has {self.original.shape} {self.original.dtype}")
                self.original.set_(value)
            else:
                value = tuple(value)
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                     f"Got a sequence of length {len(value)}")
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").set_(t)


def _inject_class(module):
    """Give `module` a class of its own (a subclass of its class), to hold the properties."""
    cls = module.__class__
    sub = type(f"Parametrized{cls.__name__}", (cls,), {"_jt_parametrized_base": cls,
                                                        "__getstate__": _refuse_pickle})
    module.__class__ = sub


def _refuse_pickle(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict().")


def _inject_property(module, name):
    def get(self):
        if _cache_enabled:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = self.parametrizations[name]()
            return _cache[key]
        return self.parametrizations[name]()

    def set(self, value):
        self.parametrizations[name].right_inverse(value)
    setattr(module.__class__, name, property(get, set))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Parametrize `module.<tensor_name>` by the Module `parametrization` (see the module doc).
    Returns `module`."""
    if not isinstance(parametrization, Module):
        raise TypeError(f"parametrization must be a jtensor.nn.Module, got {type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor) or x.shape != y.shape or x.dtype != y.dtype:
                raise ValueError(f"Registering a parametrization may not change the shape or dtype of the "
                                 f"tensor '{tensor_name}'")
            if hasattr(parametrization, "right_inverse"):
                z = parametrization.right_inverse(x)
                if not isinstance(z, Tensor) or z.shape != y.shape or z.dtype != y.dtype:
                    raise ValueError("parametrization.right_inverse must return a tensor of the shape and dtype "
                                     "of the tensor it inverts")
        plist.append(parametrization)
        plist.unsafe |= unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    original = getattr(module, tensor_name)
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    _inject_property(module, tensor_name)
    return module


def is_parametrized(module, tensor_name=None):
    """Whether `module` has parametrizations (of `tensor_name`, when given)."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if plists is None or not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrizations of `tensor_name`: it becomes a plain parameter again, holding the
    current parametrized value (`leave_parametrized`) or the original. The original Parameter
    object is kept, so optimizers holding it keep working."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
                if t.dtype != original.dtype or t.shape != original.shape:
                    raise ValueError(f"remove_parametrizations: the parametrized value of '{tensor_name}' "
                                     f"({list(t.shape)}, {t.dtype}) cannot be stored in its original "
                                     f"({list(original.shape)}, {original.dtype}); use leave_parametrized=False")
                original.set_(t)
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        with no_grad():
            t = getattr(module, tensor_name)
        grad = plist.originals()[0].requires_grad
        original = Parameter(t.detach().clone(), grad) if grad else t.detach().clone()
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = module.__class__._jt_parametrized_base
    return module


def type_before_parametrizations(module):
    """The class `module` had before it was parametrized."""
    return getattr(module.__class__, "_jt_parametrized_base", module.__class__)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Copy the parametrizations (and their originals' values) of `from_module` onto `to_module`,
    for `tensor_name` or all of them. Returns `to_module`."""
    if not is_parametrized(from_module):
        raise ValueError(f"{from_module} has no parametrizations")
    names = [tensor_name] if tensor_name is not None else list(from_module.parametrizations.keys())
    for name in names:
        src = from_module.parametrizations[name]
        if not is_parametrized(to_module, name):
            if name not in to_module._parameters and name not in to_module._buffers:
                setattr(to_module, name, Parameter(getattr(from_module, name).detach().clone()))
            for m in src:
                register_parametrization(to_module, name, m, unsafe=True)
        dst = to_module.parametrizations[name]
        with no_grad():
            for a, b in zip(dst.originals(), src.originals()):
                a.set_(b.detach().clone())
    return to_module
