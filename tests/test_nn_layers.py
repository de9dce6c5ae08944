"""Layers: Linear (fused), init, Dropout and BatchNorm against closed forms, central differences
(tinygrad_np.testing tolerances) and, when importable, PyTorch."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from tinygrad_np.nn import functional as F, init
from tinygrad_np.testing import arrays, assert_grad_close


# ---- Linear ------------------------------------------------------------------------------------------------
@given(st.data())
def test_linear_value_and_gradient_with_leading_dims(data):
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2).map(tuple))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = data.draw(arrays(shape=lead + (n_in,)))
    w = data.draw(arrays(shape=(n_out, n_in)))
    if data.draw(st.booleans()):
        b = data.draw(arrays(shape=(n_out,)))
        assert_grad_close(F.linear, x, w, b, reference=lambda x, w, b: x @ w.T + b)
    else:
        assert_grad_close(lambda x, w: F.linear(x, w), x, w, reference=lambda x, w: x @ w.T)


def test_linear_module_weight_grad_is_a_fresh_contiguous_array_and_float32_stays():
    lin = nn.Linear(5, 3)
    x = tg.randn(7, 2, 5)
    out = lin(x)
    assert out.shape == (7, 2, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), x.numpy() @ lin.weight.numpy().T + lin.bias.numpy(), rtol=1e-6)
    raw = out.grad_fn.backward(out.grad_fn, np.ones(out.shape, np.float32))[1]
    assert raw.flags.c_contiguous and raw.base is None      # the op itself returns a fresh weight gradient
    out.sum().backward()
    g = lin.weight.grad.numpy()
    assert g.flags.c_contiguous and g.base is None and g.dtype == np.float32
    np.testing.assert_allclose(g, np.ones((14, 3)).T @ x.numpy().reshape(14, 5), rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), np.full(3, 14.0))
    no_bias = nn.Linear(5, 3, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    with pytest.raises(ValueError, match=r"linear: input of shape \(7, 4\) does not match weight of shape \(3, 5\)"):
        lin(tg.randn(7, 4))


def test_linear_default_init_is_pytorchs():
    tg.manual_seed(0)
    lin = nn.Linear(784, 128)
    bound = 1 / math.sqrt(784)                # kaiming_uniform(a=√5): gain √(2/6), bound = gain·√3/√fan_in
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(−B, B) has std B/√3; with 100,352 samples the sample std is within 1% (≈ 7 standard errors)
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.01 and abs(w.mean()) < 0.01 * bound
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Linear(784, 128).weight.numpy(), w)


# ---- init --------------------------------------------------------------------------------------------------
def test_calculate_gain():
    assert init.calculate_gain("relu") == math.sqrt(2) and init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(2 / 6)
    assert init.calculate_gain("conv2d") == init.calculate_gain("sigmoid") == 1
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))          # PyTorch's default slope
    assert init.calculate_gain("leaky_relu", np.float64(0.5)) == math.sqrt(2 / 1.25)
    for bad in ("0.2", True, float("nan")):
        with pytest.raises(ValueError, match=f"^calculate_gain: negative_slope must be a number, got {bad!r}$"):
            init.calculate_gain("leaky_relu", bad)


@pytest.mark.parametrize("fn, kwargs, kind, scale", [
    # conv-shaped weight (out=64, in/groups=4, 3, 3): fan_in = 36, fan_out = 576
    (init.kaiming_uniform_, dict(nonlinearity="relu"), "uniform", math.sqrt(2) * math.sqrt(3 / 36)),
    (init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="relu"), "uniform", math.sqrt(2) * math.sqrt(3 / 576)),
    (init.kaiming_normal_, dict(nonlinearity="relu"), "normal", math.sqrt(2) / math.sqrt(36)),
    (init.xavier_uniform_, dict(gain=2.0), "uniform", 2.0 * math.sqrt(6 / (36 + 576))),
    (init.xavier_normal_, dict(), "normal", math.sqrt(2 / (36 + 576))),
    (init.uniform_, dict(a=-0.3, b=0.3), "uniform", 0.3),
    (init.normal_, dict(std=0.02), "normal", 0.02),
])
def test_init_distributions_on_conv_shaped_weights(fn, kwargs, kind, scale):
    tg.manual_seed(1)
    t = tg.zeros(64, 4, 3, 3)
    data = t.numpy()
    assert fn(t, **kwargs) is t and t.numpy() is data and t.dtype == np.float32     # in place
    std = scale / math.sqrt(3) if kind == "uniform" else scale
    if kind == "uniform":
        assert np.abs(t.numpy()).max() <= scale * (1 + 1e-6)
    # 2,304 samples: the sample std is within 10% of the true one (≈ 7 standard errors)
    assert abs(t.numpy().std() / std - 1) < 0.1 and abs(t.numpy().mean()) < 0.1 * std


def test_constant_inits_and_errors():
    t = tg.zeros(2, 3)
    assert init.ones_(t).numpy().sum() == 6 and init.zeros_(t).numpy().sum() == 0
    np.testing.assert_array_equal(init.constant_(t, 0.5).numpy(), np.full((2, 3), 0.5, np.float32))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(tg.zeros(3))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(t, mode="fan")


# ---- Dropout -----------------------------------------------------------------------------------------------
def test_dropout_scaling_and_gradient_closed_form():
    tg.manual_seed(0)
    p = 0.3
    x = tg.Tensor(np.random.default_rng(0).uniform(1, 2, 100_000).astype(np.float32), requires_grad=True)
    drop = nn.Dropout(p)
    out = drop(x)
    kept = out.numpy() != 0
    np.testing.assert_allclose(out.numpy()[kept], x.numpy()[kept] / (1 - p), rtol=1e-6)
    # the dropped fraction is Binomial(n, p)/n: std √(p(1−p)/n) ≈ 0.0015, so 0.01 is ≈ 7 standard errors
    assert abs((~kept).mean() - p) < 0.01
    out.backward(np.ones(x.shape, np.float32))
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - p), rtol=1e-6)
    assert out.dtype == np.float32
    tg.manual_seed(0)
    np.testing.assert_array_equal(nn.Dropout(p)(x).numpy(), out.numpy())          # reproducible
    assert drop.eval()(x) is x and nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).numpy(), 0)
    with pytest.raises(ValueError, match="Dropout: probability p must be a number between 0 and 1, got 1.5"):
        nn.Dropout(1.5)


# ---- BatchNorm ---------------------------------------------------------------------------------------------
def bn_ref(x, mean, var, w, b, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                        (nn.BatchNorm2d, (4, 3, 2, 5))])
def test_batchnorm_train_and_eval_statistics(cls, shape):
    rng = np.random.default_rng(0)
    bn = cls(3).double()
    bn.weight.numpy()[:] = [1.0, 2.0, -0.5]
    bn.bias.numpy()[:] = [0.0, 0.3, 1.0]
    axes = (0,) + tuple(range(2, len(shape)))
    n = int(np.prod([shape[a] for a in axes]))
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + step
        out = bn(tg.Tensor(x))
        mean, var = x.mean(axis=axes), x.var(axis=axes)              # batch statistics, biased variance
        np.testing.assert_allclose(out.numpy(), bn_ref(x, mean, var, bn.weight.numpy(), bn.bias.numpy()), rtol=1e-12, atol=1e-12)
        rm, rv = 0.9 * rm + 0.1 * mean, 0.9 * rv + 0.1 * var * n / (n - 1)    # running var is unbiased
        np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-12)
    assert bn.num_batches_tracked.numpy() == 3 and bn.num_batches_tracked.dtype == np.int64
    bn.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(bn(tg.Tensor(x)).numpy(), bn_ref(x, rm, rv, bn.weight.numpy(), bn.bias.numpy()), rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-12)          # eval leaves the stats alone
    assert bn.num_batches_tracked.numpy() == 3


def test_batchnorm_cumulative_average_and_untracked_and_non_affine():
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(2, momentum=None).double()
    xs = [rng.standard_normal((5, 2)) + i for i in range(4)]
    for x in xs:
        bn(tg.Tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-12)
    free = nn.BatchNorm1d(2, affine=False, track_running_stats=False).double()
    assert list(free.state_dict()) == [] and free.running_mean is None
    x = xs[0]
    ref = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    np.testing.assert_allclose(free(tg.Tensor(x)).numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(free.eval()(tg.Tensor(x)).numpy(), ref, rtol=1e-12)   # no running stats: batch stats


@given(st.data())
def test_batch_norm_gradients(data):
    n, c = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
    spatial = data.draw(st.sampled_from([(), (2,), (2, 2)]))
    x = data.draw(arrays(shape=(n, c) + spatial))
    x = x + np.arange(x.size).reshape(x.shape) * 0.05      # no constant channel: var stays away from 0
    w, b = data.draw(arrays(shape=(c,))), data.draw(arrays(shape=(c,)))
    assert_grad_close(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    rm, rv = data.draw(arrays(shape=(c,))), data.draw(arrays(shape=(c,), low=0.5, high=2.0))
    assert_grad_close(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), x, w, b,
                      reference=lambda x, w, b: bn_ref(x, rm, rv, w, b))


def test_batchnorm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    ours, theirs = nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    ours.weight.numpy()[:] = theirs.weight.detach().numpy()[:] = rng.standard_normal(3)
    for _ in range(2):
        x = rng.standard_normal((4, 3, 2, 2))
        xt = torch.tensor(x, requires_grad=True)
        xo = tg.Tensor(x, requires_grad=True)
        (ours(xo) ** 2).sum().backward()
        (theirs(xt) ** 2).sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-12, err_msg=k)
    x = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(ours.eval()(tg.Tensor(x)).numpy(), theirs.eval()(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)


def test_batchnorm_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D \(N, C, H, W\) input, got shape \(2, 3\)"):
        nn.BatchNorm2d(3)(tg.randn(2, 3))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 4 channels \(num_features\), got input of shape \(2, 3\)"):
        nn.BatchNorm1d(4)(tg.randn(2, 3))
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="BatchNorm1d: batch_norm: expected more than 1 value per channel"):
        bn(tg.randn(1, 3))
    assert bn.num_batches_tracked.numpy() == 0 and np.all(bn.running_mean.numpy() == 0)


# ---- activations, Flatten, Identity ----------------------------------------------------------------------
def test_activation_modules_match_tensor_ops():
    x = tg.randn(3, 4)
    for module, expected in ((nn.ReLU(), np.maximum(x.numpy(), 0)), (nn.Tanh(), np.tanh(x.numpy())),
                             (nn.Sigmoid(), 1 / (1 + np.exp(-x.numpy()))),
                             (nn.LeakyReLU(0.2), np.where(x.numpy() > 0, x.numpy(), 0.2 * x.numpy())),
                             (nn.Softmax(dim=0), np.exp(x.numpy()) / np.exp(x.numpy()).sum(0)),
                             (nn.LogSoftmax(dim=1), x.numpy() - np.log(np.exp(x.numpy()).sum(1, keepdims=True))),
                             (nn.Identity(54, unused=1), x.numpy())):
        np.testing.assert_allclose(module(x).numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=repr(module))
    assert nn.Flatten()(tg.randn(2, 3, 4, 5)).shape == (2, 60)
    assert nn.Flatten(0, 1)(tg.randn(2, 3, 4)).shape == (6, 4)
    with pytest.raises(IndexError, match="Flatten: dim 3 is out of range"):
        nn.Flatten(1, 3)(tg.randn(2, 3))
