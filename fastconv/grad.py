"""Gradients of the ops, with the names and arguments of torch.nn.grad.

conv2d_input(input_size, weight, grad_output, ...) is dL/dinput of conv2d;
conv2d_weight(input, weight_size, grad_output, ...) is dL/dweight; the bias gradient is
grad_output.sum((0, 2, 3)). max_pool2d_input and avg_pool2d_input are the pooling gradients.
"""
from __future__ import annotations

import numpy as np

from . import _dispatch
from . import _validate as V

__all__ = ["conv2d_input", "conv2d_weight", "max_pool2d_input", "avg_pool2d_input"]


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
    """Gradient of max_pool2d (or min_pool2d): grad_output added at the saved indices."""
    gy, idx, input_hw, size = V.max_pool2d_input_args(grad_output, indices, input_size)
    if gy.shape[0] == 0:
        return np.zeros(size, gy.dtype)
    return _shape(_dispatch.get(backend).max_pool2d_backward(gy, idx, input_hw), size)


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
