"""Shared test machinery: the implementations under test and the comparison against the oracle.

Every kernel test is parametrised over `impl`: the numba backend and the C++ backend at each
ISA level this CPU supports (levels above it are skipped, not silently run at a lower level).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import fastconv as fc
from fastconv import _dispatch

ISA_LEVELS = ("scalar", "avx2", "avx512")


def _isa_rank(name):
    return ISA_LEVELS.index(name)


def _impl_params():
    params = [pytest.param(("numba", None), id="numba")]
    for isa in ISA_LEVELS:
        marks = []
        core = _dispatch._core
        if core is None:
            marks.append(pytest.mark.skip(reason="fastconv._core is not built"))
        elif _isa_rank(isa) > _isa_rank(core.isa_detected()):
            marks.append(pytest.mark.skip(reason=f"this CPU does not support {isa}"))
        params.append(pytest.param(("cpp", isa), id=f"cpp-{isa}", marks=marks))
    return params


IMPLS = _impl_params()


def _offered(backend):
    """The conv algorithms a backend offers (all names for an unbuilt extension: its tests
    are skipped anyway)."""
    if backend == "cpp" and _dispatch._core is None:
        return ("direct", "im2col", "depthwise", "winograd", "winograd_1d", "winograd_f2",
                "winograd_f4", "winograd_f6")
    return _dispatch.get(backend).conv_algorithms


def has_gradients(algorithm, op="input_grad"):
    """Whether a C++ algorithm implements a gradient op, "input_grad" or "weight_grad" (the op
    lists in csrc/ops/conv2d.cc say; a 3x3 single-channel shape that every algorithm supports
    asks them)."""
    core = _dispatch._core
    if core is None:
        return algorithm in ("direct", "im2col")
    try:
        core.select_conv2d(op, 1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, algorithm)
    except ValueError as e:
        if "does not implement this op" in str(e):
            return False
        raise
    return True


def impl_algorithm_params(algorithms, backward=False, impls=IMPLS):
    """Parameters for ("impl", "algorithm") (impl indirect): each backend with those of
    `algorithms` it offers ("auto": all) and, with backward=True, only those with gradients.
    ISA levels this CPU lacks stay as visible skips."""
    params = []
    for p in impls:
        backend = p.values[0][0]
        for algorithm in algorithms:
            if algorithm != "auto" and algorithm not in _offered(backend):
                continue
            if backward and backend == "cpp" and not has_gradients(algorithm):
                continue
            params.append(pytest.param(p.values[0], algorithm, id=f"{p.id}-{algorithm}",
                                       marks=p.marks))
    return params


def pytest_generate_tests(metafunc):
    """Tests taking `impl` run on every implementation (those marked `backends(names)` on the
    named backends only); those marked `algorithms(names, backward=False)` take an `algorithm`
    too, paired by impl_algorithm_params."""
    if "impl" not in metafunc.fixturenames:
        return
    backends = metafunc.definition.get_closest_marker("backends")
    impls = [p for p in IMPLS if backends is None or p.values[0][0] in backends.args]
    marker = metafunc.definition.get_closest_marker("algorithms")
    if marker is None:
        metafunc.parametrize("impl", impls, indirect=True)
    else:
        metafunc.parametrize(("impl", "algorithm"),
                             impl_algorithm_params(*marker.args, impls=impls, **marker.kwargs),
                             indirect=["impl"])


@pytest.fixture
def impl(request):
    """The backend name to pass as backend=...; for cpp, the ISA cap is set for the test."""
    backend, isa = request.param
    if isa is None:
        yield backend
        return
    core = _dispatch._core
    core.set_isa_cap(isa)
    assert core.isa_active() == isa
    try:
        yield backend
    finally:
        core.set_isa_cap(os.environ.get("FASTCONV_ISA", "avx512") or "avx512")


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    before = fc.get_num_threads()
    fc.set_num_threads(request.param)
    yield request.param
    fc.set_num_threads(before)


def random(shape, dtype, seed=0, low=None):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dtype)


# Error bound of each conv algorithm, relative to the magnitude (sum of |x|*|w| terms), for
# float32 / float64: the one place tests take tolerances from. Measured worst ratios on the
# test shapes (64-channel standard-normal data, every ISA): direct/im2col 2.5e-7 / 5e-16,
# Winograd F(2x2) 1.8e-7 / 2.6e-16, F(4x4) 2.9e-6 / 5.2e-15, F(6x6) 5.0e-6 / 7.7e-15
# (README.md, "Accuracy"); the bounds leave about 10x headroom for larger channel counts.
ALGORITHM_RTOL = {
    "direct": (1e-5, 1e-12),
    "im2col": (1e-5, 1e-12),
    "depthwise": (1e-5, 1e-12),
    "winograd_f2": (1e-5, 1e-12),
    "winograd_f4": (3e-5, 1e-12),
    "winograd_f6": (5e-5, 1e-12),  # explicit request only: "auto" never runs it
    "winograd": (3e-5, 1e-12),   # F(4x4) or F(2x2): the looser of the two
    # F(4, q) along the width: elements measured up to 7.2e-6 on random shapes "auto" gives it,
    # up to 2.2e-4 on explicit requests with 1- or 2-tap parts next to padding (README.md).
    "winograd_1d": (3e-5, 1e-12),
    "auto": (3e-5, 1e-12),       # may choose any of the above
}


def rtol_for(algorithm, dtype):
    f32, f64 = ALGORITHM_RTOL[algorithm]
    return f32 if np.dtype(dtype) == np.float32 else f64


def assert_close(actual, expected, magnitude, dtype, rtol=None, what=""):
    """|actual - expected| <= rtol * magnitude + atol, where `magnitude` is the same computation
    on absolute values (sum of |x|*|w| terms): the error bound of a sum in floating point
    scales with it, not with the result (which may cancel to ~0)."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype} != {dtype}"
    if rtol is None:
        rtol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-12
    err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    bound = rtol * magnitude + 1e-30
    worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.size else None
    assert np.all(err <= bound), (f"{what}: error {err[worst]:.3g} > bound {bound[worst]:.3g} at "
                                  f"{worst} (actual {actual[worst]!r}, expected {expected[worst]!r})")
