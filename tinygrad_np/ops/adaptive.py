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


def _spread(grad: np.ndarray, shape: tuple, cells: list) -> np.ndarray:
    """The adjoint of the average pool: each cell's value spread evenly over its window."""
    gx = np.zeros(shape, grad.dtype)
    for i, j, (r0, r1), (c0, c1) in cells:
        gx[..., r0:r1, c0:c1] += grad[..., i, j, None, None] / ((r1 - r0) * (c1 - c0))
    return gx


def _average(x: np.ndarray, cells: list, output_size: tuple) -> np.ndarray:
    out = np.empty(x.shape[:-2] + tuple(output_size), x.dtype)
    for i, j, (r0, r1), (c0, c1) in cells:
        out[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return out


def _scatter(grad: np.ndarray, shape: tuple, cells: list, winners: list) -> np.ndarray:
    """The adjoint of the max pool's selection: each cell's value goes to its window's winner."""
    gx = np.zeros(shape, grad.dtype)
    for (i, j, (r0, r1), (c0, c1)), k in zip(cells, winners):
        g = np.zeros(shape[:-2] + ((r1 - r0) * (c1 - c0),), grad.dtype)
        np.put_along_axis(g, k, grad[..., i, j, None], -1)
        gx[..., r0:r1, c0:c1] += g.reshape(shape[:-2] + (r1 - r0, c1 - c0))
    return gx


def _gather(x: np.ndarray, cells: list, winners: list, output_size: tuple) -> np.ndarray:
    """Each cell's winner of x (the max pool's forward, with the winners fixed)."""
    out = np.empty(x.shape[:-2] + tuple(output_size), x.dtype)
    for (i, j, (r0, r1), (c0, c1)), k in zip(cells, winners):
        window = x[..., r0:r1, c0:c1].reshape(x.shape[:-2] + (-1,))
        out[..., i, j] = np.take_along_axis(window, k, -1)[..., 0]
    return out


class AdaptiveAvgPool(Function):
    @staticmethod
    def forward(ctx, x, output_size=(1, 1)):
        ctx.shape, ctx.cells, ctx.output_size = x.shape, _cells(x.shape, output_size), tuple(output_size)
        return _average(x, ctx.cells, ctx.output_size)

    @staticmethod
    def backward(ctx, grad): return _spread(grad, ctx.shape, ctx.cells)

    @staticmethod
    def backward_graph(ctx, grad): return AvgSpread.apply(grad, shape=ctx.shape, cells=ctx.cells)


class AvgSpread(Function):
    """The average pool's backward as an op (linear in the gradient), so that it can be differentiated
    again: its own backward is the average pool."""

    @staticmethod
    def forward(ctx, grad, shape=(), cells=()):
        ctx.cells, ctx.output_size = cells, grad.shape[-2:]
        return _spread(grad, shape, cells)

    @staticmethod
    def backward(ctx, g): return _average(g, ctx.cells, ctx.output_size)

    @staticmethod
    def backward_graph(ctx, g): return AdaptiveAvgPool.apply(g, output_size=ctx.output_size)


class AdaptiveMaxPool(Function):
    """Ties: the whole gradient of a cell goes to its first maximum."""

    @staticmethod
    def forward(ctx, x, output_size=(1, 1)):
        ctx.shape, ctx.cells = x.shape, _cells(x.shape, output_size)
        ctx.winners = [x[..., r0:r1, c0:c1].reshape(x.shape[:-2] + (-1,)).argmax(axis=-1)[..., None]
                       for _, _, (r0, r1), (c0, c1) in ctx.cells]
        return _gather(x, ctx.cells, ctx.winners, output_size)

    @staticmethod
    def backward(ctx, grad): return _scatter(grad, ctx.shape, ctx.cells, ctx.winners)

    @staticmethod
    def backward_graph(ctx, grad):
        return MaxScatter.apply(grad, shape=ctx.shape, cells=ctx.cells, winners=ctx.winners)


class MaxScatter(Function):
    """The max pool's backward as an op (linear in the gradient, winners fixed); its backward gathers."""

    @staticmethod
    def forward(ctx, grad, shape=(), cells=(), winners=()):
        ctx.cells, ctx.winners, ctx.output_size = cells, winners, grad.shape[-2:]
        return _scatter(grad, shape, cells, winners)

    @staticmethod
    def backward(ctx, g): return _gather(g, ctx.cells, ctx.winners, ctx.output_size)

    @staticmethod
    def backward_graph(ctx, g): return MaxGather.apply(g, cells=ctx.cells, winners=ctx.winners,
                                                       output_size=ctx.output_size)


class MaxGather(Function):
    """Pick each cell's (fixed) winner; the adjoint of MaxScatter."""

    @staticmethod
    def forward(ctx, x, cells=(), winners=(), output_size=(1, 1)):
        ctx.shape, ctx.cells, ctx.winners = x.shape, cells, winners
        return _gather(x, cells, winners, output_size)

    @staticmethod
    def backward(ctx, g): return _scatter(g, ctx.shape, ctx.cells, ctx.winners)

    @staticmethod
    def backward_graph(ctx, g): return MaxScatter.apply(g, shape=ctx.shape, cells=ctx.cells, winners=ctx.winners)
