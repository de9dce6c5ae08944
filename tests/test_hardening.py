"""Odd inputs get PyTorch's answer or a clear error naming the op (issue 13), one test per finding.
Each compares with PyTorch's numbers written out (so the test needs no torch); warnings are errors here."""
import gc
import warnings

import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F

pytestmark = pytest.mark.filterwarnings("error")
INF = float("inf")


# ---- integer and bool inputs of float-only ops compute in float32 ----------------------------------------
@pytest.mark.parametrize("method, expected", [
    ("sigmoid", [0.11920292, 0.26894142, 0.5, 0.95257413]),
    ("tanh", [-0.96402758, -0.76159416, 0.0, 0.99505475]),
    ("exp", [0.13533528, 0.36787944, 1.0, 20.085537]),
])
def test_float_only_ops_on_int64_compute_in_float32(method, expected):
    out = getattr(tg.tensor([-2, -1, 0, 3]), method)()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.int8, np.int16, np.int32])
def test_float_only_ops_on_small_ints_and_bool_give_float32_not_float16(dtype):
    t = tg.tensor(np.array([1, 0, 1], dtype=dtype))
    for out in (t.exp(), t.log(), t.sqrt(), t.sigmoid(), t.tanh(), t.softmax(0), t.log_softmax(0), t.logsumexp(0)):
        assert out.dtype == np.float32
    np.testing.assert_allclose(t.exp().numpy(), np.exp(np.array([1.0, 0.0, 1.0], np.float32)), rtol=1e-6)


def test_exp_of_uint8_12_is_finite():
    np.testing.assert_allclose(tg.tensor(np.array([12], np.uint8)).exp().numpy(), [162754.79], rtol=1e-6)


def test_softmax_of_uint8_and_of_int64_extremes():
    np.testing.assert_allclose(tg.tensor(np.array([1, 3], np.uint8)).softmax(0).numpy(),
                               [0.11920292, 0.88079708], rtol=1e-6)
    out = tg.tensor(np.array([2 ** 62, -2 ** 62, 2 ** 63 - 1, -2 ** 63], np.int64)).softmax(0)
    np.testing.assert_array_equal(out.numpy(), [0, 0, 1, 0])
    np.testing.assert_array_equal(tg.tensor([2 ** 63 - 1, -2 ** 63]).log_softmax(0).numpy()[0], 0)


@pytest.mark.parametrize("op", ["mean", "var"])
def test_mean_and_var_of_integers_are_refused_as_in_pytorch(op):
    with pytest.raises(RuntimeError, match=f"{op}: input dtype int64 is not floating point"):
        getattr(tg.tensor([1, 2, 3]), op)()


# ---- operand types ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("other", [None, {}, object(), [1.0, 2.0], "a", 1j])
def test_wrong_operand_types_are_type_errors_naming_the_op(other):
    x = tg.ones(2)
    for op, fn in [("add", lambda: x + other), ("add", lambda: other + x), ("mul", lambda: x * other),
                   ("sub", lambda: other - x), ("div", lambda: x / other), ("pow", lambda: x ** other)]:
        with pytest.raises(TypeError, match=f"^{op}: unsupported operand"):
            fn()


def test_a_list_of_tensors_is_not_a_silent_constant():
    t1, t2 = tg.ones(1, requires_grad=True), tg.ones(1, requires_grad=True)
    with pytest.raises(TypeError, match="add: unsupported operand list"):
        tg.ones(2) + [t1, t2]
    with pytest.raises(TypeError, match="mul: unsupported operand an ndarray of dtype object"):
        tg.ones(2) * np.array([None, 1])


def test_parameters_and_arrays_are_still_operands():
    p = tg.nn.Parameter(tg.ones(2))
    np.testing.assert_array_equal((tg.ones(2) + p).numpy(), [2, 2])
    np.testing.assert_array_equal((np.ones(2) * tg.ones(2)).numpy(), [1, 1])


@pytest.mark.parametrize("gradient", [[1, None], [{}, 1], [[1, 2], [3]]])
def test_backward_refuses_a_gradient_that_is_not_numbers(gradient):
    b = tg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="backward: gradient"):
        (b * 2).backward(gradient)
    assert b.grad is None


# ---- ** gradients at the edges are PyTorch's 0, not NaN -----------------------------------------------------
def test_pow_gradients_at_zero():
    x = tg.tensor([0.0, 1.0, 0.0], requires_grad=True)
    y = tg.tensor([2.0, 0.0, 0.0], requires_grad=True)
    (x ** y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0])     # PyTorch: [0, 0, 0]
    np.testing.assert_array_equal(y.grad.numpy(), [0, 0, 0])     # PyTorch: [0, 0, 0]
    x = tg.tensor([0.0, 2.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0])
    y = tg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    (0.0 ** y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0, 0, 0])
    y = tg.tensor([-1.0], requires_grad=True)                     # 0 ** -1 = inf: d/dy = inf * -inf
    (0.0 ** y).sum().backward()
    assert y.grad.numpy()[0] == -INF


