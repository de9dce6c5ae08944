"""What a user's `tg.Function` may return from forward and backward, seen through the public API
(Python floats, NumPy scalars, integer outputs, None, nested lists, broadcast shapes, several outputs),
the engine's errors about those returns, and what a Function sees and leaves behind: ctx.needs_input_grad,
quiet_function, the graph's nodes. Each expected value is a closed form written out in the test."""
import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, dtype=np.float32):
    return tg.tensor(np.asarray(values, dtype), requires_grad=True)


# ---- what forward may return -------------------------------------------------------------------------
class SquareAsPythonFloats(tg.Function):
    """x**2 for 0-d x, forward and backward both returning Python floats."""
    @staticmethod
    def forward(ctx, x):
        ctx.x = float(x)
        return float(x * x)

    @staticmethod
    def backward(ctx, grad):
        return 2.0 * ctx.x * float(grad)


def test_python_floats_from_forward_and_backward_become_arrays():
    x = tg.tensor(np.float32(3.0), requires_grad=True)
    y = SquareAsPythonFloats.apply(x)
    assert isinstance(y, tg.Tensor) and y.shape == () and y.item() == 9.0
    assert y.requires_grad and y.grad_fn is not None
    y.backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == ()   # cast to the input's dtype and shape
    assert x.grad.item() == 6.0


class Double(tg.Function):
    """2x, returning its result as a NumPy scalar for 0-d input (what x * 2 gives for a 0-d array)."""
    @staticmethod
    def forward(ctx, x):
        return x.dtype.type(x * 2)

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_forward_returning_a_numpy_scalar_keeps_its_dtype_and_records():
    x = tg.tensor(np.float32(1.5), requires_grad=True)
    y = Double.apply(x)
    assert y.dtype == np.float32 and y.item() == 3.0 and y.requires_grad
    (y * y).backward()                                      # d(4x^2)/dx = 8x = 12
    assert x.grad.item() == pytest.approx(12.0)


class IntegerOut(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return (x > 0).astype(np.int64)

    @staticmethod
    def backward(ctx, grad):
        raise AssertionError("never called: an integer output is not differentiable")


def test_an_integer_output_is_not_recorded():
    y = IntegerOut.apply(leaf([-1.0, 2.0]))
    assert y.dtype == np.int64 and not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), [0, 1])


# ---- what backward may return ------------------------------------------------------------------------
class NoGradient(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return None


def test_backward_returning_none_sends_nothing():
    x = leaf([1.0, 2.0])
    NoGradient.apply(x).sum().backward()
    assert x.grad is None                                   # no gradient reached x at all
    x2 = leaf([1.0, 2.0])
    (NoGradient.apply(x2) + 3 * x2).sum().backward()        # the other path still arrives, unchanged
    np.testing.assert_array_equal(x2.grad.numpy(), [3.0, 3.0])


class TwoInputsOneNone(tg.Function):
    """x * c for a constant tensor c: backward gives None for c."""
    @staticmethod
    def forward(ctx, x, c):
        ctx.save_for_backward(c)
        return x * c

    @staticmethod
    def backward(ctx, grad):
        (c,) = ctx.saved_tensors
        return grad * c, None


def test_backward_none_for_one_input_leaves_that_input_without_grad():
    x, c = leaf([1.0, 2.0]), leaf([5.0, 7.0])
    TwoInputsOneNone.apply(x, c).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    assert c.grad is None


class NestedListGradient(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x.sum()

    @staticmethod
    def backward(ctx, grad):
        return [[1, 2], [3, 4]]                            # a nested Python list of ints


def test_backward_returning_a_nested_list_becomes_an_array_of_the_input_dtype():
    x = leaf(np.zeros((2, 2)), np.float64)
    NestedListGradient.apply(x).backward()
    assert x.grad.dtype == np.float64 and x.grad.shape == (2, 2)
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 2], [3, 4]])


def test_size_one_axes_of_size_two_broadcasts_are_summed():
    x = leaf([[1.0, 2.0, 3.0]])                    # (1, 3) broadcast along an axis of size 2
    y = leaf([[1.0], [2.0]])                       # (2, 1) broadcast along an axis of size 3
    w = tg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    (x * w * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (w.numpy() * y.numpy()).sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(y.grad.numpy(), (w.numpy() * x.numpy()).sum(axis=1, keepdims=True))


def test_leading_broadcast_axes_are_summed_away():
    x = leaf([1.0, 2.0, 3.0])                      # (3,) broadcast against (4, 2, 3)
    w = tg.tensor(np.arange(24, dtype=np.float32).reshape(4, 2, 3))
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w.numpy().sum(axis=(0, 1)))


class StringGradient(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return np.array(["a", "b"])


def test_a_non_numeric_gradient_is_refused_naming_the_op():
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match="StringGradient"):
        StringGradient.apply(x).sum().backward()


