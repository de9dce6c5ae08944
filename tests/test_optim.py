"""Optimizers: several steps equal a plain-NumPy transcription of each update rule (written here, from
PyTorch's documented algorithms) and PyTorch's own numbers; in-place updates without per-step
allocations; grads never written; param groups; state dicts that survive tg.save/tg.load."""
import tracemalloc

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim

STEPS = 5


def numpy_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    buf, out = None, []
    for g in grads:
        d = g + weight_decay * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
        out.append(p)
    return out


def numpy_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    m, v, vmax, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / np.sqrt(1 - betas[1] ** t) + eps
        p = p - lr / (1 - betas[0] ** t) * m / denom
        out.append(p)
    return out


def numpy_rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    v, g_avg, buf, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for g in grads:
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            avg = np.sqrt(v - g_avg * g_avg) + eps
        else:
            avg = np.sqrt(v) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        out.append(p)
    return out


CASES = [
    (optim.SGD, dict(lr=0.1), numpy_sgd),
    (optim.SGD, dict(lr=0.1, momentum=0.9), numpy_sgd),
    (optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01), numpy_sgd),
    (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), numpy_sgd),
    (optim.Adam, dict(lr=0.01), numpy_adam),
    (optim.Adam, dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, amsgrad=True), numpy_adam),
    (optim.AdamW, dict(lr=0.01), lambda p, g, **kw: numpy_adam(p, g, decoupled=True, weight_decay=1e-2, **kw)),
    (optim.AdamW, dict(lr=0.01, weight_decay=0.5, amsgrad=True),
     lambda p, g, **kw: numpy_adam(p, g, decoupled=True, **kw)),
    (optim.RMSprop, dict(lr=0.01), numpy_rmsprop),
    (optim.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.5, centered=True), numpy_rmsprop),
]


def gradient_sequence(shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * (1 + k) for k in range(STEPS)]


def run(cls, kwargs, p0, grads, scalar_grads=False):
    """`scalar_grads`: hand 0-d gradients over as NumPy scalars, as 0-d arithmetic in a backward makes them
    (e.g. the gradient of p * p); a Tensor built from a scalar would hold a 0-d array instead."""
    p = nn.Parameter(p0.copy())
    opt = cls([p], **kwargs)
    data = p.numpy()
    out = []
    for g in grads:
        g = g.astype(p0.dtype)
        g.flags.writeable = False                       # any write into the gradient would raise
        p.grad = tg.Tensor(g)
        if scalar_grads:
            p.grad.data = g[()]
        opt.step()
        out.append(p.numpy().copy())
    assert p.numpy() is data                               # updated in place
    return out, opt


