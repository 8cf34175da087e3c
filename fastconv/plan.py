"""Conv2dPlan: a conv2d whose arguments are checked once and whose weights are packed once.

    plan = fc.Conv2dPlan(weight, bias, stride=1, padding=1)
    y = plan(x)                  # as fc.conv2d(x, weight, bias, stride=1, padding=1)
    plan.algorithm, plan.why     # what it runs and why

With the C++ backend the plan keeps a private copy of the weights in the chosen algorithm's
packed layout (so changing the weight array afterwards does not change the plan) and calls reuse
the kernels' workspaces. Other backends have nothing to pack: their plans call conv2d.
"""
from __future__ import annotations

import numpy as np

from . import _dispatch
from . import _validate as V
from .shapes import conv_output_size

__all__ = ["Conv2dPlan"]


class Conv2dPlan:
    """conv2d with fixed weight, bias and geometry; arguments as fastconv.conv2d.

    input_hw: the (H, W) the plan will mostly see. "auto" picks the algorithm per input size;
    `algorithm` and `why` describe the choice for the latest call, or before any call for
    input_hw (default: 64 x 64 or the smallest input the kernel fits, whichever is larger)."""

    def __init__(self, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
                 padding_mode="zeros", algorithm="auto", backend=None, input_hw=None):
        self._args = V.conv2d_plan_args(weight, bias, stride, padding, dilation, groups,
                                        padding_mode)
        self._backend = _dispatch.get(backend)
        self._algorithm = V.algorithm(algorithm, self._backend.conv_algorithms,
                                      self._backend.name)
        a = self._args
        # Non-zero padding modes pad the input first, then convolve without padding (nn.Conv2d).
        self._kernel_pads = (0, 0, 0, 0) if a.padding_mode != "zeros" else a.padding
        self._core = None
        if self._backend.name == "cpp":
            hw = (0, 0) if input_hw is None else V.pair(input_hw, "input_hw", minimum=1)
            if input_hw is not None and a.padding_mode != "zeros":
                hw = (hw[0] + a.padding[0] + a.padding[1], hw[1] + a.padding[2] + a.padding[3])
            self._core = _dispatch._core.Conv2dPlan(a.weight, a.bias, *a.stride,
                                                    *self._kernel_pads, *a.dilation, a.groups,
                                                    self._algorithm, *hw)
        else:
            self._weight = a.weight.copy()
            self._bias = None if a.bias is None else a.bias.copy()

    @property
    def algorithm(self) -> str:
        """The algorithm the plan runs."""
        return self._core.algorithm if self._core is not None else (
            self._backend.conv_algorithms[0] if self._algorithm == "auto" else self._algorithm)

    @property
    def why(self) -> str:
        """Why that algorithm: the request, or the candidates "auto" passed over and their reasons."""
        if self._core is not None:
            return self._core.why
        return f"backend '{self._backend.name}' offers {list(self._backend.conv_algorithms)}"

    def __call__(self, input):
        a = V.conv2d_planned_args(self._args, input)
        x = a.x
        if a.mode_pads is not None:
            x = self._backend.pad(x, a.mode_pads, a.padding_mode, 0.0)
        if self._core is not None:
            y = self._core(x)
        elif x.shape[0] == 0:
            out = [conv_output_size(x.shape[2 + i], a.weight.shape[2 + i], a.stride[i],
                                    self._kernel_pads[2 * i], a.dilation[i],
                                    padding_end=self._kernel_pads[2 * i + 1]) for i in range(2)]
            y = np.zeros((0, a.weight.shape[0], *out), x.dtype)
        else:
            y = self._backend.conv2d(x, self._weight, self._bias, a.stride, self._kernel_pads,
                                     a.dilation, a.groups, self._algorithm)
        return y[0] if a.unbatched else y

    def __repr__(self):
        a = self._args
        return (f"Conv2dPlan(weight={tuple(a.weight.shape)}, stride={a.stride}, "
                f"padding={a.padding}, dilation={a.dilation}, groups={a.groups}, "
                f"backend='{self._backend.name}', algorithm='{self.algorithm}')")
