"""conv2d and pooling on inputs whose memory is not one C-ordered run per plane (flipped, sliced,
transposed views: the layouts where a fast path that assumes contiguous rows would read the wrong
pixels), and the pooling defaults PyTorch users rely on without passing them.

Oracles: the definition of a valid stride-1 cross-correlation and its adjoint written with einsum
over kernel offsets (float64; the library sums the same products in another order, so values agree to
~1e-15 and a wrong pixel is off by O(1): rtol 1e-10), closed forms for the pooling cases, and PyTorch
where installed."""
import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F


def correlate(x, w):
    """out[n, o, h, v] = Σ_{c, i, j} x[n, c, h + i, v + j] · w[o, c, i, j] (stride 1, no padding)."""
    kh, kw = w.shape[2:]
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    return sum(np.einsum("nchv,oc->nohv", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
               for i in range(kh) for j in range(kw))


def correlate_grads(x, w, g):
    """(dL/dx, dL/dw) of L = Σ g · correlate(x, w)."""
    kh, kw = w.shape[2:]
    oh, ow = g.shape[2:]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + oh, j:j + ow] += np.einsum("nohv,oc->nchv", g, w[:, :, i, j])
            dw[:, :, i, j] = np.einsum("nohv,nchv->oc", g, x[:, :, i:i + oh, j:j + ow])
    return dx, dw


