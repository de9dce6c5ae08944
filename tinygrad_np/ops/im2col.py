"""Window bookkeeping shared by convolution and pooling: output sizes, padding, and the im2col /
col2im pair.

Shape notation: input (N, C, H, W); padded input (N, C, Hp, Wp); kernel KH x KW with stride (SH, SW)
and dilation (DH, DW); output positions OH x OW. Kernel offset (i, j) and output position (oh, ow)
read the padded input at row oh*SH + i*DH, column ow*SW + j*DW.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

Pair = Tuple[int, int]
Pads = Tuple[int, int, int, int]      # (top, bottom, left, right)


def out_size(size: int, kernel: int, stride: int, pad_lo: int, pad_hi: int, dilation: int = 1,
             ceil_mode: bool = False) -> int:
    """Number of window positions along one axis, PyTorch's formula. In ceil mode a last, partial
    window is kept only if it starts inside the input or the leading padding."""
    span = dilation * (kernel - 1) + 1
    room = size + pad_lo + pad_hi - span
    if room < 0:
        return 0
    n = -(-room // stride) + 1 if ceil_mode else room // stride + 1
    if ceil_mode and (n - 1) * stride >= size + pad_lo:
        n -= 1
    return n


def pad(x: np.ndarray, pads: Pads, value: float = 0.0) -> np.ndarray:
    """x (N, C, H, W) -> (N, C, top+H+bottom, left+W+right) filled with `value`; x itself when no pads."""
    top, bottom, left, right = pads
    if not any(pads):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, top + h + bottom, left + w + right), value, dtype=x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def crop(xp: np.ndarray, pads: Pads) -> np.ndarray:
    """The inverse of `pad` (a view)."""
    top, bottom, left, right = pads
    return xp[:, :, top:xp.shape[2] - bottom, left:xp.shape[3] - right]


def slab(xp: np.ndarray, i: int, j: int, stride: Pair, dilation: Pair, out_hw: Pair) -> np.ndarray:
    """View of the (N, C, OH, OW) elements that kernel offset (i, j) meets, one per output position."""
    (sh, sw), (dh, dw), (oh, ow) = stride, dilation, out_hw
    return xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]


def plane_contiguous(x: np.ndarray) -> bool:
    """Is every (H, W) plane one C-ordered run, so that rows continue into the next row in memory?
    Both strides are checked even for one-column planes: the wide copy steps along the run with
    strides[3], which NumPy leaves arbitrary (negative, or a wider parent's) on a width-1 view."""
    item = x.itemsize
    return x.strides[3] == item and x.strides[2] == x.shape[3] * item


def wide_columns(xp_shape: tuple, kernel: Pair, dilation: Pair, out_hw: Pair) -> Tuple[int, int]:
    """For `im2col(wide=True)`: (L, R) = (columns per kernel offset, how many of them are read)."""
    wp = xp_shape[3]
    length = out_hw[0] * wp
    return length, length - (kernel[1] - 1) * dilation[1]


def im2col(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair, wide: bool = False,
           out: Optional[np.ndarray] = None) -> np.ndarray:
    """Copy every kernel window of the padded input into columns.

    xp (N, C, Hp, Wp) -> cols (N, C, KH, KW, L), contiguous, with
    cols[n, c, i, j, l] = xp[n, c, oh*SH + i*DH, ow*SW + j*DW] for output position l = (oh, ow).

    Normally l = oh*OW + ow (L = OH*OW) and the copy reads one strided window view of xp.
    `wide=True` (stride 1, planes of xp contiguous) computes on a wide grid instead: l = oh*Wp + ow
    with ow running over all Wp columns (L = OH*Wp). Then every (n, c, i, j) window is a single
    contiguous run of the flattened plane starting at i*DH*Wp + j*DW, so the copy is N*C*KH*KW long
    memcpys, and `col2im` adds long contiguous runs too. The Wp - OW extra columns of each row are
    junk (they wrap into the next row) that conv2d crops from its output; the last (KW-1)*DW columns
    would run past the plane, so they are zeroed instead of read.
    `out`: a buffer to fill instead of allocating one: contiguous of the result's size, or a view of the
    result's shape (conv2d's columns with a bias row of ones after them).
    """
    n, c, hp, wp = xp.shape
    (kh, kw), (dh, dw), (oh, ow) = kernel, dilation, out_hw
    s_n, s_c, s_h, s_w = xp.strides
    length, read = wide_columns(xp.shape, kernel, dilation, out_hw) if wide else (oh * ow, oh * ow)
    cols = np.empty((n, c, kh, kw, length), xp.dtype) if out is None else out.reshape(n, c, kh, kw, length)
    if wide:
        runs = as_strided(xp, (n, c, kh, kw, read), (s_n, s_c, dh * s_h, dw * s_w, s_w), writeable=False)
        cols[..., :read] = runs
        cols[..., read:] = 0
    else:
        sh, sw = stride
        windows = as_strided(xp, (n, c, kh, kw, oh, ow), (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w),
                             writeable=False)
        np.copyto(cols.reshape(n, c, kh, kw, oh, ow), windows)
    return cols


def col2im(dcols: np.ndarray, xp_shape: tuple, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair,
           wide: bool = False, out: Optional[np.ndarray] = None) -> np.ndarray:
    """The adjoint of `im2col`: scatter-add columns back onto the padded input.

    dcols (N, C, KH, KW, L) -> dxp (N, C, Hp, Wp) with dxp[n, c, oh*SH + i*DH, ow*SW + j*DW] summing
    dcols[n, c, i, j, l] over every (i, j, l) that reads that pixel. The loop runs over the KH*KW kernel
    offsets only; each step adds one whole (N, C, OH, OW) slab (overlapping windows just add twice).
    With `wide=True` the junk columns of dcols must be zero: they land on real pixels.
    `out`: a contiguous (N, C, Hp, Wp) array to add into instead of a fresh zero array.
    """
    n, c, hp, wp = xp_shape
    kh, kw = kernel
    dxp = np.zeros(xp_shape, dcols.dtype) if out is None else out
    if wide:
        _, read = wide_columns(xp_shape, kernel, dilation, out_hw)
        flat = dxp.reshape(n, c, hp * wp)
        for i in range(kh):
            for j in range(kw):
                start = i * dilation[0] * wp + j * dilation[1]
                run = flat[:, :, start:start + read]
                np.add(run, dcols[:, :, i, j, :read], out=run)
        return dxp
    spatial = dcols.reshape(n, c, kh, kw, *out_hw)
    for i in range(kh):
        for j in range(kw):
            target = slab(dxp, i, j, stride, dilation, out_hw)
            np.add(target, spatial[:, :, i, j], out=target)
    return dxp
