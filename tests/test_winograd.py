"""Winograd F(2x2,3x3) / F(4x4,3x3) (and F(6x6,3x3) on request), F(2x2,2x2) / F(4x4,2x2) and
4x4 stride-2 convs on space-to-depth phases: accuracy against a float64 reference at every ISA
level, the tile rules, plans with pre-transformed weights, and the shapes it declines.
(Results on the general conv shape matrix are in test_conv.py, parametrised over algorithm.)"""
from __future__ import annotations

import numpy as np
import pytest

import fastconv as fc
from fastconv import _dispatch
from conftest import ALGORITHM_RTOL, assert_close, random, rtol_for

pytestmark = [pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built"),
              pytest.mark.backends("cpp")]

# The accuracy targets (relative L2 error, float32, 64 channels, standard normal data).
F4_MAX_REL_L2 = 1e-5
F2_MAX_VS_DIRECT = 2.0
F6_MAX_REL_L2 = 2e-5   # not an issue target: measured 3.2e-6 at 64 channels, 8.3e-6 at 512


def rel_l2(y, ref):
    return float(np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref))


@pytest.fixture
def cpp(impl):
    """The C++ backend at each ISA level (Winograd is a C++ algorithm: the module's backends
    marker generates no other implementation)."""
    return impl


@pytest.mark.parametrize("shape", [(2, 64, 28, 28, 64), (1, 64, 17, 23, 96)],
                         ids=["28x28", "17x23"])
def test_accuracy_bounds(cpp, shape):
    n, c, h, w, k = shape
    rng = np.random.default_rng(0)
    x64, w64 = rng.standard_normal((n, c, h, w)), rng.standard_normal((k, c, 3, 3))
    ref = fc.conv2d(x64, w64, None, 1, 1, backend="reference")
    x, wt = x64.astype(np.float32), w64.astype(np.float32)
    err = {alg: rel_l2(fc.conv2d(x, wt, None, 1, 1, algorithm=alg, backend=cpp), ref)
           for alg in ("direct", "winograd_f2", "winograd_f4", "winograd_f6")}
    assert err["winograd_f4"] <= F4_MAX_REL_L2, err
    assert err["winograd_f2"] <= F2_MAX_VS_DIRECT * err["direct"], err
    assert err["winograd_f6"] <= F6_MAX_REL_L2, err
    for alg in ("winograd_f4", "winograd_f6"):
        y64 = fc.conv2d(x64, w64, None, 1, 1, algorithm=alg, backend=cpp)
        assert rel_l2(y64, ref) <= 1e-13


def test_accuracy_bounds_2x2(cpp):
    """2x2 kernels: F(2x2, 2x2) (coefficients +-1) within 2x direct's error, F(4x4, 2x2) within
    F(4x4, 3x3)'s bound; float64 at rounding level."""
    rng = np.random.default_rng(1)
    x64, w64 = rng.standard_normal((2, 64, 28, 28)), rng.standard_normal((64, 64, 2, 2))
    ref = fc.conv2d(x64, w64, None, 1, 1, backend="reference")
    x, wt = x64.astype(np.float32), w64.astype(np.float32)
    err = {alg: rel_l2(fc.conv2d(x, wt, None, 1, 1, algorithm=alg, backend=cpp), ref)
           for alg in ("direct", "winograd_f2", "winograd_f4")}
    assert err["winograd_f2"] <= F2_MAX_VS_DIRECT * err["direct"], err
    assert err["winograd_f4"] <= F4_MAX_REL_L2, err
    for alg in ("winograd_f2", "winograd_f4"):
        assert rel_l2(fc.conv2d(x64, w64, None, 1, 1, algorithm=alg, backend=cpp), ref) <= 1e-13


