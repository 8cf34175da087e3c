"""Shape strings, contenders and a tiny `fastconv bench` run (table and JSON). Speed is never
asserted here: these check that the benchmark machinery works, quickly."""
import importlib.util
import json
from pathlib import Path

import pytest

from fastconv import bench, cli, shapestr
from fastconv.shapestr import ConvShape


@pytest.mark.parametrize("text, expected", [
    ("mb8ic64ih56oc64oh56kh3ph1", ConvShape(64, 56, 56, 64, 3, 3, (1, 1), (1, 1), (1, 1), 1, False, 8)),
    ("ic3ih224oc64oh112kh7sh2ph3", ConvShape(3, 224, 224, 64, 7, 7, (2, 2), (3, 3), (1, 1))),
    ("ic256ih28oc256kh3ph2dh1", ConvShape(256, 28, 28, 256, 3, 3, (1, 1), (2, 2), (2, 2))),
    ("g32ic32ih112oc32oh112kh3ph1", ConvShape(32, 112, 112, 32, 3, 3, (1, 1), (1, 1), (1, 1), 32)),
    ("ic7ih13iw17oc5oh7ow9kh3sh2ph1", ConvShape(7, 13, 17, 5, 3, 3, (2, 2), (1, 1), (1, 1))),
    ("mb2_ic4ih9oc6kh3kw1sh2sw1ph0pw1dh1dw0",
     ConvShape(4, 9, 9, 6, 3, 1, (2, 1), (0, 1), (2, 1), batch=2)),
    ("deconv:ic100ih1oc512oh4kh4", ConvShape(100, 1, 1, 512, 4, 4, transpose=True)),
])
def test_parse_and_format_round_trip(text, expected):
    shape = shapestr.parse(text)
    assert shape == expected
    assert shapestr.parse(shapestr.format(shape)) == shape


@pytest.mark.parametrize("text, message", [
    ("mb8ic64", "missing ih, oc, kh"),
    ("ic64ih56oc64oh55kh3ph1", "oh55 given, but the other sizes give oh56"),
    ("ic64ih56iw9oc64ow8kh3", "ow8 given, but the other sizes give ow7"),
    ("ic64ih56oc64kh3xx1", "unknown key 'xx'"),
    ("ic64ih56oc64kh3ph1ph2", "ph given twice"),
    ("g3ic64ih5oc6kh3", "ic64 is not divisible by g3"),
    ("ic3ih2oc3kh5", "does not fit"),
    ("ic3ih4oc3kh3sh0", "sh must be >= 1"),
    ("ic3ih4oc3kh3!", "cannot read a key and number at '!'"),
    ("IC3ih4oc3kh3", "cannot read"),
])
def test_invalid_strings_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("!", "!")):
        shapestr.parse(text)


def test_parse_rejects_non_strings():
    with pytest.raises(TypeError, match="must be a str"):
        shapestr.parse(64)


def test_every_suite_layer_has_a_shape_string():
    for layer in bench.load_suite():
        assert shapestr.parse(layer.shape_string()) == layer.shape
        assert shapestr.parse(layer.shape_string(8)).batch == 8


def test_resolve_layers_takes_names_and_strings():
    named, custom = bench.resolve_layers(["r50_3x3_64@56", "mb2ic3ih8oc4kh3"])
    assert named.shape == shapestr.parse("ic64ih56oc64oh56kh3ph1")
    assert custom.name == "ic3ih8oc4oh6kh3" and custom.shape.batch == 2
    with pytest.raises(ValueError, match="unknown layer 'nonsense'"):
        bench.resolve_layers(["nonsense"])


def test_contenders_are_discovered_and_filtered():
    import fastconv as fc
    labels = [c.label for c in bench.default_contenders()]
    for algorithm in fc.info()["conv_algorithms"].get("cpp", []):
        assert f"cpp/{algorithm}" in labels
    assert "numba/direct" in labels
    assert [c.label for c in bench.default_contenders(backends=["numba"])] == ["numba/direct"]
    with pytest.raises(ValueError, match="not available"):
        bench.default_contenders(backends=["tensorflow"])
    with pytest.raises(ValueError, match="not offered"):
        bench.default_contenders(algorithms=["fft"])


