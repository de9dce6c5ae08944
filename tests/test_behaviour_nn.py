"""Losses, softmax defaults and batch norm in the cases users hit without thinking: a target of
another float dtype that requires grad, default dims, a norm layer straight on the data (input without
grad), one channel, eval mode, wrongly shaped running statistics.

Oracles: closed forms written in NumPy float64 below (tolerance 1e-12 relative for float64 inputs,
1e-6 for float32 ones: float32 rounding), and PyTorch where installed (same tolerances)."""
import re

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F

rng = np.random.default_rng(1919)


# ---- losses: a target of another float dtype keeps its gradient ---------------------------------------
def test_mse_loss_gradient_reaches_a_float64_target_of_a_float32_input():
    x = tg.tensor(rng.standard_normal(5).astype(np.float32), requires_grad=True)
    y = tg.tensor(rng.standard_normal(5), requires_grad=True)          # float64
    loss = F.mse_loss(x, y)
    d = x.numpy().astype(np.float64) - y.numpy()
    assert loss.item() == pytest.approx(np.mean(d * d), rel=1e-6)
    loss.backward()
    assert y.grad is not None and y.grad.dtype == np.float64 and x.grad.dtype == np.float32
    np.testing.assert_allclose(y.grad.numpy(), -2 * d / 5, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * d / 5, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_reductions_and_target_gradient(reduction):
    x = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    g = rng.standard_normal((2, 3)) if reduction == "none" else 1.0
    loss = F.mse_loss(x, y, reduction=reduction)
    d = x.numpy() - y.numpy()
    scale = {"mean": 1 / 6, "sum": 1.0, "none": 1.0}[reduction]
    expected = d * d if reduction == "none" else scale * np.sum(d * d)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)
    loss.backward(tg.tensor(g) if reduction == "none" else None)
    np.testing.assert_allclose(x.grad.numpy(), 2 * scale * g * d, rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), -2 * scale * g * d, rtol=1e-12)


def test_mse_loss_target_without_grad_gets_none():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([0.0, 0.0])
    F.mse_loss(x, y).backward()
    assert y.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("loss", ["bce", "bce_logits"])
def test_bce_target_gradient_of_another_dtype(loss):
    p = rng.uniform(0.1, 0.9, 4)
    x = tg.tensor(p.astype(np.float32), requires_grad=True)
    y = tg.tensor(rng.uniform(0, 1, 4), requires_grad=True)            # float64 soft labels
    if loss == "bce":
        out = F.binary_cross_entropy(x, y)
        xd = x.numpy().astype(np.float64)
        dy = -(np.log(xd) - np.log1p(-xd)) / 4                          # d/dy of −[y log x + (1−y) log(1−x)]
    else:
        out = F.binary_cross_entropy_with_logits(x, y)
        dy = -x.numpy().astype(np.float64) / 4                          # d/dy of (1−y)x + softplus(−x)
    out.backward()
    assert y.grad is not None and y.grad.dtype == np.float64
    np.testing.assert_allclose(y.grad.numpy(), dy, rtol=1e-6)


def test_bce_with_logits_pos_weight_and_weight_closed_form():
    x = rng.standard_normal((3, 2))
    y = rng.uniform(0, 1, (3, 2))
    w, pw = rng.uniform(0.5, 2, (3, 2)), np.array([2.0, 0.5])
    xt, yt = tg.tensor(x, requires_grad=True), tg.tensor(y, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(xt, yt, weight=w, pos_weight=pw, reduction="sum")
    sig = 1 / (1 + np.exp(-x))
    per = -w * (pw * y * np.log(sig) + (1 - y) * np.log(1 - sig))
    assert out.item() == pytest.approx(per.sum(), rel=1e-12)
    out.backward()
    np.testing.assert_allclose(xt.grad.numpy(), w * ((1 - y) * sig - pw * y * (1 - sig)), rtol=1e-10)
    np.testing.assert_allclose(yt.grad.numpy(), -w * (pw * np.log(sig) - np.log(1 - sig)), rtol=1e-10)


def test_bce_weight_scales_value_and_both_gradients():
    x = rng.uniform(0.1, 0.9, 4)
    y = rng.uniform(0, 1, 4)
    w = np.array([1.0, 2.0, 0.5, 0.0])
    xt, yt = tg.tensor(x, requires_grad=True), tg.tensor(y, requires_grad=True)
    out = F.binary_cross_entropy(xt, yt, weight=w)
    per = -w * (y * np.log(x) + (1 - y) * np.log(1 - x))
    assert out.item() == pytest.approx(per.mean(), rel=1e-12)
    out.backward()
    np.testing.assert_allclose(xt.grad.numpy(), w * (x - y) / (x * (1 - x)) / 4, rtol=1e-10)
    np.testing.assert_allclose(yt.grad.numpy(), -w * (np.log(x) - np.log(1 - x)) / 4, rtol=1e-10)


def test_bce_at_zero_and_one_is_clamped_not_infinite():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    out = F.binary_cross_entropy(x, tg.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_array_equal(out.numpy(), [100.0, 100.0])          # log clamped at −100
    out.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), [-1e12, 1e12])           # (x − y) / max(x(1−x), 1e-12)


