"""The folded bias of conv2d (bias as an extra GEMM column against a ones row of the im2col columns,
db out of the dW GEMM) against the plain path (bias added afterwards, db a reduction) and PyTorch."""
import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F
from tinygrad_np.ops import conv as conv_module
from conv_torch_oracle import assert_matches_torch_conv2d

GEOMETRIES = [  # x shape, weight shape, stride, padding, dilation, groups
    ((2, 3, 9, 8), (4, 3, 3, 3), 1, 0, 1, 1),
    ((3, 2, 7, 10), (5, 2, 3, 2), 1, 1, 1, 1),
    ((2, 4, 11, 9), (3, 4, 3, 3), 2, 1, 1, 1),
    ((1, 3, 12, 12), (2, 3, 3, 3), 1, 2, 2, 1),
    ((2, 4, 8, 8), (6, 2, 3, 3), 1, 1, 1, 2),            # groups: the plain path
    ((33, 3, 20, 20), (4, 3, 3, 3), 1, 0, 1, 1),          # several batch chunks
]


def _run(x, w, b, geo, x_grad, dtype, fold):
    stride, padding, dilation, groups = geo
    original = conv_module._folds_bias
    if not fold:
        conv_module._folds_bias = lambda *a: False
    try:
        xt = tg.Tensor(x.astype(dtype), requires_grad=x_grad)
        wt, bt = tg.Tensor(w.astype(dtype), requires_grad=True), tg.Tensor(b.astype(dtype), requires_grad=True)
        out = F.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
        g = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
        out.backward(tg.Tensor(g))
    finally:
        conv_module._folds_bias = original
    return out.numpy(), wt.grad.numpy(), bt.grad.numpy(), (xt.grad.numpy() if x_grad else None), g


@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("case", GEOMETRIES)
def test_folded_bias_matches_plain_path_float64(case, x_grad):
    xs, ws, *geo = case
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    folded = _run(x, w, b, geo, x_grad, np.float64, True)
    plain = _run(x, w, b, geo, x_grad, np.float64, False)
    for a, p in zip(folded[:4], plain[:4]):
        if p is not None:
            np.testing.assert_allclose(a, p, rtol=1e-12, atol=1e-12)
    assert folded[0].dtype == np.float64 and folded[2].dtype == np.float64


def test_folded_bias_is_taken_only_for_one_group_and_dtype():
    x, w, b = np.zeros((1, 4, 5, 5), np.float32), np.zeros((2, 4, 3, 3), np.float32), np.zeros(2, np.float32)
    assert conv_module._folds_bias(x, w, b, 1)
    assert not conv_module._folds_bias(x, w.reshape(4, 2, 3, 3), b, 2)
    assert not conv_module._folds_bias(x, w, b.astype(np.float64), 1)
    assert not conv_module._folds_bias(x, w, None, 1)


@pytest.mark.parametrize("x_grad", [False, True])
@pytest.mark.parametrize("case", GEOMETRIES)
def test_folded_bias_matches_torch_float32(case, x_grad):
    torch = pytest.importorskip("torch")
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(2)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in (xs, ws, (ws[0],)))
    out, dw, db, dx, g = _run(x, w, b, (stride, padding, dilation, groups), x_grad, np.float32, True)
    assert_matches_torch_conv2d(torch, x, w, b, g, out, dx, dw, db, stride=stride, padding=padding,
                                dilation=dilation, groups=groups)


def test_folded_bias_gradcheck_float64():
    rng = np.random.default_rng(3)
    x = tg.Tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))
    assert tg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))


def test_relu_backward_zero_at_zero_and_nan_passes():
    x = tg.Tensor(np.array([-1.0, -0.0, 0.0, 2.0, np.nan], np.float32), requires_grad=True)
    x.relu().backward(tg.Tensor(np.full(5, 3.0, np.float32)))
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 3.0, 3.0])
