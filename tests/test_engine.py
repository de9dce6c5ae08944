"""The backward engine: graph walk order, accumulation, freeing, grad mode and memory release
(dtypes: test_core_dtypes.py; the Function contract: test_core_function.py)"""
import gc
import sys
import weakref

import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, dtype=np.float64):
    return tg.tensor(np.asarray(values, dtype), requires_grad=True)


class Counted(tg.Function):
    """Identity that counts how often its backward runs and records the gradients it received."""
    calls: list = []

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        Counted.calls.append(grad.copy())
        return grad


@pytest.fixture(autouse=True)
def _reset_counter():
    Counted.calls = []
    yield
    assert tg.is_grad_enabled(), "a test leaked no_grad mode"


# ---- graph walk ---------------------------------------------------------------------------------------
def test_diamond_each_node_once_with_its_full_gradient():
    x = leaf([1.0, 2.0])
    h = Counted.apply(x * 3.0)                  # h feeds two branches that meet again
    out = (h.exp() + h * h).sum()
    out.backward()
    assert len(Counted.calls) == 1              # called once, after both consumers
    h_val = 3.0 * np.array([1.0, 2.0])
    np.testing.assert_allclose(Counted.calls[0], np.exp(h_val) + 2 * h_val, rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), 3.0 * (np.exp(h_val) + 2 * h_val), rtol=1e-14)


def test_nested_diamonds_and_reused_intermediates():
    x, y = leaf(0.5), leaf(-1.5)
    a = x * y                                   # used three times
    b = a + x                                   # x used directly as well
    c = Counted.apply(a * b)
    out = c * a + b * b - a
    out.backward()
    xv, yv = 0.5, -1.5
    av = xv * yv
    bv = av + xv
    # out = a²b + b² - a with a = xy, b = a + x
    d_a, d_b = 2 * av * bv - 1, av * av + 2 * bv
    assert len(Counted.calls) == 1
    assert x.grad.item() == pytest.approx(d_a * yv + d_b * (yv + 1), rel=1e-14)
    assert y.grad.item() == pytest.approx(d_a * xv + d_b * xv, rel=1e-14)


def test_leaf_used_twice_in_one_op_and_as_root():
    x = leaf([1.0, -2.0])
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, -4.0]
    z = leaf(3.0)
    z.backward()                                # a leaf as the root: its gradient is the seed
    assert z.grad.item() == 1.0


def test_100k_node_chain_walks_iteratively():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0                             # a plain chain of 100,000 Mul nodes
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.item() == 1.0
    del y                                       # tearing down a long chain must not crash either
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y


# ---- accumulation, retain_graph, freeing ---------------------------------------------------------------
def test_gradients_accumulate_over_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    first = x.grad.numpy()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0 + 2.0, 3.0 + 4.0])
    np.testing.assert_array_equal(first, [3.0, 3.0])     # accumulation made a new array, not an in-place add


def test_second_backward_through_freed_graph_raises_before_touching_grads():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2.0).sum()
    y.backward()
    before = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_shared_subgraph_freed_by_first_loss():
    x = leaf([1.0, 2.0])
    h = x.exp()
    l1, l2 = h.sum(), (h * 2.0).sum()
    l1.backward()
    before = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        l2.backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2.0).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.exp([1.0, 2.0]), rtol=1e-14)
    with pytest.raises(RuntimeError):
        y.backward()


def test_non_scalar_backward_needs_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"one-element.*\(2, 2\)"):
        y.backward()
    assert x.grad is None
    y.backward(np.array([[1.0, 0.0], [0.5, 2.0]]))
    assert x.grad.tolist() == [[2.0, 0.0], [1.0, 4.0]]
    z = leaf([[5.0]]) * 3.0                     # one element of any shape seeds 1
    z.backward()


def test_backward_with_tensor_gradient_and_wrong_shape():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        y.backward(np.ones(3))
    y.backward(tg.tensor(np.array([1.0, -1.0])))
    assert x.grad.tolist() == [2.0, -2.0]


def test_backward_of_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0, 2.0]).sum().backward()


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    k = h * 2.0
    h.retain_grad()
    (k.sum() + h.sum()).backward()
    assert h.grad.tolist() == [3.0, 3.0] and k.grad is None
    assert x.grad.tolist() == [9.0, 9.0]
    assert h.grad.grad_fn is None and not h.grad.requires_grad
    x.retain_grad()                             # no-op on leaves, which keep .grad anyway
    r = x.sum()
    r.retain_grad()
    r.backward()
    assert r.grad.item() == 1.0


def test_leaf_grads_are_owned_fresh_arrays():
    """The engine never stores a view, the caller's seed, or one array in two leaves' .grad."""
    x, y = leaf([1.0, 2.0, 3.0, 4.0]), leaf([0.0, 0.0, 0.0, 0.0])
    seed = np.ones((2, 2))
    (x.reshape(2, 2) + y.reshape(2, 2)).backward(seed)
    for t in (x, y):
        assert t.grad.numpy().base is None and t.grad.numpy().flags.writeable
        assert not np.shares_memory(t.grad.numpy(), seed)
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    z = leaf([1.0, 2.0])
    g = np.array([5.0, 6.0])
    z.backward(g)
    g[0] = 100.0
    assert z.grad.tolist() == [5.0, 6.0]


# ---- grad mode ----------------------------------------------------------------------------------------
class SaveSpy(tg.Function):
    """Doubles its input; remembers its ctx so a test can look at what was saved."""
    contexts: list = []

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x, x * 2)
        SaveSpy.contexts.append(ctx)
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        x, _ = ctx.saved_tensors
        return grad * 2


