"""Losses: values against NumPy transcriptions of PyTorch's formulas, gradients against central
differences (float64, tinygrad_np.testing defaults: atol 1e-6, rtol 1e-5 — see testing.py for why),
the seeds' hand-derived gradients, stability at ±1e4 and clear errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from tinygrad_np.nn import functional as F
from tinygrad_np.testing import arrays, assert_grad_close


def log_softmax_ref(x):
    m = x.max(axis=1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))


def ce_ref(x, t, weight=None, ignore_index=-100, reduction="mean", eps=0.0):
    """PyTorch's documented cross-entropy, one sample at a time."""
    n, c = x.shape
    logp = log_softmax_ref(x)
    w = np.ones(c) if weight is None else weight
    per, denom = np.zeros(n), 0.0
    for i in range(n):
        if t[i] == ignore_index:
            continue
        nll = -w[t[i]] * logp[i, t[i]]
        smooth = -np.sum(w * logp[i])
        per[i] = (1 - eps) * nll + eps / c * smooth
        denom += w[t[i]]
    return {"none": per, "sum": per.sum(), "mean": per.sum() / denom}[reduction]


@st.composite
def ce_cases(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    x = draw(arrays(shape=(n, c)))
    t = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), np.int64)
    if draw(st.booleans()) and n > 1:
        t[draw(st.integers(0, n - 1))] = -100          # one ignored target (never all: mean stays finite)
    weight = draw(st.none() | arrays(shape=(c,), low=0.2, high=2.0))
    return x, t, weight, draw(st.sampled_from(["mean", "sum", "none"])), draw(st.sampled_from([0.0, 0.1, 0.3]))


@given(ce_cases())
def test_cross_entropy_value_and_gradient(case):
    x, t, w, reduction, eps = case
    assert_grad_close(lambda a: F.cross_entropy(a, t, weight=w, reduction=reduction, label_smoothing=eps), x,
                      reference=lambda a: ce_ref(a, t, w, reduction=reduction, eps=eps))


@given(ce_cases())
def test_nll_loss_value_and_gradient(case):
    x, t, w, reduction, _ = case
    logp = log_softmax_ref(x)
    assert_grad_close(lambda a: F.nll_loss(a, t, weight=w, reduction=reduction), logp,
                      reference=lambda a: ce_ref(x, t, w, reduction=reduction))


def test_cross_entropy_spatial_and_unbatched_shapes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5))
    t = rng.integers(0, 3, (2, 4, 5))
    flat_x, flat_t = np.moveaxis(x, 1, -1).reshape(-1, 3), t.reshape(-1)
    out = F.cross_entropy(tg.Tensor(x), t, reduction="none")
    assert out.shape == (2, 4, 5)
    np.testing.assert_allclose(out.numpy(), ce_ref(flat_x, flat_t, reduction="none").reshape(2, 4, 5), rtol=1e-12)
    assert_grad_close(lambda a: F.cross_entropy(a, t), x)
    v = rng.standard_normal(4)
    np.testing.assert_allclose(F.cross_entropy(tg.Tensor(v), np.array(2)).item(), ce_ref(v[None], [2]), rtol=1e-12)


@given(arrays(shape=st.tuples(st.integers(1, 3), st.integers(1, 4))), st.data())
def test_binary_losses_value_and_gradient(x, data):
    y = data.draw(arrays(shape=x.shape, low=0.0, high=1.0))
    w = data.draw(st.none() | arrays(shape=x.shape[-1:], low=0.2, high=2.0))
    pw = data.draw(st.none() | arrays(shape=x.shape[-1:], low=0.2, high=3.0))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    red = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    ww, pww = (1.0 if w is None else w), (1.0 if pw is None else pw)

    def logits_ref(a, b):   # PyTorch's documented formula, evaluated naively (fine for |a| <= 3)
        s = 1 / (1 + np.exp(-a))
        return red(-ww * (pww * b * np.log(s) + (1 - b) * np.log(1 - s)))
    assert_grad_close(lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=w, reduction=reduction,
                                                                      pos_weight=pw), x, y, reference=logits_ref)
    p = 1 / (1 + np.exp(-x))          # probabilities in [0.047, 0.953]: away from the clamps
    assert_grad_close(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction), p, y,
                      reference=lambda a, b: red(-ww * (b * np.log(a) + (1 - b) * np.log(1 - a))))
    assert_grad_close(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y,
                      reference=lambda a, b: red((a - b) ** 2))


