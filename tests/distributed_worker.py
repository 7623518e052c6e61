"""One rank of the multi-process runs of tests/test_distributed.py (started as a fresh process per
rank, as torchrun starts them: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT in the environment).

    python tests/distributed_worker.py SCENARIO OUTDIR

writes what the scenario returns to OUTDIR/rank<R>.pkl (or the exception it raised, with the
seconds it took). The test process compares: collectives against torch.distributed's own results
on the same values (computed here, on torch tensors) and against NumPy, DDP against one process
trained on the combined batch (`train`, which the test also calls).
"""
import datetime
import os
import warnings
import pickle
import sys
import time
import traceback

import numpy as np

import jtensor as jt
import jtensor.distributed as dist

warnings.filterwarnings("ignore", category=FutureWarning)   # torch's renamed collectives, called as oracles

# jt dtype name -> (torch dtype name, reduce ops torch.distributed's gloo supports for it)
GLOO_DTYPES = {
    "bool": ["SUM", "MAX", "MIN", "PRODUCT"],
    "int8": ["SUM", "MAX", "MIN", "PRODUCT", "BAND", "BOR", "BXOR"],
    "uint8": ["SUM", "MAX", "MIN", "PRODUCT", "BAND", "BOR", "BXOR"],
    "int32": ["SUM", "MAX", "MIN", "PRODUCT", "BAND", "BOR", "BXOR"],
    "int64": ["SUM", "MAX", "MIN", "PRODUCT", "BAND", "BOR", "BXOR"],
    "float16": ["SUM", "AVG", "MAX", "MIN", "PRODUCT"],
    "bfloat16": ["SUM", "AVG", "MAX", "MIN", "PRODUCT"],
    "float32": ["SUM", "AVG", "MAX", "MIN", "PRODUCT"],
    "float64": ["SUM", "AVG", "MAX", "MIN", "PRODUCT"],
    "complex64": ["SUM", "AVG"],
    "complex128": ["SUM", "AVG"],
}


def values(dtype, rank, n=6):
    """Rank `rank`'s test values as a list (distinct per rank, exact in every dtype)."""
    base = np.arange(n) + 1 + 2 * rank
    if dtype == "bool":
        return ((np.arange(n) + rank) % 3 == 0).tolist()
    if dtype.startswith("complex"):
        return (base + 1j * (base % 4)).tolist()
    if dtype in ("float16", "bfloat16", "float32", "float64"):
        return (base * 0.5).tolist()
    return base.tolist()


# ---- collectives -------------------------------------------------------------------------------------

def both(dtype, data, shape=None):
    """The same values as a jt tensor and a torch tensor."""
    import torch
    t = jt.tensor(data, dtype=getattr(jt, dtype))
    o = torch.tensor(data, dtype=getattr(torch, dtype))
    if shape is not None:
        t, o = t.reshape(shape), o.reshape(shape)
    return t, o


def plain(x):
    """Nested lists of Python numbers, from a jt or a torch tensor."""
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if str(x.dtype).endswith("bfloat16") or str(x.dtype).endswith("float16"):
        x = x.float()
    return x.tolist()


def pair(jt_call, torch_call, jt_result, torch_result):
    """(jt outcome, torch outcome): the results, or for a call the backend refuses (gloo gathers
    no complex numbers) torch's message, which jt's error must end with."""
    outcomes = []
    for call, result in ((jt_call, jt_result), (torch_call, torch_result)):
        try:
            call()
            outcomes.append(None if result is None else plain(result))
        except RuntimeError as e:
            outcomes.append(("error", str(e).rsplit("failed: ", 1)[-1]))
    return tuple(outcomes)


