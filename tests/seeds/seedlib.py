"""Helpers shared by the seed oracles: drawing weights, copying them into tinygrad_np, comparing.

Every seed module transcribes one document's formulas in plain NumPy and compares them with the same
model built from `tinygrad_np.nn`. The comparison tolerance is one constant, for all seeds:

Both sides compute the same float64 expressions in a different order (fused losses, broadcast sums,
matmul blocking), so they differ only by rounding: a few ulps (2.2e-16 each) per accumulated term, a few
hundred terms at the sizes drawn here → about 1e-13 relative. RTOL = 1e-9 / ATOL = 1e-11 leave three
to four orders of margin for that, while every real mistake (a missing 1/m with m ≥ 2, a transposed
weight, a mask at the wrong place) changes results by O(1) relative to their size.

Where a derivative is not defined or the seed's plain formulas lose digits, the example is discarded
(hypothesis `assume`), never compared with a looser tolerance: ReLU inputs that rounding puts on
different sides of the kink (`off_kinks`), max-pool windows with tied maxima, and probabilities that big
update steps pushed within 1e-9 of 0 or 1 (`away_from_0_and_1`). Under the `ci` profile that rejects
well under 10% of the drawn examples.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np
from hypothesis import assume, currently_in_test_context, strategies as st

import tinygrad_np as tg
from tinygrad_np.nn import Sequential
from tinygrad_np.optim import SGD
from tinygrad_np.testing import arrays

RTOL = 1e-9
ATOL = 1e-11


def draw(data: st.DataObject, shape: tuple, low: float = -1.0, high: float = 1.0, scale: float = 1.0) -> np.ndarray:
    """A float64 array of `shape`, elements drawn by hypothesis in [low, high], times `scale`."""
    return data.draw(arrays(shape=shape, low=low, high=high)) * scale


def draw_labels(data: st.DataObject, m: int, classes: int) -> np.ndarray:
    """m integer class labels in [0, classes)."""
    return np.asarray(data.draw(st.lists(st.integers(0, classes - 1), min_size=m, max_size=m)), np.int64)


def one_hot_columns(y: np.ndarray, classes: int) -> np.ndarray:
    """(classes, m): one column per sample, the column-layout seeds' Y_one-hot."""
    return np.eye(classes)[:, y]


def load(model: tg.nn.Module, state: Dict[str, np.ndarray]) -> tg.nn.Module:
    """The model in float64 with exactly these parameters (strict: every parameter is given)."""
    model.to(np.float64)
    model.load_state_dict({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in state.items()})
    return model


def grads(model: tg.nn.Module) -> Dict[str, np.ndarray]:
    return {name: p.grad.numpy() for name, p in model.named_parameters()}


def params(model: tg.nn.Module) -> Dict[str, np.ndarray]:
    return {name: p.numpy() for name, p in model.named_parameters()}


def assert_same(actual: Dict[str, np.ndarray], expected: Dict[str, np.ndarray], what: str) -> None:
    """Same keys, shapes and values (RTOL/ATOL above) for every parameter."""
    assert sorted(actual) == sorted(expected), f"{what}: parameters {sorted(actual)} vs {sorted(expected)}"
    for name in expected:
        a, e = np.asarray(actual[name]), np.asarray(expected[name])
        assert a.shape == e.shape, f"{what} {name}: shape {a.shape} vs seed's {e.shape}"
        np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL, err_msg=f"{what} {name} (vs the seed's formula)")


def assert_loss(actual: float, expected: float, what: str = "loss") -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=f"{what} (vs the seed's formula)")


_FRAMEWORK_RELU_INPUTS: List = [None]   # set by check_training around each oracle call


def relu_inputs(model: "tg.nn.Module", x: tg.Tensor) -> List[np.ndarray]:
    """The framework's inputs to each ReLU of a Sequential model, in order (computed without a graph)."""
    from tinygrad_np import nn
    layers = list(model.children())
    out, h = [], x
    with tg.no_grad():
        for layer, following in zip(layers, layers[1:] + [None]):
            h = layer(h)
            if isinstance(following, nn.ReLU):
                out.append(h.numpy().copy())
    return out


