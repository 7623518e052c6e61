"""The Optimizer base: parameter groups, per-parameter state, zero_grad and (de)serialisation,
with PyTorch's state_dict layout (state keyed by parameter index, groups listing indices)."""
from ..autograd import no_grad
from .._tensor import Tensor


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: subclasses set `defaults` and implement `_update(group, param, state)`, or
    `_update_group(group, params)` to update a group's parameters in one fused call."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for g in params:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.is_leaf:
                raise ValueError("optimizer can only optimize leaf Tensors")
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
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
        """Apply one update to every parameter that has a gradient; returns closure() if given."""
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
                params.append(p)
            if params:
                self._update_group(group, params)
        return loss

    def _update_group(self, group, params):
        """Update `params` (those of `group` with a gradient); by default one `_update` each."""
        for p in params:
            self._update(group, p, self.state.setdefault(p, {}))

    def _update(self, group, p, state):
        raise NotImplementedError

    # -- serialisation --------------------------------------------------------------------------
    def state_dict(self):
        index = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        params = []
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
            params.extend(zip(theirs["params"], mine["params"]))
        by_index = dict(params)
        self.state = {}
        for idx, s in state_dict["state"].items():
            p = by_index[int(idx)]
            self.state[p] = {k: (v.to(p.dtype).clone() if isinstance(v, Tensor) and v.is_floating_point() else v)
                             for k, v in s.items()}
        for mine, theirs in zip(self.param_groups, groups):
            for k, v in theirs.items():
                if k != "params":
                    mine[k] = v

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


def fused(name):
    from ..registry import REGISTRY
    return REGISTRY.ops[name].fn
