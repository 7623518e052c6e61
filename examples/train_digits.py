"""Train an MLP and a small CNN on scikit-learn's bundled digits (8x8 images, 10 classes) with
jt.nn, jt.optim.Adam and cross-entropy, then save the weights (jt.save, safetensors), a plot of
the training-loss curves (PNG) and the metrics (JSON) into the output folder.

Run with `bash ci/demo.sh` (sets up Julia and installs jtensor first), or
`python examples/train_digits.py [--epochs N] [--quick] [--out DIR] [--seed S]` where jtensor is
installed. The data split is fixed; --seed sets the initial weights (jt.manual_seed) and the order
of the mini-batches, so two runs with the same seed give the same losses. A full run fails
(AssertionError) if the CNN's test accuracy is below 95%.

The first epoch of each model includes Julia compiling every kernel signature the model meets (a
one-time cost per process); the printed timings show it separately.
"""
import argparse
import json
import os
import sys
import time

_t_start = time.perf_counter()
import jtensor as jt  # first: starts Julia inside this process (see tests/conftest.py on import order)

_t_julia = time.perf_counter() - _t_start

import numpy as np  # noqa: E402

nn = jt.nn
F = jt.nn.functional

CNN_MIN_ACCURACY = 0.95
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


# ---- models ------------------------------------------------------------------------------------

def make_mlp(dtype=None):
    """64 -> 128 -> 64 -> 10 with ReLUs; input (N, 64)."""
    return nn.Sequential(
        nn.Linear(64, 128, dtype=dtype), nn.ReLU(),
        nn.Linear(128, 64, dtype=dtype), nn.ReLU(),
        nn.Linear(64, 10, dtype=dtype),
    )


def make_cnn(dtype=None):
    """Two conv-ReLU-maxpool stages (8x8 -> 4x4 -> 2x2) and a linear classifier; input (N, 1, 8, 8)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10, dtype=dtype),
    )


MODELS = {
    # name: (constructor, input shape of one batch after the batch dim, Adam learning rate)
    "mlp": (make_mlp, (64,), 1e-3),
    "cnn": (make_cnn, (1, 8, 8), 3e-3),
}


# ---- data --------------------------------------------------------------------------------------

def load_data(test_fraction=0.25, split_seed=0):
    """The digits as float32 (N, 64), standardised per pixel with the training set's statistics
    (constant pixels are only centred), and int64 labels; the split is fixed (stratified, split_seed)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data.astype(np.float32), digits.target.astype(np.int64), test_size=test_fraction,
        random_state=split_seed, stratify=digits.target)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    return x_train, y_train, x_test, y_test


# ---- training ----------------------------------------------------------------------------------

