"""conv2d, its gradients and conv_transpose2d: every implementation against the reference."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import fastconv as fc
from fastconv import _dispatch
from conftest import assert_close, has_gradients, random, rtol_for

# Forward-only algorithms for 3x3, stride-1, dilation-1 kernels (any padding and groups).
WINOGRAD = ("winograd", "winograd_f2", "winograd_f4", "winograd_f6")


# Forward-only, along the width: width stride 1 or 2, undilated width, S <= 8.
WINOGRAD_1D = ("winograd_1d",)


ALGORITHMS = ("direct", "im2col", "depthwise", *WINOGRAD, *WINOGRAD_1D)
every_algorithm = pytest.mark.algorithms(ALGORITHMS)
every_algorithm_with_gradients = pytest.mark.algorithms(ALGORITHMS, backward=True)


def run(fn, *args, **kwargs):
    """fn(*args, **kwargs), skipping the test where the chosen algorithm declines the shape or
    does not implement the op (that refusal itself is tested in test_algorithm_refusals)."""
    try:
        return fn(*args, **kwargs)
    except ValueError as e:
        if "does not support this shape" in str(e) or "does not implement this op" in str(e):
            pytest.skip(str(e))
        raise


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


# (N, C, H, W, K, R, S, stride, padding, dilation, groups)
CONV_CASES = [
    (1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1),              # 1x1 image, 1x1 kernel
    (2, 3, 7, 11, 5, 3, 3, 1, 1, 1, 1),             # odd/prime sizes
    (1, 4, 13, 17, 6, 3, 3, 2, 1, 1, 2),            # stride 2, groups 2
    (3, 6, 9, 9, 6, 3, 3, 1, 1, 1, 6),              # depthwise
    (2, 6, 14, 13, 6, 5, 5, 2, 2, 1, 6),            # depthwise stride 2: phase-split flat run
    (1, 4, 11, 10, 8, 3, 3, 3, 1, 1, 4),            # depthwise stride 3, two outputs per group
    (1, 3, 9, 12, 3, 4, 4, 2, (1, 2), 1, 3),        # depthwise stride 2, even kernel
    (2, 4, 9, 70, 4, 3, 3, 2, (2, 1), 1, 4),        # depthwise stride 2, rows of several vectors
    (2, 5, 8, 10, 7, 1, 1, 1, 0, 1, 1),             # 1x1
    (5, 12, 7, 7, 34, 1, 1, 1, 0, 1, 2),            # 1x1 on 7x7 maps: images side by side
    (1, 3, 5, 5, 2, 5, 5, 1, 0, 1, 1),              # kernel == input
    (1, 2, 3, 3, 4, 5, 5, 1, 1, 1, 1),              # kernel == padded input
    (2, 4, 12, 10, 4, 3, 3, (2, 3), (2, 1), (2, 1), 1),
    (1, 8, 11, 7, 16, 3, 5, 3, 2, (1, 2), 4),       # stride 3, grouped, rectangular kernel
    (2, 2, 6, 6, 3, 2, 2, 2, 0, 1, 1),              # even kernel
    (1, 3, 10, 10, 4, 4, 4, 2, 1, 1, 1),            # DCGAN discriminator shape
    (1, 16, 14, 14, 32, 3, 3, 1, "same", 2, 1),     # 'same' with dilation
    (2, 5, 9, 8, 3, 4, 2, 1, "same", 1, 1),         # 'same' with even kernel: asymmetric
    (1, 3, 6, 7, 2, 3, 3, 1, 3, 1, 1),              # padding larger than the kernel
    (1, 3, 23, 29, 8, 7, 7, 2, 3, 1, 1),            # 7x7 stride-2 stem
    (2, 3, 9, 21, 4, 2, 7, 1, (1, 3), 1, 1),        # 2x7: rows of 7 taps at stride 1
    (1, 2, 11, 19, 3, 3, 8, 1, (1, 4), (2, 1), 1),  # 3x8, dilated rows, 8 taps at stride 1
    (2, 32, 20, 24, 48, 3, 3, 1, 1, 1, 1),          # enough channels for full register tiles
    (1, 64, 15, 15, 64, 3, 3, 1, 1, 1, 1),
    (1, 7, 13, 17, 5, 3, 3, 2, 1, 1, 1),            # the suite's odd layer
    (2, 1, 28, 28, 8, 5, 5, 1, 2, 1, 1),            # MNIST-like
    (1, 4, 9, 30, 3, 1, 3, 1, (0, 1), (1, 3), 1),
    (3, 40, 13, 9, 37, 3, 3, 1, (0, 2), 1, 1),      # Winograd F(4x4): ragged edge tiles, odd K
    (2, 64, 6, 5, 96, 3, 3, 1, 0, 1, 2),            # grouped, 32 channels a group, tiny image
    (2, 8, 40, 37, 8, 3, 3, 1, 1, 1, 1),            # many tiles: several blocks and panels
    (1, 4, 5, 70, 8, 3, 3, 1, 1, 1, 4),             # depthwise-like, rows wider than 64
    (2, 3, 21, 1, 9, 3, 1, 1, (1, 0), 1, 1),        # one column: a vector spans many rows
    (1, 2, 6, 19, 17, 2, 3, (1, 2), 0, 1, 1),       # rows just past a vector, K = 2 blocks + 1
    (2, 3, 7, 67, 3, 3, 3, 1, (1, 2), (1, 2), 3),   # depthwise plane kernel: 4 + 3 rows, dilated w
    (5, 6, 4, 4, 8, 4, 4, 2, 1, 1, 1),              # 2x2 maps, several images per col2im
    (6, 4, 7, 5, 6, 3, 2, 2, (1, 0), (1, 2), 2),    # the same grouped, dilated, ragged
    (2, 4, 7, 6, 6, 3, 2, (2**20, 2**40), (1, 2), (2, 1), 2),  # strides past the input: 1x1 out
    (1, 2, 9, 90, 3, 3, 3, 2, 1, 1, 1),             # stride 2, rows of 45: 3 vectors a run
    (1, 2, 26, 27, 3, 23, 23, 1, 11, 1, 1),         # 529 taps: more than im2col's tap table
    # direct's input gradient by stride phases: phases no tap lands on (kernel under the
    # stride), unequal strides with groups, a stride past the input with dilation 1
    (1, 3, 9, 8, 4, 1, 1, 2, 0, 1, 1),
    (1, 8, 5, 4, 8, 2, 2, 3, 0, 1, 1),
    (2, 4, 10, 11, 6, 3, 5, (3, 2), (1, 2), 1, 2),
    (2, 4, 7, 6, 6, 3, 2, (2**20, 2**40), (1, 2), 1, 2),
]


def _ids(cases):
    return ["x".join(str(v).replace(" ", "") for v in case) for case in cases]


def _magnitude_conv(x, w, b, stride, padding, dilation, groups):
    pads = padding if isinstance(padding, str) else padding
    mag = fc.conv2d(np.abs(x).astype(np.float64), np.abs(w).astype(np.float64),
                    None if b is None else np.abs(b).astype(np.float64), stride, pads, dilation,
                    groups, backend="reference")
    return mag


@every_algorithm
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES, ids=_ids(CONV_CASES))
def test_conv2d_forward(impl, algorithm, case, dtype):
    n, c, h, w, k, r, s, stride, padding, dilation, groups = case
    x = random((n, c, h, w), dtype, 1)
    wt = random((k, c // groups, r, s), dtype, 2)
    b = random((k,), dtype, 3)
    x0, w0 = x.copy(), wt.copy()
    y = run(fc.conv2d, x, wt, b, stride, padding, dilation, groups, algorithm=algorithm, backend=impl)
    ref = fc.conv2d(x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64), stride,
                    padding, dilation, groups, backend="reference")
    assert_close(y, ref, _magnitude_conv(x, wt, b, stride, padding, dilation, groups), dtype,
                 rtol=rtol_for(algorithm, dtype), what="conv2d")
    assert np.array_equal(x, x0) and np.array_equal(wt, w0), "inputs were modified"


GRAD_CASES = [case for case in CONV_CASES if not isinstance(case[8], str)]  # numeric padding


@every_algorithm_with_gradients
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GRAD_CASES, ids=_ids(GRAD_CASES))
def test_conv2d_gradients(impl, algorithm, case, dtype):
    n, c, h, w, k, r, s, stride, padding, dilation, groups = case
    x = random((n, c, h, w), dtype, 4)
    wt = random((k, c // groups, r, s), dtype, 5)
    y_shape = fc.conv2d(x, wt, None, stride, padding, dilation, groups, backend="reference").shape
    gy = random(y_shape, dtype, 6)
    args = (stride, padding, dilation, groups)
    f64 = lambda a: a.astype(np.float64)
    dx = run(fc.grad.conv2d_input, x.shape, wt, gy, *args, algorithm=algorithm, backend=impl)
    dx_ref = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), *args, backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, np.abs(f64(wt)), np.abs(f64(gy)), *args, backend="reference")
    # Winograd computes the input gradient as a forward conv: its forward error bound holds.
    assert_close(dx, dx_ref, dx_mag, dtype, rtol=rtol_for(algorithm, dtype), what="conv2d_input")
    if impl == "cpp" and not has_gradients(algorithm, "weight_grad"):
        return
    dw = run(fc.grad.conv2d_weight, x, wt.shape, gy, *args, algorithm=algorithm, backend=impl)
    dw_ref = fc.grad.conv2d_weight(f64(x), wt.shape, f64(gy), *args, backend="reference")
    dw_mag = fc.grad.conv2d_weight(np.abs(f64(x)), wt.shape, np.abs(f64(gy)), *args, backend="reference")
    assert_close(dw, dw_ref, dw_mag, dtype, what="conv2d_weight")


@every_algorithm
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", [(2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1), (1, 4, 6, 5, 4, 3, 2, 2, (2, 1), 1, 2),
                                  (1, 2, 5, 5, 3, 3, 3, 1, "same", 2, 1)])
def test_conv2d_padding_modes(impl, algorithm, case, mode):
    n, c, h, w, k, r, s, stride, padding, dilation, groups = case
    x = random((n, c, h, w), np.float32, 7)
    wt = random((k, c // groups, r, s), np.float32, 8)
    y = run(fc.conv2d, x, wt, None, stride, padding, dilation, groups, padding_mode=mode,
            algorithm=algorithm, backend=impl)
    ref = fc.conv2d(x.astype(np.float64), wt.astype(np.float64), None, stride, padding, dilation,
                    groups, padding_mode=mode, backend="reference")
    mag = fc.conv2d(np.abs(x).astype(np.float64), np.abs(wt).astype(np.float64), None, stride,
                    padding, dilation, groups, padding_mode=mode, backend="reference")
    assert_close(y, ref, mag, np.float32, rtol=rtol_for(algorithm, np.float32),
                 what=f"conv2d padding_mode={mode}")


# (N, Cin, H, W, Cout, R, S, stride, padding, output_padding, groups, dilation)
TRANSPOSE_CASES = [
    (2, 4, 5, 6, 3, 3, 3, 2, 1, 1, 1, 1),
    (1, 6, 4, 4, 4, 4, 4, 2, 1, 0, 2, 1),          # DCGAN generator block, grouped
    (2, 5, 1, 1, 7, 4, 4, 1, 0, 0, 1, 1),          # DCGAN first block: 1x1 -> 4x4
    (2, 2, 3, 5, 2, 3, 2, 3, 2, 2, 1, 2),          # output_padding with dilation
    (1, 4, 7, 7, 4, 1, 1, 1, 0, 0, 4, 1),          # depthwise 1x1
    (1, 3, 9, 8, 5, 5, 3, (2, 1), (2, 1), (1, 0), 1, 1),
    # output_padding >= stride (allowed below the dilation): the conv this transposes has a
    # longer output than the input, whose extra rows and columns are zero
    (2, 3, 4, 5, 4, 3, 3, (1, 2), 1, (1, 2), 1, (2, 3)),
    (1, 4, 3, 3, 2, 2, 2, 1, 0, 1, 2, 2),
]


@every_algorithm_with_gradients
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=_ids(TRANSPOSE_CASES))
def test_conv_transpose2d(impl, algorithm, case, dtype, threads):
    """With the bias, which the C++ algorithms add as they write the result (two threads: im2col
    then shares each tile's product and fills the output with the bias up front)."""
    n, c, h, w, k, r, s, stride, padding, output_padding, groups, dilation = case
    x = random((n, c, h, w), dtype, 9)
    wt = random((c, k // groups, r, s), dtype, 10)
    b = random((k,), dtype, 11)
    args = (stride, padding, output_padding, groups, dilation)
    y = run(fc.conv_transpose2d, x, wt, b, *args, algorithm=algorithm, backend=impl)
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv_transpose2d(f64(x), f64(wt), f64(b), *args, backend="reference")
    mag = fc.conv_transpose2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), *args, backend="reference")
    assert_close(y, ref, mag, dtype, what="conv_transpose2d")


@every_algorithm
def test_threads_agree(impl, algorithm, threads):
    x = random((3, 16, 19, 23), np.float32, 12)
    wt = random((24, 16, 3, 3), np.float32, 13)
    y = run(fc.conv2d, x, wt, None, 1, 1, algorithm=algorithm, backend=impl)
    f64 = lambda a: np.abs(a).astype(np.float64)
    ref = fc.conv2d(x.astype(np.float64), wt.astype(np.float64), None, 1, 1, backend="reference")
    mag = fc.conv2d(f64(x), f64(wt), None, 1, 1, backend="reference")
    assert_close(y, ref, mag, np.float32, rtol=rtol_for(algorithm, np.float32),
                 what=f"conv2d with {threads} threads")
    if impl == "cpp" and not has_gradients(algorithm):
        return
    gy = random(y.shape, np.float32, 14)
    dx = run(fc.grad.conv2d_input, x.shape, wt, gy, 1, 1, algorithm=algorithm, backend=impl)
    dx_ref = fc.grad.conv2d_input(x.shape, wt.astype(np.float64), gy.astype(np.float64), 1, 1,
                                  backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), 1, 1, backend="reference")
    assert_close(dx, dx_ref, dx_mag, np.float32, rtol=rtol_for(algorithm, np.float32),
                 what=f"conv2d_input with {threads} threads")
    if impl == "cpp" and not has_gradients(algorithm, "weight_grad"):
        return
    dw = run(fc.grad.conv2d_weight, x, wt.shape, gy, 1, 1, algorithm=algorithm, backend=impl)
    dw_ref = fc.grad.conv2d_weight(x.astype(np.float64), wt.shape, gy.astype(np.float64), 1, 1,
                                   backend="reference")
    dw_mag = fc.grad.conv2d_weight(f64(x), wt.shape, f64(gy), 1, 1, backend="reference")
    assert_close(dw, dw_ref, dw_mag, np.float32, what=f"conv2d_weight with {threads} threads")


