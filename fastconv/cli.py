"""The `fastconv` command (also `python -m fastconv`)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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


def _train(args) -> int:
    import fastconv as fc
    from fastconv import train
    if args.threads:
        fc.set_num_threads(args.threads)
    common = dict(data=args.data, seed=args.seed, out=args.out, progress=not args.no_progress)
    for name in ("epochs", "batch_size", "lr"):
        if getattr(args, name) is not None:
            common[name] = getattr(args, name)
    try:
        if args.model == "cnn":
            train.train_cnn(**common)
        else:
            cnn = args.cnn
            saved = Path(args.out) / "cnn.npz"
            if cnn is None and saved.exists():
                print(f"fastconv train gan: scoring the samples with {saved}")
                cnn = saved
            elif cnn is None:
                print("fastconv train gan: no --cnn given; training the digits CNN first to score "
                      "the samples")
                cnn = train.train_cnn(data=args.data, seed=args.seed, out=args.out,
                                      progress=not args.no_progress)["model"]
            train.train_gan(cnn=cnn, **common)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        print(f"fastconv train {args.model}: {exc}", file=sys.stderr)
        return 2
    return 0


def _add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="train the digits CNN or the DCGAN (fastconv.nn)")
    t.add_argument("model", choices=["cnn", "gan"])
    t.add_argument("--data", default="digits",
                   help="'digits' (embedded, default) or a folder of MNIST/Fashion-MNIST IDX files")
    t.add_argument("--epochs", type=int, default=None, help="default: cnn 20, gan 150")
    t.add_argument("--batch-size", type=int, default=None, help="default: cnn 32, gan 64")
    t.add_argument("--lr", type=float, default=None, help="default: cnn 2e-3, gan 2e-4 (Adam)")
    t.add_argument("--seed", type=int, default=0, help="same seed, same result (default 0)")
    t.add_argument("--out", default="runs", help="folder for weights, plots and JSON (default runs)")
    t.add_argument("--cnn", default=None, help="gan: trained CNN weights (.npz) that score the "
                   "samples (default: OUT/cnn.npz, trained first when missing)")
    t.add_argument("--threads", type=int, default=None, help="kernel threads (default: all cores)")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=_train)


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
    _add_train_parser(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
