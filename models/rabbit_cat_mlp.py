"""Seed 000: gray 90x90 photos flattened to 8100 -> 128 ReLU -> 2 (softmax over the two classes, CE)."""
from __future__ import annotations

import math
from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (8100,), num_outputs: int = 2, hidden: Sequence[int] = (128,)) -> nn.Module:
    return nn.Sequential(*mlp_layers(math.prod(input_shape), hidden, num_outputs))
