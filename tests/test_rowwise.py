"""ops/rowwise.py: the BLAS sums and the column-loop row max behind Linear and cross-entropy.

Oracle: NumPy's own reductions in float64 (exact enough to judge a float32 sum), and `np.max`, which
the row max must equal exactly (a max does no arithmetic, so its order cannot change its value).
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinygrad_np.ops import rowwise

shapes = st.tuples(st.integers(0, 700), st.integers(1, 20))
dtypes = st.sampled_from([np.float32, np.float64, np.float16, np.int64])


def _array(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, shape).astype(dtype)
    return (rng.standard_normal(shape) * 10).astype(dtype)


def _tolerance(a, axis):
    """A sum of n float terms in any order is within n·eps·Σ|a| of the exact one (the standard bound)."""
    if a.dtype.kind == "i":
        return 0
    return a.shape[axis] * np.finfo(a.dtype).eps * np.abs(a.astype(np.float64)).sum(axis=axis)


@given(shapes, dtypes, st.integers(0, 2**32 - 1))
def test_sums_over_either_axis_match_the_float64_sum(shape, dtype, seed):
    a = _array(shape, dtype, seed)
    for axis, fn in ((0, rowwise.sum_rows), (1, rowwise.sum_columns)):
        got = fn(a)
        assert got.dtype == a.dtype and got.shape == (a.shape[1 - axis],)
        exact = a.astype(np.float64).sum(axis=axis)
        assert np.all(np.abs(got.astype(np.float64) - exact) <= _tolerance(a, axis) + 1e-300)


@given(shapes, st.sampled_from([np.float32, np.float64]), st.integers(0, 2**32 - 1))
def test_row_max_equals_np_max_exactly_and_writes_into_out(shape, dtype, seed):
    a = _array(shape, dtype, seed)
    out = np.full((a.shape[0], 1), 7.0, dtype)
    got = rowwise.row_max(a, out=out)
    assert got is out
    np.testing.assert_array_equal(out, a.max(axis=1, keepdims=True))


@pytest.mark.filterwarnings("ignore:invalid value encountered")    # inf + -inf: NumPy's own sums warn too
@pytest.mark.parametrize("shape", [(600, 10), (8, 10)])      # the column loop, and maximum.reduce
def test_nan_and_inf_propagate_as_in_numpys_reductions(shape):
    a = _array(shape, np.float32, 0)
    a[3, 4], a[5, 0], a[5, 1] = np.nan, np.inf, -np.inf
    assert rowwise.max_by_columns(a.shape) == (shape[0] >= 512)
    np.testing.assert_array_equal(rowwise.row_max(a), a.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(np.isnan(rowwise.sum_columns(a)), np.isnan(a.sum(axis=1)))
    np.testing.assert_array_equal(np.isnan(rowwise.sum_rows(a)), np.isnan(a.sum(axis=0)))


def test_blas_only_for_float32_and_float64_and_the_ones_are_cached_read_only():
    assert rowwise.uses_blas(np.zeros((3, 2), np.float32)) and rowwise.uses_blas(np.zeros((3, 2)))
    assert not rowwise.uses_blas(np.zeros((3, 2), np.float16))
    assert not rowwise.uses_blas(np.zeros((3, 2), np.int32))
    v = rowwise.ones(5, np.float32)
    assert v is rowwise.ones(5, np.float32) and not v.flags.writeable and v.sum() == 5
    with pytest.raises(ValueError):
        rowwise.row_max(np.zeros((3, 0), np.float32))        # an empty row has no max, as NumPy says
