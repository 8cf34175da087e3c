"""Gradients of the ops, with the names and arguments of torch.nn.grad.

conv2d_input(input_size, weight, grad_output, ...) is dL/dinput of conv2d;
conv2d_weight(input, weight_size, grad_output, ...) is dL/dweight; the bias gradient is
grad_output.sum((0, 2, 3)). max_pool2d_input and avg_pool2d_input are the pooling gradients.
"""
from __future__ import annotations

import numpy as np

from . import _dispatch
from . import _validate as V

__all__ = ["conv2d_input", "conv2d_weight", "max_pool2d_input", "without_empty_windows",
           "avg_pool2d_input"]


def _shape(y: np.ndarray, size) -> np.ndarray:
    return y.reshape(size)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 algorithm="auto", backend=None):
    a = V.conv2d_input_args(input_size, weight, grad_output, stride, padding, dilation, groups)
    be = _dispatch.get(backend)
    algorithm = V.algorithm(algorithm, be.conv_algorithms, be.name)
    if a.grad_output.shape[0] == 0:
        return np.zeros(a.result_shape, a.grad_output.dtype)
    dx = be.conv2d_input(a.grad_output, a.weight, a.input_hw, a.stride, a.padding, a.dilation,
                         a.groups, algorithm)
    return _shape(dx, a.result_shape)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  algorithm="auto", backend=None):
    a = V.conv2d_weight_args(input, weight_size, grad_output, stride, padding, dilation, groups)
    be = _dispatch.get(backend)
    algorithm = V.algorithm(algorithm, be.conv_algorithms, be.name)
    if a.x.shape[0] == 0:
        return np.zeros(a.result_shape, a.x.dtype)
    return be.conv2d_weight(a.x, a.grad_output, a.kernel, a.stride, a.padding, a.dilation,
                            a.groups, algorithm)


def max_pool2d_input(grad_output, indices, input_size, *, backend=None):
    """Gradient of max_pool2d (or min_pool2d): grad_output added at the saved indices. Every
    index must lie in its input plane; see without_empty_windows for the windows of a dilated
    pooling that lie wholly in the padding."""
    gy, idx, input_hw, size = V.max_pool2d_input_args(grad_output, indices, input_size)
    if gy.shape[0] == 0:
        return np.zeros(size, gy.dtype)
    return _shape(_dispatch.get(backend).max_pool2d_backward(gy, idx, input_hw), size)


def without_empty_windows(grad_output, indices, input_size):
    """(grad_output, indices) with the windows that hold no input element dropped, for indices
    that max_pool2d returned. With dilation a window can lie wholly in the padding: max_pool2d
    then gives it -inf and, as PyTorch does, an index past the end of its plane, which
    max_pool2d_input refuses. Such an output depends on no input, so its gradient is zero; here
    its grad_output becomes 0 and its index 0. (PyTorch's own backward writes it out of bounds.)"""
    idx = np.asarray(indices)
    plane = int(input_size[-2]) * int(input_size[-1])
    outside = (idx < 0) | (idx >= plane)
    if not outside.any():
        return grad_output, indices
    gy = np.asarray(grad_output)
    return np.where(outside, gy.dtype.type(0), gy), np.where(outside, 0, idx)


def avg_pool2d_input(grad_output, input_size, kernel_size, stride=None, padding=0, ceil_mode=False,
                     count_include_pad=True, divisor_override=None, *, backend=None):
    gy, input_hw, kernel, stride, padding, divisor, size = V.avg_pool2d_input_args(
        grad_output, input_size, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override)
    if gy.shape[0] == 0:
        return np.zeros(size, gy.dtype)
    dx = _dispatch.get(backend).avg_pool2d_backward(gy, input_hw, kernel, stride, padding,
                                                    bool(count_include_pad), divisor)
    return _shape(dx, size)
