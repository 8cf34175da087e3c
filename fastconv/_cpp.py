"""The compiled backend: adapts the `_backend_api.Backend` contract to `fastconv._core`."""
from __future__ import annotations

from ._dispatch import _core

name = "cpp"
conv_algorithms = tuple(_core.conv2d_algorithms())


def conv2d(x, w, bias, stride, padding, dilation, groups, algorithm="auto"):
    return _core.conv2d(x, w, bias, *stride, *padding, *dilation, groups, algorithm)


def conv2d_input(grad_output, w, input_hw, stride, padding, dilation, groups, algorithm="auto",
                 bias=None):
    return _core.conv2d_input(grad_output, w, *input_hw, *stride, *padding, *dilation, groups,
                              algorithm, bias)


def conv2d_weight(x, grad_output, kernel, stride, padding, dilation, groups, algorithm="auto"):
    return _core.conv2d_weight(x, grad_output, *kernel, *stride, *padding, *dilation, groups, algorithm)


def pad(x, pads, mode, value):
    return _core.pad(x, *pads, mode, value)


def max_pool2d(x, kernel, stride, padding, dilation, out_hw, is_min, with_indices):
    return _core.max_pool2d(x, *kernel, *stride, *padding, *dilation, *out_hw, is_min, with_indices)


def max_pool2d_backward(grad_output, indices, input_hw):
    return _core.max_pool2d_backward(grad_output, indices, *input_hw)


def avg_pool2d(x, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    return _core.avg_pool2d(x, *kernel, *stride, *padding, *out_hw, count_include_pad,
                            divisor_override or 0)


def avg_pool2d_backward(grad_output, input_hw, kernel, stride, padding, count_include_pad,
                        divisor_override):
    return _core.avg_pool2d_backward(grad_output, *input_hw, *kernel, *stride, *padding,
                                     count_include_pad, divisor_override or 0)
