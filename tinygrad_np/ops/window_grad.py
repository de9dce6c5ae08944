"""Differentiable backward passes of convolution and pooling, built from the first-order kernels.

Every pass here is linear in its Tensor arguments, so each one's adjoint is another pass of the same
family and the family is closed under differentiation (any order):

    conv(x, w)             backward: dx = ConvInputGrad(g, w)         dw = ConvWeightGrad(x, g)
    ConvInputGrad(g, w)    adjoint:  dg = conv(u, w)                  dw = ConvWeightGrad(u, g)
    ConvWeightGrad(x, g)   adjoint:  dx = ConvInputGrad(g, V)         dg = conv(x, V)
    MaxPool                backward: MaxPoolScatter(g) (to the recorded winners); its adjoint MaxPoolGather
    AvgPool                backward: AvgPoolScatter(g); its adjoint is the average pool itself (AvgPoolGather)

Forward passes reuse the fast ndarray kernels of conv.py/pool.py (im2col, slabs), so the first-order
path is untouched; these Functions appear only under `create_graph=True`. Their ndarray `backward`
runs their `backward_graph` under no_grad (`_via_graph`), so each adjoint is written once.
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from ..grad_mode import no_grad
from ..tensor import Tensor
from .conv import Convolution
from .pool import AvgPool, MaxPool, _slabs, pad


def _via_graph(ctx, *grads):
    """An ndarray backward from `backward_graph`: run it on constant Tensors, recording nothing."""
    with no_grad():
        out = type(ctx).backward_graph(ctx, *[Tensor._make(g, False, None) for g in grads])
    if type(out) is not tuple:
        return out._data
    return tuple(None if o is None else o._data for o in out)


def _conv_ctx(x, weight, geometry, needs):
    """A Convolution node as its backward expects it, to run the im2col kernel on other arrays."""
    ctx = object.__new__(Convolution)
    ctx.saved_tensors, ctx.geometry, ctx.needs_input_grad = (x, weight), geometry, needs
    return ctx


def _conv(x, weight, geometry):
    stride, pads, dilation, groups = geometry[2:6]
    return Convolution.apply(x, weight, None, stride=stride, pads=pads, dilation=dilation, groups=groups)


class ConvInputGrad(Function):
    """dx = convᵀ(g, w): the gradient of a convolution with respect to its input, as an op."""

    @staticmethod
    def forward(ctx, grad, weight, geometry=None):
        ctx.geometry = geometry
        return Convolution.backward(_conv_ctx(None, weight, geometry, (True, False, False)), grad)[0]

    backward = staticmethod(_via_graph)

    @staticmethod
    def backward_graph(ctx, u):                          # ⟨convᵀ(g, w), u⟩ = ⟨g, conv(u, w)⟩
        g, w = ctx.parents
        return (_conv(u, w, ctx.geometry) if ctx.needs_input_grad[0] else None,
                ConvWeightGrad.apply(u, g, geometry=ctx.geometry, weight_shape=w.shape)
                if ctx.needs_input_grad[1] else None)


class ConvWeightGrad(Function):
    """dw = Σ g ⋆ x: the gradient of a convolution with respect to its weight, as an op."""

    @staticmethod
    def forward(ctx, x, grad, geometry=None, weight_shape=()):
        ctx.geometry = geometry
        placeholder = np.broadcast_to(np.zeros((), grad.dtype), weight_shape)   # only its shape is read
        if geometry[7]:          # the wide im2col grid reads rows as contiguous runs (see im2col.py)
            x = np.ascontiguousarray(x)
        return Convolution.backward(_conv_ctx(x, placeholder, geometry, (False, True, False)), grad)[1]

    backward = staticmethod(_via_graph)

    @staticmethod
    def backward_graph(ctx, v):                          # ⟨dw(x, g), v⟩ = ⟨g, conv(x, v)⟩
        x, g = ctx.parents
        return (ConvInputGrad.apply(g, v, geometry=ctx.geometry) if ctx.needs_input_grad[0] else None,
                _conv(x, v, ctx.geometry) if ctx.needs_input_grad[1] else None)


def _convolution_backward_graph(ctx, grad):
    x, w, b = ctx.parents
    need_x, need_w, need_b = ctx.needs_input_grad
    return (ConvInputGrad.apply(grad, w, geometry=ctx.geometry) if need_x else None,
            ConvWeightGrad.apply(x, grad, geometry=ctx.geometry, weight_shape=w.shape) if need_w else None,
            grad.sum(dim=(0, 2, 3)) if need_b else None)


class MaxPoolScatter(Function):
    """Max-pool's backward as an op: each window's gradient to its recorded winner."""

    @staticmethod
    def forward(ctx, grad, idx=None, shape=(), geo=None):
        ctx.idx, ctx.shape, ctx.geo = idx, shape, geo
        pool = object.__new__(MaxPool)
        pool.saved_tensors, pool.shape, pool.geo = (idx,), shape, geo
        return MaxPool.backward(pool, grad)

    backward = staticmethod(_via_graph)

    @staticmethod
    def backward_graph(ctx, u): return MaxPoolGather.apply(u, idx=ctx.idx, shape=ctx.shape, geo=ctx.geo)


class MaxPoolGather(Function):
    """The adjoint of MaxPoolScatter: read each window's recorded winner."""

    @staticmethod
    def forward(ctx, u, idx=None, shape=(), geo=None):
        ctx.idx, ctx.shape, ctx.geo = idx, shape, geo
        slabs = _slabs(u if geo.tiles else pad(u, geo.pads, 0.0), geo)
        out = np.zeros(idx.shape, u.dtype)
        for k, s in enumerate(slabs):
            out += s * (idx == k)
        return out

    backward = staticmethod(_via_graph)

    @staticmethod
    def backward_graph(ctx, g): return MaxPoolScatter.apply(g, idx=ctx.idx, shape=ctx.shape, geo=ctx.geo)


