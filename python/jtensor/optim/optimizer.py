"""The Optimizer base: parameter groups, per-parameter state, zero_grad, step(closure) and
(de)serialisation in PyTorch's state_dict layout (state keyed by parameter index, groups listing
indices), so that state dicts interchange with ``torch.optim``: PyTorch keeps scalar state such as
``step`` as 0-dim float32 tensors, jtensor keeps it as Python numbers (no op per increment) and
converts at the state_dict boundary; tensors of another library (torch) load through DLPack."""
from collections import defaultdict

from ..autograd import no_grad
from .._tensor import Tensor


# The registry ops (julia/src/ops/optim.jl) that update a parameter and its optimizer state in place,
# under no_grad: tested against torch.optim in tests/test_optim.py, with no derivative and no meta case.
FUSED_STEPS = ("_sgd_step_", "_adam_step_", "_rmsprop_step_", "_adadelta_step_", "_adagrad_step_", "_adamax_step_",
               "_nadam_step_", "_radam_step_", "_asgd_step_", "_rprop_step_")


class _Required:
    def __getstate__(self):
        """What pickling and deepcopy keep (as torch): the defaults, the state and the groups, not
        per-instance wrappers such as a scheduler's around ``step``."""
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: subclasses set `defaults` and implement `_update(group, param, state)`, or
    `_update_group(group, params)` to update a group's parameters in one fused call.

    `_scalar_state` names the state entries held as Python numbers here and as 0-dim float32
    tensors in a state_dict (PyTorch's layout)."""

    _scalar_state = ("step",)

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got jtensor.Tensor")
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for g in params:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a group (a dict with "params" and any per-group options; the rest from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        ps = group["params"]
        if isinstance(ps, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        if ps and all(isinstance(p, tuple) and len(p) == 2 for p in ps):   # named parameters
            group["param_names"] = [name for name, _ in ps]
            ps = [p for _, p in ps]
        group["params"] = ps
        for p in ps:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in ps}) != len(ps) or any(id(p) in seen for p in ps):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad = p.grad.detach()
                        p.grad.zero_()

    @no_grad()
    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; returns closure() if given
        (the closure runs with grad enabled, before the update)."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_complex():
                    raise NotImplementedError(f"{type(self).__name__}: complex parameters are not supported")
                p._check_writable(f"{type(self).__name__}.step")   # before any parameter changes
                if not p.grad.is_contiguous():   # the fused kernels read the gradient as one array
                    p.grad = p.grad.contiguous()
                params.append(p)
            if params:
                self._update_group(group, params)
        return loss

    def _update_group(self, group, params):
        """Update `params` (those of `group` with a gradient); by default one `_update` each."""
        for p in params:
            self._update(group, p, self.state[p])
            p._bump()   # written in place: autograd's version checks must see it

    def _update(self, group, p, state):
        raise NotImplementedError

    # -- serialisation --------------------------------------------------------------------------
    def state_dict(self):
        """PyTorch's layout: {'state': {index: {...}}, 'param_groups': [{..., 'params': [index...]}]};
        scalar state (``step``...) as 0-dim float32 tensors, as torch.optim writes it."""
        index = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: (scalar_state(v) if k in self._scalar_state and isinstance(v, (int, float))
                                           else v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state dict of this layout, from jtensor or from ``torch.optim`` (torch tensors are
        copied in through DLPack); floating state is cast to its parameter's dtype, as torch does."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        params = []
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
            params.extend(zip(theirs["params"], mine["params"]))
        by_index = dict(params)
        self.state = defaultdict(dict)
        for idx, s in state_dict["state"].items():
            p = by_index[int(idx)]
            self.state[p] = {k: self._load_value(p, k, v) for k, v in s.items()}
        for mine, theirs in zip(self.param_groups, groups):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = v

    def _load_value(self, p, key, value):
        """A state entry as this optimizer holds it: scalar state as a Python number, tensors as
        jtensor copies (floating ones in `p`'s dtype), lists and dicts entry by entry."""
        if not isinstance(value, Tensor) and hasattr(value, "__dlpack__"):
            from ..dlpack import from_dlpack
            value = from_dlpack(value.detach() if hasattr(value, "detach") else value)
        if isinstance(value, Tensor):
            if key in self._scalar_state and value.numel() == 1:
                v = value.item()
                return int(v) if key == "step" and float(v).is_integer() else v
            return value.to(p.dtype).clone() if value.is_floating_point() else value.clone()
        if isinstance(value, dict):
            return {k: self._load_value(p, k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._load_value(p, key, v) for v in value)
        return value

    def __getstate__(self):
        """What pickling and deepcopy keep (as torch): the defaults, the state and the groups, not
        per-instance wrappers such as a scheduler's around ``step``."""
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def zeros_state(p):
    from ..creation import zeros_like
    return zeros_like(p)


def scalar_state(x):
    """A 0-dim float32 tensor holding `x`: the form of torch's scalar state other than ``step``
    (NAdam's ``mu_product``, ASGD's ``eta``), whose float32 rounding shows in the updates."""
    from .. import dtypes
    from .._tensor import tensor
    return tensor(float(x), dtype=dtypes.float32)


def check_options(name, *, lr=0.0, eps=0.0, weight_decay=0.0, betas=None, differentiable=False):
    """PyTorch's argument checks (ValueError with its messages); `differentiable=True` (autograd
    through the step) is not supported."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if betas is not None:
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True (autograd through the update) is not supported")


def weight_decay_terms(group):
    """(decay, l2) for the fused kernels: with `decoupled_weight_decay` (AdamW style) the parameter
    is first multiplied by decay = 1 - lr * weight_decay; otherwise l2 = weight_decay adds to the gradient."""
    wd = float(group["weight_decay"])
    if group["decoupled_weight_decay"]:
        return 1.0 - group["lr"] * wd, 0.0
    return 1.0, wd


def count_step(state, p, buffers=()):
    """Count one step in `state` and return the count; on the first call also create the state as
    torch does: ``step`` 0 and zero tensors like `p` named by `buffers`."""
    if "step" not in state:
        state["step"] = 0
        for name in buffers:
            state[name] = zeros_state(p)
    state["step"] += 1
    return state["step"]


def fused(name):
    from ..registry import REGISTRY
    return REGISTRY.ops[name].fn
