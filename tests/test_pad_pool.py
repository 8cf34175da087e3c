"""pad, max/min/avg pooling and their gradients: every implementation against the reference.
Padding and max/min pooling are exact; average pooling within rounding of the sum."""
from __future__ import annotations

import numpy as np
import pytest

import fastconv as fc
from conftest import random

PAD_CASES = [
    ((1, 1, 1, 1), "constant", (2, 3, 5, 7)),
    ((0, 3, 2, 0), "constant", (1, 1, 4, 4)),
    ((-1, 2, 0, -2), "constant", (2, 3, 5, 7)),
    ((1, 2, 3, 0), "reflect", (2, 3, 4, 5)),
    ((4, 4, 3, 3), "reflect", (1, 2, 4, 5)),          # pad = size - 1
    ((1, 1, 1, 1), "reflect", (8, 64, 9, 9)),
    ((2, 0, 1, 3), "replicate", (2, 3, 4, 5)),
    ((3, 3), "replicate", (3, 1, 6)),                 # 1-D padding of (C, W)... as (N, C, W)
    ((2, 3, 1, 1), "circular", (2, 3, 4, 5)),
    ((5, 5, 4, 4), "circular", (1, 2, 4, 5)),         # pad = size
    ((-1, -1, 1, 0), "circular", (2, 3, 4, 5)),
    ((0, 0, 0, 0), "reflect", (1, 1, 3, 3)),
    ((1, 2, 1, 2), "constant", (3, 5, 6)),            # unbatched
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pads,mode,shape", PAD_CASES)
def test_pad(impl, pads, mode, shape, dtype):
    x = random(shape, dtype, 1)
    x0 = x.copy()
    value = 2.5 if mode == "constant" else None
    y = fc.pad(x, pads, mode, value, backend=impl)
    ref = fc.pad(x, pads, mode, value, backend="reference")
    assert y.dtype == x.dtype and y.shape == ref.shape
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(x, x0)


# (shape, kernel, stride, padding, dilation, ceil_mode)
MAX_CASES = [
    ((2, 3, 8, 8), 2, 2, 0, 1, False),
    ((1, 2, 9, 11), 3, 2, 1, 1, True),
    ((2, 2, 10, 9), 3, 1, 1, 2, False),
    ((1, 3, 7, 10), (2, 3), (1, 2), (1, 1), 1, True),
    ((1, 1, 5, 5), 5, 1, 2, 1, False),
    ((3, 4, 13, 17), 3, 3, 0, 1, True),
    ((1, 2, 6, 6), 1, 3, 0, 1, False),                # stride > kernel
    ((2, 5, 33, 35), 2, 2, 0, 1, False),              # vector tails
    ((1, 3, 12, 12), (4, 2), (3, 1), (2, 1), (1, 2), True),
    ((2, 4, 7), 2, 2, 0, 1, True),                    # unbatched
    ((2, 3, 8, 5), 2**20, 2**20, 1, 1, True),         # windows far larger than the input
    ((1, 2, 6, 7), (2**31 - 1, 3), (1, 2), (2**30 - 1, 1), (1, 2), True),  # the largest
]


def _special_values(x):
    """NaNs, ties and -inf/+inf planes, so the tie and NaN rules are exercised."""
    x = x.copy()
    flat = x.reshape(-1, *x.shape[-2:])
    flat[0, 1, 1] = np.nan
    if flat.shape[0] > 1:
        flat[1, :4, :4] = 3.0                          # ties
    if flat.shape[0] > 2:
        flat[2] = -np.inf
    if flat.shape[0] > 3:
        flat[3] = np.inf
    return x


@pytest.mark.parametrize("is_min", [False, True], ids=["max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_min_pool(impl, case, dtype, is_min):
    shape, k, s, p, d, ceil = case
    x = _special_values(random(shape, dtype, 2))
    x0 = x.copy()
    pool = fc.min_pool2d if is_min else fc.max_pool2d
    y, idx = pool(x, k, s, p, d, ceil, return_indices=True, backend=impl)
    y_ref, idx_ref = pool(x, k, s, p, d, ceil, return_indices=True, backend="reference")
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(pool(x, k, s, p, d, ceil, backend=impl), y_ref)
    gy = random(y.shape, dtype, 3)
    dx = fc.grad.max_pool2d_input(gy, idx, x.shape, backend=impl)
    dx_ref = fc.grad.max_pool2d_input(gy, idx_ref, x.shape, backend="reference")
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)
    np.testing.assert_array_equal(x, x0)


# (shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [
    ((2, 3, 8, 8), 2, 2, 0, False, True, None),
    ((1, 2, 9, 11), 3, 2, 1, True, True, None),
    ((1, 2, 9, 11), 3, 2, 1, True, False, None),
    ((2, 3, 7, 10), (3, 2), 1, (1, 1), False, False, 3),
    ((1, 4, 6, 7), 3, 3, 1, True, True, None),
    ((3, 2, 13, 17), 5, 2, 2, False, False, None),
    ((2, 5, 33, 35), 3, 2, 1, False, True, -2),
    ((3, 6, 6), 2, None, 0, False, True, None),       # unbatched
    ((2, 3, 8, 5), 2**20, 2**20, 1, True, True, None),  # windows far larger than the input
    ((1, 2, 6, 7), (2**31 - 1, 3), (1, 2), (2**30 - 1, 1), True, False, None),  # the largest
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool(impl, case, dtype):
    shape, k, s, p, ceil, cip, div = case
    x = random(shape, dtype, 4)
    y = fc.avg_pool2d(x, k, s, p, ceil, cip, div, backend=impl)
    ref = fc.avg_pool2d(x.astype(np.float64), k, s, p, ceil, cip, div, backend="reference")
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(y, ref, rtol=tol, atol=tol)
    assert y.dtype == dtype
    gy = random(y.shape, dtype, 5)
    dx = fc.grad.avg_pool2d_input(gy, x.shape, k, s, p, ceil, cip, div, backend=impl)
    dx_ref = fc.grad.avg_pool2d_input(gy.astype(np.float64), x.shape, k, s, p, ceil, cip, div,
                                      backend="reference")
    np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol)


def test_pool_threads_agree(impl, threads):
    x = random((4, 8, 31, 29), np.float32, 6)
    y, idx = fc.max_pool2d(x, 3, 2, 1, return_indices=True, backend=impl)
    y_ref, idx_ref = fc.max_pool2d(x, 3, 2, 1, return_indices=True, backend="reference")
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
