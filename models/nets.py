"""Every network of models/, written down once.

A builder (`mlp`, `cnn_binary`, `mnist_cnn`) turns an architecture -- input shape, number of outputs, hidden
sizes, channels -- into a *plan*: a list of `Layer`s in plain Python, each with the shape it takes and gives.
`build` makes the plan an `nn.Sequential` of tinygrad_np.nn layers, or of torch.nn layers (PyTorch spells the
same names; the benchmarks build their PyTorch peer this way), so the parameter names are PyTorch's:
`0.weight`, `0.bias`, `2.weight`, ...  The benchmarks also read plans for layer shapes and FLOP counts in
processes that must not import NumPy yet, which is why this module imports no `nn` until `build` runs.

Every network ends in logits (no softmax or sigmoid layer): training uses the fused, stable losses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

Shape = tuple[int, ...]
INITS = ("pytorch", "scaled_normal", "he")


@dataclass(frozen=True)
class Layer:
    """One layer of a plan. Shapes are one sample's: (features,) or (channels, height, width)."""
    kind: str                 # "linear" | "conv" | "relu" | "maxpool" | "flatten"
    in_shape: Shape
    out_shape: Shape
    kernel: int = 0           # conv: square kernel, stride 1; maxpool: window and stride
    padding: int = 0          # conv: zeros added on each side

    @property
    def weight_shape(self) -> Optional[Shape]:
        """The weight in PyTorch's layout, (out, in) or (out, in, k, k); None for a layer without parameters."""
        if self.kind == "linear":
            return (self.out_shape[0], self.in_shape[0])
        if self.kind == "conv":
            return (self.out_shape[0], self.in_shape[0], self.kernel, self.kernel)
        return None

    @property
    def macs(self) -> int:
        """Multiply-adds of one sample's forward pass through the weights (0 without weights)."""
        weight = self.weight_shape
        return 0 if weight is None else math.prod(weight) * math.prod(self.out_shape[1:])


def dense_layers(in_features: int, hidden: Sequence[int], out_features: int) -> list[Layer]:
    """Linear, ReLU, ..., Linear: no activation after the last Linear, whose outputs are the logits."""
    plan = []
    for width in hidden:
        plan += [Layer("linear", (in_features,), (width,)), Layer("relu", (width,), (width,))]
        in_features = width
    return plan + [Layer("linear", (in_features,), (out_features,))]


