"""max_pool2d / avg_pool2d: forward against a loop over output positions, gradients against float64
central differences on hypothesis-drawn geometries (overlapping windows, padding, dilation, ceil_mode,
count_include_pad), max-pool ties (one winner per window, gradient mass conserved), the tiling fast path
against the general path, bad input, and the layers.

Max-pool inputs come from `distinct_arrays` (elements pairwise >= 1e-2 apart, so a perturbation of
eps = 1e-6 never changes a window's winner). Tolerances: the project defaults (atol 1e-6, rtol 1e-5);
forward values at 1e-12 (max is exact; avg sums at most 9 terms in a different order).
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import tinygrad_np as tg
from tinygrad_np.nn.functional import avg_pool2d, max_pool2d
from tinygrad_np.ops.pool import AvgPool, MaxPool, pool_geometry
from tinygrad_np.testing import arrays, assert_grad_close, distinct_arrays, pool_geometries


def _n_out(size, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    n = (size + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (n - 1) * s >= size + p:      # PyTorch: the last window must start inside
        n -= 1
    return n


def _windows(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """For every output position, the in-bounds input positions of its window in row-major order,
    and PyTorch's two divisors (window clipped to input+padding, and to the input)."""
    h, w = x_shape[2:]
    oh = _n_out(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = _n_out(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    for r in range(oh):
        for q in range(ow):
            r0, q0 = r * stride[0] - padding[0], q * stride[1] - padding[1]
            cells = [(r0 + i * dilation[0], q0 + j * dilation[1]) for i in range(kernel[0]) for j in range(kernel[1])]
            cells = [(a, b) for a, b in cells if 0 <= a < h and 0 <= b < w]
            with_pad = (min(r0 + kernel[0], h + padding[0]) - r0) * (min(q0 + kernel[1], w + padding[1]) - q0)
            yield r, q, (oh, ow), cells, with_pad


def naive_max_pool2d(x, kernel, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False, grad=None):
    """Forward, and with `grad` the input gradient routed to each window's first maximum."""
    out = dx = None
    for r, q, shape, cells, _ in _windows(x.shape, kernel, stride, padding, dilation, ceil_mode):
        if out is None:
            out, dx = np.zeros(x.shape[:2] + shape), np.zeros(x.shape)
        if not cells:                   # dilation can leave a window wholly in the padding: -inf, no gradient
            out[:, :, r, q] = -np.inf
            continue
        vals = np.stack([x[:, :, a, b] for a, b in cells], axis=-1)        # (N, C, cells)
        out[:, :, r, q] = vals.max(axis=-1)
        if grad is not None:
            first = vals.argmax(axis=-1)                                     # argmax picks the first maximum
            for n in range(x.shape[0]):
                for c in range(x.shape[1]):
                    a, b = cells[first[n, c]]
                    dx[n, c, a, b] += grad[n, c, r, q]
    return out if grad is None else (out, dx)


def naive_avg_pool2d(x, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    out = None
    for r, q, shape, cells, with_pad in _windows(x.shape, kernel, stride, padding, (1, 1), ceil_mode):
        if out is None:
            out = np.zeros(x.shape[:2] + shape)
        total = sum(x[:, :, a, b] for a, b in cells)
        out[:, :, r, q] = total / (with_pad if count_include_pad else len(cells))
    return out


def _args(geo):
    return geo["kernel"], geo["stride"], geo["padding"]


# ---- values and gradients ----------------------------------------------------------------------------
def test_naive_references_by_hand():
    x = np.array([[[[1.0, 5.0, 2.0], [4.0, 3.0, 0.0], [7.0, 6.0, 8.0]]]])
    np.testing.assert_array_equal(naive_max_pool2d(x, (2, 2), (1, 1))[0, 0], [[5, 5], [7, 8]])
    np.testing.assert_array_equal(naive_avg_pool2d(x, (2, 2), (1, 1))[0, 0], [[13 / 4, 10 / 4], [20 / 4, 17 / 4]])
    # padding 1, stride 2, count_include_pad: the corner window holds x[0, 0] and three zeros
    np.testing.assert_array_equal(naive_avg_pool2d(x, (2, 2), (2, 2), (1, 1))[0, 0], [[1 / 4, 7 / 4], [11 / 4, 17 / 4]])
    np.testing.assert_array_equal(naive_avg_pool2d(x, (2, 2), (2, 2), (1, 1), count_include_pad=False)[0, 0],
                                  [[1, 7 / 2], [11 / 2, 17 / 4]])
    _, dx = naive_max_pool2d(x, (2, 2), (1, 1), grad=np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(dx[0, 0], [[0, 2, 0], [0, 0, 0], [1, 0, 1]])


@given(pool_geometries(max_dilation=2), st.data())
def test_max_pool2d_values_and_gradients(geo, data):
    x = data.draw(distinct_arrays((geo["N"], geo["C"], geo["H"], geo["W"])), label="x")
    kw = dict(dilation=geo["dilation"], ceil_mode=geo["ceil_mode"])
    assume(np.all(np.isfinite(naive_max_pool2d(x, *_args(geo), **kw))))   # no all-padding window
    assert_grad_close(lambda t: max_pool2d(t, *_args(geo), **kw), x,
                      reference=lambda a: naive_max_pool2d(a, *_args(geo), **kw))


@given(pool_geometries(), st.data(), st.booleans())
def test_avg_pool2d_values_and_gradients(geo, data, count_include_pad):
    x = data.draw(arrays((geo["N"], geo["C"], geo["H"], geo["W"])), label="x")
    kw = dict(ceil_mode=geo["ceil_mode"], count_include_pad=count_include_pad)
    assert_grad_close(lambda t: avg_pool2d(t, *_args(geo), **kw), x,
                      reference=lambda a: naive_avg_pool2d(a, *_args(geo), **kw))


@given(pool_geometries(max_dilation=2), st.data())
def test_max_pool_ties_route_each_window_to_its_first_maximum(geo, data):
    """Integer inputs from {0, 1, 2}: ties everywhere. Every window hands its whole upstream gradient
    to one element, the first maximum in row-major order (PyTorch's rule), so Σ dx = Σ g."""
    shape = (geo["N"], geo["C"], geo["H"], geo["W"])
    x = data.draw(arrays(shape, low=0, high=2).map(np.round), label="x")
    kw = dict(dilation=geo["dilation"], ceil_mode=geo["ceil_mode"])
    t = tg.Tensor(x, requires_grad=True)
    out = max_pool2d(t, *_args(geo), **kw)
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    ref_out, ref_dx = naive_max_pool2d(x, *_args(geo), grad=g, **kw)
    np.testing.assert_array_equal(out.numpy(), ref_out)
    np.testing.assert_allclose(t.grad.numpy(), ref_dx, rtol=1e-12, atol=1e-12)
    real = np.isfinite(ref_out)         # a window wholly in the padding (dilation) passes nothing on
    np.testing.assert_allclose(t.grad.numpy().sum(), g[real].sum(), rtol=1e-9, atol=1e-9)


def test_max_pool_constant_input_sends_each_window_to_its_top_left():
    t = tg.Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    max_pool2d(t, 2).backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])


def test_window_wholly_in_padding_gives_minus_inf_and_no_gradient():
    """Dilation can make a window miss the input (PyTorch allows it and returns -inf as well)."""
    t = tg.Tensor(np.array([[[[3.0]]]]), requires_grad=True)
    out = max_pool2d(t, (1, 2), 1, (0, 1), (1, 2))                  # window columns -1 and 1 of a 1-wide input
    assert out.shape == (1, 1, 1, 1) and out.numpy()[0, 0, 0, 0] == -np.inf
    out.backward(np.ones(out.shape))
    assert t.grad.numpy()[0, 0, 0, 0] == 0.0


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.data())
def test_tiling_fast_path_equals_general_path(kh, kw, h, w, data):
    """The reshape fast path (kernel == stride, no padding) against the slab path on the same windows,
    ties included (values from {0, 1})."""
    h, w = max(h, kh), max(w, kw)
    x = np.round(data.draw(arrays((2, 2, h, w), low=0, high=1)))
    geo = pool_geometry("max_pool2d", x.shape, (kh, kw), None, 0, 1, False)
    assert geo.tiles
    g = np.random.default_rng(0).standard_normal((2, 2) + geo.out_hw)
    for fn, kwargs in ((MaxPool, {}), (AvgPool, {"count_include_pad": True})):
        results = []
        for tiles in (True, False):
            t = tg.Tensor(x, requires_grad=True)
            out = fn.apply(t, geometry=geo._replace(tiles=tiles), **kwargs)
            out.backward(g)
            results.append((out.numpy(), t.grad.numpy()))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])


