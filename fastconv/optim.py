"""Optimisers with torch.optim's names, arguments and update rules, on fastconv.nn Parameters.

    opt = fastconv.optim.Adam(model.parameters(), lr=1e-3)
    ... model.backward(...); opt.step()
"""
from __future__ import annotations

import numpy as np

__all__ = ["SGD", "Adam"]


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0


def _check_nonnegative(name, value, cls, upper=None):
    if value < 0 or (upper is not None and value >= upper):
        rule = f"in [0, {upper})" if upper is not None else "non-negative"
        raise ValueError(f"{cls}: {name} must be {rule}, got {value}")


class SGD(Optimizer):
    """p -= lr * v with v = momentum * v + (grad + weight_decay * p) (torch's form)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        _check_nonnegative("momentum", momentum, "SGD")
        _check_nonnegative("weight_decay", weight_decay, "SGD")
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov momentum requires a positive momentum")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.velocity = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v = self.velocity[i]
                v = g.copy() if v is None else self.momentum * v + g
                self.velocity[i] = v
                g = g + self.momentum * v if self.nesterov else v
            p.data -= (self.lr * g).astype(p.data.dtype, copy=False)


class Adam(Optimizer):
    """Adam with bias correction; weight_decay adds weight_decay * p to the gradient (L2, as
    torch.optim.Adam, not AdamW)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        for i, b in enumerate(betas):
            _check_nonnegative(f"betas[{i}]", b, "Adam", 1.0)
        _check_nonnegative("eps", eps, "Adam")
        _check_nonnegative("weight_decay", weight_decay, "Adam")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p.data -= (self.lr / c1 * m / (np.sqrt(v / c2) + self.eps)).astype(p.data.dtype, copy=False)
