"""pytest-benchmark: one group per suite layer, every contender in it, GFLOP/s in extra_info.

    pytest benchmarks/test_layers.py                               # all layers, N=1
    pytest benchmarks/test_layers.py -k "r50" --benchmark-save=mine
    pytest-benchmark compare                                       # compare saved runs

Not part of the plain `pytest` run (testpaths = tests). For kernel comparisons use the allocator
setting of ../shared/bench/README.md: GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
"""
import numpy as np
import pytest

import fastconv as fc
from fastconv.bench import default_contenders, load_suite

LAYERS = load_suite()
CONTENDERS = [(label, backend, algo) for label, backend, algo in default_contenders()] + [("torch", None, None)]


@pytest.mark.parametrize("n", [1, 8])
@pytest.mark.parametrize("contender", CONTENDERS, ids=[c[0] for c in CONTENDERS])
@pytest.mark.parametrize("layer", LAYERS, ids=[layer.name for layer in LAYERS])
def test_layer(benchmark, layer, contender, n):
    label, backend, algorithm = contender
    x, w = layer.arrays(n)
    benchmark.group = f"{layer.name} N={n}"
    benchmark.extra_info["flops"] = layer.flops(n)
    if label == "torch":
        torch = pytest.importorskip("torch")
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        F = torch.nn.functional
        if layer.transpose:
            fn = lambda: F.conv_transpose2d(tx, tw, None, layer.stride, layer.pad, 0, layer.groups, layer.dilation)
        else:
            fn = lambda: F.conv2d(tx, tw, None, layer.stride, layer.pad, layer.dilation, layer.groups)
        with torch.no_grad():
            benchmark(fn)
    else:
        benchmark(lambda: layer.run(fc, x, w, backend=backend, algorithm=algorithm))
    benchmark.extra_info["GFLOP/s"] = layer.flops(n) / benchmark.stats.stats.median / 1e9
