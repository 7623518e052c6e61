"""Lazy modules: layers that learn their input size from the first batch (``nn.LazyLinear(10)``).

As in PyTorch, a lazy layer is its regular layer built with an input size of 0, whose parameters
(and running statistics) are `UninitializedParameter`s (`UninitializedBuffer`s). A forward
pre-hook reads the input size from the first call's input, materializes them in place (so an
optimizer made before that call holds the real parameters), initialises them as the regular layer
would, and turns the module into that layer (``LazyLinear`` becomes ``Linear``). Loading a state
dict into a lazy layer materializes its parameters at the checkpoint's shapes.
"""
from ..._tensor import empty as _empty
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d
from .normalization_more import BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

__all__ = ["LazyModuleMixin", "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class LazyModuleMixin:
    """Mixin for modules whose parameter shapes come from their first input.

    Subclasses define ``initialize_parameters(*inputs)`` (materialize the uninitialized
    parameters and buffers) and ``cls_to_become`` (the regular class the module turns into).
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self):
        """True while any of this module's own parameters or buffers is not materialized."""
        return bool(self._lazy_tensors())

    def initialize_parameters(self, *args, **kwargs):
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _lazy_factory(self):
        """The dtype and device of the uninitialized tensors, for materializing them."""
        for t in self._lazy_tensors().values():
            return {"dtype": t.dtype, "device": t.device}
        return {}

    def _materialize(self, shapes):
        """Materialize each named uninitialized parameter or buffer at its shape, then reset."""
        fk = self._lazy_factory()
        for name, shape in shapes.items():
            t = getattr(self, name)
            if is_lazy(t):
                t.materialize(shape, **fk)
        self.reset_parameters()

    def _lazy_tensors(self):
        """{name: tensor} of this module's own parameters and buffers not yet materialized."""
        return {k: v for d in (self._parameters, self._buffers) for k, v in d.items() if is_lazy(v)}

    def _apply(self, fn, recurse=True):
        # conversions (`to`, `double`) give uninitialized tensors the dtype and device that `fn`
        # gives an empty tensor of theirs; they are materialized with those
        lazy = self._lazy_tensors()
        for t in lazy.values():
            probe = fn(_empty(0, dtype=t.dtype, device=t.device))
            t.retarget(probe.dtype, probe.device)
        return self._with_hidden(lazy, lambda: super(LazyModuleMixin, self)._apply(fn, recurse))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        lazy = self._lazy_tensors()
        for name, t in lazy.items():
            if name not in self._non_persistent_buffers_set:
                destination[prefix + name] = t
        self._with_hidden(lazy, lambda: super(LazyModuleMixin, self)._save_to_state_dict(destination, prefix,
                                                                                            keep_vars))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        fk = self._lazy_factory()
        for name, t in list(self._parameters.items()) + list(self._buffers.items()):
            key = prefix + name
            if is_lazy(t) and key in state_dict and not is_lazy(state_dict[key]):
                t.materialize(state_dict[key].shape, **fk)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        # as PyTorch's, the module stays lazy until its next call, which reads its sizes from them

    def _sizes_from_parameters(self):
        """Set the size attributes (in_features, ...) from materialized parameters (after a load)."""

    def _with_hidden(self, names, action):
        """Run `action()` with the named parameters and buffers set to None (skipped), then restore them."""
        held = {k: (self._parameters if k in self._parameters else self._buffers) for k in names}
        values = {k: d[k] for k, d in held.items()}
        for k, d in held.items():
            d[k] = None
        try:
            return action()
        finally:
            for k, d in held.items():
                d[k] = values[k]


def _infer_parameters(module, args):
    module.initialize_parameters(*args)
    module._sizes_from_parameters()
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    _become_regular(module)


def _become_regular(module):
    module._initialize_hook.remove()
    del module._initialize_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    """``LazyLinear(out_features, bias=True)``: a Linear whose in_features is the last dim of its
    first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False, device, dtype)
        self.out_features = out_features
        fk = self.weight.dtype, self.weight.device
        self.weight = UninitializedParameter(device=fk[1], dtype=fk[0])
        if bias:
            self.bias = UninitializedParameter(device=fk[1], dtype=fk[0])

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def _sizes_from_parameters(self):
        self.in_features = self.weight.shape[1]

    def initialize_parameters(self, input, *args, **kwargs):
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self._materialize({"weight": (self.out_features, self.in_features), "bias": (self.out_features,)})


class _LazyConvMixin(LazyModuleMixin):
    """Shared by the lazy convolutions: in_channels from dim 1 of a batch (dim 0 unbatched)."""

    def _lazy_init(self, out_channels, bias):
        self.out_channels = out_channels
        dtype, device = self.weight.dtype, self.weight.device
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _sizes_from_parameters(self):
        w = self.weight
        self.in_channels = w.shape[0] if self.transposed else w.shape[1] * self.groups

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        nd = len(self.kernel_size)
        self.in_channels = input.shape[0] if input.ndim == nd + 1 else input.shape[1]
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if self.transposed:
            wshape = (self.in_channels, self.out_channels // self.groups) + tuple(self.kernel_size)
        else:
            wshape = (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel_size)
        self._materialize({"weight": wshape, "bias": (self.out_channels,)})


def _lazy_conv(regular, transposed):
    """The lazy class of a (transposed) convolution: the regular one's arguments, less in_channels."""
    if transposed:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                     dilation=1, padding_mode="zeros", device=None, dtype=None):
            regular.__init__(self, 0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
                             padding_mode, device, dtype)
            self._lazy_init(out_channels, bias)
    else:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                     padding_mode="zeros", device=None, dtype=None):
            regular.__init__(self, 0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode,
                             device, dtype)
            self._lazy_init(out_channels, bias)
    name = "Lazy" + regular.__name__
    doc = f"``{name}(out_channels, kernel_size, ...)``: a {regular.__name__} whose in_channels comes from its first input."
    cls = type(name, (_LazyConvMixin, regular), {"__init__": __init__, "cls_to_become": regular, "__doc__": doc,
                                                 "__module__": __name__})
    # LazyModuleMixin.__init__ registers the hook; the regular __init__ is called directly above
    cls.__init__ = _with_hook(cls.__init__)
    return cls


