"""conv2d: forward against a direct loop over output positions (the readable definition), gradients
against float64 central differences on hypothesis-drawn geometries (groups, stride, padding, dilation),
im2col/col2im as an adjoint pair on both column layouts, bad input, and the nn.Conv2d layer.

Tolerances: gradients use the project defaults (tinygrad_np/testing.py: atol 1e-6, rtol 1e-5, eps 1e-6).
Forward values are compared at 1e-10 relative: im2col + BLAS sums the same products as the loop in a
different order, a float64 rounding difference of ~1e-16 per term; a wrong window is off by O(1).
"""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np.nn.functional import conv2d
from tinygrad_np.ops.im2col import col2im, im2col, out_size, pad
from tinygrad_np.testing import arrays, assert_grad_close, conv_geometries

FWD = dict(forward_rtol=1e-10, forward_atol=1e-12)


def naive_conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """The definition, one output pixel at a time: out[n, o, oh, ow] = b[o] +
    Σ_{c, i, j} x_padded[n, g·C/G + c, oh·SH + i·DH, ow·SW + j·DW] · w[o, c, i, j], g = o // (O/G)."""
    n, c_in, h, wd = x.shape
    c_out, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, oh, ow))
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for r in range(oh):
            for q in range(ow):
                patch = xp[:, g * cg:(g + 1) * cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                           q * sw:q * sw + dw * (kw - 1) + 1:dw]
                out[:, o, r, q] = np.sum(patch * w[o], axis=(1, 2, 3)) + (0.0 if b is None else b[o])
    return out