def test_tile_rule(cpp):
    """The tile whose GEMMs compute fewer columns (tiles in whole panels, plus the filter
    transform of a call): F(4x4) but on small images; channel counts do not enter."""
    core = _dispatch._core
    assert core.winograd_tile(64, 64, 1, 56, 56) == 4
    assert core.winograd_tile(256, 256, 1, 28, 28) == 4
    assert core.winograd_tile(16, 64, 1, 56, 56) == 4      # few channels: still F(4x4)
    assert core.winograd_tile(64, 64, 4, 56, 56) == 4
    assert core.winograd_tile(256, 256, 1, 2, 2) == 2      # 4x4 tiles would be mostly padding
    # A 14x14 image: 16 F(4x4) tiles against 49 F(2x2) ones; the call's filter transform,
    # 36/16 as large for F(4x4), tips it to F(2x2) when not cached.
    assert core.winograd_tile(256, 256, 1, 14, 14) == 2


@pytest.mark.parametrize("algorithm", ["winograd", "winograd_f2", "winograd_f4", "winograd_f6"])
def test_plan_reuses_transformed_weights(cpp, algorithm):
    wt, b = random((48, 40, 3, 3), np.float32, 1), random((48,), np.float32, 2)
    plan = fc.Conv2dPlan(wt, b, 1, 1, algorithm=algorithm, backend=cpp)
    assert plan.algorithm == algorithm
    f64 = lambda a: a.astype(np.float64)
    for seed, shape in ((3, (2, 40, 19, 21)), (4, (1, 40, 8, 8))):
        x = random(shape, np.float32, seed)
        ref = fc.conv2d(f64(x), f64(wt), f64(b), 1, 1, backend="reference")
        mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), 1, 1, backend="reference")
        assert_close(plan(x), ref, mag, np.float32, rtol=rtol_for(algorithm, np.float32),
                     what=f"Conv2dPlan {algorithm}")


def test_auto_never_picks_explicit_tiles(cpp):
    wt = random((64, 64, 3, 3), np.float32, 5)
    assert fc.Conv2dPlan(wt, padding=1, backend=cpp).algorithm == "winograd"
    for hw in (6, 36, 120):   # sizes where 6x6 tiles would fit exactly: still 2x2 or 4x4
        assert _dispatch._core.winograd_tile(64, 64, 1, hw, hw) in (2, 4)
    small = fc.Conv2dPlan(random((4, 4, 3, 3), np.float32, 6), padding=1, backend=cpp)
    assert small.algorithm != "winograd" and "winograd" in small.why
    assert set(ALGORITHM_RTOL) >= set(_dispatch._core.conv2d_algorithms())


@pytest.mark.parametrize("geometry,rule", [
    (dict(stride=2, padding=1), "stride 1"),
    (dict(dilation=2, padding=1), "multiples of the dilation"),
    (dict(dilation=(1, 5), padding=(1, 5)), "multiples of the dilation"),  # 12 % 5 != 0
])
def test_declines_with_reason(cpp, geometry, rule):
    x, wt = random((1, 8, 12, 12), np.float32, 7), random((8, 8, 3, 3), np.float32, 8)
    with pytest.raises(ValueError, match=rule):
        fc.conv2d(x, wt, algorithm="winograd", backend=cpp, **geometry)
    with pytest.raises(ValueError, match="3x3"):
        fc.conv2d(x, random((8, 8, 5, 5), np.float32, 9), algorithm="winograd_f4", backend=cpp)


@pytest.mark.parametrize("dilation, padding, hw, groups", [
    (2, 2, (14, 10), 1), ((2, 3), (2, 3), (8, 12), 2), (3, (3, 6), (12, 18), 1)])
def test_dilated_runs_on_phases(cpp, threads, dilation, padding, hw, groups):
    """A dilated 3x3 conv as an undilated one on its dilation x dilation phase images (forward,
    input gradient, plan), whenever size and padding are multiples of the dilation."""
    x = random((2, 12, *hw), np.float32, 20)
    wt = random((10, 12 // groups, 3, 3), np.float32, 21)
    b = random((10,), np.float32, 22)
    args = (1, padding, dilation, groups)
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(x), f64(wt), f64(b), *args, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), *args, backend="reference")
    for alg in ("winograd", "winograd_f2", "winograd_f4"):
        y = fc.conv2d(x, wt, b, *args, algorithm=alg, backend=cpp)
        assert_close(y, ref, mag, np.float32, rtol=rtol_for(alg, np.float32), what=f"dilated {alg}")
    plan = fc.Conv2dPlan(wt, b, *args, algorithm="winograd", backend=cpp, input_hw=hw)
    assert_close(plan(x), ref, mag, np.float32, rtol=rtol_for("winograd", np.float32),
                 what="dilated winograd plan")
    gy = random(ref.shape, np.float32, 23)
    dx = fc.grad.conv2d_input(x.shape, wt, gy, *args, algorithm="winograd", backend=cpp)
    dx_ref = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), *args, backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, np.abs(f64(wt)), np.abs(f64(gy)), *args,
                                  backend="reference")
    assert_close(dx, dx_ref, dx_mag, np.float32, rtol=rtol_for("winograd", np.float32),
                 what="dilated winograd conv2d_input")


