"""Layers with torch.nn's names, arguments and default initialisation.

Each layer's forward saves what its backward needs; backward(grad_output) adds the parameter
gradients into `p.grad` and returns the gradient with respect to the layer's input.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .. import _validate as V
from .. import shapes
from .. import functional as F
from .. import grad as G
from .module import Module, Parameter, rng, trains

__all__ = ["Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Linear", "Flatten", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "BatchNorm1d", "BatchNorm2d", "Dropout"]


def _uniform(shape, bound: float) -> Parameter:
    """torch's default init: kaiming_uniform(a=sqrt(5)) for weights, U(+-1/sqrt(fan_in)) for
    biases; both are U(-bound, bound) with bound = 1/sqrt(fan_in)."""
    return Parameter(rng().uniform(-bound, bound, shape).astype(np.float32))


def _channel_sum(a: np.ndarray, b: Optional[np.ndarray] = None) -> np.ndarray:
    """Sums of a (or of a * b) over every axis but the channel axis 1. np.einsum reduces an
    (N, C, H, W) activation in one pass without a temporary for a * b: 3-10x faster than
    a.sum(axis=(0, 2, 3)) on the digits models' layers (a (32, 32, 8, 8) batch: 14 against 46 us),
    which made batch norm a third of a CNN training epoch."""
    axes = list(range(a.ndim))
    return np.einsum(a, axes, [1]) if b is None else np.einsum(a, axes, b, axes, [1])


def _nonnegative_float(value, name: str, layer: str, upper=None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
            upper is not None and value > upper):
        rule = f"a number in [0, {upper}]" if upper is not None else "a non-negative number"
        raise ValueError(f"{layer}: {name} must be {rule}, got {value!r}")
    return float(value)


def _channels(layer: str, in_channels, out_channels, groups) -> None:
    V.positive_int(in_channels, f"{layer}: in_channels")
    V.positive_int(out_channels, f"{layer}: out_channels")
    V.positive_int(groups, f"{layer}: groups")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{layer}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                         f"must both be divisible by groups ({groups})")


# -- convolutions ---------------------------------------------------------------------------

class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros"):
        super().__init__()
        _channels("Conv2d", in_channels, out_channels, groups)
        self.kernel_size = V.pair(kernel_size, "Conv2d: kernel_size", minimum=1)
        self.stride = V.pair(stride, "Conv2d: stride", minimum=1)
        self.dilation = V.pair(dilation, "Conv2d: dilation", minimum=1)
        if padding_mode not in V.PADDING_MODES:
            raise ValueError(f"Conv2d: padding_mode must be one of {list(V.PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        # (top, bottom, left, right); raises for a bad int/pair/str and for strided 'same'
        self._pads = V._padding_spec(padding if isinstance(padding, str) else
                                     V.pair(padding, "Conv2d: padding", minimum=0),
                                     self.kernel_size, self.dilation, self.stride)
        self.padding, self.groups, self.padding_mode = padding, groups, padding_mode
        self.in_channels, self.out_channels = in_channels, out_channels
        bound = 1 / math.sqrt(in_channels // groups * self.kernel_size[0] * self.kernel_size[1])
        self.weight = _uniform((out_channels, in_channels // groups, *self.kernel_size), bound)
        self.bias = _uniform((out_channels,), bound) if bias else None

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")

    def _geometry(self):
        return dict(stride=self.stride, dilation=self.dilation, groups=self.groups)

    def forward(self, x):
        b = None if self.bias is None else self.bias.data
        if self.padding_mode != "zeros" and any(self._pads):
            # pad explicitly so that backward can route the gradient of each padded pixel home
            t, bo, l, r = self._pads
            self.input_hw = x.shape[2:]
            self.source = _pad_source_index(x.shape[2:], (l, r, t, bo), self.padding_mode)
            x = F.pad(x, (l, r, t, bo), mode=self.padding_mode)
            self.x, self.conv_padding = x, 0
        else:
            self.x, self.source, self.conv_padding = x, None, self.padding
        return F.conv2d(x, self.weight.data, b, padding=self.conv_padding, **self._geometry())

    def backward(self, grad):
        x, g = self.x, np.ascontiguousarray(grad)
        if trains(self.weight):
            self.weight.grad += G.conv2d_weight(x, self.weight.shape, g, padding=self.conv_padding,
                                                **self._geometry())
        if trains(self.bias):
            self.bias.grad += _channel_sum(g)
        gx = G.conv2d_input(x.shape, self.weight.data, g, padding=self.conv_padding, **self._geometry())
        if self.source is not None:
            gx = _pad_adjoint(gx, self.source, self.input_hw)
        return gx


def _pad_source_index(hw, pads, mode) -> np.ndarray:
    """For each pixel of the padded plane, the flat index h*W + w of the input pixel it copies."""
    plane = np.arange(hw[0] * hw[1], dtype=np.float64).reshape(1, 1, *hw)
    return F.pad(plane, pads, mode=mode).astype(np.int64).ravel()


def _pad_adjoint(grad_padded, source, input_hw) -> np.ndarray:
    """The gradient of padding: each padded pixel's gradient added to the pixel it copied."""
    n, c = grad_padded.shape[:2]
    out = np.zeros((n * c, input_hw[0] * input_hw[1]), grad_padded.dtype)
    np.add.at(out, (slice(None), source), grad_padded.reshape(n * c, -1))
    return out.reshape(n, c, *input_hw)


