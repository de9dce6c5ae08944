"""Property-testing toolkit for ops: hypothesis strategies and `assert_grad_close`.

A user checks their own `Function` the way the project checks its built-in ops::

    from hypothesis import given
    from tinygrad_np.testing import arrays, assert_grad_close

    @given(arrays(shape=(3, 4)))
    def test_softplus(x):
        assert_grad_close(lambda t: Softplus.apply(t), x, reference=lambda a: np.logaddexp(0, a))

Requires `hypothesis` (the `test` extra); importing this module without it raises a clear ImportError.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # pragma: no cover - exercised only without the test extra
    raise ImportError("tinygrad_np.testing needs hypothesis: pip install 'tinygrad_np[test]'") from e

from .gradcheck import gradcheck
from .tensor import Tensor

# Tolerances for float64 central differences with eps = 1e-6: the truncation error is O(eps² f''') ≈ 1e-12
# and the rounding error about 1e-16·|f|/eps ≈ 1e-10·|f|, so 1e-6 absolute + 1e-5 relative leaves two to
# four orders of margin for O(1) inputs, while a wrong formula (a missing factor, a transposed gradient)
# is off by O(1). These are the defaults of every gradient property test in the project.
GRAD_ATOL = 1e-6
GRAD_RTOL = 1e-5
EPS = 1e-6


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    """Array shapes, including 0-d and size-1 axes."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy:
    """Pairs of shapes that broadcast together: rank differences, size-1 axes and 0-d are all drawn."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims,
                                             max_side=max_side).map(lambda s: s.input_shapes)


def arrays(shape: Any = None, low: float = -3.0, high: float = 3.0, away_from: Sequence[float] = (),
           margin: float = 1e-2, dtype: Any = np.float64) -> st.SearchStrategy:
    """float64 arrays with finite elements in [low, high], kept `margin` away from each point in
    `away_from` (the kinks of the op under test: 0 for relu/abs, the bounds for clamp)."""
    shape_st = shapes() if shape is None else (shape if isinstance(shape, st.SearchStrategy) else st.just(shape))
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from:
        elements = elements.filter(lambda v: all(abs(v - k) > margin for k in away_from))
    return shape_st.flatmap(lambda s: hnp.arrays(dtype, s, elements=elements))


def positive_arrays(shape: Any = None, low: float = 0.1, high: float = 4.0) -> st.SearchStrategy:
    """Arrays in [low, high] > 0: domains of log, sqrt, the base of pow, divisors."""
    return arrays(shape, low=low, high=high)


def distinct_arrays(shape: Any = None, gap: float = 1e-2) -> st.SearchStrategy:
    """Arrays whose elements are pairwise at least `gap` apart: no ties for max/min/max-pool, so
    perturbing an element by eps never changes which element wins."""
    shape_st = shapes() if shape is None else (shape if isinstance(shape, st.SearchStrategy) else st.just(shape))

    def build(s: tuple) -> st.SearchStrategy:
        n = int(np.prod(s, dtype=np.int64))
        return st.permutations(range(n)).flatmap(
            lambda perm: hnp.arrays(np.float64, s, elements=st.floats(0, 0.4 * gap, width=64)).map(
                lambda jitter: (np.asarray(perm, np.float64).reshape(s) * gap + jitter) - n * gap / 2))
    return shape_st.flatmap(build)


def assert_grad_close(fn: Callable[..., Tensor], *arrays: Any, reference: Optional[Callable[..., Any]] = None,
                      eps: float = EPS, atol: float = GRAD_ATOL, rtol: float = GRAD_RTOL,
                      fast_mode: bool = False, forward_rtol: float = 1e-12, forward_atol: float = 1e-12) -> None:
    """Assert that `fn`'s backprop matches central differences (float64, random upstream gradients)
    and, when `reference` is given, that its forward values match the NumPy reference.

    Float arrays become float64 Tensors with requires_grad=True; other arguments pass unchanged.
    """
    inputs = [Tensor(np.asarray(a, np.float64), requires_grad=True)
              if isinstance(a, (np.ndarray, float)) and np.asarray(a).dtype.kind == "f" else a for a in arrays]
    if reference is not None:
        out = fn(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        expected = reference(*[np.asarray(a) if isinstance(a, np.ndarray) else a for a in arrays])
        expected = expected if isinstance(expected, tuple) else (expected,)
        for o, e in zip(outs, expected):
            np.testing.assert_allclose(o.data, e, rtol=forward_rtol, atol=forward_atol,
                                       err_msg="forward value differs from the NumPy reference")
            if np.shape(o.data) != np.shape(e):
                raise AssertionError(f"forward shape {o.data.shape} differs from the reference's {np.shape(e)}")
    try:
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    except Exception as e:
        raise AssertionError(str(e)) from e


def conv_geometries(max_batch: int = 2, max_channels: int = 3, max_size: int = 7, max_kernel: int = 3,
                    max_stride: int = 2, max_padding: int = 1, max_dilation: int = 2,
                    max_groups: int = 2) -> st.SearchStrategy:
    """Dicts (N, C_in, C_out, H, W, kernel=(kh, kw), stride, padding, dilation, groups) whose conv
    output is non-empty; C_in and C_out are multiples of groups."""
    @st.composite
    def build(draw: Any) -> dict:
        groups = draw(st.integers(1, max_groups))
        c_in = groups * draw(st.integers(1, max(1, max_channels // groups)))
        c_out = groups * draw(st.integers(1, max(1, max_channels // groups)))
        kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
        stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
        padding = (draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding)))
        dilation = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
        min_h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
        min_w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
        h = draw(st.integers(min_h, max(min_h, max_size)))
        w = draw(st.integers(min_w, max(min_w, max_size)))
        return dict(N=draw(st.integers(1, max_batch)), C_in=c_in, C_out=c_out, H=h, W=w, kernel=(kh, kw),
                    stride=stride, padding=padding, dilation=dilation, groups=groups)
    return build()


def pool_geometries(max_batch: int = 2, max_channels: int = 2, max_size: int = 7, max_kernel: int = 3,
                    max_stride: int = 3) -> st.SearchStrategy:
    """Dicts (N, C, H, W, kernel, stride, padding) for pooling with a non-empty output; padding is at
    most half the kernel (PyTorch's rule), stride may be smaller than the kernel (overlapping windows)."""
    @st.composite
    def build(draw: Any) -> dict:
        kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
        stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
        padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
        h = draw(st.integers(max(1, kh - 2 * padding[0]), max(kh, max_size)))
        w = draw(st.integers(max(1, kw - 2 * padding[1]), max(kw, max_size)))
        return dict(N=draw(st.integers(1, max_batch)), C=draw(st.integers(1, max_channels)), H=h, W=w,
                    kernel=(kh, kw), stride=stride, padding=padding)
    return build()
