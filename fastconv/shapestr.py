"""Convolution shapes as strings in the style of oneDNN's benchdnn: ``mb8ic64ih56oc64oh56kh3ph1``.

One token per size: a lowercase key followed by a non-negative integer, in any order, optionally
separated by ``_``:

    mb  batch (optional: benchmarks then take their --batch)      g   groups (default 1)
    ic  input channels     ih, iw  input height, width (iw defaults to ih)
    oc  output channels    oh, ow  output size (optional; each one given is checked)
    kh, kw  kernel size    sh, sw  stride (default 1)    ph, pw  zero padding (default 0)
    dh, dw  dilation as benchdnn counts it: the pixels skipped between taps, so dh0 is a
            dense kernel and dh1 is PyTorch's dilation=2 (default 0)

Every *w key except ow defaults to its *h key. A ``deconv:`` prefix (benchdnn's deconvolution driver)
makes a transposed convolution: ic, ih, iw describe its input and oh, ow its larger output.
``parse`` raises ValueError saying which token or rule is wrong; ``format`` writes the
canonical string (only non-default tokens, oh/ow always), so ``parse(format(s)) == s``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from . import shapes

__all__ = ["ConvShape", "parse", "format", "looks_like_shape"]

_TOKEN = re.compile(r"_?([a-z]+)(\d+)")
_KEYS = ("mb", "g", "ic", "ih", "iw", "oc", "oh", "ow", "kh", "kw", "sh", "sw", "ph", "pw",
         "dh", "dw")
_TRANSPOSE_PREFIX = "deconv:"


@dataclass(frozen=True)
class ConvShape:
    """One convolution problem; dilation is PyTorch's (1 = dense), whatever the string said."""
    C: int
    H: int
    W: int
    K: int
    R: int
    S: int
    stride: Tuple[int, int] = (1, 1)
    pad: Tuple[int, int] = (0, 0)
    dilation: Tuple[int, int] = (1, 1)
    groups: int = 1
    transpose: bool = False
    batch: Optional[int] = None

    def out_hw(self) -> Tuple[int, int]:
        sizes = ((self.H, self.R), (self.W, self.S))
        if self.transpose:
            return tuple(shapes.conv_transpose_output_size(n, k, s, p, 0, d) for (n, k), s, p, d
                         in zip(sizes, self.stride, self.pad, self.dilation))
        return tuple(shapes.conv_output_size(n, k, s, p, d) for (n, k), s, p, d
                     in zip(sizes, self.stride, self.pad, self.dilation))


def looks_like_shape(text: str) -> bool:
    """Whether `text` is meant as a shape string (rather than, say, a suite layer name)."""
    body = text[len(_TRANSPOSE_PREFIX):] if text.startswith(_TRANSPOSE_PREFIX) else text
    return bool(re.fullmatch(r"(_?[a-z]+\d+)+", body))


def parse(text: str) -> ConvShape:
    if not isinstance(text, str):
        raise TypeError(f"shape string must be a str, got {type(text).__name__}")
    transpose = text.startswith(_TRANSPOSE_PREFIX)
    body = text[len(_TRANSPOSE_PREFIX):] if transpose else text
    values: dict = {}
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            raise ValueError(f"shape string {text!r}: cannot read a key and number at "
                             f"{body[pos:]!r} (expected tokens like ic64, from {list(_KEYS)})")
        key, number = m.group(1), int(m.group(2))
        if key not in _KEYS:
            raise ValueError(f"shape string {text!r}: unknown key {key!r} (known: {list(_KEYS)})")
        if key in values:
            raise ValueError(f"shape string {text!r}: {key} given twice")
        values[key] = number
        pos = m.end()
    missing = [k for k in ("ic", "ih", "oc", "kh") if k not in values]
    if missing:
        raise ValueError(f"shape string {text!r}: missing {', '.join(missing)} "
                         f"(ic, ih, oc and kh are required)")
    v = values
    get = lambda key, default: v.get(key, default)
    for key in ("mb", "g", "ic", "ih", "iw", "oc", "kh", "kw", "sh", "sw"):
        if key in v and v[key] < 1:
            raise ValueError(f"shape string {text!r}: {key} must be >= 1, got {v[key]}")
    groups = get("g", 1)
    for key in ("ic", "oc"):
        if v[key] % groups:
            raise ValueError(f"shape string {text!r}: {key}{v[key]} is not divisible by g{groups}")
    shape = ConvShape(
        C=v["ic"], H=v["ih"], W=get("iw", v["ih"]), K=v["oc"], R=v["kh"], S=get("kw", v["kh"]),
        stride=(get("sh", 1), get("sw", get("sh", 1))), pad=(get("ph", 0), get("pw", get("ph", 0))),
        dilation=(get("dh", 0) + 1, get("dw", get("dh", 0)) + 1), groups=groups,
        transpose=transpose, batch=v.get("mb"))
    for key, out in zip(("oh", "ow"), shape.out_hw()):
        if out < 1:
            raise ValueError(f"shape string {text!r}: the kernel does not fit, output {key} "
                             f"would be {out}")
        if key in v and v[key] != out:
            raise ValueError(f"shape string {text!r}: {key}{v[key]} given, but the other sizes "
                             f"give {key}{out}")
    return shape


def format(shape: ConvShape, *, batch: Optional[int] = None) -> str:
    """Canonical string of `shape` (with mb from `batch`, else from shape.batch when set)."""
    oh, ow = shape.out_hw()
    mb = batch if batch is not None else shape.batch
    parts = []
    if mb is not None:
        parts.append(f"mb{mb}")
    if shape.groups != 1:
        parts.append(f"g{shape.groups}")

    def pair(h_key, w_key, h, w, default):
        if h != default or w != h:
            parts.append(f"{h_key}{h}")
        if w != h:
            parts.append(f"{w_key}{w}")

    parts += [f"ic{shape.C}", f"ih{shape.H}"] + ([f"iw{shape.W}"] if shape.W != shape.H else [])
    parts += [f"oc{shape.K}", f"oh{oh}"] + ([f"ow{ow}"] if ow != oh else [])
    parts += [f"kh{shape.R}"] + ([f"kw{shape.S}"] if shape.S != shape.R else [])
    pair("sh", "sw", *shape.stride, 1)
    pair("ph", "pw", *shape.pad, 0)
    pair("dh", "dw", shape.dilation[0] - 1, shape.dilation[1] - 1, 0)
    return (_TRANSPOSE_PREFIX if shape.transpose else "") + "".join(parts)
