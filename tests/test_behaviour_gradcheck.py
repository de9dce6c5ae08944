"""gradcheck's tolerance rule, |backprop − numerical| ≤ atol + rtol·|numerical|, at its edges, in both
modes: a backward off by a relative error just above rtol is caught and one just below passes, for
small and large, positive and negative derivatives; and what it does with unused inputs."""
import numpy as np
import pytest

import tinygrad_np as tg


def scaled_by(c: float, error: float):
    """y = c·x whose backward is (1 + error) times too large."""
    class Scaled(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return c * x

        @staticmethod
        def backward(ctx, grad):
            return (1 + error) * c * grad
    return Scaled.apply


def x4():
    return tg.tensor(np.array([0.3, -1.2, 0.7, 2.0]), requires_grad=True)


def directional_derivative(c: float) -> float:
    """The fast-mode number gradcheck compares, re-derived: with seed 0, v then u are drawn from
    default_rng(0), and the derivative of Σ v·(c x) along u is c·Σ v·u."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal(4)
    u = rng.standard_normal(4)
    return c * float(np.sum(v * u))


@pytest.mark.parametrize("c", [0.05, -0.05, 80.0, -80.0])
def test_fast_mode_rejects_a_backward_one_percent_too_large(c):
    # 1 % of |d| exceeds atol + rtol·|d| = 1e-5 + 1e-3·|d| whenever |d| > 1.2e-3
    assert abs(directional_derivative(c)) > 0.01
    assert not tg.gradcheck(scaled_by(c, 0.01), [x4()], fast_mode=True, raise_exception=False)
    assert tg.gradcheck(scaled_by(c, 0.0), [x4()], fast_mode=True)


@pytest.mark.parametrize("c", [80.0, -80.0])
def test_fast_mode_accepts_a_relative_error_below_rtol(c):
    # 0.05 % < rtol = 0.1 %: within tolerance, however large the derivative (atol alone would reject it)
    assert abs(directional_derivative(c)) * 5e-4 > 1e-3
    assert tg.gradcheck(scaled_by(c, 5e-4), [x4()], fast_mode=True)
    assert not tg.gradcheck(scaled_by(c, 5e-4), [x4()], fast_mode=True, rtol=1e-4, raise_exception=False)


@pytest.mark.parametrize("c", [0.05, -0.05, 80.0, -80.0])
def test_slow_mode_has_the_same_rule_per_element(c):
    assert not tg.gradcheck(scaled_by(c, 0.01), [x4()], raise_exception=False)
    assert tg.gradcheck(scaled_by(c, 5e-4), [x4()])
    assert not tg.gradcheck(scaled_by(c, 5e-4), [x4()], rtol=1e-4, raise_exception=False)


def test_atol_alone_covers_a_tiny_derivative():
    # c = 1e-4: the absolute error 1e-6·|v| of a 1 % wrong backward is below atol = 1e-5
    for fast in (False, True):
        assert tg.gradcheck(scaled_by(1e-4, 0.01), [x4()], fast_mode=fast)
        assert not tg.gradcheck(scaled_by(1e-4, 0.01), [x4()], fast_mode=fast, atol=1e-9, raise_exception=False)


def test_an_unused_input_must_have_zero_numerical_gradient():
    x, unused = x4(), x4()
    assert tg.gradcheck(lambda a, b: a * 2.0, [x, unused])                  # both sides are zero for b
    for fast in (False, True):
        assert tg.gradcheck(lambda a, b: a * 2.0, [x, unused], fast_mode=fast)


def test_the_input_checked_after_a_passing_one_is_still_checked():
    good, bad = x4(), x4()
    wrong = scaled_by(3.0, 0.5)
    for fast in (False, True):
        with pytest.raises(tg.GradcheckError, match="input 1"):
            tg.gradcheck(lambda a, b: a * 2.0 + wrong(b), [good, bad], fast_mode=fast)


def test_inputs_are_restored_after_each_perturbation():
    seen = []

    def fn(a):
        seen.append(a.numpy().copy())
        return a * a
    x = x4()
    for fast in (False, True):
        seen.clear()
        tg.gradcheck(fn, [x], fast_mode=fast)
        np.testing.assert_array_equal(seen[0], x.numpy())
        for s in seen[1:]:              # every evaluation is at x ± eps in one place (or direction)
            assert np.max(np.abs(s - x.numpy())) <= 4e-6
    np.testing.assert_array_equal(x.numpy(), [0.3, -1.2, 0.7, 2.0])


def test_a_correct_op_with_several_outputs_passes_and_a_wrong_second_output_is_caught():
    class TwoOut(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * x

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return 2 * g1 + 2 * x * g2

    class TwoOutWrong(TwoOut):
        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return 2 * g1 + 3 * x * g2
    for fast in (False, True):
        assert tg.gradcheck(TwoOut.apply, [x4()], fast_mode=fast)
        assert not tg.gradcheck(TwoOutWrong.apply, [x4()], fast_mode=fast, raise_exception=False)


def test_a_0d_output_and_the_exact_messages():
    assert tg.gradcheck(lambda a: (a * a).sum(), [x4()])
    assert tg.gradcheck(lambda a: (a * a).sum(), [x4()], fast_mode=True)
    with pytest.raises(ValueError, match=r"^gradcheck: fn's outputs do not depend on any input that requires grad$"):
        tg.gradcheck(lambda a: tg.tensor([1.0]), [x4()])
    with pytest.raises(tg.GradcheckError, match=r"rerun with fast_mode=False to find the index$"):
        tg.gradcheck(scaled_by(3.0, 0.5), [x4()], fast_mode=True)


def test_zero_tolerance_accepts_an_exact_match():
    """|backprop − numerical| ≤ atol + rtol·|numerical| includes equality: with both tolerances 0, a gradient
    that is exactly right (here 0 = 0) passes."""
    assert tg.gradcheck(lambda a: a * 0.0, [x4()], atol=0.0, rtol=0.0)


class _SquareWithFlatSecondDerivative(tg.Function):
    """x² whose create_graph backward treats x as a constant: the first derivative 2x is right, the second
    (0 instead of 2) is wrong — what a user's Function gets wrong when it detaches inside backward_graph."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x

    @staticmethod
    def backward_graph(ctx, grad):
        return grad * (2 * ctx.parents[0].detach())


def test_gradgradcheck_raises_on_a_wrong_second_derivative_unless_told_not_to():
    x = tg.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    assert tg.gradcheck(_SquareWithFlatSecondDerivative.apply, [x])          # the first order is right
    with pytest.raises(tg.GradcheckError, match="gradcheck: input 0"):
        tg.gradgradcheck(_SquareWithFlatSecondDerivative.apply, [x])
    assert tg.gradgradcheck(_SquareWithFlatSecondDerivative.apply, [x], raise_exception=False) is False
    assert tg.gradgradcheck(lambda t: t * t, [x])                              # the composed x·x is right


def test_gradgradcheck_with_an_input_the_output_does_not_use():
    """PyTorch: an input the function ignores has zero first and second derivatives; the check passes (and
    still catches a wrong second derivative of the input that is used)."""
    x = tg.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True)
    unused = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert tg.gradgradcheck(lambda a, b: (a ** 3).sum(), [x, unused])
    with pytest.raises(tg.GradcheckError):
        tg.gradgradcheck(lambda a, b: _SquareWithFlatSecondDerivative.apply(a).sum(), [x, unused])
