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
    "matmul batch": (lambda: tg.ones(2, 3, 4) @ tg.ones(5, 4, 2),
                     r"^matmul: batch shapes of \(2, 3, 4\) and \(5, 4, 2\) cannot be broadcast$"),
    "where": (lambda: tg.where(tg.tensor([True, False]), tg.ones(3), tg.ones(4)),
              r"^where: shapes \(2,\), \(3,\) and \(4,\) cannot be broadcast together$"),
    "reshape": (lambda: tg.tensor(A23).reshape(4, 2),
                r"^reshape: cannot reshape a tensor of shape \(2, 3\) into \(4, 2\)$"),
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


EMPTY = np.empty((0, 3), np.float32)
EMPTY_REDUCTIONS = {"max()": lambda t: t.max(), "min()": lambda t: t.min(), "amax()": lambda t: t.amax(),
                    "amax(0)": lambda t: t.amax(0), "amin((0, 1))": lambda t: t.amin((0, 1)),
                    "max(dim=0)": lambda t: t.max(dim=0).values, "min(dim=0)": lambda t: t.min(dim=0).values,
                    "argmax()": lambda t: t.argmax(), "argmin(0)": lambda t: t.argmin(0),
                    "amax(1)": lambda t: t.amax(1), "max(dim=1)": lambda t: t.max(dim=1).values,
                    "argmax(1)": lambda t: t.argmax(1), "logsumexp(0)": lambda t: t.logsumexp(0),
                    "logsumexp(1)": lambda t: t.logsumexp(1)}


@pytest.mark.parametrize("case", EMPTY_REDUCTIONS)
def test_reductions_of_an_empty_tensor_fail_or_succeed_as_in_pytorch(case):
    """The error type PyTorch raises (RuntimeError without a dim, IndexError for an empty dim), or the same
    empty / -inf result where the reduced dims are not empty."""
    torch = pytest.importorskip("torch")
    fn = EMPTY_REDUCTIONS[case]
    try:
        expected = fn(torch.tensor(EMPTY)).numpy()
    except (RuntimeError, IndexError) as e:
        with pytest.raises(type(e), match=rf"^{case.split('(')[0]}: "):      # the op named first
            fn(tg.tensor(EMPTY))
        return
    got = fn(tg.tensor(EMPTY)).numpy()
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_logsumexp_over_an_empty_dim_is_minus_infinity():
    """log Σ over no terms = log 0 = -inf, per remaining row, in PyTorch's shape; over a non-empty dim of an
    empty tensor, an empty result."""
    out = tg.tensor(np.empty((2, 0), np.float32)).logsumexp(1)
    assert out.shape == (2,) and np.all(out.numpy() == -np.inf)
    assert tg.tensor(np.empty((0, 3), np.float32)).logsumexp(1).shape == (0,)
    np.testing.assert_array_equal(tg.tensor(np.empty((0, 3), np.float32)).logsumexp(0).numpy(), [-np.inf] * 3)


WHERE_OPERANDS = {"f32": lambda L: L.tensor([1.5, 2.0], dtype=L.float32),
                  "f64": lambda L: L.tensor([1.5, 2.0], dtype=L.float64),
                  "i64": lambda L: L.tensor([1, 2]), "i32": lambda L: L.tensor([1, 2], dtype=L.int32),
                  "u8": lambda L: L.tensor([1, 2], dtype=L.uint8), "bool": lambda L: L.tensor([True, False]),
                  "f64 0-d": lambda L: L.tensor(2.5, dtype=L.float64), "i64 0-d": lambda L: L.tensor(3),
                  "float": lambda L: 0.5, "int": lambda L: 3, "True": lambda L: True}


@pytest.mark.parametrize("x", WHERE_OPERANDS)
@pytest.mark.parametrize("y", WHERE_OPERANDS)
def test_where_promotes_its_operands_as_pytorch(x, y):
    """torch.where's result dtype follows the binary-op rules (0-d tensors and Python numbers count only for a
    higher category; a Python float is float32): np.where's own rules gave float64 for where(c, 1.0, 0.0)."""
    torch = pytest.importorskip("torch")
    cond = [True, False]
    expected = torch.where(torch.tensor(cond), WHERE_OPERANDS[x](torch), WHERE_OPERANDS[y](torch))
    got = tg.where(tg.tensor(cond), WHERE_OPERANDS[x](tg), WHERE_OPERANDS[y](tg))
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_where_of_two_python_numbers_is_a_default_float_or_int64_tensor():
    cond = tg.tensor([True, False])
    out = tg.where(cond, 1.0, 0.0)
    assert out.dtype == np.float32 and out.tolist() == [1.0, 0.0]
    assert tg.where(cond, 2, 7).dtype == np.int64 and tg.where(cond, 2, 7).tolist() == [2, 7]
    assert tg.where(cond, tg.tensor([1, 2], dtype=tg.int32), 0.5).dtype == np.float32


def test_errors_of_cat_to_and_transpose_name_the_op():
    with pytest.raises(IndexError, match=r"^cat: dim 3 is out of range for a tensor of 1 dimensions$"):
        tg.cat([tg.ones(2), tg.ones(2)], dim=3)
    with pytest.raises(IndexError, match=r"^transpose: dim 2 is out of range for a tensor of 2 dimensions$"):
        tg.ones(2, 2).transpose(0, 2)
    with pytest.raises(TypeError, match=r"^to: float16 is not supported"):
        tg.ones(2).to(np.float16)


def test_to_the_same_dtype_returns_the_tensor_itself_unless_copy():
    """PyTorch: `t.to(t.dtype) is t`; `copy=True` gives a new tensor with the same values."""
    x = tg.tensor([1.0, 2.0])
    assert x.to(tg.float32) is x and x.to("float32") is x
    y = x.to(tg.float32, copy=True)
    assert y is not x and y.tolist() == [1.0, 2.0]
    y.add_(1.0)
    assert x.tolist() == [1.0, 2.0]
