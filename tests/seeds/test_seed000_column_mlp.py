"""Seed 000 (Rabbits vs Cats, a one-hidden-layer network in NumPy) as an executable oracle.

The seed writes its network in **column layout**: X is (n_x, m), one column per sample; W1 is
(n_h, n_x) and B1 (n_h, 1), so `W1 X + B1` broadcasts B1 over the m columns. tinygrad_np (like PyTorch)
puts samples in rows, so the model sees Xᵀ; nn.Linear's weight is (out, in) — the seed's W1 as it is —
and its bias is B1's single column.

Seed formulas (§3 forward, §4 backward, §5 update) and the line that transcribes each:
    Z1 = W1 X + B1                      forward()
    A1 = ReLU(Z1) = max(0, Z1)          forward()
    Z2 = W2 A1 + B2                     forward()
    A2 = softmax(Z2)                    forward()    softmax(z_i) = e^{z_i} / Σ_j e^{z_j}
    dZ2 = A2 − Y_one-hot                backward()
    dW2 = (1/m) dZ2 A1ᵀ                 backward()
    dB2 = (1/m) Σ dZ2                   backward()
    dZ1 = (W2ᵀ dZ2) · 1[Z1 > 0]         backward()
    dW1 = (1/m) dZ1 Xᵀ                  backward()
    dB1 = (1/m) Σ dZ1                   backward()
    W := W − α dW,  B := B − α dB       update()
The seed names the loss only ("cross-entropy"); its gradients carry 1/m, so the cost they differentiate
is the mean over samples, cost() below.

Tests: test_seed_formulas_equal_tinygrad_np (loss, every gradient, parameters after 1 and several SGD
steps, hypothesis-drawn sizes/batches/weights, both with the fused CrossEntropyLoss and with the seed's
explicit softmax output), test_finite_differences (tg.gradcheck), test_pytorch (third oracle).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from seedlib import away_from_0_and_1, check_training, off_kinks, draw, draw_labels, lr_st, one_hot_columns, steps_st


# ---- the seed, transcribed ------------------------------------------------------------------------
def forward(X, W1, B1, W2, B2):
    Z1 = W1 @ X + B1                                              # Z1 = W1 X + B1
    A1 = np.maximum(0, Z1)                                        # A1 = ReLU(Z1) = max(0, Z1)
    Z2 = W2 @ A1 + B2                                             # Z2 = W2 A1 + B2
    A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0, keepdims=True)   # A2 = softmax(Z2) = e^{z_i} / Σ_j e^{z_j}
    return Z1, A1, Z2, A2


def cost(A2, Y):
    m = Y.shape[1]
    return -np.sum(Y * np.log(A2)) / m                            # cross-entropy, mean over the m samples


def backward(X, Y, W2, Z1, A1, A2):
    m = X.shape[1]
    dZ2 = A2 - Y                                                  # dZ2 = A2 − Y_one-hot
    dW2 = (1 / m) * dZ2 @ A1.T                                    # dW2 = (1/m) dZ2 A1ᵀ
    dB2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)            # dB2 = (1/m) Σ dZ2
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)                                 # dZ1 = (W2ᵀ dZ2) · 1[Z1 > 0]
    dW1 = (1 / m) * dZ1 @ X.T                                     # dW1 = (1/m) dZ1 Xᵀ
    dB1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)            # dB1 = (1/m) Σ dZ1
    return {"W1": dW1, "B1": dB1, "W2": dW2, "B2": dB2}


def update(P, G, alpha):
    return {k: P[k] - alpha * G[k] for k in P}                    # W := W − α dW,  B := B − α dB


def oracle(X, Y):
    def loss_and_grads(P):
        Z1, A1, Z2, A2 = forward(X, P["W1"], P["B1"], P["W2"], P["B2"])
        off_kinks(Z1.T)                                           # (samples in rows, as the model has it)
        away_from_0_and_1(A2, 1e-100, "a saturated softmax")
        return cost(A2, Y), backward(X, Y, P["W2"], Z1, A1, A2)
    return loss_and_grads


# ---- the same network in tinygrad_np --------------------------------------------------------------
def to_nn(P):
    """Seed names/layouts → state_dict of Sequential(Linear, ReLU, Linear): biases lose their column axis."""
    return {"0.weight": P["W1"], "0.bias": P["B1"][:, 0], "2.weight": P["W2"], "2.bias": P["B2"][:, 0]}


def make_model(n_x, n_h, k, softmax_head):
    layers = [nn.Linear(n_x, n_h), nn.ReLU(), nn.Linear(n_h, k)]
    return nn.Sequential(*layers, nn.Softmax(dim=1)) if softmax_head else nn.Sequential(*layers)


def nn_loss(X, y, k, softmax_head):
    x = tg.Tensor(np.ascontiguousarray(X.T))                      # samples in rows
    if not softmax_head:
        return lambda model: nn.CrossEntropyLoss()(model(x), tg.Tensor(y))
    Y_rows = tg.Tensor(np.eye(k)[y])
    return lambda model: -(Y_rows * model(x).log()).sum() / len(y)   # the seed's explicit softmax + log


def draw_problem(data):
    n_x, n_h = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    k, m = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 5))   # the seed has k = 2 (rabbit, cat)
    X = draw(data, (n_x, m), 0.0, 1.0)                            # pixels normalised to [0, 1] (seed §1)
    y = draw_labels(data, m, k)
    P = {"W1": draw(data, (n_h, n_x)), "B1": draw(data, (n_h, 1)),
         "W2": draw(data, (k, n_h)), "B2": draw(data, (k, 1))}
    if data.draw(st.booleans()):                                  # a unit sitting exactly on the kink:
        P["W1"][0], P["B1"][0] = 0.0, 0.0                         # Z1[0] = 0, where 1[Z1 > 0] = 0
    return X, y, k, P


@pytest.mark.parametrize("softmax_head", [False, True], ids=["CrossEntropyLoss", "Softmax+log"])
@given(data=st.data(), alpha=lr_st(), steps=steps_st())
def test_seed_formulas_equal_tinygrad_np(softmax_head, data, alpha, steps):
    X, y, k, P = draw_problem(data)
    model = make_model(X.shape[0], P["W1"].shape[0], k, softmax_head)
    check_training(model, nn_loss(X, y, k, softmax_head), oracle(X, one_hot_columns(y, k)), update, P, to_nn,
                   alpha, steps, x=tg.Tensor(np.ascontiguousarray(X.T)))


def random_problem(seed, n_x=5, n_h=4, k=3, m=6):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n_x, m))
    y = rng.integers(0, k, m)
    P = {"W1": rng.normal(0, 1, (n_h, n_x)), "B1": rng.normal(0, 1, (n_h, 1)),
         "W2": rng.normal(0, 1, (k, n_h)), "B2": rng.normal(0, 1, (k, 1))}
    return X, y, k, P


@pytest.mark.parametrize("seed", [0, 1])
def test_finite_differences(seed):
    """Second oracle: central differences through the same network (the functional form of the model),
    for every parameter and the input. Random normal weights keep Z1 away from the ReLU kink."""
    X, y, k, P = random_problem(seed)
    F, labels = nn.functional, tg.Tensor(y)
    fn = lambda x, w1, b1, w2, b2: F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)
    state = to_nn(P)
    inputs = [tg.Tensor(X.T.copy(), requires_grad=True)] + [tg.Tensor(state[n], requires_grad=True)
                                                           for n in ("0.weight", "0.bias", "2.weight", "2.bias")]
    assert tg.gradcheck(fn, inputs)


@pytest.mark.parametrize("seed", [0, 1])
def test_pytorch(seed):
    """Third oracle: PyTorch, same weights, same loss, same gradients, same parameters after SGD steps."""
    torch = pytest.importorskip("torch")
    from seedlib import assert_loss, assert_same, torch_grads, torch_params, torch_state
    X, y, k, P = random_problem(seed)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[0], P["W1"].shape[0]), torch.nn.ReLU(),
                                torch.nn.Linear(P["W1"].shape[0], k)).double()
    model.load_state_dict(torch_state(to_nn(P)))
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    loss_and_grads = oracle(X, one_hot_columns(y, k))
    for step in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X.T.copy())), torch.from_numpy(y))
        loss.backward()
        J, G = loss_and_grads(P)
        assert_loss(loss.item(), J)
        assert_same(torch_grads(model), to_nn(G), f"step {step}: torch gradient of")
        opt.step()
        P = update(P, G, 0.3)
        assert_same(torch_params(model), to_nn(P), f"after {step + 1} torch update(s):")
