"""Small array helpers between loading and training: scaling, standardising, one-hot, splits, class subsets."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import numpy as np

Axis = Union[int, tuple[int, ...], None]


def scale01(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 0..1."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise TypeError(f"scale01: expected uint8 pixels, got {x.dtype} of shape {x.shape} (already scaled?)")
    return x.astype(np.float32) / np.float32(255)


def standardize(x: np.ndarray, mean: Optional[np.ndarray] = None, std: Optional[np.ndarray] = None,
                axis: Axis = 0, eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``((x - mean) / std, mean, std)`` as float32.

    With mean/std None they are computed from ``x`` over ``axis``: 0 = per feature (one value per column/pixel),
    None = one global value. Keep the returned statistics and pass them back for test data or at inference.
    Where std <= eps (constant features, e.g. always-black border pixels) it is replaced by 1, so those
    features become 0 instead of NaN/inf; the returned std holds the replacement.
    """
    x = np.asarray(x, dtype=np.float32)
    if (mean is None) != (std is None):
        raise ValueError("standardize: pass both mean and std (from the training data) or neither")
    if mean is None:
        if x.size == 0:
            raise ValueError(f"standardize: cannot compute statistics of an empty array of shape {x.shape}")
        mean = x.mean(axis=axis, keepdims=True, dtype=np.float64).astype(np.float32)
        std = x.std(axis=axis, keepdims=True, dtype=np.float64).astype(np.float32)
        std = np.where(std <= eps, np.float32(1), std)
    else:
        mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        for name, v in (("mean", mean), ("std", std)):
            try:
                np.broadcast_shapes(x.shape, v.shape)
            except ValueError:
                raise ValueError(f"standardize: {name} of shape {v.shape} does not broadcast against x of "
                                 f"shape {x.shape}") from None
        if np.any(std <= 0):
            raise ValueError("standardize: std must be positive everywhere (got zeros or negatives)")
    return (x - mean) / std, mean, std


def one_hot(y: np.ndarray, num_classes: Optional[int] = None, dtype=np.float32) -> np.ndarray:
    """Integer labels (N,) -> (N, num_classes) with a 1 in column y[i]. num_classes defaults to max(y) + 1."""
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise ValueError(f"one_hot: expected integer labels of shape (N,), got {y.dtype} of shape {y.shape}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"one_hot: labels {int(y.min())}..{int(y.max())} do not fit num_classes={num_classes}")
    out = np.zeros((len(y), num_classes), dtype=dtype)
    out[np.arange(len(y)), y.astype(np.intp)] = 1
    return out


def train_test_split(X: np.ndarray, y: np.ndarray, test_size: Union[float, int] = 0.2, seed: int = 0,
                     stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffled split into ``X_train, X_test, y_train, y_test`` (the same order as scikit-learn).

    test_size: fraction in (0, 1) or a number of samples. With ``stratify`` every class keeps (as nearly as
    integers allow) its share in both parts. Same seed, same split.
    """
    X, y = np.asarray(X), np.asarray(y)
    n = len(y)
    if y.ndim != 1 or len(X) != n:
        raise ValueError(f"train_test_split: X of shape {X.shape} and y of shape {y.shape} must have the same "
                         f"number of samples and y must be 1-d")
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: a fractional test_size must be in (0, 1), got {test_size}")
        n_test = math.ceil(test_size * n)
    elif isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise ValueError(f"train_test_split: test_size must be a float fraction or an int count, got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"train_test_split: test_size={test_size} gives {n_test} test samples out of {n}; "
                         f"both parts must be non-empty")
    rng = np.random.default_rng(seed)
    if stratify:
        classes, inverse = np.unique(y, return_inverse=True)
        counts = np.bincount(inverse)
        share = counts * n_test / n
        take = np.floor(share).astype(int)
        rest = n_test - take.sum()  # largest remainders get the leftover test slots
        order = np.lexsort((rng.random(len(classes)), -(share - take)))
        take[order[:rest]] += 1
        test_idx = np.concatenate([rng.permutation(np.flatnonzero(inverse == k))[:take[k]]
                                   for k in range(len(classes))])
    else:
        test_idx = rng.permutation(n)[:n_test]
    mask = np.zeros(n, dtype=bool)
    mask[test_idx] = True
    train_idx = rng.permutation(np.flatnonzero(~mask))
    test_idx = rng.permutation(test_idx)
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


def select_classes(X: np.ndarray, y: np.ndarray, classes: Sequence[int] = (1, 9)) -> tuple[np.ndarray, np.ndarray]:
    """Keep only samples of ``classes`` and relabel them 0..k-1 in the given order (int64).

    ``select_classes(X, y, (1, 9))`` gives MNIST "1 vs 9" with 1 -> 0 and 9 -> 1.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y) or y.ndim != 1:
        raise ValueError(f"select_classes: X of shape {X.shape} and y of shape {y.shape} do not match")
    wanted = list(classes)
    if len(wanted) < 1 or len(set(wanted)) != len(wanted):
        raise ValueError(f"select_classes: classes must be distinct labels, got {classes!r}")
    missing = [c for c in wanted if not np.any(y == c)]
    if missing:
        raise ValueError(f"select_classes: no samples with label(s) {missing}; labels present: "
                         f"{np.unique(y).tolist()}")
    new = np.full(len(y), -1, dtype=np.int64)
    for i, c in enumerate(wanted):
        new[y == c] = i
    keep = new >= 0
    return X[keep], new[keep]
