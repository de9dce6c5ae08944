"""Seed 004 (MNIST binary and 10-class classifiers in NumPy) as an executable oracle.

The seed gives its backprop **per sample**, for a single linear layer:
    binary:       z = W·x + b → a = σ(z)                      binary_forward()
                  L = −[y·log(a) + (1−y)·log(1−a)]            binary_loss()
                  dW = (a−y)·x,  db = (a−y)                   binary_grads()
    multi-class:  p_i = e^(z_i) / Σ(e^(z_j)),  z = W·x + b     multiclass_forward()
                  L = −Σ(y_i · log(p_i))                      multiclass_loss()
                  dW = (p−y) ⊗ x  (outer product)             multiclass_grads()
                  db = p − y   (not written in the seed; the same pattern as the binary db)
and trains with "mini-batch processing" and gradient descent. A mini-batch gradient is the mean of the
per-sample gradients — batched() below, exactly that, over the seed's per-sample formulas — which is
what a loss with reduction="mean" differentiates.

Shapes: x is (n,); binary W is (n,) (a row vector, W·x a dot product) → nn.Linear(n, 1).weight = W[None];
multi-class W is (k, n) = nn.Linear(n, k).weight as it is.

Tests: test_binary / test_multiclass (hypothesis: features, classes, batch size 1 = per sample and > 1 =
batched, weights, labels, lr; loss, gradients, parameters after 1 and several SGD steps; binary with
Sigmoid + BCELoss and with BCEWithLogitsLoss), test_finite_differences, test_pytorch.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from seedlib import check, check_training, draw, draw_labels, lr_st, steps_st


# ---- the seed, transcribed ------------------------------------------------------------------------
def sigma(z):
    return 1 / (1 + np.exp(-z))


def binary_forward(x, W, b):
    z = W @ x + b                                                 # z = W·x + b
    return sigma(z)                                               # a = σ(z)


def binary_loss(a, y):
    return -(y * np.log(a) + (1 - y) * np.log(1 - a))             # L = −[y·log(a) + (1−y)·log(1−a)]


def binary_grads(x, y, P):
    a = binary_forward(x, P["W"], P["b"])
    return binary_loss(a, y), {"W": (a - y) * x,                  # dW = (a−y)·x
                               "b": a - y}                        # db = (a−y)


def multiclass_forward(x, W, b):
    z = W @ x + b                                                 # z = W·x + b
    return np.exp(z) / np.sum(np.exp(z))                          # p_i = e^(z_i) / Σ(e^(z_j))


def multiclass_loss(p, y):
    return -np.sum(y * np.log(p))                                 # L = −Σ(y_i · log(p_i))


def multiclass_grads(x, y, P):
    p = multiclass_forward(x, P["W"], P["b"])
    return multiclass_loss(p, y), {"W": np.outer(p - y, x),       # dW = (p−y) ⊗ x
                                   "b": p - y}                    # db = p − y


def batched(per_sample, X, Y):
    """The mini-batch cost and gradients: means of the seed's per-sample ones."""
    def loss_and_grads(P):
        results = [per_sample(x, y, P) for x, y in zip(X, Y)]
        # after big steps a sample can be confidently wrong: there the seed's unshifted exp/log lose digits
        check(all(L < 20 for L, _ in results), "a saturated output (a per-sample loss above 20)")
        return (np.mean([L for L, _ in results]),
                {k: np.mean([g[k] for _, g in results], axis=0) for k in P})
    return loss_and_grads


def update(P, G, alpha):
    return {k: P[k] - alpha * G[k] for k in P}                    # W := W − α dW, b := b − α db


# ---- the same models in tinygrad_np ---------------------------------------------------------------
def binary_to_nn(P):
    return {"weight": P["W"][None, :], "bias": np.reshape(P["b"], (1,))}


def multiclass_to_nn(P):
    return {"weight": P["W"], "bias": P["b"]}


@pytest.mark.parametrize("head", ["Sigmoid+BCELoss", "BCEWithLogitsLoss"])
@given(data=st.data(), alpha=lr_st(), steps=steps_st())
def test_binary(head, data, alpha, steps):
    n, m = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 5))   # m = 1: the seed's per-sample form
    X = draw(data, (m, n), 0.0, 1.0)
    Y = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=m, max_size=m)))
    P = {"W": draw(data, (n,), scale=2 / n), "b": np.float64(data.draw(st.floats(-1, 1)))}   # |z| ≤ 3
    x, y = tg.Tensor(X), tg.Tensor(Y[:, None])
    if head == "Sigmoid+BCELoss":
        loss_of = lambda model: nn.BCELoss()(model(x).sigmoid(), y)
    else:
        loss_of = lambda model: nn.BCEWithLogitsLoss()(model(x), y)
    check_training(nn.Linear(n, 1), loss_of, batched(binary_grads, X, Y), update, P, binary_to_nn, alpha, steps, x=x)