def collectives(rank, world):
    """Every collective for every gloo dtype, jt beside torch on the same values; returns
    {check name: (jt result, torch result)} plus a few direct facts."""
    import torch
    import torch.distributed as tdist
    out = {}
    last = world - 1
    for dtype, ops in GLOO_DTYPES.items():
        mine = values(dtype, rank)
        for op in ops:
            if dtype == "bool" and op != "SUM" and op != "MAX":
                continue      # MIN/PRODUCT on bool: same code path; keep the run short
            t, o = both(dtype, mine, (2, 3))
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            tdist.all_reduce(o, op=getattr(tdist.ReduceOp, op))
            out[f"all_reduce/{dtype}/{op}"] = (plain(t), plain(o))
        t, o = both(dtype, mine, (2, 3))
        dist.broadcast(t, src=last)
        tdist.broadcast(o, src=last)
        out[f"broadcast/{dtype}"] = (plain(t), plain(o))
        t, o = both(dtype, mine)
        tl = [jt.zeros(6, dtype=getattr(jt, dtype)) for _ in range(world)]
        ol = [torch.zeros(6, dtype=getattr(torch, dtype)) for _ in range(world)]
        dist.all_gather(tl, t)
        tdist.all_gather(ol, o)
        out[f"all_gather/{dtype}"] = (plain(tl), plain(ol))
        big = jt.zeros(world * 6, dtype=getattr(jt, dtype))
        stacked = jt.zeros(world, 6, dtype=getattr(jt, dtype))
        dist.all_gather_into_tensor(big, t)
        dist.all_gather_into_tensor(stacked, t)
        out[f"all_gather_into_tensor/{dtype}"] = ([plain(big), plain(stacked.reshape(-1))], [plain(torch.cat(ol))] * 2)
        t, o = both(dtype, values(dtype, rank, 6 * world))
        tr, orr = jt.zeros(6, dtype=getattr(jt, dtype)), torch.zeros(6, dtype=getattr(torch, dtype))
        dist.reduce_scatter_tensor(tr, t)
        tdist.reduce_scatter_tensor(orr, o)
        out[f"reduce_scatter_tensor/{dtype}"] = (plain(tr), plain(orr))
        op = "MAX" if "MAX" in ops else "SUM"
        t, o = both(dtype, mine)
        out[f"reduce/{dtype}"] = pair(lambda: dist.reduce(t, dst=0, op=getattr(dist.ReduceOp, op)),
                                      lambda: tdist.reduce(o, dst=0, op=getattr(tdist.ReduceOp, op)),
                                      t if rank == 0 else None, o if rank == 0 else None)
        t, o = both(dtype, mine)
        tl = [jt.zeros(6, dtype=getattr(jt, dtype)) for _ in range(world)] if rank == 0 else None
        ol = [torch.zeros(6, dtype=getattr(torch, dtype)) for _ in range(world)] if rank == 0 else None
        out[f"gather/{dtype}"] = pair(lambda: dist.gather(t, tl, dst=0), lambda: tdist.gather(o, ol, dst=0), tl, ol)
        t, o = jt.zeros(6, dtype=getattr(jt, dtype)), torch.zeros(6, dtype=getattr(torch, dtype))
        src = [both(dtype, values(dtype, 10 + r)) for r in range(world)] if rank == 0 else None
        out[f"scatter/{dtype}"] = pair(lambda: dist.scatter(t, [s[0] for s in src] if src else None, src=0),
                                       lambda: tdist.scatter(o, [s[1] for s in src] if src else None, src=0), t, o)
        # point to point, around the ring
        t = jt.tensor(mine, dtype=getattr(jt, dtype))
        r = jt.zeros(6, dtype=getattr(jt, dtype))
        if rank % 2 == 0:
            dist.send(t, dst=(rank + 1) % world)
            sender = dist.recv(r, src=(rank - 1) % world)
        else:
            sender = dist.recv(r, src=(rank - 1) % world)
            dist.send(t, dst=(rank + 1) % world)
        out[f"send_recv/{dtype}"] = ([plain(r), sender], [values(dtype, (rank - 1) % world), (rank - 1) % world])
    # int16: gloo cannot reduce it; the error names the call
    try:
        dist.all_reduce(jt.ones(3, dtype=jt.int16))
        out["int16_error"] = None
    except RuntimeError as e:
        out["int16_error"] = (type(e).__name__, str(e))
    out.update(async_and_views(rank, world))
    return out


