"""Bad input to the core: each a clear exception naming the op and the shapes/values, raised before
any state changes (no graph node, no gradient, no modified data)."""
import re

import numpy as np
import pytest

import tinygrad_np as tg


def leaf(*shape):
    return tg.tensor(np.ones(shape), requires_grad=True)


def test_matmul_message_exactly_as_designed():
    with pytest.raises(ValueError, match=re.escape("matmul: shapes (3, 4) and (5, 2) do not align (4 != 5)")):
        tg.zeros(3, 4) @ tg.zeros(5, 2)
    with pytest.raises(ValueError, match=re.escape("matmul: shapes (3,) and (4,) do not align (3 != 4)")):
        tg.zeros(3) @ tg.zeros(4)
    with pytest.raises(ValueError, match=re.escape("matmul: shapes (2, 3) and (2,) do not align (3 != 2)")):
        tg.zeros(2, 3).matmul(tg.zeros(2))
    with pytest.raises(ValueError, match=r"matmul: .*\(2, 3, 4\) and \(3, 4, 2\)"):
        tg.zeros(2, 3, 4) @ tg.zeros(3, 4, 2)             # batch dims 2 vs 3
    with pytest.raises(ValueError, match=r"matmul: .*dimension.*\(3, 4\) and \(\)"):
        tg.zeros(3, 4) @ tg.tensor(2.0)


@pytest.mark.parametrize("name, fn", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b), ("add", lambda a, b: b.numpy() + a),
    ("sub", lambda a, b: b.numpy() - a), ("less", lambda a, b: a < b), ("equal", lambda a, b: a == b),
])
def test_broadcast_errors_name_the_op_and_shapes(name, fn):
    a, b = leaf(2, 3), leaf(4)
    with pytest.raises(ValueError, match=rf"^{name}: shapes .*\((2, 3|4,)\) and .*\((4,|2, 3)\) cannot be broadcast"):
        fn(a, b)
    assert a.grad is None and b.grad is None


def test_where_shape_and_condition_errors():
    with pytest.raises(ValueError, match=r"where: shapes \(2, 3\), \(2, 3\) and \(4,\)"):
        tg.where(tg.ones(2, 3) > 0, leaf(2, 3), leaf(4))
    with pytest.raises(TypeError, match="where: condition must be bool, got dtype float32"):
        tg.where(tg.ones(2, 3), leaf(2, 3), 0.0)


@pytest.mark.parametrize("fn, exc, pattern", [
    (lambda t: t.reshape(4, 2), ValueError, r"reshape: .*\(2, 3\) into \(4, 2\)"),
    (lambda t: t.view(-1, 4), ValueError, r"reshape: .*\(2, 3\)"),
    (lambda t: t.expand(3, 3), ValueError, r"expand: cannot expand shape \(2, 3\) to \(3, 3\)"),
    (lambda t: t.expand(3), ValueError, r"expand: .*\(2, 3\)"),
    (lambda t: t.permute(0, 0), ValueError, r"permute: \(0, 0\) .*\(2, 3\)"),
    (lambda t: t.permute(0, 3), ValueError, r"permute: \(0, 3\)"),
    (lambda t: t.permute(1), ValueError, r"permute: \(1,\)"),
    (lambda t: t.transpose(0, 2), IndexError, r"transpose: dim 2 .* 2 dimensions"),
    (lambda t: t.unsqueeze(3), IndexError, r"unsqueeze: dim 3"),
    (lambda t: t.squeeze(2), IndexError, r"squeeze: dim 2"),
    (lambda t: t.sum(2), IndexError, r"sum: dim 2 .* 2 dimensions"),
    (lambda t: t.mean((0, -3)), IndexError, r"mean: dim -3"),
    (lambda t: t.var(5), IndexError, r"var: dim 5"),
    (lambda t: t.amax(2), IndexError, r"amax: dim 2"),
    (lambda t: t.max(2), IndexError, r"max: dim 2"),
    (lambda t: t.min(-3), IndexError, r"min: dim -3"),
    (lambda t: t.softmax(2), IndexError, r"softmax: dim 2"),
    (lambda t: t.log_softmax(-3), IndexError, r"log_softmax: dim -3"),
    (lambda t: t.logsumexp(2), IndexError, r"logsumexp: dim 2"),
    (lambda t: t[2], IndexError, r"getitem: .*\(2, 3\)"),
    (lambda t: t[0, 0, 0], IndexError, r"getitem: .*\(2, 3\)"),
    (lambda t: t[np.array([0, 5])], IndexError, r"getitem: .*\(2, 3\)"),
    (lambda t: t[np.array([0.5])], IndexError, r"getitem: .*integer"),
    (lambda t: t.clamp(), ValueError, r"clamp: at least one of min and max"),
    (lambda t: t.item(), ValueError, r"item: .*\(2, 3\)"),
    (lambda t: tg.cat([t, tg.zeros(2, 4)], 0), ValueError, r"cat: shapes \[\(2, 3\), \(2, 4\)\]"),
    (lambda t: tg.cat([t, t], 2), IndexError, r"cat: dim 2"),
    (lambda t: tg.cat([]), ValueError, r"cat: .*non-empty"),
    (lambda t: tg.stack([t, tg.zeros(3, 2)]), ValueError, r"stack: .*\[\(2, 3\), \(3, 2\)\]"),
    (lambda t: tg.stack([t, t], 3), IndexError, r"stack: dim 3"),
    (lambda t: tg.stack([]), ValueError, r"stack: .*non-empty"),
    (lambda t: t.backward(), RuntimeError, r"backward: .*one-element.*\(2, 3\)"),
    (lambda t: t.backward(np.ones(3)), ValueError, r"backward: gradient has shape \(3,\).*\(2, 3\)"),
    (lambda t: t.to(np.float16), TypeError, r"to: float16 is not supported"),
    (lambda t: t.to(np.complex64), TypeError, r"to: unsupported dtype complex64"),
])
def test_user_errors_are_clear_and_change_nothing(fn, exc, pattern):
    t = leaf(2, 3)
    with pytest.raises(exc, match=pattern):
        fn(t)
    assert t.grad is None and t.grad_fn is None and np.all(t.numpy() == 1.0)


