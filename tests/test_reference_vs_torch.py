"""The oracle against PyTorch: every kernel test compares an implementation with
`fastconv.reference` on the case lists below, so checking the reference against torch on the
same lists makes every implementation agree with torch too (skipped without torch)."""
from __future__ import annotations

import numpy as np
import pytest

import fastconv as fc
from conftest import random
from test_conv import CONV_CASES, TRANSPOSE_CASES, _ids
from test_pad_pool import AVG_CASES, MAX_CASES, PAD_CASES, _special_values

torch = pytest.importorskip("torch")
F = torch.nn.functional


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# torch warns that it pads a copy for padding='same' with an even kernel; our cases mean to.
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("case", CONV_CASES, ids=_ids(CONV_CASES))
def test_conv2d_and_gradients(case):
    n, c, h, w, k, r, s, stride, padding, dilation, groups = case
    x, wt, b = random((n, c, h, w), np.float64, 1), random((k, c // groups, r, s), np.float64, 2), \
        random((k,), np.float64, 3)
    xt, wtt = t(x).requires_grad_(), t(wt).requires_grad_()
    yt = F.conv2d(xt, wtt, t(b), stride, padding, dilation, groups)
    y = fc.conv2d(x, wt, b, stride, padding, dilation, groups, backend="reference")
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    if isinstance(padding, str):
        return                                        # fc.grad takes numeric padding, as torch
    gy = random(y.shape, np.float64, 4)
    yt.backward(t(gy))
    args = (stride, padding, dilation, groups)
    dx = fc.grad.conv2d_input(x.shape, wt, gy, *args, backend="reference")
    dw = fc.grad.conv2d_weight(x, wt.shape, gy, *args, backend="reference")
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, wtt.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=_ids(TRANSPOSE_CASES))
def test_conv_transpose2d(case):
    n, cin, h, w, cout, r, s, stride, padding, out_pad, groups, dilation = case
    x = random((n, cin, h, w), np.float64, 1)
    wt = random((cin, cout // groups, r, s), np.float64, 2)
    b = random((cout,), np.float64, 3)
    y = fc.conv_transpose2d(x, wt, b, stride, padding, out_pad, groups, dilation,
                            backend="reference")
    ref = F.conv_transpose2d(t(x), t(wt), t(b), stride, padding, out_pad, groups, dilation)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("pads,mode,shape", PAD_CASES)
def test_pad(pads, mode, shape):
    x = random(shape, np.float64, 1)
    value = 1.5 if mode == "constant" else None
    y = fc.pad(x, pads, mode, value, backend="reference")
    ref = F.pad(t(x), pads, mode, value) if value is not None else F.pad(t(x), pads, mode)
    np.testing.assert_array_equal(y, ref.numpy())


@pytest.mark.parametrize("is_min", [False, True], ids=["max", "min"])
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_min_pool_and_gradient(case, is_min):
    shape, k, s, p, d, ceil = case
    x = _special_values(random(shape, np.float64, 2))
    y, idx = (fc.min_pool2d if is_min else fc.max_pool2d)(x, k, s, p, d, ceil,
                                                          return_indices=True, backend="reference")
    xt = t(x).requires_grad_()
    yt, it = F.max_pool2d(-xt if is_min else xt, k, s, p, d, ceil, return_indices=True)
    np.testing.assert_array_equal(y, (-yt if is_min else yt).detach().numpy())
    np.testing.assert_array_equal(idx, it.numpy())
    gy = random(y.shape, np.float64, 3)
    yt.backward(t(-gy if is_min else gy))
    dx = fc.grad.max_pool2d_input(gy, idx, x.shape, backend="reference")
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool_and_gradient(case):
    shape, k, s, p, ceil, include_pad, divisor = case
    x = random(shape, np.float64, 2)
    y = fc.avg_pool2d(x, k, s, p, ceil, include_pad, divisor, backend="reference")
    xt = t(x).requires_grad_()
    yt = F.avg_pool2d(xt, k, s, p, ceil, include_pad, divisor)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    gy = random(y.shape, np.float64, 3)
    yt.backward(t(gy))
    dx = fc.grad.avg_pool2d_input(gy, x.shape, k, s, p, ceil, include_pad, divisor,
                                  backend="reference")
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)
