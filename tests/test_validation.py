"""Every invalid configuration raises a ValueError/TypeError that names the argument and the
rule, before any kernel runs (so the result is the same for every backend)."""
import numpy as np
import pytest

import fastconv as fc

f32, f64 = np.float32, np.float64
X = np.zeros((2, 4, 8, 8), f32)
W = np.zeros((6, 4, 3, 3), f32)


def conv(**kw):
    args = dict(input=X, weight=W)
    args.update(kw)
    return lambda: fc.conv2d(**args)


def convt(**kw):
    args = dict(input=np.zeros((1, 4, 5, 5), f32), weight=np.zeros((4, 3, 3, 3), f32))
    args.update(kw)
    return lambda: fc.conv_transpose2d(**args)


INVALID = [
    # conv2d
    ("channel mismatch", conv(input=np.zeros((2, 8, 8, 8), f32)), ValueError, r"expected input.*to have 4 channels, but got 8"),
    ("kernel larger than padded input", conv(input=np.zeros((1, 4, 2, 2), f32)), ValueError, r"[Kk]ernel size can't be greater"),
    ("dilated kernel too large", conv(dilation=4), ValueError, r"[Kk]ernel size"),
    ("zero stride", conv(stride=0), ValueError, r"stride must be positive"),
    ("negative stride pair", conv(stride=(1, -1)), ValueError, r"stride must be positive"),
    ("float stride", conv(stride=1.5), TypeError, r"stride must be an int"),
    ("bool stride", conv(stride=True), TypeError, r"stride must be an int"),
    ("negative padding", conv(padding=-1), ValueError, r"padding must be non-negative"),
    ("zero dilation", conv(dilation=0), ValueError, r"dilation must be positive"),
    ("zero groups", conv(groups=0), ValueError, r"groups must be positive"),
    ("groups do not divide out channels", conv(weight=np.zeros((5, 2, 3, 3), f32), groups=2), ValueError, r"divisible by 2"),
    ("same with stride", conv(padding="same", stride=2), ValueError, r"padding='same' is not supported for strided"),
    ("unknown padding string", conv(padding="full"), ValueError, r"padding must be .* 'same' or 'valid'"),
    ("unknown padding_mode", conv(padding_mode="mirror"), ValueError, r"padding_mode must be one of"),
    ("reflect padding too large", conv(padding=8, padding_mode="reflect"), ValueError, r"reflect padding must be less"),
    ("bias size", conv(bias=np.zeros(5, f32)), ValueError, r"expected bias to be 1-dimensional with 6 elements"),
    ("bias ndim", conv(bias=np.zeros((6, 1), f32)), ValueError, r"expected bias"),
    ("weight ndim", conv(weight=np.zeros((6, 4, 3), f32)), ValueError, r"expected weight to be 4-D"),
    ("input ndim", conv(input=np.zeros((4, 8), f32)), ValueError, r"expected input to be 3-D .* or 4-D"),
    ("input 5-D", conv(input=np.zeros((1, 2, 4, 8, 8), f32)), ValueError, r"expected input to be 3-D"),
    ("empty spatial dim", conv(input=np.zeros((1, 4, 0, 8), f32)), ValueError, r"non-zero size"),
    ("int input", conv(input=np.zeros((2, 4, 8, 8), np.int64)), TypeError, r"input must be a float32 or float64"),
    ("float16 input", conv(input=np.zeros((2, 4, 8, 8), np.float16)), TypeError, r"float32 or float64"),
    ("mixed dtypes", conv(weight=np.zeros((6, 4, 3, 3), f64)), TypeError, r"same dtype"),
    ("bias dtype", conv(bias=np.zeros(6, f64)), TypeError, r"same dtype"),
    ("unknown algorithm", conv(algorithm="fft"), ValueError, r"algorithm must be 'auto' or one of \["),
    ("unknown backend", conv(backend="cuda"), ValueError, r"backend must be None or one of"),
    ("padding triple", conv(padding=(1, 1, 1)), TypeError, r"padding must be an int or a tuple of two ints"),
    # conv_transpose2d
    ("output_padding >= stride and dilation", convt(stride=2, output_padding=2), ValueError, r"output_padding must be smaller than either stride or dilation"),
    ("transpose channel mismatch", convt(input=np.zeros((1, 3, 5, 5), f32)), ValueError, r"expected input.*to have 4 channels, but got 3"),
    ("transpose string padding", convt(padding="same"), ValueError, r"not supported for transposed"),
    ("transpose output too small", convt(padding=4), ValueError, r"output size .* too small"),
    ("transpose groups", convt(groups=3), ValueError, r"divisible by 3"),
    # pad
    ("odd pad length", lambda: fc.pad(X, (1, 2, 3)), ValueError, r"divisible by 2"),
    ("pad too long", lambda: fc.pad(np.zeros((3, 3), f32), (1, 1, 1, 1, 1, 1)), ValueError, r"at most two times"),
    ("unknown pad mode", lambda: fc.pad(X, (1, 1), mode="mirror"), ValueError, r"mode must be one of"),
    ("reflect pad == size", lambda: fc.pad(X, (8, 0, 0, 0), mode="reflect"), ValueError, r"reflect padding must be less"),
    ("circular pad > size", lambda: fc.pad(X, (9, 0, 0, 0), mode="circular"), ValueError, r"wrap around more than once"),
    ("reflect with value", lambda: fc.pad(X, (1, 1, 1, 1), mode="reflect", value=1.0), ValueError, r"doesn't take a value"),
    ("reflect negative", lambda: fc.pad(X, (-1, 1, 1, 1), mode="reflect"), ValueError, r"negative padding"),
    ("reflect 6 pads", lambda: fc.pad(X, (1,) * 6, mode="reflect"), ValueError, r"supports a padding length"),
    ("crop below zero", lambda: fc.pad(X, (-5, -5)), ValueError, r"negative output size"),
    ("pad not ints", lambda: fc.pad(X, (1.0, 1.0)), TypeError, r"pad must be a tuple of ints"),
    ("pad int input", lambda: fc.pad(np.zeros((2, 2), np.int32), (1, 1)), TypeError, r"float32 or float64"),
    # pooling
    ("pool kernel 0", lambda: fc.max_pool2d(X, 0), ValueError, r"kernel_size must be positive"),
    ("pool stride 0", lambda: fc.max_pool2d(X, 2, 0), ValueError, r"stride must be positive"),
    ("pool negative padding", lambda: fc.max_pool2d(X, 3, 1, -1), ValueError, r"padding must be non-negative"),
    ("pool padding over half", lambda: fc.max_pool2d(X, 3, 1, 2), ValueError, r"at most half of effective kernel"),
    ("avg padding over half", lambda: fc.avg_pool2d(X, 3, 1, 2), ValueError, r"at most half of kernel"),
    ("pool output too small", lambda: fc.max_pool2d(np.zeros((1, 1, 2, 2), f32), 3), ValueError, r"too small"),
    ("pool dilation 0", lambda: fc.max_pool2d(X, 2, dilation=0), ValueError, r"dilation must be positive"),
    ("pool kernel past int", lambda: fc.max_pool2d(X, 2**31), ValueError, r"kernel_size must be at most 2147483647"),
    ("avg stride past int", lambda: fc.avg_pool2d(X, 2, 2**40), ValueError, r"stride must be at most 2147483647"),
    ("pool kernel triple", lambda: fc.max_pool2d(X, (2, 2, 2)), TypeError, r"kernel_size must be an int or a tuple of two ints"),
    ("pool 2-D input", lambda: fc.max_pool2d(np.zeros((8, 8), f32), 2), ValueError, r"3-D .* or 4-D"),
    ("min pool int input", lambda: fc.min_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2), TypeError, r"float32 or float64"),
    ("divisor zero", lambda: fc.avg_pool2d(X, 2, divisor_override=0), ValueError, r"divisor_override must be non-zero"),
    ("divisor float", lambda: fc.avg_pool2d(X, 2, divisor_override=1.5), TypeError, r"divisor_override must be an int"),
    ("ceil_mode not bool", lambda: fc.max_pool2d(X, 2, ceil_mode="yes"), TypeError, r"ceil_mode must be a bool"),
    # gradients
    ("grad_output shape", lambda: fc.grad.conv2d_input(X.shape, W, np.zeros((2, 6, 5, 5), f32)), ValueError, r"expected grad_output of shape \[2, 6, 6, 6\]"),
    ("input_size type", lambda: fc.grad.conv2d_input(8, W, np.zeros((2, 6, 6, 6), f32)), TypeError, r"input_size must be a tuple"),
    ("weight_size", lambda: fc.grad.conv2d_weight(X, (6, 4, 3), np.zeros((2, 6, 6, 6), f32)), ValueError, r"weight_size must be a tuple of 4"),
    ("indices dtype", lambda: fc.grad.max_pool2d_input(np.zeros((1, 1, 2, 2), f32), np.zeros((1, 1, 2, 2), np.int32), (1, 1, 4, 4)), TypeError, r"indices must be an int64"),
    ("indices out of range", lambda: fc.grad.max_pool2d_input(np.zeros((1, 1, 2, 2), f32), np.full((1, 1, 2, 2), 16), (1, 1, 4, 4)), ValueError, r"indices must lie in"),
    ("indices shape", lambda: fc.grad.max_pool2d_input(np.zeros((1, 1, 2, 2), f32), np.zeros((1, 1, 2, 1), np.int64), (1, 1, 4, 4)), ValueError, r"indices shape"),
    # threads
    ("zero threads", lambda: fc.set_num_threads(0), ValueError, r"num_threads must be positive"),
]