def _arrays(geo, data):
    x = data.draw(arrays((geo["N"], geo["C_in"], geo["H"], geo["W"])), label="x")
    w = data.draw(arrays((geo["C_out"], geo["C_in"] // geo["groups"]) + geo["kernel"]), label="w")
    b = data.draw(arrays((geo["C_out"],)), label="b")
    return x, w, b


def _kw(geo):
    return dict(stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"], groups=geo["groups"])


# ---- values and gradients -------------------------------------------------------------------------
def test_naive_reference_is_a_convolution():
    """The oracle itself, on a case small enough to do by hand."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])            # x[r, q] - x[r+1, q+1] = -5 everywhere
    np.testing.assert_array_equal(naive_conv2d(x, w), np.full((1, 1, 3, 3), -5.0))
    np.testing.assert_array_equal(naive_conv2d(x, w, stride=(2, 2), padding=(1, 1))[0, 0],
                                  [[-0.0, -2.0, 0.0], [-8.0, -5.0, 7.0], [0.0, 13.0, 15.0]])


@given(conv_geometries(), st.data())
def test_conv2d_values_and_gradients(geo, data):
    """All of x, weight and bias require grad: stride-1 convolutions take the wide-column path."""
    x, w, b = _arrays(geo, data)
    kw = _kw(geo)
    assert_grad_close(lambda x_, w_, b_: conv2d(x_, w_, b_, **kw), x, w, b,
                      reference=lambda x_, w_, b_: naive_conv2d(x_, w_, b_, **kw), **FWD)


@given(conv_geometries(), st.data())
def test_conv2d_weight_gradient_with_constant_input(geo, data):
    """A first layer: the input needs no gradient, so the plain-window path runs and no col2im."""
    x, w, b = _arrays(geo, data)
    kw = _kw(geo)
    xt = tg.Tensor(x)
    assert_grad_close(lambda w_, b_: conv2d(xt, w_, b_, **kw), w, b,
                      reference=lambda w_, b_: naive_conv2d(x, w_, b_, **kw), **FWD)


@given(conv_geometries(), st.data())
def test_conv2d_input_gradient_with_frozen_weight_and_no_bias(geo, data):
    x, w, _ = _arrays(geo, data)
    kw = _kw(geo)
    wt = tg.Tensor(w)
    assert_grad_close(lambda x_: conv2d(x_, wt, None, **kw), x,
                      reference=lambda x_: naive_conv2d(x_, w, None, **kw), **FWD)


@given(conv_geometries(max_size=6), st.data(), st.booleans())
def test_im2col_col2im_are_adjoint(geo, data, wide):
    """<im2col(x), c> == <x, col2im(c)> for every c (with the wide grid's junk columns zero), which is
    exactly the statement that col2im is the gradient of im2col; and both layouts hold the same windows."""
    kernel, stride, dilation = geo["kernel"], geo["stride"], geo["dilation"]
    ph, pw = geo["padding"]
    x = data.draw(arrays((geo["N"], geo["C_in"], geo["H"], geo["W"])))
    xp = pad(x, (ph, ph, pw, pw))
    wide = wide and stride == (1, 1)
    out_hw = (out_size(xp.shape[2], kernel[0], stride[0], 0, 0, dilation[0]),
              out_size(xp.shape[3], kernel[1], stride[1], 0, 0, dilation[1]))
    cols = im2col(xp, kernel, stride, dilation, out_hw, wide)
    plain = im2col(xp, kernel, stride, dilation, out_hw, False)
    n, c, kh, kw, length = cols.shape
    rng = np.random.default_rng(0)
    dcols = rng.standard_normal(cols.shape)
    if wide:
        grid = cols.reshape(n, c, kh, kw, out_hw[0], xp.shape[3])
        np.testing.assert_array_equal(grid[..., :out_hw[1]].reshape(plain.shape), plain)
        dcols.reshape(grid.shape)[..., out_hw[1]:] = 0
    dxp = col2im(dcols, xp.shape, kernel, stride, dilation, out_hw, wide)
    np.testing.assert_allclose(np.sum(cols * dcols), np.sum(xp * dxp), rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_and_matches_float64():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    ts = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
    out = conv2d(*ts, padding=1, groups=2)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert all(t.grad.dtype == np.float32 for t in ts)
    ref = naive_conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding=(1, 1), groups=2)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)   # float32: ~1e-7 per term, 18 terms


def test_unbatched_input_and_padding_strings():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((3, 6, 7)), rng.standard_normal((4, 3, 2, 3))
    out = conv2d(tg.Tensor(x), tg.Tensor(w), padding="valid")
    assert out.shape == (4, 5, 5)
    np.testing.assert_allclose(out.numpy(), naive_conv2d(x[None], w)[0], rtol=1e-10)
    same = conv2d(tg.Tensor(x[None]), tg.Tensor(w), padding="same", dilation=2)
    assert same.shape == (1, 4, 6, 7)
    # 'same' with an even effective kernel pads one more at the bottom/right, as PyTorch does
    xp = np.pad(x[None], ((0, 0), (0, 0), (1, 1), (2, 2)))
    np.testing.assert_allclose(same.numpy(), naive_conv2d(xp, w, dilation=(2, 2)), rtol=1e-10)
    x2 = rng.standard_normal((1, 3, 5, 5))
    same2 = conv2d(tg.Tensor(x2), tg.Tensor(w), padding="same")        # kernel (2, 3): pads (0, 1) rows
    np.testing.assert_allclose(same2.numpy(), naive_conv2d(np.pad(x2, ((0, 0), (0, 0), (0, 1), (1, 1))), w),
                               rtol=1e-10)


def test_noncontiguous_input_takes_plain_windows_and_is_correct():
    """A transposed view cannot use the wide grid (its rows do not continue into each other)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    assert not tg.Tensor(x).transpose(2, 3).numpy().flags.c_contiguous
    assert_grad_close(lambda x_, w_: conv2d(x_.transpose(2, 3), w_), x, w,
                      reference=lambda x_, w_: naive_conv2d(np.swapaxes(x_, 2, 3), w_), **FWD)


# ---- the graph: what is kept, what is freed ---------------------------------------------------------
def test_no_columns_are_kept_between_forward_and_backward():
    """The graph holds the input (for dW) and the weight (for dx), never an im2col buffer."""
    x = tg.Tensor(np.ones((2, 2, 5, 5)), requires_grad=True)
    w = tg.Tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    with tg.no_grad():
        assert conv2d(x, w).grad_fn is None                         # nothing recorded, nothing kept
    frozen = conv2d(x, tg.Tensor(np.ones((3, 2, 3, 3))), padding=1)
    assert frozen.grad_fn.saved_tensors[0] is None                  # no weight gradient: not even x
    out = conv2d(x, w, padding=1)
    saved = out.grad_fn.saved_tensors
    assert saved[0] is x.numpy() and saved[1] is w.numpy()
    node = out.grad_fn
    out.sum().backward()
    assert node.saved_tensors is None                               # the engine dropped them


def test_batch_chunks_give_the_same_result():
    """Chunk boundaries (several samples per chunk, a short last chunk) must not change anything."""
    from tinygrad_np.ops import conv as conv_module
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((7, 4, 6, 5)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    results = []
    old = conv_module.CHUNK_BYTES
    try:
        for chunk_bytes in (1, 3 * 4 * 3 * 2 * 42 * 8, 1 << 30):      # 1, 3 and all samples per chunk
            conv_module.CHUNK_BYTES = chunk_bytes
            ts = [tg.Tensor(a, requires_grad=True) for a in (x, w, b)]
            out = conv2d(*ts, padding=1, groups=2)
            out.backward(np.cos(np.arange(out.numpy().size)).reshape(out.shape))
            results.append([out.numpy()] + [t.grad.numpy() for t in ts])
    finally:
        conv_module.CHUNK_BYTES = old
    for other in results[1:]:
        for a, r in zip(other, results[0]):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


# ---- bad input --------------------------------------------------------------------------------------
def _t(*shape, dtype=np.float64):
    return tg.Tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize("args, kwargs, match", [
    ((_t(4, 5), _t(2, 1, 3, 3)), {}, r"conv2d: expected a 3-D \(C, H, W\) or 4-D .* got shape \(4, 5\)"),
    ((_t(1, 1, 1, 4, 5), _t(2, 1, 3, 3)), {}, r"conv2d: expected .* got shape \(1, 1, 1, 4, 5\)"),
    ((_t(1, 3, 5, 5), _t(2, 3, 3)), {}, r"conv2d: weight must be 4-D .* got shape \(2, 3, 3\)"),
    ((_t(1, 4, 5, 5), _t(2, 3, 3, 3)), {}, r"conv2d: input \(1, 4, 5, 5\) has 4 channels, but weight "
                                           r"\(2, 3, 3, 3\) with groups=1 expects 3"),
    ((_t(1, 4, 5, 5), _t(4, 4, 3, 3)), {"groups": 2}, r"input \(1, 4, 5, 5\) has 4 channels, but weight "
                                                      r"\(4, 4, 3, 3\) with groups=2 expects 8"),
    ((_t(1, 4, 5, 5), _t(3, 2, 3, 3)), {"groups": 2}, r"conv2d: weight \(3, 2, 3, 3\) has 3 output channels, "
                                                      r"not divisible by groups=2"),
    ((_t(1, 1, 2, 2), _t(1, 1, 3, 3)), {}, r"conv2d: kernel \(3, 3\) with dilation \(1, 1\) spans 3x3, larger "
                                           r"than the padded input 2x2 \(input \(1, 1, 2, 2\)"),
    ((_t(1, 1, 4, 4), _t(1, 1, 3, 3)), {"dilation": 2}, r"spans 5x5, larger than the padded input 4x4"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"stride": 0}, r"conv2d: stride must be at least 1, got 0"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"stride": (1, -2)}, r"conv2d: stride must be at least 1, got \(1, -2\)"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"padding": -1}, r"conv2d: padding must be at least 0"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"dilation": 0}, r"conv2d: dilation must be at least 1"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"groups": 0}, r"conv2d: groups must be a positive integer"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"padding": "same", "stride": 2}, r"padding='same' is not supported"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"padding": "full"}, r"conv2d: padding must be an int, a pair"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3), _t(2)), {}, r"conv2d: bias must have shape \(1,\) for weight "
                                                   r"\(1, 1, 3, 3\), got \(2,\)"),
    ((_t(1, 1, 5, 5, dtype=np.int64), _t(1, 1, 3, 3)), {}, r"conv2d: input must be floating point"),
    ((_t(1, 1, 5, 5), _t(1, 1, 3, 3)), {"stride": 1.5}, r"conv2d: stride must be an int or a pair"),
])
def test_bad_input_raises_naming_op_and_shapes(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        conv2d(*args, **kwargs)


# ---- the layer --------------------------------------------------------------------------------------
nn_conv = pytest.importorskip("tinygrad_np.nn.conv")


def test_conv2d_layer_shapes_init_and_forward():
    tg.manual_seed(0)
    layer = nn_conv.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert layer.weight.shape == (6, 2, 3, 3) and layer.bias.shape == (6,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    bound = 1 / math.sqrt(2 * 3 * 3)                    # kaiming_uniform(a=√5) on fan_in = C_in/groups·KH·KW
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.numpy()) <= bound) and np.abs(p.numpy()).max() > 0.5 * bound
    x = np.random.default_rng(0).standard_normal((2, 4, 7, 7)).astype(np.float32)
    out = layer(tg.Tensor(x))
    assert out.shape == (2, 6, 4, 4)
    ref = naive_conv2d(x.astype(np.float64), layer.weight.numpy().astype(np.float64),
                       layer.bias.numpy().astype(np.float64), (2, 2), (1, 1), groups=2)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["weight", "bias"]


def test_conv2d_layer_without_bias_and_repr():
    layer = nn_conv.Conv2d(3, 8, (3, 5), padding=(1, 2), dilation=2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == ("Conv2d(3, 8, kernel_size=(3, 5), stride=(1, 1), padding=(1, 2), dilation=(2, 2), "
                           "bias=False)")
    assert repr(nn_conv.Conv2d(3, 16, 3)) == "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn_conv.Conv2d(4, 4, 3, padding="same", groups=4)) == \
        "Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding='same', groups=4)"


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_channels=4, out_channels=6, kernel_size=3, groups=4), r"Conv2d: in_channels=4 and out_channels=6"),
    (dict(in_channels=0, out_channels=6, kernel_size=3), r"Conv2d: in_channels must be a positive integer"),
    (dict(in_channels=3, out_channels=6, kernel_size=0), r"Conv2d: kernel_size must be at least 1"),
    (dict(in_channels=3, out_channels=6, kernel_size=3, stride=2, padding="same"), r"padding='same'"),
])
def test_conv2d_layer_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn_conv.Conv2d(**kwargs)
