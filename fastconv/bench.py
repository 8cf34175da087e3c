"""Layer benchmarks: the shipped suite (fastconv/data/layers.tsv), timing, and a printed table.

`fastconv bench` (fastconv.cli) and benchmarks/ use this module. Times are the median of
several repetitions after a warm-up call; FLOPs follow the suite's README: conv
2·N·K·(C/g)·R·S·Hout·Wout, transposed 2·N·C·(K/g)·R·S·H·W.
"""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from importlib import resources
from typing import Callable, Iterable, List, Optional

import numpy as np

from . import shapes


@dataclass(frozen=True)
class Layer:
    name: str
    family: str
    C: int
    H: int
    W: int
    K: int
    R: int
    S: int
    stride: int
    pad: int
    dilation: int
    groups: int
    transpose: bool

    def out_hw(self):
        if self.transpose:
            return tuple(shapes.conv_transpose_output_size(n, k, self.stride, self.pad, 0, self.dilation)
                         for n, k in ((self.H, self.R), (self.W, self.S)))
        return tuple(shapes.conv_output_size(n, k, self.stride, self.pad, self.dilation)
                     for n, k in ((self.H, self.R), (self.W, self.S)))

    def flops(self, n: int) -> int:
        if self.transpose:
            return 2 * n * self.C * (self.K // self.groups) * self.R * self.S * self.H * self.W
        ho, wo = self.out_hw()
        return 2 * n * self.K * (self.C // self.groups) * self.R * self.S * ho * wo

    def arrays(self, n: int, dtype=np.float32, seed: int = 0):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, self.C, self.H, self.W)).astype(dtype)
        wshape = ((self.C, self.K // self.groups, self.R, self.S) if self.transpose
                  else (self.K, self.C // self.groups, self.R, self.S))
        return x, rng.standard_normal(wshape).astype(dtype)

    def run(self, fc, x, w, **kw):
        if self.transpose:
            return fc.conv_transpose2d(x, w, None, self.stride, self.pad, 0, self.groups,
                                       self.dilation, **kw)
        return fc.conv2d(x, w, None, self.stride, self.pad, self.dilation, self.groups, **kw)


def load_suite() -> List[Layer]:
    text = resources.files("fastconv").joinpath("data/layers.tsv").read_text()
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return [Layer(r["name"], r["family"], *(int(r[k]) for k in
                  ("C", "H", "W", "K", "R", "S", "stride", "pad", "dilation", "groups")),
                  r["transpose"] == "1") for r in rows]


def median_time(fn: Callable[[], object], repeat: int = 7, min_time: float = 0.02) -> float:
    """Median seconds per call over `repeat` samples; each sample loops until min_time passes."""
    fn()   # warm-up: JIT compilation, first-touch allocation
    samples = []
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        samples.append(elapsed / calls)
    return float(np.median(samples))


def format_table(rows: Iterable[dict], columns: List[str]) -> str:
    rows = list(rows)
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c)
              for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(vals, widths)))
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def bench_layers(layers: Iterable[Layer], batch_sizes=(1,), contenders: Optional[List[tuple]] = None,
                 repeat: int = 5, progress=None) -> List[dict]:
    """Times each layer for each (label, backend, algorithm) contender; returns table rows."""
    import fastconv as fc
    if contenders is None:
        contenders = default_contenders()
    rows = []
    for layer in layers:
        for n in batch_sizes:
            x, w = layer.arrays(n)
            for label, backend, algorithm in contenders:
                try:  # algorithms that decline the layer (e.g. Winograd on strided convs) sit out
                    layer.run(fc, x[:1], w, backend=backend, algorithm=algorithm)
                except ValueError as e:
                    if "does not support this shape" in str(e):
                        continue
                    raise
                seconds = median_time(lambda: layer.run(fc, x, w, backend=backend, algorithm=algorithm),
                                      repeat=repeat)
                rows.append({"layer": layer.name, "N": n, "impl": label, "ms": seconds * 1e3,
                             "GFLOP/s": layer.flops(n) / seconds / 1e9})
                if progress:
                    progress()
    return rows


def default_contenders() -> List[tuple]:
    import fastconv as fc
    info = fc.info()
    contenders = []
    if "cpp" in info["backends"]:
        contenders += [(f"cpp/{a}", "cpp", a) for a in info["conv_algorithms"]["cpp"]]
    contenders.append(("numba/direct", "numba", "direct"))
    return contenders
