"""The suite comparison: fastconv's "auto" against PyTorch (and ONNX Runtime when installed) on
every layer of the shipped suite, at N=1 and N=8, 1 and 2 threads, contenders alternating in
one process (fastconv.bench does the timing). Prints per-layer ms, GFLOP/s, % of peak and
speedups, then the geometric-mean and worst speedup per (threads, N).

Usage: PYTHONPATH=. python benchmarks/suite_vs_torch.py [--threads 1,2] [--batch 1,8]
                                                      [--repeat 5] [--json FILE] [LAYER ...]
Runs under the allocator setting of ../shared/bench/README.md (re-executes itself to set it).
"""
import argparse
import math
import sys

from fastconv import bench



def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("layers", nargs="*")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    bench.reexec_with_allocator_setting()
    threads = [int(t) for t in a.threads.split(",")]
    batches = [int(b) for b in a.batch.split(",")]
    layers = bench.resolve_layers(a.layers) if a.layers else bench.load_suite()
    peers = [c for c in bench.default_contenders(backends=[b for b in ("torch", "ort")
                                                            if b in _available()])]
    contenders = [bench._fastconv_contender("cpp", "auto", "fastconv")] + peers
    print(bench.header(threads))
    rows = bench.bench_layers(layers, batches, contenders, repeat=a.repeat, threads=threads,
                              progress=lambda label: print(label, file=sys.stderr))
    timed = [r for r in rows if "ms" in r]
    print(bench.format_table(timed, bench.TABLE_COLUMNS))
    print()
    summary = []
    for t in threads:
        for n in batches:
            ours = [r for r in timed if r["impl"] == "fastconv" and r["threads"] == t and r["N"] == n]
            line = {"threads": t, "N": n, "layers": len(ours)}
            for peer in ("torch", "ort"):
                s = [r[f"vs {peer}"] for r in ours if r.get(f"vs {peer}")]
                if s:
                    line[f"geomean vs {peer}"] = math.exp(sum(map(math.log, s)) / len(s))
                    worst = min(ours, key=lambda r: r.get(f"vs {peer}") or math.inf)
                    line[f"worst vs {peer}"] = f"{worst[f'vs {peer}']:.2f} ({worst['layer']})"
            summary.append(line)
    print(bench.format_table(summary, ["threads", "N", "layers", "geomean vs torch",
                                       "worst vs torch", "geomean vs ort", "worst vs ort"]))
    if a.json:
        bench.write_json(a.json, rows, threads)


def _available():
    return [c.backend for c in bench.default_contenders()]


if __name__ == "__main__":
    main()
