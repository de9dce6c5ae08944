"""tg.compile and hooks: a replay runs only the generated program, so a hook that ran during the trace would
silently stop running afterwards (a logging hook logs once, a clipping hook clips once). Refused at trace time."""
import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn as nn
import tinygrad_np.nn.functional as F
from tinygrad_np.compiler import TraceError
from compile_helpers import make_step


def _setup():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    step = make_step(model, tg.optim.SGD(model.parameters(), lr=0.1), "ce")
    x = tg.tensor(np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32))
    y = tg.tensor(np.array([0, 1, 1, 0, 1]))
    return model, step, x, y


def test_a_tensor_hook_on_a_parameter_is_refused_and_nothing_is_compiled():
    model, step, x, y = _setup()
    calls = []
    handle = model[0].weight.register_hook(lambda g: calls.append(1))
    compiled = tg.compile(step)
    with pytest.raises(TraceError, match=r"tensor hook \(register_hook\).*run this step eagerly"):
        compiled(x, y)
    handle.remove()
    before = [p.numpy().copy() for p in model.parameters()]
    compiled(x, y)                                            # without the hook it compiles and trains
    assert any(not np.array_equal(b, p.numpy()) for b, p in zip(before, model.parameters()))


def test_a_hook_registered_inside_the_step_is_refused():
    model, _, x, y = _setup()

    def step(x, y):
        h = model(x)
        h.register_hook(lambda g: g * 0.5)                    # would halve every gradient, on the trace only
        loss = F.cross_entropy(h, y)
        loss.backward()
        return loss
    with pytest.raises(TraceError, match="tensor hook"):
        tg.compile(step)(x, y)


@pytest.mark.parametrize("kind", ["forward_pre", "forward", "full_backward"])
def test_a_module_hook_is_refused_naming_the_module(kind):
    model, step, x, y = _setup()
    handle = getattr(model[2], f"register_{kind}_hook")(lambda *args: None)
    with pytest.raises(TraceError, match=r"^tg.compile: Linear has a module hook"):
        tg.compile(step)(x, y)
    handle.remove()
    assert np.isfinite(tg.compile(step)(x, y).item())
