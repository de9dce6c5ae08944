"""Adaptive pooling (PyTorch's AdaptiveAvgPool2d / AdaptiveMaxPool2d): the output size is given, and
output cell i covers input rows floor(i·H/out) to ceil((i+1)·H/out) — PyTorch's bins, which may overlap.
One small loop over output cells (usually few: (1, 1) for a global pool); each cell is a NumPy reduction."""
from __future__ import annotations

import numpy as np

from ..function import Function


def bins(n: int, out: int) -> list:
    """[(start, end)] of each of `out` cells over a length-n axis."""
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


def _cells(shape: tuple, output_size: tuple) -> list:
    h, w = shape[-2:]
    oh, ow = output_size
    return [(i, j, r, c) for i, r in enumerate(bins(h, oh)) for j, c in enumerate(bins(w, ow))]


class AdaptiveAvgPool(Function):
    @staticmethod
    def forward(ctx, x, output_size=(1, 1)):
        ctx.shape, ctx.cells = x.shape, _cells(x.shape, output_size)
        out = np.empty(x.shape[:-2] + tuple(output_size), x.dtype)
        for i, j, (r0, r1), (c0, c1) in ctx.cells:
            out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = np.zeros(ctx.shape, grad.dtype)
        for i, j, (r0, r1), (c0, c1) in ctx.cells:    # each cell spreads its gradient evenly over its window
            gx[..., r0:r1, c0:c1] += grad[..., i, j, None, None] / ((r1 - r0) * (c1 - c0))
        return gx


class AdaptiveMaxPool(Function):
    """Ties: the whole gradient of a cell goes to its first maximum."""

    @staticmethod
    def forward(ctx, x, output_size=(1, 1)):
        ctx.shape, ctx.cells = x.shape, _cells(x.shape, output_size)
        out = np.empty(x.shape[:-2] + tuple(output_size), x.dtype)
        ctx.winners = []
        for i, j, (r0, r1), (c0, c1) in ctx.cells:
            window = x[..., r0:r1, c0:c1].reshape(x.shape[:-2] + (-1,))
            k = window.argmax(axis=-1)[..., None]
            out[..., i, j] = np.take_along_axis(window, k, -1)[..., 0]
            ctx.winners.append(k)
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = np.zeros(ctx.shape, grad.dtype)
        for (i, j, (r0, r1), (c0, c1)), k in zip(ctx.cells, ctx.winners):
            g = np.zeros(ctx.shape[:-2] + ((r1 - r0) * (c1 - c0),), grad.dtype)
            np.put_along_axis(g, k, grad[..., i, j, None], -1)
            gx[..., r0:r1, c0:c1] += g.reshape(ctx.shape[:-2] + (r1 - r0, c1 - c0))
        return gx