class ConvTranspose2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1):
        super().__init__()
        _channels("ConvTranspose2d", in_channels, out_channels, groups)
        self.kernel_size = V.pair(kernel_size, "ConvTranspose2d: kernel_size", minimum=1)
        self.stride = V.pair(stride, "ConvTranspose2d: stride", minimum=1)
        self.padding = V.pair(padding, "ConvTranspose2d: padding", minimum=0)
        self.dilation = V.pair(dilation, "ConvTranspose2d: dilation", minimum=1)
        self.output_padding = V.pair(output_padding, "ConvTranspose2d: output_padding", minimum=0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be "
                             f"smaller than either stride {self.stride} or dilation {self.dilation}")
        self.groups, self.in_channels, self.out_channels = groups, in_channels, out_channels
        # torch computes fan_in from weight dimension 1, which here is out_channels/groups
        bound = 1 / math.sqrt(out_channels // groups * self.kernel_size[0] * self.kernel_size[1])
        self.weight = _uniform((in_channels, out_channels // groups, *self.kernel_size), bound)
        self.bias = _uniform((out_channels,), bound) if bias else None

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")

    def _geometry(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)

    def forward(self, x):
        self.x = x
        b = None if self.bias is None else self.bias.data
        return F.conv_transpose2d(x, self.weight.data, b, output_padding=self.output_padding,
                                  **self._geometry())

    def backward(self, grad):
        # a transposed convolution is the input-gradient of a convolution, so its own gradients
        # are that convolution (for the input) and its weight-gradient with the roles swapped;
        # with output_padding >= stride that convolution outputs rows (columns) past the input's
        # end, zeros of the input whose gradient is dropped
        g = np.ascontiguousarray(grad)
        if g.size == 0:  # an empty output (a size of 0, as PyTorch allows): nothing flows back
            return np.zeros_like(self.x)
        over = [shapes.conv_transpose_overhang(s, o)
                for s, o in zip(self.stride, self.output_padding)]
        if trains(self.weight):
            x = self.x
            if any(over):
                x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, over[0]), (0, over[1])])
            self.weight.grad += G.conv2d_weight(g, self.weight.shape, x, **self._geometry())
        if trains(self.bias):
            self.bias.grad += _channel_sum(g)
        gx = F.conv2d(g, self.weight.data, **self._geometry())
        return gx[..., :self.x.shape[-2], :self.x.shape[-1]] if any(over) else gx


# -- pooling --------------------------------------------------------------------------------

class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = V.pair(kernel_size, "MaxPool2d: kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else V.pair(stride, "MaxPool2d: stride", minimum=1)
        self.padding = V.pair(padding, "MaxPool2d: padding", minimum=0)
        self.dilation = V.pair(dilation, "MaxPool2d: dilation", minimum=1)
        self.ceil_mode = bool(ceil_mode)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"MaxPool2d: padding {self.padding} must be at most half of "
                             f"kernel_size {self.kernel_size}")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        self.input_shape = x.shape
        y, self.indices = F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                       self.ceil_mode, return_indices=True)
        return y

    def backward(self, grad):
        grad, indices = np.ascontiguousarray(grad), self.indices
        if max(self.dilation) > 1:  # only dilated windows can lie wholly in the padding
            grad, indices = G.without_empty_windows(grad, indices, self.input_shape)
        return G.max_pool2d_input(grad, indices, self.input_shape)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = V.pair(kernel_size, "AvgPool2d: kernel_size", minimum=1)
        self.stride = self.kernel_size if stride is None else V.pair(stride, "AvgPool2d: stride", minimum=1)
        self.padding = V.pair(padding, "AvgPool2d: padding", minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"AvgPool2d: padding {self.padding} must be at most half of "
                             f"kernel_size {self.kernel_size}")
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.divisor_override = divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def _geometry(self):
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                self.divisor_override)

    def forward(self, x):
        self.input_shape = x.shape
        return F.avg_pool2d(x, *self._geometry())

    def backward(self, grad):
        return G.avg_pool2d_input(np.ascontiguousarray(grad), self.input_shape, *self._geometry())


# -- dense and shape ------------------------------------------------------------------------

class Linear(Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        V.positive_int(in_features, "Linear: in_features")
        V.positive_int(out_features, "Linear: out_features")
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = _uniform((out_features, in_features), bound)
        self.bias = _uniform((out_features,), bound) if bias else None

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input with {self.in_features} features in the last "
                             f"dimension, got shape {x.shape}")
        self.x = x
        y = x @ self.weight.data.T
        return y if self.bias is None else y + self.bias.data

    def backward(self, grad):
        g2, x2 = grad.reshape(-1, self.out_features), self.x.reshape(-1, self.in_features)
        if trains(self.weight):
            self.weight.grad += g2.T @ x2
        if trains(self.bias):
            self.bias.grad += g2.sum(axis=0)
        return grad @ self.weight.data


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        self.input_shape = x.shape
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])

    def backward(self, grad):
        return grad.reshape(self.input_shape)


