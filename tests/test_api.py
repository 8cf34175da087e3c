"""The package surface: info(), environment overrides, threads, backends, fallback."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastconv as fc
from fastconv import _dispatch


def run_python(code, **env):
    full = dict(os.environ, **env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=300)
    return out


def test_info_fields():
    info = fc.info()
    for key in ("version", "backend", "backends", "isa_detected", "isa_active", "num_threads", "openmp"):
        assert key in info
    assert info["version"] == fc.__version__
    assert "reference" in info["backends"] and "numba" in info["backends"]


def test_environment_overrides():
    code = "import fastconv as fc, json; print(json.dumps(fc.info()))"
    out = run_python(code, FASTCONV_BACKEND="reference", FASTCONV_NUM_THREADS="1", FASTCONV_ISA="scalar")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["backend"] == "reference" and info["num_threads"] == 1
    if info["isa_detected"] is not None:
        assert info["isa_active"] == "scalar"


@pytest.mark.parametrize("var,value,match", [("FASTCONV_BACKEND", "gpu", "FASTCONV_BACKEND must be one of"),
                                             ("FASTCONV_ISA", "sse9", "one of"),
                                             ("FASTCONV_NUM_THREADS", "many", "FASTCONV_NUM_THREADS must be")])
def test_bad_environment_is_a_clear_error(var, value, match):
    out = run_python("import fastconv", **{var: value})
    assert out.returncode != 0 and match in out.stderr


def test_missing_extension_warns_once_and_uses_numba(tmp_path):
    """Without a loadable _core (simulated by blocking the import) fastconv warns and uses numba."""
    code = ("import sys, warnings\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'fastconv._core': raise ImportError('blocked for the test')\n"
            "sys.meta_path.insert(0, Block())\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    import fastconv as fc\n"
            "    import numpy as np\n"
            "    y = fc.conv2d(np.ones((1,1,3,3), np.float32), np.ones((1,1,2,2), np.float32))\n"
            "    fc.conv2d(np.ones((1,1,3,3), np.float32), np.ones((1,1,2,2), np.float32))\n"
            "print(fc.info()['backend'], len([w for w in caught if 'numba' in str(w.message)]), float(y.sum()))\n")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numba", "1", "16.0"]


def test_threads_roundtrip():
    before = fc.get_num_threads()
    fc.set_num_threads(1)
    assert fc.get_num_threads() == 1
    fc.set_num_threads(before)


def test_backend_default_switch():
    before = fc.get_backend()
    fc.set_backend("reference")
    assert fc.get_backend() == "reference"
    fc.set_backend(before)
    with pytest.raises(ValueError, match="backend must be None or one of"):
        fc.set_backend("tpu")


def test_cli_info_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "fastconv", "info"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["version"] == fc.__version__


def test_cli_bench_runs_a_layer():
    out = subprocess.run([sys.executable, "-m", "fastconv", "bench", "odd_7-5_3x3s2@13x17", "--repeat", "1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "odd_7-5_3x3s2@13x17" in out.stdout and "GFLOP/s" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "fastconv", "bench", "no_such_layer"], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "unknown layer" in bad.stderr


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
@pytest.mark.parametrize("op", ["conv2d", "max_pool2d", "pad"])
def test_cpp_kernels_flush_denormals_and_restore_the_fp_state(op, threads):
    core = _dispatch._core
    before = core.flush_bits()
    x = np.full((2, 3, 6, 6), 1e-40, np.float32)   # float32 denormals
    x0 = x.copy()
    if op == "conv2d":
        y = fc.conv2d(x, np.ones((4, 3, 3, 3), np.float32), backend="cpp")
        assert np.all(y == 0)                       # denormals are zero inside the kernel
    elif op == "max_pool2d":
        fc.max_pool2d(x, 2, backend="cpp")
    else:
        fc.pad(x, (1, 1, 1, 1), "reflect", backend="cpp")
    assert core.flush_bits() == before              # the caller's state is restored
    np.testing.assert_array_equal(x, x0)


def test_every_backend_exposes_the_contract():
    from fastconv import _backend_api
    names = [n for n in vars(_backend_api.Backend) if not n.startswith("_")]
    for backend in fc.info()["backends"]:
        module = _dispatch.get(backend)
        for n in names:
            assert hasattr(module, n), f"backend {backend!r} lacks {n}"
        assert "direct" in module.conv_algorithms
        x = np.ones((1, 1, 3, 3))
        assert module.pad(x, (1, 1, 1, 1), "constant", 0.0).shape == (1, 1, 5, 5)


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_verbose_explains_the_algorithm_choice(tmp_path):
    code = ("import numpy as np, fastconv as fc\n"
            "fc.conv2d(np.ones((1, 8, 9, 9), np.float32), np.ones((8, 1, 3, 3), np.float32),"
            " groups=8, backend='cpp')\n")
    # The fastconv under test, wherever it was imported from (installed or a developer build);
    # cwd is not the checkout, whose fastconv/ folder would shadow an installed package.
    where = os.path.dirname(os.path.dirname(fc.__file__))
    env = dict(os.environ, FASTCONV_VERBOSE="1", PYTHONPATH=where)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "fastconv: conv2d N=1 C=8 H=9 W=9 K=8" in out.stderr and "auto:" in out.stderr


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_arrays_made_by_numba_feed_the_cpp_backend():
    """numba creates its own (equal, not identical) dtype objects: the C++ boundary compares
    dtypes by value."""
    x = np.random.default_rng(0).standard_normal((1, 2, 8, 8)).astype(np.float32)
    y = fc.max_pool2d(x, 2, backend="numba")
    out = fc.conv2d(y, np.ones((3, 2, 3, 3), np.float32), backend="cpp")
    np.testing.assert_allclose(out, fc.conv2d(y, np.ones((3, 2, 3, 3), np.float32),
                                              backend="reference"), rtol=1e-5, atol=1e-5)


def test_thread_count_reaches_numba_when_it_loads_later(tmp_path):
    code = ("import numpy as np, fastconv as fc, numba\n"
            "fc.max_pool2d(np.ones((1, 1, 4, 4), np.float32), 2, backend='numba')\n"
            "print(numba.get_num_threads())\n")
    where = os.path.dirname(os.path.dirname(fc.__file__))
    env = dict(os.environ, FASTCONV_NUM_THREADS="1", PYTHONPATH=where)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


@pytest.mark.skipif(_dispatch._core is None, reason="fastconv._core is not built")
def test_thread_count_survives_numba_sharing_the_openmp_runtime(threads):
    x = np.ones((1, 2, 8, 8), np.float32)
    fc.max_pool2d(x, 2, backend="numba")      # numba's omp layer resets OpenMP's own count
    fc.conv2d(x, np.ones((2, 2, 3, 3), np.float32), backend="numba")
    assert _dispatch._core.get_num_threads() == threads == fc.get_num_threads()
