"""The benchmarks' hand-written NumPy baseline is itself correct: its gradients against central finite
differences in float64, on shrunken versions of the seed models (same code paths, odd sizes included).

Tolerance: float64 central differences with eps=1e-6 have truncation error ~eps^2 and rounding error
~1e-16/eps = 1e-10 relative to the loss; 1e-6 relative to the gradient's scale leaves a wide margin
while any wrong formula is off by O(1).
"""
import numpy as np
import pytest

from benchmarks import check, hand, specs

EPS, TOL = 1e-6, 1e-6


def numeric_grads(loss_of, params):
    grads = {}
    for k, p in params.items():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + EPS
            up = loss_of()
            p[i] = old - EPS
            down = loss_of()
            p[i] = old
            g[i] = (up - down) / (2 * EPS)
        grads[k] = g
    return grads


def he_params(layers, rng):
    return {f"{p}.{n}": (rng.standard_normal(s if n == "weight" else s[0]) * (0.7 if n == "weight" else 0.1))
            for p, s in layers for n in ("weight", "bias")}


def named(prefixes, grads):
    out = {}
    for p, (dW, db) in zip(prefixes, grads):
        out[p + ".weight"], out[p + ".bias"] = dW, db
    return out


def assert_close(analytic, numeric):
    assert analytic.keys() == numeric.keys()
    for k in numeric:
        assert analytic[k].shape == numeric[k].shape, k
        err = check.rel_err(analytic[k], numeric[k])
        assert err < TOL, f"{k}: relative error {err:.2e}"


@pytest.mark.parametrize("loss,sizes", [("ce", (5, 4, 3)), ("bce", (6, 5, 3, 1)), ("ce", (7, 6, 5, 4, 3))])
def test_hand_mlp_gradients_match_finite_differences(loss, sizes):
    rng = np.random.default_rng(0)
    prefixes = [str(2 * i) for i in range(len(sizes) - 1)]
    params = he_params([(p, (o, i)) for p, i, o in zip(prefixes, sizes[:-1], sizes[1:])], rng)
    x = rng.standard_normal((9, sizes[0]))
    y = rng.integers(0, sizes[-1], 9) if loss == "ce" else rng.integers(0, 2, (9, 1)).astype(np.float64)
    model = hand.HandMLP(params, prefixes, loss, lr=0.1)
    value, grads = model.gradients(x, y)
    assert_close(named(prefixes, grads), numeric_grads(lambda: model.gradients(x, y)[0], params))
    # the step applies exactly -lr * gradient, in place
    before = {k: v.copy() for k, v in params.items()}
    model.step(x, y)
    for k, g in named(prefixes, grads).items():
        np.testing.assert_allclose(params[k], before[k] - 0.1 * g, rtol=1e-12, atol=1e-12)


def test_hand_cnn_gradients_match_finite_differences():
    # 13x13 -> conv 11 -> pool 5 (odd: last row/column dropped) -> conv 3 -> pool 1 -> 4 -> 5 -> 1
    rng = np.random.default_rng(1)
    layers = [("0", (3, 2, 3, 3)), ("3", (4, 3, 3, 3)), ("7", (5, 4)), ("9", (1, 5))]
    params = he_params(layers, rng)
    x = rng.standard_normal((2, 2, 13, 13))
    y = np.array([[1.0], [0.0]])
    model = hand.HandCNN(params, ["0", "3"], ["7", "9"], "bce", lr=0.1)
    _, grads = model.gradients(x, y)
    assert_close(named(["0", "3", "7", "9"], grads), numeric_grads(lambda: model.gradients(x, y)[0], params))


def test_hand_conv_and_pool_against_direct_formulas():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 7))
    W = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    out, _ = hand.conv2d_forward(x, W, b)
    direct = np.zeros((2, 4, 4, 5))
    for i in range(4):
        for j in range(5):
            direct[:, :, i, j] = np.einsum("nchw,fchw->nf", x[:, :, i:i + 3, j:j + 3], W) + b
    np.testing.assert_allclose(out, direct, rtol=1e-12, atol=1e-12)
    pooled, cache = hand.maxpool2_forward(x)
    assert pooled.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(pooled, x[:, :, :6, :6].reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)))
    g = rng.standard_normal(pooled.shape)
    dx = hand.maxpool2_backward(g, cache, x.shape)
    assert dx[:, :, :, 6].sum() == 0 and np.isclose(dx.sum(), g.sum())      # mass conserved, no ties here


def test_losses_match_their_definitions():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((6, 4)) * 30                                      # large logits stay finite
    y = rng.integers(0, 4, 6)
    value, dz = hand.softmax_ce(z, y)
    logp = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    assert np.isclose(value, -logp[np.arange(6), y].mean())
    np.testing.assert_allclose(dz, (np.exp(logp) - np.eye(4)[y]) / 6, atol=1e-15)
    zb = np.array([[-800.0], [0.3], [800.0]])
    yb = np.array([[1.0], [0.0], [1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        value, dz = hand.bce_with_logits(zb, yb)
    assert np.isclose(value, (800 + np.log1p(np.exp(0.3)) + 0) / 3)
    np.testing.assert_allclose(dz, (np.array([[0.0], [1 / (1 + np.exp(-0.3))], [1.0]]) - yb) / 3, atol=1e-15)


def test_rel_err_fails_wrong_gradients_and_tolerates_float32_rounding():
    ref = np.array([1.0, -2.0, 1e-9, 0.0])
    assert check.rel_err(ref.astype(np.float32), ref) < 1e-6
    assert check.rel_err(ref * 1.01, ref) > check.TOL
    assert check.rel_err(ref[:3], ref) == float("inf")
    assert check.rel_err(None, ref) == float("inf")


def test_flop_counts_match_the_shapes():
    mnist = specs.get_model("mnist_mlp")
    assert specs.train_flops(mnist, 128) == 2 * 128 * (784 * 128 * 2 + 128 * 10 * 3)
    plan = specs.get_model("cnn_binary").plan()
    assert [layer.out_shape[1] for layer in plan if layer.kind == "conv"] == [62, 29]
    assert [layer.out_shape for layer in plan if layer.kind == "flatten"] == [(32 * 14 * 14,)]
    assert specs.layer_flops("conv1") == 2 * 32 * 62 * 62 * 3 * 9 * 16 * 2
    assert specs.layer_flops("pool1") == 0


def test_layer_benchmarks_have_the_seed_cnn_shapes():
    """conv1 .. pool2 are read from the cnn_binary plan; these are the seed CNN's shapes at batch 32."""
    got = {name: (b.layer.kind, b.in_shape, b.out_shape[1], b.first) for name, b in specs.LAYERS.items()}
    assert got == {"conv1": ("conv", (32, 3, 64, 64), 16, True), "pool1": ("maxpool", (32, 16, 62, 62), 16, False),
                   "conv2": ("conv", (32, 16, 31, 31), 32, False), "pool2": ("maxpool", (32, 32, 29, 29), 32, False)}
    assert specs.LAYERS["conv1"].describe() == "32×3×64×64 → conv3×3 16"
    assert specs.LAYERS["pool2"].describe() == "32×32×29×29 → maxpool 2"
