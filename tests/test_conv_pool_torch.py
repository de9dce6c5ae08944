"""PyTorch parity for conv2d, max_pool2d and avg_pool2d: forward values and every gradient over a grid of
geometries (groups, dilation, stride, padding incl. 'same', ceil_mode, count_include_pad, ties), the
layers with torch's weights, and the seed CNN's conv stack. Skipped when torch is not installed.

Tolerances: float64 at rtol 1e-10 (same sums, different order: ~1e-16 per term). float32 at rtol 1e-4
with atol 1e-5 of the largest reference value: float32 rounding of sums of up to a few hundred terms is
~1e-6 relative, while a wrong window or formula is off by O(1).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import tinygrad_np as tg                                        # noqa: E402
from tinygrad_np.nn.functional import conv2d                       # noqa: E402
from tinygrad_np.nn.functional import avg_pool2d, max_pool2d       # noqa: E402


def _close(ours, ref, dtype):
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else ref
    assert ours.shape == ref.shape
    if dtype == np.float64:
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


def _run_both(ours_fn, torch_fn, arrays, grads, seed=0):
    """Forward both on the same arrays, backward the same random upstream gradient; return pairs."""
    ts = [tg.Tensor(a, requires_grad=g) if a is not None else None for a, g in zip(arrays, grads)]
    tts = [torch.tensor(a, requires_grad=g) if a is not None else None for a, g in zip(arrays, grads)]
    out, tout = ours_fn(*ts), torch_fn(*tts)
    up = np.random.default_rng(seed).standard_normal(tuple(tout.shape)).astype(arrays[0].dtype)
    out.backward(up)
    tout.backward(torch.tensor(up))
    pairs = [(out.numpy(), tout)]
    for t, tt, g in zip(ts, tts, grads):
        if g:
            pairs.append((t.grad.numpy(), tt.grad))
    return pairs


CONV_GRID = [
    # N, C_in, C_out, H, W, kernel, stride, padding, dilation, groups
    (2, 3, 4, 9, 8, 3, 1, 0, 1, 1),
    (2, 3, 4, 9, 8, 3, 1, 1, 1, 1),
    (1, 2, 3, 7, 10, (2, 4), (2, 1), (1, 2), 1, 1),
    (2, 4, 6, 8, 8, 3, 2, 1, 1, 2),
    (2, 4, 4, 9, 9, 3, 1, 1, 1, 4),                          # depthwise
    (1, 6, 4, 11, 9, 3, 1, 2, 2, 2),                         # dilation with padding
    (1, 2, 2, 10, 12, (3, 2), (3, 2), 0, (1, 3), 1),
    (3, 5, 7, 6, 6, 1, 1, 0, 1, 1),                          # 1x1
    (2, 3, 2, 7, 7, 3, 1, "same", 1, 1),
    (2, 4, 2, 8, 7, (2, 3), 1, "same", 2, 2),                # 'same' with uneven padding
    (2, 3, 3, 4, 4, 4, 1, 0, 1, 1),                          # kernel = whole image
    (2, 2, 3, 5, 5, 3, 3, 2, 1, 1),                          # stride larger than the output grid
]


@pytest.mark.parametrize("geo", CONV_GRID, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("input_grad", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(geo, dtype, input_grad, bias):
    n, c_in, c_out, h, w, k, s, p, d, g = geo
    rng = np.random.default_rng(0)
    kk = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((n, c_in, h, w)).astype(dtype)
    wt = rng.standard_normal((c_out, c_in // g) + kk).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    pairs = _run_both(lambda *a: conv2d(*a, stride=s, padding=p, dilation=d, groups=g),
                      lambda *a: F.conv2d(*a, stride=s, padding=p, dilation=d, groups=g),
                      [x, wt, b], [input_grad, True, bias])
    assert pairs[0][0].dtype == dtype
    for ours, ref in pairs:
        _close(ours, ref, dtype)


MAX_GRID = [
    # kernel, stride, padding, dilation, ceil_mode, H, W
    (2, None, 0, 1, False, 8, 8),
    (2, None, 0, 1, False, 7, 9),                            # odd sizes: last row/column dropped
    (2, None, 0, 1, True, 7, 9),                             # ... or kept as partial windows
    (3, 2, 1, 1, False, 9, 9),
    (3, 2, 1, 1, True, 10, 10),
    (3, 1, 1, 1, False, 6, 5),                               # heavy overlap
    ((2, 3), (1, 2), (1, 1), 1, True, 7, 8),
    (3, 2, 1, 2, False, 9, 10),                              # dilation
    (2, 3, 1, 1, True, 8, 7),                                # stride > kernel
    (3, 3, 0, 1, True, 8, 8),
]


@pytest.mark.parametrize("geo", MAX_GRID, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool2d_matches_torch(geo, dtype):
    k, s, p, d, ceil, h, w = geo
    x = np.random.default_rng(1).standard_normal((2, 3, h, w)).astype(dtype)
    for ours, ref in _run_both(lambda t: max_pool2d(t, k, s, p, d, ceil),
                               lambda t: F.max_pool2d(t, k, s, p, d, ceil), [x], [True]):
        _close(ours, ref, dtype)


@pytest.mark.parametrize("geo", MAX_GRID, ids=str)
def test_max_pool2d_ties_match_torch(geo):
    """Values from {0, 1, 2} (and relu-style zeros): torch sends each window's gradient to the first
    maximum in row-major order; so must we, element for element."""
    k, s, p, d, ceil, h, w = geo
    x = np.random.default_rng(2).integers(0, 3, (2, 3, h, w)).astype(np.float64)
    x[0, 0] = 0.0
    (out, tout), (dx, tdx) = _run_both(lambda t: max_pool2d(t, k, s, p, d, ceil),
                                       lambda t: F.max_pool2d(t, k, s, p, d, ceil), [x], [True])
    np.testing.assert_array_equal(out, tout.detach().numpy())
    # overlapping windows add several routed gradients into one pixel, in another order than torch
    np.testing.assert_allclose(dx, tdx.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("geo", MAX_GRID, ids=str)
def test_max_pool2d_nan_windows_route_like_torch(geo):
    """A window holding NaN pools to NaN, and torch's kernel takes every NaN it meets, so the gradient goes to
    the window's *last* NaN in row-major order (before: to the window's last element, NaN or not)."""
    k, s, p, d, ceil, h, w = geo
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 3, h, w)).astype(np.float64)
    x[rng.uniform(size=x.shape) < 0.2] = np.nan
    (out, tout), (dx, tdx) = _run_both(lambda t: max_pool2d(t, k, s, p, d, ceil),
                                       lambda t: F.max_pool2d(t, k, s, p, d, ceil), [x], [True])
    np.testing.assert_array_equal(out, tout.detach().numpy())
    np.testing.assert_allclose(dx, tdx.numpy(), rtol=1e-12, atol=1e-14)


AVG_GRID = [
    # kernel, stride, padding, ceil_mode, H, W
    (2, None, 0, False, 8, 8),
    (2, None, 0, False, 7, 9),
    (2, None, 0, True, 7, 9),
    (3, 2, 1, False, 9, 9),
    (3, 2, 1, True, 10, 10),
    (3, 1, 1, False, 6, 5),
    ((2, 3), (1, 2), (1, 1), True, 7, 8),
    (2, 3, 1, True, 8, 7),
    (4, 3, 2, True, 9, 11),
]


@pytest.mark.parametrize("geo", AVG_GRID, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_avg_pool2d_matches_torch(geo, count_include_pad, dtype):
    k, s, p, ceil, h, w = geo
    x = np.random.default_rng(3).standard_normal((2, 3, h, w)).astype(dtype)
    for ours, ref in _run_both(lambda t: avg_pool2d(t, k, s, p, ceil, count_include_pad),
                               lambda t: F.avg_pool2d(t, k, s, p, ceil, count_include_pad), [x], [True]):
        _close(ours, ref, dtype)


# ---- layers and the seed CNN's conv stack ---------------------------------------------------------------
nn_conv = pytest.importorskip("tinygrad_np.nn.conv")


def test_conv2d_layer_state_dict_loads_into_torch_and_matches():
    tg.manual_seed(0)
    ours = nn_conv.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1), groups=2)
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1), groups=2)
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((2, 4, 8, 9)).astype(np.float32)
    pairs = _run_both(lambda t: ours(t), lambda t: theirs(t), [x], [True])
    pairs += [(ours.weight.grad.numpy(), theirs.weight.grad), (ours.bias.grad.numpy(), theirs.bias.grad)]
    for a, b in pairs:
        _close(a, b, np.float32)


def test_seed_cnn_conv_stack_matches_torch():
    """conv3x3(16) -> relu -> maxpool2 -> conv3x3(32) -> relu -> maxpool2 on 3x64x64, float32."""
    tg.manual_seed(1)
    convs = [nn_conv.Conv2d(3, 16, 3), nn_conv.Conv2d(16, 32, 3)]
    tconvs = [torch.nn.Conv2d(3, 16, 3), torch.nn.Conv2d(16, 32, 3)]
    for a, b in zip(convs, tconvs):
        b.load_state_dict({k: torch.from_numpy(v) for k, v in a.state_dict().items()})
    x = np.random.default_rng(5).standard_normal((4, 3, 64, 64)).astype(np.float32)

    def ours(t):
        for c in convs:
            t = max_pool2d(c(t).relu(), 2)
        return t

    def theirs(t):
        for c in tconvs:
            t = F.max_pool2d(c(t).relu(), 2)
        return t
    pairs = _run_both(ours, theirs, [x], [False])
    assert pairs[0][0].shape == (4, 32, 14, 14)
    for a, b in zip(convs, tconvs):
        pairs += [(a.weight.grad.numpy(), b.weight.grad), (a.bias.grad.numpy(), b.bias.grad)]
    for a, b in pairs:
        _close(a, b, np.float32)
