"""The contract between the validated public API and the backends.

`fastconv.functional` validates and normalises every argument (one module owns the rules:
`fastconv._validate`), then calls one of the backends below with arguments that are already
checked. A backend never re-validates user input, never modifies its inputs, and returns new
C-contiguous arrays of the input's dtype.

Backends: `fastconv.reference` (the oracle), `fastconv._numba` and `fastconv._cpp` (wrapping
the compiled `fastconv._core`). Each is a module exposing the names of `Backend`.

Conventions for every function:
- `x`, `w`, `grad_output`: C-contiguous 4-D arrays (N, C, H, W), float32 or float64, all of one
  dtype; `bias` is None or a C-contiguous 1-D array of that dtype.
- `stride`, `dilation`, `kernel`: (h, w) pairs of ints >= 1.
- conv `padding`: (top, bottom, left, right) zero padding, each >= 0 (asymmetric for 'same'
  with even kernels; other padding modes are applied by `pad` before the conv is called).
- conv weight: (K, C // groups, R, S); output size floor((H + top + bottom - dh*(R-1) - 1)/sh) + 1.
- pool `padding`: (ph, pw), implicit padding on both sides; `out_hw` is given (ceil_mode is
  already folded into it); windows are clamped to the input.
- pad `pads`: (left, right, top, bottom) as in F.pad on the last two dims, each >= 0.
- max/min pool indices: int64, index h * W + w into the (n, c) input plane.
"""
from __future__ import annotations

from typing import Optional, Protocol, Tuple

import numpy as np

Pair = Tuple[int, int]
Quad = Tuple[int, int, int, int]


class Backend(Protocol):
    name: str
    # Conv algorithms this backend offers, in its order of preference for "auto".
    conv_algorithms: Tuple[str, ...]

    def conv2d(self, x: np.ndarray, w: np.ndarray, bias: Optional[np.ndarray], stride: Pair,
               padding: Quad, dilation: Pair, groups: int, algorithm: str) -> np.ndarray:
        """y[n, k, oh, ow] = bias[k] + sum_{c, r, s} x_pad[n, g*C/g + c, oh*sh + r*dh, ow*sw + s*dw] * w[k, c, r, s]."""

    def conv2d_input(self, grad_output: np.ndarray, w: np.ndarray, input_hw: Pair, stride: Pair,
                     padding: Quad, dilation: Pair, groups: int, algorithm: str,
                     bias: Optional[np.ndarray] = None) -> np.ndarray:
        """Gradient of conv2d with respect to x, shape (N, C, *input_hw); also conv_transpose2d,
        whose bias (C values, grad_output's dtype) is added to channel c of the result."""

    def conv2d_weight(self, x: np.ndarray, grad_output: np.ndarray, kernel: Pair, stride: Pair,
                      padding: Quad, dilation: Pair, groups: int, algorithm: str) -> np.ndarray:
        """Gradient of conv2d with respect to w, shape (K, C // groups, *kernel)."""

    def pad(self, x: np.ndarray, pads: Quad, mode: str, value: float) -> np.ndarray:
        """mode: 'constant' | 'reflect' | 'replicate' | 'circular'."""

    def max_pool2d(self, x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                   out_hw: Pair, is_min: bool, with_indices: bool
                   ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Max (or min) over each window; the first extreme wins ties; a NaN wins over numbers
        (the last NaN's index, as torch's CPU kernel). Returns (y, indices or None)."""

    def max_pool2d_backward(self, grad_output: np.ndarray, indices: np.ndarray,
                            input_hw: Pair) -> np.ndarray:
        """Scatter-add grad_output into a zero (N, C, *input_hw) array at indices."""

    def avg_pool2d(self, x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, out_hw: Pair,
                   count_include_pad: bool, divisor_override: Optional[int]) -> np.ndarray:
        """Window sum / divisor. divisor: divisor_override if given; else with count_include_pad
        the window clipped to the padded input (hend = min(hstart + kh, H + ph)), without it
        the window clipped to the input."""

    def avg_pool2d_backward(self, grad_output: np.ndarray, input_hw: Pair, kernel: Pair,
                            stride: Pair, padding: Pair, count_include_pad: bool,
                            divisor_override: Optional[int]) -> np.ndarray:
        """Gradient of avg_pool2d with respect to x."""
