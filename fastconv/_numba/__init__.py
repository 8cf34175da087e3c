"""Numba backend (see ``fastconv._backend_api.Backend`` for the contract).

Importing this package is cheap: numba itself and the kernel modules (conv, pad, pool) are
imported on the first call, and each kernel is compiled lazily on its first call per dtype
signature, then cached on disk (see ``fastconv._numba._jit`` for where the cache lives).
"""
from __future__ import annotations

import importlib

name = "numba"
conv_algorithms = ("direct",)


def conv2d(x, w, bias, stride, padding, dilation, groups, algorithm="direct"):
    return _load("conv").conv2d(x, w, bias, stride, padding, dilation, groups, algorithm)


def conv2d_input(grad_output, w, input_hw, stride, padding, dilation, groups,
                 algorithm="direct", bias=None):
    return _load("conv").conv2d_input(grad_output, w, input_hw, stride, padding, dilation, groups,
                                      algorithm, bias)


def conv2d_weight(x, grad_output, kernel, stride, padding, dilation, groups,
                  algorithm="direct"):
    return _load("conv").conv2d_weight(x, grad_output, kernel, stride, padding, dilation, groups,
                              algorithm)


def pad(x, pads, mode, value):
    return _load("pad").pad(x, pads, mode, value)


_pad_entry = pad


def _load(mod):
    m = importlib.import_module(__name__ + "." + mod)
    # Importing the submodule ``pad`` binds it as this package's attribute ``pad``,
    # shadowing the backend function of the same name: put the function back.
    globals()["pad"] = _pad_entry
    return m


def max_pool2d(x, kernel, stride, padding, dilation, out_hw, is_min, with_indices):
    return _load("pool").max_pool2d(x, kernel, stride, padding, dilation, out_hw, is_min, with_indices)


def max_pool2d_backward(grad_output, indices, input_hw):
    return _load("pool").max_pool2d_backward(grad_output, indices, input_hw)


def avg_pool2d(x, kernel, stride, padding, out_hw, count_include_pad, divisor_override):
    return _load("pool").avg_pool2d(x, kernel, stride, padding, out_hw, count_include_pad,
                           divisor_override)


def avg_pool2d_backward(grad_output, input_hw, kernel, stride, padding, count_include_pad,
                        divisor_override):
    return _load("pool").avg_pool2d_backward(grad_output, input_hw, kernel, stride, padding,
                                    count_include_pad, divisor_override)
