"""What is benchmarked: the seed models, their batches, targets, analytic FLOP counts, weights and data.

The models are the registry's (models/registry.py), built by models/nets.py exactly as
`python -m models train NAME` builds them on their default data -- in tinygrad_np, and in PyTorch from
the same plan with torch.nn. Their layer sizes, which the hand-written baseline, the weights and the
FLOP counts need, are read from the same plan (`models.nets.Layer`), so nothing here repeats them.

Pure Python at import time (the parent process plans and reports without NumPy); `make_params` and
`make_batch` import NumPy lazily, inside the worker that has already fixed its thread count.

Every model is an `nn.Sequential` in PyTorch naming (`0.weight`, `0.bias`, `2.weight`, ...), so the
same state dict of float32 arrays is loaded into tinygrad_np, PyTorch and the hand-written baseline.
The seed CNN's geometry (64 -> conv 62 -> pool 31 -> conv 29 -> pool 14, flattened 32*14*14 = 6272) is
explained at `models.nets.cnn_binary`; we use NCHW, PyTorch's layout, instead of the seed's NHWC.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Tuple

from models.nets import Layer
from models.registry import MODELS as REGISTRY
from models.registry import ModelSpec

LR = 1e-3          # small, so the fixed-batch loss does not collapse to denormals within one repeat
SEED = 1234


@dataclass(frozen=True)
class BenchModel:
    """A model to time: a registry entry (architecture, head, default input) with its batches and targets."""
    spec: ModelSpec
    batches: Tuple[int, ...]
    note: str = ""
    targets: Dict[int, Dict[str, float]] = field(default_factory=dict)   # batch -> {"hand": x, "torch": y}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def loss(self) -> str:
        """"ce": softmax cross-entropy, int targets; "bce": BCE with logits, one output."""
        return "bce" if self.spec.head == "sigmoid" else "ce"

    @property
    def input_shape(self) -> Tuple[int, ...]:
        return self.spec.default_input_shape

    @property
    def num_outputs(self) -> int:
        return self.spec.default_num_outputs

    def plan(self) -> List[Layer]:
        return self.spec.plan()

    def build(self, nn: Any) -> Any:
        """The model for `nn` = tinygrad_np.nn or torch.nn (same names, same layout)."""
        return self.spec.build(nn=nn)


def _seed(name: str, batches: Tuple[int, ...], note: str, targets: Dict[int, Dict[str, float]]) -> BenchModel:
    return BenchModel(REGISTRY[name], batches, note, targets)


# Not a registry model: the digits MLP at half width (64 -> 16 -> 10), where framework overhead dominates.
TINY_MLP = replace(REGISTRY["digits_mlp"], name="tiny_mlp", arch={"hidden": (16,)})

MODELS: List[BenchModel] = [
    _seed("rabbit_cat_mlp", (64,), "seed 000: 90x90 gray, softmax CE", {64: {"hand": 1.05, "torch": 1.0}}),
    _seed("catnoncat_deep", (64, 209), "seed 001: 64x64x3, sigmoid BCE", {64: {"hand": 1.10}, 209: {"hand": 1.10}}),
    _seed("cnn_binary", (32,), "seed 002: conv16-pool-conv32-pool-128-64-1, BCE", {32: {"torch": 1.0}}),
    _seed("digits_mlp", (32, 1437), "seed 003: sklearn digits, softmax CE",
          {32: {"hand": 2.0, "torch": 0.5}, 1437: {"hand": 1.10}}),
    _seed("mnist_mlp", (128,), "seed 004: MNIST, softmax CE", {128: {"hand": 1.10}}),
    BenchModel(TINY_MLP, (8,), "framework overhead bound", {8: {"torch": 0.5}}),
]
MEMORY_TARGET = 1.3                 # peak memory of a step, tinygrad_np / hand, every model
OVERHEAD_TARGET = 1.0               # a + b with requires_grad, tinygrad_np / PyTorch


def get_model(name: str) -> BenchModel:
    for m in MODELS:
        if m.name == name:
            return m
    raise KeyError(f"benchmarks: unknown model {name!r}; known: {[m.name for m in MODELS]}")


@dataclass(frozen=True)
class LayerBench:
    """One conv or pool layer of the seed CNN, timed alone (forward + backward) at the model's shapes."""
    layer: Layer
    batch: int
    first: bool               # the model's first layer: no input gradient, as in a training step

    @property
    def in_shape(self) -> Tuple[int, ...]:
        return (self.batch, *self.layer.in_shape)

    @property
    def out_shape(self) -> Tuple[int, ...]:
        return (self.batch, *self.layer.out_shape)

    def describe(self) -> str:
        """E.g. "32×3×64×64 → conv3×3 16" or "32×16×62×62 → maxpool 2"."""
        k = self.layer.kernel
        op = f"conv{k}×{k} {self.layer.out_shape[0]}" if self.layer.kind == "conv" else f"maxpool {k}"
        return "×".join(map(str, self.in_shape)) + f" → {op}"


