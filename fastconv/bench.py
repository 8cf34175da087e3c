"""Layer benchmarks: the shipped suite, contenders, interleaved timing, tables, JSON and plots.

`fastconv bench` (fastconv.cli) and benchmarks/ both use this module, so they time the same
calls. A layer is a convolution shape (fastconv.shapestr) with a name: suite layers keep the
names of fastconv/data/layers.tsv, layers given as shape strings are named by their canonical
string. Contenders are discovered at run time: every algorithm the compiled backend lists, a
weight-packing plan when fastconv has one, the numba backend, and PyTorch and ONNX Runtime
when they are installed. FLOPs follow the suite's README: conv 2·N·K·(C/g)·R·S·Hout·Wout,
transposed 2·N·C·(K/g)·R·S·H·W.
"""
from __future__ import annotations

import csv
import statistics
import time
from dataclasses import dataclass, replace
from importlib import resources
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

from . import shapestr
from .shapestr import ConvShape

__all__ = ["Layer", "Contender", "Unsupported", "load_suite", "resolve_layers", "median_time",
           "time_interleaved", "default_contenders", "bench_layers", "machine_peak",
           "format_table", "TABLE_COLUMNS", "write_json", "plot", "QUICK_LAYERS"]

# The default `fastconv bench` set: one layer of each kind, quick enough for < 2 minutes.
QUICK_LAYERS = ("r50_3x3_64@56", "r50_1x1_64-256@56", "dw_32@112", "dcgan_d2_64-128@32",
                "dcgan_g3_256-128@8", "mnist_1-32_5x5@28", "odd_7-5_3x3s2@13x17")


