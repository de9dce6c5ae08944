"""Beyond the seeds: a LeNet-style CNN for 28x28 gray digits or clothes.

[conv5x5 16 (padding 2), ReLU, maxpool 2] -> [conv5x5 32, ReLU, maxpool 2] -> 800 -> 120 -> 84 -> 10:
LeNet-5's shape with ReLU, max-pooling and more channels (``channels=(6, 16)`` gives LeNet-5's own widths;
the wider default won on the Fashion-MNIST validation split).
"""
from __future__ import annotations

from typing import Sequence

from tinygrad_np import nn

from ._layers import mlp_layers


def build(input_shape: Sequence[int] = (1, 28, 28), num_outputs: int = 10, channels: Sequence[int] = (16, 32),
          hidden: Sequence[int] = (120, 84)) -> nn.Module:
    c, h, w = input_shape
    if len(channels) != 2:
        raise ValueError(f"mnist_cnn: channels must be two numbers (conv1, conv2), got {list(channels)}")
    c1, c2 = channels
    h, w = (h // 2 - 4) // 2, (w // 2 - 4) // 2          # conv1 keeps the size, conv2 (5x5) trims 4
    if h < 1 or w < 1:
        raise ValueError(f"mnist_cnn: input {tuple(input_shape)} is too small (needs at least 12x12)")
    return nn.Sequential(
        nn.Conv2d(c, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), *mlp_layers(c2 * h * w, hidden, num_outputs))