@every_algorithm
def test_non_contiguous_and_unbatched(impl, algorithm):
    base = random((2, 6, 14, 18), np.float32, 14)
    x = base[:, ::2, ::2, 1::2]                    # strided view, not contiguous
    wt = random((4, 3, 3, 3), np.float32, 15)[:, :, ::-1, :]
    assert not x.flags.c_contiguous and not wt.flags.c_contiguous
    y = run(fc.conv2d, x, wt, padding=1, algorithm=algorithm, backend=impl)
    ref = fc.conv2d(np.ascontiguousarray(x), np.ascontiguousarray(wt), padding=1, backend="reference")
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    y1 = run(fc.conv2d, x[0], wt, padding=1, algorithm=algorithm, backend=impl)  # CHW in, CHW out
    np.testing.assert_allclose(y1, y[0], rtol=1e-5, atol=1e-5)


@every_algorithm
def test_empty_batch(impl, algorithm):
    y = run(fc.conv2d, np.zeros((0, 3, 8, 8), np.float32), np.ones((4, 3, 3, 3), np.float32),
            algorithm=algorithm, backend=impl)
    assert y.shape == (0, 4, 6, 6)


@every_algorithm
def test_conv_transpose2d_empty_output(impl, algorithm):
    # An output size of exactly 0 is an empty array, as PyTorch returns; below 0 is an error.
    x, w = np.ones((2, 4, 1, 17), np.float32), np.ones((4, 3, 1, 2), np.float32)
    y = run(fc.conv_transpose2d, x, w, np.ones(3, np.float32), stride=(2, 3), padding=(1, 0),
            output_padding=(1, 2), algorithm=algorithm, backend=impl)
    assert y.shape == (2, 3, 0, 52) and y.dtype == np.float32
    with pytest.raises(ValueError, match="too small"):
        fc.conv_transpose2d(x, w, stride=(2, 3), padding=(2, 0), backend=impl)


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    # (N, C, H, W, K, R, S, stride, padding): the whole col matrix (64*49 x 26*96) is far over
    # the tile budget, so it is built a few output rows at a time; then a small layer whose
    # whole col fits; then a 1x1 conv, which needs no col buffer at all.
    (1, 64, 30, 100, 3, 7, 7, 1, 1),
    (2, 3, 9, 9, 4, 3, 3, 2, 1),
    (2, 8, 9, 9, 4, 1, 1, 1, 0),
])
def test_im2col_workspace_bound(case, dtype):
    """Workspace stays within the documented bounds (csrc/algos/im2col_gemm.h): forward packs
    straight from the image (no tile); the input gradient's dcol tile is at most
    max(IM2COL_INPUT_TILE_BYTES, one output row of col); the weight gradient's channels-last input
    slab covers at most the rows one tile of IM2COL_TILE_COLUMNS outputs reads. Results stay
    right when tiled."""
    core = _dispatch._core
    n, c, h, w, k, r, s, stride, padding = case
    x, wt = random((n, c, h, w), dtype, 20), random((k, c, r, s), dtype, 21)
    ho = (h + 2 * padding - r) // stride + 1
    wo = (w + 2 * padding - s) // stride + 1
    item = np.dtype(dtype).itemsize
    row_bytes = c * r * s * wo * item
    bound = 0 if (r, s, stride, padding) == (1, 1, 1, 0) else max(core.IM2COL_TILE_BYTES, row_bytes)
    input_bound = 0 if not bound else max(core.IM2COL_INPUT_TILE_BYTES, row_bytes)
    f64 = lambda a: a.astype(np.float64)
    y = fc.conv2d(x, wt, None, stride, padding, algorithm="im2col", backend="cpp")
    if ho * wo < core.IM2COL_TILE_COLUMNS and bound:            # whole images, batched
        batch = min(n, core.IM2COL_TILE_COLUMNS // (ho * wo))
        assert 0 < core.im2col_last_tile_bytes() <= k * batch * ho * wo * item
    else:
        assert core.im2col_last_tile_bytes() == 0
    ref = fc.conv2d(f64(x), f64(wt), None, stride, padding, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), None, stride, padding, backend="reference")
    assert_close(y, ref, mag, dtype, what="tiled im2col conv2d")
    gy = random(y.shape, dtype, 22)
    dx = fc.grad.conv2d_input(x.shape, wt, gy, stride, padding, algorithm="im2col", backend="cpp")
    tile_bytes = core.im2col_last_tile_bytes()
    assert tile_bytes <= input_bound and (tile_bytes > 0) == (input_bound > 0)
    if c * r * s * ho * wo * item > core.IM2COL_INPUT_TILE_BYTES:
        assert tile_bytes < c * r * s * ho * wo * item
    dx_ref = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), stride, padding, backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, np.abs(f64(wt)), np.abs(f64(gy)), stride, padding,
                                  backend="reference")
    assert_close(dx, dx_ref, dx_mag, dtype, what="tiled im2col conv2d_input")
    dw = fc.grad.conv2d_weight(x, wt.shape, gy, stride, padding, algorithm="im2col", backend="cpp")
    rows = min(ho, max(1, core.IM2COL_TILE_COLUMNS // wo))      # the channels-last input slab
    slab_rows = min(h, rows * stride + r - 1) if bound else 0   # (1x1: operands as they lie)
    if n > 1 and ho * wo < core.IM2COL_TILE_COLUMNS:             # or whole images, batched
        slab_rows = max(slab_rows, min(n, core.IM2COL_TILE_COLUMNS // (ho * wo)) * h)
    tile_bytes = core.im2col_last_tile_bytes()
    assert tile_bytes <= slab_rows * w * c * item and (tile_bytes > 0) == (slab_rows > 0)
    dw_ref = fc.grad.conv2d_weight(f64(x), wt.shape, f64(gy), stride, padding, backend="reference")
    dw_mag = fc.grad.conv2d_weight(np.abs(f64(x)), wt.shape, np.abs(f64(gy)), stride, padding,
                                   backend="reference")
    assert_close(dw, dw_ref, dw_mag, dtype, what="tiled im2col conv2d_weight")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_algorithm_refusals():
    x, w = np.zeros((1, 4, 5, 5), np.float32), np.zeros((4, 4, 3, 3), np.float32)
    with pytest.raises(ValueError, match="depthwise.*does not support this shape: more than 2 input"):
        fc.conv2d(x, w, algorithm="depthwise", backend="cpp")
    with pytest.raises(ValueError, match="depthwise.*does not support this shape: more than 2 output"):
        fc.grad.conv2d_input(x.shape, w, np.zeros((1, 4, 3, 3), np.float32),
                             algorithm="depthwise", backend="cpp")
    with pytest.raises(ValueError, match="depthwise.*does not support this shape: padding wider"):
        fc.grad.conv2d_input((1, 4, 5, 5), np.zeros((4, 1, 3, 3), np.float32),
                             np.zeros((1, 4, 9, 9), np.float32), padding=3, groups=4,
                             algorithm="depthwise", backend="cpp")
    with pytest.raises(ValueError, match="does not implement this op"):
        fc.grad.conv2d_weight(x, w.shape, np.zeros((1, 4, 3, 3), np.float32),
                              algorithm="winograd", backend="cpp")
    with pytest.raises(ValueError, match="algorithm must be 'auto' or one of"):
        fc.conv2d(x, w, algorithm="fft", backend="cpp")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("algorithm", ["direct", "im2col", "depthwise"])
def test_alternating_geometries_reuse_buffers_correctly(algorithm):
    """Kernels keep per-thread buffers across calls (padded planes, packed panels); shapes that
    share a buffer size but not a layout must not see each other's leftovers."""
    rng = np.random.default_rng(0)
    for _ in range(3):
        for h, padding in [(10, (1, 2)), (11, (1, 1)), (9, "same"), (12, 0)]:
            x = rng.standard_normal((2, 2, h, 7)).astype(np.float32)
            w = rng.standard_normal((2, 1, 4, 3)).astype(np.float32)
            y = fc.conv2d(x, w, None, 1, padding, 1, 2, algorithm=algorithm, backend="cpp")
            ref = fc.conv2d(x, w, None, 1, padding, 1, 2, backend="reference")
            np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


# (N, C, H, W, multiplier, R, S, padding (t, b, l, r)) for depthwise convs whose output rows fit
# one vector, or for 3x3, 5x5 and 7x7 up to 8 (in strips of one vector): on AVX-512 the planes
# are read in place with masked loads and written with masked stores (16 float / 8 double
# lanes), several channels of an image per call.
SMALL_PLANE_CASES = [
    (3, 8, 14, 14, 1, 3, 3, (1, 1, 1, 1)),    # dw_512@14's shape; runs span images
    (2, 5, 16, 16, 1, 3, 3, (0, 0, 0, 0)),    # 14 wide, unpadded
    (1, 4, 14, 16, 1, 3, 3, (1, 1, 1, 1)),    # exactly 16 wide
    (1, 3, 9, 17, 1, 3, 3, (1, 1, 1, 1)),     # 17 wide: two strips, the second of one output
    (1, 2, 20, 40, 1, 3, 3, (1, 1, 1, 1)),    # three strips in floats, five in doubles
    (1, 2, 7, 128, 1, 3, 3, (1, 1, 1, 1)),    # eight strips in floats; doubles: the plane path
    (1, 2, 6, 129, 1, 3, 3, (1, 1, 1, 1)),    # past eight strips: the padded-plane path
    (1, 2, 12, 33, 2, 5, 5, (2, 1, 2, 2)),    # 5x5 strips, multiplier 2
    (1, 2, 10, 30, 1, 7, 7, (3, 3, 0, 5)),    # 7x7 strips, asymmetric padding
    (2, 3, 8, 20, 1, 3, 3, (0, 0, 6, 6)),     # strips starting and ending in the padding
    # rows of at most half a vector (8 floats, 4 doubles): two planes to a vector, an odd
    # count's last plane alone
    (1, 3, 7, 7, 3, 7, 7, (3, 3, 3, 3)),      # 7x7 on 7x7, multiplier 3: 9 planes
    (2, 5, 7, 7, 1, 5, 5, (2, 2, 2, 2)),      # 5x5 on 7x7, 5 planes an image
    (1, 4, 3, 4, 1, 3, 3, (1, 1, 1, 1)),      # 4 wide: two planes to a vector in doubles too
    (2, 3, 9, 6, 2, 3, 3, (4, 5, 0, 4)),      # padding beyond the kernel, multiplier 2
    (1, 6, 7, 2, 4, 3, 3, (2, 1, 3, 2)),      # rows narrower than the kernel, multiplier 4
    (2, 4, 11, 9, 1, 5, 5, (2, 2, 2, 2)),     # 5x5, compiled for its size as 3x3 and 7x7 are
    (1, 2, 14, 14, 1, 5, 5, (2, 2, 2, 2)),    # 5x5 on 14x14: 18 columns from -2
    (1, 3, 6, 5, 2, 5, 5, (4, 0, 1, 3)),      # 5x5, multiplier 2, asymmetric padding
    (2, 3, 17, 15, 1, 7, 7, (3, 3, 3, 3)),    # 7x7: three blocks of 6 rows, two vectors a row
    (1, 2, 9, 12, 1, 7, 3, (3, 3, 1, 1)),     # 7x3: kernel size read at run time
    (1, 2, 5, 5, 1, 1, 9, (0, 0, 4, 4)),      # 9 kernel columns: beyond the kernel's 8
    # 3x3 row blocks are of equal height, at most 8: 1, 3, 8, 7 + 7 (the last row past the
    # output), 5 x 8; a row reaching a second vector (16 floats, 8 doubles) past its pl pad
    (2, 3, 1, 5, 1, 3, 3, (1, 1, 1, 1)),
    (1, 2, 5, 4, 1, 3, 3, (0, 0, 1, 1)),
    (1, 3, 8, 8, 1, 3, 3, (1, 1, 1, 1)),      # doubles: 9 columns from -1
    (1, 2, 13, 15, 1, 3, 3, (1, 1, 2, 0)),    # floats: 17 columns from -2
    (1, 2, 40, 10, 2, 3, 3, (1, 1, 1, 1)),
]


@pytest.mark.backends("cpp")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SMALL_PLANE_CASES, ids=_ids(SMALL_PLANE_CASES))
def test_depthwise_small_planes(impl, threads, dtype, case):
    n, c, h, w, mult, r, s, (pt, pb, pl, pr) = case
    x = random((n, c, h, w), dtype, 40)
    wt = random((c * mult, 1, r, s), dtype, 41)
    b = random((c * mult,), dtype, 42)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))  # asymmetric padding as a padded input
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(xp), f64(wt), f64(b), groups=c, backend="reference")
    mag = fc.conv2d(np.abs(f64(xp)), np.abs(f64(wt)), np.abs(f64(b)), groups=c, backend="reference")
    y = _dispatch._core.conv2d(x, wt, b, 1, 1, pt, pb, pl, pr, 1, 1, c, "depthwise")
    assert_close(y, ref, mag, dtype, what="depthwise small planes")


