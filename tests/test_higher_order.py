"""Second (and third) derivatives of every built-in op and layer.

Each case is checked twice, independently:
- `gradgradcheck` against central differences of the first derivatives (float64, random upstream
  gradients for both orders; runs without torch). Tolerances: tinygrad_np.testing's GRAD_ATOL/GRAD_RTOL
  (the finite difference of an exact first derivative has error O(eps²·f'''') + O(1e-16/eps) ≈ 1e-10).
- against `torch.autograd.grad(..., create_graph=True)`: ⟨w, ∂⟨v, f(x)⟩/∂x⟩ differentiated again, with
  random v and w, compared at 1e-9 (both are exact float64 formulas; only summation order differs).
Inputs avoid kinks and ties (distinct values away from 0 and the clamp bounds), where the second
derivative of a piecewise-linear op is 0 on both sides.
"""
import numpy as np
import pytest
from hypothesis import given

import tinygrad_np as tg
from test_gradcheck import Cube        # a user's first-order Function: ndarray backward only
from tinygrad_np.testing import arrays, assert_gradgrad_close, broadcastable_shapes

F = tg.nn.functional
rng = np.random.default_rng(17)


def _spread(*shape, low=-2.0, high=2.0):
    """Distinct values in [low, high], none within 0.05 of 0 (kinks, ties)."""
    n = int(np.prod(shape))
    count = n + 1
    while True:
        vals = np.linspace(low, high, count)
        vals = vals[np.abs(vals) > 0.05]
        if vals.size >= n:
            return rng.permutation(vals[:n]).reshape(shape)
        count += n


def _pos(*shape):
    return rng.uniform(0.5, 2.0, shape)


def _labels():
    return np.array([0, 2, 1])


