"""Inference of a ResNet-18-style model: PyTorch vs the same model after fastconv.torch.convert.

    PYTHONPATH=. python benchmarks/torch_adapter.py                      # 224x224, N=1 and 8
    PYTHONPATH=. python benchmarks/torch_adapter.py --threads 1 --size 112 --repeat 7

Both run in this process, timed in alternation (fastconv.bench.time_interleaved), with the
same thread count for torch and fastconv. The model (defined below) has ResNet-18's layers and
widths; it runs in eval mode under torch.no_grad with random weights.
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

import fastconv as fc
import fastconv.torch as fct
from fastconv.bench import time_interleaved


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                         nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.downsample(x))


class ResNet18(nn.Module):
    def __init__(self, width=64, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        blocks, cin = [], width
        for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
            blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layers(x), 1), 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    ap.add_argument("--threads", type=int, default=fc.get_num_threads())
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    fc.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ResNet18().eval()
    converted = fct.convert(model)
    print(f"ResNet-18, {args.size}x{args.size}, {args.threads} thread(s), torch {torch.__version__}, "
          f"fastconv {fc.__version__} ({fc.info()['isa_active']})")
    print(f"{'N':>3}  {'torch ms':>9}  {'fastconv ms':>11}  {'torch/fastconv':>14}  max rel diff")
    with torch.no_grad():
        for n in args.batch:
            x = torch.randn(n, 3, args.size, args.size)
            expected = model(x)
            diff = ((converted(x) - expected).abs().max() / expected.abs().max()).item()
            times = time_interleaved({"torch": lambda: model(x), "fastconv": lambda: converted(x)},
                                     repeat=args.repeat, min_time=0.2)
            t, f = times["torch"]["median"] * 1e3, times["fastconv"]["median"] * 1e3
            print(f"{n:>3}  {t:>9.2f}  {f:>11.2f}  {t / f:>14.2f}  {diff:.1e}")


if __name__ == "__main__":
    main()
