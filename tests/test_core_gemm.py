"""_core.gemm and _core.GemmPackedA against numpy.matmul: odd/prime sizes, size 1, strided and
transposed operands, every ISA level, 1 and 2 threads, float32 and float64."""
from __future__ import annotations

import os

import numpy as np
import pytest

from fastconv import _dispatch
from conftest import ISA_LEVELS, _isa_rank, assert_close, random

core = _dispatch._core
pytestmark = pytest.mark.skipif(core is None, reason="fastconv._core is not built")

# Per ISA level: the float32 and float64 micro-kernels it may pick (by the shape's tile fit).
UKERNELS = {"scalar": (("f32_gemm_4x8_scalar",), ("f64_gemm_4x4_scalar",)),
            "avx2": (("f32_gemm_6x16_avx2",), ("f64_gemm_6x8_avx2",)),
            "avx512": (("f32_gemm_14x32_avx512", "f32_gemm_8x48_avx512"),
                       ("f64_gemm_14x16_avx512",))}


@pytest.fixture(params=ISA_LEVELS)
def isa(request):
    if core is None or _isa_rank(request.param) > _isa_rank(core.isa_detected()):
        pytest.skip(f"this CPU does not support {request.param}")
    core.set_isa_cap(request.param)
    yield request.param
    core.set_isa_cap(os.environ.get("FASTCONV_ISA", "avx512") or "avx512")


# (M, N, K): 1s, primes around the tile sizes (4, 6, 8, 14 rows; 8, 16, 32, 48 columns), more
# than one cache block in every dimension (KC = 512, MC ~ 250 rows); multiples of 8 rows pick
# the 8x48 AVX-512 tile, others the 14x32 one. The last two stream a B over 1 MiB past one or
# two A panels, which cuts the depth into k blocks of about 32 (gemm::kStreamedBDepth).
SIZES = [(1, 1, 1), (1, 7, 1), (5, 1, 3), (13, 17, 19), (14, 32, 7), (29, 31, 37),
         (97, 61, 1), (3, 1031, 5), (719, 11, 613), (131, 257, 1031), (64, 97, 129),
         (264, 49, 515), (13, 2063, 131), (16, 1500, 203)]


def _check(c, a, b, dtype):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_close(c, a64 @ b64, np.abs(a64) @ np.abs(b64), dtype, what="gemm")


