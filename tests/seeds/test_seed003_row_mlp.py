"""Seed 003 (8×8 digits, a 2-layer network in NumPy) as an executable oracle.

The seed writes its network in **row layout**: X is (m, 64), one row per sample; W1 is (in, hidden) and
b1 (1, hidden), so `X @ W1 + b1` broadcasts b1 over the rows. tinygrad_np's samples are rows too, but
nn.Linear keeps its weight as (out, in) (PyTorch's layout): the seed's W1 is copied in transposed.

Seed formulas ("Key Components", verbatim) and the line that transcribes each:
    Z1 = X @ W1 + b1                forward()
    A1 = ReLU(Z1)                   forward()    ReLU: f(x) = max(0, x)
    Z2 = A1 @ W2 + b2               forward()
    A2 = Softmax(Z2)                forward()    f(x) = exp(x) / Σexp(x), "with numerical stability"
    L = −Σ(y · log(ŷ))              cost()       (mean over the m samples: the seed's gradients carry / m)
    dZ2 = A2 − Y                    backward()
    dW2 = A1.T @ dZ2 / m            backward()
    dZ1 = dZ2 @ W2.T * ReLU'(Z1)    backward()   ReLU'(z) = 1 where z > 0, else 0
    dW1 = X.T @ dZ1 / m             backward()
The seed lists no bias gradients; db1, db2 below complete them in the same pattern (column sums / m),
and its "vanilla gradient descent" is θ := θ − α dθ (update()).

Tests: test_seed_formulas_equal_tinygrad_np (hypothesis: sizes, batch, weights, labels, lr; loss, every
gradient, parameters after 1 and several SGD steps), test_finite_differences, test_pytorch.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from seedlib import away_from_0_and_1, check_training, off_kinks, draw, draw_labels, steps_st


# ---- the seed, transcribed ------------------------------------------------------------------------
def ReLU(Z):
    return np.maximum(0, Z)                                       # f(x) = max(0, x)


def ReLU_prime(Z):
    return (Z > 0).astype(Z.dtype)                                # ReLU'(z) = 1[z > 0]


def Softmax(Z):
    e = np.exp(Z - Z.max(axis=1, keepdims=True))                  # "numerical stability": shift by the row max
    return e / e.sum(axis=1, keepdims=True)                       # f(x) = exp(x) / Σexp(x)


def forward(X, W1, b1, W2, b2):
    Z1 = X @ W1 + b1                                              # Z1 = X @ W1 + b1
    A1 = ReLU(Z1)                                                 # A1 = ReLU(Z1)
    Z2 = A1 @ W2 + b2                                             # Z2 = A1 @ W2 + b2
    A2 = Softmax(Z2)                                              # A2 = Softmax(Z2)
    return Z1, A1, Z2, A2


def cost(A2, Y):
    m = Y.shape[0]
    return -np.sum(Y * np.log(A2)) / m                            # L = −Σ(y · log(ŷ)), averaged over m


def backward(X, Y, W2, Z1, A1, A2):
    m = X.shape[0]
    dZ2 = A2 - Y                                                  # dZ2 = A2 − Y
    dW2 = A1.T @ dZ2 / m                                          # dW2 = A1.T @ dZ2 / m
    db2 = np.sum(dZ2, axis=0, keepdims=True) / m                  # (not in the seed) db2 = Σ_rows dZ2 / m
    dZ1 = dZ2 @ W2.T * ReLU_prime(Z1)                             # dZ1 = dZ2 @ W2.T * ReLU'(Z1)
    dW1 = X.T @ dZ1 / m                                           # dW1 = X.T @ dZ1 / m
    db1 = np.sum(dZ1, axis=0, keepdims=True) / m                  # (not in the seed) db1 = Σ_rows dZ1 / m
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def update(P, G, alpha):
    return {k: P[k] - alpha * G[k] for k in P}                    # θ := θ − α dθ


def oracle(X, Y):
    def loss_and_grads(P):
        Z1, A1, Z2, A2 = forward(X, P["W1"], P["b1"], P["W2"], P["b2"])
        off_kinks(Z1)
        away_from_0_and_1(A2, 1e-100, "a saturated softmax")
        return cost(A2, Y), backward(X, Y, P["W2"], Z1, A1, A2)
    return loss_and_grads


# ---- the same network in tinygrad_np --------------------------------------------------------------
def to_nn(P):
    """Row layout (in, out) → nn.Linear's (out, in): transpose the weights; biases lose their row axis."""
    return {"0.weight": P["W1"].T, "0.bias": P["b1"][0], "2.weight": P["W2"].T, "2.bias": P["b2"][0]}


