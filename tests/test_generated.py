"""Hypothesis-generated configurations: any valid conv/pool setup agrees with the reference."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastconv as fc
from conftest import assert_close

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c = groups * draw(st.integers(1, 4))
    k = groups * draw(st.integers(1, 5))
    r, s = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    # the input must hold the dilated kernel after padding
    h = draw(st.integers(max(1, dh * (r - 1) + 1 - 2 * ph), 14))
    w = draw(st.integers(max(1, dw * (s - 1) + 1 - 2 * pw), 14))
    n = draw(st.integers(1, 3))
    return n, c, h, w, k, (r, s), (sh, sw), (ph, pw), (dh, dw), groups


@SETTINGS
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_generated_conv(impl, cfg, seed):
    n, c, h, w, k, kernel, stride, padding, dilation, groups = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((k, c // groups) + kernel).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    args = (stride, padding, dilation, groups)
    f64 = lambda a: np.abs(a).astype(np.float64)
    y = fc.conv2d(x, wt, b, *args, backend=impl)
    assert_close(y, fc.conv2d(x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64), *args,
                              backend="reference"),
                 fc.conv2d(f64(x), f64(wt), f64(b), *args, backend="reference"), np.float32, what="conv2d")
    gy = rng.standard_normal(y.shape).astype(np.float32)
    dx = fc.grad.conv2d_input(x.shape, wt, gy, *args, backend=impl)
    assert_close(dx, fc.grad.conv2d_input(x.shape, wt.astype(np.float64), gy.astype(np.float64), *args,
                                          backend="reference"),
                 fc.grad.conv2d_input(x.shape, f64(wt), f64(gy), *args, backend="reference"),
                 np.float32, what="conv2d_input")
    dw = fc.grad.conv2d_weight(x, wt.shape, gy, *args, backend=impl)
    assert_close(dw, fc.grad.conv2d_weight(x.astype(np.float64), wt.shape, gy.astype(np.float64), *args,
                                           backend="reference"),
                 fc.grad.conv2d_weight(f64(x), wt.shape, f64(gy), *args, backend="reference"),
                 np.float32, what="conv2d_weight")


@st.composite
def pool_configs(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph = draw(st.integers(0, (dh * (kh - 1) + 1) // 2))
    pw = draw(st.integers(0, (dw * (kw - 1) + 1) // 2))
    ceil_mode = draw(st.booleans())
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 15))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 15))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode


@SETTINGS
@given(cfg=pool_configs(), seed=st.integers(0, 2**16))
def test_generated_max_pool(impl, cfg, seed):
    shape, kernel, stride, padding, dilation, ceil_mode = cfg
    x = np.random.default_rng(seed).integers(-3, 4, shape).astype(np.float32)   # many ties
    y, idx = fc.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, True, backend=impl)
    y_ref, idx_ref = fc.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, True, backend="reference")
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)


@SETTINGS
@given(cfg=pool_configs(), seed=st.integers(0, 2**16), cip=st.booleans())
def test_generated_avg_pool(impl, cfg, seed, cip):
    shape, kernel, stride, padding, _, ceil_mode = cfg
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
    h, w = (max(s, k - 2 * p) for s, k, p in zip(shape[2:], kernel, padding))
    x = np.random.default_rng(seed).standard_normal(shape[:2] + (h, w)).astype(np.float32)
    y = fc.avg_pool2d(x, kernel, stride, padding, ceil_mode, cip, backend=impl)
    np.testing.assert_allclose(y, fc.avg_pool2d(x.astype(np.float64), kernel, stride, padding, ceil_mode,
                                                cip, backend="reference"), rtol=1e-5, atol=1e-6)
