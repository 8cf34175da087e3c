"""Every argument rule of the public API, and every error message, in one module.

Each `*_args` function checks user input the way PyTorch does (same rules, messages that name
the argument and the rule) and returns normalised arguments for the backends, whose contract is
in `fastconv._backend_api`. Nothing here computes anything: shapes come from `fastconv.shapes`.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from . import shapes

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PAD_MODES = ("constant", "reflect", "replicate", "circular")


# ---------------------------------------------------------------------------------------------
# Scalars and pairs

def _is_int(v) -> bool:
    if type(v) is int:        # the common case, without the ABC check (per-call overhead matters)
        return True
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def pair(value, name: str, *, minimum: int) -> Tuple[int, int]:
    """An int or a sequence of two ints, each >= minimum."""
    if type(value) is int and value >= minimum:    # the common case, fast
        return (value, value)
    if _is_int(value):
        values = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        values = (int(value[0]), int(value[1]))
    elif isinstance(value, (tuple, list)) and len(value) == 1 and _is_int(value[0]):
        values = (int(value[0]), int(value[0]))
    else:
        raise TypeError(f"{name} must be an int or a tuple of two ints, got {value!r}")
    if min(values) < minimum:
        rule = {0: "non-negative", 1: "positive (>= 1)"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return values


def positive_int(value, name: str) -> int:
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be positive (>= 1), got {value}")
    return int(value)


# ---------------------------------------------------------------------------------------------
# Arrays

def float_array(a, name: str) -> np.ndarray:
    """A NumPy array of float32 or float64 (array-likes are converted, never other dtypes)."""
    arr = np.asarray(a)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    return arr


def same_dtype(*named: Tuple[str, Optional[np.ndarray]]) -> None:
    first_name, first = None, None
    for name, arr in named:      # a plain loop: this runs several times on every call
        if arr is None:
            continue
        if first is None:
            first_name, first = name, arr
        elif arr.dtype != first.dtype:
            raise TypeError(f"{first_name} ({first.dtype}) and {name} ({arr.dtype}) must have the "
                            f"same dtype")


def batched(x: np.ndarray, name: str, op: str) -> Tuple[np.ndarray, bool]:
    """Accepts (C, H, W) or (N, C, H, W); returns a 4-D view and whether a batch dim was added."""
    if x.ndim == 3:
        x4, unbatched = x[None], True
    elif x.ndim == 4:
        x4, unbatched = x, False
    else:
        raise ValueError(f"{op}: expected {name} to be 3-D (C, H, W) or 4-D (N, C, H, W), got "
                         f"shape {x.shape}")
    if 0 in x4.shape[1:]:
        raise ValueError(f"{op}: expected {name} to have non-zero size for non-batch dimensions, "
                         f"got shape {x.shape}")
    return x4, unbatched


def contiguous(x: np.ndarray) -> np.ndarray:
    """C-contiguous, aligned, native-endian (a copy only when needed; the input is never changed)."""
    flags = x.flags
    if flags.c_contiguous and flags.aligned and x.dtype.isnative:
        return x
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    return np.require(x, requirements=("C", "A"))


def algorithm(name, available: Tuple[str, ...], backend: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"algorithm must be a string, got {name!r}")
    if name != "auto" and name not in available:
        raise ValueError(f"algorithm must be 'auto' or one of {list(available)} (backend "
                         f"'{backend}'), got '{name}'")
    return name


# ---------------------------------------------------------------------------------------------
# Convolution

@dataclass
class ConvArgs:
    x: np.ndarray                      # 4-D, C-contiguous
    weight: np.ndarray                 # (K, C/g, R, S), C-contiguous
    bias: Optional[np.ndarray]
    stride: Tuple[int, int]
    padding: Tuple[int, int, int, int]   # zero padding (top, bottom, left, right) for the kernel
    dilation: Tuple[int, int]
    groups: int
    mode_pads: Optional[Tuple[int, int, int, int]]  # F.pad order (l, r, t, b) for non-zero modes
    padding_mode: str
    unbatched: bool


def _weight(weight, op: str) -> np.ndarray:
    w = float_array(weight, "weight")
    if w.ndim != 4:
        raise ValueError(f"{op}: expected weight to be 4-D, got shape {w.shape}")
    if 0 in w.shape:
        raise ValueError(f"{op}: expected weight to have non-zero sizes, got shape {w.shape}")
    return w


def _bias(bias, n: int, weight: np.ndarray, op: str) -> Optional[np.ndarray]:
    if bias is None:
        return None
    b = float_array(bias, "bias")
    if b.shape != (n,):
        raise ValueError(f"{op}: given weight of size {list(weight.shape)}, expected bias to be "
                         f"1-dimensional with {n} elements, but got bias of size {list(b.shape)}")
    return contiguous(b)


def _groups_divide(groups: int, n: int, what: str, weight: np.ndarray, op: str) -> None:
    if n % groups:
        raise ValueError(f"{op}: given groups={groups}, expected {what} to be divisible by "
                         f"{groups}, but got weight of size {list(weight.shape)}")


def _padding_spec(padding, kernel, dilation, stride) -> Tuple[int, int, int, int]:
    """int | pair | 'valid' | 'same' -> (top, bottom, left, right)."""
    if type(padding) is int and padding >= 0:     # the common case, fast
        return (padding, padding, padding, padding)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions "
                                 f"(stride={stride})")
            out = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]   # the odd pixel goes to the end, as torch
            return tuple(out)
        raise ValueError(f"padding must be an int, a pair of ints, 'same' or 'valid', got '{padding}'")
    ph, pw = pair(padding, "padding", minimum=0)
    return (ph, ph, pw, pw)


def _check_fits(x4: np.ndarray, kernel, pads, dilation, op: str) -> None:
    hp, wp = x4.shape[2] + pads[0] + pads[1], x4.shape[3] + pads[2] + pads[3]
    eff = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    if eff[0] > hp or eff[1] > wp:
        raise ValueError(f"{op}: calculated padded input size per channel: ({hp} x {wp}); "
                         f"kernel size (dilated): ({eff[0]} x {eff[1]}); kernel size can't be "
                         f"greater than actual input size")


@dataclass
class ConvPlanArgs:
    weight: np.ndarray                 # (K, C/g, R, S), C-contiguous
    bias: Optional[np.ndarray]
    stride: Tuple[int, int]
    padding: Tuple[int, int, int, int]   # (top, bottom, left, right), before padding_mode
    dilation: Tuple[int, int]
    groups: int
    padding_mode: str


def conv2d_plan_args(weight, bias, stride, padding, dilation, groups, padding_mode) -> ConvPlanArgs:
    """The conv2d rules that do not involve the input (checked once by Conv2dPlan)."""
    return _conv2d_plan_args(_weight(weight, "conv2d"), bias, stride, padding, dilation, groups,
                             padding_mode)


def _conv2d_plan_args(w, bias, stride, padding, dilation, groups, padding_mode) -> ConvPlanArgs:
    """conv2d_plan_args for a weight that passed _weight."""
    op = "conv2d"
    stride = pair(stride, "stride", minimum=1)
    dilation = pair(dilation, "dilation", minimum=1)
    groups = positive_int(groups, "groups")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {list(PADDING_MODES)}, got '{padding_mode}'")
    _groups_divide(groups, w.shape[0], "weight (out channels) at dimension 0", w, op)
    b = _bias(bias, w.shape[0], w, op)
    same_dtype(("weight", w), ("bias", b))
    pads = _padding_spec(padding, w.shape[2:], dilation, stride)
    return ConvPlanArgs(contiguous(w), b, stride, pads, dilation, groups, padding_mode)


def conv2d_planned_args(plan: ConvPlanArgs, input) -> ConvArgs:
    """The conv2d rules that involve the input, given the checked rest."""
    return _conv2d_planned_args(plan, float_array(input, "input"))


def _conv2d_planned_args(plan: ConvPlanArgs, x: np.ndarray) -> ConvArgs:
    """conv2d_planned_args for an input that passed float_array."""
    op = "conv2d"
    w = plan.weight
    same_dtype(("input", x), ("weight", w))
    x4, unbatched = batched(x, "input", op)
    if x4.shape[1] != w.shape[1] * plan.groups:
        raise ValueError(f"{op}: given groups={plan.groups}, weight of size {list(w.shape)}, expected "
                         f"input{list(x.shape)} to have {w.shape[1] * plan.groups} channels, but got "
                         f"{x4.shape[1]} channels instead")
    pads = plan.padding
    mode_pads = None
    if plan.padding_mode != "zeros" and any(pads):
        # nn.Conv2d semantics: pad with the mode first, then convolve without padding.
        mode_pads = (pads[2], pads[3], pads[0], pads[1])
        _check_mode_pad(x4.shape, mode_pads, plan.padding_mode, "padding")
    _check_fits(x4, w.shape[2:], pads, plan.dilation, op)
    return ConvArgs(contiguous(x4), w, plan.bias, plan.stride, pads, plan.dilation, plan.groups,
                    mode_pads, plan.padding_mode, unbatched)


def _plain_arrays(*arrays) -> bool:
    """Whether every array (None skipped) is a NumPy array of one float dtype, native-endian,
    C-contiguous and aligned: what the kernels take as they are."""
    if type(arrays[0]) is not np.ndarray:   # (None would pass `in FLOAT_DTYPES`: float64)
        return False
    dt = arrays[0].dtype
    if dt not in FLOAT_DTYPES or not dt.isnative:
        return False
    for a in arrays:
        if a is None:
            continue
        if type(a) is not np.ndarray or a.dtype != dt:
            return False
        f = a.flags
        if not (f.c_contiguous and f.aligned):
            return False
    return True


def _plain_int_pair(v) -> Optional[Tuple[int, int]]:
    if type(v) is int:
        return (v, v)
    if type(v) is tuple and len(v) == 2 and type(v[0]) is int and type(v[1]) is int:
        return v
    return None


def _conv2d_common_args(x, w, b, stride, padding, dilation, groups) -> Optional[ConvArgs]:
    """The common call in a few cheap tests, or None: C-contiguous 4-D NumPy arrays of one float
    dtype (and a matching bias), stride >= 1, padding >= 0 and dilation >= 1 as plain ints or
    pairs of them, groups that divide the channels, a kernel that fits, zero padding. What it
    accepts passes every rule of the general path with the same result
    (tests/test_validation.py compares them); anything else, and every error, goes the general
    way, which words the messages. (The general path costs ~3 us a call, a third of a small
    layer's whole call.)"""
    if not _plain_arrays(x, w, b):
        return None
    stride, pads = _plain_int_pair(stride), _plain_int_pair(padding)
    dilation = _plain_int_pair(dilation)
    if stride is None or pads is None or dilation is None or type(groups) is not int:
        return None
    (sh, sw), (ph, pw), (dh, dw) = stride, pads, dilation
    if not (sh >= 1 and sw >= 1 and ph >= 0 and pw >= 0 and dh >= 1 and dw >= 1 and groups >= 1):
        return None
    if x.ndim != 4 or w.ndim != 4:
        return None
    n, c, h, wd = x.shape
    k, cg, r, s = w.shape
    if not (n and c and h and wd and k and cg and r and s) or k % groups or c != cg * groups:
        return None
    if b is not None and b.shape != (k,):
        return None
    if h + 2 * ph < dh * (r - 1) + 1 or wd + 2 * pw < dw * (s - 1) + 1:
        return None
    return ConvArgs(x, w, b, stride, (ph, ph, pw, pw), dilation, groups, None, "zeros", False)


def conv2d_args(input, weight, bias, stride, padding, dilation, groups, padding_mode) -> ConvArgs:
    if padding_mode == "zeros":
        a = _conv2d_common_args(input, weight, bias, stride, padding, dilation, groups)
        if a is not None:
            return a
    return _conv2d_general_args(input, weight, bias, stride, padding, dilation, groups,
                                padding_mode)


def _conv2d_general_args(input, weight, bias, stride, padding, dilation, groups,
                         padding_mode) -> ConvArgs:
    x = float_array(input, "input")
    w = _weight(weight, "conv2d")
    # The input's own errors first, as torch reports them; then the plan's rules, then the rest.
    if x.dtype != w.dtype:
        same_dtype(("input", x), ("weight", w))
    if x.ndim not in (3, 4):
        batched(x, "input", "conv2d")
    return _conv2d_planned_args(
        _conv2d_plan_args(w, bias, stride, padding, dilation, groups, padding_mode), x)


@dataclass
class ConvTransposeArgs:
    x: np.ndarray
    weight: np.ndarray
    bias: Optional[np.ndarray]
    stride: Tuple[int, int]
    padding: Tuple[int, int, int, int]
    dilation: Tuple[int, int]
    groups: int
    out_hw: Tuple[int, int]
    unbatched: bool


def _conv_transpose2d_common_args(x, w, b, stride, padding, output_padding, groups,
                                  dilation) -> Optional[ConvTransposeArgs]:
    """conv_transpose2d's common call in a few cheap tests, or None, as _conv2d_common_args:
    4-D arrays as the kernels take them, plain int (pair) arguments in range, output_padding
    under the stride (so no overhang), an output of at least one element."""
    stride, pads = _plain_int_pair(stride), _plain_int_pair(padding)
    dilation, out_pad = _plain_int_pair(dilation), _plain_int_pair(output_padding)
    if stride is None or pads is None or dilation is None or out_pad is None or \
            type(groups) is not int or not _plain_arrays(x, w, b):
        return None
    (sh, sw), (ph, pw), (dh, dw), (oph, opw) = stride, pads, dilation, out_pad
    if not (sh >= 1 and sw >= 1 and ph >= 0 and pw >= 0 and dh >= 1 and dw >= 1 and groups >= 1
            and 0 <= oph < sh and 0 <= opw < sw) or x.ndim != 4 or w.ndim != 4:
        return None
    n, c, h, wd = x.shape
    c_w, kg, r, s = w.shape
    if not (n and c and h and wd and kg and r and s) or c != c_w or c % groups:
        return None
    if b is not None and b.shape != (kg * groups,):
        return None
    out_hw = (shapes.conv_transpose_output_size(h, r, sh, ph, oph, dh),
              shapes.conv_transpose_output_size(wd, s, sw, pw, opw, dw))
    if out_hw[0] < 1 or out_hw[1] < 1:
        return None
    return ConvTransposeArgs(x, w, b, stride, (ph, ph, pw, pw), dilation, groups, out_hw, False)


def conv_transpose2d_args(input, weight, bias, stride, padding, output_padding, groups,
                          dilation) -> ConvTransposeArgs:
    a = _conv_transpose2d_common_args(input, weight, bias, stride, padding, output_padding,
                                      groups, dilation)
    return a if a is not None else _conv_transpose2d_general_args(
        input, weight, bias, stride, padding, output_padding, groups, dilation)


def _conv_transpose2d_general_args(input, weight, bias, stride, padding, output_padding, groups,
                                   dilation) -> ConvTransposeArgs:
    op = "conv_transpose2d"
    x = float_array(input, "input")
    w = _weight(weight, op)
    same_dtype(("input", x), ("weight", w))
    x4, unbatched = batched(x, "input", op)
    stride = pair(stride, "stride", minimum=1)
    dilation = pair(dilation, "dilation", minimum=1)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair of ints (strings such as "
                         f"'{padding}' are not supported for transposed convolutions)")
    ph, pw = pair(padding, "padding", minimum=0)
    oph, opw = pair(output_padding, "output_padding", minimum=0)
    groups = positive_int(groups, "groups")
    for name, op_, s, d in (("height", oph, stride[0], dilation[0]), ("width", opw, stride[1], dilation[1])):
        if op_ >= max(s, d):
            raise ValueError(f"{op}: output_padding must be smaller than either stride or dilation, "
                             f"but got output_padding {name} {op_} with stride {s} and dilation {d}")
    _groups_divide(groups, w.shape[0], "weight (in channels) at dimension 0", w, op)
    if x4.shape[1] != w.shape[0]:
        raise ValueError(f"{op}: given transposed=1, weight of size {list(w.shape)}, expected "
                         f"input{list(x.shape)} to have {w.shape[0]} channels, but got "
                         f"{x4.shape[1]} channels instead")
    b = _bias(bias, w.shape[1] * groups, w, op)
    same_dtype(("input", x), ("bias", b))
    out_hw = (shapes.conv_transpose_output_size(x4.shape[2], w.shape[2], stride[0], ph, oph, dilation[0]),
              shapes.conv_transpose_output_size(x4.shape[3], w.shape[3], stride[1], pw, opw, dilation[1]))
    if min(out_hw) < 0:  # an empty output (a size of 0) is PyTorch's answer too
        raise ValueError(f"{op}: given input size ({x4.shape[2]} x {x4.shape[3]}), the calculated "
                         f"output size ({out_hw[0]} x {out_hw[1]}) is too small")
    over_h = shapes.conv_transpose_overhang(stride[0], oph)
    over_w = shapes.conv_transpose_overhang(stride[1], opw)
    if over_h or over_w:  # the input of the input gradient this is: zeros past its end
        x4 = np.pad(x4, ((0, 0), (0, 0), (0, over_h), (0, over_w)))
    return ConvTransposeArgs(contiguous(x4), contiguous(w), b, stride, (ph, ph, pw, pw), dilation,
                             groups, out_hw, unbatched)


def _size4(size, name: str) -> Tuple[int, int, int, int]:
    if not (isinstance(size, (tuple, list)) and len(size) in (3, 4) and all(_is_int(v) for v in size)):
        raise TypeError(f"{name} must be a tuple of 3 or 4 ints (the shape), got {size!r}")
    size = tuple(int(v) for v in size)
    if min(size[-3:]) < 1 or size[0] < 0:
        raise ValueError(f"{name} must have positive sizes, got {size}")
    return size


@dataclass
class ConvGradArgs:
    x: Optional[np.ndarray]           # conv2d_weight: the input
    weight: Optional[np.ndarray]      # conv2d_input: the weight
    grad_output: np.ndarray
    input_hw: Tuple[int, int]
    kernel: Tuple[int, int]
    stride: Tuple[int, int]
    padding: Tuple[int, int, int, int]
    dilation: Tuple[int, int]
    groups: int
    result_shape: Tuple[int, ...]


def _grad_common(op, input_shape, weight_shape, grad_output, stride, padding, dilation, groups):
    stride = pair(stride, "stride", minimum=1)
    dilation = pair(dilation, "dilation", minimum=1)
    if isinstance(padding, str):
        pads = _padding_spec(padding, weight_shape[2:], dilation, stride)
    else:
        ph, pw = pair(padding, "padding", minimum=0)
        pads = (ph, ph, pw, pw)
    groups = positive_int(groups, "groups")
    n, c, h, w = input_shape
    k = weight_shape[0]
    if k % groups or c != weight_shape[1] * groups:
        raise ValueError(f"{op}: input of shape {list(input_shape)} and weight of shape "
                         f"{list(weight_shape)} do not agree for groups={groups}")
    out = (shapes.conv_output_size(h, weight_shape[2], stride[0], pads[0], dilation[0], padding_end=pads[1]),
           shapes.conv_output_size(w, weight_shape[3], stride[1], pads[2], dilation[1], padding_end=pads[3]))
    if min(out) < 1:
        raise ValueError(f"{op}: kernel size can't be greater than the padded input size")
    gy, _ = batched(float_array(grad_output, "grad_output"), "grad_output", op)
    expected = (n, k) + out
    if gy.shape != expected:
        raise ValueError(f"{op}: expected grad_output of shape {list(expected)}, got {list(gy.shape)}")
    return gy, stride, pads, dilation, groups


def conv2d_input_args(input_size, weight, grad_output, stride, padding, dilation, groups) -> ConvGradArgs:
    op = "conv2d_input"
    w = _weight(weight, op)
    size = _size4(input_size, "input_size")
    size4 = size if len(size) == 4 else (1,) + size
    gy_raw = np.asarray(grad_output)
    if gy_raw.ndim == 3 and len(size) == 4:
        raise ValueError(f"{op}: grad_output must be 4-D for a 4-D input_size")
    gy, stride, pads, dilation, groups = _grad_common(op, size4, w.shape, grad_output, stride,
                                                      padding, dilation, groups)
    same_dtype(("grad_output", gy), ("weight", w))
    return ConvGradArgs(None, contiguous(w), contiguous(gy), size4[2:], w.shape[2:], stride, pads,
                        dilation, groups, size)


def conv2d_weight_args(input, weight_size, grad_output, stride, padding, dilation, groups) -> ConvGradArgs:
    op = "conv2d_weight"
    x = float_array(input, "input")
    x4, _ = batched(x, "input", op)
    if not (isinstance(weight_size, (tuple, list)) and len(weight_size) == 4
            and all(_is_int(v) and v >= 1 for v in weight_size)):
        raise ValueError(f"weight_size must be a tuple of 4 positive ints, got {weight_size!r}")
    weight_size = tuple(int(v) for v in weight_size)
    gy, stride, pads, dilation, groups = _grad_common(op, x4.shape, weight_size, grad_output,
                                                      stride, padding, dilation, groups)
    same_dtype(("input", x), ("grad_output", gy))
    _check_fits(x4, weight_size[2:], pads, dilation, op)
    return ConvGradArgs(contiguous(x4), None, contiguous(gy), x4.shape[2:], weight_size[2:], stride,
                        pads, dilation, groups, weight_size)


# ---------------------------------------------------------------------------------------------
# Padding

def _check_mode_pad(shape, pads4, mode: str, name: str) -> None:
    """pads4 in F.pad order (left, right, top, bottom) against the last two dims of shape."""
    dims = ((shape[-1], pads4[0], pads4[1], -1), (shape[-2], pads4[2], pads4[3], -2))
    for size, before, after, dim in dims:
        if mode == "reflect" and (before >= size or after >= size):
            raise ValueError(f"{name}: reflect padding must be less than the input size along "
                             f"dimension {dim}, got padding ({before}, {after}) for size {size}")
        if mode == "circular" and (before > size or after > size):
            raise ValueError(f"{name}: circular padding must be at most the input size along "
                             f"dimension {dim} (padding would wrap around more than once), got "
                             f"padding ({before}, {after}) for size {size}")
        if mode == "replicate" and size == 0:
            raise ValueError(f"{name}: replicate padding needs a non-empty dimension {dim}")


@dataclass
class PadArgs:
    x: np.ndarray                     # 4-D view (lead dims folded), C-contiguous
    crop: Tuple[slice, ...]           # applied to x first (negative pads)
    pads: Tuple[int, int, int, int]   # (left, right, top, bottom), >= 0
    mode: str
    value: float
    out_shape: Tuple[int, ...]
    generic: Optional[Tuple[Tuple[int, int], ...]]   # constant padding beyond the last two dims


def _pad_common_args(x, pad, mode, value) -> Optional[PadArgs]:
    """F.pad's common call in a few cheap tests, or None, as _conv2d_common_args: a 4-D array
    as the kernels take it, a tuple of four non-negative plain ints, a mode from PAD_MODES with a
    plain number value only for 'constant'. The mode's size rule is checked as the general path
    checks it (same error)."""
    if type(pad) is not tuple or len(pad) != 4 or not _plain_arrays(x) or x.ndim != 4:
        return None
    l, r, t, b = pad
    if not (type(l) is int and type(r) is int and type(t) is int and type(b) is int and
            l >= 0 and r >= 0 and t >= 0 and b >= 0):
        return None
    if mode == "constant":
        value = 0.0 if value is None else value
        if type(value) not in (int, float):
            return None
    elif mode in PAD_MODES and value is None:
        _check_mode_pad(x.shape, pad, mode, "pad")
        value = 0.0
    else:
        return None
    n, c, h, w = x.shape
    return PadArgs(x, (Ellipsis, slice(0, h), slice(0, w)), pad, mode, float(value),
                   (n, c, h + t + b, w + l + r), None)


def pad_args(input, pad, mode, value) -> PadArgs:
    fast = _pad_common_args(input, pad, mode, value)
    if fast is not None:
        return fast
    x = float_array(input, "input")
    if not isinstance(pad, (tuple, list)) or not all(_is_int(p) for p in pad):
        raise TypeError(f"pad must be a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"pad: padding length must be divisible by 2, got {len(pad)}")
    if len(pad) > 2 * x.ndim:
        raise ValueError(f"pad: padding length should be at most two times the input dimension, "
                         f"got padding length {len(pad)} for an input of dimension {x.ndim}")
    if mode not in PAD_MODES:
        raise ValueError(f"mode must be one of {list(PAD_MODES)}, got '{mode}'")
    if mode != "constant":
        if value is not None:
            raise ValueError(f"pad: padding mode '{mode}' doesn't take a value argument")
        supported = {2: (2, 3), 4: (3, 4)}
        if len(pad) not in supported or x.ndim not in supported[len(pad)]:
            raise ValueError(f"pad: mode '{mode}' supports a padding length of 2 for 2-D or 3-D "
                             f"input and 4 for 3-D or 4-D input, got length {len(pad)} for "
                             f"{x.ndim}-D input")
        if mode != "circular" and min(pad) < 0:
            raise ValueError(f"pad: negative padding is only supported in 'constant' and "
                             f"'circular' modes, got {pad}")
    value = 0.0 if value is None else value
    if not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {value!r}")
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]   # last dim first
    out_shape = list(x.shape)
    for i, (before, after) in enumerate(pairs):
        dim = x.ndim - 1 - i
        out_shape[dim] = x.shape[dim] + before + after
        if out_shape[dim] < 0:
            raise ValueError(f"pad: the input size {x.shape[dim]} plus padding ({before}, {after}) "
                             f"at dimension {dim} gives a negative output size")
    if len(pad) > 4 or x.ndim < 2:
        return PadArgs(x, (), (0, 0, 0, 0), mode, float(value), tuple(out_shape),
                       tuple(reversed(pairs)))
    pairs += [(0, 0)] * (2 - len(pairs))
    (l, r), (t, b) = pairs
    crop = (Ellipsis, slice(max(-t, 0), x.shape[-2] - max(-b, 0)), slice(max(-l, 0), x.shape[-1] - max(-r, 0)))
    if mode == "circular":
        _check_mode_pad(x.shape, (l, r, t, b), mode, "pad")
        # Negative circular pads crop too; positive ones wrap within what is left.
        cropped = x[crop]
        _check_mode_pad(cropped.shape, (max(l, 0), max(r, 0), max(t, 0), max(b, 0)), mode, "pad")
    elif mode != "constant":
        _check_mode_pad(x.shape, (l, r, t, b), mode, "pad")
    x4 = x.reshape((-1,) + x.shape[-2:])[:, None] if x.ndim != 4 else x
    return PadArgs(x4, crop, (max(l, 0), max(r, 0), max(t, 0), max(b, 0)), mode, float(value),
                   tuple(out_shape), None)


# ---------------------------------------------------------------------------------------------
# Pooling

@dataclass
class PoolArgs:
    x: np.ndarray
    kernel: Tuple[int, int]
    stride: Tuple[int, int]
    padding: Tuple[int, int]
    dilation: Tuple[int, int]
    out_hw: Tuple[int, int]
    unbatched: bool


def _kernel_pair(kernel_size) -> Tuple[int, int]:
    try:
        return pair(kernel_size, "kernel_size", minimum=1)
    except TypeError:
        raise TypeError(f"kernel_size must be an int or a tuple of two ints, got {kernel_size!r}") from None


# PyTorch's pooling takes its sizes as C ints and refuses larger ones.
_POOL_ARG_MAX = 2 ** 31 - 1


def _pool_padding_limit(kernel: int, dilation: int, max_like: bool) -> int:
    """The most padding a pooling window takes: half its (effective, for max) size."""
    return (dilation * (kernel - 1) + 1) // 2 if max_like else kernel // 2


def _pool_geometry(op, shape4, kernel_size, stride, padding, dilation, ceil_mode, max_like: bool):
    kernel = _kernel_pair(kernel_size)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else pair(stride, "stride", minimum=1)
    padding = pair(padding, "padding", minimum=0)
    dilation = pair(dilation, "dilation", minimum=1)
    for name, v in (("kernel_size", kernel), ("stride", stride), ("padding", padding),
                    ("dilation", dilation)):
        if max(v) > _POOL_ARG_MAX:
            raise ValueError(f"{op}: {name} must be at most {_POOL_ARG_MAX} (PyTorch's limit "
                             f"for pooling sizes), got {v}")
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    for p, k, d in zip(padding, kernel, dilation):
        if p > _pool_padding_limit(k, d, max_like):
            what = "effective kernel size" if max_like else "kernel size"
            raise ValueError(f"{op}: padding should be at most half of {what}, but got "
                             f"padding={padding}, kernel_size={kernel}, dilation={dilation}")
    out_hw = tuple(shapes.pool_output_size(shape4[2 + i], kernel[i], stride[i], padding[i],
                                           dilation[i], bool(ceil_mode)) for i in range(2))
    if min(out_hw) < 1:
        raise ValueError(f"{op}: given input size ({shape4[1]}x{shape4[2]}x{shape4[3]}), the "
                         f"calculated output size ({shape4[1]}x{out_hw[0]}x{out_hw[1]}) is too small")
    return kernel, stride, padding, dilation, out_hw


def _pool_common_fast(x, kernel_size, stride, padding, dilation, ceil_mode,
                      max_like: bool) -> Optional[PoolArgs]:
    """The common pooling call in a few cheap tests, or None, as _conv2d_common_args: a 4-D
    array as the kernels take it, plain int (pair) sizes in range, a bool ceil_mode."""
    kernel = _plain_int_pair(kernel_size)
    stride = kernel if stride is None else _plain_int_pair(stride)
    padding, dilation = _plain_int_pair(padding), _plain_int_pair(dilation)
    if kernel is None or stride is None or padding is None or dilation is None or \
            type(ceil_mode) is not bool or not _plain_arrays(x) or x.ndim != 4:
        return None
    _, c, h, w = x.shape
    if not (c and h and w):
        return None
    for v, low in ((kernel, 1), (stride, 1), (padding, 0), (dilation, 1)):
        if not (low <= v[0] <= _POOL_ARG_MAX and low <= v[1] <= _POOL_ARG_MAX):
            return None
    for p, k, d in zip(padding, kernel, dilation):
        if p > _pool_padding_limit(k, d, max_like):
            return None
    out_hw = (shapes.pool_output_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode),
              shapes.pool_output_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode))
    if out_hw[0] < 1 or out_hw[1] < 1:
        return None
    return PoolArgs(x, kernel, stride, padding, dilation, out_hw, False)


