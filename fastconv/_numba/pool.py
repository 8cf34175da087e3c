"""Pooling kernels: max/min with indices, average, and their backward passes.

Semantics follow PyTorch's CPU kernels exactly:
* max/min: the window starts at oh*sh - ph and walks kh taps dilated by dh, skipping taps
  outside the input. The running best starts at -inf (+inf for min) with the index of the
  first in-bounds tap; a tap replaces it when ``v > best or isnan(v)`` (``<`` for min), so
  the first extreme wins ties and the last NaN wins.
* avg: hstart = oh*sh - ph, hend = min(hstart + kh, H + ph); pool_size = (hend - hstart) *
  (wend - wstart) before clamping to the input; the divisor is divisor_override if given,
  else pool_size with count_include_pad, else the clamped window's size; an empty clamped
  window gives 0.
Every kernel runs ``prange`` over the N*C planes, which are independent (the backward
scatter-adds stay inside a plane, so there are no races).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import njit_cached


@njit_cached(parallel=True)
def _max_pool(x, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo, is_min, idx):
    N, C, H, W = x.shape
    y = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for p in prange(N * C):
        n = p // C
        c = p % C
        xp = x[n, c]
        for oh in range(Ho):
            hs = oh * sh - ph
            he = min(hs + (kh - 1) * dh + 1, H)
            if hs < 0:  # the first tap inside (a window may start far into a huge padding)
                hs += (-hs + dh - 1) // dh * dh
            for ow in range(Wo):
                ws = ow * sw - pw
                we = min(ws + (kw - 1) * dw + 1, W)
                if ws < 0:
                    ws += (-ws + dw - 1) // dw * dw
                best = np.inf if is_min else -np.inf
                bi = hs * W + ws
                for h in range(hs, he, dh):
                    for w in range(ws, we, dw):
                        v = xp[h, w]
                        if is_min:
                            better = v < best
                        else:
                            better = v > best
                        if better or math.isnan(v):
                            best = v
                            bi = h * W + w
                y[n, c, oh, ow] = best
                idx[n, c, oh, ow] = bi
    return y


@njit_cached(parallel=True)
def _max_pool_bwd(g, ind, H, W):
    N, C, Ho, Wo = g.shape
    dx = np.zeros((N, C, H * W), dtype=g.dtype)
    HW = H * W
    for p in prange(N * C):
        n = p // C
        c = p % C
        d = dx[n, c]
        for oh in range(Ho):
            for ow in range(Wo):
                i = ind[n, c, oh, ow]
                if 0 <= i < HW:
                    d[i] += g[n, c, oh, ow]
    return dx.reshape(N, C, H, W)


@njit_cached(parallel=True)
def _avg_pool(x, kh, kw, sh, sw, ph, pw, Ho, Wo, include_pad, divisor):
    N, C, H, W = x.shape
    y = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for p in prange(N * C):
        n = p // C
        c = p % C
        xp = x[n, c]
        for oh in range(Ho):
            hs = oh * sh - ph
            he = min(hs + kh, H + ph)
            hsz = he - hs
            hs = max(hs, 0)
            he = min(he, H)
            for ow in range(Wo):
                ws = ow * sw - pw
                we = min(ws + kw, W + pw)
                pool = hsz * (we - ws)
                ws = max(ws, 0)
                we = min(we, W)
                if hs >= he or ws >= we:
                    y[n, c, oh, ow] = 0
                    continue
                acc = xp[hs, ws] * 0
                for h in range(hs, he):
                    for w in range(ws, we):
                        acc += xp[h, w]
                if divisor != 0:
                    div = divisor
                elif include_pad:
                    div = pool
                else:
                    div = (he - hs) * (we - ws)
                y[n, c, oh, ow] = acc / div
    return y


@njit_cached(parallel=True)
def _avg_pool_bwd(g, H, W, kh, kw, sh, sw, ph, pw, include_pad, divisor):
    N, C, Ho, Wo = g.shape
    dx = np.zeros((N, C, H, W), dtype=g.dtype)
    for p in prange(N * C):
        n = p // C
        c = p % C
        d = dx[n, c]
        for oh in range(Ho):
            hs = oh * sh - ph
            he = min(hs + kh, H + ph)
            hsz = he - hs
            hs = max(hs, 0)
            he = min(he, H)
            for ow in range(Wo):
                ws = ow * sw - pw
                we = min(ws + kw, W + pw)
                pool = hsz * (we - ws)
                ws = max(ws, 0)
                we = min(we, W)
                if hs >= he or ws >= we:
                    continue
                if divisor != 0:
                    div = divisor
                elif include_pad:
                    div = pool
                else:
                    div = (he - hs) * (we - ws)
                v = g[n, c, oh, ow] / div
                for h in range(hs, he):
                    for w in range(ws, we):
                        d[h, w] += v
    return dx


def max_pool2d(x, kernel, stride, padding, dilation, out_hw, is_min, with_indices):
    N, C = x.shape[:2]
    idx = np.empty((N, C, out_hw[0], out_hw[1]), dtype=np.int64)
    y = _max_pool(x, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                  dilation[0], dilation[1], out_hw[0], out_hw[1], bool(is_min), idx)
    return y, (idx if with_indices else None)


def max_pool2d_backward(grad_output, indices, input_hw):
    return _max_pool_bwd(grad_output, np.ascontiguousarray(indices, dtype=np.int64),
                         input_hw[0], input_hw[1])


def avg_pool2d(x, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    return _avg_pool(x, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                     out_hw[0], out_hw[1], bool(count_include_pad),
                     int(divisor_override or 0))


def avg_pool2d_backward(grad_output, input_hw, kernel, stride, padding, count_include_pad,
                        divisor_override):
    return _avg_pool_bwd(grad_output, input_hw[0], input_hw[1], kernel[0], kernel[1],
                         stride[0], stride[1], padding[0], padding[1],
                         bool(count_include_pad), int(divisor_override or 0))
