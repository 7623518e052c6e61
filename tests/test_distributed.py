"""jt.distributed, DistributedDataParallel, DistributedSampler and launching (docs/distributed.md).

Multi-process checks run as a few process groups on loopback, started once for the module in
two waves (each rank a fresh process with RANK/WORLD_SIZE/MASTER_* set, as torchrun
starts them; tests/distributed_worker.py is the rank's program): every collective for every gloo
dtype against torch.distributed's own result on the same values, DDP on 2 ranks against one
process on the combined batch, three faults (a rank killed, one raising, one hanging), and
examples/train_digits_ddp.py on one process and, through ``python -m jtensor.distributed.run``
(torchrun), on two. World
size 1, the missing-torch error and the sampler's shards are checked in this process.
"""
import datetime
import json
import os
import pickle
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import jtensor as jt
import jtensor.distributed as dist
import distributed_worker as worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "distributed_worker.py")
EXAMPLE = os.path.join(ROOT, "examples", "train_digits_ddp.py")
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(jt.__file__)))   # the jtensor under test
RUNS = {"collectives": 2, "ddp": 2, "fault_killed": 2, "fault_raises": 2, "fault_hangs": 2}
DEADLINE = 480      # seconds for all runs together (they start at once on a 2-core machine)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(rank, world, port):
    return {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "PYTHONPATH": PYTHON_DIR,
            "JTENSOR_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "JT_TEST_TIMEOUT": "240"}


def start_group(scenario, world, d):
    """The `world` ranks of `scenario`, logging into folder `d`: [(scenario, rank, Popen)]."""
    port = free_port()
    procs = []
    for r in range(world):
        log = open(os.path.join(d, f"log{r}"), "w")
        procs.append((scenario, r, subprocess.Popen([sys.executable, WORKER, scenario, d], stdout=log,
                                                    stderr=subprocess.STDOUT, env=rank_env(r, world, port))))
    return procs


def start_examples(d):
    """The example on one process, and through `python -m jtensor.distributed.run` (torchrun) on two."""
    env = {**rank_env(0, 1, 0), "JTENSOR_NUM_THREADS": "1"}
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k)
    procs = []
    for name, launch in (("one", []), ("two", ["-m", "jtensor.distributed.run", "--nproc_per_node=2",
                                              f"--master_port={free_port()}"])):
        log = open(os.path.join(d, f"{name}.log"), "w")
        procs.append((f"example_{name}", 0, subprocess.Popen(
            [sys.executable, *launch, EXAMPLE, "--quick", "--out", os.path.join(d, f"{name}.json")],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=d)))
    return procs


def finish(procs, deadline):
    """Wait for `procs` (not the hanging rank, which waits to be killed), then kill what is left."""
    try:
        for scenario, r, p in procs:
            if scenario == "fault_hangs" and r == 1:
                continue
            p.wait(timeout=max(1, deadline - time.time()))
    finally:
        for _, _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{scenario: {"ranks": [record per rank or None], "dir": path, "world": n}}. The groups run in
    two waves of at most 8 processes (CI has 2 cores and little memory): the DDP run beside the
    three fault runs (mostly waiting), then the collectives beside the example."""
    out = {name: {"dir": str(tmp_path_factory.mktemp(name)), "world": RUNS.get(name, 0)}
           for name in list(RUNS) + ["example"]}
    deadline = time.time() + DEADLINE
    for wave in (["ddp", "fault_killed", "fault_raises", "fault_hangs"], ["collectives", "example"]):
        procs = []
        for name in wave:
            procs += (start_examples(out[name]["dir"]) if name == "example"
                      else start_group(name, RUNS[name], out[name]["dir"]))
        finish(procs, deadline)
    for info in out.values():
        info["ranks"] = []
        for r in range(info["world"]):
            path = os.path.join(info["dir"], f"rank{r}.pkl")
            info["ranks"].append(pickle.load(open(path, "rb")) if os.path.exists(path) else None)
    return out


def ok(runs, scenario):
    """Each rank's result; a rank that failed shows its traceback and log."""
    results = []
    for r, rec in enumerate(runs[scenario]["ranks"]):
        if rec is None or "error" in rec:
            log = open(os.path.join(runs[scenario]["dir"], f"log{r}")).read()[-3000:]
            pytest.fail(f"{scenario} rank {r} failed: {rec and rec['error'][2]}\n{log}")
        results.append(rec["ok"])
    return results