def off_kinks(*Zs: np.ndarray, gap: float = 1e-9) -> None:
    """Discard a hypothesis example in which the seed and the framework put a ReLU input on different
    sides of the kink: an input within rounding of 0 can be +1e-18 on one side and −1e-18 or 0 on the
    other (e.g. after an update whose gradient was an exact 0 on one side and 1e-18 on the other), and
    then the two masks, not the formulas, differ. `Zs` are the seed's ReLU inputs converted to the
    framework's layout, in the model's order. Exact zeros on both sides are kept: they are what catches
    a `>=` in a ReLU mask. Without a framework model (the PyTorch tests) the seed's inputs must simply
    stay `gap` away from 0 or be exactly 0; a fixed-seed test that violates this fails."""
    fw = _FRAMEWORK_RELU_INPUTS[0]
    if fw is None:
        check(all(bool(np.all((Z == 0) | (np.abs(Z) > gap))) for Z in Zs), "a ReLU input within rounding of 0")
        return
    assert len(fw) == len(Zs) and all(f.shape == z.shape for f, z in zip(fw, Zs)), \
        f"ReLU inputs: framework shapes {[f.shape for f in fw]} vs seed's {[z.shape for z in Zs]}"
    check(all(bool(np.array_equal(f > 0, z > 0)) for f, z in zip(fw, Zs)),
          "a ReLU input that rounding puts on different sides of the kink")


def away_from_0_and_1(A: np.ndarray, margin: float, what: str) -> None:
    """Discard an example (typically after a large update step) whose probabilities came within
    `margin` of 0 (or 1, for a sigmoid): there the seed's unshifted exp/log formulas lose digits (subnormal
    softmax outputs, 1 − a rounding to 0) and disagree with the framework's stable ones by more than
    rounding, although both are right."""
    check(bool(np.all(A > margin) and np.all(1 - A > margin)), what)


def check(condition: bool, what: str) -> None:
    """`assume` inside a hypothesis test, a failed assertion in a plain one."""
    if currently_in_test_context():
        assume(condition)
    else:
        assert condition, f"fixed example lands on {what}: pick another seed"


def steps_st() -> st.SearchStrategy:
    """How many update steps to compare after the first one."""
    return st.integers(2, 4)


def lr_st() -> st.SearchStrategy:
    return st.floats(0.01, 1.0)


def torch_state(state: Dict[str, np.ndarray]) -> dict:
    import torch
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)) for k, v in state.items()}


def torch_grads(model) -> Dict[str, np.ndarray]:
    return {name: p.grad.detach().numpy() for name, p in model.named_parameters()}


def torch_params(model) -> Dict[str, np.ndarray]:
    return {name: p.detach().numpy().copy() for name, p in model.named_parameters()}


def check_training(model, loss_of, oracle, update, P: Dict[str, np.ndarray], to_nn, alpha: float,
                   steps: int, x: tg.Tensor) -> None:
    """Train the nn model with tinygrad_np.optim.SGD and the seed's formulas side by side.

    `loss_of(model)` is the framework's loss Tensor; `oracle(P)` returns the seed's (cost, gradients) for
    the parameters P (the seed's names and layouts); `update(P, G, alpha)` is the seed's update rule;
    `to_nn` maps the seed's names/layouts to the model's state_dict; `x` is the model's input (for
    off_kinks). Checks the loss and every gradient before each step and every parameter after each step
    (so after one and after several steps).
    """
    load(model, to_nn(P))
    opt = SGD(model.parameters(), lr=alpha)
    for step in range(steps):
        opt.zero_grad()
        loss = loss_of(model)
        loss.backward()
        _FRAMEWORK_RELU_INPUTS[0] = relu_inputs(model, x) if isinstance(model, Sequential) else []
        try:
            J, G = oracle(P)
        finally:
            _FRAMEWORK_RELU_INPUTS[0] = None
        assert_loss(loss.item(), J, f"step {step}: loss")
        assert_same(grads(model), to_nn(G), f"step {step}: gradient of")
        opt.step()
        P = update(P, G, alpha)
        assert_same(params(model), to_nn(P), f"after {step + 1} update(s):")