def async_and_views(rank, world):
    """async_op handles, strided and negative-stride views, isend/irecv, barrier, subgroups, objects."""
    import torch
    import torch.distributed as tdist
    out = {}
    t = jt.full((1000,), float(rank + 1), dtype=jt.float32)
    work = dist.all_reduce(t, async_op=True)
    out["async_wait"] = work.wait()
    out["async"] = (t[:3].tolist(), [sum(range(1, world + 1))] * 3)
    out["async_completed"] = work.is_completed()
    # a strided view (every other column): reduced in place, the other columns untouched
    base = jt.arange(12, dtype=jt.float64).reshape(3, 4) + rank
    dist.all_reduce(base[:, ::2])
    ob = torch.arange(12, dtype=torch.float64).reshape(3, 4) + rank
    tdist.all_reduce(ob[:, ::2])
    out["strided"] = (base.tolist(), ob.tolist())
    # a negative-stride view crosses as a copy; the result is written back through the view
    flipped = jt.arange(6, dtype=jt.float64) + 10 * rank
    view = flipped[::-1]
    dist.all_reduce(view)
    expect = (np.arange(6) * world + 10 * sum(range(world))).tolist()
    out["negative_strides"] = (flipped.tolist(), expect)
    # version counter: an in-place write through a collective advances it, as any in-place op
    v = jt.ones(3)
    before = v._version[0]
    dist.broadcast(v, src=0)
    out["version_bumped"] = v._version[0] > before
    # isend / irecv
    s = jt.full((4,), float(rank))
    r = jt.zeros(4)
    works = [dist.isend(s, dst=(rank + 1) % world), dist.irecv(r, src=(rank - 1) % world)]
    for w in works:
        w.wait()
    out["isend_irecv"] = (r.tolist(), [float((rank - 1) % world)] * 4)
    out["barrier"] = dist.barrier()
    # a group of rank 0 alone: size 1, so the collective is a no-op there
    g = dist.new_group([0])
    if rank == 0:
        z = jt.ones(2)
        dist.all_reduce(z, group=g)
        out["subgroup"] = (z.tolist(), dist.get_world_size(g))
    objs = [None] * world
    dist.all_gather_object(objs, {"rank": rank, "t": jt.tensor([rank])})
    out["objects"] = ([o["rank"] for o in objs], [o["t"].tolist() for o in objs])
    # read-only destination
    frozen = np.ones(3, np.float32)
    frozen.flags.writeable = False
    try:
        dist.all_reduce(jt.from_dlpack(frozen))
        out["readonly"] = None
    except ValueError as e:
        out["readonly"] = str(e)
    # the sampler reads the world from the default group
    sampler = jt.utils.data.distributed.DistributedSampler(list(range(11)))
    sampler.set_epoch(3)
    out["sampler"] = list(sampler)
    return out


# ---- DistributedDataParallel ---------------------------------------------------------------------------

B = 4           # per-rank batch
STEPS = 3


class TwoHeads(jt.nn.Module):
    """An MLP with two heads; `use_other=True` leaves `head` unused (find_unused_parameters)."""

    def __init__(self):
        super().__init__()
        self.body = jt.nn.Sequential(jt.nn.Linear(5, 16, dtype=jt.float64), jt.nn.Tanh(),
                                     jt.nn.Linear(16, 8, dtype=jt.float64), jt.nn.Tanh())
        self.head = jt.nn.Linear(8, 3, dtype=jt.float64)
        self.other = jt.nn.Linear(8, 3, dtype=jt.float64)

    def forward(self, x, use_other=False):
        h = self.body(x)
        return self.other(h) if use_other else self.head(h) + 0.5 * self.other(h)


def batch(step, micro, rows, start):
    """Rows [start, start + rows) of the global batch of (step, micro)."""
    rng = np.random.default_rng(1000 * step + micro)
    x = rng.standard_normal((64, 5))
    y = rng.integers(0, 3, 64)
    return jt.tensor(x[start:start + rows]), jt.tensor(y[start:start + rows])


