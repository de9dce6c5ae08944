"""tg.compile's plain-SGD update (compiler/update.py): one `lr · gradient` multiply per parameter group,
over one array holding the group's gradient buffers, gives eager's parameters and .grad bit for bit."""
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np import nn, optim
import tinygrad_np.nn.functional as F
from compile_helpers import make_step      # the zero_grad, loss, backward, step closure every compile test traces

FLAT = "parameters at once"


def build(seed):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))


def groups_of(model, split):
    ps = list(model.parameters())
    if not split:
        return optim.SGD(ps, lr=0.1)
    return optim.SGD([{"params": ps[:3]}, {"params": ps[3:], "lr": 0.03}], lr=0.1)


@pytest.mark.parametrize("split", [False, True])
def test_plain_sgd_steps_and_grads_equal_eager_with_one_or_two_groups(split):
    a, b = build(1), build(1)
    oa, ob = groups_of(a, split), groups_of(b, split)
    eager, compiled = make_step(a, oa, "ce"), tg.compile(make_step(b, ob, "ce"))
    rng = np.random.default_rng(0)
    for i in range(6):
        x = tg.tensor(rng.standard_normal((7, 6)).astype(np.float32))
        y = tg.tensor(rng.integers(0, 3, 7))
        if i == 3:                                        # a scheduler-style change of one group's lr is seen
            oa.param_groups[-1]["lr"] = ob.param_groups[-1]["lr"] = 0.5
        assert eager(x, y).item() == compiled(x, y).item()
        for (name, p), q in zip(a.named_parameters(), b.parameters()):
            assert np.array_equal(p.numpy(), q.numpy()), name
            assert np.array_equal(p.grad.numpy(), q.grad.numpy()), name
            assert q.grad.shape == q.shape
    src = compiled.source()
    assert src.count(FLAT) == (2 if split else 1) and compiled.traces == 1


def test_a_grad_kept_by_the_caller_is_overwritten_by_the_next_replay_as_documented():
    model = build(2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = tg.compile(make_step(model, opt, "ce"))
    rng = np.random.default_rng(1)
    x, y = tg.tensor(rng.standard_normal((4, 6)).astype(np.float32)), tg.tensor(rng.integers(0, 3, 4))
    step(x, y); step(x, y)
    w = model[0].weight
    kept = w.grad.numpy().copy()
    step(tg.tensor(rng.standard_normal((4, 6)).astype(np.float32)), y)
    assert not np.array_equal(kept, w.grad.numpy())        # the buffer was rewritten: copy it to keep it
    assert FLAT in step.source()


def test_not_flattened_when_a_gradient_is_not_a_buffer_of_the_program():
    # gradient accumulation: the second backward adds into .grad, which the program does not own
    model = build(3)
    opt = optim.SGD(model.parameters(), lr=0.1)

    @tg.compile
    def step(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        F.cross_entropy(model(x * 2), y).backward()
        opt.step()
    twin = build(3)
    topt = optim.SGD(twin.parameters(), lr=0.1)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x, y = tg.tensor(rng.standard_normal((4, 6)).astype(np.float32)), tg.tensor(rng.integers(0, 3, 4))
        step(x, y)
        topt.zero_grad()
        F.cross_entropy(twin(x), y).backward()
        F.cross_entropy(twin(x * 2), y).backward()
        topt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.numpy(), q.numpy())
