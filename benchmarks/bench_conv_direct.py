"""Direct conv vs torch at one thread on the resnet50 3x3 layers (median and best of reps).

Usage: PYTHONPATH=. python benchmarks/bench_conv_direct.py [--op fwd|input|weight] [--reps 7]
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from fastconv import _core

LAYERS = [(n, c, hw) for n in (1, 8) for c, hw in ((64, 56), (128, 28), (256, 14), (512, 7))]


def timeit(fn):
    """(wall, thread CPU) seconds of one call. At one thread the CPU time excludes the time the
    thread waits for a core, which dominates wall time on a shared, oversubscribed machine."""
    c0, t0 = time.thread_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.thread_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--op", default="fwd", choices=["fwd", "input", "weight"])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    _core.set_num_threads(a.threads)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    print(f"op={a.op} threads={a.threads} isa={_core.isa_active()} reps={a.reps}")
    print("times: median over reps of thread CPU time (wall median in brackets)")
    print(f"{'layer':>24} {'fc ms':>16} {'fc GF/s':>8} {'torch ms':>16} {'torch GF/s':>10} {'torch/fc':>8}")
    for n, c, hw in LAYERS:
        x = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
        w = rng.standard_normal((c, c, 3, 3), dtype=np.float32)
        go = rng.standard_normal((n, c, hw, hw), dtype=np.float32)
        xt, wt, gt = map(torch.from_numpy, (x, w, go))
        flops = 2 * n * c * c * 9 * hw * hw
        if a.op == "fwd":
            f1 = lambda: _core.conv2d(x, w, None, 1, 1, 1, 1, 1, 1, 1, 1, 1, "direct")
            f2 = lambda: F.conv2d(xt, wt, None, 1, 1)
        elif a.op == "input":
            f1 = lambda: _core.conv2d_input(go, w, hw, hw, 1, 1, 1, 1, 1, 1, 1, 1, 1, "direct")
            f2 = lambda: torch.nn.grad.conv2d_input(xt.shape, wt, gt, 1, 1)
        else:
            f1 = lambda: _core.conv2d_weight(x, go, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, "direct")
            f2 = lambda: torch.nn.grad.conv2d_weight(xt, wt.shape, gt, 1, 1)
        # alternate the contenders so machine noise hits both
        t1, t2 = [], []
        f1(); f2()
        for _ in range(a.reps):
            t1.append(timeit(f1)); t2.append(timeit(f2))
        (w1, m1), (w2, m2) = np.median(t1, axis=0), np.median(t2, axis=0)
        name = f"mb{n}ic{c}ih{hw}oc{c}kh3ph1"
        print(f"{name:>24} {m1*1e3:7.2f} ({w1*1e3:6.2f}) {flops/m1/1e9:8.1f} {m2*1e3:7.2f} ({w2*1e3:6.2f}) "
              f"{flops/m2/1e9:10.1f} {m2/m1:8.2f}")


if __name__ == "__main__":
    main()
