"""PyTorch parity of every core op: forward values, output dtypes and gradients (under a random upstream
gradient) against torch on random inputs, plus the subgradients at kinks and ties. Skipped without torch.

Each case is written once as `fn(ns, *tensors)`; `ns` supplies the few free functions whose names
differ (tg.cat vs torch.cat, ...), so both libraries run literally the same expression.
Tolerances: float64 forward and gradients agree to 1e-10 relative (different summation orders in
reductions and BLAS give ~1e-15 differences; a wrong formula is off by O(1)); float32 to 1e-5.
"""
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_np as tg

torch = pytest.importorskip("torch")
F = torch.nn.functional

TG = SimpleNamespace(cat=tg.cat, stack=tg.stack, where=tg.where, leaky_relu=lambda x, s=0.01: x.leaky_relu(s),
                     const=lambda a: a, index=lambda a: a, index_tensor=tg.tensor, torch=False)
TORCH = SimpleNamespace(cat=torch.cat, stack=torch.stack, where=torch.where, leaky_relu=F.leaky_relu,
                        const=torch.from_numpy, index=torch.from_numpy, index_tensor=torch.from_numpy, torch=True)

IDX = np.array([2, 0, 2, -1])                 # repeated and negative indices
ROWS = np.array([[0, 1], [1, 1]])

