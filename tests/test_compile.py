"""tg.compile: a compiled step gives eager's numbers (bit for bit), retraces when it must, and refuses
what it cannot capture.

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

OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "sgd_nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "rmsprop": lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.5, centered=True),
}
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky": nn.LeakyReLU}


def mlp(sizes, act, seed, dtype=np.float32, dropout=0.0, batchnorm=False):
    tg.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(b))
            layers.append(ACTIVATIONS[act]())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers).to(dtype)


def make_step(model, opt, loss_name):
    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y) if loss_name == "ce" else F.mse_loss(out, y) if loss_name == "mse" else \
            F.binary_cross_entropy_with_logits(out, y)
        loss.backward()
        opt.step()
        return loss
    return step


def batches(n, batch, d_in, d_out, loss_name, dtype, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = tg.tensor(rng.standard_normal((batch, d_in)).astype(dtype))
        if loss_name == "ce":
            y = tg.tensor(rng.integers(0, d_out, batch))
        elif loss_name == "bce":
            y = tg.tensor(rng.integers(0, 2, (batch, d_out)).astype(dtype))
        else:
            y = tg.tensor(rng.standard_normal((batch, d_out)).astype(dtype))
        yield x, y


def assert_same_params(a, b, what=""):
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(p.numpy(), q.numpy()), f"{what} parameter {name} differs: max |Δ| = " \
            f"{np.abs(p.numpy() - q.numpy()).max()}"
    for (name, p), (_, q) in zip(a.named_buffers(), b.named_buffers()):
        assert np.array_equal(p.numpy(), q.numpy()), f"{what} buffer {name} differs"


def train_both(sizes, act, opt_name, loss_name, dtype, steps=12, batch=8, **kw):
    eager_model, comp_model = mlp(sizes, act, 1, dtype, **kw), mlp(sizes, act, 1, dtype, **kw)
    eager_step = make_step(eager_model, OPTIMIZERS[opt_name](eager_model.parameters()), loss_name)
    comp_step = tg.compile(make_step(comp_model, OPTIMIZERS[opt_name](comp_model.parameters()), loss_name))
    data = list(batches(steps, batch, sizes[0], sizes[-1], loss_name, dtype))
    tg.manual_seed(7)
    eager_losses = [eager_step(x, y).item() for x, y in data]
    tg.manual_seed(7)
    comp_losses = [comp_step(x, y).item() for x, y in data]
    assert eager_losses == comp_losses
    assert_same_params(eager_model, comp_model, f"{opt_name}/{loss_name}/{np.dtype(dtype).name}")
    return comp_step


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


@pytest.mark.parametrize("read", [lambda t: t.item(), lambda t: bool(t), lambda t: t.numpy(),
                                  lambda t: float(t), lambda t: t.tolist(), lambda t: np.asarray(t)],
                         ids=["item", "bool", "numpy", "float", "tolist", "asarray"])
def test_reading_a_value_inside_a_trace_raises_and_reading_after_is_free(read):
    model = mlp([3, 2], "relu", 0)

    @tg.compile
    def step(x):
        out = model(x).sum()
        read(out)
        return out
    x = tg.randn(4, 3)
    with pytest.raises(TraceError, match="reads a tensor's value while the step is being traced"):
        step(x)

    @tg.compile
    def fine(x):
        return model(x).sum()
    assert fine(x).item() == model(x).sum().item()
    assert fine(x).item() == model(x).sum().item()           # the replayed result reads freely, too


def test_branching_on_a_tensor_raises():
    @tg.compile
    def step(x):
        return x * 2 if x.sum() > 0 else x
    with pytest.raises(TraceError):
        step(tg.randn(3, requires_grad=True))


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


def test_what_cannot_be_captured_fails_at_trace_time_naming_it():
    model = mlp([3, 4], "relu", 0)

    @tg.compile
    def uses_argmax(x):
        return model(x).argmax(dim=1)
    with pytest.raises(TraceError, match="argmax"):
        uses_argmax(tg.randn(2, 3))

    @tg.compile
    def draws_noise(x):
        return model(x + tg.randn(2, 3)).sum()
    with pytest.raises(TraceError, match="random numbers"):
        draws_noise(tg.randn(2, 3))
    assert tg.randn(2).shape == (2,)                          # the swapped methods are back after a failure
    assert tg.tensor([1.5]).item() == 1.5


@pytest.mark.parametrize("write", [
    lambda h, p: h.add_(1.0), lambda h, p: h.mul_(2.0), lambda h, p: h.clamp_(min=0.0),
    lambda h, p: h.__setitem__(0, 0.0), lambda h, p: h.zero_(), lambda h, p: p.data.sub_(0.1),
    lambda h, p: setattr(p, "data", p.data * 0.5)],
    ids=["add_", "mul_", "clamp_", "setitem", "zero_", "data.sub_", "data="])
def test_in_place_writes_are_refused_at_trace_time(write):
    """A write into a tensor's memory is not an op the tracer records: a replay would skip it and compute
    something other than eager, so the trace must refuse it (and leave nothing swapped behind)."""
    model = mlp([3, 4], "relu", 0)
    weight = model[0].weight
    before = weight.numpy().copy()

    @tg.compile
    def step(x):
        h = model(x) * 1.0
        with tg.no_grad():
            write(h, weight)
        return h.sum()
    with pytest.raises(TraceError, match="in-place|data = "):
        step(tg.randn(2, 3))
    t = tg.ones(2)
    t.add_(1.0)
    t.data = tg.zeros(3)                                      # eager in-place works again after the failure
    assert t.numpy().tolist() == [0.0, 0.0, 0.0]
    assert np.array_equal(weight.numpy(), before)             # refused before the write


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


def test_generated_source_names_and_comments():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.relu1, self.fc2 = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(self.relu1(self.fc1(x)))
    model = Net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = tg.compile(make_step(model, opt, "ce"))
    x, y = next(batches(1, 8, 4, 3, "ce", np.float32))
    step(x, y)
    src = step.source()
    for needle in ("fc1_weight", "d_fc2_weight", "relu1", "out=", "# LinearOp: dW = Gᵀ X",
                   "np.subtract(fc1_weight, step_fc1_weight, out=fc1_weight)"):
        assert needle in src
    body = [line for line in src.split("def step(")[1].splitlines()[1:-1]
            if line.strip() not in ("try:", "raise Retrace")]
    assert all("  # " in line for line in body if "," in line or "np." in line)   # every op line says its op


def test_eager_mode_is_untouched_after_tracing():
    from tinygrad_np.function import Function
    from tinygrad_np.tensor import Tensor
    before = (Function.__dict__["apply"], Tensor.__dict__["backward"], Tensor.__dict__["item"])
    model = mlp([3, 2], "relu", 0)
    tg.compile(lambda x: model(x).sum())(tg.randn(2, 3))
    assert (Function.__dict__["apply"], Tensor.__dict__["backward"], Tensor.__dict__["item"]) == before


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


def test_models_backprop_prints_the_generated_step(capsys):
    from models.cli import main
    assert main(["backprop", "digits_mlp", "--batch-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "def train_step(x_tensor, y_tensor):" in out
    assert "np.matmul(d_linear2.T, relu1, out=d_linear2_weight)" in out and "(4, 32)" in out
    assert main(["backprop", "no_such_model"]) == 2
    assert "unknown model" in capsys.readouterr().err


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


def test_tensors_made_from_values_inside_the_step_are_refused_and_indexing_by_a_target_replays():
    model = mlp([3, 4], "relu", 0)

    @tg.compile
    def uses_one_hot(x, y):
        return (model(x) * F.one_hot(y, 4)).sum()
    with pytest.raises(TraceError, match="made inside the step outside the graph"):
        uses_one_hot(tg.randn(2, 3), tg.tensor(np.array([1, 3])))

    @tg.compile
    def picks(x, y):                                          # out[rows, y]: the index holds the argument y
        out = model(x)
        return out[np.arange(2), y].sum()
    x = tg.randn(2, 3)
    for labels in ([1, 3], [0, 2], [3, 3]):
        y = tg.tensor(np.array(labels))
        assert picks(x, y).item() == model(x)[np.arange(2), y].sum().item()
    assert picks.traces == 1


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


def test_docs_compile_md_shows_the_program_models_backprop_prints(capsys):
    from pathlib import Path
    from models.cli import main
    doc = (Path(__file__).resolve().parents[1] / "docs" / "compile.md").read_text()
    listed = doc[doc.index("```python\ndef train_step") + len("```python\n"):]
    listed = listed[:listed.index("```")]
    assert main(["backprop", "digits_mlp", "--batch-size", "32"]) == 0
    printed = capsys.readouterr().out
    assert printed[printed.index("def train_step"):] == listed


@pytest.mark.parametrize("model, batch, heading", [("digits_mlp", "32", "## Seed 003"), ("rabbit_cat_mlp", "64", "## Seed 000")])
def test_docs_compile_md_seed_tables_quote_lines_of_the_printed_program(capsys, model, batch, heading):
    """Every whole `np.…(…)` or `matmul(…)` call the seed tables quote (no "..." in it) is a line of `models backprop`'s
    program, so the tables cannot go stale when an emitter changes (they did once: db's add.reduce)."""
    import re
    from pathlib import Path
    from models.cli import main
    doc = (Path(__file__).resolve().parents[1] / "docs" / "compile.md").read_text()
    section = doc[doc.index(heading):]
    table = section[:section.index("\n\n", section.index("|---|"))]
    quoted = [q for q in re.findall(r"`((?:np\.|matmul\()[^`]*\))`", table) if "..." not in q]
    assert len(quoted) >= 5
    assert main(["backprop", model, "--batch-size", batch]) == 0
    printed = capsys.readouterr().out
    for q in quoted:
        assert q in printed, q


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
