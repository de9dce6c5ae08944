"""The baseline: hand-written NumPy backprop, the way the seeds do it, in float32 throughout.

Written as a careful NumPy user would: vectorised, no Python loops over samples or pixels, weights
updated in place, the same formulas as the seeds (`dZ2 = A2 - Y_onehot`, `/m`; `dZ1 = W2^T dZ2 * 1[Z1 > 0]`;
`dL/dz = a - y` for sigmoid + BCE). Layout and formulation match the framework models exactly:
`Z = X @ W.T + b` with W of shape (out, in) (PyTorch's Linear), NCHW images, softmax cross-entropy and
BCE on logits (the stable softplus form), both with the mean over the batch. As a framework would, the
first layer's input gradient is not computed.

The CNN uses im2col on a strided window view (one matmul per conv) and col2im as kh*kw slab adds.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray


# ---- losses: value and gradient with respect to the logits ------------------------------------------
def softmax_ce(z: Array, y: Array) -> Tuple[float, Array]:
    """Mean softmax cross-entropy over the batch; gradient (softmax - onehot) / m."""
    m = z.shape[0]
    shift = z - z.max(axis=1, keepdims=True)
    e = np.exp(shift)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(m)
    loss = float((np.log(s[:, 0]) - shift[rows, y]).sum()) / m     # np.mean costs ~13 µs on tiny arrays
    dz = e / s
    dz[rows, y] -= 1
    dz /= m
    return loss, dz


def bce_with_logits(z: Array, y: Array) -> Tuple[float, Array]:
    """Mean of max(z,0) - z*y + log(1 + exp(-|z|)); gradient (sigmoid(z) - y) / m."""
    loss = float((np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum()) / z.size
    sig = 0.5 * (np.tanh(0.5 * z) + 1)          # sigmoid without overflow
    return loss, (sig - y) / z.size


LOSSES = {"ce": softmax_ce, "bce": bce_with_logits}


# ---- dense layers -----------------------------------------------------------------------------------
class HandMLP:
    """Linear -> ReLU -> ... -> Linear, loss on the logits, SGD in place."""

    def __init__(self, params: Dict[str, Array], prefixes: List[str], loss: str, lr: float) -> None:
        self.W = [params[p + ".weight"] for p in prefixes]
        self.b = [params[p + ".bias"] for p in prefixes]
        self.loss = LOSSES[loss]
        self.lr = lr

    def forward(self, a: Array) -> Tuple[Array, list]:
        cache = []
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = a @ W.T + b
            cache.append((a, z))
            a = np.maximum(z, 0) if i < last else z
        return a, cache

    def backward(self, dz: Array, cache: list, need_input_grad: bool = False) -> Tuple[list, Array]:
        """Gradients [(dW, db)] in layer order, and the input gradient when asked for."""
        grads = []
        dx = None
        for i in range(len(self.W) - 1, -1, -1):
            a, _ = cache[i]
            grads.append((dz.T @ a, dz.sum(axis=0)))
            if i > 0:
                dz = (dz @ self.W[i]) * (cache[i - 1][1] > 0)
            elif need_input_grad:
                dx = dz @ self.W[0]
        return grads[::-1], dx

    def gradients(self, x: Array, y: Array) -> Tuple[float, list]:
        z, cache = self.forward(x)
        loss, dz = self.loss(z, y)
        return loss, self.backward(dz, cache)[0]

    def step(self, x: Array, y: Array) -> float:
        loss, grads = self.gradients(x, y)
        self.update(grads)
        return loss

    def update(self, grads: list) -> None:
        lr = self.lr
        for W, b, (dW, db) in zip(self.W, self.b, grads):
            W -= lr * dW
            b -= lr * db


# ---- convolution and pooling (NCHW, stride 1, padding 0, 2x2/2 pooling) -----------------------------
# The im2col matrix is laid out (C*KH*KW, N*OH*OW): its copy then reads whole image rows, and the
# col2im adds write whole rows, about twice as fast here as the (N*OH*OW, C*KH*KW) layout. The conv
# output is an NCHW view of a (F, N, OH, OW) array; NumPy's element-wise ops keep that memory order.
def conv2d_forward(x: Array, W: Array, b: Array) -> Tuple[Array, tuple]:
    """Valid convolution as one matmul of the (F, C*KH*KW) weights with the im2col matrix."""
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    oh, ow = h - kh + 1, w - kw + 1
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))                   # (n, c, oh, ow, kh, kw), a view
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * oh * ow)   # the one im2col copy
    out = W.reshape(f, -1) @ cols + b[:, None]                            # (f, n*oh*ow)
    return out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3), (cols, x.shape)


def conv2d_backward(dout: Array, W: Array, cache: tuple, need_input_grad: bool = True):
    """(dx or None, dW, db). col2im loops over the kh*kw kernel offsets only."""
    cols, (n, c, h, w) = cache
    f, _, kh, kw = W.shape
    oh, ow = dout.shape[2:]
    d2 = dout.transpose(1, 0, 2, 3).reshape(f, n * oh * ow)
    dW = (d2 @ cols.T).reshape(W.shape)
    db = d2.sum(axis=1)
    if not need_input_grad:
        return None, dW, db
    dcols = (W.reshape(f, -1).T @ d2).reshape(c, kh, kw, n, oh, ow)
    dx = np.zeros((c, n, h, w), dtype=dout.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + oh, j:j + ow] += dcols[:, i, j]
    return dx.transpose(1, 0, 2, 3), dW, db


def maxpool2_forward(x: Array) -> Tuple[Array, tuple]:
    """2x2 max-pool, stride 2, as the maximum of the four strided corners (NumPy's multi-axis
    `max(axis=(3, 5))` on a 6-d reshape is ~10x slower); an odd last row/column is dropped (floor)."""
    oh, ow = x.shape[2] // 2, x.shape[3] // 2
    x = x[:, :, :2 * oh, :2 * ow]
    out = np.maximum(np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                     np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))
    return out, (x, out)


def maxpool2_backward(dout: Array, cache: tuple, in_shape: Tuple[int, ...]) -> Array:
    """Route each window's gradient to its maximum. Ties would send it to every tied element; in the
    model they only occur among ReLU zeros, whose gradient ReLU then drops, so the result is exact."""
    x, out = cache
    dx = np.zeros(in_shape, dtype=dout.dtype)
    for i in (0, 1):
        for j in (0, 1):
            dx[:, :, i:x.shape[2]:2, j:x.shape[3]:2] = dout * (x[:, :, i::2, j::2] == out)
    return dx


class HandCNN:
    """The seed CNN: (conv -> ReLU -> maxpool) x 2 -> flatten -> dense 128 -> 64 -> 1, BCE on logits."""

    def __init__(self, params: Dict[str, Array], conv_prefixes: List[str], fc_prefixes: List[str],
                 loss: str, lr: float) -> None:
        self.Wc = [params[p + ".weight"] for p in conv_prefixes]
        self.bc = [params[p + ".bias"] for p in conv_prefixes]
        self.mlp = HandMLP(params, fc_prefixes, loss, lr)
        self.loss = LOSSES[loss]
        self.lr = lr

    def gradients(self, x: Array, y: Array) -> Tuple[float, list]:
        caches = []
        a = x
        for W, b in zip(self.Wc, self.bc):
            z, cc = conv2d_forward(a, W, b)
            r = np.maximum(z, 0)
            a, pc = maxpool2_forward(r)
            caches.append((cc, z, pc, r.shape))
        shape = a.shape
        logits, fc_cache = self.mlp.forward(a.reshape(shape[0], -1))
        loss, dz = self.loss(logits, y)
        fc_grads, da = self.mlp.backward(dz, fc_cache, need_input_grad=True)
        da = da.reshape(shape)
        conv_grads = []
        for i in range(len(self.Wc) - 1, -1, -1):
            cc, z, pc, r_shape = caches[i]
            dz = maxpool2_backward(da, pc, r_shape) * (z > 0)
            da, dW, db = conv2d_backward(dz, self.Wc[i], cc, need_input_grad=i > 0)
            conv_grads.append((dW, db))
        return loss, conv_grads[::-1] + fc_grads

    def step(self, x: Array, y: Array) -> float:
        loss, grads = self.gradients(x, y)
        lr = self.lr
        for W, b, (dW, db) in zip(self.Wc + self.mlp.W, self.bc + self.mlp.b, grads):
            W -= lr * dW
            b -= lr * db
        return loss


def sgd_update(params: List[Array], grads: List[Array], lr: float) -> None:
    """The bare NumPy SGD loop the optimizer is compared with."""
    for p, g in zip(params, grads):
        p -= lr * g
