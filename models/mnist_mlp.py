"""Seed 004 (multi-class notebook): 784 -> 128 ReLU -> 10 (softmax at predict time, CE in training)."""
from __future__ import annotations

import math
from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (784,), num_outputs: int = 10, hidden: Sequence[int] = (128,)) -> nn.Module:
    return nn.Sequential(*mlp_layers(math.prod(input_shape), hidden, num_outputs))