@given(data=st.data(), alpha=lr_st(), steps=steps_st())
def test_multiclass(data, alpha, steps):
    n, k, m = data.draw(st.integers(1, 8)), data.draw(st.integers(2, 10)), data.draw(st.integers(1, 5))
    X = draw(data, (m, n), 0.0, 1.0)
    y = draw_labels(data, m, k)
    P = {"W": draw(data, (k, n)), "b": draw(data, (k,))}
    x, target = tg.Tensor(X), tg.Tensor(y)
    check_training(nn.Linear(n, k), lambda model: nn.CrossEntropyLoss()(model(x), target),
                   batched(multiclass_grads, X, np.eye(k)[y]), update, P, multiclass_to_nn, alpha, steps, x=x)


def test_per_sample_is_one_row_of_the_batch():
    """The seed's per-sample dW = (p−y) ⊗ x is what the framework gives for a batch of one, and the
    batch gradient is the mean of those rows: checked on one concrete batch, sample by sample."""
    rng = np.random.default_rng(3)
    X, y, k = rng.uniform(0, 1, (4, 5)), np.array([0, 2, 1, 2]), 3
    P = {"W": rng.normal(0, 1, (k, 5)), "b": rng.normal(0, 1, k)}
    model = nn.Linear(5, k)
    from seedlib import assert_same, grads, load
    load(model, multiclass_to_nn(P))
    per_sample = []
    for i in range(4):
        model.zero_grad()
        nn.CrossEntropyLoss()(model(tg.Tensor(X[i:i + 1])), tg.Tensor(y[i:i + 1])).backward()
        _, G = multiclass_grads(X[i], np.eye(k)[y[i]], P)
        assert_same(grads(model), multiclass_to_nn(G), f"sample {i}: gradient of")
        per_sample.append(grads(model)["weight"].copy())
    model.zero_grad()
    nn.CrossEntropyLoss()(model(tg.Tensor(X)), tg.Tensor(y)).backward()
    np.testing.assert_allclose(grads(model)["weight"], np.mean(per_sample, axis=0), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("seed", [0, 1])
def test_finite_differences(seed):
    """Second oracle: central differences for both models' parameters and inputs."""
    rng = np.random.default_rng(seed)
    F = nn.functional
    X = tg.Tensor(rng.uniform(0, 1, (5, 6)), requires_grad=True)
    yb = tg.Tensor(rng.integers(0, 2, (5, 1)).astype(np.float64))
    wb, bb = (tg.Tensor(rng.normal(0, 1, s), requires_grad=True) for s in [(1, 6), (1,)])
    assert tg.gradcheck(lambda x, w, b: F.binary_cross_entropy(F.linear(x, w, b).sigmoid(), yb), [X, wb, bb])
    assert tg.gradcheck(lambda x, w, b: F.binary_cross_entropy_with_logits(F.linear(x, w, b), yb), [X, wb, bb])
    yk = tg.Tensor(rng.integers(0, 4, 5))
    wk, bk = (tg.Tensor(rng.normal(0, 1, s), requires_grad=True) for s in [(4, 6), (4,)])
    assert tg.gradcheck(lambda x, w, b: F.cross_entropy(F.linear(x, w, b), yk), [X, wk, bk])


@pytest.mark.parametrize("seed", [0, 1])
def test_pytorch(seed):
    """Third oracle: PyTorch's batched gradients equal the means of the seed's per-sample formulas."""
    torch = pytest.importorskip("torch")
    from seedlib import assert_loss, assert_same, torch_grads, torch_state
    rng = np.random.default_rng(seed)
    X, yb, yk = rng.uniform(0, 1, (5, 6)), rng.integers(0, 2, 5).astype(np.float64), rng.integers(0, 4, 5)
    Pb = {"W": rng.normal(0, 1, 6), "b": np.float64(rng.normal())}
    Pk = {"W": rng.normal(0, 1, (4, 6)), "b": rng.normal(0, 1, 4)}
    xt = torch.from_numpy(X)
    for P, to_nn, per_sample, Y, k, loss_fn, target in [
            (Pb, binary_to_nn, binary_grads, yb, 1,
             lambda z, t: torch.nn.functional.binary_cross_entropy(torch.sigmoid(z), t), torch.from_numpy(yb[:, None])),
            (Pk, multiclass_to_nn, multiclass_grads, np.eye(4)[yk], 4,
             torch.nn.functional.cross_entropy, torch.from_numpy(yk))]:
        model = torch.nn.Linear(6, k).double()
        model.load_state_dict(torch_state(to_nn(P)))
        loss = loss_fn(model(xt), target)
        loss.backward()
        J, G = batched(per_sample, X, Y)(P)
        assert_loss(loss.item(), J)
        assert_same(torch_grads(model), to_nn(G), "torch gradient of")