def test_reductions_of_empty_tensors():
    """PyTorch's error types: RuntimeError when no dim is given, IndexError for an empty dim; a dim that is
    not empty reduces (to an empty result)."""
    with pytest.raises(RuntimeError, match=r"^amax: cannot reduce an empty tensor of shape \(0, 3\); pass dim$"):
        tg.zeros(0, 3).amax()
    with pytest.raises(IndexError, match=r"^max: dim 0 of shape \(0, 3\) is empty$"):
        tg.zeros(0, 3).max(0)
    with pytest.raises(IndexError, match=r"^amin: dim 0 of shape \(0, 3\) is empty$"):
        tg.zeros(0, 3).amin((0, 1))
    assert tg.zeros(0, 3).amax(1).shape == (0,) and tg.zeros(0, 3).max(1).values.shape == (0,)


def test_factory_errors():
    for fn in (lambda: tg.zeros(-2), lambda: tg.ones(2, -1), lambda: tg.randn(1.5), lambda: tg.rand((2, -3)),
               lambda: tg.full((-1,), 2.0)):
        with pytest.raises(ValueError, match="sizes must be non-negative integers"):
            fn()
    with pytest.raises(ValueError, match="arange: step must be non-zero"):
        tg.arange(0, 3, 0)


def test_dtype_errors():
    with pytest.raises(TypeError, match=r"tensor: only floating-point tensors can require grad, got dtype int64"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match=r"requires_grad_: .*bool"):
        tg.tensor([True]).requires_grad_()
    with pytest.raises(TypeError, match="tensor: float16 is not supported"):
        tg.Tensor(np.zeros(2, np.float16))
    with pytest.raises(ValueError, match="tensor: cannot make a tensor from list"):
        tg.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match=r"zeros.*float16|float16"):
        tg.zeros(2, dtype=np.float16)


def test_backward_errors_leave_existing_grads_untouched():
    x = leaf(3)
    (x * 2.0).sum().backward()
    before = x.grad.numpy().copy()
    y = x * 3.0
    with pytest.raises(ValueError):
        y.backward(np.ones((3, 1)))
    with pytest.raises(RuntimeError):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)
    assert y.requires_grad


def test_no_bare_numpy_error_from_deep_inside():
    """Every op error starts with the op's name, not with a NumPy internals message."""
    t = leaf(2, 3)
    attempts = [lambda: t + tg.zeros(3, 2), lambda: t @ tg.zeros(4, 4), lambda: t.reshape(7),
                lambda: t.permute(2, 0), lambda: t[5], lambda: tg.cat([t, tg.zeros(3)]),
                lambda: tg.where(t > 0, t, tg.zeros(5))]
    for attempt in attempts:
        with pytest.raises((ValueError, IndexError, TypeError)) as info:
            attempt()
        assert re.match(r"^[a-z_]+:", str(info.value)), str(info.value)


def test_reduction_rejects_a_repeated_dim():
    t = tg.ones(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"sum: dim \(0, 0\) names the same dimension twice"):
        t.sum((0, 0))
    with pytest.raises(ValueError, match="mean: dim"):
        t.mean((1, -1))


def test_logsumexp_of_all_minus_inf_row_is_minus_inf_without_warning():
    import warnings
    x = tg.tensor(np.array([[-np.inf, -np.inf], [0.0, 0.0]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.logsumexp(1).numpy()
    assert out[0] == -np.inf and np.isclose(out[1], np.log(2.0))
