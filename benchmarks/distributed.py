"""Data-parallel costs on 2 processes at 1 thread each (docs/performance.md, "Distributed").

    python benchmarks/distributed.py [--steps N] [--rounds R]

Spawns 2 fresh processes (gloo on loopback). Each round, in this order, times on both ranks:
the jt DDP step, the same model's single-process step on the same per-rank batch (both ranks at
once, no communication), PyTorch's DDP step on the same model, torch's single step, and (every
fourth iteration) all_reduce of 10^7 float32 through jt.distributed and through torch.distributed.
Each iteration runs every variant once, after a barrier, so they share the machine's load; the
table reports medians over iterations of the slower rank's time. The machine may be loaded by other work:
`uptime` is printed beside the numbers.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import multiprocessing as mp

BATCH = 512


def models(jt, torch):
    """The digits-sized MLP (64-512-512-10, float32) in both libraries, with the same weights."""
    jt.manual_seed(0)
    m = jt.nn.Sequential(jt.nn.Linear(64, 512), jt.nn.ReLU(), jt.nn.Linear(512, 512), jt.nn.ReLU(),
                         jt.nn.Linear(512, 10))
    t = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(),
                            torch.nn.Linear(512, 10))
    with torch.no_grad():
        for pj, pt in zip(m.parameters(), t.parameters()):
            pt.copy_(torch.from_dlpack(pj.detach()))
    return m, t


def worker(rank, world, port, steps, rounds, batch, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), JTENSOR_NUM_THREADS="1")
    import torch
    torch.set_num_threads(1)
    import jtensor as jt
    import jtensor.distributed as dist
    import torch.distributed as tdist
    dist.init_process_group("gloo", rank=rank, world_size=world)
    rng = __import__("numpy").random.default_rng(rank)
    x = rng.standard_normal((batch, 64)).astype("float32")
    y = rng.integers(0, 10, batch)
    xj, yj, xt, yt = jt.tensor(x), jt.tensor(y), torch.tensor(x), torch.tensor(y)
    mj, mt = models(jt, torch)
    ddp_j = jt.nn.parallel.DistributedDataParallel(mj)
    ddp_t = torch.nn.parallel.DistributedDataParallel(mt)
    single_j, single_t = models(jt, torch)
    opts = {k: (jt.optim.SGD if k.endswith("j") else torch.optim.SGD)(m.parameters(), lr=1e-3)
            for k, m in (("ddp_j", ddp_j), ("single_j", single_j), ("ddp_t", ddp_t), ("single_t", single_t))}
    Fj, Ft = jt.nn.functional, torch.nn.functional

    def step(name, model, F, xb, yb):
        def run():
            opts[name].zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opts[name].step()
        return run

    big_j = jt.ones(10 ** 7)
    big_t = torch.ones(10 ** 7)
    variants = {"ddp_j": step("ddp_j", ddp_j, Fj, xj, yj), "single_j": step("single_j", single_j, Fj, xj, yj),
                "ddp_t": step("ddp_t", ddp_t, Ft, xt, yt), "single_t": step("single_t", single_t, Ft, xt, yt),
                "allreduce_j": lambda: dist.all_reduce(big_j), "allreduce_t": lambda: tdist.all_reduce(big_t)}
    for f in variants.values():
        f()                                   # warm
    results = {k: [] for k in variants}
    cpu = {k: [] for k in variants}
    for i in range(rounds * steps):
        # every variant once per iteration, in turn, both ranks starting together (the single-process
        # steps run on both ranks at the same time, so they see the same load as the DDP ranks)
        for k, f in variants.items():
            if k.startswith("allreduce") and i % 4:
                continue                      # 10^7 elements: one in four iterations is enough
            dist.barrier()
            c0, t0 = time.process_time(), time.perf_counter()
            f()
            results[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    dist.destroy_process_group()
    queue.put((rank, (results, cpu)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--batch", type=int, default=BATCH, help=f"per-rank batch (default {BATCH})")
    args = p.parse_args(argv)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    load_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, 2, port, args.steps, args.rounds, args.batch, queue))
             for r in range(2)]
    for pr in procs:
        pr.start()
    results = dict(queue.get(timeout=1800) for _ in procs)
    for pr in procs:
        pr.join()
    load_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    wall = {k: statistics.median(max(a, b) for a, b in zip(results[0][0][k], results[1][0][k])) for k in results[0][0]}
    # (per iteration, the slower rank: a DDP step ends together on both, a single step is the job's pace)
    cpu = {k: statistics.median(results[0][1][k] + results[1][1][k]) for k in results[0][1]}
    # CPU seconds of the process (all its threads, gloo's included) per step: the work a step costs,
    # much less sensitive than wall time to other programs sharing the cores
    print(f"load before: {load_before}\nload after:  {load_after}")
    print(f"2 processes x 1 thread, MLP 64-512-512-10 float32, SGD, batch {args.batch} per rank; median over "
          f"{args.rounds * args.steps} interleaved iterations (wall: slower rank of each; CPU: per process)\n")
    print("| measurement | jtensor wall | PyTorch wall | ratio | jtensor CPU | PyTorch CPU | ratio |")
    print("|---|---|---|---|---|---|---|")

    def row(label, kj, kt, unit=1e3, fmt=".2f"):
        print(f"| {label} | {wall[kj] * unit:{fmt}} ms | {wall[kt] * unit:{fmt}} ms | {wall[kj] / wall[kt]:.2f}x | "
              f"{cpu[kj] * unit:{fmt}} ms | {cpu[kt] * unit:{fmt}} ms | {cpu[kj] / cpu[kt]:.2f}x |")
    row("DDP step (2 ranks)", "ddp_j", "ddp_t")
    row("single-process step, same per-rank batch", "single_j", "single_t")
    print(f"| DDP step / single step | {wall['ddp_j'] / wall['single_j']:.2f}x | "
          f"{wall['ddp_t'] / wall['single_t']:.2f}x | | {cpu['ddp_j'] / cpu['single_j']:.2f}x | "
          f"{cpu['ddp_t'] / cpu['single_t']:.2f}x | |")
    row("all_reduce 10^7 float32", "allreduce_j", "allreduce_t", fmt=".1f")
    return wall, cpu


if __name__ == "__main__":
    sys.exit(main() is None)
