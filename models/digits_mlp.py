"""Seed 003: the 8x8 digits MLP, 64 -> 32 ReLU -> 10 (softmax at predict time, cross-entropy in training)."""
from __future__ import annotations

import math
from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (64,), num_outputs: int = 10, hidden: Sequence[int] = (32,)) -> nn.Module:
    return nn.Sequential(*mlp_layers(math.prod(input_shape), hidden, num_outputs))
