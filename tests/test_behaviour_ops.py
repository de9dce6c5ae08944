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
    with pytest.raises(IndexError, match=rf"^{name}: dim {bad} is out of range for a tensor of {len(shape)} "
                                         r"dimensions$"):
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


A23, B4 = np.ones((2, 3)), np.ones(4)
SHAPE_ERRORS = {
    "add": (lambda: tg.tensor(A23) + tg.tensor(B4), r"^add: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"),
    "sub": (lambda: tg.tensor(A23) - tg.tensor(B4), r"^sub: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"),
    "rsub": (lambda: B4 - tg.tensor(A23), r"^sub: shapes \(4,\) and \(2, 3\) cannot be broadcast together$"),
    "mul": (lambda: tg.tensor(A23) * tg.tensor(B4), r"^mul: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"),
    "div": (lambda: tg.tensor(A23) / tg.tensor(B4), r"^div: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"),
    "rdiv": (lambda: B4 / tg.tensor(A23), r"^div: shapes \(4,\) and \(2, 3\) cannot be broadcast together$"),
    "pow": (lambda: tg.tensor(A23) ** tg.tensor(B4), r"^pow: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"),
    "reshape": (lambda: tg.tensor(A23).reshape(4, 2),
                r"^reshape: cannot reshape a tensor of shape \(2, 3\) into \(4, 2\)$"),
    "amax empty": (lambda: tg.tensor(np.ones(0)).amax(), r"^amax: cannot reduce an empty tensor of shape \(0,\)$"),
    "amin empty": (lambda: tg.tensor(np.ones((2, 0))).amin(), r"^amin: cannot reduce an empty tensor"),
}


@pytest.mark.parametrize("case", SHAPE_ERRORS)
def test_shape_errors_name_the_op_and_both_shapes(case):
    fn, message = SHAPE_ERRORS[case]
    with pytest.raises(ValueError, match=message):
        fn()


def test_where_needs_a_bool_condition():
    x = tg.tensor(A23)
    with pytest.raises(TypeError, match=r"^where: condition must be bool, got dtype float32$"):
        tg.where(tg.ones(2, 3), x, x)
    np.testing.assert_array_equal(tg.where(tg.tensor([True, False]), 1.0, tg.tensor([5.0, 6.0])).numpy(), [1.0, 6.0])


@pytest.mark.parametrize("dims", [(1, 2), (2, 0), (0, 0), (0,), (-3, 1)])
def test_permute_refuses_what_is_not_a_permutation(dims):
    """(1, 2) on a 2-D tensor must not wrap 2 to 0 and pass as (1, 0)."""
    with pytest.raises((ValueError, IndexError), match="permute"):
        tg.tensor(A23).permute(*dims)
    np.testing.assert_array_equal(tg.tensor(np.arange(6.0).reshape(2, 3)).permute(-1, 0).numpy(),
                                  np.arange(6.0).reshape(2, 3).T)
