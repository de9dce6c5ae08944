"""The training loop shared by every model: logits + fused loss in training, probabilities at predict time."""
from __future__ import annotations

import math
import time
from typing import Callable, Optional

import numpy as np

import tinygrad_np as tg
from tinygrad_np import nn, optim
from tinygrad_np.random import default_generator

from .data import Prepared
from .progress import Progress
from .registry import ModelSpec, Recipe

EVAL_BATCH = 1000


def make_optimizer(params, r: Recipe):
    if r.optimizer == "sgd":
        return optim.SGD(params, lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay)
    if r.optimizer == "adam":
        return optim.Adam(params, lr=r.lr, weight_decay=r.weight_decay)
    raise ValueError(f"--optimizer must be sgd or adam, got {r.optimizer!r}")


def _targets(y: np.ndarray, head: str) -> tg.Tensor:
    return tg.Tensor(y.astype(np.float32).reshape(-1, 1)) if head == "sigmoid" else tg.Tensor(y)


def _loss(logits: tg.Tensor, target: tg.Tensor, head: str) -> tg.Tensor:
    if head == "sigmoid":
        return nn.functional.binary_cross_entropy_with_logits(logits, target)
    return nn.functional.cross_entropy(logits, target)


def compiles_by_default(spec: ModelSpec) -> bool:
    """Whether `train` compiles this model's steps: where it was measured faster. The MLPs (from the second
    epoch on, compiled ÷ eager s/epoch 0.56-0.98 at 1 thread, 0.71 at 2) and cnn_binary since the ReLU-before-
    pool rewrite (0.68-0.83 at 1 thread, epochs 2-3 of interleaved fits, 2026-12-02 evening). mnist_cnn stays
    eager until it is measured the same way."""
    return spec.net in ("mlp", "cnn_binary")


def make_step(model: nn.Module, opt, head: str, compiled: bool = True) -> Callable:
    """`step(x, target) -> (loss, logits)`: forward, loss, zero_grad, backward, update — traced once per batch
    shape by tg.compile and replayed as generated NumPy (`python -m models backprop` prints it), or eager.
    Both give the same parameters bit for bit (tests/test_models_compiled_training.py)."""
    def train_step(x: tg.Tensor, target: tg.Tensor):
        logits = model(x)
        loss = _loss(logits, target, head)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, logits
    return tg.compile(train_step) if compiled else train_step


def logits_of(model: nn.Module, X: np.ndarray, batch: int = EVAL_BATCH) -> np.ndarray:
    """Forward pass in eval mode without recording a graph, in chunks to bound memory."""
    was_training = model.training
    model.eval()
    try:
        with tg.no_grad():
            out = [model(tg.Tensor(X[i:i + batch])).numpy() for i in range(0, len(X), batch)]
    finally:
        model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def probabilities(logits: np.ndarray, head: str) -> np.ndarray:
    """(N, K) class probabilities: softmax of K logits, or [1 - p, p] with p = sigmoid of one logit."""
    z = logits.astype(np.float64)
    if head == "sigmoid":
        p = np.exp(-np.logaddexp(0.0, -z[:, 0]))               # sigmoid without overflow
        return np.stack([1.0 - p, p], axis=1)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mean_loss(logits: np.ndarray, y: np.ndarray, head: str) -> float:
    """The training loss (mean cross-entropy / BCE), computed from logits in a stable way."""
    if len(y) == 0:
        return float("nan")
    z = logits.astype(np.float64)
    if head == "sigmoid":
        z = z[:, 0]
        return float(np.mean(np.logaddexp(0.0, z) - y * z))
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def predict(model: nn.Module, X: np.ndarray, head: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted labels, probabilities (N, K), logits) for preprocessed inputs."""
    z = logits_of(model, X)
    p = probabilities(z, head)
    return p.argmax(axis=1), p, z


def evaluate_arrays(model: nn.Module, X: np.ndarray, y: np.ndarray, head: str) -> tuple[float, float]:
    pred, _, z = predict(model, X, head)
    return mean_loss(z, y, head), float(np.mean(pred == y))


def snapshot(model: nn.Module, opt, sched, epoch: int, history: list[dict], best: Optional[dict] = None) -> dict:
    """Everything needed to continue after `epoch` and end with the same bits as an uninterrupted run:
    weights, optimizer and scheduler state, the generator's state (shuffling, dropout) and the history."""
    return {"model": {k: np.array(v) for k, v in model.state_dict().items()}, "optimizer": opt.state_dict(),
            "scheduler": {} if sched is None else sched.state_dict(),
            "rng": default_generator().bit_generator.state, "epoch": epoch, "history": [dict(h) for h in history],
            "best": best}