def test_onnx_model_matches_torch():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    torch = pytest.importorskip("torch")
    for text in ("mb2g2ic4ih9iw7oc6kh3kw2sh2ph1pw0dh1", "deconv:mb2ic4ih5oc6kh3sh2ph1"):
        layer, = bench.resolve_layers([text])
        x, w = layer.arrays(2)
        y, = bench._ort_prepare(layer, x, w, 1)()
        op = torch.nn.functional.conv_transpose2d if layer.transpose else torch.nn.functional.conv2d
        expected = op(torch.from_numpy(x), torch.from_numpy(w), **layer.torch_args()).numpy()
        assert y.shape == expected.shape
        assert abs(y - expected).max() < 1e-4 * max(1.0, abs(expected).max())


def test_tiny_bench_writes_table_and_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "mb1ic3ih8oc4kh3ph1", "deconv:ic4ih3oc2kh2sh2", "--threads", "1",
                     "--repeat", "2", "--min-time", "0.001", "--no-progress",
                     "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "FMA peak" in printed or "ISA None" in printed
    for column in ("layer", "impl", "ms", "GFLOP/s"):
        assert column in printed
    document = json.loads(out.read_text())
    rows = document["rows"]
    labels = {c.label for c in bench.default_contenders()}
    assert {r["impl"] for r in rows} == labels
    assert {r["shape"] for r in rows} == {"mb1ic3ih8oc4oh8kh3ph1", "deconv:mb1ic4ih3oc2oh6kh2sh2"}
    timed = [r for r in rows if "ms" in r]
    assert timed and all(r["ms"] > 0 and r["GFLOP/s"] > 0 for r in timed)
    if "torch" in labels:
        assert all(r["vs torch"] > 0 for r in timed)


def test_bench_rejects_bad_shape_strings(capsys):
    assert cli.main(["bench", "ic3ih8oc4oh7kh3", "--no-progress"]) == 2
    assert "oh7 given, but the other sizes give oh6" in capsys.readouterr().err


@pytest.mark.backends("cpp")  # the FMA probe is part of the compiled extension
def test_peak_probe_runs_at_every_isa_level(impl, threads):
    from fastconv import _dispatch
    peak = _dispatch._core.fma_peak_gflops(threads)
    assert 0 < peak < float("inf")
    with pytest.raises(TypeError):
        _dispatch._core.fma_peak_gflops("two")


