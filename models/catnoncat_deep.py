"""Seed 001: the L-layer cat/non-cat network, 12288 -> 20 -> 7 -> 5 -> 1, ReLU, sigmoid + BCE.

Initialised as in the seed: weights ~ N(0, 1) / sqrt(fan_in), biases 0 (PyTorch's default init trains
this deep narrow stack much more slowly with plain gradient descent at lr 0.0075).
"""
from __future__ import annotations

import math
from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (12288,), num_outputs: int = 1,
          hidden: Sequence[int] = (20, 7, 5)) -> nn.Module:
    model = nn.Sequential(*mlp_layers(math.prod(input_shape), hidden, num_outputs))
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(layer.weight.shape[1]))
            nn.init.zeros_(layer.bias)
    return model
