"""What is benchmarked: the seed models, their batches, targets, analytic FLOP counts, weights and data.

Pure Python at import time (the parent process plans and reports without NumPy); `make_params` and
`make_batch` import NumPy lazily, inside the worker that has already fixed its thread count.

Every model is an `nn.Sequential` in PyTorch naming (`0.weight`, `0.bias`, `2.weight`, ...), so the
same state dict of float32 arrays is loaded into tinygrad_np, PyTorch and the hand-written baseline.

The seed CNN (seed 002) gives 64x64x3 inputs, conv 3x3 (16) and 3x3 (32), each + ReLU + 2x2 max-pool,
then dense 128 -> 64 -> 1. It states no padding, and "from scratch" convolutions of this kind are
'valid' (padding 0, stride 1), so: 64 -> conv 62 -> pool 31 -> conv 29 -> pool 14 (floor, the last
row/column dropped, as PyTorch's MaxPool2d(2) does) -> flatten 32*14*14 = 6272. We use NCHW, PyTorch's
layout, instead of the seed's NHWC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

LR = 1e-3          # small, so the fixed-batch loss does not collapse to denormals within one repeat
SEED = 1234


@dataclass(frozen=True)
class ModelSpec:
    """A seed model. `kind` is "mlp" (sizes = in, hidden..., out) or "cnn" (the seed CNN, fixed below)."""
    name: str
    kind: str
    loss: str                      # "ce": softmax cross-entropy, int targets; "bce": BCE with logits
    sizes: Tuple[int, ...]
    batches: Tuple[int, ...]
    note: str = ""
    targets: Dict[int, Dict[str, float]] = field(default_factory=dict)   # batch -> {"hand": x, "torch": y}


# The seed CNN's geometry (see the module docstring).
CNN_INPUT = (3, 64, 64)
CNN_CONVS = ((16, 3), (32, 3))     # (out channels, kernel), padding 0, stride 1, each + ReLU + MaxPool2d(2)
CNN_FC = (128, 64, 1)

MODELS: List[ModelSpec] = [
    ModelSpec("rabbit_cat_mlp", "mlp", "ce", (8100, 128, 2), (64,), "seed 000: 90x90 gray, softmax CE",
              {64: {"hand": 1.05, "torch": 1.0}}),
    ModelSpec("catnoncat_deep", "mlp", "bce", (12288, 20, 7, 5, 1), (64, 209), "seed 001: 64x64x3, sigmoid BCE",
              {64: {"hand": 1.10}, 209: {"hand": 1.10}}),
    ModelSpec("cnn_binary", "cnn", "bce", (), (32,), "seed 002: conv16-pool-conv32-pool-128-64-1, BCE",
              {32: {"torch": 1.0}}),
    ModelSpec("digits_mlp", "mlp", "ce", (64, 32, 10), (32, 1437), "seed 003: sklearn digits, softmax CE",
              {32: {"hand": 2.0, "torch": 0.5}, 1437: {"hand": 1.10}}),
    ModelSpec("mnist_mlp", "mlp", "ce", (784, 128, 10), (128,), "seed 004: MNIST, softmax CE",
              {128: {"hand": 1.10}}),
    ModelSpec("tiny_mlp", "mlp", "ce", (64, 16, 10), (8,), "framework overhead bound",
              {8: {"torch": 0.5}}),
]
MEMORY_TARGET = 1.3                 # peak memory of a step, tinygrad_np / hand, every model
OVERHEAD_TARGET = 1.0               # a + b with requires_grad, tinygrad_np / PyTorch

# Layer benchmarks at the seed CNN's shapes (batch 32): name -> (op, input shape, out channels or None)
LAYERS: Dict[str, Tuple[str, Tuple[int, ...], Optional[int]]] = {
    "conv1": ("conv", (32, 3, 64, 64), 16),        # first layer: no input gradient, as in the model
    "pool1": ("pool", (32, 16, 62, 62), None),
    "conv2": ("conv", (32, 16, 31, 31), 32),
    "pool2": ("pool", (32, 32, 29, 29), None),
}


def get_model(name: str) -> ModelSpec:
    for m in MODELS:
        if m.name == name:
            return m
    raise KeyError(f"benchmarks: unknown model {name!r}; known: {[m.name for m in MODELS]}")


def cnn_shapes() -> Tuple[List[Tuple[int, int, int, int, int]], int]:
    """[(C_in, H_in, C_out, K, H_conv)] per conv layer and the flattened size after the last pool."""
    c, h, _ = CNN_INPUT
    layers = []
    for f, k in CNN_CONVS:
        oh = h - k + 1
        layers.append((c, h, f, k, oh))
        c, h = f, oh // 2
    return layers, c * h * h


def layer_names(spec: ModelSpec) -> List[Tuple[str, Tuple[int, ...]]]:
    """(PyTorch state-dict prefix, weight shape) of every parametrised layer, in order."""
    if spec.kind == "mlp":
        return [(str(2 * i), (o, i_)) for i, (i_, o) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:]))]
    convs, flat = cnn_shapes()
    out = [("0", (convs[0][2], convs[0][0], convs[0][3], convs[0][3])),
           ("3", (convs[1][2], convs[1][0], convs[1][3], convs[1][3]))]
    dims = (flat,) + CNN_FC
    out += [(str(7 + 2 * i), (o, i_)) for i, (i_, o) in enumerate(zip(dims[:-1], dims[1:]))]
    return out


def train_flops(spec: ModelSpec, batch: int) -> int:
    """Matmul FLOPs of one training step, 2*M*N*K per product: forward, weight gradient, and input
    gradient for every layer but the first. Element-wise work (activations, loss, update) is not counted."""
    total = 0
    first = True
    if spec.kind == "cnn":
        for c, _, f, k, oh in cnn_shapes()[0]:
            mkn = 2 * batch * oh * oh * c * k * k * f
            total += mkn * (2 if first else 3)
            first = False
        dims = (cnn_shapes()[1],) + CNN_FC
    else:
        dims = spec.sizes
    for i, o in zip(dims[:-1], dims[1:]):
        total += 2 * batch * i * o * (2 if first else 3)
        first = False
    return total


def layer_flops(name: str) -> int:
    op, shape, f = LAYERS[name]
    if op != "conv":
        return 0
    n, c, h, _ = shape
    oh = h - 2
    return 2 * n * oh * oh * c * 9 * f * (2 if name == "conv1" else 3)


def make_params(spec: ModelSpec, seed: int = SEED) -> Dict[str, Any]:
    """He-normal weights (the seeds' init, sqrt(2 / fan_in)) and small biases, float32, PyTorch names."""
    import numpy as np
    rng = np.random.default_rng(seed)
    params = {}
    for prefix, shape in layer_names(spec):
        fan_in = int(np.prod(shape[1:]))
        params[prefix + ".weight"] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[prefix + ".bias"] = (0.01 * rng.standard_normal(shape[0])).astype(np.float32)
    return params


def make_batch(spec: ModelSpec, batch: int, seed: int = SEED + 1) -> Tuple[Any, Any]:
    """One fixed batch: pixels in [0, 1) (float32) and labels (int64 classes, or float32 0/1 of shape (N, 1))."""
    import numpy as np
    rng = np.random.default_rng(seed)
    shape = (batch,) + (CNN_INPUT if spec.kind == "cnn" else (spec.sizes[0],))
    x = rng.random(shape, dtype=np.float32)
    if spec.loss == "ce":
        y = rng.integers(0, spec.sizes[-1], batch).astype(np.int64)
    else:
        y = rng.integers(0, 2, (batch, 1)).astype(np.float32)
    return x, y


def train_items() -> List[Tuple[str, int]]:
    return [(m.name, b) for m in MODELS for b in m.batches]