@pytest.mark.parametrize("args, message", [
    (["--backends", "tensorflow"], "not available"),
    (["--algorithms", "fft"], "not offered"),
    (["no_such_layer"], "unknown layer 'no_such_layer'"),
])
def test_bench_rejects_unknown_names(args, message, capsys):
    assert cli.main(["bench", "--no-progress", *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--threads", "1,x"], ["--batch", "0"], ["--repeat", "0"]])
def test_bench_rejects_bad_numbers(args):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", *args])
    assert exit_info.value.code == 2


def _load_benchmark(name):
    """benchmarks/<name>.py as a module (the scripts are not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_gemm_conv_rows_time_each_contender():
    """benchmarks/bench_gemm.py --conv (im2col, direct and PyTorch per suite layer) runs: one
    repetition of two tiny layers, a transposed one among them."""
    torch = pytest.importorskip("torch")
    import fastconv as fc
    bench_gemm = _load_benchmark("bench_gemm")
    before = fc.get_num_threads(), torch.get_num_threads()
    try:
        rows = bench_gemm.conv_rows(["dcgan_g5_64-3@32", "odd_7-5_3x3s2@13x17"], 1, [1], 1)
    finally:
        fc.set_num_threads(before[0])
        torch.set_num_threads(before[1])
    assert sorted(r[0] for r in rows) == ["dcgan_g5_64-3@32", "odd_7-5_3x3s2@13x17"]
    assert all(value > 0 for r in rows for value in r[3:])


def test_bench_winograd_runs(capsys):
    """benchmarks/bench_winograd.py prints its table (smoke test: one small layer, one
    repetition, the default allocator so the script does not re-execute itself)."""
    import fastconv as fc
    bench_winograd = _load_benchmark("bench_winograd")
    torch = bench_winograd.torch  # None when not installed: the table has no torch column
    before = fc.get_num_threads(), torch.get_num_threads() if torch is not None else None
    try:
        bench_winograd.main(["--layers", "cifar_3-16_3x3@32", "--batch", "1", "--threads", "1",
                             "--repeat", "1", "--min-time", "0.001", "--default-allocator"])
    finally:
        fc.set_num_threads(before[0])
        if torch is not None:
            torch.set_num_threads(before[1])
    printed = capsys.readouterr().out
    assert "cifar_3-16_3x3@32" in printed and "winograd" in printed


@pytest.mark.parametrize("layer, op", [("odd_7-5_3x3s2@13x17", "fwd"),
                                       ("odd_7-5_3x3s2@13x17", "input"),
                                       ("odd_7-5_3x3s2@13x17", "weight"),
                                       ("dcgan_g5_64-3@32", "fwd")])
def test_ab_builds_compares_two_loaded_builds(layer, op, capsys):
    """benchmarks/ab_builds.py loads the same build twice as two modules and times them in
    turns (smoke test: two rounds; it exits if the builds' results differ)."""
    from fastconv import _dispatch
    if _dispatch._core is None:
        pytest.skip("needs the compiled extension")
    ab_builds = _load_benchmark("ab_builds")
    so = _dispatch._core.__file__
    ab_builds.main([so, so, "--layers", layer, "--batch", "1", "--threads", "1", "--op", op,
                    "--rounds", "2", "--min-time", "0.001"])
    table = capsys.readouterr().out.splitlines()
    rows = [line for line in table if line.startswith(layer)]
    assert len(rows) == 2 and rows[0].split()[-1] == "1"


def test_ab_builds_loads_each_build_as_a_module_of_its_own(tmp_path):
    """Each build given is its own module, run from its own copy, also when the same file is
    given twice and when builds are loaded again in the same process (pybind11 returned the
    first module made under a name for every later one)."""
    from fastconv import _dispatch
    if _dispatch._core is None:
        pytest.skip("needs the compiled extension")
    ab_builds = _load_benchmark("ab_builds")
    so = _dispatch._core.__file__
    loaded = []
    for run in ("first", "second"):
        (tmp_path / run).mkdir()
        loaded += ab_builds.load_builds([so, so], str(tmp_path / run))
    assert len({id(module) for module in loaded}) == 4
    assert len({module.__file__ for module in loaded}) == 4
    assert all(module.__file__.startswith(str(tmp_path)) for module in loaded)
    assert _dispatch._core not in loaded


def test_ab_builds_needs_two_existing_builds(tmp_path):
    ab_builds = _load_benchmark("ab_builds")
    with pytest.raises(SystemExit):
        ab_builds.main([str(tmp_path / "only.so")])
    with pytest.raises(SystemExit):
        ab_builds.main([str(tmp_path / "a.so"), str(tmp_path / "b.so")])


@pytest.mark.parametrize("args, message", [
    (["--layers", "dcgan_g5_64-3@32", "--op", "weight"], "takes a convolution"),
    (["--layers", "r50_1x1_64-256@56", "--algorithm", "winograd"], "does not support"),
])
def test_ab_builds_says_why_it_cannot_run(args, message):
    from fastconv import _dispatch
    if _dispatch._core is None:
        pytest.skip("needs the compiled extension")
    ab_builds = _load_benchmark("ab_builds")
    so = _dispatch._core.__file__
    with pytest.raises(SystemExit) as exit_info:
        ab_builds.main([so, so, "--batch", "1", "--rounds", "1", *args])
    assert message in str(exit_info.value.code)


def test_ab_builds_refuses_an_unknown_layer(capsys):
    from fastconv import _dispatch
    if _dispatch._core is None:
        pytest.skip("needs the compiled extension")
    ab_builds = _load_benchmark("ab_builds")
    so = _dispatch._core.__file__
    with pytest.raises(SystemExit):
        ab_builds.main([so, so, "--layers", "no_such_layer"])
    assert "unknown layer 'no_such_layer'" in capsys.readouterr().err


def test_ab_builds_caps_every_builds_isa(capsys):
    """--isa caps the loaded builds' kernels (their own copies of the ISA setting), not the
    process's fastconv."""
    from fastconv import _dispatch
    if _dispatch._core is None:
        pytest.skip("needs the compiled extension")
    ab_builds = _load_benchmark("ab_builds")
    so = _dispatch._core.__file__
    before = _dispatch._core.isa_active()
    ab_builds.main([so, so, "--layers", "cifar_3-16_3x3@32", "--batch", "1", "--threads", "1",
                    "--rounds", "1", "--min-time", "0.001", "--isa", "scalar"])
    assert "isa=scalar" in capsys.readouterr().out
    assert _dispatch._core.isa_active() == before