# name: (fn, [(shape, kind), ...]); kinds: any, pos (> 0.2), nz (|x| > 0.5), bool
CASES = {
    # arithmetic with broadcasting: rank differences, size-1 axes, 0-d
    "add": (lambda ns, x, y: x + y, [((2, 3, 4), "any"), ((3, 1), "any")]),
    "add_0d": (lambda ns, x, y: x + y, [((), "any"), ((2, 3), "any")]),
    "sub": (lambda ns, x, y: x - y, [((4,), "any"), ((3, 1, 4), "any")]),
    "mul": (lambda ns, x, y: x * y, [((2, 1, 4), "any"), ((3, 1), "any")]),
    "div": (lambda ns, x, y: x / y, [((3, 4), "any"), ((4,), "nz")]),
    "pow": (lambda ns, x, y: x ** y, [((3, 4), "pos"), ((3, 1), "any")]),
    "neg": (lambda ns, x: -x, [((3, 4), "any")]),
    "methods": (lambda ns, x, y: x.add(y).mul(y).sub(x).div(y * y + 1).pow(2), [((3, 4), "any"), ((4,), "any")]),
    "scalars": (lambda ns, x: (2.5 + x) * 3 - 1.5 / (x * x + 1) + (2.0 - x) / 4.0, [((3, 4), "any")]),
    "pow_scalars": (lambda ns, x: x ** 3 + x ** 2.5 + x ** -1.5 + 2.0 ** x + x ** 0.5, [((5,), "pos")]),
    "ndarray_consts": (lambda ns, x: ns.const(np.full((3, 1), 2.0)) - x * ns.const(np.arange(4.0)) + x
                       / ns.const(np.ones(4) * 3), [((2, 3, 4), "any")]),
    "matmul_2d": (lambda ns, x, y: x @ y, [((3, 4), "any"), ((4, 2), "any")]),
    "matmul_1d_1d": (lambda ns, x, y: x @ y, [((4,), "any"), ((4,), "any")]),
    "matmul_1d_2d": (lambda ns, x, y: x @ y, [((4,), "any"), ((4, 3), "any")]),
    "matmul_2d_1d": (lambda ns, x, y: x.matmul(y), [((3, 4), "any"), ((4,), "any")]),
    "matmul_1d_3d": (lambda ns, x, y: x @ y, [((4,), "any"), ((2, 4, 3), "any")]),
    "matmul_batched": (lambda ns, x, y: x @ y, [((2, 1, 3, 4), "any"), ((5, 4, 2), "any")]),
    "matmul_const": (lambda ns, x: ns.const(np.arange(6.0).reshape(2, 3)) @ x, [((3, 2), "any")]),
    # elementwise
    "exp": (lambda ns, x: x.exp(), [((3, 4), "any")]),
    "log": (lambda ns, x: x.log(), [((3, 4), "pos")]),
    "sqrt": (lambda ns, x: x.sqrt(), [((3, 4), "pos")]),
    "abs": (lambda ns, x: x.abs(), [((3, 4), "nz")]),
    "tanh": (lambda ns, x: x.tanh(), [((3, 4), "any")]),
    "sigmoid": (lambda ns, x: (x * 8).sigmoid(), [((3, 4), "any")]),
    "relu": (lambda ns, x: x.relu(), [((3, 4), "nz")]),
    "leaky_relu": (lambda ns, x: ns.leaky_relu(x) + ns.leaky_relu(x, 0.2), [((3, 4), "nz")]),
    "clamp": (lambda ns, x: x.clamp(-0.5, 0.5) + x.clamp(min=-0.3) + x.clamp(max=0.2), [((4, 5), "any")]),
    # reductions
    "sum": (lambda ns, x: (x.sum(), x.sum(1), x.sum((0, 2), keepdim=True), x.sum(-1, keepdim=True)),
            [((2, 3, 4), "any")]),
    "mean": (lambda ns, x: (x.mean(), x.mean(0), x.mean((-1, 0)), x.mean(1, keepdim=True)), [((2, 3, 4), "any")]),
    "var": (lambda ns, x: (x.var(), x.var(1), x.var((0, 2), keepdim=True, correction=0),
                           x.var(-1, correction=2)), [((2, 3, 4), "any")]),
    "std": (lambda ns, x: (x.std(), x.std(0), x.std((1, 2), correction=0)), [((2, 3, 4), "any")]),
    "max_min": (lambda ns, x: (x.max(), x.min()), [((3, 4), "any")]),
    "max_dim": (lambda ns, x: tuple(x.max(1)) + tuple(x.max(0, keepdim=True)), [((3, 4), "any")]),
    "min_dim": (lambda ns, x: tuple(x.min(-1)) + tuple(x.min(1, keepdim=True)), [((2, 3, 4), "any")]),
    "amax_amin": (lambda ns, x: (x.amax(), x.amax((0, 2)), x.amin(1, keepdim=True), x.amin(-1)),
                  [((2, 3, 4), "any")]),
    "softmax": (lambda ns, x: (x.softmax(-1), x.softmax(0)), [((3, 4), "any")]),
    "log_softmax": (lambda ns, x: (x.log_softmax(1), x.log_softmax(dim=0)), [((3, 4), "any")]),
    "logsumexp": (lambda ns, x: (x.logsumexp(1), x.logsumexp((0, 2), keepdim=True)), [((2, 3, 4), "any")]),
    # movement
    "reshape_view": (lambda ns, x: (x.reshape(4, 6), x.reshape(-1), x.view(2, -1), x.view((6, 4))),
                     [((2, 3, 4), "any")]),
    "flatten": (lambda ns, x: (x.flatten(), x.flatten(1), x.flatten(0, 1), x.flatten(-2, -1)), [((2, 3, 4), "any")]),
    "transpose_permute": (lambda ns, x: (x.transpose(0, 2), x.transpose(-1, 1), x.permute(2, 0, 1),
                                         x.permute((1, 0, 2))), [((2, 3, 4), "any")]),
    "T": (lambda ns, x: x.T, [((3, 4), "any")]),
    "unsqueeze_squeeze": (lambda ns, x: (x.unsqueeze(0), x.unsqueeze(-1), x.unsqueeze(1).squeeze(1), x.squeeze(),
                                         x.squeeze(1), x.squeeze(0)), [((3, 1, 4), "any")]),
    "expand": (lambda ns, x: (x.expand(3, 2, 4), x.expand(-1, 5, -1), x.expand(2, 3, 3, 4)), [((3, 1, 4), "any")]),
    "getitem_basic": (lambda ns, x: (x[1], x[:, 1:3], x[None, ..., 1], x[1:, ::2, -1], x[..., None]),
                      [((3, 4, 5), "any")]),
    "getitem_int_arrays": (lambda ns, x: (x[ns.index(IDX)], x[ns.index(ROWS), 1:], x[:, ns.index(IDX)],
                                          x[ns.index(IDX), ns.index(np.array([0, 1, 1, 3]))]),
                           [((3, 4), "any")]),
    "getitem_int_tensor": (lambda ns, x: x[ns.index_tensor(IDX)] * 2, [((3, 4), "any")]),
    "getitem_bool_mask": (lambda ns, x: x[x > 0], [((3, 4), "any")]),
    # joining and selection
    "cat": (lambda ns, x, y: (ns.cat([x, y, x], 1), ns.cat([x, x], dim=-2), ns.cat([y])), [((2, 3), "any"),
                                                                                            ((2, 5), "any")]),
    "stack": (lambda ns, x, y: (ns.stack([x, y]), ns.stack([x, y, x], dim=-1), ns.stack([y], 1)),
              [((2, 3), "any"), ((2, 3), "any")]),
    "where": (lambda ns, c, x, y: ns.where(c, x, y), [((3, 1), "bool"), ((4,), "any"), ((2, 1, 1), "any")]),
    "where_scalars": (lambda ns, c, x: (ns.where(c, x, 2.0), ns.where(c, -1.5, x), ns.where(x > 0, x, x * x)),
                      [((3, 4), "bool"), ((3, 4), "any")]),
    "comparisons": (lambda ns, x, y: (x < y, x <= 0.5, x > y, x >= y, x == x, x != y, 1.0 < x),
                    [((3, 4), "any"), ((4,), "any")]),
    "casts": (lambda ns, x: (x.double() * 2, x.float() * 3), [((3,), "any")]),
    # a small network: several ops sharing inputs
    "mlp": (lambda ns, x, w, b: ((x @ w.T + b).relu() @ w).log_softmax(-1).sum() + (x * x).mean(),
            [((5, 4), "any"), ((3, 4), "any"), ((3,), "any")]),
}