# name -> (tinygrad fn, torch fn (takes the torch module), inputs)
CASES = {
    "neg": (lambda x: -x, lambda T, x: -x, [_spread(3, 4)]),
    "exp": (lambda x: x.exp(), lambda T, x: x.exp(), [_spread(3, 4)]),
    "log": (lambda x: x.log(), lambda T, x: x.log(), [_pos(3, 4)]),
    "sqrt": (lambda x: x.sqrt(), lambda T, x: x.sqrt(), [_pos(3, 4)]),
    "abs": (lambda x: x.abs() * x, lambda T, x: x.abs() * x, [_spread(3, 4)]),
    "tanh": (lambda x: x.tanh(), lambda T, x: x.tanh(), [_spread(3, 4)]),
    "sigmoid": (lambda x: x.sigmoid(), lambda T, x: x.sigmoid(), [_spread(3, 4)]),
    "relu": (lambda x: x.relu() * x, lambda T, x: x.relu() * x, [_spread(3, 4)]),
    "leaky_relu": (lambda x: x.leaky_relu(0.1) * x, lambda T, x: T.nn.functional.leaky_relu(x, 0.1) * x,
                   [_spread(3, 4)]),
    "clamp": (lambda x: x.clamp(-1.03, 1.03) ** 2, lambda T, x: x.clamp(-1.03, 1.03) ** 2, [_spread(3, 4)]),
    "cast": (lambda x: tg.ops.Cast.apply(x, dtype=np.dtype(np.float64)) ** 2, lambda T, x: x.double() ** 2,
             [_spread(3)]),
    "add": (lambda x, y: (x + y) ** 2, lambda T, x, y: (x + y) ** 2, [_spread(3, 4), _spread(4)]),
    "sub": (lambda x, y: (x - y) ** 2, lambda T, x, y: (x - y) ** 2, [_spread(3, 1), _spread(4)]),
    "mul": (lambda x, y: x * y, lambda T, x, y: x * y, [_spread(3, 4), _spread(3, 1)]),
    "div": (lambda x, y: x / y, lambda T, x, y: x / y, [_spread(3, 4), _pos(4)]),
    "pow": (lambda x, y: x ** y, lambda T, x, y: x ** y, [_pos(3, 4), _spread(3, 4)]),
    "pow_scalar": (lambda x: x ** 3.0, lambda T, x: x ** 3.0, [_spread(3, 4)]),
    "rpow": (lambda x: 2.0 ** x, lambda T, x: 2.0 ** x, [_spread(3, 4)]),
    "matmul": (lambda x, y: x @ y, lambda T, x, y: x @ y, [_spread(3, 4), _spread(4, 2)]),
    "matmul_batched": (lambda x, y: x @ y, lambda T, x, y: x @ y, [_spread(2, 3, 4), _spread(4, 2)]),
    "matmul_vec": (lambda x, y: (x @ y) ** 2, lambda T, x, y: (x @ y) ** 2, [_spread(4), _spread(4, 2)]),
    "matmul_dot": (lambda x, y: (x @ y) ** 2, lambda T, x, y: (x @ y) ** 2, [_spread(4), _spread(4)]),
    "matmul_mat_vec": (lambda x, y: (x @ y) ** 2, lambda T, x, y: (x @ y) ** 2, [_spread(3, 4), _spread(4)]),
    "matmul_batched_vec": (lambda x, y: (x @ y) ** 2, lambda T, x, y: (x @ y) ** 2, [_spread(2, 3, 4), _spread(4)]),
    "matmul_vec_batched": (lambda x, y: (x @ y) ** 2, lambda T, x, y: (x @ y) ** 2, [_spread(4), _spread(2, 4, 3)]),
    "sum": (lambda x: x.sum(dim=1) ** 2, lambda T, x: x.sum(dim=1) ** 2, [_spread(3, 4)]),
    "mean": (lambda x: x.mean(dim=0, keepdim=True) ** 2, lambda T, x: x.mean(dim=0, keepdim=True) ** 2,
             [_spread(3, 4)]),
    "var": (lambda x: x.var(dim=1), lambda T, x: x.var(dim=1), [_spread(3, 4)]),
    "std": (lambda x: x.std(), lambda T, x: x.std(), [_spread(3, 4)]),
    "amax": (lambda x: x.amax(dim=1) ** 2, lambda T, x: x.amax(dim=1) ** 2, [_spread(3, 4)]),
    "max_dim": (lambda x: x.max(dim=0).values ** 2, lambda T, x: x.max(dim=0).values ** 2, [_spread(3, 4)]),
    "max_dim_0d": (lambda x: x.max(dim=0).values ** 2, lambda T, x: x.max(dim=0).values ** 2, [np.array(1.5)]),
    "min": (lambda x: x.min() ** 2, lambda T, x: x.min() ** 2, [_spread(3, 4)]),
    "logsumexp": (lambda x: x.logsumexp(dim=1), lambda T, x: x.logsumexp(dim=1), [_spread(3, 4)]),
    "softmax": (lambda x: x.softmax(dim=1), lambda T, x: x.softmax(dim=1), [_spread(3, 4)]),
    "log_softmax": (lambda x: x.log_softmax(dim=0), lambda T, x: x.log_softmax(dim=0), [_spread(3, 4)]),
    "reshape": (lambda x: x.reshape(4, 3) ** 2, lambda T, x: x.reshape(4, 3) ** 2, [_spread(3, 4)]),
    "permute": (lambda x: x.permute(2, 0, 1) ** 2, lambda T, x: x.permute(2, 0, 1) ** 2, [_spread(2, 3, 2)]),
    "expand": (lambda x: x.expand(3, 4) ** 2, lambda T, x: x.expand(3, 4) ** 2, [_spread(3, 1)]),
    "getitem": (lambda x: x[1:, ::-2] ** 2, lambda T, x: x[1:, [3, 1]] ** 2, [_spread(3, 4)]),
    "getitem_repeated": (lambda x: x[np.array([0, 0, 2])] ** 2, lambda T, x: x[[0, 0, 2]] ** 2, [_spread(3, 4)]),
    "cat": (lambda x, y: tg.cat([x, y], 1) ** 2, lambda T, x, y: T.cat([x, y], 1) ** 2,
            [_spread(3, 2), _spread(3, 4)]),
    "stack": (lambda x, y: tg.stack([x, y], 1) ** 2, lambda T, x, y: T.stack([x, y], 1) ** 2,
              [_spread(3, 4), _spread(3, 4)]),
    "where": (lambda x, y: tg.where(x > 0, x, y) ** 2, lambda T, x, y: T.where(x > 0, x, y) ** 2,
              [_spread(3, 4), _spread(3, 4)]),
    "linear": (lambda x, w, b: F.linear(x, w, b).tanh(), lambda T, x, w, b: T.nn.functional.linear(x, w, b).tanh(),
               [_spread(3, 4), _spread(2, 4), _spread(2)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1).tanh(),
               lambda T, x, w, b: T.nn.functional.conv2d(x, w, b, stride=2, padding=1).tanh(),
               [_spread(1, 2, 5, 5), _spread(2, 2, 3, 3), _spread(2)]),
    "conv2d_groups_dilation": (lambda x, w: F.conv2d(x, w, None, padding=1, dilation=2, groups=2).tanh(),
                               lambda T, x, w: T.nn.functional.conv2d(x, w, None, padding=1, dilation=2,
                                                                      groups=2).tanh(),
                               [_spread(1, 2, 5, 5), _spread(2, 1, 2, 2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2, 1) ** 2, lambda T, x: T.nn.functional.max_pool2d(x, 2, 1) ** 2,
                   [_spread(1, 2, 4, 4)]),
    "max_pool2d_tiles": (lambda x: F.max_pool2d(x, 2) ** 2, lambda T, x: T.nn.functional.max_pool2d(x, 2) ** 2,
                         [_spread(1, 2, 4, 4)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1) ** 2,
                   lambda T, x: T.nn.functional.avg_pool2d(x, 3, 2, 1) ** 2, [_spread(1, 2, 5, 5)]),
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True).tanh(),
                         lambda T, x, w, b: T.nn.functional.batch_norm(x, None, None, w, b, training=True).tanh(),
                         [_spread(4, 3), _spread(3), _spread(3)]),
    "batch_norm_eval": (lambda x, w: F.batch_norm(x, np.full(2, 0.1), np.full(2, 1.5), w, None).tanh(),
                        lambda T, x, w: T.nn.functional.batch_norm(x, T.full((2,), 0.1, dtype=T.float64),
                                                                   T.full((2,), 1.5, dtype=T.float64), w).tanh(),
                        [_spread(2, 2, 2, 2), _spread(2)]),
    "dropout": (lambda x: _seeded(lambda: F.dropout(x, 0.5) ** 2), None, [_spread(3, 4)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, tg.tensor(_labels())),
                      lambda T, x: T.nn.functional.cross_entropy(x, T.tensor(_labels())), [_spread(3, 4)]),
    "cross_entropy_smooth_weight": (
        lambda x: F.cross_entropy(x, tg.tensor(_labels()), weight=tg.tensor(np.array([1.0, 2.0, 0.5, 1.5])),
                                  label_smoothing=0.2),
        lambda T, x: T.nn.functional.cross_entropy(x, T.tensor(_labels()), weight=T.tensor([1.0, 2.0, 0.5, 1.5],
                                                   dtype=T.float64), label_smoothing=0.2), [_spread(3, 4)]),
    "cross_entropy_none": (lambda x: F.cross_entropy(x, tg.tensor(_labels()), reduction="none"),
                           lambda T, x: T.nn.functional.cross_entropy(x, T.tensor(_labels()), reduction="none"),
                           [_spread(3, 4)]),
    "cross_entropy_smooth": (lambda x: F.cross_entropy(x, tg.tensor(_labels()), label_smoothing=0.1),
                             lambda T, x: T.nn.functional.cross_entropy(x, T.tensor(_labels()), label_smoothing=0.1),
                             [_spread(3, 4)]),
    "nll_loss_weight": (lambda x: F.nll_loss(x.log_softmax(1), tg.tensor(_labels()),
                                             weight=tg.tensor(np.array([1.0, 2.0, 0.5, 1.5]))),
                        lambda T, x: T.nn.functional.nll_loss(x.log_softmax(1), T.tensor(_labels()),
                                                              weight=T.tensor([1.0, 2.0, 0.5, 1.5], dtype=T.float64)),
                        [_spread(3, 4)]),
    "nll_loss": (lambda x: F.nll_loss(x.log_softmax(1), tg.tensor(_labels())),
                 lambda T, x: T.nn.functional.nll_loss(x.log_softmax(1), T.tensor(_labels())), [_spread(3, 4)]),
    "bce": (lambda x, y: F.binary_cross_entropy(x, y), lambda T, x, y: T.nn.functional.binary_cross_entropy(x, y),
            [_pos(3, 4) / 2.5, _pos(3, 4) / 2.5]),
    "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y),
                        lambda T, x, y: T.nn.functional.binary_cross_entropy_with_logits(x, y),
                        [_spread(3, 4), _pos(3, 4) / 2.5]),
    "bce_with_logits_pos_weight": (
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=tg.tensor(np.array([1.0, 2.0, 3.0, 0.5]))),
        lambda T, x, y: T.nn.functional.binary_cross_entropy_with_logits(
            x, y, pos_weight=T.tensor([1.0, 2.0, 3.0, 0.5], dtype=T.float64)), [_spread(3, 4), _pos(3, 4) / 2.5]),
    "mse_loss": (lambda x, y: F.mse_loss(x, y), lambda T, x, y: T.nn.functional.mse_loss(x, y),
                 [_spread(3, 4), _spread(3, 4)]),
}


