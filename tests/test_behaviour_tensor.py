"""Tensors and their gradients, seen through the public API: how gradients reach leaves (accumulated,
never aliased, never kept by reference), the engine's errors on the way, hooks, and construction and
read-out (dtypes, NumPy conversion, repr, argmax/argmin, sum_to_shape).
Each expected value is a closed form written out in the test."""
import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, dtype=np.float32):
    return tg.tensor(np.asarray(values, dtype), requires_grad=True)


# ---- leaf gradients: accumulated, never aliased ------------------------------------------------------
def test_gradients_accumulate_over_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0 + 3.0, 4.0 + 3.0])


def test_a_leaf_used_twice_gets_the_sum():
    x = leaf([1.0, 2.0])
    (x * 2 + x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])


def test_two_leaves_given_the_same_gradient_array_do_not_share_it():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ((a + b) * 2).sum().backward()                          # add's backward hands both one new array
    a.grad.numpy()[0] = 99.0
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0])


def test_the_seed_gradient_is_not_stored_by_reference():
    x = leaf([1.0, 2.0])
    seed = tg.tensor([5.0, 6.0])
    x.backward(seed)                                         # a leaf's backward: the seed is its grad
    seed.numpy()[0] = -1.0
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 6.0])
    y = leaf([1.0, 2.0])
    seed2 = tg.tensor([5.0, 6.0])
    (y + 1.0).backward(seed2)                                # add passes the seed array straight through
    seed2.numpy()[0] = -1.0
    np.testing.assert_array_equal(y.grad.numpy(), [5.0, 6.0])


def test_a_gradient_that_is_a_view_is_copied_before_it_is_stored():
    x = leaf(np.zeros(3))
    big = tg.tensor(np.arange(6, dtype=np.float32))
    x.backward(big[1:4])                                     # a view into big's memory
    big.numpy()[:] = 0
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


def test_a_read_only_gradient_is_copied_so_later_accumulation_works():
    x = leaf([1.0, 2.0])
    ro = np.array([1.0, 1.0], np.float32)
    ro.flags.writeable = False
    NestedOnes.apply(x, ro).sum().backward()
    assert x.grad.numpy().flags.writeable
    x.grad.numpy()[0] = 5.0                                  # the stored gradient is the user's own
    np.testing.assert_array_equal(ro, [1.0, 1.0])


class NestedOnes(tg.Function):
    """x * 1, whose backward returns the read-only constant it was given."""
    @staticmethod
    def forward(ctx, x, ro):
        ctx.ro = ro
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return ctx.ro, None


def test_zero_grad_set_to_none_false_gives_zeros_of_the_parameter_dtype():
    lin = tg.nn.Linear(2, 1)
    lin(tg.ones(3, 2)).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is not None and lin.weight.grad.dtype == lin.weight.dtype
    assert not lin.weight.grad.requires_grad and lin.weight.grad.grad_fn is None   # a plain value, no graph
    np.testing.assert_array_equal(lin.weight.grad.numpy(), np.zeros((1, 2)))
    lin.zero_grad()
    assert lin.weight.grad is None