def train(config, rank=0, world=1):
    """Train TwoHeads for STEPS steps; returns the final parameters (name -> nested lists) and the
    names whose .grad is None at the end (with find_unused: after the step no rank used `head`). With world > 1 it runs under DDP on rows
    [rank*B, (rank+1)*B) of each global batch; with world == 1 (the reference) on all
    `config['ranks'] * B` rows, without DDP."""
    jt.manual_seed(rank)        # different initial weights per rank: DDP must broadcast rank 0's
    model = TwoHeads()
    rows, start = (B, rank * B) if world > 1 else (config["ranks"] * B, 0)
    net = model
    if world > 1:
        net = jt.nn.parallel.DistributedDataParallel(
            model, bucket_cap_mb=config.get("bucket_cap_mb"), find_unused_parameters=config.get("find_unused", False),
            gradient_as_bucket_view=config.get("as_view", False))
    params = list(net.parameters())
    opt = (jt.optim.Adam(params, lr=0.05) if config["optim"] == "adam" else jt.optim.SGD(params, lr=0.3, momentum=0.5))
    F = jt.nn.functional
    micro = config.get("accumulate", 1)
    for step in range(STEPS):
        opt.zero_grad()
        for k in range(micro):
            if world > 1:
                x, y = batch(step, k, rows, start)
                ctx = net.no_sync() if k < micro - 1 else _nullcontext()
                with ctx:
                    loss = F.cross_entropy(net(x), y) / micro
                    loss.backward()
            else:        # the reference: the micro-batches' rows of every rank, as one batch
                xs, ys = zip(*(batch(step, k, B, r * B) for r in range(config["ranks"])))
                loss = F.cross_entropy(net(jt.cat(xs)), jt.cat(ys)) / micro
                loss.backward()
        opt.step()
    if config.get("find_unused"):      # one more step where no rank uses `head`: its .grad stays None
        opt.zero_grad()
        x, y = batch(99, 0, rows, start) if world > 1 else (lambda p: (jt.cat(p[0]), jt.cat(p[1])))(
            list(zip(*(batch(99, 0, B, r * B) for r in range(config["ranks"])))))
        F.cross_entropy(net(x, use_other=True), y).backward()
        opt.step()
        no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
        # and one where only the last rank leaves `head` unused: its gradient is the mean of the
        # other ranks' and zero (as one process on the sum of the per-rank mean losses)
        opt.zero_grad()
        last = config["ranks"] - 1
        if world > 1:
            x, y = batch(98, 0, rows, start)
            F.cross_entropy(net(x, use_other=rank == last), y).backward()
        else:
            losses = [F.cross_entropy(net(*batch(98, 0, B, r * B)[:1], use_other=r == last), batch(98, 0, B, r * B)[1])
                      for r in range(config["ranks"])]
            (sum(losses[1:], losses[0]) / config["ranks"]).backward()
        opt.step()
    else:
        no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    return {n: p.detach().tolist() for n, p in model.named_parameters()}, no_grad


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


DDP_CONFIGS = {
    "sgd": {"optim": "sgd"},
    "adam": {"optim": "adam"},
    "sgd_no_sync": {"optim": "sgd", "accumulate": 2},
    "adam_no_sync": {"optim": "adam", "accumulate": 3},
    "sgd_small_buckets_as_view": {"optim": "sgd", "bucket_cap_mb": 0.0005, "as_view": True},
    "adam_find_unused": {"optim": "adam", "find_unused": True, "bucket_cap_mb": 0.001},
}


def ddp(rank, world):
    out = {name: train(dict(cfg, ranks=world), rank, world) for name, cfg in DDP_CONFIGS.items()}
    # a parameter without gradient and no find_unused_parameters: the next forward says so
    model = TwoHeads()
    net = jt.nn.parallel.DistributedDataParallel(model)
    x, y = batch(0, 0, B, rank * B)
    jt.nn.functional.cross_entropy(net(x, use_other=True), y).backward()
    try:
        net(x)
        out["unused_error"] = None
    except RuntimeError as e:
        out["unused_error"] = str(e)
    out["state_dict_keys"] = sorted(net.state_dict())[:2]     # torch's "module." prefix
    out["buckets"] = len(jt.nn.parallel.DistributedDataParallel(TwoHeads(), bucket_cap_mb=0.0005)._buckets)
    out["grad_memory"] = {as_view: grad_memory(rank, as_view) for as_view in (False, True)}
    out["grad_memory_bfloat16"] = grad_memory(rank, False, jt.bfloat16)   # no NumPy dtype: jt's own copies
    return out