def test_threads_and_batch_blocks(cpp, threads):
    """Blocks that span images and split output channels: the same answer at any thread count."""
    x, wt = random((5, 96, 9, 11), np.float32, 10), random((100, 96, 3, 3), np.float32, 11)
    ref = fc.conv2d(x.astype(np.float64), wt.astype(np.float64), None, 1, 1, backend="reference")
    mag = fc.conv2d(np.abs(x).astype(np.float64), np.abs(wt).astype(np.float64), None, 1, 1,
                    backend="reference")
    for alg in ("winograd_f2", "winograd_f4", "winograd_f6"):
        y = fc.conv2d(x, wt, None, 1, 1, algorithm=alg, backend=cpp)
        assert_close(y, ref, mag, np.float32, rtol=rtol_for(alg, np.float32), what=alg)
        y1 = fc.conv2d(x[:1], wt, None, 1, 1, algorithm=alg, backend=cpp)
        assert_close(y1, ref[:1], mag[:1], np.float32, rtol=rtol_for(alg, np.float32), what=alg)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depth_beyond_one_gemm_block(cpp, dtype):
    """More input channels than the GEMM's KC (512): the X products accumulate over depth blocks."""
    x, wt = random((1, 600, 5, 6), dtype, 12), random((20, 600, 3, 3), dtype, 13)
    b = random((20,), dtype, 14)
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(x), f64(wt), f64(b), 1, 1, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), 1, 1, backend="reference")
    for alg in ("winograd_f2", "winograd_f4"):
        y = fc.conv2d(x, wt, b, 1, 1, algorithm=alg, backend=cpp)
        assert_close(y, ref, mag, dtype, rtol=rtol_for(alg, dtype), what=alg)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hw, padding, groups", [
    ((16, 16), 1, 1), ((9, 13), (0, 2), 1), ((7, 6), (2, 1), 2), ((5, 4), (1, 0), 2),
    ((4, 5), (3, 2), 1)])
def test_4x4_stride2_on_space_to_depth_phases(cpp, threads, dtype, hw, padding, groups):
    """A 4x4 stride-2 conv (a DCGAN layer) by F(2x2, 2x2) on its 2x2 space-to-depth phases:
    forward, input gradient (conv_transpose2d's path: one 2x2 conv per phase of dx) and plan,
    odd sizes, groups and every padding up to 3 (the input gradient takes up to 2), against
    the reference."""
    x = random((2, 6, *hw), dtype, 30)
    wt = random((10, 6 // groups, 4, 4), dtype, 31)
    b = random((10,), dtype, 32)
    args = (2, padding, 1, groups)
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(x), f64(wt), f64(b), *args, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), *args, backend="reference")
    for alg in ("winograd", "winograd_f2", "winograd_f4"):   # F(2x2, 2x2), F(4x4, 2x2)
        y = fc.conv2d(x, wt, b, *args, algorithm=alg, backend=cpp)
        assert_close(y, ref, mag, dtype, rtol=rtol_for(alg, dtype), what=f"4x4/2 {alg}")
    plan = fc.Conv2dPlan(wt, b, *args, algorithm="winograd", backend=cpp, input_hw=hw)
    assert_close(plan(x), ref, mag, dtype, rtol=rtol_for("winograd", dtype), what="4x4/2 plan")
    gy = random(ref.shape, dtype, 33)
    if max(np.atleast_1d(padding)) > 2:   # the input gradient's phases need padding <= 2
        with pytest.raises(ValueError, match="padding <= 2"):
            fc.grad.conv2d_input(x.shape, wt, gy, *args, algorithm="winograd", backend=cpp)
        return
    dx = fc.grad.conv2d_input(x.shape, wt, gy, *args, algorithm="winograd", backend=cpp)
    dx_ref = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), *args, backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, np.abs(f64(wt)), np.abs(f64(gy)), *args,
                                  backend="reference")
    assert_close(dx, dx_ref, dx_mag, dtype, rtol=rtol_for("winograd", dtype),
                 what="4x4/2 conv2d_input")