def _layer_benches(model: BenchModel, batch: int) -> Dict[str, LayerBench]:
    """conv1, pool1, conv2, pool2, ...: the model's conv and max-pool layers, numbered from 1 in order."""
    out: Dict[str, LayerBench] = {}
    plan = model.plan()
    for layer in plan:
        short = {"conv": "conv", "maxpool": "pool"}.get(layer.kind)
        if short is not None:
            number = 1 + sum(name.startswith(short) for name in out)
            out[f"{short}{number}"] = LayerBench(layer, batch, first=layer is plan[0])
    return out


LAYERS: Dict[str, LayerBench] = _layer_benches(get_model("cnn_binary"), batch=32)


def layer_names(spec: BenchModel) -> List[Tuple[str, Tuple[int, ...]]]:
    """(PyTorch state-dict prefix, weight shape) of every parametrised layer, in order."""
    return [(str(i), layer.weight_shape) for i, layer in enumerate(spec.plan()) if layer.weight_shape]


def _step_flops(macs: int, batch: int, first: bool) -> int:
    """2 FLOPs per multiply-add, for the forward product, the weight gradient and, except for the model's
    first layer, the input gradient."""
    return 2 * batch * macs * (2 if first else 3)


def train_flops(spec: BenchModel, batch: int) -> int:
    """Matmul FLOPs of one training step, 2*M*N*K per product: forward, weight gradient, and input
    gradient for every layer but the first. Element-wise work (activations, loss, update) is not counted."""
    weighted = [layer for layer in spec.plan() if layer.weight_shape]
    return sum(_step_flops(layer.macs, batch, i == 0) for i, layer in enumerate(weighted))


def layer_flops(name: str) -> int:
    bench = LAYERS[name]
    return _step_flops(bench.layer.macs, bench.batch, bench.first)


def make_params(spec: BenchModel, seed: int = SEED) -> Dict[str, Any]:
    """He-normal weights (the seeds' init, sqrt(2 / fan_in)) and small biases, float32, PyTorch names."""
    import numpy as np
    rng = np.random.default_rng(seed)
    params = {}
    for prefix, shape in layer_names(spec):
        fan_in = int(np.prod(shape[1:]))
        params[prefix + ".weight"] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[prefix + ".bias"] = (0.01 * rng.standard_normal(shape[0])).astype(np.float32)
    return params


def make_batch(spec: BenchModel, batch: int, seed: int = SEED + 1) -> Tuple[Any, Any]:
    """One fixed batch: pixels in [0, 1) (float32) and labels (int64 classes, or float32 0/1 of shape (N, 1))."""
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.random((batch, *spec.input_shape), dtype=np.float32)
    if spec.loss == "ce":
        y = rng.integers(0, spec.num_outputs, batch).astype(np.int64)
    else:
        y = rng.integers(0, 2, (batch, 1)).astype(np.float32)
    return x, y


def train_items() -> List[Tuple[str, int]]:
    return [(m.name, b) for m in MODELS for b in m.batches]
