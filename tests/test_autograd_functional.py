"""tg.autograd.functional: shapes, nesting and values of vjp/jvp/jacobian/hessian/hvp/vhp against closed
forms (no torch needed) and against torch.autograd.functional (float64, compared at 1e-12: both are
exact formulas that differ only in rounding)."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

rng = np.random.default_rng(5)
A = rng.standard_normal(3)
B = rng.standard_normal((2, 3))
V3 = rng.standard_normal(3)
U2 = rng.standard_normal(2)


def layer(x, w):
    return (w @ x).tanh()


def energy(x):
    return (x.exp() * x).sum()


def test_closed_forms_without_torch():
    x = tg.tensor(A)
    H = hessian(energy, x)                                   # d²/dx² Σ x eˣ = diag((x + 2) eˣ)
    np.testing.assert_allclose(H.numpy(), np.diag((A + 2) * np.exp(A)), atol=1e-13)
    J = jacobian(lambda t: layer(t, tg.tensor(B)), x)        # (1 − tanh²(Bx)) B
    np.testing.assert_allclose(J.numpy(), (1 - np.tanh(B @ A) ** 2)[:, None] * B, atol=1e-13)
    out, hv = hvp(energy, x, tg.tensor(V3))
    np.testing.assert_allclose(hv.numpy(), (A + 2) * np.exp(A) * V3, atol=1e-13)
    assert out.item() == pytest.approx(float(np.sum(np.exp(A) * A)))
    _, jv = jvp(lambda t: layer(t, tg.tensor(B)), x, tg.tensor(V3))
    np.testing.assert_allclose(jv.numpy(), J.numpy() @ V3, atol=1e-13)
    _, vj = vjp(lambda t: layer(t, tg.tensor(B)), x, tg.tensor(U2))
    np.testing.assert_allclose(vj.numpy(), U2 @ J.numpy(), atol=1e-13)


def test_results_are_detached_unless_create_graph():
    x = tg.tensor(A, requires_grad=True)
    assert not hessian(energy, x).requires_grad
    H = hessian(energy, x, create_graph=True)
    (g,) = tg.autograd.grad(H.sum(), x)                      # d/dx Σ_ii (x + 2) eˣ = (x + 3) eˣ
    np.testing.assert_allclose(g.numpy(), (A + 3) * np.exp(A), atol=1e-12)


def test_unused_input_gets_zeros_and_bad_input_is_refused():
    J = jacobian(lambda x, y: x * 2, (tg.tensor(A), tg.tensor(B)))
    assert J[1].shape == (3, 2, 3) and not J[1].numpy().any()
    with pytest.raises(TypeError, match="Tensor"):
        jacobian(energy, A)
    with pytest.raises(RuntimeError, match="one-element"):
        hessian(lambda x: x * 2, tg.tensor(A))


CASES = {
    "vjp": lambda M, F, T: F.vjp(lambda x: layer(x, T(B)), T(A), T(U2)),
    "vjp_tuple": lambda M, F, T: F.vjp(layer, (T(A), T(B)), T(U2)),
    "jvp": lambda M, F, T: F.jvp(lambda x: layer(x, T(B)), T(A), T(V3)),
    "jvp_tuple": lambda M, F, T: F.jvp(layer, (T(A), T(B)), (T(V3), T(np.ones((2, 3))))),
    "jacobian": lambda M, F, T: F.jacobian(lambda x: layer(x, T(B)), T(A)),
    "jacobian_tuple": lambda M, F, T: F.jacobian(layer, (T(A), T(B))),
    "jacobian_tuple_out": lambda M, F, T: F.jacobian(lambda x: (x.exp(), x.sum()), T(A)),
    "hessian": lambda M, F, T: F.hessian(energy, T(A)),
    "hessian_tuple": lambda M, F, T: F.hessian(lambda x, w: layer(x, w).sum(), (T(A), T(B))),
    "hvp": lambda M, F, T: F.hvp(energy, T(A), T(V3)),
    "vhp_tuple": lambda M, F, T: F.vhp(lambda x, w: layer(x, w).sum(), (T(A), T(B)), (T(V3), T(B))),
}


def _structure(x):
    """The nesting of tuples, with every tensor as "T": PyTorch's return structure."""
    return tuple(_structure(y) for y in x) if isinstance(x, (tuple, list)) else "T"


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flat(item)]
    return [x]


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_matches_torch(name):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF
    ours = CASES[name](tg, tg.autograd.functional, tg.tensor)
    theirs = CASES[name](torch, TF, torch.tensor)
    a, b = _flat(ours), _flat(theirs)
    assert len(a) == len(b)
    assert _structure(ours) == _structure(theirs)
    for x, y in zip(a, b):
        assert x.shape == tuple(y.shape)
        np.testing.assert_allclose(x.numpy(), y.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_unimplemented_options_raise_instead_of_being_ignored():
    with pytest.raises(NotImplementedError, match="strict"):
        jacobian(energy, tg.tensor(A), strict=True)
    with pytest.raises(NotImplementedError, match="vectorize"):
        hessian(energy, tg.tensor(A), vectorize=True)
    with pytest.raises(ValueError, match="reverse-mode"):
        jacobian(energy, tg.tensor(A), strategy="forward-mode")
