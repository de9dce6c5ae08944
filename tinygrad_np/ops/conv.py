"""2-D convolution (cross-correlation, as in PyTorch) on NCHW arrays: im2col + one batched matmul.

Forward: cols = im2col(padded x) of shape (n, C, KH, KW, L), viewed per group as (n, G, C/G*KH*KW, L);
out = W (G, O/G, C/G*KH*KW) @ cols is one `np.matmul` call that runs a BLAS gemm per (sample, group)
and lands directly in NCHW order (no transpose copy). Backward builds the same columns again:
dW = Σₙ g colsᵀ, dcols = Wᵀ g, and col2im adds dcols back with one slab add per kernel offset.
With one group the bias rides in the GEMM ([W | b] against a ones row of the columns) and db comes
out of the dW GEMM. A stride-1, one-group convolution that needs dX runs its backward in the plane
layout of conv_planes.py instead (whole-plane memcpys and 1-D adds); this file's path stays the
general one and the reference the tests check the others against.

Both passes walk the batch in chunks whose columns fit in about 1 MB (the L2 cache; two samples for
each of the seed CNN's layers): columns are written, multiplied and dropped while still in cache
instead of making a round trip through main memory, and no im2col buffer is ever kept between forward
and backward. Rebuilding them in backward is a cheap copy; storing them would cost as much memory
as all the layer's activations (measured: about 2x less peak memory for the seed CNN's step, and
faster, since fewer fresh pages have to be faulted in). The chunks are independent, so
`threads.run_chunks` runs them on `tg.get_num_threads()` threads, each with its own column buffer
(and, in backward, its own partial dW and db, added up at the end); BLAS stays at one thread.

Measured and rejected (paired, 1 thread, the seed CNN's layers): Winograd F(2x2, 3x3) in NumPy ran the
forward 2.6x (conv2, 16 -> 32 channels) and 6x (conv1, 3 -> 16) slower than im2col + GEMM: its 2.25x
fewer multiplies go to 16 GEMMs with K = C_in (16 or 3), which BLAS runs far below peak, and its
input/output transforms are a dozen memory-bound NumPy passes. Its float32 error was 1.6e-7 (conv1)
and 2.1e-7 (conv2) of max|out| against a float64 direct result, im2col's 2.8e-7 and 5.1e-7.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..dtypes import quiet_function
from ..function import Function
from ..grad_mode import is_grad_enabled
from .. import threads
from ..threads import chunk_threads, run_chunks
from . import conv_planes
from .im2col import col2im, crop, im2col, out_size, pad, plane_contiguous, wide_columns

CHUNK_BYTES = 1 << 20
PLANES = True                  # the plane layout (conv_planes.py) where it applies; False: the plain path
# ... and where its junk GEMM columns, Hp / OH times the wide grid's, stay few. Measured side by side, fwd+bwd,
# planes ÷ plain at 1 | 2 threads: Hp/OH 1.06 (seed conv2) 0.90 | 0.84; 1.09-1.14 0.96-1.03 either way;
# 1.25 1.27 | 1.21; 1.40 (mnist_cnn's conv2) 1.13 | 1.27 (2026-12-03, batch 32-64, float32)
PLANES_MAX_EXTRA = 1.1


def planes_pay(padded_height: int, out_height: int) -> bool:
    """Whether the plane-layout backward is worth its extra GEMM columns (Hp / OH of them; see above)."""
    return padded_height <= PLANES_MAX_EXTRA * out_height


def _chunking(xp_shape: tuple, itemsize: int, kernel: tuple, dilation: tuple, out_hw: tuple,
              wide: bool) -> Tuple[int, int, int]:
    """(samples per chunk, column elements per sample, columns per kernel offset L)."""
    length = wide_columns(xp_shape, kernel, dilation, out_hw)[0] if wide else out_hw[0] * out_hw[1]
    per_sample = xp_shape[1] * kernel[0] * kernel[1] * length
    return max(1, CHUNK_BYTES // max(per_sample * itemsize, 1)), per_sample, length


def _folds_bias(x: np.ndarray, weight: np.ndarray, bias, groups: int) -> bool:
    """Whether the bias rides in the GEMM as an extra column of W against a row of ones in the columns
    (one group, one dtype). Measured side by side, 1 thread: the seed CNN's conv1 forward 0.85x the time
    of adding it to the output afterwards (its K = 27 GEMM is memory-bound; the 28th row costs ~nothing),
    conv2 0.99x; in backward db then comes out of the dW GEMM instead of a reduction over the gradient."""
    return bias is not None and groups == 1 and x.dtype == weight.dtype == bias.dtype


def _column_buffer(m: int, k: int, length: int, per_sample: int, dtype, fold: bool) -> np.ndarray:
    """A chunk's im2col buffer: flat, or (m, k + 1, L) with the ones row of a folded bias written once."""
    if not fold:
        return np.empty(m * per_sample, dtype)
    buf = np.empty((m, k + 1, length), dtype)
    buf[:, k] = 1
    return buf