class TooManyGradients(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def test_backward_returning_too_many_gradients_is_refused():
    with pytest.raises(RuntimeError, match="TooManyGradients.backward returned 2 gradients for 1 inputs"):
        TooManyGradients.apply(leaf([1.0])).sum().backward()


# ---- several outputs ---------------------------------------------------------------------------------
class SplitHalves(tg.Function):
    """x (4,) -> (x[:2] * 2, x[2:] * 3, argmax index); the unused output's gradient is zeros."""
    @staticmethod
    def forward(ctx, x):
        return x[:2] * 2, x[2:] * 3, np.argmax(x)

    @staticmethod
    def backward(ctx, g1, g2, g3):
        assert g3 is not None and g3.dtype == np.int64  # zeros of the index output's dtype
        return np.concatenate([g1 * 2, g2 * 3])


def test_multi_output_only_floats_are_differentiable_and_unused_outputs_get_zeros():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a, b, idx = SplitHalves.apply(x)
    assert a.requires_grad and b.requires_grad and not idx.requires_grad and idx.item() == 3
    b.sum().backward()                                       # a is unused: its gradient is zeros
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 3.0, 3.0])


def test_multi_output_without_grad_records_nothing():
    with tg.no_grad():
        a, b, idx = SplitHalves.apply(leaf([1.0, 2.0, 3.0, 4.0]))
    assert not a.requires_grad and a.grad_fn is None and b.grad_fn is None


def test_multi_output_second_output_gradient_goes_to_the_right_slot():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    a, b, _ = SplitHalves.apply(x)
    (a * tg.tensor([10.0, 100.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 200.0, 0.0, 0.0])


class ValueAndPythonFloat(tg.Function):
    """(2x, Σx as a Python float): a multi-output forward may return non-arrays too."""
    @staticmethod
    def forward(ctx, x):
        return x * 2, float(x.sum())

    @staticmethod
    def backward(ctx, g1, g2):
        return 2 * g1 + g2


def test_multi_output_python_float_outputs_become_0d_arrays():
    x = leaf([1.0, 2.0], np.float64)
    doubled, total = ValueAndPythonFloat.apply(x)
    assert total.shape == () and total.dtype == np.float64 and total.item() == 3.0 and total.requires_grad
    (doubled.sum() + 10 * total).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 12.0])


# ---- ctx, quiet_function and the graph's nodes -------------------------------------------------------
def test_needs_input_grad_is_false_for_constant_arguments():
    """PyTorch: ctx.needs_input_grad holds True/False per argument, False for non-tensors and for tensors
    that do not require grad."""
    seen = []

    class Scale(tg.Function):
        @staticmethod
        def forward(ctx, x, k, y):
            seen.append(ctx.needs_input_grad)
            return x * k + y

        @staticmethod
        def backward(ctx, grad):
            return grad * 3.0, None, None

    x = tg.Tensor(np.ones(2), requires_grad=True)
    out = Scale.apply(x, 3.0, tg.Tensor(np.ones(2)))
    assert seen == [(True, False, False)]
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    const = Scale.apply(tg.Tensor(np.ones(2)), 3.0, tg.Tensor(np.ones(2)))   # no input requires grad
    assert const.requires_grad is False and const.grad_fn is None           # a bool, as PyTorch's
    with tg.no_grad():
        assert Scale.apply(x, 3.0, tg.Tensor(np.ones(2))).requires_grad is False


def test_quiet_function_runs_forward_and_backward_without_numpy_warnings():
    """A Function under tg.dtypes.quiet_function overflows to inf as PyTorch does, with no RuntimeWarning,
    and keeps its methods' names."""
    import warnings
    from tinygrad_np.dtypes import quiet_function

    @quiet_function
    class Square(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    x = tg.Tensor(np.array([1e200, 3.0]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = Square.apply(x)
        y.backward(np.array([1e200, 1.0]))
    np.testing.assert_array_equal(y.numpy(), [np.inf, 9.0])
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, 6.0])
    assert Square.forward.__name__ == "forward" and Square.backward.__name__ == "backward"


def test_a_node_repr_is_its_op_name():
    x = leaf([1.0])
    assert repr((x * 2).grad_fn) == "<Mul>" and repr((x + 1).grad_fn) == "<Add>"
    assert repr(SquareAsPythonFloats.apply(tg.tensor(np.float32(2.0), requires_grad=True)).grad_fn) == \
        "<SquareAsPythonFloats>"


def test_a_leafs_node_in_next_functions_is_an_accumulate_grad_that_shows_its_name():
    """As PyTorch prints grad_fn.next_functions: the leaf's node names itself AccumulateGrad, and its
    .variable is the leaf; a constant operand has no node."""
    x = tg.Tensor(np.ones(2), requires_grad=True)
    (acc, index), (const, _) = (x * np.ones(2)).grad_fn.next_functions
    assert repr(acc).startswith("<AccumulateGrad") and acc.name() == "AccumulateGrad"
    assert acc.variable is x and index == 0 and acc.next_functions == () and const is None