# (N, C, H, W, multiplier, K, padding) for stride-2 depthwise convs, read in place on AVX-512 in
# strips of outputs whose windows fit two vectors of their input rows ((2 * lanes - K) / 2 + 1
# outputs: 15, 14, 13 of 16 floats for 3x3, 5x5, 7x7; 7, 6, 5 of 8 doubles), each kernel
# column's lanes picked every other one; past 8 strips the phase-split path.
SMALL_PLANE_S2_CASES = [
    (2, 5, 14, 14, 1, 5, 2),      # EfficientNet's 672@14 5x5 stride 2
    (1, 3, 28, 29, 1, 5, 2),      # 14 outputs a row, input rows of two vectors
    (1, 4, 30, 31, 1, 3, 0),      # 15 outputs: windows up to lane 30
    (2, 3, 13, 17, 2, 3, 1),      # multiplier 2
    (1, 2, 14, 14, 1, 7, 3),      # 7x7
    (1, 2, 2, 9, 1, 3, 1),        # two input rows
    (1, 3, 33, 33, 1, 3, 1),      # 17 outputs: two strips
    (1, 2, 56, 56, 1, 5, 2),      # 28 outputs: two strips of 14 floats, five of 6 doubles
    (1, 2, 30, 61, 1, 7, 3),      # 7x7, 31 outputs: three strips of 13 floats
    (1, 3, 21, 45, 2, 5, 0),      # unpadded, multiplier 2
    (1, 2, 9, 225, 1, 3, 1),      # 113 outputs: eight strips of 15 floats; doubles: phases
    (1, 2, 9, 250, 1, 5, 2),      # 125 outputs: past eight strips of 14 floats
    # rows of over a quarter and at most half a vector, 5x5 and 7x7: two planes to a vector,
    # one per half (5-8 floats, 3-4 doubles), an odd count's last plane alone
    (1, 3, 14, 14, 1, 5, 2),      # 7 outputs: a pair and one alone (floats)
    (2, 3, 7, 7, 3, 7, 3),        # 4 outputs (doubles), multiplier 3: 9 planes an image
    (1, 2, 40, 9, 1, 5, 1),       # 4 outputs (doubles), 20 rows: three row blocks
    (1, 3, 10, 10, 1, 5, 2),      # 5 outputs (floats)
    (1, 4, 13, 13, 2, 5, 0),      # unpadded 5 outputs, multiplier 2
    (1, 2, 9, 16, 1, 7, 3),       # 8 outputs: a whole half of floats
    (1, 2, 40, 13, 1, 7, 1),      # 5 outputs, 20 rows, padding under the kernel's
]


