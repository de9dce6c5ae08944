"""python -m models list | train NAME | evaluate RUN_DIR | predict RUN_DIR IMAGE..."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .registry import MODELS, DataSpec, ModelSpec, data_dict, get_spec, recipe_dict

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, PermissionError,
               FloatingPointError)


def _ints(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none", "0"):
        return ()
    try:
        vals = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 20,7,5, got {text!r}") from None
    if any(v < 0 for v in vals):
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return vals


def _positive(kind):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return v
    return parse


def _batch(text: str) -> int:
    return 0 if text.lower() == "full" else _positive(int)(text)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models", description="Train, evaluate and use the seed models.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{list,train,evaluate,predict}")
    sub.add_parser("list", help="the models with their default data and recipe")
    t = sub.add_parser("train", help="train a model, write a run folder")
    t.add_argument("name", help="model name (see list)")
    t.add_argument("--data", metavar="DIR", help="data folder (photo folder, or the folder of the MNIST files)")
    t.add_argument("--dataset", choices=("mnist", "fashion-mnist"), help="for the MNIST models")
    t.add_argument("--epochs", type=_positive(int))
    t.add_argument("--batch-size", type=_batch, help="an integer, or 'full' for full-batch gradient descent")
    t.add_argument("--lr", type=_positive(float))
    t.add_argument("--optimizer", choices=("sgd", "adam"))
    t.add_argument("--seed", type=int, help="seed for initialisation and shuffling (default: the recipe's)")
    t.add_argument("--out", metavar="DIR", help="run folder (default runs/NAME); an existing run is never "
                   "overwritten: DIR-2, DIR-3, ... is used instead")
    t.add_argument("--hidden", type=_ints, metavar="N,N,...", help="hidden layer sizes, e.g. 20,7,5 ('none': no "
                   "hidden layer)")
    t.add_argument("--digits", type=_ints, metavar="A,B", help="mnist_binary: the two digits (default 1,9)")
    t.add_argument("--classes", metavar="A,B", help="photo folders: class names to use, in label order "
                   "(the positive class last for sigmoid models)")
    e = sub.add_parser("evaluate", help="re-measure a trained run on its test split")
    e.add_argument("run", metavar="RUN_DIR")
    e.add_argument("--data", metavar="DIR", help="read the data from here instead of the recorded folder")
    r = sub.add_parser("predict", help="classify image files with a trained run")
    r.add_argument("run", metavar="RUN_DIR")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="photo files; for digits/MNIST also .npy/.csv arrays")
    for command in (t, e, r):
        command.add_argument("--threads", type=_positive(int), metavar="N",
                             help="threads per op (tg.set_num_threads; default: OMP_NUM_THREADS or the usable cores)")
    return p


def cmd_list() -> int:
    rows = [("model", "seed", "architecture", "default data", "default recipe")]
    for s in MODELS.values():
        rows.append((s.name, s.seed_doc, s.architecture, s.data.default_data, s.recipe.summary()))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for i, (name, seed, arch, data, recipe) in enumerate(rows):
        if i == 0:
            continue
        print(f"{name:<{widths[0]}}  seed {seed:<3}  {arch}")
        print(f"{'':<{widths[0]}}  data: {data}")
        print(f"{'':<{widths[0]}}  recipe: {recipe}\n")
    print("train one: python -m models train NAME [--epochs N --lr X --optimizer adam --seed S --out DIR]")
    return 0


def _spec_for_train(a: argparse.Namespace) -> tuple[ModelSpec, dict]:
    spec = get_spec(a.name)
    arch = dict(spec.arch)
    if a.hidden is not None:
        if "hidden" not in arch:
            raise ValueError(f"--hidden: {spec.name} has no configurable hidden layers")
        if any(h < 1 for h in a.hidden):
            raise ValueError(f"--hidden: layer sizes must be >= 1, got {list(a.hidden)}")
        arch["hidden"] = a.hidden
    spec = spec.with_recipe(epochs=a.epochs, lr=a.lr, optimizer=a.optimizer, seed=a.seed)
    if a.batch_size is not None:                     # 0 stands for "full": batch_size None
        spec = replace(spec, recipe=replace(spec.recipe, batch_size=a.batch_size or None))
    return spec, arch


def cmd_train(a: argparse.Namespace) -> int:
    import tinygrad_np as tg
    from tinygrad_np.allocator import keep_freed_memory
    keep_freed_memory()        # a training loop reuses the same large arrays every step: no page-fault churn
    from . import plots
    from .data import load_source, prepare
    from .report import format_report, summarize
    from .runs import (METRICS, META, WEIGHTS, describe_command, release_if_empty, reserve_run_dir, versions,
                       write_json)
    from .training import fit, mean_loss, predict

    spec, arch = _spec_for_train(a)
    r = spec.recipe
    if a.digits is not None and len(a.digits) != 2 and spec.head == "sigmoid":
        raise ValueError(f"--digits: {spec.name} needs exactly two digits, got {list(a.digits)}")
    classes = [c.strip() for c in a.classes.split(",")] if a.classes else None
    if classes is not None and spec.data.kind != "images":
        raise ValueError(f"--classes applies to photo folders; {spec.name} reads {spec.data.kind}"
                         + (" (pick MNIST classes with --digits)" if spec.data.kind == "mnist" else ""))
    raw = load_source(spec, a.data, a.dataset, a.digits, classes, r.split_seed)
    data = prepare(spec, raw)
    tg.manual_seed(r.seed)
    num_outputs = 1 if spec.head == "sigmoid" else len(data.classes)
    input_shape = list(data.X_train.shape[1:])
    model = spec.build(input_shape=input_shape, num_outputs=num_outputs, **arch)
    n_params = sum(p.numel() for p in model.parameters())
    run, note = reserve_run_dir(a.out, spec.name)
    try:
        src = data.source
        where = src.get("path") or f"{src.get('dataset')} (loader default location)"
        print(f"{spec.name} (seed {spec.seed_doc}): {spec.architecture}; {n_params:,} parameters")
        print(f"data: {where}: {src['n_train']} train / {src['n_val']} val / {src['n_test']} test, "
              f"classes {data.classes}")
        print(f"recipe: {r.summary()}; seed {r.seed}")
        if note:
            print(f"note: {note}")
        print(f"run folder: {run}")
        t0 = time.perf_counter()
        history = fit(model, spec, data)
        total = time.perf_counter() - t0
        pred, probs, logits = predict(model, data.X_test, spec.head)
        test = summarize(data.y_test, pred, data.classes, mean_loss(logits, data.y_test, spec.head))
        print()
        print(format_report(test, data.classes))
        tg.save(model.state_dict(), run / WEIGHTS)
        per_epoch = float(np.mean([h["seconds"] for h in history]))
        last = history[-1]
        metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"], "test_macro_f1": test["macro_f1"],
                   "train_accuracy_last_epoch": last["train_acc"], "train_loss_last_epoch": last["train_loss"],
                   "val_accuracy": last.get("val_acc"), "seconds_per_epoch": per_epoch, "total_seconds": total}
        meta = {"format": 1, "model": spec.name, "seed_doc": spec.seed_doc,
                "architecture": {"description": spec.architecture, "input_shape": input_shape,
                                 "num_outputs": num_outputs, "kwargs": arch, "parameters": n_params,
                                 "modules": repr(model)},
                "head": spec.head, "classes": data.classes, "preprocess": data.preprocess.to_dict(),
                "data": src, "data_spec": data_dict(spec.data), "recipe": recipe_dict(r), "seed": r.seed,
                "metrics": metrics, "versions": versions(), "command": describe_command(),
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_json(run / META, meta)
        write_json(run / METRICS, {"history": history, "test": test, "classes": data.classes, **metrics})
        figures = plots.save_all(run, history, test, data.classes, data.raw_test, data.y_test, probs)
    except BaseException:
        release_if_empty(run)
        raise
    print(f"\ntest accuracy {test['accuracy']:.2%}; {per_epoch:.3f} s per epoch, {total:.1f} s in all")
    files = [WEIGHTS, META, METRICS, *figures]
    print(f"saved {', '.join(files)} in {run}" + ("" if figures else " (pip install matplotlib for the plots)"))
    return 0


def load_run(run_dir: str):
    """(run path, meta, spec, model with its weights, Preprocess) for evaluate/predict."""
    import tinygrad_np as tg
    from .preprocess import Preprocess
    from .runs import load_weights, read_meta
    run, meta = read_meta(run_dir)
    spec = get_spec(meta["model"])
    if "data_spec" in meta:     # the run's own data settings (image size, mode ...), even if the registry changed
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["data_spec"].items()}
        spec = replace(spec, data=DataSpec(**d), head=meta["head"])
    arch = meta["architecture"]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in arch.get("kwargs", {}).items()}
    tg.manual_seed(0)
    try:
        model = spec.build(input_shape=arch["input_shape"], num_outputs=arch["num_outputs"], **kwargs)
    except (TypeError, KeyError) as e:
        raise ValueError(f"{run / 'meta.json'}: cannot rebuild {spec.name} from its architecture entry: {e}") from None
    load_weights(model, run)
    return run, meta, spec, model, Preprocess.from_dict(meta["preprocess"])


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .data import source_from_meta
    from .report import format_report, summarize
    from .training import mean_loss, predict
    run, meta, spec, model, pre = load_run(a.run)
    raw = source_from_meta(spec, meta["data"], a.data)
    if list(raw.classes) != list(meta["classes"]):
        raise ValueError(f"evaluate: the data has classes {raw.classes} but {run} was trained on {meta['classes']}")
    X = pre(raw.test_x)
    pred, _, logits = predict(model, X, meta["head"])
    test = summarize(raw.test_y, pred, meta["classes"], mean_loss(logits, raw.test_y, meta["head"]))
    print(f"{meta['model']} from {run} on {raw.source.get('path') or raw.source.get('dataset')} (test split)")
    print(format_report(test, meta["classes"]))
    recorded = meta.get("metrics", {}).get("test_accuracy")
    if recorded is not None:
        print(f"\ntest accuracy {test['accuracy']:.2%} (recorded at training: {recorded:.2%})")
    return 0


def cmd_predict(a: argparse.Namespace) -> int:
    from .training import predict
    run, meta, spec, model, pre = load_run(a.run)
    raws, problems = [], []
    for path in a.images:
        try:
            raws.append(pre.read(path))
        except (ValueError, FileNotFoundError) as e:
            problems.append(str(e))
    if problems:
        raise ValueError("; ".join(problems))
    _, probs, _ = predict(model, pre(np.stack(raws)), meta["head"])
    classes = meta["classes"]
    for path, p in zip(a.images, probs):
        order = np.argsort(-p)
        best = order[0]
        others = ", ".join(f"{classes[k]} {p[k]:.1%}" for k in order[1:3])
        print(f"{path}: {classes[best]} ({p[best]:.1%})" + (f"   next: {others}" if others else ""))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None) is not None:
        import tinygrad_np
        tinygrad_np.set_num_threads(args.threads)
    try:
        if args.command == "list":
            return cmd_list()
        if args.command == "train":
            return cmd_train(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        return cmd_predict(args)
    except USER_ERRORS as e:
        print(f"python -m models {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
