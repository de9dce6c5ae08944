"""Tensor.register_hook and the three Module hooks: called in PyTorch's order with PyTorch's arguments,
replacements take effect, handles remove them. The same program runs on torch where it is installed
and the recorded calls must match."""
import numpy as np
import pytest

import tinygrad_np as tg

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])


def _tensor_hook_program(lib, tensor):
    """Records (event, values) of hooks on a leaf and a non-leaf; the leaf's hook doubles its gradient."""
    log = []
    x = tensor(X, requires_grad=True)
    h = x * x
    h.register_hook(lambda g: log.append(("h", np.array(g.detach().numpy()))))
    handle = x.register_hook(lambda g: log.append(("x", np.array(g.detach().numpy()))) or g * 2)
    h.retain_grad()
    (h * 3).sum().backward()
    log.append(("x.grad", np.array(x.grad.numpy())))
    log.append(("h.grad", np.array(h.grad.numpy())))
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    log.append(("after remove", np.array(x.grad.numpy())))
    return log


def test_tensor_hooks_see_and_replace_gradients():
    log = _tensor_hook_program(tg, tg.tensor)
    assert [e for e, _ in log] == ["h", "x", "x.grad", "h.grad", "after remove"]
    np.testing.assert_allclose(log[0][1], np.full(X.shape, 3.0))
    np.testing.assert_allclose(log[1][1], 6 * X)                # the hook sees the total gradient
    np.testing.assert_allclose(log[2][1], 12 * X)               # ... and its return value replaced it
    np.testing.assert_allclose(log[4][1], np.ones(X.shape))     # removed: no doubling


def test_tensor_hooks_match_torch():
    torch = pytest.importorskip("torch")
    ours = _tensor_hook_program(tg, tg.tensor)
    theirs = _tensor_hook_program(torch, lambda a, requires_grad: torch.tensor(a, requires_grad=requires_grad))
    assert [e for e, _ in ours] == [e for e, _ in theirs]
    for (_, a), (_, b) in zip(ours, theirs):
        np.testing.assert_allclose(a, b)


def test_register_hook_needs_requires_grad_and_checks_shape():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0]).register_hook(lambda g: g)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: tg.tensor([1.0]))
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).sum().backward()


def test_hooks_in_create_graph_backward_get_tensors():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.requires_grad))
    (x ** 3).sum().backward(create_graph=True)
    assert seen == [True]
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])


def _module_program(lib, tensor, linear):
    """A two-layer net; every hook records its arguments; the pre-hook scales the input by 2, the
    forward hook adds 1 to the output, the backward hook halves grad_input."""
    log = []
    lin, act = linear(), (lib.nn.Tanh())

    def pre(m, args):
        log.append(("pre", [np.array(a.detach().numpy()) for a in args]))
        return (args[0] * 2,)

    def fwd(m, args, out):
        log.append(("fwd", np.array(out.detach().numpy())))
        return out + 1

    def bwd(m, grad_input, grad_output):
        log.append(("bwd", [None if g is None else np.array(g.detach().numpy()) for g in grad_input],
                    [np.array(g.detach().numpy()) for g in grad_output]))
        return tuple(None if g is None else g / 2 for g in grad_input)

    def act_bwd(m, grad_input, grad_output):
        log.append(("act_bwd", [np.array(g.detach().numpy()) for g in grad_input],
                    [np.array(g.detach().numpy()) for g in grad_output]))

    handles = [lin.register_forward_pre_hook(pre), lin.register_forward_hook(fwd),
               lin.register_full_backward_hook(bwd), act.register_full_backward_hook(act_bwd)]
    x = tensor(X, requires_grad=True)
    out = act(lin(x))
    (out * tensor(W[:, :2].T @ W[:, :2] @ np.ones((2, 2)), requires_grad=False)).sum().backward()
    log.append(("x.grad", np.array(x.grad.numpy())))
    log.append(("w.grad", np.array(lin.weight.grad.numpy())))
    for h in handles:
        h.remove()
    x.grad = None
    act(lin(x)).sum().backward()
    log.append(("after remove", np.array(x.grad.numpy())))
    return log


def _tg_linear():
    lin = tg.nn.Linear(3, 2).double()
    lin.weight.data = tg.tensor(W)
    lin.bias.data = tg.tensor(np.array([0.1, -0.1]))
    return lin


def test_module_hooks_run_in_pytorchs_order_and_replace():
    log = _module_program(tg, tg.tensor, _tg_linear)
    assert [e[0] for e in log] == ["pre", "fwd", "act_bwd", "bwd", "x.grad", "w.grad", "after remove"]
    np.testing.assert_allclose(log[0][1][0], X)
    lin_out = (2 * X) @ W.T + np.array([0.1, -0.1])
    np.testing.assert_allclose(log[1][1], lin_out)
    bwd_grad_input = log[3][1][0]
    # x.grad = d(2x)/dx · the halved grad_input (the pre-hook doubled the input); without the halving, 2·gi
    np.testing.assert_allclose(log[4][1], 2 * (bwd_grad_input / 2))


def test_module_hooks_match_torch():
    torch = pytest.importorskip("torch")

    def torch_linear():
        lin = torch.nn.Linear(3, 2).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W))
            lin.bias.copy_(torch.tensor([0.1, -0.1], dtype=torch.float64))
        return lin
    ours = _module_program(tg, tg.tensor, _tg_linear)
    theirs = _module_program(torch, lambda a, requires_grad: torch.tensor(a, requires_grad=requires_grad),
                             torch_linear)
    assert [e[0] for e in ours] == [e[0] for e in theirs]
    for a, b in zip(ours, theirs):
        for x, y in zip(a[1:], b[1:]):
            for u, v in zip(x if isinstance(x, list) else [x], y if isinstance(y, list) else [y]):
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)


def test_backward_hook_when_no_input_requires_grad_gets_none():
    lin = tg.nn.Linear(3, 2)
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append((gi, [g.shape for g in go])))
    lin(tg.tensor(X.astype(np.float32))).sum().backward()
    assert calls == [((None,), [(2, 2)])]
    assert lin.weight.grad is not None


def test_a_leafs_hooks_are_released_with_the_leaf():
    """A hook registered on a leaf lives as long as the leaf, no longer (PyTorch keeps hooks on the tensor):
    once the leaf is gone nothing holds the hook, so a later tensor can never run it."""
    import gc
    import weakref

    class Hook:
        calls = 0

        def __call__(self, g):
            Hook.calls += 1

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    hook = Hook()
    x.register_hook(hook)
    (x * 3).sum().backward()
    assert Hook.calls == 1
    alive = weakref.ref(hook)
    del x, hook
    gc.collect()
    assert alive() is None
    for _ in range(50):                        # fresh leaves (some may reuse the dead leaf's memory) run no old hook
        y = tg.tensor([1.0, 2.0], requires_grad=True)
        (y * 3).sum().backward()
        del y
    assert Hook.calls == 1
