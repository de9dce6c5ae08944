"""The common unary math (sin cos tan asin acos atan sinh cosh log1p expm1 log2 log10 square rsqrt
reciprocal; sign floor ceil round trunc): float64 central-difference property tests through
tinygrad_np.testing.gradient_test (tolerances: the defaults stated in tinygrad_np/testing.py), and parity with
PyTorch for values and gradients in float32 and float64."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.testing import arrays, gradient_test, positive_arrays


def _inside(low, high):
    return lambda shape: arrays(shape, low=low, high=high)


test_sin = gradient_test(lambda x: x.sin(), np.sin)
test_cos = gradient_test(lambda x: x.cos(), np.cos)
test_tan = gradient_test(lambda x: x.tan(), np.tan, inputs=_inside(-1.2, 1.2))
test_asin = gradient_test(lambda x: x.asin(), np.arcsin, inputs=_inside(-0.9, 0.9))
test_acos = gradient_test(lambda x: x.acos(), np.arccos, inputs=_inside(-0.9, 0.9))
test_atan = gradient_test(lambda x: x.atan(), np.arctan)
test_sinh = gradient_test(lambda x: x.sinh(), np.sinh)
test_cosh = gradient_test(lambda x: x.cosh(), np.cosh)
test_log1p = gradient_test(lambda x: x.log1p(), np.log1p, inputs=_inside(-0.9, 3.0))
test_expm1 = gradient_test(lambda x: x.expm1(), np.expm1)
test_log2 = gradient_test(lambda x: x.log2(), np.log2, inputs=positive_arrays)
test_log10 = gradient_test(lambda x: x.log10(), np.log10, inputs=positive_arrays)
test_square = gradient_test(lambda x: x.square(), np.square)
test_rsqrt = gradient_test(lambda x: x.rsqrt(), lambda a: 1 / np.sqrt(a), inputs=positive_arrays)
test_reciprocal = gradient_test(lambda x: x.reciprocal(), lambda a: 1 / a, inputs=positive_arrays)
# piecewise constant: inputs kept 1e-2 away from the jumps, so central differences see a zero slope
_off_integers = lambda shape: arrays(shape, away_from=[-3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 2.5, 3])
test_sign = gradient_test(lambda x: x.sign(), np.sign, inputs=_off_integers)
test_floor = gradient_test(lambda x: x.floor(), np.floor, inputs=_off_integers)
test_ceil = gradient_test(lambda x: x.ceil(), np.ceil, inputs=_off_integers)
test_round = gradient_test(lambda x: x.round(), np.round, inputs=_off_integers)
test_trunc = gradient_test(lambda x: x.trunc(), np.trunc, inputs=_off_integers)
test_function_forms = gradient_test(lambda x: tg.sin(x) * tg.exp(x) + tg.sum(tg.cos(x)), 
                                    lambda a: np.sin(a) * np.exp(a) + np.cos(a).sum(), forward_rtol=1e-10)

OPS = {"sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9),
       "atan": (-3, 3), "sinh": (-3, 3), "cosh": (-3, 3), "log1p": (-0.9, 3), "expm1": (-3, 3),
       "log2": (0.1, 4), "log10": (0.1, 4), "square": (-3, 3), "rsqrt": (0.1, 4), "reciprocal": (0.1, 4),
       "sign": (-3, 3), "floor": (-3, 3), "ceil": (-3, 3), "round": (-3, 3), "trunc": (-3, 3)}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_pytorch(name, dtype):
    torch = pytest.importorskip("torch")
    lo, hi = OPS[name]
    rng = np.random.default_rng(0)
    x0 = rng.uniform(lo, hi, (3, 4)).astype(dtype)
    up = rng.standard_normal((3, 4)).astype(dtype)
    x = tg.tensor(x0, requires_grad=True)
    y = getattr(tg, name)(x)
    y.backward(up)
    tx = torch.tensor(x0, requires_grad=True)
    ty = getattr(torch, name)(tx)
    ty.backward(torch.from_numpy(up))
    # float32: a few ulps of libm differences between NumPy and PyTorch; float64: a few ulps too
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert y.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=rtol)