# ---- cross_entropy: ignored rows touch neither loss nor gradient -------------------------------------------
@pytest.mark.parametrize("reduction, expected", [("mean", 0.40760595), ("sum", 0.40760595), ("none", [0.40760595, 0])])
def test_cross_entropy_ignored_rows_do_not_poison_the_loss(reduction, expected):
    x = tg.tensor([[1.0, 2.0, 3.0], [0.0, -9.0, INF]], requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([2, -100]), reduction=reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], [0.09003058, 0.24472847, -0.33475905], rtol=1e-5)
    np.testing.assert_array_equal(x.grad.numpy()[1], [0, 0, 0])


def test_nll_loss_ignored_row_with_minus_inf():
    x = tg.tensor([[-INF, -INF], [-1.0, -2.0]], requires_grad=True)
    loss = F.nll_loss(x, tg.tensor([1, 0]), ignore_index=1)
    assert loss.item() == 1.0
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [-1, 0]])


# ---- retain_grad makes no reference cycle ------------------------------------------------------------------
def test_retained_activations_die_without_the_cyclic_collector():
    import weakref
    gc.collect()
    gc.disable()
    try:
        w = tg.ones(3, requires_grad=True)
        refs = []
        for _ in range(20):
            h = w * 2
            h.retain_grad()
            h.sum().backward()
            assert h.grad is not None
            refs.append(weakref.ref(h))
        del h
        assert sum(r() is not None for r in refs) == 0
    finally:
        gc.enable()


def test_retain_grad_still_keeps_the_gradient():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    (h * 3).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [3, 3])


# ---- clear errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("dim", ["a", 1.5, True, [0, "b"]])
def test_a_dim_that_is_not_an_int_is_a_type_error(op, dim):
    with pytest.raises(TypeError, match=f"{op}: dim must be an int"):
        getattr(tg.ones(2, 3), op)(dim)


def test_softmax_over_a_zero_size_dim_is_empty():
    for shape, dim in [((2, 0), 1), ((0, 3), 0), ((0,), 0)]:
        for fn in ("softmax", "log_softmax"):
            out = getattr(tg.zeros(*shape), fn)(dim)
            assert out.shape == shape and out.dtype == np.float32


def test_int_to_a_negative_int_power_and_uint8_overflow_name_the_problem():
    with pytest.raises(RuntimeError, match="pow: integers to negative integer powers are not allowed"):
        tg.tensor([1, 2]) ** -1
    with pytest.raises(ValueError, match="add: Python integer 300 out of bounds for uint8"):
        tg.tensor(np.array([1], np.uint8)) + 300


# ---- NumPy warnings never reach the user; results are PyTorch's inf/NaN ------------------------------------
def test_no_runtime_warnings_where_pytorch_is_silent():
    z, one = tg.tensor([0.0, -1.0]), tg.tensor([1.0, 1.0])
    np.testing.assert_array_equal((one / tg.tensor([0.0, -0.0])).numpy(), [INF, -INF])
    np.testing.assert_array_equal(z.log().numpy(), [-INF, np.nan])
    np.testing.assert_array_equal(z.sqrt().numpy(), [0, np.nan])
    np.testing.assert_array_equal(tg.tensor([100.0]).exp().numpy(), [INF])
    np.testing.assert_array_equal((z ** -1.0).numpy(), [INF, -1])
    np.testing.assert_array_equal((tg.tensor([-8.0]) ** 0.5).numpy(), [np.nan])
    assert np.isnan(tg.zeros(0).mean().item()) and np.isnan(tg.ones(1).var().item())
    np.testing.assert_array_equal(tg.tensor([1.0, INF]).softmax(0).numpy(), [np.nan, np.nan])
    assert F.cross_entropy(tg.tensor([[3e38, -3e38]]), tg.tensor([1])).item() == INF
    x = tg.tensor([0.0], requires_grad=True)
    x.log().sum().backward()
    assert x.grad.numpy()[0] == INF
    x = tg.tensor([0.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert x.grad.numpy()[0] == INF
    x = tg.zeros(0, requires_grad=True)
    x.mean().backward()
    assert x.grad.shape == (0,)


@pytest.mark.parametrize("fn, error, message", [
    (lambda: tg.cat(tg.ones(2, 2)), TypeError, "cat: expected a list or tuple of tensors, got Tensor"),
    (lambda: tg.cat(tg.ones(1, 1)), TypeError, "cat: expected a list or tuple of tensors, got Tensor"),
    (lambda: tg.cat("abc"), TypeError, "cat: expected a list or tuple of tensors, got str"),
    (lambda: tg.cat([tg.ones(1), None]), TypeError, "cat: element 1 is a NoneType"),
    (lambda: tg.stack([tg.ones(1), 3]), TypeError, "stack: element 1 is a int"),
    (lambda: tg.ones(3)[::0], ValueError, "getitem: slice step cannot be zero"),
    (lambda: tg.ones(4).reshape(-2, 2), ValueError, r"reshape: shape \(-2, 2\) must be"),
    (lambda: tg.ones(4).reshape(-1, -1), ValueError, r"reshape: shape \(-1, -1\) must be"),
    (lambda: F.relu(None), TypeError, "relu: input must be a Tensor, got NoneType"),
    (lambda: F.sigmoid(None), TypeError, "sigmoid: input must be a Tensor"),
    (lambda: F.tanh(None), TypeError, "tanh: input must be a Tensor"),
    (lambda: F.softmax(None), TypeError, "softmax: input must be a Tensor"),
    (lambda: F.log_softmax(None), TypeError, "log_softmax: input must be a Tensor"),
    (lambda: F.conv2d(None, tg.ones(1, 1, 1, 1)), TypeError, "conv2d: input must be a Tensor, got NoneType"),
    (lambda: F.max_pool2d(None, 2), TypeError, "max_pool2d: input must be a Tensor, got NoneType"),
    (lambda: F.cross_entropy(None, tg.tensor([1])), TypeError, "cross_entropy: input must be a Tensor"),
])
def test_unclear_errors_now_name_the_op_and_the_value(fn, error, message):
    with pytest.raises(error, match=message):
        fn()


# ---- found by tests/test_fuzz_ops.py ------------------------------------------------------------------------
def test_nan_gradients_follow_pytorch():
    x = tg.tensor([np.nan, 1.0, -1.0], requires_grad=True)
    x.relu().sum().backward()                       # PyTorch passes the gradient through a NaN
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 0])
    x = tg.tensor([np.nan, 2.0, -2.0, 0.0], requires_grad=True)
    x.abs().sum().backward()                        # sgn(NaN) = 0
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, -1, 0])
    x = tg.tensor([1.0, np.nan], requires_grad=True)
    x.max().backward()                              # max(): the NaN is the maximum and gets the gradient
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1])
    x = tg.tensor([1.0, np.nan], requires_grad=True)
    x.amax(0).backward()                            # amax: PyTorch's 0/0
    assert np.isnan(x.grad.numpy()).all()