@pytest.mark.backends("cpp")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SMALL_PLANE_S2_CASES, ids=_ids(SMALL_PLANE_S2_CASES))
def test_depthwise_small_planes_stride2(impl, threads, dtype, case):
    n, c, h, w, mult, k, pad = case
    x, wt = random((n, c, h, w), dtype, 50), random((c * mult, 1, k, k), dtype, 51)
    b = random((c * mult,), dtype, 52)
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(x), f64(wt), f64(b), 2, pad, groups=c, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), 2, pad, groups=c,
                    backend="reference")
    y = fc.conv2d(x, wt, b, 2, pad, groups=c, algorithm="depthwise", backend=impl)
    assert_close(y, ref, mag, dtype, what="depthwise small planes, stride 2")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_im2col_batches_small_maps(threads, dtype):
    """Maps smaller than a tile put several whole images in one GEMM (all three ops); an odd
    batch leaves a partial last group of images."""
    x, wt = random((7, 12, 12, 12), dtype, 30), random((20, 12, 3, 3), dtype, 31)  # 3 maps a tile
    b = random((20,), dtype, 32)
    f64 = lambda a: a.astype(np.float64)
    y = fc.conv2d(x, wt, b, 1, 1, algorithm="im2col", backend="cpp")
    ref = fc.conv2d(f64(x), f64(wt), f64(b), 1, 1, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), 1, 1, backend="reference")
    assert_close(y, ref, mag, dtype, what="batched im2col conv2d")
    gy = random(y.shape, dtype, 33)
    dx = fc.grad.conv2d_input(x.shape, wt, gy, 1, 1, algorithm="im2col", backend="cpp")
    dx_ref = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), 1, 1, backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, np.abs(f64(wt)), np.abs(f64(gy)), 1, 1,
                                  backend="reference")
    assert_close(dx, dx_ref, dx_mag, dtype, what="batched im2col conv2d_input")
    dw = fc.grad.conv2d_weight(x, wt.shape, gy, 1, 1, algorithm="im2col", backend="cpp")
    dw_ref = fc.grad.conv2d_weight(f64(x), wt.shape, f64(gy), 1, 1, backend="reference")
    dw_mag = fc.grad.conv2d_weight(np.abs(f64(x)), wt.shape, np.abs(f64(gy)), 1, 1,
                                   backend="reference")
    assert_close(dw, dw_ref, dw_mag, dtype, what="batched im2col conv2d_weight")
    # grouped, strided, padded asymmetrically: the per-image copies of every group
    x, wt = random((5, 6, 9, 8), dtype, 34), random((9, 2, 4, 3), dtype, 35)
    args = (2, (2, 1), 1, 3)
    gy = random(fc.conv2d(x, wt, None, *args, backend="reference").shape, dtype, 36)
    dw = fc.grad.conv2d_weight(x, wt.shape, gy, *args, algorithm="im2col", backend="cpp")
    dw_ref = fc.grad.conv2d_weight(f64(x), wt.shape, f64(gy), *args, backend="reference")
    dw_mag = fc.grad.conv2d_weight(np.abs(f64(x)), wt.shape, np.abs(f64(gy)), *args,
                                   backend="reference")
    assert_close(dw, dw_ref, dw_mag, dtype, what="batched grouped im2col conv2d_weight")