def fit(model: nn.Module, spec: ModelSpec, data: Prepared, progress: Optional[Progress] = None,
        on_epoch: Optional[Callable[[dict], None]] = None, resume: Optional[dict] = None,
        patience: Optional[int] = None, compiled: Optional[bool] = None) -> list[dict]:
    """Train in place with spec.recipe; returns one history row per epoch.

    Validation loss/accuracy are computed on the held-out validation split; without one, on the test split
    *for display only* (labelled "test", never used to choose anything). Long runs evaluate every few epochs.
    `on_epoch(snapshot)` is called after every complete epoch; `resume` (such a snapshot) continues from it.
    `patience`: stop when the validation loss has not improved for that many epochs and keep the best epoch's
    weights (needs a validation split; it is then measured every epoch).
    `compiled`: run the steps through tg.compile (True) or eagerly (False): the same numbers bit for bit;
    None: `compiles_by_default(spec)`.
    """
    r, head = spec.recipe, spec.head
    X, y = data.X_train, data.y_train
    n = len(y)
    bs = n if r.batch_size is None else min(r.batch_size, n)
    steps = math.ceil(n / bs)
    opt = make_optimizer(model.parameters(), r)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=r.epochs) if r.schedule == "cosine" else None
    if r.schedule not in (None, "cosine"):
        raise ValueError(f"recipe schedule must be None or 'cosine', got {r.schedule!r}")
    if patience is not None and data.X_val is None:
        raise ValueError(f"--patience needs a validation split; {spec.name} has none (add --val-fraction 0.1)")
    monitor = ("val", data.X_val, data.y_val) if data.X_val is not None else ("test", data.X_test, data.y_test)
    progress = progress or Progress(r.epochs, steps)
    target_all = y.astype(np.float32).reshape(-1, 1) if head == "sigmoid" else y
    rng = default_generator()
    history: list[dict] = []
    best: Optional[dict] = None                 # early stopping: {"epoch", "loss", "model"}
    start = 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        if sched is not None:
            sched.load_state_dict(resume["scheduler"])
        rng.bit_generator.state = resume["rng"]
        history, best, start = [dict(h) for h in resume["history"]], resume.get("best"), int(resume["epoch"])
    model.train()
    step = make_step(model, opt, head, compiles_by_default(spec) if compiled is None else compiled)
    try:
        for epoch in range(start + 1, r.epochs + 1):
            t0 = time.perf_counter()
            order = rng.permutation(n) if bs < n else np.arange(n)
            loss_sum, correct = 0.0, 0
            for s in progress.batches(range(steps), epoch):
                idx = order[s * bs:(s + 1) * bs]
                xb, tb = (X, target_all) if bs == n else (X[idx], target_all[idx])
                loss, logits = step(tg.Tensor(xb), tg.Tensor(tb))
                lv = loss.item()
                if not math.isfinite(lv):
                    raise FloatingPointError(f"training {spec.name} diverged at epoch {epoch} (loss {lv}); "
                                             f"try a smaller --lr than {r.lr:g}")
                loss_sum += lv * len(idx)
                z = logits.numpy()
                correct += int(np.sum((z[:, 0] > 0) == (tb[:, 0] > 0.5)) if head == "sigmoid"
                               else np.sum(z.argmax(1) == tb))
                progress.batch_loss(lv)
            seconds = time.perf_counter() - t0
            lr_now = opt.param_groups[0]["lr"]
            if sched is not None:
                sched.step()
            row = {"epoch": epoch, "train_loss": loss_sum / n, "train_acc": correct / n, "seconds": seconds,
                   "lr": lr_now}
            if epoch == 1 or epoch == r.epochs or epoch % progress.every == 0 or patience is not None:
                name, Xm, ym = monitor
                row[f"{name}_loss"], row[f"{name}_acc"] = evaluate_arrays(model, Xm, ym, head)
                line = (f"epoch {epoch:>{len(str(r.epochs))}}/{r.epochs}  train loss {row['train_loss']:.4f} "
                        f"acc {row['train_acc']:.2%}  {name} loss {row[name + '_loss']:.4f} "
                        f"acc {row[name + '_acc']:.2%}  ({seconds:.2f} s)")
            else:
                line = ""
            history.append(row)
            stop = False
            if patience is not None:
                if best is None or row["val_loss"] < best["loss"]:
                    best = {"epoch": epoch, "loss": row["val_loss"],
                            "model": {k: np.array(v) for k, v in model.state_dict().items()}}
                stop = epoch - best["epoch"] >= patience and epoch < r.epochs
            progress.epoch_end(epoch, line)
            if on_epoch is not None:
                on_epoch(snapshot(model, opt, sched, epoch, history, best))
            if stop:
                progress.note(f"early stop after epoch {epoch}: validation loss not better than epoch "
                              f"{best['epoch']}'s ({best['loss']:.4f}) for {patience} epochs; keeping epoch "
                              f"{best['epoch']}'s weights")
                break
    finally:
        progress.close()
    if best is not None:
        model.load_state_dict(best["model"])
    return history
