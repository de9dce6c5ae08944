"""Seed 002: 64x64x3 -> [conv3x3 16, ReLU, maxpool 2] -> [conv3x3 32, ReLU, maxpool 2] -> 128 -> 64 -> 1.

Sigmoid + BCE, He initialisation (N(0, 2 / fan_in), biases 0) as in the seed -- and here the convolutions
learn too, which the seed's hand-written backward pass never did.
"""
from __future__ import annotations

from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (3, 64, 64), num_outputs: int = 1, channels: Sequence[int] = (16, 32),
          hidden: Sequence[int] = (128, 64)) -> nn.Module:
    c, h, w = input_shape
    layers: list = []
    for k in channels:                       # 3x3 "valid" convolution, then 2x2 max-pool
        layers += [nn.Conv2d(c, k, 3), nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = k, (h - 2) // 2, (w - 2) // 2
    if h < 1 or w < 1:
        raise ValueError(f"cnn_binary: input {tuple(input_shape)} is too small for {len(channels)} conv+pool stages")
    model = nn.Sequential(*layers, nn.Flatten(), *mlp_layers(c * h * w, hidden, num_outputs))
    for layer in model.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return model