# (N, C, H, W, R, S, stride, padding) of depthwise input gradients by stride phases: phases
# read in place by the small-plane kernel (at most a vector wide) or along a padded copy's rows
# (wider), phases with no tap (kernel under the stride), unequal strides, a stride of 3, and
# padding that puts a phase's window before grad_output (no small-plane call: padded copy).
# The 3x3 and 5x5 on maps at most a vector wide go by zero insertion (compared as well).
DEPTHWISE_PHASE_CASES = [
    (2, 6, 14, 13, 5, 5, 2, 2),
    (2, 3, 13, 15, 4, 4, 2, 1),
    (1, 3, 12, 30, 5, 5, 2, 2),
    (1, 5, 28, 30, 3, 3, 2, 1),
    (1, 4, 14, 14, 3, 3, 2, 1),
    (2, 3, 20, 45, 5, 5, 2, 2),
    (1, 3, 17, 19, 7, 7, 3, 3),
    (1, 4, 9, 11, 2, 2, 3, 0),
    (2, 4, 12, 40, 3, 5, (2, 1), (1, 2)),
    (1, 3, 11, 40, 3, 3, (1, 3), (1, 1)),
    (1, 2, 10, 12, 3, 3, 2, 2),
    (1, 2, 40, 36, 4, 4, 2, (1, 3)),
]


