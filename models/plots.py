"""loss.png, confusion.png, samples.png -- only when matplotlib is installed (Agg backend, no display needed)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save_all(run: Path, history: list[dict], test: dict, classes: Sequence[str], raw_test: np.ndarray,
             y_test: np.ndarray, probs: np.ndarray) -> list[str]:
    """Write the three figures; returns the file names written ([] without matplotlib)."""
    plt = _pyplot()
    if plt is None:
        return []
    written = []
    for name, fn in (("loss.png", lambda: _curves(plt, history)),
                     ("confusion.png", lambda: _confusion(plt, np.asarray(test["confusion"]), classes)),
                     ("samples.png", lambda: _samples(plt, raw_test, y_test, probs, classes))):
        fig = fn()
        if fig is not None:
            fig.savefig(run / name, dpi=100, bbox_inches="tight")
            plt.close(fig)
            written.append(name)
    return written


def _curves(plt, history: list[dict]):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ep = [h["epoch"] for h in history]
    dots = dict(marker="o", ms=4) if len(ep) <= 30 else {}       # one epoch is one point: draw it
    a1.plot(ep, [h["train_loss"] for h in history], label="train", **dots)
    a2.plot(ep, [h["train_acc"] for h in history], label="train", **dots)
    for key in ("val", "test"):
        rows = [h for h in history if f"{key}_loss" in h]
        if rows:
            label = key if key == "val" else "test (monitor only)"
            a1.plot([h["epoch"] for h in rows], [h[f"{key}_loss"] for h in rows], "o-", ms=3, label=label)
            a2.plot([h["epoch"] for h in rows], [h[f"{key}_acc"] for h in rows], "o-", ms=3, label=label)
    a1.set(xlabel="epoch", ylabel="loss", title="loss")
    a2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    if max(ep, default=1) > 100:
        a1.set_yscale("log")
    for a in (a1, a2):
        a.grid(alpha=0.3)
        a.legend()
    return fig


def _confusion(plt, cm: np.ndarray, classes: Sequence[str]):
    k = len(classes)
    fig, ax = plt.subplots(figsize=(1.2 + 0.55 * k, 1.0 + 0.5 * k))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black", fontsize=8)
    ax.set_xticks(range(k), [str(c) for c in classes], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(c) for c in classes])
    ax.set(xlabel="predicted", ylabel="true", title="test confusion matrix")
    return fig


def _samples(plt, raw: np.ndarray, y: np.ndarray, probs: np.ndarray, classes: Sequence[str],
             per_row: int = 8) -> Optional[object]:
    """Top row(s): correct predictions; bottom: wrong ones (the most confident mistakes first)."""
    pred = probs.argmax(1)
    conf = probs.max(1)
    right = np.flatnonzero(pred == y)[:per_row]
    wrong = np.flatnonzero(pred != y)
    wrong = wrong[np.argsort(-conf[wrong])][:per_row]
    rows = [r for r in (right, wrong) if len(r)]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), per_row, figsize=(1.6 * per_row, 1.9 * len(rows)), squeeze=False)
    for r, idx in enumerate(rows):
        for c in range(per_row):
            ax = axes[r, c]
            ax.axis("off")
            if c >= len(idx):
                continue
            i = idx[c]
            img = raw[i]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
            ok = pred[i] == y[i]
            ax.set_title(f"{classes[pred[i]]} {conf[i]:.0%}" + ("" if ok else f"\n(true {classes[y[i]]})"),
                         fontsize=8, color="green" if ok else "red")
    return fig