@pytest.mark.parametrize("name,call,exc,match", INVALID, ids=[case[0] for case in INVALID])
def test_invalid_configuration_raises(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("backend", ["reference", "numba", "cpp"])
def test_rules_do_not_depend_on_backend(backend):
    if backend not in fc.info()["backends"]:
        pytest.skip(f"backend {backend} not available")
    with pytest.raises(ValueError, match="to have 4 channels, but got 8"):
        fc.conv2d(np.zeros((1, 8, 5, 5), f32), W, backend=backend)
    with pytest.raises(ValueError, match="at most half"):
        fc.max_pool2d(X, 2, 1, 2, backend=backend)


def test_torch_rejects_what_we_reject():
    """Spot-check that the rules above are torch's rules, not ours."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t = torch.zeros
    for call in (lambda: F.conv2d(t(2, 8, 8, 8), t(6, 4, 3, 3)),
                 lambda: F.conv2d(t(1, 4, 2, 2), t(6, 4, 3, 3)),
                 lambda: F.conv2d(t(2, 4, 8, 8), t(6, 4, 3, 3), stride=2, padding="same"),
                 lambda: F.conv_transpose2d(t(1, 4, 5, 5), t(4, 3, 3, 3), stride=2, output_padding=2),
                 lambda: F.max_pool2d(t(2, 4, 8, 8), 3, 1, 2),
                 lambda: F.avg_pool2d(t(2, 4, 8, 8), 3, 1, 2),
                 lambda: F.pad(t(2, 4, 8, 8), (8, 0, 0, 0), mode="reflect"),
                 lambda: F.pad(t(2, 4, 8, 8), (9, 0, 0, 0), mode="circular"),
                 lambda: F.max_pool2d(t(1, 1, 2, 2), 3)):
        with pytest.raises((RuntimeError, ValueError)):
            call()


def test_common_call_fast_path_agrees_with_the_rules():
    """conv2d's fast path (_validate._conv2d_common_args) takes only calls that the general
    rules accept, and returns the same normalised arguments; anything unusual or invalid is
    left to the general path (which words the errors)."""
    from fastconv import _validate as V

    def same(a, b):
        return all((u is v) if isinstance(u, np.ndarray) else (u == v)
                   for u, v in zip(vars(a).values(), vars(b).values()))

    rng = np.random.default_rng(0)
    valid = [
        (X, W, None, 1, 1, 1, 1),
        (X, W, np.zeros(6, f32), 2, 0, 1, 1),
        (np.zeros((1, 6, 9, 7), f64), np.zeros((6, 1, 3, 2), f64), np.ones(6), 1, 2, 2, 6),
        (np.zeros((3, 4, 5, 5), f32), np.zeros((8, 2, 5, 5), f32), None, 3, 0, 1, 2),
        (rng.random((1, 1, 4, 4)).astype(f32), np.ones((1, 1, 1, 1), f32), None, 1, 0, 1, 1),
        (X, W, None, (2, 1), (0, 1), (1, 2), 1),
    ]
    for args in valid:
        fast = V._conv2d_common_args(*args)
        assert fast is not None and same(fast, V._conv2d_general_args(*args, "zeros"))
    invalid_or_unusual = [
        (np.zeros((2, 8, 8, 8), f32), W, None, 1, 1, 1, 1),          # channel mismatch
        (np.zeros((1, 4, 2, 2), f32), W, None, 1, 0, 1, 1),          # kernel does not fit
        (X, W, None, 1, 0, 4, 1),                                    # dilated kernel too large
        (X, W, None, 0, 1, 1, 1), (X, W, None, True, 1, 1, 1),       # zero / bool stride
        (X, W, None, 1, -1, 1, 1), (X, W, None, 1, 1, 0, 1),         # negative padding, dilation 0
        (X, W, None, 1, 1, 1, 0), (X, np.zeros((5, 2, 3, 3), f32), None, 1, 1, 1, 2),  # groups
        (X, W.astype(f64), None, 1, 1, 1, 1),                        # mixed dtypes
        (X, W, np.zeros(5, f32), 1, 1, 1, 1), (X, W, np.zeros(6, f64), 1, 1, 1, 1),  # bias
        (X[:, :, ::2], W, None, 1, 1, 1, 1),                         # not contiguous
        (X[0], W, None, 1, 1, 1, 1), (X.astype(np.int32), W, None, 1, 1, 1, 1),
        (X.tolist(), W, None, 1, 1, 1, 1), (X, W, None, [1, 1], 1, 1, 1),
        (X, W, None, (1, 0), 1, 1, 1), (X, W, None, 1, (1, -1), 1, 1), (X, W, None, (1,), 1, 1, 1),
        (X, W, None, 1, 1, (1, 2.0), 1), (X, W, None, 1, "same", 1, 1),
        (np.zeros((0, 4, 8, 8), f32), W, None, 1, 1, 1, 1),          # empty batch
        (X.astype(X.dtype.newbyteorder(">")), W.astype(W.dtype.newbyteorder(">")), None, 1, 1,
         1, 1),
    ]
    for args in invalid_or_unusual:
        assert V._conv2d_common_args(*args) is None


def _same_args(a, b):
    """Two argument records hold the same arrays (the very objects) and equal values."""
    return all((u is v) if isinstance(u, np.ndarray) else (u == v)
               for u, v in zip(vars(a).values(), vars(b).values()))


def test_transpose_pool_pad_fast_paths_agree_with_the_rules():
    """conv_transpose2d's, pooling's and pad's fast paths take only calls that the general rules
    accept and return what they return; unusual or invalid calls go the general way. (A size
    rule the pad fast path checks itself raises the general path's error.)"""
    from fastconv import _validate as V
    xt, wt = np.zeros((1, 4, 5, 5), f32), np.zeros((4, 3, 3, 3), f32)
    for args in [(xt, wt, None, 1, 0, 0, 1, 1), (xt, wt, np.ones(6, f32), 2, 1, 1, 2, 1),
                 (xt.astype(f64), np.ones((4, 1, 4, 2), f64), None, (2, 3), (1, 0), (1, 2), 4,
                  (1, 2))]:
        fast = V._conv_transpose2d_common_args(*args)
        assert fast is not None and _same_args(fast, V._conv_transpose2d_general_args(*args))
    for args in [(xt, wt, None, 1, 0, 1, 1, 2),             # output_padding >= stride (allowed)
                 (xt[0], wt, None, 1, 0, 0, 1, 1), (xt, wt, None, 1, 0, 0, 3, 1),  # 3-D; groups
                 (xt, wt, np.ones(6, f64), 1, 0, 0, 1, 1), (xt, wt, None, 1, 4, 0, 1, 1),
                 (xt, wt[:, :, ::2], None, 1, 0, 0, 1, 1), (xt, wt, None, [1, 1], 0, 0, 1, 1),
                 (xt.tolist(), wt, None, 1, 0, 0, 1, 1), (xt, wt.tolist(), None, 1, 0, 0, 1, 1)]:
        assert V._conv_transpose2d_common_args(*args) is None
    for max_like in (True, False):
        for args in [(X, 2, None, 0, 1, False), (X, (3, 2), (1, 2), (1, 0), 1, True),
                     (X.astype(f64), 3, 2, 1, (1, 2) if max_like else 1, False)]:
            fast = V._pool_common_fast(*args, max_like)
            assert fast is not None and _same_args(fast, V._pool_common("op", *args, max_like))
        for args in [(X, 2, None, 2, 1, False),                 # padding over half the kernel
                     (X, 2, (), 0, 1, False), (X[0], 2, None, 0, 1, False),
                     (X, 2, None, 0, 1, 0), (X, 9, None, 0, 1, False), (X, [2, 2], None, 0, 1, False),
                     (X, 2 ** 31, None, 0, 1, False), (X.astype(np.int32), 2, None, 0, 1, False),
                     (X.tolist(), 2, None, 0, 1, False)]:
            assert V._pool_common_fast(*args, max_like) is None
    for args in [(X, (1, 2, 3, 0), "constant", None), (X, (1, 1, 1, 1), "constant", 2),
                 (X, (0, 1, 2, 3), "reflect", None), (X, (8, 0, 1, 1), "circular", None),
                 (X, (3, 3, 0, 0), "replicate", None)]:
        fast = V._pad_common_args(*args)
        assert fast is not None and _same_args(fast, V.pad_args(*args[:2], *args[2:]))
    for args in [(X, (1, 1), "constant", None), (X, (-1, 1, 0, 0), "constant", None),
                 (X, [1, 1, 1, 1], "constant", None), (X, (1, 1, 1, 1), "reflect", 0.0),
                 (X, (1, 1, 1, 1), "constant", True), (X, (1, 1, 1, 1), "wrap", None),
                 (X[0], (1, 1, 1, 1), "constant", None), (X.tolist(), (1, 1, 1, 1), "constant", None)]:
        assert V._pad_common_args(*args) is None
    with pytest.raises(ValueError, match="reflect padding must be less than the input size"):
        V._pad_common_args(X, (8, 0, 0, 0), "reflect", None)
    # array-likes go the general way, converted (the short paths take NumPy arrays only)
    xl = np.ones((1, 1, 4, 4)).tolist()
    assert fc.conv_transpose2d(xl, np.ones((1, 1, 3, 3))).shape == (1, 1, 6, 6)
    assert fc.max_pool2d(xl, 2).shape == fc.avg_pool2d(xl, 2).shape == (1, 1, 2, 2)
    assert fc.pad(xl, (1, 1, 1, 1), "reflect").shape == (1, 1, 6, 6)