@pytest.mark.parametrize("cls, kwargs, reference", CASES, ids=lambda v: getattr(v, "__name__", None))
def test_steps_equal_numpy_transcription(cls, kwargs, reference):
    p0 = np.random.default_rng(1).standard_normal((3, 4))
    grads = gradient_sequence(p0.shape)
    ours, _ = run(cls, kwargs, p0, grads)
    # same formulas in float64, only the order of a few roundings differs: 1e-12 leaves a 1e3 margin
    for k, (a, b) in enumerate(zip(ours, reference(p0, grads, **kwargs))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {k + 1}")


def assert_steps_equal_torch(cls, kwargs, p0, grads, scalar_grads=False):
    """Parameters after every step, and the final state, equal torch.optim's for the same start."""
    torch = pytest.importorskip("torch")
    ours, opt = run(cls, kwargs, p0, grads, scalar_grads)
    tp = torch.nn.Parameter(torch.tensor(p0))
    topt = getattr(torch.optim, cls.__name__)([tp], **kwargs)
    # float64: the same operations in the same order, so agreement to rounding; float32: a few ulps
    rtol = 1e-12 if p0.dtype == np.float64 else 1e-5
    for k, g in enumerate(grads):
        tp.grad = torch.tensor(g.astype(p0.dtype))
        topt.step()
        np.testing.assert_allclose(ours[k], tp.detach().numpy(), rtol=rtol, atol=rtol * 1e-2, err_msg=f"step {k + 1}")
    ours_state, torch_state = opt.state_dict()["state"].get(0, {}), topt.state_dict()["state"].get(0, {})
    for key, value in torch_state.items():
        if key != "step" and value is not None:
            np.testing.assert_allclose(ours_state[key], value.numpy(), rtol=rtol, atol=rtol * 1e-2, err_msg=key)


@pytest.mark.parametrize("cls, kwargs, reference", CASES, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_steps_equal_torch(cls, kwargs, reference, dtype):
    p0 = np.random.default_rng(2).standard_normal((3, 4)).astype(dtype)
    assert_steps_equal_torch(cls, kwargs, p0, gradient_sequence(p0.shape, seed=3))


def mlp(seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double()


def test_training_loop_matches_torch():
    torch = pytest.importorskip("torch")
    ours = mlp(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 6)), rng.integers(0, 3, 10)
    opt, topt = optim.Adam(ours.parameters(), lr=0.05), torch.optim.Adam(theirs.parameters(), lr=0.05)
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(ours(tg.Tensor(x)), y)
        loss.backward()
        opt.step()
        topt.zero_grad()
        tloss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        tloss.backward()
        topt.step()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=1e-10, err_msg=k)


@pytest.mark.parametrize("cls, kwargs", [(optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)),
                                         (optim.SGD, dict(lr=0.1)),
                                         (optim.Adam, dict(weight_decay=1e-4, amsgrad=True)),
                                         (optim.AdamW, dict()),
                                         (optim.RMSprop, dict(momentum=0.9, centered=True, weight_decay=1e-4))])
def test_step_allocates_no_parameter_sized_arrays(cls, kwargs):
    p = nn.Parameter(np.zeros(100_000, np.float32))     # 400 kB
    p.grad = tg.Tensor(np.ones(100_000, np.float32))
    opt = cls([p], **kwargs)
    opt.step()                                          # first step creates state and scratch buffers
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            opt.step()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 40_000, f"{cls.__name__}.step allocated {peak} bytes (a parameter is 400,000)"


def test_zero_grad_skips_missing_grads_and_param_groups():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 1.0}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0] and opt.param_groups[0]["momentum"] == 0
    a.grad, b.grad = tg.Tensor(np.ones(2)), None
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.9)
    np.testing.assert_allclose(b.numpy(), 1.0)                     # no grad: untouched
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(a.numpy(), 0.4)
    opt.zero_grad()
    assert a.grad is None
    assert opt.step(closure=lambda: 42.0) == 42.0


ZERO_GRAD_ENTRY_POINTS = {"Module": lambda model: model.zero_grad,
                          "Optimizer": lambda model: optim.SGD(model.parameters(), lr=0.1).zero_grad}


@pytest.mark.parametrize("entry", ZERO_GRAD_ENTRY_POINTS.values(), ids=ZERO_GRAD_ENTRY_POINTS.keys())
def test_zero_grad_through_module_and_optimizer(entry):
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1)).double()
    weight, bias = model[0].weight, model[0].bias
    model(tg.Tensor(np.ones((4, 3)))).sum().backward()
    model[1].bias.grad = None                                   # a parameter without a gradient stays so
    old = weight.grad
    old_values = old.numpy().copy()
    entry(model)(set_to_none=False)
    assert model[1].bias.grad is None
    for p in (weight, bias):
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype and not p.grad.requires_grad
        np.testing.assert_array_equal(p.grad.numpy(), np.zeros(p.shape))
    assert weight.grad is not old and not np.shares_memory(weight.grad.numpy(), old.numpy())
    np.testing.assert_array_equal(old.numpy(), old_values)        # fresh zeros: the old gradient is not written
    assert not np.shares_memory(weight.grad.numpy(), bias.grad.numpy())
    entry(model)()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop])
