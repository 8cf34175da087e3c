"""Does algorithm="auto" pick the fastest algorithm? The check behind the "auto" preferences in
csrc/ops/conv2d.cc (each auto_decline_reason cites a crossover measured here).

For every suite layer, batch size and op (forward; input gradient, which is also the transposed
conv; weight gradient) it times each algorithm that accepts the shape, round-robin so the
machine's noise hits all alike, and prints the fastest, auto's pick and auto's time over the
fastest's. Re-run it after changing a kernel and move the crossovers it reports.

With --plan it times Conv2dPlan calls instead (forward only; the weights packed or
transformed once, as the plan's own "auto" assumes; each algorithm's plan in turn, so each
finds its weights evicted by the others', as in a network): kWinogradPreparedMinTiles in
csrc/algos/winograd.h cites such runs (e.g. mb1ic512ih7oc512kh3ph1, mb2ic512ih5oc512kh3ph1).

Usage: PYTHONPATH=. python benchmarks/auto_choice.py [--threads 1] [--batch 1,8] [--repeat 5]
                                                    [--ops fwd,input,weight] [--plan] [LAYER ...]
LAYER: a suite layer's name or a shape string (mb8ic64ih56oc64oh56kh3ph1; see fastconv.shapestr).
"""
import argparse
import sys
import time

import numpy as np

import fastconv as fc
from fastconv import bench
from fastconv.bench import format_table, load_suite



def op_call(layer, op, n, algorithm, plan=False):
    """A zero-argument call of the C++ backend for this layer and op, or None if declined;
    plan: a Conv2dPlan's call (forward convolutions only)."""
    s = layer.shape
    x, w = layer.arrays(n)
    if plan:
        if op != "fwd" or s.transpose:
            return None
        try:
            conv_plan = fc.Conv2dPlan(w, None, **layer.torch_args(), algorithm=algorithm,
                                      backend="cpp", input_hw=x.shape[2:])
            conv_plan(x)
        except ValueError:
            return None
        return lambda: conv_plan(x)
    if s.transpose:  # conv_transpose2d is conv2d_input of the conv it transposes
        conv_x_shape = (n, s.K, *s.out_hw())
        conv_w, gy = w, x
    else:
        conv_x_shape, conv_w = x.shape, w
        gy = np.ones((n, s.K, *s.out_hw()), np.float32)
    kw = dict(**layer.torch_args(), algorithm=algorithm, backend="cpp")
    if op == "fwd" and not s.transpose:
        fn = lambda: fc.conv2d(x, w, None, **kw)
    elif op == "input" or (op == "fwd" and s.transpose):
        fn = lambda: fc.grad.conv2d_input(conv_x_shape, conv_w, gy, **kw)
    else:
        cx = x if not s.transpose else np.ones(conv_x_shape, np.float32)
        fn = lambda: fc.grad.conv2d_weight(cx, conv_w.shape, gy, **kw)
    try:
        fn()
    except ValueError:
        return None
    return fn


def auto_pick(layer, op, n, plan=False):
    """The algorithm "auto" runs for this layer and op (the library's own answer; plan: as a
    Conv2dPlan chooses)."""
    s = layer.shape
    if s.transpose:  # the conv it transposes: input K -> output C at the layer's input size
        conv = (n, s.K, *s.out_hw(), s.C)
        which = "input_grad" if op == "fwd" else "weight_grad"
    else:
        conv = (n, s.C, s.H, s.W, s.K)
        which = {"fwd": "forward", "input": "input_grad", "weight": "weight_grad"}[op]
    (sh, sw), (ph, pw), (dh, dw) = s.stride, s.pad, s.dilation
    name, _ = fc._dispatch._core.select_conv2d(which, *conv, s.R, s.S, sh, sw, ph, ph, pw, pw,
                                               dh, dw, s.groups, "auto",
                                               weights_prepared=plan)
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("layers", nargs="*")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ops", default="fwd,input,weight")
    ap.add_argument("--plan", action="store_true",
                    help="time Conv2dPlan calls (forward only) instead of fastconv.conv2d")
    a = ap.parse_args()
    bench.reexec_with_allocator_setting()
    fc.set_num_threads(a.threads)
    algorithms = fc.info()["conv_algorithms"]["cpp"]
    # Suite layer names or shape strings (bench.resolve_layers says which name it cannot read).
    layers = bench.resolve_layers(a.layers) if a.layers else load_suite()
    rows = []
    for layer in layers:
        for n in (int(b) for b in a.batch.split(",")):
            for op in a.ops.split(","):
                if layer.transpose and op == "input":
                    continue  # the transposed layer's forward is already the input gradient
                calls = {al: op_call(layer, op, n, al, a.plan) for al in ["auto"] + algorithms}
                calls = {al: fn for al, fn in calls.items() if fn is not None}
                if "auto" not in calls:
                    continue  # --plan: not a forward convolution
                times = {al: [] for al in calls}
                for _ in range(a.repeat):
                    for al, fn in calls.items():
                        t = time.perf_counter()
                        fn()
                        times[al].append(time.perf_counter() - t)
                med = {al: float(np.median(ts)) for al, ts in times.items()}
                named = {al: t for al, t in med.items() if al != "auto"}
                best = min(named, key=named.get)
                picked = auto_pick(layer, op, n, a.plan)
                rows.append({"layer": layer.name, "N": n, "op": op, "best": best,
                             "best ms": named[best] * 1e3, "auto picks": picked,
                             "auto ms": med["auto"] * 1e3, "auto/best": med["auto"] / named[best],
                             **{f"{al} ms": t * 1e3 for al, t in named.items()}})
                print(f"{layer.name} N={n} {op}: best {best}", file=sys.stderr)
    cols = ["layer", "N", "op", "best", "best ms", "auto picks", "auto ms", "auto/best"] + \
        [f"{al} ms" for al in algorithms]
    print(f"threads={a.threads} isa={fc.info()['isa_active']}" + (" (plans)" if a.plan else ""))
    print(format_table(rows, cols))


if __name__ == "__main__":
    main()