def test_float32_stays_float32_and_unbatched_input():
    x = np.random.default_rng(1).standard_normal((3, 6, 5)).astype(np.float32)
    for fn, kw in ((max_pool2d, {}), (avg_pool2d, {"ceil_mode": True, "count_include_pad": False})):
        t = tg.Tensor(x, requires_grad=True)
        out = fn(t, 2, 1, 1, **kw)
        assert out.dtype == np.float32 and out.shape == (3, 7, 6)
        out.backward(np.ones(out.shape, np.float32))
        assert t.grad.dtype == np.float32
        batched = fn(tg.Tensor(x[None]), 2, 1, 1, **kw)
        np.testing.assert_array_equal(out.numpy(), batched.numpy()[0])


def test_no_index_is_recorded_without_grad():
    x = tg.Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    with tg.no_grad():
        assert max_pool2d(x, 2).grad_fn is None
    assert max_pool2d(x, 2).grad_fn.saved_tensors[0].dtype == np.uint8      # the winner's kernel offset


# ---- bad input -----------------------------------------------------------------------------------------
def _t(*shape, dtype=np.float64):
    return tg.Tensor(np.zeros(shape, dtype))


@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
@pytest.mark.parametrize("x, args, match", [
    (_t(4, 4), (2,), r"{op}: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got shape \(4, 4\)"),
    (_t(1, 1, 1, 4, 4), (2,), r"{op}: expected .* got shape \(1, 1, 1, 4, 4\)"),
    (_t(1, 1, 4, 4, dtype=np.int64), (2,), r"{op}: expected a floating-point input, got dtype int64"),
    (_t(1, 1, 4, 4), (3, 1, 2), r"{op}: padding \(2, 2\) must be at most half of the kernel \(3, 3\)"),
    (_t(1, 1, 4, 4), (2, 0), r"{op}: stride must be at least 1, got 0"),
    (_t(1, 1, 4, 4), (2, (1, -1)), r"{op}: stride must be at least 1, got \(1, -1\)"),
    (_t(1, 1, 4, 4), (0,), r"{op}: kernel_size must be at least 1, got 0"),
    (_t(1, 1, 4, 4), (2, 2, -1), r"{op}: padding must be at least 0"),
    (_t(1, 1, 2, 5), (3,), r"{op}: input \(1, 1, 2, 5\) is too small for kernel \(3, 3\) .* the output "
                           r"would be 0x1"),
    (_t(1, 1, 4, 4), ((2, 2, 2),), r"{op}: kernel_size must be an int or a pair of ints"),
])
def test_bad_input_raises_naming_op_and_shapes(fn, x, args, match):
    with pytest.raises((ValueError, TypeError), match=match.format(op=fn.__name__)):
        fn(x, *args)


