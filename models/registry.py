"""The one place where every model's architecture, data and default training recipe are fixed.

`python -m models list` prints this table; `train` starts from these values and lets flags override them.
Model code is imported lazily (`ModelSpec.build`), so `list` works without touching tinygrad_np.nn.
"""
from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Optional


@dataclass(frozen=True)
class Recipe:
    """How a model is trained. batch_size None means full-batch gradient descent (one step per epoch)."""
    epochs: int
    lr: float
    batch_size: Optional[int] = 32
    optimizer: str = "sgd"              # "sgd" | "adam"
    momentum: float = 0.0               # SGD only
    weight_decay: float = 0.0
    schedule: Optional[str] = None      # None | "cosine" (cosine decay of the lr over all epochs)
    val_fraction: float = 0.0           # share of the training split held out for validation (0: none)
    split_seed: int = 0                 # fixes train/test (and validation) splits made from one pool
    seed: int = 0                       # init, shuffling, dropout

    def summary(self) -> str:
        bs = "full batch" if self.batch_size is None else f"b{self.batch_size}"
        opt = self.optimizer + (f"(momentum {self.momentum:g})" if self.momentum else "")
        extra = ""
        if self.weight_decay:
            extra += f", wd {self.weight_decay:g}"
        if self.schedule:
            extra += f", {self.schedule} lr"
        if self.val_fraction:
            extra += f", val {self.val_fraction:.0%}"
        return f"{opt} lr {self.lr:g}, {bs}, {self.epochs} ep{extra}"


@dataclass(frozen=True)
class DataSpec:
    """What a model reads and how raw pixels become its input.

    kind: "digits" (embedded 8x8), "mnist" (MNIST / Fashion-MNIST IDX files) or "images" (a photo folder).
    normalize: "none" (pixels / max value only), "global" (then one mean/std), "channel" (a mean/std per
    colour channel) or "feature" (a mean/std per input feature); statistics always come from the training split.
    layout: "flat" (N, features) for MLPs, "nchw" (N, C, H, W) for CNNs.
    """
    kind: str
    normalize: str = "none"
    layout: str = "flat"
    size: Optional[tuple[int, int]] = None     # (height, width) for photo folders
    mode: str = "RGB"                          # "L" or "RGB" for photo folders
    dataset: str = "mnist"                     # default for kind "mnist": "mnist" | "fashion-mnist"
    digits: Optional[tuple[int, ...]] = None   # MNIST subset, e.g. (1, 9) for mnist_binary
    test_size: float = 0.2                     # when the data has no separate test split
    default_data: str = ""                     # human description for `list`


@dataclass(frozen=True)
class ModelSpec:
    name: str
    seed_doc: str                   # the seed document it rebuilds ("000".."004", or "-")
    architecture: str               # one line, as in the table
    module: str                     # models.<module> holds build(**arch)
    head: str                       # "softmax" (K logits, cross-entropy) | "sigmoid" (1 logit, BCE)
    data: DataSpec
    recipe: Recipe
    arch: dict = field(default_factory=dict)   # keyword arguments of build(); --hidden overrides "hidden"
    seed_figure: str = "-"                     # the seed document's own reported test accuracy

    def build(self, **arch: Any):
        """Instantiate the network (imports tinygrad_np.nn on first use)."""
        return importlib.import_module(f"models.{self.module}").build(**arch)

    def with_recipe(self, **changes: Any) -> "ModelSpec":
        return replace(self, recipe=replace(self.recipe, **{k: v for k, v in changes.items() if v is not None}))


_CATS = "catvnoncat (--data DIR, $TINYGRAD_NP_DATA/catvnoncat or ../shared/data/catvnoncat)"

MODELS: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec(
        "rabbit_cat_mlp", "000", "gray 90x90 -> 8100 -> 128 ReLU -> 2 softmax, CE", "rabbit_cat_mlp", "softmax",
        DataSpec("images", normalize="global", size=(90, 90), mode="L", default_data=_CATS + ", gray 90x90"),
        Recipe(epochs=200, lr=0.01, batch_size=32, optimizer="sgd"),
        arch={"hidden": (128,)}),
    ModelSpec(
        "catnoncat_deep", "001", "12288 -> 20 -> 7 -> 5 -> 1 ReLU, sigmoid + BCE, init randn/sqrt(fan_in)",
        "catnoncat_deep", "sigmoid",
        DataSpec("images", normalize="none", size=(64, 64), mode="RGB", default_data=_CATS),
        Recipe(epochs=2500, lr=0.0075, batch_size=None, optimizer="sgd"),
        arch={"hidden": (20, 7, 5)}, seed_figure="72.5 %"),
    ModelSpec(
        "cnn_binary", "002", "64x64x3 -> [conv3x3 16, ReLU, pool2] -> [conv3x3 32, ReLU, pool2] -> 128 -> 64 -> 1"
        " sigmoid, BCE, He init", "cnn_binary", "sigmoid",
        DataSpec("images", normalize="none", layout="nchw", size=(64, 64), mode="RGB", default_data=_CATS),
        Recipe(epochs=30, lr=1e-4, batch_size=32, optimizer="adam"),
        arch={"channels": (16, 32), "hidden": (128, 64)}),
    ModelSpec(
        "digits_mlp", "003", "64 -> 32 ReLU -> 10 softmax, CE, stratified 80/20", "digits_mlp", "softmax",
        DataSpec("digits", normalize="feature", default_data="embedded 8x8 digits (offline)"),
        Recipe(epochs=100, lr=3e-3, batch_size=32, optimizer="adam", weight_decay=1e-3, schedule="cosine"),
        arch={"hidden": (32,)}, seed_figure="96.94 %"),
    ModelSpec(
        "mnist_binary", "004", "784 -> 1 sigmoid (+ optional hidden), BCE, digits 1 vs 9", "mnist_binary", "sigmoid",
        DataSpec("mnist", normalize="global", digits=(1, 9), default_data="MNIST 1 vs 9"),
        Recipe(epochs=5, lr=0.03, batch_size=64, optimizer="sgd", val_fraction=0.1),
        arch={"hidden": ()}),
    ModelSpec(
        "mnist_mlp", "004", "784 -> 128 ReLU -> 10 softmax, CE", "mnist_mlp", "softmax",
        DataSpec("mnist", normalize="global", default_data="MNIST or Fashion-MNIST (--dataset)"),
        Recipe(epochs=10, lr=3e-3, batch_size=128, optimizer="adam", schedule="cosine", val_fraction=1 / 12),
        arch={"hidden": (128,)}),
    ModelSpec(
        "mnist_cnn", "-", "LeNet-style: [conv5x5 16, ReLU, pool2] -> [conv5x5 32, ReLU, pool2] -> 120 -> 84 -> 10",
        "mnist_cnn", "softmax",
        DataSpec("mnist", normalize="global", layout="nchw", default_data="MNIST or Fashion-MNIST (--dataset)"),
        Recipe(epochs=10, lr=1e-3, batch_size=64, optimizer="adam", schedule="cosine", val_fraction=1 / 12),
        arch={"channels": (16, 32), "hidden": (120, 84)}),
]}


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)} "
                         f"(python -m models list shows them)")
    return MODELS[name]


def recipe_dict(recipe: Recipe) -> dict:
    return asdict(recipe)


def data_dict(data: DataSpec) -> dict:
    d = asdict(data)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}
