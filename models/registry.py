"""The one place where every model's architecture, data and default training recipe are fixed.

`python -m models list` prints this table; `train` starts from these values and lets flags override them.
Each entry names its builder in models/nets.py (`net`) with the builder's arguments (`arch`) and its
initialisation; the benchmarks time the same entries. tinygrad_np.nn is imported only when a model is built
(`ModelSpec.build`), so `list` works without it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Optional

from . import nets


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


# The data sets of fixed geometry, as ((channels, height, width), classes). Photo folders take their size and
# mode from the DataSpec; the photo models' default data, catvnoncat, has two classes (noncat, cat).
_FIXED_SIZE_DATA = {"digits": ((1, 8, 8), 10), "mnist": ((1, 28, 28), 10)}
_DEFAULT_PHOTO_CLASSES = 2


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

    def sample_shape(self) -> tuple[int, ...]:
        """One preprocessed sample of the default data: (features,) for "flat", (C, H, W) for "nchw"."""
        if self.kind == "images":
            chw = (1 if self.mode == "L" else 3, *self.size)
        else:
            chw = _FIXED_SIZE_DATA[self.kind][0]
        return chw if self.layout == "nchw" else (math.prod(chw),)

    def num_classes(self) -> int:
        """How many classes the default data has."""
        if self.kind == "images":
            return _DEFAULT_PHOTO_CLASSES
        return len(self.digits) if self.digits else _FIXED_SIZE_DATA[self.kind][1]


@dataclass(frozen=True)
class ModelSpec:
    name: str
    seed_doc: str                   # the seed document it rebuilds ("000".."004", or "-")
    architecture: str               # one line, as in the table
    net: str                        # the builder in models/nets.py: "mlp" | "cnn_binary" | "mnist_cnn"
    head: str                       # "softmax" (K logits, cross-entropy) | "sigmoid" (1 logit, BCE)
    data: DataSpec
    recipe: Recipe
    arch: dict = field(default_factory=dict)   # the builder's keyword arguments; --hidden overrides "hidden"
    init: str = "pytorch"                      # nets.initialise: "pytorch" | "scaled_normal" | "he"
    seed_figure: str = "-"                     # the seed document's own reported test accuracy

    @property
    def default_input_shape(self) -> tuple[int, ...]:
        """One input sample on the default data, as `train` builds the model without flags."""
        return self.data.sample_shape()

    @property
    def default_num_outputs(self) -> int:
        """Logits on the default data: one for a sigmoid head, one per class for softmax."""
        return 1 if self.head == "sigmoid" else self.data.num_classes()

    def plan(self, input_shape: Optional[Any] = None, num_outputs: Optional[int] = None,
             **arch: Any) -> list[nets.Layer]:
        """The network as a list of `nets.Layer`s (pure Python). Arguments left out take the defaults:
        the default data's input shape and outputs, and the registry's `arch`."""
        shape = self.default_input_shape if input_shape is None else input_shape
        outputs = self.default_num_outputs if num_outputs is None else num_outputs
        return getattr(nets, self.net)(input_shape=shape, num_outputs=outputs, **{**self.arch, **arch})

    def build(self, nn: Any = None, **kwargs: Any) -> Any:
        """The network as `nn.Sequential` (tinygrad_np.nn unless `nn` is given, e.g. torch.nn), initialised by
        `init`. Takes `plan`'s arguments: ``spec.build()`` is the model on its default data."""
        return nets.build(self.plan(**kwargs), nn, self.init)

    def with_recipe(self, **changes: Any) -> "ModelSpec":
        return replace(self, recipe=replace(self.recipe, **{k: v for k, v in changes.items() if v is not None}))


_CATS = "catvnoncat (--data DIR, $TINYGRAD_NP_DATA/catvnoncat or ../shared/data/catvnoncat)"

MODELS: dict[str, ModelSpec] = {s.name: s for s in [
    ModelSpec(
        "rabbit_cat_mlp", "000", "gray 90x90 -> 8100 -> 128 ReLU -> 2 softmax, CE", "mlp", "softmax",
        DataSpec("images", normalize="global", size=(90, 90), mode="L", default_data=_CATS + ", gray 90x90"),
        Recipe(epochs=200, lr=0.01, batch_size=32, optimizer="sgd"),
        arch={"hidden": (128,)}),
    ModelSpec(
        "catnoncat_deep", "001", "12288 -> 20 -> 7 -> 5 -> 1 ReLU, sigmoid + BCE, init randn/sqrt(fan_in)",
        "mlp", "sigmoid",
        DataSpec("images", normalize="none", size=(64, 64), mode="RGB", default_data=_CATS),
        Recipe(epochs=2500, lr=0.0075, batch_size=None, optimizer="sgd"),
        arch={"hidden": (20, 7, 5)}, init="scaled_normal", seed_figure="72.5 %"),
    ModelSpec(
        "cnn_binary", "002", "64x64x3 -> [conv3x3 16, ReLU, pool2] -> [conv3x3 32, ReLU, pool2] -> 128 -> 64 -> 1"
        " sigmoid, BCE, He init", "cnn_binary", "sigmoid",
        DataSpec("images", normalize="none", layout="nchw", size=(64, 64), mode="RGB", default_data=_CATS),
        Recipe(epochs=30, lr=1e-4, batch_size=32, optimizer="adam"),
        arch={"channels": (16, 32), "hidden": (128, 64)}, init="he"),
    ModelSpec(
        "digits_mlp", "003", "64 -> 32 ReLU -> 10 softmax, CE, stratified 80/20", "mlp", "softmax",
        DataSpec("digits", normalize="feature", default_data="embedded 8x8 digits (offline)"),
        Recipe(epochs=100, lr=3e-3, batch_size=32, optimizer="adam", weight_decay=1e-3, schedule="cosine"),
        arch={"hidden": (32,)}, seed_figure="96.94 %"),
    ModelSpec(
        "mnist_binary", "004", "784 -> 1 sigmoid (+ optional hidden), BCE, digits 1 vs 9", "mlp", "sigmoid",
        DataSpec("mnist", normalize="global", digits=(1, 9), default_data="MNIST 1 vs 9"),
        Recipe(epochs=5, lr=0.03, batch_size=64, optimizer="sgd", val_fraction=0.1),
        arch={"hidden": ()}),
    ModelSpec(
        "mnist_mlp", "004", "784 -> 128 ReLU -> 10 softmax, CE", "mlp", "softmax",
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