def test_tiny_divisors_and_exponents_keep_pytorchs_gradients():
    x, y = tg.tensor([0.0], requires_grad=True), tg.tensor([1e-45], requires_grad=True)
    (x / y).sum().backward()
    assert y.grad.numpy()[0] == 0                   # -g·(x/y)/y, not (g/y)·(x/y) = inf · 0
    x, y = tg.tensor([0.0], requires_grad=True), tg.tensor([1e-45], requires_grad=True)
    (x ** y).sum().backward()
    assert x.grad.numpy()[0] == INF


def test_integer_and_bool_reductions_and_refusals():
    assert tg.tensor(np.array([200, 100], np.uint8)).sum().item() == 300       # int64, not a wrapped uint8
    assert tg.tensor(np.array([200, 100], np.uint8)).sum().dtype == np.int64
    assert tg.tensor([True, True]).sum().dtype == np.int64
    b = tg.tensor([True, False])
    for fn, message in [(lambda: -b, "neg: negating a bool"), (lambda: b - b, "sub: "), (lambda: 1 - b, "sub: "),
                        (lambda: b ** b, "pow: bool"), (lambda: b @ b, "matmul: bool"),
                        (lambda: tg.tensor(np.zeros(0, np.int64)) ** -1, "pow: integers to negative")]:
        with pytest.raises(RuntimeError, match=message):
            fn()


def test_empty_arg_reductions_and_pools_are_clear_errors():
    """The error types PyTorch raises for empty arg-reductions (IndexError; RuntimeError for max() without dim)."""
    for fn, error, message in [(lambda: tg.zeros(0).argmax(), IndexError, "argmax: cannot take"),
                               (lambda: tg.zeros(0).max(), RuntimeError, "max: "),
                               (lambda: tg.zeros(2, 0).argmin(1), IndexError, "argmin: cannot take"),
                               (lambda: F.max_pool2d(tg.zeros(0, 2, 2), 2), ValueError, "max_pool2d: input of shape"),
                               (lambda: F.conv2d(tg.zeros(1, 0, 2, 2), tg.zeros(1, 0, 1, 1)), ValueError,
                                "conv2d: input of shape")]:
        with pytest.raises(error, match=message):
            fn()


def test_more_silent_infinities():
    np.testing.assert_array_equal((tg.ones(2) + 1e308).numpy(), [INF, INF])    # float32(1e308) is inf
    np.testing.assert_array_equal(tg.tensor([1e300], dtype=np.float64).float().numpy(), [INF])
    np.testing.assert_array_equal(tg.tensor([np.inf, -np.inf]).sum().numpy(), np.nan)
    np.testing.assert_array_equal((tg.tensor([0.0]) @ tg.tensor([INF])).numpy(), np.nan)
    np.testing.assert_array_equal(F.avg_pool2d(tg.full((1, 1, 2, 2), 3e38), 2).numpy(), [[[[INF]]]])


def test_where_refuses_an_integer_that_does_not_fit():
    with pytest.raises(ValueError, match="where: Python integer 300 out of bounds for uint8"):
        tg.where(tg.tensor([True]), tg.tensor(np.array([1], np.uint8)), 300)
    np.testing.assert_array_equal(tg.where(tg.tensor([True, False]), tg.tensor([1, 2]), 7).numpy(), [1, 7])
