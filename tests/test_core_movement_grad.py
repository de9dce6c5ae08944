"""Movement, indexing, joining and selection ops (and composites): forward against NumPy, backprop against
float64 central differences, via `tinygrad_np.testing.gradient_test` (see test_ops_grad.py for the policy)."""
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_np as tg
from tinygrad_np.testing import arrays, assert_grad_close, dims, gradient_test, shapes


def _bools(shape):
    return hnp.arrays(np.bool_, shape)


# ---- movement -----------------------------------------------------------------------------------------
@st.composite
def _reshape_target(draw, shape, allow_infer=True):
    target = [d for d in shape if d != 1] + [1] * draw(st.integers(0, 2))
    target = list(draw(st.permutations(target)))
    if target and allow_infer and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


def _reshape_ref(a, shape):
    return a.reshape(shape)


test_reshape = gradient_test(lambda x, shape: x.reshape(shape), _reshape_ref,
                             kwargs=lambda shps: _reshape_target(shps[0]).map(lambda t: {"shape": t}))
test_reshape_varargs = gradient_test(lambda x, shape: x.reshape(*shape), _reshape_ref,
                                     kwargs=lambda shps: _reshape_target(shps[0]).map(lambda t: {"shape": t}))
test_view = gradient_test(lambda x, shape: x.view(shape), _reshape_ref,
                          kwargs=lambda shps: _reshape_target(shps[0]).map(lambda t: {"shape": t}))


@st.composite
def _flatten_kwargs(draw, shps):
    nd = max(len(shps[0]), 1)
    start = draw(st.integers(-nd, nd - 1))
    end = draw(st.integers(start % nd, nd - 1))
    return {"start_dim": start, "end_dim": end - nd if draw(st.booleans()) else end}


def _flatten_ref(a, start_dim, end_dim):
    if a.ndim == 0:
        return a.reshape(1)
    s, e = start_dim % a.ndim, end_dim % a.ndim
    return a.reshape(a.shape[:s] + (-1,) + a.shape[e + 1:])


test_flatten = gradient_test(lambda x, **kw: x.flatten(**kw), _flatten_ref, kwargs=_flatten_kwargs)
test_flatten_default = gradient_test(lambda x: x.flatten(), lambda a: a.reshape(-1))


@st.composite
def _transpose_kwargs(draw, shps):
    nd = len(shps[0])
    return {"dim0": draw(st.integers(-nd, nd - 1)), "dim1": draw(st.integers(-nd, nd - 1))}


def _swap(a, dim0, dim1):
    return np.swapaxes(a, dim0, dim1)


_at_least_1d = shapes(min_dims=1).map(lambda s: (s,))
test_transpose = gradient_test(lambda x, dim0, dim1: x.transpose(dim0, dim1), _swap, shapes=_at_least_1d,
                               kwargs=_transpose_kwargs)


@st.composite
def _permute_kwargs(draw, shps):
    nd = len(shps[0])
    perm = draw(st.permutations(range(nd)))
    return {"dims": tuple(d - nd if draw(st.booleans()) else d for d in perm)}


test_permute = gradient_test(lambda x, dims: x.permute(dims), lambda a, dims: np.transpose(a, dims),
                             kwargs=_permute_kwargs)
test_permute_varargs = gradient_test(lambda x, dims: x.permute(*dims), lambda a, dims: np.transpose(a, dims),
                                     kwargs=_permute_kwargs)
test_T = gradient_test(lambda x: x.T, lambda a: a.T)
test_unsqueeze = gradient_test(lambda x, dim: x.unsqueeze(dim), lambda a, dim: np.expand_dims(a, dim),
                               kwargs=lambda shps: st.integers(-len(shps[0]) - 1, len(shps[0])).map(
                                   lambda d: {"dim": d}))


def _squeeze_ref(a, dim=None):
    if dim is None:
        return np.squeeze(a)
    if a.ndim == 0:
        return a
    return np.squeeze(a, dim) if a.shape[dim] == 1 else a          # PyTorch: no-op on a non-1 axis


test_squeeze = gradient_test(lambda x: x.squeeze(), _squeeze_ref,
                             shapes=shapes(max_side=2).map(lambda s: (s,)))
test_squeeze_dim = gradient_test(lambda x, dim: x.squeeze(dim), _squeeze_ref,
                                 shapes=shapes(max_side=2).map(lambda s: (s,)),
                                 kwargs=lambda shps: dims(len(shps[0]), False, False).map(lambda d: {"dim": d}))


@st.composite
def _expand_target(draw, shps):
    shape = shps[0]
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    own = tuple(draw(st.sampled_from([-1, 1, 2, 3])) if d == 1 else draw(st.sampled_from([-1, d])) for d in shape)
    return {"shape": lead + own}


def _expand_ref(a, shape):
    lead = len(shape) - a.ndim
    return np.broadcast_to(a, tuple(a.shape[i - lead] if s == -1 else s for i, s in enumerate(shape)))


test_expand = gradient_test(lambda x, shape: x.expand(shape), _expand_ref, kwargs=_expand_target)
test_expand_varargs = gradient_test(lambda x, shape: x.expand(*shape), _expand_ref,
                                    shapes=_at_least_1d, kwargs=_expand_target)


# ---- indexing -----------------------------------------------------------------------------------------
def _getitem(x, index):
    return x[index]


