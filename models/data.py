"""Find and load each model's real data (via datasets/), split it and preprocess it.

`load_source` describes where the data came from (recorded in meta.json) so `evaluate` can rebuild exactly
the same test split later; `prepare` adds the validation split and the fitted preprocessing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

import datasets
from datasets import FASHION_MNIST_CLASSES, load_image_folder, prefix_labels, select_classes, train_test_split

from .preprocess import Preprocess
from .registry import ModelSpec

CHECKOUT = Path(__file__).resolve().parents[1]
SHARED_DATA = CHECKOUT.parent / "shared" / "data"     # a development convenience, never required
ENV_VAR = "TINYGRAD_NP_DATA"


@dataclass
class Raw:
    """uint8 images and int64 labels before preprocessing, plus where they came from."""
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: list[str]
    source: dict
    note: Optional[str] = None       # said to the user (e.g. the data set was identified and switched)


@dataclass
class Prepared:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: Optional[np.ndarray]
    y_val: Optional[np.ndarray]
    X_test: np.ndarray
    y_test: np.ndarray
    raw_test: np.ndarray
    classes: list[str]
    preprocess: Preprocess
    source: dict


def image_root(data: Optional[str]) -> Path:
    """--data DIR, else $TINYGRAD_NP_DATA/catvnoncat, else ../shared/data/catvnoncat next to the checkout."""
    if data:
        p = Path(data).expanduser()
        if not p.is_dir():
            raise FileNotFoundError(f"--data {p}: no such folder")
        return p
    env = os.environ.get(ENV_VAR)
    if env and (Path(env).expanduser() / "catvnoncat").is_dir():
        return Path(env).expanduser() / "catvnoncat"
    if (SHARED_DATA / "catvnoncat").is_dir():
        return SHARED_DATA / "catvnoncat"
    raise FileNotFoundError(
        "no photo folder found. Provide one of: (1) --data DIR, where DIR holds train/<class>/*.png and "
        "test/<class>/*.png, or <class>/*.png (split 80/20 here), or files named cat*/noncat* (pass --classes); "
        f"(2) the environment variable {ENV_VAR}=PARENT with PARENT/catvnoncat/ in that layout; "
        f"(3) a catvnoncat/ folder in {SHARED_DATA}.")


def _order_classes(names: Sequence[str]) -> list[str]:
    """Sorted, except that a "non<x>"/"not_<x>" class comes first, so <x> is the positive class (label 1)."""
    names = sorted(names)
    if len(names) == 2:
        a, b = names
        for neg, pos in ((a, b), (b, a)):
            if neg.lower().lstrip("_-") in {p + pos.lower() for p in ("non", "non-", "non_", "not", "not_", "not-")}:
                return [neg, pos]
    return names


def _subdirs(p: Path) -> list[str]:
    return sorted(d.name for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))


def _load_images(spec: ModelSpec, root: Path, classes: Optional[Sequence[str]], split_seed: int) -> Raw:
    d = spec.data
    has_splits = (root / "train").is_dir() and (root / "test").is_dir()
    parts = [root / "train", root / "test"] if has_splits else [root]
    folders = [_subdirs(p) for p in parts]
    if all(folders):
        labels = "folders"
        found = sorted(set().union(*folders))
        chosen = list(classes) if classes else _order_classes(found)
    else:
        if not classes:
            raise ValueError(f"{root}: no class sub-folders; to label files by name prefix (cat12.png, "
                             f"noncat3.png) pass --classes noncat,cat (the positive class last)")
        labels, chosen = prefix_labels(classes), list(classes)
    kw = dict(size=d.size, mode=d.mode, labels=labels, classes=chosen)
    if has_splits:
        tr, te = (load_image_folder(p, **kw) for p in parts)
        raw = (tr.images, tr.labels, te.images, te.labels)
    else:
        full = load_image_folder(root, **kw)
        xtr, xte, ytr, yte = train_test_split(full.images, full.labels, d.test_size, seed=split_seed)
        raw = (xtr, ytr, xte, yte)
    source = {"kind": "images", "path": str(root.resolve()), "classes": chosen, "has_splits": has_splits,
              "test_size": None if has_splits else d.test_size, "split_seed": split_seed}
    return Raw(*raw, classes=chosen, source=source)


def mnist_root(data: Optional[str], dataset: str) -> Optional[Path]:
    """--data DIR; else None when $TINYGRAD_NP_DATA is set (the loader looks there, then in its cache);
    else ../shared/data/<dataset> when present; else None (user cache, then download)."""
    if data:
        return Path(data).expanduser()
    if os.environ.get(ENV_VAR):
        return None
    shared = SHARED_DATA / dataset
    return shared if shared.is_dir() else None


def _load_mnist(spec: ModelSpec, data: Optional[str], dataset: Optional[str], digits) -> Raw:
    """--dataset given: those files or a clear error if --data holds the other set. Not given: the files in
    --data are identified by checksum, so Fashion-MNIST is never trained on as digits (said in a note)."""
    note = None
    if dataset is None and data and (found := datasets.identify_mnist(data)) is not None \
            and found != spec.data.dataset:
        dataset, note = found, f"--data {data} holds {found} (identified by checksum): training on {found}"
    dataset = dataset or spec.data.dataset
    if dataset not in ("mnist", "fashion-mnist"):
        raise ValueError(f"--dataset must be mnist or fashion-mnist, got {dataset!r}")
    loader = datasets.load_mnist if dataset == "mnist" else datasets.load_fashion_mnist
    root = mnist_root(data, dataset)
    if root is None:          # found by the loader ($TINYGRAD_NP_DATA, cache, download): record where
        root = datasets.mnist_files(dataset, "train")[0].parent
    xtr, ytr = loader("train", root=root)
    xte, yte = loader("test", root=root)
    names = [str(i) for i in range(10)] if dataset == "mnist" else list(FASHION_MNIST_CLASSES)
    digits = tuple(digits) if digits else spec.data.digits
    if digits:
        if any(not 0 <= k <= 9 for k in digits) or len(set(digits)) != len(digits):
            raise ValueError(f"--digits must be distinct classes 0..9, got {list(digits)}")
        xtr, ytr = select_classes(xtr, ytr, digits)
        xte, yte = select_classes(xte, yte, digits)
        names = [names[k] for k in digits]
    source = {"kind": "mnist", "dataset": dataset, "path": str(root.resolve()),
              "digits": list(digits) if digits else None}
    return Raw(xtr, ytr, xte, yte, names, source, note)


def _load_digits(spec: ModelSpec, split_seed: int) -> Raw:
    X, y = datasets.load_digits()
    xtr, xte, ytr, yte = train_test_split(X, y, spec.data.test_size, seed=split_seed, stratify=True)
    source = {"kind": "digits", "path": "embedded", "test_size": spec.data.test_size, "split_seed": split_seed}
    return Raw(xtr, ytr, xte, yte, [str(i) for i in range(10)], source)


def load_source(spec: ModelSpec, data: Optional[str] = None, dataset: Optional[str] = None,
                digits: Optional[Sequence[int]] = None, classes: Optional[Sequence[str]] = None,
                split_seed: int = 0) -> Raw:
    """Load the raw train/test data a model trains on (the test split is fixed by split_seed)."""
    kind = spec.data.kind
    if dataset is not None and kind != "mnist":
        raise ValueError(f"--dataset applies to MNIST models only; {spec.name} reads {kind}")
    if digits is not None and kind != "mnist":
        raise ValueError(f"--digits applies to MNIST models only; {spec.name} reads {kind}")
    if kind == "digits":
        if data:
            raise ValueError(f"{spec.name} trains on the embedded digits; --data is not used")
        raw = _load_digits(spec, split_seed)
    elif kind == "mnist":
        raw = _load_mnist(spec, data, dataset, digits)
    else:
        raw = _load_images(spec, image_root(data), classes, split_seed)
    if spec.head == "sigmoid" and len(raw.classes) != 2:
        raise ValueError(f"{spec.name} is a two-class model (one sigmoid output) but the data has "
                         f"{len(raw.classes)} classes {raw.classes}; pick two with --classes a,b (or --digits)")
    return raw


def source_from_meta(spec: ModelSpec, source: dict, data: Optional[str]) -> Raw:
    """Reload the data a run was trained on (for evaluate); --data overrides the recorded folder."""
    kind = source["kind"]
    if kind == "digits":
        return load_source(spec, split_seed=source["split_seed"])
    if kind == "mnist":
        path = data or source.get("path")
        return load_source(spec, path if path and Path(path).is_dir() else data, source["dataset"],
                           source.get("digits") or None)
    path = data or (source["path"] if Path(source["path"]).is_dir() else None)
    return load_source(spec, path, classes=source["classes"], split_seed=source["split_seed"])


def new_preprocess(spec: ModelSpec) -> Preprocess:
    d = spec.data
    if d.kind == "images":
        return Preprocess("image", 255.0, d.normalize, d.layout, d.size, d.mode)
    if d.kind == "digits":
        return Preprocess("digits", 16.0, d.normalize, d.layout)
    return Preprocess("mnist", 255.0, d.normalize, d.layout)


def prepare(spec: ModelSpec, raw: Raw) -> Prepared:
    """Hold out validation data (recipe.val_fraction of the training split), fit preprocessing on the rest."""
    r = spec.recipe
    xtr, ytr = raw.train_x, raw.train_y
    xval = yval = None
    if r.val_fraction:
        xtr, xval, ytr, yval = train_test_split(xtr, ytr, r.val_fraction, seed=r.split_seed + 1, stratify=True)
    pre = new_preprocess(spec).fit(xtr)
    source = dict(raw.source, val_fraction=r.val_fraction, n_train=len(ytr), n_val=0 if yval is None else len(yval),
                  n_test=len(raw.test_y))
    return Prepared(pre(xtr), ytr, None if xval is None else pre(xval), yval, pre(raw.test_x), raw.test_y,
                    raw.test_x, raw.classes, pre, source)
