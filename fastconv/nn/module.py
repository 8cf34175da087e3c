"""Module, Parameter and Sequential: the containers of fastconv.nn.

The backward design, used by every layer and loss:

    logits = model(x)                      # each module remembers what its backward needs
    loss = criterion(logits, y)            # a Python float
    model.zero_grad()
    model.backward(criterion.backward())   # returns dL/dx; adds dL/dp into every p.grad
    optimizer.step()

A module keeps the context of its latest forward only, so call backward once per forward, in
reverse order of the forwards (Sequential does that for its children).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seeds the generator used by parameter initialisation and Dropout (as torch.manual_seed)."""
    global _rng
    _rng = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    return _rng


class Parameter:
    """A trainable array: `.data` (the values) and `.grad` (dL/d(data), same shape and dtype)."""

    def __init__(self, data):
        data = np.asarray(data)
        self.data = np.array(data, dtype=data.dtype if data.dtype.kind == "f" else np.float32)
        self.grad = np.zeros_like(self.data)

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: subclasses set Parameters, sub-Modules and buffers as attributes and define
    forward(*inputs) and backward(grad_output) -> grad_input."""

    def __init__(self):
        self.training = True
        self._buffers: list = []

    def __call__(self, *inputs):
        return self.forward(*inputs)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """A non-trainable array saved in state_dict (e.g. BatchNorm's running statistics)."""
        setattr(self, name, value)
        self._buffers.append(name)

    # -- traversal -------------------------------------------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value

    def children(self):
        return (m for _, m in self.named_children())

    def modules(self):
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = ""):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def _named_buffers(self, prefix: str = ""):
        for name in self._buffers:
            yield prefix + name, self, name
        for name, child in self.named_children():
            yield from child._named_buffers(prefix + name + ".")

    # -- training state --------------------------------------------------------------------
    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode: bool = True):
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, dtype):
        """Casts every parameter and floating buffer to `dtype` (np.float32 or np.float64)."""
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        for p in self.parameters():
            p.data, p.grad = p.data.astype(dtype), p.grad.astype(dtype)
        for _, owner, name in self._named_buffers():
            value = getattr(owner, name)
            if value.dtype.kind == "f":
                setattr(owner, name, value.astype(dtype))
        return self

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # -- persistence -----------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        state = OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())
        for name, owner, attr in self._named_buffers():
            state[name] = np.array(getattr(owner, attr), copy=True)
        return state

    def load_state_dict(self, state, strict: bool = True) -> None:
        params = dict(self.named_parameters())
        buffers = {name: (owner, attr) for name, owner, attr in self._named_buffers()}
        expected = list(params) + list(buffers)
        missing = [k for k in expected if k not in state]
        unexpected = [k for k in state if k not in params and k not in buffers]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        for name, value in state.items():
            value = np.asarray(value)
            if name in params:
                p = params[name]
                if value.shape != p.data.shape:
                    raise ValueError(f"load_state_dict: '{name}' has shape {value.shape}, the "
                                     f"model expects {p.data.shape}")
                p.data = value.astype(p.data.dtype, copy=True)
            elif name in buffers:
                owner, attr = buffers[name]
                old = getattr(owner, attr)
                if value.shape != old.shape:
                    raise ValueError(f"load_state_dict: '{name}' has shape {value.shape}, the "
                                     f"model expects {old.shape}")
                setattr(owner, attr, value.astype(old.dtype, copy=True))

    def save(self, path) -> None:
        """Writes state_dict() to a .npz file."""
        np.savez(path, **self.state_dict())

    def load(self, path) -> "Module":
        """Reads a .npz file written by save() into this module (shapes must match)."""
        with np.load(path) as f:
            self.load_state_dict({k: f[k] for k in f.files})
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(children) + "\n)" if children else ")")


class Sequential(Module):
    """Runs its modules in order; backward runs their backwards in reverse order."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} must be a Module, got {type(m).__name__}")
            setattr(self, str(i), m)

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __getitem__(self, i: int) -> Module:
        return list(self.children())[i]

    def __iter__(self):
        return self.children()

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x

    def backward(self, grad):
        for m in reversed(list(self.children())):
            grad = m.backward(grad)
        return grad