class AvgPoolScatter(Function):
    """Average-pool's backward as an op: each window's gradient shared over the window."""

    @staticmethod
    def forward(ctx, grad, divisor=1.0, shape=(), geo=None):
        ctx.divisor, ctx.shape, ctx.geo = divisor, shape, geo
        pool = object.__new__(AvgPool)
        pool.divisor, pool.shape, pool.geo = divisor, shape, geo
        return AvgPool.backward(pool, grad)

    backward = staticmethod(_via_graph)

    @staticmethod
    def backward_graph(ctx, u):
        return AvgPoolGather.apply(u, divisor=ctx.divisor, shape=ctx.shape, geo=ctx.geo)


class AvgPoolGather(Function):
    """The adjoint of AvgPoolScatter: the average pool of `u` with the recorded divisor."""

    @staticmethod
    def forward(ctx, u, divisor=1.0, shape=(), geo=None):
        ctx.divisor, ctx.shape, ctx.geo = divisor, shape, geo
        slabs = _slabs(u if geo.tiles else pad(u, geo.pads, 0.0), geo)
        return sum(slabs[1:], np.array(slabs[0], copy=True)) / divisor

    backward = staticmethod(_via_graph)

    @staticmethod
    def backward_graph(ctx, g):
        return AvgPoolScatter.apply(g, divisor=ctx.divisor, shape=ctx.shape, geo=ctx.geo)


# conv.py and pool.py keep only their first-order kernels; their differentiable backward lives here.
Convolution.backward_graph = staticmethod(_convolution_backward_graph)
MaxPool.backward_graph = staticmethod(
    lambda ctx, grad: MaxPoolScatter.apply(grad, idx=ctx.saved_tensors[0], shape=ctx.shape, geo=ctx.geo))
AvgPool.backward_graph = staticmethod(
    lambda ctx, grad: AvgPoolScatter.apply(grad, divisor=ctx.divisor, shape=ctx.shape, geo=ctx.geo))
