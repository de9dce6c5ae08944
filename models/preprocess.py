"""Raw uint8 pixels -> the float32 input a model expects, with statistics fitted on the training split only.

The same `Preprocess` (saved in meta.json) turns training data, test data at `evaluate` time and a user's
image file at `predict` time into model input, so the three can never drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from datasets import decode_image


@dataclass
class Preprocess:
    """input: "digits" (8x8, values 0..16), "mnist" (28x28 gray) or "image" (photo files).
    scale: the raw maximum (16 or 255); pixels are divided by it first.
    normalize: "none" | "global" | "channel" | "feature" (see registry.DataSpec); mean/std are fitted by `fit`.
    layout: "flat" (N, features) or "nchw" (N, C, H, W). size/mode: how photo files are decoded.
    """
    input: str
    scale: float
    normalize: str = "none"
    layout: str = "flat"
    size: Optional[tuple[int, int]] = None
    mode: str = "L"
    mean: Optional[np.ndarray] = None
    std: Optional[np.ndarray] = None

    def fit(self, raw_train: np.ndarray) -> "Preprocess":
        """Compute mean/std from the training images (no-op for normalize="none").

        Global and per-channel statistics are exact and cheap from a 256-bin histogram of the uint8 pixels
        (no float64 copy of 60,000 images); per-feature ones from the scaled (N, features) array.
        """
        raw = _check_uint8(raw_train)
        if self.normalize == "none":
            return self
        if self.normalize == "feature":
            x = raw.reshape(len(raw), -1).astype(np.float64) / self.scale
            mean, std = x.mean(axis=0), x.std(axis=0)
        else:
            per_channel = self.normalize == "channel" and raw.ndim == 4
            chans = [raw[..., c] for c in range(raw.shape[-1])] if per_channel else [raw]
            levels = np.arange(256) / self.scale
            mean, std = [], []
            for ch in chans:
                counts = _histogram(ch)
                m = counts @ levels / counts.sum()
                mean.append(m)
                std.append(np.sqrt(counts @ (levels - m) ** 2 / counts.sum()))
            mean, std = (np.array(mean), np.array(std)) if per_channel else (mean[0], std[0])
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(np.where(std <= 1e-8, 1.0, std), np.float32)  # constant pixels: leave at 0
        return self

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """uint8 images (N, H, W) or (N, H, W, C) -> float32 model input (one table lookup per pixel)."""
        raw = _check_uint8(raw)
        if self.normalize != "none" and self.mean is None:
            raise RuntimeError("preprocess: statistics not fitted (call fit on the training images first)")
        levels = np.arange(256, dtype=np.float64) / self.scale
        if self.normalize == "feature":
            x = ((raw.reshape(len(raw), -1) / self.scale - self.mean) / self.std).astype(np.float32)
        elif self.normalize == "none":
            x = levels.astype(np.float32)[raw]
        elif self.mean.ndim == 1:                         # per channel: a (256, C) table
            table = ((levels[:, None] - self.mean) / self.std).astype(np.float32)
            x = table[raw, np.arange(raw.shape[-1])]
        else:
            x = ((levels - self.mean) / self.std).astype(np.float32)[raw]
        if self.layout == "flat":
            return np.ascontiguousarray(x.reshape(len(x), -1))
        if x.ndim == 3:                                   # gray (N, H, W) -> (N, 1, H, W)
            return np.ascontiguousarray(x[:, None])
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def read(self, path: str | Path) -> np.ndarray:
        """One file -> raw uint8 as in training: a photo, or for digits/MNIST a picture or an .npy/.csv array.

        Pictures of digits are converted to gray, resized and inverted when their background is light
        (the data sets are light ink on black).
        """
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"predict: {p} does not exist or is not a file")
        if self.input == "image":
            return _decode(p, self.size, self.mode)
        side = 8 if self.input == "digits" else 28
        if p.suffix.lower() in (".npy", ".csv", ".txt"):
            return _read_array(p, side, int(self.scale))
        a = _decode(p, None, "L")
        if a[[0, -1]].mean() + a[:, [0, -1]].mean() > 255:      # light border: dark ink on white paper
            a = 255 - a
        if self.input == "mnist":
            return mnist_centre(a)
        if a.shape != (side, side):       # BOX: each output pixel is the mean of its block, like the 8x8 digits
            a = np.asarray(Image.fromarray(a).resize((side, side), Image.Resampling.BOX))
        if self.scale != 255:
            a = np.rint(a.astype(np.float32) * (self.scale / 255.0)).astype(np.uint8)
        return a

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("input", "scale", "normalize", "layout", "mode")}
        d["size"] = list(self.size) if self.size else None
        for k in ("mean", "std"):
            v = getattr(self, k)
            d[k] = None if v is None else np.asarray(v).tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        stats = {k: (None if d.get(k) is None else np.asarray(d[k], np.float32)) for k in ("mean", "std")}
        return cls(input=d["input"], scale=float(d["scale"]), normalize=d["normalize"], layout=d["layout"],
                   size=tuple(d["size"]) if d.get("size") else None, mode=d.get("mode", "L"), **stats)


def mnist_centre(a: np.ndarray, box: int = 20, side: int = 28) -> np.ndarray:
    """A picture of one light digit on black, framed the way MNIST's were: the ink's bounding box scaled
    (aspect kept, anti-aliased) to fit `box` x `box`, placed in `side` x `side` with its centre of mass
    in the middle. A blank picture is only resized."""
    ink = a > max(int(a.max()) // 4, 1)
    if not ink.any():
        return np.asarray(Image.fromarray(a).resize((side, side), Image.Resampling.BOX))
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    crop = a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    digit = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS), np.float64)
    canvas = np.zeros((side + 2 * box, side + 2 * box))          # room to shift the digit without clipping it
    total = digit.sum()
    cy, cx = ((digit.sum(1) @ np.arange(size[1])) / total, (digit.sum(0) @ np.arange(size[0])) / total) \
        if total > 0 else ((size[1] - 1) / 2, (size[0] - 1) / 2)
    top, left = box + int(round(side / 2 - 0.5 - cy)), box + int(round(side / 2 - 0.5 - cx))
    canvas[top:top + size[1], left:left + size[0]] = digit
    out = canvas[box:box + side, box:box + side]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _histogram(a: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """Counts of the 256 uint8 levels; chunked because bincount makes an int64 copy of its input."""
    flat = np.ravel(a)
    counts = np.zeros(256, np.int64)
    for i in range(0, flat.size, chunk):
        counts += np.bincount(flat[i:i + chunk], minlength=256)
    return counts


def _check_uint8(raw: np.ndarray) -> np.ndarray:
    raw = np.asarray(raw)
    if raw.dtype != np.uint8:
        raise TypeError(f"preprocess: expected uint8 pixels, got {raw.dtype} of shape {raw.shape}")
    return raw


def _decode(p: Path, size, mode: str) -> np.ndarray:
    try:
        return decode_image(p, size, mode)
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for unreadable files
        raise ValueError(f"predict: cannot read {p} as an image ({type(e).__name__}: {e})") from None


def _read_array(p: Path, side: int, vmax: int) -> np.ndarray:
    try:
        a = np.load(p, allow_pickle=False) if p.suffix.lower() == ".npy" else np.loadtxt(p, delimiter=",", ndmin=2)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"predict: cannot read {p} as a {side}x{side} array ({type(e).__name__}: {e})") from None
    a = np.asarray(a)
    if a.size != side * side or a.dtype.kind not in "iuf":
        raise ValueError(f"predict: {p} holds {a.dtype} data of shape {a.shape}; expected {side}x{side} numbers")
    if np.nanmin(a) < 0 or np.nanmax(a) > vmax or not np.all(np.isfinite(a)):
        raise ValueError(f"predict: {p} has values outside 0..{vmax} (range {np.min(a)}..{np.max(a)})")
    return np.rint(a.reshape(side, side)).astype(np.uint8)
