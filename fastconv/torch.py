"""fastconv as a PyTorch backend: custom operators, nn modules, and `convert(model)`.

    import fastconv.torch as fct
    model = fct.convert(torchvision.models.resnet18())  # Conv2d/ConvTranspose2d/MaxPool2d
    y = model(x)                                         # forward and backward run fastconv

The operators (`torch.ops.fastconv.conv2d`, `conv_transpose2d`, `max_pool2d`, and the gradient
operators their backward uses) are `torch.library.custom_op`s with a fake (meta) implementation,
so autograd, `torch.compile` and `torch.export` see them as ordinary operators. They run on CPU
tensors of float32 or float64. The modules subclass their torch.nn counterparts and only change
`forward`, so parameters, buffers and state_dicts are the same. Needs PyTorch
(`pip install torch==2.13.0`); fastconv itself does not.
"""
from __future__ import annotations

import copy
import weakref
from typing import List, Optional, Tuple

try:
    import torch
    import torch.nn.functional as F
except ImportError as exc:   # torch stays an optional dependency of fastconv
    raise ImportError("fastconv.torch needs PyTorch, which is not installed: "
                      "pip install torch==2.13.0") from exc

from torch import Tensor

import fastconv as _fc
from . import shapes as _shapes

__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "Conv2d", "ConvTranspose2d", "MaxPool2d",
           "convert"]


def _array(t: Tensor):
    """The tensor's memory as a NumPy array (no copy for CPU tensors; fastconv never writes to
    its inputs, so sharing is safe)."""
    if t.device.type != "cpu":
        raise ValueError(f"fastconv.torch runs on CPU tensors, got a tensor on {t.device}")
    return t.detach().numpy()


def _tensor(a) -> Tensor:
    return torch.from_numpy(a)


# --- conv2d ---------------------------------------------------------------------------------

@torch.library.custom_op("fastconv::conv2d", mutates_args=())
def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: List[int],
           padding: List[int], dilation: List[int], groups: int) -> Tensor:
    """F.conv2d on fastconv's kernels (padding as an explicit pair)."""
    return _tensor(_fc.conv2d(_array(input), _array(weight),
                              None if bias is None else _array(bias),
                              tuple(stride), tuple(padding), tuple(dilation), groups))


@torch.library.custom_op("fastconv::conv2d_input", mutates_args=())
def _conv2d_input(input_size: List[int], weight: Tensor, grad_output: Tensor, stride: List[int],
                  padding: List[int], dilation: List[int], groups: int) -> Tensor:
    return _tensor(_fc.grad.conv2d_input(tuple(input_size), _array(weight), _array(grad_output),
                                         tuple(stride), tuple(padding), tuple(dilation), groups))


@torch.library.custom_op("fastconv::conv2d_weight", mutates_args=())
def _conv2d_weight(input: Tensor, weight_size: List[int], grad_output: Tensor, stride: List[int],
                   padding: List[int], dilation: List[int], groups: int) -> Tensor:
    return _tensor(_fc.grad.conv2d_weight(_array(input), tuple(weight_size), _array(grad_output),
                                          tuple(stride), tuple(padding), tuple(dilation), groups))


def _conv_out_hw(input, weight, stride, padding, dilation):
    return [_shapes.conv_output_size(input.shape[-2 + i], weight.shape[2 + i], stride[i],
                                     padding[i], dilation[i]) for i in range(2)]


@conv2d.register_fake
def _(input, weight, bias, stride, padding, dilation, groups):
    return input.new_empty((*input.shape[:-3], weight.shape[0],
                            *_conv_out_hw(input, weight, stride, padding, dilation)))


@_conv2d_input.register_fake
def _(input_size, weight, grad_output, stride, padding, dilation, groups):
    return grad_output.new_empty(input_size)


@_conv2d_weight.register_fake
def _(input, weight_size, grad_output, stride, padding, dilation, groups):
    return input.new_empty(weight_size)


