"""The UCI 8x8 handwritten digits, shipped inside the checkout (``datasets/data/digits.csv.gz``)."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

DIGITS_PATH = Path(__file__).resolve().parent / "data" / "digits.csv.gz"


def load_digits(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load the 1797 UCI digits: ``X`` uint8 (1797, 8, 8) with values 0..16, ``y`` int64 (1797,) with 0..9.

    Works offline: the file ships with the checkout. ``path`` is only for reading another copy of the same CSV.
    """
    p = Path(path) if path is not None else DIGITS_PATH
    if not p.is_file():
        raise FileNotFoundError(f"load_digits: {p} not found (it ships with the checkout in datasets/data/)")
    try:
        with gzip.open(p, "rt", encoding="ascii") as f:
            a = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"load_digits: cannot parse {p} as gzip CSV of integers: {e}") from None
    if a.shape[1] != 65:
        raise ValueError(f"load_digits: {p} has {a.shape[1]} columns per row, expected 65 (64 pixels + label)")
    pixels, y = a[:, :64], a[:, 64].copy()
    if pixels.min() < 0 or pixels.max() > 16:
        raise ValueError(f"load_digits: {p} has pixel values outside 0..16 ({pixels.min()}..{pixels.max()})")
    if y.min() < 0 or y.max() > 9:
        raise ValueError(f"load_digits: {p} has labels outside 0..9 ({y.min()}..{y.max()})")
    return pixels.astype(np.uint8).reshape(-1, 8, 8), y
