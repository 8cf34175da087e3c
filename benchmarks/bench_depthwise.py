"""Depthwise / few-channels-per-group convolution: the dedicated kernel vs the other algorithms
and torch, and the channels-per-group crossover behind kDepthwiseMaxChannelsPerGroup
(csrc/algos/depthwise_conv.h). Contenders alternate within one process; the allocator setting
of ../shared/bench/README.md is applied by re-executing unless --default-allocator.

Depthwise rows (groups == C) also get the memory view: "GB/s" is input read + output written
over the best algorithm's time, "% copy" that against a numpy copy of the same working set
(np.copy of the input: a fresh array, as each convolution allocates its output; numpy copies
on one thread, so with --threads 2 the share can pass 100%).

--op input times the input gradient instead (fastconv.grad.conv2d_input against
torch.nn.grad.conv2d_input), the transposed convolution's op.

Usage: PYTHONPATH=. python benchmarks/bench_depthwise.py [--threads 1] [--repeat 5]
       [--op fwd|input] [layers ...]
"""
import argparse

import numpy as np

import fastconv as fc
from fastconv import bench
from fastconv.bench import format_table, median_time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


# (name, N, C, H, W, K, R, stride, pad, groups)
LAYERS = [
    ("dw_32@112", 1, 32, 112, 112, 32, 3, 1, 1, 32),
    ("dw_32@112", 8, 32, 112, 112, 32, 3, 1, 1, 32),
    ("dw_512@14", 1, 512, 14, 14, 512, 3, 1, 1, 512),
    ("dw_512@14", 8, 512, 14, 14, 512, 3, 1, 1, 512),
    ("dw_64s2@56", 8, 64, 56, 56, 64, 3, 2, 1, 64),
    # EfficientNet's and MobileNet's larger and strided depthwise kernels, ConvNeXt's 7x7
    ("dw5_672@14", 8, 672, 14, 14, 672, 5, 1, 2, 672),
    ("dw5s2_672@14", 8, 672, 14, 14, 672, 5, 2, 2, 672),
    ("dw5s2_240@28", 8, 240, 28, 28, 240, 5, 2, 2, 240),
    ("dw5s2_144@56", 8, 144, 56, 56, 144, 5, 2, 2, 144),
    ("dw3s2_576@14", 8, 576, 14, 14, 576, 3, 2, 1, 576),
    ("dw7_256@14", 8, 256, 14, 14, 256, 7, 1, 3, 256),
    ("dw7s2_96@56", 8, 96, 56, 56, 96, 7, 2, 3, 96),
] + [  # the crossover sweep: 64 channels at 28x28, Cg input channels per group
    (f"cg{cg}_64@28", 8, 64, 28, 28, 64, 3, 1, 1, 64 // cg) for cg in (1, 2, 4, 8, 16)
] + [  # the channel-multiplier sweep: one input channel per group, K / groups outputs each
    (f"mult{m}_32@28", 8, 32, 28, 28, 32 * m, 3, 1, 1, 32) for m in (1, 2, 4, 8, 16)
] + [  # first layers of small CNNs: few input channels, one group
    ("mnist_1-32_5x5@28", 8, 1, 28, 28, 32, 5, 1, 2, 1),
    ("cifar_3-16_3x3@32", 8, 3, 32, 32, 16, 3, 1, 0, 1),
    ("r50_stem_7x7s2", 1, 3, 224, 224, 64, 7, 2, 3, 1),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--default-allocator", action="store_true")
    ap.add_argument("--op", default="fwd", choices=["fwd", "input"])
    ap.add_argument("layers", nargs="*", help="names from LAYERS (default: all)")
    a = ap.parse_args()
    if not a.default_allocator:
        bench.reexec_with_allocator_setting()
    fc.set_num_threads(a.threads)
    if torch is not None:
        torch.set_num_threads(a.threads)
    algos = fc.info()["conv_algorithms"]["cpp"]
    rng = np.random.default_rng(0)
    rows = []
    only = set(a.layers)
    for name, n, c, h, w, k, r, s, p, g in LAYERS:
        if only and name not in only:
            continue
        x = rng.standard_normal((n, c, h, w), dtype=np.float32)
        wt = rng.standard_normal((k, c // g, r, r), dtype=np.float32)
        y = fc.conv2d(x, wt, None, s, p, 1, g, algorithm="direct")
        gy = rng.standard_normal(y.shape, dtype=np.float32)
        flops = 2 * y.size * (c // g) * r * r
        row = {"layer": name, "N": n}
        for algo in algos:
            if a.op == "fwd":
                run = lambda: fc.conv2d(x, wt, None, s, p, 1, g, algorithm=algo)  # noqa: E731
            else:
                run = lambda: fc.grad.conv2d_input(x.shape, wt, gy, s, p, 1, g,  # noqa: E731
                                                   algorithm=algo)
            try:
                t = median_time(run, a.repeat)
            except ValueError:
                continue
            row[f"{algo} ms"] = t * 1e3
            row[f"{algo} GF/s"] = flops / t / 1e9
        ours = min(v for key, v in row.items() if key.endswith(" ms"))
        if torch is not None:
            tx, tw, tgy = torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(gy)
            with torch.no_grad():
                if a.op == "fwd":
                    t = median_time(lambda: F.conv2d(tx, tw, None, s, p, 1, g), a.repeat)
                else:
                    t = median_time(lambda: torch.nn.grad.conv2d_input(tx.shape, tw, tgy, s, p,
                                                                       1, g), a.repeat)
            row["torch ms"] = t * 1e3
            row["torch GF/s"] = flops / t / 1e9
            row["best speedup"] = t * 1e3 / ours
        if g == c and a.op == "fwd":
            moved = x.nbytes + y.nbytes
            t_copy = median_time(lambda: np.copy(x), a.repeat)
            row["GB/s"] = moved / (ours * 1e-3) / 1e9
            row["% copy"] = 100 * row["GB/s"] / (2 * x.nbytes / t_copy / 1e9)
        rows.append(row)
    cols = ["layer", "N"] + [f"{al} {u}" for al in algos for u in ("ms", "GF/s")]
    if torch is not None:
        cols += ["torch ms", "torch GF/s", "best speedup"]
    cols += ["GB/s", "% copy"]
    print(f"op={a.op} threads={a.threads} isa={fc.info()['isa_active']}")
    print(format_table(rows, cols))


if __name__ == "__main__":
    main()
