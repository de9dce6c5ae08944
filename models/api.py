"""Trained runs from Python: what `python -m models evaluate/predict` do, callable from a notebook.

    from models import load_run
    run = load_run("runs/digits_mlp")
    run.classes                              # ['0', '1', ..., '9']
    run.predict(images)                      # uint8 images as in the data set -> class indices (N,)
    run.predict_proba(images)                # -> probabilities (N, K)
    for p in run.predict_files(["my_digit.png", "more_digits/"]):   # files and folders
        print(p.path, p.name, p.probability)
    run.evaluate()                           # the test split again -> accuracy, loss, confusion, per class
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from .preprocess import Preprocess
from .registry import DataSpec, ModelSpec, get_spec

PathLike = Union[str, Path]
# files `predict_files` takes from a folder: pictures, and for digits/MNIST arrays of pixels
PICTURES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
ARRAYS = (".npy", ".csv", ".txt")


@dataclass
class FilePrediction:
    """One file's answer: the class index and name with its probability, all probabilities; or the error."""
    path: Path
    label: Optional[int] = None
    name: Optional[str] = None
    probability: Optional[float] = None
    probabilities: Optional[np.ndarray] = None
    error: Optional[str] = None


class Run:
    """A run folder written by `python -m models train`: its model with the trained weights, the class names
    and the preprocessing fitted at training time."""

    def __init__(self, path: Path, meta: dict, spec: ModelSpec, model: Any, preprocess: Preprocess) -> None:
        self.path, self.meta, self.spec, self.model, self.preprocess = path, meta, spec, model, preprocess
        self.classes: list[str] = list(meta["classes"])
        self.head: str = meta["head"]

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, model={self.meta['model']!r}, classes={self.classes})"

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(N, K) class probabilities for uint8 images shaped like the data set's ((N, H, W) or one (H, W))."""
        from .training import predict
        raw = np.asarray(images)
        if raw.ndim == (3 if self.spec.data.kind == "images" and self.spec.data.mode == "RGB" else 2):
            raw = raw[None]                                           # one image

        return predict(self.model, self.preprocess(raw), self.head)[1]

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class indices (N,) for uint8 images; `run.classes[i]` names them."""
        return self.predict_proba(images).argmax(axis=1)

    def predict_files(self, paths: Union[PathLike, Iterable[PathLike]]) -> list[FilePrediction]:
        """Pictures (and for digits/MNIST .npy/.csv arrays), files or folders of them, read as at training
        time. A file that cannot be read gets its `error` and the others are still predicted."""
        files = expand_paths([paths] if isinstance(paths, (str, Path)) else list(paths))
        out, raws = [], []
        for f in files:
            try:
                raws.append(self.preprocess.read(f))
                out.append(FilePrediction(f))
            except (ValueError, OSError) as e:
                out.append(FilePrediction(f, error=str(e)))
        ok = [p for p in out if p.error is None]
        if ok:
            probs = self.predict_proba(np.stack(raws))
            for p, pr in zip(ok, probs):
                k = int(pr.argmax())
                p.label, p.name, p.probability, p.probabilities = k, self.classes[k], float(pr[k]), pr
        return out

    def evaluate(self, data: Optional[str] = None) -> dict:
        """Re-measure on the run's test split (read from `data` instead of the recorded folder if given):
        {"accuracy", "loss", "macro_f1", "confusion", "per_class", ...} as `python -m models evaluate` prints."""
        from .data import source_from_meta
        from .report import summarize
        from .training import mean_loss, predict
        raw = source_from_meta(self.spec, self.meta["data"], data)
        if list(raw.classes) != self.classes:
            raise ValueError(f"evaluate: the data has classes {raw.classes} but {self.path} was trained on "
                             f"{self.classes}")
        pred, _, logits = predict(self.model, self.preprocess(raw.test_x), self.head)
        report = summarize(raw.test_y, pred, self.classes, mean_loss(logits, raw.test_y, self.head))
        report["data"] = raw.source.get("path") or raw.source.get("dataset")
        return report


def expand_paths(paths: Sequence[PathLike]) -> list[Path]:
    """Files as given; a folder becomes its pictures and arrays (sorted, not recursive, hidden files skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith(".")
                           and f.suffix.lower() in PICTURES + ARRAYS)
            if not found:
                raise FileNotFoundError(f"predict: the folder {p} holds no pictures ({', '.join(PICTURES)}) "
                                        f"or arrays ({', '.join(ARRAYS)})")
            out += found
        else:
            out.append(p)
    return out


def load_run(path: PathLike) -> Run:
    """Load a run folder: the model rebuilt from meta.json, its weights checked against it and loaded."""
    import tinygrad_np as tg
    from .runs import load_weights, read_meta
    run, meta = read_meta(path)
    spec = get_spec(meta["model"])
    if "data_spec" in meta:     # the run's own data settings (image size, mode ...), even if the registry changed
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["data_spec"].items()}
        try:
            spec = replace(spec, data=DataSpec(**d), head=meta["head"])
        except TypeError as e:
            raise ValueError(f"{run / 'meta.json'}: bad 'data_spec' entry: {e}") from None
    arch = meta["architecture"]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in arch.get("kwargs", {}).items()}
    tg.manual_seed(0)
    try:
        model = spec.build(input_shape=arch["input_shape"], num_outputs=arch["num_outputs"], **kwargs)
    except (TypeError, KeyError, ValueError) as e:
        raise ValueError(f"{run / 'meta.json'}: cannot rebuild {spec.name} from its architecture entry: {e}") from None
    load_weights(model, run)
    try:
        pre = Preprocess.from_dict(meta["preprocess"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{run / 'meta.json'}: bad 'preprocess' entry ({type(e).__name__}: {e})") from None
    return Run(run, meta, spec, model, pre)
