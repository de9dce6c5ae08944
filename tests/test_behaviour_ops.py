"""Reductions at the edges of their arguments: the range of `dim` on 0-d and 1-d tensors (PyTorch's
rule: a 0-d tensor takes dim 0 or -1, a 1-d tensor dims -1..0), dim=None reducing to a 0-d tensor,
and max/min with keepdim. Oracles: NumPy's reductions, PyTorch where installed."""
import numpy as np
import pytest

import tinygrad_np as tg

REDUCTIONS = ["sum", "mean", "amax", "amin", "logsumexp"]


@pytest.mark.parametrize("name", REDUCTIONS + ["max", "min", "softmax", "log_softmax"])
@pytest.mark.parametrize("shape, bad", [((), 1), ((), -2), ((3,), 1), ((3,), -2), ((2, 3), 2), ((2, 3), -3)])
def test_dim_out_of_range_is_an_index_error(name, shape, bad):
    x = tg.tensor(np.ones(shape))
    with pytest.raises(IndexError, match=rf"dim {bad} is out of range for a tensor of {len(shape)} dimensions"):
        getattr(x, name)(bad)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("shape, dim", [((), 0), ((), -1), ((3,), 0), ((3,), -1)])
def test_dims_in_range_on_small_tensors(name, shape, dim):
    a = np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape)
    got = getattr(tg.tensor(a), name)(dim)
    ref = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min,
           "logsumexp": lambda v, axis: np.log(np.sum(np.exp(v), axis=axis))}[name](a, axis=None if a.ndim == 0 else dim)
    assert got.shape == ()
    assert got.item() == pytest.approx(float(ref), rel=1e-12)


def test_logsumexp_over_all_dims_is_0d():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = tg.tensor(a, requires_grad=True)
    out = x.logsumexp(None)
    assert out.shape == () and out.item() == pytest.approx(np.log(np.exp(a).sum()), rel=1e-12)
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(a) / np.exp(a).sum(), rtol=1e-12)
    kept = tg.tensor(a).logsumexp((0, 1), keepdim=True)
    assert kept.shape == (1, 1)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_with_dim_and_keepdim(name):
    a = np.array([[3.0, -1.0, 7.0], [0.5, 9.0, -4.0]])
    fn, arg = (np.max, np.argmax) if name == "max" else (np.min, np.argmin)
    for keepdim in (False, True):
        x = tg.tensor(a, requires_grad=True)
        values, indices = getattr(x, name)(1, keepdim=keepdim)
        np.testing.assert_array_equal(values.numpy(), fn(a, axis=1, keepdims=keepdim))
        np.testing.assert_array_equal(indices.numpy(), arg(a, axis=1, keepdims=keepdim))
        assert indices.dtype == np.int64
        g = np.array([10.0, 20.0]).reshape(values.shape)
        values.backward(tg.tensor(g))
        expected = np.zeros_like(a)
        expected[[0, 1], arg(a, axis=1)] = [10.0, 20.0]
        np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_against_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(5).standard_normal((2, 3, 4))
    for dim in (None, 0, -1, (0, 2)):
        ours = tg.tensor(a).logsumexp(dim) if dim is not None else tg.tensor(a).logsumexp(None)
        theirs = torch.logsumexp(torch.tensor(a), dim=tuple(range(3)) if dim is None else dim)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    for bad in (3, -4):
        with pytest.raises(IndexError):
            torch.tensor(a).sum(bad)
        with pytest.raises(IndexError):
            tg.tensor(a).sum(bad)


# ---- movement errors: the op and the shapes are named --------------------------------------------------
def test_expand_to_an_incompatible_shape_is_a_value_error_naming_both_shapes():
    x = tg.tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^expand: cannot expand shape \(2, 3\) to \(4, 3\)$"):
        x.expand(4, 3)
    np.testing.assert_array_equal(x.expand(5, 2, 3).numpy(), np.ones((5, 2, 3)))


@pytest.mark.parametrize("shape, dim", [((2, 1), 2), ((2, 1), -3), ((), 1)])
def test_squeeze_dim_out_of_range(shape, dim):
    with pytest.raises(IndexError, match=rf"^squeeze: dim {dim} is out of range for a tensor of {len(shape)} "
                                         r"dimensions$"):
        tg.tensor(np.ones(shape)).squeeze(dim)


def test_squeeze_in_range_like_torch_semantics():
    x = tg.tensor(np.ones((2, 1, 3)))
    assert x.squeeze(1).shape == (2, 3) and x.squeeze(0).shape == (2, 1, 3) and x.squeeze(-2).shape == (2, 3)
    assert x.squeeze().shape == (2, 3) and tg.tensor(5.0).squeeze(0).shape == ()
