"""fastconv.torch: the custom operators (opcheck, gradcheck), the modules, convert() on a
ResNet-18-style model (outputs and training gradients vs PyTorch), and the ImportError
without torch. Skipped when torch is not installed."""
import copy
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import fastconv.torch as fct  # noqa: E402  (after the skip: needs torch, must not be skipped itself)
nn = torch.nn
F = torch.nn.functional


@pytest.fixture(autouse=True, scope="module")
def one_kernel_thread():
    """The adapter, not threading, is under test here; gradcheck makes hundreds of tiny calls,
    and on a busy machine every parallel region can wait a scheduler tick for its second core."""
    import fastconv as fc
    saved = fc.get_num_threads()
    fc.set_num_threads(1)
    yield
    fc.set_num_threads(saved)


def _t(*shape, dtype=torch.float64, grad=False, seed=0):
    g = torch.Generator().manual_seed(seed + sum(shape))
    return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_(grad)


# (input shape, weight shape, with bias, stride, padding, dilation, groups)
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), True, [1, 1], [1, 1], [1, 1], 1),
    ((1, 4, 9, 8), (6, 2, 3, 2), False, [2, 1], [0, 1], [2, 1], 2),
    ((5, 6, 7), (2, 5, 1, 1), True, [1, 1], [0, 0], [1, 1], 1),            # unbatched
]
# (input shape, weight shape, with bias, stride, padding, output_padding, groups, dilation)
TRANSPOSE_CASES = [
    ((2, 4, 3, 4), (4, 3, 4, 4), True, [2, 2], [1, 1], [0, 0], 1, [1, 1]),
    ((1, 4, 4, 3), (4, 1, 3, 2), False, [2, 3], [1, 0], [1, 2], 2, [1, 2]),
    # output_padding >= stride (below the dilation)
    ((2, 3, 4, 3), (3, 2, 3, 2), True, [1, 2], [1, 0], [1, 2], 1, [2, 3]),
]
# (input shape, kernel, stride, padding, dilation, ceil_mode)
POOL_CASES = [
    ((2, 3, 8, 7), [2, 2], [2, 2], [0, 0], [1, 1], False),
    ((1, 2, 9, 9), [3, 2], [2, 1], [1, 1], [1, 2], True),
]


def _conv_args(case, dtype, grad=False):
    xs, ws, bias, stride, padding, dilation, groups = case
    return (_t(*xs, dtype=dtype, grad=grad), _t(*ws, dtype=dtype, grad=grad, seed=1),
            _t(ws[0], dtype=dtype, grad=grad, seed=2) if bias else None,
            stride, padding, dilation, groups)


def _transpose_args(case, dtype, grad=False):
    xs, ws, bias, stride, padding, output_padding, groups, dilation = case
    return (_t(*xs, dtype=dtype, grad=grad), _t(*ws, dtype=dtype, grad=grad, seed=1),
            _t(ws[1] * groups, dtype=dtype, grad=grad, seed=2) if bias else None,
            stride, padding, output_padding, groups, dilation)


def _pool_args(case, dtype, grad=False):
    xs, *rest = case
    return (_t(*xs, dtype=dtype, grad=grad), *rest)


OPS = [(fct.conv2d, F.conv2d, _conv_args, CONV_CASES),
       (fct.conv_transpose2d, F.conv_transpose2d, _transpose_args, TRANSPOSE_CASES),
       (fct.max_pool2d, lambda x, k, s, p, d, c: F.max_pool2d(x, k, s, p, d, c, return_indices=True),
        _pool_args, POOL_CASES)]
