"""In-place ops (`+= add_ zero_ copy_ t[i] = v ...`): values, gradients against PyTorch, version-counter
errors at backward (saved then modified → error naming the op; unsaved → fine; views share the counter),
PyTorch's leaf rule, and dtype/shape refusals before any change."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_np as tg


def leaf(values, dtype=np.float64):
    return tg.tensor(np.asarray(values, dtype), requires_grad=True)


def test_parameter_update_under_no_grad_mutates_memory_and_keeps_the_leaf():
    w = leaf([1.0, 2.0, 3.0])
    alias = w.numpy()
    w.sum().backward()
    with tg.no_grad():
        w -= 0.5 * w.grad
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert alias.tolist() == [0.5, 1.5, 2.5]           # the same memory (a module or optimizer sees it)


def test_inplace_on_a_leaf_that_requires_grad_raises_before_changing_it():
    w = leaf([1.0, 2.0])
    for op in (lambda: w.add_(1), lambda: w.__iadd__(1), lambda: w.zero_(), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            op()
    assert w.tolist() == [1.0, 2.0]


def test_saved_tensor_modified_in_place_raises_at_backward_naming_the_op():
    x = leaf([0.5, 1.0])
    y = x.exp()                           # Exp saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"Exp.backward: .*modified by an in-place operation \(mul_\)"):
        y.sum().backward()
    z = x * 1.0
    w = z.sigmoid()
    z.add_(1)                             # Mul saved x and 1.0, sigmoid saved w: z itself was never saved
    w.sum().backward()                    # so backward is fine
    assert np.allclose(x.grad.numpy(), (lambda s: s * (1 - s))(1 / (1 + np.exp(-np.array([0.5, 1.0])))))


def test_a_view_shares_the_version_counter():
    base = tg.tensor(np.arange(6.0).reshape(2, 3))
    w = leaf([1.0, 1.0, 1.0])
    out = (base * w).sum()                # Mul saved base's array
    view = base.data[0]                   # a view of the same memory
    view += 10
    with pytest.raises(RuntimeError, match="Mul.backward"):
        out.backward()
    assert base.numpy()[0].tolist() == [10.0, 11.0, 12.0]


def test_optimizer_step_bumps_the_version_like_pytorch():
    w = leaf([1.0, 2.0])
    opt = tg.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    loss = (w * w).sum()                  # saved w
    opt.step()                            # modifies w in place
    with pytest.raises(RuntimeError, match=r"SGD.step"):
        loss.backward()


def test_inplace_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    a0, b0 = np.array([[0.5, -1.0, 2.0]]), np.array([[1.5], [0.25]])

    def ours():
        a, b = leaf(a0), leaf(b0)
        y = a * b                         # (2, 3)
        z = y + 1                         # recorded before the in-place ops: must keep y's old history
        y.mul_(3.0)
        y += b
        y[0, 1] = a[0, 2] * 4
        y.sub_(a, alpha=2)
        ((z * y).sum() + y.pow(2).sum()).backward()
        return y.numpy(), a.grad.numpy(), b.grad.numpy()

    def theirs():
        a = torch.tensor(a0, requires_grad=True)
        b = torch.tensor(b0, requires_grad=True)
        y = a * b
        z = y + 1
        y.mul_(3.0)
        y += b
        y[0, 1] = a[0, 2] * 4
        y.sub_(a, alpha=2)
        ((z * y).sum() + y.pow(2).sum()).backward()
        return y.detach().numpy(), a.grad.numpy(), b.grad.numpy()

    for got, want in zip(ours(), theirs()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)   # float64, same arithmetic


def test_setitem_is_differentiable_and_builds_a_tensor_row_by_row():
    torch = pytest.importorskip("torch")
    w0 = np.array([0.3, -0.7])
    w = leaf(w0)
    h = tg.zeros(3, 2, dtype=tg.float64)
    for i in range(3):                     # reads row i-1 (a view, not saved by +) while writing row i
        h[i] = (w * (i + 1)).tanh() if i == 0 else (h[i - 1] + w * i).tanh()
    (h * h).sum().backward()
    tw = torch.tensor(w0, requires_grad=True)
    th = torch.zeros(3, 2, dtype=torch.float64)
    for i in range(3):
        th[i] = (tw * (i + 1)).tanh() if i == 0 else (th[i - 1] + tw * i).tanh()
    (th * th).sum().backward()
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_inplace_on_a_view_in_the_graph_raises_instead_of_a_wrong_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="view"):
        y[0:2].mul_(3)                    # PyTorch rewrites y's history; we refuse
    v = y.reshape(3)
    with pytest.raises(RuntimeError, match="view"):
        y.add_(x)                         # y has a view (Reshape) in the graph
    assert v.tolist() == [2.0, 4.0, 6.0]


def test_a_view_that_was_saved_and_then_overwritten_raises_like_pytorch():
    w = leaf([0.3, -0.7])
    h = tg.zeros(3, 2, dtype=tg.float64)
    h[0] = w.tanh()
    h[1] = (h[0] * w).tanh()               # Mul saved the view h[0]; writing row 2 bumps h's shared counter
    h[2] = h[1] + 1
    with pytest.raises(RuntimeError, match="Mul.backward: .*setitem"):
        h.sum().backward()


def test_dtype_and_shape_refusals_leave_the_tensor_unchanged():
    i = tg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5                          # float result into an int64 tensor (PyTorch raises too)
    with pytest.raises(RuntimeError, match="shape"):
        i += tg.tensor([[1], [2]])
    assert i.tolist() == [1, 2, 3]
    i += 2                                 # int stays int
    assert i.tolist() == [3, 4, 5] and i.dtype == np.int64
    f = tg.tensor([1.0, 2.0])
    f *= tg.tensor([2.0, 3.0], dtype=tg.float64)   # float64 result cast back into float32 (same kind)
    assert f.dtype == np.float32 and f.tolist() == [2.0, 6.0]


def test_fill_copy_clamp_and_random_fills():
    t = tg.zeros(2, 3)
    t.fill_(2.5)
    assert t.tolist() == [[2.5] * 3] * 2
    t.copy_(np.arange(3.0))
    assert t.tolist() == [[0.0, 1.0, 2.0]] * 2
    t.clamp_(min=0.5, max=1.5)
    assert t.tolist() == [[0.5, 1.0, 1.5]] * 2
    tg.manual_seed(0)
    t.uniform_(-1, 1)
    assert t.dtype == np.float32 and (t.numpy() >= -1).all() and (t.numpy() < 1).all() and t.numpy().std() > 0
    t.normal_(0, 0.01)
    assert np.abs(t.numpy()).max() < 0.1
    src = leaf([1.0, 2.0, 3.0], np.float32)
    t2 = tg.zeros(2, 3)
    t2.copy_(src)                          # copy_ is differentiable with respect to the source
    (t2 * tg.tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert src.grad.tolist() == [2.0, 4.0, 6.0]


def test_inplace_on_read_only_batches_raises():
    ds = tg.data.TensorDataset(np.zeros((4, 2), np.float32))
    (batch,) = next(iter(tg.data.DataLoader(ds, batch_size=2)))
    with pytest.raises(RuntimeError, match="read-only"):
        batch += 1
    with pytest.raises(RuntimeError, match="read-only"):
        batch[0] = 1.0


def test_grad_zero_after_backward_of_a_0d_leaf():
    a = tg.full((), 0.5, requires_grad=True)
    (a * tg.linspace(0, 1, 5)).sum().backward()
    a.grad.zero_()
    assert a.grad.item() == 0.0