def _bias_grad(grad: Tensor) -> Tensor:
    return grad.sum((0, 2, 3) if grad.dim() == 4 else (1, 2))   # NCHW or unbatched CHW


def _conv2d_setup_context(ctx, inputs, output):
    input, weight, bias, stride, padding, dilation, groups = inputs
    ctx.save_for_backward(input, weight)
    ctx.conv = (stride, padding, dilation, groups)
    ctx.has_bias = bias is not None


def _conv2d_backward(ctx, grad):
    input, weight = ctx.saved_tensors
    grad = grad.contiguous()
    needs = ctx.needs_input_grad
    grad_input = _conv2d_input(list(input.shape), weight, grad, *ctx.conv) if needs[0] else None
    grad_weight = _conv2d_weight(input, list(weight.shape), grad, *ctx.conv) if needs[1] else None
    grad_bias = _bias_grad(grad) if ctx.has_bias and needs[2] else None
    return grad_input, grad_weight, grad_bias, None, None, None, None


conv2d.register_autograd(_conv2d_backward, setup_context=_conv2d_setup_context)


# --- conv_transpose2d -------------------------------------------------------------------------

@torch.library.custom_op("fastconv::conv_transpose2d", mutates_args=())
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: List[int],
                     padding: List[int], output_padding: List[int], groups: int,
                     dilation: List[int]) -> Tensor:
    """F.conv_transpose2d on fastconv's kernels (arguments in F.conv_transpose2d's order)."""
    return _tensor(_fc.conv_transpose2d(_array(input), _array(weight),
                                        None if bias is None else _array(bias), tuple(stride),
                                        tuple(padding), tuple(output_padding), groups,
                                        tuple(dilation)))


@conv_transpose2d.register_fake
def _(input, weight, bias, stride, padding, output_padding, groups, dilation):
    out_hw = [_shapes.conv_transpose_output_size(input.shape[-2 + i], weight.shape[2 + i],
                                                 stride[i], padding[i], output_padding[i],
                                                 dilation[i]) for i in range(2)]
    return input.new_empty((*input.shape[:-3], weight.shape[1] * groups, *out_hw))


def _conv_transpose2d_setup_context(ctx, inputs, output):
    input, weight, bias, stride, padding, output_padding, groups, dilation = inputs
    ctx.save_for_backward(input, weight)
    ctx.conv = (stride, padding, dilation, groups)
    ctx.overhang = [_shapes.conv_transpose_overhang(s, o) for s, o in zip(stride, output_padding)]
    ctx.has_bias = bias is not None


def _conv_transpose2d_backward(ctx, grad):
    # conv_transpose2d(x, w) is conv2d's input gradient with x as grad_output, so its input
    # gradient is conv2d(grad, w) and its weight gradient conv2d's weight gradient with the
    # roles of input and grad_output exchanged.
    # With output_padding >= stride that convolution outputs rows (columns) past the input's
    # end: zeros of the input, whose gradient is dropped.
    input, weight = ctx.saved_tensors
    grad = grad.contiguous()
    needs = ctx.needs_input_grad
    if grad.numel() == 0:  # an empty output (a size of 0): nothing flows back
        return (torch.zeros_like(input) if needs[0] else None,
                torch.zeros_like(weight) if needs[1] else None,
                torch.zeros(weight.shape[1] * ctx.conv[3], dtype=weight.dtype)
                if ctx.has_bias and needs[2] else None, None, None, None, None, None)
    over_h, over_w = ctx.overhang
    grad_input = conv2d(grad, weight, None, *ctx.conv) if needs[0] else None
    if grad_input is not None and (over_h or over_w):
        grad_input = grad_input[..., :input.shape[-2], :input.shape[-1]].contiguous()
    if over_h or over_w:
        input = torch.nn.functional.pad(input, (0, over_w, 0, over_h))
    grad_weight = _conv2d_weight(grad, list(weight.shape), input, *ctx.conv) if needs[1] else None
    grad_bias = _bias_grad(grad) if ctx.has_bias and needs[2] else None
    return grad_input, grad_weight, grad_bias, None, None, None, None, None