# ---- collectives ---------------------------------------------------------------------------------------

def test_every_collective_equals_torch_distributed(runs):
    for rank, res in enumerate(ok(runs, "collectives")):
        pairs = {k: v for k, v in res.items() if "/" in k}
        assert len(pairs) > 100
        for name, (got, expected) in pairs.items():
            assert got == expected, f"rank {rank}: {name}"
        # and against NumPy where the values are plain numbers
        vals = [np.array(worker.values("float64", r)) for r in range(2)]
        assert res["all_reduce/float64/SUM"][0] == (vals[0] + vals[1]).reshape(2, 3).tolist()
        assert res["all_reduce/float64/AVG"][0] == ((vals[0] + vals[1]) / 2).reshape(2, 3).tolist()
        assert res["all_reduce/int64/PRODUCT"][0] == (np.array(worker.values("int64", 0))
                                                      * np.array(worker.values("int64", 1))).reshape(2, 3).tolist()
        assert res["broadcast/float64"][0] == vals[1].reshape(2, 3).tolist()
        assert res["all_gather/int32"][0] == [worker.values("int32", 0), worker.values("int32", 1)]


def test_async_views_subgroups_and_errors(runs):
    for rank, res in enumerate(ok(runs, "collectives")):
        for name in ("async", "strided", "negative_strides", "isend_irecv"):
            assert res[name][0] == res[name][1], f"rank {rank}: {name}"
        assert res["async_wait"] is True and res["async_completed"] is True
        assert res["version_bumped"] and res["barrier"] is None
        assert res["objects"] == ([0, 1], [[0], [1]])
        kind, msg = res["int16_error"]
        assert kind == "RuntimeError" and "jt.distributed.all_reduce((3,) int16)" in msg and f"rank {rank} of 2" in msg
        assert "read-only" in res["readonly"]
    assert ok(runs, "collectives")[0]["subgroup"] == ([1.0, 1.0], 1)


def test_sampler_in_a_job_reads_the_group(runs):
    shards = [res["sampler"] for res in ok(runs, "collectives")]
    for r, shard in enumerate(shards):       # the world size and rank came from the default group
        s = jt.utils.data.distributed.DistributedSampler(list(range(11)), num_replicas=2, rank=r)
        s.set_epoch(3)
        assert shard == list(s) and len(shard) == 6
    assert set(shards[0]) | set(shards[1]) == set(range(11))


# ---- DistributedDataParallel ---------------------------------------------------------------------------

@pytest.mark.parametrize("config", list(worker.DDP_CONFIGS))
def test_ddp_on_two_ranks_equals_one_process_on_the_combined_batch(runs, config):
    ref_params, ref_none = worker.train(dict(worker.DDP_CONFIGS[config], ranks=2))
    for rank, res in enumerate(ok(runs, "ddp")):
        params, none = res[config]
        assert none == ref_none
        for name, value in ref_params.items():
            np.testing.assert_allclose(params[name], value, rtol=0, atol=1e-10, err_msg=f"rank {rank} {name}")


def test_ddp_unused_parameter_error_and_state_dict(runs):
    for rank, res in enumerate(ok(runs, "ddp")):
        assert res["unused_error"].startswith("Expected to have finished reduction in the prior iteration")
        assert "other.weight" not in res["unused_error"] and "head.weight" in res["unused_error"]
        assert res["state_dict_keys"] == ["module.body.0.bias", "module.body.0.weight"]
        assert res["buckets"] > 2


