"""`tg.gradcheck` itself: it passes correct ops and catches wrong backwards, in both modes, with
the message format of DESIGN.md."""
import re

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.testing import assert_grad_close

MESSAGE = re.compile(r"^gradcheck: input (\d+), index \(([\d, ]*)\): backprop (\S+) vs numerical (\S+) "
                     r"\(atol=(\S+), rtol=(\S+)\)(\n  diagnosis: [^\n]+)?$")


class Cube(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad


class BadCube(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x ** 2 * grad                     # wrong factor


class OneWrongElement(tg.Function):
    """y = x·w elementwise; the gradient of w is wrong at exactly one element, (2, 1)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gw = grad * x
        gw[2, 1] *= 3.0
        return grad * w, gw


class ReversedGrad(tg.Function):
    """y = 2x, but backward reverses the upstream gradient: right for a plain .sum() (all ones
    upstream), wrong for any other upstream gradient."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad[::-1]


def _x(shape=(4, 3), seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_passes_correct_ops(fast_mode):
    x, w = _x(), _x(seed=1)
    assert tg.gradcheck(Cube.apply, [x], fast_mode=fast_mode) is True
    assert tg.gradcheck(lambda a, b: (a @ b.T).tanh().log_softmax(1), [x, w], fast_mode=fast_mode)
    assert tg.gradcheck(lambda a: a.exp(), x, fast_mode=fast_mode)                 # a bare Tensor as inputs
    assert tg.gradcheck(lambda a: (a.sum(), a * 2.0), [x], fast_mode=fast_mode)     # several outputs
    assert tg.gradcheck(lambda a: a.max(1), [x], fast_mode=fast_mode)               # (values, int indices)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_catches_a_wrong_backward(fast_mode):
    with pytest.raises(tg.GradcheckError, match="input 0"):
        tg.gradcheck(BadCube.apply, [_x()], fast_mode=fast_mode)
    assert tg.gradcheck(BadCube.apply, [_x()], fast_mode=fast_mode, raise_exception=False) is False


@pytest.mark.parametrize("fast_mode", [False, True])
def test_random_upstream_gradient_catches_what_sum_would_hide(fast_mode):
    x = tg.tensor(np.arange(1.0, 5.0), requires_grad=True)
    ReversedGrad.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0] * 4                # the bug is invisible with a ones upstream gradient
    with pytest.raises(tg.GradcheckError):
        tg.gradcheck(ReversedGrad.apply, [x], fast_mode=fast_mode)


def test_message_names_input_index_values_and_tolerances():
    x, w = _x(), _x(seed=1)
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(OneWrongElement.apply, [x, w])
    m = MESSAGE.match(str(info.value))
    assert m, str(info.value)
    assert m.group(1) == "1" and m.group(2) == "2, 1"
    assert m.group(5) == "1e-05" and m.group(6) == "0.001"
    backprop, numerical = float(m.group(3)), float(m.group(4))
    assert backprop == pytest.approx(3 * numerical, rel=1e-4)          # the planted factor of 3
    # the DESIGN.md example itself parses
    assert MESSAGE.match("gradcheck: input 0, index (2, 1): backprop -0.51 vs numerical -0.17 "
                         "(atol=1e-05, rtol=0.001)")


def test_message_reports_the_tolerances_passed():
    with pytest.raises(tg.GradcheckError) as info:
        tg.gradcheck(BadCube.apply, [_x((3,))], atol=1e-4, rtol=0.01)
    m = MESSAGE.match(str(info.value))
    assert m and m.group(5) == "0.0001" and m.group(6) == "0.01"


def test_fast_mode_message():
    with pytest.raises(tg.GradcheckError, match=r"^gradcheck \(fast_mode\): input 1, .*backprop .* vs numerical "
                                                r".*\(atol=1e-05, rtol=0\.001\)"):
        tg.gradcheck(OneWrongElement.apply, [_x(), _x(seed=1)], fast_mode=True)


def test_float32_inputs_are_checked_in_float64_and_left_untouched():
    seen = []

    def fn(a):
        seen.append(a.dtype)
        return a.tanh() * a
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32), requires_grad=True)
    before = x.numpy().copy()
    for fast in (False, True):
        assert tg.gradcheck(fn, [x], fast_mode=fast)   # in float32, eps=1e-6 differences would be noise
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None and x.dtype == np.float32


def test_inputs_without_requires_grad_and_constants_are_not_checked():
    x, c = _x(), tg.tensor(np.ones((4, 3)))
    assert tg.gradcheck(lambda a, b, k: a * b * k, [x, c, 2.0])
    with pytest.raises(ValueError, match="no input has requires_grad"):
        tg.gradcheck(lambda b: b * 2.0, [c])


def test_output_must_depend_on_inputs_and_be_tensors():
    with pytest.raises(ValueError, match="do not depend"):
        tg.gradcheck(lambda a: tg.tensor([1.0]), [_x()])
    with pytest.raises(TypeError, match="Tensor"):
        tg.gradcheck(lambda a: a.numpy(), [_x()])


def test_gradcheck_error_is_a_runtime_error():
    assert issubclass(tg.GradcheckError, RuntimeError)


def test_nan_backprop_is_reported():
    class NanGrad(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad * np.nan
    with pytest.raises(tg.GradcheckError, match="backprop nan"):
        tg.gradcheck(NanGrad.apply, [_x((2,))])


def test_assert_grad_close_checks_forward_and_backward():
    a = np.random.default_rng(0).standard_normal((3, 2))
    assert_grad_close(Cube.apply, a, reference=lambda v: v ** 3)
    with pytest.raises(AssertionError, match="backprop"):
        assert_grad_close(BadCube.apply, a)
    with pytest.raises(AssertionError, match="forward value"):
        assert_grad_close(Cube.apply, a, reference=lambda v: v ** 3 + 1e-9)
    with pytest.raises(AssertionError, match="forward shape"):
        assert_grad_close(lambda t: t.sum(1, keepdim=True), a, reference=lambda v: v.sum(1))
    with pytest.raises(AssertionError, match="forward shape"):
        assert_grad_close(lambda t: t.sum().reshape(1), a, reference=lambda v: v.sum())
