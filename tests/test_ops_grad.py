"""Arithmetic, elementwise and reduction ops of DESIGN.md (movement, indexing and joining are in
test_core_movement_grad.py): forward against NumPy and backprop against float64 central differences
with random upstream gradients, on hypothesis-drawn shapes (0-d, size-1 axes, rank differences) and
inputs kept away from kinks and ties. Each test is built by `tinygrad_np.testing.gradient_test`, which
also checks that float32 inputs give float32 outputs and gradients. Tolerances: the defaults stated
in tinygrad_np/testing.py (GRAD_ATOL, GRAD_RTOL; forward 1e-12).
"""
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_np as tg
from tinygrad_np.testing import (arrays, assert_grad_close, broadcastable_shapes, dims, distinct_arrays,
                                 gradient_test, positive_arrays, shapes)


# ---- helpers: kwargs strategies and NumPy references --------------------------------------------------
def _ax(a, dim):
    """NumPy has no axis 0 on a 0-d array; PyTorch (and we) accept dim 0 / -1 there."""
    return None if np.ndim(a) == 0 else dim


def _nonzero(shape):               # divisors, bases of negative powers: |y| >= 0.5
    return arrays(shape, away_from=(0.0,), margin=0.5)


def _away_from_zero(shape):        # relu, abs, leaky_relu: the kink at 0
    return arrays(shape, away_from=(0.0,))


def _reduce_kwargs(shps, allow_none=True, allow_tuple=True):
    return st.fixed_dictionaries({"dim": dims(len(shps[0]), allow_none, allow_tuple), "keepdim": st.booleans()})


def _one_dim(shps):
    return dims(len(shps[0]), allow_none=False, allow_tuple=False).map(lambda d: {"dim": d})


def _constant_like(shps):
    """An ndarray constant whose shape broadcasts with the tensor's (for reflected forms)."""
    return (hnp.broadcastable_shapes(shps[0], min_dims=0, max_dims=3, max_side=4)
            .flatmap(lambda s: arrays(s, away_from=(0.0,), margin=0.5)).map(lambda c: {"c": c}))


def _reduced_count(shape, dim):
    if dim is None or not shape:
        return int(np.prod(shape))
    ds = {d % len(shape) for d in ((dim,) if isinstance(dim, int) else dim)}
    return int(np.prod([shape[d] for d in ds]))


def _var_kwargs(shps):
    def with_correction(kw):
        n = _reduced_count(shps[0], kw["dim"])
        return st.integers(0, min(2, n - 1)).map(lambda c: {**kw, "correction": c})   # n - correction > 0
    return _reduce_kwargs(shps).flatmap(with_correction)


# ---- arithmetic ---------------------------------------------------------------------------------------
test_add = gradient_test(lambda x, y: x + y, np.add, shapes=broadcastable_shapes())
test_sub = gradient_test(lambda x, y: x - y, np.subtract, num_arrays=2)
test_mul = gradient_test(lambda x, y: x * y, np.multiply, num_arrays=2)
test_div = gradient_test(lambda x, y: x / y, np.divide, num_arrays=2, inputs=[arrays, _nonzero])
test_pow = gradient_test(lambda x, y: x ** y, np.power, num_arrays=2,
                         inputs=[positive_arrays, lambda s: arrays(s, low=-2, high=2)])
test_neg = gradient_test(lambda x: -x, np.negative)
test_method_forms = gradient_test(lambda x, y: x.add(y).mul(y).sub(x).div(y * y + 1).pow(2), 
                                  lambda a, b: ((a + b) * b - a) ** 2 / (b * b + 1) ** 2, num_arrays=2,
                                  forward_rtol=1e-10)

# Python scalars on either side (a scalar never promotes float32: the float32 check covers it)
test_add_scalar = gradient_test(lambda x: x + 2.5, lambda a: a + 2.5)
test_radd_scalar = gradient_test(lambda x: 2.5 + x, lambda a: 2.5 + a)
test_rsub_scalar = gradient_test(lambda x: 2.5 - x, lambda a: 2.5 - a)
test_sub_int = gradient_test(lambda x: x - 3, lambda a: a - 3)
test_rmul_scalar = gradient_test(lambda x: -1.5 * x, lambda a: -1.5 * a)
test_div_scalar = gradient_test(lambda x: x / 4.0, lambda a: a / 4.0)
test_rdiv_scalar = gradient_test(lambda x: 2.5 / x, lambda a: 2.5 / a, inputs=_nonzero)
test_pow_int = gradient_test(lambda x: x ** 3, lambda a: a ** 3)
test_pow_float = gradient_test(lambda x: x ** 2.5, lambda a: a ** 2.5, inputs=positive_arrays)
test_pow_negative = gradient_test(lambda x: x ** -1.5, lambda a: a ** -1.5, inputs=positive_arrays)
test_rpow_scalar = gradient_test(lambda x: 2.0 ** x, lambda a: 2.0 ** a)
test_np_float64_scalar = gradient_test(lambda x: x * np.float64(1.5), lambda a: a * 1.5, check_float32=False)

