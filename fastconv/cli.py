"""The `fastconv` command (also `python -m fastconv`)."""
from __future__ import annotations

import argparse
import json
import sys

QUICK_LAYERS = ("r50_3x3_64@56", "r50_1x1_64-256@56", "dcgan_d2_64-128@32",
                "dcgan_g3_256-128@8", "mnist_1-32_5x5@28", "odd_7-5_3x3s2@13x17")


def _info(args) -> int:
    import fastconv as fc
    print(json.dumps(fc.info(), indent=2))
    return 0


def _bench(args) -> int:
    import fastconv as fc
    from fastconv import bench
    if args.threads:
        fc.set_num_threads(args.threads)
    suite = {layer.name: layer for layer in bench.load_suite()}
    names = args.layers or (list(suite) if args.all else list(QUICK_LAYERS))
    unknown = [n for n in names if n not in suite]
    if unknown:
        print(f"fastconv bench: unknown layer(s) {unknown}; known: {sorted(suite)}", file=sys.stderr)
        return 2
    info = fc.info()
    print(f"fastconv {info['version']}  ISA {info['isa_active']}  threads {fc.get_num_threads()}")
    rows = bench.bench_layers([suite[n] for n in names], batch_sizes=args.batch, repeat=args.repeat)
    print(bench.format_table(rows, ["layer", "N", "impl", "ms", "GFLOP/s"]))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fastconv", description="fastconv: fast CPU convolutions")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="version, backends, ISA, threads").set_defaults(func=_info)
    b = sub.add_parser("bench", help="time conv layers of the shipped suite (quick set by default)")
    b.add_argument("layers", nargs="*", help="suite layer names (default: a quick set)")
    b.add_argument("--all", action="store_true", help="every layer of the suite")
    b.add_argument("--batch", type=int, nargs="+", default=[1], help="batch sizes (default 1)")
    b.add_argument("--threads", type=int, default=None, help="kernel threads (default: all cores)")
    b.add_argument("--repeat", type=int, default=5, help="timing samples per case (median)")
    b.set_defaults(func=_bench)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