def _pool_common(op, input, kernel_size, stride, padding, dilation, ceil_mode, max_like: bool) -> PoolArgs:
    fast = _pool_common_fast(input, kernel_size, stride, padding, dilation, ceil_mode, max_like)
    if fast is not None:
        return fast
    x = float_array(input, "input")
    x4, unbatched = batched(x, "input", op)
    geometry = _pool_geometry(op, x4.shape, kernel_size, stride, padding, dilation, ceil_mode, max_like)
    return PoolArgs(contiguous(x4), *geometry, unbatched)


def _divisor(divisor_override) -> Optional[int]:
    if divisor_override is None:
        return None
    if not _is_int(divisor_override):
        raise TypeError(f"divisor_override must be an int or None, got {divisor_override!r}")
    if divisor_override == 0:
        raise ValueError("divisor_override must be non-zero")
    return int(divisor_override)


def max_pool2d_args(input, kernel_size, stride, padding, dilation, ceil_mode, op="max_pool2d") -> PoolArgs:
    return _pool_common(op, input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d_args(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override) -> Tuple[PoolArgs, Optional[int]]:
    args = _pool_common("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode, False)
    return args, _divisor(divisor_override)


def max_pool2d_input_args(grad_output, indices, input_size):
    gy = float_array(grad_output, "grad_output")
    idx = np.asarray(indices)
    if idx.dtype != np.int64:
        raise TypeError(f"indices must be an int64 array (as returned by max_pool2d), got {idx.dtype}")
    if idx.shape != gy.shape:
        raise ValueError(f"indices shape {idx.shape} must equal grad_output shape {gy.shape}")
    size = _size4(input_size, "input_size")
    gy4, _ = batched(gy, "grad_output", "max_pool2d_input")
    size4 = size if len(size) == 4 else (1,) + size
    if gy.ndim != len(size) or gy4.shape[:2] != size4[:2]:
        raise ValueError(f"max_pool2d_input: grad_output of shape {gy.shape} does not match "
                         f"input_size {size}")
    plane = size4[2] * size4[3]
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise ValueError(f"indices must lie in [0, {plane}) for input_size {size} (a dilated "
                         "window wholly in the padding has no input element: see "
                         "fastconv.grad.without_empty_windows)")
    return contiguous(gy4), contiguous(idx.reshape(gy4.shape)), size4[2:], size


def avg_pool2d_input_args(grad_output, input_size, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override):
    op = "avg_pool2d_input"
    size = _size4(input_size, "input_size")
    size4 = size if len(size) == 4 else (1,) + size
    kernel, stride, padding, _, out_hw = _pool_geometry(op, size4, kernel_size, stride, padding, 1,
                                                         ceil_mode, False)
    gy = float_array(grad_output, "grad_output")
    gy4, _ = batched(gy, "grad_output", op)
    expected = size4[:2] + out_hw
    if gy4.shape != expected or gy.ndim != len(size):
        raise ValueError(f"{op}: expected grad_output of shape {expected}, got {gy.shape}")
    return contiguous(gy4), size4[2:], kernel, stride, padding, _divisor(divisor_override), size
