"""Linear regression with autograd: a hand-written gradient-descent loop that takes gradients with
`torch.autograd.grad`, then the same model fitted by `nn.Linear`, `nn.MSELoss` and L-BFGS with a
closure, the way PyTorch tutorials write it. Ported by changing only the imports.

`main()` returns the two fits' parameters and losses; the data are 200 noisy points of
y = 3 x0 - 2 x1 + 0.5.
"""
import jtensor as torch
import jtensor.nn as nn
import jtensor.optim as optim


def make_data(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    true_w = torch.tensor([[3.0], [-2.0]])
    y = X @ true_w + 0.5 + 0.01 * torch.randn(n, 1, generator=g)
    return X, y


def fit_by_hand(X, y, steps=200, lr=0.1):
    """Plain gradient descent; the gradients come from torch.autograd.grad."""
    w = torch.zeros(2, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for _ in range(steps):
        loss = ((X @ w + b - y) ** 2).mean()
        gw, gb = torch.autograd.grad(loss, [w, b])
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
    return w.detach(), b.detach(), loss.item()


def fit_lbfgs(X, y, steps=10):
    """nn.Linear + MSELoss minimised by L-BFGS with a strong-Wolfe line search."""
    model = nn.Linear(2, 1)
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(model.parameters(), lr=1, max_iter=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        return loss

    for _ in range(steps):
        loss = optimizer.step(closure)
    return model.weight.detach(), model.bias.detach(), loss.item()


def main(quiet=False):
    torch.manual_seed(0)
    X, y = make_data()
    by_hand = fit_by_hand(X, y)
    lbfgs = fit_lbfgs(X, y)
    if not quiet:
        print("gradient descent: w", by_hand[0].flatten().tolist(), "b", by_hand[1].item(), "loss", by_hand[2])
        print("L-BFGS:           w", lbfgs[0].flatten().tolist(), "b", lbfgs[1].item(), "loss", lbfgs[2])
    return by_hand, lbfgs


if __name__ == '__main__':
    main()
