"""The public ops, with the names, arguments, defaults and results of torch.nn.functional.

Each op validates once (`fastconv._validate`), picks a backend (`backend=None`: the process
default, see `fastconv.info()`), and calls it through the contract of `fastconv._backend_api`.
Inputs are NCHW (or unbatched CHW) NumPy arrays of float32 or float64 and are never modified.
"""
from __future__ import annotations

import numpy as np

from . import _dispatch
from . import _validate as V
from .shapes import conv_output_size

__all__ = ["conv2d", "conv_transpose2d", "pad", "max_pool2d", "min_pool2d", "avg_pool2d"]


def _unbatch(y: np.ndarray, unbatched: bool) -> np.ndarray:
    return y[0] if unbatched else y


def _algorithm(backend, algorithm):
    return V.algorithm(algorithm, backend.conv_algorithms, backend.name)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", algorithm="auto", backend=None):
    """2-D convolution (cross-correlation, as in PyTorch) of (N, C, H, W) input with
    (K, C/groups, R, S) weight. padding: int, pair, 'same' or 'valid'; padding_mode: 'zeros',
    'reflect', 'replicate' or 'circular' (as nn.Conv2d). Returns (N, K, Hout, Wout) with
    Hout = floor((H + 2P - D*(R-1) - 1) / S) + 1."""
    a = V.conv2d_args(input, weight, bias, stride, padding, dilation, groups, padding_mode)
    be = _dispatch.get(backend)
    algorithm = _algorithm(be, algorithm)
    x, pads = a.x, a.padding
    if a.mode_pads is not None:
        x, pads = be.pad(x, a.mode_pads, a.padding_mode, 0.0), (0, 0, 0, 0)
    if x.shape[0] == 0:
        out = [conv_output_size(x.shape[2 + i], a.weight.shape[2 + i], a.stride[i], pads[2 * i],
                                a.dilation[i], padding_end=pads[2 * i + 1]) for i in range(2)]
        return _unbatch(np.zeros((0, a.weight.shape[0], *out), x.dtype), a.unbatched)
    y = be.conv2d(x, a.weight, a.bias, a.stride, pads, a.dilation, a.groups, algorithm)
    return _unbatch(y, a.unbatched)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, algorithm="auto", backend=None):
    """Transposed convolution ("deconvolution") of (N, C, H, W) input with (C, K/groups, R, S)
    weight: the gradient of conv2d with respect to its input. Output size
    (H-1)*S - 2P + D*(R-1) + output_padding + 1."""
    a = V.conv_transpose2d_args(input, weight, bias, stride, padding, output_padding, groups, dilation)
    be = _dispatch.get(backend)
    algorithm = _algorithm(be, algorithm)
    k = a.weight.shape[1] * a.groups
    if a.x.shape[0] == 0 or min(a.out_hw) == 0:
        return _unbatch(np.zeros((a.x.shape[0], k, *a.out_hw), a.x.dtype), a.unbatched)
    y = be.conv2d_input(a.x, a.weight, a.out_hw, a.stride, a.padding, a.dilation, a.groups,
                        algorithm, a.bias)
    return _unbatch(y, a.unbatched)


def pad(input, pad, mode="constant", value=None, *, backend=None):
    """Pads the last dimensions as F.pad: `pad` lists (before, after) pairs starting from the
    last dimension. Modes: 'constant' (negative pads crop), 'reflect', 'replicate', 'circular'
    (the last three on the last one or two dims of 2-D to 4-D input)."""
    a = V.pad_args(input, pad, mode, value)
    if a.generic is not None:   # constant padding of more than the last two dims: plain NumPy
        x = a.x
        crop = tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0)) for i, (b, e) in
                     enumerate(((0, 0),) * (x.ndim - len(a.generic)) + a.generic))
        widths = [(0, 0)] * (x.ndim - len(a.generic)) + [(max(b, 0), max(e, 0)) for b, e in a.generic]
        return np.pad(x[crop], widths, mode="constant", constant_values=a.value)
    x = V.contiguous(a.x[a.crop])
    if x.size == 0 or 0 in a.out_shape:
        return np.full(a.out_shape, a.value, dtype=x.dtype)
    y = _dispatch.get(backend).pad(x, a.pads, a.mode, a.value)
    return y.reshape(a.out_shape)


def _max_pool(op, is_min, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              backend):
    a = V.max_pool2d_args(input, kernel_size, stride, padding, dilation, ceil_mode, op)
    if a.x.shape[0] == 0:
        y, idx = np.zeros(a.x.shape[:2] + a.out_hw, a.x.dtype), np.zeros(a.x.shape[:2] + a.out_hw, np.int64)
    else:
        y, idx = _dispatch.get(backend).max_pool2d(a.x, a.kernel, a.stride, a.padding, a.dilation,
                                                   a.out_hw, is_min, bool(return_indices))
    if return_indices:
        return _unbatch(y, a.unbatched), _unbatch(idx, a.unbatched)
    return _unbatch(y, a.unbatched)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, backend=None):
    """Max over each kernel_size window (stride defaults to kernel_size). With return_indices,
    also the int64 position h*W + w of each maximum in its (n, c) plane. Ties keep the first
    maximum; NaN propagates."""
    return _max_pool("max_pool2d", False, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, backend)


def min_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, backend=None):
    """Min pooling (the lecture's third pooling kind): as max_pool2d with the minimum."""
    return _max_pool("min_pool2d", True, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, backend)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, backend=None):
    """Mean over each window. count_include_pad counts the zero padding in the divisor;
    divisor_override replaces the divisor."""
    a, divisor = V.avg_pool2d_args(input, kernel_size, stride, padding, ceil_mode,
                                   count_include_pad, divisor_override)
    if a.x.shape[0] == 0:
        return _unbatch(np.zeros(a.x.shape[:2] + a.out_hw, a.x.dtype), a.unbatched)
    y = _dispatch.get(backend).avg_pool2d(a.x, a.kernel, a.stride, a.padding, a.out_hw,
                                          bool(count_include_pad), divisor)
    return _unbatch(y, a.unbatched)
