"""pytest-benchmark: one group per suite layer and batch, every contender in it (each C++
algorithm, numba, torch and onnxruntime when installed, as `fastconv bench` discovers them),
GFLOP/s and % of the FMA peak in extra_info.

    pytest benchmarks/ --benchmark-autosave                 # every layer at N=1 and N=8
    pytest benchmarks/ -k "r50 and N1" --benchmark-autosave # a subset
    pytest-benchmark compare 0001 0002 --group-by=group --sort=name --columns=median,ops

Threads: FASTCONV_NUM_THREADS (default: all cores) applies to every contender. Not part of the
plain `pytest` run (testpaths = tests). For kernel comparisons use the allocator setting of
../shared/bench/README.md: GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
"""
import pytest

import fastconv as fc
from fastconv import bench

LAYERS = bench.load_suite()
CONTENDERS = bench.default_contenders()


@pytest.mark.parametrize("n", [1, 8], ids=lambda n: f"N{n}")
@pytest.mark.parametrize("contender", CONTENDERS, ids=[c.label for c in CONTENDERS])
@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_layer(benchmark, layer, contender, n):
    threads = fc.get_num_threads()
    x, w = layer.arrays(n)
    benchmark.group = f"{layer.name} N={n}"
    try:
        fn = contender.prepare(layer, x, w, threads)
    except bench.Unsupported as exc:
        pytest.skip(f"{contender.label}: {exc}")
    benchmark(fn)
    gflops = layer.flops(n) / benchmark.stats.stats.median / 1e9
    peak = bench.machine_peak(threads)
    benchmark.extra_info.update({
        "shape": layer.shape_string(n), "threads": threads, "flops": layer.flops(n),
        "GFLOP/s": gflops, "% peak": 100 * gflops / peak if peak else None})