conv_transpose2d.register_autograd(_conv_transpose2d_backward,
                                   setup_context=_conv_transpose2d_setup_context)


# --- max_pool2d -----------------------------------------------------------------------------

@torch.library.custom_op("fastconv::max_pool2d", mutates_args=())
def max_pool2d(input: Tensor, kernel_size: List[int], stride: List[int], padding: List[int],
               dilation: List[int], ceil_mode: bool) -> Tuple[Tensor, Tensor]:
    """F.max_pool2d(..., return_indices=True) on fastconv's kernels: (output, int64 indices)."""
    y, indices = _fc.max_pool2d(_array(input), tuple(kernel_size), tuple(stride), tuple(padding),
                                tuple(dilation), ceil_mode, return_indices=True)
    return _tensor(y), _tensor(indices)


@torch.library.custom_op("fastconv::max_pool2d_backward", mutates_args=())
def _max_pool2d_backward(grad_output: Tensor, indices: Tensor, input_size: List[int],
                         empty_windows: bool = False) -> Tensor:
    """max_pool2d's input gradient; empty_windows: the indices may hold windows that lie wholly
    in the padding (fastconv.grad.without_empty_windows), whose gradient is zero."""
    gy, idx = _array(grad_output), _array(indices)
    if empty_windows:
        gy, idx = _fc.grad.without_empty_windows(gy, idx, input_size)
    return _tensor(_fc.grad.max_pool2d_input(gy, idx, tuple(input_size)))


@max_pool2d.register_fake
def _(input, kernel_size, stride, padding, dilation, ceil_mode):
    out_hw = [_shapes.pool_output_size(input.shape[-2 + i], kernel_size[i], stride[i], padding[i],
                                       dilation[i], ceil_mode) for i in range(2)]
    shape = (*input.shape[:-2], *out_hw)
    return input.new_empty(shape), input.new_empty(shape, dtype=torch.int64)


@_max_pool2d_backward.register_fake
def _(grad_output, indices, input_size, empty_windows=False):
    return grad_output.new_empty(input_size)


def _max_pool2d_setup_context(ctx, inputs, output):
    ctx.mark_non_differentiable(output[1])
    ctx.save_for_backward(output[1])
    ctx.input_size = list(inputs[0].shape)
    ctx.dilated = max(inputs[4]) > 1  # only dilated windows can lie wholly in the padding


def _max_pool2d_backward_formula(ctx, grad, grad_indices):
    indices, = ctx.saved_tensors
    grad_input = _max_pool2d_backward(grad.contiguous(), indices, ctx.input_size, ctx.dilated)
    return grad_input, None, None, None, None, None


max_pool2d.register_autograd(_max_pool2d_backward_formula, setup_context=_max_pool2d_setup_context)


# --- modules --------------------------------------------------------------------------------

def _pair(v) -> List[int]:
    return [v, v] if isinstance(v, int) else list(v)


class Conv2d(torch.nn.Conv2d):
    """torch.nn.Conv2d whose forward runs fastconv (same parameters and state_dict)."""

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding
        if self.padding_mode != "zeros" or isinstance(padding, str):
            # Padding modes, and 'same' with an even kernel (more padding after than before),
            # pad first; nn.Conv2d precomputes those pads for exactly this.
            pads = self._reversed_padding_repeated_twice
            if self.padding_mode != "zeros":
                input = F.pad(input, pads, mode=self.padding_mode)
                padding = (0, 0)
            elif pads[0] == pads[1] and pads[2] == pads[3]:
                padding = (pads[2], pads[0])
            else:
                input, padding = F.pad(input, pads), (0, 0)
        args = (_pair(self.stride), _pair(padding), _pair(self.dilation), self.groups)
        if _inference_only(input, self.weight, self.bias):
            return _tensor(_plan_for(self, args)(_array(input)))
        return conv2d(input, self.weight, self.bias, *args)