def test_state_dict_round_trip_through_files_continues_identically(cls, tmp_path):
    kwargs = dict(lr=0.05, momentum=0.9) if cls in (optim.SGD, optim.RMSprop) else dict(lr=0.05)
    rng = np.random.default_rng(5)
    x, y = tg.Tensor(rng.standard_normal((12, 6))), rng.integers(0, 3, 12)

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

    straight = mlp(1)
    opt = cls(straight.parameters(), **kwargs)
    train(straight, opt, 5)
    first = mlp(1)
    opt1 = cls(first.parameters(), **kwargs)
    train(first, opt1, 3)
    tg.save({"model": first.state_dict(), "optim": opt1.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = tg.load(tmp_path / "ckpt.npz")
    resumed = mlp(2)
    opt2 = cls(resumed.parameters(), **kwargs)
    resumed.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.param_groups[0]["lr"] == 0.05
    train(resumed, opt2, 2)
    for k, v in straight.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[k], v, err_msg=k)


def test_load_state_dict_errors_leave_the_optimizer_unchanged():
    p, q = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = tg.Tensor(np.ones(3)), tg.Tensor(np.ones(2))
    opt.step()
    before = opt.state_dict()
    bad = opt.state_dict()
    bad["state"][0]["exp_avg"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: state 'exp_avg' of parameter 0 has shape \(4,\)"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="parameter group 0 has 1 parameters in the saved state but 2 here"):
        optim.Adam([p, q]).load_state_dict(optim.Adam([p]).state_dict())
    with pytest.raises(ValueError, match="saved state has 2 parameter groups"):
        optim.Adam([p, q]).load_state_dict(optim.Adam([{"params": [p]}, {"params": [q]}]).state_dict())
    after = opt.state_dict()
    np.testing.assert_array_equal(after["state"][0]["exp_avg"], before["state"][0]["exp_avg"])
    assert after["param_groups"] == before["param_groups"]


def test_constructor_errors():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="params must be an iterable"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="SGD: lr must be a number >= 0, got -0.1"):
        optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be a number in \[0, 1\), got 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="appears in more than one place"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)


HYPER_PARAMETERS = [(optim.SGD, dict(lr=0.1), ["lr", "momentum", "weight_decay"]),
                    (optim.Adam, {}, ["lr", "eps", "weight_decay"]),
                    (optim.AdamW, {}, ["lr", "eps", "weight_decay"]),
                    (optim.RMSprop, {}, ["lr", "alpha", "eps", "weight_decay", "momentum"])]


