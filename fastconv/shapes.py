"""Shape arithmetic: the one place where output sizes and parameter counts are computed.

Every backend and the validation use these functions. They also answer the lecture's
questions directly::

    >>> from fastconv import shapes
    >>> shapes.conv_layer(720, 1280, 3, filters=6, kernel=3)
    ConvLayer(height=718, width=1278, channels=6, filter_depth=3, weights=162, parameters=168, fits=True)
    >>> shapes.conv_output_size(7, kernel=3, stride=3)      # (N - F + 2P) / S + 1, floored
    2
    >>> shapes.fits(7, kernel=3, stride=3)                  # ... but 3x3 stride 3 does not tile 7x7
    False
"""
from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "conv_output_size", "conv_transpose_output_size", "pool_output_size", "fits",
    "conv2d_weight_count", "conv2d_parameter_count", "conv_layer", "pool_layer",
    "ConvLayer", "PoolLayer",
]


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1, *, padding_end: int | None = None) -> int:
    """Output length along one axis: floor((N + P_begin + P_end - D*(F-1) - 1) / S) + 1.

    With dilation 1 and symmetric padding this is the lecture's (N - F + 2P)/S + 1.
    `padding_end` defaults to `padding` (asymmetric padding arises for 'same' with even kernels).
    The result may be <= 0 when the kernel does not fit; callers decide whether that is an error.
    """
    end = padding if padding_end is None else padding_end
    return (size + padding + end - dilation * (kernel - 1) - 1) // stride + 1


def fits(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> bool:
    """Whether the filter positions tile the padded input exactly (no rows or columns left over)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    return span >= 0 and span % stride == 0


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                               output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution: (N-1)*S - 2P + D*(F-1) + output_padding + 1."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def conv_transpose_overhang(stride: int = 1, output_padding: int = 0) -> int:
    """Rows (or columns) by which the convolution that a transposed convolution is the input
    gradient of, run from the transposed convolution's output, outputs more than the transposed
    convolution's input: output_padding // stride, nonzero only for output_padding >= stride
    (which PyTorch allows below the dilation). The transposed convolution is that convolution's
    input gradient at its input padded with this many zero rows (columns) at the end."""
    return output_padding // stride


def pool_output_size(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length of max/avg pooling, as PyTorch computes it.

    With ceil_mode the last window may hang over the end, but it must start inside the input
    or its left padding, so one is dropped if it would start in the right padding.
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def conv2d_weight_count(in_channels: int, out_channels: int, kernel, groups: int = 1) -> int:
    """Number of filter weights: K filters, each (C / groups) deep and R x S wide."""
    r, s = (kernel, kernel) if isinstance(kernel, int) else kernel
    return out_channels * (in_channels // groups) * r * s


def conv2d_parameter_count(in_channels: int, out_channels: int, kernel, groups: int = 1,
                           bias: bool = True) -> int:
    """Weights plus one bias per filter."""
    return conv2d_weight_count(in_channels, out_channels, kernel, groups) + (out_channels if bias else 0)


class ConvLayer(NamedTuple):
    height: int
    width: int
    channels: int        # = number of filters
    filter_depth: int    # = input channels / groups
    weights: int
    parameters: int      # weights + biases
    fits: bool           # every filter position lies on the padded input, none left over


class PoolLayer(NamedTuple):
    height: int
    width: int
    channels: int
    fits: bool


def conv_layer(height: int, width: int, channels: int, filters: int, kernel: int,
               stride: int = 1, padding: int = 0, dilation: int = 1, groups: int = 1) -> ConvLayer:
    """A convolution layer described the lecture's way: H x W x C input, `filters` filters of
    size kernel x kernel. Returns the output volume and the parameter counts."""
    return ConvLayer(
        height=conv_output_size(height, kernel, stride, padding, dilation),
        width=conv_output_size(width, kernel, stride, padding, dilation),
        channels=filters,
        filter_depth=channels // groups,
        weights=conv2d_weight_count(channels, filters, kernel, groups),
        parameters=conv2d_parameter_count(channels, filters, kernel, groups),
        fits=fits(height, kernel, stride, padding, dilation) and fits(width, kernel, stride, padding, dilation),
    )


def pool_layer(height: int, width: int, channels: int, kernel: int, stride: int | None = None,
               padding: int = 0) -> PoolLayer:
    """A pooling layer: it has no parameters and keeps the channel count."""
    stride = kernel if stride is None else stride
    return PoolLayer(
        height=pool_output_size(height, kernel, stride, padding),
        width=pool_output_size(width, kernel, stride, padding),
        channels=channels,
        fits=fits(height, kernel, stride, padding) and fits(width, kernel, stride, padding),
    )