def test_4x4_stride2_declines_with_reason(cpp):
    x, wt = random((1, 4, 12, 12), np.float32, 34), random((4, 4, 4, 4), np.float32, 35)
    with pytest.raises(ValueError, match="4x4 one with stride 2"):
        fc.conv2d(x, wt, stride=3, algorithm="winograd", backend=cpp)
    with pytest.raises(ValueError, match="padding <= 2"):
        fc.grad.conv2d_input((1, 4, 12, 12), wt, random((1, 4, 8, 8), np.float32, 36), 2, 3,
                             algorithm="winograd", backend=cpp)
    with pytest.raises(ValueError, match="needs a 3x3 kernel"):   # F(6x6): 3x3 kernels only
        fc.conv2d(x, wt, stride=2, padding=1, algorithm="winograd_f6", backend=cpp)


def test_4x4_stride2_auto_rule(cpp):
    """auto takes the phases when F(2x2, 2x2)'s multiplies, the call's filter transform
    counted, undercut the 4x4 kernel's 16 per output: dcgan_d2 / d3 forward and g3 / g4
    transposed (input gradient) at batch 8, not dcgan_d3 at batch 1 (16 tiles) nor g2 at batch
    8 (32 tiles per phase), nor few channels."""
    def pick(op, n, c, h, k):
        return _dispatch._core.select_conv2d(op, n, c, h, h, k, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1,
                                             1, "auto")
    for op, n, c, h, k in (("forward", 8, 64, 32, 128), ("forward", 8, 128, 16, 256),
                           ("input_grad", 8, 64, 32, 128), ("input_grad", 8, 128, 16, 256)):
        assert pick(op, n, c, h, k)[0] == "winograd", (op, n, c, h, k)
    for op, n, c, h, k in (("forward", 1, 128, 16, 256), ("input_grad", 8, 256, 8, 512)):
        name, why = pick(op, n, c, h, k)
        assert name != "winograd" and "too few tiles" in why
    name, why = pick("forward", 8, 3, 64, 64)
    assert name != "winograd" and "32 channels" in why


def check_forward_and_input_grad(cpp, x, wt, stride, seed):
    """"winograd" forward and input gradient (padding 1) against the float64 reference."""
    f64 = lambda a: a.astype(np.float64)
    rtol = rtol_for("winograd", np.float32)
    ref = fc.conv2d(f64(x), f64(wt), None, stride, 1, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), None, stride, 1, backend="reference")
    y = fc.conv2d(x, wt, None, stride, 1, algorithm="winograd", backend=cpp)
    assert_close(y, ref, mag, np.float32, rtol=rtol, what="fwd")
    gy = random(ref.shape, np.float32, seed)
    dx = fc.grad.conv2d_input(x.shape, wt, gy, stride, 1, algorithm="winograd", backend=cpp)
    dx_ref = fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), stride, 1, backend="reference")
    dx_mag = fc.grad.conv2d_input(x.shape, np.abs(f64(wt)), np.abs(f64(gy)), stride, 1,
                                  backend="reference")
    assert_close(dx, dx_ref, dx_mag, np.float32, rtol=rtol, what="conv2d_input")


@pytest.mark.parametrize("x_shape,w_shape", [((2, 64, 16, 16), (96, 64, 4, 4)),
                                              ((1, 64, 32, 32), (128, 64, 4, 4)),
                                              ((2, 112, 32, 32), (160, 112, 4, 4))],
                         ids=["copies", "phases_together", "phase_filters_in_one_pass"])
