"""fastconv._numba against torch (float64 exact-ish, float32 with accumulation-scaled tolerance).

JIT compile dominates the first run; the tests reuse a few dtype signatures (float64 for the
shape matrix, float32 on a handful of cases) to keep it short. Later runs load the cache.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import fastconv._numba as nb  # noqa: E402

RNG = np.random.default_rng(1234)


def rand(shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def frozen(*arrays):
    return [a.copy() for a in arrays]


def check_unchanged(before, after):
    for b, a in zip(before, after):
        np.testing.assert_array_equal(b, a)


def assert_close(got, ref, dtype, acc_len=1, scale=None):
    ref = np.asarray(ref)
    assert got.shape == ref.shape
    assert got.dtype == dtype
    assert got.flags.c_contiguous
    if dtype == np.float64:
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10 * max(acc_len, 1))
    else:
        s = scale if scale is not None else np.sqrt(acc_len)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=2e-6 * max(acc_len, 1) + 1e-5 * s)


# (N, C, H, W, K, R, S, stride, padding(top,bottom,left,right), dilation, groups)
CONV_CASES = [
    (2, 3, 7, 9, 4, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
    (1, 6, 11, 13, 8, 3, 2, (1, 2), (1, 2, 0, 1), (1, 1), 2),
    (2, 4, 13, 11, 6, 3, 3, (2, 3), (0, 1, 2, 1), (2, 1), 1),
    (1, 5, 17, 10, 7, 2, 3, (3, 1), (3, 3, 3, 3), (1, 3), 1),
    (3, 8, 9, 9, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 8),     # depthwise
    (2, 8, 10, 7, 16, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 8),   # depthwise multiplier 2
    (1, 7, 5, 5, 9, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),     # 1x1
    (2, 12, 6, 5, 10, 1, 1, (2, 1), (0, 0, 0, 0), (1, 1), 2),
    (1, 3, 5, 4, 5, 7, 6, (1, 1), (1, 1, 1, 1), (1, 1), 1),     # kernel == padded input
    (1, 2, 23, 19, 3, 5, 5, (2, 2), (2, 2, 2, 2), (3, 2), 1),   # prime sizes, dilation 3
    (1, 9, 7, 7, 13, 3, 3, (1, 1), (0, 2, 1, 0), (2, 2), 1),
    (4, 4, 8, 8, 5, 4, 4, (1, 1), (1, 2, 1, 2), (1, 1), 1),     # even kernel, 'same'-style
]


def torch_conv(x, w, b, stride, pad, dil, groups):
    xt = F.pad(t(x), (pad[2], pad[3], pad[0], pad[1]))
    return F.conv2d(xt, t(w), None if b is None else t(b), stride, 0, dil, groups).numpy()


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_forward(case, with_bias):
    N, C, H, W, K, R, S, st, pd, dl, g = case
    x, w = rand((N, C, H, W)), rand((K, C // g, R, S))
    b = rand((K,)) if with_bias else None
    keep = frozen(x, w)
    y = nb.conv2d(x, w, b, st, pd, dl, g, "direct")
    check_unchanged(keep, [x, w])
    assert_close(y, torch_conv(x, w, b, st, pd, dl, g), np.float64, C // g * R * S)


@pytest.mark.parametrize("case", CONV_CASES[:4] + CONV_CASES[5:7])
def test_conv2d_forward_float32(case):
    N, C, H, W, K, R, S, st, pd, dl, g = case
    x, w, b = rand((N, C, H, W), np.float32), rand((K, C // g, R, S), np.float32), \
        rand((K,), np.float32)
    y = nb.conv2d(x, w, b, st, pd, dl, g, "direct")
    ref = torch_conv(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), st, pd,
                     dl, g)
    assert_close(y, ref, np.float32, C // g * R * S)


def test_conv2d_float32_long_accumulation():
    x, w = rand((1, 64, 12, 12), np.float32), rand((32, 64, 3, 3), np.float32)
    y = nb.conv2d(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1, "direct")
    ref = torch_conv(x.astype(np.float64), w.astype(np.float64), None, (1, 1),
                     (1, 1, 1, 1), (1, 1), 1)
    assert_close(y, ref, np.float32, 64 * 9)


def torch_grads(x, w, st, pd, dl, g, gy):
    xt = F.pad(t(x), (pd[2], pd[3], pd[0], pd[1])).requires_grad_(False)
    xin = t(x).requires_grad_(True)
    wt = t(w).requires_grad_(True)
    y = F.conv2d(F.pad(xin, (pd[2], pd[3], pd[0], pd[1])), wt, None, st, 0, dl, g)
    y.backward(t(gy))
    del xt
    return xin.grad.numpy(), wt.grad.numpy()


def out_hw(H, W, R, S, st, pd, dl):
    return ((H + pd[0] + pd[1] - dl[0] * (R - 1) - 1) // st[0] + 1,
            (W + pd[2] + pd[3] - dl[1] * (S - 1) - 1) // st[1] + 1)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_backward(case):
    N, C, H, W, K, R, S, st, pd, dl, g = case
    x, w = rand((N, C, H, W)), rand((K, C // g, R, S))
    Ho, Wo = out_hw(H, W, R, S, st, pd, dl)
    gy = rand((N, K, Ho, Wo))
    keep = frozen(x, w, gy)
    gx_ref, gw_ref = torch_grads(x, w, st, pd, dl, g, gy)
    gx = nb.conv2d_input(gy, w, (H, W), st, pd, dl, g, "direct")
    gw = nb.conv2d_weight(x, gy, (R, S), st, pd, dl, g, "direct")
    check_unchanged(keep, [x, w, gy])
    assert_close(gx, gx_ref, np.float64, K * R * S)
    assert_close(gw, gw_ref, np.float64, N * Ho * Wo)


def test_conv2d_backward_float32():
    N, C, H, W, K, R, S, st, pd, dl, g = CONV_CASES[1]
    x, w = rand((N, C, H, W), np.float32), rand((K, C // g, R, S), np.float32)
    Ho, Wo = out_hw(H, W, R, S, st, pd, dl)
    gy = rand((N, K, Ho, Wo), np.float32)
    gx_ref, gw_ref = torch_grads(x.astype(np.float64), w.astype(np.float64), st, pd, dl, g,
                                 gy.astype(np.float64))
    assert_close(nb.conv2d_input(gy, w, (H, W), st, pd, dl, g, "direct"), gx_ref,
                 np.float32, K * R * S)
    assert_close(nb.conv2d_weight(x, gy, (R, S), st, pd, dl, g, "direct"), gw_ref,
                 np.float32, N * Ho * Wo)


# conv_transpose2d = conv2d_input: large padding and output_padding (rows with no gradient)
@pytest.mark.parametrize("cfg", [
    # (N, Cin, H, W, Cout, R, S, stride, padding, output_padding, dilation, groups)
    (2, 4, 5, 6, 3, 3, 3, (2, 2), (1, 1), (1, 1), (1, 1), 1),
    (1, 6, 4, 5, 4, 3, 2, (3, 2), (0, 0), (2, 1), (1, 2), 2),
    (1, 3, 6, 6, 2, 3, 3, (1, 1), (3, 4), (0, 0), (2, 2), 1),   # padding > (R-1)*dh
    (2, 2, 3, 4, 5, 4, 4, (3, 3), (2, 1), (2, 2), (1, 1), 1),
    (1, 4, 7, 7, 4, 3, 3, (2, 2), (1, 1), (0, 0), (1, 1), 4),
])
def test_conv_transpose_via_conv2d_input(cfg):
    N, Cin, H, W, Cout, R, S, st, p, op, dl, g = cfg
    x = rand((N, Cin, H, W))
    w = rand((Cin, Cout // g, R, S))
    ref = F.conv_transpose2d(t(x), t(w), None, st, p, op, g, dl).numpy()
    Hout, Wout = ref.shape[2:]
    got = nb.conv2d_input(x, w, (Hout, Wout), st, (p[0], p[0], p[1], p[1]), dl, g, "direct")
    assert_close(got, ref, np.float64, Cin * R * S)


# ---------------------------------------------------------------- pad
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(1, 2, 3, 0), (0, 0, 0, 0), (4, 3, 2, 4), (0, 5, 1, 0)])
def test_pad(mode, pads):
    x = rand((2, 3, 5, 6))
    keep = frozen(x)
    value = 1.5 if mode == "constant" else 0.0
    ref = F.pad(t(x), pads, mode=mode, **({"value": value} if mode == "constant" else {}))
    got = nb.pad(x, pads, mode, value)
    check_unchanged(keep, [x])
    assert_close(got, ref.numpy(), np.float64)


def test_pad_float32():
    x = rand((1, 2, 4, 3), np.float32)
    for mode in ["constant", "reflect", "replicate", "circular"]:
        ref = F.pad(t(x), (2, 1, 3, 2), mode=mode).numpy()
        np.testing.assert_array_equal(nb.pad(x, (2, 1, 3, 2), mode, 0.0), ref)


# ---------------------------------------------------------------- pooling
def pool_out(H, k, s, p, d, ceil):
    num = H + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= H + p:
        o -= 1
    return o


POOL_CASES = [
    # (N, C, H, W, k, stride, pad, dil, ceil)
    (2, 3, 8, 9, (2, 2), (2, 2), (0, 0), (1, 1), False),
    (1, 2, 11, 7, (3, 3), (2, 2), (1, 1), (1, 1), True),
    (2, 2, 13, 10, (3, 2), (3, 1), (1, 1), (2, 3), True),
    (1, 4, 5, 5, (5, 5), (1, 1), (2, 2), (1, 1), False),
    (1, 1, 7, 9, (4, 3), (3, 2), (2, 1), (1, 1), True),
]


def pool_input(N, C, H, W, dtype=np.float64):
    x = rand((N, C, H, W), dtype)
    x[..., ::3, ::2] = np.round(x[..., ::3, ::2])      # many ties
    x.flat[::17] = np.nan
    x.flat[5::29] = -np.inf
    return x


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("is_min", [False, True])
def test_max_pool(case, is_min):
    N, C, H, W, k, s, p, d, ceil = case
    x = pool_input(N, C, H, W)
    keep = frozen(x)
    oh = (pool_out(H, k[0], s[0], p[0], d[0], ceil), pool_out(W, k[1], s[1], p[1], d[1], ceil))
    xt = -t(x) if is_min else t(x)
    yr, ir = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
    yr = -yr if is_min else yr
    assert yr.shape[2:] == oh
    y, idx = nb.max_pool2d(x, k, s, p, d, oh, is_min, True)
    check_unchanged(keep, [x])
    np.testing.assert_array_equal(y, yr.numpy())
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, ir.numpy())
    y2, none = nb.max_pool2d(x, k, s, p, d, oh, is_min, False)
    assert none is None
    np.testing.assert_array_equal(y2, y)
    # backward
    gy = rand(y.shape)
    xin = t(np.nan_to_num(x) if False else x).requires_grad_(True)
    out, _ = F.max_pool2d(-xin if is_min else xin, k, s, p, d, ceil_mode=ceil,
                          return_indices=True)
    out.backward(t(-gy if is_min else gy))
    gx = nb.max_pool2d_backward(gy, idx, (H, W))
    assert_close(gx, xin.grad.numpy(), np.float64, 16)


def test_max_pool_float32():
    x = pool_input(2, 3, 9, 8, np.float32)
    yr, ir = F.max_pool2d(t(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    y, idx = nb.max_pool2d(x, (3, 3), (2, 2), (1, 1), (1, 1), tuple(yr.shape[2:]), False, True)
    np.testing.assert_array_equal(y, yr.numpy())
    np.testing.assert_array_equal(idx, ir.numpy())
    gy = rand(y.shape, np.float32)
    gx = nb.max_pool2d_backward(gy, idx, (9, 8))
    ref = torch.zeros(2, 3, 72).scatter_add_(2, ir.reshape(2, 3, -1), t(gy).reshape(2, 3, -1))
    np.testing.assert_allclose(gx, ref.reshape(2, 3, 9, 8).numpy(), rtol=1e-6, atol=1e-6)


AVG_CASES = [
    (2, 3, 8, 9, (2, 2), (2, 2), (0, 0), False),
    (1, 2, 11, 7, (3, 3), (2, 2), (1, 1), True),
    (2, 2, 13, 10, (3, 2), (3, 1), (1, 1), True),
    (1, 4, 5, 5, (5, 5), (1, 1), (2, 2), False),
    (1, 1, 7, 9, (4, 3), (3, 2), (2, 1), True),
    (1, 1, 6, 6, (3, 3), (4, 4), (1, 1), True),
]


@pytest.mark.parametrize("case", AVG_CASES)
@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("divisor", [None, 5])
def test_avg_pool(case, include_pad, divisor):
    N, C, H, W, k, s, p, ceil = case
    x = rand((N, C, H, W))
    keep = frozen(x)
    xin = t(x).requires_grad_(True)
    yr = F.avg_pool2d(xin, k, s, p, ceil, include_pad, divisor)
    oh = tuple(yr.shape[2:])
    y = nb.avg_pool2d(x, k, s, p, oh, include_pad, divisor)
    check_unchanged(keep, [x])
    assert_close(y, yr.detach().numpy(), np.float64, k[0] * k[1])
    gy = rand(y.shape)
    yr.backward(t(gy))
    gx = nb.avg_pool2d_backward(gy, (H, W), k, s, p, include_pad, divisor)
    assert_close(gx, xin.grad.numpy(), np.float64, 16)


def test_avg_pool_float32():
    x = rand((2, 3, 9, 8), np.float32)
    xin = t(x).requires_grad_(True)
    yr = F.avg_pool2d(xin, 3, 2, 1, True, False)
    y = nb.avg_pool2d(x, (3, 3), (2, 2), (1, 1), tuple(yr.shape[2:]), False, None)
    np.testing.assert_allclose(y, yr.detach().numpy(), rtol=1e-5, atol=1e-6)
    gy = rand(y.shape, np.float32)
    yr.backward(t(gy))
    gx = nb.avg_pool2d_backward(gy, (9, 8), (3, 3), (2, 2), (1, 1), False, None)
    np.testing.assert_allclose(gx, xin.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_backend_surface():
    assert nb.name == "numba"
    assert nb.conv_algorithms == ("direct",)
    x = rand((1, 1, 3, 3))
    nb.pad(x, (1, 1, 1, 1), "constant", 0.0)
    assert callable(nb.pad)      # not shadowed by the submodule