rng = np.random.default_rng(19)
BASE = rng.standard_normal((2, 3, 6, 8))
LAYOUTS = {
    "W flipped": lambda a: a[..., ::-1],             # rows run backwards: strides[3] < 0
    "H flipped": lambda a: a[:, :, ::-1],            # planes run backwards: strides[2] < 0
    "W sliced": lambda a: a[..., 1:6],               # rows contiguous, but do not continue into each other
    "transposed": lambda a: a.transpose(0, 1, 3, 2),
    "every other W": lambda a: a[..., ::2],
    "channel sliced": lambda a: a[:, 1:],            # planes contiguous: the fast path is right here
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv2d_on_a_strided_input_view(layout):
    x = LAYOUTS[layout](BASE)
    assert not x.flags.c_contiguous
    w = rng.standard_normal((4, x.shape[1], 2, 3))
    g = rng.standard_normal((x.shape[0], 4, x.shape[2] - 1, x.shape[3] - 2))
    xt = tg.Tensor(x, requires_grad=True)            # requires grad: the input-gradient layout is chosen
    wt = tg.Tensor(w, requires_grad=True)
    out = F.conv2d(xt, wt)
    np.testing.assert_allclose(out.numpy(), correlate(x, w), rtol=1e-10, atol=1e-12)
    out.backward(tg.Tensor(g))
    dx, dw = correlate_grads(x, w, g)
    np.testing.assert_allclose(xt.grad.numpy(), dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(wt.grad.numpy(), dw, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv2d_on_a_strided_view_of_a_tensor(layout):
    """The same through Tensor indexing/transposing: the view the library makes itself."""
    base = tg.Tensor(BASE.copy(), requires_grad=True)
    view = {"W flipped": lambda t: t[..., ::-1],
            "H flipped": lambda t: t[:, :, ::-1], "W sliced": lambda t: t[..., 1:6],
            "transposed": lambda t: t.transpose(2, 3), "every other W": lambda t: t[..., ::2],
            "channel sliced": lambda t: t[:, 1:]}[layout]
    x = LAYOUTS[layout](BASE)
    w = rng.standard_normal((2, x.shape[1], 3, 3))
    out = F.conv2d(view(base), tg.Tensor(w))
    np.testing.assert_allclose(out.numpy(), correlate(x, w), rtol=1e-10, atol=1e-12)
    g = np.ones(out.shape)
    out.backward(tg.Tensor(g))
    expected = np.zeros_like(BASE)
    LAYOUTS[layout](expected)[...] = correlate_grads(x, w, g)[0]     # scatter through the same view
    np.testing.assert_allclose(base.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


ONE_COLUMN = {
    "flipped": lambda: rng.standard_normal((1, 2, 4, 1))[..., ::-1],        # strides[3] < 0
    "first column of a wider array": lambda: rng.standard_normal((1, 2, 4, 5))[..., :1],
    "two flipped columns": lambda: rng.standard_normal((1, 2, 4, 2))[..., ::-1],
}


@pytest.mark.parametrize("case", ONE_COLUMN)
def test_conv2d_on_one_or_two_column_views(case):
    """A bug this test found: one-column planes were taken for contiguous whatever their strides,
    and the wide copy then read along a row of the parent array (or backwards) instead of down."""
    x = ONE_COLUMN[case]()
    w = rng.standard_normal((3, 2, 2, 1))
    xt = tg.Tensor(x, requires_grad=True)
    out = F.conv2d(xt, tg.Tensor(w))
    np.testing.assert_allclose(out.numpy(), correlate(x, w), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(tg.Tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), correlate_grads(x, w, g)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pools_on_a_strided_input_view(layout):
    x = LAYOUTS[layout](BASE)
    h, v = (x.shape[2] // 2) * 2, (x.shape[3] // 2) * 2
    xt = tg.Tensor(x, requires_grad=True)
    tiles = x[:, :, :h, :v].reshape(x.shape[0], x.shape[1], h // 2, 2, v // 2, 2)
    out = F.max_pool2d(xt, 2)
    np.testing.assert_array_equal(out.numpy(), tiles.max(axis=(3, 5)))
    out.sum().backward()
    assert xt.grad.numpy().sum() == out.numel()          # one winner per window
    np.testing.assert_allclose(F.avg_pool2d(tg.Tensor(x), 2).numpy(), tiles.mean(axis=(3, 5)), rtol=1e-12)


def test_avg_pool2d_counts_padding_by_default():
    """PyTorch's default count_include_pad=True: a 2x2 window holding one real pixel and three
    padding zeros averages to x/4, not x."""
    x = tg.Tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    out = F.avg_pool2d(x, 2, padding=1)
    np.testing.assert_array_equal(out.numpy(), [[[[0.25, 0.5], [0.75, 1.0]]]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((1, 1, 2, 2), 0.25))
    np.testing.assert_array_equal(tg.nn.AvgPool2d(2, padding=1)(x).numpy(), out.numpy())
    excluded = F.avg_pool2d(x, 2, padding=1, count_include_pad=False)
    np.testing.assert_array_equal(excluded.numpy(), [[[[1.0, 2.0], [3.0, 4.0]]]])


def test_pool_stride_defaults_to_the_kernel():
    x = np.arange(36.0).reshape(1, 1, 6, 6)
    out = F.max_pool2d(tg.Tensor(x), 3)                     # stride 3: 2x2 output
    np.testing.assert_array_equal(out.numpy(), [[[[14.0, 17.0], [32.0, 35.0]]]])
    np.testing.assert_array_equal(F.avg_pool2d(tg.Tensor(x), 3).numpy(), [[[[7.0, 10.0], [25.0, 28.0]]]])
    np.testing.assert_array_equal(F.max_pool2d(tg.Tensor(x), 3, stride=()).numpy(), out.numpy())


def test_against_torch_on_strided_views():
    torch = pytest.importorskip("torch")
    for layout, view in LAYOUTS.items():
        x = np.ascontiguousarray(view(BASE))
        w = rng.standard_normal((2, x.shape[1], 2, 2))
        ours = F.conv2d(tg.Tensor(view(BASE), requires_grad=True), tg.Tensor(w))
        theirs = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12, err_msg=layout)
        ours_avg = F.avg_pool2d(tg.Tensor(view(BASE)), 3, stride=1, padding=1)
        theirs_avg = torch.nn.functional.avg_pool2d(torch.from_numpy(x), 3, stride=1, padding=1)
        np.testing.assert_allclose(ours_avg.numpy(), theirs_avg.numpy(), rtol=1e-12, err_msg=layout)


def test_conv2d_result_type_includes_the_bias():
    """DESIGN's promotion rule (float32 with float64 gives float64) holds for all three operands: a
    float64 bias on float32 input and weight gives a float64 result, as `x32 @ w32 + b64` does (the
    products in float32, so values agree with the float64 definition to float32 rounding: rtol 1e-5),
    and the bias gradient keeps the bias's dtype."""
    x = BASE[:, :, :5, :5].astype(np.float32)
    w = rng.standard_normal((4, 3, 2, 2)).astype(np.float32)
    b = rng.standard_normal(4)
    bt = tg.Tensor(b, requires_grad=True)
    out = F.conv2d(tg.Tensor(x), tg.Tensor(w), bt)
    assert out.dtype == np.float64
    want = correlate(x.astype(np.float64), w.astype(np.float64)) + b[:, None, None]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-5)
    out.sum().backward()
    assert bt.grad.dtype == np.float64
    np.testing.assert_allclose(bt.grad.numpy(), np.full(4, x.shape[0] * 4 * 4.0), rtol=1e-12)
