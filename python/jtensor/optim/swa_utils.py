"""`jt.optim.swa_utils`: stochastic weight averaging and exponential moving averages of a model,
as torch.optim.swa_utils.

`AveragedModel(model)` keeps a copy of `model` whose parameters are a running average of the
model's (equal weights by default, or `avg_fn`/`multi_avg_fn`, e.g. the EMA functions below), fed by
`update_parameters(model)` after optimizer steps; `SWALR` anneals each group's rate to a constant
`swa_lr`; `update_bn` recomputes batch-norm statistics for the averaged weights with one pass over
the data.
"""
import copy
import itertools
import math

from .. import no_grad, tensor, int64
from ..nn.module import Module
from .lr_scheduler import LRScheduler

__all__ = ["AveragedModel", "SWALR", "update_bn", "get_ema_avg_fn", "get_swa_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn"]


def get_swa_avg_fn():
    """The equal-weight running mean: averaged + (current - averaged) / (n + 1)."""
    def swa_update(averaged, current, num_averaged):
        return averaged + (current - averaged) / (int(num_averaged) + 1)
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """The exponential moving average: decay * averaged + (1 - decay) * current."""
    def ema_update(averaged, current, num_averaged):
        return decay * averaged + (1 - decay) * current
    return ema_update


def get_swa_multi_avg_fn():
    """`get_swa_avg_fn` over lists of tensors, in place."""
    one = get_swa_avg_fn()

    def swa_update(averaged, current, num_averaged):
        for a, c in zip(averaged, current):
            a.copy_(one(a, c, num_averaged))
    return swa_update


def get_ema_multi_avg_fn(decay=0.999):
    """`get_ema_avg_fn` over lists of tensors, in place."""
    def ema_update(averaged, current, num_averaged):
        for a, c in zip(averaged, current):
            a.lerp_(c, 1 - decay)
    return ema_update


class AveragedModel(Module):
    """A deep copy of `model` whose parameters (and buffers too, with `use_buffers`) are averaged
    over the models passed to `update_parameters`; calling it runs the copy."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def _tensors(self, model):
        if self.use_buffers:
            return list(itertools.chain(model.parameters(), model.buffers()))
        return list(model.parameters())

    def update_parameters(self, model):
        """Fold `model`'s current values into the average (the first call copies them)."""
        ours = [t.detach() for t in self._tensors(self.module)]
        theirs = [t.detach().to(a.device) for a, t in zip(ours, self._tensors(model))]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, c in zip(ours, theirs):
                    a.copy_(c)
            elif self.avg_fn is not None:
                for a, c in zip(ours, theirs):
                    a.copy_(self.avg_fn(a, c, self.n_averaged))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(ours, theirs, self.n_averaged)
            if not self.use_buffers:   # buffers follow the model (batch-norm statistics: see update_bn)
                for b, c in zip(self.module.buffers(), model.buffers()):
                    b.detach().copy_(c.detach().to(b.device))
            self.n_averaged.add_(1)


def update_bn(loader, model, device=None):
    """Recompute the running statistics of every batch-norm layer of `model` with one pass over
    `loader` (batches, or (input, ...) tuples/lists whose first item is the input), as a cumulative
    average (momentum None); the layers' momenta are restored afterwards."""
    from ..nn.modules.normalization import _BatchNorm
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate from its current value to `swa_lr` over `anneal_epochs`
    steps ('cos' or 'linear'), then hold it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(optimizer.param_groups)
        if len(lrs) != len(optimizer.param_groups):
            raise ValueError(f"swa_lr must have the same length as optimizer.param_groups: swa_lr has {len(lrs)}, "
                             f"optimizer.param_groups has {len(optimizer.param_groups)}")
        for group, lr in zip(optimizer.param_groups, lrs):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _rate_before(lr, swa_lr, alpha):
        """The rate the annealing started from, given the current one at progress `alpha`."""
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        self._warn_if_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        before = self.anneal_func(max(0.0, min(1.0, (step - 1) / span)))
        now = self.anneal_func(max(0.0, min(1.0, step / span)))
        out = []
        for group in self.optimizer.param_groups:
            start = self._rate_before(group["lr"], group["swa_lr"], before)
            out.append(group["swa_lr"] * now + start * (1 - now))
        return out
