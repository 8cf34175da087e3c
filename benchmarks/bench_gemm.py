"""Our GEMM against numpy's (OpenBLAS) and our convolutions against PyTorch, in one process.

    python benchmarks/bench_gemm.py                 # GEMM table, 1 and 2 threads
    python benchmarks/bench_gemm.py --conv          # also suite layers: im2col / direct / torch
    python benchmarks/bench_gemm.py --sizes 512 1024 --threads 1
    python benchmarks/bench_gemm.py --a-modes       # A packed per call / read in place / packed
                                                    # in advance (gemm::kAInPlaceMaxColumns)

The script re-executes itself once with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from
the environment (an override there makes OpenBLAS run its Haswell kernels at half speed), with
OpenBLAS's idle-spin time cut to its minimum (else its workers hold the second core during our
2-thread runs) and with the allocator setting of ../shared/bench/README.md, so contenders are compared fairly.
Contenders alternate within each repetition; figures are medians. Peak: this machine's fp32 FMA
peak as fastconv.bench measures it (fastconv._core.fma_peak_gflops), or --peak-per-core.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

_MARK = "FASTCONV_BENCH_GEMM_REEXEC"

if __name__ == "__main__" and os.environ.get(_MARK) != "1":
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    # OpenBLAS's idle workers spin for 2^28 cycles (~80 ms) after each call, holding the second
    # core through the next contender's call. 2^20 (~0.3 ms) still outlasted a 256^3 product:
    # fastconv's second thread then waited on it (2 threads: 67 GFLOP/s, against 350 with the
    # minimum, 2^4; OpenBLAS's own figures did not change).
    env.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
    from fastconv.bench import ALLOCATOR_TUNABLES
    env["GLIBC_TUNABLES"] = ALLOCATOR_TUNABLES
    env[_MARK] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402  (after the re-exec: OpenBLAS reads its environment on load)

import fastconv as fc  # noqa: E402
from fastconv import _dispatch, bench  # noqa: E402


_clock = time.perf_counter


def _medians(fns, reps):
    """Median seconds of each fn, alternating between them every repetition."""
    for f in fns:
        f()
    times = [[] for _ in fns]
    for _ in range(reps):
        for i, f in enumerate(fns):
            t = _clock()
            f()
            times[i].append(_clock() - t)
    return [sorted(t)[len(t) // 2] for t in times]


def gemm_rows(sizes, threads_list, reps, peak_core):
    from threadpoolctl import threadpool_limits
    core = _dispatch._core
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        flops = 2.0 * n ** 3
        for threads in threads_list:
            fc.set_num_threads(threads)
            with threadpool_limits(limits=threads, user_api="blas"):
                ours, numpy = _medians([lambda: core.gemm(a, b), lambda: a @ b], reps)
            peak = peak_core * threads if peak_core else bench.machine_peak(threads)
            rows.append((f"{n}x{n}x{n}", threads, flops / ours / 1e9, flops / numpy / 1e9, peak))
    return rows


# (M, N, K): square sizes, then convolution-shaped products: weights against a few output
# positions (N small, K deep), and 1x1 / 3x3 layers on mid-sized maps.
A_MODE_SHAPES = [(128, 128, 128), (512, 512, 512), (1024, 1024, 1024), (512, 49, 4608),
                 (1000, 64, 1024), (256, 196, 2304), (96, 784, 1152), (64, 3136, 576)]


def a_mode_rows(shapes, threads_list, reps):
    """GFLOP/s of one product with A packed per call, read in place, and packed in advance."""
    core = _dispatch._core
    rng = np.random.default_rng(0)
    rows = []
    for m, n, k in shapes:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        packed = core.GemmPackedA(a)
        for threads in threads_list:
            fc.set_num_threads(threads)
            times = _medians([lambda: core.gemm(a, b, threads, "pack"),
                              lambda: core.gemm(a, b, threads, "in_place"),
                              lambda: packed.matmul(b, threads)], reps)
            rows.append((f"{m}x{n}x{k}", threads, *(2.0 * m * n * k / t / 1e9 for t in times)))
    return rows


def conv_rows(layer_names, n, threads_list, reps):
    import torch
    from fastconv.bench import load_suite
    layers = [layer for layer in load_suite() if not layer_names or layer.name in layer_names]
    F = torch.nn.functional
    rows = []
    for layer in layers:
        x, w = layer.arrays(n)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        op = F.conv_transpose2d if layer.transpose else F.conv2d
        tfn = lambda op=op, tx=tx, tw=tw, layer=layer: op(tx, tw, None, **layer.torch_args())
        for threads in threads_list:
            fc.set_num_threads(threads)
            torch.set_num_threads(threads)
            fns = [lambda a=a, x=x, w=w, layer=layer: layer.run(fc, x, w, backend="cpp",
                                                                algorithm=a)
                   for a in ("im2col", "direct")]
            with torch.no_grad():
                t_im2col, t_direct, t_torch = _medians(fns + [tfn], reps)
            g = layer.flops(n) / 1e9
            rows.append((layer.name, n, threads, g / t_im2col, g / t_direct, g / t_torch,
                         t_torch / t_im2col))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--peak-per-core", type=float, default=None,
                    help="GFLOP/s per core (default: measured on this machine)")
    ap.add_argument("--conv", action="store_true", help="also time suite layers against torch")
    ap.add_argument("--a-modes", action="store_true",
                    help="only compare the ways of feeding A (packed per call, in place, prepacked)")
    ap.add_argument("--layers", nargs="*", default=[], help="suite layer names (default: all)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with the calling thread's CPU time (1 thread only): on a shared "
                         "machine it leaves out the time the host takes the core away")
    args = ap.parse_args(argv)
    global _clock
    if args.cpu_time:
        if args.threads != [1]:
            ap.error("--cpu-time measures one thread: use it with --threads 1")
        _clock = time.thread_time
    info = fc.info()
    print(f"fastconv {info['version']}  isa={info['isa_active']}  ukernel="
          f"{_dispatch._core.gemm_ukernel()}  numpy {np.__version__}  "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}  "
          f"clock={'thread CPU time' if args.cpu_time else 'wall'}")
    if args.a_modes:
        print(f"\nauto reads A in place up to N = {_dispatch._core.GEMM_A_IN_PLACE_MAX_COLUMNS}")
        print("\n| MxNxK | threads | packed per call | in place | packed in advance | "
              "in place / per call |")
        print("|---|---|---|---|---|---|")
        for shape, threads, per_call, in_place, ahead in a_mode_rows(A_MODE_SHAPES, args.threads,
                                                                     args.reps):
            print(f"| {shape} | {threads} | {per_call:.0f} | {in_place:.0f} | {ahead:.0f} | "
                  f"{in_place / per_call:.2f} |", flush=True)
        return
    print("\n| M=N=K | threads | fastconv GFLOP/s | % peak | numpy GFLOP/s | % peak "
          "| fastconv/numpy |")
    print("|---|---|---|---|---|---|---|")
    for size, threads, ours, numpy, peak in gemm_rows(args.sizes, args.threads, args.reps,
                                                      args.peak_per_core):
        print(f"| {size} | {threads} | {ours:.0f} | {100 * ours / peak:.0f}% | {numpy:.0f} | "
              f"{100 * numpy / peak:.0f}% | {ours / numpy:.2f} |", flush=True)
    if args.conv:
        print(f"\n| layer | N | threads | im2col GFLOP/s | direct GFLOP/s | torch GFLOP/s | "
              f"torch time / im2col time |")
        print("|---|---|---|---|---|---|---|")
        for name, n, threads, im2col, direct, torch_gf, ratio in conv_rows(
                args.layers, args.batch, args.threads, args.reps):
            print(f"| {name} | {n} | {threads} | {im2col:.0f} | {direct:.0f} | {torch_gf:.0f} | "
                  f"{ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