def _seeded(f):
    tg.manual_seed(3)                  # the same dropout mask in every evaluation of the check
    return f()


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck_against_finite_differences(name):
    fn, _, inputs = CASES[name]
    assert_gradgrad_close(fn, *inputs)


@pytest.mark.parametrize("name", sorted(n for n in CASES if CASES[n][1] is not None))
def test_double_backward_matches_torch(name):
    torch = pytest.importorskip("torch")
    fn, torch_fn, inputs = CASES[name]
    ours = [tg.tensor(a, requires_grad=True) for a in inputs]
    theirs = [torch.tensor(a, requires_grad=True) for a in inputs]
    out, out_t = fn(*ours), torch_fn(torch, *theirs)
    assert out.shape == tuple(out_t.shape)
    v = rng.standard_normal(out.shape)
    ws = [rng.standard_normal(a.shape) for a in inputs]
    g = tg.autograd.grad(out, ours, tg.tensor(v), create_graph=True)
    g_t = torch.autograd.grad(out_t, theirs, torch.tensor(v), create_graph=True)
    for a, b in zip(g, g_t):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-9, atol=1e-9)
    s = sum((gi * w).sum() for gi, w in zip(g, ws))
    s_t = sum((gi * torch.tensor(w)).sum() for gi, w in zip(g_t, ws))
    if not s.requires_grad:                                # a linear op: its gradient is a constant
        assert not s_t.requires_grad
        return
    h = tg.autograd.grad(s, ours, allow_unused=True)
    h_t = torch.autograd.grad(s_t, theirs, allow_unused=True)
    for a, b in zip(h, h_t):
        expected = np.zeros(a.shape) if b is None else b.numpy()      # torch: None where it is 0
        got = np.zeros(expected.shape) if a is None else a.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_create_graph_gives_the_plain_backwards_first_order_gradient(name):
    """gradgradcheck checks a second derivative against the differences *of the create_graph gradient*, so a
    wrong first-order gradient on that path passes it. Here the create_graph gradient (backward_graph) must
    equal the plain backward's (itself gradchecked), for every subset of inputs that require grad (a Function
    must return the gradient of input i exactly when needs_input_grad[i]). float64; the two paths may order
    their sums differently, so rtol 1e-10 (rounding is ~1e-16 per op; any wrong term is far larger)."""
    fn, _, inputs = CASES[name]
    upstream = None
    for mask in range(1, 2 ** len(inputs)):
        results = []
        for create_graph in (False, True):
            ts = [tg.tensor(a, requires_grad=bool(mask >> i & 1)) for i, a in enumerate(inputs)]
            out = fn(*ts)
            if upstream is None:
                upstream = np.random.default_rng(len(name)).standard_normal(out.shape)
            wanted = [t for t in ts if t.requires_grad]
            grads = tg.autograd.grad(out, wanted, tg.tensor(upstream), create_graph=create_graph)
            results.append([g.numpy() for g in grads])
        for plain, graph in zip(*results):
            np.testing.assert_allclose(graph, plain, rtol=1e-10, atol=1e-12, err_msg=f"{name}, inputs mask {mask:b}")