def test_no_grad_context_records_and_saves_nothing():
    SaveSpy.contexts = []
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = SaveSpy.apply(x)
        z = (x * 2.0).exp().sum()
    assert tg.is_grad_enabled()
    for t in (y, z):
        assert t.grad_fn is None and not t.requires_grad
    assert SaveSpy.contexts[0].saved_tensors == ()
    with pytest.raises(RuntimeError):
        z.backward()
    assert x.grad is None
    y2 = SaveSpy.apply(x)                       # recording again outside: saves its arrays
    assert len(SaveSpy.contexts[1].saved_tensors) == 2 and y2.grad_fn is SaveSpy.contexts[1]


def test_inputs_without_requires_grad_save_nothing():
    SaveSpy.contexts = []
    SaveSpy.apply(tg.tensor([1.0]))
    assert SaveSpy.contexts[0].saved_tensors == ()


def test_no_grad_and_enable_grad_as_decorators_and_nested():
    x = leaf([1.0])

    @tg.no_grad()
    def frozen(t):
        """doc"""
        return t * 2.0, tg.is_grad_enabled()

    @tg.enable_grad()
    def live(t):
        return t * 2.0

    out, enabled = frozen(x)
    assert out.grad_fn is None and enabled is False and tg.is_grad_enabled()
    assert frozen.__name__ == "frozen" and frozen.__doc__ == "doc"
    with tg.no_grad():
        assert live(x).grad_fn is not None
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            with tg.no_grad():
                assert not tg.is_grad_enabled()
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def boom():
        raise KeyError("x")
    with pytest.raises(KeyError):
        boom()
    assert tg.is_grad_enabled()


# ---- memory -------------------------------------------------------------------------------------------
class SaveBig(tg.Function):
    saved: list = []

    @staticmethod
    def forward(ctx, x):
        big = np.repeat(x[None], 4, axis=0)     # an array only the graph holds
        SaveBig.saved.append(weakref.ref(big))
        ctx.save_for_backward(big)
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        (big,) = ctx.saved_tensors
        return grad * (big[0] * 0 + 1)


def _graph(x):
    SaveBig.saved = []
    h1 = x.exp()
    h2 = SaveBig.apply(h1 * 2.0)
    loss = (h2 * h2).sum()
    return loss, [weakref.ref(h1), weakref.ref(h2)], [weakref.ref(h1.grad_fn), weakref.ref(h2.grad_fn)]


def test_intermediates_and_saved_arrays_released_after_backward():
    x = leaf(np.linspace(-1, 1, 6))
    loss, tensors, nodes = _graph(x)
    gc.collect()
    assert all(r() is not None for r in tensors + SaveBig.saved)   # the graph keeps them before backward
    loss.backward()
    # refcounting alone frees them: the graph has no reference cycles
    assert all(r() is None for r in tensors), "intermediate tensors survive backward"
    assert all(r() is None for r in SaveBig.saved), "saved arrays survive backward"
    assert nodes[0]() is None                   # interior nodes are gone; only loss's own node is left
    del loss
    gc.collect()
    assert all(r() is None for r in nodes)


def test_saved_arrays_and_inputs_released_while_an_output_is_still_held():
    """The caller may keep an intermediate (h) alive; its node must still drop what it saved and its inputs."""
    SaveBig.saved = []
    x = leaf(np.linspace(-1, 1, 6))
    doubled = x * 2.0
    h = SaveBig.apply(doubled)
    doubled_ref = weakref.ref(doubled)
    del doubled
    loss = (h * h).sum()
    loss.backward()
    assert SaveBig.saved[0]() is None, "a live output keeps its node's saved arrays"
    assert doubled_ref() is None, "a live output keeps its node's inputs"
    with pytest.raises(RuntimeError, match="freed"):
        h.sum().backward()


def test_retain_graph_keeps_saved_arrays_until_the_graph_is_dropped():
    x = leaf(np.linspace(-1, 1, 6))
    loss, tensors, _ = _graph(x)
    loss.backward(retain_graph=True)
    assert all(r() is not None for r in SaveBig.saved)
    del loss
    assert all(r() is None for r in tensors + SaveBig.saved)


def test_no_grad_outputs_hold_no_graph():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        h = x.exp()
        ref = weakref.ref(h)
        y = h * 2.0
    del h
    assert ref() is None and y.grad_fn is None


def test_tensors_are_weak_referenceable():
    t = tg.tensor([1.0])
    r = weakref.ref(t)
    assert r() is t
    del t
    assert r() is None


def test_copy_into_a_non_leaf_sends_zeros_to_the_old_contents_as_pytorch():
    """copy_ on a non-leaf: the old contents get a zero gradient (PyTorch: x.grad is zeros), v the rest."""
    x = tg.ones(2, 3, dtype=np.float64, requires_grad=True)
    v = tg.ones(3, dtype=np.float64, requires_grad=True)
    y = x * 1.0
    y.copy_(v * 2.0)
    (y * y).sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), np.full(3, 16.0))     # d/dv Σ over 2 rows of (2v)² = 16 at v = 1
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 3)))


def test_a_node_whose_consumers_send_no_gradient_is_walked_past():
    """A backward may return None for an input that needs a gradient: the node behind it then receives
    nothing, must not crash the walk, and its leaves get no gradient."""
    class Forget(tg.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            return None

    x = tg.ones(3, dtype=np.float64, requires_grad=True)
    w = tg.ones(3, dtype=np.float64, requires_grad=True)
    (Forget.apply(x * 1.0) + w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.numpy(), np.ones(3))
