"""Losses with torch.nn's names and reductions.

`loss = criterion(input, target)` returns a float (an array for reduction='none');
`criterion.backward()` returns dloss/dinput for that call, to feed into `model.backward`.
"""
from __future__ import annotations

import numpy as np

from .layers import _sigmoid
from .module import Module

__all__ = ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss"]

REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {list(REDUCTIONS)}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def _same_shape(self, input, target):
        input, target = np.asarray(input), np.asarray(target)
        if input.shape != target.shape:
            raise ValueError(f"{type(self).__name__}: target shape {target.shape} must match "
                             f"input shape {input.shape}")
        return input, target.astype(input.dtype, copy=False)

    def _reduce(self, elementwise, grad_elementwise):
        """Keeps the gradient of each element; returns the reduced loss."""
        self.grad_elementwise = grad_elementwise
        if self.reduction == "none":
            return elementwise
        total = elementwise.sum()
        return float(total / elementwise.size if self.reduction == "mean" else total)

    def backward(self, grad_output=None):
        g = self.grad_elementwise
        if self.reduction == "mean":
            return g / g.dtype.type(g.size)
        if self.reduction == "sum":
            return g
        return g * (1 if grad_output is None else np.asarray(grad_output, g.dtype))


class MSELoss(_Loss):
    def forward(self, input, target):
        input, target = self._same_shape(input, target)
        diff = input - target
        return self._reduce(diff * diff, 2 * diff)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities; logs are clamped at -100 as in torch."""

    def forward(self, input, target):
        p, t = self._same_shape(input, target)
        if p.size and (p.min() < 0 or p.max() > 1):
            raise ValueError("BCELoss: input values must be probabilities in [0, 1]")
        log_p, log_q = np.maximum(np.log(p), -100), np.maximum(np.log1p(-p), -100)
        grad = (p - t) / np.maximum(p * (1 - p), 1e-12)
        return self._reduce(-(t * log_p + (1 - t) * log_q), grad.astype(p.dtype, copy=False))


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one stable step: gradient sigmoid(x) - t."""

    def forward(self, input, target):
        x, t = self._same_shape(input, target)
        loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        return self._reduce(loss, _sigmoid(x) - t)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of (N, C) logits with class indices (N,) or class
    probabilities (N, C); label_smoothing mixes the target with the uniform distribution."""

    def __init__(self, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):
        x, target = np.asarray(input), np.asarray(target)
        if x.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: expected (N, C) logits, got shape {x.shape}")
        n, c = x.shape
        if target.shape == (n,) and target.dtype.kind in "iu":
            if target.size and (target.min() < 0 or target.max() >= c):
                raise ValueError(f"CrossEntropyLoss: class indices must be in [0, {c}), got "
                                 f"values in [{target.min()}, {target.max()}]")
            q = np.zeros_like(x)
            q[np.arange(n), target] = 1
        elif target.shape == (n, c) and target.dtype.kind == "f":
            q = target.astype(x.dtype)
        else:
            raise ValueError(f"CrossEntropyLoss: target must be (N,) class indices or (N, C) "
                             f"probabilities for input {x.shape}, got {target.dtype} {target.shape}")
        q = q * (1 - self.label_smoothing) + self.label_smoothing / c
        shifted = x - x.max(axis=1, keepdims=True)
        log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        # the gradient lives on (N, C) but each sample is one loss: reduce over N only
        loss = -(q * log_softmax).sum(axis=1)
        self.grad_elementwise = np.exp(log_softmax) - q
        self.n = n
        if self.reduction == "none":
            return loss
        return float(loss.mean() if self.reduction == "mean" else loss.sum())

    def backward(self, grad_output=None):
        g = self.grad_elementwise
        if self.reduction == "mean":
            return g / g.dtype.type(max(self.n, 1))
        if self.reduction == "sum":
            return g
        return g * (1 if grad_output is None else np.asarray(grad_output, g.dtype)[:, None])