def _columns(buf: np.ndarray, m: int, channels: int, kernel: tuple, length: int, per_sample: int,
             fold: bool) -> np.ndarray:
    """The (m, C, KH, KW, L) part of a chunk buffer that im2col fills (a view, never a copy)."""
    if not fold:
        return buf[:m * per_sample].reshape(m, channels, *kernel, length)
    view = buf[:m, :-1]
    view.shape = (m, channels, *kernel, length)        # raises rather than copy
    return view


@quiet_function                   # huge inputs overflow to inf, as in PyTorch, without a NumPy warning
class Convolution(Function):
    """conv2d as a Function: positional (x, weight, bias-or-None); geometry as keyword arguments,
    already validated by `nn.functional.conv2d`."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        o, cg, kh, kw = weight.shape
        n, k, og = x.shape[0], cg * kh * kw, o // groups
        xp = pad(x, pads)
        kernel = (kh, kw)
        out_hw = (out_size(xp.shape[2], kh, stride[0], 0, 0, dilation[0]),
                  out_size(xp.shape[3], kw, stride[1], 0, 0, dilation[1]))
        # the wide grid (see im2col) pays off when col2im runs; otherwise its junk columns cost more
        wide = stride == (1, 1) and ctx.needs_input_grad[0] and is_grad_enabled() and plane_contiguous(xp)
        ctx.fold_bias = fold = _folds_bias(x, weight, bias, groups)
        # backward in the plane layout (conv_planes.py) when it has a col2im to do on big planes (see
        # PLANES_MAX_EXTRA). Measured side by side, 1 | 2 threads, fwd+bwd: the seed CNN's conv2 0.91x | 0.87x;
        # without dX (conv1) 1.09x | 1.02x, so not there; forward stays on the wide grid (its plane version:
        # 1.04-1.08x, the extra GEMM columns)
        ctx.planes = PLANES and wide and groups == 1 and planes_pay(xp.shape[2], out_hw[0])
        step, per_sample, length = _chunking(xp.shape, xp.itemsize, kernel, dilation, out_hw, wide)
        out = np.empty((n, o, length), np.result_type(x, weight, *(() if bias is None else (bias,))))
        chunks = -(-n // step)
        parallel = 2 * o * k * length * n >= threads.PARALLEL_FLOPS
        # folded bias: [W | b] @ [cols; 1] puts the bias into the GEMM instead of a pass over the output
        wg = np.concatenate([weight.reshape(o, k), bias[:, None]], axis=1) if fold else weight.reshape(groups, og, k)
        bufs = [_column_buffer(min(step, n), k, length, per_sample, xp.dtype, fold)
                for _ in range(chunk_threads(chunks, parallel))]

        def chunk(c: int, slot: int) -> None:
            start = c * step
            m, block = min(step, n - start), out[start:start + step]
            cols = im2col(xp[start:start + m], kernel, stride, dilation, out_hw, wide,
                          out=_columns(bufs[slot], m, x.shape[1], kernel, length, per_sample, fold))
            if fold:
                np.matmul(wg, bufs[slot][:m], out=block)
                return
            np.matmul(wg, cols.reshape(m, groups, k, length), out=block.reshape(m, groups, og, length))
            if bias is not None:
                block += bias[:, None]
        run_chunks(chunk, chunks, parallel)
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight)
        ctx.geometry = (xp.shape, kernel, stride, pads, dilation, groups, out_hw, wide)
        return out.reshape(n, o, out_hw[0], length // out_hw[0])[..., :out_hw[1]]   # crops the wide grid's junk

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        xp_shape, kernel, stride, pads, dilation, groups, out_hw, wide = ctx.geometry
        need_x, need_w, need_b = ctx.needs_input_grad
        if getattr(ctx, "planes", False):
            xp = np.ascontiguousarray(pad(x, pads)) if need_w else None
            fold = need_w and ctx.fold_bias and grad.dtype == x.dtype
            dxp, dw, db = conv_planes.backward(grad, xp, weight, xp_shape, kernel, dilation, out_hw,
                                               ctx.needs_input_grad, fold, CHUNK_BYTES)
            return (None if dxp is None else crop(dxp, pads), dw, db)
        n, o = grad.shape[:2]
        k, og = weight.shape[1] * kernel[0] * kernel[1], o // groups
        step, per_sample, length = _chunking(xp_shape, grad.itemsize, kernel, dilation, out_hw, wide)
        chunks = -(-n // step)
        parallel = 2 * o * k * length * n >= threads.PARALLEL_FLOPS
        slots = range(chunk_threads(chunks, parallel))
        m_max = min(step, n)
        if wide:        # the wide grid's junk columns get zero gradient, which col2im relies on
            gbufs = [np.empty((m_max, o, out_hw[0], xp_shape[3]), grad.dtype) for _ in slots]
            for g in gbufs:
                g[..., out_hw[1]:] = 0
        # folded bias (forward's ones row of the columns): db is dWᵀ's last row, from the same GEMM
        fold = need_w and need_b and getattr(ctx, "fold_bias", False) and grad.dtype == x.dtype
        # per-thread partial sums of the weight and bias gradients, added up after the chunks
        dbs = [np.zeros((groups, og), grad.dtype) for _ in slots] if need_b and not fold else None
        dws = dxp = xp = None
        if need_w:
            xp = pad(x, pads)
            dws = [np.zeros((groups, k + fold, og), np.result_type(grad, x)) for _ in slots]      # dWᵀ, see below
            bufs = [_column_buffer(m_max, k, length, per_sample, xp.dtype, fold) for _ in slots]
        if need_x:
            wt = np.ascontiguousarray(weight.reshape(groups, og, k).transpose(0, 2, 1))   # BLAS: ~10% faster
            dxp = np.zeros(xp_shape, np.result_type(grad, weight))
            dbufs = [np.empty((m_max, groups, k, length), dxp.dtype) for _ in slots]

        def chunk(c: int, slot: int) -> None:
            start = c * step
            m, gc = min(step, n - start), grad[start:start + step]
            if wide:
                gbufs[slot][:m, ..., :out_hw[1]] = gc
                gc = gbufs[slot][:m]
            gc = gc.reshape(m, groups, og, length)
            if dbs is not None:
                dbs[slot] += gc.sum(axis=(0, 3))
            if need_w:
                cols = im2col(xp[start:start + m], kernel, stride, dilation, out_hw, wide,
                              out=_columns(bufs[slot], m, x.shape[1], kernel, length, per_sample, fold))
                if fold:
                    cols = bufs[slot][:m]
                # dWᵀ = cols gᵀ rather than dW = g colsᵀ: the same product, 10-20% faster in OpenBLAS
                # at the seed CNN's shapes (measured side by side), where M and N are small and K = L long
                dws[slot] += np.matmul(cols.reshape(m, groups, k + fold, length), gc.transpose(0, 1, 3, 2)).sum(axis=0)
            if need_x:
                dcols = np.matmul(wt, gc, out=dbufs[slot][:m]).reshape(m, groups * weight.shape[1], *kernel, length)
                col2im(dcols, (m,) + xp_shape[1:], kernel, stride, dilation, out_hw, wide,
                       out=dxp[start:start + m])
        run_chunks(chunk, chunks, parallel)
        dwt = sum(dws[1:], dws[0]) if need_w else None
        if fold:
            db, dwt = dwt[0, k].astype(grad.dtype, copy=True), dwt[:, :k]
        else:
            db = sum(dbs[1:], dbs[0]).reshape(o) if need_b else None
        dw = dwt.transpose(0, 2, 1).reshape(weight.shape) if need_w else None
        return (None if dxp is None else crop(dxp, pads), dw, db)
