"""Seed 002 (a NumPy CNN for cats vs dogs) as an executable oracle, including the backprop it left "to do".

The seed's network: input (batch, H, W, 3) — **channels last** — then twice [conv 3×3 → ReLU → 2×2
max-pool], flatten, dense 128 (ReLU) → 64 (ReLU) → 1 (sigmoid), binary cross-entropy, gradient descent.
It trains only the dense layers ("Convolutional layer updates not included ... can be extended!"). Here
every layer is trained: the dense backward as the seed describes it ("chain rule", "ReLU derivatives for
hidden layers", "sigmoid derivative + BCE gradient for the final output layer"), and the conv/pool
backward derived by hand below. The seed does not give stride or padding: stride 1, no padding ("valid"),
pooling 2×2 with stride 2 dropping an odd last row/column (PyTorch's floor mode). Dense layers act on
rows (X has samples in rows): Z = A W + b with W (in, out). Sizes are small here (the seed: 64×64×3,
16 and 32 filters, 128 and 64 units) so the loop-per-output-pixel oracle stays fast.

Conversions to tinygrad_np (NCHW, PyTorch's layouts): X → X.transpose(0, 3, 1, 2); a filter bank
K (F, kh, kw, C) → weight (F, C, kh, kw); dense W (in, out) → nn.Linear weight (out, in); and the first
dense layer's input order differs, because channels-last flattening orders features (h, w, c) while NCHW
flattening orders them (c, h, w): its rows are permuted accordingly (to_nn()).

Formulas (n sample, i/j output row/column, u/v kernel offset, c/f in/out channel):
    conv:     Z[n,i,j,f] = Σ_{u,v,c} X[n,i+u,j+v,c] K[f,u,v,c] + b[f]        conv_forward()
    ReLU:     A = max(0, Z)                                                  forward()
    pool:     P[n,i,j,c] = max_{u,v<2} A[n,2i+u,2j+v,c]                      pool_forward()
    dense:    Z = A W + b;  A = ReLU(Z) (hidden), a = σ(Z) (output)          forward()
    BCE:      J = −(1/m) Σ [y log a + (1−y) log(1−a)]                        cost()
  backward, the seed's part (dense):
    output:   dZ = σ'(z) · ∂J/∂a = a(1−a) · (a−y)/(a(1−a)) / m = (a − y)/m   backward()
    dense:    dW = Aᵀ dZ,  db = Σ_rows dZ,  dA_prev = dZ Wᵀ                    backward()
    hidden:   dZ = dA · 1[Z > 0]                                             backward()
  backward, derived here (the seed's "to do"):
    flatten:  dP = dFlat reshaped to P's shape                               backward()
    pool:     dA[n,2i+u*,2j+v*,c] = dP[n,i,j,c] at the window's argmax (u*, v*), 0 elsewhere
                                                                              pool_backward()
    conv:     db[f] = Σ_{n,i,j} dZ[n,i,j,f]                                  conv_backward()
              dK[f,u,v,c] = Σ_{n,i,j} dZ[n,i,j,f] X[n,i+u,j+v,c]            conv_backward()
              dX[n,i+u,j+v,c] = Σ_{i,j,f} dZ[n,i,j,f] K[f,u,v,c]            conv_backward()
    update:   θ := θ − α dθ for every parameter                              update()

Tests: test_seed_formulas_equal_tinygrad_np (hypothesis: image size, channels, filters, dense widths,
batch, labels, lr, steps and the seed of the weights; loss, every gradient, parameters after 1 and
several SGD steps), test_finite_differences, test_pytorch.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn
from seedlib import away_from_0_and_1, check, check_training, off_kinks, steps_st


# ---- conv / pool, forward and the hand-derived backward ------------------------------------------
def conv_forward(X, K, b):
    m, H, W, C = X.shape
    F, kh, kw, _ = K.shape
    Z = np.zeros((m, H - kh + 1, W - kw + 1, F))
    for i in range(Z.shape[1]):
        for j in range(Z.shape[2]):
            window = X[:, i:i + kh, j:j + kw, :]                                   # X[n, i+u, j+v, c]
            Z[:, i, j, :] = np.tensordot(window, K, axes=([1, 2, 3], [1, 2, 3])) + b   # Σ_{u,v,c} X K + b[f]
    return Z


def conv_backward(dZ, X, K):
    kh, kw = K.shape[1:3]
    dX, dK = np.zeros_like(X), np.zeros_like(K)
    db = dZ.sum(axis=(0, 1, 2))                                                    # db[f] = Σ_{n,i,j} dZ[n,i,j,f]
    for i in range(dZ.shape[1]):
        for j in range(dZ.shape[2]):
            window = X[:, i:i + kh, j:j + kw, :]
            dK += np.tensordot(dZ[:, i, j, :], window, axes=([0], [0]))            # dK[f,u,v,c] += Σ_n dZ[n,i,j,f] X[n,i+u,j+v,c]
            dX[:, i:i + kh, j:j + kw, :] += np.tensordot(dZ[:, i, j, :], K, axes=([1], [0]))   # dX[n,i+u,j+v,c] += Σ_f dZ K
    return dX, dK, db


def pool_forward(A):
    m, H, W, C = A.shape
    P = np.zeros((m, H // 2, W // 2, C))
    for i in range(H // 2):
        for j in range(W // 2):
            P[:, i, j, :] = A[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2, :].max(axis=(1, 2))   # P = max_{u,v<2} A[n,2i+u,2j+v,c]
    return P


def pool_backward(dP, A):
    m, H, W, C = A.shape
    dA = np.zeros_like(A)
    for i in range(H // 2):
        for j in range(W // 2):
            window = A[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2, :].reshape(m, 4, C)
            winner = window.argmax(axis=1)                                          # (u*, v*) = divmod(winner, 2)
            d = np.zeros((m, 4, C))
            np.put_along_axis(d, winner[:, None, :], dP[:, i, j, :][:, None, :], axis=1)   # all of dP to the argmax
            dA[:, 2 * i:2 * i + 2, 2 * j:2 * j + 2, :] = d.reshape(m, 2, 2, C)
    return dA


def pool_gaps(A):
    """The gap between the two largest entries of every 2×2 window whose maximum is positive."""
    m, H, W, C = A.shape
    windows = A[:, :H // 2 * 2, :W // 2 * 2, :].reshape(m, H // 2, 2, W // 2, 2, C).transpose(0, 1, 3, 5, 2, 4)
    top = np.sort(windows.reshape(*windows.shape[:4], 4), axis=-1)
    return (top[..., -1] - top[..., -2])[top[..., -1] > 0]


# ---- the whole network ----------------------------------------------------------------------------
def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def forward(X, P):
    cache, A = {}, X
    for l in (1, 2):                                                               # conv → ReLU → pool, twice
        cache[f"in{l}"] = A
        cache[f"Zc{l}"] = Z = conv_forward(A, P[f"K{l}"], P[f"bc{l}"])
        cache[f"Ac{l}"] = Ac = np.maximum(0, Z)                                    # A = max(0, Z)
        A = pool_forward(Ac)
    cache["pooled_shape"] = A.shape
    A = A.reshape(A.shape[0], -1)                                                  # flatten (h, w, c)
    for l in (1, 2, 3):
        cache[f"A{l - 1}"] = A
        Z = A @ P[f"W{l}"] + P[f"b{l}"]                                            # Z = A W + b
        cache[f"Z{l}"] = Z
        A = np.maximum(0, Z) if l < 3 else sigmoid(Z)                              # ReLU hidden, σ output
    return A, cache


def cost(a, y):
    m = y.shape[0]
    return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)) / m                    # J = −(1/m) Σ [y log a + (1−y) log(1−a)]


def backward(a, y, P, cache):
    G, m = {}, y.shape[0]
    dZ = a * (1 - a) * ((a - y) / (a * (1 - a))) / m                               # σ'(z) · BCE gradient = (a − y)/m
    for l in (3, 2, 1):
        G[f"W{l}"] = cache[f"A{l - 1}"].T @ dZ                                     # dW = Aᵀ dZ
        G[f"b{l}"] = dZ.sum(axis=0)                                                # db = Σ_rows dZ
        dA = dZ @ P[f"W{l}"].T                                                     # dA_prev = dZ Wᵀ
        if l > 1:
            dZ = dA * (cache[f"Z{l - 1}"] > 0)                                     # dZ = dA · 1[Z > 0]
    dP = dA.reshape(cache["pooled_shape"])                                         # un-flatten
    for l in (2, 1):
        dAc = pool_backward(dP, cache[f"Ac{l}"])                                   # gradient to each window's max
        dZc = dAc * (cache[f"Zc{l}"] > 0)                                          # dZ = dA · 1[Z > 0]
        dP, G[f"K{l}"], G[f"bc{l}"] = conv_backward(dZc, cache[f"in{l}"], P[f"K{l}"])
    return G


def update(P, G, alpha):
    return {k: P[k] - alpha * G[k] for k in P}                                     # θ := θ − α dθ


def oracle(X, y):
    def loss_and_grads(P):
        a, cache = forward(X, P)
        nchw = (0, 3, 1, 2)                                                        # the model's layout
        off_kinks(cache["Zc1"].transpose(nchw), cache["Zc2"].transpose(nchw), cache["Z1"], cache["Z2"])
        away_from_0_and_1(a, 1e-9, "a saturated sigmoid")
        # a max-pool window with two (nearly) equal positive maxima has no derivative: which one gets the
        # gradient then depends on the last ulp, so such an example is discarded, not compared
        check(all(np.all(pool_gaps(cache[f"Ac{l}"]) > 1e-9) for l in (1, 2)), "a max-pool tie")
        return cost(a, y), backward(a, y, P, cache)
    return loss_and_grads


# ---- the same network in tinygrad_np --------------------------------------------------------------
def to_nn(P, ph, pw):
    """Channels-last seed layouts → NCHW / (out, in) layouts of the nn.Sequential below; (ph, pw) is the
    size of the last pooled map."""
    F2, d1 = P["K2"].shape[0], P["W1"].shape[1]
    return {"0.weight": P["K1"].transpose(0, 3, 1, 2), "0.bias": P["bc1"],
            "3.weight": P["K2"].transpose(0, 3, 1, 2), "3.bias": P["bc2"],
            # seed row (h, w, c) of W1 → nn column (c, h, w)
            "7.weight": P["W1"].reshape(ph, pw, F2, d1).transpose(3, 2, 0, 1).reshape(d1, -1),
            "7.bias": P["b1"], "9.weight": P["W2"].T, "9.bias": P["b2"], "11.weight": P["W3"].T, "11.bias": P["b3"]}


def make_model(C, F1, F2, flat, d1, d2):
    return nn.Sequential(nn.Conv2d(C, F1, 3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(F1, F2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(flat, d1), nn.ReLU(), nn.Linear(d1, d2), nn.ReLU(), nn.Linear(d2, 1), nn.Sigmoid())


def pooled_size(n):
    return ((n - 2) // 2 - 2) // 2


def random_parameters(rng, C, F1, F2, H, W, d1, d2):
    """He initialisation, as the seed: N(0, 2/fan_in). The seed does not say how biases start; small
    positive ones keep most ReLU units alive, so that the gradient reaches the conv layers in most draws
    (with N(0, 0.1) biases more than half of the small networks drawn here were dead behind a layer)."""
    ph, pw = pooled_size(H), pooled_size(W)
    he = lambda fan_in, shape: rng.normal(0, np.sqrt(2 / fan_in), shape)
    bias = lambda n: rng.uniform(0.0, 0.5, n)
    return {"K1": he(9 * C, (F1, 3, 3, C)), "bc1": bias(F1),
            "K2": he(9 * F1, (F2, 3, 3, F1)), "bc2": bias(F2),
            "W1": he(ph * pw * F2, (ph * pw * F2, d1)), "b1": bias(d1),
            "W2": he(d1, (d1, d2)), "b2": bias(d2),
            "W3": he(d2, (d2, 1)), "b3": bias(1)}


def layout_for(H, W):
    """to_nn for images of H×W."""
    return lambda P: to_nn(P, pooled_size(H), pooled_size(W))


@given(data=st.data(), alpha=st.floats(0.001, 0.3), steps=steps_st())   # the seed trains with 0.001
def test_seed_formulas_equal_tinygrad_np(data, alpha, steps):
    m, C = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    H, W = data.draw(st.integers(10, 13)), data.draw(st.integers(10, 13))        # pooled maps of 1×1 to 2×2
    F1, F2 = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 3))
    d1, d2 = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 3))   # width 1 is too often a dead layer
    y = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=m, max_size=m)))[:, None]
    # images and weights from a drawn seed: continuous values make max-pool ties improbable (see oracle())
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    X = rng.uniform(0, 1, (m, H, W, C))
    P = random_parameters(rng, C, F1, F2, H, W, d1, d2)
    flat = F2 * pooled_size(H) * pooled_size(W)
    check(bool(np.any(oracle(X, y)(P)[1]["K1"])), "a network whose gradient never reaches the first conv")
    x, target = tg.Tensor(np.ascontiguousarray(X.transpose(0, 3, 1, 2))), tg.Tensor(y)
    check_training(make_model(C, F1, F2, flat, d1, d2), lambda model: nn.BCELoss()(model(x), target),
                   oracle(X, y), update, P, layout_for(H, W), alpha, steps, x=x)


def random_problem(seed, m=2, C=2, F1=2, F2=3, H=11, W=12, d1=3, d2=2):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (m, H, W, C))
    y = rng.integers(0, 2, (m, 1)).astype(np.float64)
    P = random_parameters(rng, C, F1, F2, H, W, d1, d2)
    _, G = oracle(X, y)(P)
    assert all(np.any(g) for g in G.values()), "a fixed example must send gradient to every parameter"
    return X, y, P, layout_for(H, W)


@pytest.mark.parametrize("seed", [1, 3])         # draws whose gradient reaches every layer (asserted)
def test_finite_differences(seed):
    """Second oracle: central differences for every parameter and the image (functional form)."""
    X, y, P, layout = random_problem(seed)
    F, target = nn.functional, tg.Tensor(y)

    def fn(x, k1, c1, k2, c2, w1, b1, w2, b2, w3, b3):
        a = F.max_pool2d(F.relu(F.conv2d(x, k1, c1)), 2)
        a = F.max_pool2d(F.relu(F.conv2d(a, k2, c2)), 2).flatten(1)
        a = F.relu(F.linear(F.relu(F.linear(a, w1, b1)), w2, b2))
        return F.binary_cross_entropy(F.linear(a, w3, b3).sigmoid(), target)
    state = layout(P)
    inputs = [tg.Tensor(X.transpose(0, 3, 1, 2).copy(), requires_grad=True)]
    inputs += [tg.Tensor(np.ascontiguousarray(v), requires_grad=True) for v in state.values()]
    assert tg.gradcheck(fn, inputs)


@pytest.mark.parametrize("seed", [1, 3])
def test_pytorch(seed):
    """Third oracle: PyTorch, same weights, agrees with the hand-derived backward, step after step."""
    torch = pytest.importorskip("torch")
    from seedlib import assert_loss, assert_same, torch_grads, torch_params, torch_state
    X, y, P, layout = random_problem(seed)
    tnn = torch.nn
    C, F1, F2, d1, d2 = X.shape[3], P["K1"].shape[0], P["K2"].shape[0], P["W2"].shape[0], P["W2"].shape[1]
    model = tnn.Sequential(tnn.Conv2d(C, F1, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(F1, F2, 3), tnn.ReLU(),
                           tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(P["W1"].shape[0], d1), tnn.ReLU(),
                           tnn.Linear(d1, d2), tnn.ReLU(), tnn.Linear(d2, 1), tnn.Sigmoid()).double()
    model.load_state_dict(torch_state(layout(P)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_and_grads = oracle(X, y)
    x = torch.from_numpy(X.transpose(0, 3, 1, 2).copy())
    for step in range(2):
        opt.zero_grad()
        loss = tnn.functional.binary_cross_entropy(model(x), torch.from_numpy(y))
        loss.backward()
        J, G = loss_and_grads(P)
        assert_loss(loss.item(), J)
        assert_same(torch_grads(model), layout(G), f"step {step}: torch gradient of")
        opt.step()
        P = update(P, G, 0.1)
        assert_same(torch_params(model), layout(P), f"after {step + 1} torch update(s):")