OP_CASES = [pytest.param(op, ref, make, case, id=f"{op._name}-{i}")
            for op, ref, make, cases in OPS for i, case in enumerate(cases)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("op, ref, make, case", OP_CASES)
def test_opcheck(op, ref, make, case, dtype):
    torch.library.opcheck(op, make(case, dtype, grad=True))


@pytest.mark.parametrize("op, ref, make, case", OP_CASES)
def test_matches_torch(op, ref, make, case):
    args = make(case, torch.float32)
    got, expected = op(*args), ref(*args)
    for g, e in zip(*((got, expected) if isinstance(got, tuple) else ((got,), (expected,)))):
        assert g.shape == e.shape and g.dtype == e.dtype
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("op, ref, make, case", OP_CASES)
def test_gradcheck(op, ref, make, case):
    args = make(case, torch.float64, grad=True)
    if op is fct.max_pool2d:
        fn = lambda x: op(x, *args[1:])[0]
        assert torch.autograd.gradcheck(fn, args[:1])
    else:
        tensors = [a for a in args[:3] if a is not None]
        fn = lambda *t: op(t[0], t[1], t[2] if len(t) > 2 else None, *args[3:])
        assert torch.autograd.gradcheck(fn, tensors)


@pytest.mark.parametrize("dilated", [False, True])
def test_max_pool_windows_wholly_in_padding(dilated):
    """Every window of this dilated pooling lies in the padding: outputs -inf with PyTorch's
    indices, and a zero gradient (PyTorch's own backward writes through those indices, past
    the plane). opcheck runs the backward op with and without dropping such windows."""
    x = _t(2, 2, 2, 3, grad=True)
    args = ([2, 2], [1, 1], [1, 1], [3, 1] if dilated else [1, 1], False)
    y, indices = fct.max_pool2d(x, *args)
    expected = F.max_pool2d(x.detach(), *args, return_indices=True)
    torch.testing.assert_close(y, expected[0])
    torch.testing.assert_close(indices, expected[1])
    assert bool(torch.isinf(y).all()) == dilated
    y.backward(torch.ones_like(y))
    if dilated:
        torch.testing.assert_close(x.grad, torch.zeros_like(x))
    grad_args = (torch.ones_like(y), indices, list(x.shape), dilated)
    torch.library.opcheck(torch.ops.fastconv.max_pool2d_backward, grad_args)


def test_conv_transpose_with_an_empty_output():
    """An output size of 0: an empty output, as PyTorch's (in float32; its float64 path
    raises), and zero gradients."""
    f32 = dict(dtype=torch.float32, grad=True)
    x, w, b = _t(2, 4, 1, 17, **f32), _t(4, 3, 1, 2, **f32), _t(3, **f32)
    y = fct.conv_transpose2d(x, w, b, [2, 3], [1, 0], [1, 2], 1, [1, 1])
    assert y.shape == F.conv_transpose2d(x.detach(), w.detach(), b.detach(), stride=(2, 3),
                                         padding=(1, 0), output_padding=(1, 2)).shape
    y.sum().backward()
    for t in (x, w, b):
        torch.testing.assert_close(t.grad, torch.zeros_like(t))


@pytest.mark.parametrize("module", [
    nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False),
    nn.Conv2d(4, 4, 4, padding="same", groups=2),                 # even kernel: uneven pads
    nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2),
    nn.Conv2d(3, 2, 3, padding=1, padding_mode="reflect"),
    nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
    nn.MaxPool2d(3, 2, 1),
    nn.MaxPool2d(2, return_indices=True, ceil_mode=True),
], ids=repr)
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_converted_modules_match_torch(module):
    x = torch.randn(2, module.in_channels if hasattr(module, "in_channels") else 3, 9, 9)
    if getattr(module, "in_channels", 3) == 4:
        x = torch.randn(2, 4, 9, 9)
    converted = fct.convert(module)
    assert type(converted) is not type(module) and isinstance(converted, type(module))
    assert converted.state_dict().keys() == module.state_dict().keys()
    expected, got = module(x), converted(x)
    for g, e in zip(*((got, expected) if isinstance(got, tuple) else ((got,), (expected,)))):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-4)
    if isinstance(module, nn.ConvTranspose2d):   # output_size picks the output padding
        torch.testing.assert_close(converted(x, output_size=[18, 17]),
                                   module(x, output_size=[18, 17]), rtol=1e-4, atol=1e-4)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                         nn.BatchNorm2d(cout))
                           if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.downsample(x))