def train(model, x, y, epochs, batch_size, lr, rng, progress_desc, show_progress=True):
    """Adam on mini-batches of cross-entropy; returns (per-step losses, per-epoch seconds)."""
    from tqdm import tqdm

    opt = jt.optim.Adam(model.parameters(), lr=lr)
    xt, yt = jt.tensor(x), jt.tensor(y)
    n = x.shape[0]
    steps_per_epoch = (n + batch_size - 1) // batch_size
    losses, epoch_times = [], []
    model.train()
    with tqdm(total=epochs * steps_per_epoch, desc=progress_desc, unit="step", leave=True,
              disable=not show_progress, file=sys.stdout, dynamic_ncols=True, mininterval=0.25) as bar:
        for epoch in range(epochs):
            t0 = time.perf_counter()
            order = rng.permutation(n)
            epoch_loss = 0.0
            for i in range(steps_per_epoch):
                idx = jt.tensor(order[i * batch_size:(i + 1) * batch_size])
                loss = F.cross_entropy(model(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                value = loss.item()
                losses.append(value)
                epoch_loss += value
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{value:.4f}", refresh=False)
            epoch_times.append(time.perf_counter() - t0)
            bar.set_postfix(epoch=epoch + 1, mean_loss=f"{epoch_loss / steps_per_epoch:.4f}")
    return losses, epoch_times


def accuracy(model, x, y):
    model.eval()
    with jt.no_grad():
        predicted = model(jt.tensor(x)).argmax(1).numpy()
    return float((predicted == y).mean())


def plot_losses(histories, steps_per_epoch, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for name, losses in histories.items():
        steps = np.arange(1, len(losses) + 1)
        line, = ax.plot(steps / steps_per_epoch, losses, alpha=0.3, linewidth=0.8)
        # the mean over each epoch, drawn at the epoch's end
        per_epoch = np.asarray(losses).reshape(-1, steps_per_epoch).mean(axis=1)
        ax.plot(np.arange(1, len(per_epoch) + 1), per_epoch, marker="o", color=line.get_color(),
                label=f"{name.upper()} (epoch mean)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training cross-entropy")
    ax.set_title("jtensor: digits, Adam, mini-batches")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ---- main --------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=None, help="epochs per model (default 12, or 2 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="a short run for tests: 2 epochs, no accuracy threshold")
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder for the weights and the plot "
                   "(default: examples/out)")
    p.add_argument("--seed", type=int, default=0, help="seed for the initial weights and batch order")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 2 if args.quick else 12
    if args.epochs < 1 or args.batch_size < 1:
        p.error("--epochs and --batch-size must be positive")
    return args


def main(argv=None):
    """Train both models; returns a dict of results (accuracies, losses, file paths, timings)."""
    args = parse_args(argv)
    t_main = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    x_train, y_train, x_test, y_test = load_data()
    print(f"jtensor {jt.__version__} (Julia started in {_t_julia:.1f} s); digits: {len(x_train)} train / "
          f"{len(x_test)} test images, batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}")

    steps_per_epoch = (len(x_train) + args.batch_size - 1) // args.batch_size
    results = {"models": {}, "out": args.out}
    histories = {}
    for k, (name, (make, shape, lr)) in enumerate(MODELS.items()):
        jt.manual_seed(args.seed + k)
        rng = np.random.default_rng(args.seed + k)
        model = make()
        n_params = sum(p.numel() for p in model.parameters())
        t0 = time.perf_counter()
        losses, epoch_times = train(model, x_train.reshape((-1,) + shape), y_train, args.epochs,
                                    args.batch_size, lr, rng, f"{name.upper()} ({n_params} params)",
                                    show_progress=not args.no_progress)
        t_train = time.perf_counter() - t0
        t0 = time.perf_counter()
        train_acc = accuracy(model, x_train.reshape((-1,) + shape), y_train)
        test_acc = accuracy(model, x_test.reshape((-1,) + shape), y_test)
        t_eval = time.perf_counter() - t0
        path = os.path.join(args.out, f"digits_{name}.safetensors")
        jt.save(model.state_dict(), path, metadata={"model": name, "epochs": str(args.epochs),
                                                     "seed": str(args.seed), "test_accuracy": f"{test_acc:.4f}"})
        histories[name] = losses
        later = epoch_times[1:]
        print(f"{name.upper()}: test accuracy {test_acc:.2%} (train {train_acc:.2%}), final epoch loss "
              f"{np.mean(losses[-steps_per_epoch:]):.4f}; training {t_train:.1f} s "
              f"(first epoch {epoch_times[0]:.1f} s, including Julia's compilation"
              + (f"; later epochs {np.mean(later):.2f} s each" if later else "") + f"), evaluation {t_eval:.2f} s")
        print(f"    weights -> {path}")
        results["models"][name] = dict(test_accuracy=test_acc, train_accuracy=train_acc, losses=losses,
                                       epoch_times=epoch_times, weights=path, params=n_params)

    plot = os.path.join(args.out, "digits_training_loss.png")
    plot_losses(histories, steps_per_epoch, plot)
    results["plot"] = plot
    total = time.perf_counter() - t_main
    results["seconds"] = total
    results["julia_start_seconds"] = _t_julia
    print(f"loss curves -> {plot}")
    metrics = os.path.join(args.out, "digits_metrics.json")
    with open(metrics, "w") as f:
        json.dump({"args": vars(args), **results}, f, indent=1)
    print(f"metrics -> {metrics}")
    print(f"total {total:.1f} s (plus {_t_julia:.1f} s starting Julia)")

    if not args.quick:
        require_cnn_accuracy(results["models"]["cnn"]["test_accuracy"])
    return results


def require_cnn_accuracy(test_accuracy):
    """A full run's check (here and in train_digits_ddp.py): AssertionError below CNN_MIN_ACCURACY."""
    if test_accuracy < CNN_MIN_ACCURACY:
        raise AssertionError(f"the CNN reached only {test_accuracy:.2%} test accuracy (expected at least "
                             f"{CNN_MIN_ACCURACY:.0%}): training is broken")


if __name__ == "__main__":
    main()
