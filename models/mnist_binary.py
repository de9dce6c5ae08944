"""Seed 004 (binary notebook): 784 -> 1 logistic unit (sigmoid + BCE), optionally with hidden ReLU layers.

With ``hidden=()`` this is logistic regression, exactly the seed's ``a = sigmoid(W.x + b)``.
"""
from __future__ import annotations

import math
from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (784,), num_outputs: int = 1, hidden: Sequence[int] = ()) -> nn.Module:
    return nn.Sequential(*mlp_layers(math.prod(input_shape), hidden, num_outputs))