# ---- the seeds' hand-derived formulas --------------------------------------------------------------------
def test_softmax_cross_entropy_backward_matches_seed_formulas():
    """Seeds 000/003: dZ2 = A2 − Y_onehot; dW2 = A1ᵀ dZ2 / m; dZ1 = dZ2 W2ᵀ ⊙ 1[Z1 > 0]; dW1 = Xᵀ dZ1 / m."""
    rng = np.random.default_rng(3)
    m, n_in, hidden, classes = 16, 64, 32, 10
    X = rng.standard_normal((m, n_in))
    labels = rng.integers(0, classes, m)
    fc1, fc2 = nn.Linear(n_in, hidden).double(), nn.Linear(hidden, classes).double()
    Z1 = fc1(tg.Tensor(X))
    Z2 = fc2(Z1.relu())
    Z2.retain_grad()
    F.cross_entropy(Z2, labels).backward()
    W1, b1, W2, b2 = fc1.weight.numpy().T, fc1.bias.numpy(), fc2.weight.numpy().T, fc2.bias.numpy()   # seed 003's layout
    Z1_h = X @ W1 + b1
    A1 = np.maximum(Z1_h, 0)
    Z2_h = A1 @ W2 + b2
    A2 = np.exp(Z2_h - Z2_h.max(1, keepdims=True))
    A2 /= A2.sum(1, keepdims=True)
    Y = np.eye(classes)[labels]
    dZ2 = A2 - Y
    dW2, db2 = A1.T @ dZ2 / m, dZ2.sum(0) / m
    dZ1 = dZ2 @ W2.T * (Z1_h > 0)
    dW1, db1 = X.T @ dZ1 / m, dZ1.sum(0) / m
    np.testing.assert_allclose(Z2.grad.numpy(), dZ2 / m, rtol=1e-10, atol=1e-14)
    for got, want in ((fc2.weight.grad.numpy(), dW2.T), (fc2.bias.grad.numpy(), db2),
                      (fc1.weight.grad.numpy(), dW1.T), (fc1.bias.grad.numpy(), db1)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)


