"""One training step (forward + loss + backward + SGD update) of a seed model, in each framework.

tinygrad_np and PyTorch share one builder: their `nn`, `nn.functional` and `optim` spell the same
names, so the model, the loss and the step are literally the same code for both. The hand-written
baseline is `hand.py`. All three start from the same float32 state dict (`specs.make_params`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from . import hand, specs
from .specs import ModelSpec

FRAMEWORKS = ("hand", "tinygrad_np", "torch")


def build_sequential(nn: Any, spec: ModelSpec) -> Any:
    """The model as `nn.Sequential`, for `nn` = tinygrad_np.nn or torch.nn (same names, same layout)."""
    if spec.kind == "mlp":
        layers: List[Any] = []
        for i, (a, b) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(spec.sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    layers = []
    for c, _, f, k, _ in specs.cnn_shapes()[0]:
        layers += [nn.Conv2d(c, f, k), nn.ReLU(), nn.MaxPool2d(2)]
    layers.append(nn.Flatten())
    dims = (specs.cnn_shapes()[1],) + specs.CNN_FC
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Trainer:
    """`step()` runs one timed training step; `reset()` restores the initial weights (not timed);
    `gradients()` returns the loss and the named parameter gradients of one step without updating."""

    step: Callable[[], Any]

    def reset(self) -> None:
        raise NotImplementedError

    def gradients(self) -> Tuple[float, Dict[str, np.ndarray]]:
        raise NotImplementedError


class HandTrainer(Trainer):
    def __init__(self, spec: ModelSpec, batch: int) -> None:
        self.init = specs.make_params(spec)
        self.params = {k: v.copy() for k, v in self.init.items()}
        self.names = [p for p, _ in specs.layer_names(spec)]
        if spec.kind == "mlp":
            self.model: Any = hand.HandMLP(self.params, self.names, spec.loss, specs.LR)
        else:
            self.model = hand.HandCNN(self.params, self.names[:2], self.names[2:], spec.loss, specs.LR)
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

    def __init__(self, framework: str, spec: ModelSpec, batch: int) -> None:
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
        self.model = build_sequential(nn, spec)
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
