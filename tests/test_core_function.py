"""The contract of `tg.Function`: checked gradients naming the op, several outputs, constants,
broadcast reduction by the engine, needs_input_grad, what is and is not recorded."""
import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, dtype=np.float64):
    return tg.tensor(np.asarray(values, dtype), requires_grad=True)


# ---- the Function contract ----------------------------------------------------------------------------
class WrongShape(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return np.ones((7,))


class WrongCount(tg.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad


class WrongDtype(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(np.complex128)


def test_wrong_shape_gradient_names_the_op_and_changes_nothing():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    (x * 1.0).sum().backward()
    before = x.grad.numpy().copy()
    with pytest.raises(ValueError, match=r"WrongShape.*\(7,\).*\(2, 2\)"):
        WrongShape.apply(x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_wrong_number_and_dtype_of_gradients_name_the_op():
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="WrongCount.*1 gradients for 2 inputs"):
        WrongCount.apply(x, y).sum().backward()
    with pytest.raises(TypeError, match="WrongDtype.*complex128"):
        WrongDtype.apply(x).sum().backward()
    assert x.grad is None and y.grad is None


class Split(tg.Function):
    """Two outputs; backward must get one gradient per output."""
    received: list = []

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g2, g3):
        Split.received.append((g2.copy(), g3.copy()))
        return g2 * 2 + g3 * 3


def test_multi_output_function_gets_zeros_for_an_unused_output():
    Split.received = []
    x = leaf([1.0, 2.0], np.float32)
    a, b = Split.apply(x)
    assert a.grad_fn is b.grad_fn
    (a * 5.0).sum().backward()
    g2, g3 = Split.received[0]
    assert g2.tolist() == [5.0, 5.0] and g3.tolist() == [0.0, 0.0] and g3.dtype == np.float32 and g3.shape == (2,)
    assert x.grad.tolist() == [10.0, 10.0]


def test_multi_output_both_used_and_retained():
    Split.received = []
    x = leaf([1.0, 2.0])
    a, b = Split.apply(x)
    b.retain_grad()
    (a.sum() + (b * b).sum()).backward()
    assert len(Split.received) == 1
    assert b.grad.tolist() == [6.0, 12.0]
    assert x.grad.tolist() == [2 + 3 * 6.0, 2 + 3 * 12.0]


class ScaleShift(tg.Function):
    """Constants positional (a scale) and keyword (a shift) reach forward unchanged."""
    seen: list = []

    @staticmethod
    def forward(ctx, x, scale, shift=0.0):
        ScaleShift.seen.append((type(scale), shift, ctx.needs_input_grad))
        ctx.scale = scale
        return x * scale + shift

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def test_function_with_constants():
    ScaleShift.seen = []
    x = leaf([1.0, 2.0])
    y = ScaleShift.apply(x, 3.0, shift=np.array([1.0, -1.0]))
    assert y.tolist() == [4.0, 5.0]
    assert ScaleShift.seen[0][0] is float and ScaleShift.seen[0][2] == (True, False)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    c = np.array([2.0, 5.0])
    ScaleShift.apply(x, c).sum().backward()           # an ndarray constant: no gradient for it
    assert x.grad.tolist() == [5.0, 8.0]


class BroadcastAdd(tg.Function):
    """Returns gradients in the broadcast output shape; the engine sums them back per input."""

    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


@pytest.mark.parametrize("sx, sy", [((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 1), (1, 4)), ((2, 3, 4), ()),
                                    ((), (2, 1, 3)), ((2, 1, 4), (3, 1))])
def test_engine_reduces_broadcast_gradients(sx, sy):
    rng = np.random.default_rng(0)
    x, y = leaf(rng.standard_normal(sx)), leaf(rng.standard_normal(sy))
    out = BroadcastAdd.apply(x, y)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    for t, s in ((x, sx), (y, sy)):
        # independent of the engine's axis logic: which input element feeds each output element
        owner = np.broadcast_to(np.arange(int(np.prod(s))).reshape(s), out.shape)
        expected = np.bincount(owner.ravel(), weights=g.ravel(), minlength=int(np.prod(s)))
        assert t.grad.shape == s
        np.testing.assert_allclose(t.grad.numpy(), expected.reshape(s), rtol=1e-13)


def test_needs_input_grad_and_none_gradients():
    seen = []

    class Probe(tg.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return None, grad          # None: no gradient flows to x even though it asked

    x, y = leaf([2.0]), tg.tensor([3.0])
    w = leaf([4.0])
    Probe.apply(x, y).sum().backward()
    Probe.apply(y, w).sum().backward()
    assert seen == [(True, False), (False, True)]
    assert x.grad is None and w.grad.tolist() == [1.0]


def test_ops_without_grad_inputs_are_not_recorded():
    a, b = tg.tensor([1.0]), tg.tensor([2.0])
    c = (a * b).exp()
    assert c.grad_fn is None and not c.requires_grad and c.is_leaf
    x = leaf([1.0, -1.0])
    mask = x > 0                             # comparisons: bool, never recorded
    assert mask.dtype == np.bool_ and mask.grad_fn is None and not mask.requires_grad
    idx = x.max(0).indices
    assert idx.dtype == np.int64 and idx.grad_fn is None


def test_detach_shares_memory_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 2.0
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and np.shares_memory(d.numpy(), y.numpy())
    (d * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