def test_a_freed_graph_is_refused_before_any_gradient_changes():
    x = leaf([1.0, 2.0])
    h = x * 2
    y = (h * h).sum()
    y.backward()
    before = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match=r"^backward: the graph through Sum was already freed by an earlier "
                                            r"backward\(\); pass retain_graph=True to the first backward\(\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"graph through Mul was already freed"):
        (h * 1).sum().backward()                 # a new root on the freed graph: h's node is refused
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_a_gradient_of_the_wrong_shape_names_the_op_and_input():
    class Bad(tg.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return grad, np.ones((5,))

    with pytest.raises(ValueError, match=r"Bad\.backward: gradient for input 1 has shape \(5,\)"):
        Bad.apply(leaf([1.0, 2.0]), leaf([1.0, 2.0])).sum().backward()


def test_a_hook_sees_a_gradient_without_graph_and_detach_needs_no_grad():
    """PyTorch: without create_graph the gradient a hook receives does not require grad, nor does detach()."""
    seen = []
    x = tg.Tensor(np.arange(3.0), requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: seen.append(g.requires_grad))
    x.register_hook(lambda g: seen.append(g.requires_grad))
    y.sum().backward()
    assert seen == [False, False]
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    assert x.detach().requires_grad is False and y.detach().requires_grad is False


# ---- construction and read-out -----------------------------------------------------------------------
def test_the_tensor_constructor_records_requires_grad_and_starts_without_grad():
    x = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad is None and x.grad_fn is None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert not tg.Tensor(np.ones(2)).requires_grad


@pytest.mark.parametrize("make", [tg.Tensor, tg.tensor])
def test_only_float_tensors_can_require_grad_and_the_error_names_tensor(make):
    with pytest.raises(TypeError, match=r"^tensor: only floating-point tensors can require grad, got dtype int64$"):
        make([1, 2], requires_grad=True)


def test_dtype_arguments_are_checked_naming_the_op():
    with pytest.raises(TypeError, match=r"^tensor: 'not-a-dtype' is not a dtype$"):
        tg.tensor([1.0], dtype="not-a-dtype")
    with pytest.raises(TypeError, match=r"^tensor: float16 is not supported"):
        tg.Tensor([1.0], dtype=np.float16)
    with pytest.raises(TypeError, match=r"^tensor: unsupported dtype complex128"):
        tg.tensor([1.0], dtype=np.complex128)
    assert tg.tensor([1, 2], dtype="float64").dtype == np.float64


def test_python_ints_become_int64_and_an_int_past_int64_is_refused():
    """NumPy stores a Python int >= 2**63 as uint64; casting that to int64 wrapped it to a negative
    number silently. PyTorch refuses such an int (overflow); so does tinygrad_np now."""
    assert tg.tensor([1, 2]).dtype == np.int64 and tg.tensor(3).dtype == np.int64
    assert tg.tensor([2 ** 63 - 1]).tolist() == [2 ** 63 - 1]
    assert tg.tensor([np.uint64(5), np.uint64(7)]).tolist() == [5, 7]      # small unsigned values are fine
    assert tg.tensor([np.uint64(2 ** 63 - 1)]).tolist() == [2 ** 63 - 1]    # the largest that fits is kept
    assert tg.tensor([np.uint8(200)]).tolist() == [200]
    for data in ([2 ** 63], 2 ** 63, [np.uint64(2 ** 63)]):
        with pytest.raises(ValueError, match="does not fit in int64"):
            tg.tensor(data)
        with pytest.raises(ValueError, match="does not fit in int64"):
            tg.Tensor(data)


def test_a_list_follows_the_list_rule_whatever_its_element_types():
    """DESIGN.md: Python floats and lists of them become float32, Python ints int64; a list of NumPy
    scalars is a list too (an ndarray or a bare NumPy scalar keeps its dtype)."""
    assert tg.tensor([np.float64(1.5), np.float64(2.0)]).dtype == np.float32
    assert tg.tensor([np.int32(1), np.int32(2)]).dtype == np.int64
    assert tg.tensor([np.uint8(1)]).dtype == np.int64
    assert tg.tensor([True, False]).dtype == np.bool_
    assert tg.tensor(np.int32(3)).dtype == np.int32 and tg.tensor(np.array([1], np.int16)).dtype == np.int16


def test_tensor_of_a_tensor_keeps_its_dtype_and_tg_tensor_copies():
    """torch.tensor(t) copies t's values in t's dtype; Tensor(t) keeps the dtype too (a float64 Tensor is
    not Python data, so it does not become the default float32)."""
    t = tg.Tensor(np.array([1.0, 2.0, 1.0 + 2.0 ** -40]))
    for made in (tg.tensor(t), tg.Tensor(t), tg.tensor(t, requires_grad=True)):
        assert made.dtype == np.float64
        np.testing.assert_array_equal(made.numpy(), [1.0, 2.0, 1.0 + 2.0 ** -40])
    copy = tg.tensor(t)
    copy.numpy()[0] = 5.0
    assert t.numpy()[0] == 1.0


def test_numpy_conversion_honours_dtype_and_copy():
    t = tg.Tensor(np.arange(3, dtype=np.float32))
    assert np.array(t, dtype=np.float64).dtype == np.float64              # a copy in the asked dtype
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    as32 = np.asarray(tg.Tensor(np.arange(3.0)), dtype=np.float32)
    assert as32.dtype == np.float32                                         # not float64 by default
    same = np.asarray(t, dtype=np.float32)
    assert np.shares_memory(same, t.numpy())                               # no copy when none is needed
    copied = np.array(t)
    assert not np.shares_memory(copied, t.numpy()) and copied.dtype == np.float32


def test_repr_shows_values_dtype_and_grad_fn():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], dtype=float32, grad_fn=<Mul>)"
    assert repr(x) == "tensor([1., 2.], dtype=float32, requires_grad=True)"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_like_numpy_with_int64_and_no_grad(name):
    a = np.array([[3.0, -1.0, 7.0], [0.5, 9.0, -4.0]])
    x = tg.tensor(a, requires_grad=True)
    fn = getattr(np, name)
    flat = getattr(x, name)()
    assert flat.shape == () and flat.item() == fn(a) and flat.dtype == np.int64 and flat.requires_grad is False
    for dim in (0, 1, -1):
        out = getattr(x, name)(dim)
        np.testing.assert_array_equal(out.numpy(), fn(a, axis=dim))
        assert out.dtype == np.int64 and out.requires_grad is False and out.grad_fn is None
        kept = getattr(x, name)(dim, keepdim=True)
        np.testing.assert_array_equal(kept.numpy(), fn(a, axis=dim, keepdims=True))
        assert getattr(x, name)(dim=dim, keepdim=False).shape == fn(a, axis=dim).shape
    a32 = tg.tensor(np.array([[1, 5], [7, 2]], np.int32))
    assert getattr(a32, name)(1).dtype == np.int64


def test_sum_to_shape_reduces_broadcast_axes_and_names_the_op():
    from tinygrad_np.autograd import sum_to_shape
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(sum_to_shape(g, (3, 1)), g.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(sum_to_shape(g, (1, 3, 4)), g.sum(axis=0, keepdims=True))
    assert sum_to_shape(g, (2, 3, 4)) is g
    with pytest.raises(ValueError, match=r"^op\.backward: gradient for input 0 has shape \(2, 3, 4\), which does "
                                         r"not match or broadcast to the input's shape \(2, 4\)$"):
        sum_to_shape(g, (2, 4))
    with pytest.raises(ValueError, match=r"^Conv\.backward: gradient for input 2 "):
        sum_to_shape(g, (5, 2, 3, 4), "Conv", 2)
