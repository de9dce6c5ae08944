"""gradcheck explains its failures: each diagnosis is provoked by a deliberately wrong op (or input), and
each is checked to fire for that mistake only; correct ops pass with no message at all."""
import numpy as np
import pytest

import tinygrad_np as tg
from test_gradcheck import Cube
from tinygrad_np.gradcheck_explain import diagnose

rng = np.random.default_rng(11)


def _t(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, shape), requires_grad=True)


def _diagnosis(fn, inputs):
    with pytest.raises(tg.GradcheckError) as e:
        tg.gradcheck(fn, inputs)
    message = str(e.value)
    assert message.startswith("gradcheck: input ")                 # the old first line is still there
    return message.split("\n  diagnosis: ")[1] if "\n  diagnosis: " in message else None


class Square(tg.Function):
    factor = 2.0

    @classmethod
    def forward(cls, ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @classmethod
    def backward(cls, ctx, grad):
        return cls.factor * ctx.saved_tensors[0] * grad


class SquareLost2(Square):
    factor = 1.0                                          # forgot the 2 of d(x²)/dx


class SquareSignFlip(Square):
    factor = -2.0


class MeanNoDivide(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.mean()

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(grad, ctx.shape)           # forgot the 1/m


class MatVecTransposed(tg.Function):
    """y = W x with a square W; dW returned transposed (x gᵀ instead of g xᵀ)."""

    @staticmethod
    def forward(ctx, w, x):
        ctx.save_for_backward(w, x)
        return w @ x

    @staticmethod
    def backward(ctx, grad):
        w, x = ctx.saved_tensors
        return np.outer(x, grad), w.T @ grad


class BiasAddSlice(tg.ops.Add):
    """x (4, 3) + b (3,), but db takes one row of the gradient instead of summing the rows."""

    @staticmethod
    def backward(ctx, grad):
        return grad, grad[0]


class CubeIgnoresGrad(Cube):
    @staticmethod
    def backward(ctx, grad):
        return 3 * ctx.saved_tensors[0] ** 2              # forgot `* grad`


class NoisyBackward(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad + rng.standard_normal(grad.shape) * 1e-2


def test_constant_factor():
    why = _diagnosis(SquareLost2.apply, [_t(3, 2)])
    assert why.startswith("backprop is exactly 1/2 × the numerical gradient")


def test_missing_one_over_m():
    why = _diagnosis(MeanNoDivide.apply, [_t(2, 3)])
    assert why.startswith("backprop is exactly 6 × the numerical gradient") and "1/m" in why


def test_sign_flip():
    assert "sign flipped" in _diagnosis(SquareSignFlip.apply, [_t(3)])


def test_transposed_gradient():
    why = _diagnosis(MatVecTransposed.apply, [_t(3, 3), _t(3, seed=1)])
    assert why.startswith("backprop is the transpose")


def test_missing_sum_over_broadcast_axes():
    why = _diagnosis(BiasAddSlice.apply, [_t(4, 3), _t(3, seed=1)])
    assert "not summed over the axes it is broadcast along" in why and "1/4" in why


def test_kink():
    x = tg.tensor(np.array([0.5, 0.0, -0.7]), requires_grad=True)      # relu is correct; 0 is its kink
    why = _diagnosis(lambda t: t.relu(), [x])
    assert "index (1,) = 0 sits on a kink or tie" in why


def test_tie():
    x = tg.tensor(np.array([0.3, 0.9, 0.9]), requires_grad=True)      # two maxima: max(dim) picks the first
    assert "kink or tie" in _diagnosis(lambda t: t.max(dim=0).values, [x])


def test_float32_inside_fn():
    why = _diagnosis(lambda t: (t.float() * t.float()).sum(), [_t(3)])
    assert why.startswith("fn computes in float32")


def test_ignores_grad_output():
    assert "ignores grad_output" in _diagnosis(CubeIgnoresGrad.apply, [_t(3)])


def test_non_deterministic_backward():
    assert "not deterministic" in _diagnosis(NoisyBackward.apply, [_t(3)])


def test_unrecognised_mistake_gets_no_diagnosis():
    class OneElementWrong(Square):
        @classmethod
        def backward(cls, ctx, grad):
            g = 2 * ctx.saved_tensors[0] * grad
            g[0] += 1.0
            return g
    assert _diagnosis(OneElementWrong.apply, [_t(4)]) is None


@pytest.mark.parametrize("fn,shapes", [
    (Square.apply, [(3, 2)]), (lambda t: t.mean(), [(2, 3)]), (lambda w, x: w @ x, [(3, 3), (3,)]),
    (lambda x, b: x + b, [(4, 3), (3,)]), (lambda t: t ** 3, [(3,)]), (lambda t: t.relu(), [(3,)]),
    (lambda t: (t * t).sum(), [(3,)]),
])
def test_correct_ops_pass_without_any_message(fn, shapes):
    assert tg.gradcheck(fn, [_t(*s, seed=k) for k, s in enumerate(shapes)]) is True


def test_no_diagnosis_fires_on_a_correct_gradient():
    """Fed the true numbers of a correct op, the explainer stays silent (its tests use the check's
    tolerances, so a match within tolerance is no evidence of a mistake)."""
    from tinygrad_np.gradcheck import Case, backprop, central_differences, _objective
    xs = [_t(3, 3), _t(3, seed=1)]
    f = lambda w, x: (w @ x).tanh()                        # noqa: E731
    vs = [rng.standard_normal(3)]
    for i in (0, 1):
        a, n = backprop(f, xs, [0, 1], vs)[i], central_differences(f, xs, i, vs, 1e-6)
        case = Case(i, xs[i].numpy(), a, n, (0,) * a.ndim, 1e-6, 1e-5, 1e-3, [np.dtype(np.float64)], [3], vs,
                    backprop_with=lambda v, i=i: backprop(f, xs, [0, 1], v)[i],
                    numerical_with=lambda v, i=i: central_differences(f, xs, i, v, 1e-6),
                    objective=lambda: _objective(f, xs, vs))
        assert diagnose(case) is None