def _inputs(specs, seed):
    rng = np.random.default_rng(seed)
    out = []
    for shape, kind in specs:
        if kind == "bool":
            out.append(rng.random(shape) > 0.5)
        elif kind == "pos":
            out.append(rng.uniform(0.2, 3.0, shape))
        elif kind == "nz":
            out.append(rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape))
        else:
            out.append(rng.standard_normal(shape))
    return out


def _run(ns, fn, arrays, dtype, seed):
    """Forward, then backward of Σ ⟨g_k, out_k⟩ with fixed random g_k; returns (outputs, grads) as ndarrays."""
    if ns.torch:
        ts = [torch.from_numpy(a) if a.dtype == bool else torch.tensor(a.astype(dtype), requires_grad=True)
              for a in arrays]
    else:
        ts = [tg.tensor(a) if a.dtype == bool else tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    outs = fn(ns, *ts)
    outs = outs if isinstance(outs, tuple) else (outs,)
    rng = np.random.default_rng(seed + 1000)
    loss = None
    for o in outs:
        if o.requires_grad:
            g = rng.standard_normal(tuple(o.shape)).astype(dtype)
            term = (o * (torch.from_numpy(g) if ns.torch else g)).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    as_np = (lambda t: t.detach().numpy()) if ns.torch else (lambda t: t.numpy())
    grads = [None if t.grad is None else as_np(t.grad) for t in ts if t.requires_grad]
    return [as_np(o) for o in outs], grads


def _compare(name, fn, specs, dtype, seed, rtol, atol):
    arrays = _inputs(specs, seed)
    ours, our_grads = _run(TG, fn, arrays, dtype, seed)
    theirs, their_grads = _run(TORCH, fn, arrays, dtype, seed)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"{name} output {k}: shape {a.shape} vs torch {b.shape}"
        assert a.dtype == b.dtype, f"{name} output {k}: dtype {a.dtype} vs torch {b.dtype}"
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{name} output {k}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{name} output {k}")
    for k, (a, b) in enumerate(zip(our_grads, their_grads)):
        assert (a is None) == (b is None), f"{name} input {k}: grad presence differs"
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{name} grad of input {k}")


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_and_gradients_match_torch_float64(name, seed):
    fn, specs = CASES[name]
    _compare(name, fn, specs, np.float64, seed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_float32_dtypes_and_values_match_torch(name):
    if name == "matmul_const":
        pytest.skip("torch refuses float32 @ float64 (NumPy and we promote to float64)")
    fn, specs = CASES[name]
    _compare(name, fn, specs, np.float32, 0, rtol=1e-5, atol=1e-6)


KINK_CASES = {
    "relu_at_0": (lambda ns, x: x.relu(), [-1.0, 0.0, 2.0]),
    "abs_at_0": (lambda ns, x: x.abs(), [-1.0, 0.0, 2.0]),
    "leaky_at_0": (lambda ns, x: ns.leaky_relu(x, 0.1), [-1.0, 0.0, 2.0]),
    "clamp_at_bounds": (lambda ns, x: x.clamp(-1.0, 1.0), [-1.0, -0.5, 1.0, 2.0]),
    "clamp_min_at_bound": (lambda ns, x: x.clamp(min=0.0), [0.0, 1.0, -1.0]),
    "max_ties": (lambda ns, x: x.max(), [1.0, 3.0, 3.0, 2.0]),
    "min_ties": (lambda ns, x: x.min(), [1.0, 0.5, 0.5, 2.0]),
    "amax_ties": (lambda ns, x: x.reshape(2, 3).amax(1), [1.0, 3.0, 3.0, 2.0, 2.0, 2.0]),
    "amin_ties": (lambda ns, x: x.reshape(2, 3).amin(0), [1.0, 3.0, 0.0, 1.0, 2.0, 0.0]),
    "sqrt_of_large": (lambda ns, x: x.sqrt(), [1e-4, 1e4]),
    "sigmoid_huge": (lambda ns, x: x.sigmoid(), [-1e4, -50.0, 0.0, 50.0, 1e4]),
    "log_softmax_huge": (lambda ns, x: x.log_softmax(0), [1000.0, 1001.0, -1000.0]),
    "logsumexp_huge": (lambda ns, x: x.logsumexp(0), [1000.0, 1001.0, 999.0]),
}


@pytest.mark.parametrize("name", list(KINK_CASES))
def test_kinks_ties_and_extremes_match_torch(name):
    fn, values = KINK_CASES[name]
    x = tg.tensor(np.array(values), requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        ours = fn(TG, x)
        ours.sum().backward()
    theirs = fn(TORCH, t)
    theirs.sum().backward()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=0)


def test_max_dim_ties_pick_the_same_element_as_torch():
    values = [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]
    x = tg.tensor(np.array(values), requires_grad=True)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    ov, oi = x.max(1)
    tv, ti = t.max(1)
    ov.sum().backward()
    tv.sum().backward()
    assert oi.tolist() == ti.tolist()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_default_dtypes_match_torch():
    pairs = [(tg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])), (tg.tensor([1, 2]), torch.tensor([1, 2])),
             (tg.tensor(1.5), torch.tensor(1.5)), (tg.zeros(2), torch.zeros(2)), (tg.arange(3), torch.arange(3)),
             (tg.arange(0, 1, 0.5), torch.arange(0, 1, 0.5)), (tg.eye(2), torch.eye(2)),
             (tg.full((2,), 3), torch.full((2,), 3)), (tg.full((2,), 3.0), torch.full((2,), 3.0)),
             (tg.tensor([1.0]) * 2.0, torch.tensor([1.0]) * 2.0), (tg.tensor([1.0]) * 2, torch.tensor([1.0]) * 2)]
    for ours, theirs in pairs:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours, theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