# ndarray constants on either side (`ndarray OP Tensor` reaches Tensor.__rOP__); float64 constants
# promote float32 tensors (NumPy rules), so the float32 check does not apply here
_const = dict(kwargs=_constant_like, check_float32=False)
test_add_ndarray = gradient_test(lambda x, c: x + c, lambda a, c: a + c, **_const)
test_radd_ndarray = gradient_test(lambda x, c: c + x, lambda a, c: c + a, **_const)
test_rsub_ndarray = gradient_test(lambda x, c: c - x, lambda a, c: c - a, **_const)
test_rmul_ndarray = gradient_test(lambda x, c: c * x, lambda a, c: c * a, **_const)
test_div_ndarray = gradient_test(lambda x, c: x / c, lambda a, c: a / c, **_const)
test_rdiv_ndarray = gradient_test(lambda x, c: c / x, lambda a, c: c / a, inputs=_nonzero, **_const)
test_rpow_ndarray = gradient_test(lambda x, c: np.abs(c) ** x, lambda a, c: np.abs(c) ** a, **_const)

# matmul: 1-D operands, matrices and broadcast batches, all from NumPy's gufunc signature
_matmul_shapes = hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3)
test_matmul = gradient_test(lambda x, y: x @ y, np.matmul, shapes=_matmul_shapes.map(lambda r: r.input_shapes))
test_matmul_method = gradient_test(lambda x, y: x.matmul(y), np.matmul,
                                   shapes=_matmul_shapes.map(lambda r: r.input_shapes))
test_rmatmul_ndarray = gradient_test(
    lambda y, c: c @ y, lambda b, c: c @ b, shapes=st.just(((3, 2),)), check_float32=False,
    kwargs=lambda shps: arrays((2, 3)).map(lambda c: {"c": c}))


@pytest.mark.parametrize("sx, sy", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (4, 3, 2)),
                                    ((4, 2, 3), (3,)), ((2, 1, 2, 3), (4, 3, 2)), ((1, 3), (3, 1))])
def test_matmul_shapes(sx, sy):
    """Every rank combination, every run (hypothesis may not draw each one under the CI profile)."""
    rng = np.random.default_rng(0)
    assert_grad_close(lambda x, y: x @ y, rng.standard_normal(sx), rng.standard_normal(sy), reference=np.matmul)


# ---- elementwise --------------------------------------------------------------------------------------
test_exp = gradient_test(lambda x: x.exp(), np.exp)
test_log = gradient_test(lambda x: x.log(), np.log, inputs=positive_arrays)
test_sqrt = gradient_test(lambda x: x.sqrt(), np.sqrt, inputs=positive_arrays)
test_abs = gradient_test(lambda x: x.abs(), np.abs, inputs=_away_from_zero)
test_tanh = gradient_test(lambda x: x.tanh(), np.tanh)
test_sigmoid = gradient_test(lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a)),
                             inputs=lambda s: arrays(s, low=-10, high=10))
test_relu = gradient_test(lambda x: x.relu(), lambda a: np.maximum(a, 0), inputs=_away_from_zero)
test_leaky_relu_default = gradient_test(lambda x: x.leaky_relu(), lambda a: np.where(a > 0, a, 0.01 * a),
                                        inputs=_away_from_zero)
test_leaky_relu = gradient_test(lambda x, negative_slope: x.leaky_relu(negative_slope),
                                lambda a, negative_slope: np.where(a > 0, a, negative_slope * a),
                                inputs=_away_from_zero,
                                kwargs=lambda s: st.sampled_from([0.0, 0.2, 1.5]).map(lambda v: {"negative_slope": v}))
_bounds = st.sampled_from([{"min": -1.0, "max": 0.5}, {"min": -1.0}, {"max": 0.5}, {"min": -1, "max": 1}])
test_clamp = gradient_test(lambda x, **kw: x.clamp(**kw), lambda a, **kw: np.clip(a, kw.get("min"), kw.get("max")),
                           inputs=lambda s: arrays(s, away_from=(-1.0, 0.5, 1.0)), kwargs=lambda s: _bounds)
