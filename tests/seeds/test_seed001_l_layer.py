"""Seed 001 (cat / non-cat, an L-layer network in NumPy) as an executable oracle.

The seed describes, without writing the algebra out, "a flexible L-layer architecture using ReLU and
sigmoid activations", "linear transformations (W·X + b)", a "cross-entropy" cost and "manual gradient
computation" with gradient descent — the layer-by-layer scheme with caches of its `L_layer_NN` notebook.
Its conventions: **column layout** (X is (n_x, m), one column per sample; W[l] is (n[l], n[l-1]),
b[l] is (n[l], 1)); parameters named W1, b1, ..., WL, bL; layers 1..L-1 ReLU, layer L sigmoid.

Formulas (one function each, as the seed's notebook splits them):
    Z[l] = W[l] A[l-1] + b[l],  cache = (A[l-1], W[l], b[l])        linear_forward()
    A[l] = ReLU(Z[l]) (l < L),  A[L] = σ(Z[L]),  cache = Z[l]       relu(), sigmoid()
    J = −(1/m) Σ [Y log A[L] + (1 − Y) log(1 − A[L])]              compute_cost()
    dA[L] = −(Y / A[L] − (1 − Y) / (1 − A[L]))                     L_model_backward()
    dZ[l] = dA[l] · σ(Z[l]) (1 − σ(Z[l]))    (output layer)         sigmoid_backward()
    dZ[l] = dA[l] · 1[Z[l] > 0]              (hidden layers)        relu_backward()
    dW[l] = (1/m) dZ[l] A[l-1]ᵀ                                     linear_backward()
    db[l] = (1/m) Σ_columns dZ[l]                                   linear_backward()
    dA[l-1] = W[l]ᵀ dZ[l]                                           linear_backward()
    W[l] := W[l] − α dW[l],  b[l] := b[l] − α db[l]                 update_parameters()

Tests: test_seed_formulas_equal_tinygrad_np (hypothesis: depth, widths, batch, weights, labels, lr;
loss, every gradient, parameters after 1 and several SGD steps), test_finite_differences (tg.gradcheck),
test_pytorch (third oracle).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from seedlib import away_from_0_and_1, check_training, off_kinks, draw, lr_st, steps_st


# ---- the seed, transcribed ------------------------------------------------------------------------
def linear_forward(A_prev, W, b):
    Z = W @ A_prev + b                                            # Z[l] = W[l] A[l-1] + b[l]
    return Z, (A_prev, W, b)                                      # linear cache


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z)), Z                                # A = σ(Z) = 1 / (1 + e^{−Z}), cache Z


def relu(Z):
    return np.maximum(0, Z), Z                                    # A = ReLU(Z) = max(0, Z), cache Z


def linear_activation_forward(A_prev, W, b, activation):
    Z, linear_cache = linear_forward(A_prev, W, b)
    A, activation_cache = sigmoid(Z) if activation == "sigmoid" else relu(Z)
    return A, (linear_cache, activation_cache)


def L_model_forward(X, parameters):
    caches, A = [], X
    L = len(parameters) // 2
    for l in range(1, L):                                         # [LINEAR → RELU] × (L − 1)
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], "relu")
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters[f"W{L}"], parameters[f"b{L}"], "sigmoid")   # LINEAR → SIGMOID
    caches.append(cache)
    return AL, caches


def compute_cost(AL, Y):
    m = Y.shape[1]
    return -(1 / m) * np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL))   # J = −(1/m) Σ [Y log A + (1−Y) log(1−A)]


def linear_backward(dZ, cache):
    A_prev, W, b = cache
    m = A_prev.shape[1]
    dW = (1 / m) * dZ @ A_prev.T                                  # dW[l] = (1/m) dZ[l] A[l-1]ᵀ
    db = (1 / m) * np.sum(dZ, axis=1, keepdims=True)              # db[l] = (1/m) Σ dZ[l]
    dA_prev = W.T @ dZ                                            # dA[l-1] = W[l]ᵀ dZ[l]
    return dA_prev, dW, db


def relu_backward(dA, Z):
    return dA * (Z > 0)                                           # dZ = dA · 1[Z > 0]


def sigmoid_backward(dA, Z):
    s = 1 / (1 + np.exp(-Z))
    return dA * s * (1 - s)                                       # dZ = dA · σ(Z)(1 − σ(Z))


def linear_activation_backward(dA, cache, activation):
    linear_cache, Z = cache
    dZ = sigmoid_backward(dA, Z) if activation == "sigmoid" else relu_backward(dA, Z)
    return linear_backward(dZ, linear_cache)


def L_model_backward(AL, Y, caches):
    grads, L = {}, len(caches)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))          # dA[L] = −(Y/A[L] − (1−Y)/(1−A[L]))
    dA, grads[f"dW{L}"], grads[f"db{L}"] = linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    for l in reversed(range(1, L)):
        dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_activation_backward(dA, caches[l - 1], "relu")
    return grads


def update_parameters(parameters, grads, learning_rate):
    return {k: parameters[k] - learning_rate * grads["d" + k] for k in parameters}   # W := W − α dW, b := b − α db


def oracle(X, Y):
    def loss_and_grads(parameters):
        AL, caches = L_model_forward(X, parameters)
        off_kinks(*[Z.T for _, Z in caches[:-1]])                 # (samples in rows, as the model has it)
        away_from_0_and_1(AL, 1e-9, "a saturated sigmoid")
        grads = L_model_backward(AL, Y, caches)
        return compute_cost(AL, Y), {k[1:]: g for k, g in grads.items()}   # "dW1" → "W1" for to_nn
    return loss_and_grads


def update(P, G, alpha):
    return update_parameters(P, {"d" + k: g for k, g in G.items()}, alpha)


# ---- the same network in tinygrad_np --------------------------------------------------------------
def to_nn(P):
    """W[l], b[l] → Sequential index 2(l−1) (Linear, ReLU, Linear, ..., Linear, Sigmoid)."""
    L = len(P) // 2
    state = {}
    for l in range(1, L + 1):
        state[f"{2 * (l - 1)}.weight"] = P[f"W{l}"]               # (n[l], n[l-1]) = nn.Linear's (out, in)
        state[f"{2 * (l - 1)}.bias"] = P[f"b{l}"][:, 0]
    return state


def make_model(layer_dims):
    layers = []
    for l in range(1, len(layer_dims)):
        layers.append(nn.Linear(layer_dims[l - 1], layer_dims[l]))
        layers.append(nn.ReLU() if l < len(layer_dims) - 1 else nn.Sigmoid())
    return nn.Sequential(*layers)


def nn_loss(X, Y):
    x, y = tg.Tensor(np.ascontiguousarray(X.T)), tg.Tensor(np.ascontiguousarray(Y.T))   # samples in rows, y (m, 1)
    return lambda model: nn.BCELoss()(model(x), y)


@given(data=st.data(), alpha=lr_st(), steps=steps_st())
def test_seed_formulas_equal_tinygrad_np(data, alpha, steps):
    L = data.draw(st.integers(2, 4))
    layer_dims = [data.draw(st.integers(1, 5)) for _ in range(L)] + [1]
    m = data.draw(st.integers(1, 5))
    X = draw(data, (layer_dims[0], m), 0.0, 1.0)                  # normalised pixels
    Y = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=m, max_size=m)))[None, :]
    # weights scaled by 1/fan_in keep |Z[L]| below ~3, far from where σ rounds to 0 or 1 and the seed's
    # dA[L] = −(Y/A − (1−Y)/(1−A)) divides by zero
    P = {}
    for l in range(1, L + 1):
        P[f"W{l}"] = draw(data, (layer_dims[l], layer_dims[l - 1]), scale=1 / layer_dims[l - 1])
        P[f"b{l}"] = draw(data, (layer_dims[l], 1), -0.5, 0.5)
    if data.draw(st.booleans()):                                  # a unit sitting exactly on the kink:
        P["W1"][0], P["b1"][0] = 0.0, 0.0                         # Z[1][0] = 0, where 1[Z > 0] = 0
    check_training(make_model(layer_dims), nn_loss(X, Y), oracle(X, Y), update, P, to_nn, alpha, steps,
                   x=tg.Tensor(np.ascontiguousarray(X.T)))


def random_problem(seed, layer_dims=(5, 4, 3, 1), m=6):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (layer_dims[0], m))
    Y = rng.integers(0, 2, (1, m)).astype(np.float64)
    P = {}
    for l in range(1, len(layer_dims)):
        P[f"W{l}"] = rng.normal(0, 1, (layer_dims[l], layer_dims[l - 1]))
        P[f"b{l}"] = rng.normal(0, 1, (layer_dims[l], 1))
    return X, Y, P


@pytest.mark.parametrize("seed", [0, 1])
def test_finite_differences(seed):
    """Second oracle: central differences for every parameter and the input (functional form of the
    same network)."""
    X, Y, P = random_problem(seed)
    F, target = nn.functional, tg.Tensor(Y.T.copy())

    def fn(x, *wb):
        a = x
        for i in range(0, len(wb), 2):
            z = F.linear(a, wb[i], wb[i + 1])
            a = F.relu(z) if i < len(wb) - 2 else F.sigmoid(z)
        return F.binary_cross_entropy(a, target)
    state = to_nn(P)
    inputs = [tg.Tensor(X.T.copy(), requires_grad=True)] + [tg.Tensor(v, requires_grad=True) for v in state.values()]
    assert tg.gradcheck(fn, inputs)


@pytest.mark.parametrize("seed", [0, 1])
def test_pytorch(seed):
    """Third oracle: PyTorch with the same weights agrees with the seed's recursion, step after step."""
    torch = pytest.importorskip("torch")
    from seedlib import assert_loss, assert_same, torch_grads, torch_params, torch_state
    X, Y, P = random_problem(seed)
    dims = [P["W1"].shape[1]] + [P[f"W{l}"].shape[0] for l in range(1, len(P) // 2 + 1)]
    layers = []
    for l in range(1, len(dims)):
        layers += [torch.nn.Linear(dims[l - 1], dims[l]), torch.nn.ReLU() if l < len(dims) - 1 else torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers).double()
    model.load_state_dict(torch_state(to_nn(P)))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss_and_grads = oracle(X, Y)
    for step in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy(model(torch.from_numpy(X.T.copy())), torch.from_numpy(Y.T.copy()))
        loss.backward()
        J, G = loss_and_grads(P)
        assert_loss(loss.item(), J)
        assert_same(torch_grads(model), to_nn(G), f"step {step}: torch gradient of")
        opt.step()
        P = update(P, G, 0.5)
        assert_same(torch_params(model), to_nn(P), f"after {step + 1} torch update(s):")