# ---- the layers ----------------------------------------------------------------------------------------
nn_conv = pytest.importorskip("tinygrad_np.nn.conv")


def test_pool_layers_forward_and_repr():
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 7))
    mp = nn_conv.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    ap = nn_conv.AvgPool2d(2, count_include_pad=False, padding=1)
    np.testing.assert_array_equal(mp(tg.Tensor(x)).numpy(), naive_max_pool2d(x, (3, 3), (2, 2), (1, 1), ceil_mode=True))
    np.testing.assert_allclose(ap(tg.Tensor(x)).numpy(),
                               naive_avg_pool2d(x, (2, 2), (2, 2), (1, 1), count_include_pad=False), rtol=1e-12)
    assert repr(nn_conv.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn_conv.AvgPool2d((2, 3), 1)) == "AvgPool2d(kernel_size=(2, 3), stride=1, padding=0)"
    assert list(mp.parameters()) == [] and mp.state_dict() == {}


def test_max_pool_gradient_goes_to_the_last_nan_of_a_window():
    """PyTorch's rule, without torch: [1, nan, 0.5, 4] → the NaN; [3, nan, nan, 2] → the second NaN."""
    x = tg.tensor(np.array([[[[1.0, np.nan, 3.0, np.nan], [0.5, 4.0, np.nan, 2.0]]]]), requires_grad=True)
    out = tg.nn.functional.max_pool2d(x, 2)
    assert np.all(np.isnan(out.numpy()))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, 1, 0, 0], [0, 0, 1, 0]])