test_clip_alias = gradient_test(lambda x: x.clip(-1.0, 0.5), lambda a: np.clip(a, -1.0, 0.5),
                                inputs=lambda s: arrays(s, away_from=(-1.0, 0.5)))


# ---- reductions ---------------------------------------------------------------------------------------
test_sum = gradient_test(lambda x, dim, keepdim: x.sum(dim, keepdim=keepdim),
                         lambda a, dim, keepdim: np.sum(a, axis=_ax(a, dim), keepdims=keepdim), kwargs=_reduce_kwargs)
test_mean = gradient_test(lambda x, dim, keepdim: x.mean(dim=dim, keepdim=keepdim),
                          lambda a, dim, keepdim: np.mean(a, axis=_ax(a, dim), keepdims=keepdim), kwargs=_reduce_kwargs)
test_var = gradient_test(lambda x, dim, keepdim, correction: x.var(dim, keepdim=keepdim, correction=correction),
                         lambda a, dim, keepdim, correction: np.var(a, axis=_ax(a, dim), keepdims=keepdim,
                                                                    ddof=correction),
                         kwargs=_var_kwargs, forward_rtol=1e-10)
test_var_default = gradient_test(lambda x: x.var(), lambda a: np.var(a, ddof=1),
                                 shapes=shapes(min_dims=1).filter(lambda s: np.prod(s) > 1).map(lambda s: (s,)),
                                 forward_rtol=1e-10)
# std = sqrt(var): distinct elements keep var away from 0, where sqrt has its kink
test_std = gradient_test(lambda x: x.std(0), lambda a: np.std(a, axis=0, ddof=1), inputs=distinct_arrays,
                         shapes=shapes(min_dims=1).filter(lambda s: s[0] > 1).map(lambda s: (s,)), forward_rtol=1e-10)


def _max_ref(fn, argfn):
    def ref(a, dim, keepdim):
        if a.ndim == 0:
            return a, np.array(0)
        return fn(a, axis=dim, keepdims=keepdim), argfn(a, axis=dim, keepdims=keepdim)
    return ref


_dim_keep = lambda shps: _reduce_kwargs(shps, allow_none=False, allow_tuple=False)   # noqa: E731
test_max = gradient_test(lambda x: x.max(), np.max, inputs=distinct_arrays)
test_min = gradient_test(lambda x: x.min(), np.min, inputs=distinct_arrays)
test_max_dim = gradient_test(lambda x, dim, keepdim: tuple(x.max(dim, keepdim=keepdim)), _max_ref(np.max, np.argmax),
                             inputs=distinct_arrays, kwargs=_dim_keep)
test_min_dim = gradient_test(lambda x, dim, keepdim: tuple(x.min(dim, keepdim)), _max_ref(np.min, np.argmin),
                             inputs=distinct_arrays, kwargs=_dim_keep)
test_amax = gradient_test(lambda x, dim, keepdim: x.amax(dim, keepdim),
                          lambda a, dim, keepdim: np.amax(a, axis=_ax(a, dim), keepdims=keepdim),
                          inputs=distinct_arrays, kwargs=_reduce_kwargs)
test_amin = gradient_test(lambda x, dim, keepdim: x.amin(dim=dim, keepdim=keepdim),
                          lambda a, dim, keepdim: np.amin(a, axis=_ax(a, dim), keepdims=keepdim),
                          inputs=distinct_arrays, kwargs=_reduce_kwargs)


def _softmax_ref(a, dim):
    e = np.exp(a)
    return e / np.sum(e, axis=_ax(a, dim), keepdims=True)


test_softmax = gradient_test(lambda x, dim: x.softmax(dim), _softmax_ref, kwargs=_one_dim, forward_rtol=1e-10)
test_log_softmax = gradient_test(lambda x, dim: x.log_softmax(dim=dim), lambda a, dim: np.log(_softmax_ref(a, dim)),
                                 kwargs=_one_dim, forward_rtol=1e-10, forward_atol=1e-10)
test_logsumexp = gradient_test(
    lambda x, dim, keepdim: x.logsumexp(dim, keepdim),
    lambda a, dim, keepdim: np.log(np.sum(np.exp(a), axis=_ax(a, dim), keepdims=keepdim)),
    kwargs=lambda shps: _reduce_kwargs(shps, allow_none=False), forward_rtol=1e-10, forward_atol=1e-10)


