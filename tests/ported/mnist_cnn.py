"""pytorch/examples' MNIST CNN (mnist/main.py), ported by changing only the imports.

The network, the Adadelta optimiser, the StepLR schedule, the DataLoader loop, the train/test
functions and the argument defaults are the example's. The data is scikit-learn's bundled digits,
padded from 8x8 to 28x28 pixels and normalised as the example normalises MNIST, so the program runs
without a download. `main(["--epochs", "1", "--limit", "256"])` runs a short version for the tests.
"""
import argparse

import jtensor as torch
import jtensor.nn as nn
import jtensor.nn.functional as F
import jtensor.optim as optim
from jtensor.optim.lr_scheduler import StepLR
from jtensor.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0 and not args.quiet:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader, quiet):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)
    if not quiet:
        print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
            test_loss, correct, len(test_loader.dataset),
            100. * correct / len(test_loader.dataset)))
    return test_loss, correct / len(test_loader.dataset)


def digits(limit):
    """Digits images as (N, 1, 28, 28) float tensors normalised like MNIST, and int64 labels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images[:limit], dtype=torch.float32) / 16.0
    x = F.pad(x, (10, 10, 10, 10)).unsqueeze(1)
    x = (x - 0.1307) / 0.3081
    y = torch.tensor(d.target[:limit], dtype=torch.int64)
    return x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--test-batch-size', type=int, default=1000)
    parser.add_argument('--epochs', type=int, default=14)
    parser.add_argument('--lr', type=float, default=1.0)
    parser.add_argument('--gamma', type=float, default=0.7)
    parser.add_argument('--no-cuda', action='store_true', default=False)
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--log-interval', type=int, default=10)
    parser.add_argument('--limit', type=int, default=1797, help='how many digits images to use')
    parser.add_argument('--quiet', action='store_true', default=False)
    args = parser.parse_args(argv)
    use_cuda = not args.no_cuda and torch.cuda.is_available()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {'batch_size': args.batch_size}
    test_kwargs = {'batch_size': args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {'num_workers': 1, 'pin_memory': True, 'shuffle': True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)
    else:
        train_kwargs['shuffle'] = True

    x, y = digits(args.limit)
    n_train = len(x) * 5 // 6
    dataset1 = TensorDataset(x[:n_train], y[:n_train])
    dataset2 = TensorDataset(x[n_train:], y[n_train:])
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    losses = []
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, losses)
        test_loss, accuracy = test(model, device, test_loader, args.quiet)
        scheduler.step()
    return losses, test_loss, accuracy


if __name__ == '__main__':
    main()
