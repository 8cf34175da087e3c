"""Direct convolution kernels (forward, input gradient, weight gradient).

Forward layout trick: the input is zero-padded once into ``xpad`` (N, C, Hp, Wp) and viewed
flat as (N, C*Hp*Wp). The reduction index ``q = c*R*S + r*S + s`` becomes one list of flat
offsets ``qoff[q] = c*Hp*Wp + r*dh*Wp + s*dw``, so ``w.reshape(K, Q)`` is the weight matrix as
given and every tap is a contiguous run of the input. Output "rows" are
runs of ``row_len`` outputs whose input starts ``rowstep`` apart:

* stride 1 (sh == sw == 1): a single row of length (Hout-1)*Wp + Wout over the padded width
  (the Wp-Wout columns between rows are computed and thrown away), so the innermost loop is
  long even for 7x7 maps;
  With N > 1 and small maps the batch is folded in too: the padded input is laid out
  (C, N*Hp*Wp) and one row covers all images;
* otherwise one row per output row (row_len = Wout, rowstep = sh*Wp). For sw > 1 the
  padded input is stored split into sw column phases, (N, C, Hp, sw, ceil(Wp/sw)), so a
  stride-sw tap is still a contiguous run and only one (contiguous) loop body is compiled.

The innermost loop runs over that row, contiguously, updating a block of 4 output channels
with 4 reduction taps per pass (16 FMAs per 4 input loads and 4 output load/stores), which
LLVM vectorises. Work items (n, block of output channels, row, chunk of the row) are
independent and spread with ``prange``.

The input gradient is the same kernel on grad_output zero-upsampled by the stride and padded
by (R-1)*dh - top (cropped where negative), with the weight flipped and transposed per group.
The weight gradient runs ``prange`` over (k, c) pairs: each owns its R*S outputs and reduces
over the batch and the output plane with per-tap row accumulators (no races, vectorisable).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import FASTMATH, njit_cached

_KB = 4        # output channels per block
_JC = 512      # outputs per chunk of a row (4 x 512 fp32 accumulators stay in L1)


@njit_cached(fastmath=FASTMATH)
def _blk44(y0, y1, y2, y3, xa, xb, xc, xd, w, k0, q, jl):
    a0 = w[k0, q]
    b0 = w[k0, q + 1]
    c0 = w[k0, q + 2]
    d0 = w[k0, q + 3]
    a1 = w[k0 + 1, q]
    b1 = w[k0 + 1, q + 1]
    c1 = w[k0 + 1, q + 2]
    d1 = w[k0 + 1, q + 3]
    a2 = w[k0 + 2, q]
    b2 = w[k0 + 2, q + 1]
    c2 = w[k0 + 2, q + 2]
    d2 = w[k0 + 2, q + 3]
    a3 = w[k0 + 3, q]
    b3 = w[k0 + 3, q + 1]
    c3 = w[k0 + 3, q + 2]
    d3 = w[k0 + 3, q + 3]
    for j in range(jl):
        va = xa[j]
        vb = xb[j]
        vc = xc[j]
        vd = xd[j]
        t = y0[j]
        t += a0 * va
        t += b0 * vb
        t += c0 * vc
        t += d0 * vd
        y0[j] = t
        t = y1[j]
        t += a1 * va
        t += b1 * vb
        t += c1 * vc
        t += d1 * vd
        y1[j] = t
        t = y2[j]
        t += a2 * va
        t += b2 * vb
        t += c2 * vc
        t += d2 * vd
        y2[j] = t
        t = y3[j]
        t += a3 * va
        t += b3 * vb
        t += c3 * vc
        t += d3 * vd
        y3[j] = t


@njit_cached(fastmath=FASTMATH)
def _blk41(y0, y1, y2, y3, xa, w, k0, q, jl):
    a0 = w[k0, q]
    a1 = w[k0 + 1, q]
    a2 = w[k0 + 2, q]
    a3 = w[k0 + 3, q]
    for j in range(jl):
        va = xa[j]
        y0[j] += a0 * va
        y1[j] += a1 * va
        y2[j] += a2 * va
        y3[j] += a3 * va


@njit_cached(fastmath=FASTMATH)
def _blk14(y0, xa, xb, xc, xd, w, k, q, jl):
    a0 = w[k, q]
    b0 = w[k, q + 1]
    c0 = w[k, q + 2]
    d0 = w[k, q + 3]
    for j in range(jl):
        t = y0[j]
        t += a0 * xa[j]
        t += b0 * xb[j]
        t += c0 * xc[j]
        t += d0 * xd[j]
        y0[j] = t


@njit_cached(fastmath=FASTMATH)
def _blk11(y0, xa, w, k, q, jl):
    a0 = w[k, q]
    for j in range(jl):
        y0[j] += a0 * xa[j]


@njit_cached(fastmath=FASTMATH)
def _conv_item(xn, wq, qoff, y3n, k0, kend, yb, xb, jl):
    Q = wq.shape[1]
    k = k0
    while k + 4 <= kend:
        y0 = y3n[k, yb:yb + jl]
        y1 = y3n[k + 1, yb:yb + jl]
        y2 = y3n[k + 2, yb:yb + jl]
        y4 = y3n[k + 3, yb:yb + jl]
        q = 0
        while q + 4 <= Q:
            oa = xb + qoff[q]
            ob = xb + qoff[q + 1]
            oc = xb + qoff[q + 2]
            od = xb + qoff[q + 3]
            _blk44(y0, y1, y2, y4, xn[oa:oa + jl], xn[ob:ob + jl], xn[oc:oc + jl],
                   xn[od:od + jl], wq, k, q, jl)
            q += 4
        while q < Q:
            oa = xb + qoff[q]
            _blk41(y0, y1, y2, y4, xn[oa:oa + jl], wq, k, q, jl)
            q += 1
        k += 4
    while k < kend:
        y0 = y3n[k, yb:yb + jl]
        q = 0
        while q + 4 <= Q:
            oa = xb + qoff[q]
            ob = xb + qoff[q + 1]
            oc = xb + qoff[q + 2]
            od = xb + qoff[q + 3]
            _blk14(y0, xn[oa:oa + jl], xn[ob:ob + jl], xn[oc:oc + jl], xn[od:od + jl],
                   wq, k, q, jl)
            q += 4
        while q < Q:
            oa = xb + qoff[q]
            _blk11(y0, xn[oa:oa + jl], wq, k, q, jl)
            q += 1
        k += 1


@njit_cached(parallel=True, fastmath=FASTMATH)
def _conv_core(x2, wq, qoff, bias, has_bias, y3, groups, Cg_len, n_rows, row_len, rowstep):
    # x2: (N, C*L) padded input; wq: (K, Q); qoff: (Q,) offsets inside one group's channels;
    # y3: (N, K, n_rows*row_len) output; Cg_len = (C // groups) * L.
    N = x2.shape[0]
    K = wq.shape[0]
    Kg = K // groups
    nkb = (Kg + _KB - 1) // _KB
    nch = (row_len + _JC - 1) // _JC
    total = N * groups * nkb * n_rows * nch
    for item in prange(total):
        ch = item % nch
        r1 = item // nch
        row = r1 % n_rows
        r2 = r1 // n_rows
        kb = r2 % nkb
        r3 = r2 // nkb
        g = r3 % groups
        n = r3 // groups
        k0 = g * Kg + kb * _KB
        kend = min(k0 + _KB, (g + 1) * Kg)
        j0 = ch * _JC
        jl = min(_JC, row_len - j0)
        yb = row * row_len + j0
        xb = g * Cg_len + row * rowstep + j0
        for k in range(k0, kend):
            bv = bias[k] if has_bias else 0
            for j in range(jl):
                y3[n, k, yb + j] = bv
        _conv_item(x2[n], wq, qoff, y3[n], k0, kend, yb, xb, jl)


@njit_cached(parallel=True)
def _pad_zero(x, top, left, Hp, sw, Wq):
    # Zero-pad and split the width into sw phases: padded column wp = q*sw + p lands at
    # out[n, c, hp, p, q], so a stride-sw run of the padded row is contiguous here.
    N, C, H, W = x.shape
    out = np.zeros((N, C, Hp, sw, Wq), dtype=x.dtype)
    for i in prange(N * C):
        n = i // C
        c = i % C
        for h in range(H):
            for w in range(W):
                wp = left + w
                out[n, c, top + h, wp % sw, wp // sw] = x[n, c, h, w]
    return out


@njit_cached(parallel=True)
def _extract(yflat, Ho, Wo, Wp):
    # yflat: (N, K, M) with output (oh, ow) at oh*Wp + ow
    N, K, M = yflat.shape
    out = np.empty((N, K, Ho, Wo), dtype=yflat.dtype)
    for p in prange(N * K):
        n = p // K
        k = p % K
        for oh in range(Ho):
            for ow in range(Wo):
                out[n, k, oh, ow] = yflat[n, k, oh * Wp + ow]
    return out


@njit_cached(parallel=True)
def _extract_batch(yflat, N, Ho, Wo, Wp, L):
    # yflat: (1, K, M) with output (n, oh, ow) at n*L + oh*Wp + ow
    K = yflat.shape[1]
    out = np.empty((N, K, Ho, Wo), dtype=yflat.dtype)
    for p in prange(N * K):
        n = p // K
        k = p % K
        for oh in range(Ho):
            for ow in range(Wo):
                out[n, k, oh, ow] = yflat[0, k, n * L + oh * Wp + ow]
    return out


_FOLD_BELOW = 1024      # fold the batch into the row when one image's row is shorter


def _forward(x, w, bias, stride, padding, dilation, groups):
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    sh, sw = stride
    dh, dw = dilation
    top, bottom, left, right = padding
    Hp = H + top + bottom
    Wp = W + left + right
    Ho = (Hp - dh * (R - 1) - 1) // sh + 1
    Wo = (Wp - dw * (S - 1) - 1) // sw + 1
    if N == 0 or K == 0 or Ho <= 0 or Wo <= 0:
        return np.zeros((N, K, max(Ho, 0), max(Wo, 0)), dtype=x.dtype)
    # A stride longer than the padded input gives one output row (column) whatever its size;
    # the smallest such stride keeps the de-interleaved copy below (sw * ceil(Wp / sw) columns)
    # small.
    if sh > Hp:
        sh = Hp - dh * (R - 1)
    if sw > Wp:
        sw = Wp - dw * (S - 1)
    Wq = -(-Wp // sw)
    if top or bottom or left or right or sw != 1:
        xp = _pad_zero(x, top, left, Hp, sw, Wq)
    else:
        xp = x
    Wrow = sw * Wq          # elements per padded input row in xp
    L = Hp * Wrow
    x2 = xp.reshape(N, C * L)
    wq = w.reshape(K, Cg * R * S)
    sd = np.arange(S, dtype=np.int64) * dw
    tap = (np.arange(R, dtype=np.int64)[:, None] * (dh * Wrow)
           + ((sd % sw) * Wq + sd // sw)[None, :]).reshape(-1)
    qoff = (np.arange(Cg, dtype=np.int64)[:, None] * L + tap[None, :]).reshape(-1)
    has_bias = bias is not None
    b = bias if has_bias else np.zeros(1, dtype=x.dtype)
    if sh == 1 and sw == 1 and N > 1 and Ho * Wp < _FOLD_BELOW:
        # small maps: fold the batch into the flat row, (C, N*Hp*Wp) layout, so the inner
        # loop stays long (7x7 layers would otherwise run 61-element rows)
        LN = N * L
        xt = np.ascontiguousarray(xp.reshape(N, C, L).transpose(1, 0, 2)).reshape(1, C * LN)
        qoff = (np.arange(Cg, dtype=np.int64)[:, None] * LN + tap[None, :]).reshape(-1)
        row_len = (N - 1) * L + (Ho - 1) * Wp + Wo
        y3 = np.empty((1, K, row_len), dtype=x.dtype)
        _conv_core(xt, wq, qoff, b, has_bias, y3, groups, Cg * LN, 1, row_len, 0)
        return _extract_batch(y3, N, Ho, Wo, Wp, L)
    if sh == 1 and sw == 1 and Wo < Wp:
        row_len = (Ho - 1) * Wp + Wo
        y3 = np.empty((N, K, row_len), dtype=x.dtype)
        _conv_core(x2, wq, qoff, b, has_bias, y3, groups, Cg * L, 1, row_len, 0)
        return _extract(y3, Ho, Wo, Wp)
    y = np.empty((N, K, Ho, Wo), dtype=x.dtype)
    _conv_core(x2, wq, qoff, b, has_bias, y.reshape(N, K, Ho * Wo), groups, Cg * L, Ho, Wo,
               sh * Wrow)
    return y


def conv2d(x, w, bias, stride, padding, dilation, groups, algorithm="direct"):
    return _forward(x, w, bias, stride, padding, dilation, groups)


@njit_cached(parallel=True)
def _upsample_pad(g, sh, sw, ptop, pleft, Hu, Wu):
    # out[n, k, oh*sh + ptop, ow*sw + pleft] = g[n, k, oh, ow] where inside (Hu, Wu)
    N, K, Ho, Wo = g.shape
    out = np.zeros((N, K, Hu, Wu), dtype=g.dtype)
    for p in prange(N * K):
        n = p // K
        k = p % K
        for oh in range(Ho):
            h = oh * sh + ptop
            if h < 0 or h >= Hu:
                continue
            for ow in range(Wo):
                ww = ow * sw + pleft
                if ww >= 0 and ww < Wu:
                    out[n, k, h, ww] = g[n, k, oh, ow]
    return out


def conv2d_input(grad_output, w, input_hw, stride, padding, dilation, groups,
                 algorithm="direct", bias=None):
    N, K, Ho, Wo = grad_output.shape
    Kw, Cg, R, S = w.shape
    H, W = input_hw
    C = Cg * groups
    sh, sw = stride
    dh, dw = dilation
    top, _, left, _ = padding
    if N == 0 or C == 0 or H == 0 or W == 0:
        dx = np.zeros((N, C, H, W), dtype=grad_output.dtype)
        return dx if bias is None else dx + bias[:, None, None]
    Hu = H + (R - 1) * dh
    Wu = W + (S - 1) * dw
    gu = _upsample_pad(grad_output, sh, sw, (R - 1) * dh - top, (S - 1) * dw - left, Hu, Wu)
    Kg = K // groups
    # wt[g*Cg + c, kk, r, s] = w[g*Kg + kk, c, R-1-r, S-1-s]
    wt = w.reshape(groups, Kg, Cg, R, S)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
    wt = np.ascontiguousarray(wt).reshape(C, Kg, R, S)
    return _forward(gu, wt, bias, (1, 1), (0, 0, 0, 0), dilation, groups)


@njit_cached(parallel=True, fastmath=FASTMATH)
def _conv_weight(xp, g, Cg, R, S, sh, sw, dh, dw, groups):
    # xp: (N, C, Hp, Wp) padded input; g: (N, K, Ho, Wo)
    N, K, Ho, Wo = g.shape
    Kg = K // groups
    dwt = np.zeros((K, Cg, R, S), dtype=g.dtype)
    T = R * S
    for p in prange(K * Cg):
        k = p // Cg
        c = p % Cg
        cin = (k // Kg) * Cg + c
        acc = np.zeros((T, Wo), dtype=g.dtype)
        for n in range(N):
            for oh in range(Ho):
                grow = g[n, k, oh]
                for r in range(R):
                    xrow = xp[n, cin, oh * sh + r * dh]
                    for s in range(S):
                        a = acc[r * S + s]
                        base = s * dw
                        if sw == 1:
                            for ow in range(Wo):
                                a[ow] += grow[ow] * xrow[base + ow]
                        else:
                            for ow in range(Wo):
                                a[ow] += grow[ow] * xrow[base + ow * sw]
        for r in range(R):
            for s in range(S):
                tot = 0.0
                a = acc[r * S + s]
                for ow in range(Wo):
                    tot += a[ow]
                dwt[k, c, r, s] = tot
    return dwt


def conv2d_weight(x, grad_output, kernel, stride, padding, dilation, groups,
                  algorithm="direct"):
    N, C, H, W = x.shape
    K = grad_output.shape[1]
    R, S = kernel
    Cg = C // groups
    top, bottom, left, right = padding
    Hp = H + top + bottom
    Wp = W + left + right
    if top or bottom or left or right:
        xp = _pad_zero(x, top, left, Hp, 1, Wp).reshape(N, C, Hp, Wp)
    else:
        xp = x
    return _conv_weight(xp, grad_output, Cg, R, S, stride[0], stride[1], dilation[0],
                        dilation[1], groups)
