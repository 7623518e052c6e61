"""Train the digits CNN of examples/train_digits.py data-parallel: one process per replica,
DistributedDataParallel averaging gradients, DistributedSampler sharding each epoch.

    torchrun --nproc_per_node=2 examples/train_digits_ddp.py            # 2 processes
    python -m jtensor.distributed.run --nproc_per_node=2 examples/train_digits_ddp.py
    python examples/train_digits_ddp.py                                   # 1 process, same script

The global batch (--batch-size, default 64) is split over the processes, and DistributedSampler
hands the ranks interleaved slices of one permutation, so every step averages the gradient over
the same 64 images whatever the number of processes: 2 processes train the same model as one
(up to float32 rounding) and reach the same accuracy. Rank 0 prints the test accuracy and, with
--out, writes it to a JSON file; a full run fails below 95%.
"""
import argparse
import datetime
import json
import os
import sys
import time

import jtensor as jt  # first: starts Julia inside this process

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_digits import accuracy, load_data, make_cnn, require_cnn_accuracy  # noqa: E402

import jtensor.distributed as dist  # noqa: E402
from jtensor.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from jtensor.utils.data import DataLoader, TensorDataset  # noqa: E402
from jtensor.utils.data.distributed import DistributedSampler  # noqa: E402


def init():
    """Join the group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), or make a
    group of one process when started without torchrun."""
    if "RANK" not in os.environ:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    else:
        dist.init_process_group("gloo", timeout=datetime.timedelta(minutes=5))
    return dist.get_rank(), dist.get_world_size()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=None, help="default 12, or 2 with --quick")
    p.add_argument("--quick", action="store_true", help="2 epochs, no accuracy threshold")
    p.add_argument("--batch-size", type=int, default=64, help="global batch, split over the processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write rank 0's metrics to this JSON file")
    args = p.parse_args(argv)
    epochs = args.epochs or (2 if args.quick else 12)
    rank, world = init()
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} must divide over {world} processes")
    x_train, y_train, x_test, y_test = load_data()
    train_set = TensorDataset(jt.tensor(x_train.reshape(-1, 1, 8, 8)), jt.tensor(y_train))
    sampler = DistributedSampler(train_set, seed=args.seed)        # rank and world from the group
    loader = DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler)

    jt.manual_seed(args.seed)          # any rank's init would do: DDP broadcasts rank 0's weights
    model = DDP(make_cnn())
    opt = jt.optim.Adam(model.parameters(), lr=3e-3)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        sampler.set_epoch(epoch)       # a new permutation per epoch, the same on every rank
        model.train()
        total, steps = 0.0, 0
        for xb, yb in loader:
            loss = jt.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()            # gradients averaged over the ranks when this returns
            opt.step()
            total += loss.item()
            steps += 1
        if rank == 0:
            print(f"epoch {epoch + 1}/{epochs}: mean loss on rank 0's shard {total / steps:.4f}", flush=True)
    seconds = time.perf_counter() - t0
    test_acc = accuracy(model.module, x_test.reshape(-1, 1, 8, 8), y_test)
    if rank == 0:
        print(f"{world} process(es): test accuracy {test_acc:.2%} after {epochs} epochs ({seconds:.1f} s)")
        if args.out:
            with open(args.out, "w") as f:
                json.dump({"world_size": world, "test_accuracy": test_acc, "epochs": epochs, "seconds": seconds}, f)
    dist.destroy_process_group()
    if not args.quick:
        require_cnn_accuracy(test_acc)
    return test_acc


if __name__ == "__main__":
    main()