@pytest.mark.parametrize("as_view, dtype", [(False, "float64"), (True, "float64"), (False, "bfloat16")])
def test_ddp_gradients_live_in_the_bucket_only_as_bucket_views(runs, as_view, dtype):
    """gradient_as_bucket_view=False (PyTorch's default): the averaged gradients are copied back
    into .grad tensors of their own; True: each .grad is its slot of the bucket. Either way, and
    after zero_grad(set_to_none=False) too, .grad is the mean of the ranks' own gradients. bfloat16
    (no NumPy dtype) takes jt's own copies instead of NumPy's; its sum rounds once more."""
    key, atol = ("grad_memory", 1e-12) if dtype == "float64" else ("grad_memory_bfloat16", 2e-2)
    ranks = [res[key] if dtype != "float64" else res[key][as_view] for res in ok(runs, "ddp")]
    names = sorted(ranks[0][0]["grads"])
    for step in range(2):
        for rank, steps in enumerate(ranks):
            assert steps[step]["in_bucket"] == (names if as_view else []), f"rank {rank} step {step}"
            for n in names:
                mean = (np.array(ranks[0][step]["local"][n]) + np.array(ranks[1][step]["local"][n])) / 2
                np.testing.assert_allclose(steps[step]["grads"][n], mean, rtol=1e-2 if atol > 1e-6 else 0,
                                           atol=atol, err_msg=f"rank {rank} step {step} {n}")


def test_ddp_copies_through_numpy_only_where_numpy_holds_the_tensor():
    """The bucket copies go through NumPy arrays over the same memory, except for tensors NumPy
    cannot stand for, which jt's own ops copy."""
    from jtensor.nn.parallel.buckets import plain_memory
    t = jt.zeros(4, 6)
    view = t[1:3, ::2]
    a = plain_memory(view)
    a[...] = 7
    assert view.tolist() == [[7.0] * 3] * 2 and t.sum().item() == 42
    assert plain_memory(jt.zeros(3, dtype=jt.bfloat16)) is None
    assert plain_memory(jt.zeros(3, requires_grad=True)) is None
    assert plain_memory(jt.zeros(3, device="meta")) is None


def test_example_trains_on_two_processes_as_on_one(runs):
    d = runs["example"]["dir"]
    results = {}
    for name in ("one", "two"):
        path = os.path.join(d, f"{name}.json")
        assert os.path.exists(path), open(os.path.join(d, f"{name}.log")).read()[-3000:]
        results[name] = json.load(open(path))
    assert results["one"]["world_size"] == 1 and results["two"]["world_size"] == 2
    # the same global batches: the same model up to float32 rounding, so the same accuracy
    assert abs(results["one"]["test_accuracy"] - results["two"]["test_accuracy"]) <= 0.03
    assert results["two"]["test_accuracy"] > 0.7


# ---- faults ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["killed", "raises", "hangs"])
def test_a_failed_rank_makes_the_other_fail_within_the_timeout(runs, how):
    info = runs[f"fault_{how}"]
    survivor = info["ranks"][0]
    failed_at = float(open(os.path.join(info["dir"], "failed_at")).read())
    assert survivor is not None and "error" in survivor, survivor
    kind, msg, _ = survivor["error"]
    assert kind in ("RuntimeError", "DistBackendError"), msg
    assert "jt.distributed.all_reduce" in msg and "rank 0 of 2" in msg
    waited = survivor["at"] - failed_at
    if how == "hangs":
        assert "Timed out" in msg
        assert worker.HANG_TIMEOUT - 1 <= waited <= worker.HANG_TIMEOUT + 60
    else:
        assert "closed" in msg.lower() or "reset" in msg.lower()
        assert waited <= 60


# ---- in this process: world size 1, no torch, the sampler ------------------------------------------------