@pytest.mark.parametrize("cls, base, names", HYPER_PARAMETERS, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("bad", [-1, float("nan"), True, "0.1", None])
def test_hyper_parameters_must_be_numbers_at_least_zero(cls, base, names, bad):
    p = nn.Parameter(np.ones(2))
    for name in names:
        with pytest.raises(ValueError, match=rf"^{cls.__name__}: {name} must be a number >= 0, got {bad!r}$"):
            cls([p], **{**base, name: bad})
    cls([p], **{**base, **{name: np.float32(0.5) for name in names}})     # NumPy scalars are numbers too


@pytest.mark.parametrize("cls", [optim.Adam, optim.AdamW])
def test_betas_are_each_in_zero_one(cls):
    p = nn.Parameter(np.ones(2))
    name = cls.__name__
    for betas, index, bad in [((1.0, 0.9), 0, 1.0), ((0.9, -0.1), 1, -0.1), ((0.9, float("nan")), 1, float("nan")),
                              ((0.9, True), 1, True)]:
        with pytest.raises(ValueError, match=rf"^{name}: betas\[{index}\] must be a number in \[0, 1\), got {bad!r}$"):
            cls([p], betas=betas)
    for betas in [(0.9,), (0.9, 0.99, 0.999), 0.9]:
        with pytest.raises(ValueError, match=rf"^{name}: betas must be a pair of numbers in \[0, 1\)"):
            cls([p], betas=betas)
    assert cls([p], betas=[0.0, 0.5]).param_groups[0]["betas"] == (0.0, 0.5)


ZERO_DIM_GRADS = [np.array(v) for v in (0.5, -1.25, 2.0, 0.25, -0.75)]


@pytest.mark.parametrize("scalar_grads", [False, True], ids=["0-d array grads", "NumPy scalar grads"])
@pytest.mark.parametrize("cls, kwargs, reference", CASES, ids=lambda v: getattr(v, "__name__", None))
def test_zero_dim_parameter_steps_equal_numpy_transcription(cls, kwargs, reference, scalar_grads):
    p0 = np.array(0.7)
    ours, opt = run(cls, kwargs, p0, ZERO_DIM_GRADS, scalar_grads)
    for k, (a, b) in enumerate(zip(ours, reference(p0, ZERO_DIM_GRADS, **kwargs))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {k + 1}")
    for key, value in opt.state[next(iter(opt.state))].items():
        assert key == "step" or (isinstance(value, np.ndarray) and value.shape == ()), key


@pytest.mark.parametrize("cls, kwargs, reference", CASES, ids=lambda v: getattr(v, "__name__", None))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_dim_parameter_steps_equal_torch(cls, kwargs, reference, dtype):
    assert_steps_equal_torch(cls, kwargs, np.array(0.7, dtype), ZERO_DIM_GRADS, scalar_grads=True)


def test_sgd_momentum_on_a_zero_dim_parameter_matches_the_closed_form():
    # constant gradient g: the buffer after k steps is g·(1 − μ^k)/(1 − μ), and p moves by lr times each buffer
    lr, mu, g, steps = 0.1, 0.9, 2.0, 6
    ours, opt = run(optim.SGD, dict(lr=lr, momentum=mu), np.array(1.0), [np.array(g)] * steps, scalar_grads=True)
    buffers = [g * (1 - mu ** k) / (1 - mu) for k in range(1, steps + 1)]
    np.testing.assert_allclose(ours, 1.0 - lr * np.cumsum(buffers), rtol=1e-12)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["momentum_buffer"], buffers[-1], rtol=1e-12)


def _frozen(array):
    array.flags.writeable = False
    return array


READ_ONLY = {"np.broadcast_to": lambda: np.broadcast_to(np.ones(3), (2, 3)),
             "writeable=False": lambda: _frozen(np.ones((2, 3))),
             "zero-stride writeable view": lambda: np.lib.stride_tricks.as_strided(np.ones(3), (2, 3), (0, 8))}


@pytest.mark.parametrize("kind", READ_ONLY)
@pytest.mark.parametrize("cls, kwargs", [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(amsgrad=True)),
                                         (optim.AdamW, {}), (optim.RMSprop, dict(momentum=0.5, centered=True))])
def test_step_refuses_a_parameter_it_cannot_update_in_place_before_changing_anything(cls, kwargs, kind):
    p = nn.Parameter(np.ones(3))
    source = READ_ONLY[kind]()
    q = tg.Tensor(source, requires_grad=True)
    assert np.shares_memory(q.numpy(), source)             # the Tensor kept the array it was given
    opt = cls([p, q], **kwargs)
    p.grad = tg.Tensor(np.full(3, 0.5))
    opt.step()                                          # q has no gradient yet: fine, it is not written
    before, p_before, q_before = opt.state_dict(), p.numpy().copy(), q.numpy().copy()
    p.grad, q.grad = tg.Tensor(np.full(3, 2.0)), tg.Tensor(np.ones((2, 3)))
    problem = "repeats its elements in memory" if kind.startswith("zero-stride") else "is read-only"
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.step: cannot update the parameter of shape \(2, 3\) "
                                         rf"in place: its array {problem}"):
        opt.step()
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"] and after["state"].keys() == before["state"].keys() == {0}
    for key, value in before["state"][0].items():
        np.testing.assert_array_equal(after["state"][0][key], value, err_msg=key)
    np.testing.assert_array_equal(p.numpy(), p_before)
    np.testing.assert_array_equal(q.numpy(), q_before)
