"""The reference backend: the definitions, written as plainly as possible. Slow on purpose.

Every other backend is tested against this one. Convolutions loop over groups and kernel
taps and accumulate in float64; each tap is one strided slice of the padded input (the window
of inputs that tap sees for every output position) times that tap's weights. Pooling loops over
window taps in row-major order, which fixes the tie and NaN rules. Results are cast back to the
input dtype. The argument conventions are in `fastconv._backend_api`.
"""
from __future__ import annotations

import numpy as np

from . import shapes

name = "reference"
conv_algorithms = ("direct",)


def _tap(a: np.ndarray, r: int, s: int, out_hw, stride, dilation) -> np.ndarray:
    """The view a[..., r*dh + oh*sh, s*dw + ow*sw] over all output positions (oh, ow)."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return a[..., r * dh: r * dh + sh * (ho - 1) + 1: sh, s * dw: s * dw + sw * (wo - 1) + 1: sw]


def _zero_pad(x: np.ndarray, padding) -> np.ndarray:
    t, b, l, r = padding
    return np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, b), (l, r)))


def _conv_out_hw(hw, kernel, stride, padding, dilation):
    return tuple(shapes.conv_output_size(hw[i], kernel[i], stride[i], padding[2 * i], dilation[i],
                                         padding_end=padding[2 * i + 1]) for i in range(2))


def conv2d(x, w, bias, stride, padding, dilation, groups, algorithm="direct"):
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    kg = k // groups
    out_hw = _conv_out_hw((h, wd), (kh, kw), stride, padding, dilation)
    xp, w64 = _zero_pad(x, padding), w.astype(np.float64)
    y = np.zeros((n, k) + out_hw)
    for g in range(groups):
        xg, wg = xp[:, g * cg:(g + 1) * cg], w64[g * kg:(g + 1) * kg]
        for r in range(kh):
            for s in range(kw):
                y[:, g * kg:(g + 1) * kg] += np.einsum(
                    "nchw,kc->nkhw", _tap(xg, r, s, out_hw, stride, dilation), wg[:, :, r, s])
    if bias is not None:
        y += bias.astype(np.float64)[:, None, None]
    return y.astype(x.dtype)


def conv2d_input(grad_output, w, input_hw, stride, padding, dilation, groups, algorithm="direct",
                 bias=None):
    n, k, ho, wo = grad_output.shape
    _, cg, kh, kw = w.shape
    kg = k // groups
    t, b, l, r_ = padding
    dxp = np.zeros((n, cg * groups, input_hw[0] + t + b, input_hw[1] + l + r_))
    gy, w64 = grad_output.astype(np.float64), w.astype(np.float64)
    for g in range(groups):
        gyg, wg = gy[:, g * kg:(g + 1) * kg], w64[g * kg:(g + 1) * kg]
        for r in range(kh):
            for s in range(kw):
                _tap(dxp[:, g * cg:(g + 1) * cg], r, s, (ho, wo), stride, dilation)[...] += \
                    np.einsum("nkhw,kc->nchw", gyg, wg[:, :, r, s])
    if bias is not None:
        dxp += bias.astype(np.float64)[:, None, None]
    return dxp[:, :, t:t + input_hw[0], l:l + input_hw[1]].astype(grad_output.dtype)


def conv2d_weight(x, grad_output, kernel, stride, padding, dilation, groups, algorithm="direct"):
    n, c, h, wd = x.shape
    _, k, ho, wo = grad_output.shape
    cg, kg = c // groups, k // groups
    xp, gy = _zero_pad(x, padding), grad_output.astype(np.float64)
    dw = np.zeros((k, cg) + tuple(kernel))
    for g in range(groups):
        xg, gyg = xp[:, g * cg:(g + 1) * cg], gy[:, g * kg:(g + 1) * kg]
        for r in range(kernel[0]):
            for s in range(kernel[1]):
                dw[g * kg:(g + 1) * kg, :, r, s] = np.einsum(
                    "nkhw,nchw->kc", gyg, _tap(xg, r, s, (ho, wo), stride, dilation))
    return dw.astype(x.dtype)


_NUMPY_PAD_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                   "circular": "wrap"}


def pad(x, pads, mode, value):
    l, r, t, b = pads
    widths = ((0, 0), (0, 0), (t, b), (l, r))
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NUMPY_PAD_MODE[mode])


def _window_starts(out_len, stride, padding):
    return np.arange(out_len) * stride - padding


def _taps_inside(starts, size, kernel, dilation):
    """The taps r of a window that fall inside [0, size) for some window start: the others
    read only padding (skipping them keeps a huge kernel over a small input quick)."""
    lo = max(0, -(int(starts.max()) // dilation))            # ceil(-max(start) / dilation)
    hi = min(kernel, -((int(starts.min()) - size) // dilation))  # ceil((size - min) / dilation)
    return range(lo, max(lo, hi))


def max_pool2d(x, kernel, stride, padding, dilation, out_hw, is_min, with_indices):
    """Scan taps in row-major order: a tap replaces the running extreme if it is strictly better
    or NaN, so ties keep the first and NaN propagates (with the last NaN's index, as torch)."""
    n, c, h, w = x.shape
    hs = _window_starts(out_hw[0], stride[0], padding[0])
    ws = _window_starts(out_hw[1], stride[1], padding[1])
    # Index of the first in-bounds tap of each window (torch's initial index).
    h0 = np.where(hs < 0, hs + (-hs + dilation[0] - 1) // dilation[0] * dilation[0], hs)
    w0 = np.where(ws < 0, ws + (-ws + dilation[1] - 1) // dilation[1] * dilation[1], ws)
    best = np.full((n, c) + tuple(out_hw), np.inf if is_min else -np.inf, dtype=x.dtype)
    index = np.broadcast_to(h0[:, None] * w + w0[None, :], best.shape).astype(np.int64)
    for r in _taps_inside(hs, h, kernel[0], dilation[0]):
        hh = hs + r * dilation[0]
        for s in _taps_inside(ws, w, kernel[1], dilation[1]):
            ww = ws + s * dilation[1]
            valid = ((hh >= 0) & (hh < h))[:, None] & ((ww >= 0) & (ww < w))[None, :]
            v = x[:, :, np.clip(hh, 0, h - 1)[:, None], np.clip(ww, 0, w - 1)[None, :]]
            better = (v < best) if is_min else (v > best)
            take = valid & (better | np.isnan(v))
            best = np.where(take, v, best)
            index = np.where(take, hh[:, None] * w + ww[None, :], index)
    return best, (index if with_indices else None)


def max_pool2d_backward(grad_output, indices, input_hw):
    n, c = grad_output.shape[:2]
    plane = input_hw[0] * input_hw[1]
    dx = np.zeros((n * c, plane))
    rows = np.repeat(np.arange(n * c), indices[0, 0].size)
    np.add.at(dx, (rows, indices.reshape(-1)), grad_output.reshape(-1).astype(np.float64))
    return dx.reshape((n, c) + tuple(input_hw)).astype(grad_output.dtype)


def _avg_divisors(input_hw, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    """Per-output divisor, exactly as torch: the window clipped to the padded input counts when
    count_include_pad, else the window clipped to the input."""
    if divisor_override is not None:
        return np.full(tuple(out_hw), float(divisor_override))
    sizes = []
    for i in range(2):
        start = _window_starts(out_hw[i], stride[i], padding[i])
        end = np.minimum(start + kernel[i], input_hw[i] + padding[i])
        padded = end - start
        clipped = np.minimum(end, input_hw[i]) - np.maximum(start, 0)
        sizes.append(padded if count_include_pad else clipped)
    return sizes[0][:, None] * sizes[1][None, :].astype(np.float64)


def _avg_taps(input_hw, kernel, stride, padding, out_hw):
    """Yield (valid mask, row index, col index) for each window tap."""
    hs = _window_starts(out_hw[0], stride[0], padding[0])
    ws = _window_starts(out_hw[1], stride[1], padding[1])
    for r in _taps_inside(hs, input_hw[0], kernel[0], 1):
        for s in _taps_inside(ws, input_hw[1], kernel[1], 1):
            hh, ww = hs + r, ws + s
            valid = ((hh >= 0) & (hh < input_hw[0]))[:, None] & ((ww >= 0) & (ww < input_hw[1]))[None, :]
            yield valid, np.clip(hh, 0, input_hw[0] - 1), np.clip(ww, 0, input_hw[1] - 1)


def avg_pool2d(x, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    total = np.zeros(x.shape[:2] + tuple(out_hw))
    for valid, hh, ww in _avg_taps(x.shape[2:], kernel, stride, padding, out_hw):
        total += np.where(valid, x[:, :, hh[:, None], ww[None, :]], 0.0)
    div = _avg_divisors(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad, divisor_override)
    return (total / div).astype(x.dtype)


def avg_pool2d_backward(grad_output, input_hw, kernel, stride, padding, count_include_pad,
                        divisor_override):
    n, c, ho, wo = grad_output.shape
    div = _avg_divisors(input_hw, kernel, stride, padding, (ho, wo), count_include_pad, divisor_override)
    share = grad_output.astype(np.float64) / div
    dx = np.zeros((n, c) + tuple(input_hw))
    for valid, hh, ww in _avg_taps(input_hw, kernel, stride, padding, (ho, wo)):
        rows = np.broadcast_to(hh[:, None], (ho, wo))[valid]
        cols = np.broadcast_to(ww[None, :], (ho, wo))[valid]
        np.add.at(dx, (slice(None), slice(None), rows, cols), share[:, :, valid])
    return dx.astype(grad_output.dtype)
