"""The fully connected stack every seed model ends with: Linear, ReLU, ..., Linear (logits)."""
from __future__ import annotations

from typing import Sequence

from tinygrad_np import nn


def mlp_layers(in_features: int, hidden: Sequence[int], out_features: int) -> list:
    """[Linear(in, h1), ReLU(), ..., Linear(h_last, out)] -- no activation on the output: it gives logits."""
    layers: list = []
    for h in hidden:
        layers += [nn.Linear(in_features, h), nn.ReLU()]
        in_features = h
    return layers + [nn.Linear(in_features, out_features)]
