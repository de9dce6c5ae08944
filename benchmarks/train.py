"""One training step (forward + loss + backward + SGD update) of a seed model, in each framework.

tinygrad_np and PyTorch share one builder, models/nets.py's (the one `python -m models` trains with):
their `nn`, `nn.functional` and `optim` spell the same names, so the model, the loss and the step are
literally the same code for both. The hand-written baseline is `hand.py`. All three start from the same
float32 state dict (`specs.make_params`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from . import hand, specs
from .specs import BenchModel

FRAMEWORKS = ("hand", "tinygrad_np", "torch")


class Trainer:
    """`step()` runs one timed training step; `reset()` restores the initial weights (not timed);
    `gradients()` returns the loss and the named parameter gradients of one step without updating."""

    step: Callable[[], Any]

    def reset(self) -> None:
        raise NotImplementedError

    def gradients(self) -> Tuple[float, Dict[str, np.ndarray]]:
        raise NotImplementedError


class HandTrainer(Trainer):
    def __init__(self, spec: BenchModel, batch: int) -> None:
        self.init = specs.make_params(spec)
        self.params = {k: v.copy() for k, v in self.init.items()}
        layers = specs.layer_names(spec)
        self.names = [p for p, _ in layers]
        convs = sum(len(shape) == 4 for _, shape in layers)       # the conv layers come first
        if convs:
            self.model: Any = hand.HandCNN(self.params, self.names[:convs], self.names[convs:], spec.loss, specs.LR)
        else:
            self.model = hand.HandMLP(self.params, self.names, spec.loss, specs.LR)
        x, y = specs.make_batch(spec, batch)
        model = self.model
        self.step = lambda: model.step(x, y)
        self._xy = (x, y)

    def reset(self) -> None:
        for k, v in self.init.items():
            self.params[k][...] = v

    def gradients(self) -> Tuple[float, Dict[str, np.ndarray]]:
        loss, grads = self.model.gradients(*self._xy)
        out = {}
        for name, (dW, db) in zip(self.names, grads):
            out[name + ".weight"], out[name + ".bias"] = dW, db
        return loss, out


class FrameworkTrainer(Trainer):
    """tinygrad_np or PyTorch: `opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()`."""

    def __init__(self, framework: str, spec: BenchModel, batch: int) -> None:
        self.framework = framework
        if framework == "tinygrad_np":
            import tinygrad_np as lib
            import tinygrad_np.nn  # noqa: F401  (submodules, in case the package does not import them)
            import tinygrad_np.optim  # noqa: F401
            self.to_tensor: Callable[[np.ndarray], Any] = lib.Tensor
        else:
            import torch as lib
            self.to_tensor = lib.from_numpy
        nn, F = lib.nn, lib.nn.functional
        self.init = specs.make_params(spec)
        self.model = spec.build(nn)
        self.reset()
        self.opt = lib.optim.SGD(self.model.parameters(), lr=specs.LR)
        xa, ya = specs.make_batch(spec, batch)
        x, y = self.to_tensor(xa), self.to_tensor(ya)
        loss_fn = F.cross_entropy if spec.loss == "ce" else F.binary_cross_entropy_with_logits
        model, opt = self.model, self.opt
        self.x, self.y, self.loss_fn = x, y, loss_fn

        def step() -> Any:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def forward_backward() -> Any:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss

        self.step = step
        self._forward_backward = forward_backward

    def reset(self) -> None:
        self.model.load_state_dict({k: self.to_tensor(v.copy()) for k, v in self.init.items()})

    def gradients(self) -> Tuple[float, Dict[str, np.ndarray]]:
        loss = self._forward_backward()
        grads = {}
        for name, p in self.model.named_parameters():
            g = p.grad
            grads[name] = None if g is None else np.array(g.detach().numpy() if self.framework == "torch"
                                                          else g.numpy(), copy=True)
        return float(loss.item()), grads


def make_trainer(framework: str, model: str, batch: int) -> Trainer:
    spec = specs.get_model(model)
    if framework == "hand":
        return HandTrainer(spec, batch)
    return FrameworkTrainer(framework, spec, batch)