class SmallResNet18(nn.Module):
    """ResNet-18's structure (7x7/2 stem, 3x3/2 max pool, 4 stages of 2 basic blocks) with a
    quarter of the channels, so it runs in a fraction of a second on 32x32 inputs."""

    def __init__(self, width=16, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        blocks, cin = [], width
        for i, cout in enumerate((width, 2 * width, 4 * width, 8 * width)):
            blocks += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layers(x), 1), 1))


def _rel_err(got, expected):
    return ((got - expected).abs().max() / expected.abs().max()).item()


def test_resnet18_style_model_outputs_and_gradients_match():
    # Batch 8: the last stage is 1x1, and training-mode batch norm over only 4 values there
    # magnifies float32 rounding past 1e-3 for torch's own float32-vs-float64 gradients too.
    torch.manual_seed(0)
    model = SmallResNet18()
    converted = fct.convert(model)
    assert model.state_dict().keys() == converted.state_dict().keys()
    kinds = {type(m) for m in converted.modules()}
    assert {fct.Conv2d, fct.MaxPool2d} <= kinds and nn.Conv2d not in kinds
    x = torch.randn(8, 3, 32, 32)
    model.eval(), converted.eval()
    with torch.no_grad():
        assert _rel_err(converted(x), model(x)) < 1e-4
    model.train(), converted.train()
    target = torch.randint(0, 10, (8,))
    for m in (model, converted):
        F.cross_entropy(m(x), target).backward()
    for (name, p), q in zip(model.named_parameters(), converted.parameters()):
        assert _rel_err(q.grad, p.grad) < 1e-3, name


def test_inference_plans_follow_weight_changes():
    """Calls that record no gradient run a cached Conv2dPlan; it must be rebuilt whenever the
    weights change, however they change."""
    torch.manual_seed(1)
    ref = nn.Conv2d(3, 4, 3, padding=1)
    conv = fct.convert(ref)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), ref(x))
        for m in (ref, conv):                       # in place: the tensor's version changes
            m.weight.mul_(2)
            m.bias.add_(1)
        torch.testing.assert_close(conv(x), ref(x))
        ref.load_state_dict({"weight": -ref.weight, "bias": ref.bias})
        conv.load_state_dict(ref.state_dict())
        torch.testing.assert_close(conv(x), ref(x))
        conv.weight = nn.Parameter(ref.weight * 3)  # replaced
        ref.weight.mul_(3)
        torch.testing.assert_close(conv(x), ref(x))
        torch.testing.assert_close(conv(x[:1, :, :5]), ref(x[:1, :, :5]))   # another size
    assert conv(x).grad_fn is not None              # gradients still go through the operator
    copy.deepcopy(conv)                             # plans live outside the module


def test_convert_inplace_and_leaves_others_alone():
    class Custom(nn.Conv2d):
        pass
    model = nn.Sequential(nn.Conv2d(1, 1, 1), Custom(1, 1, 1), nn.Conv2d(1, 1, 1).half())
    assert fct.convert(model, inplace=True) is model
    assert [type(m) for m in model] == [fct.Conv2d, Custom, nn.Conv2d]
    with pytest.raises(TypeError, match="torch.nn.Module"):
        fct.convert(object())


def test_export_and_compile_trace_the_operators():
    model = fct.convert(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2),
                                      nn.ConvTranspose2d(4, 2, 2, stride=2)))
    x = torch.randn(1, 3, 8, 8, requires_grad=True)
    exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x), model(x))
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)   # no C compiler needed
    y = compiled(x)
    torch.testing.assert_close(y, model(x))
    y.sum().backward()
    assert x.grad.shape == x.shape


def test_import_without_torch_says_what_to_install():
    code = "import sys; sys.modules['torch'] = None\nimport fastconv.torch"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install torch==2.13.0" in result.stderr