def make_model(n_in, hidden, classes):
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def nn_loss(X, y):
    x, target = tg.Tensor(X), tg.Tensor(y)
    return lambda model: nn.CrossEntropyLoss()(model(x), target)


@given(data=st.data(), alpha=st.floats(0.001, 0.1), steps=steps_st())   # pixels up to 16: smaller steps
def test_seed_formulas_equal_tinygrad_np(data, alpha, steps):
    n_in, hidden = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))   # the seed: 64 → 32 → 10
    classes, m = data.draw(st.integers(2, 5)), data.draw(st.integers(1, 6))
    X = draw(data, (m, n_in), 0.0, 16.0)                          # the digits' pixel range 0..16
    y = draw_labels(data, m, classes)
    P = {"W1": draw(data, (n_in, hidden), scale=1 / 16), "b1": draw(data, (1, hidden)),
         "W2": draw(data, (hidden, classes)), "b2": draw(data, (1, classes))}
    if data.draw(st.booleans()):                                  # a unit sitting exactly on the kink:
        P["W1"][:, 0], P["b1"][0, 0] = 0.0, 0.0                   # Z1[:, 0] = 0, where ReLU'(0) = 0
    check_training(make_model(n_in, hidden, classes), nn_loss(X, y), oracle(X, np.eye(classes)[y]), update, P,
                   to_nn, alpha, steps, x=tg.Tensor(X))


def random_problem(seed, n_in=6, hidden=5, classes=4, m=7):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 16, (m, n_in))
    y = rng.integers(0, classes, m)
    P = {"W1": rng.normal(0, 0.1, (n_in, hidden)), "b1": rng.normal(0, 1, (1, hidden)),
         "W2": rng.normal(0, 1, (hidden, classes)), "b2": rng.normal(0, 1, (1, classes))}
    return X, y, classes, P


@pytest.mark.parametrize("seed", [0, 1])
def test_finite_differences(seed):
    """Second oracle: central differences for every parameter and the input."""
    X, y, classes, P = random_problem(seed)
    F, labels = nn.functional, tg.Tensor(y)
    fn = lambda x, w1, b1, w2, b2: F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)
    state = to_nn(P)
    inputs = [tg.Tensor(X, requires_grad=True)] + [tg.Tensor(np.ascontiguousarray(state[n]), requires_grad=True)
                                                  for n in ("0.weight", "0.bias", "2.weight", "2.bias")]
    assert tg.gradcheck(fn, inputs)


@pytest.mark.parametrize("seed", [0, 1])
def test_pytorch(seed):
    """Third oracle: PyTorch with the same weights agrees with the seed's formulas, step after step."""
    torch = pytest.importorskip("torch")
    from seedlib import assert_loss, assert_same, torch_grads, torch_params, torch_state
    X, y, classes, P = random_problem(seed)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], P["W1"].shape[1]), torch.nn.ReLU(),
                                torch.nn.Linear(P["W1"].shape[1], classes)).double()
    model.load_state_dict(torch_state(to_nn(P)))
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    loss_and_grads = oracle(X, np.eye(classes)[y])
    for step in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        J, G = loss_and_grads(P)
        assert_loss(loss.item(), J)
        assert_same(torch_grads(model), to_nn(G), f"step {step}: torch gradient of")
        opt.step()
        P = update(P, G, 0.2)
        assert_same(torch_params(model), to_nn(P), f"after {step + 1} torch update(s):")