def test_sigmoid_bce_gradient_is_a_minus_y():
    """Seed 004: z = W·x + b, a = σ(z), L = −[y log a + (1 − y) log(1 − a)]  ⇒  dL/dz = a − y, dW = (a − y)·x."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 784)), rng.integers(0, 2, (6, 1)).astype(np.float64)
    layer = nn.Linear(784, 1).double()
    z = layer(tg.Tensor(x))
    z.retain_grad()
    F.binary_cross_entropy_with_logits(z, y, reduction="sum").backward()
    a = 1 / (1 + np.exp(-z.numpy()))
    np.testing.assert_allclose(z.grad.numpy(), a - y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.weight.grad.numpy(), (a - y).T @ x, rtol=1e-10)
    z2 = tg.Tensor(z.numpy().copy(), requires_grad=True)           # the unfused route: sigmoid, then BCE
    F.binary_cross_entropy(z2.sigmoid(), y, reduction="sum").backward()
    np.testing.assert_allclose(z2.grad.numpy(), a - y, rtol=1e-9, atol=1e-12)


# ---- stability --------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_finite_and_silent_at_extreme_logits(dtype):
    # underflow of exp(−2e4) to 0 is intended (its contribution is below precision), so only over/divide/invalid raise
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        x = tg.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype), requires_grad=True)
        loss = F.cross_entropy(x, np.array([0, 0]), reduction="none")
        np.testing.assert_allclose(loss.numpy(), [0.0, 2e4], rtol=1e-6)
        loss.sum().backward()
        assert np.all(np.isfinite(x.grad.numpy()))
        np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0], [-1, 1, 0]], atol=1e-6)

        z = tg.Tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype), requires_grad=True)
        y = np.array([0.0, 1.0, 1.0, 0.0], dtype)
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        np.testing.assert_allclose(loss.numpy(), [1e4, 1e4, 0, 0], rtol=1e-6)
        loss.sum().backward()
        np.testing.assert_allclose(z.grad.numpy(), [1, -1, 0, 0], atol=1e-6)

        p = tg.Tensor(np.array([0.0, 1.0, 1.0, 0.0], dtype), requires_grad=True)
        loss = F.binary_cross_entropy(p, np.array([0.0, 1.0, 0.0, 1.0], dtype), reduction="none")
        np.testing.assert_allclose(loss.numpy(), [0, 0, 100, 100])        # log clamped at −100, as in PyTorch
        loss.sum().backward()
        assert np.all(np.isfinite(p.grad.numpy()))
    tiny = F.binary_cross_entropy(tg.Tensor(np.array([1e-50, 1e-60])), np.array([1.0, 1.0]), reduction="none")
    np.testing.assert_allclose(tiny.numpy(), [100, 100])              # log(1e-50) = −115 is clamped too


# ---- PyTorch's own numbers ---------------------------------------------------------------------------------
def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 4)) * 3
    t = np.array([0, 3, -100, 2, 1, 3])
    w = rng.uniform(0.5, 2, 4)
    for kw in (dict(), dict(weight=w), dict(label_smoothing=0.2), dict(weight=w, label_smoothing=0.1)):
        for reduction in ("mean", "sum", "none"):
            ours = tg.Tensor(x, requires_grad=True)
            theirs = torch.tensor(x, requires_grad=True)
            tkw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()}
            a = F.cross_entropy(ours, t, reduction=reduction, **kw)
            b = tF.cross_entropy(theirs, torch.tensor(t), reduction=reduction, **tkw)
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)
            a.sum().backward()
            b.sum().backward()
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-14)
    y = rng.uniform(0, 1, (6, 4))
    pw = rng.uniform(0.5, 3, 4)
    pairs = [(lambda a: F.binary_cross_entropy_with_logits(a, y, pos_weight=pw),
              lambda a: tF.binary_cross_entropy_with_logits(a, torch.tensor(y), pos_weight=torch.tensor(pw))),
             (lambda a: F.binary_cross_entropy(a.sigmoid(), y), lambda a: tF.binary_cross_entropy(a.sigmoid(), torch.tensor(y))),
             (lambda a: F.mse_loss(a, y), lambda a: tF.mse_loss(a, torch.tensor(y)))]
    for ours_fn, torch_fn in pairs:
        ours, theirs = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        a, b = ours_fn(ours), torch_fn(theirs)
        a.backward()
        b.backward()
        np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-14)


# ---- modules, one_hot, dtypes, errors -----------------------------------------------------------------------
def test_loss_modules_call_the_functions_and_keep_float32():
    rng = np.random.default_rng(1)
    x = tg.Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    t = np.array([0, 1, 2, 1, 0])
    for module, fn in ((nn.CrossEntropyLoss(label_smoothing=0.1), lambda: F.cross_entropy(x, t, label_smoothing=0.1)),
                       (nn.NLLLoss(), lambda: F.nll_loss(x.log_softmax(1), t)),
                       (nn.MSELoss(reduction="sum"), lambda: F.mse_loss(x, np.ones((5, 3)), reduction="sum"))):
        target = np.ones((5, 3)) if isinstance(module, nn.MSELoss) else t
        inp = x.log_softmax(1) if isinstance(module, nn.NLLLoss) else x
        out = module(inp, target)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), fn().numpy(), rtol=1e-6)
    y = (rng.uniform(size=(5, 3)) > 0.5)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(x, y).item(), F.binary_cross_entropy_with_logits(x, y).item())
    np.testing.assert_allclose(nn.BCELoss()(x.sigmoid(), y).item(), F.binary_cross_entropy(x.sigmoid(), y).item())
    assert repr(nn.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"


def test_one_hot():
    out = F.one_hot(tg.Tensor(np.array([[0, 2], [1, 1]])), num_classes=3)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 1]]])
    assert F.one_hot(np.array([3, 0])).shape == (2, 4)
    with pytest.raises(ValueError, match=r"one_hot: class index 3 is outside \[0, 3\)"):
        F.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="one_hot"):
        F.one_hot(np.array([1.0]))


@pytest.mark.parametrize("call, error, message", [
    (lambda x: F.cross_entropy(x, np.array([0, 1])), ValueError,
     r"cross_entropy: target of shape \(2,\) does not match input of shape \(3, 4\)"),
    (lambda x: F.cross_entropy(x, np.array([0.0, 1.0, 2.0])), TypeError, "cross_entropy: target must hold integer"),
    (lambda x: F.cross_entropy(x, np.array([0, 4, 1])), ValueError,
     r"cross_entropy: target holds class 4, outside \[0, 4\)"),
    (lambda x: F.cross_entropy(x, np.array([0, -1, 1])), ValueError, "cross_entropy: target holds class -1"),
    (lambda x: F.cross_entropy(x, np.array([0, 1, 2]), reduction="avg"), ValueError, "cross_entropy: reduction"),
    (lambda x: F.cross_entropy(x, np.array([0, 1, 2]), weight=np.ones(3)), ValueError, r"weight must have shape \(4,\)"),
    (lambda x: F.nll_loss(x, np.array([[0], [1], [2]])), ValueError, "nll_loss: target of shape"),
    (lambda x: F.binary_cross_entropy(x, np.zeros((3, 4))), ValueError, r"binary_cross_entropy: input must hold probabilities"),
    (lambda x: F.binary_cross_entropy_with_logits(x, np.zeros((3, 1))), ValueError,
     r"binary_cross_entropy_with_logits: target of shape \(3, 1\) differs from input of shape \(3, 4\)"),
    (lambda x: F.mse_loss(x, np.zeros(4)), ValueError, r"mse_loss: target of shape \(4,\) differs"),
    (lambda x: F.mse_loss(x.numpy().astype(np.int64), np.zeros((3, 4))), TypeError, "mse_loss: input must be floating"),
])
def test_loss_errors_name_the_loss(call, error, message):
    x = tg.Tensor(np.linspace(-2, 2, 12).reshape(3, 4))
    with pytest.raises(error, match=message):
        call(x)


def test_all_targets_ignored_gives_nan_like_pytorch_without_warnings():
    x = tg.Tensor(np.zeros((2, 3)), requires_grad=True)
    with np.errstate(all="raise"):
        loss = F.cross_entropy(x, np.array([-100, -100]))
        assert np.isnan(loss.item())
        assert F.cross_entropy(x, np.array([-100, -100]), reduction="sum").item() == 0.0


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_smoothed", "nll_loss"])
def test_a_mean_over_no_targets_is_nan_but_ignored_rows_get_zero_gradient(loss, create_graph):
    """PyTorch: when every target is ignored (or every weight is 0) the 'mean' loss is 0/0 = NaN; the gradient
    is NaN in the rows that count and 0 in the ignored rows, which its kernel never touches. Before, the ignored
    rows were NaN too, so one all-padding batch turned every parameter into NaN."""
    F = tg.nn.functional
    x0 = np.random.default_rng(4).standard_normal((3, 4))
    fns = {"cross_entropy": lambda x, t, **kw: F.cross_entropy(x, t, **kw),
           "cross_entropy_smoothed": lambda x, t, **kw: F.cross_entropy(x, t, label_smoothing=0.1, **kw),
           "nll_loss": lambda x, t, **kw: F.nll_loss(x.log_softmax(1), t, **kw)}
    for targets, weight, nan_rows in (([-100, -100, -100], None, []), ([0, 0, -100], [0.0, 1, 1, 1], [0, 1])):
        x = tg.tensor(x0, requires_grad=True)
        kw = {} if weight is None else {"weight": tg.tensor(np.array(weight))}
        out = fns[loss](x, tg.tensor(targets), **kw)
        (g,) = tg.autograd.grad(out, x, create_graph=create_graph)
        assert np.isnan(out.item())
        assert np.all(np.isnan(g.numpy()[nan_rows]))
        np.testing.assert_array_equal(np.delete(g.numpy(), nan_rows, axis=0), 0)