def test_world_size_one_is_a_cheap_no_op(tmp_path, monkeypatch):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0, world_size=1,
                            timeout=datetime.timedelta(seconds=30))
    try:
        assert dist.is_initialized() and dist.get_world_size() == 1 and dist.get_rank() == 0

        def refuse(*a, **k):
            raise AssertionError("called torch at world size 1")
        for name in ("all_reduce", "broadcast", "all_gather", "reduce", "barrier", "gather", "scatter"):
            monkeypatch.setattr(torch.distributed, name, refuse)
        x = jt.arange(4.0)
        assert dist.all_reduce(x) is None and x.tolist() == [0.0, 1.0, 2.0, 3.0]
        assert dist.all_reduce(x, async_op=True).wait() is True
        dist.broadcast(x, src=0)
        dist.reduce(x, dst=0)
        dist.barrier()
        out = [jt.zeros(4)]
        dist.all_gather(out, x)
        assert out[0].tolist() == x.tolist()
        big = jt.zeros(1, 4)
        dist.all_gather_into_tensor(big, x)
        small = jt.zeros(4)
        dist.reduce_scatter_tensor(small, x * 2)
        assert big.tolist() == [x.tolist()] and small.tolist() == (x * 2).tolist()
        t0 = time.perf_counter()
        for _ in range(1000):
            dist.all_reduce(x)
        per_call = (time.perf_counter() - t0) / 1000
        assert per_call < 50e-6, per_call
        # DDP at world size 1 is the module itself: same training, no hooks
        jt.manual_seed(0)
        plain = worker.TwoHeads()
        jt.manual_seed(0)
        wrapped = jt.nn.parallel.DistributedDataParallel(worker.TwoHeads())
        for net in (plain, wrapped):
            x_, y_ = worker.batch(0, 0, 8, 0)
            jt.nn.functional.cross_entropy(net(x_), y_).backward()
        assert [p.grad.tolist() for p in plain.parameters()] == [p.grad.tolist() for p in wrapped.parameters()]
        assert wrapped.module is not plain and isinstance(wrapped.module, worker.TwoHeads)
        # optimizers and schedulers take the wrapper's parameters; model.module saves and loads
        opt = jt.optim.Adam(wrapped.parameters(), lr=0.1)
        sched = jt.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        opt.step()
        sched.step()
        assert opt.param_groups[0]["lr"] == 0.05
        jt.save(wrapped.module.state_dict(), str(tmp_path / "m.safetensors"))
        fresh = worker.TwoHeads()
        fresh.load_state_dict(jt.load(str(tmp_path / "m.safetensors")))
        assert [p.tolist() for p in fresh.parameters()] == [p.tolist() for p in wrapped.module.parameters()]
        assert sorted(wrapped.state_dict()) == sorted("module." + k for k in fresh.state_dict())
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


def test_without_torch_the_error_says_what_to_install(monkeypatch):
    from jtensor.distributed import _torch, run
    monkeypatch.setattr(_torch, "_modules", [])
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "torch.distributed", None)
    assert dist.is_available() is False and dist.is_initialized() is False
    for call in (lambda: dist.all_reduce(jt.ones(2)), lambda: dist.init_process_group(),
                 lambda: dist.ReduceOp):
        with pytest.raises(ModuleNotFoundError, match="pip install torch"):
            call()
    monkeypatch.setattr(run.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SystemExit, match="pip install torch"):
        run.main(["--nproc_per_node=2", "train.py"])


def test_run_forwards_its_arguments_to_torchrun():
    from jtensor.distributed import run
    assert run.command(["--nproc_per_node=2", "train.py", "--epochs", "3"]) == [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "train.py", "--epochs", "3"]


@pytest.mark.parametrize("n,replicas,drop_last", [(11, 2, False), (11, 3, False), (11, 3, True), (12, 4, True),
                                                   (2, 4, False), (10, 5, False)])
def test_sampler_shards_partition_the_dataset(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    Sampler = jt.utils.data.distributed.DistributedSampler
    # without shuffling: exactly torch's shards
    for r in range(replicas):
        mine = list(Sampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
        assert mine == list(TorchSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
    for epoch in (0, 1):
        shards = []
        for r in range(replicas):
            s = Sampler(range(n), num_replicas=replicas, rank=r, seed=7, drop_last=drop_last)
            s.set_epoch(epoch)
            shards.append(list(s))
            assert len(s) == len(shards[-1]) == len(TorchSampler(range(n), replicas, r, drop_last=drop_last))
        flat = [i for s in shards for i in s]
        assert len({len(s) for s in shards}) == 1          # equal shards
        if drop_last:
            assert len(set(flat)) == len(flat) == (n // replicas) * replicas   # disjoint, tail dropped
        else:
            assert set(flat) == set(range(n))               # every item, padding repeats some
            assert len(flat) - len(set(flat)) == len(flat) - n
        if epoch == 0:
            first = shards
    assert n < 4 or first != shards                         # set_epoch reshuffles
    with pytest.raises(ValueError, match="Invalid rank"):
        Sampler(range(4), num_replicas=2, rank=2)