def test_integer_target_is_cast_to_the_input_dtype():
    x = tg.tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    out = F.mse_loss(x, np.array([1, 1]))
    assert out.dtype == np.float32 and out.item() == pytest.approx(0.25)


# ---- softmax defaults ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_log_softmax_and_softmax_default_to_the_last_dim(shape):
    a = rng.standard_normal(shape)
    expected = a - np.log(np.sum(np.exp(a), axis=-1, keepdims=True))
    for out in (tg.tensor(a).log_softmax(), F.log_softmax(tg.tensor(a))):
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
    for out in (tg.tensor(a).softmax(), F.softmax(tg.tensor(a))):
        np.testing.assert_allclose(out.numpy(), np.exp(expected), rtol=1e-12)
    g = rng.standard_normal(shape)
    x = tg.tensor(a, requires_grad=True)
    x.log_softmax().backward(tg.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g - np.exp(expected) * g.sum(-1, keepdims=True), rtol=1e-10)


# ---- batch norm ----------------------------------------------------------------------------------------
def bn_reference(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return xhat * w.reshape(shape) + b.reshape(shape), xhat, mean, var


def bn_input_grad(x, w, g, eps=1e-5):
    """dL/dx of L = Σ g · bn(x), the closed form: w·invstd·(g − mean(g) − x̂·mean(g·x̂)) per channel."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    _, xhat, _, var = bn_reference(x, w, np.zeros_like(w), eps)
    invstd = 1 / np.sqrt(var + eps)
    return (w * invstd).reshape(shape) * (g - g.mean(axis=axes, keepdims=True)
                                         - xhat * (g * xhat).mean(axis=axes, keepdims=True))


@pytest.mark.parametrize("shape", [(6, 1), (4, 1, 3, 3), (5, 3, 2)])
def test_batch_norm_on_data_without_grad_trains_weight_and_bias(shape):
    """A norm layer straight on the data: only weight and bias need gradients."""
    C = shape[1]
    bn = (tg.nn.BatchNorm2d if len(shape) == 4 else tg.nn.BatchNorm1d)(C, dtype=np.float64)
    bn.weight.numpy()[:] = rng.uniform(0.5, 2, C)
    bn.bias.numpy()[:] = rng.standard_normal(C)
    x = rng.standard_normal(shape)
    out = bn(tg.tensor(x))
    ref, xhat, _, _ = bn_reference(x, bn.weight.numpy(), bn.bias.numpy())
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(shape)
    out.backward(tg.tensor(g))
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(bn.bias.grad.numpy(), g.sum(axis=axes), rtol=1e-10)
    np.testing.assert_allclose(bn.weight.grad.numpy(), (g * xhat).sum(axis=axes), rtol=1e-10)


@pytest.mark.parametrize("shape", [(6, 1), (4, 1, 3, 3), (5, 3, 2)])
def test_batch_norm_input_gradient_closed_form(shape):
    C = shape[1]
    x = rng.standard_normal(shape)
    w, b = rng.uniform(0.5, 2, C), rng.standard_normal(C)
    xt = tg.tensor(x, requires_grad=True)
    out = F.batch_norm(xt, None, None, tg.tensor(w), tg.tensor(b), training=True)
    g = rng.standard_normal(shape)
    out.backward(tg.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), bn_input_grad(x, w, g), rtol=1e-8, atol=1e-12)


def test_batch_norm_input_gradient_without_affine():
    x = rng.standard_normal((5, 2))
    xt = tg.tensor(x, requires_grad=True)
    bn = tg.nn.BatchNorm1d(2, affine=False, dtype=np.float64)
    g = rng.standard_normal((5, 2))
    bn(xt).backward(tg.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), bn_input_grad(x, np.ones(2), g), rtol=1e-8, atol=1e-12)


def test_batch_norm_running_statistics_and_eval_mode():
    x = rng.standard_normal((8, 2)) * 3 + 1
    bn = tg.nn.BatchNorm1d(2, momentum=0.25, dtype=np.float64)
    bn(tg.tensor(x))
    mean, var_unbiased = x.mean(0), x.var(0, ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.75 + 0.25 * var_unbiased, rtol=1e-12)
    assert int(bn.num_batches_tracked.numpy()) == 1
    bn.eval()
    xt = tg.tensor(x, requires_grad=True)
    out = bn(xt)
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    np.testing.assert_allclose(out.numpy(), (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-10)
    g = rng.standard_normal((8, 2))
    out.backward(tg.tensor(g))
    np.testing.assert_allclose(xt.grad.numpy(), g / np.sqrt(rv + 1e-5), rtol=1e-10)   # statistics are constants
    np.testing.assert_allclose(bn.running_mean.numpy(), rm)                           # eval changes nothing


def test_batch_norm_cumulative_average_when_momentum_is_none():
    bn = tg.nn.BatchNorm1d(1, momentum=None, dtype=np.float64)
    batches = [rng.standard_normal((4, 1)) + k for k in range(3)]
    for b in batches:
        bn(tg.tensor(b))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean() for b in batches]), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([b.var(ddof=1) for b in batches]), rtol=1e-12)


def test_batch_norm_without_running_statistics_uses_the_batch_in_eval_too():
    x = rng.standard_normal((6, 3))
    bn = tg.nn.BatchNorm1d(3, track_running_stats=False, dtype=np.float64).eval()
    assert bn.running_mean is None
    ref = bn_reference(x, np.ones(3), np.zeros(3))[0]
    np.testing.assert_allclose(bn(tg.tensor(x)).numpy(), ref, rtol=1e-10, atol=1e-12)


def test_batch_norm_reset_running_stats():
    bn = tg.nn.BatchNorm1d(2, dtype=np.float64)
    bn(tg.tensor(rng.standard_normal((4, 2)) + 5))
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.numpy(), [0, 0])
    np.testing.assert_array_equal(bn.running_var.numpy(), [1, 1])
    assert int(bn.num_batches_tracked.numpy()) == 0


@pytest.mark.parametrize("name, value", [("running_mean", np.zeros(3)), ("running_var", np.ones(3)),
                                         ("weight", np.ones(1)), ("bias", np.zeros((2, 2)))])
def test_batch_norm_rejects_wrongly_shaped_statistics_and_parameters(name, value):
    args = dict(running_mean=np.zeros(2), running_var=np.ones(2), weight=None, bias=None)
    args[name] = tg.tensor(value) if name in ("weight", "bias") else value
    rm_before = args["running_mean"].copy() if isinstance(args["running_mean"], np.ndarray) else None
    with pytest.raises(ValueError, match=rf"batch_norm: {name} must have shape \(2,\)"):
        F.batch_norm(tg.tensor(rng.standard_normal((4, 2))), args["running_mean"], args["running_var"],
                     args["weight"], args["bias"], training=True)
    if rm_before is not None:
        np.testing.assert_array_equal(args["running_mean"], rm_before)     # refused before any update


def test_batch_norm_needs_more_than_one_value_per_channel_to_train():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        tg.nn.BatchNorm1d(3)(tg.ones(1, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D"):
        tg.nn.BatchNorm2d(3)(tg.ones(2, 3))
    with pytest.raises(ValueError, match="expected 3 channels"):
        tg.nn.BatchNorm1d(3)(tg.ones(4, 2))
    bn = tg.nn.BatchNorm1d(3).eval()                         # eval with running stats: one sample is fine
    assert bn(tg.ones(1, 3)).shape == (1, 3)


def test_batch_norm_against_torch():
    torch = pytest.importorskip("torch")
    for shape in [(6, 1), (4, 1, 3, 3), (5, 3, 2), (3, 2, 4, 4)]:
        x = rng.standard_normal(shape)
        C = shape[1]
        ours = (tg.nn.BatchNorm2d if len(shape) == 4 else tg.nn.BatchNorm1d)(C, dtype=np.float64)
        theirs = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(C).double()
        xt, xs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = rng.standard_normal(shape)
        ours(xt).backward(tg.tensor(g))
        theirs(xs).backward(torch.tensor(g))
        np.testing.assert_allclose(xt.grad.numpy(), xs.grad.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
        ours.eval(), theirs.eval()
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-10, atol=1e-12)


# ---- the wrappers' argument checks: each names the op and the shapes ------------------------------------
def _t(*shape, dtype=np.float64):
    return tg.tensor(np.ones(shape, dtype))


WRAPPER_ERRORS = [
    (lambda: F.linear(_t(2, 3), _t(4, 5)), ValueError,
     r"^linear: input of shape \(2, 3\) does not match weight of shape \(4, 5\) \(expected input \(\.\.\., 5\)\)$"),
    (lambda: F.linear(_t(), _t(4, 5)), ValueError, r"^linear: input of shape \(\) does not match"),
    (lambda: F.linear(_t(2, 5), _t(4, 5), _t(5)), ValueError,
     r"^linear: bias of shape \(5,\) does not match weight \(4, 5\)$"),
    (lambda: F.one_hot(_t(3)), TypeError, r"^one_hot: expected integer class indices, got dtype float64$"),
    (lambda: F.one_hot(tg.tensor(np.zeros(0, np.int64))), ValueError, r"^one_hot: cannot infer num_classes"),
    (lambda: F.one_hot(tg.tensor([0, 3]), 3), ValueError, r"^one_hot: class index 3 is outside \[0, 3\)$"),
    (lambda: F.one_hot(tg.tensor([-1, 1]), 3), ValueError, r"^one_hot: class index -1 is outside \[0, 3\)$"),
    (lambda: F.batch_norm(_t(3), None, None), ValueError, r"^batch_norm: expected input of shape \(N, C, \.\.\.\)"),
    (lambda: F.cross_entropy(_t(2, 3), _t(2)), TypeError,
     r"^cross_entropy: target must hold integer class indices \(e\.g\. int64\), got dtype float64$"),
    (lambda: F.nll_loss(_t(2, 3), None), TypeError, r"^nll_loss: target must hold integer .* got None$"),
    (lambda: F.cross_entropy(_t(), tg.tensor(0)), ValueError, r"^cross_entropy: input must have a class dimension"),
    (lambda: F.cross_entropy(_t(2, 3), tg.tensor([0, 1, 2])), ValueError,
     r"^cross_entropy: target of shape \(3,\) does not match input of shape \(2, 3\) \(expected target shape "
     r"\(2,\): one class index per row\)$"),
    (lambda: F.cross_entropy(_t(2, 3), tg.tensor([0, 3])), ValueError,
     r"^cross_entropy: target holds class 3, outside \[0, 3\) for input with 3 classes$"),
    (lambda: F.nll_loss(_t(2, 3), tg.tensor([-2, 1])), ValueError, r"^nll_loss: target holds class -2, outside"),
    (lambda: F.cross_entropy(_t(2, 3), tg.tensor([0, 1]), weight=np.ones(2)), ValueError,
     r"^cross_entropy: weight must have shape \(3,\) \(one per class\), got \(2,\)$"),
    (lambda: F.cross_entropy(_t(2, 3, dtype=np.int64), tg.tensor([0, 1])), TypeError,
     r"^cross_entropy: input must be floating point, got dtype int64$"),
    (lambda: F.mse_loss(_t(2), np.array(["a", "b"])), TypeError, r"unsupported dtype <U1"),
    (lambda: F.mse_loss(_t(2), _t(2, 1)), ValueError,
     r"^mse_loss: target of shape \(2, 1\) differs from input of shape \(2,\)"),
    (lambda: F.binary_cross_entropy(_t(2), _t(2), weight=np.ones(3)), ValueError,
     r"^binary_cross_entropy: weight of shape \(3,\) does not broadcast to input of shape \(2,\)$"),
    (lambda: F.binary_cross_entropy_with_logits(_t(2), _t(2), pos_weight=np.ones(3)), ValueError,
     r"^binary_cross_entropy_with_logits: pos_weight of shape \(3,\) does not broadcast"),
    (lambda: F.conv2d(_t(1, 1, 3, 3), _t(1, 1, 2, 2), "b"), TypeError, r"^conv2d: bias must be a Tensor, got str$"),
    (lambda: F.conv2d(_t(1, 1, 3, 3), _t(1, 1, 2, 2, dtype=np.int64)), TypeError,
     r"^conv2d: weight must be floating point, got dtype int64$"),
    (lambda: F.conv2d(_t(1, 1, 3, 3), _t(1, 1, 2, 2), _t(1, dtype=np.int32)), TypeError,
     r"^conv2d: bias must be floating point, got dtype int32$"),
    (lambda: F.binary_cross_entropy(tg.tensor([0.5, 1.5]), _t(2)), ValueError,
     r"^binary_cross_entropy: input must hold probabilities in \[0, 1\], got values in \[0\.5, 1\.5\]"),
]


@pytest.mark.parametrize("fn, error, message", WRAPPER_ERRORS,
                         ids=[f"{i}-{re.sub(r'[^a-z_]', '', m.split(':')[0])}" for i, (_, _, m) in enumerate(WRAPPER_ERRORS)])
def test_wrapper_errors_name_the_op_and_shapes(fn, error, message):
    with pytest.raises(error, match=message):
        fn()


def test_one_hot_and_ignore_index_behaviour():
    np.testing.assert_array_equal(F.one_hot(tg.tensor([2, 0])).numpy(), [[0, 0, 1], [1, 0, 0]])
    assert F.one_hot(tg.tensor([[1]]), 4).shape == (1, 1, 4) and F.one_hot(np.array([1])).dtype == np.int64
    x = rng.standard_normal((3, 4))
    xt = tg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, tg.tensor([1, -100, 3]))             # the default ignore_index is -100
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    assert loss.item() == pytest.approx(-(logp[0, 1] + logp[2, 3]) / 2, rel=1e-12)
    loss.backward()
    np.testing.assert_array_equal(xt.grad.numpy()[1], np.zeros(4))
    assert F.cross_entropy(tg.tensor(x), tg.tensor([-100, -100, -100])).numpy() != \
        F.cross_entropy(tg.tensor(x), tg.tensor([-100, -100, -100])).numpy()          # all ignored: nan


def test_cross_entropy_on_one_sample_and_on_images():
    x = rng.standard_normal(4)
    loss = F.cross_entropy(tg.tensor(x), tg.tensor(2))                # (C,) logits, a 0-d target
    assert loss.item() == pytest.approx(np.log(np.exp(x).sum()) - x[2], rel=1e-12)
    imgs = rng.standard_normal((2, 3, 2, 2))
    t = np.array([[[0, 1], [2, 0]], [[1, 1], [0, 2]]])
    per = F.cross_entropy(tg.tensor(imgs), tg.tensor(t), reduction="none")
    logp = imgs - np.log(np.exp(imgs).sum(1, keepdims=True))
    want = -np.take_along_axis(logp, t[:, None], axis=1)[:, 0]
    assert per.shape == (2, 2, 2)
    np.testing.assert_allclose(per.numpy(), want, rtol=1e-12)


def test_float32_losses_stay_float32_with_ignored_targets_and_when_all_are_ignored():
    x = tg.tensor(rng.standard_normal((3, 4)).astype(np.float32))
    some = F.cross_entropy(x, tg.tensor([1, -100, 3]))
    assert some.dtype == np.float32
    none_left = F.cross_entropy(x, tg.tensor([-100, -100, -100]))
    assert none_left.dtype == np.float32 and np.isnan(none_left.item())
    assert F.nll_loss(x, tg.tensor([-100, -100, -100])).dtype == np.float32


def test_an_ignore_index_between_the_targets_that_no_target_uses():
    x = rng.standard_normal((2, 4))
    plain = F.cross_entropy(tg.tensor(x), tg.tensor([0, 2]))
    np.testing.assert_allclose(F.cross_entropy(tg.tensor(x), tg.tensor([0, 2]), ignore_index=1).numpy(),
                               plain.numpy(), rtol=1e-15)


def test_batch_norm_layer_dtypes_names_and_argument_check():
    bn = tg.nn.BatchNorm1d(3)
    assert bn.weight.dtype == bn.bias.dtype == bn.running_mean.dtype == bn.running_var.dtype == np.float32
    assert bn.num_batches_tracked.dtype == np.int64
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    plain = tg.nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    assert plain.weight is None and plain.bias is None and plain.num_batches_tracked is None
    assert plain.state_dict() == {}
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match=r"^BatchNorm1d: num_features must be a positive integer"):
            tg.nn.BatchNorm1d(bad)


def test_unbatched_conv2d_with_padding_on_a_non_square_image():
    x = rng.standard_normal((2, 4, 6))                        # (C, H, W), H != W
    w = rng.standard_normal((3, 2, 3, 3))
    single = F.conv2d(tg.tensor(x), tg.tensor(w), padding=(1, 2))
    batched = F.conv2d(tg.tensor(x[None]), tg.tensor(w), padding=(1, 2))
    assert single.shape == (3, 4, 8)
    np.testing.assert_allclose(single.numpy(), batched.numpy()[0], rtol=1e-12)


def test_unbatched_conv2d_kernel_taller_than_the_image_is_refused_naming_both_sizes():
    with pytest.raises(ValueError, match=r"larger than the padded input 2x6 \(input \(1, 2, 6\), padding"):
        F.conv2d(tg.tensor(np.ones((1, 2, 6))), tg.tensor(np.ones((1, 1, 3, 1))))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_dropout_on_integers_and_bool_follows_pytorch(dtype):
    """PyTorch: 0 < p < 1 refuses an integer or bool input (1/(1 - p) cannot be cast back); p = 1 gives
    zeros of the input's dtype; p = 0 and eval mode return the input unchanged."""
    data = (np.arange(6) % 3).astype(dtype)
    x = tg.Tensor(data)
    with pytest.raises(TypeError, match=rf"dropout: p=0.5 .* floating point input, got dtype {np.dtype(dtype)}"):
        F.dropout(x, 0.5)
    with pytest.raises(TypeError, match="dropout: p=0.25"):
        tg.nn.Dropout(0.25)(x)
    zeros = F.dropout(x, 1.0)
    assert zeros.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(zeros.numpy(), np.zeros(6, dtype))
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x
    torch = pytest.importorskip("torch")
    tx = torch.from_numpy(data)
    with pytest.raises(RuntimeError):
        torch.nn.functional.dropout(tx, 0.5)
    assert torch.nn.functional.dropout(tx, 1.0).numpy().dtype == zeros.dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_keeps_a_float_dtype_and_scales_by_one_over_one_minus_p(dtype):
    tg.manual_seed(1)
    x = tg.Tensor(np.full(10_000, 2.0, dtype), requires_grad=True)
    out = F.dropout(x, 0.2)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.unique(out.numpy()), np.array([0.0, 2.0 / 0.8], dtype))
    out.sum().backward()
    assert x.grad.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy() / 2)


def test_functional_leaky_relu_uses_its_slope_and_names_itself():
    """F.leaky_relu(x, slope) = x for x > 0, slope·x otherwise (PyTorch's default slope 0.01); None as the
    input is refused naming the function."""
    x = tg.tensor([-2.0, -0.5, 0.0, 1.5], requires_grad=True)
    np.testing.assert_allclose(F.leaky_relu(x, 0.2).numpy(), [-0.4, -0.1, 0.0, 1.5], rtol=1e-6)
    np.testing.assert_allclose(F.leaky_relu(x).numpy(), [-0.02, -0.005, 0.0, 1.5], rtol=1e-6)
    F.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.2, 0.2, 0.2, 1.0], rtol=1e-6)
    with pytest.raises(TypeError, match=r"^leaky_relu: input must be a Tensor, got NoneType$"):
        F.leaky_relu(None)
