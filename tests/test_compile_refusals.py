"""tg.compile refuses at trace time, naming it, what a replay could not repeat: reading a tensor's value,
branching on one, ops it cannot capture (argmax, random numbers), in-place writes, tensors made from
values inside the step; and after tracing (or a refusal) eager mode is exactly as it was."""
import numpy as np
import pytest

import tinygrad_np as tg
import tinygrad_np.nn.functional as F
from tinygrad_np.compiler import TraceError
from compile_helpers import mlp


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


def test_eager_mode_is_untouched_after_tracing():
    from tinygrad_np.function import Function
    from tinygrad_np.tensor import Tensor
    before = (Function.__dict__["apply"], Tensor.__dict__["backward"], Tensor.__dict__["item"])
    model = mlp([3, 2], "relu", 0)
    tg.compile(lambda x: model(x).sum())(tg.randn(2, 3))
    assert (Function.__dict__["apply"], Tensor.__dict__["backward"], Tensor.__dict__["item"]) == before


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