# -- activations ----------------------------------------------------------------------------

# NumPy's select (np.where) on a data-dependent mask runs at ~5 ns an element on these
# activations; the masks below are multiplied in instead (10x faster).

class ReLU(Module):
    # As torch: max(x, 0), not x * (x > 0) (-inf * 0 is NaN, torch gives 0); the gradient passes
    # unless x <= 0 (so it passes a NaN input, as torch's threshold_backward does)
    def forward(self, x):
        y = np.maximum(x, x.dtype.type(0))
        self.passes = y != 0   # not x <= 0: y is positive or NaN there
        return y

    def backward(self, grad):
        return grad * self.passes


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = _nonnegative_float(negative_slope, "negative_slope", "LeakyReLU")

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"

    def forward(self, x):
        # each element's slope, 1 or negative_slope exactly (m + (1 - m) * s for m in {0, 1}),
        # serves both passes as one multiply
        s = x.dtype.type(self.negative_slope)
        if not np.isfinite(s):   # (1 - m) * s would be 0 * inf: select instead
            self.slope = np.where(x > 0, x.dtype.type(1), s)
            return x * self.slope
        m = (x > 0).astype(x.dtype)
        self.slope = 1 - m
        self.slope *= s
        self.slope += m
        return x * self.slope

    def backward(self, grad):
        return grad * self.slope


class Sigmoid(Module):
    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, grad):
        return grad * self.y * (1 - self.y)


def _sigmoid(x):
    # split by sign so that exp never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Tanh(Module):
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad):
        return grad * (1 - self.y * self.y)


# -- normalisation and regularisation -------------------------------------------------------

class _BatchNorm(Module):
    """Normalises each channel over the batch (and spatial) axes; in eval mode, with the
    running statistics instead."""
    channel_axis_ndims: tuple = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        name = type(self).__name__
        V.positive_int(num_features, f"{name}: num_features")
        self.num_features, self.affine = num_features, affine
        self.eps = _nonnegative_float(eps, "eps", name)
        self.momentum = None if momentum is None else _nonnegative_float(momentum, "momentum", name, 1)
        self.track_running_stats = track_running_stats
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, np.float32))
            self.register_buffer("running_var", np.ones(num_features, np.float32))
            self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"

    def _check(self, x):
        name = type(self).__name__
        if x.ndim not in self.channel_axis_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input of {' or '.join(map(str, self.channel_axis_ndims))}"
                             f" dimensions with {self.num_features} channels in dimension 1, got "
                             f"shape {x.shape}")

    def forward(self, x):
        self._check(x)
        shape = (1, -1) + (1,) * (x.ndim - 2)
        self.count = x.size // x.shape[1]   # values per channel
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            mean = _channel_sum(x) / self.count
            xc = x - mean.reshape(shape)
            var = _channel_sum(xc, xc) / self.count
            if self.training and self.track_running_stats:
                self._update_running(mean, var, self.count)
        else:
            xc = x - self.running_mean.astype(x.dtype).reshape(shape)
            var = self.running_var
        self.batch_stats = use_batch
        self.inv_std = (1 / np.sqrt(var + self.eps)).astype(x.dtype).reshape(shape)
        self.xhat = xc * self.inv_std
        if not self.affine:
            return self.xhat
        return self.xhat * self.weight.data.reshape(shape) + self.bias.data.reshape(shape)

    def _update_running(self, mean, var, count):
        if count < 2:
            raise ValueError(f"{type(self).__name__}: expected more than 1 value per channel when "
                             f"training, got input with {count}")
        self.num_batches_tracked = self.num_batches_tracked + 1
        m = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * count / (count - 1)
        self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(self.running_mean.dtype)
        self.running_var = ((1 - m) * self.running_var + m * unbiased).astype(self.running_var.dtype)

    def backward(self, grad):
        shape = (1, -1) + (1,) * (grad.ndim - 2)
        # per channel: the sums of grad (the bias's gradient) and of grad * xhat (the weight's)
        sum_g, sum_gx = _channel_sum(grad), _channel_sum(grad, self.xhat)
        if self.affine:
            if trains(self.weight):
                self.weight.grad += sum_gx
            if trains(self.bias):
                self.bias.grad += sum_g
        scale = self.inv_std * self.weight.data.reshape(shape) if self.affine else self.inv_std
        if not self.batch_stats:
            return grad * scale
        # the mean and variance depend on every input of the channel: subtract their share
        return scale * (grad - (sum_g / self.count).reshape(shape)
                        - self.xhat * (sum_gx / self.count).reshape(shape))


class BatchNorm1d(_BatchNorm):
    channel_axis_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    channel_axis_ndims = (4,)


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = _nonnegative_float(p, "p", "Dropout", 1)

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        if not self.training or self.p == 0:
            self.mask = None
            return x
        keep = rng().random(x.shape) >= self.p
        scale = 0.0 if self.p == 1 else 1 / (1 - self.p)
        self.mask = (keep * scale).astype(x.dtype)
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask
