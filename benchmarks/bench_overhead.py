"""Per-call overhead of the Python -> C++ path on tiny inputs (validation, dispatch, binding),
next to torch's on the same calls. Target: < 10 us per fastconv call.

Usage: PYTHONPATH=. python benchmarks/bench_overhead.py
"""
import timeit

import numpy as np

import fastconv as fc
from fastconv.bench import format_table

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


def best_us(fn, number=20000, repeat=5):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main():
    fc.set_num_threads(1)
    x = np.ones((1, 1, 4, 4), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    plan = fc.Conv2dPlan(w, padding=1)
    cases = [
        ("conv2d", lambda: fc.conv2d(x, w, None, 1, 1), "conv2d", (None, 1, 1)),
        ("Conv2dPlan call", lambda: plan(x), None, None),
        ("conv_transpose2d", lambda: fc.conv_transpose2d(x, w), "conv_transpose2d", ()),
        ("max_pool2d", lambda: fc.max_pool2d(x, 2), "max_pool2d", (2,)),
        ("avg_pool2d", lambda: fc.avg_pool2d(x, 2), "avg_pool2d", (2,)),
        ("pad reflect", lambda: fc.pad(x, (1, 1, 1, 1), "reflect"), None, None),
    ]
    rows = []
    if torch is not None:
        torch.set_num_threads(1)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    for name, ours, tname, targs in cases:
        row = {"op (1x1x4x4 input)": name, "fastconv us": best_us(ours)}
        if torch is not None and tname:
            f = getattr(F, tname)
            args = (tx, tw) + tuple(targs) if "conv" in tname else (tx,) + tuple(targs)
            with torch.no_grad():
                row["torch us"] = best_us(lambda: f(*args))
        rows.append(row)
    print(format_table(rows, ["op (1x1x4x4 input)", "fastconv us", "torch us"]))


if __name__ == "__main__":
    main()
