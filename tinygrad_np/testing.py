"""Property-testing toolkit for ops: hypothesis strategies, `assert_grad_close` and (second order)
`assert_gradgrad_close`.

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

from .gradcheck import gradcheck, gradgradcheck
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
        if len(outs) != len(expected):
            raise AssertionError(f"fn returned {len(outs)} outputs, the reference {len(expected)}")
        for o, e in zip(outs, expected):
            if np.shape(o._data) != np.shape(e):     # first: assert_allclose would broadcast a scalar
                raise AssertionError(f"forward shape {o._data.shape} differs from the reference's {np.shape(e)}")
            np.testing.assert_allclose(o._data, e, rtol=forward_rtol, atol=forward_atol,
                                       err_msg="forward value differs from the NumPy reference")
    try:
        gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    except Exception as e:
        raise AssertionError(str(e)) from e


def assert_gradgrad_close(fn: Callable[..., Tensor], *arrays: Any, eps: float = EPS, atol: float = GRAD_ATOL,
                          rtol: float = GRAD_RTOL, fast_mode: bool = False) -> None:
    """Assert that `fn`'s second derivatives match central differences of its first ones (float64,
    random upstream gradients): `tg.gradgradcheck` with the project's tolerances, as an assertion.
    Float arrays become float64 Tensors with requires_grad=True; other arguments pass unchanged."""
    inputs = [Tensor(np.asarray(a, np.float64), requires_grad=True)
              if isinstance(a, (np.ndarray, float)) and np.asarray(a).dtype.kind == "f" else a for a in arrays]
    try:
        gradgradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    except Exception as e:
        raise AssertionError(f"second derivatives: {e}") from e


def dims(ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> st.SearchStrategy:
    """A `dim` argument for a tensor with `ndim` dimensions: None (all), an int (negative ones too), or a
    non-empty tuple of distinct dims. A 0-d tensor accepts 0 and -1, as in PyTorch."""
    one = st.integers(-max(ndim, 1), max(ndim, 1) - 1)
    options = [one]
    if allow_none:
        options.append(st.none())
    if allow_tuple:
        options.append(st.lists(one, min_size=1, max_size=max(ndim, 1), unique_by=lambda d: d % max(ndim, 1))
                       .map(tuple))
    return st.one_of(*options)


def gradient_test(op: Callable[..., Any], reference: Optional[Callable[..., Any]] = None, *,
                  num_arrays: int = 1, shapes: Optional[st.SearchStrategy] = None, inputs: Any = None,
                  kwargs: Any = None, atol: float = GRAD_ATOL, rtol: float = GRAD_RTOL, fast_mode: bool = False,
                  check_float32: bool = True, forward_rtol: float = 1e-12,
                  forward_atol: float = 1e-12) -> Callable[[], None]:
    """Build a whole hypothesis test of an op from (op, NumPy reference, shape strategy)::

        test_softplus = gradient_test(lambda t: Softplus.apply(t), lambda a: np.logaddexp(0, a))
        test_mul = gradient_test(lambda x, y: x * y, np.multiply, num_arrays=2)   # broadcast pairs

    Each example draws a tuple of shapes (`shapes`; by default one shape, or `num_arrays` mutually
    broadcastable ones incl. 0-d, size-1 axes and rank differences), one array per shape from `inputs`
    (a `shape -> strategy` callable like `arrays`/`positive_arrays`, or one per array), and keyword
    arguments from `kwargs` (a dict, or a `shapes -> strategy of dicts` callable). It then checks
    `op(*tensors, **kw)` against `reference(*arrays, **kw)` and central differences (`assert_grad_close`)
    and, with `check_float32`, that float32 inputs give float32 outputs and gradients.
    """
    from hypothesis import given

    if shapes is None:
        if num_arrays == 1:
            shapes = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4).map(lambda s: (s,))
        elif num_arrays == 2:
            shapes = broadcastable_shapes()
        else:
            shapes = hnp.mutually_broadcastable_shapes(num_shapes=num_arrays, min_dims=0, max_dims=3,
                                                       max_side=4).map(lambda r: r.input_shapes)

    @st.composite
    def cases(draw: Any) -> tuple:
        shps = draw(shapes)
        makers = inputs if isinstance(inputs, (list, tuple)) else [inputs or arrays] * len(shps)
        if len(makers) != len(shps):
            raise ValueError(f"gradient_test: {len(makers)} input strategies for {len(shps)} shapes")
        arrs = tuple(draw(make(s)) for make, s in zip(makers, shps))
        kw = draw(kwargs(shps)) if callable(kwargs) else dict(kwargs or {})
        return arrs, kw

    @given(cases())
    def test(case: tuple) -> None:
        arrs, kw = case
        assert_grad_close(lambda *ts: op(*ts, **kw), *arrs,
                          reference=None if reference is None else (lambda *a: reference(*a, **kw)),
                          atol=atol, rtol=rtol, fast_mode=fast_mode,
                          forward_rtol=forward_rtol, forward_atol=forward_atol)
        if check_float32:
            _assert_float32(lambda *ts: op(*ts, **kw), arrs)
    return test


def _assert_float32(fn: Callable[..., Any], arrs: tuple) -> None:
    ins = [Tensor(np.asarray(a, np.float32), requires_grad=True)
           if isinstance(a, (np.ndarray, np.generic)) and a.dtype.kind == "f" else a for a in arrs]
    out = fn(*ins)
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o.dtype.kind == "f"]
    for o in outs:
        if o.dtype != np.float32:
            raise AssertionError(f"float32 inputs gave a {o.dtype} output")
    first = next((o for o in outs if o.requires_grad), None)
    if first is not None:
        first.backward(np.ones(first.shape, np.float32))
        for t in ins:
            if isinstance(t, Tensor) and t.grad is not None and t.grad.dtype != np.float32:
                raise AssertionError(f"float32 input got a {t.grad.dtype} gradient")


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
                    max_stride: int = 3, max_dilation: int = 1) -> st.SearchStrategy:
    """Dicts (N, C, H, W, kernel, stride, padding, dilation, ceil_mode) for pooling with a non-empty
    output. Padding is at most half the (dilated) kernel, PyTorch's rule; stride may be smaller than
    the kernel (overlapping windows). About a third of the draws are tilings (stride == kernel, no
    padding or dilation), the reshape fast path of the pools. Pass
    `max_dilation` > 1 only for max pooling (avg_pool2d has no dilation)."""
    @st.composite
    def build(draw: Any) -> dict:
        kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
        if draw(st.integers(0, 2)) == 0:
            stride, padding, dilation = (kh, kw), (0, 0), (1, 1)
        else:
            stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
            dilation = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
            span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
            padding = (draw(st.integers(0, span[0] // 2)), draw(st.integers(0, span[1] // 2)))
        span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
        h = draw(st.integers(max(1, span[0] - 2 * padding[0]), max(span[0], max_size)))
        w = draw(st.integers(max(1, span[1] - 2 * padding[1]), max(span[1], max_size)))
        return dict(N=draw(st.integers(1, max_batch)), C=draw(st.integers(1, max_channels)), H=h, W=w,
                    kernel=(kh, kw), stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=draw(st.booleans()))
    return build()