@dataclass(frozen=True)
class Layer:
    name: str
    family: str
    shape: ConvShape

    @property
    def transpose(self) -> bool:
        return self.shape.transpose

    def shape_string(self, n: Optional[int] = None) -> str:
        return shapestr.format(self.shape, batch=n)

    def flops(self, n: int) -> int:
        s = self.shape
        if s.transpose:
            return 2 * n * s.C * (s.K // s.groups) * s.R * s.S * s.H * s.W
        ho, wo = s.out_hw()
        return 2 * n * s.K * (s.C // s.groups) * s.R * s.S * ho * wo

    def weight_shape(self):
        s = self.shape
        return ((s.C, s.K // s.groups, s.R, s.S) if s.transpose
                else (s.K, s.C // s.groups, s.R, s.S))

    def arrays(self, n: int, dtype=np.float32, seed: int = 0):
        rng = np.random.default_rng(seed)
        s = self.shape
        x = rng.standard_normal((n, s.C, s.H, s.W)).astype(dtype)
        return x, rng.standard_normal(self.weight_shape()).astype(dtype)

    def torch_args(self) -> dict:
        """Keyword arguments of F.conv2d / F.conv_transpose2d (and of fastconv's ops)."""
        s = self.shape
        return dict(stride=s.stride, padding=s.pad, dilation=s.dilation, groups=s.groups)

    def run(self, fc, x, w, **kw):
        op = fc.conv_transpose2d if self.transpose else fc.conv2d
        return op(x, w, None, **self.torch_args(), **kw)


def load_suite() -> List[Layer]:
    text = resources.files("fastconv").joinpath("data/layers.tsv").read_text()
    layers = []
    for r in csv.DictReader(text.splitlines(), delimiter="\t"):
        C, H, W, K, R, S, stride, pad, dilation, groups = (int(r[k]) for k in (
            "C", "H", "W", "K", "R", "S", "stride", "pad", "dilation", "groups"))
        shape = ConvShape(C, H, W, K, R, S, (stride, stride), (pad, pad), (dilation, dilation),
                          groups, r["transpose"] == "1")
        layers.append(Layer(r["name"], r["family"], shape))
    return layers


def resolve_layers(names: Sequence[str], suite: Optional[List[Layer]] = None) -> List[Layer]:
    """Suite layer names or shape strings -> layers; ValueError naming what is unknown or wrong."""
    by_name = {layer.name: layer for layer in (suite if suite is not None else load_suite())}
    layers = []
    for name in names:
        if name in by_name:
            layers.append(by_name[name])
        elif shapestr.looks_like_shape(name):
            shape = shapestr.parse(name)
            # named without mb: the batch is a column of the table
            layers.append(Layer(shapestr.format(replace(shape, batch=None)), "custom", shape))
        else:
            raise ValueError(f"unknown layer {name!r}: give a suite layer ({', '.join(by_name)}) "
                             f"or a shape string such as mb8ic64ih56oc64oh56kh3ph1")
    return layers


# --- timing -------------------------------------------------------------------------------

def median_time(fn: Callable[[], object], repeat: int = 7, min_time: float = 0.02) -> float:
    """Median seconds per call over `repeat` samples; each sample loops until min_time passes."""
    return time_interleaved({"fn": fn}, repeat, min_time)["fn"]["median"]


def time_interleaved(fns: Dict[str, Callable[[], object]], repeat: int = 5,
                     min_time: float = 0.02) -> Dict[str, dict]:
    """Seconds per call of each function, sampled in turns (a, b, c, c, b, a, ...).

    The host deschedules cores now and then; taking one sample of every contender per round
    spreads such pauses over all of them instead of ruining one contender's figures.
    Returns {label: {"median": s, "min": s, "samples": [...]}}.
    """
    calls = {}
    for label, fn in fns.items():
        fn()   # warm-up: JIT compilation, first-touch allocation, thread pool start
        count, start = 0, time.perf_counter()
        while True:   # calibrate: calls per sample so that one sample lasts >= min_time
            fn()
            count += 1
            if time.perf_counter() - start >= min_time:
                break
        calls[label] = count
    samples: Dict[str, list] = {label: [] for label in fns}
    order = list(fns)
    for round_index in range(repeat):
        for label in (order if round_index % 2 == 0 else order[::-1]):
            fn, count = fns[label], calls[label]
            start = time.perf_counter()
            for _ in range(count):
                fn()
            samples[label].append((time.perf_counter() - start) / count)
    return {label: {"median": statistics.median(s), "min": min(s), "samples": s}
            for label, s in samples.items()}


# --- contenders ---------------------------------------------------------------------------

class Unsupported(Exception):
    """A contender cannot run a layer; the message says why (shown in the table)."""


@dataclass(frozen=True)
class Contender:
    """A way to run a layer. `prepare(layer, x, w, threads)` returns the zero-argument call to
    time (weights already converted, sessions built) or raises Unsupported."""
    label: str
    backend: str      # what --backends selects: cpp, numba, torch, ort
    prepare: Callable[[Layer, np.ndarray, np.ndarray, int], Callable[[], object]]


def _fastconv_contender(backend: str, algorithm: str, label: str) -> Contender:
    def prepare(layer, x, w, threads):
        import fastconv as fc
        fn = lambda: layer.run(fc, x, w, backend=backend, algorithm=algorithm)
        try:
            fn()
        except ValueError as exc:    # the algorithm declines this shape, with its reason
            raise Unsupported(str(exc)) from None
        # Again after the first call: fastconv's numba backend imports numba lazily, and a
        # thread count set before that does not reach numba's pool.
        fc.set_num_threads(threads)
        return fn
    return Contender(label, backend, prepare)


def _plan_contender() -> Contender:
    def prepare(layer, x, w, threads):
        import fastconv as fc
        if layer.transpose:
            raise Unsupported("Conv2dPlan is forward convolution only")
        try:
            plan = fc.Conv2dPlan(w, None, **layer.torch_args(), input_hw=x.shape[2:])
            plan(x)
        except ValueError as exc:
            raise Unsupported(str(exc)) from None
        fn = lambda: plan(x)
        fn.chosen = plan.algorithm     # reported in the rows: what "auto" picked for this shape
        return fn
    return Contender("cpp/plan", "cpp", prepare)


def _torch_prepare(layer, x, w, threads):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    op = F.conv_transpose2d if layer.transpose else F.conv2d
    kw = layer.torch_args()

    def fn():
        with torch.no_grad():
            return op(tx, tw, None, **kw)
    return fn


def onnx_conv_model(layer: Layer, w: np.ndarray) -> bytes:
    """A one-node ONNX model (Conv or ConvTranspose, weight as initializer), serialised."""
    from onnx import TensorProto, helper, numpy_helper
    s = layer.shape
    node = helper.make_node(
        "ConvTranspose" if s.transpose else "Conv", ["x", "w"], ["y"],
        kernel_shape=[s.R, s.S], strides=list(s.stride), dilations=list(s.dilation),
        pads=[s.pad[0], s.pad[1], s.pad[0], s.pad[1]], group=s.groups)
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", s.C, s.H, s.W])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.ascontiguousarray(w, np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8    # the oldest IR of opset 17: any recent onnxruntime reads it
    return model.SerializeToString()


def _ort_prepare(layer, x, w, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle ORT workers spin by default and would steal the cores from the contender timed next.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(onnx_conv_model(layer, w), options,
                                   providers=["CPUExecutionProvider"])
    feed = {"x": x}
    return lambda: session.run(None, feed)


def _installed(module: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(module) is not None


def default_contenders(algorithms: Optional[Sequence[str]] = None,
                       backends: Optional[Sequence[str]] = None) -> List[Contender]:
    """Every contender available here, optionally filtered by C++ algorithm names and by
    backend (cpp, numba, torch, ort); ValueError for a name that is not available."""
    import fastconv as fc
    info = fc.info()
    cpp_algorithms = list(info["conv_algorithms"].get("cpp", []))
    available = (["cpp"] if "cpp" in info["backends"] else []) + ["numba"]
    available += [name for name, modules in (("torch", ["torch"]), ("ort", ["onnxruntime", "onnx"]))
                  if all(_installed(m) for m in modules)]
    if backends is not None:
        unknown = [b for b in backends if b not in available]
        if unknown:
            raise ValueError(f"backends {unknown} are not available here (available: {available})")
        available = [b for b in available if b in backends]
    offered = cpp_algorithms + (["plan"] if hasattr(fc, "Conv2dPlan") else [])
    if algorithms is not None:
        unknown = [a for a in algorithms if a not in offered]
        if unknown:
            raise ValueError(f"algorithms {unknown} are not offered by the C++ backend "
                             f"(offered: {offered})")
    contenders = []
    if "cpp" in available:
        contenders += [_fastconv_contender("cpp", a, f"cpp/{a}") for a in cpp_algorithms
                       if algorithms is None or a in algorithms]
        if "plan" in offered and (algorithms is None or "plan" in algorithms):
            contenders.append(_plan_contender())
    if "numba" in available:
        contenders.append(_fastconv_contender("numba", "direct", "numba/direct"))
    if "torch" in available:
        contenders.append(Contender("torch", "torch", _torch_prepare))
    if "ort" in available:
        contenders.append(Contender("ort", "ort", _ort_prepare))
    return contenders


# glibc maps large blocks fresh on every call and they page-fault (~0.4 ms/MB here), which would
# swamp kernel timings; ../shared/bench/README.md's setting keeps freed memory for reuse.
ALLOCATOR_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"


def reexec_with_allocator_setting() -> None:
    """Restarts the running script with GLIBC_TUNABLES set (read only at process start), unless
    it is set already. Benchmark scripts call this first thing in main()."""
    import os
    import sys
    if "GLIBC_TUNABLES" not in os.environ:
        os.environ["GLIBC_TUNABLES"] = ALLOCATOR_TUNABLES
        os.execv(sys.executable, [sys.executable] + sys.argv)


# --- running ------------------------------------------------------------------------------

_peaks: Dict[int, Optional[float]] = {}


def machine_peak(threads: int) -> Optional[float]:
    """float32 FMA peak in GFLOP/s on `threads` threads at the active ISA (measured once per
    process by the extension's probe); None without the compiled extension."""
    from . import _dispatch
    if threads not in _peaks:
        core = _dispatch._core
        _peaks[threads] = core.fma_peak_gflops(threads) if core is not None else None
    return _peaks[threads]


def _set_threads(threads: int) -> None:
    """fastconv's pool (C++ and numba); torch's is set in _torch_prepare, ORT's per session."""
    import fastconv as fc
    fc.set_num_threads(threads)


def _thread_settings():
    """The process's thread counts, to restore after benchmarking (torch's only if it is
    already imported: importing it just for this would cost seconds)."""
    import sys
    import fastconv as fc
    saved = {"fastconv": fc.get_num_threads()}
    if "torch" in sys.modules:
        saved["torch"] = sys.modules["torch"].get_num_threads()
    return saved


def _restore_threads(saved):
    import sys
    import fastconv as fc
    fc.set_num_threads(saved["fastconv"])
    if "torch" in saved:
        sys.modules["torch"].set_num_threads(saved["torch"])


def bench_layers(layers: Iterable[Layer], batch_sizes: Sequence[int] = (1,),
                 contenders: Optional[List[Contender]] = None, repeat: int = 5,
                 progress=None, threads: Optional[Sequence[int]] = None,
                 min_time: float = 0.02) -> List[dict]:
    """Times every contender on every (layer, batch, threads) case, interleaved; returns rows
    with ms, GFLOP/s, % of peak and the speedup over torch and ort of the same case.
    A layer whose shape names a batch (mb) runs at that batch only. `progress(case_label)` is
    called after each case."""
    import fastconv as fc
    contenders = default_contenders() if contenders is None else contenders
    thread_counts = list(threads) if threads else [fc.get_num_threads()]
    saved = _thread_settings()
    rows = []
    try:
        for layer in layers:
            for n in ([layer.shape.batch] if layer.shape.batch else batch_sizes):
                x, w = layer.arrays(n)
                for t in thread_counts:
                    rows += _bench_case(layer, n, t, x, w, contenders, repeat, min_time)
                    if progress:
                        progress(f"{layer.name} N={n} T={t}")
    finally:
        _restore_threads(saved)
    return rows


def _bench_case(layer, n, threads, x, w, contenders, repeat, min_time) -> List[dict]:
    peak = machine_peak(threads)
    base = {"layer": layer.name, "shape": layer.shape_string(n), "N": n, "threads": threads}
    fns, declined = {}, {}
    _set_threads(threads)
    for c in contenders:
        try:
            fns[c.label] = c.prepare(layer, x, w, threads)
        except Unsupported as exc:
            declined[c.label] = str(exc)
    times = time_interleaved(fns, repeat, min_time) if fns else {}
    flops = layer.flops(n)
    rows = []
    for c in contenders:
        row = dict(base, impl=c.label)
        if c.label in declined:
            row["note"] = declined[c.label]
        else:
            seconds = times[c.label]["median"]
            gflops = flops / seconds / 1e9
            row.update({"ms": seconds * 1e3, "min_ms": times[c.label]["min"] * 1e3,
                        "GFLOP/s": gflops, "% peak": 100 * gflops / peak if peak else None})
            if hasattr(fns[c.label], "chosen"):
                row["chosen"] = fns[c.label].chosen
        rows.append(row)
    for peer in ("torch", "ort"):
        if peer in times:
            for row in rows:
                if "ms" in row:
                    row[f"vs {peer}"] = times[peer]["median"] * 1e3 / row["ms"]
    return rows


# --- output -------------------------------------------------------------------------------

TABLE_COLUMNS = ["layer", "N", "threads", "impl", "ms", "GFLOP/s", "% peak", "vs torch", "vs ort"]


def format_table(rows: Iterable[dict], columns: List[str]) -> str:
    rows = list(rows)
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c)
              for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.rjust(w) if i else v.ljust(w)
                                  for i, (v, w) in enumerate(zip(vals, widths))).rstrip()
    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def header(thread_counts: Sequence[int]) -> str:
    """One line about the machine: version, ISA, peaks, peer versions."""
    import fastconv as fc
    info = fc.info()
    peaks = [(t, machine_peak(t)) for t in thread_counts]
    parts = [f"fastconv {info['version']}", f"ISA {info['isa_active']}"]
    if all(p is not None for _, p in peaks):
        parts.append("FMA peak " + ", ".join(f"{p:.0f} GFLOP/s on {t} thread{'s' * (t > 1)}"
                                             for t, p in peaks))
    for module in ("torch", "onnxruntime"):
        if _installed(module):
            parts.append(f"{module} {__import__(module).__version__}")
    return " | ".join(parts)


def write_json(path, rows: List[dict], thread_counts: Sequence[int]) -> None:
    import json
    import platform
    import fastconv as fc
    document = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "fastconv": fc.info(), "machine": platform.machine(),
                "processor": platform.processor(), "peak_gflops":
                {str(t): machine_peak(t) for t in thread_counts}, "rows": rows}
    with open(path, "w") as f:
        json.dump(document, f, indent=1)


def plot(path, rows: List[dict]) -> bool:
    """Bar chart of GFLOP/s per case and contender, peaks dashed; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    cases = list(dict.fromkeys((r["layer"], r["N"], r["threads"]) for r in rows))
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    value = {(r["layer"], r["N"], r["threads"], r["impl"]): r.get("GFLOP/s") or 0.0 for r in rows}
    width = 0.8 / len(impls)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(cases) * max(1, len(impls)) / 3), 4.5))
    positions = np.arange(len(cases))
    for i, impl in enumerate(impls):
        ax.bar(positions + (i - (len(impls) - 1) / 2) * width,
               [value.get(case + (impl,), 0.0) for case in cases], width, label=impl)
    for t in sorted({r["threads"] for r in rows}):
        peak = machine_peak(t)
        if peak:
            ax.axhline(peak, linestyle="--", linewidth=0.8, color="gray")
            ax.text(len(cases) - 0.5, peak, f"FMA peak, {t} thr", ha="right", va="bottom",
                    fontsize=7, color="gray")
    ax.set_xticks(positions)
    ax.set_xticklabels([f"{layer}\nN={n} T={t}" for layer, n, t in cases], fontsize=7,
                       rotation=30, ha="right")
    ax.set_ylabel("GFLOP/s (higher is better)")
    ax.set_title("fastconv bench: float32 conv forward")
    ax.legend(fontsize=7, ncol=min(len(impls), 4), loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