def test_4x4_stride2_phases_large_enough_to_thread(cpp, threads, x_shape, w_shape):
    """Shapes whose phase filter shuffle and copies run on the pool, (dcgan_g4's input
    gradient, each phase one block of tiles) whose four phases share one parallel region, and
    whose input gradient, several blocks of tiles per phase and filters larger than L2,
    transforms all four phases' filters in one pass (with a partial panel of output channels):
    the same answer as the reference at any thread count."""
    check_forward_and_input_grad(cpp, random(x_shape, np.float32, 40),
                                 random(w_shape, np.float32, 41), stride=2, seed=42)


def test_every_block_split_by_output_channels(cpp, threads):
    """49 F(2x2) tiles as blocks of 32 and 17 at N=1: on two threads each takes one half of the
    output channels (130: a partial panel) of both blocks, transforming that half's filters
    itself; forward and input gradient match the reference at any thread count."""
    check_forward_and_input_grad(cpp, random((1, 128, 14, 14), np.float32, 52),
                                 random((130, 128, 3, 3), np.float32, 53), stride=1, seed=54)


def test_last_round_blocks_split_between_threads(cpp, threads):
    """Seven blocks of tiles on two threads: six run whole, the seventh is split by output
    channels; the same answer as the reference."""
    x, wt = random((1, 32, 56, 56), np.float32, 50), random((40, 32, 3, 3), np.float32, 51)
    f64 = lambda a: a.astype(np.float64)
    ref = fc.conv2d(f64(x), f64(wt), None, 1, 1, backend="reference")
    mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), None, 1, 1, backend="reference")
    for alg in ("winograd_f4", "winograd_f2"):
        y = fc.conv2d(x, wt, None, 1, 1, algorithm=alg, backend=cpp)
        assert_close(y, ref, mag, np.float32, rtol=rtol_for(alg, np.float32), what=alg)


def test_plans_take_winograd_from_16_tiles(cpp):
    """A plan transforms its filters once, so its "auto" drops the per-call transform rule (32
    tiles) for kWinogradPreparedMinTiles: 32 channels on 7x7 maps, one image (16 F(2x2) tiles),
    go to Winograd in a plan and to im2col in a call; 5x5 maps (9 tiles per image) stay with
    im2col in both until the batch brings 16 tiles (4 images, whichever tile the ISA level's
    GEMM width makes "winograd" pick), and the plan chooses again per batch."""
    def pick(n, hw, prepared):
        return _dispatch._core.select_conv2d("forward", n, 32, hw, hw, 32, 3, 3, 1, 1, 1, 1, 1, 1,
                                             1, 1, 1, "auto", weights_prepared=prepared)
    assert pick(1, 7, False)[0] == "im2col" and "too few tiles" in pick(1, 7, False)[1]
    assert pick(1, 7, True)[0] == "winograd"
    name, why = pick(1, 5, True)
    assert name == "im2col" and "fewer than 16 tiles" in why
    assert pick(4, 5, True)[0] == "winograd"

    wt, b = random((32, 32, 3, 3), np.float32, 40), random((32,), np.float32, 41)
    plan = fc.Conv2dPlan(wt, b, 1, 1, backend=cpp, input_hw=(5, 5))
    assert plan.algorithm == "im2col"
    f64 = lambda a: a.astype(np.float64)
    for n, expected in ((4, "winograd"), (1, "im2col"), (4, "winograd")):
        x = random((n, 32, 5, 5), np.float32, 42 + n)
        y = plan(x)
        assert plan.algorithm == expected, plan.why
        ref = fc.conv2d(f64(x), f64(wt), f64(b), 1, 1, backend="reference")
        mag = fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), np.abs(f64(b)), 1, 1, backend="reference")
        assert_close(y, ref, mag, np.float32, rtol=rtol_for(expected, np.float32),
                     what=f"plan at N={n} ({expected})")