def conv_stage(in_shape: Sequence[int], channels: int, kernel: int, padding: int = 0) -> list[Layer]:
    """Convolution (stride 1), ReLU, 2x2 max-pool; the pool drops an odd last row or column, as PyTorch's does."""
    _, h, w = in_shape
    conv_out = (channels, h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1)
    return [Layer("conv", tuple(in_shape), conv_out, kernel, padding),
            Layer("relu", conv_out, conv_out),
            Layer("maxpool", conv_out, (channels, conv_out[1] // 2, conv_out[2] // 2), kernel=2)]


def _conv_stages(input_shape: Sequence[int], stages: Sequence[tuple[int, int, int]]) -> list[Layer]:
    """One `conv_stage` per (channels, kernel, padding), each fed by the one before."""
    plan: list[Layer] = []
    shape = tuple(input_shape)
    for channels, kernel, padding in stages:
        plan += conv_stage(shape, channels, kernel, padding)
        shape = plan[-1].out_shape
    return plan


def _output_shape(plan: list[Layer], input_shape: Sequence[int]) -> Shape:
    return plan[-1].out_shape if plan else tuple(input_shape)


def _classifier(features: list[Layer], input_shape: Sequence[int], hidden: Sequence[int],
                num_outputs: int) -> list[Layer]:
    """The convolutional `features`, then Flatten and the dense layers."""
    shape = _output_shape(features, input_shape)
    flat = math.prod(shape)
    return features + [Layer("flatten", shape, (flat,))] + dense_layers(flat, hidden, num_outputs)


def describe(plan: Sequence[Layer], head: str) -> str:
    """The network as one line, from its plan (so --hidden and the data's shape show as trained):
    ``784 -> 64 ReLU -> 32 ReLU -> 10 softmax`` or ``1x28x28 -> [conv5x5 16, ReLU, pool2] -> ... -> 10 softmax``."""
    if not plan:
        return "(no layers)"
    parts = ["x".join(str(d) for d in plan[0].in_shape)]
    for layer in plan:
        if layer.kind == "linear":
            parts.append(str(layer.out_shape[0]))
        elif layer.kind == "conv":
            pad = f" pad {layer.padding}" if layer.padding else ""
            parts.append(f"[conv{layer.kernel}x{layer.kernel} {layer.out_shape[0]}{pad}")
        elif layer.kind == "relu":
            parts[-1] += ", ReLU" if parts[-1].startswith("[") else " ReLU"
        elif layer.kind == "maxpool":
            parts[-1] += f", pool{layer.kernel}]"
    return " -> ".join(parts) + (" sigmoid" if head == "sigmoid" else " softmax")


# ---- the architectures (keyword arguments as in the registry's `arch`) ----------------------------------------
def mlp(input_shape: Sequence[int], num_outputs: int, hidden: Sequence[int]) -> list[Layer]:
    """The fully connected seeds: the flattened input, a ReLU layer per hidden size, `num_outputs` logits.

    With ``hidden=()`` it is logistic (or softmax) regression, e.g. seed 004's ``sigmoid(W.x + b)``.
    """
    return dense_layers(math.prod(input_shape), hidden, num_outputs)


def cnn_binary(input_shape: Sequence[int], num_outputs: int, channels: Sequence[int],
               hidden: Sequence[int]) -> list[Layer]:
    """Seed 002: a [3x3 'valid' conv, ReLU, 2x2 max-pool] stage per channel count, then the dense layers.

    64x64x3 -> conv 62 -> pool 31 -> conv 29 -> pool 14 -> 32 * 14 * 14 = 6272 -> 128 -> 64 -> 1 by default.
    """
    features = _conv_stages(input_shape, [(k, 3, 0) for k in channels])
    if min(_output_shape(features, input_shape)[1:]) < 1:
        raise ValueError(f"cnn_binary: input {tuple(input_shape)} is too small for {len(channels)} conv+pool stages")
    return _classifier(features, input_shape, hidden, num_outputs)


def mnist_cnn(input_shape: Sequence[int], num_outputs: int, channels: Sequence[int],
              hidden: Sequence[int]) -> list[Layer]:
    """LeNet's shape with ReLU and max-pooling: [conv5x5 (padding 2), ReLU, pool 2], [conv5x5, ReLU, pool 2], dense.

    28x28 -> 28 -> 14 -> 10 -> 5, so 32 * 5 * 5 = 800 -> 120 -> 84 -> 10 by default; ``channels=(6, 16)`` gives
    LeNet-5's own widths.
    """
    if len(channels) != 2:
        raise ValueError(f"mnist_cnn: channels must be two numbers (conv1, conv2), got {list(channels)}")
    features = _conv_stages(input_shape, [(channels[0], 5, 2), (channels[1], 5, 0)])
    if min(_output_shape(features, input_shape)[1:]) < 1:
        raise ValueError(f"mnist_cnn: input {tuple(input_shape)} is too small (needs at least 12x12)")
    return _classifier(features, input_shape, hidden, num_outputs)


# ---- from a plan to a module ------------------------------------------------------------------------------------
def _module(layer: Layer, nn: Any) -> Any:
    if layer.kind == "linear":
        return nn.Linear(layer.in_shape[0], layer.out_shape[0])
    if layer.kind == "conv":
        return nn.Conv2d(layer.in_shape[0], layer.out_shape[0], layer.kernel, padding=layer.padding)
    if layer.kind == "relu":
        return nn.ReLU()
    if layer.kind == "maxpool":
        return nn.MaxPool2d(layer.kernel)
    if layer.kind == "flatten":
        return nn.Flatten()
    raise ValueError(f"nets: unknown layer kind {layer.kind!r}")


def initialise(model: Any, init: str, nn: Any) -> None:
    """Re-initialise every Linear and Conv2d of `model`, in module order, by the scheme `init`.

    "pytorch" keeps the layers' own initialisation (PyTorch's default); "scaled_normal" draws weights from
    N(0, 1 / fan_in) with zero biases (seed 001's ``randn / sqrt(fan_in)``); "he" draws them from
    N(0, 2 / fan_in) with zero biases (seed 002's He initialisation).
    """
    if init not in INITS:
        raise ValueError(f"nets: init must be one of {INITS}, got {init!r}")
    if init == "pytorch":
        return
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            if init == "he":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                nn.init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(math.prod(layer.weight.shape[1:])))
            nn.init.zeros_(layer.bias)


def build(plan: Sequence[Layer], nn: Any = None, init: str = "pytorch") -> Any:
    """`nn.Sequential` of the plan's layers, created in order (so a seed fixes every weight), then `initialise`d.

    `nn` is tinygrad_np.nn by default; torch.nn builds the same network in PyTorch.
    """
    if nn is None:
        from tinygrad_np import nn
    model = nn.Sequential(*[_module(layer, nn) for layer in plan])
    initialise(model, init, nn)
    return model
