"""conv2d's plane-layout backward (ops/conv_planes.py) against the plain im2col path (the oracle), in
float64 and against PyTorch: gradients of x, weight and bias over geometries where it is taken."""
import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F
from tinygrad_np.ops import conv as conv_module
from conv_torch_oracle import assert_matches_torch_conv2d

GEOMETRIES = [  # x shape, weight shape, padding, dilation, bias
    ((2, 3, 9, 8), (4, 3, 3, 3), 0, 1, True),
    ((3, 2, 7, 10), (5, 2, 3, 2), 1, 1, True),
    ((1, 3, 12, 11), (2, 3, 3, 3), 2, 2, False),
    ((2, 1, 5, 5), (3, 1, 5, 5), 2, 1, True),
    ((2, 4, 6, 7), (3, 4, 1, 1), 0, 1, True),
    ((2, 2, 8, 9), (3, 2, 2, 4), (1, 2), (2, 1), True),
    ((9, 3, 30, 30), (4, 3, 3, 3), 1, 1, True),          # several batch chunks
]


@pytest.fixture(autouse=True)
def _planes_on_small_planes_too(monkeypatch):
    """These geometries are small (Hp/OH up to 1.7): the kernel is tested on them, the size rule below."""
    monkeypatch.setattr(conv_module, "PLANES_MAX_EXTRA", float("inf"))


def _grads(x, w, b, padding, dilation, planes, need=(True, True, True), flip=False):
    original = conv_module.PLANES
    conv_module.PLANES = planes
    try:
        xt = tg.Tensor(x, requires_grad=need[0])
        src = xt.transpose(2, 3) if flip else xt            # a non-contiguous input (padded: planes again)
        wt = tg.Tensor(w, requires_grad=need[1])
        bt = tg.Tensor(b, requires_grad=need[2]) if b is not None else None
        out = F.conv2d(src, wt, bt, padding=padding, dilation=dilation)
        g = np.random.default_rng(5).standard_normal(out.shape).astype(x.dtype)
        out.backward(tg.Tensor(g))
    finally:
        conv_module.PLANES = original
    return [None if t is None or t.grad is None else t.grad.numpy() for t in (xt, wt, bt)], out.numpy(), g


def _data(case, dtype, seed=0):
    xs, ws, padding, dilation, bias = case
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
    return rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype), b, padding, dilation


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("case", GEOMETRIES)
def test_planes_backward_matches_plain_im2col_float64(case, flip):
    x, w, b, padding, dilation = _data(case, np.float64)
    new, out_new, _ = _grads(x, w, b, padding, dilation, True, flip=flip)
    old, out_old, _ = _grads(x, w, b, padding, dilation, False, flip=flip)
    np.testing.assert_array_equal(out_new, out_old)
    for a, p in zip(new, old):
        assert (a is None) == (p is None)
        if p is not None:
            assert a.dtype == np.float64
            np.testing.assert_allclose(a, p, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("need", [(True, False, False), (True, True, False), (True, False, True)])
def test_planes_backward_only_the_needed_gradients(need):
    x, w, b, padding, dilation = _data(GEOMETRIES[1], np.float64)
    new, _, _ = _grads(x, w, b, padding, dilation, True, need)
    old, _, _ = _grads(x, w, b, padding, dilation, False, need)
    for a, p, wanted in zip(new, old, need):
        assert (a is None) == (not wanted)
        if wanted:
            np.testing.assert_allclose(a, p, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", GEOMETRIES)
def test_planes_backward_matches_torch_float32(case):
    torch = pytest.importorskip("torch")
    x, w, b, padding, dilation = _data(case, np.float32, seed=1)
    (dx, dw, db), out, g = _grads(x, w, b, padding, dilation, True)
    assert_matches_torch_conv2d(torch, x, w, b, g, out, dx, dw, db, padding=padding, dilation=dilation)


def test_planes_backward_gradcheck_and_second_order_float64():
    rng = np.random.default_rng(4)
    x = tg.Tensor(rng.standard_normal((2, 2, 6, 5)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(3), requires_grad=True)
    assert conv_module.PLANES
    assert tg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1, dilation=(1, 2)), (x, w, b))
    assert tg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1), (x, w, b))


def test_planes_path_is_taken_for_stride_one_with_input_gradient(monkeypatch):
    calls = []
    real = conv_module.conv_planes.backward
    monkeypatch.setattr(conv_module.conv_planes, "backward", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = tg.Tensor(np.ones((1, 2, 5, 5)), requires_grad=True)
    w = tg.Tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(x.grad.numpy()[0, 0, 2], [9, 18, 27, 18, 9])   # 3 filters x 3 rows x overlaps
    F.conv2d(x, w, stride=2).sum().backward()                                   # strided: the plain path
    F.conv2d(tg.Tensor(np.ones((1, 2, 5, 5))), w).sum().backward()              # no dX: the plain path
    assert calls == [1]


@pytest.mark.parametrize("size, padding, kernel, planes", [
    (32, 1, 3, True),       # the seed CNN's conv2: Hp/OH = 34/32, the plane layout wins (0.84-0.90x)
    (16, 1, 3, False),      # 18/16 = 1.125: no measured gain
    (14, 0, 5, False),      # mnist_cnn's conv2: 14/10, plain is faster (planes 1.13-1.27x)
])
def test_planes_only_where_the_junk_columns_are_few(monkeypatch, size, padding, kernel, planes):
    monkeypatch.setattr(conv_module, "PLANES_MAX_EXTRA", 1.1)
    calls = []
    real = conv_module.conv_planes.backward
    monkeypatch.setattr(conv_module.conv_planes, "backward", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = tg.Tensor(np.ones((1, 2, size, size)), requires_grad=True)
    w = tg.Tensor(np.ones((3, 2, kernel, kernel)), requires_grad=True)
    F.conv2d(x, w, padding=padding).sum().backward()
    assert calls == ([1] if planes else [])
    centre = x.grad.numpy()[0, 0, size // 2, size // 2]
    assert centre == 3 * kernel * kernel                  # every window covers the centre once per filter
