"""Winograd vs direct vs im2col vs torch on the suite's large 3x3 stride-1 layers.

Contenders alternate within every repetition (one sample of each, then the next repetition),
so a slow spell of the shared machine hits all of them; each figure is the median over the
repetitions. GFLOP/s is effective: the direct convolution's flop count (2*N*K*C*9*Ho*Wo)
divided by the time, so Winograd can exceed the machine's FMA peak (235 GFLOP/s per core).
Every fastconv call includes its weight transform/packing, as torch's does (no plan).
Runs under the allocator setting of ../shared/bench/README.md unless --default-allocator.

Usage: PYTHONPATH=. python benchmarks/bench_winograd.py [--threads 1 2] [--batch 1 8]
           [--algorithms winograd direct im2col] [--layers r50_3x3_64@56 ...] [--repeat 5]
           [--stat median|min] [--default-allocator]
"""
import argparse
import os
import sys
import time

import numpy as np

import fastconv as fc
from fastconv import bench
from fastconv.bench import format_table, load_suite

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # fastconv's own figures still print
    torch = None

LAYERS = ["r50_3x3_64@56", "r50_3x3_128@28", "r50_3x3_256@14",
          "vgg_128@112", "vgg_256@56", "vgg_512@28"]


def sample(fn, min_time):
    """Seconds per call of fn, looping until min_time has passed."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--algorithms", nargs="+", default=["winograd", "direct", "im2col"])
    ap.add_argument("--layers", nargs="+", default=LAYERS)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--stat", choices=["median", "min"], default="median",
                    help="per-contender statistic over the repetitions; min (best of) shows the "
                         "undisturbed time when the host deschedules threads (2 threads here)")
    ap.add_argument("--default-allocator", action="store_true")
    a = ap.parse_args(argv)
    if not a.default_allocator:
        bench.reexec_with_allocator_setting()
    suite = {layer.name: layer for layer in load_suite()}
    print(f"isa={fc.info()['isa_active']} "
          f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(default allocator)')} "
          f"repeat={a.repeat} ({a.stat}; contenders alternate)")
    for threads in a.threads:
        fc.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        rows = []
        for name in a.layers:
            layer = suite[name]
            for n in a.batch:
                x, w = layer.arrays(n)
                contenders = {alg: (lambda alg=alg: layer.run(fc, x, w, algorithm=alg))
                              for alg in a.algorithms}
                if torch is not None:
                    tx, tw = torch.from_numpy(x), torch.from_numpy(w)

                    def run_torch():
                        with torch.no_grad():
                            F.conv2d(tx, tw, None, **layer.torch_args())
                    contenders["torch"] = run_torch
                for fn in contenders.values():
                    fn()  # warm-up: first-touch allocation, packing buffers
                times = {k: [] for k in contenders}
                for _ in range(a.repeat):
                    for k, fn in contenders.items():
                        times[k].append(sample(fn, a.min_time))
                flops = layer.flops(n)
                row = {"layer": name, "N": n}
                for k, ts in times.items():
                    t = float(np.median(ts) if a.stat == "median" else np.min(ts))
                    row[f"{k} ms"] = t * 1e3
                    row[f"{k} GF/s"] = flops / t / 1e9
                if torch is not None:
                    for k in a.algorithms:
                        row[f"{k} x"] = row["torch ms"] / row[f"{k} ms"]
                rows.append(row)
                print(f"  {name} N={n} done", file=sys.stderr, flush=True)
        cols = list(rows[0].keys())
        print(f"\nthreads={threads}")
        print(format_table(rows, cols))
        if torch is not None:
            for k in a.algorithms:
                ratios = [r[f"{k} x"] for r in rows]
                print(f"{k}: speedup vs torch geomean {np.exp(np.mean(np.log(ratios))):.2f}x, "
                      f"min {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