@pytest.mark.backends("cpp")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", DEPTHWISE_PHASE_CASES, ids=_ids(DEPTHWISE_PHASE_CASES))
def test_depthwise_input_grad_by_stride_phases(impl, threads, dtype, case):
    n, c, h, w, r, s, stride, padding = case
    wt, b = random((c, 1, r, s), dtype, 47), random((c,), dtype, 48)
    y_shape = fc.conv2d(np.zeros((n, c, h, w)), wt.astype(np.float64), None, stride, padding,
                        groups=c, backend="reference").shape
    gy = random(y_shape, dtype, 49)
    f64 = lambda a: a.astype(np.float64)
    args = (stride, padding, 1, c)
    dx = fc.grad.conv2d_input((n, c, h, w), wt, gy, *args, algorithm="depthwise", backend=impl)
    ref = fc.grad.conv2d_input((n, c, h, w), f64(wt), f64(gy), *args, backend="reference")
    mag = fc.grad.conv2d_input((n, c, h, w), np.abs(f64(wt)), np.abs(f64(gy)), *args,
                               backend="reference")
    assert_close(dx, ref, mag, dtype, what="depthwise conv2d_input by phases")
    # The same as a transposed conv with a bias, which every phase starts from (those with no
    # tap hold only it).
    out_pad = tuple((h, w)[i] - ((y_shape[2 + i] - 1) * _pair(stride)[i] - 2 * _pair(padding)[i]
                                 + (r, s)[i]) for i in range(2))
    y = fc.conv_transpose2d(gy, wt, b, stride, padding, out_pad, c, algorithm="depthwise",
                            backend=impl)
    assert_close(y, ref + f64(b)[:, None, None], mag + np.abs(f64(b))[:, None, None], dtype,
                 what="depthwise conv_transpose2d by phases")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("n, c, hw, k, kernel, stride, pad, groups, expected", [
    (1, 256, 28, 256, 4, 2, 1, 32, "direct"),   # 8 channels per group: 14x14 phases
    (8, 128, 56, 128, 3, 2, 1, 1, "direct"),    # r50_3x3s2_128@56: 28x28 phases
    (1, 512, 14, 512, 3, 2, 1, 1, "im2col"),    # 7x7 phases
    (1, 256, 28, 256, 3, 2, 1, 1, "im2col"),    # 14x14 phases, a GEMM 256 deep
    (8, 3, 224, 64, 7, 2, 3, 1, "im2col"),      # the stem: 3 input channels
    (8, 256, 56, 512, 1, 2, 0, 1, "im2col"),    # 1x1 stride 2: three phases get no tap
])
def test_auto_input_grad_by_stride_phases(n, c, hw, k, kernel, stride, pad, groups, expected):
    """"auto" leaves a strided kernel's input gradient to direct's stride phases where they
    have 784+ positions (196+ under 64 filters per group), 8+ input channels per group and a
    tap each."""
    name, why = _dispatch._core.select_conv2d("input_grad", n, c, hw, hw, k, kernel, kernel,
                                              stride, stride, pad, pad, pad, pad, 1, 1, groups,
                                              "auto")
    assert name == expected, why


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_direct_input_grad_phase_passes(impl, threads, dtype):
    """direct's input gradient by stride phases takes the batch in passes of images whose
    phase planes stay in L2 (at least one image a pass): 16 channels of 130x130 in float32 or
    float64 are over 1 MiB an image, so here each image is a pass of its own."""
    x_shape, wt = (3, 16, 130, 129), random((8, 8, 3, 4), dtype, 45)
    gy = random((3, 8, 65, 64), dtype, 46)
    args = (2, 1, 1, 2)
    f64 = lambda a: a.astype(np.float64)
    dx = fc.grad.conv2d_input(x_shape, wt, gy, *args, algorithm="direct", backend=impl)
    ref = fc.grad.conv2d_input(x_shape, f64(wt), f64(gy), *args, backend="reference")
    mag = fc.grad.conv2d_input(x_shape, np.abs(f64(wt)), np.abs(f64(gy)), *args,
                               backend="reference")
    assert_close(dx, ref, mag, dtype, what="direct conv2d_input in passes")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, hw, groups, padding", [
    (1, 1, 1, (1, 0)), (3, 1, 2, (1, 0)), (2, 2, 1, (1, 0)), (1, 3, 3, (1, 0)),
    (5, 1, 1, 0), (3, 1, 2, 0),  # padding 0 from 1x1: dcol^T rows are the output images
    (1, 8, 1, 1), (3, 4, 2, (1, 0)), (1, 5, 3, 0)])  # 17 to 64 columns
