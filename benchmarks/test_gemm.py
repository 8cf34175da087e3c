"""pytest-benchmark: GEMM sizes, fastconv against numpy (OpenBLAS), one group per size.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest benchmarks/test_gemm.py

Not part of the plain `pytest` run (testpaths = tests). Unset the OpenBLAS overrides for this
command only, or numpy runs its AVX2 kernels; benchmarks/bench_gemm.py does that by itself.
"""
import numpy as np
import pytest

from fastconv import _dispatch

SIZES = [(128, 128, 128), (512, 512, 512), (1024, 1024, 1024), (3136, 256, 64),
         (64, 3136, 576)]


@pytest.mark.parametrize("contender", ["fastconv", "numpy"])
@pytest.mark.parametrize("size", SIZES, ids=["x".join(map(str, s)) for s in SIZES])
def test_gemm(benchmark, size, contender):
    core = _dispatch._core
    if core is None:
        pytest.skip("fastconv._core is not built")
    m, n, k = size
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    benchmark.group = f"gemm {m}x{n}x{k}"
    flops = 2.0 * m * n * k
    benchmark.extra_info["flops"] = flops
    benchmark(core.gemm if contender == "fastconv" else np.matmul, a, b)
    benchmark.extra_info["GFLOP/s"] = flops / benchmark.stats.stats.median / 1e9