@pytest.mark.parametrize("a_mode", ["auto", "pack", "in_place"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES, ids=["x".join(map(str, s)) for s in SIZES])
def test_gemm_matches_matmul(isa, threads, size, dtype, a_mode):
    m, n, k = size
    a, b = random((m, k), dtype, 1), random((k, n), dtype, 2)
    c = core.gemm(a, b, threads, a_mode)  # forced, so small sizes take the threaded paths too
    _check(c, a, b, dtype)
    assert core.gemm_ukernel(np.dtype(dtype).name, m, n) in UKERNELS[isa][dtype == np.float64]


@pytest.mark.parametrize("a_mode", ["pack", "in_place"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES, ids=["x".join(map(str, s)) for s in SIZES])
def test_gemm_row_bias(isa, threads, size, dtype, a_mode):
    # The micro-kernels start from the bias: full tiles, edge tiles, the columns done across
    # rows, and (K > KC) only the first k block may add it.
    m, n, k = size
    a, b, bias = random((m, k), dtype, 1), random((k, n), dtype, 2), random((m,), dtype, 3)
    bias0 = bias.copy()
    c = core.gemm(a, b, threads, a_mode, bias[::-1].copy()[::-1])  # a strided view is copied
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_close(c, a64 @ b64 + bias[:, None], np.abs(a64) @ np.abs(b64) + np.abs(bias)[:, None],
                 dtype, what="gemm + row_bias")
    assert np.array_equal(bias, bias0)


@pytest.mark.parametrize("layout", ["a_transposed", "b_transposed", "both_transposed",
                                    "every_other", "negative_stride", "broadcast_row"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_strided_operands(isa, layout, dtype):
    m, n, k = 23, 41, 37
    if layout == "a_transposed":
        a, b = random((k, m), dtype, 3).T, random((k, n), dtype, 4)
    elif layout == "b_transposed":
        a, b = random((m, k), dtype, 3), random((n, k), dtype, 4).T
    elif layout == "both_transposed":
        a, b = random((k, m), dtype, 3).T, random((n, k), dtype, 4).T
    elif layout == "every_other":
        a, b = random((2 * m, 3 * k), dtype, 3)[::2, ::3], random((k, 2 * n), dtype, 4)[:, 1::2]
    elif layout == "negative_stride":
        a, b = random((m, k), dtype, 3)[::-1], random((k, n), dtype, 4)[:, ::-1]
    else:
        a, b = np.broadcast_to(random((1, k), dtype, 3), (m, k)), random((k, n), dtype, 4)
    a0, b0 = a.copy(), b.copy()
    _check(core.gemm(a, b), a, b, dtype)
    if a.strides[1] == a.itemsize:  # rows with unit stride can also be read in place
        _check(core.gemm(a, b, 0, "in_place"), a, b, dtype)
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_a_reused(isa, threads, dtype):
    a = random((61, 523), dtype, 5)[:, ::-1]
    packed = core.GemmPackedA(a)
    assert packed.ukernel in UKERNELS[isa][dtype == np.float64]
    for seed, n in enumerate((1, 33, 700)):
        b = random((523, n), dtype, 10 + seed)
        _check(packed.matmul(b, threads), a, b, dtype)
    bias = random((61,), dtype, 20)
    c = packed.matmul(b, threads, bias)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert_close(c, a64 @ b64 + bias[:, None], np.abs(a64) @ np.abs(b64) + np.abs(bias)[:, None],
                 dtype, what="packed gemm + row_bias")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_a_with_width_hint(isa, threads, dtype):
    """A packed for a stated width of B: one panel of A against a B over 1 MiB takes shallow
    k blocks, several of them for a depth of 300."""
    a = random((9, 300), dtype, 6)
    packed = core.GemmPackedA(a, n_hint=2048)
    b = random((300, 2048), dtype, 7)
    _check(packed.matmul(b, threads), a, b, dtype)
    b = random((300, 5), dtype, 8)   # another width works all the same
    _check(packed.matmul(b, threads), a, b, dtype)
    with pytest.raises(ValueError, match="n_hint"):
        core.GemmPackedA(a, n_hint=-1)


def test_tile_choice_follows_shape():
    if core is None or core.isa_detected() != "avx512":
        pytest.skip("needs AVX-512")
    core.set_isa_cap("avx512")
    assert core.gemm_ukernel("float32", 64, 576) == "f32_gemm_8x48_avx512"   # 64 = 8 * 8
    assert core.gemm_ukernel("float32", 28, 64) == "f32_gemm_14x32_avx512"   # 28 = 2 * 14
    assert core.GemmPackedA(np.ones((64, 9), np.float32)).ukernel == "f32_gemm_8x48_avx512"


def test_empty_and_zero_depth():
    a, b = np.ones((3, 0), np.float32), np.ones((0, 4), np.float32)
    assert np.array_equal(core.gemm(a, b), np.zeros((3, 4), np.float32))
    assert core.gemm(np.ones((0, 5), np.float32), np.ones((5, 4), np.float32)).shape == (0, 4)
    bias = np.array([1, 2, 3], np.float32)
    assert np.array_equal(core.gemm(a, b, 0, "auto", bias), np.repeat(bias[:, None], 4, 1))


def test_gemm_rejects_bad_operands():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="a.shape\\[1\\] must equal b.shape\\[0\\]"):
        core.gemm(a, np.ones((5, 2), np.float32))
    with pytest.raises(TypeError, match="share one dtype"):
        core.gemm(a, np.ones((4, 2), np.float64))
    with pytest.raises(TypeError, match="float32 or float64"):
        core.gemm(a.astype(np.int32), np.ones((4, 2), np.int32))
    with pytest.raises(ValueError, match="unit column stride"):
        core.gemm(np.ones((4, 3), np.float32).T, np.ones((4, 2), np.float32), 0, "in_place")
    with pytest.raises(ValueError, match="a_mode must be"):
        core.gemm(a, np.ones((4, 2), np.float32), 0, "inplace")
    with pytest.raises(ValueError, match="2-D"):
        core.gemm(np.ones(4, np.float32), np.ones((4, 2), np.float32))
    b = np.ones((4, 2), np.float32)
    with pytest.raises(ValueError, match="row_bias must be 1-D with a.shape\\[0\\] values"):
        core.gemm(a, b, 0, "auto", np.ones(4, np.float32))
    with pytest.raises(ValueError, match="row_bias must be 1-D"):
        core.gemm(a, b, 0, "auto", np.ones((3, 1), np.float32))
    with pytest.raises(TypeError, match="row_bias must be an array of the operands' dtype"):
        core.gemm(a, b, 0, "auto", np.ones(3, np.float64))
