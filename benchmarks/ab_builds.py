"""Two (or more) builds of the extension side by side in one process: is a kernel change faster?

On a shared host the same call can read 30 us one minute and 57 us the next, and a slow spell
can last seconds, so timings of two builds taken in turn by separate processes compare spells,
not builds. This script loads every build given (a copy of each `_core*.so`, so each is a
module of its own) into one process and times them round by round, each build one sample per
round (order reversed every other round), and reports per build the median and best time and
the median over rounds of its time against the first build's in the same round (the paired
ratio: a spell that slows both builds cancels). It also checks that every build returns the
first one's result (float32 tolerance), so a faster build that is wrong does not go unnoticed.

Usage: PYTHONPATH=. python benchmarks/ab_builds.py OLD.so NEW.so [MORE.so ...]
           [--layers r50_stem_7x7s2 dw_512@14 ...] [--batch 1,8] [--threads 1,2]
           [--op fwd|input|weight] [--algorithm auto] [--rounds 15] [--min-time 0.02]
           [--isa avx2]
Layers are suite names or shape strings (see `fastconv bench`). Keep a build to compare
against before rebuilding: cp fastconv/_core*.so /tmp/old.so; tools/devbuild.sh; then
`python benchmarks/ab_builds.py /tmp/old.so fastconv/_core*.so`.
Runs under the allocator setting of ../shared/bench/README.md.
"""
import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile

import numpy as np

from fastconv import bench
from fastconv.bench import format_table


def load_builds(paths, directory):
    """Each shared object as a module of its own: copied to a path of its own first, since the
    dynamic loader hands out an already loaded file again (by path) instead of a second copy,
    and imported under a module name of its own, since pybind11 (3.x) hands out the module it
    made before under the same name (every build loaded as plain "_core" was the first one)."""
    modules = []
    for i, path in enumerate(paths):
        copy = os.path.join(directory, f"build{i}", os.path.basename(path))
        os.makedirs(os.path.dirname(copy))
        shutil.copy(path, copy)
        # The init function is found by the name's last part: PyInit__core for every build.
        name = f"ab_builds_{os.path.basename(directory)}_{i}._core"
        spec = importlib.util.spec_from_file_location(name, copy)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def builds_calls(cores, layer, op, n, algorithm):
    """Per build, a zero-argument call of its binding for this layer, batch and op, all on the
    same arrays (a transposed layer's forward is the input gradient of the conv it transposes)."""
    s = layer.shape
    x, w = layer.arrays(n)
    (sh, sw), (ph, pw), (dh, dw) = s.stride, s.pad, s.dilation
    geometry = (sh, sw, ph, ph, pw, pw, dh, dw, s.groups)
    if s.transpose:
        if op != "fwd":
            raise ValueError(f"{layer.name}: --op {op} takes a convolution, not a transposed one")
        return [lambda c=c: c.conv2d_input(x, w, *s.out_hw(), *geometry, algorithm, None)
                for c in cores]
    gy = np.random.default_rng(1).standard_normal((n, s.K, *s.out_hw())).astype(np.float32)
    if op == "fwd":
        return [lambda c=c: c.conv2d(x, w, None, *geometry, algorithm) for c in cores]
    if op == "input":
        return [lambda c=c: c.conv2d_input(gy, w, s.H, s.W, *geometry, algorithm, None)
                for c in cores]
    return [lambda c=c: c.conv2d_weight(x, gy, s.R, s.S, *geometry, algorithm) for c in cores]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs="+", help="paths of _core*.so files; the first is the base")
    ap.add_argument("--layers", nargs="+", default=["r50_3x3_64@56"])
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--op", choices=["fwd", "input", "weight"], default="fwd")
    ap.add_argument("--algorithm", default="auto")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--min-time", type=float, default=0.02)
    ap.add_argument("--isa", choices=["scalar", "avx2", "avx512"],
                    help="the highest ISA level every build's kernels may use (default: detected)")
    a = ap.parse_args(argv)
    if len(a.builds) < 2:
        ap.error("give at least two builds")
    missing = [b for b in a.builds if not os.path.isfile(b)]
    if missing:
        ap.error(f"no such file: {', '.join(missing)}")
    if argv is None:
        bench.reexec_with_allocator_setting()
    try:
        layers = bench.resolve_layers(a.layers)
    except ValueError as e:
        ap.error(str(e))
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        cores = load_builds(a.builds, directory)
        if a.isa:
            for core in cores:
                core.set_isa_cap(a.isa)
        names = [f"{i}:{os.path.basename(os.path.dirname(b)) or '.'}/{os.path.basename(b)}"
                 for i, b in enumerate(a.builds)]
        for layer in layers:
            for n in (int(v) for v in a.batch.split(",")):
                for t in (int(v) for v in a.threads.split(",")):
                    for core in cores:
                        core.set_num_threads(t)
                    try:  # a transposed layer's gradients, or an algorithm that declines
                        fns = builds_calls(cores, layer, a.op, n, a.algorithm)
                        ref = fns[0]()
                    except ValueError as e:
                        sys.exit(f"{layer.name} N={n}: {e}")
                    for name, fn in zip(names[1:], fns[1:]):
                        got = fn()
                        if got.shape != ref.shape or not np.allclose(got, ref, rtol=1e-4,
                                                                     atol=1e-4 * np.abs(ref).max()):
                            sys.exit(f"{name} disagrees with {names[0]} on {layer.name} N={n}")
                    timed = bench.time_interleaved(dict(zip(names, fns)), a.rounds, a.min_time)
                    samples = [timed[name]["samples"] for name in names]
                    for name, s in zip(names, samples):
                        rows.append({"layer": layer.name, "N": n, "threads": t, "build": name,
                                     "median ms": statistics.median(s) * 1e3,
                                     "best ms": min(s) * 1e3,
                                     "paired vs 0": statistics.median(
                                         b / x for b, x in zip(samples[0], s))})
    print(f"op={a.op} algorithm={a.algorithm} rounds={a.rounds} isa={cores[0].isa_active()} "
          "(paired vs 0 > 1: faster than build 0)")
    print(format_table(rows, ["layer", "N", "threads", "build", "median ms", "best ms",
                              "paired vs 0"]))


if __name__ == "__main__":
    main()