# ---- numerics the FD tests cannot see ------------------------------------------------------------------
# underflow to 0 is the right answer for e^-|x|; overflow, invalid (nan) and divide-by-zero are bugs
_strict = dict(over="raise", invalid="raise", divide="raise", under="ignore")

def test_sigmoid_no_overflow_for_huge_inputs():
    x = tg.tensor(np.array([-1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4]), requires_grad=True)
    with np.errstate(**_strict):
        y = x.sigmoid()
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0, 0, 1 / (1 + np.exp(50.0)), 0.5, 1 / (1 + np.exp(-50.0)), 1, 1],
                               rtol=1e-15, atol=0)
    assert np.all(np.isfinite(x.grad.numpy())) and x.grad.numpy()[3] == 0.25


def test_sigmoid_float32_no_overflow():
    x = tg.tensor(np.array([-1e4, 1e4, -100.0], np.float32))
    with np.errstate(**_strict):
        y = x.sigmoid()
    assert y.dtype == np.float32 and y.tolist() == [0.0, 1.0, pytest.approx(np.exp(-100.0), rel=1e-5)]


def test_log_softmax_and_logsumexp_stable_for_large_inputs():
    a = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -1002.0]])
    x = tg.tensor(a, requires_grad=True)
    with np.errstate(**_strict):
        ls, lse, sm = x.log_softmax(1), x.logsumexp(1), x.softmax(1)
    shifted = a - a.max(1, keepdims=True)
    expected_ls = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    np.testing.assert_allclose(ls.numpy(), expected_ls, rtol=1e-13)
    np.testing.assert_allclose(lse.numpy(), a.max(1) + np.log(np.exp(shifted).sum(1)), rtol=1e-13)
    np.testing.assert_allclose(sm.numpy(), np.exp(expected_ls), rtol=1e-13)
    assert_grad_close(lambda t: t.log_softmax(1), a)
    assert_grad_close(lambda t: t.logsumexp(1), a)


def test_logsumexp_of_all_minus_inf_row_is_minus_inf_not_nan():
    with np.errstate(invalid="raise", divide="ignore"):     # log(0) = -inf is the answer here
        out = tg.tensor(np.array([[-np.inf, -np.inf], [0.0, 0.0]])).logsumexp(1)
    assert out.numpy()[0] == -np.inf and out.numpy()[1] == pytest.approx(np.log(2))


def test_relu_abs_leaky_clamp_at_their_kinks():
    """Subgradients at the kink, as in PyTorch: relu'(0)=0, abs'(0)=0, leaky'(0)=slope, clamp passes at bounds."""
    for fn, expected in [(lambda t: t.relu(), [0.0, 0.0, 1.0]), (lambda t: t.abs(), [-1.0, 0.0, 1.0]),
                         (lambda t: t.leaky_relu(0.1), [0.1, 0.1, 1.0]),
                         (lambda t: t.clamp(-1.0, 1.0), [1.0, 1.0, 1.0]),
                         (lambda t: t.clamp(min=0.0), [0.0, 1.0, 1.0])]:
        x = tg.tensor(np.array([-1.0, 0.0, 1.0]), requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.tolist() == expected


def test_amax_and_max_share_ties_equally_max_dim_picks_one():
    x = tg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.amax(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-7)
    x.grad = None
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    values, indices = x.max(1)
    values.sum().backward()
    assert indices.tolist() == [1, 0] and x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]


def test_repeated_indices_accumulate():
    x = tg.tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    y = tg.tensor(np.zeros((2, 3)), requires_grad=True)
    y[tg.tensor([1, 1]), tg.tensor([2, 2])].backward(np.array([1.5, 2.0]))
    assert y.grad.tolist() == [[0, 0, 0], [0, 0, 3.5]]
    z = tg.tensor(np.zeros(4), requires_grad=True)
    z[[3, 3]].sum().backward()                       # a Python list index too
    assert z.grad.tolist() == [0, 0, 0, 2]


def test_getitem_negative_step_none_ellipsis_exact():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = tg.tensor(a, requires_grad=True)
    y = x[None, ..., ::-2]
    assert y.shape == (1, 2, 3, 2)
    np.testing.assert_array_equal(y.numpy(), a[None, ..., ::-2])
    y.sum().backward()
    expected = np.zeros_like(a)
    expected[..., 3] = expected[..., 1] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
