"""Padding kernel: constant / reflect / replicate / circular, pads >= 0.

One pass per (n, c) plane (``prange``): each output row maps to a source row (or to the
constant), then the row is written as left border, a contiguous copy of the source row, and
right border. Index maps are total functions (reflect uses period 2*(n-1), circular a
modulo), so even an unchecked call cannot read out of bounds.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import njit_cached

_MODES = {"constant": 0, "reflect": 1, "replicate": 2, "circular": 3}


@njit_cached()
def _src(i, n, mode):
    # source index for padded coordinate i (relative to the input), -1 = constant
    if 0 <= i < n:
        return i
    if mode == 0:
        return -1
    if mode == 2:
        return 0 if i < 0 else n - 1
    if mode == 3:
        return i % n
    if n == 1:
        return 0
    p = 2 * (n - 1)
    i = i % p
    return i if i < n else p - i


@njit_cached(parallel=True)
def _pad(x, left, right, top, bottom, mode, value):
    N, C, H, W = x.shape
    Ho = H + top + bottom
    Wo = W + left + right
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    v = value
    for p in prange(N * C):
        n = p // C
        c = p % C
        for oh in range(Ho):
            h = _src(oh - top, H, mode)
            orow = out[n, c, oh]
            if h < 0:
                for ow in range(Wo):
                    orow[ow] = v
                continue
            xrow = x[n, c, h]
            for ow in range(left):
                s = _src(ow - left, W, mode)
                orow[ow] = v if s < 0 else xrow[s]
            for w in range(W):
                orow[left + w] = xrow[w]
            for ow in range(left + W, Wo):
                s = _src(ow - left, W, mode)
                orow[ow] = v if s < 0 else xrow[s]
    return out


def pad(x, pads, mode, value):
    left, right, top, bottom = pads
    return _pad(x, left, right, top, bottom, _MODES[mode], float(value or 0.0))
