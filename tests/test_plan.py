"""fastconv.Conv2dPlan: same results as conv2d for every backend/ISA and algorithm, choice and
reasons reported, weights copied at construction, bad input rejected by the shared rules."""
from __future__ import annotations

import numpy as np
import pytest

import fastconv as fc
from fastconv import _dispatch
from conftest import assert_close, random

# (N, C, H, W, K, R, S, stride, padding, dilation, groups, padding_mode)
PLAN_CASES = [
    (2, 8, 9, 11, 16, 1, 1, 1, 0, 1, 1, "zeros"),          # pointwise: GEMM on NCHW
    (1, 6, 13, 10, 9, 3, 3, 2, 1, 1, 3, "zeros"),
    (3, 5, 7, 8, 4, 3, 2, 1, "same", (2, 1), 1, "reflect"),
    (1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 4, "zeros"),           # depthwise
    (2, 3, 23, 29, 8, 7, 7, 2, 3, 1, 1, "zeros"),         # 7x7 stride 2: winograd_1d
    (1, 4, 12, 17, 6, 5, 7, 1, (2, 3), 1, 2, "zeros"),    # 5x7 stride 1, grouped
]


@pytest.mark.algorithms(["auto", "direct", "im2col", "winograd_1d"])
@pytest.mark.parametrize("case", PLAN_CASES, ids=[str(i) for i in range(len(PLAN_CASES))])
def test_plan_matches_conv2d(impl, case, algorithm):
    n, c, h, w, k, r, s, stride, padding, dilation, groups, mode = case
    if mode != "zeros" and impl == "cpp" and not hasattr(_dispatch._core, "pad"):
        pytest.skip("this build of fastconv._core has no pad kernel")
    wt, b = random((k, c // groups, r, s), np.float32, 1), random((k,), np.float32, 2)
    plan = fc.Conv2dPlan(wt, b, stride, padding, dilation, groups, padding_mode=mode,
                         algorithm=algorithm, backend=impl)
    assert plan.algorithm in _dispatch.get(impl).conv_algorithms
    assert isinstance(plan.why, str) and plan.why
    for seed in (3, 4):                          # repeated calls reuse the packed weights
        x = random((n, c, h, w), np.float32, seed)
        args = (stride, padding, dilation, groups)
        f64 = lambda a: np.abs(a).astype(np.float64)
        ref = fc.conv2d(x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64), *args,
                        padding_mode=mode, backend="reference")
        mag = fc.conv2d(f64(x), f64(wt), f64(b), *args, padding_mode=mode, backend="reference")
        assert_close(plan(x), ref, mag, np.float32, what="Conv2dPlan")
        assert_close(plan(x[0]), ref[0], mag[0], np.float32, what="Conv2dPlan unbatched")


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_plan_reports_choice_and_reasons():
    pointwise = fc.Conv2dPlan(np.ones((8, 4, 1, 1), np.float32), backend="cpp")
    assert pointwise.algorithm == "im2col" and "first candidate" in pointwise.why
    spatial = fc.Conv2dPlan(np.ones((8, 4, 3, 3), np.float32), padding=1, backend="cpp",
                            input_hw=(56, 56))
    assert spatial.algorithm == "direct" and "im2col" in spatial.why and "declined" in spatial.why
    spatial(np.ones((1, 4, 5, 5), np.float32))      # a small map: "auto" re-decides per size
    assert spatial.algorithm == "im2col"
    spatial(np.ones((1, 4, 56, 56), np.float32))
    assert spatial.algorithm == "direct"
    forced = fc.Conv2dPlan(np.ones((8, 4, 3, 3), np.float32), algorithm="im2col", backend="cpp")
    assert forced.algorithm == "im2col" and "requested" in forced.why
    assert "Conv2dPlan(" in repr(forced)


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("kernel, padding, expected", [
    ((1, 7), (0, 3), "im2col"),   # 6 junk columns of a 23-wide grid
    ((7, 1), (3, 0), "direct"),   # no junk columns
    ((1, 3), (0, 1), "im2col"),   # 3 taps
    ((3, 1), (1, 0), "im2col"),
    ((5, 5), (2, 2), "direct"),   # 4 junk columns of a 21-wide grid: under a quarter
])
def test_auto_takes_im2col_where_direct_tiles_waste(kernel, padding, expected):
    plan = fc.Conv2dPlan(np.ones((32, 32, *kernel), np.float32), padding=padding, backend="cpp",
                         input_hw=(17, 17))
    assert plan.algorithm == expected, plan.why


def test_plan_copies_weights(impl):
    wt = random((4, 3, 3, 3), np.float64, 5)
    x = random((1, 3, 8, 8), np.float64, 6)
    plan = fc.Conv2dPlan(wt, padding=1, backend=impl)
    before = plan(x)
    wt[...] = 0.0
    np.testing.assert_array_equal(plan(x), before)


def test_plan_rejects_bad_arguments():
    w = np.ones((4, 3, 3, 3), np.float32)
    with pytest.raises(ValueError, match="stride"):
        fc.Conv2dPlan(w, stride=0)
    with pytest.raises(ValueError, match="divisible"):
        fc.Conv2dPlan(w, groups=3)
    with pytest.raises(TypeError, match="same dtype"):
        fc.Conv2dPlan(w, bias=np.ones(4, np.float64))
    with pytest.raises(ValueError, match="algorithm"):
        fc.Conv2dPlan(w, algorithm="winograd-ish")
    plan = fc.Conv2dPlan(w)
    with pytest.raises(ValueError, match="channels"):
        plan(np.ones((1, 5, 8, 8), np.float32))
    with pytest.raises(TypeError, match="same dtype"):
        plan(np.ones((1, 3, 8, 8), np.float64))
    with pytest.raises(ValueError, match="kernel size"):
        plan(np.ones((1, 3, 2, 2), np.float32))


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_plan_keeps_its_isa_for_winograd_1d():
    """A plan's transformed winograd_1d filters are laid out for the ISA active when it packed
    them (its tile's channel block); calls under another ISA cap run that ISA's kernels."""
    core = _dispatch._core
    wt = random((16, 3, 7, 7), np.float32, 1)
    x = random((1, 3, 30, 34), np.float32, 2)
    ref = fc.conv2d(x, wt, None, 2, 3, backend="reference")
    mag = fc.conv2d(np.abs(x), np.abs(wt), None, 2, 3, backend="reference")
    detected = core.isa_detected()
    try:
        plan = fc.Conv2dPlan(wt, None, 2, 3, algorithm="winograd_1d", backend="cpp")
        for isa in ("scalar", "avx2", "avx512"):
            core.set_isa_cap(isa)
            assert_close(plan(x), ref, mag, np.float32, what=f"plan under {isa}")
    finally:
        core.set_isa_cap(detected)