# Conv2d modules' plans (weights packed or transformed once), for calls that need no gradient.
# Kept beside the modules rather than in them so modules still deep-copy and pickle.
_plans: "weakref.WeakKeyDictionary[torch.nn.Module, tuple]" = weakref.WeakKeyDictionary()


def _inference_only(input: Tensor, weight: Tensor, bias: Optional[Tensor]) -> bool:
    """Eager call with no gradient to record: a cached plan may serve it."""
    if torch.compiler.is_compiling():
        return False   # traced graphs must see the custom operator
    if torch.is_grad_enabled() and (input.requires_grad or weight.requires_grad or
                                    (bias is not None and bias.requires_grad)):
        return False
    return input.device.type == "cpu" and input.dtype == weight.dtype


def _plan_for(module: torch.nn.Module, args) -> "_fc.Conv2dPlan":
    """The module's plan, rebuilt whenever its weight or bias changed (in place, which bumps
    the tensor's version, or by being replaced) or the call's geometry did."""
    weight, bias = module.weight, module.bias
    state = [(t.data_ptr(), t._version, tuple(t.shape), t.dtype) if t is not None else None
             for t in (weight, bias)]
    cached = _plans.get(module)
    # The tensors themselves are compared too (weakly held): a new tensor may reuse a freed
    # one's memory with the same version number.
    if (cached is None or cached[0] != (args, state) or cached[1]() is not weight
            or (bias is not None and cached[2]() is not bias)):
        plan = _fc.Conv2dPlan(_array(weight), None if bias is None else _array(bias), *args)
        cached = ((args, state), weakref.ref(weight),
                  weakref.ref(bias) if bias is not None else None, plan)
        _plans[module] = cached
    return cached[3]


class ConvTranspose2d(torch.nn.ConvTranspose2d):
    """torch.nn.ConvTranspose2d whose forward runs fastconv (same parameters and state_dict)."""

    def forward(self, input: Tensor, output_size: Optional[List[int]] = None) -> Tensor:
        if self.padding_mode != "zeros":
            raise ValueError("Only `zeros` padding mode is supported for ConvTranspose2d")
        output_padding = self._output_padding(input, output_size, self.stride, self.padding,
                                              self.kernel_size, 2, self.dilation)
        return conv_transpose2d(input, self.weight, self.bias, _pair(self.stride),
                                _pair(self.padding), _pair(output_padding), self.groups,
                                _pair(self.dilation))


class MaxPool2d(torch.nn.MaxPool2d):
    """torch.nn.MaxPool2d whose forward runs fastconv."""

    def forward(self, input: Tensor):
        stride = self.stride if self.stride is not None else self.kernel_size
        y, indices = max_pool2d(input, _pair(self.kernel_size), _pair(stride), _pair(self.padding),
                                _pair(self.dilation), self.ceil_mode)
        return (y, indices) if self.return_indices else y


_REPLACEMENTS = {torch.nn.Conv2d: Conv2d, torch.nn.ConvTranspose2d: ConvTranspose2d,
                 torch.nn.MaxPool2d: MaxPool2d}


def _runs_on_fastconv(module: torch.nn.Module) -> bool:
    params = list(module.parameters(recurse=False))
    return all(p.device.type == "cpu" and p.dtype in (torch.float32, torch.float64)
               for p in params)


def convert(model: torch.nn.Module, inplace: bool = False) -> torch.nn.Module:
    """Returns `model` (a deep copy unless inplace) with every torch.nn.Conv2d, ConvTranspose2d
    and MaxPool2d replaced by its fastconv counterpart. The modules keep their parameters,
    buffers, hooks and state_dict keys; only their class changes. Subclasses of those modules
    (which may override forward) and modules with parameters off the CPU or in other dtypes
    than float32/float64 are left alone."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"convert: model must be a torch.nn.Module, got {type(model).__name__}")
    if not inplace:
        model = copy.deepcopy(model)
    for module in model.modules():
        replacement = _REPLACEMENTS.get(type(module))
        if replacement is not None and _runs_on_fastconv(module):
            module.__class__ = replacement
    return model
