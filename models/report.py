"""Classification metrics from predicted and true labels, and their plain-text tables."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts: row = true class, column = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, np.intp), np.asarray(y_pred, np.intp)), 1)
    return cm


def per_class(cm: np.ndarray) -> dict[str, list[float]]:
    """Precision, recall, F1 and support per class; 0 where undefined (no predictions / no samples)."""
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(0), cm.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    s = precision + recall
    f1 = np.divide(2 * precision * recall, s, out=np.zeros_like(tp), where=s > 0)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
            "support": actual.astype(int).tolist()}


def summarize(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str], loss: float) -> dict:
    cm = confusion_matrix(y_true, y_pred, len(classes))
    pc = per_class(cm)
    return {"accuracy": float(np.mean(y_true == y_pred)), "loss": float(loss), "n": int(len(y_true)),
            "errors": int(np.sum(y_true != y_pred)), "confusion": cm.tolist(), "per_class": pc,
            "macro_f1": float(np.mean(pc["f1"]))}


def format_report(m: dict, classes: Sequence[str], title: str = "test") -> str:
    """Accuracy line, confusion matrix (rows true, columns predicted) and per-class precision/recall/F1."""
    names = [str(c) for c in classes]
    cm = np.asarray(m["confusion"])
    w = max(5, max(len(n) for n in names), len(str(cm.max())) + 1)
    lines = [f"{title} accuracy {m['accuracy']:.2%} ({m['n'] - m['errors']}/{m['n']}), loss {m['loss']:.4f}",
             "", "confusion matrix (rows: true class, columns: predicted)",
             " " * (w + 2) + " ".join(f"{n[:w]:>{w}}" for n in names)]
    for n, row in zip(names, cm):
        lines.append(f"{n[:w]:>{w}}  " + " ".join(f"{v:>{w}d}" for v in row))
    pc = m["per_class"]
    lines += ["", f"{'class':>{w}}  precision  recall      f1  support"]
    for i, n in enumerate(names):
        lines.append(f"{n[:w]:>{w}}  {pc['precision'][i]:9.3f}  {pc['recall'][i]:6.3f}  {pc['f1'][i]:6.3f}"
                     f"  {pc['support'][i]:7d}")
    lines.append(f"{'macro':>{w}}  {np.mean(pc['precision']):9.3f}  {np.mean(pc['recall']):6.3f}  "
                 f"{m['macro_f1']:6.3f}  {sum(pc['support']):7d}")
    return "\n".join(lines)