@given(broadcastable_shapes().flatmap(lambda s: arrays(s[0]).flatmap(lambda a: arrays(s[1]).map(lambda b: (a, b)))))
def test_broadcast_mul_div_second_order_on_drawn_shapes(pair):
    a, b = pair
    assert_gradgrad_close(lambda x, y: x * y * x, a, b)
    assert_gradgrad_close(lambda x, y: x / (y * y + 1), a, b)


@pytest.mark.parametrize("name,f,d3", [
    ("tanh", lambda x: x.tanh(), lambda x: -2 / np.cosh(x) ** 2 * (1 - 3 * np.tanh(x) ** 2)),
    ("sigmoid", lambda x: x.sigmoid(),
     lambda x: (lambda s: s * (1 - s) * (1 - 6 * s + 6 * s * s))(1 / (1 + np.exp(-x)))),
    ("exp", lambda x: x.exp(), np.exp),
    ("mul", lambda x: x * x * x, lambda x: np.full_like(x, 6.0)),
    ("getitem", lambda x: x[np.array([0, 0, 3])] ** 3,                  # 6 per time an element is picked
     lambda x: np.array([12.0, 0.0, 0.0, 6.0, 0.0])),
])
def test_third_derivative_matches_closed_form(name, f, d3):
    """Nothing is special about two: differentiate three times and compare with the formula."""
    a = _spread(5)
    x = tg.tensor(a, requires_grad=True)
    (g1,) = tg.autograd.grad(f(x).sum(), x, create_graph=True)
    (g2,) = tg.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = tg.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), d3(a), rtol=1e-10, atol=1e-12)
    assert_gradgrad_close(lambda t: tg.autograd.grad(f(t).sum(), t, create_graph=True)[0], a)   # the third, numerically