def _with_hook(init):
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters)
    __init__.__doc__ = init.__doc__
    return __init__


LazyConv1d = _lazy_conv(Conv1d, False)
LazyConv2d = _lazy_conv(Conv2d, False)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d, True)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d, True)
LazyConv3d = _lazy_conv(Conv3d, False)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d, True)


class _LazyNormMixin(LazyModuleMixin):
    """Shared by the lazy batch and instance norms: num_features from dim 1 (dim 0 unbatched)."""

    _unbatched_ndim = None

    def _lazy_init(self, affine, track_running_stats):
        ref = self.weight if affine else self.running_mean if track_running_stats else None
        fk = {} if ref is None else {"dtype": ref.dtype, "device": ref.device}
        if affine:
            self.weight = UninitializedParameter(**fk)
            self.bias = UninitializedParameter(**fk)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**fk)
            self.running_var = UninitializedBuffer(**fk)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _sizes_from_parameters(self):
        for t in (self.weight, self.running_mean):
            if t is not None:
                self.num_features = t.shape[0]
                return

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[0] if input.ndim == self._unbatched_ndim else input.shape[1]
        shape = (self.num_features,)
        self._materialize({"weight": shape, "bias": shape, "running_mean": shape, "running_var": shape})


def _lazy_norm(regular, affine_default, stats_default, unbatched_ndim):
    def __init__(self, eps=1e-5, momentum=0.1, affine=affine_default, track_running_stats=stats_default,
                 device=None, dtype=None):
        regular.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype)
        self._lazy_init(affine, track_running_stats)
    name = "Lazy" + regular.__name__
    doc = f"``{name}(eps=1e-5, momentum=0.1, ...)``: a {regular.__name__} whose num_features comes from its first input."
    cls = type(name, (_LazyNormMixin, regular), {"__init__": __init__, "cls_to_become": regular, "__doc__": doc,
                                                 "_unbatched_ndim": unbatched_ndim, "__module__": __name__})
    cls.__init__ = _with_hook(cls.__init__)
    return cls


LazyBatchNorm1d = _lazy_norm(BatchNorm1d, True, True, None)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, True, True, None)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, True, True, None)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, True, True, 2)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, True, True, 3)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, True, True, 4)
