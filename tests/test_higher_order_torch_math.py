"""Second order for the PyTorch-surface unary math (sin ... reciprocal, the piecewise-constant ops, clone):
gradgradcheck in float64 against central differences (tg.gradgradcheck's defaults), on inputs kept inside
every function's domain (0.2 .. 0.8: asin/acos/log/rsqrt are smooth there)."""
import numpy as np
import pytest

import tinygrad_np as tg

OPS = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "log1p", "expm1", "log2", "log10", "square",
       "rsqrt", "reciprocal", "floor", "ceil", "round", "trunc", "sign", "clone"]


@pytest.mark.parametrize("name", OPS)
def test_second_derivative_matches_finite_differences(name):
    x = tg.tensor(np.random.default_rng(len(name)).uniform(0.2, 0.8, (2, 3)), requires_grad=True)
    assert tg.gradgradcheck(lambda t: getattr(t, name)(), [x])


@pytest.mark.parametrize("name", OPS)
def test_create_graph_gives_the_plain_backwards_gradient(name):
    """gradgradcheck differentiates the create_graph gradient, so it cannot see that gradient being wrong:
    it must equal the plain backward's (rtol 1e-10 in float64: the same formula, possibly reordered)."""
    a = np.random.default_rng(len(name)).uniform(0.2, 0.8, (2, 3))
    up = tg.tensor(np.random.default_rng(1).standard_normal((2, 3)))
    grads = []
    for create_graph in (False, True):
        x = tg.tensor(a, requires_grad=True)
        grads.append(tg.autograd.grad(getattr(x, name)(), x, up, create_graph=create_graph)[0].numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


def test_third_derivative_of_sin_is_minus_cos():
    x = tg.tensor(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    (g1,) = tg.autograd.grad(x.sin().sum(), [x], create_graph=True)
    (g2,) = tg.autograd.grad(g1.sum(), [x], create_graph=True)
    (g3,) = tg.autograd.grad(g2.sum(), [x])
    np.testing.assert_allclose(g3.numpy(), -np.cos(x.numpy()), rtol=1e-12)


@pytest.mark.parametrize("layer", [tg.nn.AdaptiveAvgPool2d((2, 3)), tg.nn.AdaptiveMaxPool2d((2, 3)),
                                   tg.nn.AdaptiveAvgPool2d(1)], ids=["avg", "max", "global-avg"])
def test_adaptive_pools_to_second_order(layer):
    # squared so that the second derivative is not zero; distinct values keep max ties away
    x = tg.tensor(np.random.default_rng(1).permutation(2 * 3 * 5 * 7).reshape(2, 3, 5, 7) / 50.0, requires_grad=True)
    assert tg.gradgradcheck(lambda t: layer(t) * layer(t), [x])


def test_indexed_assignment_and_copy_to_second_order():
    rng = np.random.default_rng(2)
    x = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    v = tg.tensor(rng.standard_normal(3), requires_grad=True)

    def assign(x, v):
        y = x * 1.0
        y[1] = v * v
        return y * y

    def copy(x, v):
        y = x * 1.0
        y.copy_(v.expand(4, 3) * v)
        return y * y

    assert tg.gradgradcheck(assign, [x, v]) and tg.gradgradcheck(copy, [x, v])