def grad_memory(rank, as_view, dtype=None):
    """Where each parameter's averaged ``.grad`` lives after a DDP backward, over two steps
    (zero_grad with set_to_none True, then False, no optimizer step): per step, the names whose
    gradient lies in a bucket's memory, the gradients, and this rank's own gradients of the same
    batch without DDP (name -> nested lists), which the test averages over the ranks. `dtype`:
    the model's and the batch's (default float64)."""
    model = TwoHeads() if dtype is None else TwoHeads().to(dtype)
    net = jt.nn.parallel.DistributedDataParallel(model, gradient_as_bucket_view=as_view)
    alone = TwoHeads() if dtype is None else TwoHeads().to(dtype)
    alone.load_state_dict(model.state_dict())          # rank 0's weights, broadcast by DDP
    spans = [(b.flat.data_ptr(), b.flat.data_ptr() + b.flat.numel() * b.flat.element_size()) for b in net._buckets]
    steps = []
    for step, set_to_none in enumerate((True, False)):
        model.zero_grad(set_to_none=set_to_none)
        alone.zero_grad()
        x, y = batch(50 + step, 0, B, rank * B)
        x = x if dtype is None else x.to(dtype)
        jt.nn.functional.cross_entropy(net(x), y).backward()
        jt.nn.functional.cross_entropy(alone(x), y).backward()
        steps.append({"in_bucket": sorted(n for n, p in model.named_parameters()
                                          if any(lo <= p.grad.data_ptr() < hi for lo, hi in spans)),
                      "grads": {n: p.grad.double().tolist() for n, p in model.named_parameters()},
                      "local": {n: p.grad.double().tolist() for n, p in alone.named_parameters()}})
    return steps


# ---- faults ---------------------------------------------------------------------------------------------

HANG_TIMEOUT = 8      # seconds: the process group timeout of the 'hangs' fault run


def fault(rank, world, how):
    """Rank 1 fails at step 2 (`how`: 'killed' by SIGKILL, 'raises' an exception and exits,
    'hangs' alive without communicating) and writes the time it failed; rank 0 trains with DDP
    until an error reaches it."""
    group = dist.new_group(list(range(world)), timeout=datetime.timedelta(seconds=HANG_TIMEOUT))
    net = jt.nn.parallel.DistributedDataParallel(TwoHeads(), process_group=group)
    opt = jt.optim.SGD(net.parameters(), lr=0.1)
    for step in range(1000):
        if step == 2:
            dist.barrier()         # the default group (long timeout): both ranks are warm here
            if rank == 1:
                with open(os.path.join(OUTDIR, "failed_at"), "w") as f:
                    f.write(repr(time.time()))
                if how == "killed":
                    os.kill(os.getpid(), 9)
                if how == "raises":
                    raise ValueError("rank 1 failed on purpose")
                if how == "hangs":
                    time.sleep(600)
        x, y = batch(step, 0, B, rank * B)
        opt.zero_grad()
        jt.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return "finished"


def main(scenario, outdir):
    global OUTDIR
    OUTDIR = outdir
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    timeout = float(os.environ.get("JT_TEST_TIMEOUT", "60"))
    try:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout))
        if scenario == "collectives":
            result = collectives(rank, world)
        elif scenario == "ddp":
            result = ddp(rank, world)
        elif scenario.startswith("fault_"):
            result = fault(rank, world, scenario[len("fault_"):])
        else:
            raise ValueError(scenario)
        dist.destroy_process_group()
        record = {"ok": result}
    except Exception as e:   # noqa: BLE001  (reported to the test process)
        record = {"error": (type(e).__name__, str(e), traceback.format_exc()), "at": time.time()}
    with open(os.path.join(outdir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(record, f)
    if "error" in record and scenario == "fault_raises" and rank == 1:
        raise SystemExit(1)      # the failed rank exits as a script with an uncaught exception does


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