def test_plan_called_from_threads_with_different_batches(cpp):
    """One plan, two Python threads, batches that choose different algorithms and Winograd
    tiles: each call runs what it chose (the kernels run without the GIL while the other thread
    chooses), and every result is right."""
    import concurrent.futures
    wt = random((32, 32, 3, 3), np.float32, 50)
    plan = fc.Conv2dPlan(wt, None, 1, 1, backend=cpp, input_hw=(5, 5))
    f64 = lambda a: a.astype(np.float64)
    inputs = {n: random((n, 32, 5, 5), np.float32, 50 + n) for n in (1, 4, 16)}
    expected = {n: fc.conv2d(f64(x), f64(wt), None, 1, 1, backend="reference")
                for n, x in inputs.items()}
    bound = {n: rtol_for("winograd", np.float32) *
             fc.conv2d(np.abs(f64(x)), np.abs(f64(wt)), None, 1, 1, backend="reference")
             for n, x in inputs.items()}

    def run(n):   # the worst error over the bound in 20 calls: at most 1 if all are right
        return max(float((np.abs(plan(inputs[n]) - expected[n]) / bound[n]).max())
                   for _ in range(20))

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        worst = list(pool.map(run, [1, 4, 16] * 4))
    assert max(worst) <= 1, worst


# winograd_1d (F(4, 4) along the width): measured 1.9-2.3x direct's relative L2 error.
W1D_MAX_VS_DIRECT = 3.0


@pytest.mark.parametrize("shape", [(2, 3, 56, 64, 7, 2, 3), (2, 64, 28, 64, 7, 2, 3),
                                   (2, 64, 28, 64, 4, 1, 2), (2, 64, 28, 64, 7, 1, 3)],
                         ids=["stem3", "7x7s2-64", "4x4-64", "7x7-64"])
def test_accuracy_bounds_1d(cpp, shape):
    n, c, hw, k, r, stride, pad = shape
    rng = np.random.default_rng(2)
    x64, w64 = rng.standard_normal((n, c, hw, hw)), rng.standard_normal((k, c, r, r))
    ref = fc.conv2d(x64, w64, None, stride, pad, backend="reference")
    x, wt = x64.astype(np.float32), w64.astype(np.float32)
    err = {alg: rel_l2(fc.conv2d(x, wt, None, stride, pad, algorithm=alg, backend=cpp), ref)
           for alg in ("direct", "winograd_1d")}
    assert err["winograd_1d"] <= W1D_MAX_VS_DIRECT * err["direct"], err
    y64 = fc.conv2d(x64, w64, None, stride, pad, algorithm="winograd_1d", backend=cpp)
    assert rel_l2(y64, ref) <= 1e-13


@pytest.mark.parametrize("shape, expect", [
    ((1, 3, 224, 224, 64, 7, 7, 2), "winograd_1d"),   # the stem: 14 products against 28
    ((1, 64, 56, 56, 64, 4, 4, 1), "winograd_1d"),    # rows of 4 taps at stride 1
    ((1, 3, 32, 32, 32, 7, 7, 2), None),              # 64 tiles: under 512
    ((8, 3, 32, 32, 32, 7, 7, 2), "winograd_1d"),     # 512 tiles
    ((1, 3, 224, 224, 64, 5, 5, 2), None),            # 5x5 stride 2: 6 + 5 against 20
    ((1, 3, 64, 64, 64, 3, 3, 2), None),              # 3x3 stride 2: 5 + 4 against 12
    ((1, 3, 64, 64, 64, 3, 3, 1), None),              # 3x3: 6 against 12, half
    ((1, 64, 56, 56, 64, 7, 7, 1), "winograd_1d"),    # 7x7 stride 1: 7 + 6 against 28
    ((8, 128, 17, 17, 128, 1, 7, 1), None),           # 1x7: one kernel row
])
def test_auto_rule_1d(shape, expect):
    """"auto" takes winograd_1d under half direct's multiplies, with 4+ kernel rows, over 512+
    tiles."""
    n, c, h, w, k, r, s, stride = shape
    ph, pw = r // 2, s // 2
    name, why = _dispatch._core.select_conv2d("forward", n, c, h, w, k, r, s, stride, stride,
                                              ph, ph, pw, pw, 1, 1, 1, "auto")
    if expect:
        assert name == expect, why
    else:
        assert name != "winograd_1d" and "winograd_1d: " in why, why
