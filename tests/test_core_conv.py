"""fastconv._core direct convolution (forward, input gradient, weight gradient) against torch.

Torch runs in float64; float32 results are held to a tolerance scaled by the accumulation
length and the operands' magnitudes. Every ISA level up to the detected one is exercised via
set_isa_cap (AVX-512 is skipped where the CPU lacks it).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

_core = pytest.importorskip("fastconv._core")

ISA_ORDER = ["scalar", "avx2", "avx512"]
ISAS = ISA_ORDER[: ISA_ORDER.index(_core.isa_detected()) + 1]

# (N, C, H, W, K, R, S, stride, padding (t, b, l, r), dilation, groups, bias)
CASES = [
    (1, 3, 7, 11, 5, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
    (3, 4, 13, 17, 6, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1), 1, False),
    (3, 4, 13, 17, 6, 3, 2, (2, 3), (0, 2, 1, 3), (2, 1), 2, True),
    (1, 6, 9, 9, 6, 3, 3, (3, 2), (4, 5, 0, 4), (1, 3), 6, False),    # depthwise, pad > kernel
    (3, 8, 11, 7, 8, 5, 3, (2, 2), (2, 2, 1, 1), (1, 2), 8, True),    # depthwise, stride 2
    (1, 1, 5, 5, 1, 7, 7, (1, 1), (1, 1, 1, 1), (1, 1), 1, True),     # kernel = padded input
    (3, 5, 7, 11, 1, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1, True),    # 1x1, K = 1
    (1, 1, 13, 17, 7, 2, 4, (3, 1), (1, 0, 3, 2), (3, 2), 1, False),  # C = 1
    (3, 7, 1, 1, 9, 1, 1, (2, 3), (0, 0, 0, 0), (1, 1), 1, True),     # 1x1 image
    (1, 16, 13, 17, 20, 3, 3, (1, 2), (1, 1, 1, 1), (1, 1), 4, True),  # K tail, groups 4
    (3, 12, 8, 8, 12, 2, 2, (2, 2), (1, 0, 0, 1), (1, 1), 3, False),   # even kernel, asym pad
    (1, 3, 6, 6, 4, 3, 3, (3, 3), (0, 0, 0, 0), (1, 1), 1, True),      # rows/cols without grad
    (1, 40, 10, 31, 37, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1, True),  # several tiles, K tail
]


def _id(c):
    n, ch, h, w, k, r, s, st, pad, dil, g, b = c
    return f"n{n}c{ch}h{h}w{w}k{k}r{r}s{s}st{st[0]}{st[1]}p{''.join(map(str, pad))}d{dil[0]}{dil[1]}g{g}{'b' if b else ''}"


@pytest.fixture(params=ISAS)
def isa(request):
    _core.set_isa_cap(request.param)
    yield request.param
    _core.set_isa_cap("avx512")


def _tol(dtype, acc_len, scale):
    if dtype == np.float64:
        return 1e-12 * acc_len * scale + 1e-12
    return 1e-5 * acc_len * scale + 1e-5


def _torch_ref(x, w, b, stride, pad, dil, groups, go=None):
    pt, pb, pl, pr = pad
    xt = torch.from_numpy(x).double().requires_grad_()
    wt = torch.from_numpy(w).double().requires_grad_()
    bt = None if b is None else torch.from_numpy(b).double()
    y = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wt, bt, stride, 0, dil, groups)
    if go is None:
        return y.detach().numpy()
    y.backward(torch.from_numpy(go).double())
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_conv_matches_torch(case, dtype, isa):
    n, c, h, w_, k, r, s, stride, pad, dil, g, has_bias = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.uniform(-1, 1, (n, c, h, w_)).astype(dtype)
    w = rng.uniform(-1, 1, (k, c // g, r, s)).astype(dtype)
    b = rng.uniform(-1, 1, k).astype(dtype) if has_bias else None
    yref = _torch_ref(x, w, b, stride, pad, dil, g)
    go = rng.uniform(-1, 1, yref.shape).astype(dtype)
    _, dxref, dwref = _torch_ref(x, w, b, stride, pad, dil, g, go)
    copies = [a.copy() for a in (x, w, go)] + ([b.copy()] if has_bias else [])
    geo = (*stride, *pad, *dil, g)

    y = _core.conv2d(x, w, b, *geo, "auto")
    assert y.dtype == dtype and y.shape == yref.shape and y.flags.c_contiguous
    np.testing.assert_allclose(y, yref, rtol=0, atol=_tol(dtype, c // g * r * s, 1.0))

    dx = _core.conv2d_input(go, w, h, w_, *geo, "direct")
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_allclose(dx, dxref, rtol=0, atol=_tol(dtype, k // g * r * s, 1.0))

    dw = _core.conv2d_weight(x, go, r, s, *geo, "auto")
    assert dw.dtype == dtype and dw.shape == w.shape
    np.testing.assert_allclose(dw, dwref, rtol=0, atol=_tol(dtype, n * yref.shape[2] * yref.shape[3], 1.0))

    for a, a0 in zip([x, w, go] + ([b] if has_bias else []), copies):
        np.testing.assert_array_equal(a, a0)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_deterministic(threads):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 16, 15, 13)).astype(np.float32)
    w = rng.standard_normal((12, 8, 3, 3)).astype(np.float32)
    geo = (2, 1, 1, 2, 0, 1, 1, 2, 2)
    old = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        y1 = _core.conv2d(x, w, None, *geo, "auto")
        go = rng.standard_normal(y1.shape).astype(np.float32)
        dx1 = _core.conv2d_input(go, w, 15, 13, *geo, "auto")
        dw1 = _core.conv2d_weight(x, go, 3, 3, *geo, "auto")
        _core.set_num_threads(threads)
        np.testing.assert_array_equal(_core.conv2d(x, w, None, *geo, "auto"), y1)
        np.testing.assert_array_equal(_core.conv2d_input(go, w, 15, 13, *geo, "auto"), dx1)
        np.testing.assert_array_equal(_core.conv2d_weight(x, go, 3, 3, *geo, "auto"), dw1)
    finally:
        _core.set_num_threads(old)
    yref = _torch_ref(x.astype(np.float64), w.astype(np.float64), None, (2, 1), (1, 2, 0, 1), (1, 2), 2)
    np.testing.assert_allclose(y1, yref, atol=1e-4)


def test_algorithms_and_errors():
    assert _core.conv2d_algorithms() == ["depthwise", "winograd", "winograd_1d", "im2col",
                                         "direct", "winograd_f2", "winograd_f4", "winograd_f6"]
    x = np.zeros((1, 4, 5, 5), np.float32)
    w = np.zeros((2, 4, 3, 3), np.float32)
    geo = (1, 1, 0, 0, 0, 0, 1, 1, 1)
    with pytest.raises(ValueError, match="direct"):
        _core.conv2d(x, w, None, *geo, "nope")
    with pytest.raises(ValueError):
        _core.conv2d(x, np.zeros((2, 3, 3, 3), np.float32), None, *geo, "auto")
    with pytest.raises(ValueError):
        _core.conv2d(x, np.zeros((2, 4, 7, 7), np.float32), None, *geo, "auto")
    with pytest.raises(ValueError):
        _core.conv2d(x, w, np.zeros(3, np.float32), *geo, "auto")
    with pytest.raises(TypeError):
        _core.conv2d(x, w.astype(np.float64), None, *geo, "auto")
    with pytest.raises(TypeError):
        _core.conv2d(x[:, :, ::2], w, None, *geo, "auto")
    with pytest.raises(ValueError):  # grad_output of the wrong spatial size
        _core.conv2d_input(np.zeros((1, 2, 4, 4), np.float32), w, 5, 5, *geo, "auto")
    with pytest.raises(ValueError):
        _core.conv2d_weight(x, np.zeros((1, 2, 3, 4), np.float32), 3, 3, *geo, "auto")
    with pytest.raises(ValueError):  # groups must divide
        _core.conv2d(x, np.zeros((3, 2, 3, 3), np.float32), None, 1, 1, 0, 0, 0, 0, 1, 1, 2, "auto")
    assert _core.conv2d(np.zeros((0, 4, 5, 5), np.float32), w, None, *geo, "auto").shape == (0, 2, 3, 3)
