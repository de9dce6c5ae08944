"""tg.compile: a compiled step gives eager's numbers (bit for bit) and retraces when it must. What it
refuses to capture is in test_compile_refusals.py, its generated source in test_compile_source.py; the
shared models, steps and batches in compile_helpers.py.

Every comparison builds two identical models from one seed, trains one eagerly and one through the
compiled step on the same batches, and compares all parameters with `np.array_equal`: the generated
program performs the eager ops' arithmetic in the same order (emitters.py) or calls the same kernels,
so no tolerance is needed — and any tolerance would hide a reordered sum.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_np as tg
from tinygrad_np import nn, optim
import tinygrad_np.nn.functional as F
from tinygrad_np.compiler import TraceError
from compile_helpers import ACTIVATIONS, OPTIMIZERS, assert_same_params, batches, make_step, mlp, train_both


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_mlp_steps_equal_eager_bit_for_bit(opt_name):
    step = train_both([12, 16, 5], "relu", opt_name, "ce", np.float32)
    assert step.traces == 1                                  # one signature: traced once, replayed 11 times


@given(sizes=st.lists(st.integers(1, 9), min_size=2, max_size=4), act=st.sampled_from(sorted(ACTIVATIONS)),
       opt_name=st.sampled_from(sorted(OPTIMIZERS)), loss_name=st.sampled_from(["ce", "mse", "bce"]),
       dtype=st.sampled_from([np.float32, np.float64]), batch=st.integers(1, 6))
def test_drawn_mlps_equal_eager(sizes, act, opt_name, loss_name, dtype, batch):
    if loss_name == "ce" and sizes[-1] < 2:
        sizes = sizes[:-1] + [2]
    train_both(sizes, act, opt_name, loss_name, dtype, steps=5, batch=batch)


def cnn(seed, dtype=np.float32):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3),
                         nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)).to(dtype)


@given(opt_name=st.sampled_from(sorted(OPTIMIZERS)), dtype=st.sampled_from([np.float32, np.float64]),
       batch=st.integers(2, 4))
def test_cnn_steps_equal_eager(opt_name, dtype, batch):
    a, b = cnn(3, dtype), cnn(3, dtype)
    sa = make_step(a, OPTIMIZERS[opt_name](a.parameters()), "ce")
    sb = tg.compile(make_step(b, OPTIMIZERS[opt_name](b.parameters()), "ce"))
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = tg.tensor(rng.standard_normal((batch, 1, 8, 8)).astype(dtype))
        y = tg.tensor(rng.integers(0, 3, batch))
        assert sa(x, y).item() == sb(x, y).item()
    assert_same_params(a, b, "cnn")
    assert "Convolution.forward" in sb.source()               # conv replays as one call into the kernel


def test_retrace_on_every_signature_change():
    model = mlp([4, 6, 3], "relu", 0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = tg.compile(make_step(model, opt, "ce"))
    x8, y8 = next(batches(1, 8, 4, 3, "ce", np.float32))
    x5, y5 = next(batches(1, 5, 4, 3, "ce", np.float32))
    step(x8, y8); step(x8, y8)
    assert step.traces == 1
    step(x5, y5)                                              # a partial batch: its own trace
    assert step.traces == 2 and "(5, 6)" in step.source()
    step(x8, y8)                                              # back to the first program, no new trace
    assert step.traces == 2 and "(8, 6)" in step.source()
    step(tg.tensor(x8.numpy().astype(np.float64)), y8)       # a new dtype
    assert step.traces == 3
    model.eval(); step(x8, y8); model.train()                # a module's mode
    assert step.traces == 4
    model[0].weight.requires_grad_(False)                     # an outside tensor's requires_grad
    step(x8, y8)
    assert step.traces == 5 and model[0].weight.grad is None
    model[0].weight.requires_grad_(True)
    with tg.no_grad():                                        # grad mode: no backward possible, eager's error
        with pytest.raises(RuntimeError, match="does not require grad"):
            step(x8, y8)
    x_grad = tg.tensor(x8.numpy(), requires_grad=True)        # an argument's requires_grad
    step(x_grad, y8)
    assert x_grad.grad is not None and x_grad.grad.shape == (8, 4)


def test_dropout_fresh_masks_and_batchnorm_stats_match_eager():
    train_both([6, 10, 3], "relu", "adam", "ce", np.float32, steps=8, dropout=0.5, batchnorm=True)
    model = mlp([6, 10, 3], "relu", 0, dropout=0.5)
    opt = optim.SGD(model.parameters(), lr=0.0)               # lr 0: only the masks change the loss
    step = tg.compile(make_step(model, opt, "ce"))
    x, y = next(batches(1, 16, 6, 3, "ce", np.float32))
    losses = {step(x, y).item() for _ in range(5)}
    assert len(losses) == 5                                   # every replay drew a new mask


def test_batchnorm_running_stats_and_counter_update_on_replay():
    model = mlp([5, 7, 2], "relu", 0, batchnorm=True)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = tg.compile(make_step(model, opt, "ce"))
    for x, y in batches(6, 8, 5, 2, "ce", np.float32):
        step(x, y)
    assert int(model[1].num_batches_tracked.numpy()) == 6
    assert not np.array_equal(model[1].running_mean.numpy(), np.zeros(7, np.float32))


def test_outside_parameter_changes_are_seen():
    a, b = mlp([4, 6, 3], "tanh", 0), mlp([4, 6, 3], "tanh", 0)
    sa = make_step(a, optim.Adam(a.parameters(), lr=0.01), "ce")
    sb = tg.compile(make_step(b, optim.Adam(b.parameters(), lr=0.01), "ce"))
    data = list(batches(6, 8, 4, 3, "ce", np.float32))
    other = mlp([4, 6, 3], "tanh", 5).state_dict()
    for i, (x, y) in enumerate(data):
        if i == 2:
            a.load_state_dict(other); b.load_state_dict(other)
        if i == 3:
            tg.manual_seed(11); nn.init.normal_(a[0].weight)
            tg.manual_seed(11); nn.init.normal_(b[0].weight)
        if i == 4:
            a[2].bias.numpy()[...] = 0.5; b[2].bias.numpy()[...] = 0.5
        assert sa(x, y).item() == sb(x, y).item()
    assert_same_params(a, b, "after outside changes")


class ScaledSquare(tg.Function):
    """s·x² with a gradient for both x and the scale s (a user Function with two inputs)."""

    @staticmethod
    def forward(ctx, x, s):
        ctx.save_for_backward(x, s)
        return s * x * x

    @staticmethod
    def backward(ctx, grad):
        x, s = ctx.saved_tensors
        return 2 * s * x * grad, (x * x * grad).sum(keepdims=True).reshape(s.shape)


def test_a_user_function_replays_through_its_forward_and_backward():
    def run(compiled):
        w = tg.tensor(np.linspace(-1, 1, 5), requires_grad=True)
        s = tg.tensor(np.array([0.7]), requires_grad=True)
        opt = optim.SGD([w, s], lr=0.01)

        def step(x):
            opt.zero_grad()
            loss = ScaledSquare.apply(w * x, s).sum()
            loss.backward()
            opt.step()
            return loss
        fn = tg.compile(step) if compiled else step
        x = tg.tensor(np.arange(5.0))
        losses = [fn(x).item() for _ in range(4)]
        return losses, w.numpy(), s.numpy(), fn
    eager, compiled = run(False), run(True)
    assert eager[0] == compiled[0]
    assert np.array_equal(eager[1], compiled[1]) and np.array_equal(eager[2], compiled[2])
    src = compiled[3].source()
    assert "ScaledSquare.forward" in src and "ScaledSquare: its own backward" in src
    # and the update really moved both parameters (the user's backward ran on every replay)
    assert not np.array_equal(compiled[1], np.linspace(-1, 1, 5)) and compiled[2][0] != 0.7


@pytest.mark.parametrize("threads", [1, 2])
def test_large_products_replay_on_eager_threads(threads):
    """Products past threads.PARALLEL_FLOPS are split over the threads in eager mode; the replay calls the
    same threaded matmul (named in the source), so it stays bit for bit equal at any thread count."""
    before = tg.get_num_threads()
    tg.set_num_threads(threads)
    try:
        results = []
        for compiled in (False, True):
            model = mlp([2048, 512, 10], "relu", 3)                  # 2·64·2048·512 ≈ 1.3e8 flops per product
            opt = optim.SGD(model.parameters(), lr=0.05)
            step = make_step(model, opt, "ce")
            run = tg.compile(step) if compiled else step
            for x, y in batches(3, 64, 2048, 10, "ce", np.float32):
                run(x, y)
            results.append([p.numpy().copy() for p in model.parameters()])
        assert all(np.array_equal(a, b) for a, b in zip(*results))
        assert "(threaded)" in run.source() and "np.matmul" in run.source()   # the 512→10 layer stays NumPy's
    finally:
        tg.set_num_threads(before)


def test_grad_set_to_none_by_hand_is_replayed():
    """`p.grad = None` inside the step (a hand-written zero_grad) must happen on every replay, or the
    replays would accumulate gradients that eager mode forgets."""
    results = []
    for compiled in (False, True):
        model = mlp([3, 4, 2], "tanh", 0)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            for p in model.parameters():
                p.grad = None
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss
        run = tg.compile(step) if compiled else step
        rng = np.random.default_rng(1)
        for _ in range(4):
            run(tg.tensor(rng.standard_normal((5, 3)).astype(np.float32)),
                tg.tensor(rng.standard_normal((5, 2)).astype(np.float32)))
        results.append([p.numpy() for p in model.parameters()])
    assert all(np.array_equal(a, b) for a, b in zip(*results))

    model = mlp([3, 2], "relu", 0)

    @tg.compile
    def sets_grad(x):
        model[0].weight.grad = tg.zeros(2, 3)
        return model(x).sum()
    with pytest.raises(TraceError, match=r"\.grad inside a compiled step"):
        sets_grad(tg.randn(2, 3))
    w = tg.ones(2, requires_grad=True)
    w.grad = tg.ones(2)                                       # plain attribute again after the failure
    assert w.grad.numpy().tolist() == [1.0, 1.0]


def test_replayed_batches_are_checked_like_eager_and_lr_changes_are_seen():
    model = mlp([4, 5, 3], "relu", 0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    twin = mlp([4, 5, 3], "relu", 0)
    twin_opt = optim.SGD(twin.parameters(), lr=0.1)
    step, eager = tg.compile(make_step(model, opt, "ce")), make_step(twin, twin_opt, "ce")
    x, y = next(batches(1, 6, 4, 3, "ce", np.float32))
    step(x, y); eager(x, y)
    for bad in ([0, 1, 2, 3, 0, 1], [0, -1, 2, 1, 0, 1], [0, -100, 2, 1, 0, 1]):
        before = [p.numpy().copy() for p in model.parameters()]
        with pytest.raises(ValueError, match="cross_entropy"):
            step(x, tg.tensor(np.array(bad)))
        assert all(np.array_equal(b, p.numpy()) for b, p in zip(before, model.parameters()))   # nothing changed
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    twin_sched = optim.lr_scheduler.StepLR(twin_opt, step_size=1, gamma=0.5)
    for _ in range(3):
        step(x, y); eager(x, y); sched.step(); twin_sched.step()
    assert_same_params(model, twin, "with a scheduler")
    assert step.traces == 1


@pytest.mark.parametrize("name", ["rabbit_cat_mlp", "catnoncat_deep", "cnn_binary", "digits_mlp", "mnist_binary",
                                  "mnist_mlp", "mnist_cnn"])
def test_every_registry_model_compiled_equals_eager(name):
    from models.registry import get_spec
    spec = get_spec(name)
    models_ = []
    for _ in range(2):
        tg.manual_seed(3)
        models_.append(spec.build())
    rng = np.random.default_rng(0)
    batch = 3
    x = tg.tensor(rng.random((batch, *spec.default_input_shape), dtype=np.float32))
    if spec.head == "sigmoid":
        y, loss_fn = tg.tensor(rng.integers(0, 2, (batch, 1)).astype(np.float32)), F.binary_cross_entropy_with_logits
    else:
        y, loss_fn = tg.tensor(rng.integers(0, spec.default_num_outputs, batch)), F.cross_entropy
    steps = []
    for m in models_:
        r = spec.recipe
        opt = optim.SGD(m.parameters(), lr=r.lr) if r.optimizer == "sgd" else \
            optim.Adam(m.parameters(), lr=r.lr, weight_decay=r.weight_decay or 0)

        def step(x, y, m=m, opt=opt):
            opt.zero_grad()
            loss = loss_fn(m(x), y)
            loss.backward()
            opt.step()
            return loss
        steps.append(step)
    compiled = tg.compile(steps[1])
    for _ in range(4):
        assert steps[0](x, y).item() == compiled(x, y).item()
    assert_same_params(models_[0], models_[1], name)
    assert compiled.traces == 1


@given(channels=st.integers(1, 3), kernel=st.integers(1, 3), pool=st.booleans(), padding=st.integers(0, 1),
       opt_name=st.sampled_from(["sgd_momentum", "adam", "rmsprop"]))
def test_drawn_cnns_equal_eager(channels, kernel, pool, padding, opt_name):
    def build():
        tg.manual_seed(2)
        layers = [nn.Conv2d(2, channels, kernel, padding=padding), nn.ReLU()]
        side = 6 + 2 * padding - kernel + 1
        if pool:
            layers.append(nn.MaxPool2d(2))
            side //= 2
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * side * side, 3))
    a, b = build(), build()
    sa = make_step(a, OPTIMIZERS[opt_name](a.parameters()), "ce")
    sb = tg.compile(make_step(b, OPTIMIZERS[opt_name](b.parameters()), "ce"))
    rng = np.random.default_rng(4)
    x = tg.tensor(rng.standard_normal((3, 2, 6, 6)).astype(np.float32))
    y = tg.tensor(rng.integers(0, 3, 3))
    for _ in range(3):
        assert sa(x, y).item() == sb(x, y).item()
    assert_same_params(a, b, "drawn cnn")


def test_an_eval_step_under_no_grad_and_gradient_accumulation_across_calls_match_eager():
    model, twin = mlp([5, 6, 3], "tanh", 0, batchnorm=True), mlp([5, 6, 3], "tanh", 0, batchnorm=True)
    model.eval(); twin.eval()

    @tg.compile
    def evaluate(x):
        with tg.no_grad():
            return model(x)
    for x, _ in batches(3, 4, 5, 3, "ce", np.float32):
        assert np.array_equal(evaluate(x).numpy(), twin(x).numpy())
    assert evaluate.traces == 1
    model.train(); twin.train()

    def accumulate(m):
        def step(x, y):                                       # no zero_grad: .grad adds up over calls
            loss = F.cross_entropy(m(x), y)
            loss.backward()
            return loss
        return step
    compiled, eager = tg.compile(accumulate(model)), accumulate(twin)
    for x, y in batches(3, 4, 5, 3, "ce", np.float32, seed=5):
        assert compiled(x, y).item() == eager(x, y).item()
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert np.array_equal(p.grad.numpy(), q.grad.numpy()), name


def test_the_traced_call_and_the_replays_return_detached_copies():
    model = mlp([3, 2], "relu", 0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = tg.compile(make_step(model, opt, "ce"))
    x, y = next(batches(1, 4, 3, 2, "ce", np.float32))
    kept = [step(x, y) for _ in range(3)]
    assert all(t.grad_fn is None and not t.requires_grad for t in kept)
    assert len({t.item() for t in kept}) == 3                 # each call's loss kept its own value


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "leaky"])
@pytest.mark.parametrize("loss_name", ["ce", "mse", "bce"])
def test_activations_and_losses_written_out_equal_eager(act, loss_name):
    step = train_both([5, 7, 4, 3], act, "adam", loss_name, np.float64, steps=6)
    op = {"sigmoid": "SigmoidOp: σ(x)", "tanh": "TanhOp", "leaky": "LeakyReLUOp (the library's kernel)"}[act]
    assert op in step.source()


def test_relu_replay_lets_nan_through_as_eager_and_pytorch_do():
    """ReLU's gradient passes where the output is NaN (PyTorch's threshold_backward); the replay must too."""
    w = tg.tensor(np.array([1.0, 1.0, 1.0], np.float32), requires_grad=True)

    def step(x):
        w.grad = None
        loss = (x * w).relu().sum()
        loss.backward()
        return loss
    compiled = tg.compile(step)
    x = tg.tensor(np.array([2.0, -1.0, np.nan], np.float32))
    compiled(x)                                                   # the trace (eager)
    eager_grad = w.grad.numpy().copy()
    compiled(x)                                                   # a replay
    np.testing.assert_array_equal(w.grad.numpy(), eager_grad)
    np.testing.assert_array_equal(eager_grad, [2.0, 0.0, np.nan])
    (gw,) = tg.autograd.grad((x * w).relu().sum(), [w], create_graph=True)     # the create_graph backward
    np.testing.assert_array_equal(gw.numpy(), eager_grad)
    torch = pytest.importorskip("torch")
    tw = torch.ones(3, requires_grad=True)
    (torch.tensor([2.0, -1.0, float("nan")]) * tw).relu().sum().backward()
    np.testing.assert_array_equal(tw.grad.numpy(), eager_grad)