def test_backward_create_graph_gives_differentiable_grad_and_accumulates():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    gx = x.grad
    x.grad = None
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])       # d/dx Σ 3x² = 6x


def test_backward_inputs_only_touches_those():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = tg.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (x * y).sum().backward(inputs=[x])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])
    assert y.grad is None


def test_grad_leaves_dot_grad_alone_and_handles_non_leaf_inputs():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 2
    out = (h * h).sum()
    gh, gx = tg.autograd.grad(out, [h, x], retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(gx.numpy(), [8.0, 16.0])
    assert x.grad is None
    out.backward()                                         # retain_graph=True kept it
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


def test_grad_errors_are_pytorchs():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    z = tg.tensor(np.array([1.0]), requires_grad=True)
    out = (x * x).sum()
    with pytest.raises(RuntimeError, match="not used"):
        tg.autograd.grad(out, [x, z], retain_graph=True)
    gx, gz = tg.autograd.grad(out, [x, z], allow_unused=True, retain_graph=True)
    assert gz is None and np.allclose(gx.numpy(), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="one-element"):
        tg.autograd.grad(x * x, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.autograd.grad(out, tg.tensor([1.0]))
    tg.autograd.grad(out, x)                               # retain_graph defaults to create_graph=False
    with pytest.raises(RuntimeError, match="freed"):
        tg.autograd.grad(out, x)


def test_first_order_function_works_once_and_refuses_twice_clearly():
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = tg.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    with pytest.raises(RuntimeError, match="Cube is first order only.*backward_graph"):
        g.sum().backward()


def test_first_order_path_records_nothing_extra():
    """create_graph=False: gradients are plain arrays and the graph gains no nodes."""
    x = tg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = tg.autograd.grad((x.tanh() * x).sum(), x)
    assert g.grad_fn is None and not g.requires_grad


@pytest.mark.parametrize("name,f", [
    ("conv2d", lambda x, w: F.conv2d(x, w, None, stride=2, padding=1)),
    ("max_pool2d", lambda x, w: F.max_pool2d(x * w.sum(), 2, 1)),
    ("avg_pool2d", lambda x, w: F.avg_pool2d(x * w.sum(), 3, 2, 1, count_include_pad=False)),
])
def test_conv_and_pool_third_order(name, f):
    """The backward ops of conv/pool (window_grad.py) are differentiable themselves: gradgradcheck of
    the first derivative checks the third derivatives of the composition."""
    def first(x, w):
        return tg.autograd.grad((f(x, w).tanh() ** 2).sum(), [x, w], create_graph=True)
    assert_gradgrad_close(first, _spread(1, 2, 5, 5), _spread(2, 2, 3, 3, low=-0.6, high=0.6))


def test_conv_second_order_through_a_transposed_upstream_gradient():
    """ConvWeightGrad meets whatever upstream gradient arrives, e.g. a transposed view from Permute's
    backward; the wide im2col grid needs contiguous planes, so it must copy (it read garbage before)."""
    x, w = tg.tensor(_spread(2, 2, 5, 5), requires_grad=True), tg.tensor(_spread(3, 2, 3, 3), requires_grad=True)
    c = _spread(2, 2, 5, 5)
    (gx,) = tg.autograd.grad((F.conv2d(x, w) ** 2).sum(), x, create_graph=True)
    (through_view,) = tg.autograd.grad((gx.transpose(2, 3) * tg.tensor(c)).sum(), w, retain_graph=True)
    (direct,) = tg.autograd.grad((gx * tg.tensor(c.transpose(0, 1, 3, 2).copy())).sum(), w)
    np.testing.assert_allclose(through_view.numpy(), direct.numpy(), rtol=1e-12, atol=1e-12)


def test_bce_with_logits_op_on_constant_array_logits_differentiates_the_target():
    """The op class also takes its logits as a plain ndarray (a constant, as the engine allows every Function);
    d mean(softplus(x) − x·y)/dy = −x / n, on the plain and on the create_graph path (where, being constant in
    y, it needs no graph, as in PyTorch)."""
    x = np.random.default_rng(0).standard_normal((3, 4))
    y0 = np.random.default_rng(1).uniform(0, 1, (3, 4))
    for create_graph in (False, True):
        y = tg.tensor(y0, requires_grad=True)
        out = tg.ops.loss.BCEWithLogits.apply(x, y, None, None, reduction="mean")
        (g,) = tg.autograd.grad(out, y, create_graph=create_graph)
        np.testing.assert_allclose(g.numpy(), -x / x.size, rtol=1e-12, atol=1e-15)
        assert g.requires_grad is False