def test_im2col_input_grad_one_tile(threads, dtype, n, hw, groups, padding):
    """Transposed convs from small maps, whose images all fit one tile, multiply grad_output^T
    by W instead of W^T by grad_output (from 1x1 maps without padding, the products' rows are
    the output images)."""
    core = _dispatch._core
    assert n * hw * hw <= core.IM2COL_TILE_COLUMNS
    x, wt = random((n, 6, hw, hw), dtype, 40), random((6, 10 // groups * 2, 4, 3), dtype, 41)
    f64 = lambda a: a.astype(np.float64)
    args = (None, 2, padding, 0, groups)
    y = fc.conv_transpose2d(x, wt, *args, algorithm="im2col", backend="cpp")
    if hw > 1:  # one chunk of every channel: dcol^T, N*P x C*R*S
        crs = wt.shape[1] * wt.shape[2] * wt.shape[3]
        assert core.im2col_last_tile_bytes() == n * hw * hw * crs * x.itemsize
    ref = fc.conv_transpose2d(f64(x), f64(wt), *args, backend="reference")
    mag = fc.conv_transpose2d(np.abs(f64(x)), np.abs(f64(wt)), *args, backend="reference")
    assert_close(y, ref, mag, dtype, what="one-tile im2col conv_transpose2d")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, hw, groups", [(1, 5, 1), (3, 4, 2), (2, 9, 1)])
def test_im2col_input_grad_channel_chunks(threads, dtype, n, hw, groups):
    """The one-tile product runs in chunks of whole channels, each chunk's dcol^T at most
    IM2COL_INPUT_CHUNK_BYTES and scattered from it (col2im by positions): here two whole chunks
    and a part per group (several images, one image, edge and interior positions), 16 input
    channels per group: enough work for two threads to take chunks of their own."""
    core = _dispatch._core
    cols, item = n * hw * hw, np.dtype(dtype).itemsize
    chunk = core.IM2COL_INPUT_CHUNK_BYTES // (cols * 16 * item)  # channels of a 4x4 kernel
    cg = 2 * chunk + 3
    x = random((n, 16 * groups, hw, hw), dtype, 43)
    wt = random((16 * groups, cg, 4, 4), dtype, 44)
    f64 = lambda a: a.astype(np.float64)
    args = (None, 2, 1, 0, groups)
    y = fc.conv_transpose2d(x, wt, *args, algorithm="im2col", backend="cpp")
    assert core.im2col_last_tile_bytes() == cols * chunk * 16 * item
    ref = fc.conv_transpose2d(f64(x), f64(wt), *args, backend="reference")
    mag = fc.conv_transpose2d(np.abs(f64(x)), np.abs(f64(wt)), *args, backend="reference")
    assert_close(y, ref, mag, dtype, what="chunked im2col conv_transpose2d")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, hw, groups", [(1, 7, 1), (2, 5, 2), (3, 14, 1), (1, 23, 2)])
def test_im2col_forward_weights_in_place_or_packed(threads, dtype, n, hw, groups):
    """Plan-less im2col calls with at most GEMM_A_IN_PLACE_MAX_COLUMNS output positions in all
    have the micro-kernels read the weights in place (rows of partial tiles packed); larger ones
    pack them. Deep (C*R*S > KC) and with an output-channel count no tile height divides."""
    in_place = n * hw * hw <= _dispatch._core.GEMM_A_IN_PLACE_MAX_COLUMNS
    assert in_place == (hw < 14)
    x, wt = random((n, 70, hw, hw), dtype, 50), random((13 * groups, 70 // groups, 3, 3), dtype, 51)
    b = random((13 * groups,), dtype, 52)
    f64 = lambda a: a.astype(np.float64)
    y = fc.conv2d(x, wt, b, 1, 1, 1, groups, algorithm="im2col", backend="cpp")
    ref = fc.conv2d(f64(x), f64(wt), f64(b), 1, 1, 1, groups, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), 1, 1, 1, groups,
                    backend="reference")
    assert_close(y, ref, mag, dtype, what="im2col conv2d, weights in place" if in_place else
                 "im2col conv2d, weights packed")


# (N, C, H, W, K, R, S, stride, padding, dilation, groups): maps of 512+ outputs, whose col
# panels are packed straight from the image in runs along output rows (the smaller maps of
# CONV_CASES go through a padded copy instead).
IM2COL_PANEL_CASES = [
    (2, 5, 47, 61, 6, 3, 3, 2, 1, 1, 1),            # stride 2: runs of 31 in 48-wide panels
    (1, 3, 50, 70, 4, 3, 3, (2, 3), (1, 2), (1, 2), 1),
    (2, 4, 300, 9, 4, 3, 3, 2, (2, 0), 1, 2),       # narrow rows, grouped
    (1, 2, 700, 3, 3, 3, 3, 1, 1, 1, 1),            # 3 columns: many runs in a panel
    (1, 2, 600, 1, 2, 3, 1, 1, (1, 0), 1, 1),       # one column: a run per panel column
    (3, 2, 60, 50, 5, 5, 3, 2, (2, 1), (1, 2), 1),  # dilated, ragged last panel
]


@pytest.mark.backends("cpp")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", IM2COL_PANEL_CASES, ids=_ids(IM2COL_PANEL_CASES))
def test_im2col_forward_panels(impl, threads, case, dtype):
    """im2col's forward panels on maps large enough to be packed from the image, at every ISA
    level (the GEMM's panel width sets where the runs fall) and thread count."""
    n, c, h, w, k, r, s, stride, padding, dilation, groups = case
    x, wt = random((n, c, h, w), dtype, 70), random((k, c // groups, r, s), dtype, 71)
    b = random((k,), dtype, 72)
    args = (stride, padding, dilation, groups)
    y = fc.conv2d(x, wt, b, *args, algorithm="im2col", backend=impl)
    assert y.shape[2] * y.shape[3] >= 512
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(x), f64(wt), f64(b), *args, backend="reference")
    mag = _magnitude_conv(x, wt, b, *args)
    assert_close(y, ref, mag, dtype, what="im2col conv2d from image panels")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_im2col_input_grad_stride2_narrow_rows():
    """Stride-2 col2im adds taps s and s+1 as one interleaved run over their common columns and
    the rest tap by tap: narrow rows and wide padding make those ranges differ or not meet."""
    rng = np.random.default_rng(60)
    for w_, s, pl in itertools.product([1, 2, 3, 5, 8], [2, 3, 4, 5], [0, 1, 2, 4]):
        if w_ + 2 * pl < s:
            continue
        wt = rng.standard_normal((3, 2, 1, s)).astype(np.float32)
        shape = (1, 2, 3, w_)
        y_shape = fc.conv2d(np.zeros(shape, np.float32), wt, None, (1, 2), (0, pl),
                            backend="reference").shape
        gy = rng.standard_normal(y_shape).astype(np.float32)
        dx = fc.grad.conv2d_input(shape, wt, gy, (1, 2), (0, pl), algorithm="im2col",
                                  backend="cpp")
        ref = fc.grad.conv2d_input(shape, wt.astype(np.float64), gy.astype(np.float64), (1, 2),
                                   (0, pl), backend="reference")
        np.testing.assert_allclose(dx, ref, rtol=1e-5, atol=1e-5, err_msg=f"W={w_} S={s} pl={pl}")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("op", ["forward", "input", "weight"])
@pytest.mark.parametrize("r, stride", [(3, 1), (4, 2), (1, 1)])
def test_core_empty_batch(op, r, stride):
    """No images, straight to the extension (the Python API answers these before it): every
    algorithm returns an empty result (a zero weight gradient) or declines with ValueError,
    never a crash (the input gradients of im2col and winograd divided by zero here)."""
    core = _dispatch._core
    ho = 8 // stride
    x, gy = np.ones((0, 4, 8, 8), np.float32), np.ones((0, 3, ho, ho), np.float32)
    w = np.ones((3, 4, r, r), np.float32)
    pad = (r - stride) // 2
    geometry = (stride, stride, pad, r - stride - pad, pad, r - stride - pad, 1, 1, 1)
    for algorithm in ["auto"] + fc.info()["conv_algorithms"]["cpp"]:
        try:
            if op == "forward":
                assert core.conv2d(x, w, None, *geometry, algorithm).shape == (0, 3, ho, ho)
            elif op == "input":
                assert core.conv2d_input(gy, w, 8, 8, *geometry, algorithm).shape == (0, 4, 8, 8)
            else:
                dw = core.conv2d_weight(x, gy, r, r, *geometry, algorithm)
                assert dw.shape == w.shape and not dw.any()
        except ValueError:
            pass  # the algorithm declines this op or shape
