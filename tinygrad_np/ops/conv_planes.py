"""conv2d's backward in the plane layout: stride 1, one group; im2col and col2im as whole-plane
memcpys and 1-D adds.

The plain columns (im2col.py) are (N, C, KH, KW, L): for one sample and kernel offset (i, j) the C
channel runs sit KH*KW*L apart, so every copy and every col2im add is a strided 2-D (C, L) operation,
which NumPy runs 3-5x slower per element than a 1-D one (measured: a (32, 835) strided in-place add
25 µs, the same 26,720 elements contiguous 5 µs). Here the columns of one sample are (KH, KW, C, P)
with P = Hp*Wp, the whole padded plane: column l = oh*Wp + ow, and the C runs of offset (i, j) are
then *one* run of the flattened sample, starting at i*DH*Wp + j*DW. So im2col is KH*KW memcpys per
sample and col2im KH*KW 1-D adds; the weight matrix is reordered to match ((O, KH, KW, C), a tiny
copy). Columns past the valid OH x OW grid are junk: the gradient buffer holds zeros there (zeroed
once), so they add nothing to dW or dX; the last run of each offset would read past the sample, so
those elements of the columns are zeroed once instead. The price is P / (OH*Wp) more GEMM columns
(the seed CNN's conv2: 7 %); the measured gain is in `Convolution.forward`, where the path is chosen.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .. import threads
from ..threads import chunk_threads, run_chunks


def _offsets(xp_shape: tuple, kernel: tuple, dilation: tuple) -> list:
    wp = xp_shape[3]
    return [i * dilation[0] * wp + j * dilation[1] for i in range(kernel[0]) for j in range(kernel[1])]


def _chunk_samples(per_sample: int, itemsize: int, chunk_bytes: int) -> int:
    return max(1, chunk_bytes // max(per_sample * itemsize, 1))


def _buffer(m: int, rows: int, plane: int, dtype, fold: bool) -> np.ndarray:
    """(m, rows + fold, P) columns, zeroed once (the tails im2col never writes), ones row for a folded bias."""
    buf = np.zeros((m, rows + fold, plane), dtype)
    if fold:
        buf[:, rows] = 1
    return buf


def _im2col(xflat: np.ndarray, cols: np.ndarray, offsets: list, span: int) -> None:
    """xflat (m, C*P) -> cols (m, KH*KW*C [+1], P): block k of each sample is xflat[s, off_k:] (C*P long)."""
    for s in range(xflat.shape[0]):
        flat = cols[s].reshape(-1)
        for k, off in enumerate(offsets):
            flat[k * span:(k + 1) * span - off] = xflat[s, off:]


def _col2im(dcols: np.ndarray, dxflat: np.ndarray, offsets: list, span: int) -> None:
    """The adjoint of `_im2col`: dxflat[s, off_k:] += block k of dcols[s] (the read part)."""
    for s in range(dxflat.shape[0]):
        flat = dcols[s].reshape(-1)
        for k, off in enumerate(offsets):
            run = dxflat[s, off:]
            np.add(run, flat[k * span:(k + 1) * span - off], out=run)


def weight_matrix(weight: np.ndarray) -> np.ndarray:
    """(O, C, KH, KW) -> (O, KH*KW*C): the column order of the plane layout."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def backward(grad: np.ndarray, x_padded: Optional[np.ndarray], weight: np.ndarray, xp_shape: tuple,
             kernel: tuple, dilation: tuple, out_hw: tuple, needs: tuple, fold: bool,
             chunk_bytes: int) -> Tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]:
    """(dxp of the padded input, dW, db) for `forward`'s convolution; fold: db from the dW GEMM."""
    need_x, need_w, need_b = needs
    n, c, hp, wp = xp_shape
    o, k, plane = weight.shape[0], c * kernel[0] * kernel[1], hp * wp
    oh, ow = out_hw
    span, offsets = c * plane, _offsets(xp_shape, kernel, dilation)
    fold = fold and need_w and need_b
    step = _chunk_samples((k + 1) * plane, grad.itemsize, chunk_bytes)
    chunks = -(-n // step)
    parallel = 2 * o * k * plane * n >= threads.PARALLEL_FLOPS
    slots = range(chunk_threads(chunks, parallel))
    m_max = min(step, n)
    gbufs = [np.zeros((m_max, o, plane), grad.dtype) for _ in slots]     # junk columns stay zero
    dbs = [np.zeros(o, grad.dtype) for _ in slots] if need_b and not fold else None
    dws = bufs = xflat = dxp = dxflat = None
    if need_w:
        xflat = x_padded.reshape(n, span)
        dws = [np.zeros((k + fold, o), np.result_type(grad, x_padded)) for _ in slots]   # dWᵀ
        bufs = [_buffer(m_max, k, plane, x_padded.dtype, fold) for _ in slots]
    if need_x:
        wt = np.ascontiguousarray(weight_matrix(weight).T)
        dxp = np.zeros(xp_shape, np.result_type(grad, weight))
        dxflat = dxp.reshape(n, span)
        dbufs = [np.empty((m_max, k, plane), dxp.dtype) for _ in slots]

    def chunk(ci: int, slot: int) -> None:
        start = ci * step
        m = min(step, n - start)
        g = gbufs[slot][:m]
        g.reshape(m, o, hp, wp)[:, :, :oh, :ow] = grad[start:start + m]
        if dbs is not None:
            dbs[slot] += grad[start:start + m].sum(axis=(0, 2, 3))
        if need_w:
            cols = bufs[slot][:m]
            _im2col(xflat[start:start + m], cols, offsets, span)
            dws[slot] += np.matmul(cols, g.transpose(0, 2, 1)).sum(axis=0)
        if need_x:
            dcols = np.matmul(wt, g, out=dbufs[slot][:m])
            _col2im(dcols, dxflat[start:start + m], offsets, span)
    run_chunks(chunk, chunks, parallel)
    db = dw = None
    if need_w:
        dwt = sum(dws[1:], dws[0])
        if fold:
            db, dwt = dwt[k].astype(grad.dtype, copy=True), dwt[:k]
        dw = dwt.T.reshape(o, kernel[0], kernel[1], c).transpose(0, 3, 1, 2).copy()
    if dbs is not None:
        db = sum(dbs[1:], dbs[0])
    return dxp, dw, db
