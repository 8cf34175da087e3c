"""The `fastconv` command (also `python -m fastconv`)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _info(args) -> int:
    import fastconv as fc
    print(json.dumps(fc.info(), indent=2))
    return 0


def _int_list(text: str):
    """'1,2' -> [1, 2] (argparse type for --threads and --batch)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _name_list(text: str):
    return [v.strip() for v in text.split(",") if v.strip()]


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value
    return parse


def _bench(args) -> int:
    from fastconv import bench
    suite = bench.load_suite()
    names = args.layers or ([layer.name for layer in suite] if args.suite
                            else list(bench.QUICK_LAYERS))
    try:
        layers = bench.resolve_layers(names, suite)
        contenders = bench.default_contenders(args.algorithms, args.backends)
    except ValueError as exc:
        print(f"fastconv bench: {exc}", file=sys.stderr)
        return 2
    threads = args.threads
    if threads is None:   # one thread (the steadiest figures here) and all of them
        import fastconv as fc
        threads = sorted({1, fc.get_num_threads()})
    batches = args.batch or [1]
    print(bench.header(threads))
    cases = sum(1 if layer.shape.batch else len(batches) for layer in layers) * len(threads)
    progress, bar = None, None
    if not args.no_progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=cases, unit="case", file=sys.stderr, leave=False)
            progress = lambda label: (bar.set_postfix_str(label, refresh=False), bar.update())
        except ImportError:
            pass
    try:
        rows = bench.bench_layers(layers, batches, contenders, repeat=args.repeat,
                                  progress=progress, threads=threads, min_time=args.min_time)
    finally:
        if bar is not None:
            bar.close()
    timed = [r for r in rows if "ms" in r]
    columns = [c for c in bench.TABLE_COLUMNS if any(r.get(c) is not None for r in timed)]
    print(bench.format_table(timed, columns))
    declined: dict = {}   # (contender, reason) -> layers; such rows stay in the JSON
    for r in rows:
        if "ms" not in r:
            declined.setdefault((r["impl"], r.get("note")), []).append(r["layer"])
    for (label, note), names in declined.items():
        print(f"not run: {label} on {', '.join(dict.fromkeys(names))}: {note}")
    chosen: dict = {}
    for r in timed:
        if "chosen" in r:
            chosen.setdefault(r["impl"], {})[r["layer"]] = r["chosen"]
    for label, picks in chosen.items():
        print(f"{label} chose: " + ", ".join(f"{layer} {algo}" for layer, algo in picks.items()))
    if args.json:
        bench.write_json(args.json, rows, threads)
        print(f"wrote {args.json}")
    if args.plot:
        print(f"wrote {args.plot}" if bench.plot(args.plot, rows)
              else "--plot: matplotlib is not installed (pip install matplotlib)")
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
    t.add_argument("--epochs", type=int, default=None, help="default: cnn 30, gan 150")
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
    b = sub.add_parser(
        "bench", help="time conv layers against torch and onnxruntime (a quick set by default)",
        description="Times every contender (each C++ algorithm, numba, torch and onnxruntime when "
                    "installed) on suite layers or benchdnn-style shape strings, e.g. "
                    "mb8ic64ih56oc64oh56kh3ph1 (sh/dh/g: stride, dilation as benchdnn counts it, "
                    "groups; a deconv: prefix for transposed convolution).")
    b.add_argument("layers", nargs="*",
                   help="suite layer names or shape strings (default: a quick set)")
    b.add_argument("--suite", "--all", action="store_true", help="every layer of the shipped suite")
    b.add_argument("--algorithms", type=_name_list, default=None,
                   help="C++ algorithms to time, comma-separated (default: all offered)")
    b.add_argument("--backends", type=_name_list, default=None,
                   help="contender families, comma-separated: cpp,numba,torch,ort "
                        "(default: all installed)")
    b.add_argument("--threads", type=_int_list, default=None,
                   help="thread counts, e.g. 1,2 (default: 1 and all cores)")
    b.add_argument("--batch", type=_int_list, default=None,
                   help="batch sizes, e.g. 1,8 (default 1; a shape string's mb wins)")
    b.add_argument("--repeat", type=_positive(int), default=5,
                   help="timing rounds per case (median; default 5)")
    b.add_argument("--min-time", type=_positive(float), default=0.02,
                   help="seconds per timing sample (default 0.02)")
    b.add_argument("--json", metavar="FILE",
                   help="write the rows and the machine description as JSON")
    b.add_argument("--plot", metavar="FILE.png", help="write a bar chart (needs matplotlib)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=_bench)
    _add_train_parser(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
