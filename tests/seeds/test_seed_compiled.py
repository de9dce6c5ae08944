"""Seeds 000 and 003 trained through tg.compile: the generated program computes the seed formulas.

Each test trains the seed's network with a compiled step (zero_grad, loss, backward, SGD) and checks,
before each update, the loss and every gradient against the seed's hand-written formulas (the oracles
of test_seed000_column_mlp / test_seed003_row_mlp, tolerance seedlib.RTOL/ATOL: the same float64
expressions in another order), and after each update every parameter. An eager twin trained on the
same problem must match the compiled one bit for bit (same ops in the same order).
"""
import numpy as np
import pytest

import test_seed000_column_mlp as seed000
import test_seed003_row_mlp as seed003
import tinygrad_np as tg
from tinygrad_np import nn
from seedlib import assert_loss, assert_same, grads, load, params
from tinygrad_np.optim import SGD


def train(model, x, y, alpha, compiled):
    opt = SGD(model.parameters(), lr=alpha)

    def step(x, y):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return tg.compile(step) if compiled else step


def check_seed(X_rows, y, P, oracle, update, to_nn, make_model, alpha=0.5, steps=5):
    model, twin = load(make_model(), to_nn(P)), load(make_model(), to_nn(P))
    x, target = tg.Tensor(np.ascontiguousarray(X_rows)), tg.Tensor(y)
    step, eager = train(model, x, target, alpha, True), train(twin, x, target, alpha, False)
    for k in range(steps):
        J, G = oracle(P)
        loss = step(x, target)
        assert eager(x, target).item() == loss.item()
        assert_loss(loss.item(), J, f"step {k}: loss")
        assert_same(grads(model), to_nn(G), f"step {k}: gradient of")
        P = update(P, G, alpha)
        assert_same(params(model), to_nn(P), f"after {k + 1} update(s):")
        for name, p in twin.named_parameters():
            assert np.array_equal(p.numpy(), dict(model.named_parameters())[name].numpy())
    assert step.traces == 1
    return step.source()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seed000_generated_program_computes_the_seed_formulas(seed):
    X, y, k, P = seed000.random_problem(seed)
    src = check_seed(X.T, y, P, seed000.oracle(X, seed000.one_hot_columns(y, k)), seed000.update, seed000.to_nn,
                     lambda: seed000.make_model(X.shape[0], P["W1"].shape[0], k, False), alpha=0.3)
    assert "np.matmul(d_linear2.T, relu1, out=d_linear2_weight)" in src       # dW2 = dZ2 A1ᵀ (row layout)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seed003_generated_program_computes_the_seed_formulas(seed):
    X, y, classes, P = seed003.random_problem(seed)
    src = check_seed(X, y, P, seed003.oracle(X, np.eye(classes)[y]), seed003.update, seed003.to_nn,
                     lambda: seed003.make_model(X.shape[1], P["W1"].shape[1], classes), alpha=0.01)
    assert "np.matmul(d_linear0.T, x, out=d_linear0_weight)" in src           # dW1 = X.T @ dZ1 (/ m in dZ)