test_getitem_basic = gradient_test(      # ints, slices (negative steps), None, ...
    _getitem, _getitem,
    kwargs=lambda shps: hnp.basic_indices(shps[0], min_dims=0, allow_newaxis=True, allow_ellipsis=True).map(
        lambda i: {"index": i}))
_int_arrays = lambda shps: hnp.integer_array_indices(shps[0]).map(lambda i: {"index": i})   # noqa: E731
test_getitem_int_ndarrays = gradient_test(_getitem, _getitem, shapes=_at_least_1d, kwargs=_int_arrays)
test_getitem_int_tensors = gradient_test(lambda x, index: x[tuple(tg.tensor(i) for i in index)], _getitem,
                                         shapes=_at_least_1d, kwargs=_int_arrays)


@st.composite
def _mixed_index(draw, shps):
    """A slice (maybe reversed) on axis 0, repeated integer ndarray on axis 1, maybe a Tensor."""
    n0, n1 = shps[0][:2]
    rows = draw(st.sampled_from([slice(None), slice(None, None, -1), slice(1, None), slice(None, None, -2)]))
    cols = draw(hnp.arrays(np.int64, draw(st.integers(1, 5)), elements=st.integers(-n1, n1 - 1)))
    return {"index": (rows, cols), "as_tensor": draw(st.booleans())}


test_getitem_mixed = gradient_test(
    lambda x, index, as_tensor: x[index[0], tg.tensor(index[1]) if as_tensor else index[1]],
    lambda a, index, as_tensor: a[index], shapes=shapes(min_dims=2).map(lambda s: (s,)), kwargs=_mixed_index)
test_getitem_single_int_array = gradient_test(
    lambda x, index: x[index], _getitem, shapes=_at_least_1d,
    kwargs=lambda shps: hnp.arrays(np.int64, shapes(max_dims=2), elements=st.integers(-shps[0][0], shps[0][0] - 1)
                                   ).map(lambda i: {"index": i}))
test_getitem_bool_mask = gradient_test(
    lambda x, mask: x[tg.tensor(mask)], lambda a, mask: a[mask], shapes=_at_least_1d,
    kwargs=lambda shps: hnp.arrays(np.bool_, shps[0]).map(lambda m: {"mask": m}))


# ---- joining and selection ----------------------------------------------------------------------------
@st.composite
def _cat_shapes(draw):
    base = list(draw(shapes(min_dims=1)))
    axis = draw(st.integers(0, len(base) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    return tuple(tuple(base[:axis] + [n] + base[axis + 1:]) for n in sizes)


def _cat_dims(shps):
    nd = len(shps[0])
    valid = [d for d in range(nd) if all(s[:d] + s[d + 1:] == shps[0][:d] + shps[0][d + 1:] for s in shps)]
    return st.sampled_from(valid).flatmap(lambda d: st.sampled_from([d, d - nd])).map(lambda d: {"dim": d})


test_cat = gradient_test(lambda *xs, dim: tg.cat(xs, dim), lambda *a, dim: np.concatenate(a, axis=dim),
                         shapes=_cat_shapes(), kwargs=_cat_dims)
test_cat_list_default_dim = gradient_test(lambda x, y: tg.cat([x, y]), lambda a, b: np.concatenate([a, b]),
                                          shapes=shapes(min_dims=1).map(lambda s: (s, s)))
test_stack = gradient_test(
    lambda *xs, dim: tg.stack(xs, dim=dim), lambda *a, dim: np.stack(a, axis=dim),
    shapes=st.tuples(shapes(), st.integers(1, 3)).map(lambda p: (p[0],) * p[1]),
    kwargs=lambda shps: st.integers(-len(shps[0]) - 1, len(shps[0])).map(lambda d: {"dim": d}))
test_where = gradient_test(lambda c, x, y: tg.where(c, x, y), np.where, num_arrays=3, inputs=[_bools, arrays, arrays])
test_where_tensor_cond = gradient_test(lambda c, x, y: tg.where(tg.tensor(c), x, y), np.where, num_arrays=3,
                                       inputs=[_bools, arrays, arrays])
test_where_scalar_other = gradient_test(lambda c, x: tg.where(c, x, 2.0), lambda c, a: np.where(c, a, 2.0),
                                        num_arrays=2, inputs=[_bools, arrays])
test_where_scalar_first = gradient_test(lambda c, y: tg.where(c, -1.5, y), lambda c, b: np.where(c, -1.5, b),
                                        num_arrays=2, inputs=[_bools, arrays])
test_where_from_comparison = gradient_test(lambda x, y: tg.where(x > 0.5, x * y, y - x),
                                           lambda a, b: np.where(a > 0.5, a * b, b - a), num_arrays=2,
                                           inputs=[lambda s: arrays(s, away_from=(0.5,)), arrays])


# ---- composites: several ops sharing inputs (diamonds through real ops) ---------------------------------
test_composite_mlp_like = gradient_test(
    lambda x, w, b: ((x @ w + b).tanh() * (x @ w)).log_softmax(-1).sum(),
    lambda x, w, b: np.sum(_log_softmax_np(np.tanh(x @ w + b) * (x @ w))),
    shapes=st.just(((3, 4), (4, 2), (2,))), forward_rtol=1e-10)


def _log_softmax_np(z):
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


@given(arrays(shape=shapes(min_dims=1), low=-3, high=3))
def test_reused_input_many_times(a):
    assert_grad_close(lambda x: x * x * x + x.exp() * x - x.sum() * x, a,
                      reference=lambda v: v ** 3 + np.exp(v) * v - v.sum() * v, forward_rtol=1e-10)
