"""Pad and pooling bandwidth vs torch, alternating contenders in one process.

GB/s counts the bytes a kernel must move: input read + output written (+ int64 indices when
returned). Runs under the allocator setting of ../shared/bench/README.md (fresh large blocks
page-fault at ~0.4 ms/MB and would dominate) unless --default-allocator is given.
Usage: PYTHONPATH=. python benchmarks/bench_padpool.py [--threads 1] [--repeat 7]
"""
import argparse
import os

import numpy as np

import fastconv as fc
from fastconv import bench
from fastconv.bench import format_table, median_time

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # torch is optional: fastconv's own figures still print
    torch = None


CASES = [
    # name, shape, fastconv call, torch call
    ("max_pool2d 2x2/2", (8, 64, 112, 112),
     lambda x: fc.max_pool2d(x, 2, 2), lambda t: F.max_pool2d(t, 2, 2)),
    ("max_pool2d 2x2/2 +indices", (8, 64, 112, 112),
     lambda x: fc.max_pool2d(x, 2, 2, return_indices=True),
     lambda t: F.max_pool2d(t, 2, 2, return_indices=True)),
    ("max_pool2d 3x3/2 p1", (8, 64, 112, 112),
     lambda x: fc.max_pool2d(x, 3, 2, 1), lambda t: F.max_pool2d(t, 3, 2, 1)),
    ("avg_pool2d 2x2/2", (8, 64, 112, 112),
     lambda x: fc.avg_pool2d(x, 2, 2), lambda t: F.avg_pool2d(t, 2, 2)),
    ("pad reflect 1", (8, 64, 56, 56),
     lambda x: fc.pad(x, (1, 1, 1, 1), "reflect"), lambda t: F.pad(t, (1, 1, 1, 1), "reflect")),
    ("pad constant 1", (8, 64, 56, 56),
     lambda x: fc.pad(x, (1, 1, 1, 1)), lambda t: F.pad(t, (1, 1, 1, 1))),
]


def nbytes(result):
    parts = result if isinstance(result, tuple) else (result,)
    return sum(p.nbytes if hasattr(p, "nbytes") else p.element_size() * p.nelement()
               for p in parts if p is not None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--default-allocator", action="store_true")
    a = ap.parse_args()
    if not a.default_allocator:
        bench.reexec_with_allocator_setting()
    fc.set_num_threads(a.threads)
    if torch is not None:
        torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    rows = []
    for name, shape, ours, theirs in CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        moved = x.nbytes + nbytes(ours(x))
        t_fc = median_time(lambda: ours(x), a.repeat)
        row = {"op": name, "shape": "x".join(map(str, shape)), "fastconv ms": t_fc * 1e3,
               "fastconv GB/s": moved / t_fc / 1e9}
        if torch is not None:
            tx = torch.from_numpy(x)
            t_t = median_time(lambda: theirs(tx), a.repeat)
            row.update({"torch ms": t_t * 1e3, "torch GB/s": nbytes(theirs(tx)) / t_t / 1e9
                        + tx.nbytes / t_t / 1e9, "speedup": t_t / t_fc})
        rows.append(row)
    cols = ["op", "shape", "fastconv ms", "fastconv GB/s", "torch ms", "torch GB/s", "speedup"]
    print(f"threads={a.threads} isa={fc.info()['isa_active']} "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(default allocator)')}")
    print(format_table(rows, cols))


if __name__ == "__main__":
    main()
