"""`python -m models backprop NAME`: print the generated training step of a model (tg.compile's program).

The model is built as `train` builds it (the registry's architecture on its default data's shapes); one
step on a synthetic batch of the chosen size is traced, and its program — forward, backward and update,
one NumPy line per op — is printed. No data is read and nothing is trained or written.
"""
from __future__ import annotations

import argparse
from typing import Any, Callable

import numpy as np

from .registry import ModelSpec


def add_parser(sub: argparse._SubParsersAction, positive_int) -> None:
    b = sub.add_parser("backprop", help="print the generated NumPy training step of a model (tg.compile)")
    b.add_argument("name", help="model name (see list)")
    b.add_argument("--batch-size", type=positive_int, default=8, help="rows of the synthetic batch (default 8)")
    b.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                   help="the update written into the step (default sgd: θ −= lr·dθ, the seeds' rule)")


def training_step(model: Any, opt: Any, loss_fn: Callable) -> Callable:
    """`train_step(x, y)`: zero_grad, loss, backward, step — the step `backprop` and the benchmarks compile."""
    def train_step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return train_step


def step_source(spec: ModelSpec, batch_size: int = 8, optimizer: str = "sgd") -> str:
    """The generated program of one training step of `spec`'s model."""
    import tinygrad_np as tg
    from tinygrad_np import optim
    import tinygrad_np.nn.functional as F

    tg.manual_seed(0)
    model = spec.build()
    lr = spec.recipe.lr
    opt = optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd" else optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.random((batch_size, *spec.default_input_shape), dtype=np.float32))
    if spec.head == "sigmoid":
        y = tg.tensor(rng.integers(0, 2, (batch_size, 1)).astype(np.float32))
        loss_fn = F.binary_cross_entropy_with_logits
    else:
        y = tg.tensor(rng.integers(0, spec.default_num_outputs, batch_size))
        loss_fn = F.cross_entropy

    compiled = tg.compile(training_step(model, opt, loss_fn))
    compiled(x, y)
    return compiled.source()
