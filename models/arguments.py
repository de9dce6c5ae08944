"""The command line of `python -m models`: its sub-commands, their flags and the checks on each flag's value.

`build_parser()` is the whole grammar; models/cli.py parses with it and runs the command. A flag's value is
checked here, by its argparse `type`, so a bad one is refused (usage line, exit code 2) before anything is
loaded; the checks that need the model (--hidden on a model without hidden layers, ...) are the train
command's.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable, Optional

from . import backprop
from .registry import MODELS

HELP_DEFAULT = "the model's recipe, listed below"


def _int_list(text: str) -> tuple[int, ...]:
    """'20,7,5' -> (20, 7, 5); '', 'none' and '0' -> () (no hidden layer)."""
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        vals = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 20,7,5, got {text!r}") from None
    if any(v < 0 for v in vals):
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return vals


_KIND_NAMES = {int: "an integer", float: "a number"}


def _positive(kind: type) -> Callable[[str], float]:
    """An argparse `type` reading `kind` (int or float) and refusing anything not finite and > 0."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {_KIND_NAMES[kind]}, got {text!r}") from None
        if not (v > 0 and math.isfinite(v)):
            raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
        return v
    return parse


def _non_negative(kind: type, below: Optional[float] = None) -> Callable[[str], float]:
    """An argparse `type` reading `kind` (int or float), finite, >= 0 and, given `below`, < `below`."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {_KIND_NAMES[kind]}, got {text!r}") from None
        if not (math.isfinite(v) and v >= 0 and (below is None or v < below)):
            bound = f" and < {below:g}" if below is not None else ""
            raise argparse.ArgumentTypeError(f"must be >= 0{bound}, got {text}")
        return v
    return parse


def _batch_size(text: str) -> int:
    """A positive integer, or 'full' (0: the whole training split in one batch)."""
    return 0 if text.lower() == "full" else _positive(int)(text)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m models`: list, train, evaluate, predict and backprop with their flags."""
    p = argparse.ArgumentParser(prog="python -m models", description="Train, evaluate and use the seed models.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,train,evaluate,predict,backprop}")
    sub.add_parser("list", help="the models with their default data and recipe")
    recipes = "\n".join(f"  {m.name:<15} {m.recipe.summary()}; seed {m.recipe.seed}" for m in MODELS.values())
    t = sub.add_parser("train", help="train a model, write a run folder (or continue one: --resume RUN_DIR)",
                       description="Train a model and write a run folder. Options left out take the model's "
                       "recipe (below; python -m models list shows the architectures too).",
                       epilog=f"the models and their recipes (the defaults):\n{recipes}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("name", nargs="?", metavar="NAME",
                   help=f"the model: {', '.join(MODELS)}")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last complete epoch "
                   "(its own settings are used; same seed: the same weights as an uninterrupted run)")
    t.add_argument("--data", metavar="DIR", help="data folder (photo folder, or the folder of the MNIST files; "
                   "default: $TINYGRAD_NP_DATA, then the loader's cache)")
    t.add_argument("--dataset", choices=("mnist", "fashion-mnist"), help="for the MNIST models (default: mnist, "
                   "or what the files in --data are, identified by checksum)")
    t.add_argument("--epochs", type=_positive(int), help=f"default: {HELP_DEFAULT}")
    t.add_argument("--batch-size", type=_batch_size, help=f"an integer, or 'full' for full-batch gradient descent "
                   f"(default: {HELP_DEFAULT})")
    t.add_argument("--lr", type=_positive(float), help=f"learning rate (default: {HELP_DEFAULT})")
    t.add_argument("--optimizer", choices=("sgd", "adam"), help=f"default: {HELP_DEFAULT}; choosing the other one "
                   "starts from its plain form: no momentum, weight decay or schedule unless given below")
    t.add_argument("--momentum", type=_non_negative(float, 1.0), help="SGD momentum (default: the recipe's, or 0)")
    t.add_argument("--weight-decay", type=_non_negative(float), help="L2 weight decay (default: the recipe's, or 0)")
    t.add_argument("--schedule", choices=("none", "cosine"), help="learning-rate schedule over the epochs "
                   "(default: the recipe's, or none)")
    t.add_argument("--val-fraction", type=_non_negative(float, 1.0), help="share of the training split held out "
                   f"for validation (default: {HELP_DEFAULT})")
    t.add_argument("--patience", type=_positive(int), help="early stopping: stop when the validation loss has not "
                   "improved for this many epochs and keep the best epoch's weights (default: off)")
    t.add_argument("--seed", type=_non_negative(int), help="random seed for initialisation and shuffling, "
                   f"an integer >= 0 (default: {HELP_DEFAULT})")
    how = t.add_mutually_exclusive_group()
    how.add_argument("--eager", action="store_true", help="run the training steps eagerly (default for mnist_cnn)")
    how.add_argument("--compiled", action="store_true", help="run them through tg.compile (default for the MLPs and "
                     "cnn_binary, where it is faster; the same numbers bit for bit either way)")
    t.add_argument("--out", metavar="DIR", help="run folder (default runs/NAME); an existing run is never "
                   "overwritten: DIR-2, DIR-3, ... is used instead")
    t.add_argument("--hidden", type=_int_list, metavar="N,N,...", help="hidden layer sizes, e.g. 20,7,5 ('none': no "
                   "hidden layer; default: the model's)")
    t.add_argument("--digits", type=_int_list, metavar="A,B", help="mnist_binary: the two classes 0-9 (default 1,9)")
    t.add_argument("--classes", metavar="A,B", help="photo folders: class names to use, in label order "
                   "(the positive class last for sigmoid models; default: all sub-folders)")
    e = sub.add_parser("evaluate", help="re-measure a trained run on its test split")
    e.add_argument("run", metavar="RUN_DIR")
    e.add_argument("--data", metavar="DIR", help="read the data from here instead of the recorded folder")
    r = sub.add_parser("predict", help="classify image files (or folders of them) with a trained run")
    r.add_argument("run", metavar="RUN_DIR")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="photo files or folders; for digits/MNIST also "
                   ".npy/.csv arrays")
    backprop.add_parser(sub, _positive(int))
    for command in (t, e, r):
        command.add_argument("--threads", type=_positive(int), metavar="N",
                             help="threads per op (tg.set_num_threads; default: OMP_NUM_THREADS or the usable cores)")
    return p
